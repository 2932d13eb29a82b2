//! Source 3: the project's environment, found by walking from the working
//! directory up through its parents, like git finds `.git`.
//!
//! The walk uses the physical working directory (what `getcwd` returns,
//! symlinks already resolved, like `pwd -P`), so it can never loop and a
//! project reached through a symlink finds the `.venv` of its real location.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::tools::{self, Tools};
use super::trust::{self, Refusal};
use super::{Found, Inputs, Skip, Source, Via};
use crate::platform::split_list;
use crate::venv;

const DEFAULT_NAMES: [&str; 2] = [".venv", "venv"];
const LABEL: &str = "project";

pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    let cwd = match &inp.cwd {
        Ok(cwd) => cwd,
        Err(why) => {
            skipped.push(Skip::walk_error_note(LABEL, why));
            return None;
        }
    };
    let names = names(inp.names.as_deref());
    let ceilings = ceilings(inp.ceilings.as_deref());
    let start_dev = match fs::metadata(cwd) {
        Ok(m) => m.dev(),
        Err(e) => {
            skipped.push(Skip::walk_error(LABEL, cwd, format!("cannot be read: {e}")));
            return None;
        }
    };

    // Where each tool keeps its environments: looked up only once the
    // walk gets past the in-project names of the first directory, which is
    // where most calls end.
    let mut tools: Option<Tools> = None;

    // One buffer for the whole walk: push a name, look, pop.
    let mut dir = cwd.clone();
    loop {
        // In one directory: the in-project directories first, then the
        // tool conventions (see tools::look for their order).
        let mut dotvenv_file = false;
        for name in &names {
            dir.push(name);
            let outcome = look(&dir, inp, skipped);
            // pipenv's `.venv` *file* naming the environment: knowing it
            // from this lstat saves the pipenv convention one per directory.
            dotvenv_file |= *name == ".venv" && matches!(outcome, Look::File);
            dir.pop();
            match outcome {
                Look::Nothing | Look::File => {}
                Look::Found(env) => {
                    return Some(Found {
                        env,
                        source: Source::Project {
                            dir,
                            via: Via::Dir(name.to_os_string()),
                        },
                    });
                }
                // As git does: an untrusted hit ends discovery here. Climbing
                // on would hand the choice to whoever can write the parent.
                Look::Untrusted => return None,
            }
        }
        let tools = tools.get_or_insert_with(|| Tools::new(inp));
        match tools::look(&dir, tools, dotvenv_file, inp, skipped) {
            None => {}
            Some((Look::Found(env), via)) => {
                return Some(Found {
                    env,
                    source: Source::Project { dir, via },
                });
            }
            Some((Look::Untrusted, _)) => return None,
            Some((Look::Nothing | Look::File, _)) => {}
        }
        if !dir.pop() {
            return None;
        }
        if ceilings.contains(&dir) {
            skipped.push(Skip::new(
                LABEL,
                &dir,
                "is a VENVEXEC_CEILING_DIRS entry: the walk stopped below it",
            ));
            return None;
        }
        if !inp.across_filesystems {
            match fs::metadata(&dir) {
                Ok(m) if m.dev() != start_dev => {
                    skipped.push(Skip::new(
                        LABEL,
                        &dir,
                        "is on another filesystem: the walk stopped (set VENVEXEC_ACROSS_FILESYSTEMS=1 to go on)",
                    ));
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    skipped.push(Skip::walk_error(
                        LABEL,
                        &dir,
                        format!("cannot be read: {e}"),
                    ));
                    return None;
                }
            }
        }
    }
}

pub enum Look {
    /// A regular file where an environment was looked for (pipenv's `.venv`
    /// file names one; for everyone else it is just not an environment).
    File,
    Nothing,
    Found(venv::Env),
    Untrusted,
}

/// Is `candidate` a usable, trusted environment? Notes why not.
pub fn look(candidate: &Path, inp: &Inputs, skipped: &mut Vec<Skip>) -> Look {
    look_from(
        candidate,
        candidate.parent().unwrap_or(candidate),
        inp,
        skipped,
    )
}

/// As [`look`], for an environment kept outside the project (poetry,
/// pipenv, pyenv): `found_in` is the project directory that led to it.
pub fn look_from(candidate: &Path, found_in: &Path, inp: &Inputs, skipped: &mut Vec<Skip>) -> Look {
    // The common case, nothing here, costs exactly one lstat.
    match fs::symlink_metadata(candidate) {
        Ok(m) if m.is_file() => {
            skipped.push(Skip::new(LABEL, candidate, venv::NotEnv::NotADirectory));
            return Look::File;
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Look::Nothing,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Look::Nothing,
        Err(e) => {
            skipped.push(Skip::walk_error(
                LABEL,
                candidate,
                format!("cannot be read: {e}"),
            ));
            return Look::Nothing;
        }
    }
    match trust::discovered(candidate, found_in, inp) {
        Ok(env) => Look::Found(env),
        Err(Refusal::NotEnv(venv::NotEnv::Missing)) => {
            let to = venv::missing_link_target(candidate);
            skipped.push(Skip::new(
                LABEL,
                candidate,
                format!("is a dangling symlink ({} does not exist)", to.display()),
            ));
            Look::Nothing
        }
        Err(Refusal::NotEnv(why @ venv::NotEnv::Unreadable(_))) => {
            skipped.push(Skip::walk_error(LABEL, candidate, why));
            Look::Nothing
        }
        Err(Refusal::NotEnv(why)) => {
            skipped.push(Skip::new(LABEL, candidate, why));
            Look::Nothing
        }
        Err(Refusal::Untrusted(why)) => {
            skipped.push(Skip::untrusted(LABEL, candidate, found_in, why));
            Look::Untrusted
        }
    }
}

/// `VENVEXEC_NAMES=.venv:venv`. Entries that are empty or are not a plain
/// directory name are ignored; if none is left the default applies.
fn names(var: Option<&OsStr>) -> Vec<&OsStr> {
    let mut out: Vec<&OsStr> = Vec::new();
    if let Some(v) = var {
        for part in split_list(v) {
            if part.is_empty() || part == "." || part == ".." || part.as_bytes().contains(&b'/') {
                continue;
            }
            out.push(part);
        }
    }
    if out.is_empty() {
        out.extend(DEFAULT_NAMES.iter().map(OsStr::new));
    }
    out
}

/// `VENVEXEC_CEILING_DIRS`, like `GIT_CEILING_DIRECTORIES`: absolute
/// entries, resolved to their physical path (the walk is physical too);
/// entries that do not exist are ignored.
fn ceilings(var: Option<&OsStr>) -> Vec<PathBuf> {
    let Some(v) = var else { return Vec::new() };
    split_list(v)
        .filter(|p| Path::new(p).is_absolute())
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect()
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: the walk always has names to look for, and each is
        /// one plain path component.
        #[test]
        fn names_any_bytes(var in proptest::collection::vec(any::<u8>(), 0..256)) {
            let got = names(Some(OsStr::from_bytes(&var)));
            prop_assert!(!got.is_empty());
            for n in got {
                let b = n.as_bytes();
                prop_assert!(!b.is_empty() && b != b"." && b != b"..");
                prop_assert!(!b.contains(&b'/'));
            }
        }

        /// Any bytes: only absolute, existing, physical directories are
        /// ceilings (so comparing them with the physical walk is exact).
        #[test]
        fn ceilings_any_bytes(var in proptest::collection::vec(any::<u8>(), 0..256)) {
            for c in ceilings(Some(OsStr::from_bytes(&var))) {
                prop_assert!(c.is_absolute());
                prop_assert_eq!(fs::canonicalize(&c).ok(), Some(c.clone()));
            }
        }
    }
}

/// The directory names the walk looks for, as a user would write them.
pub fn names_shown(var: Option<&OsStr>) -> String {
    names(var)
        .iter()
        .map(|n| Path::new(n).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_garbage_and_default_when_empty() {
        assert_eq!(names(None), [".venv", "venv"]);
        assert_eq!(names(Some(OsStr::new(""))), [".venv", "venv"]);
        assert_eq!(names(Some(OsStr::new("::a/b:..:."))), [".venv", "venv"]);
        assert_eq!(names(Some(OsStr::new("env::.env"))), ["env", ".env"]);
    }

    #[test]
    fn ceilings_ignore_relative_and_missing() {
        let c = ceilings(Some(OsStr::new("relative:/definitely/not/here::/")));
        assert_eq!(c, [PathBuf::from("/")]);
    }
}
