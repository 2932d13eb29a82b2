//! Signals and child processes, for the init (`crate::init`): the only
//! place venvexec blocks, waits for and sends signals, and reaps.

use std::io;
use std::mem::MaybeUninit;

use libc::c_int;

pub use libc::pid_t;

/// The signal numbers the init names (`crate::init`).
pub use libc::{
    SIGABRT, SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP, SIGTSTP,
    SIGTTIN, SIGTTOU,
};

/// The highest signal number there is: the real-time ones included where
/// the system has them.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn last_signal() -> c_int {
    libc::SIGRTMAX()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn last_signal() -> c_int {
    // No real-time signals: the classic set ends at 31 on the BSDs and macOS.
    31
}

/// The exit status a shell would show for a wait status: the code, or
/// 128+N for death by signal N.
pub fn exit_code(status: c_int) -> u8 {
    if libc::WIFEXITED(status) {
        // The low 8 bits are the whole exit code.
        (libc::WEXITSTATUS(status) & 0xff) as u8
    } else if libc::WIFSIGNALED(status) {
        u8::try_from(128 + libc::WTERMSIG(status)).unwrap_or(u8::MAX)
    } else {
        1
    }
}

pub enum Reaped {
    Running,
    Exited(c_int),
    /// No children left, yet the main one was never seen to exit.
    Lost,
}

/// Collects every child that has exited: the main one and any orphan the
/// kernel re-parented to us. SIGCHLDs coalesce, so one signal may stand for
/// many exits, hence the loop until nothing is left to collect.
pub fn reap(main: pid_t) -> Reaped {
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

pub struct Received {
    pub signo: c_int,
    /// Sent by the kernel to the terminal's foreground process group
    /// (ctrl-C, ctrl-\, a window resize), not by `kill`.
    pub from_terminal: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn wait_for(set: &libc::sigset_t) -> io::Result<Received> {
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
pub fn wait_for(set: &libc::sigset_t) -> io::Result<Received> {
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
pub fn same_group(child: pid_t) -> bool {
    // SAFETY: plain syscalls.
    unsafe { libc::getpgid(child) == libc::getpgrp() }
}

pub fn signal_set(signals: impl IntoIterator<Item = c_int>) -> libc::sigset_t {
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

/// Adds `set` to this thread's signal mask (venvexec is single-threaded
/// here, so the thread's mask is the process's); returns the previous mask.
pub fn block(set: &libc::sigset_t) -> libc::sigset_t {
    set_mask(libc::SIG_BLOCK, set)
}

/// Puts back a mask that [`block`] returned.
pub fn restore_mask(mask: &libc::sigset_t) {
    set_mask(libc::SIG_SETMASK, mask);
}

fn set_mask(how: c_int, set: &libc::sigset_t) -> libc::sigset_t {
    let mut old = signal_set([]);
    // SAFETY: both pointers are valid sigsets.
    unsafe { libc::pthread_sigmask(how, set, &mut old) };
    old
}

pub fn is_ignored(signo: c_int) -> bool {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `current`.
    let rc = unsafe { libc::sigaction(signo, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zero-initialised, and filled in on success.
    rc == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

pub fn reset_to_default(signo: c_int) {
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
pub fn become_subreaper() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if std::process::id() != 1 {
        // SAFETY: plain prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    }
}

/// Sends `signo` to `pid`.
pub fn send(pid: pid_t, signo: c_int) {
    // ESRCH cannot happen for a child not reaped yet: a zombie accepts (and
    // drops) signals.
    // SAFETY: plain syscall.
    unsafe { libc::kill(pid, signo) };
}

/// For a forked child before exec: an empty signal mask and SIGPIPE at its
/// default, as a fresh process has. Async-signal-safe.
pub fn reset_for_child() {
    let empty = signal_set([]);
    // SAFETY: sigprocmask and signal are async-signal-safe; the set is
    // initialised.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
