//! uv: `UV_PROJECT_ENVIRONMENT` names the project environment, absolute or
//! relative to the project root (the directory holding `pyproject.toml`).

use std::ffi::OsStr;
use std::path::Path;

use super::super::judge::{Candidate, Yield};
use super::super::{Skip, Via};
use super::{Dir, normalize_lexically};

pub fn candidate<'a>(dir: &Dir<'a>, _skipped: &mut [Skip]) -> Option<Yield<'a>> {
    let level = dir.level;
    let var = dir.inp.tools.uv_project_environment.as_ref()?;
    if !level
        .stat(OsStr::new("pyproject.toml"))
        .is_ok_and(|s| s.is_file())
    {
        return None;
    }
    let var = Path::new(var);
    let env = if var.is_absolute() {
        normalize_lexically(var)
    } else {
        normalize_lexically(&level.abs().ok()?.join(var))
    };
    Some(Yield::Candidate(Candidate::of_dir(
        level,
        env.clone(),
        env,
        Via::Uv,
    )))
}
