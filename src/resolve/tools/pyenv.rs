//! pyenv-virtualenv: `.python-version` naming a virtualenv under
//! `$(pyenv root)/versions`. A plain pyenv version is an interpreter, not
//! an environment, and is skipped with a note.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::project::{Look, look_from};
use super::super::{Inputs, Skip, Via};
use super::{ToolVars, read_small};

pub fn versions_dir(v: &ToolVars) -> Option<PathBuf> {
    let root = match &v.pyenv_root {
        Some(r) => PathBuf::from(r),
        None => v.home_join(".pyenv")?,
    };
    Some(root.join("versions"))
}

pub fn look(
    dir: &Path,
    versions: &Path,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Option<(Look, Via)> {
    let file = dir.join(".python-version");
    let bytes = read_small(&file)?;
    // pyenv takes the first name of the file (names are separated by
    // whitespace or newlines); `system` means no pyenv version at all.
    let name = bytes
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty() && !w.starts_with(b"#"))?;
    let name = std::ffi::OsStr::from_bytes(name);
    let via = Via::PyenvVirtualenv(name.to_os_string());
    if name == "system" || name.as_bytes().contains(&b'/') || name == ".." || name == "." {
        return None;
    }
    let env = versions.join(name);
    if !env.join("pyvenv.cfg").is_file() && !env.join("conda-meta").is_dir() {
        if env.is_dir() {
            skipped.push(Skip::new(
                "pyenv",
                &file,
                format!(
                    "names {}, a plain pyenv version, not a virtualenv",
                    Path::new(name).display()
                ),
            ));
        } else {
            skipped.push(Skip::new(
                "pyenv",
                &file,
                format!(
                    "names {}, which pyenv does not have",
                    Path::new(name).display()
                ),
            ));
        }
        return None;
    }
    Some((look_from(&env, dir, inp, skipped), via))
}
