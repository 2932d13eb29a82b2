//! Source 2: the environment the user activated, `VIRTUAL_ENV`, then a
//! conda environment's `CONDA_PREFIX`.

use crate::resolve::Kind;
use std::path::Path;

use super::{Found, Inputs, Skip, Source, explicit::absolute};
use crate::venv::{self, Require};

pub fn virtual_env(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    let dir = absolute(Path::new(inp.virtual_env.as_ref()?));
    // A stale value (the venv was deleted after `activate`) is common and
    // harmless to skip: the user's intent is gone with the directory.
    match venv::probe(&dir, Require::Interpreter) {
        Ok(env) => Some(Found {
            env,
            source: Source::VirtualEnv,
        }),
        Err(why) => {
            skipped.push(Skip::stale(Kind::VirtualEnv, dir, why));
            None
        }
    }
}

pub fn conda(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    let prefix = absolute(Path::new(inp.conda_prefix.as_ref()?));
    if is_conda_base(inp, &prefix) {
        // The base env is conda's own installation: as much a "system
        // Python" as /usr/bin/python3, so it does not capture the shim.
        skipped.push(Skip::new(
            Kind::Conda,
            prefix,
            "is conda's base environment, treated as a system Python",
        ));
        return None;
    }
    match venv::probe(&prefix, Require::Interpreter) {
        Ok(env) => Some(Found {
            env,
            source: Source::Conda,
        }),
        Err(why) => {
            skipped.push(Skip::stale(Kind::Conda, prefix, why));
            None
        }
    }
}

/// Conda says which env is active in `CONDA_DEFAULT_ENV` ("base" for the
/// root install) and where its root is in `_CONDA_ROOT`/`CONDA_ROOT`; a root
/// install also carries `condabin/`, which no child env has.
fn is_conda_base(inp: &Inputs, prefix: &Path) -> bool {
    if inp
        .conda_default_env
        .as_deref()
        .is_some_and(|n| n == "base")
    {
        return true;
    }
    if inp
        .conda_root
        .as_deref()
        .is_some_and(|r| absolute(Path::new(r)) == prefix)
    {
        return true;
    }
    prefix.join("condabin").is_dir()
}
