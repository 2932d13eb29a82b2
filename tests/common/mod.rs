//! Shared fixtures for the integration tests: real virtual environments
//! made by the machine's Python, real shims in a temp dir, and commands run
//! with a clean, controlled environment.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The venvexec binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_venvexec"))
}

/// Directories a child needs for `sh`, `make`, `env`, but no Python of
/// ours: `/usr/bin/python3` may be there, and is what "the system Python"
/// means in these tests.
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The machine's default Python, as a real interpreter path (not a pyenv
/// shim script, which would slow every test down).
pub fn python3() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 must be on PATH to run the tests");
        assert!(out.status.success(), "python3 -c failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// Other CPython 3 versions that pyenv has, when present: each a real
/// interpreter path with a working `venv` module. Empty when pyenv is not
/// installed, and tests then cover only the default Python.
pub fn pyenv_pythons() -> Vec<PathBuf> {
    let root = match Command::new("pyenv").arg("root").output() {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => return Vec::new(),
    };
    let mut found: Vec<PathBuf> = fs::read_dir(root.join("versions"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("3."))
                .map(|e| e.path().join("bin/python3"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Makes a venv at `dir` with `python -m venv --without-pip`, and writes a
/// probe module into its site-packages: `import venvprobe` prints which
/// environment ran (its tag) and proves its site-packages is importable.
pub fn make_venv_with(python: &Path, dir: &Path, tag: &str) -> PathBuf {
    venv_made(python, dir, tag, &[])
}

/// As [`make_venv`], with `--copies`: `bin/python` is a file of the venv's
/// own, not a link into the system, so its mode and its `home` are the
/// venv's to get wrong.
pub fn make_venv_copies(dir: &Path, tag: &str) -> PathBuf {
    let made = venv_made(python3(), dir, tag, &["--copies"]);
    assert!(
        fs::symlink_metadata(made.join("bin/python"))
            .unwrap()
            .is_file(),
        "--copies made a link"
    );
    made
}

fn venv_made(python: &Path, dir: &Path, tag: &str, extra: &[&str]) -> PathBuf {
    let status = Command::new(python)
        .args(["-m", "venv", "--without-pip"])
        .args(extra)
        .arg(dir)
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONHOME")
        .status()
        .expect("running python -m venv");
    assert!(status.success(), "python -m venv {} failed", dir.display());
    write_probe(dir, tag);
    dir.to_path_buf()
}

pub fn make_venv(dir: &Path, tag: &str) -> PathBuf {
    make_venv_with(python3(), dir, tag)
}

/// A project directory `rel` under the sandbox with a venv `rel/.venv`
/// tagged `tag`: (project dir, venv).
pub fn project(sb: &Sandbox, rel: &str, tag: &str) -> (PathBuf, PathBuf) {
    let dir = sb.dir(rel);
    let venv = make_venv(&dir.join(".venv"), tag);
    (dir, venv)
}

/// The venv's site-packages directory (lib/pythonX.Y/site-packages).
pub fn site_packages(venv: &Path) -> PathBuf {
    let lib = venv.join("lib");
    for e in fs::read_dir(&lib).expect("venv has lib/") {
        let p = e.unwrap().path().join("site-packages");
        if p.is_dir() {
            return p;
        }
    }
    panic!("no site-packages under {}", lib.display());
}

pub fn write_probe(venv: &Path, tag: &str) {
    fs::write(
        site_packages(venv).join("venvprobe.py"),
        format!("TAG = {tag:?}\n"),
    )
    .unwrap();
}

/// Python one-liner printing `TAG sys.prefix` of whatever ran it.
pub const PROBE: &str = "import sys, venvprobe; print(venvprobe.TAG, sys.prefix)";

/// A temp dir with a shims dir laid out by the binary under test.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub shims: PathBuf,
    pub home: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox::with_shims(&["python", "python3", "pip", "pip3"])
    }

    pub fn with_shims(names: &[&str]) -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("venvexec-test")
            .tempdir()
            .unwrap();
        // canonical, so paths we compare with getcwd()-derived ones match
        let root = fs::canonicalize(tmp.path()).unwrap();
        let shims = root.join("shims");
        let home = root.join("home");
        fs::create_dir_all(&shims).unwrap();
        fs::create_dir_all(&home).unwrap();
        for n in names {
            symlink(bin(), shims.join(n)).unwrap();
        }
        Sandbox { tmp, shims, home }
    }

    pub fn root(&self) -> PathBuf {
        fs::canonicalize(self.tmp.path()).unwrap()
    }

    /// A directory under the sandbox, created.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// PATH with the shims first, then the system directories.
    pub fn path(&self) -> OsString {
        let mut p = self.shims.clone().into_os_string();
        p.push(":");
        p.push(SYSTEM_PATH);
        p
    }

    /// A command with a clean environment: only PATH (shims first), HOME
    /// and LANG, so nothing from the developer's shell leaks in; and no
    /// inherited source, so a test runner started from a venv Python (tox,
    /// nox, pre-commit) cannot hand its venv to tests about the other
    /// sources. Tests of the inherited source use [`Sandbox::cmd_inherit`].
    pub fn cmd(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut c = self.cmd_inherit(program, cwd);
        c.env("VENVEXEC_NO_INHERIT", "1");
        c
    }

    /// As [`Sandbox::cmd`], with the inherited source on.
    pub fn cmd_inherit(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", self.path())
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .current_dir(cwd);
        c
    }

    /// `sh -c SCRIPT` in `cwd`, with the sandbox environment.
    pub fn sh(&self, script: &str, cwd: &Path) -> Command {
        let mut c = self.cmd("/bin/sh", cwd);
        c.arg("-c").arg(script);
        c
    }

    /// The venvexec CLI.
    pub fn venvexec(&self, cwd: &Path) -> Command {
        self.cmd(bin(), cwd)
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and returns the output, printing it when the test fails later.
pub fn run(c: &mut Command) -> Output {
    let o = c.output().expect("spawning the command");
    eprintln!(
        "status: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Asserts success and returns the trimmed stdout.
pub fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(o.status.success(), "command failed: {:?}", o.status);
    stdout(&o).trim().to_string()
}

/// What [`PROBE`] prints when the environment at `venv`, tagged `tag`, ran it.
pub fn probed(tag: &str, venv: &Path) -> String {
    format!("{tag} {}", venv.display())
}

/// Writes `content` to `path` as an executable file (mode 755), creating
/// the parent directories.
pub fn write_exe(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Keeps the project walk inside the sandbox, so a test that expects "no
/// environment here" cannot be fooled by a `.venv` someone left in /tmp
/// or /. The sandbox root itself is not checked (git's ceiling rule).
pub fn fence<'a>(c: &'a mut Command, sb: &Sandbox) -> &'a mut Command {
    c.env("VENVEXEC_CEILING_DIRS", sb.root())
}

/// Like [`run`], but kills the command and fails the test if it has not
/// ended within `limit`: for behaviour whose bug would be a hang.
pub fn run_with_timeout(c: &mut Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the command");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("waiting for the command").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().expect("collecting output");
            panic!(
                "still running after {limit:?}; stderr so far: {}",
                stderr(&o)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().expect("collecting output");
    eprintln!(
        "status: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Makes a venv in a scratch place and moves it to `dir`, which may be a
/// path `python -m venv` refuses (it cannot write a `pyvenv.cfg` naming a
/// path that is not UTF-8). A `--without-pip` venv still works after the
/// move: CPython finds `pyvenv.cfg` next to the interpreter it was run as.
pub fn make_venv_moved(dir: &Path, tag: &str) -> PathBuf {
    // Same temp root as every Sandbox, so the rename stays on one filesystem.
    let scratch = tempfile::Builder::new()
        .prefix("venvexec-scratch")
        .tempdir()
        .unwrap();
    let made = make_venv(&scratch.path().join("venv"), tag);
    fs::rename(&made, dir).unwrap();
    dir.to_path_buf()
}

/// Whether the tests run as root (then they can make users and chown).
pub fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let o = Command::new("id").arg(flag).arg(name).output().ok()?;
        if !o.status.success() {
            return None;
        }
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// A local system user `name` (uid, gid) for tests about other people's
/// files, created when missing. `None`, with the reason printed, when the
/// tests do not run as root or `useradd` is not there: the caller skips.
/// Tests run in parallel (and other suites may make the same user), so a
/// failed `useradd` is retried after looking again.
pub fn test_user(name: &str) -> Option<(u32, u32)> {
    if let Some(ids) = user_ids(name) {
        return Some(ids);
    }
    if !is_root() {
        eprintln!("skipped: needs root to create the test user {name}");
        return None;
    }
    for _ in 0..50 {
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(name)
            .output();
        if let Some(ids) = user_ids(name) {
            return Some(ids);
        }
        if made.is_err() {
            eprintln!("skipped: useradd is not available to create {name}");
            return None;
        }
        // Another process holds the passwd lock, or is creating the user.
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("skipped: could not create the test user {name}");
    None
}

/// `chown -hR uid:gid path`: the whole tree, symlinks themselves included.
pub fn chown_r(path: &Path, (uid, gid): (u32, u32)) {
    let status = Command::new("chown")
        .arg("-hR")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .expect("running chown");
    assert!(status.success(), "chown {}", path.display());
}

/// `chmod MODE path` (symbolic or octal, as chmod(1) takes it).
pub fn chmod(path: &Path, mode: &str) {
    let status = Command::new("chmod")
        .arg(mode)
        .arg(path)
        .status()
        .expect("running chmod");
    assert!(status.success(), "chmod {mode} {}", path.display());
}

/// The interpreter script of [`fake_env`]: prints the path it was run as.
pub const FAKE_PYTHON: &str = "#!/bin/sh\necho \"$0\"\n";

/// A venv-shaped directory whose `bin/python` is a tiny shell script that
/// prints the path it was started as (`$0`). For tests about *which*
/// environment the shim picks where a real interpreter would only add
/// start-up time (hundreds of calls, odd trees). Returns the root.
pub fn fake_env(root: &Path) -> PathBuf {
    fs::create_dir_all(root).unwrap();
    fs::write(
        root.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.0\n",
    )
    .unwrap();
    write_exe(&root.join("bin/python"), FAKE_PYTHON);
    root.to_path_buf()
}

/// Fails the test if a venvexec message leaked a panic or a backtrace.
pub fn assert_no_panic(o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "a panic reached the user: {err}"
    );
}

/// A sandbox with `python` and `python3` shims whose fall-through is a
/// script printing `fell-through`, for trees of [`fake_env`]s.
pub fn fake_sandbox() -> Sandbox {
    let sb = Sandbox::with_shims(&["python", "python3"]);
    write_exe(
        &sb.dir("fallback").join("python"),
        "#!/bin/sh\necho fell-through\n",
    );
    sb
}

/// PATH for [`fake_sandbox`]: the shims, the fallback, the system.
pub fn fake_path(sb: &Sandbox) -> String {
    format!(
        "{}:{}:{SYSTEM_PATH}",
        sb.shims.display(),
        sb.root().join("fallback").display()
    )
}

/// Every path under `root` with its mode, size and mtime: two equal
/// snapshots mean nothing was created, removed or rewritten.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, (u32, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                todo.push(p.clone());
            }
            out.insert(p, (m.mode(), m.size(), m.mtime(), m.mtime_nsec()));
        }
    }
    out
}

/// Arguments a naive wrapper would mangle: spaces, newlines, empty strings,
/// bytes that are not UTF-8, and words the runner itself knows.
pub fn awkward_args() -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    let args: [&[u8]; 12] = [
        b"two words",
        b"line one\nline two",
        b"",
        b"\xff\xfe not utf-8 \x80",
        b"-c",
        b"--",
        b"--venv",
        b"which",
        b"$HOME * ?",
        b"tab\there ",
        "caf\u{e9} \u{1f40d}".as_bytes(),
        b"",
    ];
    args.iter()
        .map(|a| OsStr::from_bytes(a).to_os_string())
        .collect()
}

/// Python code writing its arguments back, NUL-separated, as raw bytes.
pub const ECHO_ARGS: &str =
    "import os, sys; sys.stdout.buffer.write(b'\\0'.join(map(os.fsencode, sys.argv[1:])))";

/// What [`ECHO_ARGS`] prints for `args`.
pub fn echoed(args: &[OsString]) -> Vec<u8> {
    let parts: Vec<&[u8]> = args.iter().map(|a| a.as_encoded_bytes()).collect();
    parts.join(&b'\0')
}

/// The shells on this machine that `venvexec env` and `setup` must
/// satisfy, with the `--shell` value each takes. A missing shell is
/// skipped, and said so.
pub fn shells() -> Vec<(&'static str, &'static str)> {
    let mut found = Vec::new();
    for (exe, flavour) in [
        ("/bin/sh", "sh"),
        ("/bin/dash", "sh"),
        ("/bin/bash", "bash"),
        ("/usr/bin/zsh", "zsh"),
        ("/bin/zsh", "zsh"),
        ("/usr/bin/fish", "fish"),
    ] {
        if Path::new(exe).exists() {
            found.push((exe, flavour));
        } else {
            eprintln!("{exe} not installed: skipped");
        }
    }
    found
}
