//! Reading other processes through Linux's `/proc`: the parent link, the
//! command line, the executable, the working directory, one variable of
//! the initial environment.
//!
//! Everything here is input from other programs: a command line can hold
//! any bytes, a `comm` can hold spaces and parentheses, a file can vanish
//! between two reads when its process exits. Nothing panics on it, and
//! every read is capped so a huge environment cannot stall a shim.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::read_capped;

/// `/proc/PID/stat` is one short line; 4 KiB holds it even with the
/// longest `comm`.
const STAT_LIMIT: u64 = 4 * 1024;
/// Enough for `argv[0]` and a shell's leading options. A longer command line
/// is cut: only its head is ever looked at.
pub const CMDLINE_LIMIT: u64 = 32 * 1024;
/// Environments are usually a few KiB; PATH further in than this is not
/// found, and the caller falls back to `/proc/PID/exe`.
pub const ENVIRON_LIMIT: u64 = 256 * 1024;
/// A Python server's maps run to a few hundred lines (~100 bytes each);
/// a process that maps more than this is read only as far as the cap, and
/// the lines cut off are not evidence.
pub const MAPS_LIMIT: u64 = 1024 * 1024;

/// One process's directory under `/proc`.
#[derive(Debug, Clone)]
pub struct Proc {
    dir: PathBuf,
}

impl Proc {
    pub fn new(pid: u32) -> Proc {
        let mut dir = Vec::with_capacity(16);
        dir.extend_from_slice(b"/proc/");
        super::push_decimal(&mut dir, u64::from(pid));
        Proc {
            dir: PathBuf::from(OsString::from_vec(dir)),
        }
    }

    /// This process, as the mounted `/proc` numbers it.
    pub fn current() -> Proc {
        Proc {
            dir: PathBuf::from("/proc/self"),
        }
    }

    /// Lends `/proc/PID/name` to `f`, built on the stack: the walk reads
    /// a few entries of every ancestor.
    fn with_entry<R>(&self, name: &str, f: impl FnOnce(&Path) -> R) -> R {
        super::fd::with_path_in(&self.dir, OsStr::new(name), f)
    }

    /// The uid owning `/proc/PID`: the process's effective uid (root for a
    /// process that made itself non-dumpable, such as a setuid program).
    pub fn owner(&self) -> io::Result<u32> {
        super::fd::stat(&self.dir).map(|st| st.uid)
    }

    /// The parent's PID, from `stat` field 4. `Ok(None)` when the line does
    /// not parse (it always should).
    pub fn ppid(&self, buf: &mut Vec<u8>) -> io::Result<Option<u32>> {
        self.with_entry("stat", |p| read_capped(p, STAT_LIMIT, buf))?;
        Ok(parse_stat_ppid(buf))
    }

    /// Reads the NUL-separated command line into `buf`; split it with
    /// [`args`].
    pub fn cmdline(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.with_entry("cmdline", |p| read_capped(p, CMDLINE_LIMIT, buf))
    }

    /// The running executable, links resolved by the kernel. A replaced or
    /// removed file reads as `PATH (deleted)`.
    pub fn exe(&self) -> io::Result<PathBuf> {
        self.with_entry("exe", |p| fs::read_link(p))
    }

    /// The identity (device, inode) of the running executable: the file
    /// itself, even when it has since been replaced or removed.
    pub fn exe_id(&self) -> io::Result<(u64, u64)> {
        self.with_entry("exe", |p| fs::metadata(p).map(|m| (m.dev(), m.ino())))
    }

    /// Reads the memory map into `buf`; its file paths come from
    /// [`crate::resolve::servers::mapped_files`].
    pub fn maps(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.with_entry("maps", |p| read_capped(p, MAPS_LIMIT, buf))
    }

    pub fn cwd(&self) -> io::Result<PathBuf> {
        self.with_entry("cwd", |p| fs::read_link(p))
    }

    /// Where file descriptor `fd` points (`/dev/pts/3`, `pipe:[123]`, …).
    pub fn fd(&self, fd: u32) -> io::Result<PathBuf> {
        fs::read_link(self.dir.join("fd").join(fd.to_string()))
    }

    /// Reads the environment the process was started with into `buf`;
    /// look names up with [`find_var`].
    pub fn environ(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.with_entry("environ", |p| read_capped(p, ENVIRON_LIMIT, buf))
    }

    /// `name`'s value in the environment the process was started with
    /// (later changes a program makes to its own environment are not
    /// visible, which is what we want: CPython decided from the initial
    /// one too). The value borrows `buf`, which holds the block.
    pub fn environ_var<'b>(
        &self,
        name: &[u8],
        buf: &'b mut Vec<u8>,
    ) -> io::Result<Option<&'b [u8]>> {
        self.with_entry("environ", |p| read_capped(p, ENVIRON_LIMIT, buf))?;
        Ok(find_var(buf, name))
    }
}

/// Field 4 of `/proc/PID/stat`. Field 2, the command name, is in
/// parentheses and may itself contain spaces and `)`; the kernel never
/// escapes it, so the fields after it are found from the *last* `)`.
pub fn parse_stat_ppid(line: &[u8]) -> Option<u32> {
    // On the no-environment path this runs once per ancestor: libc's
    // memrchr and a hand-rolled digit loop instead of a bytewise rposition,
    // split and str::parse (a tenth of the instructions).
    // SAFETY: memrchr reads line.len() bytes of a live slice.
    let close = unsafe { libc::memrchr(line.as_ptr().cast(), i32::from(b')'), line.len()) };
    if close.is_null() {
        return None;
    }
    let rest = &line[close as usize - line.as_ptr() as usize + 1..];
    // ` STATE PPID `: runs of spaces between fields, as split + filter
    // took them.
    let mut fields = rest.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let _state = fields.next()?;
    parse_u32(fields.next()?)
}

/// Decimal digits, an optional leading `+` as `str::parse` takes it, no
/// overflow.
fn parse_u32(digits: &[u8]) -> Option<u32> {
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u32::from(d))
    })
}

/// The arguments of a `/proc/PID/cmdline` read. Each argument ends in a
/// NUL; the final one is dropped so it does not read as an empty last
/// argument, while an empty argument in the middle (`prog "" x`) is kept.
/// A program that rewrote its title without NULs reads as one argument.
pub fn args(cmdline: &[u8]) -> impl Iterator<Item = &OsStr> {
    // No bytes at all is no arguments (argc 0, or a zombie); `"\0"` is one
    // empty argument.
    let empty = cmdline.is_empty();
    let body = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
    body.split(|&b| b == 0)
        .filter(move |_| !empty)
        .map(OsStr::from_bytes)
}

/// The value of the first `NAME=` entry of a NUL-separated environment
/// block, as `getenv` would return it.
pub fn find_var<'a>(environ: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    environ.split(|&b| b == 0).find_map(|entry| {
        let rest = entry.strip_prefix(name)?;
        rest.strip_prefix(b"=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ppid_survives_spaces_and_parens_in_comm() {
        assert_eq!(parse_stat_ppid(b"123 (sh) S 45 123 123 0 -1"), Some(45));
        assert_eq!(
            parse_stat_ppid(b"123 (a) b) (c d) R 7 1 1 0 -1 4194560\n"),
            Some(7)
        );
        assert_eq!(parse_stat_ppid(b"9 ()) S 1 9"), Some(1));
        assert_eq!(parse_stat_ppid(b"1 (init) S 0 1 1"), Some(0));
        assert_eq!(parse_stat_ppid(b"123 (sh S 45"), None);
        assert_eq!(parse_stat_ppid(b"123 (sh) S"), None);
        assert_eq!(parse_stat_ppid(b"123 (sh) S -1"), None);
        assert_eq!(parse_stat_ppid(b""), None);
        // The digits as str::parse reads them: a leading `+`, no overflow,
        // nothing but digits.
        assert_eq!(parse_stat_ppid(b"1 (a) S  +45  1"), Some(45));
        assert_eq!(parse_stat_ppid(b"1 (a) S 4294967295 1"), Some(u32::MAX));
        assert_eq!(parse_stat_ppid(b"1 (a) S 4294967296 1"), None);
        assert_eq!(parse_stat_ppid(b"1 (a) S + 1"), None);
        assert_eq!(parse_stat_ppid(b"1 (a) S 4a 1"), None);
        assert_eq!(parse_stat_ppid(b"1 (a) S 45\n"), None);
    }

    #[test]
    fn cmdline_splits_on_nul_and_keeps_empty_middle_args() {
        let got: Vec<&OsStr> = args(b"/v/bin/python\0-c\0\0x y\0").collect();
        assert_eq!(got, ["/v/bin/python", "-c", "", "x y"]);
        assert_eq!(args(b"").count(), 0);
        assert_eq!(args(b"\0").collect::<Vec<_>>(), [""]);
        // A title rewritten without NULs, and a line cut short by the cap.
        assert_eq!(
            args(b"celery worker -A app").collect::<Vec<_>>(),
            ["celery worker -A app"]
        );
        assert_eq!(args(b"python\0scr").collect::<Vec<_>>(), ["python", "scr"]);
        // Bytes that are not UTF-8 pass through untouched.
        let odd: Vec<&OsStr> = args(b"/opt/\xff/python\0").collect();
        assert_eq!(odd[0].as_bytes(), b"/opt/\xff/python");
    }

    #[test]
    fn environ_lookup_takes_the_first_exact_name() {
        let env = b"PATHX=/no\0MYPATH=/no\0PATH=/v/bin:/usr/bin\0PATH=/later\0HOME=/h\0";
        assert_eq!(find_var(env, b"PATH"), Some(&b"/v/bin:/usr/bin"[..]));
        assert_eq!(find_var(env, b"HOME"), Some(&b"/h"[..]));
        assert_eq!(find_var(b"PATH=\0", b"PATH"), Some(&b""[..]));
        assert_eq!(find_var(b"PATH\0", b"PATH"), None);
        assert_eq!(find_var(b"", b"PATH"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = Proc::current();
        let mut buf = Vec::new();
        // SAFETY: getppid cannot fail.
        let ppid = unsafe { libc::getppid() } as u32;
        assert_eq!(me.ppid(&mut buf).unwrap(), Some(ppid));
        me.cmdline(&mut buf).unwrap();
        let argv0 = args(&buf).next().unwrap().to_os_string();
        assert_eq!(argv0, std::env::args_os().next().unwrap());
        assert_eq!(me.exe().unwrap(), std::env::current_exe().unwrap());
        assert_eq!(me.cwd().unwrap(), std::env::current_dir().unwrap());
        // SAFETY: geteuid cannot fail.
        assert_eq!(me.owner().unwrap(), unsafe { libc::geteuid() });
        let initial = me
            .environ_var(b"PATH", &mut buf)
            .unwrap()
            .map(|v| OsStr::from_bytes(v).to_os_string());
        assert_eq!(initial, std::env::var_os("PATH"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: no panic.
        #[test]
        fn stat_any_bytes(line in bytes(512)) {
            let _ = parse_stat_ppid(&line);
        }

        /// Any bytes: the same answer as the plain reading of the format
        /// (last `)`, then the second space-separated field, `str::parse`).
        #[test]
        fn stat_matches_the_plain_reading(
            line in proptest::collection::vec(
                proptest::sample::select(b" )(+-0123456789aS\n".to_vec()),
                0..48,
            ),
        ) {
            let plain = || -> Option<u32> {
                let close = line.iter().rposition(|&b| b == b')')?;
                let mut fields = line[close + 1..]
                    .split(|&b| b == b' ')
                    .filter(|f| !f.is_empty());
                let _state = fields.next()?;
                std::str::from_utf8(fields.next()?).ok()?.parse().ok()
            };
            prop_assert_eq!(parse_stat_ppid(&line), plain());
        }

        /// Whatever a process named itself (spaces, parentheses, any
        /// byte), the parent PID is read back.
        #[test]
        fn stat_ppid_round_trips(
            pid in any::<u32>(),
            comm in bytes(32),
            state in proptest::char::range('A', 'Z'),
            ppid in any::<u32>(),
        ) {
            let mut line = format!("{pid} (").into_bytes();
            line.extend_from_slice(&comm);
            line.extend_from_slice(format!(") {state} {ppid} 1 1 0 -1 4194560\n").as_bytes());
            prop_assert_eq!(parse_stat_ppid(&line), Some(ppid));
        }

        /// Any bytes: no panic; arguments hold no NUL.
        #[test]
        fn cmdline_any_bytes(cmdline in bytes(512)) {
            for a in args(&cmdline) {
                prop_assert!(!a.as_bytes().contains(&0));
            }
        }

        /// An argv written as the kernel does is read back exactly.
        #[test]
        fn cmdline_round_trips(
            argv in proptest::collection::vec(
                proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..16),
                1..8,
            ),
        ) {
            let mut cmdline = Vec::new();
            for a in &argv {
                cmdline.extend_from_slice(a);
                cmdline.push(0);
            }
            let got: Vec<&[u8]> = args(&cmdline).map(|a| a.as_bytes()).collect();
            let want: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(got, want);
        }

        /// Any block and name: no panic; a value found follows `NAME=`
        /// at the start of an entry.
        #[test]
        fn environ_any_bytes(environ in bytes(512), name in bytes(8)) {
            if let Some(v) = find_var(&environ, &name) {
                let mut entry = name.clone();
                entry.push(b'=');
                entry.extend_from_slice(v);
                prop_assert!(environ.split(|&b| b == 0).any(|e| e == entry.as_slice()));
            }
        }

        /// The first entry of that name wins, as getenv's does.
        #[test]
        fn environ_first_entry_wins(
            name in "[A-Z_]{1,8}",
            first in bytes(32),
            later in bytes(32),
        ) {
            let clean = |v: &[u8]| v.iter().copied().filter(|&b| b != 0).collect::<Vec<u8>>();
            let (first, later) = (clean(&first), clean(&later));
            let mut environ = b"OTHER=x\0".to_vec();
            for v in [&first, &later] {
                environ.extend_from_slice(name.as_bytes());
                environ.push(b'=');
                environ.extend_from_slice(v);
                environ.push(0);
            }
            prop_assert_eq!(find_var(&environ, name.as_bytes()), Some(first.as_slice()));
        }
    }
}
