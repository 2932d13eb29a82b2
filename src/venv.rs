//! What a Python environment is on disk: a prefix with `bin/` and, for a
//! venv, a `pyvenv.cfg`; a conda env has `conda-meta/` instead.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::platform::fd;

/// An environment directory that looks usable (its interpreter entry exists,
/// though it may still dangle: that is reported when we try to run it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub root: PathBuf,
    pub kind: EnvKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// `pyvenv.cfg` at the root (venv, virtualenv >= 20, uv, poetry, pdm …).
    Venv,
    /// `conda-meta/` at the root.
    Conda,
    /// Neither marker, but a `bin/python`: accepted only when the user named
    /// the directory themselves (legacy virtualenv, a hand-made prefix).
    Prefix,
}

/// Why a directory is not a usable environment. Each variant is worded for
/// the user in `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotEnv {
    Missing,
    NotADirectory,
    Unreadable(String),
    NoConfig,
    /// `pyvenv.cfg` exists but is a directory, a FIFO, …: CPython would
    /// fail on it (or block reading it).
    ConfigNotAFile(&'static str),
    NoInterpreter,
}

impl fmt::Display for NotEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotEnv::Missing => f.write_str("directory does not exist"),
            NotEnv::NotADirectory => f.write_str("is not a directory"),
            NotEnv::Unreadable(e) => write!(f, "cannot be read: {e}"),
            NotEnv::NoConfig => f.write_str("has no pyvenv.cfg"),
            NotEnv::ConfigNotAFile(kind) => write!(f, "its pyvenv.cfg is {kind}, not a file"),
            NotEnv::NoInterpreter => f.write_str("has no bin/python or bin/python3"),
        }
    }
}

impl Env {
    pub fn bin(&self) -> PathBuf {
        fd::join(&self.root, "bin")
    }

    /// The interpreter entry used to call the environment "python": prefer
    /// `bin/python`, as activation would.
    pub fn python(&self) -> PathBuf {
        let bin = self.bin();
        let python = fd::join(&bin, "python");
        if fs::symlink_metadata(&python).is_ok() {
            return python;
        }
        fd::join(&bin, "python3")
    }

    pub fn config(&self) -> Option<PathBuf> {
        match self.kind {
            EnvKind::Venv => Some(fd::join(&self.root, "pyvenv.cfg")),
            _ => None,
        }
    }
}

/// How strict to be about what counts as an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require {
    /// Discovered environments must carry `pyvenv.cfg` (or be conda envs):
    /// a stray `venv/` folder of sources must never be taken for one.
    Marker,
    /// Named by the user: a prefix with an interpreter is enough.
    Interpreter,
}

/// Checks that `root` is an environment. Costs a few `stat`s; no reads.
pub fn probe(root: &Path, require: Require) -> Result<Env, NotEnv> {
    // One fstatat, not std's statx and its full `Metadata`: this runs on
    // every call that names an environment.
    let meta = match fd::stat(root) {
        Ok(m) => m,
        Err(e) if crate::platform::is_missing(&e) => return Err(NotEnv::Missing),
        Err(e) => return Err(NotEnv::Unreadable(e.to_string())),
    };
    if !meta.is_dir() {
        return Err(NotEnv::NotADirectory);
    }
    // ROOT/NAME as `root.join(NAME)` spells it, each in the same buffer,
    // stat'ed by fstatat: std's metadata and a PathBuf per name cost
    // several times as much, on every call that names an environment.
    let mut at = root.as_os_str().as_bytes().to_vec();
    if !matches!(at.last(), None | Some(b'/')) {
        at.push(b'/');
    }
    let base = at.len();
    let cfg = fd::stat(under(&mut at, base, "pyvenv.cfg"));
    let kind = match cfg {
        Ok(m) if m.is_file() => Some(EnvKind::Venv),
        // What it is, in words, from std's richer file type: rare.
        Ok(_) => match fs::metadata(under(&mut at, base, "pyvenv.cfg")) {
            Ok(m) if !m.is_file() => return Err(NotEnv::ConfigNotAFile(file_kind(&m.file_type()))),
            Ok(_) => Some(EnvKind::Venv),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let kind = if let Some(kind) = kind {
        kind
    } else if fd::stat(under(&mut at, base, "conda-meta")).is_ok_and(|m| m.is_dir()) {
        EnvKind::Conda
    } else if require == Require::Marker {
        return Err(NotEnv::NoConfig);
    } else {
        EnvKind::Prefix
    };
    let has_python = ["bin/python", "bin/python3"]
        .iter()
        .any(|n| fd::lstat(under(&mut at, base, n)).is_ok());
    if !has_python {
        return Err(NotEnv::NoInterpreter);
    }
    Ok(Env {
        root: root.to_path_buf(),
        kind,
    })
}

/// `buf` cut back to its first `base` bytes, then `name`: a path under
/// the directory those bytes spell.
fn under<'b>(buf: &'b mut Vec<u8>, base: usize, name: &str) -> &'b Path {
    buf.truncate(base);
    buf.extend_from_slice(name.as_bytes());
    Path::new(OsStr::from_bytes(buf))
}

/// "a directory", "a FIFO", …: what a path is, for a message.
pub fn file_kind(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a file"
    }
}

fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The environment an interpreter path runs in, decided as CPython's
/// getpath does: `pyvenv.cfg` one level above the executable's directory
/// (`ENV/bin/python`), then in that directory itself. The path is *not*
/// resolved through symlinks first: a venv's `bin/python` links to the
/// base interpreter, and resolving it would lose the venv.
pub fn root_of_interpreter(interpreter: &Path) -> Option<PathBuf> {
    let dir = interpreter.parent()?;
    [dir.parent(), Some(dir)]
        .into_iter()
        .flatten()
        .find(|d| is_file(&d.join("pyvenv.cfg")))
        .map(Path::to_path_buf)
}

/// The outcome of looking for a program inside an environment's `bin/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    Runnable(PathBuf),
    Missing(PathBuf),
    /// A symlink chain that ends nowhere: the base Python was removed or
    /// upgraded under the venv. `target` is the first path that is missing.
    Dangling {
        path: PathBuf,
        target: PathBuf,
    },
    NotRunnable {
        path: PathBuf,
        why: String,
    },
    /// The entry is this very binary: running it would only come back here.
    IsSelf(PathBuf),
}

/// Identity of a file: device and inode. Two paths with the same identity
/// are the same program, whatever the links in between.
pub type FileId = (u64, u64);

pub fn file_id(meta: &fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

pub fn find_tool(bin: &Path, name: &OsStr, me: Option<FileId>) -> Tool {
    let path = fd::join(bin, name);
    match fd::stat(&path) {
        Ok(meta) => classify(path, &meta, me),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match fd::lstat(&path) {
            Ok(_) => {
                let target = missing_link_target(&path);
                Tool::Dangling { path, target }
            }
            Err(_) => Tool::Missing(path),
        },
        Err(e) if crate::platform::is_not_dir(&e) => Tool::Missing(path),
        Err(e) => Tool::NotRunnable {
            path,
            why: crate::platform::io_phrase(&e),
        },
    }
}

fn classify(path: PathBuf, meta: &fd::Stat, me: Option<FileId>) -> Tool {
    if meta.is_dir() {
        return Tool::NotRunnable {
            path,
            why: "is a directory".into(),
        };
    }
    if meta.mode & 0o111 == 0 {
        return Tool::NotRunnable {
            path,
            why: "is not executable".into(),
        };
    }
    if me == Some(meta.id()) {
        return Tool::IsSelf(path);
    }
    Tool::Runnable(path)
}

/// Follows a dangling symlink chain to the first path that does not exist,
/// so the message names what was actually removed (`/usr/bin/python3.11`),
/// not the venv's own link.
pub fn missing_link_target(link: &Path) -> PathBuf {
    let mut current = link.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = fs::read_link(&current) else {
            return current;
        };
        let next = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(&target),
            _ => target,
        };
        if fs::symlink_metadata(&next).is_err() {
            return next;
        }
        current = next;
    }
    current
}

/// `pyvenv.cfg` keys we care about. Parsed like CPython's getpath does:
/// `key = value` lines, keys compared case-insensitively, anything else
/// ignored. Never fails: a file that is binary or malformed just yields
/// fewer keys.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Config {
    pub home: Option<String>,
    pub version: Option<String>,
    pub include_system_site_packages: Option<bool>,
    /// Why the interpreter will refuse this file, when it will: the shim
    /// still runs the environment (CPython then says so itself), but
    /// `doctor` names the file and the fix.
    pub problem: Option<String>,
}

/// CPython 3.11+ reads `pyvenv.cfg` during startup and gives up on a file
/// larger than this ("cannot read file larger than 32KB").
const CPYTHON_CONFIG_LIMIT: usize = 32 * 1024;

pub fn read_config(path: &Path) -> io::Result<Config> {
    let buf = crate::platform::read_marker(path)?;
    let mut cfg = parse_config(&buf);
    cfg.problem = config_problem(&buf);
    Ok(cfg)
}

/// What makes CPython fail on a `pyvenv.cfg` (the start of it, as read).
fn config_problem(bytes: &[u8]) -> Option<String> {
    if bytes.len() > CPYTHON_CONFIG_LIMIT {
        return Some("is larger than 32 KiB: Python 3.11 and later refuse to start with it".into());
    }
    if std::str::from_utf8(bytes).is_err() {
        return Some("is not UTF-8 text: Python's site module fails to read it".into());
    }
    None
}

pub fn parse_config(bytes: &[u8]) -> Config {
    // Off the hot path (the shim's trust checks read only `home`, with
    // [`config_home`]): plain `str` splitting and trimming.
    let mut cfg = Config::default();
    for line in bytes.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        match key.as_str() {
            "home" => cfg.home = Some(value),
            "version" | "version_info" => cfg.version = Some(value),
            "include-system-site-packages" => {
                cfg.include_system_site_packages = Some(value.eq_ignore_ascii_case("true"))
            }
            _ => {}
        }
    }
    cfg
}

/// `parse_config(bytes).home`, and nothing else: what the trust checks of
/// every discovered environment need, without building the other values
/// (or a lower-case copy of every key) on the way. The last `home` line
/// wins, as there. Borrowed from `bytes` unless it is not UTF-8.
pub fn config_home(bytes: &[u8]) -> Option<Cow<'_, str>> {
    let mut home = None;
    let mut rest = Some(bytes);
    let lines = std::iter::from_fn(|| {
        let text = rest?;
        let (line, after) = match crate::platform::find_byte(text, b'\n') {
            Some(n) => (&text[..n], text.get(n + 1..)),
            None => (text, None),
        };
        rest = after;
        Some(line)
    });
    for line in lines {
        // Most lines are turned away on their first letter: once leading
        // ASCII whitespace is passed, an ASCII letter other than `h` starts
        // a key that is not `home` (a non-ASCII byte may be whitespace to
        // `str::trim`, so it is looked at in full).
        let lead = line.iter().position(|&b| !is_ascii_space(b));
        if let Some(&c) = lead.and_then(|i| line.get(i))
            && c.is_ascii()
            && !c.eq_ignore_ascii_case(&b'h')
        {
            continue;
        }
        let Some(eq) = crate::platform::find_byte(line, b'=') else {
            continue;
        };
        if is_home_key(&line[..eq]) {
            home = Some(&line[eq + 1..]);
        }
    }
    // Only the winner's value is built. `=` is ASCII: it ends any broken
    // UTF-8 sequence before it, so the value decodes alone as it would
    // within its line; valid, it is trimmed as `str::trim` would (on ASCII,
    // as the byte trim would).
    let value = home?;
    Some(match std::str::from_utf8(value) {
        Ok(text) => Cow::Borrowed(text.trim()),
        Err(_) => Cow::Owned(String::from_utf8_lossy(value).trim().to_owned()),
    })
}

/// A `pyvenv.cfg` key (what is before a line's first `=`) is `home`, in
/// any case, once trimmed as `parse_config` trims it.
fn is_home_key(key: &[u8]) -> bool {
    if key.is_ascii() {
        trim_ascii_like_str(key).eq_ignore_ascii_case(b"home")
    } else {
        String::from_utf8_lossy(key)
            .trim()
            .eq_ignore_ascii_case("home")
    }
}

/// `str::trim` on ASCII: its whitespace includes the vertical tab, which
/// `u8::is_ascii_whitespace` does not.
fn trim_ascii_like_str(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&c| !is_ascii_space(c))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|&c| !is_ascii_space(c))
        .map_or(start, |i| i + 1);
    &b[start..end]
}

/// The ASCII characters `str::trim` takes for whitespace.
fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// How to rebuild a broken environment in place, keeping its path.
pub fn recreate_command(root: &Path) -> String {
    format!("python3 -m venv --clear {}", root.display())
}

/// Names that belong to the interpreter itself: when an environment was
/// chosen but lacks one of these, running the system's copy would silently
/// run the wrong packages, so it is an error instead of a fall-through.
/// Exactly `python`, `python3`, `python3.N`, `pip`, `pip3`, `pip3.N`: the
/// names a Python 3 environment answers for. `pipenv`, `pipx` or
/// `python3-config` are console scripts like any other, and `python2` is
/// no name of a Python 3 environment.
pub fn is_python_family(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    let Some(rest) = b.strip_prefix(b"python").or_else(|| b.strip_prefix(b"pip")) else {
        return false;
    };
    match rest {
        b"" | b"3" => true,
        _ => rest
            .strip_prefix(b"3.")
            .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit)),
    }
}

/// N of a name that asks for Python 3.N: `python3.N`. Not `pip3.N`: an
/// install meant for the project must never land in another Python.
pub fn requested_minor(name: &OsStr) -> Option<u32> {
    minor_digits(name.as_encoded_bytes().strip_prefix(b"python3.")?)
}

/// N of a version string `3.N[.P…]` (pyvenv.cfg's `version`).
pub fn minor_of(version: &str) -> Option<u32> {
    let rest = version.trim().strip_prefix("3.")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    minor_digits(&rest.as_bytes()[..end])
}

fn minor_digits(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 3 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(d).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn versioned_names_and_versions() {
        assert_eq!(requested_minor("python3.11".as_ref()), Some(11));
        for n in [
            "python3",
            "python",
            "python3.11-config",
            "pip3.9",
            "python3.13t",
        ] {
            assert_eq!(requested_minor(n.as_ref()), None, "{n}");
        }
        assert_eq!(minor_of("3.12.1"), Some(12));
        assert_eq!(minor_of("3.13.0rc1"), Some(13));
        assert_eq!(minor_of("3.8"), Some(8));
        assert_eq!(minor_of("2.7.18"), None);
    }

    #[test]
    fn config_keys_are_case_insensitive_and_trimmed() {
        let cfg =
            parse_config(b"home = /usr/bin\nInclude-System-Site-Packages = TRUE\nversion=3.12.1\n");
        assert_eq!(cfg.home.as_deref(), Some("/usr/bin"));
        assert_eq!(cfg.include_system_site_packages, Some(true));
        assert_eq!(cfg.version.as_deref(), Some("3.12.1"));
    }

    #[test]
    fn config_tolerates_garbage() {
        assert_eq!(
            parse_config(b"\xff\xfe\0= \n==\nnoequals"),
            Config::default()
        );
    }

    #[test]
    fn python_family_names() {
        for n in ["python", "python3", "python3.99", "pip", "pip3", "pip3.12"] {
            assert!(is_python_family(OsStr::new(n)), "{n}");
        }
        for n in [
            "pytest",
            "ipython",
            "black",
            "pipenv",
            "pipx",
            "pip-compile",
            "python-config",
            "python3-config",
            "python3.",
            "python.3",
            "python3.1.2",
            "python3t",
            "python3.13t",
            "python2",
            "python2.7",
            "pip3.12t",
            "pythonw",
            "python3.x",
        ] {
            assert!(!is_python_family(OsStr::new(n)), "{n}");
        }
    }

    #[test]
    fn probe_requires_marker_for_discovery() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/python"), "").unwrap();
        assert_eq!(probe(root, Require::Marker), Err(NotEnv::NoConfig));
        assert_eq!(
            probe(root, Require::Interpreter).unwrap().kind,
            EnvKind::Prefix
        );
        fs::write(root.join("pyvenv.cfg"), "home = /x\n").unwrap();
        assert_eq!(probe(root, Require::Marker).unwrap().kind, EnvKind::Venv);
        assert_eq!(
            probe(&root.join("nope"), Require::Marker),
            Err(NotEnv::Missing)
        );
        assert_eq!(
            probe(&root.join("pyvenv.cfg"), Require::Marker),
            Err(NotEnv::NotADirectory)
        );
        // The root spelled with a trailing `/` is the same environment.
        let slash = PathBuf::from(format!("{}/", root.display()));
        assert_eq!(probe(&slash, Require::Marker).unwrap().root, slash);
        // Only python3 there, as a link that dangles: still an entry.
        fs::remove_file(root.join("bin/python")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/python3", root.join("bin/python3")).unwrap();
        assert_eq!(probe(root, Require::Marker).unwrap().kind, EnvKind::Venv);
        fs::remove_file(root.join("bin/python3")).unwrap();
        assert_eq!(probe(root, Require::Marker), Err(NotEnv::NoInterpreter));
    }

    #[test]
    fn probe_names_what_a_pyvenv_cfg_that_is_no_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/python"), "").unwrap();
        fs::create_dir(root.join("pyvenv.cfg")).unwrap();
        assert_eq!(
            probe(root, Require::Marker),
            Err(NotEnv::ConfigNotAFile("a directory"))
        );
        fs::remove_dir(root.join("pyvenv.cfg")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(root.join("pyvenv.cfg")).unwrap();
        assert_eq!(
            probe(root, Require::Marker),
            Err(NotEnv::ConfigNotAFile("a socket"))
        );
        // No marker at all, but conda-meta/: a conda env.
        fs::remove_file(root.join("pyvenv.cfg")).unwrap();
        fs::create_dir(root.join("conda-meta")).unwrap();
        assert_eq!(probe(root, Require::Marker).unwrap().kind, EnvKind::Conda);
    }

    #[test]
    fn root_of_interpreter_looks_above_then_beside_without_resolving_links() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        fs::create_dir_all(env.join("bin")).unwrap();
        fs::write(env.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        // A venv's bin/python is a link out of it; the link's own location
        // is what counts.
        symlink("/usr/bin/python3", env.join("bin/python")).unwrap();
        assert_eq!(
            root_of_interpreter(&env.join("bin/python")),
            Some(env.clone())
        );
        assert_eq!(root_of_interpreter(&env.join("python")), Some(env.clone()));
        assert_eq!(root_of_interpreter(Path::new("/usr/bin/python3")), None);
        assert_eq!(root_of_interpreter(Path::new("/")), None);
    }

    #[test]
    fn dangling_chain_names_the_missing_end() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path();
        symlink("python3", bin.join("python")).unwrap();
        symlink(bin.join("gone/python3.11"), bin.join("python3")).unwrap();
        match find_tool(bin, OsStr::new("python"), None) {
            Tool::Dangling { target, .. } => assert_eq!(target, bin.join("gone/python3.11")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find_tool(bin, OsStr::new("pip"), None),
            Tool::Missing(_)
        ));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A few pieces of a `pyvenv.cfg` line that trimming and decoding
    /// tell apart: ASCII and Unicode whitespace (U+0085, U+00A0, U+3000),
    /// a broken sequence, a second `=`.
    fn piece_run() -> impl Strategy<Value = Vec<&'static [u8]>> {
        proptest::collection::vec(
            prop_oneof![
                Just(&b" "[..]),
                Just(&b"\t"[..]),
                Just(&b"\x0b"[..]),
                Just(&b"\r"[..]),
                Just("\u{85}".as_bytes()),
                Just("\u{a0}".as_bytes()),
                Just("\u{3000}".as_bytes()),
                Just(&b"\xc2"[..]),
                Just(&b"\xff"[..]),
                Just(&b"="[..]),
                Just(&b"/x"[..]),
            ],
            0..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: no panic; values are trimmed single lines.
        #[test]
        fn parse_config_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let cfg = parse_config(&bytes);
            for v in [&cfg.home, &cfg.version].into_iter().flatten() {
                prop_assert!(!v.contains('\n'));
                prop_assert_eq!(v.trim(), v.as_str());
            }
            prop_assert_eq!(cfg.problem, None, "parse_config leaves problems to read_config");
        }

        /// The trust checks' `home` is `parse_config`'s, for any bytes.
        #[test]
        fn config_home_is_parse_configs_home(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert_eq!(config_home(&bytes).map(Cow::into_owned), parse_config(&bytes).home);
        }

        /// And for lines drawn from what decides it: keys spelled in any
        /// case, ASCII and Unicode whitespace, broken UTF-8 on either side
        /// of the `=`, several `home` lines (the last wins).
        #[test]
        fn config_home_agrees_on_the_bytes_that_matter(lines in proptest::collection::vec(
            (piece_run(), prop_oneof![Just(&b"home"[..]), Just(&b"HoMe"[..]), Just(&b"hom"[..]), Just(&b"version"[..])], piece_run(), piece_run()),
            0..6,
        )) {
            let mut bytes = Vec::new();
            for (before, key, after, value) in &lines {
                bytes.extend(before.iter().copied().flatten());
                bytes.extend_from_slice(key);
                bytes.extend(after.iter().copied().flatten());
                bytes.push(b'=');
                bytes.extend(value.iter().copied().flatten());
                bytes.push(b'\n');
            }
            prop_assert_eq!(config_home(&bytes).map(Cow::into_owned), parse_config(&bytes).home);
        }

        /// A `home` line survives any other lines around it.
        #[test]
        fn parse_config_finds_home_among_garbage(
            home in "/[a-zA-Z0-9/._ -]{0,40}[a-zA-Z0-9/]",
            junk in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let junk: Vec<u8> = junk.into_iter().filter(|&b| b != b'\n').collect();
            let mut bytes = junk.clone();
            bytes.extend_from_slice(format!("\n  HOME =  {home} \r\n").as_bytes());
            bytes.extend_from_slice(b"version = 3.12\n");
            let cfg = parse_config(&bytes);
            prop_assert_eq!(cfg.home.as_deref(), Some(home.as_str()));
        }

        /// The problems CPython would refuse, and only those.
        #[test]
        fn config_problem_matches_what_cpython_refuses(bytes in proptest::collection::vec(any::<u8>(), 0..40_000)) {
            let problem = config_problem(&bytes);
            let refused = bytes.len() > CPYTHON_CONFIG_LIMIT || std::str::from_utf8(&bytes).is_err();
            prop_assert_eq!(problem.is_some(), refused);
        }
    }
}
