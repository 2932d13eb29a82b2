//! venvexec: keeps naive shell-outs inside the right Python environment.
//!
//! One binary, two faces, chosen by the name it was started under
//! ([`face`]): `venvexec` is the command-line tool ([`cli`]); any other
//! name (`python`, `pip`, …) is the shim for that name ([`shim`]). Data
//! flows one way: argv → face → resolution with reasons ([`resolve`]) →
//! action: exec ([`exec`], [`init`]) or print.

#[macro_use]
mod output;

pub mod arena;
pub mod chain;
pub mod cli;
pub mod exec;
pub mod fail;
pub mod init;
pub mod json;
pub mod log;
pub mod platform;
pub mod resolve;
pub mod shim;
pub mod venv;

use std::ffi::OsStr;
use std::path::Path;

/// The shim name, or `None` for the command-line face. A binary renamed
/// `venvexec-1.2` or run as `./target/debug/venvexec` is still the CLI.
pub fn face(argv0: &OsStr) -> Option<&OsStr> {
    let name = Path::new(argv0).file_name()?;
    if name.as_encoded_bytes().starts_with(b"venvexec") {
        None
    } else {
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_is_chosen_by_basename() {
        let f = |s: &str| face(OsStr::new(s)).map(|n| n.to_str().unwrap().to_owned());
        assert_eq!(f("/x/shims/python3").as_deref(), Some("python3"));
        assert_eq!(f("pip").as_deref(), Some("pip"));
        assert_eq!(f("/usr/local/bin/venvexec"), None);
        assert_eq!(f(""), None);
    }
}
