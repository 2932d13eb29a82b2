//! Which names must come from the environment, and what the runner runs:
//! the Python family is exact, console scripts fall through as activation
//! would, and `venvexec FILE` takes the file name as bytes.

mod common;

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;

use common::*;

#[test]
fn the_runner_uses_python3_when_the_environment_has_no_bin_python() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "p", "only3");
    fs::remove_file(venv.join("bin/python")).unwrap();
    fs::write(dir.join("x.py"), format!("{PROBE}\n")).unwrap();
    let out = ok(fence(&mut sb.venvexec(&dir), &sb).arg("x.py"));
    assert_eq!(out, probed("only3", &venv));
}

#[test]
fn a_script_name_that_is_not_utf8_runs_without_double_dash() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "p", "bytes");
    let name = OsString::from_vec(b"\xff-script.py".to_vec());
    fs::write(dir.join(&name), format!("{PROBE}\n")).unwrap();
    let out = ok(fence(&mut sb.venvexec(&dir), &sb).arg(&name));
    assert_eq!(out, probed("bytes", &venv));
    // And its arguments, bytes too.
    let o = run(fence(&mut sb.venvexec(&dir), &sb)
        .arg("python")
        .arg("-c")
        .arg(ECHO_ARGS)
        .args(awkward_args()));
    assert!(o.status.success());
    assert_eq!(o.stdout, echoed(&awkward_args()));
}

#[test]
fn console_scripts_named_like_pip_fall_through_when_the_environment_lacks_them() {
    let names = [
        "pipenv",
        "pipx",
        "python3-config",
        "python2",
        "pip3.12",
        "python3",
    ];
    let sb = Sandbox::with_shims(&names);
    let (dir, venv) = project(&sb, "p", "family");
    fs::remove_file(venv.join("bin/python3")).unwrap();
    let fallback = sb.dir("fallback");
    for n in names {
        write_exe(&fallback.join(n), &format!("#!/bin/sh\necho system-{n}\n"));
    }
    let path = format!(
        "{}:{}:{SYSTEM_PATH}",
        sb.shims.display(),
        fallback.display()
    );
    for n in ["pipenv", "pipx", "python3-config", "python2"] {
        let out = ok(fence(&mut sb.cmd(n, &dir), &sb).env("PATH", &path));
        assert_eq!(
            out,
            format!("system-{n}"),
            "{n} is not the environment's to answer"
        );
    }
    for n in ["pip3.12", "python3"] {
        let o = run(fence(&mut sb.cmd(n, &dir), &sb).env("PATH", &path));
        assert_eq!(o.status.code(), Some(127), "{n} belongs to the interpreter");
        assert!(
            stderr(&o).contains("not found in the environment"),
            "{}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "", "{n} must not escape to the system's");
    }
}
