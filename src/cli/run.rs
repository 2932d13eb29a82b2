//! `venvexec [--venv DIR] [--] CMD [ARGS…]`: run a command inside the
//! environment meant here.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::exec::{self, Activation};
use crate::fail::{self, Fail};
use crate::init;
use crate::resolve::{self, Found, Inputs, Resolution};
use crate::shim::{self, InEnv};
use crate::venv::{self, FileId};

pub fn run(
    venv: Option<OsString>,
    cmd: Vec<OsString>,
    init: bool,
    no_init: bool,
) -> anyhow::Result<u8> {
    let name = shim_name(&cmd);
    run_in_env(venv, cmd, init, no_init).map_err(|e| match e.downcast::<Fail>() {
        Ok(f) => fail::with_which_hint(f, &name).into(),
        Err(other) => other,
    })
}

/// The shim whose decision `which -v` should explain for CMD: its name, or
/// `python` for a script or a path (those run with the environment's
/// python, or on their own).
fn shim_name(cmd: &[OsString]) -> OsString {
    match cmd.first() {
        Some(first)
            if !first.is_empty()
                && !first.as_encoded_bytes().contains(&b'/')
                && !first.as_encoded_bytes().ends_with(b".py") =>
        {
            first.clone()
        }
        _ => "python".into(),
    }
}

fn run_in_env(
    venv: Option<OsString>,
    cmd: Vec<OsString>,
    init: bool,
    no_init: bool,
) -> anyhow::Result<u8> {
    let mut inputs = Inputs::from_process(venv);
    // What will run from the environment: a bare name from its bin/, else
    // its python; the safety checks cover that file.
    inputs.program = cmd
        .first()
        .filter(|c| !c.as_encoded_bytes().contains(&b'/'))
        .cloned();
    let res = resolve::resolve(&inputs).map_err(Fail::from)?;
    let cwd = inputs.cwd().ok();
    let Some(found) = res.found.as_ref() else {
        let mut fail = no_environment(&inputs, &res);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let runs = |c: &&OsString| on_path(c, &path, cwd, exec::self_id()).is_some();
        if let Some(hint) = cmd.first().filter(|c| !runs(c)).and_then(typo_hint) {
            fail.message.push_str(&hint);
        }
        return Err(fail.into());
    };
    let (program, args) = choose(found, &cmd, cwd)?;
    if !inputs.quiet {
        shim::warn(&res, Some(&program));
    }
    let env = exec::child_env(&Activation::Env(&found.env));
    if init::wanted(init, no_init) {
        return Ok(init::supervise(&program, &args, &env.pairs())?);
    }
    let err = exec::exec(&program, &args, env);
    Err(exec::cannot_run(&program, &err).into())
}

/// "No environment here", with what was checked and skipped: the user
/// must be able to see why their venv was not picked.
pub fn no_environment(inputs: &Inputs, res: &Resolution) -> Fail {
    let mut msg = String::from("no Python environment found here");
    for line in resolve::explain(inputs, res) {
        msg.push('\n');
        msg.push_str(&line);
    }
    msg.push_str("\n  hint: create one with `python3 -m venv .venv`, or name one with --venv DIR or VENVEXEC_VENV=DIR");
    Fail::new(fail::NOT_FOUND, msg)
}

/// Which program runs CMD, and with which arguments.
///
/// - `x.py`, or a path to a file that is not executable: the environment's
///   `python`, with the file as its script.
/// - another path: that program itself (its shebang decides).
/// - a name in `ENV/bin`: that one.
/// - a non-executable file of that name here: `python NAME`.
/// - anything else: looked up on the activated PATH.
fn choose(
    found: &Found,
    cmd: &[OsString],
    cwd: Option<&Path>,
) -> Result<(PathBuf, Vec<OsString>), Fail> {
    let (first, rest) = cmd
        .split_first()
        .ok_or_else(|| Fail::new(fail::USAGE, "no command given after `--`"))?;
    if first.is_empty() {
        return Err(Fail::new(fail::NOT_FOUND, "the command is an empty string"));
    }
    let me = exec::self_id();
    let bytes = first.as_encoded_bytes();
    // `bin/python`, else `bin/python3`: either makes a directory an
    // environment (venv::probe), so either runs its scripts.
    let interpreter = found.env.python();
    let interpreter = interpreter.file_name().unwrap_or("python".as_ref());
    let with_python = |script: &OsString| -> Result<(PathBuf, Vec<OsString>), Fail> {
        let python = match shim::plan_in_env(interpreter, found, me) {
            InEnv::Run(python) => python,
            InEnv::Fail(fail) => return Err(fail),
            // Not reached: python and python3 must come from the environment.
            InEnv::LookElsewhere => {
                return Err(Fail::new(
                    fail::NOT_FOUND,
                    format!("the environment {} has no python", found.env.root.display()),
                ));
            }
        };
        let mut args = vec![script.clone()];
        args.extend_from_slice(rest);
        Ok((python, args))
    };
    if bytes.ends_with(b".py") {
        return with_python(first);
    }
    if bytes.contains(&b'/') {
        let meta = fs::metadata(first).map_err(|e| {
            Fail::new(
                exec::exit_code_for(&e),
                format!("{}: {e}", Path::new(first).display()),
            )
        })?;
        if meta.is_file() && meta.mode() & 0o111 == 0 {
            return with_python(first);
        }
        return Ok((absolute(Path::new(first), cwd), rest.to_vec()));
    }
    // The shim's own decision: broken entries and a missing python or pip
    // are errors (never the system's), other missing names look further.
    match shim::plan_in_env(first, found, me) {
        InEnv::Run(program) => return Ok((program, rest.to_vec())),
        InEnv::Fail(fail) => return Err(fail),
        InEnv::LookElsewhere => {}
    }
    if fs::metadata(first).is_ok_and(|m| m.is_file() && m.mode() & 0o111 == 0) {
        return with_python(first);
    }
    let path = exec::activated_path(&found.env.bin(), std::env::var_os("PATH").as_deref());
    on_path(first, &path, cwd, me)
        .map(|p| (p, rest.to_vec()))
        .ok_or_else(|| {
            Fail::new(
                fail::NOT_FOUND,
                format!(
                    "{}: command not found in {} or on PATH{}",
                    Path::new(first).display(),
                    found.env.bin().display(),
                    typo_hint(first).unwrap_or_default()
                ),
            )
        })
}

/// CMD on the activated PATH, as a shell inside the environment would find
/// it: the `which` crate's search (off the hot path, so its generality
/// costs nothing that matters), minus this binary, so a shims dir on PATH
/// does not hand the command back to us.
fn on_path(name: &OsStr, path: &OsStr, cwd: Option<&Path>, me: Option<FileId>) -> Option<PathBuf> {
    let cwd = cwd.map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    which::which_in_all(name, Some(path), &cwd)
        .ok()?
        .find(|p| me.is_none() || fs::metadata(p).map(|m| venv::file_id(&m)).ok() != me)
}

/// For a command that runs nothing: the subcommand it was likely meant
/// to be (`venvexec doctr`).
fn typo_hint(cmd: &OsString) -> Option<String> {
    let name = super::suggest(cmd)?;
    Some(format!("\n  hint: did you mean 'venvexec {name}'?"))
}

fn absolute(p: &Path, cwd: Option<&Path>) -> PathBuf {
    match cwd {
        Some(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    }
}
