//! Writing that never panics.
//!
//! `println!` panics when stdout cannot be written (`>/dev/full`, a closed
//! pipe with SIGPIPE ignored, as Python's `os.system` leaves it), and with
//! `panic = "abort"` that is a SIGABRT and exit 134 instead of the status
//! the contract promises. Everything venvexec prints goes through here:
//!
//! - stdout: the first failed write is remembered and later writes are
//!   dropped; the command still finishes what it was doing (a `shims
//!   install` whose output nobody reads still installs), and [`finish`]
//!   turns the failure into the exit status. A broken pipe is a normal end
//!   (the reader has seen enough, as with `| head`), as ripgrep treats it.
//! - stderr: best effort. If even the error channel is gone there is
//!   nobody left to tell, and the exit status still says what happened.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

/// The first error writing stdout, if any.
static STDOUT_FAILED: OnceLock<io::Error> = OnceLock::new();

/// Writes to stdout, remembering a failure instead of panicking.
pub fn out(args: fmt::Arguments<'_>) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        let _ = STDOUT_FAILED.set(e);
    }
}

/// Raw bytes to stdout: a path that is not UTF-8 is printed as the very
/// bytes, so `$(venvexec which)` names the file itself.
pub fn out_bytes(bytes: &[u8]) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    if let Err(e) = io::stdout().lock().write_all(bytes) {
        let _ = STDOUT_FAILED.set(e);
    }
}

/// Writes to stderr; a failure is dropped (see the module comment).
pub fn err(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// The exit status once a command is done: flushes stdout, and turns a
/// failed write into a failure (said on stderr) unless the command already
/// failed on its own or the reader simply went away.
pub fn finish(code: u8) -> u8 {
    if STDOUT_FAILED.get().is_none()
        && let Err(e) = io::stdout().lock().flush()
    {
        let _ = STDOUT_FAILED.set(e);
    }
    match STDOUT_FAILED.get() {
        None => code,
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            err(format_args!("venvexec: cannot write the output: {e}\n"));
            if code == 0 {
                crate::fail::FAILURE
            } else {
                code
            }
        }
    }
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::output::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::out(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::err(format_args!("{}\n", format_args!($($arg)*))) };
}
