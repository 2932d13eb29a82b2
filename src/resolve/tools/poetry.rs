//! poetry: a project whose `pyproject.toml` is poetry's keeps its
//! environment in poetry's cache, named by poetry's `generate_env_name`:
//! `<sanitised lowercase name>[:42]-<sha256 of the real project path,
//! base64, 8>-py<minor>`. Directory: `POETRY_VIRTUALENVS_PATH`, else
//! `POETRY_CACHE_DIR/virtualenvs`, else `<cache dir>/pypoetry/virtualenvs`.
//! (poetry's `config.toml` is not read: no config files on the hot path.)

use crate::platform::fd;
use crate::resolve::Kind;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::judge::{Candidate, Yield};
use super::super::{Skip, Via};
use super::{Dir, Read, ToolVars, hash, newest_with_prefix, pyproject, read_pointer_at, sanitize};

pub fn venvs_dir(v: &ToolVars) -> Option<PathBuf> {
    let cache = match &v.poetry_cache_dir {
        Some(c) => v.expand_tilde(c)?,
        None => {
            let mut dir = v.cache_dir()?;
            fd::push(&mut dir, "pypoetry");
            dir
        }
    };
    match &v.poetry_virtualenvs_path {
        // poetry expands `{cache-dir}` and `~` in this setting.
        Some(p) => {
            let text = p
                .to_string_lossy()
                .replace("{cache-dir}", &cache.to_string_lossy());
            let p = if text.contains('\u{fffd}') {
                p.clone()
            } else {
                text.into()
            };
            v.expand_tilde(&p)
        }
        None => {
            let mut dir = cache;
            fd::push(&mut dir, "virtualenvs");
            Some(dir)
        }
    }
}

pub fn candidate<'a>(dir: &Dir<'a>, venvs: &Path, skipped: &mut Vec<Skip>) -> Option<Yield<'a>> {
    let (level, inp) = (dir.level, dir.inp);
    let project = dir.project.get(skipped)?;
    if !project.poetry {
        return None;
    }
    let base = env_name(project, level.abs().ok()?);
    // poetry records the chosen Python per project in envs.toml; without
    // that, the newest of the project's environments is the one it made last
    // for the newest Python, which is what `poetry env use` would pick.
    let envs_toml =
        match read_pointer_at(&venvs.join("envs.toml"), level, Kind::Poetry, inp, skipped) {
            Read::Bytes(b) => Some(b),
            Read::Untrusted => return Some(Yield::Refused),
            Read::Absent => None,
        };
    let env = envs_toml
        .and_then(|b| minor_from_envs_toml(&b, &base))
        .map(|minor| venvs.join(format!("{base}-py{minor}")))
        .filter(|p| p.is_dir())
        .or_else(|| newest_with_prefix(venvs, format!("{base}-py").as_bytes()))?;
    Some(Yield::Candidate(Candidate::of_dir(
        level,
        env.clone(),
        env,
        Via::Poetry,
    )))
}

/// `generate_env_name(package.name, project dir)`.
pub fn env_name(project: &pyproject::Pyproject, dir: &Path) -> String {
    let name = project
        .project_name
        .as_deref()
        .or(project.poetry_name.as_deref())
        .map(pyproject::canonical_name)
        // poetry's package-mode = false projects may have no name at all.
        .unwrap_or_else(|| "non-package-mode".into());
    let sanitized = sanitize(&name.to_lowercase(), " $`!*@\"\\\r\n\t");
    let real = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    format!(
        "{sanitized}-{}",
        hash::short(&hash::sha256(real.as_os_str().as_bytes()))
    )
}

/// `envs.toml`: `[<base name>]` then `minor = "3.11"`.
fn minor_from_envs_toml(bytes: &[u8], base: &str) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut in_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .trim_matches('"')
                == base;
        } else if in_table
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "minor"
        {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}
