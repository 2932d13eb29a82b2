//! pyenv-virtualenv: `.python-version` naming a virtualenv under
//! `$(pyenv root)/versions`. A plain pyenv version is an interpreter, not
//! an environment, and is skipped with a note.

use crate::resolve::Kind;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::project::{Candidate, Level, Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::{Read, ToolVars, read_pointer};
use crate::venv::{self, NotEnv, Require};

pub fn versions_dir(v: &ToolVars) -> Option<PathBuf> {
    let root = match &v.pyenv_root {
        Some(r) => PathBuf::from(r),
        None => v.home_join(".pyenv")?,
    };
    Some(root.join("versions"))
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

pub fn look(
    level: &Level,
    versions: &Path,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Option<(Look, Via)> {
    let bytes = match read_pointer(
        level,
        ".python-version",
        Kind::PyenvVirtualenv,
        inp,
        skipped,
    ) {
        Read::Bytes(b) => b,
        Read::Untrusted => return Read::refused(Via::PyenvVirtualenv(".python-version".into())),
        Read::Absent => return None,
    };
    let file = level.shown(".python-version");
    let name = first_version(&bytes)?;
    let via = Via::PyenvVirtualenv(name.to_os_string());
    if name == "system" || name.as_bytes().contains(&b'/') || name == ".." || name == "." {
        return None;
    }
    let env = versions.join(name);
    // The marker test of every discovered environment; only its two
    // answers that mean "not a virtualenv" are worded the pyenv way.
    let why = match venv::probe(&env, Require::Marker) {
        Err(NotEnv::NoConfig) => "a plain pyenv version, not a virtualenv",
        Err(NotEnv::Missing | NotEnv::NotADirectory) => "which pyenv does not have",
        _ => {
            let cand = Candidate::At(level, env.clone());
            return Some((look_from(&env, cand, inp, skipped), via));
        }
    };
    skipped.push(Skip::new(
        Kind::PyenvVirtualenv,
        &file,
        format!("names {}, {why}", Path::new(name).display()),
    ));
    None
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
