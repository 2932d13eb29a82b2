//! venvexec as PID 1 and with `--init`: real PID namespaces (`unshare`),
//! real signals, real orphans, real venvs.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

/// Whether this machine lets us make a PID namespace (root, or user
/// namespaces allowed). When it does not, the namespace tests say so and
/// pass: the `--init` tests below cover the same loop outside one.
fn namespaces_work() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

macro_rules! need_namespaces {
    () => {
        if !namespaces_work() {
            eprintln!(
                "skipped: `unshare --pid --fork --mount-proc true` does not work here (not root, or user namespaces disabled)"
            );
            return;
        }
    };
}

/// A sandbox with one real venv in it.
fn setup() -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let venv = make_venv(&sb.root().join("venv"), "app");
    (sb, venv)
}

/// Signals arrive as a user's terminal or `docker stop` would send them:
/// a test run from a script in the background starts with SIGINT and
/// SIGQUIT ignored, and an ignored signal is (rightly) left ignored.
fn default_signals(c: &mut Command) -> &mut Command {
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        c.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// `unshare --pid --fork --mount-proc venvexec --venv V -- python -c SCRIPT`:
/// venvexec is PID 1 of a fresh namespace, as in a container.
fn as_pid1(sb: &Sandbox, venv: &Path, script: &str) -> Command {
    let mut c = sb.cmd("unshare", &sb.root());
    c.args(["--pid", "--fork", "--mount-proc"])
        .arg(bin())
        .arg("--venv")
        .arg(venv)
        .args(["--", "python", "-c", script]);
    default_signals(&mut c);
    c
}

/// `venvexec --init --venv V -- python -c SCRIPT`, no namespace.
fn with_init(sb: &Sandbox, venv: &Path, script: &str) -> Command {
    let mut c = sb.venvexec(&sb.root());
    c.arg("--init")
        .arg("--venv")
        .arg(venv)
        .args(["--", "python", "-c", script]);
    default_signals(&mut c);
    c
}

/// A running command whose stdout we read line by line.
struct Running {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
    seen: String,
}

fn start(c: &mut Command) -> Running {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning");
    let out = BufReader::new(child.stdout.take().unwrap());
    Running {
        child,
        out,
        seen: String::new(),
    }
}

impl Running {
    /// Reads stdout until a line equal to `marker` (the app is set up).
    fn wait_for_line(&mut self, marker: &str) {
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).expect("reading stdout");
            assert!(n > 0, "stdout ended before {marker:?}; got {:?}", self.seen);
            self.seen.push_str(&line);
            if line.trim_end() == marker {
                return;
            }
        }
    }

    /// Waits (at most 10 s, then kills) and returns the status, the rest of
    /// stdout, and how long the wait took.
    fn finish(mut self) -> (ExitStatus, String, Duration) {
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting") {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                panic!("still running after 10 s; stdout so far: {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = t0.elapsed();
        let mut rest = String::new();
        let _ = self.out.read_to_string(&mut rest);
        self.seen.push_str(&rest);
        eprintln!("status: {status:?}\nstdout: {}", self.seen);
        (status, self.seen, took)
    }
}

/// The host pid of the process whose parent is `parent`: venvexec, as
/// the only child of `unshare --fork`.
fn child_of(parent: u32) -> u32 {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parens.
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            return pid;
        }
    }
    panic!("no child of pid {parent} found in /proc");
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: plain kill(2) on a pid this test started.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

const SLEEPER: &str = r#"
import os, time
print("pid", os.getpid(), "ppid", os.getppid(), flush=True)
print("ready", flush=True)
time.sleep(30)
print("not interrupted", flush=True)
"#;

#[test]
fn docker_stop_sigterm_to_pid1_ends_the_app_with_143() {
    need_namespaces!();
    let (sb, venv) = setup();
    let mut run = start(&mut as_pid1(&sb, &venv, SLEEPER));
    run.wait_for_line("ready");
    // Inside the namespace the app is PID 2, a child of venvexec (PID 1).
    assert!(run.seen.contains("pid 2 ppid 1"), "{}", run.seen);
    let venvexec = child_of(run.child.id());
    signal(venvexec, libc::SIGTERM);
    let (status, out, took) = run.finish();
    // Python has no SIGTERM handler: it dies of the signal, and venvexec
    // reports that as 128+15, which unshare passes on.
    assert_eq!(status.code(), Some(143));
    assert!(!out.contains("not interrupted"));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn sigint_to_pid1_gives_the_app_its_keyboard_interrupt() {
    need_namespaces!();
    let (sb, venv) = setup();
    let script = r#"
import sys, time
try:
    print("ready", flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    print("caught KeyboardInterrupt", flush=True)
    sys.exit(7)
"#;
    let mut run = start(&mut as_pid1(&sb, &venv, script));
    run.wait_for_line("ready");
    signal(child_of(run.child.id()), libc::SIGINT);
    let (status, out, took) = run.finish();
    assert_eq!(status.code(), Some(7));
    assert!(out.contains("caught KeyboardInterrupt"), "{out}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// The app double-forks three grandchildren that exit after 0.2 s while it
/// keeps running: they are re-parented to the init (PID 1, or venvexec as
/// a subreaper with `--init`), which must reap them. The app then reports
/// the zombies among the processes it can see, and whether the orphans'
/// pids still exist.
const ORPHANS: &str = r#"
import os, time
orphans = []
r, w = os.pipe()
for i in range(3):
    pid = os.fork()
    if pid == 0:
        gpid = os.fork()
        if gpid == 0:
            time.sleep(0.1)
            print("orphan ppid", os.getppid(), flush=True)
            time.sleep(0.1)
            os._exit(0)
        os.write(w, b"%d\n" % gpid)
        os._exit(0)
    os.waitpid(pid, 0)
os.close(w)
orphans = [int(x) for x in os.read(r, 4096).split()]
time.sleep(0.8)
zombies = 0
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            zombies += 1
left = sum(os.path.exists("/proc/%d" % p) for p in orphans)
print("orphans", len(orphans), "left", left, flush=True)
print("zombies", zombies, flush=True)
"#;

#[test]
fn orphans_that_exit_leave_no_zombie_under_pid1() {
    need_namespaces!();
    let (sb, venv) = setup();
    let out = ok(&mut as_pid1(&sb, &venv, ORPHANS));
    assert_eq!(out.matches("orphan ppid 1\n").count(), 3, "{out}");
    assert!(out.contains("orphans 3 left 0"), "{out}");
    // Inside the namespace /proc shows only its own processes.
    assert!(out.contains("zombies 0"), "{out}");
}

#[test]
fn orphans_are_reaped_with_init_outside_a_namespace() {
    let (sb, venv) = setup();
    let run = start(&mut with_init(&sb, &venv, ORPHANS));
    let venvexec = run.child.id();
    let (status, out, _) = run.finish();
    assert!(status.success());
    // venvexec is their subreaper: they come to it, not to the host init.
    let expected = format!("orphan ppid {venvexec}\n");
    assert_eq!(out.matches(&expected).count(), 3, "{out}");
    assert!(out.contains("orphans 3 left 0"), "{out}");
}

#[test]
fn exit_codes_and_signal_deaths_come_through_pid1() {
    need_namespaces!();
    let (sb, venv) = setup();
    let cases = [
        ("print('bye')", 0),
        ("import sys; sys.exit(3)", 3),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
            137,
        ),
    ];
    for (script, code) in cases {
        let o = run(&mut as_pid1(&sb, &venv, script));
        assert_eq!(o.status.code(), Some(code), "{script}");
    }
}

#[test]
fn pid1_runs_the_venv_python() {
    need_namespaces!();
    let (sb, venv) = setup();
    let out = ok(&mut as_pid1(&sb, &venv, PROBE));
    assert_eq!(out, format!("app {}", venv.display()));
}

#[test]
fn init_forwards_sigterm_to_the_apps_handler() {
    let (sb, venv) = setup();
    let script = r#"
import os, signal, sys, time
def stop(signo, frame):
    # os.write: the signal may land while print() holds stdout's lock.
    os.write(1, b"handler got %s\n" % signal.Signals(signo).name.encode())
    sys.exit(21)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(30)
"#;
    let mut run = start(&mut with_init(&sb, &venv, script));
    run.wait_for_line("ready");
    signal(run.child.id(), libc::SIGTERM);
    let (status, out, took) = run.finish();
    assert_eq!(status.code(), Some(21));
    assert!(out.contains("handler got SIGTERM"), "{out}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn init_reports_death_by_signal_as_128_plus_n() {
    let (sb, venv) = setup();
    let mut run = start(&mut with_init(&sb, &venv, SLEEPER));
    run.wait_for_line("ready");
    signal(run.child.id(), libc::SIGUSR1);
    let (status, _, _) = run.finish();
    assert_eq!(status.code(), Some(128 + libc::SIGUSR1));
}

/// What `ps` would show: with `--init` there is one more process, the
/// app's parent; with `--no-init` venvexec became the app.
#[test]
fn init_keeps_a_parent_and_no_init_execs() {
    let (sb, venv) = setup();
    let script = "import os; print(os.getpid(), os.getppid())";
    let ids = |c: &mut Command| -> (u32, u32, u32) {
        let child = c.stdout(Stdio::piped()).spawn().expect("spawning");
        let venvexec = child.id();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{o:?}");
        let s = stdout(&o);
        let mut it = s.split_whitespace().map(|x| x.parse::<u32>().unwrap());
        (venvexec, it.next().unwrap(), it.next().unwrap())
    };

    let (venvexec, pid, ppid) = ids(&mut with_init(&sb, &venv, script));
    assert_ne!(pid, venvexec, "--init must not exec");
    assert_eq!(ppid, venvexec, "the app's parent is venvexec");

    let mut c = sb.venvexec(&sb.root());
    c.arg("--no-init")
        .arg("--venv")
        .arg(&venv)
        .args(["--", "python", "-c", script]);
    let (venvexec, pid, _) = ids(&mut c);
    assert_eq!(pid, venvexec, "--no-init execs: same process");
}

#[test]
fn no_init_execs_even_as_pid1() {
    need_namespaces!();
    let (sb, venv) = setup();
    let mut c = sb.cmd("unshare", &sb.root());
    c.args(["--pid", "--fork", "--mount-proc"])
        .arg(bin())
        .args(["--no-init", "--venv"])
        .arg(&venv)
        .args(["--", "python", "-c", "import os; print(os.getpid())"]);
    assert_eq!(ok(&mut c), "1");
}

#[test]
fn a_missing_or_broken_venv_is_an_error_never_the_system_python() {
    let sb = Sandbox::new();
    let missing = sb.root().join("opt/venv");
    let script = "import sys; print('RAN', sys.prefix)";

    // VENVEXEC_VENV, as an image's ENV would set it.
    let mut c = sb.venvexec(&sb.root());
    c.env("VENVEXEC_VENV", &missing)
        .args(["--init", "--", "python", "-c", script]);
    let o = run(&mut c);
    assert_eq!(o.status.code(), Some(126));
    assert!(stdout(&o).is_empty(), "something ran: {}", stdout(&o));
    assert!(stderr(&o).starts_with("venvexec: "), "{}", stderr(&o));
    assert!(stderr(&o).contains(&missing.display().to_string()));

    // --venv
    let o = run(&mut with_init(&sb, &missing, script));
    assert_eq!(o.status.code(), Some(126));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).starts_with("venvexec: "), "{}", stderr(&o));

    // A venv whose interpreter link dangles (its base Python is gone).
    let broken = make_venv(&sb.root().join("broken"), "broken");
    for name in ["python", "python3"] {
        let link = broken.join("bin").join(name);
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("/nonexistent/python3.99", &link).unwrap();
    }
    let o = run(&mut with_init(&sb, &broken, script));
    assert_eq!(o.status.code(), Some(126));
    assert!(stdout(&o).is_empty(), "something ran: {}", stdout(&o));
    assert!(stderr(&o).starts_with("venvexec: "), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/python3.99"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_command_that_cannot_start_is_126_or_127_with_a_message() {
    let (sb, venv) = setup();
    let dir = sb.dir("not-a-program");
    let bad_shebang = sb.root().join("tool");
    std::fs::write(&bad_shebang, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(
        &bad_shebang,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    for (program, code) in [(&dir, 126), (&bad_shebang, 127)] {
        let mut c = sb.venvexec(&sb.root());
        c.arg("--init")
            .arg("--venv")
            .arg(&venv)
            .arg("--")
            .arg(program);
        let o = run(&mut c);
        assert_eq!(o.status.code(), Some(code), "{}", program.display());
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("venvexec: cannot run {}", program.display())),
            "{err}"
        );
    }
}

/// ctrl-C at a terminal signals the whole foreground process group, so the
/// app gets SIGINT from the kernel directly; venvexec must not send it a
/// second one. The app counts SIGINTs at the C level (a wakeup fd gets one
/// byte per delivered signal) while staying busy, so a second delivery
/// would not be merged into the first.
#[test]
fn ctrl_c_at_a_terminal_reaches_the_app_once() {
    let (sb, venv) = setup();
    let app = r#"
import os, signal, sys, time
r, w = os.pipe()
os.set_blocking(r, False)
os.set_blocking(w, False)
signal.signal(signal.SIGINT, lambda s, f: None)
signal.set_wakeup_fd(w)
print("ready", flush=True)
end = time.monotonic() + 0.6
while time.monotonic() < end:
    pass
try:
    n = len(os.read(r, 100))
except BlockingIOError:
    n = 0
print("sigints", n, flush=True)
sys.exit(5)
"#;
    // The driver puts venvexec on a new pseudo-terminal, as its session
    // leader, types ctrl-C once the app is ready, and reports the status.
    let driver = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def pump(until):
    global out
    end = time.monotonic() + 5
    while time.monotonic() < end and not until():
        if select.select([fd], [], [], 0.05)[0]:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
pump(lambda: b"ready" in out)
os.write(fd, b"\x03")
pump(lambda: False)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("status", os.waitstatus_to_exitcode(st))
"#;
    let mut c = sb.cmd(python3(), &sb.root());
    c.args(["-c", driver])
        .arg(bin())
        .arg("--init")
        .arg("--venv")
        .arg(&venv)
        .args(["--", "python", "-c", app]);
    default_signals(&mut c);
    let out = ok(&mut c);
    assert!(out.contains("sigints 1"), "{out}");
    assert!(out.contains("status 5"), "{out}");
}

/// What an ELF file asks of the dynamic loader: its PT_INTERP, and the
/// libraries its dynamic section lists as needed. A static-pie keeps a
/// dynamic section (to relocate itself) but has neither.
fn elf_loader_needs(bytes: &[u8]) -> Result<(bool, usize), String> {
    let u16_at = |o: usize| -> Result<u16, String> {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("truncated at {o}"))
    };
    let u64_at = |o: usize| -> Result<u64, String> {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("truncated at {o}"))
    };
    if bytes.get(0..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1]) {
        return Err("not a little-endian ELF64 file".into());
    }
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    let phnum = u16_at(0x38)? as usize;
    let (mut interp, mut needed) = (false, 0);
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32::from(u16_at(ph)?) | (u32::from(u16_at(ph + 2)?) << 16);
        match p_type {
            3 => interp = true, // PT_INTERP
            2 => {
                // PT_DYNAMIC: (d_tag, d_val) pairs up to DT_NULL.
                let (off, size) = (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize);
                for e in (off..off + size).step_by(16) {
                    match u64_at(e)? {
                        0 => break,
                        1 => needed += 1, // DT_NEEDED
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok((interp, needed))
}

#[test]
fn static_build_needs_no_dynamic_loader() {
    // The test binary itself is dynamic: the parser must see that.
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let (interp, needed) = elf_loader_needs(&me).unwrap();
    assert!(
        interp && needed > 0,
        "a dynamic test binary reads as static"
    );

    let Some(path) = std::env::var_os("VENVEXEC_STATIC_BIN") else {
        eprintln!(
            "skipped: set VENVEXEC_STATIC_BIN to a binary built with \
             RUSTFLAGS=\"-C target-feature=+crt-static -C relocation-model=static\" cargo build --release --target x86_64-unknown-linux-gnu"
        );
        return;
    };
    let bytes = std::fs::read(&path).expect("reading VENVEXEC_STATIC_BIN");
    let (interp, needed) = elf_loader_needs(&bytes).unwrap();
    assert!(!interp, "{path:?} names a dynamic loader (PT_INTERP)");
    assert_eq!(needed, 0, "{path:?} needs shared libraries (DT_NEEDED)");
    // And it runs, with nothing from the build machine.
    let o = Command::new(&path)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).starts_with("venvexec "), "{}", stdout(&o));
}

/// An app that handles `signals`, and says so for each one it gets; it
/// exits 0 once it has had them all.
fn catcher(signals: &[libc::c_int]) -> String {
    let list = signals
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
import os, signal, time
want = {{{list}}}
got = set()
def seen(signo, frame):
    os.write(1, b"got %d\n" % signo)
    got.add(signo)
for s in want:
    signal.signal(s, seen)
print("ready", flush=True)
deadline = time.monotonic() + 20
while got != want and time.monotonic() < deadline:
    time.sleep(0.01)
os._exit(0 if got == want else 3)
"#
    )
}

/// Signals that once killed `--init` itself (SIGALRM: exit 142 with the
/// app left running) or never reached the app (SIGRTMIN+3, a common
/// STOPSIGNAL), and a few more of the catchable asynchronous ones.
fn more_signals() -> Vec<libc::c_int> {
    vec![
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGPWR,
        libc::SIGXCPU,
        libc::SIGURG,
        libc::SIGCONT,
        libc::SIGRTMIN() + 3,
        libc::SIGRTMAX(),
    ]
}

/// `target`: which process to signal, asked once the app is up.
fn send_each_and_expect_all(
    mut run: Running,
    target: impl FnOnce(&Running) -> u32,
    signals: &[libc::c_int],
) {
    run.wait_for_line("ready");
    let target = target(&run);
    for &s in signals {
        signal(target, s);
        run.wait_for_line(&format!("got {s}"));
    }
    let (status, out, _) = run.finish();
    assert_eq!(status.code(), Some(0), "{out}");
}

#[test]
fn init_forwards_every_catchable_asynchronous_signal() {
    let (sb, venv) = setup();
    let signals = more_signals();
    let run = start(&mut with_init(&sb, &venv, &catcher(&signals)));
    send_each_and_expect_all(run, |r| r.child.id(), &signals);
}

#[test]
fn pid1_forwards_every_catchable_asynchronous_signal() {
    need_namespaces!();
    let (sb, venv) = setup();
    let signals = more_signals();
    let run = start(&mut as_pid1(&sb, &venv, &catcher(&signals)));
    send_each_and_expect_all(run, |r| child_of(r.child.id()), &signals);
}
