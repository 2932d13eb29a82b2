//! `venvexec doctor` on a healthy setup and on each thing it must catch,
//! and `venvexec env` evaluated by the real shells.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// A project with a healthy `.venv`, and the shims first on PATH.
fn setup() -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "proj", "proj");
    (sb, dir)
}

fn doctor(sb: &Sandbox, cwd: &Path, f: impl FnOnce(&mut Command)) -> Output {
    let mut c = sb.venvexec(cwd);
    c.arg("doctor").env("VENVEXEC_SHIMS_DIR", &sb.shims);
    f(&mut c);
    run(&mut c)
}

fn line(out: &Output, status: &str, name: &str) -> Option<String> {
    let prefix = format!("{status:<5} {name}:");
    stdout(out)
        .lines()
        .find(|l| l.starts_with(&prefix))
        .map(str::to_string)
}

#[test]
fn healthy_setup_passes_every_check() {
    let (sb, project) = setup();
    let out = doctor(&sb, &project, |_| {});
    assert_eq!(out.status.code(), Some(0));
    assert!(line(&out, "ok", "path").is_some());
    assert!(line(&out, "ok", "shims").unwrap().contains("4 shims"));
    let env = line(&out, "ok", "environment").unwrap();
    assert!(
        env.contains(&format!("{}/.venv", project.display())),
        "{env}"
    );
    assert!(!stdout(&out).contains("fail"), "{}", stdout(&out));
}

#[test]
fn shims_not_on_path_fails_with_the_export_line() {
    let (sb, project) = setup();
    let out = doctor(&sb, &project, |c| {
        c.env("PATH", SYSTEM_PATH);
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(line(&out, "fail", "path").unwrap().contains("not on PATH"));
    assert!(stdout(&out).contains(&format!("export PATH=\"{}:$PATH\"", sb.shims.display())));
}

#[test]
fn another_python_ahead_of_the_shims_fails() {
    let (sb, project) = setup();
    let other = sb.dir("other-bin");
    write_exe(&other.join("python"), "#!/bin/sh\nexit 0\n");
    let path = format!("{}:{}", other.display(), sb.path().to_string_lossy());
    let out = doctor(&sb, &project, |c| {
        c.env("PATH", &path);
    });
    assert_eq!(out.status.code(), Some(1));
    let l = line(&out, "fail", "path").unwrap();
    assert!(l.contains(&format!("{}/python", other.display())), "{l}");
}

#[test]
fn a_shim_pointing_at_a_missing_binary_fails() {
    let (sb, project) = setup();
    symlink("/nonexistent/venvexec", sb.shims.join("python3.12")).unwrap();
    let out = doctor(&sb, &project, |_| {});
    assert_eq!(out.status.code(), Some(1));
    let l = line(&out, "fail", "shim").unwrap();
    assert!(
        l.contains("python3.12") && l.contains("does not exist"),
        "{l}"
    );
}

#[test]
fn stale_virtual_env_is_a_warning() {
    let (sb, project) = setup();
    let gone = sb.root().join("gone-venv");
    let out = doctor(&sb, &project, |c| {
        c.env("VIRTUAL_ENV", &gone);
    });
    assert_eq!(out.status.code(), Some(0));
    let l = line(&out, "warn", "skipped").unwrap();
    assert!(l.contains("VIRTUAL_ENV") && l.contains("stale"), "{l}");
}

#[test]
fn virtual_env_other_than_the_projects_is_a_warning() {
    let (sb, project) = setup();
    let elsewhere = make_venv(&sb.root().join("elsewhere"), "elsewhere");
    let out = doctor(&sb, &project, |c| {
        c.env("VIRTUAL_ENV", &elsewhere);
    });
    let l = line(&out, "warn", "activated").unwrap();
    assert!(l.contains(&format!("{}/.venv", project.display())), "{l}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn dangling_interpreter_fails() {
    let (sb, project) = setup();
    let bin = project.join(".venv/bin");
    fs::remove_file(bin.join("python3")).unwrap();
    symlink("/nonexistent/python3.11", bin.join("python3")).unwrap();
    let out = doctor(&sb, &project, |_| {});
    assert_eq!(out.status.code(), Some(1));
    let l = line(&out, "fail", "interpreter").unwrap();
    assert!(l.contains("/nonexistent/python3.11"), "{l}");
    assert!(stdout(&out).contains("python3 -m venv --clear"));
}

#[test]
fn system_site_packages_and_leaking_variables_are_warnings() {
    let (sb, project) = setup();
    let cfg = project.join(".venv/pyvenv.cfg");
    let text = fs::read_to_string(&cfg).unwrap().replace(
        "include-system-site-packages = false",
        "include-system-site-packages = true",
    );
    fs::write(&cfg, text).unwrap();
    let out = doctor(&sb, &project, |c| {
        c.env("PYTHONHOME", "/opt/py").env("PYTHONPATH", "/opt/lib");
    });
    assert_eq!(out.status.code(), Some(0));
    assert!(line(&out, "warn", "isolation").is_some());
    let vars: Vec<_> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("warn  variables:"))
        .map(str::to_string)
        .collect();
    assert!(
        vars.iter().any(|l| l.contains("PYTHONHOME=/opt/py")),
        "{vars:?}"
    );
    assert!(
        vars.iter().any(|l| l.contains("PYTHONPATH=/opt/lib")),
        "{vars:?}"
    );
}

#[test]
fn a_conda_environment_without_pyvenv_cfg_is_checked() {
    let (sb, project) = setup();
    let conda = sb.dir("conda/envs/data");
    fs::create_dir_all(conda.join("conda-meta")).unwrap();
    fs::create_dir_all(conda.join("bin")).unwrap();
    symlink(python3(), conda.join("bin/python")).unwrap();
    let out = doctor(&sb, &project, |c| {
        c.env("CONDA_PREFIX", &conda)
            .env("CONDA_DEFAULT_ENV", "data");
    });
    assert_eq!(out.status.code(), Some(0));
    let l = line(&out, "ok", "environment").unwrap();
    assert!(
        l.contains(&conda.display().to_string()) && l.contains("CONDA_PREFIX"),
        "{l}"
    );
}

#[test]
fn json_output_is_valid_and_has_the_documented_keys() {
    let (sb, project) = setup();
    let out = doctor(&sb, &project, |c| {
        c.arg("--json").env("PATH", SYSTEM_PATH);
    });
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", stdout(&out)));
    assert_eq!(doc["ok"], serde_json::Value::Bool(false));
    let checks = doc["checks"].as_array().expect("checks is a list");
    for c in checks {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{c}");
        for k in ["name", "status", "message", "fix"] {
            assert!(keys.contains(&k), "{c}");
        }
    }
    assert!(checks.iter().any(|c| c["status"] == "fail"));
}

#[test]
fn env_lines_activate_an_awkward_path_in_every_shell() {
    let sb = Sandbox::new();
    let project = sb.dir("it's a $HOME \"proj\"");
    let venv = make_venv(&project.join(".venv"), "awkward");
    for (shell, flavour) in shells() {
        let script = if flavour == "fish" {
            format!(
                "{} env --shell fish | source; printf '%s\\n' $VIRTUAL_ENV; command -v python; set -q PYTHONHOME; and echo leaked; or echo clean",
                bin().display()
            )
        } else {
            format!(
                "eval \"$('{}' env --shell {flavour})\"; printf '%s\\n' \"$VIRTUAL_ENV\"; command -v python; echo \"${{PYTHONHOME-clean}}\"",
                bin().display()
            )
        };
        let mut c = sb.cmd(shell, &project);
        c.arg("-c").arg(&script).env("PYTHONHOME", "/leak");
        if flavour == "fish" {
            c.env("PYTHONHOME", "/leak");
        }
        let out = ok(&mut c);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{shell}: {out}");
        assert_eq!(lines[0], venv.display().to_string(), "{shell}");
        assert_eq!(
            lines[1],
            venv.join("bin/python").display().to_string(),
            "{shell}"
        );
        assert_eq!(lines[2], "clean", "{shell}: PYTHONHOME must be unset");
    }
}

#[test]
fn env_without_an_environment_is_an_error() {
    let sb = Sandbox::new();
    let empty = sb.dir("empty");
    let mut c = sb.venvexec(&empty);
    c.arg("env").env("VENVEXEC_CEILING_DIRS", sb.root());
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).starts_with("venvexec: no Python environment found"));
    assert!(out.stdout.is_empty(), "nothing to eval on failure");
}
