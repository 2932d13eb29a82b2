//! The edge where venvexec becomes another program: the activated
//! environment of the child, the PATH search that skips ourselves, and
//! `execve`.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::chain;
use crate::platform::exec::{Argv, CBytes, Envp};
use crate::platform::{environ, fd, split_list};
use crate::venv::{Env, FileId};

/// Identity of the running binary, to recognise our own links on PATH
/// however they are spelled (relative entries, a dir listed twice, hard
/// links): same device and inode means same program. One stat of the
/// magic link when /proc is there; without it, the path we were started
/// from, so a shim in an image with no /proc still skips itself.
pub fn self_id() -> Option<FileId> {
    fd::stat(Path::new("/proc/self/exe"))
        .or_else(|_| crate::platform::exec_path().and_then(|p| fd::stat(&p)))
        .ok()
        .map(|m| m.id())
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
        let runnable =
            |st: fd::Stat| st.is_file() && st.mode & 0o111 != 0 && !skip.contains(&st.id());
        match cwd {
            // Rebuilt from components so `./bin` and the `.` of an empty
            // entry leave no `/./` in the argv[0] of what runs.
            Some(cwd) if dir.is_relative() => {
                let mut candidate: PathBuf = cwd.join(dir).components().collect();
                candidate.push(name);
                if fd::stat(&candidate).is_ok_and(runnable) {
                    return Some(candidate);
                }
            }
            // The usual entry: looked at without building the path, which
            // is built only for the one found.
            _ => {
                if fd::stat_in(dir, name).is_ok_and(runnable) {
                    return Some(dir.join(name));
                }
            }
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
    FallThrough {
        chain: [(&'static str, OsString); 2],
    },
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
        crate::platform::fd::join(self.root, "bin")
    }

    /// Whether the child's value of `name` is this plan's to decide.
    fn owns(&self, name: &[u8]) -> bool {
        name == self.var.as_bytes() || self.unset.iter().any(|u| u.as_bytes() == name)
    }
}

const DEPTH: &str = chain::DEPTH_VAR;
const PASSED: &str = chain::PASSED_VAR;

/// Builds the child's environment block from ours.
pub fn child_env(activation: &Activation) -> ChildEnv<'static> {
    child_env_with(
        &environ::Vars::process(),
        environ::process_block(),
        activation,
    )
}

/// [`child_env_from`], knowing `vars`, what one pass over `block` found:
/// when every name the activation drops appears once at most (the usual
/// case), those entries are known by address, and no name is read again.
pub fn child_env_with<'a>(
    vars: &environ::Vars<'a>,
    block: impl Iterator<Item = environ::Entry<'a>>,
    activation: &Activation,
) -> ChildEnv<'a> {
    if !vars.is_plain() {
        return child_env_from(block, activation);
    }
    let plan = plan_of(activation);
    // The entries that go, with their places in the block: usually one or
    // two, often none.
    let mut dropped = [(0, std::ptr::null()); 8];
    let mut n = 0;
    let owned = plan
        .iter()
        .flat_map(|p| ["PATH", p.var].into_iter().chain(p.unset.iter().copied()));
    for (index, entry) in [DEPTH, PASSED]
        .into_iter()
        .chain(owned)
        .filter_map(|name| vars.entry_at(name))
    {
        if n < dropped.len() {
            dropped[n] = (index, entry.as_ptr());
            n += 1;
        } else {
            return child_env_from(block, activation);
        }
    }
    // In block order, the block is read against them with one comparison
    // per entry, not one per dropped entry (a login shell's block has some
    // thirty). The names differ, and in a plain block so do their entries.
    let dropped = &mut dropped[..n];
    dropped.sort_unstable_by_key(|&(index, _)| index);
    let mut next = dropped.iter().map(|&(_, p)| p);
    let mut going = next.next();
    let mut inherited = Vec::with_capacity(64);
    inherited.extend(block.filter(|e| {
        if going == Some(e.as_ptr()) {
            going = next.next();
            return false;
        }
        true
    }));
    let added = added_vars(activation, plan.as_ref(), vars.get("PATH"));
    ChildEnv { inherited, added }
}

fn plan_of<'a>(activation: &Activation<'a>) -> Option<Activate<'a>> {
    match activation {
        Activation::Env(env) => Some(Activate::of(env)),
        Activation::FallThrough { .. } => None,
    }
}

/// The child's environment block for `execve`. The entries it inherits
/// unchanged are our own environ strings, passed by pointer: copying a login
/// shell's thirty variables on every call would cost more than the
/// decision. Only what activation changes is new.
pub struct ChildEnv<'a> {
    inherited: Vec<environ::Entry<'a>>,
    /// `KEY=VALUE`, after the inherited ones.
    added: Vec<CBytes>,
}

impl ChildEnv<'_> {
    /// The entries, in order, without their NULs.
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> {
        let added = self.added.iter().map(CBytes::bytes);
        self.inherited.iter().map(|e| e.bytes()).chain(added)
    }

    /// The entries as owned pairs, for `std::process::Command`.
    pub fn pairs(&self) -> Vec<(OsString, OsString)> {
        self.entries()
            .filter_map(environ::split_entry)
            .map(|(k, v)| (OsStr::from_bytes(k).into(), OsStr::from_bytes(v).into()))
            .collect()
    }
}

/// [`child_env`] over any block, reading every name (entries parsed as
/// std's `vars_os` does: malformed ones are dropped).
pub fn child_env_from<'a>(
    block: impl Iterator<Item = environ::Entry<'a>>,
    activation: &Activation,
) -> ChildEnv<'a> {
    let plan = plan_of(activation);
    let mut inherited = Vec::with_capacity(64);
    let mut old_path = None;
    for entry in block {
        let Some(k) = entry.name() else {
            continue;
        };
        match k {
            k if k == DEPTH.as_bytes() || k == PASSED.as_bytes() => continue,
            b"PATH" if plan.is_some() => old_path = Some(entry.value(k)),
            name if plan.as_ref().is_some_and(|p| p.owns(name)) => continue,
            _ => inherited.push(entry),
        }
    }
    let added = added_vars(activation, plan.as_ref(), old_path);
    ChildEnv { inherited, added }
}

/// What the activation sets, after the inherited entries.
fn added_vars(
    activation: &Activation,
    plan: Option<&Activate>,
    old_path: Option<&OsStr>,
) -> Vec<CBytes> {
    match (activation, plan) {
        (_, Some(plan)) => vec![
            CBytes::join(&[plan.var.as_bytes(), b"=", plan.root.as_os_str().as_bytes()]),
            path_entry(plan.root, old_path),
        ],
        (Activation::FallThrough { chain }, None) => chain
            .iter()
            .map(|(k, v)| CBytes::join(&[k.as_bytes(), b"=", v.as_bytes()]))
            .collect(),
        (Activation::Env(_), None) => Vec::new(),
    }
}

/// `PATH=` [`activated_path`] as an envp entry, written in place into the
/// one buffer it ends in: `ROOT/bin` is not made a path of its own first.
fn path_entry(root: &Path, old: Option<&OsStr>) -> CBytes {
    let root = root.as_os_str().as_bytes();
    let old = old.map(OsStr::as_bytes);
    let tail = old.map_or(crate::platform::DEFAULT_PATH.len(), <[u8]>::len);
    let mut e = Vec::with_capacity(b"PATH=".len() + root.len() + b"/bin:".len() + tail + 1);
    e.extend_from_slice(b"PATH=");
    let bin = e.len();
    // `root.join("bin")`: a separator unless the root already ends in one.
    e.extend_from_slice(root);
    if !matches!(root.last(), None | Some(b'/')) {
        e.push(b'/');
    }
    e.extend_from_slice(b"bin");
    push_activated_path(&mut e, bin, old);
    CBytes::from_vec(e)
}

/// `ENV/bin` first on PATH, as `activate` does; not added twice when a
/// nested call is already inside it, so PATH does not grow per level.
pub fn activated_path(bin: &Path, old: Option<&OsStr>) -> OsString {
    let mut p = bin.as_os_str().as_bytes().to_vec();
    push_activated_path(&mut p, 0, old.map(OsStr::as_bytes));
    OsString::from_vec(p)
}

/// Finishes the activated PATH in `out`, whose bytes from `bin` on are
/// already `ENV/bin`.
fn push_activated_path(out: &mut Vec<u8>, bin: usize, old: Option<&[u8]>) {
    let Some(old) = old else {
        // activate would leave `ENV/bin:` with an empty (= cwd) tail; give
        // the child the search path it would have had without PATH.
        out.push(b':');
        out.extend_from_slice(crate::platform::DEFAULT_PATH.as_bytes());
        return;
    };
    let first = crate::platform::find_byte(old, b':').map_or(old, |colon| &old[..colon]);
    if first == &out[bin..] {
        out.truncate(bin);
        out.extend_from_slice(old);
        return;
    }
    if !old.is_empty() {
        out.push(b':');
        out.extend_from_slice(old);
    }
}

/// Replaces this process with `program`. `argv[0]` is the absolute `program`
/// path: CPython finds `pyvenv.cfg` from `argv[0]`, so a bare `python` there
/// would silently lose the venv. Returns only on failure.
pub fn exec<A: AsRef<OsStr>>(program: &Path, args: &[A], env: ChildEnv) -> io::Error {
    let argv = Argv::new(program.as_os_str(), args);
    let ChildEnv { inherited, added } = env;
    let envp = Envp::from_parts(inherited, &added);
    // Signal dispositions pass through untouched (no_main: std never
    // changed ours), exactly as if the caller had run `program` itself.
    crate::platform::exec::execve(&argv, &envp)
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
    use crate::venv;
    use std::fs;

    /// A fake environment block: the C strings, and the NULL-terminated
    /// pointer array into them.
    pub(super) struct Block(Vec<std::ffi::CString>, Vec<*const std::ffi::c_char>);

    pub(super) fn block(entries: &[&str]) -> Block {
        let strings: Vec<std::ffi::CString> = entries
            .iter()
            .map(|e| std::ffi::CString::new(*e).unwrap())
            .collect();
        let mut pointers: Vec<*const std::ffi::c_char> =
            strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(std::ptr::null());
        Block(strings, pointers)
    }

    pub(super) fn entries(b: &Block) -> impl Iterator<Item = environ::Entry<'_>> {
        // SAFETY: NULL-terminated, and outlives the borrow.
        unsafe { environ::block(b.1.as_ptr()) }
    }

    fn strings(env: &ChildEnv) -> Vec<String> {
        env.entries()
            .map(|e| String::from_utf8(e.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn activation_replaces_only_what_activate_would() {
        let b = block(&[
            "HOME=/h",
            "PATH=/usr/bin",
            "VIRTUAL_ENV=/old",
            "PYTHONHOME=/ph",
            "VENVEXEC_DEPTH=1:2:3:4:0",
            "VENVEXEC_PASSED=1.2",
            "malformed",
            "LANG=C",
        ]);
        let env = Env {
            root: "/p/.venv".into(),
            kind: venv::EnvKind::Venv,
        };
        let child = child_env_from(entries(&b), &Activation::Env(&env));
        assert_eq!(
            strings(&child),
            [
                "HOME=/h",
                "LANG=C",
                "VIRTUAL_ENV=/p/.venv",
                "PATH=/p/.venv/bin:/usr/bin"
            ]
        );
        assert_eq!(child.pairs()[3].1, OsString::from("/p/.venv/bin:/usr/bin"));
        // What the child inherits unchanged is our own strings, not copies.
        let ChildEnv { inherited, added } = child;
        let envp = Envp::from_parts(inherited, &added);
        let p = envp.pointers();
        assert_eq!(p[0], b.0[0].as_ptr());
        assert_eq!(p[1], b.0[7].as_ptr());
        assert_eq!(p[2], added[0].as_ptr());
        assert_eq!(p.len(), 5);
        assert!(p[4].is_null());
    }

    #[test]
    fn a_conda_env_is_activated_the_conda_way() {
        let b = block(&["CONDA_PREFIX=/old", "VIRTUAL_ENV=/v"]);
        let env = Env {
            root: "/c/envs/x".into(),
            kind: venv::EnvKind::Conda,
        };
        let child = child_env_from(entries(&b), &Activation::Env(&env));
        assert_eq!(
            strings(&child),
            ["CONDA_PREFIX=/c/envs/x", "PATH=/c/envs/x/bin:/bin:/usr/bin"]
        );
    }

    #[test]
    fn a_fall_through_passes_everything_but_the_chain_on() {
        let b = block(&["VENVEXEC_DEPTH=old", "PATH=/a", "VIRTUAL_ENV=/v"]);
        let chain = [
            ("VENVEXEC_DEPTH", "1:2:3:4:0".into()),
            ("VENVEXEC_PASSED", "5.6".into()),
        ];
        let child = child_env_from(entries(&b), &Activation::FallThrough { chain });
        assert_eq!(
            strings(&child),
            [
                "PATH=/a",
                "VIRTUAL_ENV=/v",
                "VENVEXEC_DEPTH=1:2:3:4:0",
                "VENVEXEC_PASSED=5.6"
            ]
        );
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
    use crate::venv;
    use proptest::prelude::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    fn os(b: &[u8]) -> &OsStr {
        OsStr::from_bytes(b)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The child's `PATH=` entry is `venvexec env`'s PATH for the
        /// same root, whatever the root's spelling (a trailing `/`, none
        /// at all, `/` itself).
        #[test]
        fn path_entry_is_the_activated_path(
            root in proptest::collection::vec(proptest::sample::select(b"/.ab:".to_vec()), 0..12),
            old in proptest::option::of(proptest::collection::vec(proptest::sample::select(b"/.abin:".to_vec()), 0..24)),
        ) {
            let root = Path::new(os(&root));
            let want = activated_path(&root.join("bin"), old.as_deref().map(os));
            let got = path_entry(root, old.as_deref().map(os));
            prop_assert_eq!(got.bytes(), [&b"PATH="[..], want.as_bytes()].concat());
        }

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

        /// Knowing the entries by address from one pass gives the very
        /// block that reading every name again gives, whatever the block.
        #[test]
        fn child_env_shortcut_is_the_long_way(
            picks in proptest::collection::vec((0usize..9, 0u8..3), 0..12),
            which in 0usize..3,
        ) {
            const NAMES: [&str; 9] = ["PATH", "VIRTUAL_ENV", "PYTHONHOME", "CONDA_PREFIX",
                "VENVEXEC_DEPTH", "VENVEXEC_PASSED", "HOME", "X", "junk"];
            let lines: Vec<String> = picks.iter().map(|(n, v)| match NAMES[*n] {
                "junk" => "junk".to_string(),
                name => format!("{name}=/v{v}"),
            }).collect();
            let b = tests::block(&lines.iter().map(String::as_str).collect::<Vec<_>>());
            let venv = Env { root: "/p/.venv".into(), kind: venv::EnvKind::Venv };
            let conda = Env { root: "/c".into(), kind: venv::EnvKind::Conda };
            let fall = Activation::FallThrough {
                chain: [("VENVEXEC_DEPTH", "1".into()), ("VENVEXEC_PASSED", "2".into())],
            };
            let activation = match which {
                0 => Activation::Env(&venv),
                1 => Activation::Env(&conda),
                _ => fall,
            };
            let vars = environ::Vars::from_block(tests::entries(&b));
            let short = child_env_with(&vars, tests::entries(&b), &activation);
            let long = child_env_from(tests::entries(&b), &activation);
            prop_assert_eq!(short.entries().collect::<Vec<_>>(), long.entries().collect::<Vec<_>>());
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
