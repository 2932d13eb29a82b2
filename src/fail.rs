//! How venvexec ends when it cannot run what was asked: one message on
//! stderr, starting `venvexec: `, and an exit code a shell understands.

use std::fmt;

/// Exit codes of the contract.
pub const NOT_FOUND: u8 = 127;
pub const NOT_RUNNABLE: u8 = 126;
pub const USAGE: u8 = 2;
pub const FAILURE: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl Fail {
    pub fn new(code: u8, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// Every "nothing to run" error ends by saying where to look next.
pub fn with_which_hint(mut fail: Fail, name: &std::ffi::OsStr) -> Fail {
    if fail.code == NOT_FOUND {
        fail.message.push_str(&format!(
            "\n  hint: run 'venvexec which -v {}' here to see why",
            shell_words::quote(&name.to_string_lossy())
        ));
    }
    fail
}

/// Prints the message and exits. Never returns.
pub fn exit(fail: &Fail) -> ! {
    errln!("venvexec: {}", fail.message);
    std::process::exit(i32::from(fail.code))
}

/// One `venvexec: warning: …` line on stderr; a warning never breaks
/// the call.
pub fn warn(message: &str) {
    errln!("venvexec: warning: {message}");
}
