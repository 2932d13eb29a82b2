//! Hostile and broken input: whatever the working directory, the files in
//! it, PATH and the `VENVEXEC_*` variables look like, the shim either runs
//! the right program or ends with one clear `venvexec: ` message and the
//! contract's exit code — never a panic, never a hang.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const EXECUTABLE: &str = "import sys; print(sys.executable)";
const OTHER: &str = "venvexec-test-other";

/// `python` by name in `cwd`, fenced: the fake env's interpreter path, or
/// `fell-through`.
fn python(sb: &Sandbox, cwd: &Path) -> Command {
    let mut c = sb.cmd("python", cwd);
    fence(&mut c, sb).env("PATH", fake_path(sb));
    c
}

fn interpreter(env: &Path) -> String {
    env.join("bin/python").display().to_string()
}

/// Runs, asserts no panic, returns the output.
fn checked(c: &mut Command) -> Output {
    let o = run_with_timeout(c, Duration::from_secs(20));
    assert_no_panic(&o);
    o
}

/// Runs and returns trimmed stdout, asserting success and no panic.
fn out(c: &mut Command) -> String {
    let o = checked(c);
    assert!(o.status.success(), "failed: {:?}", o.status);
    stdout(&o).trim().to_string()
}

/// Asserts a failure with `code` and a one-message stderr naming `name`.
fn assert_fails(o: &Output, code: i32, name: &str, says: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert_eq!(stdout(o), "");
    let err = stderr(o);
    assert!(err.starts_with(&format!("venvexec: {name}: ")), "{err}");
    assert!(err.contains(says), "{err}");
    for line in err.lines().skip(1) {
        assert!(line.starts_with("  "), "not one message: {err}");
    }
}

// The working directory.

#[test]
fn a_deleted_working_directory_is_said_and_falls_through_to_the_system_python() {
    let sb = Sandbox::new();
    let proj = sb.dir("proj");
    make_venv(&proj.join(".venv"), "proj");
    let gone = sb.dir("proj/gone");
    let script = format!(
        "cd \"$1\" && rm -rf \"$1\" && python3 -c '{EXECUTABLE}' && \"$2\" which python3 -v; \"$2\" doctor --dir \"$3\"; echo \"doctor: $?\""
    );
    let o = checked(
        fence(&mut sb.sh(&script, &proj), &sb)
            .arg("sh")
            .arg(&gone)
            .arg(bin())
            .arg(&sb.shims),
    );
    assert!(o.status.success());
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(SYSTEM_PYTHON), "{text}");
    assert_eq!(lines.next(), Some(SYSTEM_PYTHON), "which: {text}");
    assert!(
        text.contains("project: the working directory no longer exists"),
        "{text}"
    );
    // Said, not passed over: doctor fails on it.
    assert!(
        text.lines().any(|l| l.starts_with("fail")
            && l.contains("project: the working directory no longer exists")),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("doctor: 1"), "{text}");
}

#[test]
fn an_environment_above_a_directory_the_user_cannot_search_is_found_and_said() {
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    chmod(&sb.root(), "0755");
    let locked = sb.dir("locked");
    chmod(&locked, "0700");
    let proj = sb.dir("locked/proj");
    let env = fake_env(&proj.join(".venv"));
    let sub = sb.dir("locked/proj/sub");
    // The working directory is entered as root, then setpriv drops to the
    // other user, who can search proj and sub but not `locked`: `../.venv`
    // is reachable from here, its absolute path is not.
    let drop_to = |args: &[&OsStr]| {
        let mut c = sb.cmd("setpriv", &sub);
        fence(&mut c, &sb)
            .arg(format!("--reuid={}", them.0))
            .arg(format!("--regid={}", them.1))
            .args(["--clear-groups", "--"])
            .args(args);
        c
    };
    let probe = drop_to(&["test".as_ref(), "-x".as_ref(), bin().as_ref()]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: setpriv is unavailable, or the test user cannot run the binary");
        return;
    }
    let o = checked(&mut drop_to(&[
        "python3".as_ref(),
        "-c".as_ref(),
        EXECUTABLE.as_ref(),
    ]));
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), SYSTEM_PYTHON);
    // Said on the way, not passed over.
    assert!(
        stderr(&o).contains(&format!(
            "venvexec: warning: project {}: found, but cannot be used",
            env.display()
        )),
        "{}",
        stderr(&o)
    );
    let o = checked(&mut drop_to(&[
        bin().as_ref(),
        "which".as_ref(),
        "python3".as_ref(),
        "-v".as_ref(),
    ]));
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.starts_with(SYSTEM_PYTHON), "{text}");
    // Found through `..`, and the reason it cannot run is named: CPython
    // finds pyvenv.cfg from argv[0], an absolute path this user cannot use.
    assert!(
        text.contains(&format!(
            "project {}: found, but cannot be used: {} cannot be searched by you (uid {}), so {} cannot be reached by its path",
            env.display(),
            locked.display(),
            them.0,
            proj.display()
        )),
        "{text}"
    );
}

#[test]
fn a_working_directory_deeper_than_path_max_finds_the_environment_above_it() {
    let sb = fake_sandbox();
    let top = sb.dir("deep");
    let env = fake_env(&top.join(".venv"));
    // 200 levels of 51 bytes: over 10,000 bytes, beyond PATH_MAX (4096),
    // made and entered one relative mkdir/chdir at a time (a shell's `cd`
    // gives up). No absolute path names it for the kernel (ENAMETOOLONG);
    // the walk climbs with `..` from the working directory instead.
    let build = format!(
        "import os, subprocess, sys\n\
         for _ in range(200):\n    os.mkdir('{name}'); os.chdir('{name}')\n\
         subprocess.run(['python'])\n\
         subprocess.run([sys.argv[1], 'which', '-v'])",
        name = "n".repeat(50)
    );
    let o = checked(
        fence(&mut sb.cmd(SYSTEM_PYTHON, &top), &sb)
            .env("PATH", fake_path(&sb))
            .args(["-c", &build])
            .arg(bin()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(interpreter(&env).as_str()), "{text}");
    assert_eq!(lines.next(), Some(interpreter(&env).as_str()), "{text}");
    assert!(
        text.contains(&format!(
            "reason: project environment .venv in {}",
            top.display()
        )),
        "{text}"
    );
}

#[test]
fn non_utf8_directory_names_and_arguments_pass_through() {
    let sb = Sandbox::new();
    let proj = sb.root().join(OsStr::from_bytes(b"proj-\xff\xfe-\xc3("));
    fs::create_dir_all(&proj).unwrap();
    let venv = make_venv_moved(&proj.join(".venv"), "bytes");
    let sub = proj.join(OsStr::from_bytes(b"sub\x80dir"));
    fs::create_dir_all(&sub).unwrap();
    let code = "import os, sys, venvprobe; out = sys.stdout.buffer; \
                out.write(os.fsencode(sys.prefix) + b'|' + os.fsencode(sys.argv[1]))";
    let o = checked(fence(&mut sb.cmd("python3", &sub), &sb).args([
        OsStr::new("-c"),
        OsStr::new(code),
        OsStr::from_bytes(b"arg-\xff\xfe"),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = venv.into_os_string().into_vec();
    want.extend_from_slice(b"|arg-\xff\xfe");
    assert_eq!(o.stdout, want);

    let o = checked(fence(&mut sb.venvexec(&sub), &sb).args(["which", "-v"]));
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("reason: project environment .venv in"),
        "{}",
        stdout(&o)
    );
    let o = checked(fence(&mut sb.venvexec(&sub), &sb).args(["which", "--json"]));
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).is_ok(), "--json is not UTF-8");
}

// Broken environments.

#[test]
fn hostile_pyvenv_cfg_files_neither_stall_nor_crash_the_shim_or_doctor() {
    let sb = fake_sandbox();
    for what in ["empty", "binary", "huge", "malformed"] {
        let proj = sb.dir(what);
        let env = fake_env(&proj.join(".venv"));
        let cfg = env.join("pyvenv.cfg");
        match what {
            "empty" => fs::write(&cfg, "").unwrap(),
            "binary" => {
                let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
                fs::write(&cfg, bytes).unwrap()
            }
            // 50 MB, sparse: costs no disk, and would cost a reader 50 MB.
            "huge" => fs::File::create(&cfg)
                .unwrap()
                .set_len(50 * 1024 * 1024)
                .unwrap(),
            _ => fs::write(
                &cfg,
                "home\n= no key\n[section]\nhome = /nonexistent/= /x\nversion\0= 3\n=\n",
            )
            .unwrap(),
        }

        let start = Instant::now();
        assert_eq!(out(&mut python(&sb, &proj)), interpreter(&env), "{what}");
        assert!(start.elapsed() < Duration::from_secs(2), "{what}: slow");

        let o = checked(
            fence(&mut sb.venvexec(&proj), &sb)
                .env("PATH", fake_path(&sb))
                .arg("doctor")
                .arg("--dir")
                .arg(&sb.shims),
        );
        let text = stdout(&o);
        assert!(
            text.contains(&format!("ok    environment: {}", env.display())),
            "{what}: {text}"
        );
        let problem = match what {
            "binary" => Some("is not UTF-8 text"),
            "huge" => Some("is larger than 32 KiB"),
            _ => None,
        };
        match problem {
            Some(says) => {
                assert_eq!(o.status.code(), Some(1), "{what}: {text}");
                let line = text.lines().find(|l| l.contains("config:")).unwrap_or("");
                assert!(line.starts_with("fail"), "{what}: {text}");
                assert!(line.contains(says), "{what}: {text}");
                assert!(text.contains("fix: recreate the venv"), "{what}: {text}");
            }
            None => assert_eq!(o.status.code(), Some(0), "{what}: {text}"),
        }
    }
}

#[test]
fn a_dot_venv_that_is_a_file_or_a_dangling_link_is_noted_and_the_walk_goes_on() {
    let sb = fake_sandbox();
    let top = fake_env(&sb.root().join("top/.venv"));
    let file = sb.dir("top/file");
    fs::write(file.join(".venv"), "VIRTUAL_ENV=/somewhere\n").unwrap();
    let dangling = sb.dir("top/dangling");
    symlink("/nonexistent/venvexec/env", dangling.join(".venv")).unwrap();

    for (cwd, note) in [
        (&file, "is not a directory".to_string()),
        (
            &dangling,
            "is a dangling symlink (/nonexistent/venvexec/env does not exist)".to_string(),
        ),
    ] {
        assert_eq!(out(&mut python(&sb, cwd)), interpreter(&top));
        let text = out(fence(&mut sb.venvexec(cwd), &sb).args(["which", "-v"]));
        assert!(
            text.contains(&format!(
                "skipped: project {}: {note}",
                cwd.join(".venv").display()
            )),
            "{text}"
        );
        assert!(text.contains(&format!("environment: {}", top.display())));
    }
}

#[test]
fn an_interpreter_that_is_a_directory_or_not_executable_is_126() {
    let sb = fake_sandbox();
    let dir_env = fake_env(&sb.root().join("isdir/.venv"));
    fs::remove_file(dir_env.join("bin/python")).unwrap();
    fs::create_dir(dir_env.join("bin/python")).unwrap();
    let noexec_env = fake_env(&sb.root().join("noexec/.venv"));
    chmod(&noexec_env.join("bin/python"), "0644");

    for (env, says) in [
        (&dir_env, "is a directory"),
        (&noexec_env, "is not executable"),
    ] {
        let proj = env.parent().unwrap();
        let o = checked(&mut python(&sb, proj));
        assert_fails(&o, 126, "python", says);
        assert!(stderr(&o).contains(&interpreter(env)), "{}", stderr(&o));
        let o = checked(fence(&mut sb.venvexec(proj), &sb).arg("which"));
        assert_eq!(o.status.code(), Some(126));
    }
}

// PATH.

const PREFIX: &str = "import sys; print(sys.prefix)";

#[test]
fn an_unset_path_searches_the_default_like_execvp() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &cwd), &sb)
            .env_remove("PATH")
            .args(["-c", PREFIX]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "/usr");
    let o = checked(
        fence(&mut sb.venvexec(&cwd), &sb)
            .env_remove("PATH")
            .args(["which", "python3"]),
    );
    assert_eq!(stdout(&o).trim(), "/bin/python3");
}

#[test]
fn an_empty_path_means_the_working_directory_like_the_shell() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &cwd), &sb)
            .env("PATH", "")
            .arg("-V"),
    );
    assert_fails(&o, 127, "python3", "command not found");
    write_exe(&cwd.join("python3"), "#!/bin/sh\necho \"$0\"\n");
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &cwd), &sb)
            .env("PATH", "")
            .arg("-V"),
    );
    assert_eq!(stdout(&o).trim(), cwd.join("python3").display().to_string());
}

#[test]
fn empty_and_relative_path_entries_resolve_against_the_working_directory() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    write_exe(&cwd.join("rel/python3"), "#!/bin/sh\necho \"$0\"\n");
    // The shims dir spelled three ways (empty = here, relative, absolute)
    // must all be skipped; the relative `rel` runs, by its absolute path.
    let shims_rel = format!("../{}", sb.shims.file_name().unwrap().to_str().unwrap());
    let path = format!(":{}:{shims_rel}:rel:{SYSTEM_PATH}", sb.shims.display());
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &sb.shims), &sb)
            .env("PATH", &path)
            .current_dir(&cwd),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        cwd.join("rel/python3").display().to_string()
    );
    // And from the shims dir itself, the empty entry is the shims dir.
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &sb.shims), &sb)
            .env("PATH", format!(":{SYSTEM_PATH}"))
            .args(["-c", EXECUTABLE]),
    );
    assert_eq!(stdout(&o).trim(), SYSTEM_PYTHON);
}

#[test]
fn a_path_of_ten_thousand_entries_is_still_fast() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let mut path: Vec<String> = (0..9_998).map(|i| format!("/n{i}")).collect();
    path.insert(5_000, sb.shims.display().to_string());
    path.push("/usr/bin".into());
    let path = path.join(":");
    assert_eq!(path.split(':').count(), 10_000);
    let start = Instant::now();
    let o = checked(
        fence(&mut sb.cmd(sb.shims.join("python3"), &cwd), &sb)
            .env("PATH", &path)
            .args(["-c", EXECUTABLE]),
    );
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), SYSTEM_PYTHON);
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

// Variables.

#[test]
fn empty_or_garbage_venvexec_variables_change_nothing_or_mean_off() {
    let sb = fake_sandbox();
    let env = fake_env(&sb.root().join("proj/.venv"));
    let sub = sb.dir("proj/sub");
    let found = interpreter(&env);
    let fallback = sb.root().join("fallback/python").display().to_string();
    let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
    let cases: Vec<(&str, OsString, &str)> = vec![
        ("VENVEXEC_VENV", "".into(), &found),
        ("VENVEXEC_NAMES", ":::/".into(), &found),
        ("VENVEXEC_NAMES", "..:.:a/b".into(), &found),
        ("VENVEXEC_CEILING_DIRS", bytes(b"\xff:relative::"), &found),
        ("VENVEXEC_DEPTH", "garbage".into(), &found),
        ("VENVEXEC_DEPTH", "-1".into(), &found),
        ("VENVEXEC_DEPTH", "99999999999999999999999".into(), &found),
        ("VENVEXEC_DISABLE", "0".into(), &found),
        ("VENVEXEC_DISABLE", "false".into(), &found),
        ("VENVEXEC_DISABLE", "".into(), &found),
        ("VENVEXEC_DISABLE", "1".into(), "fell-through"),
        ("VENVEXEC_DISABLE", bytes(b"\xff"), "fell-through"),
        ("VENVEXEC_SAFE_DIRS", bytes(b"\xff::relative"), &found),
        ("VENVEXEC_ACROSS_FILESYSTEMS", bytes(b"\xfe"), &found),
        ("VENVEXEC_NO_INHERIT", "yes".into(), &found),
        ("VIRTUAL_ENV", "".into(), &found),
    ];
    for (var, value, want) in cases {
        let shown = Path::new(&value).display().to_string();
        assert_eq!(
            out(python(&sb, &sub).env(var, &value)),
            want,
            "{var}={shown}"
        );
        let o = checked(
            fence(&mut sb.venvexec(&sub), &sb)
                .env("PATH", fake_path(&sb))
                .env(var, &value)
                .args(["which", "-v"]),
        );
        assert!(o.status.success(), "which with {var}={shown}");
        let program = if want == "fell-through" {
            fallback.as_str()
        } else {
            want
        };
        assert_eq!(
            stdout(&o).lines().next(),
            Some(program),
            "which with {var}={shown}"
        );
    }
}

#[test]
fn a_wrapper_that_runs_python_again_is_stopped_quickly_with_126() {
    let sb = Sandbox::new();
    let wrap = sb.dir("wrappers");
    write_exe(&wrap.join("python"), "#!/bin/sh\nexec python \"$@\"\n");
    let cwd = sb.dir("no-project");
    let start = Instant::now();
    let o = checked(
        fence(&mut sb.cmd("python", &cwd), &sb)
            .env(
                "PATH",
                format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), wrap.display()),
            )
            .args(["-c", "print('ran')"]),
    );
    let took = start.elapsed();
    assert_fails(&o, 126, "python", "stopped a loop");
    assert!(stderr(&o).contains("32 times"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
