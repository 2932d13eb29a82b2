//! The shim face, as a user meets it: the shims dir first on PATH, real
//! venvs, and real programs (`sh`, `make`, the system Python, `env`
//! shebangs) that call `python` by name.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The system interpreter that is in no venv: a parent run with it can only
/// reach the project's venv through the shim.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// `python -c 'PROBE'` for a shell command line.
fn probe_sh(name: &str) -> String {
    format!("{name} -c '{PROBE}'")
}

/// The shim `name` run the way a user's shell would: by name, found on PATH.
fn shim(sb: &Sandbox, name: &str, cwd: &Path) -> Command {
    sb.cmd(name, cwd)
}

// 1. Every way of calling `python` by name lands in the project's venv.

#[test]
fn python_in_project_root_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let out = ok(shim(&sb, "python", &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("proj", &venv));
}

#[test]
fn python_deep_in_a_subdirectory_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let deep = sb.dir("proj/src/pkg/sub/deeper");
    assert!(deep.starts_with(&proj));
    for name in ["python", "python3"] {
        let out = ok(shim(&sb, name, &deep).args(["-c", PROBE]));
        assert_eq!(out, probed("proj", &venv), "{name}");
    }
}

#[test]
fn python3_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "p3");
    let out = ok(shim(&sb, "python3", &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("p3", &venv));
}

#[test]
fn sh_c_python_runs_project_venv() {
    let sb = Sandbox::new();
    let (_proj, venv) = project(&sb, "proj", "viash");
    let deep = sb.dir("proj/a/b");
    let out = ok(&mut sb.sh(&probe_sh("python"), &deep));
    assert_eq!(out, probed("viash", &venv));
}

#[test]
fn os_system_from_system_python_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "viasystem");
    let parent = format!(
        "import os, sys\n\
         print('parent', sys.prefix, flush=True)\n\
         status = os.system({:?})\n\
         sys.exit(os.waitstatus_to_exitcode(status))\n",
        probe_sh("python")
    );
    let out = ok(sb.cmd(SYSTEM_PYTHON, &proj).args(["-c", &parent]));
    let lines: Vec<&str> = out.lines().collect();
    // The parent is the system Python: nothing but the shim can route its
    // child into the venv.
    assert_eq!(lines[0], "parent /usr");
    assert_eq!(lines[1], probed("viasystem", &venv));
}

#[test]
fn subprocess_run_from_system_python_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "viasubprocess");
    let deep = sb.dir("proj/tools/bin");
    let parent = format!(
        "import subprocess, sys\n\
         print('parent', sys.prefix, flush=True)\n\
         r = subprocess.run(['python', '-c', {PROBE:?}])\n\
         sys.exit(r.returncode)\n"
    );
    let out = ok(sb.cmd(SYSTEM_PYTHON, &deep).args(["-c", &parent]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["parent /usr", &probed("viasubprocess", &venv)]);
    assert!(proj.join(".venv").is_dir());
}

#[test]
fn make_recipe_calling_python_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "viamake");
    fs::write(
        proj.join("Makefile"),
        format!("probe:\n\t@{}\n", probe_sh("python")),
    )
    .unwrap();
    let out = ok(sb.cmd("make", &proj).args(["-s", "probe"]));
    assert_eq!(out, probed("viamake", &venv));
}

#[test]
fn env_python_shebang_script_runs_project_venv() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "viashebang");
    let script = proj.join("scripts/report");
    write_exe(
        &script,
        "#!/usr/bin/env python\nimport sys, venvprobe\nprint(venvprobe.TAG, sys.prefix)\n",
    );
    let out = ok(&mut sb.cmd(&script, &proj));
    assert_eq!(out, probed("viashebang", &venv));
}

#[test]
fn venv_named_venv_is_found() {
    let sb = Sandbox::new();
    let proj = sb.dir("proj");
    let venv = make_venv(&proj.join("venv"), "plainvenv");
    let out = ok(shim(&sb, "python", &sb.dir("proj/sub")).args(["-c", PROBE]));
    assert_eq!(out, probed("plainvenv", &venv));
}

#[test]
fn dot_venv_is_preferred_over_venv_in_the_same_dir() {
    let sb = Sandbox::new();
    let proj = sb.dir("proj");
    make_venv(&proj.join("venv"), "plain");
    let dot = make_venv(&proj.join(".venv"), "dot");
    let out = ok(shim(&sb, "python", &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("dot", &dot));
}

#[test]
fn nearest_project_wins_over_a_parents() {
    let sb = Sandbox::new();
    let (outer, outer_venv) = project(&sb, "outer", "outer");
    let (_inner, inner_venv) = project(&sb, "outer/libs/inner", "inner");
    let out = ok(shim(&sb, "python", &sb.dir("outer/libs/inner/src")).args(["-c", PROBE]));
    assert_eq!(out, probed("inner", &inner_venv));
    // A sibling of the inner project still gets the outer one.
    let out = ok(shim(&sb, "python", &sb.dir("outer/libs/other")).args(["-c", PROBE]));
    assert_eq!(out, probed("outer", &outer_venv));
    assert!(outer_venv.starts_with(outer));
}

#[test]
fn project_paths_with_spaces_and_non_utf8_bytes_work() {
    let sb = Sandbox::new();
    let mut rel = OsString::from("my project/caf\u{e9} ");
    rel.push(OsStr::from_bytes(b"\xff\xfe"));
    let proj = sb.root().join(&rel);
    fs::create_dir_all(&proj).unwrap();
    let venv = make_venv_moved(&proj.join(".venv"), "odd");
    let deep = proj.join("sub dir");
    fs::create_dir_all(&deep).unwrap();
    let code = "import os, sys, venvprobe; sys.stdout.buffer.write(os.fsencode(sys.prefix) \
                + b'|' + os.fsencode(os.environ['VIRTUAL_ENV']))";
    let o = run(shim(&sb, "python", &deep).args(["-c", code]));
    assert!(o.status.success());
    let v = venv.as_os_str().as_bytes();
    assert_eq!(o.stdout, [v, b"|", v].concat());
}

// 2. The resolution order.

#[test]
fn venvexec_venv_beats_virtual_env_and_project() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "project");
    let activated = make_venv(&sb.dir("envs").join("activated"), "activated");
    let explicit = make_venv(&sb.dir("envs").join("explicit"), "explicit");
    let out = ok(shim(&sb, "python", &proj)
        .env("VIRTUAL_ENV", &activated)
        .env("VENVEXEC_VENV", &explicit)
        .args(["-c", PROBE]));
    assert_eq!(out, probed("explicit", &explicit));
}

#[test]
fn invalid_venvexec_venv_is_an_error_not_a_fallback() {
    let sb = Sandbox::new();
    // A project venv and the system python3 are both there to fall back on:
    // neither may run.
    let (proj, _) = project(&sb, "proj", "project");
    let a_file = sb.root().join("not-a-dir");
    fs::write(&a_file, "").unwrap();
    let no_interpreter = sb.dir("half-made");
    fs::write(no_interpreter.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    let cases = [
        (sb.root().join("missing"), "does not exist"),
        (a_file, "not a directory"),
        (no_interpreter, "no bin/python"),
    ];
    for (bad, why) in cases {
        for name in ["python", "python3"] {
            let o = run(shim(&sb, name, &proj)
                .env("VENVEXEC_VENV", &bad)
                .args(["-c", "print('ran anyway')"]));
            assert_eq!(o.status.code(), Some(126), "{}", bad.display());
            assert_eq!(stdout(&o), "", "nothing may run for {}", bad.display());
            let err = stderr(&o);
            assert!(err.starts_with("venvexec: "), "{err}");
            assert!(err.contains("VENVEXEC_VENV"), "{err}");
            assert!(err.contains(&bad.display().to_string()), "{err}");
            assert!(err.contains(why), "{err}");
        }
    }
}

#[test]
fn venvexec_disable_falls_through_to_system_python_inside_a_project() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "project");
    let activated = make_venv(&sb.dir("envs").join("activated"), "activated");
    let out = ok(shim(&sb, "python3", &proj)
        .env("VENVEXEC_DISABLE", "1")
        .args(["-c", "import sys; print(sys.executable, sys.prefix)"]));
    assert_eq!(out, format!("{SYSTEM_PYTHON} /usr"));
    // "Hands off" means every source, the named and the activated included.
    let out = ok(shim(&sb, "python3", &proj)
        .env("VENVEXEC_DISABLE", "1")
        .env("VENVEXEC_VENV", &activated)
        .env("VIRTUAL_ENV", &activated)
        .args(["-c", "import sys; print(sys.executable, sys.prefix)"]));
    assert_eq!(out, format!("{SYSTEM_PYTHON} /usr"));
}

#[test]
fn virtual_env_beats_project() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "project");
    let activated = make_venv(&sb.dir("envs").join("work"), "activated");
    let out = ok(shim(&sb, "python", &proj)
        .env("VIRTUAL_ENV", &activated)
        .args(["-c", PROBE]));
    assert_eq!(out, probed("activated", &activated));
}

#[test]
fn stale_virtual_env_is_skipped() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "project");
    let stale = sb.root().join("envs/deleted-after-activate");
    let out = ok(shim(&sb, "python", &proj)
        .env("VIRTUAL_ENV", &stale)
        .args(["-c", PROBE]));
    assert_eq!(out, probed("project", &venv));

    let why = ok(sb
        .venvexec(&proj)
        .env("VIRTUAL_ENV", &stale)
        .args(["which", "-v"]));
    let skip_line = why
        .lines()
        .find(|l| l.contains("VIRTUAL_ENV") && l.contains(&stale.display().to_string()))
        .unwrap_or_else(|| panic!("no line about the stale VIRTUAL_ENV in:\n{why}"));
    assert!(skip_line.contains("stale"), "{skip_line}");
    assert!(why.starts_with(&venv.join("bin/python").display().to_string()));
}

/// A conda env as conda lays it out: `conda-meta/` and `bin/python`, here a
/// link to the real interpreter (no `pyvenv.cfg`, so only the path that was
/// exec'd tells it apart from the base).
fn fake_conda_env(sb: &Sandbox, rel: &str) -> PathBuf {
    let prefix = sb.dir(rel);
    fs::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs::create_dir_all(prefix.join("bin")).unwrap();
    symlink(python3(), prefix.join("bin/python")).unwrap();
    prefix
}

#[test]
fn conda_prefix_of_a_named_env_is_used() {
    let sb = Sandbox::new();
    let prefix = fake_conda_env(&sb, "miniconda/envs/work");
    let out = ok(fence(&mut shim(&sb, "python", &sb.dir("elsewhere")), &sb)
        .env("CONDA_PREFIX", &prefix)
        .env("CONDA_DEFAULT_ENV", "work")
        .args(["-c", "import sys; print(sys.executable)"]));
    assert_eq!(out, prefix.join("bin/python").display().to_string());
}

#[test]
fn conda_base_env_is_skipped() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "project");
    let base = fake_conda_env(&sb, "miniconda");
    let out = ok(shim(&sb, "python", &proj)
        .env("CONDA_PREFIX", &base)
        .env("CONDA_DEFAULT_ENV", "base")
        .args(["-c", PROBE]));
    assert_eq!(out, probed("project", &venv));
}

#[test]
fn venvexec_names_chooses_the_directory_names() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "dotvenv");
    let env = make_venv(&proj.join("env"), "env");
    let out = ok(shim(&sb, "python", &sb.dir("proj/sub"))
        .env("VENVEXEC_NAMES", "env")
        .args(["-c", PROBE]));
    assert_eq!(out, probed("env", &env));
}

#[test]
fn ceiling_dirs_stop_the_walk_but_the_ceiling_itself_is_checked() {
    let sb = Sandbox::new();
    let (top, venv) = project(&sb, "top", "top");
    let below = sb.dir("top/below/more");
    let code = "import sys; print(sys.executable)";
    let out = ok(shim(&sb, "python3", &below)
        .env(
            "VENVEXEC_CEILING_DIRS",
            format!("/nonexistent:{}", top.display()),
        )
        .args(["-c", code]));
    assert_eq!(out, SYSTEM_PYTHON, "the walk went past the ceiling");
    let out = ok(shim(&sb, "python3", &top)
        .env("VENVEXEC_CEILING_DIRS", &top)
        .args(["-c", PROBE]));
    assert_eq!(out, probed("top", &venv));
}

// 3. What the exec'd program gets.

#[test]
fn argv0_is_the_absolute_interpreter_path() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let out = ok(shim(&sb, "python", &proj).args([
        "-c",
        "import sys; print(sys.orig_argv[0]); print(sys.executable)",
    ]));
    let python = venv.join("bin/python").display().to_string();
    assert_eq!(out, format!("{python}\n{python}"));
}

#[test]
fn a_venv_tool_is_run_by_its_absolute_path() {
    let sb = Sandbox::with_shims(&["python", "showzero"]);
    let (proj, venv) = project(&sb, "proj", "proj");
    write_exe(&venv.join("bin/showzero"), "#!/bin/sh\necho \"$0\"\n");
    let out = ok(&mut sb.sh("showzero", &proj));
    assert_eq!(out, venv.join("bin/showzero").display().to_string());
}

#[test]
fn arguments_pass_byte_for_byte() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let args = awkward_args();
    let o = run(shim(&sb, "python", &proj)
        .args([OsStr::new("-c"), OsStr::new(ECHO_ARGS)])
        .args(&args));
    assert!(o.status.success());
    assert_eq!(o.stdout, echoed(&args));
}

#[test]
fn child_environment_is_activated() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let code = "import os, venvprobe; print(venvprobe.TAG); print(os.environ.get('VIRTUAL_ENV')); \
                print(os.environ['PATH']); print(os.environ.get('PYTHONHOME'))";
    let out = ok(shim(&sb, "python3", &proj)
        .env("PYTHONHOME", "/nonexistent")
        .args(["-c", code]));
    let mut want_path = venv.join("bin").into_os_string();
    want_path.push(":");
    want_path.push(sb.path());
    let want = format!(
        "proj\n{}\n{}\nNone",
        venv.display(),
        want_path.to_string_lossy()
    );
    assert_eq!(out, want);
}

#[test]
fn pip_missing_from_the_venv_is_127_never_the_system_pip() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    for name in ["pip", "pip3"] {
        let o = run(shim(&sb, name, &proj).arg("--version"));
        assert_eq!(o.status.code(), Some(127), "{name}");
        assert_eq!(stdout(&o), "", "{name} ran something");
        let err = stderr(&o);
        assert!(err.starts_with(&format!("venvexec: {name}: ")), "{err}");
        assert!(err.contains(&venv.display().to_string()), "{err}");
    }
}

#[test]
fn python_version_the_venv_lacks_is_127() {
    let sb = Sandbox::with_shims(&["python3.99"]);
    let (proj, venv) = project(&sb, "proj", "proj");
    let o = run(shim(&sb, "python3.99", &proj).args(["-c", "print('ran')"]));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: python3.99: "), "{err}");
    assert!(err.contains(&venv.display().to_string()), "{err}");
}

#[test]
fn console_script_missing_from_venv_falls_through_to_path() {
    let sb = Sandbox::with_shims(&["python", "mytool"]);
    let (proj, _) = project(&sb, "proj", "proj");
    let later = sb.dir("later-on-path");
    write_exe(
        &later.join("mytool"),
        "#!/bin/sh\necho \"later mytool: $*\"\n",
    );
    let out = ok(sb
        .cmd("mytool", &proj)
        .env(
            "PATH",
            format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), later.display()),
        )
        .args(["a", "b c"]));
    assert_eq!(out, "later mytool: a b c");
}

#[test]
fn console_script_in_venv_runs_the_venvs() {
    let sb = Sandbox::with_shims(&["python", "mytool"]);
    let (_proj, venv) = project(&sb, "proj", "proj");
    let later = sb.dir("later-on-path");
    write_exe(&later.join("mytool"), "#!/bin/sh\necho later mytool\n");
    write_exe(
        &venv.join("bin/mytool"),
        "#!/bin/sh\necho \"venv mytool in $VIRTUAL_ENV: $*\"\n",
    );
    let out = ok(sb
        .cmd("mytool", &sb.dir("proj/sub"))
        .env(
            "PATH",
            format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), later.display()),
        )
        .arg("x"));
    assert_eq!(out, format!("venv mytool in {}: x", venv.display()));
}

#[test]
fn dangling_interpreter_is_126_naming_the_missing_target() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "proj");
    let gone = sb.root().join("uninstalled/bin/python3.11");
    let link = venv.join("bin/python3");
    fs::remove_file(&link).unwrap();
    symlink(&gone, &link).unwrap();
    for name in ["python", "python3"] {
        let o = run(shim(&sb, name, &proj).args(["-c", "print('ran')"]));
        assert_eq!(o.status.code(), Some(126), "{name}");
        assert_eq!(stdout(&o), "");
        let err = stderr(&o);
        assert!(err.starts_with("venvexec: "), "{err}");
        assert!(err.contains(&gone.display().to_string()), "{err}");
        assert!(err.contains("recreate"), "{err}");
    }
}

#[test]
fn without_a_venv_the_next_python_on_path_runs() {
    let sb = Sandbox::new();
    let out = ok(fence(&mut shim(&sb, "python3", &sb.dir("no-project")), &sb)
        .args(["-c", "import sys; print(sys.executable, sys.prefix)"]));
    assert_eq!(out, format!("{SYSTEM_PYTHON} /usr"));
}

/// `python3 -c 'print(sys.executable)'` by the shim's absolute path, with
/// the given PATH and working directory.
fn fall_through_with_path(sb: &Sandbox, path: &OsStr, cwd: &Path) -> String {
    ok(fence(&mut sb.cmd(sb.shims.join("python3"), cwd), sb)
        .env("PATH", path)
        .args(["-c", "import sys; print(sys.executable)"]))
}

#[test]
fn fall_through_skips_the_shims_dir_listed_twice() {
    let sb = Sandbox::new();
    let path = format!("{0}:{0}/:{0}:/usr/bin:/bin", sb.shims.display());
    let cwd = sb.dir("no-project");
    assert_eq!(
        fall_through_with_path(&sb, path.as_ref(), &cwd),
        SYSTEM_PYTHON
    );
}

#[test]
fn fall_through_skips_a_relative_entry_for_the_shims_dir() {
    let sb = Sandbox::new();
    let cwd = sb.dir("work");
    // Both spell the shims dir relative to the working directory.
    let path = "../shims:../work/../shims:/usr/bin:/bin";
    assert_eq!(
        fall_through_with_path(&sb, path.as_ref(), &cwd),
        SYSTEM_PYTHON
    );
}

#[test]
fn fall_through_skips_an_empty_entry_when_cwd_is_the_shims_dir() {
    let sb = Sandbox::new();
    for path in [":/usr/bin:/bin", "/nonexistent::/usr/bin", ".:/usr/bin"] {
        assert_eq!(
            fall_through_with_path(&sb, path.as_ref(), &sb.shims),
            SYSTEM_PYTHON,
            "PATH={path}"
        );
    }
}

#[test]
fn fall_through_skips_another_link_to_the_same_binary() {
    let sb = Sandbox::new();
    let more = sb.dir("more-shims");
    symlink(bin(), more.join("python3")).unwrap();
    let path = format!("{}:{}:/usr/bin", sb.shims.display(), more.display());
    let cwd = sb.dir("no-project");
    assert_eq!(
        fall_through_with_path(&sb, path.as_ref(), &cwd),
        SYSTEM_PYTHON
    );
}

#[test]
fn nothing_to_run_is_127_command_not_found() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let o = run(fence(&mut sb.cmd(sb.shims.join("python"), &cwd), &sb)
        .env("PATH", &sb.shims)
        .arg("-V"));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "venvexec: python: command not found\n  hint: run 'venvexec which -v python' here to see why\n"
    );
}

#[test]
fn empty_path_is_127_command_not_found() {
    let sb = Sandbox::new();
    let cwd = sb.dir("no-project");
    let o = run(fence(&mut sb.cmd(sb.shims.join("python3"), &cwd), &sb)
        .env("PATH", "")
        .arg("-V"));
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "venvexec: python3: command not found\n  hint: run 'venvexec which -v python3' here to see why\n"
    );
}

#[test]
fn exit_status_passes_through() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    for code in [0, 1, 42] {
        let o = run(shim(&sb, "python", &proj)
            .args(["-c", &format!("import sys, venvprobe; sys.exit({code})")]));
        assert_eq!(o.status.code(), Some(code));
        assert_eq!(stderr(&o), "");
    }
}

#[test]
fn death_by_signal_passes_through() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let o = run(shim(&sb, "python", &proj).args([
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    ]));
    assert_eq!(o.status.code(), None);
    assert_eq!(o.status.signal(), Some(15), "SIGTERM");
}

#[test]
fn stdin_passes_through() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let mut child = shim(&sb, "python", &proj)
        .args([
            "-c",
            "import sys, venvprobe; print(sys.stdin.read().upper(), end='')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"first line\nsecond line\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "FIRST LINE\nSECOND LINE\n");
}

#[test]
fn a_child_killed_by_a_broken_pipe_dies_quietly() {
    // Rust ignores SIGPIPE for itself; a disposition left ignored would
    // survive the exec, and `yes | head` would end in "Broken pipe" errors.
    let sb = Sandbox::with_shims(&["python", "spew"]);
    let (proj, venv) = project(&sb, "proj", "proj");
    write_exe(&venv.join("bin/spew"), "#!/bin/sh\nexec yes spewed\n");
    let o = run(&mut sb.sh("spew | head -n 1", &proj));
    assert!(o.status.success());
    assert_eq!(stdout(&o), "spewed\n");
    assert_eq!(stderr(&o), "");
}

#[test]
fn the_shim_execs_in_place_keeping_the_pid() {
    let sb = Sandbox::new();
    let (proj, _) = project(&sb, "proj", "proj");
    let out = ok(&mut sb.sh(
        "echo $$; exec python -c 'import os, venvprobe; print(os.getpid())'",
        &proj,
    ));
    let pids: Vec<&str> = out.lines().collect();
    assert_eq!(pids.len(), 2, "{out}");
    assert_eq!(pids[0], pids[1]);
}

// 4. Loops.

#[test]
fn a_wrapper_that_calls_python_again_is_stopped() {
    let sb = Sandbox::new();
    let wrap = sb.dir("wrappers");
    write_exe(&wrap.join("python"), "#!/bin/sh\nexec python \"$@\"\n");
    let cwd = sb.dir("no-project");
    let o = run_with_timeout(
        fence(&mut sb.cmd("python", &cwd), &sb)
            .env(
                "PATH",
                format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), wrap.display()),
            )
            .args(["-c", "print('ran')"]),
        Duration::from_secs(20),
    );
    assert!(!o.status.success());
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: python: "), "{err}");
    assert!(err.contains("loop"), "{err}");
}

#[test]
fn an_environment_whose_python_is_a_shim_is_refused() {
    let sb = Sandbox::new();
    // A "venv" whose interpreter is a venvexec link would exec the shim
    // again, forever.
    let fake = sb.dir("fake-env");
    fs::write(fake.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    fs::create_dir_all(fake.join("bin")).unwrap();
    symlink(sb.shims.join("python"), fake.join("bin/python")).unwrap();
    let o = run_with_timeout(
        shim(&sb, "python", &sb.dir("no-project"))
            .env("VENVEXEC_VENV", &fake)
            .args(["-c", "print('ran')"]),
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(126));
    let err = stderr(&o);
    assert!(err.starts_with("venvexec: python: "), "{err}");
    assert!(err.contains("shim"), "{err}");
}

// 6. Several Python versions.

/// `3.12.1` from `…/versions/3.12.1/bin/python3`, as numbers for sorting.
fn version_of(python: &Path) -> Option<(String, Vec<u32>)> {
    let name = python
        .parent()?
        .parent()?
        .file_name()?
        .to_str()?
        .to_string();
    let nums: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
    Some((name.clone(), nums?))
}

#[test]
fn venvs_of_other_python_versions_are_used() {
    let default = fs::canonicalize(python3()).unwrap();
    let mut others: Vec<(PathBuf, String, Vec<u32>)> = pyenv_pythons()
        .into_iter()
        .filter(|p| fs::canonicalize(p).is_ok_and(|c| c != default))
        .filter_map(|p| version_of(&p).map(|(name, nums)| (p, name, nums)))
        .filter(|(_, _, nums)| nums.len() == 3)
        .collect();
    // Newest first: the versions users are most likely to have.
    others.sort_by(|a, b| b.2.cmp(&a.2));
    others.truncate(2);
    if others.is_empty() {
        eprintln!("skipped: no pyenv Python besides the default one");
        return;
    }
    let sb = Sandbox::new();
    for (python, version, _) in &others {
        let proj = sb.dir(&format!("proj-{version}"));
        let venv = make_venv_with(python, &proj.join(".venv"), version);
        let out = ok(shim(&sb, "python", &proj).args([
            "-c",
            "import sys, venvprobe; print(venvprobe.TAG, sys.prefix, '%d.%d.%d' % sys.version_info[:3])",
        ]));
        assert_eq!(out, format!("{} {version}", probed(version, &venv)));
    }
}
