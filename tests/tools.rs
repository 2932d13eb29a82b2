//! Environments made by poetry, pipenv, pdm and uv, found where those tools
//! put them. The (project, environment) pairs come from running the real
//! tools (tests/golden/tool_envs.tsv, see tests/golden/README.md); here each
//! environment is re-created at exactly that path with `python3 -m venv`,
//! and `venvexec which --json`, run in the project, must name it.
//!
//! The tools hash the absolute project path, so the rows cannot be moved to
//! a temp dir: this test works under /tmp/golden-work, as the tools did. It
//! makes that tree itself, from nothing, under a lock (another checkout's
//! suite may run at the same time), so what an earlier run left there can
//! never decide the outcome.

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Row {
    line: usize,
    tool: String,
    project: PathBuf,
    name: String,
    vars: Vec<(String, String)>,
    extra: HashMap<String, String>,
    env: PathBuf,
}

fn rows() -> Vec<Row> {
    let tsv = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tool_envs.tsv"),
    )
    .unwrap();
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "line {}: {line}", i + 1);
        let mut vars = Vec::new();
        let mut extra = HashMap::new();
        for setting in f[3].split(';').filter(|s| !s.is_empty()) {
            let (k, v) = setting.split_once('=').unwrap_or((setting, ""));
            if let Some(k) = k.strip_prefix('@') {
                extra.insert(k.to_string(), v.to_string());
            } else {
                vars.push((k.to_string(), v.to_string()));
            }
        }
        out.push(Row {
            line: i + 1,
            tool: f[0].into(),
            project: f[1].into(),
            name: f[2].into(),
            vars,
            extra,
            env: PathBuf::from(f[4]),
        });
    }
    // uv and pipenv print a `..` as they were given it; the directory they
    // made is the lexically normalised one. Python's `os.path.normpath`
    // says where that is, independently of venvexec's own normalising.
    let raw: Vec<String> = out.iter().map(|r| r.env.display().to_string()).collect();
    for (row, normal) in out.iter_mut().zip(normpath(&raw)) {
        row.env = normal;
    }
    out
}

/// `os.path.normpath` of each path, in one python3 run.
fn normpath(paths: &[String]) -> Vec<PathBuf> {
    use std::io::Write;
    let mut child = std::process::Command::new(python3())
        .args([
            "-c",
            "import os, sys\nfor l in sys.stdin.read().splitlines(): print(os.path.normpath(l))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(paths.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "normpath failed");
    let lines: Vec<PathBuf> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    assert_eq!(lines.len(), paths.len());
    lines
}

/// Why venvexec does not follow a row, or `None` when it must.
fn unsupported(row: &Row) -> Option<&'static str> {
    let var = |k: &str| row.vars.iter().any(|(n, _)| n == k);
    if var("PIPENV_PIPFILE") {
        return Some(
            "PIPENV_PIPFILE points pipenv at a Pipfile elsewhere; the walk starts from the working directory",
        );
    }
    None
}

fn pyproject(row: &Row) -> String {
    let name = if row.name.is_empty() {
        String::new()
    } else {
        format!("name = {:?}\n", row.name)
    };
    match row.tool.as_str() {
        "poetry" if row.name.is_empty() => "[tool.poetry]\npackage-mode = false\n".into(),
        "poetry" => format!("[project]\n{name}version = \"0.1.0\"\n\n[tool.poetry]\n"),
        "pdm" => {
            format!("[project]\n{name}version = \"0.1.0\"\n\n[tool.pdm]\ndistribution = false\n")
        }
        _ => format!("[project]\n{name}version = \"0.1.0\"\n"),
    }
}

/// Lays out the project as the tool left it, and the environment at the
/// recorded path. `pdm_python`: also write pdm's `.pdm-python`.
fn lay_out(row: &Row, pdm_python: bool) -> PathBuf {
    // Start from an empty tree every time: nothing of another row, or of
    // another run, may help this one.
    fresh_dir(Path::new(GOLDEN_ROOT));
    let projects = Path::new(GOLDEN_ROOT).join("projects");
    fs::create_dir_all(&projects).unwrap();
    // Some rows reach `myapp` through this symlink, as a user whose shell
    // was `cd`'d through a link would.
    fs::create_dir(projects.join("myapp")).unwrap();
    symlink("myapp", projects.join("link-to-myapp")).unwrap();
    fs::create_dir_all(&row.project).unwrap();
    match row.tool.as_str() {
        "pipenv" => {
            let mut pipfile = String::from("[packages]\n");
            if let Some(extra) = row.extra.get("pipfile") {
                pipfile.push_str(extra);
                pipfile.push('\n');
            }
            fs::write(row.project.join("Pipfile"), pipfile).unwrap();
            if let Some(content) = row.extra.get("dotvenv-file") {
                fs::write(row.project.join(".venv"), content).unwrap();
            }
        }
        _ => fs::write(row.project.join("pyproject.toml"), pyproject(row)).unwrap(),
    }
    if let Some(root) = row.extra.get("uv-workspace-root") {
        let root = Path::new(root);
        if root != row.project {
            let _ = fs::remove_file(root.join("pyproject.toml"));
            fs::create_dir_all(root).unwrap();
            fs::write(
                root.join("pyproject.toml"),
                "[project]\nname = \"ws\"\nversion = \"0\"\n",
            )
            .unwrap();
        }
    }
    make_venv(&row.env, &format!("row{}", row.line));
    if pdm_python {
        fs::write(
            row.project.join(".pdm-python"),
            row.env.join("bin/python").as_os_str().as_encoded_bytes(),
        )
        .unwrap();
    }
    // `pdm -p DIR` was run from elsewhere; a user of the project is in it.
    let pointed = row.extra.get("cmd").is_some_and(|c| c.contains(" -p "));
    let cwd = match row.extra.get("cwd") {
        Some(cwd) if !pointed => PathBuf::from(cwd),
        _ => row.project.clone(),
    };
    fs::create_dir_all(&cwd).unwrap();
    cwd
}

/// Where the tools were run when the golden rows were recorded.
const GOLDEN_ROOT: &str = "/tmp/golden-work";

/// Removes `dir` with everything in it and makes it again, empty and ours.
fn fresh_dir(dir: &Path) {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", dir.display()),
    }
    fs::create_dir(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

/// Holds an exclusive lock on /tmp/golden-work.lock while alive (the lock
/// goes with the open file): two suites laying out the same fixed paths
/// would wreck each other's rows.
struct GoldenLock {
    _file: fs::File,
}

impl GoldenLock {
    fn take() -> GoldenLock {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(format!("{GOLDEN_ROOT}.lock"))
            .expect("opening the golden-work lock");
        // SAFETY: flock on a descriptor we own; blocks until it is ours.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "locking {GOLDEN_ROOT}.lock");
        GoldenLock { _file: file }
    }
}

impl Drop for GoldenLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(GOLDEN_ROOT);
    }
}

/// `environment` from `which --json` output.
fn json_environment(json: &str) -> Option<PathBuf> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get("environment")?.as_str().map(PathBuf::from)
}

fn which(row: &Row, cwd: &Path) -> (Option<PathBuf>, String) {
    let mut c = Command::new(bin());
    c.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("VENVEXEC_NO_INHERIT", "1")
        .current_dir(cwd)
        .args(["which", "--json"]);
    for (k, v) in &row.vars {
        if k != "PATH" {
            c.env(k, v);
        }
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (json_environment(&text), text)
}

fn same(a: &Path, b: &Path) -> bool {
    fs::canonicalize(a)
        .ok()
        .is_some_and(|a| fs::canonicalize(b).is_ok_and(|b| a == b))
}

#[test]
fn each_tool_environment_is_found_where_the_tool_put_it() {
    if !Path::new("/tmp").is_dir() {
        eprintln!("skipped: no /tmp");
        return;
    }
    let _lock = GoldenLock::take();
    let mut checked = HashMap::<String, usize>::new();
    let mut failures = Vec::new();
    for row in rows() {
        if let Some(why) = unsupported(&row) {
            eprintln!("line {}: not followed: {why}", row.line);
            continue;
        }
        // pdm records the interpreter in .pdm-python; also check its central
        // venvs by name alone, except where pdm was pointed at the project
        // through a symlink (`-p`), whose hash the physical walk cannot see.
        let variants: &[bool] = match row.tool.as_str() {
            "pdm"
                if row.extra.get("cmd").is_some_and(|c| c.contains(" -p "))
                    || row.extra.contains_key("pdm-config:venv.location") =>
            {
                &[true]
            }
            "pdm" => &[true, false],
            _ => &[false],
        };
        for &pdm_python in variants {
            let cwd = lay_out(&row, pdm_python);
            let (found, text) = which(&row, &cwd);
            let ok = found.as_deref().is_some_and(|f| same(f, &row.env));
            if !ok {
                failures.push(format!(
                    "line {} ({}{}) in {}: expected {}, got {text}",
                    row.line,
                    row.tool,
                    if pdm_python { ", .pdm-python" } else { "" },
                    cwd.display(),
                    row.env.display()
                ));
            }
            *checked.entry(row.tool.clone()).or_default() += 1;
        }
    }
    eprintln!("checked: {checked:?}");
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for tool in ["poetry", "pipenv", "pdm", "uv"] {
        assert!(
            checked.get(tool).copied().unwrap_or(0) >= 4,
            "too few {tool} rows checked: {checked:?}"
        );
    }
}

/// `which -v` in `cwd` with a clean environment plus `vars`.
fn which_v(sb: &Sandbox, cwd: &Path, vars: &[(&str, &Path)]) -> String {
    let mut c = sb.venvexec(cwd);
    c.args(["which", "-v"])
        .env("VENVEXEC_CEILING_DIRS", sb.root());
    for (k, v) in vars {
        c.env(k, v);
    }
    stdout(&run(&mut c))
}

#[test]
fn pyenv_virtualenv_named_in_python_version_is_used() {
    let sb = Sandbox::new();
    let pyenv_root = sb.dir("pyenv");
    let env = make_venv(&pyenv_root.join("versions/proj-env"), "pyenv-env");
    let project = sb.dir("proj");
    fs::write(project.join(".python-version"), "proj-env\n").unwrap();
    let sub = sb.dir("proj/src/pkg");
    let out = which_v(&sb, &sub, &[("PYENV_ROOT", &pyenv_root)]);
    assert!(
        out.starts_with(&format!("{}/bin/python\n", env.display())),
        "{out}"
    );
    assert!(out.contains("pyenv-virtualenv proj-env"), "{out}");
    // And the shim really runs it.
    let mut c = sb.cmd("python", &sub);
    c.args(["-c", PROBE]).env("PYENV_ROOT", &pyenv_root);
    assert_eq!(ok(&mut c), probed("pyenv-env", &env));
}

#[test]
fn a_plain_pyenv_version_is_not_an_environment() {
    let sb = Sandbox::new();
    let pyenv_root = sb.dir("pyenv");
    fs::create_dir_all(pyenv_root.join("versions/3.12.1/bin")).unwrap();
    let project = sb.dir("proj");
    fs::write(project.join(".python-version"), "3.12.1\n").unwrap();
    let out = which_v(&sb, &project, &[("PYENV_ROOT", &pyenv_root)]);
    assert!(
        out.contains("a plain pyenv version, not a virtualenv"),
        "{out}"
    );
    assert!(out.contains("environment: none"), "{out}");
}

#[test]
fn in_project_venv_wins_over_tool_conventions_in_the_same_directory() {
    let sb = Sandbox::new();
    let pyenv_root = sb.dir("pyenv");
    make_venv(&pyenv_root.join("versions/proj-env"), "pyenv-env");
    let project = sb.dir("proj");
    let local = make_venv(&project.join(".venv"), "local");
    fs::write(project.join(".python-version"), "proj-env\n").unwrap();
    fs::write(project.join("pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
    let out = which_v(
        &sb,
        &project,
        &[
            ("PYENV_ROOT", &pyenv_root),
            ("UV_PROJECT_ENVIRONMENT", Path::new("uvenv")),
        ],
    );
    assert!(
        out.starts_with(&format!("{}/bin/python\n", local.display())),
        "{out}"
    );
}

#[test]
fn pdm_python_naming_a_missing_interpreter_is_skipped_and_noted() {
    let sb = Sandbox::new();
    let project = sb.dir("proj");
    fs::write(project.join(".pdm-python"), "/nonexistent/venv/bin/python").unwrap();
    let out = which_v(&sb, &project, &[]);
    assert!(
        out.contains(".pdm-python: names /nonexistent/venv/bin/python, which does not exist"),
        "{out}"
    );
    assert!(out.contains("environment: none"), "{out}");
}

#[test]
fn a_conda_prefix_is_activated_the_conda_way() {
    let sb = Sandbox::new();
    let conda = sb.dir("miniconda/envs/data");
    fs::create_dir_all(conda.join("conda-meta")).unwrap();
    fs::create_dir_all(conda.join("bin")).unwrap();
    symlink(python3(), conda.join("bin/python")).unwrap();
    let mut c = sb.cmd("python", &sb.root());
    c.args([
        "-c",
        "import os,sys; print(sys.executable); print(os.environ.get('CONDA_PREFIX')); print(os.environ.get('VIRTUAL_ENV'))",
    ])
    .env("VENVEXEC_VENV", &conda)
    .env("VIRTUAL_ENV", sb.root().join("stale"));
    let out = ok(&mut c);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], conda.join("bin/python").display().to_string());
    assert_eq!(lines[1], conda.display().to_string());
    assert_eq!(lines[2], "None", "a conda env must not look like a venv");
}
