//! Source 4: the environment of the nearest ancestor Python process.
//!
//! `/srv/app/.venv/bin/python worker.py`, started by systemd or cron and
//! never activated, runs `os.system("python analyze.py")`: the child should
//! get what `sys.executable` would have given. So, when nothing else named
//! an environment, walk up the ancestors (through `sh -c`, `make`, `env`,
//! `xargs` and other links that just pass a command on) to the nearest
//! Python interpreter, and decide whether it runs from a virtual
//! environment the way CPython decided it at its own start-up
//! (`Modules/getpath.py`).
//!
//! The walk only runs when sources 1-3 found nothing, and reads a few small
//! `/proc` files per level. It stops, with a note for `which -v`, wherever
//! going on could pick an environment nobody meant:
//! - at an interactive shell: what a person types there is theirs, not the
//!   program's that started the terminal;
//! - at a Python that is not in a venv: that Python is the nearest program
//!   that shelled out, and it ran the system's interpreter;
//! - at another user's process, one that cannot be read, PID 1, and after
//!   [`MAX_LEVELS`] processes.

use super::{Found, Inputs, Skip};

const LABEL: &str = "inherited";

/// How many ancestors are looked at. Real chains (python → sh → make → sh)
/// are a handful deep; this bounds the cost when there is no Python at all.
pub const MAX_LEVELS: usize = 16;

pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
    if !inp.inherit {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        linux::discover(inp, skipped)
    }
    #[cfg(not(target_os = "linux"))]
    {
        skipped.push(Skip::note(
            LABEL,
            "not available on this system (ancestor processes are read from Linux's /proc)",
        ));
        None
    }
}

/// One line for "what was checked".
pub fn checked(inp: &Inputs) -> String {
    if !inp.inherit {
        return "inherited: not consulted (VENVEXEC_NO_INHERIT is set)".into();
    }
    if cfg!(target_os = "linux") {
        format!(
            "inherited: ancestor processes, parent first, up to the nearest Python interpreter \
             (at most {MAX_LEVELS}; stops at an interactive shell, another user's process and PID 1)"
        )
    } else {
        "inherited: not available on this system (needs Linux's /proc)".into()
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use crate::platform::split_list;
    use std::ffi::OsStr;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use super::{LABEL, MAX_LEVELS};
    use crate::exec;
    use crate::platform::procfs::{self, Proc};
    use crate::resolve::trust::Refusal;
    use crate::resolve::{Found, Inputs, Skip, Source, trust};
    use crate::venv;

    pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
        let mut stat = Vec::new();
        let mut buf = Vec::new();
        // Our parent as the mounted /proc numbers it: getppid() answers in
        // our own PID namespace, which need not be the one /proc shows.
        let mut pid = match Proc::current().ppid(&mut stat) {
            Ok(Some(pid)) => pid,
            Ok(None) => {
                skipped.push(Skip::note(LABEL, "/proc/self/stat does not parse: skipped"));
                return None;
            }
            Err(e) => {
                skipped.push(Skip::note(
                    LABEL,
                    format_args!("cannot read /proc/self/stat ({e}; is /proc mounted?): skipped"),
                ));
                return None;
            }
        };
        for _ in 0..MAX_LEVELS {
            if pid == 0 {
                // The parent lives outside our PID namespace (we were
                // started by `docker exec` or nsenter): nothing to see.
                skipped.push(Skip::note(
                    LABEL,
                    "the next parent is outside this PID namespace: stopped",
                ));
                return None;
            }
            let proc = Proc::new(pid);
            match step(pid, &proc, inp, &mut buf, skipped) {
                Step::Found(found) => return Some(found),
                Step::Stop => return None,
                // PID 1 is looked at, since a container's entrypoint may
                // well be the venv's python, but never passed.
                Step::Next if pid == 1 => return None,
                Step::Next => {}
            }
            pid = match proc.ppid(&mut stat) {
                Ok(Some(parent)) if parent != pid => parent,
                Ok(_) => {
                    skipped.push(Skip::note(
                        LABEL,
                        format_args!("PID {pid}: its stat line does not name a parent: stopped"),
                    ));
                    return None;
                }
                Err(e) => {
                    skipped.push(unreadable(pid, &e));
                    return None;
                }
            };
        }
        skipped.push(Skip::note(
            LABEL,
            format_args!("no Python interpreter among the nearest {MAX_LEVELS} ancestors: stopped"),
        ));
        None
    }

    enum Step {
        Found(Found),
        Next,
        Stop,
    }

    fn unreadable(pid: u32, e: &io::Error) -> Skip {
        Skip::note(
            LABEL,
            format_args!("PID {pid}: cannot be read ({e}): stopped"),
        )
    }

    /// Looks at one ancestor. `buf` is reused across levels.
    fn step(
        pid: u32,
        proc: &Proc,
        inp: &Inputs,
        buf: &mut Vec<u8>,
        skipped: &mut Vec<Skip>,
    ) -> Step {
        // Ownership first, before reading anything of it: another user's
        // process and what it runs are not ours to follow.
        match proc.owner() {
            Ok(uid) if uid == inp.uid => {}
            Ok(uid) => {
                skipped.push(Skip::note(
                    LABEL,
                    format_args!(
                        "PID {pid}: belongs to uid {uid}, not to you (uid {}): stopped",
                        inp.uid
                    ),
                ));
                return Step::Stop;
            }
            Err(e) => {
                skipped.push(unreadable(pid, &e));
                return Step::Stop;
            }
        }
        let exe = match proc.exe() {
            Ok(exe) => exe,
            Err(e) => {
                skipped.push(unreadable(pid, &e));
                return Step::Stop;
            }
        };
        if let Err(e) = proc.cmdline(buf) {
            skipped.push(unreadable(pid, &e));
            return Step::Stop;
        }
        let argv: Vec<&OsStr> = procfs::args(buf).collect();
        let shown = describe(&argv, &exe);
        let moving_on = if pid == 1 {
            "not Python; PID 1 ends the walk"
        } else {
            "not Python, went on"
        };
        match kind(&argv, &exe) {
            Kind::Python => {
                // The command line is done with; `buf` is free for the
                // environment block if argv[0] must be looked up on PATH.
                let argv0 = argv.first().map(|a| a.to_os_string());
                python(pid, proc, argv0.as_deref(), &exe, &shown, inp, buf, skipped)
            }
            Kind::Shell(args) => match shell_mode(args) {
                ShellMode::Interactive => interactive(pid, &shown, skipped),
                ShellMode::Stdin if stdin_and_stderr_are_terminals(proc) => {
                    interactive(pid, &shown, skipped)
                }
                _ => {
                    skipped.push(Skip::note(
                        LABEL,
                        format_args!("PID {pid} ({shown}): {moving_on}"),
                    ));
                    Step::Next
                }
            },
            Kind::Other => {
                skipped.push(Skip::note(
                    LABEL,
                    format_args!("PID {pid} ({shown}): {moving_on}"),
                ));
                Step::Next
            }
        }
    }

    fn interactive(pid: u32, shown: &str, skipped: &mut Vec<Skip>) -> Step {
        skipped.push(Skip::note(
            LABEL,
            format_args!("PID {pid} ({shown}): an interactive shell: stopped"),
        ));
        Step::Stop
    }

    /// The ancestor is a Python interpreter: it decides, one way or the other.
    #[allow(clippy::too_many_arguments)]
    fn python(
        pid: u32,
        proc: &Proc,
        argv0: Option<&OsStr>,
        exe: &Path,
        shown: &str,
        inp: &Inputs,
        buf: &mut Vec<u8>,
        skipped: &mut Vec<Skip>,
    ) -> Step {
        let Some((root, seen)) = locate(proc, argv0, exe, buf) else {
            skipped.push(Skip::note(
                LABEL,
                format_args!("PID {pid} ({shown}): Python, not in a virtual environment: stopped"),
            ));
            return Step::Stop;
        };
        let found_in = root.parent().unwrap_or(&root);
        let env = match trust::discovered(&root, found_in, inp) {
            Ok(env) => env,
            Err(Refusal::NotEnv(why)) => {
                skipped.push(Skip::new(
                    LABEL,
                    &root,
                    format_args!("(the environment of PID {pid}, {shown}) {why}: stopped"),
                ));
                return Step::Stop;
            }
            Err(Refusal::Untrusted(why)) => {
                skipped.push(Skip::untrusted(
                    LABEL,
                    &root,
                    format_args!(
                        "(the environment of PID {pid}) not trusted: {why}; {}",
                        trust::hint(&root)
                    ),
                ));
                return Step::Stop;
            }
        };
        Step::Found(Found {
            env,
            source: Source::Inherited { pid, exe: seen },
        })
    }

    /// The venv a Python process runs from, and its interpreter path as the
    /// process saw it, decided as CPython's getpath does: argv[0] made
    /// absolute (against the process's cwd, or looked up on its own PATH
    /// when it is a bare name), then `pyvenv.cfg` one level above its
    /// directory or beside it. argv[0] is *not* resolved through symlinks:
    /// a venv's `bin/python` links to the base interpreter, and resolving
    /// it would lose the venv. Then `/proc/PID/exe`, for `--copies` venvs
    /// whose argv[0] no longer leads anywhere (relative to a directory the
    /// program has since left, or rewritten by setproctitle).
    fn locate(
        proc: &Proc,
        argv0: Option<&OsStr>,
        exe: &Path,
        buf: &mut Vec<u8>,
    ) -> Option<(PathBuf, PathBuf)> {
        if let Some(seen) = argv0.and_then(|a| absolute_argv0(proc, a, buf)) {
            if let Some(root) = venv::root_of_interpreter(&seen) {
                return Some((root, seen));
            }
            // root_of_interpreter only looks at the directory: the exe beside argv[0]
            // (python3 → python3.11) would get the same answer again.
            if seen.parent() == exe.parent() {
                return None;
            }
        }
        venv::root_of_interpreter(exe).map(|root| (root, exe.to_path_buf()))
    }

    fn absolute_argv0(proc: &Proc, argv0: &OsStr, buf: &mut Vec<u8>) -> Option<PathBuf> {
        if argv0.is_empty() {
            return None;
        }
        let path = Path::new(argv0);
        if argv0.as_bytes().contains(&b'/') {
            if path.is_absolute() {
                return Some(path.components().collect());
            }
            return Some(proc.cwd().ok()?.join(path).components().collect());
        }
        let path_var = OsStr::from_bytes(proc.environ_var(b"PATH", buf).ok()??);
        // Empty and relative entries are relative to the process's cwd, as
        // in its own lookup; only then is the cwd needed.
        let cwd = if split_list(path_var).any(|e| !Path::new(e).is_absolute()) {
            Some(proc.cwd().ok()?)
        } else {
            None
        };
        exec::find_on_path(argv0, Some(path_var), cwd.as_deref(), &[])
    }

    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Kind<'a> {
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

    pub(super) fn kind<'a>(argv: &'a [&'a OsStr], exe: &Path) -> Kind<'a> {
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
    pub(super) enum ShellMode {
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
    pub(super) fn shell_mode(args: &[&OsStr]) -> ShellMode {
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

    /// POSIX: a shell without `-c` or a script is interactive when its
    /// standard input and standard error are terminals. When that cannot be
    /// told, say yes: stopping only means the system's Python, as before.
    fn stdin_and_stderr_are_terminals(proc: &Proc) -> bool {
        [0, 2].iter().all(|&fd| match proc.fd(fd) {
            Ok(target) => is_terminal(&target),
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        })
    }

    pub(super) fn is_terminal(target: &Path) -> bool {
        let b = target.as_os_str().as_bytes();
        b.starts_with(b"/dev/pts/") || b.starts_with(b"/dev/tty") || b == b"/dev/console"
    }

    /// A short, `ps`-like label for notes: argv[0] and the next argument.
    pub(super) fn describe(argv: &[&OsStr], exe: &Path) -> String {
        let Some((first, rest)) = argv.split_first() else {
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
        let s = Path::new(a).display().to_string();
        match s.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &s[..cut]),
            None => s,
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::*;
    use std::ffi::OsStr;
    use std::path::Path;

    fn argv(s: &[&'static str]) -> Vec<&'static OsStr> {
        s.iter().map(|a| OsStr::new(*a)).collect()
    }

    fn mode(s: &[&'static str]) -> ShellMode {
        shell_mode(&argv(s))
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
        let long = "é".repeat(100);
        let a = vec![OsStr::new(long.as_str())];
        assert_eq!(describe(&a, Path::new("/x")).chars().count(), 61);
    }
}
