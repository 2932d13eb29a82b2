//! pipenv: a directory with a `Pipfile` uses pipenv's environment:
//! `PIPENV_CUSTOM_VENV_NAME`, or a `.venv` *file* naming it (a name under
//! `WORKON_HOME`, or a path relative to the project), or by default
//! `<sanitised dir name>[:42]-<sha256 of the Pipfile path, first 6 bytes,
//! base64>` under `WORKON_HOME` (default `<data dir>/virtualenvs`).
//! An in-project `.venv` directory was already taken by the walk.

use crate::platform::fd;
use crate::resolve::Kind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::judge::{Candidate, Yield};
use super::super::{Skip, Via};
use super::{Dir, Read, ToolVars, first_line, hash, read_pointer, sanitize};

pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    match &v.workon_home {
        Some(w) => v.expand_tilde(w),
        None => {
            let mut dir = v.data_dir()?;
            fd::push(&mut dir, "virtualenvs");
            Some(dir)
        }
    }
}

pub fn candidate<'a>(
    dir: &Dir<'a>,
    workon: Option<&Path>,
    skipped: &mut Vec<Skip>,
) -> Option<Yield<'a>> {
    let (level, inp, dotvenv_file) = (dir.level, dir.inp, dir.dotvenv_file);
    // A `.venv` file may name a path, which needs no WORKON_HOME.
    if workon.is_none() && !dotvenv_file {
        return None;
    }
    if !level
        .stat(fd::Name::lit("Pipfile"))
        .is_ok_and(|s| s.is_file())
    {
        return None;
    }
    let named = if dotvenv_file {
        match read_pointer(level, fd::Name::lit(".venv"), Kind::Pipenv, inp, skipped) {
            Read::Bytes(b) => first_line(&b).map(|n| n.to_os_string()),
            Read::Untrusted => return Some(Yield::Refused),
            Read::Absent => None,
        }
    } else {
        None
    };
    let env = match named {
        Some(named) if named.as_bytes().contains(&b'/') => PathBuf::from(named),
        Some(named) => workon?.join(named),
        None => match &inp.tools.pipenv_custom_venv_name {
            Some(name) => workon?.join(name),
            None => workon?.join(env_name(
                level.abs().ok()?,
                inp.tools.pipenv_python.as_deref(),
            )?),
        },
    };
    let at = if env.is_absolute() {
        env.clone()
    } else {
        level.at(&env)
    };
    Some(Yield::Candidate(Candidate::of_dir(
        level,
        at,
        env,
        Via::Pipenv,
    )))
}

/// pipenv's default name for the environment of `dir/Pipfile`, with the
/// `PIPENV_PYTHON` suffix pipenv adds (`-python3` for an absolute path,
/// `-3.11` for a version).
pub fn env_name(dir: &Path, pipenv_python: Option<&std::ffi::OsStr>) -> Option<String> {
    let name = dir.file_name()?.to_string_lossy();
    let sanitized = sanitize(&name, " &$`!*@\"()[]\\\r\n\t");
    let digest = hash::sha256(dir.join("Pipfile").as_os_str().as_bytes());
    let suffix = match pipenv_python.map(Path::new) {
        Some(p) if p.is_absolute() => format!("-{}", p.file_name()?.to_string_lossy()),
        Some(p) => format!("-{}", p.display()),
        None => String::new(),
    };
    Some(format!("{sanitized}-{}{suffix}", hash::short(&digest[..6])))
}
