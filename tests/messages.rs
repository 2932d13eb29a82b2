//! Messages a person can act on: each names what is really wrong, as a
//! sentence, with the contract's exit code.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::*;

#[test]
fn which_with_an_empty_or_path_name_is_a_usage_error() {
    let sb = Sandbox::new();
    let (dir, _) = project(&sb, "p", "m");
    for name in ["", "a/b", ".", ".."] {
        let o = run(sb.venvexec(&dir).args(["which", name]));
        assert_eq!(o.status.code(), Some(2), "{name:?}");
        assert!(
            stderr(&o).starts_with(&format!("venvexec: which: {name:?} is not a command name")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_link_loop_reads_as_a_sentence() {
    let sb = Sandbox::new();
    let (dir, venv) = project(&sb, "p", "m");
    fs::remove_file(venv.join("bin/python")).unwrap();
    symlink("python", venv.join("bin/python")).unwrap();
    let o = run(fence(&mut sb.cmd("python", &dir), &sb).args(["-c", "1"]));
    assert_eq!(o.status.code(), Some(126));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}/bin/python is a loop of symbolic links",
            venv.display()
        )),
        "{err}"
    );
    assert!(!err.contains("Too many levels"), "{err}");
}

#[test]
fn a_pyvenv_cfg_that_is_a_fifo_or_a_directory_is_named_as_such() {
    let sb = Sandbox::new();
    for (kind, says) in [("fifo", "a FIFO (named pipe)"), ("dir", "a directory")] {
        let dir = sb.dir(&format!("p-{kind}"));
        let env = fake_env(&dir.join(".venv"));
        fs::remove_file(env.join("pyvenv.cfg")).unwrap();
        if kind == "fifo" {
            let status = std::process::Command::new("mkfifo")
                .arg(env.join("pyvenv.cfg"))
                .status()
                .unwrap();
            assert!(status.success());
        } else {
            fs::create_dir(env.join("pyvenv.cfg")).unwrap();
        }
        let want = format!("its pyvenv.cfg is {says}, not a file");
        let o = run(fence(&mut sb.venvexec(&dir), &sb).args(["which", "-v"]));
        assert!(stdout(&o).contains(&want), "{}", stdout(&o));
        // Named explicitly, it is an error, not a silent fall-through.
        let o = run(sb.venvexec(&dir).arg("--venv").arg(&env).arg("which"));
        assert_eq!(o.status.code(), Some(126));
        assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    }
}

#[test]
fn a_bad_shebang_names_the_missing_interpreter() {
    let sb = Sandbox::with_shims(&["pip"]);
    let (dir, venv) = project(&sb, "p", "m");
    write_exe(
        &venv.join("bin/pip"),
        "#!/nonexistent/python3.99 -E\nimport pip\n",
    );
    let o = run(fence(&mut sb.cmd("pip", &dir), &sb).arg("--version"));
    assert_eq!(o.status.code(), Some(127));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "venvexec: cannot run {}/bin/pip: the interpreter its #! line names, /nonexistent/python3.99, does not exist",
            venv.display()
        )),
        "{err}"
    );
}
