//! What the programs that host or start Python code say about themselves:
//! a Python command line's script or module, uWSGI's venv flags, process
//! managers, and the files a process has mapped. Pure parsing of what the
//! inherited source read from `/proc`; the decisions stay there.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// Process managers written in Python: what they start are their programs,
/// not their shell-outs, so the inherited walk ends at them.
pub const DEFAULT_MANAGERS: &[&[u8]] = &[b"supervisord", b"circusd"];

/// The process managers' names: `VENVEXEC_PROCESS_MANAGERS` when set (the
/// whole list, so that it can extend the default or, empty, turn it off),
/// else [`DEFAULT_MANAGERS`].
pub fn managers(var: Option<&OsStr>) -> Vec<&[u8]> {
    match var {
        None => DEFAULT_MANAGERS.to_vec(),
        Some(v) => v
            .as_bytes()
            .split(|&b| b == b':')
            .filter(|n| !n.is_empty())
            .collect(),
    }
}

/// What a Python command line runs, after the interpreter's own options.
#[derive(Debug, PartialEq, Eq)]
pub enum PyTarget<'a> {
    Script(&'a OsStr),
    Module(&'a OsStr),
    Command,
    Stdin,
}

/// Reads CPython's options the way its getopt does: clusters of flags,
/// `-W`/`-X`/`--check-hash-based-pycs` take a value, `-c`/`-m` end the
/// options (their value may be glued on: `-mcelery`).
pub fn python_target<'a>(args: &[&'a OsStr]) -> PyTarget<'a> {
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let b = a.as_bytes();
        if b == b"--" {
            return rest.next().map_or(PyTarget::Stdin, |s| PyTarget::Script(s));
        }
        if b == b"-" {
            return PyTarget::Stdin;
        }
        if let Some(long) = b.strip_prefix(b"--") {
            if long == b"check-hash-based-pycs" {
                rest.next();
            }
            continue;
        }
        let Some(flags) = b.strip_prefix(b"-") else {
            return PyTarget::Script(a);
        };
        for (i, f) in flags.iter().enumerate() {
            let glued = &flags[i + 1..];
            match f {
                b'c' => return PyTarget::Command,
                b'm' if !glued.is_empty() => return PyTarget::Module(OsStr::from_bytes(glued)),
                b'm' => return rest.next().map_or(PyTarget::Stdin, |m| PyTarget::Module(m)),
                b'W' | b'X' => {
                    if glued.is_empty() {
                        rest.next();
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    PyTarget::Stdin
}

/// A program's name as a title or path shows it: the first word, its file
/// name, without a trailing `:` (`gunicorn: worker`) or `.py`.
fn program_name(s: &OsStr) -> &[u8] {
    let b = s.as_bytes();
    let word = b.split(|&c| c == b' ').next().unwrap_or(b);
    let base = word.rsplit(|&c| c == b'/').next().unwrap_or(word);
    let base = base.strip_suffix(b":").unwrap_or(base);
    base.strip_suffix(b".py").unwrap_or(base)
}

/// The process manager this process is, by the name in its title or
/// executable, or (a Python process) its script or module: supervisord
/// runs as `python /venv/bin/supervisord -c …` or `python -m
/// supervisor.supervisord`.
pub fn manager<'a>(
    argv: &[&OsStr],
    exe: &Path,
    python: bool,
    managers: &[&'a [u8]],
) -> Option<&'a [u8]> {
    let mut names = vec![program_name(exe.as_os_str())];
    if let Some((first, rest)) = argv.split_first() {
        names.push(program_name(first));
        if python {
            match python_target(rest) {
                PyTarget::Script(s) => names.push(program_name(s)),
                PyTarget::Module(m) => {
                    let m = m.as_bytes();
                    names.push(m.rsplit(|&c| c == b'.').next().unwrap_or(m));
                }
                PyTarget::Command | PyTarget::Stdin => {}
            }
        }
    }
    managers
        .iter()
        .copied()
        .find(|m| names.iter().any(|n| n == m))
}

/// Whether this process is uWSGI, by its command name or its executable
/// (Debian's `uwsgi` is a link to `uwsgi-core`).
pub fn is_uwsgi(argv: &[&OsStr], exe: &Path) -> bool {
    let named = |n: &[u8]| n == b"uwsgi" || n.starts_with(b"uwsgi-") || n.starts_with(b"uwsgi_");
    named(program_name(exe.as_os_str())) || argv.first().is_some_and(|a| named(program_name(a)))
}

/// What uWSGI's command line says about the Python home it set.
#[derive(Debug, PartialEq, Eq)]
pub enum UwsgiHome<'a> {
    /// `--virtualenv DIR` and its aliases; the flag as written.
    Dir {
        flag: &'a OsStr,
        dir: &'a OsStr,
    },
    /// A configuration file, read after the last flag (if any), may set
    /// it: the command line alone cannot tell.
    Config(&'a OsStr),
    Unset,
}

const UWSGI_HOME: &[&[u8]] = &[b"home", b"virtualenv", b"venv", b"pyhome"];
const UWSGI_CONFIG: &[&[u8]] = &[b"ini", b"yaml", b"yml", b"json", b"xml", b"config"];
const UWSGI_CONFIG_EXT: &[&[u8]] = &[b".ini", b".yaml", b".yml", b".json", b".js", b".xml"];

/// uWSGI reads its options in order, a later `home` replacing an earlier
/// one, and a configuration file's options taking effect where the file
/// is named (`--ini FILE`, or a bare `FILE.ini` operand).
pub fn uwsgi_home<'a>(args: &[&'a OsStr]) -> UwsgiHome<'a> {
    let mut found = UwsgiHome::Unset;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        let next = args.get(i + 1).copied();
        i += 1;
        if let Some(long) = a.strip_prefix(b"--") {
            let (name, glued) = match long.iter().position(|&c| c == b'=') {
                Some(eq) => (&long[..eq], Some(OsStr::from_bytes(&long[eq + 1..]))),
                None => (long, None),
            };
            let flag = OsStr::from_bytes(&a[..2 + name.len()]);
            let is_home = UWSGI_HOME.contains(&name);
            if !is_home && !UWSGI_CONFIG.contains(&name) {
                continue;
            }
            let Some(value) = glued.or_else(|| {
                i += 1;
                next
            }) else {
                break;
            };
            found = if is_home {
                UwsgiHome::Dir { flag, dir: value }
            } else {
                UwsgiHome::Config(value)
            };
        } else if let Some(glued) = a.strip_prefix(b"-H") {
            let value = if glued.is_empty() {
                i += 1;
                next
            } else {
                Some(OsStr::from_bytes(glued))
            };
            if let Some(dir) = value {
                found = UwsgiHome::Dir {
                    flag: OsStr::new("-H"),
                    dir,
                };
            }
        } else if !a.starts_with(b"-") && UWSGI_CONFIG_EXT.iter().any(|e| a.ends_with(e)) {
            found = UwsgiHome::Config(args[i - 1]);
        }
    }
    found
}

/// The file paths of a `/proc/PID/maps` read, in order (repeats
/// included). The path is everything after the fifth field, spaces and
/// all; anonymous and special mappings (`[heap]`) are left out, and a
/// replaced file keeps its ` (deleted)` suffix so it cannot match a file
/// that exists now.
pub fn mapped_files(maps: &[u8]) -> impl Iterator<Item = &OsStr> {
    maps.split(|&b| b == b'\n').filter_map(|line| {
        let mut rest = line;
        for _ in 0..5 {
            let start = rest.iter().position(|&b| b != b' ')?;
            rest = &rest[start..];
            let end = rest.iter().position(|&b| b == b' ')?;
            rest = &rest[end..];
        }
        let start = rest.iter().position(|&b| b != b' ')?;
        let path = &rest[start..];
        path.starts_with(b"/").then(|| OsStr::from_bytes(path))
    })
}

/// The prefix a file under `PREFIX/lib/pythonX.Y/site-packages/` belongs
/// to (`lib64` too): where an extension module of an environment lives.
/// Only the shape of the path is checked; whether PREFIX is a venv is the
/// caller's business.
pub fn site_packages_prefix(file: &Path) -> Option<&Path> {
    let parts: Vec<Component> = file.components().collect();
    let at = parts.windows(3).position(|w| {
        matches!(w, [Component::Normal(lib), Component::Normal(py), Component::Normal(sp)]
            if (*lib == "lib" || *lib == "lib64")
                && py.as_bytes().starts_with(b"python")
                && *sp == "site-packages")
    })?;
    // A file directly in site-packages or below it; `at` counts the
    // components of PREFIX.
    if parts.len() <= at + 3 {
        return None;
    }
    let mut prefix = file;
    for _ in at..parts.len() {
        prefix = prefix.parent()?;
    }
    Some(prefix)
}

/// A mapped shared library that embeds CPython (`libpython3.11.so.1.0`).
pub fn is_libpython(file: &OsStr) -> bool {
    let name = Path::new(file)
        .file_name()
        .map_or(&b""[..], |n| n.as_bytes());
    name.starts_with(b"libpython") && name.windows(3).any(|w| w == b".so")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&'static str]) -> Vec<&'static OsStr> {
        s.iter().map(|a| OsStr::new(*a)).collect()
    }

    #[test]
    fn python_targets() {
        let t = |s: &[&'static str]| python_target(&argv(s));
        let os = OsStr::new;
        assert_eq!(
            t(&["/v/bin/supervisord", "-c", "x"]),
            PyTarget::Script(os("/v/bin/supervisord"))
        );
        assert_eq!(
            t(&["-u", "-W", "ignore", "run.py"]),
            PyTarget::Script(os("run.py"))
        );
        assert_eq!(
            t(&["-Wignore", "-X", "dev", "a.py"]),
            PyTarget::Script(os("a.py"))
        );
        assert_eq!(
            t(&["-Bm", "supervisor.supervisord"]),
            PyTarget::Module(os("supervisor.supervisord"))
        );
        assert_eq!(
            t(&["-mcircus.circusd"]),
            PyTarget::Module(os("circus.circusd"))
        );
        assert_eq!(t(&["-c", "import x", "y.py"]), PyTarget::Command);
        assert_eq!(t(&["-Ic", "x"]), PyTarget::Command);
        assert_eq!(
            t(&["--check-hash-based-pycs", "always", "s.py"]),
            PyTarget::Script(os("s.py"))
        );
        assert_eq!(t(&["--", "-odd.py"]), PyTarget::Script(os("-odd.py")));
        assert_eq!(t(&["-"]), PyTarget::Stdin);
        assert_eq!(t(&[]), PyTarget::Stdin);
        assert_eq!(t(&["-m"]), PyTarget::Stdin);
    }

    #[test]
    fn managers_by_script_module_title_and_exe() {
        let list = managers(None);
        let p = Path::new;
        let m = |a: &[&'static str], exe: &str, py: bool| manager(&argv(a), p(exe), py, &list);
        let sd: Option<&[u8]> = Some(b"supervisord");
        assert_eq!(
            m(
                &["/sv/bin/python", "/sv/bin/supervisord", "-n"],
                "/usr/bin/python3.11",
                true
            ),
            sd
        );
        assert_eq!(
            m(
                &["python3", "-m", "supervisor.supervisord"],
                "/usr/bin/python3.11",
                true
            ),
            sd
        );
        assert_eq!(
            m(
                &["/usr/bin/python3", "/usr/bin/supervisord.py"],
                "/usr/bin/python3.11",
                true
            ),
            sd
        );
        assert_eq!(m(&["supervisord: main"], "/usr/bin/python3.11", true), sd);
        assert_eq!(
            m(
                &["/c/bin/python", "/c/bin/circusd", "c.ini"],
                "/c/bin/python",
                true
            ),
            Some(&b"circusd"[..])
        );
        assert_eq!(
            m(
                &["/v/bin/python", "/v/bin/celery", "worker"],
                "/usr/bin/python3.11",
                true
            ),
            None
        );
        // The script is only a script to a Python.
        assert_eq!(m(&["cat", "supervisord"], "/usr/bin/cat", false), None);
        assert_eq!(
            m(&["python", "-c", "supervisord"], "/usr/bin/python3", true),
            None
        );
    }

    #[test]
    fn managers_list_is_replaced_by_the_variable() {
        let os = OsStr::new;
        assert_eq!(managers(None), DEFAULT_MANAGERS);
        assert!(managers(Some(os(""))).is_empty());
        assert_eq!(managers(Some(os("::honcho:"))), [&b"honcho"[..]]);
        let list = managers(Some(os("supervisord:circusd:honcho")));
        let a = argv(&["/h/bin/python", "/h/bin/honcho", "start"]);
        assert_eq!(
            manager(&a, Path::new("/usr/bin/python3"), true, &list),
            Some(&b"honcho"[..])
        );
        let none = managers(Some(os("")));
        let a = argv(&["/sv/bin/python", "/sv/bin/supervisord"]);
        assert_eq!(
            manager(&a, Path::new("/usr/bin/python3"), true, &none),
            None
        );
    }

    #[test]
    fn uwsgi_is_known_by_name_or_executable() {
        let p = Path::new;
        assert!(is_uwsgi(
            &argv(&["uwsgi", "--ini", "x"]),
            p("/usr/bin/uwsgi-core")
        ));
        assert!(is_uwsgi(&argv(&["my title"]), p("/usr/bin/uwsgi-core")));
        assert!(is_uwsgi(&argv(&["/opt/bin/uwsgi"]), p("/opt/bin/uwsgi")));
        assert!(!is_uwsgi(&argv(&["uwsgitop"]), p("/usr/bin/python3")));
    }

    #[test]
    fn uwsgi_home_flags() {
        let h = |s: &[&'static str]| uwsgi_home(&argv(s));
        let dir = |flag: &'static str, d: &'static str| UwsgiHome::Dir {
            flag: OsStr::new(flag),
            dir: OsStr::new(d),
        };
        assert_eq!(
            h(&["--virtualenv", "/v", "--http", ":0"]),
            dir("--virtualenv", "/v")
        );
        assert_eq!(h(&["--virtualenv=/v"]), dir("--virtualenv", "/v"));
        assert_eq!(h(&["-H", "/v"]), dir("-H", "/v"));
        assert_eq!(h(&["-H/v"]), dir("-H", "/v"));
        assert_eq!(h(&["--home", "/a", "--venv", "/b"]), dir("--venv", "/b"));
        assert_eq!(h(&["--pyhome=/p", "--master"]), dir("--pyhome", "/p"));
        assert_eq!(h(&["--master", "--wsgi-file", "app.py"]), UwsgiHome::Unset);
        assert_eq!(h(&["--virtualenv"]), UwsgiHome::Unset);
        // A configuration file after the flag may override it.
        assert_eq!(
            h(&["-H", "/v", "--ini", "app.ini"]),
            UwsgiHome::Config(OsStr::new("app.ini"))
        );
        assert_eq!(h(&["app.ini"]), UwsgiHome::Config(OsStr::new("app.ini")));
        assert_eq!(h(&["--ini=a.ini", "--home", "/v"]), dir("--home", "/v"));
        // A flag's value is not an operand.
        assert_eq!(
            h(&["--wsgi-file", "x.py", "--virtualenv", "v.ini"]),
            dir("--virtualenv", "v.ini")
        );
    }

    #[test]
    fn maps_lines_give_their_paths() {
        let maps = b"55d0c000-55d0d000 r--p 00000000 08:01 131 /usr/bin/python3.11\n\
            7f00-7f01 rw-p 00000000 00:00 0 \n\
            7f01-7f02 rw-p 00000000 00:00 0                          [heap]\n\
            7f02-7f03 r-xp 00001000 08:01 99 /srv/my app/.venv/lib/python3.11/site-packages/x.so (deleted)\n\
            7f03-7f04 r--p 00000000 08:01 7  /lib/x86_64-linux-gnu/libc.so.6\n\
            short line\n";
        let got: Vec<&OsStr> = mapped_files(maps).collect();
        assert_eq!(
            got,
            [
                "/usr/bin/python3.11",
                "/srv/my app/.venv/lib/python3.11/site-packages/x.so (deleted)",
                "/lib/x86_64-linux-gnu/libc.so.6"
            ]
        );
        assert_eq!(mapped_files(b"").count(), 0);
    }

    #[test]
    fn site_packages_prefixes() {
        let p = Path::new;
        let so = "/srv/app/.venv/lib/python3.11/site-packages/setproctitle/_setproctitle.cpython-311-x86_64-linux-gnu.so";
        assert_eq!(site_packages_prefix(p(so)), Some(p("/srv/app/.venv")));
        assert_eq!(
            site_packages_prefix(p("/v/lib64/python3.12/site-packages/a.so")),
            Some(p("/v"))
        );
        assert_eq!(
            site_packages_prefix(p("/usr/lib/python3/dist-packages/a.so")),
            None
        );
        assert_eq!(
            site_packages_prefix(p("/v/lib/python3.11/site-packages")),
            None
        );
        assert_eq!(
            site_packages_prefix(p("/usr/lib/python3.11/lib-dynload/_ssl.so")),
            None
        );
        assert_eq!(
            site_packages_prefix(p("lib/python3.11/site-packages/a.so")),
            Some(p(""))
        );
    }

    #[test]
    fn libpython_is_recognised() {
        assert!(is_libpython(OsStr::new(
            "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
        )));
        assert!(is_libpython(OsStr::new("/opt/py/lib/libpython3.12d.so")));
        assert!(!is_libpython(OsStr::new("/usr/lib/libpythonish.a")));
        assert!(!is_libpython(OsStr::new("/usr/bin/python3.11")));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn args(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any command line: no panic.
        #[test]
        fn parsers_take_any_bytes(a in args(8)) {
            let a: Vec<&OsStr> = a.iter().map(|v| OsStr::from_bytes(v)).collect();
            let _ = python_target(&a);
            let _ = uwsgi_home(&a);
            let _ = manager(&a, Path::new("/x"), true, DEFAULT_MANAGERS);
        }

        /// Any maps bytes: no panic; every path is absolute.
        #[test]
        fn maps_any_bytes(maps in proptest::collection::vec(any::<u8>(), 0..1024)) {
            for f in mapped_files(&maps) {
                prop_assert!(f.as_bytes().starts_with(b"/"));
                let _ = site_packages_prefix(Path::new(f));
            }
        }
    }
}
