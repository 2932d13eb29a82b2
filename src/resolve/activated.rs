//! Source 2: the environment the user activated, `VIRTUAL_ENV`, then a
//! conda environment's `CONDA_PREFIX`.

use crate::resolve::Kind;
use std::path::Path;

use super::judge::{Candidate, Origin};
use super::{Inputs, Skip, explicit::absolute};

pub fn virtual_env(inp: &Inputs) -> Option<Candidate<'static>> {
    Some(Candidate {
        at: absolute(Path::new(inp.virtual_env.as_ref()?)),
        origin: Origin::Activated(Kind::VirtualEnv),
    })
}

pub fn conda(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Candidate<'static>> {
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
    Some(Candidate {
        at: prefix,
        origin: Origin::Activated(Kind::Conda),
    })
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
