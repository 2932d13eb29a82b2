//! pipenv: a directory with a `Pipfile` uses pipenv's environment:
//! `PIPENV_CUSTOM_VENV_NAME`, or a `.venv` *file* naming it (a name under
//! `WORKON_HOME`, or a path relative to the project), or by default
//! `<sanitised dir name>[:42]-<sha256 of the Pipfile path, first 6 bytes,
//! base64>` under `WORKON_HOME` (default `<data dir>/virtualenvs`).
//! An in-project `.venv` directory was already taken by the walk.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::project::{Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::{ToolVars, first_line, hash, read_small};

pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    match &v.workon_home {
        Some(w) => Some(PathBuf::from(w)),
        None => Some(v.data_dir()?.join("virtualenvs")),
    }
}

pub fn look(
    dir: &Path,
    workon: Option<&Path>,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Option<(Look, Via)> {
    let workon = workon?;
    let pipfile = dir.join("Pipfile");
    if !pipfile.is_file() {
        return None;
    }
    let env = match read_small(&dir.join(".venv"))
        .as_deref()
        .and_then(first_line)
    {
        Some(named) if named.as_bytes().contains(&b'/') => dir.join(named),
        Some(named) => workon.join(named),
        None => match &inp.tools.pipenv_custom_venv_name {
            Some(name) => workon.join(name),
            None => workon.join(env_name(dir)?),
        },
    };
    Some((look_from(&env, dir, inp, skipped), Via::Pipenv))
}

/// pipenv's default name for the environment of `dir/Pipfile`.
pub fn env_name(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_string_lossy();
    let sanitized: String = name
        .chars()
        .map(|c| {
            if " &$`!*@\"()[]\\\r\n\t".contains(c) {
                '_'
            } else {
                c
            }
        })
        .take(42)
        .collect();
    let digest = hash::sha256(dir.join("Pipfile").as_os_str().as_bytes());
    Some(format!("{sanitized}-{}", hash::short(&digest[..6])))
}
