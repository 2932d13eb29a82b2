//! Environments that other tools keep for a project, found from the
//! project directory by each tool's own convention.
//!
//! Each convention only yields a candidate; the judge decides
//! ([`crate::resolve::judge`]), and the order is [`crate::resolve::IN_DIR_TOOLS`].
//!
//! Cost: a tool's per-directory `stat` only happens when that tool's home
//! exists on this machine (checked once per walk), so a machine without
//! poetry pays nothing for poetry.

pub mod hash;
mod pdm;
mod pipenv;
mod poetry;
mod pyenv;
pub mod pyproject;
mod uv;

use crate::resolve::Kind;
use std::cell::OnceCell;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::judge::Yield;
use super::level::Level;
use super::trust::{self, Pointer};
use super::{Inputs, Skip};
use crate::platform::environ::Vars;
use crate::platform::fd;

/// The variables the tool conventions read, snapshotted with the rest.
#[derive(Debug, Clone, Default)]
pub struct ToolVars {
    pub home: Option<OsString>,
    pub xdg_cache_home: Option<OsString>,
    pub xdg_data_home: Option<OsString>,
    pub pyenv_root: Option<OsString>,
    pub poetry_virtualenvs_path: Option<OsString>,
    pub poetry_cache_dir: Option<OsString>,
    pub workon_home: Option<OsString>,
    pub pipenv_custom_venv_name: Option<OsString>,
    pub pipenv_python: Option<OsString>,
    pub pdm_python: Option<OsString>,
    pub uv_project_environment: Option<OsString>,
}

impl ToolVars {
    pub fn from_vars(vars: &Vars) -> ToolVars {
        let var = |k: &str| {
            vars.get(k)
                .filter(|v| !v.is_empty())
                .map(OsStr::to_os_string)
        };
        ToolVars {
            home: var("HOME"),
            xdg_cache_home: var("XDG_CACHE_HOME"),
            xdg_data_home: var("XDG_DATA_HOME"),
            pyenv_root: var("PYENV_ROOT"),
            poetry_virtualenvs_path: var("POETRY_VIRTUALENVS_PATH"),
            poetry_cache_dir: var("POETRY_CACHE_DIR"),
            workon_home: var("WORKON_HOME"),
            pipenv_custom_venv_name: var("PIPENV_CUSTOM_VENV_NAME"),
            pipenv_python: var("PIPENV_PYTHON"),
            pdm_python: var("PDM_PYTHON"),
            uv_project_environment: var("UV_PROJECT_ENVIRONMENT"),
        }
    }

    fn home_join(&self, rel: impl AsRef<Path>) -> Option<PathBuf> {
        let (home, rel) = (self.home.as_ref()?, rel.as_ref());
        // Room for what the tools then push (`pdm/venvs`): one allocation.
        let mut p = PathBuf::with_capacity(home.len() + rel.as_os_str().len() + 32);
        p.as_mut_os_string().push(home);
        fd::push(&mut p, rel);
        Some(p)
    }

    /// `~/x` → `$HOME/x`, as the Python tools expand their own settings.
    fn expand_tilde(&self, value: &OsStr) -> Option<PathBuf> {
        match Path::new(value).strip_prefix("~") {
            Ok(rest) => self.home_join(rest),
            Err(_) => Some(PathBuf::from(value)),
        }
    }

    /// `$XDG_CACHE_HOME`, else `~/.cache` (platformdirs on Linux).
    fn cache_dir(&self) -> Option<PathBuf> {
        absolute_var(&self.xdg_cache_home).or_else(|| self.home_join(".cache"))
    }

    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    fn data_dir(&self) -> Option<PathBuf> {
        absolute_var(&self.xdg_data_home).or_else(|| self.home_join(".local/share"))
    }
}

/// XDG says relative values are to be ignored.
fn absolute_var(v: &Option<OsString>) -> Option<PathBuf> {
    v.as_ref().map(PathBuf::from).filter(|p| p.is_absolute())
}

/// Where each tool keeps environments, when that place exists here
/// (looked up once per walk).
pub struct Tools {
    pyenv_versions: Option<PathBuf>,
    poetry_venvs: Option<PathBuf>,
    pipenv_venvs: Option<PathBuf>,
    pdm_venvs: Option<PathBuf>,
}

impl Tools {
    pub fn new(inp: &Inputs) -> Tools {
        let v = &inp.tools;
        // `Path::is_dir`, in one fstatat rather than a statx and a full
        // `Metadata`.
        let existing = |p: Option<PathBuf>| p.filter(|p| fd::stat(p).is_ok_and(|st| st.is_dir()));
        Tools {
            pyenv_versions: existing(pyenv::versions_dir(v)),
            poetry_venvs: existing(poetry::venvs_dir(v)),
            pipenv_venvs: existing(pipenv::venvs_dir(v)),
            pdm_venvs: existing(pdm::venvs_dir(v)),
        }
    }
}

/// What the tool conventions see of one directory of the walk.
pub struct Dir<'a> {
    pub level: &'a Level,
    pub inp: &'a Inputs,
    /// Where each tool keeps its environments: the walk's one lookup,
    /// made when a convention first asks ([`Dir::tools`]), so a walk that
    /// ends at the first directory's `.venv` makes none.
    homes: &'a OnceCell<Tools>,
    /// Its `pyproject.toml`, read at most once for all conventions.
    pub project: pyproject::InDir<'a>,
    /// The walk saw a regular file named `.venv` here.
    pub dotvenv_file: bool,
}

impl<'a> Dir<'a> {
    pub fn new(level: &'a Level, inp: &'a Inputs, homes: &'a OnceCell<Tools>) -> Self {
        Dir {
            level,
            inp,
            homes,
            project: pyproject::InDir::new(level, inp),
            dotvenv_file: false,
        }
    }

    pub fn tools(&self) -> &'a Tools {
        self.homes.get_or_init(|| Tools::new(self.inp))
    }
}

/// The candidate of one tool's convention in one directory; `None` when
/// the tool does not claim it. The order they are tried in is
/// [`crate::resolve::IN_DIR_TOOLS`].
///
/// What a tool needs on this machine to look at all (uv's variable,
/// poetry's and pyenv's homes) is asked here, inlined into the walk: a
/// tool that cannot claim anything costs a test per directory, not a call.
#[inline]
pub fn candidate<'a>(tool: Tool, dir: &Dir<'a>, skipped: &mut Vec<Skip>) -> Option<Yield<'a>> {
    let tools = dir.tools();
    match tool {
        Tool::Uv => uv::candidate(dir, dir.inp.tools.uv_project_environment.as_ref()?),
        Tool::Pdm => pdm::candidate(dir, tools.pdm_venvs.as_deref(), skipped),
        Tool::Poetry => poetry::candidate(dir, tools.poetry_venvs.as_deref()?, skipped),
        Tool::Pipenv => pipenv::candidate(dir, tools.pipenv_venvs.as_deref(), skipped),
        Tool::PyenvVirtualenv => pyenv::candidate(dir, tools.pyenv_versions.as_deref()?, skipped),
    }
}

/// The tools whose conventions the project walk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Uv,
    Pdm,
    Poetry,
    Pipenv,
    PyenvVirtualenv,
}

impl Tool {
    pub fn kind(self) -> Kind {
        match self {
            Tool::Uv => Kind::Uv,
            Tool::Pdm => Kind::Pdm,
            Tool::Poetry => Kind::Poetry,
            Tool::Pipenv => Kind::Pipenv,
            Tool::PyenvVirtualenv => Kind::PyenvVirtualenv,
        }
    }
}

/// A pointer file a convention reads.
pub enum Read {
    /// Not there, or not something to read (noted).
    Absent,
    /// Someone else could have written it: noted, and the walk ends here,
    /// as for an untrusted environment.
    Untrusted,
    Bytes(Vec<u8>),
}

/// Reads the pointer file `name` of the walk's directory `level`, for
/// the convention `label`; every answer but the contents is noted.
#[inline]
pub fn read_pointer(
    level: &Level,
    name: fd::Name,
    label: Kind,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Read {
    // Nearly always not there: one lstat, no path built, and no call to
    // what reads one. (What is there is then opened without following a
    // link, and checked on that descriptor: this look decides nothing.)
    if level
        .lstat(name)
        .is_err_and(|e| crate::platform::is_missing(&e))
    {
        return Read::Absent;
    }
    read_pointer_here(level, name, label, inp, skipped)
}

/// [`read_pointer`] once something is there: out of the walk's loop.
#[inline(never)]
fn read_pointer_here(
    level: &Level,
    name: fd::Name,
    label: Kind,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Read {
    let name = name.as_os_str();
    let found_in = || level.abs().ok().map(Path::to_path_buf);
    let abs = || found_in().map(|d| d.join(name));
    level.with_at(name, |at| {
        let pointer = trust::read_pointer_there(at, abs, found_in, inp);
        noted(pointer, at, abs, found_in, label, skipped)
    })
}

/// As [`read_pointer`], for a file at an absolute path (a tool's central
/// directory) that a convention of the project `level` reads.
pub fn read_pointer_at(
    path: &Path,
    level: &Level,
    label: Kind,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Read {
    let found_in = || level.abs().ok().map(Path::to_path_buf);
    read_noted(
        path,
        || Some(path.to_path_buf()),
        found_in,
        label,
        inp,
        skipped,
    )
}

fn read_noted(
    at: &Path,
    abs: impl Fn() -> Option<PathBuf>,
    found_in: impl Fn() -> Option<PathBuf>,
    label: Kind,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Read {
    let pointer = trust::read_pointer(at, &abs, &found_in, inp);
    noted(pointer, at, abs, found_in, label, skipped)
}

/// A pointer's answer as the convention's, every answer but the contents
/// noted.
fn noted(
    pointer: Pointer,
    at: &Path,
    abs: impl Fn() -> Option<PathBuf>,
    found_in: impl Fn() -> Option<PathBuf>,
    label: Kind,
    skipped: &mut Vec<Skip>,
) -> Read {
    let shown = || abs().unwrap_or_else(|| at.to_path_buf());
    match pointer {
        Pointer::Absent => Read::Absent,
        Pointer::Bytes(b) => Read::Bytes(b),
        Pointer::Unusable(why) => {
            skipped.push(Skip::new(label, shown(), why));
            Read::Absent
        }
        Pointer::Untrusted(why) => {
            // Trusting the project directory is what accepts its pointers.
            let dir = found_in().unwrap_or_else(shown);
            let mut skip = Skip::untrusted(label, shown(), &dir, &why);
            skip.why = format!("not trusted: {why}; {}", trust::hint(&dir));
            skipped.push(skip);
            Read::Untrusted
        }
    }
}

/// The first non-empty, non-comment line of a marker file, trimmed.
pub fn first_line(bytes: &[u8]) -> Option<&OsStr> {
    use std::os::unix::ffi::OsStrExt;
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(OsStr::from_bytes)
}

/// Among `dir/<prefix><version>` entries, the one with the highest version
/// (poetry and pdm both keep one per Python version).
pub fn newest_with_prefix(dir: &Path, prefix: &[u8]) -> Option<PathBuf> {
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.as_bytes().strip_prefix(prefix) else {
            continue;
        };
        let version = version_key(rest);
        if best.as_ref().is_none_or(|(v, _)| version > *v) {
            best = Some((version, entry.path()));
        }
    }
    best.map(|(_, p)| p)
}

fn version_key(s: &[u8]) -> Vec<u64> {
    s.split(|&b| b == b'.')
        .map(|part| {
            part.iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |n, &d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                })
        })
        .collect()
}

/// Tool-made environment names: the characters a shell or a shebang line
/// would trip on become `_`, and the name is cut to 42 characters (pipenv
/// and poetry both keep shebangs under the kernel's 127-byte limit so).
pub fn sanitize(name: &str, unsafe_chars: &str) -> String {
    name.chars()
        .map(|c| if unsafe_chars.contains(c) { '_' } else { c })
        .take(42)
        .collect()
}

/// `a/./b/../c` → `a/c` without touching the filesystem, as uv treats
/// its environment path (the `..` may name a directory that does not exist).
pub fn normalize_lexically(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            // `..` of the root is the root; of a relative start, kept.
            Component::ParentDir => {
                if out.parent().is_some() {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_wins() {
        let d = tempfile::tempdir().unwrap();
        for n in ["app-x-3.9", "app-x-3.11", "app-x-3.10", "other-3.99"] {
            std::fs::create_dir(d.path().join(n)).unwrap();
        }
        assert_eq!(
            newest_with_prefix(d.path(), b"app-x-"),
            Some(d.path().join("app-x-3.11"))
        );
        assert_eq!(newest_with_prefix(d.path(), b"nope-"), None);
    }

    #[test]
    fn lexical_normalisation() {
        assert_eq!(
            normalize_lexically(Path::new("/p/./x/../.venv")),
            Path::new("/p/.venv")
        );
        assert_eq!(normalize_lexically(Path::new("/../a")), Path::new("/a"));
    }

    #[test]
    fn first_line_skips_blank_and_comments() {
        assert_eq!(
            first_line(b"\n# c\n  3.12.1 \nx"),
            Some(OsStr::new("3.12.1"))
        );
        assert_eq!(first_line(b"\n\n"), None);
        assert_eq!(first_line(b""), None);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: no panic; a line found is non-empty, trimmed, not a
        /// comment, one line, and taken from the input.
        #[test]
        fn first_line_of_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            if let Some(line) = first_line(&bytes) {
                let b = line.as_bytes();
                prop_assert!(!b.is_empty());
                prop_assert_eq!(b.trim_ascii(), b);
                prop_assert!(!b.starts_with(b"#"));
                prop_assert!(!b.contains(&b'\n'));
                prop_assert!(bytes.windows(b.len()).any(|w| w == b));
            }
        }
    }
}
