//! uv: `UV_PROJECT_ENVIRONMENT` names the project environment, absolute or
//! relative to the project root (the directory holding `pyproject.toml`).

use std::path::Path;

use super::super::project::{Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::normalize_lexically;

pub fn look(dir: &Path, inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<(Look, Via)> {
    let var = inp.tools.uv_project_environment.as_ref()?;
    if !dir.join("pyproject.toml").is_file() {
        return None;
    }
    let env = normalize_lexically(&dir.join(var));
    Some((look_from(&env, dir, inp, skipped), Via::Uv))
}
