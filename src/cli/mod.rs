//! The command-line face: `venvexec [--venv DIR] [--] CMD [ARGS…]` and its
//! subcommands. Only this face loads clap.

mod doctor;
mod env;
mod log;
mod run;
mod shims;
mod which;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::fail::{self, Fail};

#[derive(Parser, Debug)]
#[command(
    name = "venvexec",
    version,
    about = "Keeps naive shell-outs inside the right Python environment",
    long_about = "Keeps naive shell-outs inside the right Python environment.\n\n\
        Run a command inside the environment meant here:\n  venvexec [--venv DIR] [--] CMD [ARGS...]\n\n\
        Installed under another name (python, pip, ...) it is the shim for that name.",
    override_usage = "venvexec [OPTIONS] [--] CMD [ARGS]...\n       venvexec [OPTIONS] <COMMAND>",
    after_help = "A command named like a subcommand runs with `venvexec -- NAME`."
)]
struct Cli {
    /// Use this environment, whatever else is set
    #[arg(long, value_name = "DIR", global = true)]
    venv: Option<PathBuf>,
    /// Stay as a small init: forward signals, reap zombies (default as PID 1)
    #[arg(long, conflicts_with = "no_init")]
    init: bool,
    /// Exec the command even as PID 1
    #[arg(long)]
    no_init: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what the shim for NAME would run here, and why
    Which(which::Args),
    /// Check that `python` here means what you think
    Doctor(doctor::Args),
    /// Manage the shims directory
    Shims(shims::Args),
    /// Print activation lines for eval "$(venvexec env)"
    Env(env::Args),
    /// Show the decision log (VENVEXEC_LOG) as a table
    Log(log::Args),
    #[command(external_subcommand)]
    Run(Vec<OsString>),
}

pub fn main(argv0: OsString, args: Vec<OsString>) -> ! {
    let code = match dispatch(argv0, args) {
        Ok(code) => code,
        Err(err) => {
            let fail = match err.downcast::<Fail>() {
                Ok(f) => f,
                Err(other) => Fail::new(fail::FAILURE, format!("{other:#}")),
            };
            crate::output::finish(fail.code);
            fail::exit(&fail)
        }
    };
    std::process::exit(i32::from(crate::output::finish(code)))
}

fn dispatch(argv0: OsString, args: Vec<OsString>) -> anyhow::Result<u8> {
    // `venvexec [OPTIONS] [--] CMD …`: the command and its arguments are
    // taken verbatim, as bytes, before clap sees anything (clap wants a
    // command name to be UTF-8, and `venvexec $'\xff.py'` is a file).
    // After our own `--` even a name like `which` is the command.
    let names = subcommand_names();
    let (ours, command) = split_command(&args, &names);
    let mut argv = vec![argv0];
    argv.extend(ours.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            out!("{}", e.render());
            return Ok(0);
        }
        Err(e) => {
            // clap words its errors "error: …"; ours all start `venvexec: `.
            let text = e.render().to_string();
            crate::output::err(format_args!(
                "venvexec: {}",
                text.strip_prefix("error: ").unwrap_or(&text)
            ));
            return Ok(fail::USAGE);
        }
    };
    let venv = cli.venv.map(OsString::from);
    let command = match (command, cli.command) {
        (Some(cmd), None) => Command::Run(cmd.to_vec()),
        (Some(_), Some(_)) => {
            return Err(Fail::new(
                fail::USAGE,
                "a subcommand cannot be combined with `--`; use `venvexec -- CMD` alone",
            )
            .into());
        }
        (None, Some(c)) => c,
        (None, None) => {
            return Err(Fail::new(
                fail::USAGE,
                "no command given\n  usage: venvexec [--venv DIR] [--] CMD [ARGS...]; see `venvexec --help`",
            )
            .into());
        }
    };
    match command {
        Command::Run(cmd) => run::run(venv, cmd, cli.init, cli.no_init),
        Command::Which(a) => which::run(venv, a),
        Command::Shims(a) => shims::run(a),
        Command::Doctor(a) => doctor::run(venv, a),
        Command::Env(a) => env::run(venv, a),
        Command::Log(a) => log::run(a),
    }
}

/// The words clap takes as subcommands, `help` included.
fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut names: Vec<String> = cli
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .map(str::to_owned)
        .collect();
    names.push("help".into());
    names
}

/// Splits `[OPTIONS] [--] CMD…` into our options and the command: the
/// command starts after a `--` that comes before it, or at the first word
/// that is not an option and not one of `subcommands`. A later `--`
/// belongs to the command.
fn split_command<'a>(
    args: &'a [OsString],
    subcommands: &[String],
) -> (&'a [OsString], Option<&'a [OsString]>) {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_encoded_bytes();
        if a == b"--" {
            return (&args[..i], Some(&args[i + 1..]));
        }
        if a == b"--venv" {
            i += 2;
        } else if a.starts_with(b"-") {
            i += 1;
        } else if subcommands.iter().any(|n| n.as_bytes() == a) {
            break;
        } else {
            return (&args[..i], Some(&args[i..]));
        }
    }
    (args, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn double_dash_only_counts_before_the_command() {
        let names = subcommand_names();
        let args = v(&["--venv", "x", "--", "which", "-v"]);
        let (ours, cmd) = split_command(&args, &names);
        assert_eq!(ours, &v(&["--venv", "x"])[..]);
        assert_eq!(cmd, Some(&v(&["which", "-v"])[..]));
        let args = v(&["python", "--", "x"]);
        assert_eq!(split_command(&args, &names), (&[][..], Some(&args[..])));
        let args = v(&["--init", "which", "-v"]);
        assert_eq!(split_command(&args, &names), (&args[..], None));
    }

    #[test]
    fn a_command_is_taken_as_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let names = subcommand_names();
        let args = vec![OsString::from_vec(b"\xff.py".to_vec()), "a".into()];
        assert_eq!(split_command(&args, &names), (&[][..], Some(&args[..])));
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
