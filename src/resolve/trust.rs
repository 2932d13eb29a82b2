//! Who may plant an environment that venvexec runs on its own initiative.
//!
//! Like git after CVE-2022-24765 (`safe.directory`): an environment that
//! was *discovered* (not named or activated by the user) is only used when
//! the user, or root, owns it and nobody else can write its interpreter.
//! Otherwise anyone who can create `/tmp/x/.venv` runs code as whoever
//! types `python` in `/tmp/x`.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::venv::Env;

/// `Err(reason)` when the environment must not be used. `found_in` is the
/// directory the environment was discovered from (the project directory).
pub fn check(
    env: &Env,
    found_in: &Path,
    uid: u32,
    safe_dirs: Option<&OsStr>,
) -> Result<(), String> {
    if is_listed_safe(&env.root, found_in, safe_dirs) {
        return Ok(());
    }
    for dir in [found_in, env.root.as_path()] {
        let meta = fs::metadata(dir).map_err(|e| format!("cannot check {}: {e}", dir.display()))?;
        let owner = meta.uid();
        if owner != uid && owner != 0 {
            return Err(format!(
                "{} is owned by uid {owner}, not by you (uid {uid})",
                dir.display()
            ));
        }
    }
    let bin = env.bin();
    for path in [bin.clone(), env.python()] {
        // Follows symlinks: what matters is the file that would run.
        if let Ok(meta) = fs::metadata(&path) {
            if meta.mode() & 0o022 != 0 {
                return Err(format!("{} is writable by group or others", path.display()));
            }
            let owner = meta.uid();
            if owner != uid && owner != 0 {
                return Err(format!(
                    "{} is owned by uid {owner}, not by you (uid {uid})",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The hint printed with every refusal.
pub fn hint(env_root: &Path) -> String {
    format!(
        "if you trust it, add it to VENVEXEC_SAFE_DIRS (export VENVEXEC_SAFE_DIRS={}), or use `*` to trust every directory",
        env_root.display()
    )
}

/// `VENVEXEC_SAFE_DIRS` is colon-separated; an entry matches the
/// environment itself or the project directory it was found in, and `*`
/// matches everything (git's `safe.directory = *`).
fn is_listed_safe(root: &Path, found_in: &Path, safe_dirs: Option<&OsStr>) -> bool {
    let Some(list) = safe_dirs else {
        return false;
    };
    list.as_encoded_bytes()
        .split(|&b| b == b':')
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == b"*" {
                return true;
            }
            // SAFETY: a split of OsStr bytes at an ASCII byte is valid OsStr.
            let p = Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(entry) });
            let p = p.components().as_path();
            p == root || p == found_in
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_dirs_match_exact_entries_and_star() {
        let root = Path::new("/p/.venv");
        let found = Path::new("/p");
        assert!(!is_listed_safe(root, found, None));
        assert!(is_listed_safe(root, found, Some(OsStr::new("*"))));
        assert!(is_listed_safe(root, found, Some(OsStr::new("/x::/p/"))));
        assert!(is_listed_safe(root, found, Some(OsStr::new("/p/.venv"))));
        assert!(!is_listed_safe(root, found, Some(OsStr::new("/p/sub:/"))));
    }
}
