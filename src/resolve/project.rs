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
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::tools::{self, Tools};
use super::trust::{self, FoundIn, Refusal};
use super::{Found, Inputs, Skip, Source, Via};
use crate::platform::fd;
use crate::platform::split_list;
use crate::venv;

const DEFAULT_NAMES: [&str; 2] = [".venv", "venv"];
const LABEL: super::Kind = super::Kind::Project;
/// `../` per level: beyond this many levels a relative path would pass
/// PATH_MAX (4096) itself. No real tree is that deep.
const MAX_LEVELS: usize = 1300;

/// One directory of the walk.
pub struct Level {
    /// How the walk reaches it: its absolute path, or when that does not
    /// work, a path relative to the working directory (`..`, `../..`).
    rel: PathBuf,
    /// Its absolute path: from the working directory's, or asked of the
    /// kernel the first time it is needed when that one is unknown.
    abs: OnceCell<Result<PathBuf, String>>,
    /// Device and inode, from the walk's own look at it.
    id: (u64, u64),
}

impl Level {
    /// Where the walk reaches `name` in this directory.
    pub fn at(&self, name: impl AsRef<Path>) -> PathBuf {
        if self.rel.as_os_str() == "." {
            return name.as_ref().to_path_buf();
        }
        self.rel.join(name)
    }

    /// The directory's absolute path.
    pub fn abs(&self) -> Result<&Path, &str> {
        if self.rel.is_absolute() {
            return Ok(&self.rel);
        }
        self.abs
            .get_or_init(|| {
                fd::absolute_dir(&self.rel)
                    .map_err(|e| format!("its absolute path cannot be read: {e}"))
            })
            .as_ref()
            .map(PathBuf::as_path)
            .map_err(String::as_str)
    }

    /// The path users read for `name` here: absolute when known.
    pub fn shown(&self, name: impl AsRef<Path>) -> PathBuf {
        if self.rel.is_absolute() {
            return self.rel.join(name);
        }
        match self.abs.get() {
            Some(Ok(abs)) => abs.join(name),
            _ => self.at(name),
        }
    }

    fn shown_dir(&self) -> PathBuf {
        if self.rel.is_absolute() {
            return self.rel.clone();
        }
        match self.abs.get() {
            Some(Ok(abs)) => abs.clone(),
            _ => self.rel.clone(),
        }
    }

    fn found_in(&self) -> Option<FoundIn<'_>> {
        Some(FoundIn {
            abs: self.abs().ok()?,
            id: Some(self.id),
        })
    }

    /// Where the walk reaches the parent: an absolute path's lexical
    /// parent (the path is physical, so that is its `..`), else `..`
    /// from here. `None` at `/`.
    fn up(&self) -> Option<PathBuf> {
        if self.rel.is_absolute() {
            return self.rel.parent().map(Path::to_path_buf);
        }
        if self.rel.as_os_str() == "." {
            return Some(PathBuf::from(".."));
        }
        Some(self.rel.join(".."))
    }

    /// The parent, or `None` at `/` (whose `..` is itself).
    /// The parent, reached at `up` (from [`Level::up`]) and seen as `st`;
    /// `None` at `/` (whose `..` is itself).
    fn parent(&self, up: PathBuf, st: &fd::Stat) -> Option<Level> {
        if st.id() == self.id {
            return None;
        }
        let abs = OnceCell::new();
        if !up.is_absolute()
            && let Some(Ok(a)) = self.abs.get()
        {
            let _ = abs.set(Ok(a.parent().unwrap_or(a).to_path_buf()));
        }
        Some(Level {
            rel: up,
            abs,
            id: st.id(),
        })
    }
}

pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    let cwd = match &inp.cwd {
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
    let by_path = cwd.and_then(|c| Some((c.clone(), fd::stat(c).ok()?)));
    let (rel, start) = match by_path {
        Some(found) => found,
        None => match fd::stat(Path::new(".")) {
            Ok(st) => (PathBuf::from("."), st),
            Err(e) => {
                skipped.push(failed(cwd.cloned(), format!("cannot be read: {e}")));
                return None;
            }
        },
    };
    let names = names(inp.names.as_deref());
    let ceilings = ceilings(inp.ceilings.as_deref());
    let mut level = Level {
        rel,
        abs: OnceCell::new(),
        id: start.id(),
    };
    if let Some(cwd) = cwd
        && !level.rel.is_absolute()
    {
        let _ = level.abs.set(Ok(cwd.clone()));
    }

    // Where each tool keeps its environments: looked up only once the
    // walk gets past the in-project names of the first directory, which is
    // where most calls end.
    let mut tools: Option<Tools> = None;

    for _ in 0..MAX_LEVELS {
        // In one directory: the in-project directories first, then the
        // tool conventions (see tools::look for their order).
        let mut dotvenv_file = false;
        for name in &names {
            let outcome = look(&level, name, inp, skipped);
            // pipenv's `.venv` *file* naming the environment: knowing it
            // from this lstat saves the pipenv convention one per directory.
            dotvenv_file |= *name == ".venv" && matches!(outcome, Look::File);
            match outcome {
                Look::Nothing | Look::File => {}
                Look::Found(env) => return Some(found(&level, env, Via::Dir(name.to_os_string()))),
                // As git does: an untrusted hit ends discovery here. Climbing
                // on would hand the choice to whoever can write the parent.
                Look::Untrusted => return None,
            }
        }
        let tools = tools.get_or_insert_with(|| Tools::new(inp));
        match tools::look(&level, tools, dotvenv_file, inp, skipped) {
            None => {}
            Some((Look::Found(env), via)) => return Some(found(&level, env, via)),
            Some((Look::Untrusted, _)) => return None,
            Some((Look::Nothing | Look::File, _)) => {}
        }
        // `/` has no parent to look at.
        let up = level.up()?;
        let st = match fd::stat(&up) {
            Ok(st) => st,
            Err(e) => {
                skipped.push(failed(
                    Some(level.shown("..")),
                    format!("cannot be read: {e}: the walk stopped"),
                ));
                return None;
            }
        };
        level = level.parent(up, &st)?;
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

fn found(level: &Level, env: venv::Env, via: Via) -> Found {
    // A found environment was checked, which needed the absolute path.
    let dir = level.abs().map(Path::to_path_buf).unwrap_or_default();
    Found {
        env,
        source: Source::Project { dir, via },
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

/// Is `level/name` a usable, trusted environment? Notes why not.
fn look(level: &Level, name: &OsStr, inp: &Inputs, skipped: &mut Vec<Skip>) -> Look {
    look_from(&level.at(name), Candidate::In(level, name), inp, skipped)
}

/// Where a candidate environment is, for the checks: in the directory of
/// the walk, or at an absolute path (a tool's central directory).
pub enum Candidate<'a> {
    In(&'a Level, &'a OsStr),
    At(&'a Level, PathBuf),
}

impl Candidate<'_> {
    fn level(&self) -> &Level {
        match self {
            Candidate::In(l, _) | Candidate::At(l, _) => l,
        }
    }

    /// For messages: absolute when that is known without asking.
    fn shown(&self) -> PathBuf {
        match self {
            Candidate::In(l, name) => l.shown(name),
            Candidate::At(_, p) if p.is_absolute() => p.clone(),
            Candidate::At(l, p) => l.shown(p),
        }
    }

    fn abs(&self) -> Result<PathBuf, &str> {
        match self {
            Candidate::In(l, name) => l.abs().map(|a| a.join(name)),
            Candidate::At(_, p) if p.is_absolute() => Ok(p.clone()),
            Candidate::At(l, p) => l.abs().map(|a| a.join(p)),
        }
    }
}

/// As `look`, for a candidate that `at` reaches: `cand` says where it is
/// and which directory of the walk led to it.
pub fn look_from(at: &Path, cand: Candidate, inp: &Inputs, skipped: &mut Vec<Skip>) -> Look {
    // The common case, nothing here, costs exactly one lstat.
    let shown = || cand.shown();
    match fd::lstat(at) {
        Ok(m) if m.is_file() => {
            skipped.push(Skip::new(LABEL, shown(), venv::NotEnv::NotADirectory));
            return Look::File;
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Look::Nothing,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Look::Nothing,
        Err(e) => {
            skipped.push(Skip::walk_error(
                LABEL,
                shown(),
                format!("cannot be read: {e}"),
            ));
            return Look::Nothing;
        }
    }
    let (root, found_in) = match (cand.abs(), cand.level().found_in()) {
        (Ok(root), Some(found_in)) => (root, found_in),
        (root, _) => {
            let why = cand.level().abs().err().or(root.err()).unwrap_or("");
            return unusable(&shown(), at, why, skipped);
        }
    };
    let shown = root.clone();
    match trust::discovered(at, &root, found_in, inp) {
        Ok(env) => Look::Found(env),
        Err(Refusal::NotEnv(venv::NotEnv::Missing)) => {
            let to = venv::missing_link_target(at);
            skipped.push(Skip::new(
                LABEL,
                &shown,
                format!("is a dangling symlink ({} does not exist)", to.display()),
            ));
            Look::Nothing
        }
        Err(Refusal::NotEnv(why @ venv::NotEnv::Unreadable(_))) => {
            skipped.push(Skip::walk_error(LABEL, &shown, why));
            Look::Nothing
        }
        Err(Refusal::NotEnv(why)) => {
            skipped.push(Skip::new(LABEL, &shown, why));
            Look::Nothing
        }
        Err(Refusal::Untrusted(why)) => {
            skipped.push(Skip::untrusted(LABEL, &shown, found_in.abs, why));
            Look::Untrusted
        }
        Err(Refusal::Unreachable(why)) => {
            skipped.push(failed(
                Some(shown),
                format!("found, but cannot be used: {why}"),
            ));
            Look::Untrusted
        }
    }
}

/// The walk could not look: said as a warning, not passed over.
fn failed(path: Option<PathBuf>, why: impl std::fmt::Display) -> Skip {
    match path {
        Some(p) => Skip::walk_error(LABEL, p, why),
        None => Skip::walk_error_note(LABEL, why),
    }
}

/// An environment the walk reached, but whose absolute path (needed to
/// check it and to run it) cannot be known: the walk ends, and says so.
fn unusable(shown: &Path, at: &Path, why: &str, skipped: &mut Vec<Skip>) -> Look {
    if venv::probe(at, venv::Require::Marker).is_err() {
        return Look::Nothing;
    }
    skipped.push(failed(
        Some(shown.to_path_buf()),
        format!("found, but cannot be used: {why}"),
    ));
    Look::Untrusted
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
                let b = n.as_bytes();
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
        assert_eq!(c, [fd::stat(Path::new("/")).unwrap().id()]);
    }
}
