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

const LABEL: super::Kind = super::Kind::Inherited;

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
    use std::fs;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use super::{LABEL, MAX_LEVELS};
    use crate::exec;
    use crate::platform::procfs::{self, Proc};
    use crate::resolve::judge::{Candidate, Origin, Verdict as JudgeVerdict, judge};
    use crate::resolve::process::{Kind, ShellMode, describe, is_terminal, kind, shell_mode};
    use crate::resolve::servers::{self, UwsgiHome};
    use crate::resolve::{Evidence, Found, Inputs, Skip};
    use crate::venv::{self, FileId};

    /// Buffers reused across levels: the command line stays borrowed by
    /// the arguments while the scratch one takes an environment or a map.
    #[derive(Default)]
    struct Bufs {
        cmdline: Vec<u8>,
        scratch: Vec<u8>,
    }

    pub fn discover(inp: &Inputs, skipped: &mut Vec<Skip>) -> Option<Found> {
        let mut stat = Vec::new();
        let mut bufs = Bufs::default();
        let managers = servers::managers(inp.process_managers.as_deref());
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
        // The links passed on the way, said in one line before whatever
        // ended the walk.
        let mut passed = Vec::new();
        for _ in 0..MAX_LEVELS {
            if pid == 0 {
                // The parent lives outside our PID namespace (we were
                // started by `docker exec` or nsenter): nothing to see.
                flush(&passed, skipped);
                skipped.push(Skip::note(
                    LABEL,
                    "the next parent is outside this PID namespace: stopped",
                ));
                return None;
            }
            let proc = Proc::new(pid);
            let mark = skipped.len();
            match step(pid, &proc, inp, &managers, &mut bufs, skipped) {
                Step::Found(found) => {
                    flush_at(&passed, skipped, mark);
                    return Some(found);
                }
                Step::Stop => {
                    flush_at(&passed, skipped, mark);
                    return None;
                }
                // PID 1 is looked at, since a container's entrypoint may
                // well be the venv's python, but never passed.
                Step::Next(shown) if pid == 1 => {
                    flush(&passed, skipped);
                    skipped.push(Skip::note(
                        LABEL,
                        format_args!("PID 1 ({shown}): not Python; PID 1 ends the walk"),
                    ));
                    return None;
                }
                Step::Next(shown) => passed.push(format!("{shown} (PID {pid})")),
            }
            pid = match proc.ppid(&mut stat) {
                Ok(Some(parent)) if parent != pid => parent,
                Ok(_) => {
                    flush(&passed, skipped);
                    skipped.push(Skip::note(
                        LABEL,
                        format_args!("PID {pid}: its stat line does not name a parent: stopped"),
                    ));
                    return None;
                }
                Err(e) => {
                    flush(&passed, skipped);
                    skipped.push(unreadable(pid, &e));
                    return None;
                }
            };
        }
        flush(&passed, skipped);
        skipped.push(Skip::note(
            LABEL,
            format_args!("no Python interpreter among the nearest {MAX_LEVELS} ancestors: stopped"),
        ));
        None
    }

    fn flush(passed: &[String], skipped: &mut Vec<Skip>) {
        flush_at(passed, skipped, skipped.len());
    }

    /// One line for every link passed (`sh -c`, `make`, `xargs`), placed
    /// before the notes of the step that ended the walk.
    fn flush_at(passed: &[String], skipped: &mut Vec<Skip>, at: usize) {
        if passed.is_empty() {
            return;
        }
        let line = Skip::note(
            LABEL,
            format_args!("passed {}: not Python, went on", passed.join(", ")),
        );
        skipped.insert(at.min(skipped.len()), line);
    }

    enum Step {
        Found(Found),
        /// Passed through; how the process looked.
        Next(String),
        Stop,
    }

    fn unreadable(pid: u32, e: &io::Error) -> Skip {
        Skip::note(
            LABEL,
            format_args!("PID {pid}: cannot be read ({e}): stopped"),
        )
    }

    fn stop(pid: u32, shown: &str, why: impl std::fmt::Display, skipped: &mut Vec<Skip>) -> Step {
        skipped.push(Skip::note(
            LABEL,
            format_args!("PID {pid} ({shown}): {why}: stopped"),
        ));
        Step::Stop
    }

    /// Looks at one ancestor.
    fn step(
        pid: u32,
        proc: &Proc,
        inp: &Inputs,
        managers: &[&[u8]],
        bufs: &mut Bufs,
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
        let Bufs { cmdline, scratch } = bufs;
        if let Err(e) = proc.cmdline(cmdline) {
            skipped.push(unreadable(pid, &e));
            return Step::Stop;
        }
        let argv: Vec<&OsStr> = procfs::args(cmdline).collect();
        let shown = describe(&argv, &exe);
        let kind = kind(&argv, &exe);
        // A process manager's programs are not its shell-outs: they get
        // what they would get without it (the project walk already ran,
        // so: fall through), never the manager's own private venv.
        if let Some(name) = servers::manager(&argv, &exe, kind == Kind::Python, managers) {
            let why = format!(
                "the process manager {}: what it starts are its programs, not its shell-outs \
                 (VENVEXEC_PROCESS_MANAGERS)",
                String::from_utf8_lossy(name)
            );
            return stop(pid, &shown, why, skipped);
        }
        if servers::is_uwsgi(&argv, &exe) {
            return uwsgi(pid, proc, &argv, &shown, inp, scratch, skipped);
        }
        match kind {
            Kind::Python => python(
                pid,
                proc,
                argv.first().copied(),
                &exe,
                &shown,
                inp,
                scratch,
                skipped,
            ),
            Kind::Shell(args) => match shell_mode(args) {
                ShellMode::Interactive => interactive(pid, &shown, skipped),
                ShellMode::Stdin if stdin_and_stderr_are_terminals(proc) => {
                    interactive(pid, &shown, skipped)
                }
                _ => Step::Next(shown),
            },
            Kind::Other => match embedded_python(proc, scratch) {
                // Python inside another program (a plugin host, a frozen
                // app): which environment it runs cannot be told, and
                // passing through would hand its shell-outs whatever
                // started it.
                Some(lib) => stop(
                    pid,
                    &shown,
                    format_args!(
                        "embeds Python ({}), and its environment cannot be told",
                        Path::new(&lib).display()
                    ),
                    skipped,
                ),
                None => Step::Next(shown),
            },
        }
    }

    fn interactive(pid: u32, shown: &str, skipped: &mut Vec<Skip>) -> Step {
        stop(pid, shown, "an interactive shell", skipped)
    }

    /// The first libpython the process has mapped. Read only for the
    /// links that are neither a shell nor a Python: their map is small,
    /// and the walk only runs when no other source found an environment.
    fn embedded_python(proc: &Proc, buf: &mut Vec<u8>) -> Option<std::ffi::OsString> {
        proc.maps(buf).ok()?;
        servers::mapped_files(buf)
            .find(|f| servers::is_libpython(f))
            .map(OsStr::to_os_string)
    }

    /// uWSGI embeds Python: no ancestor looks like an interpreter, and its
    /// environment is the one named by its own options, on the command
    /// line or in `UWSGI_*` variables (which it reads as options, before
    /// the command line).
    #[allow(clippy::too_many_arguments)]
    fn uwsgi(
        pid: u32,
        proc: &Proc,
        argv: &[&OsStr],
        shown: &str,
        inp: &Inputs,
        buf: &mut Vec<u8>,
        skipped: &mut Vec<Skip>,
    ) -> Step {
        let (flag, dir) = match servers::uwsgi_home(argv.get(1..).unwrap_or(&[])) {
            UwsgiHome::Dir { flag, dir } => (flag.to_os_string(), dir.to_os_string()),
            UwsgiHome::Config(file) => {
                let why = format!(
                    "uWSGI, whose Python home may be set in {}, which venvexec does not read",
                    Path::new(file).display()
                );
                return stop(pid, shown, why, skipped);
            }
            UwsgiHome::Unset => match uwsgi_env_home(proc, buf) {
                Some(found) => found,
                None => {
                    let why = "uWSGI without --virtualenv/--home: its embedded Python is not in a virtual environment";
                    return stop(pid, shown, why, skipped);
                }
            },
        };
        let dir = Path::new(&dir);
        // uWSGI takes a relative home against the directory it started in.
        let root: PathBuf = if dir.is_absolute() {
            dir.components().collect()
        } else {
            match proc.cwd() {
                Ok(cwd) => cwd.join(dir).components().collect(),
                Err(e) => {
                    skipped.push(unreadable(pid, &e));
                    return Step::Stop;
                }
            }
        };
        let evidence = Evidence::HostFlag {
            flag,
            dir: root.clone(),
        };
        adopt(pid, root, evidence, shown, inp, skipped)
    }

    fn uwsgi_env_home(
        proc: &Proc,
        buf: &mut Vec<u8>,
    ) -> Option<(std::ffi::OsString, std::ffi::OsString)> {
        proc.environ(buf).ok()?;
        [
            "UWSGI_VIRTUALENV",
            "UWSGI_VENV",
            "UWSGI_HOME",
            "UWSGI_PYHOME",
        ]
        .iter()
        .find_map(|name| {
            let v = procfs::find_var(buf, name.as_bytes()).filter(|v| !v.is_empty())?;
            Some((name.into(), OsStr::from_bytes(v).to_os_string()))
        })
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
        match locate(proc, argv0, exe, buf) {
            Verdict::Venv(root, evidence) => adopt(pid, root, evidence, shown, inp, skipped),
            Verdict::NotVenv(by) => stop(
                pid,
                shown,
                format_args!("Python, not in a virtual environment (by {by})"),
                skipped,
            ),
            Verdict::Ambiguous(why) => stop(pid, shown, format_args!("Python, {why}"), skipped),
        }
    }

    /// An environment an ancestor runs from: a candidate for the judge,
    /// like every environment venvexec finds on its own.
    fn adopt(
        pid: u32,
        root: PathBuf,
        evidence: Evidence,
        shown: &str,
        inp: &Inputs,
        skipped: &mut Vec<Skip>,
    ) -> Step {
        let candidate = Candidate {
            at: root,
            origin: Origin::Inherited {
                pid,
                title: shown.to_string(),
                evidence,
            },
        };
        match judge(candidate, inp, skipped) {
            Ok(JudgeVerdict::Found(found)) => Step::Found(found),
            _ => Step::Stop,
        }
    }

    enum Verdict {
        Venv(PathBuf, Evidence),
        /// Not in a venv, and what told.
        NotVenv(&'static str),
        /// The evidence points two ways.
        Ambiguous(String),
    }

    /// The venv a Python process runs from, decided as CPython's getpath
    /// did at its start, from the best evidence left:
    ///
    /// 1. argv[0] made absolute (against the cwd, or looked up on the
    ///    process's own PATH when it is a bare name), then `pyvenv.cfg`
    ///    one level above its directory or beside it. Not resolved through
    ///    symlinks: a venv's `bin/python` links to the base interpreter,
    ///    and resolving it would lose the venv. When it leads to the very
    ///    file running (`/proc/PID/exe`), it decided, venv or not.
    /// 2. A relative argv[0] that does not lead to the running file from
    ///    the cwd: the process changed directory (`cd /srv &&
    ///    app/.venv/bin/python job.py`, then a chdir). CPython resolved it
    ///    against the directory it started in, which the shell that
    ///    started it exported as `PWD`; it is used only when `PWD/argv[0]`
    ///    is the running file, since PWD can be stale (a parent that
    ///    changed directory without a shell).
    /// 3. `/proc/PID/exe`: a `--copies` venv's interpreter is its own file.
    /// 4. The files it has mapped, when argv[0] says nothing (setproctitle
    ///    rewrote it: celery's and gunicorn's workers). A symlinked venv's
    ///    interpreter and standard library are the base Python's files
    ///    (`/usr/bin/python3.11`, `/usr/lib/python3.11/…`), so only what
    ///    it loaded from the venv's own site-packages shows it: an
    ///    extension module such as setproctitle's (which is there whenever
    ///    a title was rewritten from a venv). Such a file is taken as
    ///    evidence only when its prefix is a venv whose interpreter *is*
    ///    the running file: PYTHONPATH or a `.pth` can load a module from
    ///    another prefix, but not make the process run that prefix's
    ///    interpreter. Two such venvs are ambiguous and decide nothing.
    ///
    /// Later steps read more (`environ`, `maps`), and only run when the
    /// earlier ones did not decide.
    fn locate(proc: &Proc, argv0: Option<&OsStr>, exe: &Path, buf: &mut Vec<u8>) -> Verdict {
        let exe_id = proc.exe_id().ok();
        let is_exe = |p: &Path| {
            exe_id.is_some() && fs::metadata(p).is_ok_and(|m| Some(venv::file_id(&m)) == exe_id)
        };
        let argv0 = argv0.filter(|a| !a.is_empty());
        let relative =
            argv0.is_some_and(|a| a.as_bytes().contains(&b'/') && !Path::new(a).is_absolute());
        let mut unverified = None;
        if let Some(seen) = argv0.and_then(|a| absolute_argv0(proc, a, buf)) {
            let root = venv::root_of_interpreter(&seen);
            let running = is_exe(&seen);
            if running || !relative {
                if let Some(root) = root {
                    return Verdict::Venv(root, Evidence::Argv0(seen));
                }
                // root_of_interpreter only looks at the directory: the exe
                // beside argv[0] (python3 → python3.11) would get the same
                // answer again.
                if running || seen.parent() == exe.parent() {
                    return Verdict::NotVenv("its argv[0]");
                }
            } else {
                unverified = root.map(|root| (root, seen));
            }
        }
        if relative
            && let Some(argv0) = argv0
            && let Some(verdict) = start_dir(proc, argv0, &is_exe, buf)
        {
            return verdict;
        }
        // A relative argv[0] that leads to a venv from the cwd, though not
        // to the running file (the base Python was upgraded since): as
        // CPython would have, had the process not moved.
        if let Some((root, seen)) = unverified {
            return Verdict::Venv(root, Evidence::Argv0(seen));
        }
        if let Some(root) = venv::root_of_interpreter(exe) {
            return Verdict::Venv(root, Evidence::Exe(exe.to_path_buf()));
        }
        match mapped_venv(proc, exe_id, buf) {
            Some(Ok((root, file))) => Verdict::Venv(root, Evidence::Mapped(file)),
            Some(Err(why)) => Verdict::Ambiguous(why),
            None => Verdict::NotVenv("its argv[0], its executable and its mapped files"),
        }
    }

    /// Step 2 of [`locate`]: argv[0] against `PWD`, when that leads to the
    /// running file.
    fn start_dir(
        proc: &Proc,
        argv0: &OsStr,
        is_exe: &dyn Fn(&Path) -> bool,
        buf: &mut Vec<u8>,
    ) -> Option<Verdict> {
        let pwd = PathBuf::from(OsStr::from_bytes(proc.environ_var(b"PWD", buf).ok()??));
        if !pwd.is_absolute() {
            return None;
        }
        let interpreter: PathBuf = pwd.join(argv0).components().collect();
        if !is_exe(&interpreter) {
            return None;
        }
        Some(match venv::root_of_interpreter(&interpreter) {
            Some(root) => Verdict::Venv(root, Evidence::StartDir { interpreter, pwd }),
            None => Verdict::NotVenv("its argv[0] in its start directory (PWD)"),
        })
    }

    /// Step 4 of [`locate`]: the one venv whose site-packages the process
    /// loaded files from and whose interpreter is the running file.
    /// `None` when there is none or the map cannot be read.
    fn mapped_venv(
        proc: &Proc,
        exe_id: Option<FileId>,
        buf: &mut Vec<u8>,
    ) -> Option<Result<(PathBuf, PathBuf), String>> {
        let exe_id = exe_id?;
        proc.maps(buf).ok()?;
        let mut found: Option<(&Path, &Path)> = None;
        let mut rejected: Vec<&Path> = Vec::new();
        for file in servers::mapped_files(buf) {
            let file = Path::new(file);
            let Some(prefix) = servers::site_packages_prefix(file) else {
                continue;
            };
            if found.is_some_and(|(r, _)| r == prefix) || rejected.contains(&prefix) {
                continue;
            }
            if !runs_from(prefix, exe_id) {
                rejected.push(prefix);
                continue;
            }
            if let Some((first, _)) = found {
                return Some(Err(format!(
                    "its mapped files come from two environments, {} and {}",
                    first.display(),
                    prefix.display()
                )));
            }
            found = Some((prefix, file));
        }
        found.map(|(root, file)| Ok((root.to_path_buf(), file.to_path_buf())))
    }

    /// Whether `prefix` is a venv whose interpreter is the file `exe_id`.
    fn runs_from(prefix: &Path, exe_id: FileId) -> bool {
        fs::metadata(prefix.join("pyvenv.cfg")).is_ok_and(|m| m.is_file())
            && ["bin/python", "bin/python3"]
                .iter()
                .any(|p| fs::metadata(prefix.join(p)).is_ok_and(|m| venv::file_id(&m) == exe_id))
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

    /// POSIX: a shell without `-c` or a script is interactive when its
    /// standard input and standard error are terminals. When that cannot be
    /// told, say yes: stopping only means the system's Python, as before.
    fn stdin_and_stderr_are_terminals(proc: &Proc) -> bool {
        [0, 2].iter().all(|&fd| match proc.fd(fd) {
            Ok(target) => is_terminal(&target),
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        })
    }
}
