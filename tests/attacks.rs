//! A second local user against root: root types `python3` (or `pip`) in a
//! directory that user can reach, and must never run code that user
//! planted. One test per way around the trust rules that was found (see
//! README, Security), each with a real second user who owns the planted
//! files and runs the racing processes. The tests need root, to create that
//! user and hand files to them; elsewhere they skip with the reason.
//!
//! The fake interpreters print who they are: `attacker` is the attacker's
//! code running, `fell-through` the call going on to the next `python` on
//! PATH, and a path the root environment's interpreter.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// The attacker. Unique to this file, so its tests cannot meet files that
/// other suites gave to their own test users.
const ATTACKER: &str = "venvexec-test-attacker";
const EVIL: &str = "#!/bin/sh\necho attacker\n";

/// The attacker's uid and gid, or `None` (printed) when the tests cannot
/// create them or cannot run a process as them.
fn attacker() -> Option<(u32, u32)> {
    let who = test_user(ATTACKER)?;
    let ran = Command::new("setpriv")
        .arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .args(["--clear-groups", "--", "/usr/bin/python3", "-c", "pass"])
        .status();
    if !ran.is_ok_and(|s| s.success()) {
        eprintln!(
            "skipped: setpriv or /usr/bin/python3 cannot run as uid {}",
            who.0
        );
        return None;
    }
    Some(who)
}

/// A sandbox whose root every user can enter, as /tmp is, with shims for
/// `python`, `python3` and `pip`, each falling through to a script that
/// prints `fell-through`.
fn shared_sandbox() -> Sandbox {
    let sb = fake_sandbox();
    chmod(&sb.root(), "0755");
    symlink(bin(), sb.shims.join("pip")).unwrap();
    for name in ["python3", "pip"] {
        write_exe(
            &sb.root().join("fallback").join(name),
            "#!/bin/sh\necho fell-through\n",
        );
    }
    sb
}

/// A sticky directory everyone can write, like /tmp.
fn sticky_dir(sb: &Sandbox, rel: &str) -> PathBuf {
    let d = sb.dir(rel);
    chmod(&d, "1777");
    d
}

/// `name` through the shims in `cwd`, fenced to the sandbox.
fn shim(sb: &Sandbox, name: &str, cwd: &Path) -> Command {
    let mut c = sb.cmd(name, cwd);
    fence(&mut c, sb).env("PATH", fake_path(sb));
    c
}

fn out(c: &mut Command) -> String {
    let o = run_with_timeout(c, Duration::from_secs(20));
    assert_no_panic(&o);
    stdout(&o).trim().to_string()
}

/// `venvexec which NAME -v` in `cwd`.
fn which_v(sb: &Sandbox, name: &str, cwd: &Path) -> String {
    let mut c = sb.venvexec(cwd);
    fence(&mut c, sb)
        .env("PATH", fake_path(sb))
        .args(["which", name, "-v"]);
    out(&mut c)
}

/// Asserts that `which -v` refuses and names `why`.
fn assert_refused(sb: &Sandbox, name: &str, cwd: &Path, why: &str) {
    let text = which_v(sb, name, cwd);
    assert!(
        text.lines().next() != Some("attacker") && text.contains("not trusted"),
        "{text}"
    );
    assert!(text.contains(why), "which -v does not say {why:?}: {text}");
}

/// A script of the attacker's, run as the attacker (python3 -c CODE ARGS).
fn as_attacker(who: (u32, u32), code: &str, args: &[&Path]) -> Child {
    Command::new("setpriv")
        .arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .args(["--clear-groups", "--", "/usr/bin/python3", "-c", code])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the attacker's process")
}

/// Runs `c` `n` times while `racer` runs; returns how often the attacker's
/// code ran, and fails if a call hangs.
fn race(mut racer: Child, n: usize, mut c: impl FnMut() -> Command) -> usize {
    // Give the racer a moment to start flipping.
    std::thread::sleep(Duration::from_millis(100));
    let mut hits = 0;
    for i in 0..n {
        let o: Output = run_quiet(&mut c(), Duration::from_secs(10)).unwrap_or_else(|| {
            let _ = racer.kill();
            panic!("call {i} of {n} hung")
        });
        if String::from_utf8_lossy(&o.stdout).contains("attacker") {
            hits += 1;
        }
    }
    let _ = racer.kill();
    let _ = racer.wait();
    hits
}

/// Like `run_with_timeout`, without printing every call: `None` on a hang.
fn run_quiet(c: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning");
    let start = std::time::Instant::now();
    while child.try_wait().ok()?.is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.wait_with_output().ok()
}

// 1. Every program the shim may exec is checked, not only bin/python.

#[test]
fn a_python3_or_pip_someone_else_can_change_is_not_run() {
    let Some(them) = attacker() else { return };
    let sb = shared_sandbox();
    let evil = sb.dir("att").join("evil");
    write_exe(&evil, EVIL);
    chown_r(&sb.root().join("att"), them);

    // bin/python is fine; bin/python3 is world-writable.
    let open = fake_env(&sb.dir("open").join(".venv"));
    write_exe(&open.join("bin/python3"), "#!/bin/sh\necho \"$0\"\n");
    chmod(&open.join("bin/python3"), "0777");
    // bin/python3 is a link to a file the attacker owns.
    let linked = fake_env(&sb.dir("linked").join(".venv"));
    symlink(&evil, linked.join("bin/python3")).unwrap();
    // bin/pip is root's script, whose #! names the attacker's interpreter.
    let script = fake_env(&sb.dir("script").join(".venv"));
    write_exe(&script.join("bin/pip"), &format!("#!{}\n", evil.display()));

    for (dir, name, why) in [
        (
            "open",
            "python3",
            format!(
                "{} is writable by group or others (mode 0777)",
                open.join("bin/python3").display()
            ),
        ),
        (
            "linked",
            "python3",
            format!(
                "{} is owned by uid {}",
                sb.root().join("att").display(),
                them.0
            ),
        ),
        (
            "script",
            "pip",
            format!(
                "{} is owned by uid {}",
                sb.root().join("att").display(),
                them.0
            ),
        ),
    ] {
        let cwd = sb.root().join(dir);
        assert_eq!(out(&mut shim(&sb, name, &cwd)), "fell-through", "{dir}");
        assert_refused(&sb, name, &cwd, &why);
    }
    // The interpreter the python shim runs in "open" is still fine.
    assert_eq!(
        out(&mut shim(&sb, "python", &sb.root().join("open"))),
        open.join("bin/python").display().to_string()
    );
}

// 2. Pointers someone else owns choose nothing.

#[test]
fn a_venv_link_the_attacker_owns_is_not_followed_even_while_they_flip_it() {
    let Some(them) = attacker() else { return };
    let sb = shared_sandbox();
    let rooted = fake_env(&sb.root().join("rooted/.venv"));
    let theirs = sb.root().join("att/.venv");
    fake_env(&theirs);
    write_exe(&theirs.join("bin/python"), EVIL);
    chown_r(&sb.root().join("att"), them);
    // A shared sticky directory: the attacker may add entries of their own.
    let tmp = sticky_dir(&sb, "tmp");
    let cwd = sb.dir("tmp/work");

    // Pointing at root's venv, the link passes the old check; re-pointed
    // between that check and the exec, it runs theirs.
    let flip = "import os, sys\n\
                os.chdir(sys.argv[1])\n\
                while True:\n\
                \x20   for t in sys.argv[2:]:\n\
                \x20       try: os.unlink('tmp-link')\n\
                \x20       except FileNotFoundError: pass\n\
                \x20       os.symlink(t, 'tmp-link'); os.rename('tmp-link', '.venv')";
    let racer = as_attacker(them, flip, &[&tmp, &rooted, &theirs]);
    let hits = race(racer, 300, || shim(&sb, "python", &cwd));
    assert_eq!(
        hits, 0,
        "the attacker's interpreter ran {hits} times in 300"
    );

    // Still: their link, pointing at root's venv, is refused, and says why.
    let link = tmp.join(".venv");
    let _ = fs::remove_file(&link);
    symlink(&rooted, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(them.0), Some(them.1)).unwrap();
    assert_eq!(out(&mut shim(&sb, "python", &cwd)), "fell-through");
    assert_refused(
        &sb,
        "python",
        &cwd,
        &format!("{} is owned by uid {}", link.display(), them.0),
    );
}

#[test]
fn pointer_files_another_user_wrote_in_a_sticky_directory_choose_nothing() {
    let Some(them) = attacker() else { return };
    let sb = shared_sandbox();
    let tmp = sticky_dir(&sb, "tmp");
    let cwd = sb.dir("tmp/work");
    // Root's environments that the pointers name.
    let pdm_env = fake_env(&sb.root().join("envs/pdm"));
    let pyenv_root = sb.dir("pyenv");
    fake_env(&pyenv_root.join("versions/rootenv"));
    let workon = sb.dir("workon");
    fake_env(&workon.join("rootenv"));

    let plant = |name: &str, content: &str| {
        let p = tmp.join(name);
        fs::write(&p, content).unwrap();
        std::os::unix::fs::chown(&p, Some(them.0), Some(them.1)).unwrap();
        p
    };
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a Path)>);
    let cases: [Case; 3] = [
        (
            ".pdm-python",
            format!("{}\n", pdm_env.join("bin/python").display()),
            vec![],
        ),
        (
            ".python-version",
            "rootenv\n".into(),
            vec![("PYENV_ROOT", pyenv_root.as_path())],
        ),
        (
            ".venv",
            "rootenv\n".into(),
            vec![("WORKON_HOME", workon.as_path())],
        ),
    ];
    for (name, content, vars) in cases {
        let planted = plant(name, &content);
        let pipfile = (name == ".venv").then(|| plant("Pipfile", ""));
        let mut c = shim(&sb, "python", &cwd);
        let mut w = sb.venvexec(&cwd);
        fence(&mut w, &sb).args(["which", "python", "-v"]);
        for (k, v) in &vars {
            c.env(k, v);
            w.env(k, v);
        }
        assert_eq!(out(&mut c), "fell-through", "{name} chose an environment");
        let text = out(&mut w);
        assert!(
            text.contains(&format!(
                "{}: not trusted: {} is owned by uid {}",
                planted.display(),
                planted.display(),
                them.0
            )),
            "{name}: {text}"
        );
        fs::remove_file(&planted).unwrap();
        if let Some(p) = pipfile {
            fs::remove_file(p).unwrap();
        }
    }
}

// 3. The check and the exec cannot be raced.

#[test]
fn renaming_their_venv_over_roots_in_a_directory_their_group_can_write_never_runs_theirs() {
    let Some(them) = attacker() else { return };
    let sb = shared_sandbox();
    let proj = sb.dir("proj");
    let rooted = fake_env(&proj.join(".venv"));
    let theirs = proj.join("evil");
    fake_env(&theirs);
    write_exe(&theirs.join("bin/python"), EVIL);
    chown_r(&theirs, them);
    // Root's project, writable by the attacker's group.
    std::os::unix::fs::chown(&proj, Some(0), Some(them.1)).unwrap();
    chmod(&proj, "0775");

    // renameat2(RENAME_EXCHANGE): `.venv` is always there, root's or theirs.
    let swap = "import ctypes, os, sys\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                os.chdir(sys.argv[1])\n\
                while True: libc.renameat2(-100, b'.venv', -100, b'evil', 2)";
    let racer = as_attacker(them, swap, &[&proj]);
    let hits = race(racer, 2000, || shim(&sb, "python", &proj));
    assert_eq!(
        hits, 0,
        "the attacker's interpreter ran {hits} times in 2000"
    );

    // Whichever is in place now, the directory itself is the reason.
    let text = which_v(&sb, "python", &proj);
    assert!(
        text.contains(&format!(
            "{} is writable by group or others (mode 0775, and group {} is not your primary group)",
            proj.display(),
            them.1
        )),
        "{text}"
    );
    // Once only root can write it, root's venv is used again.
    if fs::read_to_string(rooted.join("bin/python")).unwrap() == EVIL {
        fs::rename(proj.join(".venv"), proj.join("theirs")).unwrap();
        fs::rename(proj.join("evil"), proj.join(".venv")).unwrap();
    }
    chmod(&proj, "0755");
    assert_eq!(
        out(&mut shim(&sb, "python", &proj)),
        rooted.join("bin/python").display().to_string()
    );
}

// 4. Nothing the walk reads can block it.

#[test]
fn a_marker_swapped_for_a_fifo_never_blocks_the_shim_or_doctor() {
    let Some(them) = attacker() else { return };
    let sb = shared_sandbox();
    let tmp = sticky_dir(&sb, "tmp");
    let cwd = sb.dir("tmp/work");
    // The attacker's regular `.pdm-python` and a FIFO, exchanged in a loop:
    // a look at the name sees a file, the open that follows gets the FIFO.
    let flip = "import ctypes, os, sys\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                os.chdir(sys.argv[1])\n\
                for n in sys.argv[2:]:\n\
                \x20   open(n, 'w').write('/nowhere/bin/python\\n')\n\
                os.mkfifo('fifo')\n\
                while True:\n\
                \x20   for n in sys.argv[2:]: libc.renameat2(-100, n.encode(), -100, b'fifo', 2)";
    let pdm = Path::new(".pdm-python");
    let racer = as_attacker(them, flip, &[&tmp, pdm]);
    let hits = race(racer, 300, || shim(&sb, "python", &cwd));
    assert_eq!(hits, 0);

    // doctor reads the pyvenv.cfg of an environment named to it, which the
    // attacker may own (the user's choice): a FIFO there never blocks it.
    let theirs = fake_env(&tmp.join("theirs"));
    chown_r(&theirs, them);
    let cfg = Path::new("pyvenv.cfg");
    let racer = as_attacker(them, flip, &[&theirs, cfg]);
    race(racer, 100, || {
        let mut c = sb.venvexec(&cwd);
        fence(&mut c, &sb)
            .env("VENVEXEC_VENV", &theirs)
            .args(["doctor", "--dir"])
            .arg(&sb.shims);
        c
    });
}

// 5. What CPython itself loads at start-up.

#[test]
fn a_copied_interpreter_whose_home_the_attacker_owns_is_not_run() {
    let Some(them) = attacker() else { return };
    let sb = Sandbox::new();
    chmod(&sb.root(), "0755");
    let proj = sb.dir("proj");
    let venv = make_venv_copies(&proj.join(".venv"), "copies");
    // The attacker's "installation": the real standard library, entry by
    // entry, plus a sitecustomize.py of their own, which CPython imports
    // at start-up from the `home` pyvenv.cfg names.
    let base = Path::new(&venv_home(&venv)).parent().unwrap().to_path_buf();
    let ver = python_version();
    let att = sb.dir("att/py");
    let lib = att.join(format!("lib/python{ver}"));
    fs::create_dir_all(&lib).unwrap();
    for e in fs::read_dir(base.join(format!("lib/python{ver}"))).unwrap() {
        let e = e.unwrap();
        symlink(e.path(), lib.join(e.file_name())).unwrap();
    }
    fs::write(lib.join("sitecustomize.py"), "print('attacker')\n").unwrap();
    fs::create_dir_all(att.join("bin")).unwrap();
    chown_r(&sb.root().join("att"), them);
    let cfg = fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    let cfg: String = cfg
        .lines()
        .map(|l| {
            if l.starts_with("home") {
                format!("home = {}\n", att.join("bin").display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(venv.join("pyvenv.cfg"), cfg).unwrap();

    let mut c = sb.cmd("python3", &proj);
    fence(&mut c, &sb).args(["-c", "import sys; print(sys.prefix)"]);
    let got = out(&mut c);
    assert!(!got.contains("attacker"), "their sitecustomize ran: {got}");
    let mut w = sb.venvexec(&proj);
    fence(&mut w, &sb).args(["which", "python3", "-v"]);
    let text = out(&mut w);
    assert!(
        text.contains(&format!(
            "{} is owned by uid {}",
            sb.root().join("att").display(),
            them.0
        )),
        "{text}"
    );
}

#[test]
fn a_site_packages_others_can_write_is_not_run() {
    let Some(them) = attacker() else { return };
    let sb = Sandbox::new();
    let (proj, venv) = project(&sb, "proj", "root");
    let site = site_packages(&venv);
    chmod(&site, "0777");
    let pth = site.join("evil.pth");
    fs::write(&pth, "import sys; print('attacker')\n").unwrap();
    std::os::unix::fs::chown(&pth, Some(them.0), Some(them.1)).unwrap();

    let mut c = sb.cmd("python3", &proj);
    fence(&mut c, &sb).args(["-c", "import sys; print(sys.prefix)"]);
    let got = out(&mut c);
    assert!(!got.contains("attacker"), "their .pth file ran: {got}");
    let mut w = sb.venvexec(&proj);
    fence(&mut w, &sb).args(["which", "python3", "-v"]);
    let text = out(&mut w);
    assert!(
        text.contains(&format!(
            "{} is writable by group or others (mode 0777)",
            site.display()
        )),
        "{text}"
    );
    // Closed again, root's venv runs (and its site-packages, .pth and all:
    // nobody else can write it now).
    chmod(&site, "0755");
    fs::remove_file(&pth).unwrap();
    let mut c = sb.cmd("python3", &proj);
    fence(&mut c, &sb).args(["-c", PROBE]);
    assert_eq!(out(&mut c), probed("root", &venv));
}

/// The `home` of a venv's pyvenv.cfg.
fn venv_home(venv: &Path) -> String {
    let cfg = fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    cfg.lines()
        .find_map(|l| l.strip_prefix("home"))
        .and_then(|v| v.split_once('='))
        .map(|(_, v)| v.trim().to_string())
        .expect("pyvenv.cfg has a home")
}

/// `X.Y` of the tests' Python.
fn python_version() -> String {
    let o = Command::new(common::python3())
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}
