//! Source 3: the project's environment, found by walking from the working
//! directory up through its parents, like git finds `.git`.
//!
//! The walk is physical (`pwd -P`): it climbs with `..` from the working
//! directory itself, so it can never loop and a project reached through a
//! symlink finds the `.venv` of its real location. When the working
//! directory's path cannot be used (deeper than PATH_MAX, or below a
//! directory the user cannot search), every lookup is relative to the
//! working directory instead (`.venv`, `../.venv`, `../../.venv`): the
//! kernel's handle on it is the one directory descriptor the walk needs.
//! Absolute paths are needed only for what is found (the exec, `argv[0]`,
//! `VIRTUAL_ENV`) and for naming.

use std::cell::OnceCell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::judge::{self, Verdict, Yield, judge};
use super::level::Level;
use super::tools::{self, Dir, Tools};
use super::{Convention, Found, Inputs, Skip};
use crate::platform::fd;
use crate::platform::split_list;

const DEFAULT_NAMES: [fd::Name; 2] = [fd::Name::lit(".venv"), fd::Name::lit("venv")];
const LABEL: super::Kind = super::Kind::Project;
/// `../` per level: beyond this many levels a relative path would pass
/// PATH_MAX (4096) itself. No real tree is that deep.
const MAX_LEVELS: usize = 1300;

pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    let cwd = match inp.cwd() {
        Ok(cwd) => Some(cwd),
        // Nothing to walk from: said, not passed over.
        Err(why) if why.gone => {
            skipped.push(Skip::walk_error_note(LABEL, why));
            return None;
        }
        Err(_) => None,
    };
    // By its path when that works; else (deeper than PATH_MAX, under a
    // directory the user cannot search) from the working directory itself.
    let by_path = cwd.and_then(|c| Some((c.to_path_buf(), fd::stat(c).ok()?)));
    let (rel, start) = match by_path {
        Some(found) => found,
        None => match fd::stat(Path::new(".")) {
            Ok(st) => (PathBuf::from("."), st),
            Err(e) => {
                skipped.push(failed(
                    cwd.map(Path::to_path_buf),
                    format!("cannot be read: {e}"),
                ));
                return None;
            }
        },
    };
    let names = names(inp.names.as_deref());
    let ceilings = ceilings(inp.ceilings.as_deref());
    let mut level = Level::start(rel, &start, cwd);
    // Where each tool keeps its environments: looked up only once the walk
    // gets past the in-project names of the first directory, which is
    // where most calls end.
    let homes: OnceCell<Tools> = OnceCell::new();
    // The same list for every directory: built once.
    let conventions: Vec<Convention> = super::in_dir(&names).collect();

    for _ in 0..MAX_LEVELS {
        let mut dir = Dir::new(&level, inp, &homes);
        for &convention in &conventions {
            let verdict = match convention {
                Convention::InProject(name) => judge::in_dir(&level, name, inp, skipped),
                Convention::Tool(tool) => {
                    let candidate = match tools::candidate(tool, &dir, skipped) {
                        None => continue,
                        Some(Yield::Refused) => return None,
                        Some(Yield::Candidate(c)) => c,
                    };
                    // Only explicit candidates fail the call, and none is here.
                    judge(candidate, inp, skipped).ok()?
                }
            };
            match verdict {
                Verdict::Found(found) => return Some(found),
                Verdict::Stop => return None,
                Verdict::Next => {}
                // pipenv's `.venv` *file* naming the environment: knowing
                // it from this lstat saves pipenv one per directory.
                Verdict::File => {
                    dir.dotvenv_file |= convention == Convention::InProject(DEFAULT_NAMES[0])
                }
            }
        }
        drop(dir);
        // `/` has no parent to look at.
        let (up, st) = level.stat_up()?;
        let st = match st {
            Ok(st) => st,
            Err(e) => {
                skipped.push(failed(
                    Some(level.shown("..")),
                    format!("cannot be read: {e}: the walk stopped"),
                ));
                return None;
            }
        };
        if !level.climb(up, &st) {
            return None;
        }
        if ceilings.contains(&st.id()) {
            skipped.push(Skip::new(
                LABEL,
                level.shown_dir(),
                "is a VENVEXEC_CEILING_DIRS entry: the walk stopped below it",
            ));
            return None;
        }
        if !inp.across_filesystems && st.dev != start.dev {
            skipped.push(Skip::new(
                LABEL,
                level.shown_dir(),
                "is on another filesystem: the walk stopped (set VENVEXEC_ACROSS_FILESYSTEMS=1 to go on)",
            ));
            return None;
        }
    }
    skipped.push(failed(
        None,
        format_args!(
            "more than {MAX_LEVELS} directories above the working directory: the walk stopped"
        ),
    ));
    None
}

/// The walk could not look: said as a warning, not passed over.
fn failed(path: Option<PathBuf>, why: impl std::fmt::Display) -> Skip {
    match path {
        Some(p) => Skip::walk_error(LABEL, p, why),
        None => Skip::walk_error_note(LABEL, why),
    }
}

/// `VENVEXEC_NAMES=.venv:venv`. Entries that are empty or are not a plain
/// directory name are ignored; if none is left the default applies.
fn names(var: Option<&OsStr>) -> Vec<fd::Name<'_>> {
    let mut out = Vec::new();
    if let Some(v) = var {
        let plain = split_list(v).filter(|&p| p != "." && p != "..");
        out.extend(plain.filter_map(fd::Name::new));
    }
    if out.is_empty() {
        out.extend(DEFAULT_NAMES);
    }
    out
}

/// `VENVEXEC_CEILING_DIRS`, like `GIT_CEILING_DIRECTORIES`: absolute
/// entries, compared by identity (device and inode) with the directories
/// of the physical walk; entries that do not exist are ignored.
fn ceilings(var: Option<&OsStr>) -> Vec<(u64, u64)> {
    let Some(v) = var else { return Vec::new() };
    split_list(v)
        .filter(|p| Path::new(p).is_absolute())
        .filter_map(|p| fd::stat(Path::new(p)).ok())
        .filter(|st| st.is_dir())
        .map(|st| st.id())
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
                let b = n.as_os_str().as_bytes();
                prop_assert!(!b.is_empty() && b != b"." && b != b"..");
                prop_assert!(!b.contains(&b'/'));
            }
        }

        /// Any bytes: no panic, and at most one ceiling per entry.
        #[test]
        fn ceilings_any_bytes(var in proptest::collection::vec(any::<u8>(), 0..256)) {
            let entries = split_list(OsStr::from_bytes(&var)).count();
            prop_assert!(ceilings(Some(OsStr::from_bytes(&var))).len() <= entries);
        }
    }
}

/// The "checked" line of the walk: the conventions of [`super::in_dir`],
/// in their order.
pub fn checked(inp: &Inputs) -> String {
    let names = names(inp.names.as_deref());
    let order = super::in_dir(&names)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match inp.cwd() {
        Ok(cwd) => format!(
            "project: {order}, in each directory from {} upwards",
            cwd.display()
        ),
        Err(why) if why.gone => format!("project: {why}"),
        Err(why) => {
            format!(
                "project: {order}, in each directory from the working directory upwards ({why})"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_garbage_and_default_when_empty() {
        let of = |v: &str| -> Vec<String> {
            let var = Some(OsStr::new(v));
            names(var)
                .iter()
                .map(|n| n.as_os_str().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(None), DEFAULT_NAMES);
        assert_eq!(of(""), [".venv", "venv"]);
        assert_eq!(of("::a/b:..:."), [".venv", "venv"]);
        assert_eq!(of("env::.env"), ["env", ".env"]);
        // A NUL cannot come from the environment, and is no name either.
        assert_eq!(of("a\0b:env"), ["env"]);
    }

    #[test]
    fn ceilings_ignore_relative_and_missing() {
        let c = ceilings(Some(OsStr::new("relative:/definitely/not/here::/")));
        assert_eq!(c, [fd::stat(Path::new("/")).unwrap().id()]);
    }
}
