//! pdm: `.pdm-python` (or `PDM_PYTHON`) names the project's interpreter;
//! without it, pdm's centrally kept venvs are named
//! `<dir name>-<md5 of the project path, base64, 8>-<python version>`
//! under `<data dir>/pdm/venvs`.

use crate::resolve::Kind;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::judge::{Candidate, Yield};
use super::super::{Skip, Via};
use super::{Dir, Read, ToolVars, first_line, hash, newest_with_prefix, read_pointer};
use crate::platform::fd;
use crate::venv;

/// pdm's default `venv.location` (the setting lives in pdm's config file,
/// which the shim does not read; `.pdm-python` covers other locations).
pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    let mut dir = v.data_dir()?;
    fd::push(&mut dir, "pdm");
    fd::push(&mut dir, "venvs");
    Some(dir)
}

pub fn candidate<'a>(
    dir: &Dir<'a>,
    venvs: Option<&Path>,
    skipped: &mut Vec<Skip>,
) -> Option<Yield<'a>> {
    let (level, inp) = (dir.level, dir.inp);
    let bytes = match read_pointer(level, fd::Name::lit(".pdm-python"), Kind::Pdm, inp, skipped) {
        Read::Bytes(b) => Some(b),
        Read::Untrusted => return Some(Yield::Refused),
        Read::Absent => None,
    };
    if let Some(bytes) = bytes {
        let marker = level.shown(".pdm-python");
        // PDM_PYTHON overrides the file, as it does for pdm itself.
        let python: PathBuf = match &inp.tools.pdm_python {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(first_line(&bytes)?),
        };
        let at = if python.is_relative() {
            level.at(&python)
        } else {
            python.clone()
        };
        let via = Via::Pdm(marker.clone());
        if fd::lstat(&at).is_err() {
            skipped.push(Skip::new(
                Kind::Pdm,
                &marker,
                format!("names {}, which does not exist", python.display()),
            ));
            return None;
        }
        let Some(env) = venv::root_of_interpreter(&at) else {
            skipped.push(Skip::new(
                Kind::Pdm,
                &marker,
                format!(
                    "names {}, which is not in a virtual environment",
                    python.display()
                ),
            ));
            return None;
        };
        let place = if python.is_relative() {
            // `env` is `at`'s ancestor: the same number of `..` from here.
            let depth = at.components().count() - env.components().count();
            python.ancestors().nth(depth)?.to_path_buf()
        } else {
            env.clone()
        };
        return Some(Yield::Candidate(Candidate::of_dir(level, env, place, via)));
    }
    let venvs = venvs?;
    if !dir.project.get(skipped)?.pdm {
        return None;
    }
    let prefix = prefix(level.abs().ok()?)?;
    let env = newest_with_prefix(venvs, prefix.as_bytes())?;
    Some(Yield::Candidate(Candidate::of_dir(
        level,
        env.clone(),
        env,
        Via::Pdm(venvs.to_path_buf()),
    )))
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
