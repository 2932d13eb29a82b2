//! install.sh, run for real under dash: a temp HOME and a prefix with a
//! space in it, a clean environment, and the binary under test passed with
//! `--binary` so that no test builds anything (except the one that checks
//! the real build, which runs when `VENVEXEC_TEST_REAL_INSTALL=1`).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// The repository root: install.sh runs from here, as a user would.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `dash`, the shell install.sh is written for, or `None` (the test is then
/// skipped, saying so).
fn dash() -> Option<PathBuf> {
    let found = SYSTEM_PATH
        .split(':')
        .map(|d| Path::new(d).join("dash"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipped: dash is not installed (install.sh is tested under dash)");
    }
    found
}

/// The default shim set, as `shims/names` lists it.
fn default_names() -> Vec<String> {
    fs::read_to_string(Path::new(REPO).join("shims/names"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// `python3.N` names that [`SYSTEM_PATH`] holds as executables: the
/// versioned shims a default install adds on this machine.
fn system_python_versions() -> Vec<String> {
    let mut found = Vec::new();
    for dir in SYSTEM_PATH.split(':') {
        let Ok(rd) = fs::read_dir(dir) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let versioned = name
                .strip_prefix("python3.")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            if versioned && e.path().is_file() && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

/// One user's machine: a HOME, a prefix with a space in its name, and
/// everything install.sh writes kept under one temp root.
struct Machine {
    _tmp: tempfile::TempDir,
    dash: PathBuf,
    root: PathBuf,
    home: PathBuf,
    prefix: PathBuf,
}

impl Machine {
    fn new() -> Option<Machine> {
        let dash = dash()?;
        let tmp = tempfile::Builder::new()
            .prefix("venvexec-install")
            .tempdir()
            .unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let home = root.join("home");
        fs::create_dir_all(&home).unwrap();
        Some(Machine {
            _tmp: tmp,
            dash,
            prefix: root.join("pre fix"),
            root,
            home,
        })
    }

    /// `dash install.sh ARGS…` from the repository root, in a clean
    /// environment.
    fn script(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.dash);
        c.arg("install.sh")
            .args(args)
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .current_dir(REPO);
        c
    }

    /// Installs the binary under test into the prefix.
    fn install(&self) -> Output {
        run(&mut self.script(&[
            "--binary",
            bin().to_str().unwrap(),
            "--prefix",
            self.prefix.to_str().unwrap(),
        ]))
    }

    fn uninstall(&self) -> Output {
        run(&mut self.script(&["--uninstall", "--prefix", self.prefix.to_str().unwrap()]))
    }

    fn installed(&self) -> PathBuf {
        self.prefix.join("bin/venvexec")
    }

    fn shims(&self) -> PathBuf {
        self.home.join(".local/share/venvexec/shims")
    }

    fn manifest(&self) -> PathBuf {
        self.home.join(".local/share/venvexec/install-manifest")
    }

    /// Every path under the root with its type, size, mode and mtime: two
    /// equal snapshots mean nothing was created, removed or rewritten.
    fn snapshot(&self) -> BTreeMap<PathBuf, (u32, u64, i64, i64)> {
        snapshot(&self.root)
    }

    /// The entries of the shims dir, sorted.
    fn shim_entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.shims())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }
}

fn assert_success(o: &Output) {
    assert!(o.status.success(), "install.sh failed: {:?}", o.status);
}

/// The line install.sh tells the user to put in their shell profile.
fn path_line(shims: &Path) -> String {
    format!("export PATH=\"{}:$PATH\"", shims.display())
}

/// Whether an ELF file is statically linked: it has no PT_INTERP header.
fn is_static_elf(path: &Path) -> bool {
    let b = fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not an ELF file", path.display());
    assert_eq!(b[4], 2, "expected a 64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    !(0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == PT_INTERP
    })
}

#[test]
fn install_lays_down_the_binary_and_the_default_shims() {
    let Some(m) = Machine::new() else { return };
    let o = m.install();
    assert_success(&o);

    let installed = m.installed();
    let mode = fs::metadata(&installed).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "the binary is installed mode 755");
    let version = ok(Command::new(&installed).arg("--version"));
    assert!(version.starts_with("venvexec "), "got {version:?}");

    let mut names = default_names();
    assert_eq!(names.len(), 4, "python, python3, pip, pip3");
    // and python3.N for each version on the (system) PATH
    names.extend(system_python_versions());
    names.sort();
    assert_eq!(m.shim_entries(), names);
    for n in &names {
        let link = m.shims().join(n);
        assert_eq!(
            fs::read_link(&link).unwrap(),
            installed,
            "{n} links to the installed binary"
        );
    }
    assert!(
        stdout(&o).contains(&path_line(&m.shims())),
        "stdout tells the PATH line"
    );
    assert!(m.manifest().is_file(), "what was installed is recorded");
}

#[test]
fn running_install_twice_changes_nothing() {
    let Some(m) = Machine::new() else { return };
    assert_success(&m.install());
    let before = m.snapshot();
    let o = m.install();
    assert_success(&o);
    assert_eq!(m.snapshot(), before, "a second install touched something");
    assert!(stdout(&o).contains("up to date"));
    assert!(stdout(&o).contains(&path_line(&m.shims())));
}

#[test]
fn a_foreign_file_at_the_binary_path_is_left_alone() {
    let Some(m) = Machine::new() else { return };
    let installed = m.installed();
    let marker = m.root.join("it-ran");
    // Not executable: install.sh must not run it to ask what it is.
    fs::create_dir_all(installed.parent().unwrap()).unwrap();
    let script = format!(
        "#!/bin/sh\ntouch '{}'\necho 'venvexec 9.9'\n",
        marker.display()
    );
    fs::write(&installed, &script).unwrap();
    let before = m.snapshot();

    let o = m.install();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("install.sh: "), "got {err:?}");
    assert!(err.contains(installed.to_str().unwrap()) && err.contains("not a venvexec binary"));
    assert_eq!(fs::read_to_string(&installed).unwrap(), script);
    assert!(!marker.exists(), "a non-executable file was run");
    assert_eq!(
        m.snapshot(),
        before,
        "nothing is touched: no shims, no manifest"
    );

    // An executable that is some other program: asked, and refused.
    fs::write(&installed, "#!/bin/sh\necho 'hello 1.0'\n").unwrap();
    fs::set_permissions(&installed, fs::Permissions::from_mode(0o755)).unwrap();
    let before = m.snapshot();
    let o = m.install();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a venvexec binary"));
    assert_eq!(m.snapshot(), before);
}

#[test]
fn a_foreign_python_in_the_shims_dir_is_not_overwritten() {
    let Some(m) = Machine::new() else { return };
    fs::create_dir_all(m.shims()).unwrap();
    let mine = m.shims().join("python");
    fs::write(&mine, "my own python\n").unwrap();

    let o = m.install();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(mine.to_str().unwrap()),
        "names the file: {err:?}"
    );
    assert!(
        err.contains("install.sh: "),
        "install.sh says it failed: {err:?}"
    );
    assert_eq!(fs::read_to_string(&mine).unwrap(), "my own python\n");
    for n in ["python3", "pip", "pip3"] {
        assert_eq!(
            fs::read_link(m.shims().join(n)).unwrap(),
            m.installed(),
            "{n} is still linked"
        );
    }

    // Uninstalling takes what was installed and leaves the user's file.
    assert_success(&m.uninstall());
    assert!(!m.installed().exists());
    assert_eq!(m.shim_entries(), ["python"]);
    assert_eq!(fs::read_to_string(&mine).unwrap(), "my own python\n");
}

#[test]
fn uninstall_removes_exactly_what_install_created() {
    let Some(m) = Machine::new() else { return };
    let profile = m.home.join(".profile");
    fs::write(&profile, "# the user's\n").unwrap();
    let pristine = m.snapshot();

    assert_success(&m.install());
    let o = m.uninstall();
    assert_success(&o);
    assert_eq!(
        m.snapshot().keys().collect::<Vec<_>>(),
        pristine.keys().collect::<Vec<_>>(),
        "uninstall leaves the tree as it was before install"
    );
    assert!(stdout(&o).contains("uninstalled"));

    // A foreign file in the shims dir survives, and so does its dir.
    assert_success(&m.install());
    let notes = m.shims().join("notes.txt");
    fs::write(&notes, "keep me\n").unwrap();
    let o = m.uninstall();
    assert_success(&o);
    assert!(!m.installed().exists(), "the binary is gone");
    assert!(!m.prefix.exists(), "the prefix install.sh created is gone");
    assert!(!m.manifest().exists(), "the manifest is gone");
    assert_eq!(m.shim_entries(), ["notes.txt"]);
    assert_eq!(fs::read_to_string(&notes).unwrap(), "keep me\n");

    // Nothing left to do: says so, changes nothing, succeeds.
    let before = m.snapshot();
    let o = m.uninstall();
    assert_success(&o);
    assert!(
        stdout(&o).contains("nothing to uninstall"),
        "{}",
        stdout(&o)
    );
    assert_eq!(m.snapshot(), before);
}

#[test]
fn uninstall_leaves_a_binary_that_is_no_longer_ours() {
    let Some(m) = Machine::new() else { return };
    assert_success(&m.install());
    // The user put something else there since.
    fs::write(m.installed(), "not ours any more\n").unwrap();
    let o = m.uninstall();
    assert_success(&o);
    assert!(stderr(&o).contains("no longer a venvexec binary"));
    assert_eq!(
        fs::read_to_string(m.installed()).unwrap(),
        "not ours any more\n"
    );
    assert!(!m.shims().exists(), "the shim links still go");
}

#[test]
fn a_second_prefix_is_refused_while_the_first_install_is_there() {
    let Some(m) = Machine::new() else { return };
    assert_success(&m.install());
    let other = m.root.join("other");
    let o = run(&mut m.script(&[
        "--binary",
        bin().to_str().unwrap(),
        "--prefix",
        other.to_str().unwrap(),
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already installed at"),
        "{}",
        stderr(&o)
    );
    assert!(!other.exists(), "nothing is installed at the second prefix");
    assert_eq!(
        fs::read_link(m.shims().join("python")).unwrap(),
        m.installed()
    );

    // Uninstalling the other prefix is a no-op that points at the real one;
    // a plain --uninstall removes what is recorded.
    let o = run(&mut m.script(&["--uninstall", "--prefix", other.to_str().unwrap()]));
    assert_success(&o);
    assert!(stdout(&o).contains("nothing to uninstall under"));
    assert!(m.installed().is_file());
    assert_success(&run(&mut m.script(&["--uninstall"])));
    assert!(!m.installed().exists() && !m.shims().exists());
}

#[test]
fn a_relative_prefix_is_made_absolute() {
    let Some(m) = Machine::new() else { return };
    let cwd = m.root.join("work dir");
    fs::create_dir_all(&cwd).unwrap();
    // Run from elsewhere, by its absolute path, as `sh ~/src/venvexec/install.sh`.
    let script = Path::new(REPO).join("install.sh");
    let mut c = Command::new(&m.dash);
    c.arg(&script)
        .args([
            "--binary",
            bin().to_str().unwrap(),
            "--prefix",
            "./rel pre/",
        ])
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", &m.home)
        .env("LANG", "C.UTF-8")
        .current_dir(&cwd);
    let o = run(&mut c);
    assert_success(&o);
    let installed = cwd.join("rel pre/bin/venvexec");
    assert!(installed.is_file());
    assert_eq!(fs::read_link(m.shims().join("python")).unwrap(), installed);
    let manifest = fs::read_to_string(m.manifest()).unwrap();
    assert!(
        manifest.contains(&format!("binary\t{}\n", installed.display())),
        "the manifest records the absolute path: {manifest}"
    );
}

#[test]
fn help_and_usage_errors() {
    let Some(m) = Machine::new() else { return };
    let help = ok(&mut m.script(&["--help"]));
    for word in ["--prefix", "--binary", "--uninstall", "PREFIX"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
    let o = run(&mut m.script(&["--frobnicate"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("install.sh: unknown argument: --frobnicate"));
    let o = run(&mut m.script(&["--binary", "/bin/ls", "--prefix", "/nonexistent/x"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/bin/ls is not a venvexec binary"));
    assert!(!Path::new("/nonexistent/x").exists());
}

#[test]
fn the_installed_shims_run_the_project_venv() {
    let Some(m) = Machine::new() else { return };
    assert_success(&m.install());
    let project = m.root.join("proj");
    let venv = make_venv(&project.join(".venv"), "proj");
    let sub = project.join("src/pkg");
    fs::create_dir_all(&sub).unwrap();

    let path = format!("{}:{SYSTEM_PATH}", m.shims().display());
    for name in ["python", "python3"] {
        let out = ok(Command::new(name)
            .args(["-c", PROBE])
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &m.home)
            .current_dir(&sub));
        assert_eq!(
            out,
            format!("proj {}", venv.display()),
            "`{name}` ran the project's venv"
        );
    }
    // And a naive shell-out from a program started outside the venv.
    let out = ok(Command::new("/bin/sh")
        .args(["-c", &format!("python -c '{PROBE}'")])
        .env_clear()
        .env("PATH", &path)
        .env("HOME", &m.home)
        .current_dir(&sub));
    assert_eq!(out, format!("proj {}", venv.display()));
}

/// The real thing: install.sh builds the release binary itself (static on
/// Linux/glibc). Slow, so it runs only when `VENVEXEC_TEST_REAL_INSTALL=1`
/// (CI sets it).
#[test]
fn real_install_builds_and_installs_the_release_binary() {
    if std::env::var_os("VENVEXEC_TEST_REAL_INSTALL").is_none_or(|v| v != "1") {
        eprintln!("skipped: set VENVEXEC_TEST_REAL_INSTALL=1 to build and install for real");
        return;
    }
    let Some(m) = Machine::new() else { return };
    // The toolchain running these tests, found without rustup's help.
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("run under cargo"));
    let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".cargo"));
    let mut path = cargo.parent().unwrap().as_os_str().to_owned();
    path.push(":");
    path.push(SYSTEM_PATH);
    let mut c = m.script(&["--prefix", m.prefix.to_str().unwrap()]);
    c.env("PATH", &path)
        .env("CARGO_HOME", &cargo_home)
        // Its own target dir: `cargo test` may still hold the lock on the
        // default one; kept between runs, so CI rebuilds only what changed.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-release"),
        );
    for var in ["RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Some(v) = std::env::var_os(var) {
            c.env(var, v);
        }
    }
    let o = run(&mut c);
    assert_success(&o);

    let installed = m.installed();
    let version = ok(Command::new(&installed).arg("--version"));
    assert_eq!(version, format!("venvexec {}", env!("CARGO_PKG_VERSION")));
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        let fell_back = stderr(&o).contains("static build did not work");
        assert!(
            is_static_elf(&installed) != fell_back,
            "static unless install.sh said why not"
        );
        eprintln!(
            "installed a {} binary",
            if fell_back { "dynamic" } else { "static" }
        );
    }

    // It works as the shim, and goes away cleanly.
    let venv = make_venv(&m.root.join("proj/.venv"), "real");
    let out = ok(Command::new("python")
        .args(["-c", PROBE])
        .env_clear()
        .env("PATH", format!("{}:{SYSTEM_PATH}", m.shims().display()))
        .current_dir(m.root.join("proj")));
    assert_eq!(out, format!("real {}", venv.display()));
    assert_success(&m.uninstall());
    assert!(!m.prefix.exists() && !m.shims().exists());
}
