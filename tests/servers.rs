//! The inherited source against the real servers that start Python code:
//! a Celery worker (prefork and solo pools, with and without
//! setproctitle), a gunicorn worker, uWSGI with `--virtualenv`, supervisord
//! in its own venv, and the cron idiom of a relative interpreter path
//! followed by a change of directory.
//!
//! The third-party packages come from the pinned wheelhouse `.ci/servers`
//! prepares (`VENVEXEC_TEST_SERVERS`), uWSGI from Debian. Each test builds
//! its own venvs from the wheelhouse, offline (`pip install --no-index`),
//! into its sandbox: a venv of the test's own, at a path the test chose and
//! with the probe module only it has, is the situation under test (and the
//! test may add setproctitle to it halfway); a shared read-only venv could
//! neither carry a per-test probe nor be found "from its venv" at a path
//! that says which test it belongs to. Without the variable or the cache the
//! tests say they are skipped. Every server listens on a unix socket in the
//! sandbox or not at all, every wait is bounded, every server is killed.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// How long a server may take to start and run its one job.
const LIMIT: Duration = Duration::from_secs(90);

/// The wheelhouse `.ci/servers` filled for this interpreter, or `None`
/// with the reason printed.
fn wheelhouse() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("VENVEXEC_TEST_SERVERS").filter(|d| !d.is_empty()) else {
        eprintln!("skipped: VENVEXEC_TEST_SERVERS is not set (`.ci/servers` prepares the cache)");
        return None;
    };
    let out = Command::new(python3())
        .args(["-c", "import sys; print(sys.implementation.cache_tag)"])
        .output()
        .expect("running python3");
    let tag = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let wheels = Path::new(&dir).join(format!("wheelhouse-{tag}"));
    let complete = fs::read_dir(&wheels)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with(".complete-"))
        })
        .unwrap_or(false);
    if !complete {
        eprintln!(
            "skipped: no complete wheelhouse at {} (run .ci/servers)",
            wheels.display()
        );
        return None;
    }
    let pip = Command::new(python3())
        .args(["-m", "pip", "--version"])
        .output();
    if !pip.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped: {} has no pip to install from the wheelhouse",
            python3().display()
        );
        return None;
    }
    Some(wheels)
}

/// A venv at `dir` (probe tagged `tag`) with `packages` installed from the
/// wheelhouse, offline.
fn venv_with(wheels: &Path, dir: &Path, tag: &str, packages: &[&str]) -> PathBuf {
    let venv = make_venv(dir, tag);
    install(wheels, &venv, packages);
    venv
}

fn install(wheels: &Path, venv: &Path, packages: &[&str]) {
    let o = Command::new(python3())
        .args(["-m", "pip", "--python"])
        .arg(venv.join("bin/python"))
        .args([
            "install",
            "--quiet",
            "--no-index",
            "--no-compile",
            "--disable-pip-version-check",
        ])
        .arg("--find-links")
        .arg(wheels)
        .args(packages)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PYTHONNOUSERSITE", "1")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PIP_REQUIRE_VIRTUALENV")
        .output()
        .expect("running pip");
    assert!(
        o.status.success(),
        "pip install {packages:?} failed: {}",
        stderr(&o)
    );
}

/// A server started in its own process group; dropping it ends the whole
/// group (SIGTERM, then SIGKILL), whatever the test did.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(mut c: Command, log: PathBuf) -> Server {
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = c
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("starting the server");
        Server { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `file` to be written (its writer renames it into place,
    /// or it is a marker written last), failing with the server's log if
    /// the server dies or `LIMIT` passes.
    fn wait_for(&mut self, file: &Path) -> String {
        let start = Instant::now();
        loop {
            if let Ok(s) = fs::read_to_string(file) {
                return s;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // It may have written the file just before it ended.
                if let Ok(s) = fs::read_to_string(file) {
                    return s;
                }
                panic!(
                    "the server exited ({status}) before {} appeared:\n{}",
                    file.display(),
                    self.log()
                );
            }
            if start.elapsed() > LIMIT {
                panic!("no {} after {LIMIT:?}:\n{}", file.display(), self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM to the group: celery's pool, gunicorn's workers,
        // supervisord and the parent of uWSGI stop and reap their
        // children. Then SIGKILL for whatever is left.
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: signalling our own child's process group.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python code for a job that does what the seed's program does,
/// `os.system("python analyze.py OUT")`, then records `venvexec which -v`
/// and the exit status, writing `DONE` last.
fn shell_out(tag: &str, python: &str) -> String {
    format!(
        "import os\n\
         rc = os.system('{python} analyze.py out-{tag}.txt')\n\
         os.system('{bin} which -v python > which-{tag}.txt 2>&1')\n\
         with open('done-{tag}.tmp', 'w') as f: f.write(str(rc))\n\
         os.rename('done-{tag}.tmp', 'done-{tag}')\n",
        bin = bin().display()
    )
}

/// The child the job runs: prints its prefix, then proves the venv's own
/// site-packages is importable.
const ANALYZE: &str = "import sys\n\
    with open(sys.argv[1], 'w') as out:\n    \
        print(sys.prefix, file=out, flush=True)\n    \
        import venvprobe\n    \
        print(venvprobe.TAG, file=out)\n";

/// The work directory of a job: `analyze.py`, far from every venv.
fn workdir(sb: &Sandbox) -> PathBuf {
    let work = sb.dir("data/work");
    fs::write(work.join("analyze.py"), ANALYZE).unwrap();
    work
}

/// What the job left in `work`: (analyze.py's output, which -v, status).
fn results(server: &mut Server, work: &Path, tag: &str) -> (String, String, String) {
    let status = server.wait_for(&work.join(format!("done-{tag}")));
    let out = fs::read_to_string(work.join(format!("out-{tag}.txt"))).unwrap_or_default();
    let which = fs::read_to_string(work.join(format!("which-{tag}.txt"))).unwrap_or_default();
    eprintln!("{tag}: status {status}\nout:\n{out}\nwhich -v:\n{which}");
    (out, which, status)
}

/// What analyze.py wrote when the venv at `venv` (probe `tag`) ran it.
fn ran_in(venv: &Path, tag: &str) -> String {
    format!("{}\n{tag}\n", venv.display())
}

const CELERY_APP: &str = "
import os
from celery import Celery
HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE = os.path.join(HERE, 'queue')
app = Celery('app', broker='filesystem://')
app.conf.broker_transport_options = {'data_folder_in': QUEUE, 'data_folder_out': QUEUE}
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_enable_remote_control = False

@app.task
def analyze(tag):
    exec(open(os.path.join(HERE, 'job.py')).read().replace('TAG', tag))
";

/// One Celery worker of `venv` with `pool`, started as the seed's
/// service is (`/srv/app/.venv/bin/celery -A app worker`, not activated,
/// working directory elsewhere), given one `analyze` task.
fn celery_run(
    sb: &Sandbox,
    venv: &Path,
    work: &Path,
    pool: &str,
    tag: &str,
) -> (String, String, String) {
    let mut worker = sb.cmd_inherit(venv.join("bin/celery"), work);
    worker
        .args([
            "-A",
            "app",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            "1",
            "--loglevel",
            "warning",
        ])
        .args([
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ])
        .arg("--hostname")
        .arg(format!("{tag}@localhost"));
    let mut server = Server::start(worker, work.join(format!("worker-{tag}.log")));
    let mut client = sb.cmd_inherit(venv.join("bin/python"), work);
    client
        .arg("-c")
        .arg(format!("from app import analyze; analyze.delay({tag:?})"));
    let sent = run_with_timeout(&mut client, LIMIT);
    assert!(sent.status.success(), "sending the task failed");
    results(&mut server, work, tag)
}

#[test]
fn celery_task_os_system_python_gets_the_workers_venv() {
    let Some(wheels) = wheelhouse() else { return };
    let sb = Sandbox::new();
    let venv = venv_with(
        &wheels,
        &sb.dir("srv/app").join(".venv"),
        "app",
        &["celery"],
    );
    let work = workdir(&sb);
    fs::create_dir_all(work.join("queue")).unwrap();
    fs::write(work.join("app.py"), CELERY_APP).unwrap();
    fs::write(work.join("job.py"), shell_out("TAG", "python")).unwrap();

    // Without setproctitle the worker's argv[0] is still the venv's python.
    for pool in ["prefork", "solo"] {
        let tag = format!("plain-{pool}");
        let (out, which, status) = celery_run(&sb, &venv, &work, pool, &tag);
        assert_eq!(status, "0", "{which}");
        assert_eq!(out, ran_in(&venv, "app"), "{which}");
        assert!(which.contains("venv of its argv[0]"), "{which}");
    }

    // Celery's recommended setproctitle rewrites the worker's command line
    // to `[celeryd: …]`: its mapped files tell.
    install(&wheels, &venv, &["setproctitle"]);
    for pool in ["prefork", "solo"] {
        let tag = format!("titled-{pool}");
        let (out, which, status) = celery_run(&sb, &venv, &work, pool, &tag);
        assert_eq!(status, "0", "{which}");
        assert_eq!(out, ran_in(&venv, "app"), "{which}");
        assert!(which.contains("[celeryd: "), "{which}");
        assert!(which.contains("venv of its mapped files ("), "{which}");
        assert!(which.contains("/.venv/lib/python3"), "{which}");
    }
}

#[test]
fn gunicorn_worker_with_setproctitle_shells_out_in_its_venv() {
    let Some(wheels) = wheelhouse() else { return };
    let sb = Sandbox::new();
    let venv = venv_with(
        &wheels,
        &sb.dir("srv/site").join(".venv"),
        "site",
        &["gunicorn", "setproctitle"],
    );
    let work = workdir(&sb);
    // The app module is imported by the worker, after the fork: the job
    // runs in `gunicorn: worker [wsgi:app]`.
    fs::write(
        work.join("wsgi.py"),
        format!("{}\ndef app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n", shell_out("gunicorn", "python")),
    )
    .unwrap();
    let mut c = sb.cmd_inherit(venv.join("bin/gunicorn"), &work);
    c.arg("--bind")
        .arg(format!("unix:{}", work.join("gunicorn.sock").display()))
        .args(["--workers", "1", "wsgi:app"]);
    let mut server = Server::start(c, work.join("gunicorn.log"));
    let (out, which, status) = results(&mut server, &work, "gunicorn");
    assert_eq!(status, "0", "{which}");
    assert_eq!(out, ran_in(&venv, "site"), "{which}");
    assert!(
        which.contains("(gunicorn: worker [wsgi:app]): venv of its mapped files"),
        "{which}"
    );
}

/// uWSGI from Debian with its Python 3 plugin, which embeds Debian's own
/// Python: venvs for it are made with that interpreter.
/// Like every test here, only when `VENVEXEC_TEST_SERVERS` says the
/// servers were prepared.
fn uwsgi() -> Option<&'static Path> {
    if std::env::var_os("VENVEXEC_TEST_SERVERS").is_none_or(|d| d.is_empty()) {
        eprintln!("skipped: VENVEXEC_TEST_SERVERS is not set (`.ci/servers` installs uWSGI)");
        return None;
    }
    let (uwsgi, plugin, python) = (
        Path::new("/usr/bin/uwsgi"),
        Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so"),
        Path::new("/usr/bin/python3"),
    );
    if uwsgi.exists() && plugin.exists() && python.exists() {
        Some(python)
    } else {
        eprintln!(
            "skipped: uwsgi-core and uwsgi-plugin-python3 are not installed (.ci/servers installs them)"
        );
        None
    }
}

/// uWSGI serving `app.py` (which shells out as it is imported) on a unix
/// socket, with `flags`, started by `parent`'s Python so that something
/// venv-like sits above it.
fn uwsgi_run(
    sb: &Sandbox,
    work: &Path,
    parent: &Path,
    flags: &[&str],
    tag: &str,
) -> (String, String, String) {
    fs::write(
        work.join(format!("app_{}.py", tag.replace('-', "_"))),
        format!("{}\ndef application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n", shell_out(tag, "python3")),
    )
    .unwrap();
    let mut argv = vec![
        "/usr/bin/uwsgi".to_string(),
        "--plugin".into(),
        "python3".into(),
        "--die-on-term".into(),
        "--socket".into(),
        work.join(format!("{tag}.sock")).display().to_string(),
        "--wsgi-file".into(),
        format!("app_{}.py", tag.replace('-', "_")),
    ];
    argv.extend(flags.iter().map(|f| f.to_string()));
    // The venv python above uWSGI stays alive as its parent.
    let mut c = sb.cmd_inherit(parent, work);
    // It reaps uWSGI when told to stop, so that no zombie is left.
    c.arg("-c").arg(format!(
        "import signal, subprocess, sys\n\
         p = subprocess.Popen({argv:?})\n\
         signal.signal(signal.SIGTERM, lambda *_: p.terminate())\n\
         sys.exit(p.wait())\n"
    ));
    let mut server = Server::start(c, work.join(format!("uwsgi-{tag}.log")));
    results(&mut server, work, tag)
}

#[test]
fn uwsgi_virtualenv_flag_names_the_environment() {
    let Some(system) = uwsgi() else { return };
    let sb = Sandbox::new();
    let venv = make_venv_with(system, &sb.dir("srv/wsgi").join(".venv"), "wsgi");
    let outer = make_venv_with(system, &sb.dir("srv/outer").join(".venv"), "outer");
    let work = workdir(&sb);
    let v = venv.display().to_string();
    for (flags, tag) in [
        (vec!["--virtualenv", v.as_str()], "virtualenv"),
        (vec!["-H", v.as_str()], "short-h"),
    ] {
        let (out, which, status) = uwsgi_run(&sb, &work, &outer.join("bin/python"), &flags, tag);
        assert_eq!(status, "0", "{which}");
        assert_eq!(out, ran_in(&venv, "wsgi"), "{which}");
        let flag = flags[0];
        assert!(
            which.contains(&format!("{flag} {v} on its command line")),
            "{which}"
        );
    }
}

#[test]
fn uwsgi_without_a_venv_flag_ends_the_walk() {
    let Some(system) = uwsgi() else { return };
    let sb = Sandbox::new();
    let outer = make_venv_with(system, &sb.dir("srv/outer").join(".venv"), "outer");
    let work = workdir(&sb);
    // Without the walk ending there, the venv python that started uWSGI
    // would hand its venv to code uWSGI runs with the system's Python.
    let (out, which, _status) = uwsgi_run(&sb, &work, &outer.join("bin/python"), &[], "bare");
    assert!(
        !out.contains(&outer.display().to_string()),
        "{out}\n{which}"
    );
    assert!(out.starts_with("/usr\n"), "{out}\n{which}");
    assert!(
        which.contains("uWSGI without --virtualenv/--home"),
        "{which}"
    );
}

/// The program supervisord runs: `python3 report.py` writes its prefix,
/// then the probe's tag if it can import it.
const REPORT: &str = "import os, sys
with open('out-@TAG@.txt', 'w') as out:
    print(sys.prefix, file=out, flush=True)
    try:
        import venvprobe
        print(venvprobe.TAG, file=out)
    except ImportError:
        pass
with open('done-@TAG@.tmp', 'w') as f:
    f.write('0')
os.rename('done-@TAG@.tmp', 'done-@TAG@')
";

/// supervisord, installed in its own venv `sv`, runs `python3 report.py`
/// in `work`, and beside it `venvexec which -v python3`: the same
/// question the shim answered for the program, asked from the same place
/// (a child of supervisord).
fn supervisord_run(
    sb: &Sandbox,
    sv: &Path,
    work: &Path,
    tag: &str,
    env: &[(&str, &str)],
) -> (String, String) {
    fs::write(
        work.join(format!("report_{tag}.py")),
        REPORT.replace("@TAG@", tag),
    )
    .unwrap();
    let dir = sb.dir(&format!("supervisor-{tag}"));
    let conf = dir.join("supervisord.conf");
    let which = work.join(format!("which-{tag}.txt"));
    fs::write(
        &conf,
        format!(
            "[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\n\n\
             [program:report]\ncommand=python3 report_{tag}.py\ndirectory={w}\nautorestart=false\nstartsecs=0\n\
             stdout_logfile={d}/report.log\nredirect_stderr=true\n\n\
             [program:which]\ncommand={bin} which -v python3\ndirectory={w}\nautorestart=false\nstartsecs=0\n\
             stdout_logfile={which}\nredirect_stderr=true\n",
            d = dir.display(),
            w = work.display(),
            bin = bin().display(),
            which = which.display(),
        ),
    )
    .unwrap();
    let mut c = sb.cmd_inherit(sv.join("bin/supervisord"), &dir);
    c.arg("-c").arg(&conf);
    for (k, v) in env {
        c.env(k, v);
    }
    let mut server = Server::start(c, dir.join("stdout.log"));
    server.wait_for(&work.join(format!("done-{tag}")));
    let out = fs::read_to_string(work.join(format!("out-{tag}.txt"))).unwrap_or_default();
    // supervisord copies the program's output into the log as it comes.
    let start = Instant::now();
    let which = loop {
        let text = fs::read_to_string(&which).unwrap_or_default();
        if text.contains("environment:") || start.elapsed() > LIMIT {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("{tag}: out:\n{out}\nwhich -v:\n{which}");
    (out, which)
}

#[test]
fn supervisord_programs_do_not_get_supervisords_own_venv() {
    let Some(wheels) = wheelhouse() else { return };
    let sb = Sandbox::new();
    let sv = venv_with(
        &wheels,
        &sb.dir("opt/supervisor").join("venv"),
        "supervisor",
        &["supervisor"],
    );
    let work = workdir(&sb);
    let (out, which) = supervisord_run(&sb, &sv, &work, "plain", &[]);
    // Nothing here names an environment: the system's python3, as
    // without supervisord.
    assert_eq!(out, "/usr\n", "{which}");
    assert!(which.contains("the process manager supervisord"), "{which}");
    assert!(which.contains("environment: none"), "{which}");

    // A program in a project gets the project's environment, as it would
    // without supervisord.
    let (project, venv) = project(&sb, "srv/report", "report");
    let (out, which) = supervisord_run(&sb, &sv, &project, "project", &[]);
    assert_eq!(out, ran_in(&venv, "report"), "{which}");
    assert!(
        which.contains("reason: project environment .venv"),
        "{which}"
    );
}

#[test]
fn process_managers_list_can_be_emptied() {
    let Some(wheels) = wheelhouse() else { return };
    let sb = Sandbox::new();
    let sv = venv_with(
        &wheels,
        &sb.dir("opt/supervisor").join("venv"),
        "supervisor",
        &["supervisor"],
    );
    let work = workdir(&sb);
    // Empty list: supervisord is an ordinary Python parent again.
    let (out, which) = supervisord_run(
        &sb,
        &sv,
        &work,
        "empty",
        &[("VENVEXEC_PROCESS_MANAGERS", "")],
    );
    assert_eq!(out, ran_in(&sv, "supervisor"), "{which}");
    assert!(
        which.contains("reason: inherited from PID ")
            && which.contains(&format!("({}/bin/python)", sv.display())),
        "{which}"
    );
}

#[test]
fn relative_interpreter_then_chdir_is_found_from_the_start_directory() {
    // The cron idiom, no third-party package needed: `cd /srv &&
    // app/.venv/bin/python job.py`, and the job changes directory before
    // it shells out, so argv[0] no longer leads anywhere from its cwd.
    let sb = Sandbox::new();
    let srv = sb.dir("srv");
    let venv = make_venv(&srv.join("app/.venv"), "cron");
    let work = workdir(&sb);
    fs::write(
        srv.join("job.py"),
        format!(
            "import os\nos.chdir({:?})\n{}",
            work.display().to_string(),
            shell_out("cron", "python")
        ),
    )
    .unwrap();
    let mut c = sb.cmd_inherit("/bin/sh", &sb.root());
    c.arg("-c").arg(format!(
        "cd {} && app/.venv/bin/python job.py",
        srv.display()
    ));
    let o = run_with_timeout(&mut c, LIMIT);
    assert!(o.status.success());
    let out = fs::read_to_string(work.join("out-cron.txt")).unwrap_or_default();
    let which = fs::read_to_string(work.join("which-cron.txt")).unwrap_or_default();
    assert_eq!(out, ran_in(&venv, "cron"), "{which}");
    assert!(
        which.contains(&format!(
            "venv of its argv[0], {}/bin/python in its start directory (PWD={})",
            venv.display(),
            srv.display()
        )),
        "{which}"
    );
}
