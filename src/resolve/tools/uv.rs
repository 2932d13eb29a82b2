//! uv: `UV_PROJECT_ENVIRONMENT` names the project environment, absolute or
//! relative to the project root (the directory holding `pyproject.toml`).

use std::path::Path;

use super::super::project::{Candidate, Level, Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::normalize_lexically;
use crate::platform::fd;

pub fn look(level: &Level, inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<(Look, Via)> {
    let var = inp.tools.uv_project_environment.as_ref()?;
    if !fd::stat(&level.at("pyproject.toml")).is_ok_and(|s| s.is_file()) {
        return None;
    }
    let var = Path::new(var);
    let env = if var.is_absolute() {
        normalize_lexically(var)
    } else {
        normalize_lexically(&level.abs().ok()?.join(var))
    };
    Some((
        look_from(&env.clone(), Candidate::At(level, env), inp, skipped),
        Via::Uv,
    ))
}
