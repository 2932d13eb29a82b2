//! Safety on a shared machine: discovery must never run an environment
//! that someone else planted (as git refuses a repository another user
//! owns, CVE-2022-24765), the project walk stays where it belongs
//! (ceilings, filesystem boundaries, symlinks), and many shims at once each
//! decide on their own without leaving anything behind.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The system interpreter, in no venv: what a refused environment falls
/// through to.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const EXECUTABLE: &str = "import sys; print(sys.executable)";

/// The user who plants environments in these tests.
const OTHER: &str = "venvexec-test-other";
/// A third user, for the view of a non-root user.
const THIRD: &str = "venvexec-test-third";

/// `python3` by name through the shims in `cwd`, fenced to the sandbox.
fn python3(sb: &Sandbox, cwd: &Path) -> Command {
    let mut c = sb.cmd("python3", cwd);
    fence(&mut c, sb);
    c
}

/// `venvexec which python3 -v` in `cwd`: (exit code, stdout).
fn which_v(sb: &Sandbox, cwd: &Path) -> (Option<i32>, String) {
    let o = run(fence(&mut sb.venvexec(cwd), sb).args(["which", "python3", "-v"]));
    assert_no_panic(&o);
    (o.status.code(), stdout(&o))
}

/// `venvexec doctor` in `cwd`, checking the sandbox's shims: (code, stdout).
fn doctor(sb: &Sandbox, cwd: &Path) -> (Option<i32>, String) {
    let o = run(fence(&mut sb.venvexec(cwd), sb)
        .arg("doctor")
        .arg("--dir")
        .arg(&sb.shims));
    assert_no_panic(&o);
    (o.status.code(), stdout(&o))
}

/// Asserts that `which -v` and `doctor` both explain a refusal of `venv`
/// for `why`, and say how to trust it.
fn assert_refusal_explained(sb: &Sandbox, cwd: &Path, venv: &Path, why: &str) {
    let (code, text) = which_v(sb, cwd);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.lines().next(), Some(SYSTEM_PYTHON), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("not trusted"))
        .unwrap_or_else(|| panic!("which -v does not say why: {text}"));
    assert!(line.contains(&venv.display().to_string()), "{line}");
    assert!(line.contains(why), "{line}");
    assert!(
        line.contains(&format!("VENVEXEC_SAFE_DIRS={}", venv.display())),
        "{line}"
    );
    assert!(line.contains("`*`"), "{line}");

    let (code, text) = doctor(sb, cwd);
    assert_eq!(code, Some(1), "a refusal is a failure: {text}");
    let line = text
        .lines()
        .find(|l| l.contains("not trusted"))
        .unwrap_or_else(|| panic!("doctor does not say why: {text}"));
    assert!(line.starts_with("fail"), "{line}");
    assert!(line.contains(why), "{line}");
    assert!(line.contains("VENVEXEC_SAFE_DIRS="), "{line}");
}

/// The refusal of a path writable by others, with its current mode.
fn writable(path: &Path, more: &str) -> String {
    let mode = fs::metadata(path).unwrap().mode() & 0o7777;
    format!(
        "{} is writable by group or others (mode {mode:04o}{more})",
        path.display()
    )
}

// 1. Ownership and permissions of discovered environments.

#[test]
fn a_venv_owned_by_another_user_is_not_used_until_trusted() {
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "theirs");
    chown_r(&venv, them);

    let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON, "a planted venv ran");
    assert_refusal_explained(
        &sb,
        &proj,
        &venv,
        &format!("is owned by uid {}, not by you (uid 0)", them.0),
    );

    // Trusting it by the environment, by the project, in a list, or all.
    let list = format!("/nowhere::{}/", venv.display());
    for safe in [
        venv.display().to_string(),
        proj.display().to_string(),
        list,
        "*".to_string(),
    ] {
        let out = ok(python3(&sb, &proj)
            .env("VENVEXEC_SAFE_DIRS", &safe)
            .args(["-c", PROBE]));
        assert_eq!(out, probed("theirs", &venv), "VENVEXEC_SAFE_DIRS={safe}");
    }
    // A parent directory is not a blanket trust.
    let out = ok(python3(&sb, &proj)
        .env("VENVEXEC_SAFE_DIRS", sb.root())
        .args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON);
}

#[test]
fn a_venv_in_a_directory_owned_by_another_user_is_not_used() {
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "mine");
    // The venv is root's, but the directory it was found in is theirs:
    // they could swap `.venv` for anything at any time.
    std::os::unix::fs::chown(&proj, Some(them.0), Some(them.1)).unwrap();

    let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON);
    assert_refusal_explained(
        &sb,
        &proj,
        &venv,
        &format!("{} is owned by uid {}", proj.display(), them.0),
    );
    let out = ok(python3(&sb, &proj)
        .env("VENVEXEC_SAFE_DIRS", &proj)
        .args(["-c", PROBE]));
    assert_eq!(out, probed("mine", &venv));
}

#[test]
fn a_bin_dir_writable_by_others_is_not_used() {
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "open");
    chmod(&venv.join("bin"), "o+w");

    let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON, "a world-writable bin/ ran");
    assert_refusal_explained(&sb, &proj, &venv, &writable(&venv.join("bin"), ""));
    let out = ok(python3(&sb, &proj)
        .env("VENVEXEC_SAFE_DIRS", "*")
        .args(["-c", PROBE]));
    assert_eq!(out, probed("open", &venv));
}

#[test]
fn an_interpreter_writable_by_others_is_not_used() {
    let sb = Sandbox::new();
    let proj = sb.dir("proj");
    // --copies: the interpreter is a file of the venv's own, not a link
    // into the system, so its mode is the venv's to get wrong.
    let venv = make_venv_copies(&proj.join(".venv"), "copies");
    let python = venv.join("bin/python");
    assert!(fs::symlink_metadata(&python).unwrap().is_file());
    chmod(&python, "0777");

    let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON, "a world-writable interpreter ran");
    assert_refusal_explained(&sb, &proj, &venv, &writable(&python, ""));

    chmod(&python, "0755");
    let out = ok(python3(&sb, &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("copies", &venv));
}

#[test]
fn a_pyvenv_cfg_or_root_writable_by_others_is_not_used() {
    // pyvenv.cfg's `home` decides which standard library the interpreter
    // loads, and whoever can write the root can swap bin/ or pyvenv.cfg.
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "cfg");
    for path in [venv.join("pyvenv.cfg"), venv.clone()] {
        chmod(&path, "o+w");
        let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
        assert_eq!(out, SYSTEM_PYTHON, "{} is o+w", path.display());
        let (_, text) = which_v(&sb, &proj);
        assert!(text.contains(&writable(&path, "")), "{text}");
        chmod(&path, "o-w");
    }
    let out = ok(python3(&sb, &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("cfg", &venv));
}

#[test]
fn group_writable_is_trusted_only_for_your_own_primary_group() {
    // With user private groups (umask 002) every venv a user makes is
    // group-writable, by a group of one: those must keep working.
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "group");
    let bin = venv.join("bin");
    // SAFETY: getgid cannot fail.
    let my_gid = unsafe { libc::getgid() };
    std::os::unix::fs::chown(&bin, None, Some(my_gid)).unwrap();
    chmod(&bin, "g+w");
    let out = ok(python3(&sb, &proj).args(["-c", PROBE]));
    assert_eq!(out, probed("group", &venv));

    std::os::unix::fs::chown(&bin, None, Some(them.1)).unwrap();
    assert_eq!(fs::metadata(&bin).unwrap().gid(), them.1);
    let out = ok(python3(&sb, &proj).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON, "writable by someone else's group");
    let (_, text) = which_v(&sb, &proj);
    assert!(
        text.contains(&writable(
            &bin,
            &format!(", and group {} is not your primary group", them.1)
        )),
        "{text}"
    );
}

#[test]
fn an_untrusted_hit_ends_the_walk_instead_of_climbing_to_the_parent() {
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    let (top, _) = project(&sb, "x", "parent");
    let planted = fake_env(&top.join("sub/.venv"));
    chown_r(&planted, them);
    let deeper = sb.dir("x/sub/deeper");

    // Climbing on to x/.venv would let whoever planted x/sub/.venv pick
    // which environment runs, by planting or removing theirs.
    let out = ok(python3(&sb, &deeper).args(["-c", EXECUTABLE]));
    assert_eq!(out, SYSTEM_PYTHON, "the walk climbed past an untrusted hit");
    let (_, text) = which_v(&sb, &deeper);
    assert!(text.contains("environment: none"), "{text}");
    assert!(
        text.contains(&format!("{}: not trusted", planted.display())),
        "{text}"
    );
    assert!(!text.contains("reason: project"), "{text}");
}

#[test]
fn named_and_activated_environments_of_another_user_are_used() {
    let Some(them) = test_user(OTHER) else { return };
    let sb = Sandbox::new();
    let theirs = make_venv(&sb.root().join("shared/venv"), "theirs");
    chown_r(&theirs, them);
    let cwd = sb.dir("elsewhere");
    for var in ["VENVEXEC_VENV", "VIRTUAL_ENV"] {
        let out = ok(python3(&sb, &cwd).env(var, &theirs).args(["-c", PROBE]));
        assert_eq!(out, probed("theirs", &theirs), "{var}");
    }
}

// 2. The same rules seen by a user who is not root.

/// `setpriv` dropping to `who` for `args`, run in `cwd` with the sandbox
/// environment (the working directory is entered before the switch).
/// `None`, printed, when setpriv is missing or `who` cannot reach the
/// binary under test.
fn as_user(sb: &Sandbox, who: (u32, u32), cwd: &Path, args: &[&str]) -> Option<Command> {
    let mut c = sb.cmd("setpriv", cwd);
    c.arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .arg("--clear-groups")
        .arg("--");
    let mut probe = sb.cmd("setpriv", cwd);
    probe.args(c.get_args()).arg("test").arg("-x").arg(bin());
    match probe.status() {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!(
                "skipped: setpriv is unavailable, or uid {} cannot run the binary",
                who.0
            );
            return None;
        }
    }
    c.args(args);
    Some(c)
}

#[test]
fn as_another_user_roots_venvs_and_their_own_are_trusted_a_third_partys_are_not() {
    let (Some(me), Some(third)) = (test_user(OTHER), test_user(THIRD)) else {
        return;
    };
    let sb = Sandbox::new();
    // The sandbox must be reachable by the user; the venvs come from the
    // system Python, which every user can run.
    chmod(&sb.root(), "0755");
    let system = Path::new(SYSTEM_PYTHON);
    let rooted = make_venv_with(system, &sb.dir("rooted").join(".venv"), "root");
    let own = make_venv_with(system, &sb.dir("own").join(".venv"), "own");
    chown_r(own.parent().unwrap(), me);
    let third_venv = make_venv_with(system, &sb.dir("third").join(".venv"), "third");
    chown_r(&third_venv, third);

    let cases = [
        ("rooted", Some(("root", &rooted))),
        ("own", Some(("own", &own))),
        ("third", None),
    ];
    for (dir, expect) in cases {
        let cwd = sb.root().join(dir);
        let Some(mut c) = as_user(&sb, me, &cwd, &["python3", "-c", PROBE_OR_PREFIX]) else {
            return;
        };
        let out = ok(fence(&mut c, &sb));
        match expect {
            Some((tag, venv)) => assert_eq!(out, probed(tag, venv), "in {dir}"),
            None => assert_eq!(out, "system /usr", "in {dir}"),
        }
    }
    let cwd = sb.root().join("third");
    let Some(mut c) = as_user(
        &sb,
        me,
        &cwd,
        &[&bin().display().to_string(), "which", "python3", "-v"],
    ) else {
        return;
    };
    let text = ok(fence(&mut c, &sb));
    assert!(
        text.contains(&format!(
            "{} is owned by uid {}, not by you (uid {})",
            third_venv.display(),
            third.0,
            me.0
        )),
        "{text}"
    );
}

/// Like [`PROBE`], but a Python without the probe module prints
/// `system PREFIX` instead of failing.
const PROBE_OR_PREFIX: &str = "import sys\ntry:\n import venvprobe; print(venvprobe.TAG, sys.prefix)\nexcept ImportError:\n print('system', sys.prefix)";

// 3. Where the walk stops.

/// `python` in `cwd`: the fake env's interpreter path, or `fell-through`.
fn fake_python(sb: &Sandbox, cwd: &Path) -> Command {
    let mut c = sb.cmd("python", cwd);
    c.env("PATH", fake_path(sb));
    c
}

/// `sh -c SCRIPT` in `cwd` with [`fake_path`].
fn fake_sh(sb: &Sandbox, cwd: &Path, script: &str) -> Command {
    let mut c = sb.sh(script, cwd);
    c.env("PATH", fake_path(sb));
    c
}

fn interpreter(env: &Path) -> String {
    env.join("bin/python").display().to_string()
}

#[test]
fn ceiling_dirs_stop_the_walk_and_missing_entries_are_ignored() {
    let sb = fake_sandbox();
    let top = sb.dir("top");
    let env = fake_env(&top.join(".venv"));
    let below = sb.dir("top/a/b");
    let ceiling = |v: String| {
        let o = run(fake_python(&sb, &below).env("VENVEXEC_CEILING_DIRS", v));
        assert_no_panic(&o);
        stdout(&o).trim().to_string()
    };
    let a = top.join("a").display().to_string();
    // Below a ceiling: the walk does not go into it, or above.
    assert_eq!(ceiling(a.clone()), "fell-through");
    assert_eq!(ceiling(top.display().to_string()), "fell-through");
    // Entries that do not exist, relative ones and empty ones change nothing.
    assert_eq!(
        ceiling("/does/not/exist:relative/top::".into()),
        interpreter(&env)
    );
    // The working directory itself is always checked, ceiling or not.
    let o = run(fake_python(&sb, &top).env("VENVEXEC_CEILING_DIRS", &top));
    assert_eq!(stdout(&o).trim(), interpreter(&env));
    // Why, in which -v.
    let o = run(sb
        .venvexec(&below)
        .env("VENVEXEC_CEILING_DIRS", &a)
        .args(["which", "-v"]));
    assert!(
        stdout(&o).contains(&format!("{a}: is a VENVEXEC_CEILING_DIRS entry")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_walk_stops_where_the_filesystem_changes() {
    let sb = fake_sandbox();
    let outer = sb.dir("outer");
    let env = fake_env(&outer.join(".venv"));
    let mnt = sb.dir("outer/mnt");
    // A private mount namespace: the tmpfs vanishes with the process, so
    // nothing is left mounted whatever happens to the test.
    let unshare = |script: &str| {
        let mut c = sb.cmd("unshare", &sb.root());
        c.env("PATH", fake_path(&sb))
            .env("VENVEXEC_CEILING_DIRS", sb.root())
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(script)
            .arg("sh")
            .arg(&mnt)
            .arg(&env)
            .arg(bin());
        c
    };
    let can = unshare(r#"mount -t tmpfs venvexec-test "$1""#).output();
    if !can.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: cannot mount a tmpfs in a private mount namespace here");
        return;
    }
    let script = r#"mount -t tmpfs venvexec-test "$1" || exit 99
mkdir -p "$1/proj/sub" && cd "$1/proj/sub" || exit 98
[ "$(stat -c %d .)" != "$(stat -c %d "$1/..")" ] || exit 97
python || exit 96
VENVEXEC_ACROSS_FILESYSTEMS=1 python || exit 95
"$3" which -v || exit 94
mkdir -p "$1/.venv/bin" && cp "$2/pyvenv.cfg" "$1/.venv/" && cp "$2/bin/python" "$1/.venv/bin/" && python"#;
    let o = run(&mut unshare(script));
    assert_no_panic(&o);
    assert!(o.status.success(), "{:?}", o.status);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "fell-through", "the walk crossed the mount");
    assert_eq!(lines[1], interpreter(&env), "ACROSS_FILESYSTEMS=1");
    assert!(
        text.contains(&format!(
            "{}: is on another filesystem: the walk stopped (set VENVEXEC_ACROSS_FILESYSTEMS=1 to go on)",
            outer.display()
        )),
        "{text}"
    );
    // The mount's own root is on the tmpfs, so it is still looked at.
    let on_tmpfs = mnt.join(".venv/bin/python").display().to_string();
    assert_eq!(lines.last(), Some(&on_tmpfs.as_str()));
}

#[test]
fn a_working_directory_reached_through_a_symlink_uses_its_real_location() {
    let sb = fake_sandbox();
    let real = fake_env(&sb.root().join("real/proj/.venv"));
    sb.dir("real/proj/sub");
    let logical = fake_env(&sb.root().join("other/.venv"));
    symlink(
        sb.root().join("real/proj/sub"),
        sb.root().join("other/link"),
    )
    .unwrap();
    // `cd` through the link: the shell's PWD says other/link, the kernel's
    // working directory is real/proj/sub (pwd -P), and the walk is physical.
    let out = ok(&mut fake_sh(
        &sb,
        &sb.root().join("other"),
        "cd link && echo \"$PWD\" && python",
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], sb.root().join("other/link").display().to_string());
    assert_eq!(lines[1], interpreter(&real));
    assert_ne!(lines[1], interpreter(&logical));
}

#[test]
fn symlink_loops_in_the_tree_do_not_hang_the_walk() {
    let sb = fake_sandbox();
    let top = fake_env(&sb.root().join("top/.venv"));
    let proj = sb.dir("top/proj");
    // `.venv` pointing at itself, `venv` in a two-link cycle, and a
    // directory link back to its own parent to `cd` through.
    symlink(".venv", proj.join(".venv")).unwrap();
    symlink("venv2", proj.join("venv")).unwrap();
    symlink("venv", proj.join("venv2")).unwrap();
    symlink(".", proj.join("loop")).unwrap();
    let deep = "loop/".repeat(30);
    let o = run_with_timeout(
        fake_sh(&sb, &proj, &format!("cd {deep} && python"))
            .env("VENVEXEC_CEILING_DIRS", sb.root()),
        Duration::from_secs(10),
    );
    assert_no_panic(&o);
    assert_eq!(stdout(&o).trim(), interpreter(&top));
    let o = run_with_timeout(
        fence(&mut sb.venvexec(&proj), &sb).args(["which", "-v"]),
        Duration::from_secs(10),
    );
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "{}: cannot be read: Too many levels of symbolic links",
            proj.join(".venv").display()
        )),
        "{text}"
    );
}

// 4. Many shims at once.

#[test]
fn five_hundred_concurrent_shims_each_run_their_own_directorys_interpreter() {
    let sb = fake_sandbox();
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    for p in 0..4 {
        let env = fake_env(&sb.root().join(format!("p{p}/.venv")));
        dirs.push((sb.dir(&format!("p{p}")), interpreter(&env)));
        dirs.push((sb.dir(&format!("p{p}/src/pkg")), interpreter(&env)));
    }
    dirs.push((sb.dir("none/sub"), "fell-through".into()));
    let before = snapshot(&sb.root());

    let start = Instant::now();
    let children: Vec<_> = (0..500)
        .map(|i| {
            let (dir, want) = &dirs[i % dirs.len()];
            let child = fake_python(&sb, dir)
                .env("VENVEXEC_CEILING_DIRS", sb.root())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawning a shim");
            (child, dir, want)
        })
        .collect();
    for (child, dir, want) in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "in {}: {}", dir.display(), stderr(&o));
        assert_eq!(stdout(&o).trim(), want, "in {}", dir.display());
    }
    eprintln!("500 shims in {:?}", start.elapsed());
    assert_eq!(snapshot(&sb.root()), before, "a shim left something behind");
}

#[test]
fn the_shim_writes_nothing_on_its_way_to_the_interpreter() {
    let sb = fake_sandbox();
    let env = fake_env(&sb.root().join("proj/.venv"));
    let proj = sb.root().join("proj");
    let trace = sb.root().join("trace");
    let mut c = sb.cmd("strace", &proj);
    c.env("PATH", fake_path(&sb))
        .arg("-o")
        .arg(&trace)
        .args(["-qq", "-s", "256", "--"])
        .arg(sb.shims.join("python"));
    let o = run(&mut c);
    if !o.status.success() || !trace.exists() {
        eprintln!("skipped: strace cannot trace here");
        return;
    }
    assert_eq!(stdout(&o).trim(), interpreter(&env));
    let text = fs::read_to_string(&trace).unwrap();
    // From the shim's own start to the exec of the interpreter.
    let shim_part: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("execve("))
        .collect();
    let exec = text
        .lines()
        .skip(1)
        .find(|l| l.starts_with("execve("))
        .unwrap_or("");
    assert!(exec.contains(&interpreter(&env)), "{text}");
    assert!(!shim_part.is_empty());
    for line in shim_part {
        let call = line.split('(').next().unwrap_or("");
        assert!(
            !matches!(
                call,
                "write"
                    | "writev"
                    | "pwrite64"
                    | "creat"
                    | "mkdir"
                    | "mkdirat"
                    | "unlink"
                    | "unlinkat"
                    | "rename"
                    | "renameat"
                    | "renameat2"
                    | "rmdir"
                    | "truncate"
                    | "ftruncate"
                    | "chmod"
                    | "fchmod"
                    | "fchmodat"
                    | "chown"
                    | "fchown"
                    | "fchownat"
                    | "symlink"
                    | "symlinkat"
                    | "link"
                    | "linkat"
            ),
            "the shim changed something: {line}"
        );
        if call == "openat" || call == "open" {
            assert!(
                !(line.contains("O_WRONLY") || line.contains("O_RDWR") || line.contains("O_CREAT")),
                "the shim opened for writing: {line}"
            );
        }
    }
}
