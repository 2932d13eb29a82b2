//! The few things that differ between unixes, behind one door.

#[cfg(target_os = "linux")]
pub mod procfs;

/// Undo what the Rust runtime changed in our own signal dispositions before
/// handing the process to another program: std ignores SIGPIPE, and an
/// ignored signal stays ignored across `execve`, so a child `head` or
/// Python would otherwise never die of a broken pipe.
pub fn restore_default_signals() {
    // SAFETY: resetting a disposition to SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
