//! The command-line face: `venvexec [--venv DIR] [--] CMD [ARGS…]` and its
//! subcommands. Only this face loads clap.

mod doctor;
mod env;
mod log;
mod run;
mod setup;
mod shims;
mod which;

use std::ffi::{OsStr, OsString};
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
    after_help = "A command named like a subcommand runs with `venvexec -- NAME`.",
    disable_help_subcommand = true
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
    /// Print shell completions or the man page, generated from this CLI
    #[arg(long, value_enum, value_name = "KIND")]
    generate: Option<Generate>,
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
    /// Link the shims and put them first on PATH in your shell profile
    Setup(setup::Args),
    /// Print this message or the help of the given subcommand
    Help(HelpArgs),
    #[command(external_subcommand)]
    Run(Vec<OsString>),
}

#[derive(clap::Args, Debug)]
struct HelpArgs {
    /// The subcommand (and its subcommands) to show the help of
    #[arg(value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    Man,
}

/// Completions and the man page come from the clap definition itself, so
/// they can never drift from the CLI (ripgrep's `--generate`).
pub fn generate(kind: Generate) -> Vec<u8> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let shell = match kind {
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::Man => {
            // Writing into a Vec cannot fail.
            let _ = clap_mangen::Man::new(cmd).render(&mut out);
            return out;
        }
    };
    clap_complete::generate(shell, &mut cmd, "venvexec", &mut out);
    out
}

/// `venvexec help [COMMAND…]`: clap's own help subcommand takes no
/// options, so `venvexec help --help` was a usage error.
fn help(args: &HelpArgs) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let mut current = &mut cmd;
    for name in &args.command {
        let Some(sub) = current.find_subcommand_mut(name) else {
            return Err(Fail::new(
                fail::USAGE,
                format!("no subcommand '{name}'; see `venvexec --help`"),
            )
            .into());
        };
        current = sub;
    }
    let text = current.render_long_help().to_string();
    out!("{text}");
    Ok(0)
}

/// The subcommand a mistyped command most likely meant: one edit away
/// (two for longer names), counting a swap of neighbours as one.
pub fn suggest(typed: &OsStr) -> Option<String> {
    let typed = typed.to_str()?;
    let limit = if typed.len() <= 4 { 1 } else { 2 };
    subcommand_names()
        .into_iter()
        .map(|name| (edit_distance(typed, &name), name))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min()
        .map(|(_, name)| name)
}

/// Optimal string alignment distance (Levenshtein plus transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
    if let Some(kind) = cli.generate {
        if command.is_some() || cli.command.is_some() {
            return Err(Fail::new(fail::USAGE, "--generate takes no command").into());
        }
        crate::output::out_bytes(&generate(kind));
        return Ok(0);
    }
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
        Command::Setup(a) => setup::run(a),
        Command::Help(a) => help(&a),
    }
}

/// The words clap takes as subcommands (`help` is one of ours).
fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .map(str::to_owned)
        .collect()
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
        // The options that take a separate value.
        if a == b"--venv" || a == b"--generate" {
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
        let args = v(&["--generate", "man"]);
        assert_eq!(split_command(&args, &names), (&args[..], None));
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
    fn typos_suggest_the_subcommand() {
        let s = |t: &str| suggest(t.as_ref());
        assert_eq!(s("doctr").as_deref(), Some("doctor"));
        assert_eq!(s("whihc").as_deref(), Some("which"));
        assert_eq!(s("shim").as_deref(), Some("shims"));
        assert_eq!(s("setpu").as_deref(), Some("setup"));
        assert_eq!(suggest("doctor".as_ref()), None, "not a typo");
        assert_eq!(suggest("pytest".as_ref()), None);
        assert_eq!(suggest("ls".as_ref()), None);
    }

    #[test]
    fn help_is_a_subcommand_of_ours() {
        assert!(subcommand_names().iter().any(|n| n == "help"));
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
