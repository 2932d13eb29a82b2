//! venvexec as PID 1 (a container's ENTRYPOINT) or with `--init`: start the
//! command as a child, forward signals, reap zombies, exit with its status.
//!
//! Choices, and why:
//!
//! - **Blocked signals and a synchronous wait** (`sigwaitinfo` on Linux,
//!   `sigwait` elsewhere), not handlers and a self-pipe: there is nothing
//!   else to do between signals, so one loop that takes them one at a time
//!   has no async-signal-safety rules to get wrong, and no signal can slip in
//!   between spawning the child and the first wait (it stays pending).
//! - **std's `Command`**: the exec error (ENOENT, EACCES) comes back from
//!   `spawn`, so we can say what went wrong and exit 127 or 126 ourselves.
//!   The child gets an empty signal mask and SIGPIPE at its default, as a
//!   fresh process under an init should; any other signal we were started
//!   with ignored (`nohup`) stays ignored and unforwarded.
//! - **Signals go to the direct child only**, which is `docker stop`'s
//!   contract: SIGTERM to PID 1 reaches the app; a shell script that starts
//!   more processes should `exec` the last one or pass the signal on itself.
//! - **The child stays in our process group** (tini moves it into a group of
//!   its own and hands it the terminal). Staying put keeps job control of
//!   `venvexec --init` in a shell working (ctrl-Z stops both, `fg` resumes
//!   both) without ever taking the terminal away from anyone. The price: a
//!   ctrl-C typed at the terminal reaches the child straight from the kernel
//!   as well as us, so a terminal-generated signal is not forwarded a second
//!   time while the child is still in our group (Linux tells us where a
//!   signal came from; elsewhere every signal is forwarded).
//! - **When the main child is gone we exit** after reaping whatever else has
//!   already exited. We do not wait for daemonised grandchildren: as PID 1,
//!   our exit makes the kernel kill everything left in the PID namespace,
//!   which is what `docker stop` would do anyway; with `--init` they are
//!   handed on to the next reaper up, as they would have been without us.

use std::ffi::OsString;
use std::io;
use std::mem::MaybeUninit;
use std::path::Path;

use libc::c_int;

use crate::exec;
use crate::fail::{self, Fail};

/// Whether to stay as a supervisor instead of exec'ing. As PID 1 the
/// kernel gives a process no default signal actions, so a Python app
/// without handlers would ignore `docker stop`'s SIGTERM.
pub fn wanted(init: bool, no_init: bool) -> bool {
    if no_init {
        return false;
    }
    init || std::process::id() == 1
}

/// Signals that are not ours to pass on, as tini decides: those that
/// cannot be caught, those the kernel raises for a fault of this very
/// process (forwarding would hide a crash of ours), SIGCHLD (our own
/// business), and the job-control stops, which must keep stopping us too
/// so that ctrl-Z and `fg` work on `venvexec --init` in a shell.
const NOT_FORWARDED: [c_int; 13] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGCHLD,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGABRT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

/// Every catchable asynchronous signal: the classic ones (SIGTERM for
/// `docker stop`, SIGALRM, SIGUSR1, SIGWINCH, …) and the real-time ones
/// (`STOPSIGNAL SIGRTMIN+3` for systemd in a container). Blocking a signal
/// and taking it with `sigwaitinfo` means no signal can kill us while the
/// app runs. The C library's own reserved signals (glibc's 32 and 33)
/// are left out by `sigaddset` itself.
fn forwarded() -> impl Iterator<Item = c_int> {
    (1..=last_signal()).filter(|s| !NOT_FORWARDED.contains(s))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn last_signal() -> c_int {
    libc::SIGRTMAX()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn last_signal() -> c_int {
    // No real-time signals: the classic set ends at 31 on the BSDs and macOS.
    31
}

/// Runs `program` as a child until it ends; returns the exit status to use:
/// the child's exit code, or 128+N when signal N killed it.
pub fn supervise(
    program: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
) -> Result<u8, Fail> {
    // A signal we were started with ignored (`nohup`, a background job
    // of a script) stays ignored, for us and for the child, as a plain exec
    // would leave it: that was the invoker's decision, not ours to undo.
    let forwarded = forwarded().filter(|&s| !is_ignored(s));
    let waited = signal_set(forwarded.chain([libc::SIGCHLD]));
    // An inherited SIGCHLD ignore (or SA_NOCLDWAIT) would make the kernel
    // reap the child behind our back and leave us no status to report.
    reset_to_default(libc::SIGCHLD);
    // Blocked from here on, so a signal that arrives before we wait for it
    // stays pending instead of killing us (or, as PID 1, vanishing).
    let before = set_mask(libc::SIG_BLOCK, &waited);
    become_subreaper();

    let child = match spawn(program, args, env) {
        Ok(pid) => pid,
        Err(err) => {
            set_mask(libc::SIG_SETMASK, &before);
            return Err(exec::cannot_run(program, &err));
        }
    };

    loop {
        let got = wait_for(&waited).map_err(|e| {
            Fail::new(
                fail::FAILURE,
                format!(
                    "waiting for signals while running {}: {e}",
                    program.display()
                ),
            )
        })?;
        if got.signo == libc::SIGCHLD {
            match reap(child) {
                Reaped::Running => {}
                Reaped::Exited(status) => return Ok(exit_code(status)),
                Reaped::Lost => {
                    return Err(Fail::new(
                        fail::FAILURE,
                        format!(
                            "lost track of {} (pid {child}): its exit status is unknown",
                            program.display()
                        ),
                    ));
                }
            }
        } else if !(got.from_terminal && same_group(child)) {
            // ESRCH cannot happen: the child is not reaped yet, and a
            // zombie accepts (and drops) signals.
            // SAFETY: plain syscall on a pid we own.
            unsafe { libc::kill(child, got.signo) };
        }
    }
}

/// The exit status a shell would show for a wait status.
fn exit_code(status: c_int) -> u8 {
    if libc::WIFEXITED(status) {
        // The low 8 bits are the whole exit code.
        (libc::WEXITSTATUS(status) & 0xff) as u8
    } else if libc::WIFSIGNALED(status) {
        u8::try_from(128 + libc::WTERMSIG(status)).unwrap_or(u8::MAX)
    } else {
        fail::FAILURE
    }
}

enum Reaped {
    Running,
    Exited(c_int),
    /// No children left, yet the main one was never seen to exit.
    Lost,
}

/// Collects every child that has exited: the main one and any orphan the
/// kernel re-parented to us. SIGCHLDs coalesce, so one signal may stand for
/// many exits, hence the loop until nothing is left to collect.
fn reap(main: libc::pid_t) -> Reaped {
    let mut result = Reaped::Running;
    loop {
        let mut status: c_int = 0;
        // SAFETY: status is a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid == main {
            result = Reaped::Exited(status);
        } else if pid > 0 {
            continue;
        } else if pid == 0 {
            return result;
        } else if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            // ECHILD: nobody left.
            return match result {
                Reaped::Running => Reaped::Lost,
                done => done,
            };
        }
    }
}

struct Received {
    signo: c_int,
    /// Sent by the kernel to the terminal's foreground process group
    /// (ctrl-C, ctrl-\, a window resize), not by `kill`.
    from_terminal: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn wait_for(set: &libc::sigset_t) -> io::Result<Received> {
    loop {
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: set is initialised; info is a valid out pointer.
        let signo = unsafe { libc::sigwaitinfo(set, info.as_mut_ptr()) };
        if signo < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        // SAFETY: sigwaitinfo filled it in.
        let info = unsafe { info.assume_init() };
        // The tty line discipline signals its foreground group with
        // SI_KERNEL; kill(2) and `docker stop` give SI_USER.
        let from_terminal = info.si_code == libc::SI_KERNEL
            && matches!(signo, libc::SIGINT | libc::SIGQUIT | libc::SIGWINCH);
        return Ok(Received {
            signo,
            from_terminal,
        });
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn wait_for(set: &libc::sigset_t) -> io::Result<Received> {
    loop {
        let mut signo: c_int = 0;
        // SAFETY: set is initialised; signo is a valid out pointer.
        let rc = unsafe { libc::sigwait(set, &mut signo) };
        match rc {
            0 => {
                return Ok(Received {
                    signo,
                    from_terminal: false,
                });
            }
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Whether a terminal signal that reached us reached the child too: it did
/// when the child is still in our (the foreground) process group.
fn same_group(child: libc::pid_t) -> bool {
    // SAFETY: plain syscalls.
    unsafe { libc::getpgid(child) == libc::getpgrp() }
}

fn signal_set(signals: impl IntoIterator<Item = c_int>) -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set; sigaddset takes valid
    // signal numbers from our own constants.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for s in signals {
            // Fails (EINVAL) for a number the C library keeps for itself;
            // such a signal is then simply not in the set.
            libc::sigaddset(set.as_mut_ptr(), s);
        }
        set.assume_init()
    }
}

/// Changes this thread's signal mask (venvexec is single-threaded here, so
/// the thread's mask is the process's); returns the previous one.
fn set_mask(how: c_int, set: &libc::sigset_t) -> libc::sigset_t {
    let mut old = signal_set([]);
    // SAFETY: both pointers are valid sigsets.
    unsafe { libc::pthread_sigmask(how, set, &mut old) };
    old
}

fn is_ignored(signo: c_int) -> bool {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `current`.
    let rc = unsafe { libc::sigaction(signo, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zero-initialised, and filled in on success.
    rc == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

fn reset_to_default(signo: c_int) {
    // SAFETY: a zeroed sigaction with SIG_DFL, no flags, an empty mask.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
}

/// With `--init` outside a container, orphans of the app would go to the
/// host's init (or the session's reaper) and never reach us; as a
/// subreaper they come to us and get reaped, as they would under PID 1.
/// Best effort: without it (kernels before 3.4) only direct children are
/// ours to reap.
fn become_subreaper() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if std::process::id() != 1 {
        // SAFETY: plain prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    }
}

/// Starts `program` with `argv[0]` = its absolute path (CPython finds
/// `pyvenv.cfg` from `argv[0]`; see `exec::exec`) and exactly the given
/// environment. The app under an init starts as a fresh process: an empty
/// signal mask (ours blocks everything we forward, and a mask survives
/// exec) and SIGPIPE at its default (a caller may have ignored it, as
/// Python does for its children). An exec failure (ENOENT, EACCES) comes
/// back as the error, so we can say what went wrong.
fn spawn(
    program: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
) -> io::Result<libc::pid_t> {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(program);
    command
        .arg0(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    // std's posix_spawn path hands the child our blocked mask as it is, so
    // set the child's state ourselves, between fork and exec.
    // SAFETY: only async-signal-safe calls (sigprocmask, signal) run in
    // the forked child.
    unsafe {
        command.pre_exec(|| {
            let empty = signal_set([]);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            Ok(())
        })
    };
    let child = command.spawn()?;
    // The child is reaped by `reap` with waitpid(-1), orphans included;
    // dropping the handle neither waits for it nor kills it.
    libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_mirror_the_shell() {
        // Wait statuses as the kernel encodes them: code << 8, or the
        // terminating signal in the low 7 bits.
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(255 << 8), 255);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(libc::SIGKILL), 137);
        // Core dumps keep the signal number.
        assert_eq!(exit_code(libc::SIGQUIT | 0x80), 131);
    }
}
