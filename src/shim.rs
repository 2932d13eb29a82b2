//! The shim face: started as `python`, `pip`, …, decide and exec.
//!
//! This runs on every `python` call on the machine, so it does only what
//! the decision needs: read a few variables, walk up from the working
//! directory, exec. No clap, no config files, no process spawned.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::chain;
use crate::exec::{self, Activation};
use crate::fail::{self, Fail};
use crate::resolve::{self, Found, Inputs, Resolution};
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

pub fn main(name: &OsStr, args: Vec<OsString>) -> ! {
    let inputs = Inputs::from_process(None);
    let cwd = inputs.cwd.as_deref().ok();
    let chain = chain::Chain::new(
        std::env::var_os(chain::DEPTH_VAR).as_deref(),
        std::env::var_os(chain::PASSED_VAR).as_deref(),
        exec::self_id(),
        chain::hop_hash(name, &args, cwd),
        chain::Facts::now,
    );
    if chain.is_loop() {
        fail::exit(&loop_stopped(name, chain.depth));
    }
    let plan = match resolve::resolve(&inputs) {
        Ok(res) => plan(name, &res, &chain, std::env::var_os("PATH").as_deref(), cwd),
        Err(e) => Plan::Fail(e.fail_for(name)),
    };
    let fail = match plan {
        Plan::InEnv { found, program } => {
            let env = exec::child_env(&Activation::Env(&found.env));
            let err = exec::exec(&program, &args, &env);
            exec::cannot_run(&program, &err)
        }
        Plan::FallThrough { program } => {
            let script = crate::platform::is_script(&program);
            let env = exec::child_env(&Activation::FallThrough {
                chain: chain.fall_through_vars(&chain::Facts::now(), script),
            });
            let err = exec::exec(&program, &args, &env);
            exec::cannot_run(&program, &err)
        }
        Plan::Fail(f) => f,
    };
    fail::exit(&fail)
}

/// The decision, shared by the shim and `venvexec which`.
pub fn plan(
    name: &OsStr,
    res: &Resolution,
    chain: &chain::Chain,
    path_var: Option<&OsStr>,
    cwd: Option<&Path>,
) -> Plan {
    let Some(found) = &res.found else {
        return fall_through(name, path_var, cwd, &chain.passed);
    };
    match plan_in_env(name, found, chain.me()) {
        InEnv::Run(program) => Plan::InEnv {
            found: found.clone(),
            program,
        },
        InEnv::Fail(fail) => Plan::Fail(fail),
        // A console script the environment lacks: activation would find the
        // next one on PATH too, so do the same.
        InEnv::LookElsewhere => fall_through(name, path_var, cwd, &chain.passed),
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
