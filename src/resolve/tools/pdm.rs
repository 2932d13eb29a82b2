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
use super::{ToolVars, env_of_interpreter, first_line, hash, pyproject, read_small};

/// pdm's default `venv.location` (the setting lives in pdm's config file,
/// which the shim does not read; `.pdm-python` covers other locations).
pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    Some(v.data_dir()?.join("pdm").join("venvs"))
}

pub fn look(
    dir: &Path,
    venvs: Option<&Path>,
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
        let Some(env) = env_of_interpreter(&python) else {
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
    let bytes = read_small(&dir.join("pyproject.toml"))?;
    if !pyproject::parse(&bytes).pdm {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_wins() {
        let d = tempfile::tempdir().unwrap();
        for n in ["app-x-3.9", "app-x-3.11", "app-x-3.10", "other-3.99"] {
            fs::create_dir(d.path().join(n)).unwrap();
        }
        assert_eq!(
            newest_with_prefix(d.path(), b"app-x-"),
            Some(d.path().join("app-x-3.11"))
        );
        assert_eq!(newest_with_prefix(d.path(), b"nope-"), None);
    }
}
