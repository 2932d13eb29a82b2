//! `execve` and the blocks it takes: NULL-terminated arrays of pointers to
//! NUL-terminated strings. The unsafe part of becoming another program,
//! behind a safe API: a block can only hold strings that outlive it, and is
//! NULL-terminated at every moment.

use std::ffi::{CStr, OsStr, c_char};
use std::io;
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;

use super::environ::Entry;

/// An owned C string: the bytes, then their one NUL, in one buffer.
pub struct CBytes(Vec<u8>);

impl CBytes {
    /// Joins `parts` into one C string. Bytes from argv and environ cannot
    /// hold NUL; one from elsewhere that does is cut there, as C would read
    /// it.
    pub fn join(parts: &[&[u8]]) -> CBytes {
        let mut v = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 1);
        for p in parts {
            v.extend_from_slice(p);
        }
        CBytes::from_vec(v)
    }

    /// `v` as a C string, in its own buffer: cut at a NUL as [`CBytes::join`]
    /// does, then its NUL pushed (room for it reserved, no copy made).
    pub fn from_vec(mut v: Vec<u8>) -> CBytes {
        if let Some(nul) = super::find_byte(&v, 0) {
            v.truncate(nul);
        }
        v.push(0);
        CBytes(v)
    }

    /// The string, without its NUL.
    pub fn bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    pub fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

/// An environment block for `execve`, pointing at strings that outlive it
/// (`'a`): entries of our own environ, passed on without a copy, and
/// [`CBytes`] made for the child.
pub struct Envp<'a> {
    /// Always ends with the NULL.
    pointers: Vec<*const c_char>,
    _strings: PhantomData<&'a CStr>,
}

impl<'a> Envp<'a> {
    /// The entries of an environment block as they are, then strings made
    /// for the child: in the buffer of `inherited` itself (an entry is a
    /// pointer), so the block is not copied again.
    pub fn from_parts(inherited: Vec<Entry<'a>>, added: &'a [CBytes]) -> Envp<'a> {
        let mut pointers: Vec<*const c_char> = inherited.into_iter().map(|e| e.as_ptr()).collect();
        pointers.reserve(added.len() + 1);
        pointers.extend(added.iter().map(CBytes::as_ptr));
        pointers.push(std::ptr::null());
        Envp {
            pointers,
            _strings: PhantomData,
        }
    }

    /// The pointers, the final NULL included.
    pub fn pointers(&self) -> &[*const c_char] {
        &self.pointers
    }
}

/// An argument vector for `execve`: the strings, one after another in one
/// buffer (each cut at a NUL as [`CBytes::join`] does, then its NUL), and
/// the NULL-terminated pointer array into them, kept together so the
/// pointers cannot outlive what they point at.
pub struct Argv {
    /// Only held: the pointers point into it.
    _buf: Vec<u8>,
    pointers: Vec<*const c_char>,
}

impl Argv {
    /// `program` as `argv[0]`, then `args`.
    pub fn new<A: AsRef<OsStr>>(program: &OsStr, args: &[A]) -> Argv {
        let all = || std::iter::once(program).chain(args.iter().map(AsRef::as_ref));
        let c_len = |a: &OsStr| super::find_byte(a.as_bytes(), 0).unwrap_or(a.len());
        // Sized for every string and its NUL: it never grows, so a pointer
        // taken into it stays valid.
        let mut buf = Vec::with_capacity(all().map(|a| a.len() + 1).sum());
        let mut pointers: Vec<*const c_char> = Vec::with_capacity(args.len() + 2);
        for a in all() {
            let at = buf.len();
            buf.extend_from_slice(&a.as_bytes()[..c_len(a)]);
            buf.push(0);
            // SAFETY: `at` is inside `buf`, which does not reallocate.
            pointers.push(unsafe { buf.as_ptr().add(at) }.cast());
        }
        pointers.push(std::ptr::null());
        Argv {
            _buf: buf,
            pointers,
        }
    }

    /// `argv[0]`, the program `execve` runs.
    fn program(&self) -> *const c_char {
        self.pointers[0]
    }
}

/// Replaces this process with the program `argv[0]` names, with the
/// environment `envp`. Returns only on failure, with the reason.
pub fn execve(argv: &Argv, envp: &Envp) -> io::Error {
    let program = argv.program();
    // SAFETY: both blocks are NULL-terminated arrays of pointers to
    // NUL-terminated strings that outlive the call (`Argv` owns its
    // strings; `Envp` borrows its own for longer than it lives).
    unsafe { libc::execve(program, argv.pointers.as_ptr(), envp.pointers.as_ptr()) };
    io::Error::last_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn argv_points_at_each_string_cut_at_a_nul() {
        let args = [
            OsString::from("-c"),
            OsString::from("a\0b"),
            OsString::new(),
        ];
        let argv = Argv::new(OsStr::new("/bin/py"), &args);
        let read: Vec<&[u8]> = argv.pointers[..4]
            .iter()
            // SAFETY: each pointer is a NUL-terminated string in `argv`.
            .map(|&p| unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
            .collect();
        assert_eq!(read, [&b"/bin/py"[..], b"-c", b"a", b""]);
        assert!(argv.pointers[4].is_null());
        assert_eq!(argv.program(), argv.pointers[0]);
    }

    #[test]
    fn nul_bytes_end_a_string() {
        assert_eq!(CBytes::join(&[b"a\0b"]).0, b"a\0");
        assert_eq!(CBytes::join(&[b"K", b"=", b"v"]).0, b"K=v\0");
        assert_eq!(CBytes::join(&[b"K", b"=", b"v"]).bytes(), b"K=v");
        assert_eq!(CBytes::join(&[]).0, b"\0");
        assert_eq!(CBytes::from_vec(b"K=v\0w".to_vec()).0, b"K=v\0");
        assert_eq!(CBytes::from_vec(b"K=v".to_vec()).bytes(), b"K=v");
        assert_eq!(CBytes::from_vec(Vec::new()).0, b"\0");
    }

    #[test]
    fn blocks_stay_null_terminated() {
        let strings = [CBytes::join(&[b"A=1"]), CBytes::join(&[b"B=2"])];
        assert_eq!(
            Envp::from_parts(Vec::new(), &[]).pointers(),
            [std::ptr::null()]
        );
        let envp = Envp::from_parts(Vec::new(), &strings);
        assert_eq!(
            envp.pointers(),
            [strings[0].as_ptr(), strings[1].as_ptr(), std::ptr::null()]
        );
        let argv = Argv::new(OsStr::new("/bin/x"), &["a"]);
        assert_eq!(argv.pointers.len(), 3);
        assert!(argv.pointers[2].is_null());
    }

    #[test]
    fn a_failed_exec_says_why() {
        let argv = Argv::new::<&OsStr>(OsStr::new("/nonexistent/venvexec-test"), &[]);
        let err = execve(&argv, &Envp::from_parts(Vec::new(), &[]));
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
