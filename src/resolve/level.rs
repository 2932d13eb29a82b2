//! One directory of the project walk: how the walk reaches it (its
//! absolute path, or `..`s from the working directory when that path cannot
//! be used), and its absolute path, asked of the kernel only when needed.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use super::trust::FoundIn;
use crate::platform::fd;

/// One directory of the walk.
pub struct Level {
    /// How the walk reaches it: its absolute path, or when that does not
    /// work, a path relative to the working directory (`..`, `../..`).
    rel: PathBuf,
    /// Its absolute path: from the working directory's, or asked of the
    /// kernel the first time it is needed when that one is unknown.
    abs: OnceCell<Result<PathBuf, String>>,
    /// Device and inode, from the walk's own look at it.
    id: (u64, u64),
}

impl Level {
    /// Where the walk reaches `name` in this directory.
    pub fn at(&self, name: impl AsRef<Path>) -> PathBuf {
        if self.rel.as_os_str() == "." {
            return name.as_ref().to_path_buf();
        }
        self.rel.join(name)
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

    /// Where the walk reaches the parent: an absolute path's lexical
    /// parent (the path is physical, so that is its `..`), else `..`
    /// from here. `None` at `/`.
    pub fn up(&self) -> Option<PathBuf> {
        if self.rel.is_absolute() {
            return self.rel.parent().map(Path::to_path_buf);
        }
        if self.rel.as_os_str() == "." {
            return Some(PathBuf::from(".."));
        }
        Some(self.rel.join(".."))
    }

    /// The parent, reached at `up` (from [`Level::up`]) and seen as `st`;
    /// `None` at `/` (whose `..` is itself).
    pub fn parent(&self, up: PathBuf, st: &fd::Stat) -> Option<Level> {
        if st.id() == self.id {
            return None;
        }
        let abs = OnceCell::new();
        if !up.is_absolute()
            && let Some(Ok(a)) = self.abs.get()
        {
            let _ = abs.set(Ok(a.parent().unwrap_or(a).to_path_buf()));
        }
        Some(Level {
            rel: up,
            abs,
            id: st.id(),
        })
    }
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
        Level {
            rel,
            abs,
            id: st.id(),
        }
    }
}
