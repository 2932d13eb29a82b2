//! pyenv-virtualenv: `.python-version` naming a virtualenv under
//! `$(pyenv root)/versions`. A plain pyenv version is an interpreter, not
//! an environment, and is skipped with a note.

use crate::resolve::Kind;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::judge::{Candidate, NamedBy, Origin, Place, Yield};
use super::super::{Skip, Via};
use super::{Dir, Read, ToolVars, read_pointer};

pub fn versions_dir(v: &ToolVars) -> Option<PathBuf> {
    let root = match &v.pyenv_root {
        Some(r) => PathBuf::from(r),
        None => v.home_join(".pyenv")?,
    };
    let mut versions = root;
    crate::platform::fd::push(&mut versions, "versions");
    Some(versions)
}

/// The first version name of a `.python-version` file, read as pyenv's
/// `version-file-read` does: the first word of each line, skipping blank
/// lines and lines whose first word starts with `#`. (`system`, which means
/// no pyenv version at all, is the caller's to interpret.)
fn first_version(bytes: &[u8]) -> Option<&OsStr> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            line.split(|b| b.is_ascii_whitespace())
                .find(|w| !w.is_empty())
        })
        .find(|w| !w.starts_with(b"#"))
        .map(OsStr::from_bytes)
}

/// The virtualenv `.python-version` names; that it is one (not a plain
/// pyenv version) is the judge's to find out, and to say against the file.
pub fn candidate<'a>(dir: &Dir<'a>, versions: &Path, skipped: &mut Vec<Skip>) -> Option<Yield<'a>> {
    let (level, inp) = (dir.level, dir.inp);
    let bytes = match read_pointer(
        level,
        crate::platform::fd::Name::lit(".python-version"),
        Kind::PyenvVirtualenv,
        inp,
        skipped,
    ) {
        Read::Bytes(b) => b,
        Read::Untrusted => return Some(Yield::Refused),
        Read::Absent => return None,
    };
    let name = first_version(&bytes)?;
    if name == "system" || name.as_bytes().contains(&b'/') || name == ".." || name == "." {
        return None;
    }
    let env = versions.join(name);
    Some(Yield::Candidate(Candidate {
        at: env.clone(),
        origin: Origin::Walk {
            level,
            place: Place::At(env),
            via: Via::PyenvVirtualenv(name.to_os_string()),
            named_by: Some(NamedBy {
                file: level.shown(".python-version"),
                name: name.to_os_string(),
            }),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_version_skips_blanks_and_comments() {
        assert_eq!(
            first_version(b"\n  # pinned\n my-env 3.12.1\n"),
            Some(OsStr::new("my-env"))
        );
        assert_eq!(first_version(b" \t\n#only\n"), None);
        assert_eq!(
            first_version(b"#3.11 other\r\n3.12\r\n"),
            Some(OsStr::new("3.12"))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: no panic, and a name is one non-empty word.
        #[test]
        fn first_version_of_any_bytes_is_one_word(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Some(name) = first_version(&bytes) {
                let b = name.as_bytes();
                prop_assert!(!b.is_empty());
                prop_assert!(!b.iter().any(|c| c.is_ascii_whitespace()));
                prop_assert!(!b.starts_with(b"#"));
            }
        }
    }
}
