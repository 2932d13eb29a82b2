//! The shim face: started as `python`, `pip`, …, decide and exec.
//!
//! This runs on every `python` call on the machine, so it does only what
//! the decision needs: read a few variables, walk up from the working
//! directory, exec. No clap, no config files, no process spawned.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::chain;
use crate::exec::{self, Activation};
use crate::fail::{self, Fail};
use crate::platform::environ::{self, Vars};
use crate::resolve::{self, Concern, Found, Inputs, Resolution};
use crate::venv::{self, FileId, Tool};

/// What the shim for a name will do. `which` prints this same value.
#[derive(Debug)]
pub enum Plan {
    /// Run `program` from the environment that was found.
    InEnv {
        found: Found,
        program: PathBuf,
    },
    /// No environment wants this call: run the next `name` on PATH.
    FallThrough {
        program: PathBuf,
    },
    Fail(Fail),
}

pub fn main(name: &OsStr, args: &[&OsStr]) -> ! {
    let vars = Vars::process();
    let mut inputs = Inputs::from_vars(None, &vars);
    inputs.program = Some(name.to_os_string());
    let chain = chain::Chain::new(
        vars.get(chain::DEPTH_VAR),
        vars.get(chain::PASSED_VAR),
        exec::self_id(),
        || chain::hop_hash(name, args, inputs.cwd().ok()),
        chain::Facts::now,
    );
    let (res, plan) = if chain.is_loop() {
        let stopped = Plan::Fail(loop_stopped(name, chain.depth));
        (Resolution::default(), stopped)
    } else {
        decide(name, &inputs, &chain, vars.get("PATH"))
    };
    tell(name, &inputs, &res, &plan);
    if let (Plan::FallThrough { program }, Some(found), false) = (&plan, &res.found, inputs.quiet) {
        warn_other_version(name, found, program);
    }
    let fail = match plan {
        Plan::InEnv { found, program } => {
            let activation = Activation::Env(&found.env);
            let env = exec::child_env_with(&vars, environ::process_block(), &activation);
            let err = exec::exec(&program, args, env);
            exec::cannot_run(&program, &err)
        }
        Plan::FallThrough { program } => {
            let script = crate::platform::is_script(&program);
            let activation = Activation::FallThrough {
                chain: chain.fall_through_vars(
                    &chain::Facts::now(),
                    chain::hop_hash(name, args, inputs.cwd().ok()),
                    script,
                ),
            };
            let env = exec::child_env_with(&vars, environ::process_block(), &activation);
            let err = exec::exec(&program, args, env);
            exec::cannot_run(&program, &err)
        }
        Plan::Fail(f) => f,
    };
    fail::exit(&fail::with_which_hint(fail, name))
}

/// What the shim for `name` does here, and the resolution behind it: the
/// order, strict mode, then [`plan`]. `venvexec which` shows this very
/// value.
/// `path_var`: the PATH a fall-through searches.
pub fn decide(
    name: &OsStr,
    inputs: &Inputs,
    chain: &chain::Chain,
    path_var: Option<&OsStr>,
) -> (Resolution, Plan) {
    let res = match resolve::resolve(inputs) {
        Ok(res) => res,
        Err(e) => return (Resolution::default(), Plan::Fail(e.fail_for(name))),
    };
    if strict_refuses(name, inputs, &res) {
        let fail = strict_refusal(name, inputs, &res);
        return (res, Plan::Fail(fail));
    }
    let plan = plan(name, &res, chain, path_var, inputs);
    (res, plan)
}

/// `VENVEXEC_STRICT`: these names never fall through to another Python.
/// `VENVEXEC_DISABLE` still does (it is the documented way to reach the
/// system's Python once), and console scripts fall through as activation
/// would let them.
fn strict_refuses(name: &OsStr, inputs: &Inputs, res: &Resolution) -> bool {
    inputs.strict && res.found.is_none() && !res.disabled && venv::is_python_family(name)
}

/// No environment in strict mode: exit 127 with the whole explanation,
/// since a CI log or a service's journal is all the user will see.
fn strict_refusal(name: &OsStr, inputs: &Inputs, res: &Resolution) -> Fail {
    let shown = name.display();
    let mut msg = format!(
        "{shown}: no Python environment found here, and VENVEXEC_STRICT is set: {shown} does not fall through to another Python"
    );
    for line in resolve::explain(inputs, res) {
        msg.push('\n');
        msg.push_str(&line);
    }
    msg.push_str(
        "\n  hint: create one with `python3 -m venv .venv`, name one with VENVEXEC_VENV=DIR, or unset VENVEXEC_STRICT",
    );
    Fail::new(fail::NOT_FOUND, msg)
}

/// What the user must hear before the call goes on: the warnings, then the
/// decision log's record. Neither can stop the call.
fn tell(name: &OsStr, inputs: &Inputs, res: &Resolution, plan: &Plan) {
    // A strict refusal already lists every skip.
    let explained = matches!(plan, Plan::Fail(_)) && strict_refuses(name, inputs, res);
    if !inputs.quiet && !explained {
        warn(res, plan.program());
    }
    if let Some(log) = &inputs.log
        && let Err(e) = crate::log::record(log, name, inputs, res, plan)
        && !inputs.quiet
    {
        errln!(
            "venvexec: warning: cannot write the decision log {}: {e}",
            Path::new(log).display()
        );
    }
}

/// One `venvexec: warning: …` line for each skip that changed what the
/// user meant (see [`resolve::Concern`]); `running` is what runs instead.
/// A walk that failed is said once: the first error is the cause.
pub fn warn(res: &Resolution, running: Option<&Path>) {
    let mut walk_error_said = false;
    for skip in &res.skipped {
        if skip.concern == Concern::WalkError {
            if walk_error_said {
                continue;
            }
            walk_error_said = true;
        }
        if let Some(w) = skip.warning(running) {
            errln!("venvexec: warning: {w}");
        }
    }
}

impl Plan {
    /// The program the call goes on to run, if any.
    pub fn program(&self) -> Option<&Path> {
        match self {
            Plan::InEnv { program, .. } | Plan::FallThrough { program } => Some(program),
            Plan::Fail(_) => None,
        }
    }
}

/// The decision once the resolution is known (strict mode aside: see
/// [`decide`]).
pub fn plan(
    name: &OsStr,
    res: &Resolution,
    chain: &chain::Chain,
    path_var: Option<&OsStr>,
    inputs: &Inputs,
) -> Plan {
    // A relative PATH entry is taken from the working directory.
    let cwd = || inputs.cwd().ok();
    let Some(found) = &res.found else {
        return fall_through(name, path_var, cwd(), &chain.passed);
    };
    match plan_in_env(name, found, chain.me()) {
        InEnv::Run(program) => Plan::InEnv {
            found: found.clone(),
            program,
        },
        InEnv::Fail(fail) => Plan::Fail(fail),
        // A console script the environment lacks: activation would find the
        // next one on PATH too, so do the same.
        InEnv::LookElsewhere => match fall_through(name, path_var, cwd(), &chain.passed) {
            Plan::Fail(f) => Plan::Fail(no_other_version(name, found).unwrap_or(f)),
            p => p,
        },
    }
}

/// What `ENV/bin/NAME` means for a call, for the shim and the runner alike.
#[derive(Debug)]
pub enum InEnv {
    /// Run this program.
    Run(PathBuf),
    /// Missing, and not a name that must come from the environment: the
    /// caller may look elsewhere, as activation would.
    LookElsewhere,
    /// Missing from the environment although it must come from there, or
    /// there but not runnable.
    Fail(Fail),
}

/// `ENV/bin/NAME`, decided: see [`InEnv`].
pub fn plan_in_env(name: &OsStr, found: &Found, me: Option<FileId>) -> InEnv {
    let shown = name.display();
    let env_root = found.env.root.display();
    let fail = match venv::find_tool(&found.env.bin(), name, me) {
        Tool::Runnable(program) => return InEnv::Run(program),
        // `python3.11` in a 3.12 environment asks for another interpreter,
        // as `py -3.11` does: the next one on PATH, with a warning.
        Tool::Missing(_) if other_version(name, found).is_some() => return InEnv::LookElsewhere,
        Tool::Missing(path) if venv::is_python_family(name) => Fail::new(
            fail::NOT_FOUND,
            format!(
                "{shown}: not found in the environment {env_root} (chosen by {})\n  \
                 hint: {} does not exist; install it into that environment, choose another with VENVEXEC_VENV, \
                 or run with VENVEXEC_DISABLE=1 to use the system's",
                found.source,
                path.display()
            ),
        ),
        Tool::Missing(_) => return InEnv::LookElsewhere,
        Tool::Dangling { path, target } => Fail::new(
            fail::NOT_RUNNABLE,
            format!(
                "{shown}: {} is a broken link: {} does not exist (environment {env_root}, chosen by {})\n  \
                 hint: the Python it was made from was removed or upgraded; recreate the venv: {}",
                path.display(),
                target.display(),
                found.source,
                venv::recreate_command(&found.env.root)
            ),
        ),
        Tool::NotRunnable { path, why } => Fail::new(
            fail::NOT_RUNNABLE,
            format!(
                "{shown}: {} {why} (environment {env_root}, chosen by {})\n  hint: repair or recreate the environment",
                path.display(),
                found.source
            ),
        ),
        Tool::IsSelf(path) => Fail::new(
            fail::NOT_RUNNABLE,
            format!(
                "{shown}: {} is a venvexec shim, not an interpreter (environment {env_root}, chosen by {})\n  \
                 hint: point VENVEXEC_VENV at a real virtual environment, not at the shims directory",
                path.display(),
                found.source
            ),
        ),
    };
    InEnv::Fail(fail)
}

/// The environment's Python version, when NAME asks for another one
/// (`python3.11` in a 3.12 venv). Read from `pyvenv.cfg` only
/// here, when `ENV/bin/NAME` is already known to be missing; an
/// environment without one (conda) does not tell, and NAME stays an error.
pub fn other_version(name: &OsStr, found: &Found) -> Option<String> {
    let wanted = venv::requested_minor(name)?;
    let cfg = venv::read_config(&found.env.config()?).ok()?;
    let have = cfg.version?;
    let minor = venv::minor_of(&have)?;
    (minor != wanted).then_some(have)
}

/// A versioned name that left the environment and found nothing on PATH:
/// say which environment it left, and why.
fn no_other_version(name: &OsStr, found: &Found) -> Option<Fail> {
    let have = other_version(name, found)?;
    Some(Fail::new(
        fail::NOT_FOUND,
        format!(
            "{}: command not found: the environment {} (chosen by {}) is Python {have}, and no other {} is on PATH\n  \
             hint: install that Python, or run `python` for the environment's own",
            name.display(),
            found.env.root.display(),
            found.source,
            name.display()
        ),
    ))
}

/// One line on stderr when a versioned name leaves the chosen environment.
fn warn_other_version(name: &OsStr, found: &Found, program: &Path) {
    let Some(have) = other_version(name, found) else {
        return;
    };
    crate::fail::warn(&format!(
        "{}: the environment {} ({}) is Python {have}: running {} instead",
        name.display(),
        found.env.root.display(),
        found.source,
        program.display()
    ));
}

fn fall_through(
    name: &OsStr,
    path_var: Option<&OsStr>,
    cwd: Option<&Path>,
    skip: &[FileId],
) -> Plan {
    // An unset PATH searches the default, as `execvp` does (glibc's
    // `confstr(_CS_PATH)`): a cron job or `env -i` still reaches the
    // system's `python`. An empty PATH is set, and means the current
    // directory, as it does for the shell.
    let path_var = path_var.or(Some(OsStr::new(crate::platform::DEFAULT_PATH)));
    match exec::find_on_path(name, path_var, cwd, skip) {
        Some(program) => Plan::FallThrough { program },
        None => Plan::Fail(Fail::new(
            fail::NOT_FOUND,
            format!("{}: command not found", name.display()),
        )),
    }
}

/// The second line of defence against loops (see [`chain`]): a wrapper
/// later on PATH that runs `python` again comes straight back here.
fn loop_stopped(name: &OsStr, depth: u32) -> Fail {
    Fail::new(
        fail::NOT_RUNNABLE,
        format!(
            "{}: stopped a loop: the same call came back through the shim {depth} times\n  \
             hint: something on PATH after the shims directory runs `{}` again; remove it or set VENVEXEC_DISABLE=1",
            name.display(),
            name.display()
        ),
    )
}
