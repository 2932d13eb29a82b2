//! The venvexec binary: picks the face by the name it was started under,
//! and hands over. Everything else is in the library.

// Not std's `fn main`: its runtime set-up (a poll of fds 0-2, SIGPIPE set
// to ignored, the stack-overflow guard, a read of /proc/self/maps) costs
// about 17 syscalls on every `python` call, and the SIGPIPE change would
// leak into the program we exec. Both faces end in `process::exit` (which
// flushes stdout) or `execve`.
#![no_main]

use std::ffi::{OsStr, c_char, c_int};

// A shim allocates a few KiB and exits by exec: bump them (see arena).
#[global_allocator]
static ALLOCATOR: venvexec::arena::Arena = venvexec::arena::Arena::new();

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // Before anything reads the environment: the static build's entry
    // point hid it from glibc's start-up (see platform::start).
    venvexec::platform::start::restore_environ();
    // SAFETY: the C runtime passes argc valid NUL-terminated strings.
    let all = unsafe { args_from_c(argc, argv) };
    let (argv0, rest) = match all.split_first() {
        Some((&argv0, rest)) => (argv0, rest),
        None => (OsStr::new(""), &[][..]),
    };
    match venvexec::face(argv0) {
        Some(name) => venvexec::shim::main(name, rest),
        None => venvexec::cli::main(
            argv0.to_os_string(),
            rest.iter().map(|a| a.to_os_string()).collect(),
        ),
    }
}

/// argv as the kernel gave it, byte for byte, borrowed: the strings are
/// on the initial stack, which lives as long as the process, so the shim
/// copies none of them before the one copy `execve` needs. Read here
/// rather than through `std::env::args_os`, which without std's main is
/// only filled in on some libcs.
unsafe fn args_from_c(argc: c_int, argv: *const *const c_char) -> Vec<&'static OsStr> {
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
        out.push(OsStr::from_bytes(bytes));
    }
    out
}
