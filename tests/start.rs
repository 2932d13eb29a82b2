//! The static build's own entry point (src/platform/start.rs): glibc
//! starts without the environment and `main` gets it back. Whatever the
//! environment holds, the static binary must decide exactly as the test
//! build (the usual entry point) does, and pass on the same bytes.
//!
//! Needs the static build in VENVEXEC_STATIC_BIN (.ci/run builds it, with
//! install.sh's flags); skipped without it.

mod common;

use common::*;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

fn static_bin() -> Option<PathBuf> {
    match std::env::var_os("VENVEXEC_STATIC_BIN") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!(
                "skipped: set VENVEXEC_STATIC_BIN to a binary built as install.sh builds it \
                 (.ci/run does)"
            );
            None
        }
    }
}

/// Python writing what it was given, byte for byte: the block `execve`
/// passed (from /proc, so entries Python itself would drop still show),
/// then its arguments, NUL-separated, then `sys.prefix` and its effective
/// uid; sections split by `\x01\n`.
const DUMP: &str = "import os, sys\n\
    env = open('/proc/self/environ', 'rb').read()\n\
    args = b'\\0'.join(map(os.fsencode, sys.argv[1:]))\n\
    out = [env, args, os.fsencode(sys.prefix), str(os.geteuid()).encode()]\n\
    sys.stdout.buffer.write(b'\\x01\\n'.join(out))\n";

/// What a call through the `python` shim gave the interpreter.
#[derive(Debug, PartialEq)]
struct Seen {
    env: Vec<Vec<u8>>,
    args: Vec<u8>,
    prefix: Vec<u8>,
    euid: Vec<u8>,
}

impl Seen {
    fn parse(out: &[u8]) -> Seen {
        let mut parts = out
            .split(|&b| b == 1)
            .map(|p| p.strip_prefix(b"\n").unwrap_or(p));
        let mut env: Vec<Vec<u8>> = parts
            .next()
            .unwrap()
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        // Which binary ran, and when, where the shim records them: the
        // only entries the two builds cannot share.
        env.retain(|e| !e.starts_with(b"VENVEXEC_DEPTH=") && !e.starts_with(b"VENVEXEC_PASSED="));
        Seen {
            env,
            args: parts.next().unwrap().to_vec(),
            prefix: parts.next().unwrap().to_vec(),
            euid: parts.next().unwrap().to_vec(),
        }
    }

    fn has(&self, entry: &[u8]) -> bool {
        self.env.iter().any(|e| e == entry)
    }
}

/// A `python` shim at one fixed path, pointed at either build in turn, so
/// the two see the same PATH and the same `$0`.
struct Twin {
    sb: Sandbox,
    link: PathBuf,
    built: PathBuf,
}

impl Twin {
    fn new() -> Option<Twin> {
        let sb = Sandbox::with_shims(&[]);
        // Named venvexec wherever it was built, so it is the CLI when
        // called by its own name.
        let built = sb.dir("static").join("venvexec");
        fs::copy(static_bin()?, &built).unwrap();
        let link = sb.shims.join("python");
        Some(Twin { sb, link, built })
    }

    /// `python -c DUMP ARGS` through the shim, in `cwd`, with exactly
    /// `env` (plus the sandbox's PATH), once with each build.
    fn both(&self, cwd: &Path, env: Env, args: &[OsString]) -> (Seen, Seen) {
        let run = |binary: &Path| {
            let _ = fs::remove_file(&self.link);
            symlink(binary, &self.link).unwrap();
            let mut c = Command::new(&self.link);
            c.env_clear().env("PATH", self.sb.path()).current_dir(cwd);
            c.envs(env.iter().copied()).arg("-c").arg(DUMP).args(args);
            let o = run(&mut c);
            assert!(o.status.success(), "{}: {:?}", binary.display(), o.status);
            Seen::parse(&o.stdout)
        };
        (run(&bin()), run(&self.built))
    }
}

/// Variables as `Command::envs` takes them.
type Env<'a> = &'a [(&'a OsStr, &'a OsStr)];

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// What glibc's start-up would read, and what a user's shell holds: the
/// static build must pass every byte on. (The interpreter's own loader
/// rewrites GLIBC_TUNABLES in place, dropping what it does not know, so
/// the value is one it keeps.)
fn awkward_env(home: &Path) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = [
        ("GLIBC_TUNABLES", "glibc.malloc.check=3"),
        ("MALLOC_ARENA_MAX", "1"),
        ("LD_LIBRARY_PATH", "/nowhere"),
        ("LANG", "C.UTF-8"),
        ("EMPTY", ""),
        ("EQUALS", "a=b=c"),
    ]
    .iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    env.push(("HOME".into(), home.into()));
    env.push(("LONG".into(), "x".repeat(100_000).into()));
    env.push(("BYTES".into(), OsStr::from_bytes(b"\xff\xfe\x80").into()));
    // More variables than a login shell has.
    env.extend((0..200).map(|i| (format!("V{i}").into(), format!("{i}").into())));
    env
}

fn pairs(env: &[(OsString, OsString)]) -> Vec<(&OsStr, &OsStr)> {
    env.iter()
        .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
        .collect()
}

#[test]
fn the_static_build_decides_and_passes_on_as_the_test_build_does() {
    let Some(twin) = Twin::new() else { return };
    let sb = &twin.sb;
    let (proj, here) = project(sb, "proj", "HERE");
    let (_, named) = project(sb, "other", "NAMED");
    let nowhere = sb.dir("nowhere/deep");
    let mut env = awkward_env(&sb.home);
    env.push(("VENVEXEC_CEILING_DIRS".into(), sb.root().into()));
    env.push(("VENVEXEC_NO_INHERIT".into(), "1".into()));
    let base = pairs(&env);

    // Each case's answer depends on a variable only the restored
    // environment holds, or on the walk from the working directory.
    let venvexec_venv = [&base[..], &[(os("VENVEXEC_VENV"), named.as_os_str())]].concat();
    let activated = [&base[..], &[(os("VIRTUAL_ENV"), named.as_os_str())]].concat();
    let cases: [(&str, &Path, Env, &Path); 3] = [
        ("project walk", &proj, &base, &here),
        ("VENVEXEC_VENV", &proj, &venvexec_venv, &named),
        ("VIRTUAL_ENV", &proj, &activated, &named),
    ];
    for (what, cwd, env, venv) in cases {
        let (test_build, static_build) = twin.both(cwd, env, &awkward_args());
        assert_eq!(static_build, test_build, "{what}");
        assert_eq!(static_build.prefix, venv.as_os_str().as_bytes(), "{what}");
        assert_eq!(static_build.args, echoed(&awkward_args()), "{what}");
        for (k, v) in env {
            let entry = [k.as_bytes(), b"=", v.as_bytes()].concat();
            assert!(
                static_build.has(&entry),
                "{what}: {k:?} reached the interpreter"
            );
        }
    }

    // Nothing found: both fall through to the next `python` on PATH, or
    // say that there is none, alike.
    let mut c = Command::new(&twin.link);
    c.env_clear().env("PATH", sb.path()).current_dir(&nowhere);
    c.envs(base.iter().copied()).args(["-c", "pass"]);
    let mut said = |binary: &Path| {
        let _ = fs::remove_file(&twin.link);
        symlink(binary, &twin.link).unwrap();
        let o = run(&mut c);
        (o.status.code(), stderr(&o))
    };
    let test_build = said(&bin());
    assert_eq!(test_build, said(&twin.built), "the fall-through, alike");
}

#[test]
fn hundreds_of_arguments_leave_the_frame_whole_and_still_work() {
    // Over ROOM: the entry point leaves the kernel's frame as it is.
    let Some(twin) = Twin::new() else { return };
    let (project, here) = project(&twin.sb, "proj", "MANY");
    let env = awkward_env(&twin.sb.home);
    for count in [400, 600, 5000] {
        let args: Vec<OsString> = (0..count)
            .map(|i| OsString::from(format!("a{i}")))
            .collect();
        let (test_build, static_build) = twin.both(&project, &pairs(&env), &args);
        assert_eq!(static_build, test_build, "{count} arguments");
        assert_eq!(static_build.prefix, here.as_os_str().as_bytes());
        assert_eq!(static_build.args, echoed(&args), "{count} arguments");
        assert!(static_build.has(b"GLIBC_TUNABLES=glibc.malloc.check=3"));
    }
}

#[test]
fn the_command_line_face_reads_the_restored_environment() {
    let Some(twin) = Twin::new() else { return };
    let sb = &twin.sb;
    let (_, named) = project(sb, "other", "CLI");
    let elsewhere = sb.dir("elsewhere");
    let which = |binary: &Path| {
        let mut c = sb.cmd(binary, &elsewhere);
        fence(&mut c, sb)
            .env("VENVEXEC_VENV", &named)
            .args(["which", "-v"]);
        ok(&mut c)
    };
    let (a, b) = (which(&bin()), which(&twin.built));
    assert_eq!(a, b);
    assert!(b.contains(&*named.to_string_lossy()), "{b}");
}

/// A set-user-ID venvexec (nobody should make one, but the entry point
/// must not make it worse): glibc cleans the environment of a secure
/// process at start-up, so the entry point leaves the frame whole and the
/// cleaning still happens: `LD_LIBRARY_PATH` never reaches the interpreter.
#[test]
fn a_set_user_id_binary_still_gets_glibcs_cleaning() {
    use std::os::unix::fs::PermissionsExt;
    let Some(twin) = Twin::new() else { return };
    let Some(who) = test_user("venvexec-test-start") else {
        return;
    };
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: setpriv is not available to run as another user");
        return;
    }
    let sb = &twin.sb;
    // The test user must reach the sandbox, as /tmp is reached.
    chmod(&sb.root(), "755");
    let (project, here) = project(sb, "proj", "SUID");
    let suid = sb.root().join("venvexec-suid");
    fs::copy(&twin.built, &suid).unwrap();
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).unwrap();
    let _ = fs::remove_file(&twin.link);
    symlink(&suid, &twin.link).unwrap();

    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .args(["--clear-groups", "--"])
        .arg(&twin.link)
        .args(["-c", DUMP])
        .env_clear()
        .env("PATH", sb.path())
        .env("HOME", &sb.home)
        .env("LD_LIBRARY_PATH", "/nowhere")
        .env("KEPT", "yes")
        .env("VENVEXEC_NO_INHERIT", "1")
        .current_dir(&project);
    let o = run(&mut c);
    if !o.status.success() && stderr(&o).contains("setpriv") {
        eprintln!("skipped: setpriv cannot run as uid {}", who.0);
        return;
    }
    assert!(o.status.success(), "{:?}", o.status);
    let seen = Seen::parse(&o.stdout);
    if seen.euid != b"0" {
        eprintln!("skipped: set-user-ID bits are ignored here (a nosuid mount?)");
        return;
    }
    assert_eq!(seen.prefix, here.as_os_str().as_bytes());
    assert!(seen.has(b"KEPT=yes"), "{:?}", seen.env);
    assert!(
        !seen.env.iter().any(|e| e.starts_with(b"LD_LIBRARY_PATH=")),
        "glibc's secure-mode cleaning was skipped: {:?}",
        seen.env
    );
}
