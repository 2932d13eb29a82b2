//! The few things that differ between unixes, behind one door, and the
//! small readers of system formats that several modules share.

pub mod environ;
pub mod exec;
pub mod fd;
#[cfg(target_os = "linux")]
pub mod procfs;
pub mod signals;
pub mod start;

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The search path `execvp` uses when PATH is unset (glibc's
/// `confstr(_CS_PATH)`), for the shim's fall-through and an activated PATH
/// alike.
pub const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The entries of a colon-separated list (`PATH`, `VENVEXEC_NAMES`, …), as
/// they are: empty entries included, nothing allocated.
pub fn split_list(list: &OsStr) -> impl Iterator<Item = &OsStr> {
    // memchr per entry, not a closure per byte: PATH is searched on every
    // fall-through.
    let mut rest = Some(list.as_bytes());
    std::iter::from_fn(move || {
        let r = rest?;
        Some(OsStr::from_bytes(match find_byte(r, b':') {
            Some(colon) => {
                rest = Some(&r[colon + 1..]);
                &r[..colon]
            }
            None => {
                rest = None;
                r
            }
        }))
    })
}

/// The path this program was started from: `/proc/self/exe` when /proc is
/// mounted; without it (a chroot, a container image run with no /proc),
/// the path the kernel recorded at `execve` (`AT_EXECFN`), made absolute
/// with the working directory, which has not changed since. It may name a
/// shim, a link to the binary: callers stat or canonicalize it.
#[cfg(target_os = "linux")]
pub fn exec_path() -> io::Result<PathBuf> {
    fs::read_link("/proc/self/exe").or_else(|e| execfn().ok_or(e))
}

#[cfg(not(target_os = "linux"))]
pub fn exec_path() -> io::Result<PathBuf> {
    std::env::current_exe()
}

#[cfg(target_os = "linux")]
fn execfn() -> Option<PathBuf> {
    // SAFETY: getauxval only reads the auxiliary vector; 0 means absent.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const libc::c_char;
    if p.is_null() {
        return None;
    }
    // SAFETY: the kernel put a NUL-terminated string there, on the initial
    // stack, which lives as long as the process.
    let bytes = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes();
    let path = Path::new(OsStr::from_bytes(bytes));
    if path.as_os_str().is_empty() {
        return None;
    }
    if path.is_absolute() {
        return Some(path.to_path_buf());
    }
    std::env::current_dir().ok().map(|cwd| cwd.join(path))
}

/// Reads at most `limit` bytes of `path` into `buf`, replacing its contents
/// but keeping its allocation across calls. Every file venvexec reads is
/// someone else's (`/proc`, marker files in directories it walks): the cap
/// keeps a huge or endless one from stalling a shim.
pub fn read_capped(path: &Path, limit: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    // read_to_end on an empty Vec starts with tiny reads: one page covers a
    // marker file, a stat line or a command line in one read(2).
    buf.reserve(4096);
    fs::File::open(path)?.take(limit).read_to_end(buf)?;
    Ok(())
}

/// The parent process's id (0 when it is outside our PID namespace).
pub fn parent_pid() -> u32 {
    // SAFETY: getppid cannot fail.
    let ppid = unsafe { libc::getppid() };
    u32::try_from(ppid).unwrap_or(0)
}

/// A monotonic clock in milliseconds (CLOCK_MONOTONIC: system-wide, so two
/// processes can compare their readings; a vDSO call, no syscall).
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(nanos / 1_000_000)
}

/// Whether `path` starts with `#!`: the kernel runs it through the
/// interpreter it names. Not a regular readable file: no.
pub fn is_script(path: &Path) -> bool {
    let mut head = [0u8; 2];
    open_nonblocking(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == *b"#!")
}

/// The interpreter a `#!` line names (its first word), if `path` has one.
pub fn shebang(path: &Path) -> Option<std::ffi::OsString> {
    // The kernel reads at most this much of the line (BINPRM_BUF_SIZE).
    let mut head = Vec::with_capacity(256);
    open_nonblocking(path)
        .ok()?
        .take(256)
        .read_to_end(&mut head)
        .ok()?;
    let line = head.strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    let word = line
        .trim_ascii()
        .split(|b| b.is_ascii_whitespace())
        .next()?;
    (!word.is_empty()).then(|| OsStr::from_bytes(word).to_os_string())
}

/// Opens for reading without blocking on a FIFO planted under the name.
fn open_nonblocking(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Whether `e` says that nothing is at a path: no such file, or a part of
/// the path that is not a directory (`venv/pyvenv.cfg/x`, a file where a
/// directory was expected), which means the same to a lookup.
pub fn is_missing(e: &io::Error) -> bool {
    // The walk asks this of nearly every look: for an OS error, the errno
    // says it without `kind`'s call (which maps ENOENT, and only it, to
    // NotFound).
    match e.raw_os_error() {
        Some(errno) => errno == libc::ENOENT || errno == libc::ENOTDIR,
        None => e.kind() == io::ErrorKind::NotFound,
    }
}

/// Whether `e` is ENOTDIR: a part of the path is not a directory.
pub fn is_not_dir(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOTDIR)
}

/// Whether `e` is ELOOP: a symbolic link where `O_NOFOLLOW` refused one,
/// or a chain of links too long (or circular) to follow.
pub fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Whether `e` is EACCES: a directory on the way cannot be searched, or the
/// file cannot be opened so. Not EPERM, which std's `PermissionDenied`
/// also covers and which means something else (a flag or an operation
/// refused, not a permission bit).
pub fn is_denied(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EACCES)
}

/// An I/O error as the rest of a sentence about a path ("PATH is a loop
/// of symbolic links"), not the C library's capitalised fragment.
pub fn io_phrase(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "is a loop of symbolic links (or a chain too long to follow)".into(),
        Some(libc::EACCES) => "cannot be reached: permission denied".into(),
        Some(libc::ENAMETOOLONG) => "is a path too long for the system".into(),
        Some(libc::ENOENT) => "does not exist".into(),
        Some(libc::ENOTDIR) => "has a part that is not a directory".into(),
        Some(libc::ENOEXEC) => {
            "is not a program the system can run (no #! line, wrong format)".into()
        }
        _ => format!("cannot be used: {e}"),
    }
}

/// Cap for marker files (`pyvenv.cfg`, `.python-version`, `.pdm-python`,
/// `pyproject.toml`, pipenv's `.venv`): the real ones are a few hundred
/// bytes.
pub const MARKER_LIMIT: u64 = 64 * 1024;

/// A marker file's contents, capped. Opened once without blocking and
/// checked on that descriptor: a FIFO planted under a marker's name, even
/// one swapped in after a look at the name, never stalls the reader.
pub fn read_marker(path: &Path) -> io::Result<Vec<u8>> {
    fd::read_marker(path, MARKER_LIMIT, true)?
        .bytes
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"))
}

/// Appends `bytes` to the file at `path` with one `open` and one
/// `write(2)`, so that records of concurrent writers never mix: with
/// `O_APPEND` the kernel moves to the end and writes as one step, and a
/// write of up to `PIPE_BUF` bytes is never split, even into a pipe.
/// `O_NOFOLLOW`: a symlink planted at the path is not followed (the log may
/// live in a shared directory and be written as root); `O_NONBLOCK`: a FIFO
/// nobody reads fails at once instead of stalling the call. A new file is
/// private to its owner: it records working directories and programs.
pub fn append_once(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let written = file.write(bytes)?;
    if written != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("only {written} of {} bytes were written", bytes.len()),
        ));
    }
    Ok(())
}

/// The largest write that the kernel keeps whole between concurrent
/// writers of a pipe: `PIPE_BUF` on Linux, POSIX's guaranteed minimum
/// (`_POSIX_PIPE_BUF`) elsewhere.
#[cfg(target_os = "linux")]
pub const PIPE_BUF: usize = libc::PIPE_BUF;
#[cfg(not(target_os = "linux"))]
pub const PIPE_BUF: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_path_names_this_binary() {
        let same = |p: PathBuf| fs::canonicalize(p).unwrap();
        assert_eq!(
            same(exec_path().unwrap()),
            same(std::env::current_exe().unwrap())
        );
        #[cfg(target_os = "linux")]
        assert_eq!(
            same(execfn().unwrap()),
            same(std::env::current_exe().unwrap())
        );
    }

    #[test]
    fn errors_are_told_apart_by_what_the_system_said() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        let link = dir.path().join("loop");
        std::os::unix::fs::symlink(&link, &link).unwrap();
        let missing = fs::metadata(dir.path().join("nothing")).unwrap_err();
        let not_dir = fs::metadata(file.join("x")).unwrap_err();
        let looped = fs::metadata(&link).unwrap_err();
        assert!(is_missing(&missing) && !is_not_dir(&missing));
        assert!(is_missing(&not_dir) && is_not_dir(&not_dir));
        assert!(is_link_loop(&looped) && !is_missing(&looped));
        assert!(is_denied(&io::Error::from_raw_os_error(libc::EACCES)));
        assert!(!is_denied(&io::Error::from_raw_os_error(libc::EPERM)));
        assert!(!is_link_loop(&missing) && !is_denied(&missing));
    }

    #[test]
    fn lists_keep_empty_entries() {
        let v: Vec<&OsStr> = split_list(OsStr::new(":a::b")).collect();
        assert_eq!(v, ["", "a", "", "b"]);
        assert_eq!(split_list(OsStr::new("")).count(), 1);
    }
}

/// `n` in decimal, as `{}` writes it.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Where `needle` first is in `hay`: the C library's vectorised `memchr`
/// (paths, `pyvenv.cfg` lines and argv are searched on every call; a
/// byte-at-a-time `position` costs several times as much).
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    // SAFETY: memchr reads hay.len() bytes of a live slice.
    let at = unsafe { libc::memchr(hay.as_ptr().cast(), i32::from(needle), hay.len()) };
    (!at.is_null()).then(|| at as usize - hay.as_ptr() as usize)
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// `find_byte` finds what `position` finds, wherever it is.
        #[test]
        fn find_byte_is_position(
            hay in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(b'\n'), Just(b'='), Just(0x80), Just(0xff), any::<u8>()], 0..40),
            needle in prop_oneof![Just(0u8), Just(b'\n'), Just(b'='), Just(0xff), any::<u8>()],
        ) {
            prop_assert_eq!(super::find_byte(&hay, needle), hay.iter().position(|&b| b == needle));
        }

        /// `split_list` gives the entries `split(':')` gives, empty ones
        /// included.
        #[test]
        fn split_list_is_split(list in proptest::collection::vec(prop_oneof![Just(b':'), Just(b'a'), Just(0xff)], 0..24)) {
            use std::os::unix::ffi::OsStrExt;
            let got: Vec<&[u8]> = super::split_list(std::ffi::OsStr::from_bytes(&list)).map(|e| e.as_bytes()).collect();
            let want: Vec<&[u8]> = list.split(|&b| b == b':').collect();
            prop_assert_eq!(got, want);
        }
    }
}
