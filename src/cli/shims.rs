//! `venvexec shims install|list|remove [--dir DIR] [NAMES…]`: the directory
//! of links that users put first on PATH.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::exec;
use crate::fail::{self, Fail};
use crate::venv;

/// The default shim set, shared with install.sh through `shims/names`.
const DEFAULT_NAMES: &str = include_str!("../../shims/names");

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Link NAMES (default: python, python3, pip, pip3) to this binary
    Install(Target),
    /// Show the shims in the directory
    List(Target),
    /// Remove our links (all of them when no NAMES are given)
    Remove(Target),
    /// Print the shims directory
    Dir(Target),
}

#[derive(clap::Args, Debug)]
struct Target {
    /// The shims directory [default: $VENVEXEC_SHIMS_DIR, else DATA_DIR/venvexec/shims]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    names: Vec<OsString>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.action {
        Action::Install(t) => install(&dir(&t)?, &names(&t.names)?),
        Action::List(t) => list(&dir(&t)?),
        Action::Remove(t) => remove(&dir(&t)?, &t.names),
        Action::Dir(t) => {
            outln!("{}", dir(&t)?.display());
            Ok(0)
        }
    }
}

fn dir(t: &Target) -> Result<PathBuf, Fail> {
    if let Some(d) = &t.dir {
        return Ok(std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    }
    default_dir().ok_or_else(|| {
        Fail::new(
            fail::FAILURE,
            "cannot tell where your data directory is (HOME unset?)\n  hint: pass --dir DIR or set VENVEXEC_SHIMS_DIR",
        )
    })
}

pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VENVEXEC_SHIMS_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    Some(dirs::data_dir()?.join("venvexec").join("shims"))
}

fn names(given: &[OsString]) -> Result<Vec<OsString>, Fail> {
    if given.is_empty() {
        return Ok(DEFAULT_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(OsString::from)
            .collect());
    }
    for n in given {
        let b = n.as_encoded_bytes();
        if b.is_empty()
            || b == b"."
            || b == b".."
            || b.contains(&b'/')
            || b.starts_with(b"venvexec")
        {
            return Err(Fail::new(
                fail::USAGE,
                format!(
                    "{:?} is not a shim name: give plain command names like python3.12 or pytest",
                    n
                ),
            ));
        }
    }
    Ok(given.to_vec())
}

/// The binary shims point at: this one, by its resolved path.
fn me() -> anyhow::Result<PathBuf> {
    let exe = crate::platform::exec_path().context("finding this binary")?;
    fs::canonicalize(&exe).with_context(|| format!("resolving {}", exe.display()))
}

/// Whether `path` is a link we made: a symlink to this binary, or to any
/// file named `venvexec` (an earlier install at another place).
fn is_ours(path: &Path) -> bool {
    let Ok(target) = fs::read_link(path) else {
        return false;
    };
    if target
        .file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"venvexec"))
    {
        return true;
    }
    match (fs::metadata(path), exec::self_id()) {
        (Ok(m), Some(me)) => venv::file_id(&m) == me,
        _ => false,
    }
}

fn install(dir: &Path, names: &[OsString]) -> anyhow::Result<u8> {
    let me = me()?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut refused = 0;
    for name in names {
        let link = dir.join(name);
        let shown = Path::new(name).display();
        match fs::symlink_metadata(&link) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("checking {}", link.display())),
            Ok(_) if fs::read_link(&link).is_ok_and(|t| t == me) => {
                outln!("{shown}: already linked");
                continue;
            }
            Ok(_) if is_ours(&link) => {
                fs::remove_file(&link).with_context(|| format!("replacing {}", link.display()))?;
            }
            Ok(_) => {
                errln!(
                    "venvexec: {} exists and is not a venvexec link: left alone\n  hint: move it away and run this again",
                    link.display()
                );
                refused += 1;
                continue;
            }
        }
        symlink(&me, &link).with_context(|| format!("linking {}", link.display()))?;
        outln!("{shown}: linked to {}", me.display());
    }
    outln!("shims directory: {}", dir.display());
    if !first_on_path(dir) {
        outln!("to use the shims, put this line in your shell profile:");
        outln!("  export PATH=\"{}:$PATH\"", dir.display());
    }
    Ok(if refused > 0 { fail::FAILURE } else { 0 })
}

fn first_on_path(dir: &Path) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .find(|e| !e.as_os_str().is_empty())
            .is_some_and(|e| e == dir)
    })
}

/// Our links in `dir` (see [`is_ours`]), sorted by name.
pub fn entries(dir: &Path) -> anyhow::Result<Vec<(OsString, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in rd {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        if is_ours(&path) {
            out.push((entry.file_name(), path));
        }
    }
    out.sort();
    Ok(out)
}

fn list(dir: &Path) -> anyhow::Result<u8> {
    let me = me()?;
    for (name, path) in entries(dir)? {
        let target = fs::read_link(&path).unwrap_or_default();
        let state = if target == me {
            ""
        } else if fs::metadata(&path).is_err() {
            "  (broken: target is gone)"
        } else {
            "  (points at another venvexec)"
        };
        outln!(
            "{}\t{}{state}",
            Path::new(&name).display(),
            target.display()
        );
    }
    Ok(0)
}

fn remove(dir: &Path, names: &[OsString]) -> anyhow::Result<u8> {
    let ours = entries(dir)?;
    let mut status = 0;
    let chosen: Vec<(OsString, PathBuf)> = if names.is_empty() {
        ours
    } else {
        let mut v = Vec::new();
        for n in names {
            match ours.iter().find(|(name, _)| name == n) {
                Some(e) => v.push(e.clone()),
                None => {
                    errln!(
                        "venvexec: {}: no venvexec shim of that name in {}",
                        Path::new(n).display(),
                        dir.display()
                    );
                    status = fail::FAILURE;
                }
            }
        }
        v
    };
    for (name, path) in chosen {
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        outln!("{}: removed", Path::new(&name).display());
    }
    // Only an empty directory goes: anything else in it is not ours.
    if fs::remove_dir(dir).is_ok() {
        outln!("removed empty {}", dir.display());
    }
    Ok(status)
}
