//! uv: `UV_PROJECT_ENVIRONMENT` names the project environment, absolute or
//! relative to the project root (the directory holding `pyproject.toml`).

use std::ffi::OsStr;
use std::path::Path;

use super::super::Via;
use super::super::judge::{Candidate, Yield};
use super::{Dir, normalize_lexically};

/// `var` is `UV_PROJECT_ENVIRONMENT`, set.
pub fn candidate<'a>(dir: &Dir<'a>, var: &OsStr) -> Option<Yield<'a>> {
    let level = dir.level;
    if !level
        .stat(crate::platform::fd::Name::lit("pyproject.toml"))
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
