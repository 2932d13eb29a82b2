//! The command-line face, `venvexec …`, as a user types it: the runner,
//! `which`, `shims`, and the usual `--help`/`--version`/usage errors.

mod common;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn venvexec_args<I, S>(sb: &Sandbox, cwd: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = sb.venvexec(cwd);
    c.args(args);
    c
}

// The runner.

#[test]
fn a_py_script_runs_with_the_envs_python_and_gets_its_args() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    fs::write(
        proj.join("job.py"),
        "import sys, venvprobe\nprint(venvprobe.TAG, sys.prefix, sys.argv)\n",
    )
    .unwrap();
    let out = ok(&mut venvexec_args(&sb, &proj, ["job.py", "a b", "", "-v"]));
    assert_eq!(
        out,
        format!("{} ['job.py', 'a b', '', '-v']", probed("proj", &venv))
    );
    let out = ok(&mut venvexec_args(&sb, &sb.dir("proj/sub"), ["../job.py"]));
    assert_eq!(out, format!("{} ['../job.py']", probed("proj", &venv)));
    // Executable but without a shebang: the kernel could not run it, the
    // env's python can.
    write_exe(
        &proj.join("bin/tool.py"),
        "import sys, venvprobe\nprint(venvprobe.TAG, sys.argv[1:])\n",
    );
    let out = ok(&mut venvexec_args(&sb, &proj, ["bin/tool.py", "x"]));
    assert_eq!(out, "proj ['x']");
}

#[test]
fn venv_flag_names_the_environment() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "project");
    let other = make_venv(&sb.dir("envs").join("other"), "other");
    let out = ok(&mut venvexec_args(
        &sb,
        &proj,
        [
            OsStr::new("--venv"),
            other.as_os_str(),
            OsStr::new("python"),
            OsStr::new("-c"),
            OsStr::new(PROBE),
        ],
    ));
    assert_eq!(out, probed("other", &other));
    // Relative to the working directory, and it beats VENVEXEC_VENV too.
    let out = ok(venvexec_args(
        &sb,
        &proj,
        ["--venv", "../envs/other", "python", "-c", PROBE],
    )
    .env("VENVEXEC_VENV", proj.join(".venv")));
    assert_eq!(out, probed("other", &other));
}

#[test]
fn a_bad_venv_flag_is_126_naming_it() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "project");
    let missing = sb.root().join("no-such-env");
    let o = run(&mut venvexec_args(
        &sb,
        &proj,
        [
            OsStr::new("--venv"),
            missing.as_os_str(),
            OsStr::new("python"),
            OsStr::new("-c"),
            OsStr::new("print('ran')"),
        ],
    ));
    assert_eq!(o.status.code(), Some(126));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: "), "{err}");
    assert!(err.contains("--venv"), "{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");
}

#[test]
fn a_console_script_in_the_env_runs_from_there() {
    let sb = Sandbox::new();
    let (_proj, venv) = project(&sb, "proj", "proj");
    write_exe(
        &venv.join("bin/mytool"),
        "#!/bin/sh\necho \"$0 in $VIRTUAL_ENV: $*\"\n",
    );
    let out = ok(&mut venvexec_args(
        &sb,
        &sb.dir("proj/tests"),
        ["mytool", "-x", "two words"],
    ));
    assert_eq!(
        out,
        format!(
            "{} in {}: -x two words",
            venv.join("bin/mytool").display(),
            venv.display()
        )
    );
}

#[test]
fn a_non_executable_file_runs_with_python() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    // No .py suffix and no execute bit: a script someone forgot to chmod.
    fs::write(
        proj.join("job"),
        "import sys, venvprobe\nprint(venvprobe.TAG, sys.prefix, sys.argv[1:])\n",
    )
    .unwrap();
    for given in ["./job", "job"] {
        let out = ok(&mut venvexec_args(&sb, &proj, [given, "arg"]));
        assert_eq!(out, format!("{} ['arg']", probed("proj", &venv)), "{given}");
    }
}

#[test]
fn a_command_on_path_runs_inside_the_activated_env() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let script = format!("echo \"$VIRTUAL_ENV\"; echo \"${{PATH%%:*}}\"; python -c '{PROBE}'");
    let out = ok(&mut venvexec_args(&sb, &proj, ["sh", "-c", &script]));
    assert_eq!(
        out,
        format!(
            "{}\n{}\n{}",
            venv.display(),
            venv.join("bin").display(),
            probed("proj", &venv)
        )
    );
}

#[test]
fn no_env_found_is_127_listing_what_was_checked() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project/sub");
    let o = run(fence(
        &mut venvexec_args(&sb, &cwd, ["python", "-c", "print('ran')"]),
        &sb,
    ));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: "), "{err}");
    assert!(err.contains("VIRTUAL_ENV"), "{err}");
    assert!(err.contains("project"), "{err}");
    assert!(err.contains(&cwd.display().to_string()), "{err}");
}

#[test]
fn a_command_found_nowhere_is_127_naming_the_env() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let o = run(&mut venvexec_args(&sb, &proj, ["no-such-command", "x"]));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: no-such-command: "), "{err}");
    assert!(
        err.contains(&venv.join("bin").display().to_string()),
        "{err}"
    );
}

#[test]
fn double_dash_runs_a_program_named_like_a_subcommand() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    write_exe(
        &venv.join("bin/which"),
        "#!/bin/sh\necho \"the env's own which: $*\"\n",
    );
    let out = ok(&mut venvexec_args(
        &sb,
        &proj,
        ["--", "which", "-v", "python"],
    ));
    assert_eq!(out, "the env's own which: -v python");
    // Without `--` it is the subcommand.
    let out = ok(&mut venvexec_args(&sb, &proj, ["which"]));
    assert_eq!(out, venv.join("bin/python").display().to_string());
}

#[test]
fn exit_status_of_the_child_passes_through() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    for code in [0, 1, 42] {
        let o = run(&mut venvexec_args(
            &sb,
            &proj,
            [
                "python",
                "-c",
                &format!("import sys, venvprobe; sys.exit({code})"),
            ],
        ));
        assert_eq!(o.status.code(), Some(code));
        assert_eq!(stderr(&o), "");
    }
    let o = run(&mut venvexec_args(
        &sb,
        &proj,
        [
            "python",
            "-c",
            "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
        ],
    ));
    assert_eq!(o.status.signal(), Some(15), "SIGTERM");
}

#[test]
fn arguments_pass_byte_for_byte_through_the_runner() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let args = awkward_args();
    let o = run(sb
        .venvexec(&proj)
        .args(["python", "-c", ECHO_ARGS])
        .args(&args));
    assert!(o.status.success());
    assert_eq!(o.stdout, echoed(&args));
}

#[test]
fn stdin_passes_through_the_runner() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let mut child = venvexec_args(
        &sb,
        &proj,
        ["python", "-c", "import sys; print(sys.stdin.read()[::-1])"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child.stdin.take().unwrap().write_all(b"olleh").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello\n");
}

// `which`.

#[test]
fn which_prints_what_the_shim_would_run() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let deep = sb.dir("proj/a/b");
    assert_eq!(
        ok(&mut venvexec_args(&sb, &deep, ["which"])),
        venv.join("bin/python").display().to_string()
    );
    assert_eq!(
        ok(&mut venvexec_args(&sb, &proj, ["which", "python3"])),
        venv.join("bin/python3").display().to_string()
    );
    // No environment: the next python3 on PATH, as the shim would.
    let out = ok(fence(
        &mut venvexec_args(&sb, &sb.dir("elsewhere"), ["which", "python3"]),
        &sb,
    ));
    assert_eq!(out, "/usr/bin/python3");
}

#[test]
fn which_verbose_gives_the_reason() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let out = ok(&mut venvexec_args(
        &sb,
        &sb.dir("proj/src"),
        ["which", "-v"],
    ));
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(venv.join("bin/python").display().to_string().as_str())
    );
    let rest: String = lines.collect::<Vec<_>>().join("\n");
    assert!(rest.contains("project"), "{rest}");
    assert!(rest.contains(&proj.display().to_string()), "{rest}");
    assert!(rest.contains(".venv"), "{rest}");
}

#[test]
fn which_and_the_runner_keep_non_utf8_paths_intact() {
    let sb = Sandbox::new();
    let proj = sb.root().join(OsStr::from_bytes(b"proj \xff"));
    fs::create_dir_all(&proj).unwrap();
    let venv = make_venv_moved(&proj.join(".venv"), "odd");
    let o = run(&mut venvexec_args(&sb, &proj, ["which"]));
    assert!(o.status.success());
    let python = venv.join("bin/python");
    assert_eq!(o.stdout, [python.as_os_str().as_bytes(), b"\n"].concat());
    let o = run(&mut venvexec_args(
        &sb,
        &proj,
        [
            "python",
            "-c",
            "import os, sys, venvprobe; sys.stdout.buffer.write(os.fsencode(sys.prefix))",
        ],
    ));
    assert!(o.status.success());
    assert_eq!(o.stdout, venv.as_os_str().as_bytes());
}

/// The values at dotted `fields` (`source.kind`, `skipped.0.path`) of a
/// JSON document, one per line.
fn read_json_fields(json: &str, fields: &[&str]) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not valid JSON ({e}): {json}"));
    let mut out = Vec::new();
    for field in fields {
        let mut v = &doc;
        for key in field.split('.') {
            v = match key.parse::<usize>() {
                Ok(i) => &v[i],
                Err(_) => &v[key],
            };
        }
        out.push(match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    out.join("\n")
}

#[test]
fn which_json_is_valid_json_with_stable_keys() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let json = ok(&mut venvexec_args(&sb, &proj, ["which", "--json"]));
    let fields = read_json_fields(&json, &["action", "program", "source.kind", "environment"]);
    assert_eq!(
        fields,
        format!(
            "exec\n{}\nproject\n{}",
            venv.join("bin/python").display(),
            venv.display()
        )
    );
    // The stale VIRTUAL_ENV shows up in the skipped list.
    let stale = sb.root().join("gone");
    let json = ok(venvexec_args(&sb, &proj, ["which", "--json"]).env("VIRTUAL_ENV", &stale));
    let fields = read_json_fields(&json, &["skipped.0.source", "skipped.0.path"]);
    assert_eq!(fields, format!("virtual_env\n{}", stale.display()));
}

#[test]
fn which_pip_in_a_venv_without_pip_is_127() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let o = run(&mut venvexec_args(&sb, &proj, ["which", "pip"]));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: pip: "), "{err}");
    assert!(err.contains(&venv.display().to_string()), "{err}");
}

// `shims`.

/// `venvexec shims ACTION --dir DIR NAMES…`, run from the sandbox's home.
fn shims(sb: &Sandbox, action: &str, dir: &Path, names: &[&str]) -> Command {
    let mut c = sb.venvexec(&sb.home);
    c.args(["shims", action, "--dir"]).arg(dir).args(names);
    c
}

/// Names in `dir`, each a symlink to the venvexec binary under test.
fn our_links(dir: &Path) -> BTreeSet<String> {
    let me = fs::canonicalize(bin()).unwrap();
    let mut names = BTreeSet::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let target = fs::read_link(e.path()).unwrap_or_default();
        assert_eq!(
            fs::canonicalize(e.path()).ok(),
            Some(me.clone()),
            "{} -> {}",
            e.path().display(),
            target.display()
        );
        names.insert(e.file_name().to_string_lossy().into_owned());
    }
    names
}

/// Identity of each link itself (not its target): unchanged means untouched.
fn link_ids(dir: &Path) -> Vec<(OsString, u64, i64)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            (e.file_name(), m.ino(), m.mtime_nsec())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn shims_install_list_remove_lifecycle() {
    let sb = Sandbox::new();
    let d = sb.root().join("my-shims");

    let o = run(&mut shims(&sb, "install", &d, &[]));
    assert_eq!(o.status.code(), Some(0));
    let installed = our_links(&d);
    for name in ["python", "python3", "pip", "pip3"] {
        assert!(installed.contains(name), "{name} missing: {installed:?}");
    }

    // The links are working shims.
    let (proj, venv) = project(&sb, "proj", "proj");
    let out = ok(sb
        .cmd("python", &proj)
        .env("PATH", format!("{}:{SYSTEM_PATH}", d.display()))
        .args(["-c", PROBE]));
    assert_eq!(out, probed("proj", &venv));

    // Again: nothing changes.
    let before = link_ids(&d);
    let o = run(&mut shims(&sb, "install", &d, &[]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(link_ids(&d), before);

    let o = run(&mut shims(&sb, "install", &d, &["pytest"]));
    assert_eq!(o.status.code(), Some(0));
    let mut with_pytest = installed.clone();
    with_pytest.insert("pytest".into());
    assert_eq!(our_links(&d), with_pytest);

    let listed = ok(&mut shims(&sb, "list", &d, &[]));
    let listed_names: BTreeSet<String> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(listed_names, with_pytest);

    let o = run(&mut shims(&sb, "remove", &d, &["pip"]));
    assert_eq!(o.status.code(), Some(0));
    let mut without_pip = with_pytest.clone();
    without_pip.remove("pip");
    assert_eq!(our_links(&d), without_pip);

    let o = run(&mut shims(&sb, "remove", &d, &[]));
    assert_eq!(o.status.code(), Some(0));
    assert!(!d.exists(), "the emptied shims dir is left behind");
}

#[test]
fn shims_install_never_overwrites_a_file_of_its_own() {
    let sb = Sandbox::new();
    let d = sb.dir("bin-with-python");
    let mine = "#!/bin/sh\necho my own python\n";
    write_exe(&d.join("python"), mine);
    let o = run(&mut shims(&sb, "install", &d, &[]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: "), "{err}");
    assert!(
        err.contains(&d.join("python").display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(d.join("python")).unwrap(), mine);
    assert!(fs::symlink_metadata(d.join("python")).unwrap().is_file());
    // The other names were still linked.
    assert!(d.join("python3").is_symlink());

    // Removing every shim leaves the user's file, and so the directory.
    let o = run(&mut shims(&sb, "remove", &d, &[]));
    assert_eq!(o.status.code(), Some(0));
    let left: Vec<OsString> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [OsString::from("python")]);
    assert_eq!(fs::read_to_string(d.join("python")).unwrap(), mine);
}

#[test]
fn shims_install_rejects_names_that_are_paths() {
    let sb = Sandbox::new();
    let d = sb.root().join("shims-dir");
    for bad in ["../python", "a/b", ".."] {
        let o = run(&mut shims(&sb, "install", &d, &[bad]));
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).starts_with("venvexec: "), "{bad}");
    }
    assert!(!sb.root().join("python").exists());
}

// Usage.

#[test]
fn help_and_version_exit_0() {
    let sb = Sandbox::new();
    for flag in ["--help", "-h"] {
        let o = run(&mut venvexec_args(&sb, &sb.home, [flag]));
        assert_eq!(o.status.code(), Some(0), "{flag}");
        assert!(stdout(&o).contains("venvexec"), "{flag}");
        assert!(stdout(&o).contains("which"), "{flag}");
    }
    let o = run(&mut venvexec_args(&sb, &sb.home, ["--version"]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o).trim(),
        format!("venvexec {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_option_is_a_usage_error() {
    let sb = Sandbox::new();
    for args in [
        &["--bogus"][..],
        &["which", "--bogus"],
        &["shims", "frobnicate"],
    ] {
        let o = run(&mut venvexec_args(&sb, &sb.home, args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("venvexec: "), "{args:?}: {err}");
    }
    // No command at all is a usage error too, not a crash.
    let o = run(&mut sb.venvexec(&sb.home));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("venvexec: "));
}
