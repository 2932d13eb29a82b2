//! The Rust floor: bench/floor.c as a std Rust program, built the way
//! venvexec's release is (static, LTO, panic=abort, opt-level 3, stripped).
//!
//! It sits between the C floor and venvexec and splits the difference: what
//! it costs over the C floor is the price of being a std Rust binary (the
//! runtime's start-up, a larger image); what venvexec costs over it is the
//! price of venvexec's own decision. The interpreter is fixed at compile time:
//!
//!   FLOOR_TARGET=/abs/path/.venv/bin/python rustc -C opt-level=3 -C lto ... floor.rs

use std::ffi::{CString, c_char};
use std::os::unix::ffi::OsStringExt;

unsafe extern "C" {
    fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char)
    -> i32;
    static environ: *const *const c_char;
}

fn main() {
    let target = CString::new(env!("FLOOR_TARGET")).unwrap();
    let args: Vec<CString> = std::env::args_os()
        .skip(1)
        .map(|a| CString::new(a.into_vec()).unwrap())
        .collect();
    let mut argv = vec![target.as_ptr()];
    argv.extend(args.iter().map(|a| a.as_ptr()));
    argv.push(std::ptr::null());
    // SAFETY: NUL-terminated strings in a NULL-terminated array, alive
    // across the call; environ is the process's own.
    unsafe { execve(target.as_ptr(), argv.as_ptr(), environ) };
    std::process::exit(127);
}
