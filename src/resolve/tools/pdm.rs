//! pdm: `.pdm-python` (or `PDM_PYTHON`) names the project's interpreter;
//! without it, pdm's centrally kept venvs are named
//! `<dir name>-<md5 of the project path, base64, 8>-<python version>`
//! under `<data dir>/pdm/venvs`.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::project::{Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::{ToolVars, first_line, hash, newest_with_prefix, pyproject, read_small};
use crate::venv;

/// pdm's default `venv.location` (the setting lives in pdm's config file,
/// which the shim does not read; `.pdm-python` covers other locations).
pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    Some(v.data_dir()?.join("pdm").join("venvs"))
}

pub fn look(
    dir: &Path,
    venvs: Option<&Path>,
    project: &pyproject::InDir,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Option<(Look, Via)> {
    let marker = dir.join(".pdm-python");
    if let Some(bytes) = read_small(&marker) {
        // PDM_PYTHON overrides the file, as it does for pdm itself.
        let python: PathBuf = match &inp.tools.pdm_python {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(first_line(&bytes)?),
        };
        let python = if python.is_relative() {
            dir.join(python)
        } else {
            python
        };
        let via = Via::Pdm(marker.clone());
        if fs::symlink_metadata(&python).is_err() {
            skipped.push(Skip::new(
                "pdm",
                &marker,
                format!("names {}, which does not exist", python.display()),
            ));
            return None;
        }
        let Some(env) = venv::root_of_interpreter(&python) else {
            skipped.push(Skip::new(
                "pdm",
                &marker,
                format!(
                    "names {}, which is not in a virtual environment",
                    python.display()
                ),
            ));
            return None;
        };
        return Some((look_from(&env, dir, inp, skipped), via));
    }
    let venvs = venvs?;
    if !project.get()?.pdm {
        return None;
    }
    let prefix = prefix(dir)?;
    let env = newest_with_prefix(venvs, prefix.as_bytes())?;
    Some((
        look_from(&env, dir, inp, skipped),
        Via::Pdm(venvs.to_path_buf()),
    ))
}

/// `get_venv_prefix` of pdm: the project directory's name, then the hash
/// of its POSIX path.
pub fn prefix(dir: &Path) -> Option<OsString> {
    let name = dir.file_name()?;
    let mut p = name.to_os_string();
    p.push("-");
    p.push(hash::short(&hash::md5(dir.as_os_str().as_bytes())));
    p.push("-");
    Some(p)
}
