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

use std::ffi::{OsString, c_int};
use std::io;
use std::path::Path;

use crate::exec;
use crate::fail::{self, Fail};
use crate::platform::signals::{
    self, Reaped, SIGABRT, SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGSYS,
    SIGTRAP, SIGTSTP, SIGTTIN, SIGTTOU, become_subreaper, exit_code, is_ignored, last_signal,
    pid_t, reap, reset_to_default, restore_mask, same_group, signal_set, wait_for,
};

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
    SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT, SIGTSTP,
    SIGTTIN, SIGTTOU,
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
    let waited = signal_set(forwarded.chain([SIGCHLD]));
    // An inherited SIGCHLD ignore (or SA_NOCLDWAIT) would make the kernel
    // reap the child behind our back and leave us no status to report.
    reset_to_default(SIGCHLD);
    // Blocked from here on, so a signal that arrives before we wait for it
    // stays pending instead of killing us (or, as PID 1, vanishing).
    let before = signals::block(&waited);
    become_subreaper();

    let child = match spawn(program, args, env) {
        Ok(pid) => pid,
        Err(err) => {
            restore_mask(&before);
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
        if got.signo == SIGCHLD {
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
            signals::send(child, got.signo);
        }
    }
}

/// Starts `program` with `argv[0]` = its absolute path (CPython finds
/// `pyvenv.cfg` from `argv[0]`; see `exec::exec`) and exactly the given
/// environment. The app under an init starts as a fresh process: an empty
/// signal mask (ours blocks everything we forward, and a mask survives
/// exec) and SIGPIPE at its default (a caller may have ignored it, as
/// Python does for its children). An exec failure (ENOENT, EACCES) comes
/// back as the error, so we can say what went wrong.
fn spawn(program: &Path, args: &[OsString], env: &[(OsString, OsString)]) -> io::Result<pid_t> {
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
            signals::reset_for_child();
            Ok(())
        })
    };
    let child = command.spawn()?;
    // The child is reaped by `reap` with waitpid(-1), orphans included;
    // dropping the handle neither waits for it nor kills it.
    pid_t::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))
}
