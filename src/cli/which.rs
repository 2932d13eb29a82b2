//! `venvexec which [NAME] [-v] [--json]`: what the shim for NAME would run
//! here, and why. It renders the very `Plan` the shim acts on.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::chain::Chain;
use crate::exec;
use crate::fail::{self, Fail};
use crate::json;
use crate::resolve::{self, Inputs, Resolution};
use crate::shim::{self, Plan};
use crate::venv;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shim name to ask about
    #[arg(default_value = "python")]
    name: OsString,
    /// Also print the reason, and every source that was skipped
    #[arg(short, long)]
    verbose: bool,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

pub fn run(venv: Option<OsString>, args: Args) -> anyhow::Result<u8> {
    let n = args.name.as_encoded_bytes();
    if n.is_empty() || n == b"." || n == b".." || n.contains(&b'/') {
        return Err(Fail::new(
            fail::USAGE,
            format!(
                "which: {:?} is not a command name\n  hint: give a plain name such as python, python3.12 or pip",
                args.name
            ),
        )
        .into());
    }
    let mut inputs = Inputs::from_process(venv);
    inputs.program = Some(args.name.clone());
    let path_var = std::env::var_os("PATH");
    let (res, plan) = shim::decide(
        &args.name,
        &inputs,
        &Chain::start(exec::self_id()),
        path_var.as_deref(),
    );
    let on_path = on_path(&args.name, inputs.cwd().ok());
    if args.json {
        outln!("{}", to_json(&args.name, &inputs, &res, &plan, &on_path));
    } else {
        print_text(&args.name, &inputs, &res, &plan, &on_path, args.verbose);
    }
    Ok(match &plan {
        Plan::Fail(f) => f.code,
        _ => 0,
    })
}

/// The first NAME on PATH, which is what a shell-out runs, and whether it
/// is this venvexec (a shim) or something ahead of the shims.
struct OnPath {
    program: Option<PathBuf>,
    is_this: bool,
}

fn on_path(name: &OsStr, cwd: Option<&Path>) -> OnPath {
    let path = std::env::var_os("PATH");
    let program = exec::find_on_path(name, path.as_deref(), cwd, &[]);
    let me = exec::self_id();
    let is_this = me.is_some()
        && program
            .as_ref()
            .and_then(|p| fs::metadata(p).ok())
            .is_some_and(|m| Some(venv::file_id(&m)) == me);
    OnPath { program, is_this }
}

fn print_text(
    name: &OsStr,
    inputs: &Inputs,
    res: &Resolution,
    plan: &Plan,
    on_path: &OnPath,
    verbose: bool,
) {
    match plan {
        Plan::InEnv { program, .. } | Plan::FallThrough { program } => {
            // Raw bytes, not `display()`: `$(venvexec which)` must name the
            // very file even when its path is not UTF-8.
            let mut line = program.as_os_str().as_bytes().to_vec();
            line.push(b'\n');
            crate::output::out_bytes(&line);
        }
        // `-v` prints the explanation itself: a failure's own copy of it
        // (strict mode's) is left out, its summary and hints kept.
        Plan::Fail(f) if verbose => {
            let kept: Vec<&str> = f
                .message
                .lines()
                .enumerate()
                .filter(|(i, l)| *i == 0 || l.starts_with("  hint:"))
                .map(|(_, l)| l)
                .collect();
            errln!("venvexec: {}", kept.join("\n"));
        }
        Plan::Fail(f) => errln!("venvexec: {}", fail::with_which_hint(f.clone(), name)),
    }
    if !verbose {
        return;
    }
    match (&res.found, plan) {
        (Some(found), _) => {
            outln!("  environment: {}", found.env.root.display());
            outln!("  reason: {}", found.source);
            if let (Plan::FallThrough { .. }, Some(have)) = (plan, shim::other_version(name, found))
            {
                outln!(
                    "  version: the environment is Python {have}, so {} is the next one on PATH",
                    name.display()
                );
            }
        }
        (None, Plan::FallThrough { .. }) => {
            outln!("  environment: none, so the next one on PATH runs");
        }
        (None, _) => outln!("  environment: none"),
    }
    for line in resolve::explain(inputs, res) {
        outln!("{line}");
    }
    if inputs.strict {
        outln!(
            "  strict: VENVEXEC_STRICT is set: python, python3, pip, pip3 and their 3.N names never fall through"
        );
    }
    let shown = name.display();
    match &on_path.program {
        Some(_) if on_path.is_this => {}
        Some(other) => outln!(
            "  on PATH: `{shown}` is {}, not this venvexec: shell-outs run that instead (put the shims directory first on PATH)",
            other.display()
        ),
        None => outln!(
            "  on PATH: no `{shown}`: shell-outs find nothing (`venvexec shims install {shown}`, and put the shims directory first on PATH)"
        ),
    }
}

/// Stable keys: `name`, `action` (`exec` | `fall_through` | `error`),
/// `program`, `environment`, `source` {`kind`, `description`}, `disabled`,
/// `strict`, `skipped` [{`source`, `path`, `reason`}], `error` {`code`,
/// `message`}, `on_path` {`program`, `is_this`}.
fn to_json(
    name: &OsString,
    inputs: &Inputs,
    res: &Resolution,
    plan: &Plan,
    on_path: &OnPath,
) -> String {
    let (action, program, error) = match plan {
        Plan::InEnv { program, .. } => ("exec", Some(program.as_path()), None),
        Plan::FallThrough { program } => ("fall_through", Some(program.as_path()), None),
        Plan::Fail(f) => ("error", None, Some(f)),
    };
    let (environment, source) = match &res.found {
        Some(found) => (
            json::path(&found.env.root),
            format!(
                "{{\"kind\":{},\"description\":{}}}",
                json::string(found.source.key()),
                json::string(&found.source.to_string())
            ),
        ),
        None => ("null".into(), "null".into()),
    };
    let skipped: Vec<String> = res
        .skipped
        .iter()
        .map(|s| {
            format!(
                "{{\"source\":{},\"path\":{},\"reason\":{}}}",
                json::string(s.source.key()),
                json::opt_path(s.path.as_deref()),
                json::string(&s.why)
            )
        })
        .collect();
    let error = match error {
        Some(f) => format!(
            "{{\"code\":{},\"message\":{}}}",
            f.code,
            json::string(&f.message)
        ),
        None => "null".into(),
    };
    format!(
        "{{\"name\":{},\"action\":{},\"program\":{},\"environment\":{},\"source\":{},\"disabled\":{},\"strict\":{},\"skipped\":[{}],\"error\":{},\"on_path\":{{\"program\":{},\"is_this\":{}}}}}",
        json::path(Path::new(name)),
        json::string(action),
        json::opt_path(program),
        environment,
        source,
        res.disabled,
        inputs.strict,
        skipped.join(","),
        error,
        json::opt_path(on_path.program.as_deref()),
        on_path.is_this
    )
}
