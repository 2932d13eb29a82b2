//! The resolution order, table-driven: each row lays out a tree of
//! environments in a temp dir, sets the inputs a shim would read, and
//! checks what `resolve(&Inputs)` chose, by which source, and what it
//! skipped on the way. The filesystem is real; only the variables are a
//! snapshot, which is what `Inputs` is for.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use venvexec::resolve::{Inputs, Resolution, Source, Via, explain, resolve};

/// One row: a name, the tree, the inputs, what must win.
struct Case {
    name: &'static str,
    /// Lays out the tree under the root; returns the working directory.
    tree: fn(&Path) -> PathBuf,
    inputs: fn(&Path, &mut Inputs),
    /// The environment chosen, relative to the root, or `None`.
    chosen: Option<&'static str>,
    /// The source key (`Source::key`) of the winner.
    source: &'static str,
    /// Words each expected skip line contains, in order.
    skipped: &'static [&'static str],
}

fn env(root: &Path, rel: &str) -> PathBuf {
    fake_env(&root.join(rel))
}

fn dir(root: &Path, rel: &str) -> PathBuf {
    let d = root.join(rel);
    fs::create_dir_all(&d).unwrap();
    d
}

fn os(p: impl AsRef<Path>) -> Option<OsString> {
    Some(p.as_ref().as_os_str().to_os_string())
}

fn nothing(_: &Path, _: &mut Inputs) {}

/// Fences every walk at the root, as the integration tests do.
fn fenced(root: &Path, inp: &mut Inputs) {
    inp.ceilings = os(root);
}

const CASES: &[Case] = &[
    Case {
        name: "--venv beats everything, VENVEXEC_DISABLE included",
        tree: |r| {
            env(r, "flag");
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: |r, i| {
            i.venv_flag = os(r.join("flag"));
            i.disabled = true;
            i.virtual_env = os(r.join("p/.venv"));
        },
        chosen: Some("flag"),
        source: "flag",
        skipped: &[],
    },
    Case {
        name: "VENVEXEC_DISABLE beats VENVEXEC_VENV",
        tree: |r| {
            env(r, "var");
            dir(r, "p")
        },
        inputs: |r, i| {
            i.venv_var = os(r.join("var"));
            i.disabled = true;
        },
        chosen: None,
        source: "",
        skipped: &[],
    },
    Case {
        name: "VENVEXEC_VENV beats VIRTUAL_ENV and the project",
        tree: |r| {
            env(r, "var");
            env(r, "active");
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: |r, i| {
            i.venv_var = os(r.join("var"));
            i.virtual_env = os(r.join("active"));
        },
        chosen: Some("var"),
        source: "explicit",
        skipped: &[],
    },
    Case {
        name: "VIRTUAL_ENV beats CONDA_PREFIX and the project",
        tree: |r| {
            env(r, "active");
            let conda = dir(r, "conda/envs/x");
            fs::create_dir_all(conda.join("conda-meta")).unwrap();
            write_exe(&conda.join("bin/python"), FAKE_PYTHON);
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: |r, i| {
            i.virtual_env = os(r.join("active"));
            i.conda_prefix = os(r.join("conda/envs/x"));
        },
        chosen: Some("active"),
        source: "virtual_env",
        skipped: &[],
    },
    Case {
        name: "a stale VIRTUAL_ENV is skipped and noted; the project wins",
        tree: |r| {
            env(r, "p/.venv");
            dir(r, "p/sub")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.virtual_env = os(r.join("gone"));
        },
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &["VIRTUAL_ENV", "(stale)"],
    },
    Case {
        name: "a conda env that is not base is activated",
        tree: |r| {
            let conda = dir(r, "conda/envs/x");
            fs::create_dir_all(conda.join("conda-meta")).unwrap();
            write_exe(&conda.join("bin/python"), FAKE_PYTHON);
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: |r, i| i.conda_prefix = os(r.join("conda/envs/x")),
        chosen: Some("conda/envs/x"),
        source: "conda",
        skipped: &[],
    },
    Case {
        name: "conda's base is a system Python: skipped, the project wins",
        tree: |r| {
            let base = dir(r, "conda");
            fs::create_dir_all(base.join("conda-meta")).unwrap();
            fs::create_dir_all(base.join("condabin")).unwrap();
            write_exe(&base.join("bin/python"), FAKE_PYTHON);
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.conda_prefix = os(r.join("conda"));
        },
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &["CONDA_PREFIX", "base environment"],
    },
    Case {
        name: "the project walk finds .venv from a subdirectory",
        tree: |r| {
            env(r, "p/.venv");
            dir(r, "p/a/b/c")
        },
        inputs: fenced,
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &[],
    },
    Case {
        name: "in one directory .venv comes before venv",
        tree: |r| {
            env(r, "p/venv");
            env(r, "p/.venv");
            dir(r, "p")
        },
        inputs: fenced,
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &[],
    },
    Case {
        name: "the nearest directory wins over a parent's",
        tree: |r| {
            env(r, ".venv");
            env(r, "p/venv");
            dir(r, "p/sub")
        },
        inputs: nothing,
        chosen: Some("p/venv"),
        source: "project",
        skipped: &[],
    },
    Case {
        name: "a venv/ without pyvenv.cfg is skipped and the walk goes on",
        tree: |r| {
            write_exe(&r.join("p/sub/venv/bin/python"), FAKE_PYTHON);
            env(r, "p/.venv");
            dir(r, "p/sub")
        },
        inputs: fenced,
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &["project", "has no pyvenv.cfg"],
    },
    Case {
        name: "VENVEXEC_NAMES replaces the names looked for",
        tree: |r| {
            env(r, "p/.venv");
            env(r, "p/env");
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.names = Some("env".into());
        },
        chosen: Some("p/env"),
        source: "project",
        skipped: &[],
    },
    Case {
        name: "VENVEXEC_CEILING_DIRS stops the walk below it",
        tree: |r| {
            env(r, "p/.venv");
            dir(r, "p/sub")
        },
        inputs: |r, i| i.ceilings = os(r.join("p")),
        chosen: None,
        source: "",
        skipped: &["VENVEXEC_CEILING_DIRS"],
    },
    Case {
        name: "UV_PROJECT_ENVIRONMENT, relative to the pyproject.toml directory",
        tree: |r| {
            env(r, "p/custom-env");
            fs::write(r.join("p/pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
            dir(r, "p/src")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.uv_project_environment = Some("custom-env".into());
        },
        chosen: Some("p/custom-env"),
        source: "uv",
        skipped: &[],
    },
    Case {
        name: "pdm's .pdm-python names the interpreter",
        tree: |r| {
            let e = env(r, "elsewhere/pdm-env");
            let p = dir(r, "p");
            fs::write(
                p.join(".pdm-python"),
                e.join("bin/python").as_os_str().as_encoded_bytes(),
            )
            .unwrap();
            p
        },
        inputs: fenced,
        chosen: Some("elsewhere/pdm-env"),
        source: "pdm",
        skipped: &[],
    },
    Case {
        name: "pipenv's .venv file names the environment",
        tree: |r| {
            let e = env(r, "elsewhere/pipenv-env");
            let p = dir(r, "p");
            fs::write(p.join("Pipfile"), "[packages]\n").unwrap();
            fs::write(p.join(".venv"), e.as_os_str().as_encoded_bytes()).unwrap();
            p
        },
        inputs: fenced,
        chosen: Some("elsewhere/pipenv-env"),
        source: "pipenv",
        // The in-project look sees a file, not an environment, and says so.
        skipped: &["project", "/p/.venv: is not a directory"],
    },
    Case {
        name: "a pyenv-virtualenv named in .python-version",
        tree: |r| {
            env(r, "pyenv/versions/proj-env");
            let p = dir(r, "p");
            fs::write(p.join(".python-version"), "proj-env\n").unwrap();
            dir(r, "p/sub")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
        },
        chosen: Some("pyenv/versions/proj-env"),
        source: "pyenv_virtualenv",
        skipped: &[],
    },
    Case {
        name: "in one directory the in-project .venv beats the tool conventions",
        tree: |r| {
            env(r, "pyenv/versions/proj-env");
            env(r, "p/uvenv");
            env(r, "p/.venv");
            fs::write(r.join("p/.python-version"), "proj-env\n").unwrap();
            fs::write(r.join("p/pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
            i.tools.uv_project_environment = Some("uvenv".into());
        },
        chosen: Some("p/.venv"),
        source: "project",
        skipped: &[],
    },
    Case {
        name: "uv's variable beats pdm's file and pyenv's name in one directory",
        tree: |r| {
            env(r, "pyenv/versions/proj-env");
            let pdm = env(r, "pdm-env");
            env(r, "p/uvenv");
            fs::write(r.join("p/.python-version"), "proj-env\n").unwrap();
            fs::write(r.join("p/pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
            fs::write(
                r.join("p/.pdm-python"),
                pdm.join("bin/python").as_os_str().as_encoded_bytes(),
            )
            .unwrap();
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
            i.tools.uv_project_environment = Some("uvenv".into());
        },
        chosen: Some("p/uvenv"),
        source: "uv",
        skipped: &[],
    },
    Case {
        name: "pdm's file beats pyenv's name in one directory",
        tree: |r| {
            env(r, "pyenv/versions/proj-env");
            let pdm = env(r, "pdm-env");
            fs::write(dir(r, "p").join(".python-version"), "proj-env\n").unwrap();
            fs::write(
                r.join("p/.pdm-python"),
                pdm.join("bin/python").as_os_str().as_encoded_bytes(),
            )
            .unwrap();
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
        },
        chosen: Some("pdm-env"),
        source: "pdm",
        skipped: &[],
    },
    Case {
        name: "a plain pyenv version is said against .python-version; the walk goes on",
        tree: |r| {
            dir(r, "pyenv/versions/3.12.1/bin");
            env(r, "q/.venv");
            fs::write(dir(r, "q/p").join(".python-version"), "3.12.1\n").unwrap();
            dir(r, "q/p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
        },
        chosen: Some("q/.venv"),
        source: "project",
        skipped: &[
            "pyenv ",
            "/q/p/.python-version: names 3.12.1, a plain pyenv version, not a virtualenv",
        ],
    },
    Case {
        name: "a pyenv name pyenv does not have is said against .python-version",
        tree: |r| {
            dir(r, "pyenv/versions");
            fs::write(dir(r, "p").join(".python-version"), "gone-env\n").unwrap();
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.pyenv_root = os(r.join("pyenv"));
        },
        chosen: None,
        source: "",
        skipped: &["pyenv ", "names gone-env, which pyenv does not have"],
    },
    Case {
        name: "pipenv's PIPENV_CUSTOM_VENV_NAME under WORKON_HOME",
        tree: |r| {
            env(r, "workon/custom");
            fs::write(dir(r, "p").join("Pipfile"), "[packages]\n").unwrap();
            dir(r, "p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.workon_home = os(r.join("workon"));
            i.tools.pipenv_custom_venv_name = Some("custom".into());
        },
        chosen: Some("workon/custom"),
        source: "pipenv",
        skipped: &[],
    },
    Case {
        name: "a tool's candidate that is no environment is noted under the tool's name",
        tree: |r| {
            env(r, "q/.venv");
            dir(r, "q/p/uvenv/bin");
            fs::write(r.join("q/p/pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
            dir(r, "q/p")
        },
        inputs: |r, i| {
            fenced(r, i);
            i.tools.uv_project_environment = Some("uvenv".into());
        },
        chosen: Some("q/.venv"),
        source: "project",
        skipped: &["uv ", "/q/p/uvenv: "],
    },
    Case {
        name: "nothing anywhere: no environment, the fence is noted",
        tree: |r| dir(r, "p/sub"),
        inputs: fenced,
        chosen: None,
        source: "",
        skipped: &["VENVEXEC_CEILING_DIRS", "stopped below it"],
    },
];

fn check(case: &Case) -> Result<(), String> {
    let tmp = tempfile::Builder::new()
        .prefix("venvexec-resolve")
        .tempdir()
        .unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    let cwd = (case.tree)(&root);
    let mut inp = Inputs::in_dir(&cwd);
    (case.inputs)(&root, &mut inp);
    let res: Resolution = resolve(&inp).map_err(|e| format!("explicit error: {e}"))?;
    let got = res.found.as_ref().map(|f| f.env.root.clone());
    let want = case.chosen.map(|c| root.join(c));
    if got != want {
        return Err(format!("chose {got:?}, expected {want:?}; {res:?}"));
    }
    if let Some(found) = &res.found
        && found.source.key() != case.source
    {
        return Err(format!(
            "source {:?}, expected {}",
            found.source, case.source
        ));
    }
    let lines: Vec<String> = res.skipped.iter().map(|s| s.to_string()).collect();
    let mut words = case.skipped.iter();
    if let Some(first) = words.next() {
        let hit = lines.iter().find(|l| l.contains(first));
        let Some(line) = hit else {
            return Err(format!("no skip mentions {first:?}: {lines:?}"));
        };
        for w in words {
            if !line.contains(w) {
                return Err(format!("skip {line:?} does not say {w:?}"));
            }
        }
    } else if !lines.is_empty() {
        return Err(format!("unexpected skips: {lines:?}"));
    }
    Ok(())
}

#[test]
fn the_resolution_order_row_by_row() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_project_source_says_which_convention() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    env(&root, "p/venv");
    let mut inp = Inputs::in_dir(root.join("p"));
    fenced(&root, &mut inp);
    let res = resolve(&inp).unwrap();
    assert_eq!(
        res.found.unwrap().source,
        Source::Project {
            dir: root.join("p"),
            via: Via::Dir("venv".into())
        }
    );
}

/// `which -v`'s "checked" lines come from the order itself: one per
/// source, in the contract's order, the walk's conventions in theirs.
#[test]
fn the_checked_lines_follow_the_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    let cwd = dir(&root, "p");
    let mut inp = Inputs::in_dir(&cwd);
    fenced(&root, &mut inp);
    inp.virtual_env = os(root.join("gone"));
    let res = resolve(&inp).unwrap();
    let lines = explain(&inp, &res);
    let starts: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("    "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "--venv",
            "VENVEXEC_DISABLE",
            "VENVEXEC_VENV",
            "VIRTUAL_ENV",
            "CONDA_PREFIX",
            "project",
            "inherited"
        ],
        "{lines:#?}"
    );
    let project = lines.iter().find(|l| l.contains("project: ")).unwrap();
    assert!(
        project.contains(
            ".venv, venv, uv, pdm, poetry, pipenv, pyenv-virtualenv, in each directory from"
        ),
        "{project}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  skipped: VIRTUAL_ENV ") && l.ends_with("(stale)")),
        "{lines:#?}"
    );
}
