//! The process environment, read in one pass.
//!
//! `std::env::var_os` is a `getenv`: a scan of the whole block per variable
//! (behind a lock, with the name copied to a C string and the value to a
//! fresh allocation). The shim reads some twenty-five variables on every
//! call, so that is twenty-five scans of a login shell's thirty entries.
//! Here one scan picks out every variable of [`NAMES`] and keeps a borrowed
//! view of its value; lookups after that are a field load.
//!
//! Adding a variable the shim reads is one line in [`NAMES`]; reading one
//! that is not listed is a bug that debug builds (the tests) stop at.

use std::ffi::{CStr, OsStr, c_char};
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;

/// Generates [`Vars`] from the list of names: a slot per variable, the
/// one-pass scan that fills them, and the lookup by name.
macro_rules! environ_vars {
    ($($field:ident = $name:literal,)*) => {
        /// Every variable venvexec reads, as the block holds it.
        pub const NAMES: &[&str] = &[$($name,)*];

        /// The values of the variables of [`NAMES`] in one environment
        /// block: the first entry of each name, as `getenv` returns it.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Vars<'a> {
            $($field: Option<Found<'a>>,)*
            /// An entry had no `=`, or a listed name came twice.
            odd: bool,
        }

        /// Bit n set: some listed name is n bytes long. Most entries of a
        /// block are ruled out by their name's length alone.
        const LENGTHS: u64 = 0 $(| 1 << $name.len())*;

        impl<'a> Vars<'a> {
            /// The entries of a block, in order. Only the names are
            /// read, and the values of the variables listed.
            pub fn from_block(block: impl IntoIterator<Item = Entry<'a>>) -> Vars<'a> {
                let mut vars = Vars::default();
                for (index, entry) in block.into_iter().enumerate() {
                    let Some(name) = entry.name() else {
                        vars.odd = true;
                        continue;
                    };
                    if name.len() >= 64 || LENGTHS & (1 << name.len()) == 0 {
                        continue;
                    }
                    // Compared by key first, so the arms become one switch.
                    let k = key(name);
                    let slot = match name {
                        $(n if k == const { key($name.as_bytes()) } && n == $name.as_bytes() => {
                            &mut vars.$field
                        })*
                        _ => continue,
                    };
                    match slot {
                        None => {
                            *slot = Some(Found {
                                entry,
                                value: entry.value(name),
                                index,
                            })
                        }
                        Some(_) => vars.odd = true,
                    }
                }
                vars
            }

            /// The first entry of `name`, which must be one of [`NAMES`].
            #[inline(always)]
            pub fn entry(&self, name: &str) -> Option<Entry<'a>> {
                match name {
                    $($name => self.$field.map(|f| f.entry),)*
                    _ => {
                        debug_assert!(false, "{name} is not in platform::environ::NAMES: add it there");
                        None
                    }
                }
            }

            /// The first entry of `name`, which must be one of [`NAMES`],
            /// and its place in the block (0 for the first entry).
            #[inline(always)]
            pub fn entry_at(&self, name: &str) -> Option<(usize, Entry<'a>)> {
                match name {
                    $($name => self.$field.map(|f| (f.index, f.entry)),)*
                    _ => {
                        debug_assert!(false, "{name} is not in platform::environ::NAMES: add it there");
                        None
                    }
                }
            }

            /// The value of `name`, which must be one of [`NAMES`].
            #[inline(always)]
            pub fn get(&self, name: &str) -> Option<&'a OsStr> {
                match name {
                    $($name => self.$field.map(|f| f.value),)*
                    _ => {
                        debug_assert!(false, "{name} is not in platform::environ::NAMES: add it there");
                        None
                    }
                }
            }
        }
    };
}

environ_vars! {
    path = "PATH",
    home = "HOME",
    venvexec_venv = "VENVEXEC_VENV",
    venvexec_disable = "VENVEXEC_DISABLE",
    venvexec_names = "VENVEXEC_NAMES",
    venvexec_ceiling_dirs = "VENVEXEC_CEILING_DIRS",
    venvexec_safe_dirs = "VENVEXEC_SAFE_DIRS",
    venvexec_across_filesystems = "VENVEXEC_ACROSS_FILESYSTEMS",
    venvexec_no_inherit = "VENVEXEC_NO_INHERIT",
    venvexec_process_managers = "VENVEXEC_PROCESS_MANAGERS",
    venvexec_quiet = "VENVEXEC_QUIET",
    venvexec_strict = "VENVEXEC_STRICT",
    venvexec_log = "VENVEXEC_LOG",
    venvexec_depth = "VENVEXEC_DEPTH",
    venvexec_passed = "VENVEXEC_PASSED",
    virtual_env = "VIRTUAL_ENV",
    conda_prefix = "CONDA_PREFIX",
    conda_default_env = "CONDA_DEFAULT_ENV",
    conda_root_private = "_CONDA_ROOT",
    conda_root = "CONDA_ROOT",
    xdg_cache_home = "XDG_CACHE_HOME",
    xdg_data_home = "XDG_DATA_HOME",
    pyenv_root = "PYENV_ROOT",
    poetry_virtualenvs_path = "POETRY_VIRTUALENVS_PATH",
    poetry_cache_dir = "POETRY_CACHE_DIR",
    workon_home = "WORKON_HOME",
    pipenv_custom_venv_name = "PIPENV_CUSTOM_VENV_NAME",
    pipenv_python = "PIPENV_PYTHON",
    pdm_python = "PDM_PYTHON",
    uv_project_environment = "UV_PROJECT_ENVIRONMENT",
    pythonhome = "PYTHONHOME",
}

/// A listed variable as the block holds it.
#[derive(Debug, Clone, Copy)]
struct Found<'a> {
    entry: Entry<'a>,
    value: &'a OsStr,
    /// Where the entry is in the block.
    index: usize,
}

impl Vars<'_> {
    /// Every entry had an `=`, and no listed name came twice: each listed
    /// variable is exactly the one entry [`Vars::entry`] gives.
    pub fn is_plain(&self) -> bool {
        !self.odd
    }
}

impl Vars<'static> {
    /// This process's environment. The block is never changed after
    /// start-up (venvexec sets no variable in itself: children get theirs
    /// through the envp of `execve`), so the borrowed values stay valid.
    pub fn process() -> Vars<'static> {
        Vars::from_block(process_block())
    }
}

/// One `name=value` entry of an environment block. Nothing is measured up
/// front: most entries are looked at only as far as their `=`.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    ptr: *const c_char,
    _block: PhantomData<&'a CStr>,
}

impl<'a> Entry<'a> {
    /// The name, parsed as std's `vars_os` does (after glibc): never empty,
    /// so an `=` in the first byte belongs to it; `None` for an entry with
    /// no `=` after that, which is malformed and skipped.
    pub fn name(&self) -> Option<&'a [u8]> {
        let p = self.ptr.cast::<u8>();
        // SAFETY: the entry is a NUL-terminated string (see `block`): the
        // scan stops at its NUL at the latest.
        unsafe {
            if *p == 0 {
                return None;
            }
            let n = 1 + name_end(p.add(1));
            (*p.add(n) == b'=').then(|| std::slice::from_raw_parts(p, n))
        }
    }

    /// The value, after `name` (what [`Entry::name`] returned).
    pub fn value(&self, name: &[u8]) -> &'a OsStr {
        // SAFETY: `name=` is a prefix of the NUL-terminated entry.
        let rest = unsafe { CStr::from_ptr(self.ptr.add(name.len() + 1)) };
        OsStr::from_bytes(rest.to_bytes())
    }

    /// The whole entry, without its NUL.
    pub fn bytes(&self) -> &'a [u8] {
        // SAFETY: a NUL-terminated string that outlives 'a.
        unsafe { CStr::from_ptr(self.ptr) }.to_bytes()
    }

    /// The entry as `execve` takes it.
    pub fn as_ptr(&self) -> *const c_char {
        self.ptr
    }
}

/// How many bytes of the NUL-terminated `s` come before its first `=` (or
/// its NUL).
///
/// # Safety
/// `s` is a NUL-terminated string.
unsafe fn name_end(s: *const u8) -> usize {
    #[cfg(target_os = "linux")]
    {
        // The C library's vectorised scan: a login shell's block has some
        // three hundred bytes of names.
        // SAFETY: as the caller vouches.
        let end = unsafe { libc::strchrnul(s.cast(), i32::from(b'=')) };
        end as usize - s as usize
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut n = 0;
        // SAFETY: as the caller vouches; stops at the NUL at the latest.
        while !matches!(unsafe { *s.add(n) }, 0 | b'=') {
            n += 1;
        }
        n
    }
}

/// A name's length, first and last byte: cheap to take, and different for
/// every name of [`NAMES`] (a clash would only cost a comparison).
const fn key(name: &[u8]) -> u32 {
    match name {
        [first, .., last] => name.len() as u32 | (*first as u32) << 8 | (*last as u32) << 16,
        [only] => 1 | (*only as u32) << 8 | (*only as u32) << 16,
        [] => 0,
    }
}

/// `name=value` → `(name, value)`, split as [`Entry::name`] does.
pub fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = 1 + entry.get(1..)?.iter().position(|&b| b == b'=')?;
    Some((&entry[..eq], &entry[eq + 1..]))
}

/// This process's environment block: what `execve` takes back for the
/// variables a child inherits unchanged.
pub fn process_block() -> impl Iterator<Item = Entry<'static>> {
    unsafe extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: the C runtime set `environ` to a NULL-terminated array of
    // NUL-terminated strings before `main`; nothing in this process
    // changes it (see `Vars::process`).
    unsafe { block(environ) }
}

/// The entries of the NULL-terminated array at `envp`, without copying.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of pointers to NUL-terminated
/// strings, all of which outlive `'a` unchanged.
pub unsafe fn block<'a>(envp: *const *const c_char) -> impl Iterator<Item = Entry<'a>> {
    let mut next = envp;
    std::iter::from_fn(move || {
        if next.is_null() {
            return None;
        }
        // SAFETY: the caller vouches for a NULL-terminated array; `next`
        // never moves past its NULL.
        let entry = unsafe { *next };
        if entry.is_null() {
            return None;
        }
        next = unsafe { next.add(1) };
        Some(Entry {
            ptr: entry,
            _block: PhantomData,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// An environment block as the C runtime lays it out.
    struct FakeBlock {
        _strings: Vec<CString>,
        pointers: Vec<*const c_char>,
    }

    fn fake(entries: &[&[u8]]) -> FakeBlock {
        let strings: Vec<CString> = entries.iter().map(|e| CString::new(*e).unwrap()).collect();
        let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(std::ptr::null());
        FakeBlock {
            _strings: strings,
            pointers,
        }
    }

    fn entries(b: &FakeBlock) -> impl Iterator<Item = Entry<'_>> {
        // SAFETY: the fake block is NULL-terminated and outlives the borrow.
        unsafe { block(b.pointers.as_ptr()) }
    }

    fn vars_of(b: &FakeBlock) -> Vars<'_> {
        Vars::from_block(entries(b))
    }

    #[test]
    fn one_pass_finds_each_listed_variable_first_entry_winning() {
        let b = fake(&[
            b"PATHX=/no",
            b"MYPATH=/no",
            b"PATH=/v/bin:/usr/bin",
            b"HOME=/h",
            b"PATH=/later",
            b"VIRTUAL_ENV=",
            b"UNLISTED=x",
            b"VENVEXEC_NAMES=a=b",
        ]);
        let v = vars_of(&b);
        assert_eq!(v.get("PATH"), Some(OsStr::new("/v/bin:/usr/bin")));
        assert_eq!(v.get("HOME"), Some(OsStr::new("/h")));
        // Set but empty is set: callers decide what empty means.
        assert_eq!(v.get("VIRTUAL_ENV"), Some(OsStr::new("")));
        // Only the first `=` separates.
        assert_eq!(v.get("VENVEXEC_NAMES"), Some(OsStr::new("a=b")));
        assert_eq!(v.get("CONDA_PREFIX"), None);
    }

    #[test]
    fn malformed_entries_are_skipped_as_std_does() {
        let b = fake(&[b"", b"PATH", b"=HOME=/odd", b"=", b"HOME=/h"]);
        let v = vars_of(&b);
        assert_eq!(v.get("PATH"), None);
        assert_eq!(v.get("HOME"), Some(OsStr::new("/h")));
        let names: Vec<Option<&[u8]>> = entries(&b).map(|e| e.name()).collect();
        assert_eq!(
            names,
            [None, None, Some(&b"=HOME"[..]), None, Some(&b"HOME"[..])]
        );
        // The same rule as the whole-entry split.
        for e in entries(&b) {
            assert_eq!(e.name(), split_entry(e.bytes()).map(|(k, _)| k));
        }
        assert_eq!(
            split_entry(b"=HOME=/odd"),
            Some((&b"=HOME"[..], &b"/odd"[..]))
        );
        assert_eq!(split_entry(b"K="), Some((&b"K"[..], &b""[..])));
        assert_eq!(split_entry(b"="), None);
        assert_eq!(split_entry(b""), None);
    }

    #[test]
    fn listed_names_have_distinct_keys() {
        let mut keys: Vec<u32> = NAMES.iter().map(|n| key(n.as_bytes())).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), NAMES.len());
    }

    #[test]
    fn odd_blocks_are_told_apart() {
        assert!(vars_of(&fake(&[b"PATH=/a", b"HOME=/h", b"X=1"])).is_plain());
        assert!(!vars_of(&fake(&[b"PATH=/a", b"PATH=/b"])).is_plain());
        assert!(!vars_of(&fake(&[b"PATH=/a", b"junk"])).is_plain());
        // Unlisted names may repeat: nobody drops them.
        assert!(vars_of(&fake(&[b"X=1", b"X=2"])).is_plain());
        let b = fake(&[b"X=1", b"HOME=/h"]);
        assert_eq!(
            vars_of(&b).entry("HOME").map(|e| e.as_ptr()),
            Some(b.pointers[1])
        );
        assert_eq!(
            vars_of(&b).entry_at("HOME").map(|(i, e)| (i, e.as_ptr())),
            Some((1, b.pointers[1]))
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through() {
        let b = fake(&[b"HOME=/h\xff\xfe"]);
        assert_eq!(vars_of(&b).get("HOME").unwrap().as_bytes(), b"/h\xff\xfe");
    }

    #[test]
    fn an_empty_or_missing_block_has_nothing() {
        let b = fake(&[]);
        assert_eq!(vars_of(&b).get("PATH"), None);
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { block(std::ptr::null()) }.count(), 0);
    }

    #[test]
    fn the_process_block_agrees_with_std() {
        let v = Vars::process();
        for name in NAMES {
            assert_eq!(v.get(name), std::env::var_os(name).as_deref(), "{name}");
        }
        assert_eq!(process_block().count(), std::env::vars_os().count());
    }

    #[test]
    fn every_name_has_its_own_slot() {
        let all: Vec<Vec<u8>> = NAMES.iter().map(|n| format!("{n}=<{n}>").into()).collect();
        let b = fake(&all.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let v = vars_of(&b);
        for name in NAMES {
            assert_eq!(
                v.get(name),
                Some(OsStr::new(&format!("<{name}>"))),
                "{name}"
            );
        }
    }
}
