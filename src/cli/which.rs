//! `venvexec which [NAME] [-v] [--json]`: what the shim for NAME would run
//! here, and why. It renders the very `Plan` the shim acts on.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::chain::Chain;
use crate::cli::json;
use crate::exec;
use crate::fail::{self, Fail};
use crate::resolve::{self, Inputs, Resolution};
use crate::shim::{self, Plan};

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
    let inputs = Inputs::from_process(venv);
    let cwd = inputs.cwd.as_deref().ok();
    let (res, plan) = match resolve::resolve(&inputs) {
        Ok(res) => {
            let plan = shim::plan(
                &args.name,
                &res,
                &Chain::start(exec::self_id()),
                std::env::var_os("PATH").as_deref(),
                cwd,
            );
            (res, plan)
        }
        Err(e) => (Resolution::default(), Plan::Fail(e.fail_for(&args.name))),
    };
    if args.json {
        outln!("{}", to_json(&args.name, &inputs, &res, &plan));
    } else {
        print_text(&inputs, &res, &plan, args.verbose);
    }
    Ok(match &plan {
        Plan::Fail(f) => f.code,
        _ => 0,
    })
}

fn print_text(inputs: &Inputs, res: &Resolution, plan: &Plan, verbose: bool) {
    match plan {
        Plan::InEnv { program, .. } | Plan::FallThrough { program } => {
            // Raw bytes, not `display()`: `$(venvexec which)` must name the
            // very file even when its path is not UTF-8.
            let mut line = program.as_os_str().as_bytes().to_vec();
            line.push(b'\n');
            crate::output::out_bytes(&line);
        }
        Plan::Fail(f) => errln!("venvexec: {f}"),
    }
    if !verbose {
        return;
    }
    match (&res.found, plan) {
        (Some(found), _) => {
            outln!("  environment: {}", found.env.root.display());
            outln!("  reason: {}", found.source);
        }
        (None, Plan::FallThrough { .. }) => {
            outln!("  environment: none, so the next one on PATH runs");
        }
        (None, _) => outln!("  environment: none"),
    }
    for line in resolve::explain(inputs, res) {
        outln!("{line}");
    }
}

/// Stable keys: `name`, `action` (`exec` | `fall_through` | `error`),
/// `program`, `environment`, `source` {`kind`, `description`}, `skipped`
/// [{`source`, `path`, `reason`}], `error` {`code`, `message`}.
fn to_json(name: &OsString, _inputs: &Inputs, res: &Resolution, plan: &Plan) -> String {
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
                json::string(s.source),
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
        "{{\"name\":{},\"action\":{},\"program\":{},\"environment\":{},\"source\":{},\"disabled\":{},\"skipped\":[{}],\"error\":{}}}",
        json::path(Path::new(name)),
        json::string(action),
        json::opt_path(program),
        environment,
        source,
        res.disabled,
        skipped.join(","),
        error
    )
}
