//! `venvexec env` as venv's `activate`: evaluated twice it leaves one
//! ENV/bin on PATH, and `deactivate` undoes it, in every shell present.

mod common;

use common::*;

#[test]
fn env_twice_then_deactivate_restores_the_shell_in_every_shell() {
    let sb = Sandbox::new();
    let project = sb.dir("it's a \"proj\"");
    let venv = make_venv(&project.join(".venv"), "p");
    let start_path = "/usr/bin:/bin".to_string();
    for (shell, flavour) in shells() {
        let exe = bin().display().to_string();
        let script = if flavour == "fish" {
            format!(
                "{exe} env --shell fish | source; {exe} env --shell fish | source; \
                 string join : $PATH; echo $VIRTUAL_ENV; set -q PYTHONHOME; and echo home; or echo nohome; \
                 deactivate; string join : $PATH; echo \"[$VIRTUAL_ENV]\" $PYTHONHOME; \
                 functions -q deactivate; and echo still; or echo gone"
            )
        } else {
            format!(
                "eval \"$('{exe}' env --shell {flavour})\"; eval \"$('{exe}' env --shell {flavour})\"; \
                 echo \"$PATH\"; echo \"$VIRTUAL_ENV\"; echo \"${{PYTHONHOME-nohome}}\"; \
                 deactivate; echo \"$PATH\"; echo \"[${{VIRTUAL_ENV-}}]\" \"$PYTHONHOME\"; \
                 command -v deactivate >/dev/null && echo still || echo gone"
            )
        };
        let mut c = sb.cmd(shell, &project);
        c.arg("-c")
            .arg(&script)
            .env("PATH", &start_path)
            .env("PYTHONHOME", "/opt/home");
        let out = ok(&mut c);
        let lines: Vec<&str> = out.lines().collect();
        let bin_dir = venv.join("bin").display().to_string();
        assert_eq!(lines.len(), 6, "{shell}: {out}");
        assert_eq!(
            lines[0],
            format!("{bin_dir}:{start_path}"),
            "{shell}: ENV/bin once"
        );
        assert_eq!(lines[1], venv.display().to_string(), "{shell}");
        assert_eq!(lines[2], "nohome", "{shell}: PYTHONHOME unset while active");
        assert_eq!(lines[3], start_path, "{shell}: deactivate restores PATH");
        assert_eq!(lines[4], "[] /opt/home", "{shell}: and PYTHONHOME");
        assert_eq!(lines[5], "gone", "{shell}: deactivate removes itself");
    }
}

#[test]
fn deactivate_then_env_in_another_project_switches_cleanly() {
    let sb = Sandbox::new();
    let (a, _) = project(&sb, "a", "a");
    let (b, venv_b) = project(&sb, "b", "b");
    let exe = bin().display().to_string();
    let script = format!(
        "cd '{}' && eval \"$('{exe}' env --shell sh)\" && cd '{}' && deactivate && eval \"$('{exe}' env --shell sh)\" && echo \"$PATH\"",
        a.display(),
        b.display()
    );
    let out = ok(sb
        .cmd("/bin/sh", &sb.root())
        .arg("-c")
        .arg(&script)
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(out, format!("{}/bin:/usr/bin:/bin", venv_b.display()));
}

#[test]
fn a_conda_env_is_activated_with_conda_prefix_as_the_shim_does_it() {
    let sb = Sandbox::new();
    let conda = sb.dir("miniconda/envs/data");
    std::fs::create_dir_all(conda.join("conda-meta")).unwrap();
    std::fs::create_dir_all(conda.join("bin")).unwrap();
    std::os::unix::fs::symlink(python3(), conda.join("bin/python")).unwrap();
    let exe = bin().display().to_string();
    let shown = |v: &str| format!("[{v}]");
    for (shell, flavour) in shells() {
        let script = if flavour == "fish" {
            format!(
                "{exe} env --shell fish | source; echo \"[$CONDA_PREFIX]\" \"[$VIRTUAL_ENV]\"; \
                 python -c 'import os; print(\"[\" + os.environ.get(\"CONDA_PREFIX\", \"\") + \"]\", \"[\" + os.environ.get(\"VIRTUAL_ENV\", \"\") + \"]\")'; \
                 deactivate; echo \"[$CONDA_PREFIX]\" \"[$VIRTUAL_ENV]\""
            )
        } else {
            format!(
                "eval \"$('{exe}' env --shell {flavour})\"; echo \"[${{CONDA_PREFIX-}}]\" \"[${{VIRTUAL_ENV-}}]\"; \
                 python -c 'import os; print(\"[\" + os.environ.get(\"CONDA_PREFIX\", \"\") + \"]\", \"[\" + os.environ.get(\"VIRTUAL_ENV\", \"\") + \"]\")'; \
                 deactivate; echo \"[${{CONDA_PREFIX-}}]\" \"[${{VIRTUAL_ENV-}}]\""
            )
        };
        let mut c = sb.cmd(shell, &sb.root());
        c.arg("-c")
            .arg(&script)
            .env("PATH", SYSTEM_PATH)
            .env("VENVEXEC_VENV", &conda)
            .env("VIRTUAL_ENV", "/stale/venv");
        let out = ok(&mut c);
        let lines: Vec<&str> = out.lines().collect();
        let prefix = shown(&conda.display().to_string());
        // The shell, and a python started from it (the shim activates the
        // same way), see CONDA_PREFIX and no VIRTUAL_ENV.
        assert_eq!(lines[0], format!("{prefix} []"), "{shell}: {out}");
        assert_eq!(lines[1], format!("{prefix} []"), "{shell}: {out}");
        // deactivate takes CONDA_PREFIX away; the stale VIRTUAL_ENV the
        // activation replaced stays gone, as venv's activate leaves it.
        assert_eq!(lines[2], "[] []", "{shell}: {out}");
    }
}
