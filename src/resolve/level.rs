//! One directory of the project walk: how the walk reaches it (its
//! absolute path, or `..`s from the working directory when that path cannot
//! be used), and its absolute path, asked of the kernel only when needed.
//! The walk has one `Level`, which climbs: its path is cut at its last `/`
//! (or grows a `..`) in place, and the names looked for in it are looked
//! at without joining them to it.

use std::cell::{OnceCell, RefCell};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::trust::FoundIn;
use crate::platform::fd;

/// One directory of the walk.
pub struct Level {
    /// How the walk reaches it: its absolute path, or when that does not
    /// work, a path relative to the working directory (`.`, `..`, `../..`).
    rel: PathBuf,
    /// [`Level::reach`] as a C string, which each name looked for is
    /// written after.
    c: RefCell<fd::DirBuf>,
    /// Its absolute path: from the working directory's, or asked of the
    /// kernel the first time it is needed when that one is unknown.
    abs: OnceCell<Result<PathBuf, String>>,
    /// Device and inode, from the walk's own look at it.
    id: (u64, u64),
}

impl Level {
    /// The walk's first directory: reached at `rel` (the working
    /// directory's path, or `.`), seen as `st`; `cwd` is its absolute
    /// path when that is known.
    pub fn start(rel: PathBuf, st: &fd::Stat, cwd: Option<&Path>) -> Level {
        let abs = OnceCell::new();
        if let Some(cwd) = cwd
            && !rel.is_absolute()
        {
            let _ = abs.set(Ok(cwd.to_path_buf()));
        }
        let reach = if rel.as_os_str() == "." {
            Path::new("")
        } else {
            &rel
        };
        Level {
            c: RefCell::new(fd::DirBuf::new(reach)),
            rel,
            abs,
            id: st.id(),
        }
    }

    /// Where the walk reaches `name` in this directory.
    pub fn at(&self, name: impl AsRef<Path>) -> PathBuf {
        fd::join(self.reach(), name.as_ref())
    }

    /// What is at [`Level::at`]`(name)`, a symlink not followed; the
    /// path is not built (nearly every name of nearly every directory of
    /// the walk is not there).
    pub fn lstat(&self, name: fd::Name) -> io::Result<fd::Stat> {
        self.c.borrow_mut().lstat(name)
    }

    /// Lends [`Level::at`]`(name)` to `f`, built on the stack.
    pub fn with_at<R>(&self, name: &OsStr, f: impl FnOnce(&Path) -> R) -> R {
        fd::with_path_in(self.reach(), name, f)
    }

    /// As [`Level::lstat`], links followed.
    pub fn stat(&self, name: fd::Name) -> io::Result<fd::Stat> {
        self.c.borrow_mut().stat(name)
    }

    /// The directory the walk's paths are joined to: none for the
    /// working directory itself, so that it looks at `.venv`, not `./.venv`.
    fn reach(&self) -> &Path {
        if self.rel.as_os_str() == "." {
            return Path::new("");
        }
        &self.rel
    }

    /// The directory's absolute path.
    pub fn abs(&self) -> Result<&Path, &str> {
        if self.rel.is_absolute() {
            return Ok(&self.rel);
        }
        self.abs
            .get_or_init(|| {
                fd::absolute_dir(&self.rel)
                    .map_err(|e| format!("its absolute path cannot be read: {e}"))
            })
            .as_ref()
            .map(PathBuf::as_path)
            .map_err(String::as_str)
    }

    /// The path users read for `name` here: absolute when known.
    pub fn shown(&self, name: impl AsRef<Path>) -> PathBuf {
        if self.rel.is_absolute() {
            return self.rel.join(name);
        }
        match self.abs.get() {
            Some(Ok(abs)) => abs.join(name),
            _ => self.at(name),
        }
    }

    pub fn shown_dir(&self) -> PathBuf {
        if self.rel.is_absolute() {
            return self.rel.clone();
        }
        match self.abs.get() {
            Some(Ok(abs)) => abs.clone(),
            _ => self.rel.clone(),
        }
    }

    pub fn found_in(&self) -> Option<FoundIn<'_>> {
        Some(FoundIn {
            abs: self.abs().ok()?,
            id: Some(self.id),
        })
    }

    /// A look at the parent, where [`Level::climb`] will reach it: an
    /// absolute path's lexical parent (the path is physical, so that is
    /// its `..`), else `..` from here. `None` at `/`.
    pub fn stat_up(&self) -> Option<(Up, io::Result<fd::Stat>)> {
        if self.rel.is_absolute() {
            let len = parent_len(&self.rel)?;
            return Some((Up(len), self.c.borrow_mut().stat_prefix(len)));
        }
        Some((Up(0), self.stat(fd::Name::lit(".."))))
    }

    /// Becomes its parent, found at `up` and seen as `st` by
    /// [`Level::stat_up`]; `false` at `/` (whose `..` is itself). The path
    /// is cut or extended in place: one buffer for the whole walk.
    pub fn climb(&mut self, up: Up, st: &fd::Stat) -> bool {
        if st.id() == self.id {
            return false;
        }
        if self.rel.is_absolute() {
            truncate(&mut self.rel, up.0);
            self.c.get_mut().cut(up.0);
        } else {
            if self.rel.as_os_str() == "." {
                self.rel = PathBuf::from("..");
            } else {
                self.rel.push("..");
            }
            self.c.get_mut().set(self.rel.as_os_str().as_bytes());
            // Known from the working directory's path: its parent's.
            self.abs = match self.abs.take() {
                Some(Ok(mut abs)) => {
                    if let Some(len) = parent_len(&abs) {
                        truncate(&mut abs, len);
                    }
                    OnceCell::from(Ok(abs))
                }
                _ => OnceCell::new(),
            };
        }
        self.id = st.id();
        true
    }
}

/// Where [`Level::stat_up`] found the parent: the length of the absolute
/// path's parent (unused for `..`), so that the walk finds the last `/`
/// once per level.
pub struct Up(usize);

/// The length of `path`'s parent, as [`Path::parent`] has it: `None` at
/// `/`. The working directory's path from `getcwd` is clean (no `//`,
/// no `.`, no trailing `/`), so its parent ends at its last `/`; any other
/// path is left to std, which knows every case.
fn parent_len(path: &Path) -> Option<usize> {
    let b = path.as_os_str().as_bytes();
    if let Some(slash) = b.iter().rposition(|&c| c == b'/') {
        let (head, last) = (&b[..slash], &b[slash + 1..]);
        if !last.is_empty() && last != b"." && !head.ends_with(b"/") && !head.ends_with(b"/.") {
            return Some(slash.max(1));
        }
    }
    path.parent().map(|p| p.as_os_str().len())
}

fn truncate(path: &mut PathBuf, len: usize) {
    let mut bytes = std::mem::take(path).into_os_string().into_vec();
    bytes.truncate(len);
    *path = PathBuf::from(OsString::from_vec(bytes));
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The walk climbs exactly as `Path::parent` would.
        #[test]
        fn parent_len_is_path_parent(path in "/[a./]{0,10}") {
            let path = Path::new(&path);
            let want = path.parent().map(|p| p.as_os_str().len());
            prop_assert_eq!(parent_len(path), want);
        }
    }
}
