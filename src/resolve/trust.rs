//! Who may plant an environment that venvexec runs on its own initiative.
//!
//! Like git after CVE-2022-24765 (`safe.directory`) and OpenSSH's
//! `StrictModes`: an environment that was *discovered* (not named or
//! activated by the user) is used only when everything that decides which
//! code runs belongs to the user or to root and is writable by no one else:
//!
//! - every directory from `/` down to the directory the environment was
//!   found in, and from there to the interpreter, links followed one by
//!   one (whoever can write a directory can swap what is below it; a
//!   sticky directory such as `/tmp` protects only the entries the attacker
//!   does not own, and every entry passed must be the user's or root's);
//! - every link on the way (a symlinked `.venv`, `bin/python3 ->
//!   /usr/bin/python3.11`) and what it points at;
//! - every pointer file read on the way (`.pdm-python`, pipenv's `.venv`,
//!   `.python-version`, `pyproject.toml`, poetry's `envs.toml`), checked on
//!   the descriptor that is then read;
//! - the program that will be exec'd and, for a script, the interpreter its
//!   `#!` line names;
//! - `pyvenv.cfg`, the `home` it names (CPython takes its standard library
//!   from there) and the environment's `site-packages` (a `.pth` file there
//!   runs code at every start).
//!
//! A path that does not exist is safe only when nobody else could create
//! it: its deepest existing directory must be writable by no one else.
//!
//! Why checking paths, then exec'ing by path, leaves nothing to swap: the
//! checks go from `/` downwards, and each directory passed is one that
//! only the user or root can change (or a sticky one whose entry is theirs,
//! which nobody else may rename or remove). So once a directory is
//! checked, every later lookup through it, by the kernel at `execve` or by
//! CPython following `argv[0]` to `pyvenv.cfg`, `home` and `site-packages`,
//! finds the entries that were checked. The only people who can change
//! the answer afterwards are the user and root, whom the rule trusts
//! anyway. Files that are *read* (pointers, `pyvenv.cfg`, a script's first
//! line) are opened once, without following a link and without blocking,
//! and checked with `fstat` on that descriptor.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::Inputs;
use crate::platform::fd::{self, Stat};
use crate::platform::{self, MARKER_LIMIT, find_byte, is_missing, split_list};
use crate::venv::{self, Env, EnvKind, NotEnv, Require};

/// Why an environment venvexec found on its own is not used.
pub enum Refusal {
    /// Not a marked environment (`pyvenv.cfg` or `conda-meta/`).
    NotEnv(NotEnv),
    /// An environment, but the checks refused it; the reason.
    Untrusted(String),
    /// Reached from the working directory, but not by its absolute path (a
    /// directory above it cannot be searched): neither the exec nor
    /// CPython's own lookups from `argv[0]` could reach it.
    Unreachable(String),
}

/// The directory that led to a discovered environment.
#[derive(Debug, Clone, Copy)]
pub struct FoundIn<'a> {
    pub abs: &'a Path,
    /// Device and inode as the walk saw it: the checked path must name
    /// that very directory.
    pub id: Option<(u64, u64)>,
}

/// The one policy for every environment venvexec finds on its own (the
/// project walk, the tool conventions, an ancestor process): it must carry
/// a marker, and pass the checks. `probe_at` is where the caller can reach
/// it (relative to the working directory, or absolute); `root` is its
/// absolute path, which the checks, the exec and CPython all use.
pub fn discovered(
    probe_at: &Path,
    root: &Path,
    found_in: FoundIn,
    inp: &Inputs,
) -> Result<Env, Refusal> {
    if is_listed_safe(root, found_in.abs, inp.safe_dirs.as_deref()) {
        let mut env = venv::probe(probe_at, Require::Marker).map_err(Refusal::NotEnv)?;
        env.root = root.to_path_buf();
        return Ok(env);
    }
    let mut v = Verifier::new(inp);
    let checked = v
        .found_in(found_in)
        .and_then(|()| v.env(root, inp.program.as_deref()));
    let why = match checked {
        Ok(env) => return Ok(env),
        Err(why) => why,
    };
    // Only an environment can be refused: what is not one is said as such,
    // whoever owns it, and the walk goes on. (Asked only now, so the
    // common case looks at each path once.)
    venv::probe(probe_at, Require::Marker).map_err(Refusal::NotEnv)?;
    if v.unreachable {
        Err(Refusal::Unreachable(why))
    } else {
        Err(Refusal::Untrusted(why))
    }
}

/// A pointer file read during the walk.
pub enum Pointer {
    Absent,
    /// There, but not something to read (a FIFO, a directory, a link that
    /// cannot be checked): the reason.
    Unusable(String),
    Untrusted(String),
    Bytes(Vec<u8>),
}

/// Reads the pointer file `at` (how the walk reaches it) that a
/// convention of a project directory follows. `abs` gives its absolute
/// path and `found_in` the project directory's, asked only when the file
/// is there. It must be a regular file of the user's or root's that nobody
/// else can write, checked on the descriptor that is read. A symlink is
/// followed only when the link and every directory to its target pass.
pub fn read_pointer(
    at: &Path,
    abs: impl Fn() -> Option<PathBuf>,
    found_in: impl Fn() -> Option<PathBuf>,
    inp: &Inputs,
) -> Pointer {
    // The common case, no such file, costs one lstat: a failed open costs
    // the kernel more (it sets up a file before the lookup). What is there
    // is then opened without following a link or blocking, and checked on
    // that descriptor, so the look at the name decides nothing.
    match fd::lstat(at) {
        Err(e) if is_missing(&e) => Pointer::Absent,
        _ => read_pointer_there(at, abs, found_in, inp),
    }
}

/// As [`read_pointer`], once a look at `at` found something there.
pub fn read_pointer_there(
    at: &Path,
    abs: impl Fn() -> Option<PathBuf>,
    found_in: impl Fn() -> Option<PathBuf>,
    inp: &Inputs,
) -> Pointer {
    let marker = match fd::read_marker(at, MARKER_LIMIT, false) {
        Ok(m) => m,
        Err(e) if is_missing(&e) => return Pointer::Absent,
        Err(e) if platform::is_link_loop(&e) => {
            let Some(abs) = abs() else {
                return Pointer::Unusable("is a symlink, and its absolute path is unknown".into());
            };
            let mut v = Verifier::new(inp);
            let real = match v.resolve(&abs) {
                Ok(Some((real, _))) => real,
                Ok(None) => return Pointer::Absent,
                Err(why) if !listed(&found_in, inp) => return Pointer::Untrusted(why),
                Err(why) => return Pointer::Unusable(why),
            };
            match fd::read_marker(&real, MARKER_LIMIT, false) {
                Ok(m) => m,
                Err(e) => return Pointer::Unusable(format!("cannot be read: {e}")),
            }
        }
        Err(e) => return Pointer::Unusable(format!("cannot be read: {e}")),
    };
    let Some(bytes) = marker.bytes else {
        return Pointer::Unusable("is not a regular file".into());
    };
    let v = Verifier::new(inp);
    let shown = abs().unwrap_or_else(|| at.to_path_buf());
    let checked = v
        .owned(&shown, &marker.stat)
        .and_then(|()| v.private(&shown, &marker.stat));
    match checked {
        Err(why) if !listed(&found_in, inp) => Pointer::Untrusted(why),
        _ => Pointer::Bytes(bytes),
    }
}

fn listed(found_in: &impl Fn() -> Option<PathBuf>, inp: &Inputs) -> bool {
    found_in().is_some_and(|d| is_listed_safe(&d, &d, inp.safe_dirs.as_deref()))
}

/// The hint printed with every refusal.
pub fn hint(env_root: &Path) -> String {
    format!(
        "if you trust it, add it to VENVEXEC_SAFE_DIRS (export VENVEXEC_SAFE_DIRS={}), or use `*` to trust every directory",
        env_root.display()
    )
}

/// How deep `#!` lines may nest: the kernel's own limit
/// (BINPRM_MAX_RECURSION) is 4.
const MAX_SCRIPTS: usize = 4;
/// Links followed in one path before giving up, as the kernel's ELOOP.
const MAX_LINKS: usize = 40;
/// A `#!` line longer than this is cut by the kernel anyway (256 since
/// Linux 5.1).
const SHEBANG_LIMIT: usize = 256;
/// CPython stops reading `pyvenv.cfg` at 32 KiB.
const CONFIG_LIMIT: u64 = 32 * 1024 + 1;

/// Checks paths for one resolution, remembering the directories already
/// passed so that chains sharing a prefix (`/usr/bin`, the environment)
/// cost one `lstat` per directory in all.
pub struct Verifier {
    uid: u32,
    gid: u32,
    /// The physical paths of `seen`, end to end: one buffer for all.
    names: Vec<u8>,
    /// Directories already gone through, owner checked, oldest first.
    /// Every directory above one of them is one of them too (each was
    /// reached from `/` one name at a time), which lets a resolution stop
    /// asking once a name is new.
    seen: Vec<Seen>,
    /// Programs (physical paths) already checked, with their `#!` line.
    programs: Vec<PathBuf>,
    /// The last refusal was a directory the user cannot search.
    unreachable: bool,
}

/// A directory already gone through: `names[start..end]`, its inode,
/// whether what is below it was checked ([`Verifier::pass`]), and whether
/// a directory right below it is in `seen` too.
#[derive(Clone, Copy)]
struct Seen {
    start: usize,
    end: usize,
    st: Stat,
    passed: bool,
    /// `false`: no name below this one is in `seen`, so a walk going
    /// below it has nothing to look up there (most never do: a walk
    /// resumes at the deepest directory already reached).
    below: bool,
}

impl Verifier {
    pub fn new(inp: &Inputs) -> Verifier {
        Verifier {
            uid: inp.uid,
            gid: inp.gid,
            // A discovered environment passes about a dozen directories.
            names: Vec::with_capacity(512),
            seen: Vec::with_capacity(16),
            // The program and python, a script or two each: room up front
            // costs less than the first push growing it.
            programs: Vec::with_capacity(4),
            unreachable: false,
        }
    }

    /// The directory the environment was found in, and every directory
    /// above it: whoever can write one of them can swap what the walk
    /// found for something else before it is run.
    fn found_in(&mut self, found_in: FoundIn) -> Result<(), String> {
        let (real, st) = self
            .resolve(found_in.abs)?
            .ok_or_else(|| format!("{} no longer exists", found_in.abs.display()))?;
        if let Some(id) = found_in.id
            && id != st.id()
        {
            return Err(format!(
                "{} is not the directory the walk looked in (it was moved meanwhile)",
                found_in.abs.display()
            ));
        }
        self.ancestor(&real, &st)
    }

    /// The environment at `root` and everything under it that decides
    /// what runs; its kind, from its marker.
    fn env(&mut self, root: &Path, program: Option<&OsStr>) -> Result<Env, String> {
        let (real, _) = self
            .private_dir(root)?
            .ok_or_else(|| format!("{} does not exist", root.display()))?;
        let kind = if self.config(&real)? {
            EnvKind::Venv
        } else if self.private_dir(&fd::join(&real, "conda-meta"))?.is_some() {
            EnvKind::Conda
        } else {
            return Err(format!("{} has no pyvenv.cfg", root.display()));
        };
        let env = Env {
            root: root.to_path_buf(),
            kind,
        };
        let (bin, _) = self
            .private_dir(&fd::join(&real, "bin"))?
            .ok_or_else(|| format!("{} does not exist", env.bin().display()))?;
        // The program asked for, and the environment's python, which a
        // script's `#!` line (or pip's `/bin/sh` trampoline for long paths)
        // runs, and which any `python` started from here will run.
        let program = program.filter(|p| is_plain_name(p));
        let mut python_found = false;
        if let Some(p) = program {
            let there = self.program(&fd::join(&bin, p))?;
            python_found = there && p == "python";
        }
        if program != Some(OsStr::new("python")) {
            let python = env.python();
            if fd::lstat(&python).is_err() {
                return Err(format!(
                    "{} has no bin/python or bin/python3",
                    root.display()
                ));
            }
            if let Some(name) = python.file_name()
                && program != Some(name)
            {
                self.program(&fd::join(&bin, name))?;
            }
        } else if !python_found
            && fd::lstat_in(&bin, OsStr::new("python")).is_err()
            && fd::lstat_in(&bin, OsStr::new("python3")).is_err()
        {
            return Err(format!(
                "{} has no bin/python or bin/python3",
                root.display()
            ));
        }
        self.site_packages(&real)?;
        Ok(env)
    }

    /// `pyvenv.cfg`, read once from the descriptor it was checked on, and
    /// the `home` it names: CPython looks for its standard library from
    /// there, so a `home` someone else can write runs their code. (CPython
    /// first looks for `bin/pyvenv.cfg`; `bin/` is checked, so only the
    /// user or root could have put one there.)
    /// `Ok(false)`: there is none.
    fn config(&mut self, root: &Path) -> Result<bool, String> {
        let path = fd::join(root, "pyvenv.cfg");
        let m = match fd::read_marker(&path, CONFIG_LIMIT, false) {
            Ok(m) => m,
            Err(e) if is_missing(&e) => return Ok(false),
            Err(e) => return Err(format!("cannot check {}: {e}", path.display())),
        };
        let Some(bytes) = m.bytes else {
            return Err(format!("{} is not a regular file", path.display()));
        };
        self.owned(&path, &m.stat)?;
        self.private(&path, &m.stat)?;
        let Some(home) = venv::config_home(&bytes).filter(|h| !h.is_empty()) else {
            return Ok(true);
        };
        let home = Path::new(&*home);
        if !home.is_absolute() {
            return Err(format!(
                "{} names a relative home ({}), which Python would look up from the working directory",
                path.display(),
                home.display()
            ));
        }
        self.private_dir(home).map(|_| true)
    }

    /// The program at `path`, each link of its chain, and for a script
    /// the interpreter of its `#!` line, and so on as the kernel nests them.
    /// A missing or dangling one, or a loop of links, runs nothing (the
    /// shim says so).
    /// `Ok(false)`: `path` leads to nothing.
    fn program(&mut self, path: &Path) -> Result<bool, String> {
        let mut current = path.to_path_buf();
        for depth in 0..MAX_SCRIPTS {
            let Some((real, st)) = self.resolve(&current)? else {
                return Ok(depth > 0);
            };
            if self.programs.iter().any(|p| same(p, &real)) {
                return Ok(true);
            }
            self.private(&real, &st)?;
            let next = shebang(&real)?;
            self.programs.push(real);
            let Some(next) = next else {
                return Ok(true);
            };
            current = next;
        }
        Ok(true)
    }

    /// `lib/pythonX.Y/site-packages` (and `lib64`'s, when it is not the
    /// usual link to `lib`): a `.pth` file or `sitecustomize` there runs
    /// at every start of the interpreter.
    fn site_packages(&mut self, root: &Path) -> Result<(), String> {
        for lib in ["lib", "lib64"] {
            // Missing is fine: the root is checked, nobody else can add it.
            let Ok(st) = fd::lstat_in(root, OsStr::new(lib)) else {
                continue;
            };
            let path = fd::join(root, lib);
            if st.is_symlink() && std::fs::read_link(&path).is_ok_and(|t| t == Path::new("lib")) {
                continue;
            }
            let Some((real, _)) = self.private_dir(&path)? else {
                continue;
            };
            let names =
                fd::list_dir(&real).map_err(|e| format!("cannot check {}: {e}", path.display()))?;
            for name in names.iter().filter(|n| n.as_bytes().starts_with(b"python")) {
                let version = fd::join(&real, name);
                if self.private_dir(&version)?.is_some() {
                    self.private_dir(&fd::join(&version, "site-packages"))?;
                }
            }
        }
        Ok(())
    }

    /// A directory of the environment's own (or `home`): it must pass, be
    /// a directory, and be writable by no one else, sticky or not.
    fn private_dir(&mut self, path: &Path) -> Result<Option<(PathBuf, Stat)>, String> {
        let Some((real, st)) = self.resolve(path)? else {
            return Ok(None);
        };
        if !st.is_dir() {
            return Err(format!("{} is not a directory", path.display()));
        }
        self.private(path, &st)?;
        Ok(Some((real, st)))
    }

    /// Follows `path` from `/`, one component at a time, checking each
    /// directory passed and each link followed. Returns the physical path
    /// and inode of what it names, owned by the user or root; `None` when it
    /// does not exist and nobody else could create it.
    ///
    /// One resolution checks several paths that share most of their
    /// directories (the project, the environment, its `bin`, `home`): each
    /// starts from the longest directory an earlier one already reached, and
    /// works on one byte buffer, so a directory is looked at once in all.
    pub fn resolve(&mut self, path: &Path) -> Result<Option<(PathBuf, Stat)>, String> {
        if !path.is_absolute() {
            return Err(format!("{} is not an absolute path", path.display()));
        }
        let bytes = path.as_os_str().as_bytes();
        let i = self.resume(bytes)?;
        // Room for the whole path and a link or two: no regrowth on the way.
        let mut real = Vec::with_capacity(bytes.len() + 128);
        let (mut st, start) = self.start_at(i, &mut real);
        let mut cur = Some(i);
        // What is left to go through; a link's target is put in front of it.
        let mut rest: Cow<[u8]> = Cow::Borrowed(&bytes[start..]);
        let mut at = 0;
        let mut links = 0;
        // `cur`: where `real` is in `seen`, if it is there.
        while let Some((name, next_at)) = next_component(&rest, at) {
            at = next_at;
            if name == b"." {
                continue;
            }
            if name == b".." {
                pop_name(&mut real);
                st = fd::lstat_vec(&mut real).map_err(|e| cannot_check(as_path(&real), &e))?;
                cur = self.find(&real);
                continue;
            }
            // Going below `real`: it must be a directory that only the
            // user or root can change (or a sticky one, whose entries the
            // next step checks).
            self.pass(cur, &real, &st)?;
            let parent = cur;
            let parent_len = real.len();
            push_name(&mut real, name);
            if parent.is_some_and(|i| self.seen[i].below) {
                cur = self.find(&real);
                if let Some(i) = cur {
                    st = self.seen[i].st;
                    continue;
                }
            }
            let next_st = match fd::lstat_vec(&mut real) {
                Ok(s) => s,
                Err(e) if platform::is_missing(&e) => {
                    // Nothing there: only the owner of the parent may create it.
                    real.truncate(parent_len);
                    self.private(as_path(&real), &st)?;
                    return Ok(None);
                }
                Err(e) if platform::is_denied(&e) => {
                    real.truncate(parent_len);
                    self.unreachable = true;
                    return Err(unsearchable(as_path(&real), self.uid, path));
                }
                Err(e) => return Err(cannot_check(as_path(&real), &e)),
            };
            if !st.is_dir() {
                // `real` was no directory when `pass` looked, yet a name
                // below it was found: it became one in between, unchecked.
                real.truncate(parent_len);
                return Err(changed(as_path(&real)));
            }
            self.owned(as_path(&real), &next_st)?;
            if next_st.is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    // A loop: the kernel would stop with ELOOP too, so
                    // nothing runs through it (every link was checked).
                    return Ok(None);
                }
                let target = std::fs::read_link(as_path(&real))
                    .map_err(|e| cannot_check(as_path(&real), &e))?;
                let target = target.as_os_str().as_bytes();
                let mut spliced = Vec::with_capacity(target.len() + 1 + rest.len() - at);
                spliced.extend_from_slice(target);
                spliced.push(b'/');
                spliced.extend_from_slice(&rest[at..]);
                real.truncate(parent_len);
                cur = parent;
                at = 0;
                if target.first() == Some(&b'/') {
                    // From `/` again, or from a directory already reached.
                    let i = self.resume(&spliced)?;
                    (st, at) = self.start_at(i, &mut real);
                    cur = Some(i);
                }
                rest = Cow::Owned(spliced);
                continue;
            }
            cur = if next_st.is_dir() {
                Some(self.remember(&real, next_st, parent))
            } else {
                None
            };
            st = next_st;
        }
        Ok(Some((PathBuf::from(OsString::from_vec(real)), st)))
    }

    /// Where a resolution of the absolute `path` may start: the place in
    /// `seen` of the longest directory already reached that is a leading
    /// part of it (else `/`). Every directory above that one was checked on
    /// the way to it.
    fn resume(&mut self, path: &[u8]) -> Result<usize, String> {
        // Any directory in `seen` that leads is a sound start (everything
        // above it was checked); the deepest saves the most lookups, and it
        // is the first that leads, newest first: every directory above one
        // in `seen` was put there before it (the walks go down one name at
        // a time). `/` itself is `root_dir`'s.
        let best = self.seen.iter().rposition(|d| {
            let len = d.end - d.start;
            len > 1
                && matches!(path.get(len), None | Some(b'/'))
                && path.starts_with(&self.names[d.start..d.end])
        });
        match best {
            Some(i) => Ok(i),
            None => self.root_dir(),
        }
    }

    /// `real` becomes the path of `seen[i]`; its inode, and where the rest
    /// of a path it leads begins (the `/` after it, or the end).
    fn start_at(&self, i: usize, real: &mut Vec<u8>) -> (Stat, usize) {
        let d = self.seen[i];
        real.clear();
        real.extend_from_slice(&self.names[d.start..d.end]);
        (d.st, d.end - d.start)
    }

    /// Where the directory `dir` is in `seen`.
    fn find(&self, dir: &[u8]) -> Option<usize> {
        self.seen
            .iter()
            .rposition(|d| d.end - d.start == dir.len() && &self.names[d.start..d.end] == dir)
    }

    /// Puts `dir`, found right below `parent` in `seen`, in `seen`.
    fn remember(&mut self, dir: &[u8], st: Stat, parent: Option<usize>) -> usize {
        if let Some(p) = parent {
            self.seen[p].below = true;
        }
        let start = self.names.len();
        self.names.extend_from_slice(dir);
        self.seen.push(Seen {
            start,
            end: self.names.len(),
            st,
            passed: false,
            below: false,
        });
        self.seen.len() - 1
    }

    /// Where `/` is in `seen`, put there by the first walk.
    fn root_dir(&mut self) -> Result<usize, String> {
        // Every walk starts at `/` or at a directory reached from it, so
        // `/` is the first directory put in `seen`.
        if !self.seen.is_empty() {
            return Ok(0);
        }
        let root = Path::new("/");
        let st = fd::lstat(root).map_err(|e| cannot_check(root, &e))?;
        self.owned(root, &st)?;
        Ok(self.remember(b"/", st, None))
    }

    /// `dir` is passed through on the way down: owned by the user or root,
    /// and writable by no one else unless sticky. Remembered once checked,
    /// on its entry in `seen` (`at`; every directory passed has one).
    fn pass(&mut self, at: Option<usize>, dir: &[u8], st: &Stat) -> Result<(), String> {
        if at.is_some_and(|i| self.seen[i].passed) {
            return Ok(());
        }
        let dir_path = as_path(dir);
        if !st.is_dir() {
            // The kernel would say ENOTDIR; so does the caller's lstat, or
            // the caller refuses: the entry changed since `st`.
            return Ok(());
        }
        self.owned(dir_path, st)?;
        self.ancestor(dir_path, st)?;
        if let Some(i) = at {
            self.seen[i].passed = true;
        }
        Ok(())
    }
    fn ancestor(&self, dir: &Path, st: &Stat) -> Result<(), String> {
        self.owned(dir, st)?;
        if st.is_sticky() {
            return Ok(());
        }
        self.private(dir, st)
    }

    #[inline]
    fn owned(&self, path: &Path, st: &Stat) -> Result<(), String> {
        if st.uid != self.uid && st.uid != 0 {
            return Err(not_owned(path, st, self.uid));
        }
        Ok(())
    }

    /// Writable by others is always refused. Writable by the group is
    /// refused unless the group is the user's own primary group: with user
    /// private groups (Debian/Ubuntu `USERGROUPS_ENAB`, umask 002) every
    /// venv a user makes is group-writable by a group that holds only them,
    /// and refusing those would refuse every environment on such a machine.
    #[inline]
    fn private(&self, path: &Path, st: &Stat) -> Result<(), String> {
        if st.is_symlink() {
            // A link's own mode means nothing; its target is checked.
            return Ok(());
        }
        let by_others = st.mode & 0o002 != 0;
        let by_a_foreign_group = st.mode & 0o020 != 0 && st.gid != self.gid;
        if by_others || by_a_foreign_group {
            return Err(writable(path, st, by_others));
        }
        Ok(())
    }
}

/// Why a resolution stops at `path`, swapped while it was being checked.
#[cold]
fn changed(path: &Path) -> String {
    format!(
        "{} changed while it was checked (it was not a directory, then it was)",
        path.display()
    )
}

/// Why a resolution of `path` stops at `dir`; out of the walk's line.
#[cold]
fn unsearchable(dir: &Path, uid: u32, path: &Path) -> String {
    format!(
        "{} cannot be searched by you (uid {uid}), so {} cannot be reached by its path",
        dir.display(),
        path.display()
    )
}

/// Why [`Verifier::owned`] refuses `path`; out of its line, which every
/// name checked passes through.
#[cold]
fn not_owned(path: &Path, st: &Stat, uid: u32) -> String {
    format!(
        "{} is owned by uid {}, not by you (uid {uid})",
        path.display(),
        st.uid
    )
}

/// Why [`Verifier::private`] refuses `path`; out of its line, which the
/// checks pass through a dozen times a call.
#[cold]
fn writable(path: &Path, st: &Stat, by_others: bool) -> String {
    let group = if by_others {
        String::new()
    } else {
        format!(", and group {} is not your primary group", st.gid)
    };
    format!(
        "{} is writable by group or others (mode {:04o}{group})",
        path.display(),
        st.mode & 0o7777
    )
}

/// The interpreter a script names, when it is one.
fn shebang(real: &Path) -> Result<Option<PathBuf>, String> {
    let mut buf = [0; SHEBANG_LIMIT];
    let Ok(head) = fd::read_head(real, &mut buf) else {
        // Not readable to us: not to the kernel's `#!` reader either.
        return Ok(None);
    };
    let Some(line) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or(b"");
    let Some(interp) = line
        .split(|b| *b == b' ' || *b == b'\t')
        .find(|w| !w.is_empty())
    else {
        return Ok(None);
    };
    let interp = Path::new(OsStr::from_bytes(interp));
    if !interp.is_absolute() {
        return Err(format!(
            "{} names a relative interpreter ({}), which the kernel looks up from the working directory",
            real.display(),
            interp.display()
        ));
    }
    Ok(Some(interp.to_path_buf()))
}

/// The physical paths the checks build are spelled one way each: bytes
/// decide (`Path`'s `==` parses both into components, every time).
fn same(a: &Path, b: &Path) -> bool {
    a.as_os_str().as_bytes() == b.as_os_str().as_bytes()
}

fn cannot_check(path: &Path, e: &std::io::Error) -> String {
    format!("cannot check {}: {e}", path.display())
}

/// The next `/`-separated name of `path` from `at`, and where the one
/// after it starts; `None` when only slashes are left.
fn next_component(path: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let start = at + path.get(at..)?.iter().position(|&b| b != b'/')?;
    // Names are mostly longer than the few bytes `memchr` costs per call.
    let end = find_byte(&path[start..], b'/').map_or(path.len(), |n| start + n);
    Some((&path[start..end], end))
}

/// `real/name`, in place (`real` is physical: `/` or no trailing slash).
fn push_name(real: &mut Vec<u8>, name: &[u8]) {
    if real.len() > 1 {
        real.push(b'/');
    }
    real.extend_from_slice(name);
}

/// `real/..`, in place: its lexical parent, `/` staying `/`.
fn pop_name(real: &mut Vec<u8>) {
    let cut = real.iter().rposition(|&b| b == b'/').unwrap_or(0);
    real.truncate(cut.max(1));
}

fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// A program name as the shims use it: one path component.
fn is_plain_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b != b"." && b != b".." && !b.contains(&b'/')
}

/// `VENVEXEC_SAFE_DIRS` is colon-separated; an entry matches the
/// environment itself or the project directory it was found in, and `*`
/// matches everything (git's `safe.directory = *`).
fn is_listed_safe(root: &Path, found_in: &Path, safe_dirs: Option<&OsStr>) -> bool {
    let Some(list) = safe_dirs else {
        return false;
    };
    split_list(list).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let p = Path::new(entry).components().as_path();
        p == root || p == found_in
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_dirs_match_exact_entries_and_star() {
        let root = Path::new("/p/.venv");
        let found = Path::new("/p");
        assert!(!is_listed_safe(root, found, None));
        assert!(is_listed_safe(root, found, Some(OsStr::new("*"))));
        assert!(is_listed_safe(root, found, Some(OsStr::new("/x::/p/"))));
        assert!(is_listed_safe(root, found, Some(OsStr::new("/p/.venv"))));
        assert!(!is_listed_safe(root, found, Some(OsStr::new("/p/sub:/"))));
    }

    #[test]
    fn components_keep_dotdot_and_dot_and_skip_slashes() {
        let path = b"//a/./b/../c/";
        let mut at = 0;
        let mut names = Vec::new();
        while let Some((name, next)) = next_component(path, at) {
            names.push(name);
            at = next;
        }
        assert_eq!(names, [&b"a"[..], b".", b"b", b"..", b"c"]);
        assert_eq!(next_component(b"lib", 0), Some((&b"lib"[..], 3)));
        assert_eq!(next_component(b"///", 0), None);
    }

    /// An entry that is a file when it is looked at, and a directory by the
    /// time a name below it is: that directory was never checked, so
    /// nothing below it may be trusted. A second thread swaps the two as
    /// fast as it can; the directory is writable by anyone, so it is
    /// refused whenever it is the one looked at.
    #[test]
    fn an_entry_turned_into_a_directory_between_two_lookups_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let (dir, file, swap) = (base.join("dir"), base.join("file"), base.join("swap"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/python"), "").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(&swap, "").unwrap();
        let stop = AtomicBool::new(false);
        let target = swap.join("bin/python");
        let inp = Inputs::in_dir("/");
        let trusted = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    // swap: the file, then the directory, then the file.
                    let _ = std::fs::rename(&swap, &file);
                    let _ = std::fs::rename(&dir, &swap);
                    let _ = std::fs::rename(&swap, &dir);
                    let _ = std::fs::rename(&file, &swap);
                }
            });
            let trusted = (0..50_000)
                .filter(|_| matches!(Verifier::new(&inp).resolve(&target), Ok(Some(_))))
                .count();
            stop.store(true, Ordering::Relaxed);
            trusted
        });
        assert_eq!(trusted, 0, "resolved below a directory never checked");
    }

    /// A tree of directories, links (absolute, relative, with `..`, a
    /// loop) and a file, and paths into it that cross one another: the
    /// physical base, and the paths under it.
    fn crossing_paths(base: &Path) -> [&'static str; 14] {
        use std::os::unix::fs::symlink;
        for d in ["p/.venv/bin", "p/.venv/lib", "q/r/s", "t"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::fs::write(base.join("t/python3.12"), "").unwrap();
        symlink(base.join("t/python3.12"), base.join("p/.venv/bin/python")).unwrap();
        symlink("../../q/r", base.join("p/.venv/up")).unwrap();
        symlink("s/../..", base.join("q/r/back")).unwrap();
        symlink(base.join("p"), base.join("t/p-abs")).unwrap();
        symlink("loop", base.join("t/loop")).unwrap();
        [
            "p",
            "p/.venv",
            "p/.venv/bin",
            "p/.venv/bin/python",
            "p/.venv/up/s",
            "q/r/back/r/s",
            "t/p-abs/.venv/lib",
            "t/p-abs/.venv/up/back",
            "p/.venv/up/..",
            "q/r/s/../../r",
            "t/loop",
            "t/missing/x",
            "p/.venv/bin/python/x",
            "q",
        ]
    }

    /// One verifier for many paths (what a resolution does) answers each
    /// exactly as a fresh one would: what it remembers of the directories
    /// already passed, and where it resumes, never changes an answer.
    #[test]
    fn a_shared_verifier_answers_as_a_fresh_one() {
        let tmp = tempfile::tempdir().unwrap();
        // A physical base: the temp dir may itself be reached by a link.
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let paths = crossing_paths(&base);
        let inp = Inputs::in_dir("/");
        let mut shared = Verifier::new(&inp);
        // Each order once: forwards, backwards.
        for path in paths.iter().chain(paths.iter().rev()) {
            let path = base.join(path);
            let fresh = Verifier::new(&inp).resolve(&path);
            let got = shared.resolve(&path);
            let key = |r: &Result<Option<(PathBuf, Stat)>, String>| match r {
                Ok(Some((p, st))) => format!("{} {:?}", p.display(), st.id()),
                Ok(None) => "none".into(),
                Err(e) => format!("err {e}"),
            };
            assert_eq!(key(&got), key(&fresh), "{}", path.display());
        }
    }

    /// What `resolve` skips by trusting `seen`: a directory whose `below`
    /// is `false` has nothing right below it in `seen` (so a name there is
    /// not looked up), each directory is there once, and `/` is the
    /// first.
    #[test]
    fn seen_says_what_is_below_each_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let paths = crossing_paths(&base);
        let mut v = Verifier::new(&Inputs::in_dir("/"));
        for path in paths.iter().chain(paths.iter().rev()) {
            let _ = v.resolve(&base.join(path));
            let name = |d: &Seen| v.names[d.start..d.end].to_vec();
            for (i, d) in v.seen.iter().enumerate() {
                let below = v.seen.iter().any(|c| {
                    let mut parent = name(c);
                    pop_name(&mut parent);
                    c.end - c.start > 1 && parent == name(d)
                });
                assert_eq!(d.below, below, "{}", as_path(&name(d)).display());
                assert_eq!(v.find(&name(d)), Some(i), "once");
            }
            assert_eq!(name(&v.seen[0]), b"/", "/ first");
        }
    }

    #[test]
    fn push_and_pop_keep_the_root() {
        let mut real = b"/".to_vec();
        push_name(&mut real, b"a");
        push_name(&mut real, b"b");
        assert_eq!(real, b"/a/b");
        pop_name(&mut real);
        assert_eq!(real, b"/a");
        pop_name(&mut real);
        assert_eq!(real, b"/");
        pop_name(&mut real);
        assert_eq!(real, b"/");
    }

    #[test]
    fn plain_names() {
        assert!(is_plain_name(OsStr::new("pip3")));
        for bad in ["", ".", "..", "a/b", "/x"] {
            assert!(!is_plain_name(OsStr::new(bad)), "{bad}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any list: no panic; `*` or the environment itself anywhere in
        /// it trusts; no list trusts nothing.
        #[test]
        fn safe_dirs_any_bytes(list in proptest::collection::vec(any::<u8>(), 0..256)) {
            let root = Path::new("/p/.venv");
            let found = Path::new("/p");
            let _ = is_listed_safe(root, found, Some(OsStr::from_bytes(&list)));
            prop_assert!(!is_listed_safe(root, found, None));
            for extra in [&b":*"[..], b":/p/.venv/", b":/p"] {
                let mut l = list.clone();
                l.extend_from_slice(extra);
                prop_assert!(is_listed_safe(root, found, Some(OsStr::from_bytes(&l))));
            }
        }

        /// Entries that are neither `*` nor the two paths never match.
        #[test]
        fn safe_dirs_other_entries_do_not_trust(entries in proptest::collection::vec("/[a-o]{1,3}(/[a-o]{1,3}){0,2}/?", 0..8)) {
            let list = entries.join(":");
            prop_assert!(!is_listed_safe(
                Path::new("/p/.venv"),
                Path::new("/p"),
                Some(OsStr::new(&list))
            ));
        }
    }
}
