//! The edge where venvexec becomes another program: the activated
//! environment of the child, the PATH search that skips ourselves, and
//! `execve`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::chain;
use crate::platform::split_list;
use crate::venv::{self, Env, FileId};

/// Identity of the running binary, to recognise our own links on PATH
/// however they are spelled (relative entries, a dir listed twice, hard
/// links): same device and inode means same program. One stat of the
/// magic link when /proc is there; without it, the path we were started
/// from, so a shim in an image with no /proc still skips itself.
pub fn self_id() -> Option<FileId> {
    fs::metadata("/proc/self/exe")
        .or_else(|_| crate::platform::exec_path().and_then(fs::metadata))
        .ok()
        .map(|m| venv::file_id(&m))
}

/// The next `name` on `path_var` that is executable and is none of the
/// `skip` binaries (this one, and every venvexec already passed), as
/// `execvp` would find it. Empty and relative entries are taken relative
/// to `cwd`, as the shell does; the result is absolute when `cwd` is known.
pub fn find_on_path(
    name: &OsStr,
    path_var: Option<&OsStr>,
    cwd: Option<&Path>,
    skip: &[FileId],
) -> Option<PathBuf> {
    let path_var = path_var?;
    for entry in split_list(path_var) {
        let dir = Path::new(if entry.is_empty() {
            OsStr::new(".")
        } else {
            entry
        });
        let mut candidate = match cwd {
            // Rebuilt from components so `./bin` and the `.` of an empty
            // entry leave no `/./` in the argv[0] of what runs.
            Some(cwd) if dir.is_relative() => cwd.join(dir).components().collect(),
            _ => dir.to_path_buf(),
        };
        candidate.push(name);
        let Ok(meta) = fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_file() && meta.mode() & 0o111 != 0 && !skip.contains(&venv::file_id(&meta)) {
            return Some(candidate);
        }
    }
    None
}

/// How the child's environment differs from ours.
pub enum Activation<'a> {
    /// Run inside `env`: what `source ENV/bin/activate` would have set.
    Env(&'a Env),
    /// Pass the environment through, with what the next shim must know
    /// about this call ([`crate::chain`]).
    FallThrough { chain: [(OsString, OsString); 2] },
}

/// What activating an environment changes: the one plan that both the
/// exec'd child's environment ([`child_env`]) and `venvexec env`'s shell
/// lines follow, so the two can never disagree.
pub struct Activate<'a> {
    /// Set to the root: `VIRTUAL_ENV`, or `CONDA_PREFIX` for a conda env
    /// (tools that see `VIRTUAL_ENV` take the prefix for a venv: pip's and
    /// poetry's checks do).
    pub var: &'static str,
    pub root: &'a Path,
    /// Removed: `PYTHONHOME` (it would point the interpreter at another
    /// standard library, as `activate` knows), and for a conda env a
    /// `VIRTUAL_ENV` left from elsewhere.
    pub unset: &'static [&'static str],
}

impl<'a> Activate<'a> {
    pub fn of(env: &'a Env) -> Activate<'a> {
        let conda = env.kind == crate::venv::EnvKind::Conda;
        Activate {
            var: if conda { "CONDA_PREFIX" } else { "VIRTUAL_ENV" },
            root: &env.root,
            unset: if conda {
                &["PYTHONHOME", "VIRTUAL_ENV"]
            } else {
                &["PYTHONHOME"]
            },
        }
    }

    /// `ROOT/bin`, which goes first on PATH.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// Whether the child's value of `name` is this plan's to decide.
    fn owns(&self, name: &[u8]) -> bool {
        name == self.var.as_bytes() || self.unset.iter().any(|u| u.as_bytes() == name)
    }
}

/// Builds the child's environment block.
pub fn child_env(activation: &Activation) -> Vec<(OsString, OsString)> {
    let plan = match activation {
        Activation::Env(env) => Some(Activate::of(env)),
        Activation::FallThrough { .. } => None,
    };
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    let mut old_path = None;
    for (k, v) in std::env::vars_os() {
        match k.as_bytes() {
            k if k == chain::DEPTH_VAR.as_bytes() || k == chain::PASSED_VAR.as_bytes() => continue,
            b"PATH" if plan.is_some() => old_path = Some(v),
            name if plan.as_ref().is_some_and(|p| p.owns(name)) => continue,
            _ => vars.push((k, v)),
        }
    }
    match (activation, plan) {
        (_, Some(plan)) => {
            vars.push((plan.var.into(), plan.root.as_os_str().to_os_string()));
            vars.push((
                "PATH".into(),
                activated_path(&plan.bin(), old_path.as_deref()),
            ));
        }
        (Activation::FallThrough { chain }, None) => vars.extend(chain.iter().cloned()),
        (Activation::Env(_), None) => {}
    }
    vars
}

/// `ENV/bin` first on PATH, as `activate` does; not added twice when a
/// nested call is already inside it, so PATH does not grow per level.
pub fn activated_path(bin: &Path, old: Option<&OsStr>) -> OsString {
    let bin = bin.as_os_str();
    let Some(old) = old else {
        // activate would leave `ENV/bin:` with an empty (= cwd) tail; give
        // the child the search path it would have had without PATH.
        let mut p = bin.to_os_string();
        p.push(":");
        p.push(crate::platform::DEFAULT_PATH);
        return p;
    };
    if split_list(old).next() == Some(bin) {
        return old.to_os_string();
    }
    let mut p = bin.to_os_string();
    if !old.is_empty() {
        p.push(":");
        p.push(old);
    }
    p
}

/// Replaces this process with `program`. `argv[0]` is the absolute `program`
/// path: CPython finds `pyvenv.cfg` from `argv[0]`, so a bare `python` there
/// would silently lose the venv. Returns only on failure.
pub fn exec(program: &Path, args: &[OsString], env: &[(OsString, OsString)]) -> io::Error {
    let argv = CStrings::argv(program, args);
    let envp = CStrings::env(env);
    // Signal dispositions pass through untouched (no_main: std never
    // changed ours), exactly as if the caller had run `program` itself.
    // SAFETY: both blocks are NULL-terminated arrays of pointers to
    // NUL-terminated strings that outlive the call.
    unsafe { libc::execve(argv.first(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// An argv or envp block for `execve`/`posix_spawn`: the strings and the
/// NULL-terminated pointer array into them, kept together so the pointers
/// cannot outlive what they point at.
pub struct CStrings {
    strings: Vec<Vec<u8>>,
    pointers: Vec<*const libc::c_char>,
}

impl CStrings {
    /// `program` as `argv[0]`, then `args`.
    pub fn argv(program: &Path, args: &[OsString]) -> CStrings {
        let first =
            std::iter::once(program.as_os_str()).chain(args.iter().map(OsString::as_os_str));
        CStrings::new(first.map(|a| nul_terminated(&[a.as_bytes()])).collect())
    }

    /// `KEY=VALUE` strings.
    pub fn env(env: &[(OsString, OsString)]) -> CStrings {
        CStrings::new(
            env.iter()
                .map(|(k, v)| nul_terminated(&[k.as_bytes(), b"=", v.as_bytes()]))
                .collect(),
        )
    }

    fn new(strings: Vec<Vec<u8>>) -> CStrings {
        let mut pointers: Vec<*const libc::c_char> =
            strings.iter().map(|s| s.as_ptr().cast()).collect();
        pointers.push(std::ptr::null());
        CStrings { strings, pointers }
    }

    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.pointers.as_ptr()
    }

    /// The first string (the program, for an argv block).
    pub fn first(&self) -> *const libc::c_char {
        self.strings
            .first()
            .map_or(std::ptr::null(), |s| s.as_ptr().cast())
    }
}

/// Joins `parts` into one C string. Bytes from argv and environ cannot hold
/// NUL; one from elsewhere that does is cut there, as C would read it.
fn nul_terminated(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 1);
    for p in parts {
        v.extend_from_slice(p);
    }
    if let Some(end) = v.iter().position(|&b| b == 0) {
        v.truncate(end);
    }
    v.push(0);
    v
}

/// The failure of starting `program`, with the status a shell would give.
pub fn cannot_run(program: &Path, err: &io::Error) -> crate::fail::Fail {
    // The kernel says ENOENT both for a missing file and for a script whose
    // `#!` interpreter is missing (a venv's pip after its Python was
    // removed): name the one that is really gone.
    if err.kind() == io::ErrorKind::NotFound
        && program.exists()
        && let Some(interpreter) = crate::platform::shebang(program)
    {
        return crate::fail::Fail::new(
            exit_code_for(err),
            format!(
                "cannot run {}: the interpreter its #! line names, {}, does not exist\n  \
                     hint: the program was made for a Python that is gone; reinstall it, or recreate its environment",
                program.display(),
                Path::new(&interpreter).display()
            ),
        );
    }
    crate::fail::Fail::new(
        exit_code_for(err),
        format!(
            "cannot run {}: {}",
            program.display(),
            crate::platform::io_phrase(err)
        ),
    )
}

/// Exit status for a failed exec, as shells report it.
pub fn exit_code_for(err: &io::Error) -> u8 {
    if err.kind() == io::ErrorKind::NotFound {
        crate::fail::NOT_FOUND
    } else {
        crate::fail::NOT_RUNNABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_end_a_string() {
        assert_eq!(nul_terminated(&[b"a\0b"]), b"a\0");
        assert_eq!(nul_terminated(&[b"K", b"=", b"v"]), b"K=v\0");
    }

    #[test]
    fn activated_path_prepends_once() {
        let bin = Path::new("/p/.venv/bin");
        assert_eq!(
            activated_path(bin, Some(OsStr::new("/usr/bin"))),
            OsString::from("/p/.venv/bin:/usr/bin")
        );
        assert_eq!(
            activated_path(bin, Some(OsStr::new("/p/.venv/bin:/usr/bin"))),
            OsString::from("/p/.venv/bin:/usr/bin")
        );
        assert_eq!(
            activated_path(bin, Some(OsStr::new(""))),
            OsString::from("/p/.venv/bin")
        );
        assert_eq!(
            activated_path(bin, None),
            OsString::from("/p/.venv/bin:/bin:/usr/bin")
        );
    }

    #[test]
    fn path_search_skips_non_executables_and_self() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("tool"), "").unwrap();
        fs::write(b.join("tool"), "").unwrap();
        fs::set_permissions(b.join("tool"), fs::Permissions::from_mode(0o755)).unwrap();
        let path = OsString::from(format!("{}:{}", a.display(), b.display()));
        let found = find_on_path(OsStr::new("tool"), Some(&path), None, &[]);
        assert_eq!(found, Some(b.join("tool")));
        let me = [venv::file_id(&fs::metadata(b.join("tool")).unwrap())];
        assert_eq!(
            find_on_path(OsStr::new("tool"), Some(&path), None, &me),
            None
        );
        // Relative entries resolve against the given working directory.
        let rel = OsString::from("b");
        assert_eq!(
            find_on_path(OsStr::new("tool"), Some(&rel), Some(dir.path()), &[]),
            Some(dir.path().join("b/tool"))
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn os(b: &[u8]) -> &OsStr {
        OsStr::from_bytes(b)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `ENV/bin` comes first, the old PATH follows untouched, and a
        /// nested activation does not grow PATH.
        #[test]
        fn activated_path_prepends_once(
            bin in proptest::collection::vec(any::<u8>().prop_filter("no colon or NUL", |b| *b != b':' && *b != 0), 1..64),
            old in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256)),
        ) {
            let bin = Path::new(os(&bin));
            let once = activated_path(bin, old.as_deref().map(os));
            let b = once.as_bytes();
            prop_assert!(b.starts_with(bin.as_os_str().as_bytes()));
            if let Some(old) = old.as_deref().filter(|o| !o.is_empty()) {
                prop_assert!(b.ends_with(old));
            }
            prop_assert_eq!(activated_path(bin, Some(&once)), once.clone());
        }

        /// Any PATH value at all: no panic, and only an existing,
        /// executable file is ever returned.
        #[test]
        fn find_on_path_any_bytes(path in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Some(found) = find_on_path(OsStr::new("sh"), Some(os(&path)), Some(Path::new("/")), &[]) {
                let meta = fs::metadata(&found).unwrap();
                prop_assert!(meta.is_file() && meta.mode() & 0o111 != 0);
                prop_assert!(found.is_absolute());
            }
        }
    }
}
