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
use std::path::{Path, PathBuf};

use super::Inputs;
use crate::platform::split_list;
use crate::venv::{self, Env, NotEnv, Require};

/// Why an environment venvexec found on its own is not used.
pub enum Refusal {
    /// Not a marked environment (`pyvenv.cfg` or `conda-meta/`).
    NotEnv(NotEnv),
    /// An environment, but [`check`] refused it; the reason.
    Untrusted(String),
}

/// The one policy for every environment venvexec finds on its own (the
/// project walk, the tool conventions, an ancestor process): it must carry
/// a marker, and pass [`check`]. `found_in` is the directory that led to it.
pub fn discovered(root: &Path, found_in: &Path, inp: &Inputs) -> Result<Env, Refusal> {
    let env = venv::probe(root, Require::Marker).map_err(Refusal::NotEnv)?;
    check(&env, found_in, inp.uid, inp.safe_dirs.as_deref()).map_err(Refusal::Untrusted)?;
    Ok(env)
}

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
    // SAFETY: getgid cannot fail.
    let gid = unsafe { libc::getgid() };
    let meta =
        fs::metadata(found_in).map_err(|e| format!("cannot check {}: {e}", found_in.display()))?;
    owned_by_us(found_in, &meta, uid)?;
    // What decides which code runs: the root (whoever can write it can
    // swap `bin/` or `pyvenv.cfg`), `pyvenv.cfg` (its `home` picks the
    // standard library), `bin/` and the interpreter (followed through
    // symlinks: what matters is the file that would run).
    let mut paths: Vec<PathBuf> = vec![env.root.clone()];
    paths.extend(env.config());
    paths.push(env.bin());
    paths.push(env.python());
    for path in &paths {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            // The root is known to exist; a part that is missing or
            // dangling is reported when it is run, not here.
            Err(_) if path != &env.root => continue,
            Err(e) => return Err(format!("cannot check {}: {e}", path.display())),
        };
        owned_by_us(path, &meta, uid)?;
        not_writable_by_others(path, &meta, gid)?;
    }
    Ok(())
}

fn owned_by_us(path: &Path, meta: &fs::Metadata, uid: u32) -> Result<(), String> {
    let owner = meta.uid();
    if owner != uid && owner != 0 {
        return Err(format!(
            "{} is owned by uid {owner}, not by you (uid {uid})",
            path.display()
        ));
    }
    Ok(())
}

/// Writable by others is always refused. Writable by the group is refused
/// unless the group is the user's own primary group: with user private
/// groups (Debian/Ubuntu `USERGROUPS_ENAB`, umask 002) every venv a user
/// makes is group-writable by a group that holds only them, and refusing
/// those would refuse every environment on such a machine.
fn not_writable_by_others(path: &Path, meta: &fs::Metadata, gid: u32) -> Result<(), String> {
    let mode = meta.mode();
    let by_others = mode & 0o002 != 0;
    let by_a_foreign_group = mode & 0o020 != 0 && meta.gid() != gid;
    if by_others || by_a_foreign_group {
        let group = if by_others {
            String::new()
        } else {
            format!(", and group {} is not your primary group", meta.gid())
        };
        return Err(format!(
            "{} is writable by group or others (mode {:04o}{group})",
            path.display(),
            mode & 0o7777
        ));
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
    split_list(list).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let p = Path::new(entry).components().as_path();
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

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any list: no panic; `*` or the environment itself anywhere in
        /// it trusts; no list trusts nothing.
        #[test]
        fn safe_dirs_any_bytes(list in proptest::collection::vec(any::<u8>(), 0..256)) {
            let root = Path::new("/p/.venv");
            let found = Path::new("/p");
            let _ = is_listed_safe(root, found, Some(OsStr::from_bytes(&list)));
            prop_assert!(!is_listed_safe(root, found, None));
            for extra in [&b":*"[..], b":/p/.venv/", b":/p"] {
                let mut l = list.clone();
                l.extend_from_slice(extra);
                prop_assert!(is_listed_safe(root, found, Some(OsStr::from_bytes(&l))));
            }
        }

        /// Entries that are neither `*` nor the two paths never match.
        #[test]
        fn safe_dirs_other_entries_do_not_trust(entries in proptest::collection::vec("/[a-o]{1,3}(/[a-o]{1,3}){0,2}/?", 0..8)) {
            let list = entries.join(":");
            prop_assert!(!is_listed_safe(
                Path::new("/p/.venv"),
                Path::new("/p"),
                Some(OsStr::new(&list))
            ));
        }
    }
}
