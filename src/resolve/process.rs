//! What kind of process an ancestor is, from its command line and its
//! executable's path alone: a Python, a shell (and whether it is
//! interactive), or something else. Portable: only the reading of those
//! facts from a live process (`/proc`) is Linux's, in `inherited`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    Python,
    /// A shell, with its arguments after the shell's own name.
    Shell(&'a [&'a OsStr]),
    Other,
}

const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"rbash", b"dash", b"zsh", b"ksh", b"ksh93", b"mksh", b"pdksh", b"ash",
    b"hush", b"yash", b"posh", b"fish", b"csh", b"tcsh",
];

fn is_shell(name: &[u8]) -> bool {
    SHELLS.contains(&name)
}

fn is_python(name: &[u8]) -> bool {
    name.starts_with(b"python")
}

/// The file name of an argv[0] or exe path; a login shell's leading
/// `-` (`-bash`) is dropped.
fn base(p: &OsStr) -> &[u8] {
    let name = Path::new(p).file_name().map_or(&b""[..], |n| n.as_bytes());
    name.strip_prefix(b"-").unwrap_or(name)
}

pub fn kind<'a>(argv: &'a [&'a OsStr], exe: &Path) -> Kind<'a> {
    let exe_name = base(exe.as_os_str());
    if is_python(exe_name) {
        return Kind::Python;
    }
    let arg0 = argv.first().map_or(&b""[..], |a| base(a));
    let rest = argv.get(1..).unwrap_or(&[]);
    // busybox is one binary for every applet: `sh` as argv[0], or
    // `busybox sh ARGS`.
    if arg0 == b"busybox" {
        if let Some((applet, args)) = rest.split_first()
            && is_shell(base(applet))
        {
            return Kind::Shell(args);
        }
        return Kind::Other;
    }
    if is_shell(arg0) || (is_shell(exe_name) && !is_python(arg0)) {
        return Kind::Shell(rest);
    }
    if is_python(arg0) {
        return Kind::Python;
    }
    Kind::Other
}

#[derive(Debug, PartialEq, Eq)]
pub enum ShellMode {
    /// `-c COMMAND`: runs a command it was given.
    Command,
    /// A script file operand.
    Script,
    /// `-i`: interactive whatever else it reads.
    Interactive,
    /// No command, no script: commands come from standard input, and the
    /// shell is interactive when that is a terminal (POSIX `sh`).
    Stdin,
}

/// Reads a shell's options the way sh, bash, zsh and fish do: option
/// clusters up to the first operand or `--`; `-o`/`-O` take a value.
pub fn shell_mode(args: &[&OsStr]) -> ShellMode {
    let (mut command, mut interactive) = (false, false);
    let mut rest = args.iter().map(|a| a.as_bytes());
    let mut operand = false;
    while let Some(a) = rest.next() {
        if a == b"--" || a == b"-" {
            operand = rest.next().is_some();
            break;
        }
        if let Some(long) = a.strip_prefix(b"--") {
            match long {
                b"command" => command = true,
                b"interactive" => interactive = true,
                b"rcfile" | b"init-file" | b"init-command" => {
                    rest.next();
                }
                _ if long.starts_with(b"command=") => command = true,
                _ => {}
            }
            continue;
        }
        match a.split_first() {
            Some((&sign @ (b'-' | b'+'), flags)) if !flags.is_empty() => {
                if sign == b'-' {
                    command |= flags.contains(&b'c');
                    interactive |= flags.contains(&b'i');
                }
                if flags.iter().any(|&f| f == b'o' || f == b'O') {
                    rest.next();
                }
            }
            _ => {
                operand = true;
                break;
            }
        }
    }
    if interactive {
        ShellMode::Interactive
    } else if command {
        ShellMode::Command
    } else if operand {
        ShellMode::Script
    } else {
        ShellMode::Stdin
    }
}

pub fn is_terminal(target: &Path) -> bool {
    let b = target.as_os_str().as_bytes();
    b.starts_with(b"/dev/pts/") || b.starts_with(b"/dev/tty") || b == b"/dev/console"
}

/// A short, `ps`-like label for notes: `argv[0]` and the next argument.
pub fn describe(argv: &[&OsStr], exe: &Path) -> String {
    // setproctitle pads the title it wrote with NULs: they read as
    // empty arguments after it.
    let used = argv
        .iter()
        .rposition(|a| !a.is_empty())
        .map_or(0, |i| i + 1);
    let Some((first, rest)) = argv[..used].split_first() else {
        return clip(exe.as_os_str());
    };
    let mut s = clip(first);
    if let Some(second) = rest.first() {
        s.push(' ');
        s.push_str(&clip(second));
    }
    if rest.len() > 1 {
        s.push_str(" …");
    }
    s
}

fn clip(a: &OsStr) -> String {
    const MAX: usize = 60;
    // What `Path::display` shows (U+FFFD for bytes that are not UTF-8),
    // without the formatting machinery: this runs for every ancestor.
    let s = String::from_utf8_lossy(a.as_bytes());
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => {
            let mut out = String::with_capacity(cut + '…'.len_utf8());
            out.push_str(&s[..cut]);
            out.push('…');
            out
        }
        None => s.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::path::Path;

    fn argv(s: &[&'static str]) -> Vec<&'static OsStr> {
        s.iter().map(|a| OsStr::new(*a)).collect()
    }

    fn mode(s: &[&'static str]) -> ShellMode {
        shell_mode(&argv(s))
    }

    #[test]
    fn clip_shows_what_display_shows() {
        let long = "x".repeat(70);
        for a in [
            OsStr::new("sh"),
            OsStr::from_bytes(b"a\xffb"),
            OsStr::new(&long),
        ] {
            let shown = Path::new(a).display().to_string();
            let want = match shown.char_indices().nth(60) {
                Some((cut, _)) => format!("{}…", &shown[..cut]),
                None => shown,
            };
            assert_eq!(clip(a), want);
        }
    }

    #[test]
    fn shell_options_decide_interactive() {
        assert_eq!(mode(&["-c", "python x"]), ShellMode::Command);
        assert_eq!(mode(&["-ec", "python x"]), ShellMode::Command);
        assert_eq!(mode(&["-o", "errexit", "-c", "x"]), ShellMode::Command);
        assert_eq!(mode(&["-euo", "pipefail", "-c", "x"]), ShellMode::Command);
        assert_eq!(mode(&["--norc", "-c", "x"]), ShellMode::Command);
        assert_eq!(mode(&["--command=x"]), ShellMode::Command);
        assert_eq!(mode(&["script.sh", "-i"]), ShellMode::Script);
        assert_eq!(mode(&["-e", "script.sh"]), ShellMode::Script);
        assert_eq!(mode(&["-o", "x.sh"]), ShellMode::Stdin);
        assert_eq!(mode(&["--", "script.sh"]), ShellMode::Script);
        assert_eq!(mode(&["-i"]), ShellMode::Interactive);
        assert_eq!(mode(&["--norc", "-i"]), ShellMode::Interactive);
        assert_eq!(mode(&["-ic", "x"]), ShellMode::Interactive);
        assert_eq!(mode(&["--rcfile", "-c", "-i"]), ShellMode::Interactive);
        assert_eq!(mode(&[]), ShellMode::Stdin);
        assert_eq!(mode(&["-s", "+x"]), ShellMode::Stdin);
        assert_eq!(mode(&["--login"]), ShellMode::Stdin);
    }

    #[test]
    fn kinds_by_exe_and_argv0() {
        let p = Path::new;
        let a = argv(&["/v/bin/python", "x.py"]);
        assert_eq!(kind(&a, p("/usr/bin/python3.11")), Kind::Python);
        let a = argv(&["celery worker"]);
        assert_eq!(kind(&a, p("/usr/bin/python3.11 (deleted)")), Kind::Python);
        let a = argv(&["python3", "-c", "x"]);
        assert_eq!(kind(&a, p("/opt/odd/interp")), Kind::Python);
        let a = argv(&["sh", "-c", "x"]);
        assert_eq!(kind(&a, p("/usr/bin/dash")), Kind::Shell(&a[1..]));
        let a = argv(&["-bash"]);
        assert_eq!(kind(&a, p("/usr/bin/bash")), Kind::Shell(&a[1..]));
        let a = argv(&["/bin/sh", "-c", "x"]);
        assert_eq!(kind(&a, p("/bin/busybox")), Kind::Shell(&a[1..]));
        let a = argv(&["busybox", "sh", "-i"]);
        assert_eq!(kind(&a, p("/bin/busybox")), Kind::Shell(&a[2..]));
        let a = argv(&["xargs", "python"]);
        assert_eq!(kind(&a, p("/bin/busybox")), Kind::Other);
        let a = argv(&["make", "-s"]);
        assert_eq!(kind(&a, p("/usr/bin/make")), Kind::Other);
        assert_eq!(kind(&[], p("/usr/bin/env")), Kind::Other);
    }

    #[test]
    fn terminals() {
        assert!(is_terminal(Path::new("/dev/pts/3")));
        assert!(is_terminal(Path::new("/dev/tty1")));
        assert!(!is_terminal(Path::new("pipe:[1234]")));
        assert!(!is_terminal(Path::new("/dev/null")));
    }

    #[test]
    fn descriptions_are_short() {
        let a = argv(&["sh", "-c", "python -c 'x'"]);
        assert_eq!(describe(&a, Path::new("/bin/dash")), "sh -c …");
        let a = argv(&["/usr/bin/python3"]);
        assert_eq!(describe(&a, Path::new("/x")), "/usr/bin/python3");
        assert_eq!(describe(&[], Path::new("/bin/x")), "/bin/x");
        let a = argv(&["gunicorn: worker [app]", "", "", ""]);
        assert_eq!(describe(&a, Path::new("/x")), "gunicorn: worker [app]");
        let a = argv(&["prog", "", "x"]);
        assert_eq!(describe(&a, Path::new("/x")), "prog  …");
        let long = "é".repeat(100);
        let a = vec![OsStr::new(long.as_str())];
        assert_eq!(describe(&a, Path::new("/x")).chars().count(), 61);
    }
}
