//! Source 1: `VENVEXEC_VENV=DIR` or `--venv DIR`.

use std::ffi::OsStr;
use std::path::Path;

use super::{ExplicitError, Found, Source};
use crate::venv::{self, Require};

pub fn resolve(dir: &OsStr, flag: bool) -> Result<Found, ExplicitError> {
    let path = absolute(Path::new(dir));
    match venv::probe(&path, Require::Interpreter) {
        Ok(env) => Ok(Found {
            env,
            source: Source::Explicit { flag },
        }),
        Err(why) => Err(ExplicitError { flag, path, why }),
    }
}

/// A relative `--venv .venv` means the one here; keep it absolute so the
/// interpreter's argv[0] and `VIRTUAL_ENV` stay valid after a `cd`.
pub fn absolute(p: &Path) -> std::path::PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
