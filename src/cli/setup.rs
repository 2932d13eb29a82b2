//! `venvexec setup [--dry-run] [--no-modify-profile] [--uninstall]`: the
//! step a package installer (pip, pipx, uv tool) cannot run. It links the
//! default shims, puts the one PATH line in the shell profiles, and writes
//! the completions and the man page where the shells and `man` look.
//! install.sh runs this same command.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::shims;
use crate::fail::{self, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Say what would change, and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the PATH line instead of adding it to the shell profiles
    #[arg(long)]
    no_modify_profile: bool,
    /// Remove the shims, the PATH line, the completions and the man page
    #[arg(long)]
    uninstall: bool,
    /// The shims directory [default: as `venvexec shims dir`]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// First line of our block in a profile; the PATH line follows it. Found
/// by this exact text, so uninstall and a second run touch nothing else.
const MARKER: &str = "# added by `venvexec setup`: the shims first on PATH (`venvexec setup --uninstall` removes it)";

/// Second line of every completion file and man page setup writes: what
/// uninstall removes is only what carries it.
const FILE_MARKER: &str = "written by `venvexec setup`";

pub fn run(args: Args) -> anyhow::Result<u8> {
    let dir = match &args.dir {
        Some(d) => std::path::absolute(d).unwrap_or_else(|_| d.clone()),
        None => shims::default_dir().ok_or_else(shims::no_data_dir)?,
    };
    let home = home()?;
    if args.dry_run {
        outln!("dry run: nothing is changed");
    }
    if args.uninstall {
        uninstall(&dir, &home, &args)
    } else {
        install(&dir, &home, &args)
    }
}

fn home() -> Result<PathBuf, Fail> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            Fail::new(
                fail::FAILURE,
                "HOME is not set: cannot tell where your shell profiles are",
            )
        })
}

fn install(dir: &Path, home: &Path, args: &Args) -> anyhow::Result<u8> {
    let names = shims::names(&[])?;
    let refused = shims::install_links(dir, &names, args.dry_run)?;
    outln!("shims directory: {}", dir.display());
    for (path, kind) in generated_files(home) {
        write_generated(&path, kind, args.dry_run)?;
    }
    if args.no_modify_profile {
        outln!(
            "to use the shims, put this line in your shell profile (after `eval \"$(pyenv init -)\"` if you have one):"
        );
        outln!("  {}", posix_line(dir));
    } else {
        for profile in profiles(home, false) {
            update_profile(&profile, Some(dir), args.dry_run)?;
        }
        outln!(
            "open a new shell to use the shims (or run now: {})",
            posix_line(dir)
        );
    }
    Ok(if refused > 0 { fail::FAILURE } else { 0 })
}

fn uninstall(dir: &Path, home: &Path, args: &Args) -> anyhow::Result<u8> {
    let status = shims::remove(dir, &[], args.dry_run)?;
    for (path, _) in generated_files(home) {
        remove_generated(&path, home, args.dry_run)?;
    }
    for profile in profiles(home, true) {
        update_profile(&profile, None, args.dry_run)?;
    }
    Ok(status)
}

// --- completions and the man page ------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generated {
    Bash,
    Zsh,
    Fish,
    Man,
}

/// Where each file goes: user directories the shells and man-db search by
/// default (bash-completion's XDG dir, fish's completions dir, the man
/// directory beside `~/.local/bin`), and zsh's conventional
/// `site-functions` (which the user adds to `fpath`). A shell's file is
/// written only when that shell is on PATH (fish: has a config dir).
fn generated_files(home: &Path) -> Vec<(PathBuf, Generated)> {
    let Some(data) = shims::data_home() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if on_path("bash") {
        out.push((
            data.join("bash-completion/completions/venvexec"),
            Generated::Bash,
        ));
    }
    if on_path("zsh") {
        out.push((data.join("zsh/site-functions/_venvexec"), Generated::Zsh));
    }
    let fish = config_home(home).join("fish");
    if fish.is_dir() {
        out.push((fish.join("completions/venvexec.fish"), Generated::Fish));
    }
    out.push((data.join("man/man1/venvexec.1"), Generated::Man));
    out
}

fn config_home(home: &Path) -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"))
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    crate::exec::find_on_path(program.as_ref(), Some(&path), None, &[]).is_some()
}

/// The file's text, with [`FILE_MARKER`] on its second line (zsh needs
/// `#compdef` on the first).
fn generated_text(kind: Generated) -> Vec<u8> {
    let body = match kind {
        Generated::Bash => super::generate(super::Generate::CompleteBash),
        Generated::Zsh => super::generate(super::Generate::CompleteZsh),
        Generated::Fish => super::generate(super::Generate::CompleteFish),
        Generated::Man => super::generate(super::Generate::Man),
    };
    let comment = if kind == Generated::Man {
        format!(".\\\" {FILE_MARKER}\n")
    } else {
        format!("# {FILE_MARKER}\n")
    };
    let split = body.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut out = body[..split].to_vec();
    out.extend_from_slice(comment.as_bytes());
    out.extend_from_slice(&body[split..]);
    out
}

fn is_generated(path: &Path) -> bool {
    crate::platform::read_marker(path).is_ok_and(|text| {
        text.split(|&b| b == b'\n')
            .nth(1)
            .is_some_and(|l| String::from_utf8_lossy(l).ends_with(FILE_MARKER))
    })
}

fn write_generated(path: &Path, kind: Generated, dry_run: bool) -> anyhow::Result<()> {
    let text = generated_text(kind);
    let shown = path.display();
    match fs::read(path) {
        Ok(old) if old == text => {
            outln!("{shown}: up to date");
            return Ok(());
        }
        Ok(_) if !is_generated(path) => {
            outln!("{shown}: exists and was not written by venvexec setup: left alone");
            return Ok(());
        }
        _ => {}
    }
    let verb = if dry_run { "would write" } else { "wrote" };
    if !dry_run {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        replace_file(path, &text, 0o644)?;
    }
    outln!("{shown}: {verb} {}", what(kind));
    if kind == Generated::Zsh {
        outln!(
            "  (zsh loads it once its directory is on fpath: put `fpath+=({})` before `compinit` in ~/.zshrc)",
            path.parent().unwrap_or(Path::new(".")).display()
        );
    }
    Ok(())
}

fn what(kind: Generated) -> &'static str {
    match kind {
        Generated::Bash => "bash completions",
        Generated::Zsh => "zsh completions",
        Generated::Fish => "fish completions",
        Generated::Man => "the man page",
    }
}

/// Removes a file setup wrote, then the directories that leaves empty, up
/// to (not including) the data and config homes.
fn remove_generated(path: &Path, home: &Path, dry_run: bool) -> anyhow::Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if !is_generated(path) {
        outln!(
            "{}: not written by venvexec setup: left alone",
            path.display()
        );
        return Ok(());
    }
    if dry_run {
        outln!("{}: would be removed", path.display());
        return Ok(());
    }
    fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    outln!("{}: removed", path.display());
    let stops = [shims::data_home(), Some(config_home(home))];
    let mut dir = path.parent();
    while let Some(d) = dir {
        if stops.iter().flatten().any(|s| s == d) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

// --- shell profiles ------------------------------------------------------------

/// The profiles to hold the PATH line. `~/.profile` always (sh, dash, and
/// bash login shells without a `.bash_profile`); bash's and zsh's when they
/// exist or are the login shell; fish's when fish has a config dir. With
/// `all`, every candidate that exists (for uninstall).
fn profiles(home: &Path, all: bool) -> Vec<PathBuf> {
    let shell = std::env::var_os("SHELL").unwrap_or_default();
    let shell = Path::new(&shell)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let zdotdir = std::env::var_os("ZDOTDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.to_path_buf());
    let fish_dir = config_home(home).join("fish");
    let candidates = [
        (home.join(".profile"), true),
        (home.join(".bash_profile"), false),
        (home.join(".bash_login"), false),
        (home.join(".bashrc"), shell == "bash"),
        (zdotdir.join(".zshrc"), shell == "zsh"),
        (fish_dir.join("config.fish"), fish_dir.is_dir()),
    ];
    candidates
        .into_iter()
        .filter(|(p, wanted)| fs::symlink_metadata(p).is_ok() || (*wanted && !all))
        .map(|(p, _)| p)
        .collect()
}

fn is_fish(profile: &Path) -> bool {
    profile.extension().is_some_and(|e| e == "fish")
}

/// `export PATH="DIR:$PATH"`, DIR escaped for double quotes.
fn posix_line(dir: &Path) -> String {
    let mut quoted = String::new();
    for c in dir.to_string_lossy().chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("export PATH=\"{quoted}:$PATH\"")
}

fn fish_line(dir: &Path) -> String {
    format!(
        "set -gx PATH {} $PATH",
        super::env::fish_quote(&dir.to_string_lossy())
    )
}

/// The profile text with our block placed (`Some(dir)`) or removed
/// (`None`). The block goes right after the last `pyenv init` line (and the
/// `fi`/`end` closing it), since pyenv's init puts its own shims first;
/// else at the end. An old block anywhere is taken out first, so a second
/// run changes nothing and a stale one is replaced.
pub fn placed(text: &str, line: Option<&str>) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut src = text.lines().peekable();
    while let Some(l) = src.next() {
        if l == MARKER {
            // Our PATH line follows the marker.
            src.next();
            continue;
        }
        lines.push(l);
    }
    let Some(line) = line else {
        return join(&lines, text.ends_with('\n') || lines.is_empty());
    };
    let pyenv = lines.iter().rposition(|l| {
        let t = l.trim_start();
        !t.starts_with('#') && t.contains("pyenv init")
    });
    let at = match pyenv {
        Some(mut i) => {
            while lines
                .get(i + 1)
                .is_some_and(|l| matches!(l.trim(), "fi" | "end" | "}"))
            {
                i += 1;
            }
            i + 1
        }
        None => lines.len(),
    };
    lines.splice(at..at, [MARKER, line]);
    join(&lines, true)
}

fn join(lines: &[&str], newline: bool) -> String {
    let mut s = lines.join("\n");
    if newline && !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Adds (`Some(dir)`) or removes our block in one profile, saying what
/// changed. Writes through a symlinked profile (dotfile managers) to its
/// target; a profile that removing the block leaves empty is removed.
fn update_profile(profile: &Path, dir: Option<&Path>, dry_run: bool) -> anyhow::Result<()> {
    let shown = profile.display();
    let old = match fs::read(profile) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {shown}")),
    };
    let Ok(old_text) = String::from_utf8(old.clone().unwrap_or_default()) else {
        outln!("{shown}: not UTF-8 text: left alone");
        return Ok(());
    };
    let line = dir.map(|d| {
        if is_fish(profile) {
            fish_line(d)
        } else {
            posix_line(d)
        }
    });
    let new_text = placed(&old_text, line.as_deref());
    if old.is_some() && new_text == old_text {
        if let Some(line) = &line {
            outln!("{shown}: already has the PATH line: {line}");
        }
        return Ok(());
    }
    if old.is_none() && line.is_none() {
        return Ok(());
    }
    let would = if dry_run { "would be " } else { "" };
    let change = match (&line, old_text.contains(MARKER)) {
        (Some(l), false) => format!("{would}added: {l}"),
        (Some(l), true) => format!("{would}updated: {l}"),
        (None, _) => format!("{would}removed the PATH line"),
    };
    if !dry_run {
        let target = fs::canonicalize(profile).unwrap_or_else(|_| profile.to_path_buf());
        if line.is_none() && new_text.trim().is_empty() {
            fs::remove_file(&target).with_context(|| format!("removing {shown}"))?;
            outln!("{shown}: removed (it held only the PATH line)");
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mode = fs::metadata(&target).map_or(0o644, |m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o7777
        });
        replace_file(&target, new_text.as_bytes(), mode)?;
    }
    outln!("{shown}: {change}");
    Ok(())
}

/// Writes `bytes` beside `path` and renames it over: a crash never leaves
/// a half-written profile.
fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp: OsString = path.as_os_str().to_owned();
    tmp.push(format!(".venvexec-tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "export PATH=\"/s:$PATH\"";

    #[test]
    fn block_goes_at_the_end_and_comes_out_exactly() {
        let text = "# mine\nalias ll='ls -l'\n";
        let with = placed(text, Some(LINE));
        assert_eq!(with, format!("{text}{MARKER}\n{LINE}\n"));
        assert_eq!(placed(&with, Some(LINE)), with, "idempotent");
        assert_eq!(placed(&with, None), text);
        assert_eq!(placed("", Some(LINE)), format!("{MARKER}\n{LINE}\n"));
    }

    #[test]
    fn block_goes_after_pyenv_init_and_its_closing_fi() {
        let text = "a\nif command -v pyenv >/dev/null; then\n  eval \"$(pyenv init -)\"\nfi\nb\n";
        let with = placed(text, Some(LINE));
        assert_eq!(
            with,
            format!(
                "a\nif command -v pyenv >/dev/null; then\n  eval \"$(pyenv init -)\"\nfi\n{MARKER}\n{LINE}\nb\n"
            )
        );
        // Our old line before a pyenv init added later moves after it.
        let old = format!("{MARKER}\n{LINE}\neval \"$(pyenv init -)\"\n");
        assert_eq!(
            placed(&old, Some(LINE)),
            format!("eval \"$(pyenv init -)\"\n{MARKER}\n{LINE}\n")
        );
        // A commented-out pyenv line is not one.
        assert_eq!(
            placed("# pyenv init\nx\n", Some(LINE)),
            format!("# pyenv init\nx\n{MARKER}\n{LINE}\n")
        );
    }

    #[test]
    fn posix_line_escapes_for_double_quotes() {
        assert_eq!(
            posix_line(Path::new("/a b/$x\"`")),
            "export PATH=\"/a b/\\$x\\\"\\`:$PATH\""
        );
    }
}
