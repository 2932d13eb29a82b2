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
use crate::venv::{self, FileId};

/// The default shim set, shared with install.sh through `shims/names`.
const DEFAULT_NAMES: &str = include_str!("../../shims/names");

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Link NAMES (default: python, python3, pip, pip3 and a python3.N for
    /// each version this machine has) to this binary
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
        Action::Install(t) => {
            let dir = dir(&t)?;
            let names = names(&t.names)?;
            let refused = install_links(&dir, &names, false)?;
            outln!("shims directory: {}", dir.display());
            if !first_on_path(&dir) {
                outln!("to use the shims, put this line in your shell profile:");
                outln!("  export PATH=\"{}:$PATH\"", dir.display());
            }
            Ok(if refused > 0 { fail::FAILURE } else { 0 })
        }
        Action::List(t) => list(&existing(&dir(&t)?)?),
        Action::Remove(t) => remove(&dir(&t)?, &t.names, false),
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
    default_dir().ok_or_else(no_data_dir)
}

pub fn no_data_dir() -> Fail {
    Fail::new(
        fail::FAILURE,
        "cannot tell where your data directory is (HOME unset?)\n  hint: pass --dir DIR or set VENVEXEC_SHIMS_DIR",
    )
}

/// `dir` when it is a directory; otherwise the error that says so.
fn existing(dir: &Path) -> Result<PathBuf, Fail> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(dir.to_path_buf()),
        Ok(_) => Err(Fail::new(
            fail::FAILURE,
            format!("the shims directory {} is not a directory", dir.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Fail::new(
            fail::FAILURE,
            format!(
                "the shims directory {} does not exist\n  hint: create it with `venvexec shims install --dir {}`",
                dir.display(),
                shell_words::quote(&dir.to_string_lossy())
            ),
        )),
        Err(e) => Err(Fail::new(
            fail::FAILURE,
            format!("cannot read the shims directory {}: {e}", dir.display()),
        )),
    }
}

/// `$XDG_DATA_HOME`, else `~/.local/share`, on every OS: the place
/// install.sh uses too, so both agree on a Mac (whose native data dir is
/// `~/Library/Application Support`). A relative XDG_DATA_HOME is ignored,
/// as the XDG spec says.
pub fn data_home() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from)
        && d.is_absolute()
    {
        return Some(d);
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".local/share"))
}

pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VENVEXEC_SHIMS_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    Some(data_home()?.join("venvexec").join("shims"))
}

/// The names to link: the ones given, or the default set plus a
/// `python3.N` for each version on this machine.
pub fn names(given: &[OsString]) -> Result<Vec<OsString>, Fail> {
    if given.is_empty() {
        let mut names: Vec<OsString> = DEFAULT_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(OsString::from)
            .collect();
        names.extend(versioned_names());
        return Ok(names);
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

/// `python3.N` for every N this machine has: executables of that name on
/// PATH (our own shims aside), and pyenv's versions when pyenv is there.
/// Without a shim, `#!/usr/bin/env python3.11` would bypass venvexec.
fn versioned_names() -> Vec<OsString> {
    let me = exec::self_id();
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(versions) = pyenv_root.map(|r| r.join("versions"))
        && let Ok(rd) = fs::read_dir(versions)
    {
        dirs.extend(rd.flatten().map(|e| e.path().join("bin")));
    }
    let mut minors: Vec<u32> = Vec::new();
    for dir in dirs.iter().filter(|d| d.is_absolute()) {
        let Ok(rd) = fs::read_dir(dir) else { continue };
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(minor) = venv::requested_minor(&name) else {
                continue;
            };
            let runnable = fs::metadata(entry.path()).is_ok_and(|m| {
                use std::os::unix::fs::MetadataExt;
                m.is_file() && m.mode() & 0o111 != 0 && Some(venv::file_id(&m)) != me
            });
            if runnable && !minors.contains(&minor) {
                minors.push(minor);
            }
        }
    }
    minors.sort_unstable();
    minors
        .into_iter()
        .map(|m| OsString::from(format!("python3.{m}")))
        .collect()
}

/// The binary shims point at: this one, by its resolved path.
pub fn me() -> anyhow::Result<PathBuf> {
    let exe = crate::platform::exec_path().context("finding this binary")?;
    fs::canonicalize(&exe).with_context(|| format!("resolving {}", exe.display()))
}

/// What a directory entry is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A symlink that resolves to this very binary.
    Ours,
    /// A link install.sh recorded in its manifest (its binary may since
    /// have been replaced or removed).
    Recorded,
    /// A link to some other file named `venvexec`: another install's shim.
    /// Shown, never replaced or removed: it may be someone else's.
    Other,
    /// Anything else: not a shim.
    Foreign,
}

impl Kind {
    /// Whether install may replace it and remove may delete it.
    pub fn mine(self) -> bool {
        matches!(self, Kind::Ours | Kind::Recorded)
    }
}

/// The names install.sh's manifest records as its shims in `dir`.
fn recorded(dir: &Path) -> Vec<OsString> {
    let Some(manifest) = data_home().map(|d| d.join("venvexec/install-manifest")) else {
        return Vec::new();
    };
    let Ok(text) = crate::platform::read_marker(&manifest) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text);
    let same_dir = text
        .lines()
        .filter_map(|l| l.strip_prefix("shims\t"))
        .any(|d| Path::new(d) == dir);
    if !same_dir {
        return Vec::new();
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("shim\t"))
        .map(OsString::from)
        .collect()
}

/// Decides what `path` is. Ours means the same file as this binary (device
/// and inode), not a name that looks like ours: a user's
/// `notes -> ~/venvexec-notes.txt` must never be taken for a shim.
fn kind(path: &Path, name: &OsString, me: Option<FileId>, recorded: &[OsString]) -> Kind {
    let Ok(target) = fs::read_link(path) else {
        return Kind::Foreign;
    };
    if let (Ok(m), Some(me)) = (fs::metadata(path), me)
        && venv::file_id(&m) == me
    {
        return Kind::Ours;
    }
    if recorded.contains(name) {
        return Kind::Recorded;
    }
    if target.file_name().is_some_and(|n| n == "venvexec") {
        return Kind::Other;
    }
    Kind::Foreign
}

/// Links `names` in `dir` to this binary, saying what it did (or, with
/// `dry_run`, would do) one line a name. Returns how many it refused.
pub fn install_links(dir: &Path, names: &[OsString], dry_run: bool) -> anyhow::Result<usize> {
    let me = me()?;
    let me_id = exec::self_id();
    let recorded = recorded(dir);
    let would = if dry_run { "would be " } else { "" };
    if !dry_run {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
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
            Ok(_) if kind(&link, name, me_id, &recorded).mine() => {
                if !dry_run {
                    fs::remove_file(&link)
                        .with_context(|| format!("replacing {}", link.display()))?;
                }
            }
            Ok(_) => {
                errln!(
                    "venvexec: {} exists and is not a link to this venvexec: left alone\n  hint: move it away and run this again",
                    link.display()
                );
                refused += 1;
                continue;
            }
        }
        if !dry_run {
            symlink(&me, &link).with_context(|| format!("linking {}", link.display()))?;
        }
        outln!("{shown}: {would}linked to {}", me.display());
    }
    Ok(refused)
}

fn first_on_path(dir: &Path) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .find(|e| !e.as_os_str().is_empty())
            .is_some_and(|e| e == dir)
    })
}

/// The venvexec links in `dir` (ours, recorded, or another install's),
/// sorted by name.
pub fn entries(dir: &Path) -> anyhow::Result<Vec<(OsString, PathBuf, Kind)>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let me = exec::self_id();
    let recorded = recorded(dir);
    for entry in rd {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let k = kind(&path, &name, me, &recorded);
        if k != Kind::Foreign {
            out.push((name, path, k));
        }
    }
    out.sort();
    Ok(out)
}

fn list(dir: &Path) -> anyhow::Result<u8> {
    for (name, path, kind) in entries(dir)? {
        let target = fs::read_link(&path).unwrap_or_default();
        let state = if kind == Kind::Ours {
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

/// Removes our links (all of them, or `names`), then `dir` if that left
/// it empty. Another install's links and the user's files stay.
pub fn remove(dir: &Path, names: &[OsString], dry_run: bool) -> anyhow::Result<u8> {
    let ours: Vec<_> = entries(dir)?
        .into_iter()
        .filter(|(_, _, k)| k.mine())
        .collect();
    let mut status = 0;
    let chosen: Vec<(OsString, PathBuf)> = if names.is_empty() {
        ours.into_iter().map(|(n, p, _)| (n, p)).collect()
    } else {
        let mut v = Vec::new();
        for n in names {
            match ours.iter().find(|(name, _, _)| name == n) {
                Some((name, path, _)) => v.push((name.clone(), path.clone())),
                None => {
                    errln!(
                        "venvexec: {}: no shim of this venvexec of that name in {}",
                        Path::new(n).display(),
                        dir.display()
                    );
                    status = fail::FAILURE;
                }
            }
        }
        v
    };
    let would = if dry_run { "would be " } else { "" };
    for (name, path) in chosen {
        if !dry_run {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        outln!("{}: {would}removed", Path::new(&name).display());
    }
    // Only an empty directory goes: anything else in it is not ours.
    if !dry_run && fs::remove_dir(dir).is_ok() {
        outln!("removed empty {}", dir.display());
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_python3_n_names_are_versions() {
        assert_eq!(venv::requested_minor("python3.11".as_ref()), Some(11));
        for n in [
            "python3",
            "python3.",
            "python3.11-config",
            "python3.11d",
            "python2.7",
        ] {
            assert_eq!(venv::requested_minor(n.as_ref()), None, "{n}");
        }
    }
}
