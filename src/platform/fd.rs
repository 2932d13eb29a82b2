//! The file-system calls the trust checks and the project walk make, as
//! small safe functions: `lstat`/`stat` that return only the fields the
//! decision needs (of a path, or of a name in a directory without building
//! the joined path), marker files opened without following a link and
//! without blocking, and the absolute path of a directory that only a
//! relative path (`../..`) reaches.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// What the checks need of a file's inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Permission bits, with set-id and sticky (`st_mode & 07777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub dev: u64,
    pub ino: u64,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

impl Stat {
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    pub fn is_symlink(&self) -> bool {
        self.kind == Kind::Symlink
    }

    pub fn is_sticky(&self) -> bool {
        self.mode & 0o1000 != 0
    }

    pub fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    fn from_raw(st: &libc::stat) -> Stat {
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        };
        Stat {
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            dev: st.st_dev,
            ino: st.st_ino,
            kind,
        }
    }

    fn from_meta(m: &fs::Metadata) -> Stat {
        let t = m.file_type();
        let kind = if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        Stat {
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            dev: m.dev(),
            ino: m.ino(),
            kind,
        }
    }
}

/// The entry itself, a symlink not followed: one `fstatat` call. A
/// relative path resolves against the working directory.
pub fn lstat(path: &Path) -> io::Result<Stat> {
    stat_at(Joined::whole(path), libc::AT_SYMLINK_NOFOLLOW)
}

/// What the path leads to, links followed.
pub fn stat(path: &Path) -> io::Result<Stat> {
    stat_at(Joined::whole(path), 0)
}

/// [`lstat`] of the path spelled by the bytes in `path`, lent a NUL for
/// the call: no copy, for a caller that builds its paths in a buffer of its
/// own (the trust checks, one component at a time). Always inlined: the
/// walk calls it for every name, and its answer then goes to the caller's
/// match without a trip through memory (out of line, it cost about 25
/// instructions more a call).
#[inline(always)]
pub fn lstat_vec(path: &mut Vec<u8>) -> io::Result<Stat> {
    if super::find_byte(path, 0).is_some() {
        return Err(nul_inside());
    }
    path.push(0);
    // SAFETY: the buffer ends in the NUL just pushed, has none before it,
    // and lives across the call.
    let got = unsafe { fstatat(path.as_ptr().cast(), libc::AT_SYMLINK_NOFOLLOW) };
    path.pop();
    got
}

/// [`lstat`] of `dir.join(name)`, without building that path: the
/// project walk looks for each name in each directory, and nearly always
/// finds nothing, so the look is the whole cost of a name.
pub fn lstat_in(dir: &Path, name: &OsStr) -> io::Result<Stat> {
    stat_at(Joined::new(dir, name), libc::AT_SYMLINK_NOFOLLOW)
}

/// [`stat`] of `dir.join(name)`, as [`lstat_in`].
pub fn stat_in(dir: &Path, name: &OsStr) -> io::Result<Stat> {
    stat_at(Joined::new(dir, name), 0)
}

/// The bytes of `dir.join(name)`, as the pieces it is made of: what
/// `Path::join` would build (no `/` after an empty `dir` or one ending in
/// `/`; an absolute `name` replaces `dir`).
#[derive(Clone, Copy)]
struct Joined<'p> {
    head: &'p [u8],
    sep: bool,
    tail: &'p [u8],
}

impl<'p> Joined<'p> {
    fn new(dir: &'p Path, name: &'p OsStr) -> Joined<'p> {
        let (dir, name) = (dir.as_os_str().as_bytes(), name.as_bytes());
        if name.first() == Some(&b'/') {
            return Joined::bytes(name);
        }
        Joined {
            head: dir,
            sep: dir.last().is_some_and(|&b| b != b'/'),
            tail: name,
        }
    }

    fn whole(path: &'p Path) -> Joined<'p> {
        Joined::bytes(path.as_os_str().as_bytes())
    }

    fn bytes(b: &'p [u8]) -> Joined<'p> {
        Joined {
            head: b,
            sep: false,
            tail: b"",
        }
    }

    fn len(&self) -> usize {
        self.head.len() + usize::from(self.sep) + self.tail.len()
    }

    /// Writes the path and a NUL at `buf`; returns the path's bytes there.
    ///
    /// # Safety
    /// `buf` has room for `self.len() + 1` bytes, which stay valid and
    /// unaliased while the returned slice is used. The pieces are borrowed,
    /// so they cannot overlap it.
    unsafe fn write_c<'b>(&self, buf: *mut u8) -> &'b [u8] {
        let (head, len) = (self.head.len(), self.len());
        // SAFETY: every write is within the `len + 1` bytes the caller
        // gave; once the NUL is, the first `len` bytes are initialised.
        unsafe {
            std::ptr::copy_nonoverlapping(self.head.as_ptr(), buf, head);
            if self.sep {
                buf.add(head).write(b'/');
            }
            if !self.tail.is_empty() {
                let at = buf.add(head + usize::from(self.sep));
                std::ptr::copy_nonoverlapping(self.tail.as_ptr(), at, self.tail.len());
            }
            buf.add(len).write(0);
            std::slice::from_raw_parts(buf, len)
        }
    }
}

/// `dir.join(name)`, in one allocation of the size it needs (`Path::join`
/// copies `dir`, then grows the copy, and parses both for the cases only
/// other platforms have).
pub fn join(dir: &Path, name: impl AsRef<OsStr>) -> PathBuf {
    let name = name.as_ref();
    if name.as_bytes().first() == Some(&b'/') {
        return PathBuf::from(name);
    }
    let mut joined = PathBuf::with_capacity(dir.as_os_str().len() + 1 + name.len());
    joined.as_mut_os_string().push(dir);
    push(&mut joined, name);
    joined
}

/// `path.push(name)` for a relative `name`: a `/` unless `path` is empty
/// or ends in one, then the name (std's `push` first asks what kind of
/// path `name` is, and parses `path` for its separator).
pub fn push(path: &mut PathBuf, name: impl AsRef<OsStr>) {
    let name = name.as_ref();
    debug_assert!(
        name.as_bytes().first() != Some(&b'/'),
        "only relative names"
    );
    let s = path.as_mut_os_string();
    if !s.is_empty() && !s.as_bytes().ends_with(b"/") {
        s.push("/");
    }
    s.push(name);
}

/// Lends `dir.join(name)` to `f` without allocating it (when short): a
/// name looked for in each directory of the walk that a path-taking check
/// must see.
pub fn with_path_in<R>(dir: &Path, name: &OsStr, f: impl FnOnce(&Path) -> R) -> R {
    with_c_path(Joined::new(dir, name), |path, _| {
        f(Path::new(OsStr::from_bytes(path)))
    })
}

/// Paths up to this long are made C strings on the stack. The walk and the
/// checks stat a few dozen paths per call: std's `metadata` (statx, a
/// `Metadata` of every field, then ours) costs three times as much.
const STACK_PATH: usize = 512;

/// The one place paths are built for the kernel: `path`'s pieces, then a
/// NUL, on the stack when short (else on the heap), lent to `f` as the
/// bytes before the NUL and as a C string.
fn with_c_path<R>(path: Joined, f: impl FnOnce(&[u8], *const libc::c_char) -> R) -> R {
    let len = path.len();
    if len < STACK_PATH {
        let mut stack = std::mem::MaybeUninit::<[u8; STACK_PATH]>::uninit();
        let buf = stack.as_mut_ptr().cast::<u8>();
        // SAFETY: the buffer has room for `len + 1` bytes, and they live
        // until we return.
        let bytes = unsafe { path.write_c(buf) };
        return f(bytes, buf.cast());
    }
    let mut heap = Vec::<u8>::with_capacity(len + 1);
    let buf = heap.as_mut_ptr();
    // SAFETY: as above; the Vec's length stays 0, so nothing else reads
    // or drops what is written.
    let bytes = unsafe { path.write_c(buf) };
    f(bytes, buf.cast())
}

/// `fstatat` of `path`. A path with a NUL inside is refused: the kernel
/// would silently look at a shorter one.
fn stat_at(path: Joined, flags: libc::c_int) -> io::Result<Stat> {
    with_c_path(path, |path, c| {
        // SAFETY: `c` is NUL-terminated (strlen stops at or before
        // `path.len()`) and lives across the call.
        unsafe {
            if libc::strlen(c) != path.len() {
                return Err(nul_inside());
            }
            fstatat(c, flags)
        }
    })
}

fn nul_inside() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte")
}

/// # Safety
/// `c` is a NUL-terminated string, live across the call.
unsafe fn fstatat(c: *const libc::c_char, flags: libc::c_int) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `c` is as the caller promised; `st` is written by the
    // kernel before it is read.
    unsafe {
        if libc::fstatat(libc::AT_FDCWD, c, st.as_mut_ptr(), flags) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stat::from_raw(&st.assume_init()))
    }
}

/// One path component that can be written after a directory as it is:
/// not empty, no `/`, no NUL. The walk's names are checked once, when
/// they are made (a constant at compile time), not at every look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a>(&'a [u8]);

impl<'a> Name<'a> {
    /// `None` for what is not one component.
    pub fn new(name: &'a OsStr) -> Option<Name<'a>> {
        let b = name.as_bytes();
        let plain = !b.is_empty() && !b.iter().any(|&c| c == b'/' || c == 0);
        plain.then_some(Name(b))
    }

    /// A name written in the source; one that is not a component does not
    /// compile (in a `const`) or panics at once.
    pub const fn lit(name: &'static str) -> Name<'static> {
        let b = name.as_bytes();
        assert!(!b.is_empty(), "a Name is not empty");
        let mut i = 0;
        while i < b.len() {
            assert!(b[i] != b'/' && b[i] != 0, "a Name has no / or NUL");
            i += 1;
        }
        Name(b)
    }

    pub fn as_os_str(&self) -> &'a OsStr {
        OsStr::from_bytes(self.0)
    }
}

/// One directory's path, kept as the C string `DIR/` (no `/` after an
/// empty or `/`-ended path, as [`Path::join`] has it), checked for NULs
/// once: each name looked for in it is written after it, with its NUL, and
/// looked at there. The project walk looks for a few names in each of its
/// directories, nearly always in vain: neither the directory is copied nor
/// the whole path scanned per name. Cutting the path to a parent is done
/// in place ([`DirBuf::cut`]).
pub struct DirBuf {
    /// The directory's path and its `/` (the Vec's length); the name
    /// looked at, with its NUL, is written in the spare capacity after.
    buf: Vec<u8>,
    /// The directory's path holds a NUL: every look is refused.
    nul: bool,
}

/// Room kept after the directory: any name up to NAME_MAX and its NUL fits
/// without a reallocation.
const NAME_ROOM: usize = 256;

impl DirBuf {
    pub fn new(dir: &Path) -> DirBuf {
        let mut d = DirBuf {
            buf: Vec::with_capacity(dir.as_os_str().len() + 1 + NAME_ROOM),
            nul: false,
        };
        d.set(dir.as_os_str().as_bytes());
        d
    }

    /// Becomes `dir`.
    pub fn set(&mut self, dir: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(dir);
        if dir.last().is_some_and(|&b| b != b'/') {
            self.buf.push(b'/');
        }
        self.buf.reserve(NAME_ROOM);
        self.nul = dir.contains(&0);
    }

    /// Becomes the directory whose path is the first `len` bytes of this
    /// one's (its parent's, as [`Path::parent`] cuts it), without a copy.
    pub fn cut(&mut self, len: usize) {
        self.buf.truncate(len);
        if self.buf.last().is_some_and(|&b| b != b'/') {
            self.buf.push(b'/');
        }
        self.nul = self.nul && self.buf.contains(&0);
    }

    /// [`lstat_in`] of the directory and `name`.
    pub fn lstat(&mut self, name: Name) -> io::Result<Stat> {
        self.look(name.0, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// [`stat_in`] of the directory and `name`.
    pub fn stat(&mut self, name: Name) -> io::Result<Stat> {
        self.look(name.0, 0)
    }

    /// [`stat`] of the first `len` bytes of the directory's path (its
    /// parent, cut where [`DirBuf::cut`] will cut it).
    pub fn stat_prefix(&mut self, len: usize) -> io::Result<Stat> {
        if self.nul {
            return Err(nul_inside());
        }
        if len >= self.buf.len() {
            return stat(Path::new(OsStr::from_bytes(&self.buf)));
        }
        // The byte at `len` is put back after the look.
        let was = std::mem::replace(&mut self.buf[len], 0);
        // SAFETY: a NUL is at `len`, within the buffer, which lives across
        // the call.
        let got = unsafe { fstatat(self.buf.as_ptr().cast(), 0) };
        self.buf[len] = was;
        got
    }

    /// `name` is a [`Name`]: nothing to check but the room after the
    /// directory, which is nearly always there already.
    fn look(&mut self, name: &[u8], flags: libc::c_int) -> io::Result<Stat> {
        if self.nul {
            return Err(nul_inside());
        }
        let dir = self.buf.len();
        if self.buf.capacity() - dir <= name.len() {
            self.buf.reserve(name.len() + 1);
        }
        // SAFETY: there is room for the name and its NUL after the
        // directory; the bytes written are then initialised and end in a
        // NUL, and the buffer lives across the call. The Vec's length
        // stays the directory's.
        unsafe {
            let end = self.buf.as_mut_ptr().add(dir);
            copy_short(name, end);
            end.add(name.len()).write(0);
            fstatat(self.buf.as_ptr().cast(), flags)
        }
    }
}

/// The first and the last `size_of::<W>()` of `n` bytes, which cover them
/// all when `n` is between one and two words.
///
/// # Safety
/// As for [`copy_short`], and `size_of::<W>() <= n`.
#[inline(always)]
unsafe fn copy_ends<W: Copy>(s: *const u8, dst: *mut u8, n: usize) {
    let w = std::mem::size_of::<W>();
    // SAFETY: both words lie within the `n` bytes at `s` and at `dst`.
    unsafe {
        let (a, b) = (
            s.cast::<W>().read_unaligned(),
            s.add(n - w).cast::<W>().read_unaligned(),
        );
        dst.cast::<W>().write_unaligned(a);
        dst.add(n - w).cast::<W>().write_unaligned(b);
    }
}

/// `copy_nonoverlapping` for the few bytes of a file name, without a call
/// to `memcpy`: two overlapping loads and stores cover any length from 4 to
/// 16 (how `memcpy` itself does short copies).
///
/// # Safety
/// `dst` has room for `src.len()` bytes and does not overlap `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let (n, s) = (src.len(), src.as_ptr());
    // SAFETY: every load is within `src` and every store within the
    // `n` bytes at `dst`, by the length tests of each arm.
    unsafe {
        match n {
            8..=16 => copy_ends::<u64>(s, dst, n),
            4..=7 => copy_ends::<u32>(s, dst, n),
            0..=3 => {
                for i in 0..n {
                    dst.add(i).write(*s.add(i));
                }
            }
            _ => std::ptr::copy_nonoverlapping(s, dst, n),
        }
    }
}

/// A marker file as found at `path`: its inode, and its first `limit`
/// bytes when it is a regular file.
pub struct Marker {
    pub stat: Stat,
    /// `None` when the entry is not a regular file (a FIFO, a device, a
    /// directory): it was opened, never read.
    pub bytes: Option<Vec<u8>>,
}

/// Opens `path` once, without following a final symlink (`ELOOP` then)
/// and without blocking (a FIFO opens at once with O_NONBLOCK and is
/// never read), checks the type on the descriptor it then reads: no
/// window between the check and the read for anyone to swap the file.
pub fn read_marker(path: &Path, limit: u64, follow: bool) -> io::Result<Marker> {
    let mut file = open_nonblocking(path, follow)?;
    let meta = file.metadata()?;
    let stat = Stat::from_meta(&meta);
    if !stat.is_file() {
        return Ok(Marker { stat, bytes: None });
    }
    let bytes = read_up_to(&mut file, meta.len().min(limit))?;
    Ok(Marker {
        stat,
        bytes: Some(bytes),
    })
}

/// The first bytes of a file already known to be a regular file that only
/// the user or root can change (a program being checked, to read its `#!`
/// line), as many as fit in `buf`: opened the same careful way, without a
/// second look at its type. A FIFO here would only read as empty.
pub fn read_head<'b>(path: &Path, buf: &'b mut [u8]) -> io::Result<&'b [u8]> {
    let mut file = open_nonblocking(path, false)?;
    let got = read_into(&mut file, buf)?;
    Ok(&buf[..got])
}

fn open_nonblocking(path: &Path, follow: bool) -> io::Result<fs::File> {
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    // std adds O_CLOEXEC.
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// Reads until `want` bytes are in (for a marker, the size fstat gave,
/// capped: one read(2), and no second one to see the end), or the end.
fn read_up_to(file: &mut fs::File, want: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(want).unwrap_or(usize::MAX)];
    let got = read_into(file, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

/// Reads until `buf` is full or the end: how many bytes came.
fn read_into(file: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A FIFO with nothing in it.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The names in a directory, `.` and `..` left out.
pub fn list_dir(path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// The absolute path of the directory `rel` leads to from the working
/// directory, when the working directory's own path is unknown (deeper
/// than PATH_MAX): step into it, ask the kernel, step back. The way back is
/// a descriptor, so it works however deep or oddly named the start is.
pub fn absolute_dir(rel: &Path) -> io::Result<PathBuf> {
    let here = open_dir(Path::new("."))?;
    let there = open_dir(rel)?;
    chdir_fd(&there)?;
    let got = std::env::current_dir();
    // Going back cannot fail: `here` is an open directory we were in.
    let back = chdir_fd(&here);
    let got = got?;
    back?;
    Ok(got)
}

fn open_dir(path: &Path) -> io::Result<fs::File> {
    // O_PATH needs no read permission on the directory, only the search
    // permission its lookup needs anyway.
    #[cfg(target_os = "linux")]
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    #[cfg(not(target_os = "linux"))]
    let flags = libc::O_DIRECTORY;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

fn chdir_fd(dir: &fs::File) -> io::Result<()> {
    // SAFETY: the descriptor is open for the duration of the call.
    if unsafe { libc::fchdir(dir.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The working directory's path, as `std::env::current_dir` gives it,
/// without its final shrink of the buffer (a reallocation and a copy on
/// every shim call that walks).
pub fn getcwd() -> io::Result<PathBuf> {
    let mut room = 512;
    loop {
        let mut buf = Vec::<u8>::with_capacity(room);
        // SAFETY: the kernel writes at most `room` bytes, a NUL-terminated
        // path, into the buffer's capacity.
        let got = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), room) };
        if !got.is_null() {
            // SAFETY: getcwd wrote a NUL-terminated string there.
            let len = unsafe { libc::strlen(got) };
            // SAFETY: the first `len` bytes were just written.
            unsafe { buf.set_len(len) };
            return Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
        room *= 2;
    }
}

/// The real user and group ids. On Linux, read from the auxiliary vector,
/// where the kernel put them at `execve`: two syscalls fewer on every shim
/// call, and the same answer, since venvexec never changes its ids.
pub fn ids() -> (u32, u32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getauxval only reads the auxiliary vector; it returns 0
        // for an entry that is absent, which the kernel always passes.
        let (uid, gid) = unsafe { (libc::getauxval(libc::AT_UID), libc::getauxval(libc::AT_GID)) };
        if let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) {
            return (uid, gid);
        }
    }
    // SAFETY: getuid and getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getcwd_is_current_dir() {
        assert_eq!(getcwd().unwrap(), std::env::current_dir().unwrap());
    }

    #[test]
    fn ids_are_the_process_ids() {
        // SAFETY: getuid and getgid cannot fail.
        let want = unsafe { (libc::getuid(), libc::getgid()) };
        assert_eq!(ids(), want);
    }

    #[test]
    fn a_fifo_marker_is_opened_without_blocking_and_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pyvenv.cfg");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let m = read_marker(&fifo, 100, false).unwrap();
        assert!(m.bytes.is_none());
        assert!(!m.stat.is_file());
    }

    #[test]
    fn a_symlinked_marker_is_not_followed_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("real"), "x").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let err = read_marker(&dir.path().join("link"), 100, false)
            .err()
            .unwrap();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        let m = read_marker(&dir.path().join("link"), 100, true).unwrap();
        assert_eq!(m.bytes.as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn a_name_in_a_dir_is_looked_at_as_joined() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("l")).unwrap();
        assert!(lstat_in(dir.path(), OsStr::new("l")).unwrap().is_symlink());
        assert!(stat_in(dir.path(), OsStr::new("l")).unwrap().is_dir());
        let missing = lstat_in(dir.path(), OsStr::new("nope")).err().unwrap();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
        // Longer than the stack buffer: built on the heap, same answer.
        let mut long = dir.path().as_os_str().to_os_string();
        long.push("/.".repeat(STACK_PATH));
        assert!(
            lstat_in(Path::new(&long), OsStr::new("l"))
                .unwrap()
                .is_symlink()
        );
    }

    #[test]
    fn a_nul_inside_a_path_is_refused_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), "x").unwrap();
        let cut = OsStr::from_bytes(b"a\0b");
        let mut bytes = dir.path().join(cut).into_os_string().into_encoded_bytes();
        let before = bytes.clone();
        for err in [
            lstat_in(dir.path(), cut).err().unwrap(),
            lstat(&dir.path().join(cut)).err().unwrap(),
            lstat_vec(&mut bytes).err().unwrap(),
        ] {
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        assert_eq!(bytes, before, "the buffer is given back as it was");
        assert_eq!(Name::new(cut), None);
    }

    #[test]
    fn lstat_vec_looks_at_the_bytes_and_gives_them_back() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("l")).unwrap();
        let mut bytes = dir.path().join("l").into_os_string().into_encoded_bytes();
        let before = bytes.clone();
        assert!(lstat_vec(&mut bytes).unwrap().is_symlink());
        assert_eq!(bytes, before);
        bytes.extend_from_slice(b"/nope");
        assert_eq!(
            lstat_vec(&mut bytes).err().unwrap().raw_os_error(),
            Some(libc::ENOENT)
        );
    }

    #[test]
    fn a_dir_buf_looks_at_names_of_every_length_and_climbs() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("sub");
        fs::create_dir(&deep).unwrap();
        // Every arm of the short copy, and a name past it.
        let names: Vec<String> = (1..=40).map(|n| "n".repeat(n)).collect();
        for n in &names {
            fs::write(dir.path().join(n), "").unwrap();
        }
        let mut buf = DirBuf::new(&deep);
        for n in &names {
            let name = Name::new(OsStr::new(n)).unwrap();
            assert_eq!(
                buf.lstat(name).err().unwrap().raw_os_error(),
                Some(libc::ENOENT),
                "{n}"
            );
        }
        let parent = dir.path().as_os_str().len();
        assert!(buf.stat_prefix(parent).unwrap().is_dir());
        buf.cut(parent);
        for n in &names {
            let name = Name::new(OsStr::new(n)).unwrap();
            assert!(buf.lstat(name).unwrap().is_file(), "{n}");
        }
        assert!(Name::new(OsStr::new("a/b")).is_none() && Name::new(OsStr::new("")).is_none());
        // Past the room kept after the directory: the buffer grows, and the
        // kernel says the name is too long, as it would for the joined path.
        let long = "n".repeat(NAME_ROOM + 40);
        let err = buf
            .lstat(Name::new(OsStr::new(&long)).unwrap())
            .err()
            .unwrap();
        assert_eq!(err.raw_os_error(), Some(libc::ENAMETOOLONG));
        assert!(buf.lstat(Name::lit("n")).unwrap().is_file());
    }

    #[test]
    fn lstat_sees_the_link_stat_its_target() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("l")).unwrap();
        assert!(lstat(&dir.path().join("l")).unwrap().is_symlink());
        assert!(stat(&dir.path().join("l")).unwrap().is_dir());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `join` builds what `Path::join` builds; `push`, what
        /// `PathBuf::push` does with a relative name.
        #[test]
        fn join_is_path_join(
            dir in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'a'), Just(b'.'), Just(0xff)], 0..12),
            name in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'b'), Just(b'.'), Just(0xfe)], 0..8),
        ) {
            let dir = Path::new(OsStr::from_bytes(&dir));
            let name = OsStr::from_bytes(&name);
            prop_assert_eq!(join(dir, name).into_os_string(), dir.join(name).into_os_string());
            prop_assume!(name.as_bytes().first() != Some(&b'/'));
            let (mut mine, mut std) = (dir.to_path_buf(), dir.to_path_buf());
            push(&mut mine, name);
            std.push(name);
            prop_assert_eq!(mine, std);
        }

        /// The pieces `lstat_in` looks at are exactly `Path::join`'s path.
        #[test]
        fn joined_is_path_join(dir in "[a./]{0,8}", name in "[a./]{0,8}") {
            let (dir, name) = (Path::new(&dir), OsStr::new(&name));
            let j = Joined::new(dir, name);
            let got = [j.head, if j.sep { b"/" } else { b"" }, j.tail].concat();
            prop_assert_eq!(got.len(), j.len());
            prop_assert_eq!(got, dir.join(name).into_os_string().into_encoded_bytes());
        }
    }
}
