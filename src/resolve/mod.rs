//! Which environment is meant here.
//!
//! The order is written once, here: [`ORDER`] for the sources, [`in_dir`]
//! for the conventions inside one directory of the project walk. Each
//! source and convention is a module that only yields candidates (where an
//! environment may be, where it was found, which kind found it) and notes
//! what it passed over; [`judge`] alone decides what a candidate is worth.
//! `which -v`'s "checked" lines are generated from the same lists.

mod activated;
mod explicit;
pub mod inherited;
pub mod judge;
pub mod level;
pub mod process;
pub mod project;
pub mod servers;
pub mod tools;
pub mod trust;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::fail::{self, Fail};
use crate::platform::environ::Vars;
use crate::venv::{Env, NotEnv};

/// A snapshot of everything the decision depends on besides the
/// filesystem, so that the order can be tested without touching the
/// process's own environment.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `--venv DIR` from the command line, which beats every variable.
    pub venv_flag: Option<OsString>,
    pub venv_var: Option<OsString>,
    pub disabled: bool,
    pub virtual_env: Option<OsString>,
    pub conda_prefix: Option<OsString>,
    pub conda_default_env: Option<OsString>,
    pub conda_root: Option<OsString>,
    /// Read the first time a source asks ([`Inputs::cwd`]): an activated
    /// environment needs no `getcwd`.
    pub cwd: std::cell::OnceCell<Result<PathBuf, CwdError>>,
    pub names: Option<OsString>,
    pub ceilings: Option<OsString>,
    pub safe_dirs: Option<OsString>,
    pub across_filesystems: bool,
    /// Whether to look at ancestor processes (source 4).
    pub inherit: bool,
    /// `VENVEXEC_PROCESS_MANAGERS`: where the inherited walk ends.
    pub process_managers: Option<OsString>,
    /// What the tool conventions of the project walk read.
    pub tools: tools::ToolVars,
    pub uid: u32,
    /// The primary group, for the user-private-group rule of `trust`.
    pub gid: u32,
    /// The program the caller will run from the environment (the shim's
    /// name), so that the safety checks cover that very file.
    pub program: Option<OsString>,
    /// `VENVEXEC_QUIET`: no warnings (errors are still said).
    pub quiet: bool,
    /// `VENVEXEC_STRICT`: a Python-family name never falls through.
    pub strict: bool,
    /// `VENVEXEC_LOG`: the decision log every shim call appends to.
    pub log: Option<OsString>,
}

impl Inputs {
    /// The working directory's path, or why it is unknown.
    pub fn cwd(&self) -> Result<&Path, &CwdError> {
        self.cwd
            .get_or_init(|| crate::platform::fd::getcwd().map_err(|e| CwdError::new(&e)))
            .as_deref()
    }

    /// Nothing set, working in `cwd`, the inherited source off: the start
    /// of a test of the order, or of a tool that sets what it needs.
    pub fn in_dir(cwd: impl Into<PathBuf>) -> Inputs {
        let (uid, gid) = crate::platform::fd::ids();
        Inputs {
            venv_flag: None,
            venv_var: None,
            disabled: false,
            virtual_env: None,
            conda_prefix: None,
            conda_default_env: None,
            conda_root: None,
            cwd: Ok(cwd.into()).into(),
            names: None,
            ceilings: None,
            safe_dirs: None,
            across_filesystems: false,
            inherit: false,
            process_managers: None,
            tools: tools::ToolVars::default(),
            uid,
            gid,
            program: None,
            quiet: false,
            strict: false,
            log: None,
        }
    }

    pub fn from_process(venv_flag: Option<OsString>) -> Inputs {
        Inputs::from_vars(venv_flag, &Vars::process())
    }

    /// From variables already read (the shim reads its environment once).
    pub fn from_vars(venv_flag: Option<OsString>, vars: &Vars) -> Inputs {
        let var = |k: &str| vars.get(k).map(OsStr::to_os_string);
        let (uid, gid) = crate::platform::fd::ids();
        Inputs {
            venv_flag,
            venv_var: var("VENVEXEC_VENV").filter(|v| !v.is_empty()),
            disabled: var("VENVEXEC_DISABLE").is_some_and(|v| is_truthy(&v)),
            virtual_env: var("VIRTUAL_ENV").filter(|v| !v.is_empty()),
            conda_prefix: var("CONDA_PREFIX").filter(|v| !v.is_empty()),
            conda_default_env: var("CONDA_DEFAULT_ENV"),
            conda_root: var("_CONDA_ROOT").or_else(|| var("CONDA_ROOT")),
            cwd: std::cell::OnceCell::new(),
            names: var("VENVEXEC_NAMES"),
            ceilings: var("VENVEXEC_CEILING_DIRS"),
            safe_dirs: var("VENVEXEC_SAFE_DIRS"),
            across_filesystems: var("VENVEXEC_ACROSS_FILESYSTEMS").is_some_and(|v| is_truthy(&v)),
            inherit: !var("VENVEXEC_NO_INHERIT").is_some_and(|v| is_truthy(&v)),
            process_managers: var("VENVEXEC_PROCESS_MANAGERS"),
            tools: tools::ToolVars::from_vars(vars),
            uid,
            gid,
            program: None,
            quiet: var("VENVEXEC_QUIET").is_some_and(|v| is_truthy(&v)),
            strict: var("VENVEXEC_STRICT").is_some_and(|v| is_truthy(&v)),
            log: var("VENVEXEC_LOG").filter(|v| !v.is_empty()),
        }
    }
}

/// `1`, `true`, `yes`, anything non-empty that is not an explicit "no":
/// a switch someone bothered to set is on unless it clearly says off.
pub fn is_truthy(v: &OsStr) -> bool {
    let b = v.as_encoded_bytes();
    !(b.is_empty()
        || b == b"0"
        || b.eq_ignore_ascii_case(b"false")
        || b.eq_ignore_ascii_case(b"no")
        || b.eq_ignore_ascii_case(b"off"))
}

/// Why the working directory's path is unknown. The project walk still
/// runs when the directory is there (deeper than PATH_MAX, say): it looks
/// things up relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwdError {
    /// The directory was removed: there is nothing to walk from.
    pub gone: bool,
    message: String,
}

impl CwdError {
    fn new(e: &io::Error) -> CwdError {
        let gone = e.kind() == io::ErrorKind::NotFound;
        let message = if gone {
            "the working directory no longer exists".into()
        } else {
            format!("the working directory's path cannot be read: {e}")
        };
        CwdError { gone, message }
    }
}

impl fmt::Display for CwdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which source, or which convention of the project walk, found (or passed
/// over) an environment: the one list of kinds that `Source`, `Skip`,
/// `--json` and the decision log all use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flag,
    Explicit,
    VirtualEnv,
    Conda,
    /// An in-project directory (`.venv`, `venv`), or the project walk itself.
    Project,
    Uv,
    Pdm,
    Poetry,
    Pipenv,
    PyenvVirtualenv,
    Inherited,
}

impl Kind {
    /// The stable key of `--json` (`source.kind`, `skipped[].source`) and
    /// of the decision log.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Flag => "flag",
            Kind::Explicit => "explicit",
            Kind::VirtualEnv => "virtual_env",
            Kind::Conda => "conda",
            Kind::Project => "project",
            Kind::Uv => "uv",
            Kind::Pdm => "pdm",
            Kind::Poetry => "poetry",
            Kind::Pipenv => "pipenv",
            Kind::PyenvVirtualenv => "pyenv_virtualenv",
            Kind::Inherited => "inherited",
        }
    }
}

/// How a kind is named at the start of a `skipped:` line: the variable
/// for the activated sources, the tool's name for its convention.
impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Flag => "--venv",
            Kind::Explicit => "VENVEXEC_VENV",
            Kind::VirtualEnv => "VIRTUAL_ENV",
            Kind::Conda => "CONDA_PREFIX",
            Kind::Project => "project",
            Kind::Uv => "uv",
            Kind::Pdm => "pdm",
            Kind::Poetry => "poetry",
            Kind::Pipenv => "pipenv",
            Kind::PyenvVirtualenv => "pyenv",
            Kind::Inherited => "inherited",
        })
    }
}

/// Where an environment came from. `Display` is the wording users read in
/// `which -v`, `doctor` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Explicit {
        flag: bool,
    },
    VirtualEnv,
    Conda,
    Project {
        dir: PathBuf,
        via: Via,
    },
    /// `title` is the ancestor as `ps` would show it.
    Inherited {
        pid: u32,
        title: String,
        evidence: Evidence,
    },
}

/// What told which environment an ancestor process runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Its `argv[0]`, made absolute with its cwd or its PATH, as CPython did.
    Argv0(PathBuf),
    /// Its relative `argv[0]`, made absolute with `PWD`, its start directory
    /// (the process has changed directory since).
    StartDir { interpreter: PathBuf, pwd: PathBuf },
    /// `/proc/PID/exe`: a venv made with `--copies`.
    Exe(PathBuf),
    /// An extension module it loaded from the venv's site-packages.
    Mapped(PathBuf),
    /// An embedded-Python host's flag naming its venv (`uwsgi --virtualenv`).
    HostFlag { flag: OsString, dir: PathBuf },
}

/// Which convention marked a project's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An in-project directory such as `.venv` or `venv`.
    Dir(OsString),
    /// `UV_PROJECT_ENVIRONMENT`.
    Uv,
    /// pdm's `.pdm-python` file, or its central venvs directory.
    Pdm(PathBuf),
    /// poetry's environment in its cache.
    Poetry,
    /// pipenv's environment under `WORKON_HOME`, or its `.venv` file.
    Pipenv,
    /// A pyenv-virtualenv named by `.python-version`.
    PyenvVirtualenv(OsString),
}

impl Via {
    pub fn kind(&self) -> Kind {
        match self {
            Via::Dir(_) => Kind::Project,
            Via::Uv => Kind::Uv,
            Via::Pdm(_) => Kind::Pdm,
            Via::Poetry => Kind::Poetry,
            Via::Pipenv => Kind::Pipenv,
            Via::PyenvVirtualenv(_) => Kind::PyenvVirtualenv,
        }
    }
}

impl Source {
    pub fn kind(&self) -> Kind {
        match self {
            Source::Explicit { flag: true } => Kind::Flag,
            Source::Explicit { flag: false } => Kind::Explicit,
            Source::VirtualEnv => Kind::VirtualEnv,
            Source::Conda => Kind::Conda,
            Source::Project { via, .. } => via.kind(),
            Source::Inherited { .. } => Kind::Inherited,
        }
    }

    /// The stable key for `--json` and the decision log: see [`Kind::key`].
    pub fn key(&self) -> &'static str {
        self.kind().key()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit { flag: true } => f.write_str("--venv"),
            Source::Explicit { flag: false } => f.write_str("VENVEXEC_VENV"),
            Source::VirtualEnv => f.write_str("VIRTUAL_ENV (activated environment)"),
            Source::Conda => f.write_str("CONDA_PREFIX (activated conda environment)"),
            Source::Project { dir, via } => {
                let dir = dir.display();
                match via {
                    Via::Dir(name) => {
                        write!(
                            f,
                            "project environment {} in {dir}",
                            Path::new(name).display()
                        )
                    }
                    Via::Uv => write!(f, "UV_PROJECT_ENVIRONMENT of the uv project {dir}"),
                    Via::Pdm(file) => write!(f, "pdm environment of {dir} ({})", file.display()),
                    Via::Poetry => write!(f, "poetry environment of {dir}"),
                    Via::Pipenv => write!(f, "pipenv environment of {dir}"),
                    Via::PyenvVirtualenv(name) => write!(
                        f,
                        "pyenv-virtualenv {} named by {dir}/.python-version",
                        Path::new(name).display()
                    ),
                }
            }
            Source::Inherited {
                pid,
                title,
                evidence,
            } => match evidence {
                Evidence::Argv0(p) => write!(
                    f,
                    "inherited from PID {pid} ({}): venv of its argv[0]",
                    p.display()
                ),
                Evidence::StartDir { interpreter, pwd } => write!(
                    f,
                    "inherited from PID {pid} ({title}): venv of its argv[0], {} in its start directory (PWD={})",
                    interpreter.display(),
                    pwd.display()
                ),
                Evidence::Exe(p) => write!(
                    f,
                    "inherited from PID {pid} ({title}): venv of its executable {}",
                    p.display()
                ),
                Evidence::Mapped(p) => write!(
                    f,
                    "inherited from PID {pid} ({title}): venv of its mapped files ({})",
                    p.display()
                ),
                Evidence::HostFlag { flag, dir } => write!(
                    f,
                    "inherited from PID {pid} ({title}): {} {} on its command line",
                    Path::new(flag).display(),
                    dir.display()
                ),
            },
        }
    }
}

/// A source that was looked at and passed over, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub source: Kind,
    pub path: Option<PathBuf>,
    pub why: String,
    pub concern: Concern,
}

/// Whether a skip changed what the user meant, and so is said as a warning
/// on the shim's stderr (and is a problem for `doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    /// Passed over as a matter of course: nothing there, not an
    /// environment, conda's base, a process that is not Python.
    None,
    /// An environment the safety rules refused: `reason` is the rule it
    /// broke, and listing `trust` in `VENVEXEC_SAFE_DIRS` accepts it.
    Untrusted { reason: String, trust: PathBuf },
    /// An activated environment (`VIRTUAL_ENV`, `CONDA_PREFIX`) that is
    /// gone: the user believes they are in it.
    Stale,
    /// The project walk could not look where an environment may be (a
    /// working directory deleted or unreadable, a directory it cannot
    /// search): what runs may not be what is there.
    WalkError,
}

impl Skip {
    pub fn new(source: Kind, path: impl Into<PathBuf>, why: impl fmt::Display) -> Skip {
        Skip {
            source,
            path: Some(path.into()),
            why: why.to_string(),
            concern: Concern::None,
        }
    }

    pub fn note(source: Kind, why: impl fmt::Display) -> Skip {
        Skip {
            source,
            path: None,
            why: why.to_string(),
            concern: Concern::None,
        }
    }

    /// An environment at `path`, found from `found_in`, that the safety
    /// rules refused for `reason`.
    pub fn untrusted(
        source: Kind,
        path: impl Into<PathBuf>,
        found_in: &Path,
        reason: impl fmt::Display,
    ) -> Skip {
        let path = path.into();
        let reason = reason.to_string();
        Skip {
            source,
            why: format!("not trusted: {reason}; {}", trust::hint(&path)),
            path: Some(path),
            concern: Concern::Untrusted {
                reason,
                trust: found_in.to_path_buf(),
            },
        }
    }

    /// An activated environment that no longer works.
    pub fn stale(source: Kind, path: impl Into<PathBuf>, why: impl fmt::Display) -> Skip {
        Skip {
            concern: Concern::Stale,
            ..Skip::new(source, path, format_args!("{why} (stale)"))
        }
    }

    /// The walk could not look at `path`.
    pub fn walk_error(source: Kind, path: impl Into<PathBuf>, why: impl fmt::Display) -> Skip {
        Skip {
            concern: Concern::WalkError,
            ..Skip::new(source, path, why)
        }
    }

    /// The walk could not start (no working directory).
    pub fn walk_error_note(source: Kind, why: impl fmt::Display) -> Skip {
        Skip {
            concern: Concern::WalkError,
            ..Skip::note(source, why)
        }
    }

    /// The one `venvexec: warning: …` line for this skip (without the
    /// prefix), or `None` when it is not worth one. `running` is what the
    /// call goes on to run, if anything.
    pub fn warning(&self, running: Option<&Path>) -> Option<String> {
        // Most skips are not worth a line: say so before formatting anything.
        if self.concern == Concern::None {
            return None;
        }
        let running = running.map_or(String::new(), |p| format!("; running {}", p.display()));
        let path = self.path.as_deref().unwrap_or(Path::new("")).display();
        Some(match &self.concern {
            Concern::None => return None,
            Concern::Untrusted { reason, trust } => format!(
                "ignored {path}: {reason}{running} (trust it with VENVEXEC_SAFE_DIRS={})",
                trust.display()
            ),
            Concern::Stale => format!(
                "ignored {path} ({}): {}{running} ({})",
                self.source,
                self.why,
                deactivate_hint(self.source)
            ),
            Concern::WalkError => format!("{self}{running}"),
        })
    }
}

/// How to stop a stale activation from being looked at.
pub fn deactivate_hint(source: Kind) -> String {
    if source == Kind::Conda {
        "run `conda deactivate`, or unset CONDA_PREFIX".into()
    } else {
        format!("run `deactivate`, or unset {source}")
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {}: {}", self.source, p.display(), self.why),
            None => write!(f, "{}: {}", self.source, self.why),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub env: Env,
    pub source: Source,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    pub found: Option<Found>,
    pub skipped: Vec<Skip>,
    /// `VENVEXEC_DISABLE` was set: nothing was looked at.
    pub disabled: bool,
}

/// The environment the user named does not work. Never a fall-through:
/// silently running the system Python instead is the bug venvexec exists
/// to prevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitError {
    pub flag: bool,
    pub path: PathBuf,
    pub why: NotEnv,
}

impl fmt::Display for ExplicitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = if self.flag {
            "--venv"
        } else {
            "VENVEXEC_VENV="
        };
        let (sep, undo) = if self.flag {
            (" ", "drop the flag")
        } else {
            ("", "unset it")
        };
        write!(
            f,
            "{origin}{sep}{} is not a usable environment: {}\n  hint: point it at a directory made by `python3 -m venv`, or {undo}",
            self.path.display(),
            self.why
        )
    }
}

impl ExplicitError {
    /// The failure of the shim (or `which`) for `name`: 126, never a
    /// fall-through.
    pub fn fail_for(&self, name: &OsStr) -> Fail {
        Fail::new(fail::NOT_RUNNABLE, format!("{}: {self}", name.display()))
    }
}

impl From<ExplicitError> for Fail {
    fn from(e: ExplicitError) -> Fail {
        Fail::new(fail::NOT_RUNNABLE, e.to_string())
    }
}

/// One source of the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `--venv DIR`.
    Flag,
    /// `VENVEXEC_DISABLE`: hands off, nothing below is looked at.
    Disable,
    /// `VENVEXEC_VENV`.
    Var,
    VirtualEnv,
    Conda,
    /// The project walk, from the working directory up.
    Project,
    /// The Python process that shelled out.
    Inherited,
}

/// The resolution order of the contract: the first source that yields a
/// usable environment wins. The flag beats everything; the kill switch
/// beats the variable, so `VENVEXEC_DISABLE=1` always means "hands off".
pub const ORDER: [Step; 7] = [
    Step::Flag,
    Step::Disable,
    Step::Var,
    Step::VirtualEnv,
    Step::Conda,
    Step::Project,
    Step::Inherited,
];

/// A convention of the project walk, tried in one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention<'a> {
    /// An in-project directory (`VENVEXEC_NAMES`, default `.venv`, `venv`).
    InProject(crate::platform::fd::Name<'a>),
    Tool(tools::Tool),
}

/// After the in-project names, each tool's convention, in this order: a
/// variable the user set (uv's `UV_PROJECT_ENVIRONMENT`) beats a file that
/// names an interpreter (pdm's `.pdm-python`, then pdm's central venvs),
/// which beats a computed location (poetry's cache, pipenv's
/// `WORKON_HOME`); last a pyenv-virtualenv named by `.python-version`.
pub const IN_DIR_TOOLS: [tools::Tool; 5] = [
    tools::Tool::Uv,
    tools::Tool::Pdm,
    tools::Tool::Poetry,
    tools::Tool::Pipenv,
    tools::Tool::PyenvVirtualenv,
];

/// The conventions tried in each directory of the walk, first hit wins;
/// lazy, so that a `.venv` found costs nothing of the rest.
pub fn in_dir<'a>(
    names: &'a [crate::platform::fd::Name<'a>],
) -> impl Iterator<Item = Convention<'a>> + 'a {
    names
        .iter()
        .map(|&n| Convention::InProject(n))
        .chain(IN_DIR_TOOLS.map(Convention::Tool))
}

/// How `which -v` names a convention in its "checked" line.
impl fmt::Display for Convention<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Convention::InProject(name) => write!(f, "{}", Path::new(name.as_os_str()).display()),
            Convention::Tool(tools::Tool::PyenvVirtualenv) => f.write_str("pyenv-virtualenv"),
            Convention::Tool(tool) => write!(f, "{}", tool.kind()),
        }
    }
}

/// What the order ended with.
enum Ended {
    Found(Found),
    Disabled,
}

impl Step {
    fn run(self, inp: &Inputs, skipped: &mut Vec<Skip>) -> Result<Option<Ended>, ExplicitError> {
        use judge::{Candidate, Origin, Verdict};
        let candidate = match self {
            Step::Flag | Step::Var => {
                let flag = self == Step::Flag;
                let named = if flag { &inp.venv_flag } else { &inp.venv_var };
                named.as_ref().map(|dir| Candidate {
                    at: explicit::absolute(Path::new(dir)),
                    origin: Origin::Explicit { flag },
                })
            }
            Step::Disable => return Ok(inp.disabled.then_some(Ended::Disabled)),
            Step::VirtualEnv => activated::virtual_env(inp),
            Step::Conda => activated::conda(inp, skipped),
            Step::Project => return Ok(project::discover(inp, skipped).map(Ended::Found)),
            Step::Inherited => return Ok(inherited::discover(inp, skipped).map(Ended::Found)),
        };
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        Ok(match judge::judge(candidate, inp, skipped)? {
            Verdict::Found(found) => Some(Ended::Found(found)),
            Verdict::Next | Verdict::File | Verdict::Stop => None,
        })
    }

    /// The line of "checked:" that says what this step looked at.
    fn checked(self, inp: &Inputs) -> String {
        let set = |name: &str, v: &Option<OsString>| match v {
            Some(v) => format!("{name}: = {}", Path::new(v).display()),
            None => format!("{name}: not set"),
        };
        match self {
            Step::Flag => set("--venv", &inp.venv_flag),
            Step::Disable => "VENVEXEC_DISABLE: not set".into(),
            Step::Var => set("VENVEXEC_VENV", &inp.venv_var),
            Step::VirtualEnv => set("VIRTUAL_ENV", &inp.virtual_env),
            Step::Conda => set("CONDA_PREFIX", &inp.conda_prefix),
            Step::Project => project::checked(inp),
            Step::Inherited => inherited::checked(inp),
        }
    }
}

/// The contract's order over `inp`, first usable source wins.
pub fn resolve(inp: &Inputs) -> Result<Resolution, ExplicitError> {
    let mut skipped = Vec::new();
    for step in ORDER {
        match step.run(inp, &mut skipped)? {
            None => {}
            Some(Ended::Found(found)) => {
                return Ok(Resolution {
                    found: Some(found),
                    skipped,
                    disabled: false,
                });
            }
            Some(Ended::Disabled) => {
                return Ok(Resolution {
                    disabled: true,
                    ..Resolution::default()
                });
            }
        }
    }
    Ok(Resolution {
        found: None,
        skipped,
        disabled: false,
    })
}

/// The indented lines that explain a resolution, for `which -v` and the
/// "no environment found" errors: what each source looked at (when nothing
/// was found), then every skip with its reason.
pub fn explain(inp: &Inputs, res: &Resolution) -> Vec<String> {
    let mut lines = Vec::new();
    if res.found.is_none() {
        lines.push("  checked:".to_string());
        lines.extend(checked(inp, res).into_iter().map(|l| format!("    {l}")));
    }
    lines.extend(res.skipped.iter().map(|s| format!("  skipped: {s}")));
    lines
}

/// What the order looked at, in words: one line per source, from [`ORDER`].
fn checked(inp: &Inputs, res: &Resolution) -> Vec<String> {
    if res.disabled {
        return vec!["VENVEXEC_DISABLE is set: no source was consulted".into()];
    }
    ORDER.iter().map(|step| step.checked(inp)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skips_that_changed_the_choice_warn() {
        let run = Some(Path::new("/usr/bin/python3"));
        let refused = Skip::untrusted(
            Kind::Project,
            "/x/.venv",
            Path::new("/x"),
            "/x/.venv/bin/python is writable by group or others (mode 0757)",
        );
        assert_eq!(
            refused.warning(run).unwrap(),
            "ignored /x/.venv: /x/.venv/bin/python is writable by group or others (mode 0757); \
             running /usr/bin/python3 (trust it with VENVEXEC_SAFE_DIRS=/x)"
        );
        assert!(
            refused
                .why
                .starts_with("not trusted: /x/.venv/bin/python is writable")
        );
        assert_eq!(
            Skip::stale(Kind::Conda, "/c", "directory does not exist")
                .warning(None)
                .unwrap(),
            "ignored /c (CONDA_PREFIX): directory does not exist (stale) (run `conda deactivate`, or unset CONDA_PREFIX)"
        );
        assert_eq!(
            Skip::walk_error_note(Kind::Project, "the working directory no longer exists")
                .warning(run)
                .unwrap(),
            "project: the working directory no longer exists; running /usr/bin/python3"
        );
        assert_eq!(
            Skip::new(Kind::Project, "/x/venv", "has no pyvenv.cfg").warning(run),
            None
        );
        assert_eq!(
            Skip::note(Kind::Inherited, "PID 1: stopped").warning(run),
            None
        );
    }
}
