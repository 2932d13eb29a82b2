//! venvexec as PID 1 (a container's ENTRYPOINT) or with `--init`: start the
//! command as a child, forward signals, reap zombies, exit with its status.

use std::ffi::OsString;
use std::path::Path;

use crate::fail::Fail;

/// Whether to stay as a supervisor instead of exec'ing. As PID 1 the
/// kernel gives a process no default signal actions, so a Python app
/// without handlers would ignore `docker stop`'s SIGTERM.
pub fn wanted(init: bool, no_init: bool) -> bool {
    if no_init {
        return false;
    }
    init || std::process::id() == 1
}

/// Runs `program` as a child until it ends; returns the exit status to use.
pub fn supervise(
    program: &Path,
    _args: &[OsString],
    _env: &[(OsString, OsString)],
) -> Result<u8, Fail> {
    Err(Fail::new(
        crate::fail::FAILURE,
        format!(
            "--init is not available yet; run {} without it",
            program.display()
        ),
    ))
}
