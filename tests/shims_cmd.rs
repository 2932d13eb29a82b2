//! `venvexec shims`: what counts as our own link (never a user's file),
//! the versioned `python3.N` shims, and what `python3.N` runs when the
//! environment is another version.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn shims(sb: &Sandbox, args: &[&str], dir: &Path) -> Command {
    let mut c = sb.venvexec(&sb.root());
    c.arg("shims").arg(args[0]).arg("--dir").arg(dir);
    c.args(&args[1..]);
    c
}

/// A user's link whose target happens to be named `venvexec-…`.
fn users_notes(sb: &Sandbox, dir: &Path) -> (PathBuf, PathBuf) {
    let notes = sb.home.join("venvexec-notes.txt");
    fs::write(&notes, "my notes\n").unwrap();
    fs::create_dir_all(dir).unwrap();
    let link = dir.join("notes");
    symlink(&notes, &link).unwrap();
    (link, notes)
}

#[test]
fn install_never_replaces_a_users_link_to_a_file_named_venvexec_something() {
    let sb = Sandbox::new();
    let dir = sb.root().join("myshims");
    let (link, notes) = users_notes(&sb, &dir);
    let out = run(&mut shims(&sb, &["install", "notes"], &dir));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("left alone"), "{}", stderr(&out));
    assert_eq!(
        fs::read_link(&link).unwrap(),
        notes,
        "the link is the user's"
    );
    assert_eq!(fs::read_to_string(&notes).unwrap(), "my notes\n");
}

#[test]
fn remove_never_deletes_a_users_link_to_a_file_named_venvexec_something() {
    let sb = Sandbox::new();
    let dir = sb.root().join("myshims");
    let (link, notes) = users_notes(&sb, &dir);
    ok(&mut shims(&sb, &["install", "python"], &dir));
    assert_eq!(fs::read_link(dir.join("python")).unwrap(), bin());

    let out = run(&mut shims(&sb, &["remove", "notes"], &dir));
    assert_eq!(out.status.code(), Some(1), "not ours: refused by name");
    assert_eq!(fs::read_link(&link).unwrap(), notes);

    let out = ok(&mut shims(&sb, &["remove"], &dir));
    assert!(out.contains("python: removed"), "{out}");
    assert!(!out.contains("notes"), "{out}");
    assert!(fs::symlink_metadata(dir.join("python")).is_err());
    assert_eq!(
        fs::read_link(&link).unwrap(),
        notes,
        "the user's link stays"
    );
    assert_eq!(fs::read_to_string(&notes).unwrap(), "my notes\n");
}

#[test]
fn a_link_to_another_venvexec_binary_is_shown_but_left_alone() {
    let sb = Sandbox::new();
    let dir = sb.root().join("myshims");
    let other = sb.dir("other/bin").join("venvexec");
    fs::copy(bin(), &other).unwrap();
    fs::create_dir_all(&dir).unwrap();
    symlink(&other, dir.join("python")).unwrap();

    let listed = ok(&mut shims(&sb, &["list"], &dir));
    assert!(listed.contains("points at another venvexec"), "{listed}");
    let out = run(&mut shims(&sb, &["install", "python"], &dir));
    assert_eq!(out.status.code(), Some(1));
    ok(&mut shims(&sb, &["remove"], &dir));
    assert_eq!(fs::read_link(dir.join("python")).unwrap(), other);
}

#[test]
fn a_link_the_install_manifest_recorded_is_replaced_even_when_it_dangles() {
    let sb = Sandbox::new();
    let dir = sb.root().join("myshims");
    fs::create_dir_all(&dir).unwrap();
    symlink("/nonexistent/old/venvexec", dir.join("python")).unwrap();
    let data = sb.home.join(".local/share/venvexec");
    fs::create_dir_all(&data).unwrap();
    fs::write(
        data.join("install-manifest"),
        format!(
            "binary\t/nonexistent/old/venvexec\nshims\t{}\nshim\tpython\n",
            dir.display()
        ),
    )
    .unwrap();
    ok(&mut shims(&sb, &["install", "python"], &dir));
    assert_eq!(fs::read_link(dir.join("python")).unwrap(), bin());
}

#[test]
fn install_adds_a_python3_n_shim_for_each_version_on_path_and_in_pyenv() {
    let sb = Sandbox::new();
    let extra = sb.dir("extra-bin");
    for n in ["python3.9", "python3.13", "python3.11-config", "python3.x"] {
        write_exe(&extra.join(n), "#!/bin/sh\n");
    }
    fs::write(extra.join("python3.14"), "not executable\n").unwrap();
    let pyenv = sb.root().join("pyenv");
    write_exe(&pyenv.join("versions/3.8.18/bin/python3.8"), "#!/bin/sh\n");
    let dir = sb.root().join("myshims");
    let path = format!("{}:{}", extra.display(), sb.path().to_string_lossy());
    let out = ok(shims(&sb, &["install"], &dir)
        .env("PATH", &path)
        .env("PYENV_ROOT", &pyenv));
    for n in [
        "python",
        "python3",
        "pip",
        "pip3",
        "python3.8",
        "python3.9",
        "python3.13",
    ] {
        assert_eq!(fs::read_link(dir.join(n)).unwrap(), bin(), "{n}: {out}");
    }
    for n in ["python3.11-config", "python3.x", "python3.14"] {
        assert!(fs::symlink_metadata(dir.join(n)).is_err(), "{n}: {out}");
    }
    // Our own shims on PATH are not a version the machine has.
    let again = ok(shims(&sb, &["install"], &sb.root().join("second"))
        .env("PATH", format!("{}:/bin", dir.display())));
    assert!(!again.contains("python3.9"), "{again}");
}

#[test]
fn list_of_a_missing_directory_says_it_does_not_exist() {
    let sb = Sandbox::new();
    let out = run(&mut shims(&sb, &["list"], Path::new("/nonexistent/shims")));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("venvexec: the shims directory /nonexistent/shims does not exist"),
        "{err}"
    );
}

/// A 3.12 environment (as its `pyvenv.cfg` says) that has only
/// `bin/python`, and a `python3.11` later on PATH that says who it is.
fn other_version_setup() -> (Sandbox, PathBuf, String) {
    let sb = Sandbox::with_shims(&["python3.11", "python3.12"]);
    let env = fake_env(&sb.root().join("env312"));
    fs::write(
        env.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.12.1\n",
    )
    .unwrap();
    let other = sb.dir("other");
    write_exe(
        &other.join("python3.11"),
        "#!/bin/sh\necho system-3.11 \"$@\"\n",
    );
    let path = format!("{}:{}:{SYSTEM_PATH}", sb.shims.display(), other.display());
    (sb, env, path)
}

#[test]
fn python3_n_in_an_environment_of_another_version_runs_the_next_one_with_a_warning() {
    let (sb, env, path) = other_version_setup();
    let out = run(sb
        .cmd("python3.11", &sb.root())
        .arg("-V")
        .env("PATH", &path)
        .env("VENVEXEC_VENV", &env));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "system-3.11 -V\n");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("venvexec: warning: python3.11: the environment")
            && err.contains("is Python 3.12.1"),
        "{err}"
    );

    let quiet = run(sb
        .cmd("python3.11", &sb.root())
        .env("PATH", &path)
        .env("VENVEXEC_VENV", &env)
        .env("VENVEXEC_QUIET", "1"));
    assert_eq!(stdout(&quiet), "system-3.11\n");
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));

    let which = ok(sb
        .venvexec(&sb.root())
        .args(["which", "-v", "python3.11"])
        .env("PATH", &path)
        .env("VENVEXEC_VENV", &env));
    assert!(
        which.starts_with(&format!("{}/python3.11", sb.root().join("other").display())),
        "{which}"
    );
    assert!(which.contains("Python 3.12.1"), "{which}");
}

#[test]
fn python3_n_of_the_environments_own_version_never_leaves_it() {
    let (sb, env, path) = other_version_setup();
    // 3.12 asked of a 3.12 environment that lacks bin/python3.12: an
    // error naming the environment, never the system's.
    let out = run(sb
        .cmd("python3.12", &sb.root())
        .env("PATH", &path)
        .env("VENVEXEC_VENV", &env));
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("not found in the environment"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn python3_n_runs_from_a_real_environment_that_has_it() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "proj", "proj");
    let version =
        ok(Command::new(python3())
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]));
    let name = format!("python{version}");
    symlink(bin(), sb.shims.join(&name)).unwrap();
    let out = ok(&mut sb.sh(&format!("{name} -c '{PROBE}'"), &dir));
    assert_eq!(out, probed("proj", &venv));
}
