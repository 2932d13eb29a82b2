//! The static build's entry point: glibc's start-up without the
//! environment.
//!
//! Static glibc reads the whole environment before `main`.
//! `__tunables_init` compares the name of every entry with the name of every
//! tunable: about 500 instructions per variable, some 15 k in a login
//! shell's thirty, which is half of what starting at all costs. A dozen
//! `getenv`s follow. None of it concerns the shim: it allocates from its own
//! arena, loads no library, and has exec'd the interpreter within
//! microseconds.
//!
//! So in the static build (see build.rs) the ELF entry is `venvexec_start`.
//! It rebuilds the kernel's initial frame just below itself with an empty
//! environment, records where the real one is, and jumps to glibc's
//! `_start`. The first thing `main` does is put the real environment back
//! in `environ` ([`restore_environ`]); from then on everything (`getenv`,
//! `std::env`, the child's envp) sees exactly the block the kernel passed.
//!
//! What this gives up: `GLIBC_TUNABLES` and glibc's own variables
//! (`MALLOC_*`, `LD_LIBRARY_PATH` for a static `dlopen`) do not apply to the
//! venvexec process itself. They still reach every program it runs. In a
//! secure-execution process (`AT_SECURE`: set-user-ID and the like) glibc
//! cleans the environment at start-up, so the frame is left as it is.

use std::ffi::c_char;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Bytes below the kernel's frame where the new one is built. A frame that
/// needs more (some 450 arguments) is left whole: glibc then reads the
/// environment as usual, which costs time and changes nothing else.
pub const ROOM: usize = 4096;

/// The environment the kernel passed, while glibc starts without it; null
/// when the frame was left whole (or this is not the static build).
static KERNEL_ENVIRON: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Gives `environ` back the block the kernel passed, if the entry point
/// hid it from glibc's start-up. Called first thing in `main`, before
/// anything reads the environment.
pub fn restore_environ() {
    unsafe extern "C" {
        static mut environ: *const *const c_char;
    }
    let envp = KERNEL_ENVIRON.load(Ordering::Relaxed);
    if !envp.is_null() {
        // SAFETY: one thread; the pointer is the kernel's NULL-terminated
        // array, on the initial stack, which lives as long as the process.
        unsafe { environ = envp };
    }
}

/// The initial frame at `sp` (argc, argv, NULL, envp, NULL, auxv, AT_NULL)
/// rebuilt below `sp` with an empty environment: the new frame's address
/// and the kernel's envp. `None` when the frame is best left whole: no
/// environment, `AT_SECURE`, or no room.
///
/// Runs before the C library is set up, so it calls nothing: no
/// allocation, no panic, and no copy loop the compiler could turn into a
/// call to `memcpy` (glibc has not yet picked which one): every store is
/// volatile.
///
/// # Safety
///
/// `sp` points at a frame of that shape, and the [`ROOM`] bytes below it
/// are writable and unused.
#[inline(always)]
pub unsafe fn without_environment(sp: *mut usize) -> Option<(*mut usize, *mut *const c_char)> {
    const AT_NULL: usize = libc::AT_NULL as usize;
    const AT_SECURE: usize = libc::AT_SECURE as usize;
    // SAFETY: every read stays inside the frame, bounded by its NULLs; the
    // writes stay inside the ROOM bytes below it (checked before the first).
    unsafe {
        let argc = *sp;
        let envp = sp.add(argc + 2);
        let mut vars = 0;
        while *envp.add(vars) != 0 {
            vars += 1;
        }
        if vars == 0 {
            return None;
        }
        let auxv = envp.add(vars + 1);
        let mut aux = 0;
        loop {
            let key = *auxv.add(aux);
            if key == AT_SECURE && *auxv.add(aux + 1) != 0 {
                return None;
            }
            aux += 2;
            if key == AT_NULL {
                break;
            }
        }
        // argc, argv with its NULL, the empty environment's NULL, auxv.
        let words = argc + 3 + aux;
        if words * 8 + 15 > ROOM {
            return None;
        }
        // The ABI wants the frame 16-byte aligned.
        let frame = ((sp as usize - words * 8) & !15) as *mut usize;
        let mut i = 0;
        while i < argc + 2 {
            frame.add(i).write_volatile(*sp.add(i));
            i += 1;
        }
        frame.add(i).write_volatile(0);
        i += 1;
        let mut j = 0;
        while j < aux {
            frame.add(i + j).write_volatile(*auxv.add(j));
            j += 1;
        }
        Some((frame, envp.cast()))
    }
}

/// The ELF entry of the static build: the kernel's frame made over by
/// [`without_environment`], then glibc's `_start`, with the registers as
/// the kernel left them that `_start` reads (`rsp`, and `rdx`, kept in the
/// callee-saved `rbx` across the call).
#[cfg(venvexec_own_start)]
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn venvexec_start() -> ! {
    unsafe extern "C" {
        fn _start() -> !;
    }
    std::arch::naked_asm!(
        "mov rbx, rdx",
        "mov rdi, rsp",
        "sub rsp, {room}",
        "call {frame}",
        "mov rsp, rax",
        "mov rdx, rbx",
        "jmp {start}",
        room = const ROOM,
        frame = sym glibc_frame,
        start = sym _start,
    )
}

#[cfg(venvexec_own_start)]
extern "C" fn glibc_frame(sp: *mut usize) -> *mut usize {
    // SAFETY: called once, by the entry point, with the kernel's frame and
    // ROOM bytes of stack reserved below it.
    match unsafe { without_environment(sp) } {
        Some((frame, envp)) => {
            KERNEL_ENVIRON.store(envp, Ordering::Relaxed);
            frame
        }
        None => sp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT_SECURE: usize = libc::AT_SECURE as usize;

    /// A kernel-shaped frame at the top of a buffer with ROOM words below:
    /// (buffer, index of argc).
    fn kernel_frame(argc: usize, vars: usize, aux: &[(usize, usize)]) -> (Vec<usize>, usize) {
        let mut frame = vec![argc];
        frame.extend((0..argc).map(|i| 0x1000 + i));
        frame.push(0);
        frame.extend((0..vars).map(|i| 0x2000 + i));
        frame.push(0);
        for &(k, v) in aux {
            frame.extend([k, v]);
        }
        frame.extend([0, 0]);
        // ROOM and a little more, to see that nothing is written below it.
        let below = ROOM / 8 + 2;
        let mut buf = vec![0xdead; below];
        buf.extend(frame);
        (buf, below)
    }

    #[test]
    fn the_new_frame_has_argv_and_auxv_and_no_environment() {
        let aux = [(6, 4096), (AT_SECURE, 0), (25, 0x7777)];
        let (mut buf, at) = kernel_frame(3, 5, &aux);
        let kernel = buf[at..].to_vec();
        let base = buf.as_mut_ptr() as usize;
        let sp = buf[at..].as_mut_ptr();
        let (frame, envp) = unsafe { without_environment(sp) }.expect("rebuilt");
        assert_eq!(frame as usize % 16, 0, "16-byte aligned");
        let start = (frame as usize - base) / 8;
        assert!(start >= at - ROOM / 8 && start < at, "inside ROOM below sp");
        let words = 1 + 3 + 1 + 1 + aux.len() * 2 + 2;
        let new = &buf[start..start + words];
        assert_eq!(new[..5], kernel[..5], "argc, argv and its NULL");
        assert_eq!(new[5], 0, "an empty environment");
        assert_eq!(new[6..], kernel[5 + 5 + 1..], "auxv to its AT_NULL");
        assert_eq!(buf[at..], kernel[..], "the kernel's frame is untouched");
        assert_eq!((envp as usize - base) / 8, at + 5, "envp: the kernel's");
    }

    #[test]
    fn a_frame_is_left_whole_when_it_should_be() {
        let (mut buf, at) = kernel_frame(2, 0, &[(6, 4096)]);
        assert!(
            unsafe { without_environment(buf[at..].as_mut_ptr()) }.is_none(),
            "no environment"
        );
        let (mut buf, at) = kernel_frame(2, 3, &[(6, 4096), (AT_SECURE, 1)]);
        assert!(
            unsafe { without_environment(buf[at..].as_mut_ptr()) }.is_none(),
            "AT_SECURE"
        );
        let (mut buf, at) = kernel_frame(ROOM / 8, 3, &[(6, 4096)]);
        assert!(
            unsafe { without_environment(buf[at..].as_mut_ptr()) }.is_none(),
            "no room"
        );
        let below = buf[..at].to_vec();
        assert!(below.iter().all(|&w| w == 0xdead), "nothing written");
    }

    #[test]
    fn the_largest_frame_that_fits_ends_below_the_kernels() {
        // argc + 3 + aux words, 15 bytes of alignment slack: the most argc.
        let aux = [(6, 4096)];
        let argc = (ROOM - 15) / 8 - 3 - 4;
        let (mut buf, at) = kernel_frame(argc, 1, &aux);
        let base = buf.as_ptr() as usize;
        let (frame, _) = unsafe { without_environment(buf[at..].as_mut_ptr()) }.expect("fits");
        let start = (frame as usize - base) / 8;
        assert!(start >= at - ROOM / 8);
        assert!(start + argc + 3 + 4 <= at);
        let (mut buf, at) = kernel_frame(argc + 1, 1, &aux);
        assert!(unsafe { without_environment(buf[at..].as_mut_ptr()) }.is_none());
    }
}
