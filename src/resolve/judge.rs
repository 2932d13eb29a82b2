//! The one judge of a candidate environment: probe → trust → note.
//!
//! Every source and every convention of the project walk only *yields*
//! candidates (where an environment may be, where it was found, which kind
//! found it). What happens to a candidate — is it an environment, may it be
//! trusted, what is said when it is not — is decided here and nowhere else,
//! so a rule cannot hold for `.venv` and be forgotten for pdm.
//!
//! The policy depends only on how the candidate was found:
//! - named by the user (`--venv`, `VENVEXEC_VENV`): it must work, or the
//!   call fails (never a fall-through);
//! - activated (`VIRTUAL_ENV`, `CONDA_PREFIX`): the user's own choice, not
//!   checked for ownership; one that is gone is stale, said, and passed;
//! - found by venvexec (the project walk, the tool conventions, an ancestor
//!   process): it must carry a marker and pass the safety checks of
//!   [`trust::discovered`]; a refusal ends the search.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::level::Level;
use super::trust::{self, FoundIn, Refusal};
use super::{Evidence, ExplicitError, Found, Inputs, Kind, Skip, Source, Via};
use crate::platform;
use crate::platform::fd::Name;
use crate::venv::{self, NotEnv, Require};

/// A place an environment may be.
pub struct Candidate<'a> {
    /// Where the judge reaches it: absolute, or (in a walk that cannot use
    /// absolute paths) relative to the working directory.
    pub at: PathBuf,
    pub origin: Origin<'a>,
}

/// How a candidate was found, which decides how it is judged and what it
/// is called once taken.
pub enum Origin<'a> {
    /// `--venv DIR` (`flag`) or `VENVEXEC_VENV`.
    Explicit { flag: bool },
    /// `VIRTUAL_ENV` or `CONDA_PREFIX`.
    Activated(Kind),
    /// A convention of the project walk, in the directory `level`.
    Walk {
        level: &'a Level,
        place: Place,
        via: Via,
        /// The pointer file that named it (pyenv's `.python-version`):
        /// a name that leads nowhere is said against the file.
        named_by: Option<NamedBy>,
    },
    /// An ancestor process runs from it.
    Inherited {
        pid: u32,
        title: String,
        evidence: Evidence,
    },
}

/// Where, relative to the walk's directory, a walk candidate is.
pub enum Place {
    /// A name in the directory (`.venv`).
    In(OsString),
    /// A path: absolute (a tool's central directory), or relative to the
    /// directory (`UV_PROJECT_ENVIRONMENT=../env`).
    At(PathBuf),
}

pub struct NamedBy {
    /// The file, as users read it.
    pub file: PathBuf,
    /// The name it holds.
    pub name: OsString,
}

impl<'a> Candidate<'a> {
    /// A convention's candidate of the walk's directory `level`, reached
    /// at `at`; `place` is absolute or relative to `level`.
    pub fn of_dir(level: &'a Level, at: PathBuf, place: PathBuf, via: Via) -> Candidate<'a> {
        Candidate {
            at,
            origin: Origin::Walk {
                level,
                place: Place::At(place),
                via,
                named_by: None,
            },
        }
    }
}

/// What a convention makes of one directory when it claims it.
pub enum Yield<'a> {
    Candidate(Candidate<'a>),
    /// A pointer file someone else could have written (noted): the walk
    /// ends here, as for an untrusted environment.
    Refused,
}

/// What the judge made of a candidate.
pub enum Verdict {
    Found(Found),
    /// Not an environment (noted when worth it): the search goes on.
    Next,
    /// As `Next`, and what is there is a regular file (pipenv's `.venv`
    /// file names its environment).
    File,
    /// Refused, or found but unusable (noted): the search ends here, as
    /// git's does, so that whoever can write a parent does not choose.
    Stop,
}

pub fn judge(
    c: Candidate,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Result<Verdict, ExplicitError> {
    Ok(match c.origin {
        Origin::Explicit { flag } => match venv::probe(&c.at, Require::Interpreter) {
            Ok(env) => Verdict::Found(Found {
                env,
                source: Source::Explicit { flag },
            }),
            Err(why) => {
                return Err(ExplicitError {
                    flag,
                    path: c.at,
                    why,
                });
            }
        },
        // A stale value (the venv was deleted after `activate`) is common
        // and harmless to pass over: the intent went with the directory.
        Origin::Activated(kind) => match venv::probe(&c.at, Require::Interpreter) {
            Ok(env) => Verdict::Found(Found {
                env,
                source: if kind == Kind::Conda {
                    Source::Conda
                } else {
                    Source::VirtualEnv
                },
            }),
            Err(why) => {
                skipped.push(Skip::stale(kind, c.at, why));
                Verdict::Next
            }
        },
        Origin::Walk {
            level,
            place,
            via,
            named_by,
        } => {
            let seen = platform::fd::lstat(&c.at);
            walk(seen, &c.at, level, &place, via, named_by, inp, skipped)
        }
        Origin::Inherited {
            pid,
            title,
            evidence,
        } => inherited(&c.at, pid, title, evidence, inp, skipped),
    })
}

/// The in-project directory `name` (`.venv`) of the walk's directory
/// `level`, judged as a candidate of it. The common case, nothing there,
/// costs one lstat and nothing else: the candidate is made only for what
/// is there.
pub fn in_dir(level: &Level, name: Name, inp: &Inputs, skipped: &mut Vec<Skip>) -> Verdict {
    let seen = level.lstat(name);
    let name = name.as_os_str();
    if matches!(&seen, Err(e) if platform::is_missing(e)) {
        return Verdict::Next;
    }
    let (place, via) = (
        Place::In(name.to_os_string()),
        Via::Dir(name.to_os_string()),
    );
    walk(
        seen,
        &level.at(name),
        level,
        &place,
        via,
        None,
        inp,
        skipped,
    )
}

/// A candidate of the project walk, reached at `at` and seen there as
/// `seen`: that one lstat tells the common case, nothing there.
#[allow(clippy::too_many_arguments)]
fn walk(
    seen: std::io::Result<platform::fd::Stat>,
    at: &Path,
    level: &Level,
    place: &Place,
    via: Via,
    named_by: Option<NamedBy>,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Verdict {
    let kind = via.kind();
    let shown = || match place {
        Place::In(name) => level.shown(name),
        Place::At(p) if p.is_absolute() => p.clone(),
        Place::At(p) => level.shown(p),
    };
    // Said against the pointer file when one named the candidate.
    let named = |skipped: &mut Vec<Skip>, why: &NotEnv| match &named_by {
        Some(n) => {
            skipped.push(Skip::new(
                kind,
                &n.file,
                format_args!(
                    "names {}, {}",
                    Path::new(&n.name).display(),
                    named_miss(kind, why)
                ),
            ));
            true
        }
        None => false,
    };
    match seen {
        Ok(m) if m.is_file() => {
            if !named(skipped, &NotEnv::NotADirectory) {
                skipped.push(Skip::new(kind, shown(), NotEnv::NotADirectory));
            }
            return Verdict::File;
        }
        Ok(_) => {}
        Err(e) if platform::is_missing(&e) => {
            named(skipped, &NotEnv::Missing);
            return Verdict::Next;
        }
        Err(e) => {
            skipped.push(Skip::walk_error(
                kind,
                shown(),
                format!("cannot be read: {e}"),
            ));
            return Verdict::Next;
        }
    }
    let root = match place {
        Place::In(name) => level.abs().map(|a| platform::fd::join(a, name)),
        Place::At(p) if p.is_absolute() => Ok(p.clone()),
        Place::At(p) => level.abs().map(|a| platform::fd::join(a, p)),
    };
    let (root, found_in) = match (root, level.found_in()) {
        (Ok(root), Some(found_in)) => (root, found_in),
        (root, _) => {
            let why = level.abs().err().or(root.err()).unwrap_or("");
            return unusable(kind, &shown(), at, why, skipped);
        }
    };
    match trust::discovered(at, &root, found_in, inp) {
        Ok(env) => Verdict::Found(Found {
            env,
            source: Source::Project {
                dir: found_in.abs.to_path_buf(),
                via,
            },
        }),
        Err(Refusal::NotEnv(why)) if named(skipped, &why) => Verdict::Next,
        Err(Refusal::NotEnv(NotEnv::Missing)) => {
            let to = venv::missing_link_target(at);
            skipped.push(Skip::new(
                kind,
                &root,
                format!("is a dangling symlink ({} does not exist)", to.display()),
            ));
            Verdict::Next
        }
        Err(Refusal::NotEnv(why @ NotEnv::Unreadable(_))) => {
            skipped.push(Skip::walk_error(kind, &root, why));
            Verdict::Next
        }
        Err(Refusal::NotEnv(why)) => {
            skipped.push(Skip::new(kind, &root, why));
            Verdict::Next
        }
        Err(Refusal::Untrusted(why)) => {
            skipped.push(Skip::untrusted(kind, &root, found_in.abs, why));
            Verdict::Stop
        }
        Err(Refusal::Unreachable(why)) => {
            skipped.push(Skip::walk_error(
                kind,
                root,
                format!("found, but cannot be used: {why}"),
            ));
            Verdict::Stop
        }
    }
}

/// How a name in a pointer file that leads to no environment is said.
fn named_miss(kind: Kind, why: &NotEnv) -> String {
    match (kind, why) {
        (Kind::PyenvVirtualenv, NotEnv::NoConfig) => {
            "a plain pyenv version, not a virtualenv".into()
        }
        (Kind::PyenvVirtualenv, NotEnv::Missing | NotEnv::NotADirectory) => {
            "which pyenv does not have".into()
        }
        (_, NotEnv::Missing) => "which does not exist".into(),
        (_, why) => format!("which is not an environment: {why}"),
    }
}

/// An environment the walk reached, but whose absolute path (needed to
/// check it and to run it) cannot be known: the walk ends, and says so.
fn unusable(kind: Kind, shown: &Path, at: &Path, why: &str, skipped: &mut Vec<Skip>) -> Verdict {
    if venv::probe(at, Require::Marker).is_err() {
        return Verdict::Next;
    }
    skipped.push(Skip::walk_error(
        kind,
        shown,
        format!("found, but cannot be used: {why}"),
    ));
    Verdict::Stop
}

/// The environment an ancestor runs from, through the same safety checks
/// as every environment venvexec finds on its own.
fn inherited(
    root: &Path,
    pid: u32,
    title: String,
    evidence: Evidence,
    inp: &Inputs,
    skipped: &mut Vec<Skip>,
) -> Verdict {
    const KIND: Kind = Kind::Inherited;
    let found_in = FoundIn {
        abs: root.parent().unwrap_or(root),
        id: None,
    };
    match trust::discovered(root, root, found_in, inp) {
        Ok(env) => Verdict::Found(Found {
            env,
            source: Source::Inherited {
                pid,
                title,
                evidence,
            },
        }),
        Err(Refusal::NotEnv(why)) => {
            skipped.push(Skip::new(
                KIND,
                root,
                format_args!("(the environment of PID {pid}, {title}) {why}: stopped"),
            ));
            Verdict::Stop
        }
        Err(Refusal::Unreachable(why)) => {
            skipped.push(Skip::walk_error(
                KIND,
                root,
                format_args!("(the environment of PID {pid}) cannot be used: {why}: stopped"),
            ));
            Verdict::Stop
        }
        Err(Refusal::Untrusted(why)) => {
            skipped.push(Skip::untrusted(
                KIND,
                root,
                found_in.abs,
                format_args!("{why} (the environment of PID {pid})"),
            ));
            Verdict::Stop
        }
    }
}
