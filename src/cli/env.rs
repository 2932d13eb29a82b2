//! `venvexec env [--shell sh|bash|zsh|fish]`: activation lines for the
//! environment meant here, for `eval "$(venvexec env)"`.

use std::ffi::OsString;
use std::path::Path;

use clap::ValueEnum;

use crate::cli::run::no_environment;
use crate::fail::{self, Fail};
use crate::resolve::{self, Inputs};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shell syntax to print [default: from $SHELL, else sh]
    #[arg(long, value_enum)]
    shell: Option<Shell>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Sh,
    Bash,
    Zsh,
    Fish,
}

pub fn run(venv: Option<OsString>, args: Args) -> anyhow::Result<u8> {
    let inputs = Inputs::from_process(venv);
    let res = resolve::resolve(&inputs).map_err(Fail::from)?;
    let Some(found) = &res.found else {
        return Err(no_environment(&inputs, &res).into());
    };
    let shell = args.shell.unwrap_or_else(shell_from_env);
    out!("{}", lines(shell, &found.env.root)?);
    Ok(0)
}

fn shell_from_env() -> Shell {
    let shell = std::env::var_os("SHELL").unwrap_or_default();
    match Path::new(&shell).file_name().and_then(|n| n.to_str()) {
        Some("bash") => Shell::Bash,
        Some("zsh") => Shell::Zsh,
        Some("fish") => Shell::Fish,
        _ => Shell::Sh,
    }
}

/// The lines `activate` would run, for a root that may hold spaces, quotes
/// or `$`: every value is quoted for the target shell.
pub fn lines(shell: Shell, root: &Path) -> Result<String, Fail> {
    let root = root.to_str().ok_or_else(|| {
        Fail::new(
            fail::FAILURE,
            format!(
                "{} is not valid UTF-8 and cannot be written as a shell line",
                root.display()
            ),
        )
    })?;
    let bin = format!("{root}/bin");
    Ok(match shell {
        Shell::Fish => format!(
            "set -gx VIRTUAL_ENV {};\nset -gx PATH {} $PATH;\nset -e PYTHONHOME;\n",
            fish_quote(root),
            fish_quote(&bin)
        ),
        _ => format!(
            "export VIRTUAL_ENV={};\nexport PATH={}\":$PATH\";\nunset PYTHONHOME;\n",
            shell_words::quote(root),
            shell_words::quote(&bin)
        ),
    })
}

/// fish's single quotes take `\\` and `\'` as the only escapes.
fn fish_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_lines_quote_awkward_paths() {
        let out = lines(Shell::Sh, Path::new("/a b/it's $x")).unwrap();
        assert!(
            out.contains("export VIRTUAL_ENV='/a b/it'\\''s $x';"),
            "{out}"
        );
    }

    #[test]
    fn fish_lines_escape_quotes() {
        let out = lines(Shell::Fish, Path::new("/a b/it's")).unwrap();
        assert!(out.contains("set -gx VIRTUAL_ENV '/a b/it\\'s';"), "{out}");
    }
}
