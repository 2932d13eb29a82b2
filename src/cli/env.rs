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
            "{FISH_DEACTIVATE}deactivate nondestructive;\n\
             set -gx _OLD_VIRTUAL_PATH $PATH;\n\
             set -gx PATH {} $PATH;\n\
             if set -q PYTHONHOME; set -gx _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME; set -e PYTHONHOME; end;\n\
             set -gx VIRTUAL_ENV {};\n",
            fish_quote(&bin),
            fish_quote(root),
        ),
        _ => format!(
            "{POSIX_DEACTIVATE}deactivate nondestructive;\n\
             _OLD_VIRTUAL_PATH=\"$PATH\";\n\
             export PATH={}\":$PATH\";\n\
             if [ -n \"${{PYTHONHOME+set}}\" ]; then _OLD_VIRTUAL_PYTHONHOME=\"$PYTHONHOME\"; unset PYTHONHOME; fi;\n\
             export VIRTUAL_ENV={};\n\
             hash -r 2>/dev/null || true;\n",
            shell_words::quote(&bin),
            shell_words::quote(root),
        ),
    })
}

/// venv's own `deactivate`, so that evaluating the lines twice (or after
/// `source ENV/bin/activate`) restores the old PATH first instead of
/// stacking a second `ENV/bin` on it; `nondestructive` keeps the function.
const POSIX_DEACTIVATE: &str = "deactivate () {
    if [ -n \"${_OLD_VIRTUAL_PATH+set}\" ]; then PATH=\"$_OLD_VIRTUAL_PATH\"; export PATH; unset _OLD_VIRTUAL_PATH; fi
    if [ -n \"${_OLD_VIRTUAL_PYTHONHOME+set}\" ]; then PYTHONHOME=\"$_OLD_VIRTUAL_PYTHONHOME\"; export PYTHONHOME; unset _OLD_VIRTUAL_PYTHONHOME; fi
    unset VIRTUAL_ENV
    hash -r 2>/dev/null || true
    if [ \"${1-}\" != nondestructive ]; then unset -f deactivate; fi
};
";

const FISH_DEACTIVATE: &str = "function deactivate --description 'Leave the environment'
    if set -q _OLD_VIRTUAL_PATH; set -gx PATH $_OLD_VIRTUAL_PATH; set -e _OLD_VIRTUAL_PATH; end
    if set -q _OLD_VIRTUAL_PYTHONHOME; set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME; set -e _OLD_VIRTUAL_PYTHONHOME; end
    set -e VIRTUAL_ENV
    if test \"$argv[1]\" != nondestructive; functions -e deactivate; end
end;
";

/// fish's single quotes take `\\` and `\'` as the only escapes.
pub fn fish_quote(s: &str) -> String {
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
