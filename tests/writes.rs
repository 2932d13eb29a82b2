//! Writing never breaks a call: a full disk or a closed pipe on stdout or
//! stderr ends venvexec with the status the contract documents, never a
//! panic (which, with `panic = "abort"`, would be SIGABRT and exit 134).

mod common;

use std::fs::File;
use std::process::{Command, Stdio};

use common::*;

/// `>/dev/full`: the command's own status, or 1 when writing the output
/// was the only thing that failed; said on stderr, no panic.
fn to_full(c: &mut Command) -> std::process::Output {
    let full = File::options().write(true).open("/dev/full").unwrap();
    let o = run(c.stdout(full));
    assert_no_panic(&o);
    o
}

#[test]
fn which_to_a_full_disk_is_a_failure_not_a_crash() {
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "p", "w");
    for args in [&["which", "-v"][..], &["which", "--json"], &["which"]] {
        let o = to_full(sb.venvexec(&dir).args(args));
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains("venvexec: cannot write the output: No space left on device"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn doctor_env_and_shims_to_a_full_disk_keep_their_status() {
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "p", "w");
    for args in [
        &["doctor"][..],
        &["doctor", "--json"],
        &["env"],
        &["shims", "list", "--dir"],
        &["--help"],
        &["--version"],
    ] {
        let mut c = sb.venvexec(&dir);
        c.args(args);
        if args.last() == Some(&"--dir") {
            c.arg(&sb.shims);
        }
        let o = to_full(&mut c);
        let code = o.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{args:?} ended with {:?}",
            o.status
        );
        if args != ["shims", "list", "--dir"] || !stdout(&o).is_empty() {
            assert!(stderr(&o).contains("cannot write the output"), "{args:?}");
        }
    }
}

#[test]
fn shims_install_to_a_full_disk_still_installs() {
    let sb = Sandbox::new();
    let dir = sb.root().join("new-shims");
    let o = to_full(
        sb.venvexec(&sb.root())
            .args(["shims", "install", "--dir"])
            .arg(&dir)
            .arg("python3"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(dir.join("python3").exists(), "the link was not made");
}

#[test]
fn a_failing_shim_with_stderr_on_a_full_disk_keeps_its_status() {
    let sb = Sandbox::new();
    let empty = sb.dir("empty");
    let full = File::options().write(true).open("/dev/full").unwrap();
    let o = run(fence(&mut sb.cmd(sb.shims.join("python3"), &empty), &sb)
        .env("PATH", &sb.shims)
        .stderr(full));
    assert_eq!(o.status.code(), Some(127));
}

#[test]
fn a_closed_pipe_with_sigpipe_ignored_ends_quietly() {
    // Python's os.system leaves SIGPIPE ignored in the shell it starts, so
    // venvexec sees EPIPE instead of dying of the signal. The reader is
    // gone before venvexec writes a byte.
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "p", "w");
    let shell = format!(
        "(sleep 0.3; '{}' which -v; echo \"rc=$?\" >&2) | true",
        bin().display()
    );
    let script = format!("import os\nos.system({shell:?})");
    let o = run(sb
        .cmd(python3(), &dir)
        .args(["-c", &script])
        .stderr(Stdio::piped()));
    assert_no_panic(&o);
    assert_eq!(stderr(&o), "rc=0\n", "a broken pipe is a normal end");
}
