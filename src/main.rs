//! venvexec: one binary, two faces, chosen by the name it was started
//! under. `venvexec` is the command-line tool; any other name (`python`,
//! `pip`, …) is the shim for that name.

mod cli;
mod exec;
mod fail;
mod init;
mod platform;
mod resolve;
mod shim;
mod venv;

use std::ffi::OsString;
use std::path::Path;

fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    match face(&argv0) {
        Some(name) => shim::main(&name, rest),
        None => cli::main(argv0, rest),
    }
}

/// The shim name, or `None` for the command-line face. A binary renamed
/// `venvexec-1.2` or run as `./target/debug/venvexec` is still the CLI.
fn face(argv0: &OsString) -> Option<OsString> {
    let name = Path::new(argv0).file_name()?;
    if name.as_encoded_bytes().starts_with(b"venvexec") {
        None
    } else {
        Some(name.to_os_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_is_chosen_by_basename() {
        assert_eq!(face(&"/x/shims/python3".into()), Some("python3".into()));
        assert_eq!(face(&"pip".into()), Some("pip".into()));
        assert_eq!(face(&"/usr/local/bin/venvexec".into()), None);
        assert_eq!(face(&"".into()), None);
    }
}
