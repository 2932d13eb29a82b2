//! Environments that other tools keep for a project, found from the
//! project directory by each tool's own convention.
//!
//! Order inside one directory (after the in-project `.venv`/`venv`):
//! uv's `UV_PROJECT_ENVIRONMENT`, pdm's `.pdm-python` (or `PDM_PYTHON`),
//! pdm's central venvs, poetry's cache, pipenv's `WORKON_HOME`, and last a
//! pyenv-virtualenv named in `.python-version`: a variable the user set
//! beats a file that names an interpreter, which beats a computed location.
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

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::project::Look;
use super::{Inputs, Skip, Via};

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
    pub fn from_process() -> ToolVars {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
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

    fn home_join(&self, rel: &str) -> Option<PathBuf> {
        Some(Path::new(self.home.as_ref()?).join(rel))
    }

    /// `~/x` → `$HOME/x`, as the Python tools expand their own settings.
    fn expand_tilde(&self, value: &OsStr) -> Option<PathBuf> {
        let b = value.as_encoded_bytes();
        if b == b"~" {
            return self.home.as_ref().map(PathBuf::from);
        }
        match b.strip_prefix(b"~/") {
            // SAFETY: a suffix after an ASCII prefix of OsStr bytes is valid OsStr.
            Some(rest) => self
                .home_join("")
                .map(|h| h.join(unsafe { OsStr::from_encoded_bytes_unchecked(rest) })),
            None => Some(PathBuf::from(value)),
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

/// Where each tool keeps environments, when that place exists here.
pub struct Tools {
    pyenv_versions: Option<PathBuf>,
    poetry_venvs: Option<PathBuf>,
    pipenv_venvs: Option<PathBuf>,
    pdm_venvs: Option<PathBuf>,
}

impl Tools {
    pub fn new(inp: &Inputs) -> Tools {
        let v = &inp.tools;
        let existing = |p: Option<PathBuf>| p.filter(|p| p.is_dir());
        Tools {
            pyenv_versions: existing(pyenv::versions_dir(v)),
            poetry_venvs: existing(poetry::venvs_dir(v)),
            pipenv_venvs: existing(pipenv::venvs_dir(v)),
            pdm_venvs: existing(pdm::venvs_dir(v)),
        }
    }
}

/// The tool conventions for one directory of the walk. `None`: no tool
/// claims this directory.
/// `dotvenv_file`: the walk saw a regular file named `.venv` here.
pub fn look(
    dir: &Path,
    tools: &Tools,
    dotvenv_file: bool,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Option<(Look, Via)> {
    if let Some(hit) = uv::look(dir, inp, skipped) {
        return Some(hit);
    }
    if let Some(hit) = pdm::look(dir, tools.pdm_venvs.as_deref(), inp, skipped) {
        return Some(hit);
    }
    if let Some(venvs) = &tools.poetry_venvs {
        if let Some(hit) = poetry::look(dir, venvs, inp, skipped) {
            return Some(hit);
        }
    }
    if let Some(hit) = pipenv::look(
        dir,
        tools.pipenv_venvs.as_deref(),
        dotvenv_file,
        inp,
        skipped,
    ) {
        return Some(hit);
    }
    if let Some(versions) = &tools.pyenv_versions {
        if let Some(hit) = pyenv::look(dir, versions, inp, skipped) {
            return Some(hit);
        }
    }
    None
}

/// Marker files are tiny; a huge or endless one (a FIFO, /dev/zero behind
/// a symlink) must not stall the shim, so reads are capped.
pub const READ_LIMIT: u64 = 64 * 1024;

/// Reads a small marker file; `None` when it is absent, not a regular
/// file, or unreadable.
pub fn read_small(path: &Path) -> Option<Vec<u8>> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(READ_LIMIT)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
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

/// The environment root of an interpreter path (`ENV/bin/python` → `ENV`),
/// the way CPython's getpath finds `pyvenv.cfg`: beside the executable's
/// directory, without resolving symlinks first.
pub fn env_of_interpreter(python: &Path) -> Option<PathBuf> {
    let bin = python.parent()?;
    let root = bin.parent()?;
    root.join("pyvenv.cfg")
        .is_file()
        .then(|| root.to_path_buf())
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
