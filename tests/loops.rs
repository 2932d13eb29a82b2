//! Loops are impossible, nesting is unlimited: two installs never hand a
//! call back and forth, a wrapper that runs `python` again is stopped with
//! a clear message, and python running python running python… works at any
//! depth, in and out of environments.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// A second venvexec install: a copy of the binary (another file, so
/// another inode) with its own shims dir.
fn second_install(sb: &Sandbox) -> PathBuf {
    let dir = sb.dir("second");
    let copy = dir.join("venvexec");
    fs::copy(bin(), &copy).unwrap();
    let shims = sb.dir("second/shims");
    for n in ["python", "python3"] {
        symlink(&copy, shims.join(n)).unwrap();
    }
    shims
}

/// The system interpreter `python3` on SYSTEM_PATH resolves to, by path.
fn system_python3() -> Option<PathBuf> {
    SYSTEM_PATH
        .split(':')
        .map(|d| Path::new(d).join("python3"))
        .find(|p| p.is_file())
}

#[test]
fn two_installs_with_no_environment_reach_the_system_python() {
    let Some(system) = system_python3() else {
        eprintln!("skipped: no python3 in {SYSTEM_PATH}");
        return;
    };
    let sb = Sandbox::new();
    let second = second_install(&sb);
    let cwd = sb.dir("nowhere");
    for order in [
        format!("{}:{}", sb.shims.display(), second.display()),
        format!("{}:{}", second.display(), sb.shims.display()),
    ] {
        let mut c = sb.cmd("python3", &cwd);
        fence(&mut c, &sb)
            .env("PATH", format!("{order}:{SYSTEM_PATH}"))
            .args(["-c", "import sys; print(sys.executable)"]);
        let o = run_with_timeout(&mut c, Duration::from_secs(20));
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), system.display().to_string());
    }
}

/// `python3 nest.py N` starts `python3 nest.py N+1` with subprocess, down
/// to `levels`, and the innermost prints its sys.prefix. With `same_args`
/// every level runs the very same command line (the level travels in the
/// environment), the hardest case for a loop guard.
fn nest(sb: &Sandbox, cwd: &Path, levels: u32, same_args: bool) -> String {
    let script = sb.root().join("nest.py");
    fs::write(
        &script,
        format!(
            "import os, subprocess, sys\n\
             level = int(os.environ.get('LEVEL', '0')) if {same} else int(sys.argv[1])\n\
             if level >= {levels}:\n    print(level, sys.prefix)\n    sys.exit(0)\n\
             os.environ['LEVEL'] = str(level + 1)\n\
             args = [] if {same} else [str(level + 1)]\n\
             sys.exit(subprocess.call(['python3', __file__] + args))\n",
            same = if same_args { "True" } else { "False" },
        ),
    )
    .unwrap();
    let mut c = sb.cmd("python3", cwd);
    fence(&mut c, sb).arg(&script);
    if !same_args {
        c.arg("0");
    }
    let o = run_with_timeout(&mut c, Duration::from_secs(300));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_string()
}

#[test]
fn a_hundred_nested_pythons_outside_any_environment() {
    let Some(system) = system_python3() else {
        eprintln!("skipped: no python3 in {SYSTEM_PATH}");
        return;
    };
    let sb = Sandbox::new();
    let cwd = sb.dir("nowhere");
    let prefix = std::process::Command::new(&system)
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .unwrap();
    let prefix = String::from_utf8_lossy(&prefix.stdout).trim().to_string();
    assert_eq!(nest(&sb, &cwd, 100, false), format!("100 {prefix}"));
    assert_eq!(nest(&sb, &cwd, 100, true), format!("100 {prefix}"));
}

#[test]
fn a_hundred_nested_pythons_inside_an_environment() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "proj", "nested");
    assert_eq!(
        nest(&sb, &dir, 100, false),
        format!("100 {}", venv.display())
    );
}

#[test]
fn a_wrapper_that_runs_python_without_exec_is_stopped_too() {
    let sb = Sandbox::new();
    let wrap = sb.dir("wrappers");
    write_exe(&wrap.join("python"), "#!/bin/sh\npython \"$@\"\n");
    let cwd = sb.dir("no-project");
    let start = Instant::now();
    let mut c = sb.cmd("python", &cwd);
    fence(&mut c, &sb)
        .env(
            "PATH",
            format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), wrap.display()),
        )
        .args(["-c", "print('ran')"]);
    let o = run_with_timeout(&mut c, Duration::from_secs(30));
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("venvexec: python: stopped a loop"),
        "{}",
        stderr(&o)
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_program_that_re_execs_itself_through_the_shim_is_not_a_loop() {
    // A reloader: each round runs, then os.execvp("python3", same args):
    // 40 re-execs of one process, more than the loop limit. A pause longer
    // than any loop takes to go round (here two, after round 30) shows
    // that something real ran, and the count starts over.
    let Some(_) = system_python3() else {
        eprintln!("skipped: no python3 in {SYSTEM_PATH}");
        return;
    };
    let sb = Sandbox::new();
    let cwd = sb.dir("nowhere");
    let script = sb.root().join("reload.py");
    fs::write(
        &script,
        "import os, sys, time\n\
         n = int(os.environ.get('ROUND', '0'))\n\
         if n >= 40:\n    print('rounds', n)\n    sys.exit(0)\n\
         os.environ['ROUND'] = str(n + 1)\n\
         time.sleep(1.05) if n in (30, 31) else None\n\
         os.execvp('python3', ['python3', __file__])\n",
    )
    .unwrap();
    let mut c = sb.cmd("python3", &cwd);
    fence(&mut c, &sb).arg(&script);
    let o = run_with_timeout(&mut c, Duration::from_secs(120));
    assert_eq!(stdout(&o).trim(), "rounds 40", "{}", stderr(&o));
}
