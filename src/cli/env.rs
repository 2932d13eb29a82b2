//! `venvexec env [--shell sh|bash|zsh|fish]`: activation lines for the
//! environment meant here, for `eval "$(venvexec env)"`.

use std::ffi::OsString;
use std::path::Path;

use clap::ValueEnum;

use crate::cli::run::no_environment;
use crate::exec::Activate;
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
    out!("{}", lines(shell, &Activate::of(&found.env))?);
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
/// or `$`: every value is quoted for the target shell. They follow the
/// very plan the shim's exec follows ([`Activate`]): a conda env gets
/// `CONDA_PREFIX`, a venv `VIRTUAL_ENV`.
pub fn lines(shell: Shell, plan: &Activate) -> Result<String, Fail> {
    let root = plan.root.to_str().ok_or_else(|| {
        Fail::new(
            fail::FAILURE,
            format!(
                "{} is not valid UTF-8 and cannot be written as a shell line",
                plan.root.display()
            ),
        )
    })?;
    let bin = format!("{root}/bin");
    let var = plan.var;
    let mut out = String::new();
    match shell {
        Shell::Fish => {
            out.push_str(FISH_DEACTIVATE);
            out.push_str("deactivate nondestructive;\n");
            out.push_str("set -gx _OLD_VIRTUAL_PATH $PATH;\n");
            out.push_str(&format!("set -gx PATH {} $PATH;\n", fish_quote(&bin)));
            for name in plan.unset {
                out.push_str(&match *name {
                    "PYTHONHOME" => format!(
                        "if set -q {name}; set -gx _OLD_VIRTUAL_{name} ${name}; set -e {name}; end;\n"
                    ),
                    _ => format!("set -e {name};\n"),
                });
            }
            out.push_str(&format!("set -gx {var} {};\n", fish_quote(root)));
            out.push_str(&format!("set -gx _VENVEXEC_ACTIVE {var};\n"));
        }
        _ => {
            out.push_str(POSIX_DEACTIVATE);
            out.push_str("deactivate nondestructive;\n");
            out.push_str("_OLD_VIRTUAL_PATH=\"$PATH\";\n");
            out.push_str(&format!(
                "export PATH={}\":$PATH\";\n",
                shell_words::quote(&bin)
            ));
            for name in plan.unset {
                out.push_str(&match *name {
                    "PYTHONHOME" => format!(
                        "if [ -n \"${{{name}+set}}\" ]; then _OLD_VIRTUAL_{name}=\"${name}\"; unset {name}; fi;\n"
                    ),
                    _ => format!("unset {name};\n"),
                });
            }
            out.push_str(&format!("export {var}={};\n", shell_words::quote(root)));
            out.push_str(&format!("_VENVEXEC_ACTIVE={var};\n"));
            out.push_str("hash -r 2>/dev/null || true;\n");
        }
    }
    Ok(out)
}

/// venv's own `deactivate`, so that evaluating the lines twice (or after
/// `source ENV/bin/activate`) restores the old PATH first instead of
/// stacking a second `ENV/bin` on it; `nondestructive` keeps the function.
/// It unsets the variable the activation set (`_VENVEXEC_ACTIVE` names it;
/// `VIRTUAL_ENV` after venv's own `activate`) and gives `PYTHONHOME` back.
/// A `VIRTUAL_ENV` a conda activation removed stays removed: an activation
/// replaces the one before it, as venv's does.
const POSIX_DEACTIVATE: &str = "deactivate () {
    if [ -n \"${_OLD_VIRTUAL_PATH+set}\" ]; then PATH=\"$_OLD_VIRTUAL_PATH\"; export PATH; unset _OLD_VIRTUAL_PATH; fi
    if [ -n \"${_VENVEXEC_ACTIVE+set}\" ]; then unset \"$_VENVEXEC_ACTIVE\" _VENVEXEC_ACTIVE; else unset VIRTUAL_ENV; fi
    if [ -n \"${_OLD_VIRTUAL_PYTHONHOME+set}\" ]; then PYTHONHOME=\"$_OLD_VIRTUAL_PYTHONHOME\"; export PYTHONHOME; unset _OLD_VIRTUAL_PYTHONHOME; fi
    hash -r 2>/dev/null || true
    if [ \"${1-}\" != nondestructive ]; then unset -f deactivate; fi
};
";

const FISH_DEACTIVATE: &str = "function deactivate --description 'Leave the environment'
    if set -q _OLD_VIRTUAL_PATH; set -gx PATH $_OLD_VIRTUAL_PATH; set -e _OLD_VIRTUAL_PATH; end
    if set -q _VENVEXEC_ACTIVE; set -e $_VENVEXEC_ACTIVE; set -e _VENVEXEC_ACTIVE; else; set -e VIRTUAL_ENV; end
    if set -q _OLD_VIRTUAL_PYTHONHOME; set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME; set -e _OLD_VIRTUAL_PYTHONHOME; end
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

    use crate::venv::{Env, EnvKind};

    fn venv_at(root: &str, kind: EnvKind) -> Env {
        Env {
            root: root.into(),
            kind,
        }
    }

    #[test]
    fn posix_lines_quote_awkward_paths() {
        let env = venv_at("/a b/it's $x", EnvKind::Venv);
        let out = lines(Shell::Sh, &Activate::of(&env)).unwrap();
        assert!(
            out.contains("export VIRTUAL_ENV='/a b/it'\\''s $x';"),
            "{out}"
        );
    }

    #[test]
    fn fish_lines_escape_quotes() {
        let env = venv_at("/a b/it's", EnvKind::Venv);
        let out = lines(Shell::Fish, &Activate::of(&env)).unwrap();
        assert!(out.contains("set -gx VIRTUAL_ENV '/a b/it\\'s';"), "{out}");
    }

    #[test]
    fn a_conda_env_is_activated_as_the_shim_activates_it() {
        let env = venv_at("/opt/conda/envs/x", EnvKind::Conda);
        for shell in [Shell::Sh, Shell::Fish] {
            let out = lines(shell, &Activate::of(&env)).unwrap();
            assert!(out.contains("CONDA_PREFIX"), "{out}");
            assert!(!out.contains("export VIRTUAL_ENV="), "{out}");
            assert!(!out.contains("set -gx VIRTUAL_ENV '"), "{out}");
        }
    }
}
