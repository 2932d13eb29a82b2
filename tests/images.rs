//! What a container image without /proc gives venvexec: no /proc/self/exe.
//! Each command runs in a private mount namespace with an empty tmpfs over
//! /proc, so the shim must know itself from the path the kernel recorded
//! at exec (`AT_EXECFN`). The roots of tests/images/run cover the rest.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;

/// Runs `c` with /proc hidden, or `None` (with the reason printed) where
/// this machine cannot make a mount namespace: not root, or no
/// CAP_SYS_ADMIN in a container.
fn without_proc(c: &mut Command) -> Option<Output> {
    if !proc_can_be_hidden() {
        return None;
    }
    hide_proc(c);
    Some(run(c))
}

fn hide_proc(c: &mut Command) {
    // SAFETY: between fork and exec the closure makes only syscalls, no
    // allocation and no locks.
    unsafe {
        c.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Private first, so the tmpfs stays in this namespace.
            let none = c"none".as_ptr();
            let flags = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(
                none,
                c"/".as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) != 0
                || libc::mount(
                    none,
                    c"/proc".as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
}

fn proc_can_be_hidden() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if !is_root() {
            eprintln!("skipped: hiding /proc needs root (a mount namespace)");
            return false;
        }
        let mut probe = Command::new("/bin/sh");
        probe.args(["-c", "test ! -e /proc/self/exe"]);
        hide_proc(&mut probe);
        match probe.status() {
            Ok(s) if s.success() => true,
            Ok(s) => panic!("/proc is still there under a tmpfs over it: {s:?}"),
            Err(e) => {
                eprintln!("skipped: cannot make a mount namespace here: {e}");
                false
            }
        }
    })
}

#[test]
fn without_proc_a_shim_with_no_environment_says_command_not_found() {
    let sb = Sandbox::with_shims(&["python"]);
    let cwd = sb.dir("work");
    let mut c = sb.cmd(sb.shims.join("python"), &cwd);
    // The shims dir twice and nothing else: both entries are this binary.
    let twice = format!("{0}:{0}", sb.shims.display());
    fence(&mut c, &sb).env("PATH", twice).args(["-c", "pass"]);
    let Some(o) = without_proc(&mut c) else {
        return;
    };
    assert_eq!(o.status.code(), Some(127));
    assert!(stderr(&o).contains("venvexec: python: command not found"));
    assert!(!stderr(&o).contains("loop"));
}

#[test]
fn without_proc_a_shim_found_through_a_relative_path_entry_skips_itself() {
    let sb = fake_sandbox();
    let root = sb.root();
    let mut c = sb.cmd("python", &root);
    // execvp makes `shims/python` of it: relative to the working directory.
    fence(&mut c, &sb).env("PATH", "shims:fallback");
    let Some(o) = without_proc(&mut c) else {
        return;
    };
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "fell-through");
}

#[test]
fn without_proc_the_shim_runs_the_named_venv() {
    let sb = Sandbox::new();
    let venv = make_venv(&sb.root().join("venv"), "named");
    let mut c = sb.cmd(sb.shims.join("python"), &sb.root());
    c.env("VENVEXEC_VENV", &venv).args(["-c", PROBE]);
    let Some(o) = without_proc(&mut c) else {
        return;
    };
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), probed("named", &venv));
}

#[test]
fn without_proc_shims_install_links_this_binary() {
    let sb = Sandbox::new();
    let dir = sb.root().join("image-shims");
    let mut c = sb.venvexec(&sb.root());
    c.args(["shims", "install", "--dir"])
        .arg(&dir)
        .arg("python");
    let Some(o) = without_proc(&mut c) else {
        return;
    };
    assert_no_panic(&o);
    assert!(o.status.success());
    assert_eq!(
        fs::read_link(dir.join("python")).unwrap(),
        fs::canonicalize(bin()).unwrap()
    );
}

#[test]
fn without_proc_init_passes_the_exit_code_through() {
    let sb = Sandbox::new();
    let venv = make_venv(&sb.root().join("venv"), "init");
    let mut c = sb.venvexec(&sb.root());
    c.arg("--init").arg("--venv").arg(&venv).args([
        "--",
        "python",
        "-c",
        "import sys; sys.exit(7)",
    ]);
    let Some(o) = without_proc(&mut c) else {
        return;
    };
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(7));
}
