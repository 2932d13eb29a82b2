//! Never silent: a refused environment or a failed walk is said in one
//! warning line before the call goes on, strict mode keeps python and pip
//! from escaping to another Python, the decision log records every shim
//! call, and every "nothing to run" error says where to look next.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// What the system Python prints for [`PREFIX`].
const SYSTEM: &str = "/usr";
const PREFIX: &str = "import sys; print(sys.prefix)";

/// A project whose `.venv` is made with `--copies`, so that its
/// `bin/python` is a file of its own: changing its mode changes nothing
/// outside the venv.
fn copies_project(sb: &Sandbox, rel: &str) -> (PathBuf, PathBuf) {
    let proj = sb.dir(rel);
    let venv = make_venv_copies(&proj.join(".venv"), "copies");
    (proj, venv)
}

/// `chmod o+w .venv/bin/python`: the environment the safety rules refuse.
/// Returns the refusal's reason as the warning words it.
fn make_refused(venv: &Path) -> String {
    let python = venv.join("bin/python");
    chmod(&python, "o+w");
    let mode = fs::metadata(&python).unwrap().mode() & 0o7777;
    format!(
        "{} is writable by group or others (mode {mode:04o})",
        python.display()
    )
}

/// A directory after the shims on PATH whose `python` and `python3` are
/// the system's: what a refused environment falls through to.
fn system_dir(sb: &Sandbox) -> PathBuf {
    let dir = sb.dir("system");
    for name in ["python", "python3"] {
        if !dir.join(name).exists() {
            symlink("/usr/bin/python3", dir.join(name)).unwrap();
        }
    }
    dir
}

fn path_with(sb: &Sandbox, dir: &Path) -> String {
    format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), dir.display())
}

/// `sh -c SCRIPT` in `cwd` with the shims, then `system`, on PATH, the
/// walk fenced to the sandbox.
fn shell(sb: &Sandbox, script: &str, cwd: &Path) -> Command {
    let mut c = sb.sh(script, cwd);
    c.env("PATH", path_with(sb, &system_dir(sb)));
    fence(&mut c, sb);
    c
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

// 1. Warnings.

#[test]
fn a_refused_environment_is_said_in_one_line_before_the_call_goes_on() {
    let sb = Sandbox::new();
    let (proj, venv) = copies_project(&sb, "proj");
    let reason = make_refused(&venv);
    let system = system_dir(&sb);

    let o = run(&mut shell(&sb, &format!("python -c '{PREFIX}'"), &proj));
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), SYSTEM, "the refused venv ran");
    assert_eq!(
        stderr(&o),
        format!(
            "venvexec: warning: ignored {}: {reason}; running {} (trust it with VENVEXEC_SAFE_DIRS={})\n",
            venv.display(),
            system.join("python").display(),
            proj.display()
        )
    );

    // The fix the warning gives works, and then nothing is said.
    let o =
        run(shell(&sb, &format!("python -c '{PROBE}'"), &proj).env("VENVEXEC_SAFE_DIRS", &proj));
    assert_eq!(stdout(&o).trim(), probed("copies", &venv));
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_shell_out_from_python_is_warned_about_too() {
    let sb = Sandbox::new();
    let (proj, venv) = copies_project(&sb, "proj");
    make_refused(&venv);
    let script = format!("import os; os.system(\"python3 -c '{PREFIX}'\")");
    let mut c = sb.cmd("/usr/bin/python3", &proj);
    c.env("PATH", path_with(&sb, &system_dir(&sb)))
        .args(["-c", &script]);
    let o = run(fence(&mut c, &sb));
    assert_eq!(stdout(&o).trim(), SYSTEM);
    let err = stderr(&o);
    assert_eq!(lines(&err).len(), 1, "{err}");
    assert!(
        err.starts_with(&format!("venvexec: warning: ignored {}: ", venv.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "; running {}",
            system_dir(&sb).join("python3").display()
        )),
        "{err}"
    );
}

#[test]
fn quiet_silences_warnings_never_errors() {
    let sb = Sandbox::new();
    let (proj, venv) = copies_project(&sb, "proj");
    make_refused(&venv);

    let o = run(shell(&sb, &format!("python -c '{PREFIX}'"), &proj).env("VENVEXEC_QUIET", "1"));
    assert_eq!(stdout(&o).trim(), SYSTEM);
    assert_eq!(stderr(&o), "");

    // Nothing to fall through to: the error is said even so.
    let o = run(fence(&mut sb.cmd("python", &proj), &sb)
        .env("PATH", &sb.shims)
        .env("VENVEXEC_QUIET", "1")
        .arg("-V"));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "venvexec: python: command not found\n  hint: run 'venvexec which -v python' here to see why\n"
    );
}

#[test]
fn doctor_fails_for_a_refused_environment_here() {
    let sb = Sandbox::new();
    let (proj, venv) = copies_project(&sb, "proj");
    let reason = make_refused(&venv);
    let o = run(fence(&mut sb.venvexec(&proj), &sb)
        .args(["doctor", "--dir"])
        .arg(&sb.shims));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("fail  skipped: project"))
        .unwrap_or_else(|| panic!("no failure for the refused venv:\n{out}"));
    assert!(line.contains(&reason), "{line}");
    assert!(
        out.contains(&format!(
            "fix: if you trust it: export VENVEXEC_SAFE_DIRS={}",
            proj.display()
        )),
        "{out}"
    );
}

#[test]
fn a_walk_from_a_deleted_directory_is_warned_about() {
    let sb = Sandbox::new();
    let top = sb.dir("top");
    let system = system_dir(&sb);
    let o = run(&mut shell(
        &sb,
        &format!("mkdir gone && cd gone && rmdir ../gone && python3 -c '{PREFIX}'"),
        &top,
    ));
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), SYSTEM);
    assert_eq!(
        stderr(&o),
        format!(
            "venvexec: warning: project: the working directory no longer exists; running {}\n",
            system.join("python3").display()
        )
    );
}

#[test]
fn a_walk_stopped_by_a_directory_it_cannot_search_is_warned_about() {
    let sb = Sandbox::new();
    let top = sb.dir("top");
    fake_env(&top.join(".venv"));
    let inner = sb.dir("top/locked/in");
    // The caller leaves a parent it cannot search behind: `chmod 0 ..`.
    let script =
        format!("chmod 0 .. && python3 -c '{PREFIX}'; status=$?; chmod 755 ..; exit $status");
    let Some((mut c, ids)) = unprivileged(&sb, &script, &inner) else {
        return;
    };
    chown_r(&top.join("locked"), ids);
    let o = run(&mut c);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let err = stderr(&o);
    if out.trim() == SYSTEM {
        // Not found: then it is said, once.
        assert_eq!(lines(&err).len(), 1, "{err}");
        assert!(err.starts_with("venvexec: warning: project "), "{err}");
        assert!(err.contains("Permission denied"), "{err}");
        assert!(err.contains("; running "), "{err}");
    } else {
        // A walk that gets past it finds ../../.venv.
        assert_eq!(out.trim(), top.join(".venv/bin/python").to_str().unwrap());
    }
}

#[test]
fn a_stale_virtual_env_is_warned_about() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let gone = sb.root().join("gone-venv");
    let o = run(shell(&sb, &format!("python3 -c '{PROBE}'"), &proj).env("VIRTUAL_ENV", &gone));
    assert_eq!(stdout(&o).trim(), probed("proj", &venv));
    assert_eq!(
        stderr(&o),
        format!(
            "venvexec: warning: ignored {} (VIRTUAL_ENV): directory does not exist (stale); running {} (run `deactivate`, or unset VIRTUAL_ENV)\n",
            gone.display(),
            venv.join("bin/python3").display()
        )
    );
    // The runner says it too.
    let o = run(fence(&mut sb.venvexec(&proj), &sb)
        .env("VIRTUAL_ENV", &gone)
        .args(["python3", "-c", PROBE]));
    assert_eq!(stdout(&o).trim(), probed("proj", &venv));
    assert!(
        stderr(&o).starts_with(&format!(
            "venvexec: warning: ignored {} (VIRTUAL_ENV): ",
            gone.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ordinary_skips_say_nothing() {
    let sb = Sandbox::new();
    let proj = sb.dir("proj");
    // A `venv` source directory (no pyvenv.cfg), a `.venv` file, conda's
    // base environment: passed over as a matter of course.
    fs::create_dir_all(proj.join("venv/bin")).unwrap();
    fs::write(proj.join(".venv"), "").unwrap();
    let conda = sb.dir("conda");
    let o = run(shell(&sb, &format!("python3 -c '{PREFIX}'"), &proj)
        .env("CONDA_PREFIX", &conda)
        .env("CONDA_DEFAULT_ENV", "base"));
    assert_eq!(stdout(&o).trim(), SYSTEM);
    assert_eq!(stderr(&o), "");
    // which -v still lists them.
    let out = ok(fence(&mut sb.venvexec(&proj), &sb)
        .env("CONDA_PREFIX", &conda)
        .env("CONDA_DEFAULT_ENV", "base")
        .args(["which", "-v", "python3"]));
    for skip in [
        "  skipped: CONDA_PREFIX ",
        "/proj/.venv: is not a directory",
        "/proj/venv: has no pyvenv.cfg",
    ] {
        assert!(out.contains(skip), "no {skip:?} in {out}");
    }
}

// 3. Strict mode.

/// A sandbox whose shims include the versioned and pip names, with a
/// system-looking fall-through for each.
fn strict_sandbox() -> (Sandbox, PathBuf) {
    let names = [
        "python",
        "python3",
        "python3.11",
        "pip",
        "pip3",
        "pip3.11",
        "python3-config",
        "mytool",
    ];
    let sb = Sandbox::with_shims(&names);
    let fallback = sb.dir("fallback");
    for n in names {
        write_exe(&fallback.join(n), "#!/bin/sh\necho fell-through\n");
    }
    (sb, fallback)
}

#[test]
fn strict_mode_never_lets_a_python_name_fall_through() {
    let (sb, fallback) = strict_sandbox();
    let cwd = sb.dir("no-project");
    let path = path_with(&sb, &fallback);
    for name in ["python", "python3", "python3.11", "pip", "pip3", "pip3.11"] {
        let o = run(fence(&mut sb.sh(&format!("{name} --version"), &cwd), &sb)
            .env("PATH", &path)
            .env("VENVEXEC_STRICT", "1"));
        assert_eq!(o.status.code(), Some(127), "{name}");
        assert_eq!(stdout(&o), "", "{name} fell through");
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!(
                "venvexec: {name}: no Python environment found here, and VENVEXEC_STRICT is set"
            )),
            "{err}"
        );
        for part in [
            "\n  checked:\n",
            "    VIRTUAL_ENV: not set\n",
            &format!("from {} upwards", cwd.display()),
            "  skipped: project ",
            "is a VENVEXEC_CEILING_DIRS entry",
        ] {
            assert!(err.contains(part), "{name}: no {part:?} in {err}");
        }
        assert!(
            err.ends_with(&format!(
                "\n  hint: run 'venvexec which -v {name}' here to see why\n"
            )),
            "{err}"
        );
    }
}

#[test]
fn strict_mode_explains_a_refused_environment() {
    let sb = Sandbox::new();
    let (proj, venv) = copies_project(&sb, "proj");
    let reason = make_refused(&venv);
    let o = run(shell(&sb, "python3 -V", &proj).env("VENVEXEC_STRICT", "1"));
    assert_eq!(o.status.code(), Some(127));
    let err = stderr(&o);
    // The explanation lists the refusal; no separate warning repeats it.
    assert!(!err.contains("warning"), "{err}");
    let skipped = err
        .lines()
        .find(|l| l.starts_with("  skipped: project"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(skipped.contains(&reason), "{skipped}");
}

#[test]
fn strict_mode_lets_other_names_fall_through() {
    let (sb, fallback) = strict_sandbox();
    let cwd = sb.dir("no-project");
    for name in ["mytool", "python3-config"] {
        let out = ok(fence(&mut sb.sh(name, &cwd), &sb)
            .env("PATH", path_with(&sb, &fallback))
            .env("VENVEXEC_STRICT", "1"));
        assert_eq!(out, "fell-through", "{name}");
    }
}

#[test]
fn strict_mode_runs_the_environment_and_gives_way_to_disable() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let out = ok(shell(&sb, &format!("python3 -c '{PROBE}'"), &proj).env("VENVEXEC_STRICT", "1"));
    assert_eq!(out, probed("proj", &venv));
    // VENVEXEC_DISABLE=1 is the documented way to the system's Python.
    let out = ok(shell(&sb, &format!("python3 -c '{PREFIX}'"), &proj)
        .env("VENVEXEC_STRICT", "1")
        .env("VENVEXEC_DISABLE", "1"));
    assert_eq!(out, SYSTEM);
}

#[test]
fn which_and_doctor_show_strict_mode() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let o = run(fence(&mut sb.venvexec(&cwd), &sb)
        .env("VENVEXEC_STRICT", "1")
        .args(["which", "-v", "python3"]));
    assert_eq!(o.status.code(), Some(127));
    let out = stdout(&o);
    assert!(
        out.contains("  strict: VENVEXEC_STRICT is set: python, python3, pip, pip3"),
        "{out}"
    );
    assert!(out.contains("  checked:"), "{out}");
    // The explanation is on stdout once, not repeated in the error.
    let err = stderr(&o);
    assert!(!err.contains("checked:"), "{err}");
    assert!(err.contains("VENVEXEC_STRICT is set"), "{err}");

    let o = run(fence(&mut sb.venvexec(&cwd), &sb)
        .env("VENVEXEC_STRICT", "1")
        .args(["which", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["strict"], true);
    assert_eq!(v["action"], "error");
    assert_eq!(v["error"]["code"], 127);

    let o = run(fence(&mut sb.venvexec(&cwd), &sb)
        .env("VENVEXEC_STRICT", "1")
        .args(["doctor", "--dir"])
        .arg(&sb.shims));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("ok    strict: VENVEXEC_STRICT is set"),
        "{out}"
    );
    assert!(
        out.contains("fail  environment: none here, and VENVEXEC_STRICT is set"),
        "{out}"
    );

    // Off: nothing about it.
    let out = ok(fence(&mut sb.venvexec(&cwd), &sb).args(["which", "-v", "python3"]));
    assert!(!out.contains("strict"), "{out}");
}

// 4. The decision log.

fn read_log(path: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "the last line is cut: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn every_shim_call_appends_one_json_line() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let elsewhere = sb.dir("elsewhere");
    let log = sb.root().join("decisions.jsonl");
    let script = "python3 -c pass; pip --version; cd ../elsewhere && python3 -c pass";
    let o = run(shell(&sb, script, &proj).env("VENVEXEC_LOG", &log));
    assert_eq!(o.status.code(), Some(0), "the last call decides");
    let entries = read_log(&log);
    assert_eq!(entries.len(), 3, "{entries:?}");

    let e = &entries[0];
    assert_eq!(e["name"], "python3");
    assert_eq!(e["action"], "exec");
    assert_eq!(e["program"], venv.join("bin/python3").to_str().unwrap());
    assert_eq!(e["source"], "project");
    assert_eq!(e["environment"], venv.to_str().unwrap());
    assert_eq!(e["cwd"], proj.to_str().unwrap());
    assert_eq!(e["skipped"], 0);
    assert_eq!(e["code"], serde_json::Value::Null);
    assert!(e["pid"].as_u64().unwrap() > 0);
    assert!(e["ppid"].as_u64().unwrap() > 0);
    let time = e["time"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );

    let e = &entries[1];
    assert_eq!(e["name"], "pip");
    assert_eq!(e["action"], "error");
    assert_eq!(e["code"], 127);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .starts_with("pip: not found in the environment"),
        "{e}"
    );

    let e = &entries[2];
    assert_eq!(e["action"], "fall_through");
    assert_eq!(
        e["program"],
        system_dir(&sb).join("python3").to_str().unwrap()
    );
    assert_eq!(e["source"], serde_json::Value::Null);
    assert_eq!(e["cwd"], elsewhere.to_str().unwrap());
    // The ceiling of the fence is one skip.
    assert_eq!(e["skipped"], 1);
    // All three from the one shell.
    assert_eq!(entries[0]["ppid"], entries[2]["ppid"]);
}

#[test]
fn five_hundred_concurrent_calls_write_whole_lines() {
    let sb = Sandbox::new();
    // Long paths make long lines (about 2 KB): mixed writes would show.
    let deep = "d".repeat(200);
    let proj = sb.dir(&format!("p/{deep}/{deep}/{deep}"));
    let venv = fake_env(&proj.join(".venv"));
    let cwd = sb.dir(&format!("p/{deep}/{deep}/{deep}/{deep}"));
    let log = sb.root().join("decisions.jsonl");
    let mut children = Vec::new();
    for _ in 0..500 {
        let child = fence(&mut sb.cmd("python", &cwd), &sb)
            .env("VENVEXEC_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning a shim");
        children.push(child);
    }
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stderr(&o), "");
    }
    let entries = read_log(&log);
    assert_eq!(entries.len(), 500);
    let mut pids = std::collections::HashSet::new();
    for e in &entries {
        assert_eq!(e["cwd"], cwd.to_str().unwrap());
        assert_eq!(e["program"], venv.join("bin/python").to_str().unwrap());
        assert!(pids.insert(e["pid"].as_u64().unwrap()), "a pid twice");
    }
    let longest = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::len)
        .max()
        .unwrap();
    assert!((2000..4096).contains(&longest), "{longest}");
}

/// Runs a call that logs to `log` and asserts that it did its job: the
/// system Python ran, and stderr holds at most the one log warning.
fn assert_call_goes_on(sb: &Sandbox, log: &Path, cwd: &Path) {
    let o = run_with_timeout(
        shell(sb, &format!("python3 -c '{PREFIX}'"), cwd).env("VENVEXEC_LOG", log),
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(0), "{}", log.display());
    assert_eq!(stdout(&o).trim(), SYSTEM);
    let err = stderr(&o);
    assert_eq!(lines(&err).len(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "venvexec: warning: cannot write the decision log {}: ",
            log.display()
        )),
        "{err}"
    );
    let o = run_with_timeout(
        shell(sb, &format!("python3 -c '{PREFIX}'"), cwd)
            .env("VENVEXEC_LOG", log)
            .env("VENVEXEC_QUIET", "1"),
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).trim(), SYSTEM);
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_log_that_cannot_be_written_never_breaks_the_call() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    // A directory, a place no file can be made even by root, a full disk.
    let dir = sb.dir("a-directory");
    for log in [
        dir.as_path(),
        Path::new("/proc/venvexec.log"),
        Path::new("/dev/full"),
    ] {
        assert_call_goes_on(&sb, log, &cwd);
    }
    // A FIFO nobody reads: open must not wait for a reader.
    let fifo = sb.root().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    assert_call_goes_on(&sb, &fifo, &cwd);
    // A symlink at the log's path is not followed.
    let target = sb.root().join("target");
    fs::write(&target, "precious\n").unwrap();
    let link = sb.root().join("link.jsonl");
    symlink(&target, &link).unwrap();
    assert_call_goes_on(&sb, &link, &cwd);
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
}

/// `sh -c SCRIPT` as [`shell`] builds it, run by a user without root's
/// power to write and search anywhere: the tests' own user, or the test
/// user (with the binary copied where it can run it) when the tests run as
/// root. Also that user's (uid, gid). `None`, the reason printed, when
/// that cannot be arranged.
fn unprivileged(sb: &Sandbox, script: &str, cwd: &Path) -> Option<(Command, (u32, u32))> {
    let c = shell(sb, script, cwd);
    if !is_root() {
        // SAFETY: getuid and getgid cannot fail.
        return Some((c, unsafe { (libc::getuid(), libc::getgid()) }));
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: setpriv is not available to run as another user");
        return None;
    }
    let ids = test_user("venvexec-test-other")?;
    let copy = sb.root().join("venvexec");
    if !copy.exists() {
        fs::copy(bin(), &copy).unwrap();
        for e in fs::read_dir(&sb.shims).unwrap() {
            let link = e.unwrap().path();
            fs::remove_file(&link).unwrap();
            symlink(&copy, &link).unwrap();
        }
        fs::set_permissions(sb.root(), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut as_other = Command::new("setpriv");
    as_other
        .arg(format!("--reuid={}", ids.0))
        .arg(format!("--regid={}", ids.1))
        .arg("--clear-groups")
        .arg("/bin/sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(cwd);
    Some((as_other, ids))
}

#[test]
fn a_log_in_a_read_only_directory_never_breaks_the_call() {
    let sb = Sandbox::new();
    let ro = sb.dir("read-only");
    chmod(&ro, "0555");
    let log = ro.join("decisions.jsonl");
    let Some((mut c, _)) = unprivileged(&sb, &format!("python3 -c '{PREFIX}'"), &ro) else {
        return;
    };
    let o = run(c.env("VENVEXEC_LOG", &log));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).trim(), SYSTEM);
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "venvexec: warning: cannot write the decision log {}: Permission denied",
            log.display()
        )),
        "{err}"
    );
    assert!(!log.exists());
}

#[test]
fn venvexec_log_prints_the_log_as_a_table() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let log = sb.root().join("decisions.jsonl");
    run(shell(
        &sb,
        "python3 -c pass; pip3 -V; cd .. && python3 -c pass",
        &proj,
    )
    .env("VENVEXEC_LOG", &log));
    // A line that is no record (cut short by a crash, say) is left out.
    let mut text = fs::read_to_string(&log).unwrap();
    text.push_str("{\"time\":\"2026-\n");
    fs::write(&log, text).unwrap();

    for how in ["argument", "variable"] {
        let mut c = sb.venvexec(&proj);
        c.arg("log");
        if how == "argument" {
            c.arg(&log);
        } else {
            c.env("VENVEXEC_LOG", &log);
        }
        let o = run(&mut c);
        assert_eq!(o.status.code(), Some(0), "{how}");
        let out = stdout(&o);
        let rows = lines(&out);
        assert_eq!(rows.len(), 4, "{out}");
        let cols: Vec<&str> = rows[0].split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "TIME", "PID", "PPID", "NAME", "SOURCE", "SKIPPED", "CWD", "RAN"
            ]
        );
        // Columns line up: every row has its program where RAN starts.
        let ran = rows[0].find("RAN").unwrap();
        let cwd = rows[0].find("CWD").unwrap();
        assert_eq!(&rows[1][ran..], venv.join("bin/python3").to_str().unwrap());
        assert!(rows[1][cwd..].starts_with(&format!("{}  ", proj.display())));
        assert!(rows[1].contains(" python3 ") && rows[1].contains(" project "));
        assert!(
            rows[2][ran..].starts_with("error 127: pip3: not found in the environment"),
            "{}",
            rows[2]
        );
        assert!(rows[3][ran..].contains("(fall-through)"), "{}", rows[3]);
        assert_eq!(
            stderr(&o),
            format!(
                "venvexec: warning: {} line 4: not a decision log record, left out\n",
                log.display()
            )
        );
    }

    let o = run(sb.venvexec(&proj).arg("log"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("set VENVEXEC_LOG"), "{}", stderr(&o));
    let o = run(sb.venvexec(&proj).arg("log").arg(sb.root().join("none")));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("venvexec: cannot read the decision log"));
}

// 5. Every "nothing to run" error says where to look.

fn assert_hinted(o: &Output, name: &str) {
    assert_eq!(o.status.code(), Some(127));
    let err = stderr(o);
    assert!(
        err.ends_with(&format!(
            "\n  hint: run 'venvexec which -v {name}' here to see why\n"
        )),
        "{err}"
    );
}

#[test]
fn nothing_to_run_errors_end_with_the_which_hint() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let none = sb.dir("no-project");
    // The shim: nothing on PATH; a name the environment lacks.
    let o = run(fence(&mut sb.cmd("python3", &none), &sb).env("PATH", &sb.shims));
    assert_hinted(&o, "python3");
    let o = run(fence(&mut sb.sh("pip -V", &proj), &sb));
    assert_hinted(&o, "pip");
    // The CLI: no environment; a command found nowhere; `which`.
    let o = run(fence(&mut sb.venvexec(&none), &sb).args(["--", "python", "-V"]));
    assert_hinted(&o, "python");
    let o = run(fence(&mut sb.venvexec(&none), &sb).arg("script.py"));
    assert_hinted(&o, "python");
    let o = run(fence(&mut sb.venvexec(&proj), &sb).arg("no-such-tool"));
    assert_hinted(&o, "no-such-tool");
    let o = run(fence(&mut sb.venvexec(&none), &sb)
        .env("PATH", &sb.shims)
        .args(["which", "python3"]));
    assert_hinted(&o, "python3");
}

// 6. A python ahead of the shims.

#[test]
fn a_python_ahead_of_the_shims_is_named_by_which_and_doctor() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    // What pyenv's init leaves ahead of everything.
    let pyenv = sb.dir("pyenv/shims");
    write_exe(
        &pyenv.join("python"),
        "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n",
    );
    let path = format!("{}:{}:{SYSTEM_PATH}", pyenv.display(), sb.shims.display());
    let out = ok(fence(&mut sb.venvexec(&cwd), &sb)
        .env("PATH", &path)
        .args(["which", "-v"]));
    let said: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  on PATH:"))
        .collect();
    assert_eq!(
        said,
        [format!(
            "  on PATH: `python` is {}, not this venvexec: shell-outs run that instead (put the shims directory first on PATH)",
            pyenv.join("python").display()
        )]
    );
    let json = ok(fence(&mut sb.venvexec(&cwd), &sb)
        .env("PATH", &path)
        .args(["which", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["on_path"]["program"],
        pyenv.join("python").to_str().unwrap()
    );
    assert_eq!(v["on_path"]["is_this"], false);

    let o = run(fence(&mut sb.venvexec(&cwd), &sb)
        .env("PATH", &path)
        .args(["doctor", "--dir"])
        .arg(&sb.shims));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "fail  path: `python` on PATH is {}",
            pyenv.join("python").display()
        )),
        "{out}"
    );

    // With the shims first, which says nothing about it.
    let out = ok(fence(&mut sb.venvexec(&cwd), &sb).args(["which", "-v", "python3"]));
    assert!(!out.contains("on PATH:"), "{out}");
}
