//! `venvexec doctor [--json]`: is this machine set up so that `python`
//! means what the user thinks? Each check is a line with a fix.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::shims;
use crate::exec;
use crate::fail;
use crate::json;
use crate::resolve::{self, Concern, Found, Inputs, Resolution};
use crate::venv::{self, Tool};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Machine-readable output
    #[arg(long)]
    json: bool,
    /// The shims directory to check [default: the one `python` on PATH goes
    /// through, else as `venvexec shims dir`]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

fn check(
    name: &'static str,
    status: Status,
    message: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        name,
        status,
        message: message.into(),
        fix,
    }
}

pub fn run(venv: Option<OsString>, args: Args) -> anyhow::Result<u8> {
    let inputs = Inputs::from_process(venv);
    let shims_dir = args
        .dir
        .clone()
        .or_else(shims_in_use)
        .or_else(shims::default_dir);
    let mut checks = Vec::new();
    match shims_dir.as_deref() {
        Some(dir) => {
            shims_first_on_path(dir, &mut checks);
            shim_links(dir, &mut checks);
        }
        None => checks.push(check(
            "shims",
            Status::Fail,
            "cannot tell where the shims directory is (HOME unset?)",
            Some("set VENVEXEC_SHIMS_DIR or pass --dir".into()),
        )),
    }
    match resolve::resolve(&inputs) {
        Ok(res) => {
            environment(&inputs, &res, &mut checks);
            strict(&inputs, &mut checks);
            skipped(&res, &mut checks);
            activation_elsewhere(&inputs, &res, &mut checks);
            if let Some(found) = &res.found {
                interpreter(found, &mut checks);
                config(found, &mut checks);
            }
        }
        Err(e) => checks.push(check("environment", Status::Fail, e.to_string(), None)),
    }
    check_variables(&mut checks);

    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if args.json {
        outln!("{}", to_json(&checks, !failed));
    } else {
        for c in &checks {
            outln!("{:<5} {}: {}", c.status.word(), c.name, c.message);
            if let Some(fix) = &c.fix {
                outln!("      fix: {fix}");
            }
        }
    }
    Ok(if failed { fail::FAILURE } else { 0 })
}

/// The directory of the first `python` on PATH, when that is this binary:
/// the shims a shell-out really goes through (a `shims install --dir`
/// elsewhere, a container's `/usr/local/venvexec/shims`), whatever the
/// default directory is.
fn shims_in_use() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let python = first_python(&path)?;
    let id = venv::file_id(&fs::metadata(&python).ok()?);
    if Some(id) != exec::self_id() {
        return None;
    }
    python.parent().map(Path::to_path_buf)
}

/// Is the shims directory on PATH, and is its `python` the first one?
fn shims_first_on_path(dir: &Path, out: &mut Vec<Check>) {
    let me = exec::self_id();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path).any(|e| same_dir(&e, dir));
    // The first `python` on PATH decides what a shell-out runs.
    let first_python = first_python(&path);
    let first_is_ours = first_python
        .as_ref()
        .and_then(|p| fs::metadata(p).ok())
        .is_some_and(|m| Some(venv::file_id(&m)) == me);
    let export = format!("export PATH=\"{}:$PATH\"", dir.display());
    if !on_path {
        out.push(check(
            "path",
            Status::Fail,
            format!("the shims directory {} is not on PATH", dir.display()),
            Some(format!("add to your shell profile: {export}")),
        ));
    } else if !first_is_ours {
        let other = first_python.map_or("nothing".into(), |p| p.display().to_string());
        out.push(check(
            "path",
            Status::Fail,
            format!(
                "`python` on PATH is {other}, which comes before the shims in {}",
                dir.display()
            ),
            Some(format!("put the shims first: {export}")),
        ));
    } else {
        out.push(check(
            "path",
            Status::Ok,
            format!("the shims in {} come first on PATH", dir.display()),
            None,
        ));
    }
}

/// The first `python` on `path`, as a shell here would find it: the
/// `which` crate's search, as `venvexec run` uses (off the hot path, so
/// its generality costs nothing that matters). Relative entries are taken
/// from the working directory; without one they stay relative.
fn first_python(path: &OsStr) -> Option<PathBuf> {
    match std::env::current_dir() {
        Ok(cwd) => which::which_in("python", Some(path), cwd).ok(),
        Err(_) => which::which_in_global("python", Some(path)).ok()?.next(),
    }
}

/// Does every shim in the directory point at this binary?
fn shim_links(dir: &Path, out: &mut Vec<Check>) {
    let me = exec::self_id();
    // An unreadable directory counts as holding no shims: the check below
    // says so, with the fix.
    let ours = shims::entries(dir).unwrap_or_default();
    for (_, p, _) in &ours {
        let meta = fs::metadata(p);
        if meta.as_ref().is_ok_and(|m| Some(venv::file_id(m)) == me) {
            continue;
        }
        let broken = meta.is_err();
        out.push(check(
            "shim",
            if broken { Status::Fail } else { Status::Warn },
            format!(
                "{} points at {}{}",
                p.display(),
                fs::read_link(p).unwrap_or_default().display(),
                if broken {
                    ", which does not exist"
                } else {
                    ", not at this venvexec"
                }
            ),
            Some(format!(
                "venvexec shims install --dir {}",
                shell_words::quote(&dir.to_string_lossy())
            )),
        ));
    }
    let count = ours.len();
    if count == 0 {
        out.push(check(
            "shims",
            Status::Fail,
            format!("no venvexec shims in {}", dir.display()),
            Some("venvexec shims install".into()),
        ));
    } else {
        out.push(check(
            "shims",
            Status::Ok,
            format!("{count} shims in {}", dir.display()),
            None,
        ));
    }
}

/// Which environment `python` uses here, and why.
fn environment(inputs: &Inputs, res: &Resolution, out: &mut Vec<Check>) {
    match &res.found {
        Some(found) => out.push(check(
            "environment",
            Status::Ok,
            format!("{} ({})", found.env.root.display(), found.source),
            None,
        )),
        None if res.disabled => out.push(check(
            "environment",
            Status::Warn,
            "VENVEXEC_DISABLE is set: the shims pass every call through",
            Some("unset VENVEXEC_DISABLE".into()),
        )),
        None if inputs.strict => out.push(check(
            "environment",
            Status::Fail,
            "none here, and VENVEXEC_STRICT is set: `python` fails (exit 127)",
            Some(
                "create one with `python3 -m venv .venv`, or name one with VENVEXEC_VENV=DIR"
                    .into(),
            ),
        )),
        None => out.push(check(
            "environment",
            Status::Ok,
            "none here: `python` runs the next one on PATH",
            None,
        )),
    }
}

fn strict(inputs: &Inputs, out: &mut Vec<Check>) {
    if inputs.strict {
        out.push(check(
            "strict",
            Status::Ok,
            "VENVEXEC_STRICT is set: python, python3, pip and pip3 (and their 3.N names) never fall through",
            None,
        ));
    }
}

/// The skips that change what `python` means here.
fn skipped(res: &Resolution, out: &mut Vec<Check>) {
    // A refusal, or a walk that could not look, means `python` here is not
    // what the directory holds: a failure. A stale activation is only a
    // leftover in this shell.
    for skip in &res.skipped {
        let (status, fix) = match &skip.concern {
            Concern::None => continue,
            Concern::Untrusted { trust, .. } => (
                Status::Fail,
                Some(format!(
                    "if you trust it: export VENVEXEC_SAFE_DIRS={}",
                    trust.display()
                )),
            ),
            Concern::WalkError => (
                Status::Fail,
                Some(
                    "run from a directory you can read, or name the environment with VENVEXEC_VENV"
                        .into(),
                ),
            ),
            Concern::Stale => (Status::Warn, Some(resolve::deactivate_hint(skip.source))),
        };
        out.push(check("skipped", status, skip.to_string(), fix));
    }
}

/// VIRTUAL_ENV pointing somewhere else than the project here: the classic
/// "activated in another terminal tab" mistake.
fn activation_elsewhere(inputs: &Inputs, res: &Resolution, out: &mut Vec<Check>) {
    if let Some(found) = res
        .found
        .as_ref()
        .filter(|f| f.source == resolve::Source::VirtualEnv)
    {
        let project = Inputs {
            virtual_env: None,
            conda_prefix: None,
            venv_var: None,
            venv_flag: None,
            inherit: false,
            ..inputs.clone()
        };
        if let Ok(Some(p)) = resolve::resolve(&project).map(|r| r.found)
            && p.env.root != found.env.root
        {
            out.push(check(
                "activated",
                Status::Warn,
                format!(
                    "VIRTUAL_ENV is {}, but this project's environment is {}",
                    found.env.root.display(),
                    p.env.root.display()
                ),
                Some("run `deactivate`, or activate the project's environment".into()),
            ));
        }
    }
}

/// Can the environment's interpreter run?
fn interpreter(found: &Found, out: &mut Vec<Check>) {
    let root = &found.env.root;
    match venv::find_tool(&found.env.bin(), "python".as_ref(), None) {
        Tool::Runnable(_) => {}
        Tool::Missing(_) => match venv::find_tool(&found.env.bin(), "python3".as_ref(), None) {
            Tool::Runnable(_) => {}
            other => interpreter_problem(other, root, out),
        },
        other => interpreter_problem(other, root, out),
    }
}

/// Will CPython accept the environment's `pyvenv.cfg`, and does it isolate?
fn config(found: &Found, out: &mut Vec<Check>) {
    let root = &found.env.root;
    if let Some(cfg) = found.env.config() {
        match venv::read_config(&cfg) {
            Ok(venv::Config {
                problem: Some(why), ..
            }) => out.push(check(
                "config",
                Status::Fail,
                format!("{} {why}", cfg.display()),
                recreate(root),
            )),
            Ok(c) if c.include_system_site_packages == Some(true) => out.push(check(
                "isolation",
                Status::Warn,
                format!(
                    "{} has include-system-site-packages = true: system packages leak in",
                    cfg.display()
                ),
                Some("recreate it without --system-site-packages if that is not meant".into()),
            )),
            Ok(_) => {}
            Err(e) => out.push(check(
                "config",
                Status::Fail,
                format!("cannot read {}: {e}", cfg.display()),
                recreate(root),
            )),
        }
    }
}

fn interpreter_problem(tool: Tool, root: &Path, out: &mut Vec<Check>) {
    let message = match tool {
        Tool::Dangling { path, target } => format!(
            "{} is a broken link: {} does not exist",
            path.display(),
            target.display()
        ),
        Tool::Missing(path) => format!("{} does not exist", path.display()),
        Tool::NotRunnable { path, why } => format!("{} {why}", path.display()),
        Tool::IsSelf(path) => format!("{} is a venvexec shim", path.display()),
        Tool::Runnable(_) => return,
    };
    out.push(check("interpreter", Status::Fail, message, recreate(root)));
}

/// The fix for an environment whose interpreter or config is broken.
fn recreate(root: &Path) -> Option<String> {
    Some(format!(
        "recreate the venv: {}",
        venv::recreate_command(root)
    ))
}

fn check_variables(out: &mut Vec<Check>) {
    for (var, why) in [
        (
            "PYTHONHOME",
            "points every Python at one prefix; the shims drop it for the interpreters they run, other programs still see it",
        ),
        (
            "PYTHONPATH",
            "adds directories to every Python's import path, venv or not",
        ),
    ] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            out.push(check(
                "variables",
                Status::Warn,
                format!("{var}={} is set: it {why}", Path::new(&v).display()),
                Some(format!("unset {var}")),
            ));
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Stable shape: `{"ok": bool, "checks": [{"name", "status": "ok"|"warn"|"fail", "message", "fix"}]}`.
fn to_json(checks: &[Check], ok: bool) -> String {
    let items: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{{\"name\":{},\"status\":{},\"message\":{},\"fix\":{}}}",
                json::string(c.name),
                json::string(c.status.word()),
                json::string(&c.message),
                c.fix.as_deref().map_or("null".into(), json::string)
            )
        })
        .collect();
    format!("{{\"ok\":{ok},\"checks\":[{}]}}", items.join(","))
}
