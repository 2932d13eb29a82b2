//! venvexec: one binary, two faces, chosen by the name it was started
//! under. `venvexec` is the command-line tool; any other name (`python`,
//! `pip`, …) is the shim for that name.

// Not std's `fn main`: its runtime set-up (a poll of fds 0-2, SIGPIPE set
// to ignored, the stack-overflow guard, a read of /proc/self/maps) costs
// about 17 syscalls on every `python` call, and the SIGPIPE change would
// leak into the program we exec. Both faces end in `process::exit` (which
// flushes stdout) or `execve`. The test harness brings its own main.
#![cfg_attr(not(test), no_main)]
// Without our main in the unit-test build, the faces look unused there; the
// real build still reports dead code.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
mod output;

mod chain;
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

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes argc valid NUL-terminated strings.
    let mut args = unsafe { args_from_c(argc, argv) }.into_iter();
    let argv0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    match face(&argv0) {
        Some(name) => shim::main(&name, rest),
        None => cli::main(argv0, rest),
    }
}

/// argv as the kernel gave it, byte for byte. Read here rather than through
/// `std::env::args_os`, which without std's main is only filled in on
/// some libcs.
#[cfg(not(test))]
unsafe fn args_from_c(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    let count = usize::try_from(argc).unwrap_or(0);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: the caller vouches for argc entries; a NULL one ends it.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: each entry is a NUL-terminated string.
        let bytes = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes();
        out.push(std::ffi::OsStr::from_bytes(bytes).to_os_string());
    }
    out
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
