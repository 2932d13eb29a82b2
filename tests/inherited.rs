//! Source 4, the inherited environment, with real processes: a program
//! started straight from its venv (never activated, working directory far
//! from the project) shells out, and the `python` it runs must be that
//! venv's. Every parent below runs with the sandbox's clean environment:
//! no VIRTUAL_ENV, the shims first on PATH and the venv's `bin` nowhere on
//! it, exactly the systemd/cron situation.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use common::*;

/// `/srv/app/.venv` inside a sandbox, and a working directory elsewhere
/// with no environment anywhere above it.
struct App {
    sb: Sandbox,
    venv: PathBuf,
    work: PathBuf,
}

fn app() -> App {
    let sb = Sandbox::new();
    let venv = make_venv(&sb.dir("srv/app").join(".venv"), "app");
    let work = sb.dir("work");
    App { sb, venv, work }
}

impl App {
    /// The venv's interpreter, started by its absolute path in `work`,
    /// running `code`.
    fn python(&self, code: &str) -> Command {
        let mut c = self
            .sb
            .cmd_inherit(self.venv.join("bin/python"), &self.work);
        c.arg("-c").arg(code);
        c
    }

    /// What PROBE prints when the venv ran it.
    fn expected(&self) -> String {
        format!("app {}", self.venv.display())
    }

    fn which_v(&self) -> String {
        format!("{} which -v python3; true", bin().display())
    }
}

/// A Python string literal (the paths and snippets here are ASCII, where
/// Rust's debug quoting is valid Python).
fn lit(s: impl AsRef<str>) -> String {
    format!("{:?}", s.as_ref())
}

/// The shell command a naive program writes: a bare `python`.
fn probe_cmd() -> String {
    format!("python -c '{PROBE}'")
}

/// A child that prints only its prefix: it runs under the system Python
/// too, which has no probe module.
const PREFIX_CMD: &str = "python3 -c 'import sys; print(\"prefix\", sys.prefix)'";

#[test]
fn os_system_child_gets_the_venv_of_the_python_that_shelled_out() {
    let a = app();
    let out = ok(&mut a.python(&format!("import os; os.system({})", lit(probe_cmd()))));
    assert_eq!(out, a.expected());
}

#[test]
fn subprocess_run_with_a_bare_python_inherits() {
    let a = app();
    let code = format!(
        "import subprocess; subprocess.run(['python', '-c', {}], check=True)",
        lit(PROBE)
    );
    assert_eq!(ok(&mut a.python(&code)), a.expected());
}

#[test]
fn subprocess_run_with_shell_true_inherits() {
    let a = app();
    let code = format!(
        "import subprocess; subprocess.run({}, shell=True, check=True)",
        lit(probe_cmd())
    );
    assert_eq!(ok(&mut a.python(&code)), a.expected());
}

#[test]
fn make_recipe_inherits() {
    let a = app();
    fs::write(
        a.work.join("Makefile"),
        format!("all:\n\t@{}\n", probe_cmd()),
    )
    .unwrap();
    let code = "import subprocess; subprocess.run(['make', '-s'], check=True)";
    assert_eq!(ok(&mut a.python(code)), a.expected());
}

#[test]
fn two_nested_sh_c_inherit() {
    let a = app();
    // `; true` keeps each shell alive as a real link in the chain instead of
    // letting it exec its last command.
    let inner = format!("sh -c \"{}; true\"; true", probe_cmd());
    let code = format!(
        "import subprocess; subprocess.run(['sh', '-c', {}], check=True)",
        lit(inner)
    );
    assert_eq!(ok(&mut a.python(&code)), a.expected());
}

#[test]
fn env_python_shebang_script_inherits() {
    let a = app();
    write_exe(
        &a.work.join("tool.py"),
        &format!("#!/usr/bin/env python\n{PROBE}\n"),
    );
    let out = ok(&mut a.python("import os; os.system('./tool.py')"));
    assert_eq!(out, a.expected());
}

#[test]
fn non_interactive_sh_reading_a_pipe_is_a_link_too() {
    let a = app();
    let code = format!(
        "import subprocess; subprocess.run(['sh'], input={}, text=True, check=True)",
        lit(format!("{}\n", probe_cmd()))
    );
    assert_eq!(ok(&mut a.python(&code)), a.expected());
}

#[test]
fn console_script_in_the_venv_shells_out_inside_it() {
    let a = app();
    // What pip writes for an entry point: the venv's interpreter in the
    // shebang. The kernel runs it as `ENV/bin/python ENV/bin/appcli`.
    let script = a.venv.join("bin/appcli");
    write_exe(
        &script,
        &format!(
            "#!{}\nimport os\nos.system({})\n",
            a.venv.join("bin/python").display(),
            lit(probe_cmd())
        ),
    );
    let out = ok(&mut a.sb.cmd_inherit(&script, &a.work));
    assert_eq!(out, a.expected());
}

#[test]
fn python_dash_m_module_in_the_venv_inherits() {
    let a = app();
    fs::write(
        site_packages(&a.venv).join("shellout.py"),
        format!("import os\nos.system({})\n", lit(probe_cmd())),
    )
    .unwrap();
    let mut c = a.sb.cmd_inherit(a.venv.join("bin/python"), &a.work);
    c.args(["-m", "shellout"]);
    assert_eq!(ok(&mut c), a.expected());
}

#[test]
fn bare_argv0_is_looked_up_on_the_parents_own_path() {
    let a = app();
    // Started as `python worker.py` with the venv's bin on PATH; the
    // program then hands its children a PATH without it (as a service
    // manager or a wrapper may). /proc keeps the PATH it started with.
    let mut start_path = a.venv.join("bin").into_os_string();
    start_path.push(":");
    start_path.push(a.sb.path());
    let code = format!(
        "import os\nos.environ['PATH'] = {}\nos.system({})",
        lit(a.sb.path().to_str().unwrap()),
        lit(probe_cmd())
    );
    let mut c = a.sb.cmd_inherit(a.venv.join("bin/python"), &a.work);
    c.arg0("python").env("PATH", start_path).arg("-c").arg(code);
    assert_eq!(ok(&mut c), a.expected());
}

#[test]
fn relative_argv0_is_made_absolute_with_the_parents_cwd() {
    let a = app();
    let code = format!(
        "import subprocess; subprocess.run(['python', '-c', {}], cwd={}, check=True)",
        lit(PROBE),
        lit(a.work.to_str().unwrap())
    );
    let mut c = a.sb.cmd_inherit("/bin/sh", &a.work);
    c.arg("-c")
        .arg("cd \"$1\" && exec ./bin/python -c \"$2\"")
        .arg("sh")
        .arg(&a.venv)
        .arg(code);
    assert_eq!(ok(&mut c), a.expected());
}

#[test]
fn copies_venv_is_found_by_its_executable_when_argv0_no_longer_leads_there() {
    let sb = Sandbox::new();
    let venv = make_venv_copies(&sb.dir("srv/app").join(".venv"), "copies");
    let work = sb.dir("work");
    // Started as `./bin/python3` from the venv, then the program changes
    // directory: argv[0] now resolves to nothing, but /proc/PID/exe is the
    // venv's own copy of the interpreter.
    let code = format!(
        "import os; os.chdir({}); os.system({})",
        lit(work.to_str().unwrap()),
        lit(probe_cmd())
    );
    let mut c = sb.cmd_inherit("/bin/sh", &work);
    c.arg("-c")
        .arg("cd \"$1\" && exec ./bin/python3 -c \"$2\"")
        .arg("sh")
        .arg(&venv)
        .arg(code);
    assert_eq!(ok(&mut c), format!("copies {}", venv.display()));
}

#[test]
fn system_python_in_between_stops_the_walk() {
    let a = app();
    // venv python -> /usr/bin/python3 -> `python3`: the nearest Python is
    // the system's, so the child is too, not the venv further up.
    let inner = format!(
        "import os; os.system({})",
        lit(format!("{PREFIX_CMD}; {}", a.which_v()))
    );
    let code = format!(
        "import subprocess; subprocess.run(['/usr/bin/python3', '-c', {}], check=True)",
        lit(inner)
    );
    let out = ok(&mut a.python(&code));
    assert!(out.contains("prefix /usr\n"), "{out}");
    assert!(!out.contains(&a.venv.display().to_string()), "{out}");
    assert!(
        out.contains(
            "(/usr/bin/python3 -c …): Python, not in a virtual environment (by its argv[0]): stopped"
        ),
        "{out}"
    );
}

#[test]
fn interactive_shell_is_a_boundary() {
    let a = app();
    // A person typing in a shell that the venv program happened to start
    // does not get its environment.
    let code = format!(
        "import subprocess\n\
         r = subprocess.run(['sh', '-i'], input={}, text=True, capture_output=True)\n\
         print(r.stdout)",
        lit(format!("{PREFIX_CMD}\n{}\n", a.which_v()))
    );
    let out = ok(&mut a.python(&code));
    assert!(out.contains("prefix /usr\n"), "{out}");
    assert!(
        !out.contains(&format!("prefix {}", a.venv.display())),
        "{out}"
    );
    assert!(
        out.contains("(sh -i): an interactive shell: stopped"),
        "{out}"
    );
}

#[test]
fn project_venv_in_the_working_directory_wins_over_the_inherited_one() {
    let a = app();
    let project = make_venv(&a.work.join(".venv"), "project");
    let out = ok(&mut a.python(&format!("import os; os.system({})", lit(probe_cmd()))));
    assert_eq!(out, format!("project {}", project.display()));
}

#[test]
fn which_v_names_the_process_it_inherited_from() {
    let a = app();
    let code = format!(
        "import os; print('parent', os.getpid(), flush=True); os.system({})",
        lit(a.which_v())
    );
    let out = ok(&mut a.python(&code));
    let pid = out
        .lines()
        .find_map(|l| l.strip_prefix("parent "))
        .expect("parent pid line");
    assert!(
        out.contains(&format!("{}/bin/python3\n", a.venv.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "reason: inherited from PID {pid} ({}/bin/python): venv of its argv[0]",
            a.venv.display()
        )),
        "{out}"
    );
    // The links passed are one line.
    let passed: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("inherited: passed"))
        .collect();
    assert_eq!(passed.len(), 1, "{out}");
    assert!(passed[0].contains("passed sh -c … (PID "), "{out}");
    assert!(passed[0].ends_with("): not Python, went on"), "{out}");
}

#[test]
fn no_inherit_switch_turns_the_source_off() {
    let a = app();
    let mut c = a.python(&format!("import os; os.system({})", lit(PREFIX_CMD)));
    c.env("VENVEXEC_NO_INHERIT", "1");
    assert_eq!(ok(&mut c), "prefix /usr");
}

#[test]
fn venv_writable_by_others_is_not_inherited_unless_listed_safe() {
    let a = app();
    fs::set_permissions(a.venv.join("bin"), fs::Permissions::from_mode(0o777)).unwrap();
    let code = format!(
        "import os; os.system({})",
        lit(format!("{PREFIX_CMD}; {}", a.which_v()))
    );
    let out = ok(&mut a.python(&code));
    assert!(out.contains("prefix /usr\n"), "{out}");
    assert!(out.contains("not trusted"), "{out}");
    assert!(out.contains("is writable by group or others"), "{out}");

    let mut c = a.python(&format!("import os; os.system({})", lit(probe_cmd())));
    c.env("VENVEXEC_SAFE_DIRS", &a.venv);
    assert_eq!(ok(&mut c), a.expected());
}

#[test]
fn doctor_fails_on_an_inherited_environment_it_refused() {
    let a = app();
    fs::set_permissions(a.venv.join("bin"), fs::Permissions::from_mode(0o777)).unwrap();
    let doctor = format!("{} doctor; echo doctor-exit=$?", bin().display());
    let out = ok(&mut a.python(&format!("import os; os.system({})", lit(doctor))));
    assert!(out.ends_with("doctor-exit=1"), "{out}");
    let warning = out
        .lines()
        .find(|l| l.starts_with("fail  skipped: inherited"))
        .unwrap_or_else(|| panic!("no failure about the refused venv:\n{out}"));
    assert!(warning.contains("not trusted"), "{warning}");
    assert!(warning.contains(&a.venv.display().to_string()), "{warning}");
}
