//! Helping a person: typo'd subcommands, `help --help`, hints that fit
//! the flag, and a doctor that checks the shims `python` really goes
//! through.

mod common;

use std::path::Path;

use common::*;

#[test]
fn a_typod_subcommand_with_no_environment_suggests_the_subcommand() {
    let sb = Sandbox::new();
    let empty = sb.dir("empty");
    let out = run(fence(sb.venvexec(&empty).arg("doctr"), &sb));
    assert_eq!(out.status.code(), Some(127));
    let err = stderr(&out);
    assert!(
        err.starts_with("venvexec: no Python environment found here"),
        "{err}"
    );
    assert!(err.contains("did you mean 'venvexec doctor'?"), "{err}");
}

#[test]
fn a_typod_subcommand_in_an_environment_suggests_the_subcommand() {
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "proj", "proj");
    let out = run(sb.venvexec(&dir).args(["whihc", "-v"]));
    assert_eq!(out.status.code(), Some(127));
    let err = stderr(&out);
    assert!(
        err.starts_with("venvexec: whihc: command not found"),
        "{err}"
    );
    assert!(err.contains("did you mean 'venvexec which'?"), "{err}");
}

#[test]
fn a_program_named_like_a_typo_still_runs() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "proj", "proj");
    write_exe(&venv.join("bin/doctr"), "#!/bin/sh\necho ran doctr\n");
    assert_eq!(ok(sb.venvexec(&dir).arg("doctr")), "ran doctr");
}

#[test]
fn help_help_works() {
    let sb = Sandbox::new();
    let out = ok(sb.venvexec(&sb.root()).args(["help", "--help"]));
    assert!(out.contains("Usage: venvexec help"), "{out}");
    let out = ok(sb.venvexec(&sb.root()).args(["help", "shims", "install"]));
    assert!(out.contains("Usage: venvexec shims install"), "{out}");
    let out = ok(sb.venvexec(&sb.root()).arg("help"));
    assert!(
        out.contains("Usage: venvexec") && out.contains("setup"),
        "{out}"
    );
    let bad = run(sb.venvexec(&sb.root()).args(["help", "nope"]));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).starts_with("venvexec: no subcommand 'nope'"));
}

#[test]
fn a_bad_venv_flag_says_drop_the_flag_and_the_variable_says_unset_it() {
    let sb = Sandbox::new();
    let out = run(sb
        .venvexec(&sb.root())
        .args(["--venv", "/nonexistent", "python"]));
    assert_eq!(out.status.code(), Some(126));
    let err = stderr(&out);
    assert!(
        err.contains("or drop the flag") && !err.contains("unset it"),
        "{err}"
    );

    let out = run(sb
        .venvexec(&sb.root())
        .arg("python")
        .env("VENVEXEC_VENV", "/nonexistent"));
    assert!(stderr(&out).contains("or unset it"), "{}", stderr(&out));
}

#[test]
fn doctor_checks_the_shims_dir_that_python_goes_through() {
    // Shims made with `shims install --dir`, first on PATH; the default
    // directory under HOME does not exist. A healthy setup.
    let sb = Sandbox::with_shims(&[]);
    let (dir, _) = project(&sb, "proj", "proj");
    let mine = sb.root().join("usr-local-shims");
    ok(sb
        .venvexec(&dir)
        .args(["shims", "install", "--dir"])
        .arg(&mine));
    let path = format!("{}:{SYSTEM_PATH}", mine.display());
    let out = run(sb.venvexec(&dir).arg("doctor").env("PATH", &path));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "ok    path: the shims in {} come first on PATH",
            mine.display()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("shims in {}", mine.display())),
        "{said}"
    );
    assert!(!Path::new(&sb.home.join(".local/share/venvexec")).exists());
}
