//! `venvexec setup`: the shims, the PATH line in the shell profiles, the
//! completions and the man page, in a sandbox HOME; run again, dry, and
//! undone.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const MARKER: &str = "# added by `venvexec setup`";

/// A sandbox HOME with nothing of venvexec in it, and the shims dir that
/// setup will use there.
struct Home {
    sb: Sandbox,
}

impl Home {
    fn new() -> Home {
        Home { sb: Sandbox::new() }
    }

    fn home(&self) -> &Path {
        &self.sb.home
    }

    fn shims(&self) -> PathBuf {
        self.home().join(".local/share/venvexec/shims")
    }

    /// `venvexec setup ARGS` with HOME the sandbox's and bash the login
    /// shell; PATH has no shims on it, as on a machine before setup.
    fn setup(&self, args: &[&str]) -> Command {
        let mut c = self.sb.venvexec(self.home());
        c.arg("setup")
            .args(args)
            .env("PATH", SYSTEM_PATH)
            .env("SHELL", "/bin/bash");
        c
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.home().join(rel)).unwrap_or_default()
    }
}

fn path_line(shims: &Path) -> String {
    format!("export PATH=\"{}:$PATH\"", shims.display())
}

fn succeeds(c: &mut Command) -> Output {
    let o = run(c);
    assert_no_panic(&o);
    assert!(o.status.success(), "{:?}", o.status);
    o
}

#[test]
fn setup_links_the_shims_and_adds_the_path_line_once() {
    let h = Home::new();
    fs::write(h.home().join(".bashrc"), "alias ll='ls -l'\n").unwrap();
    let out = succeeds(&mut h.setup(&[]));
    let said = stdout(&out);

    for n in ["python", "python3", "pip", "pip3"] {
        assert_eq!(fs::read_link(h.shims().join(n)).unwrap(), bin(), "{n}");
    }
    let line = path_line(&h.shims());
    for profile in [".profile", ".bashrc"] {
        let text = h.read(profile);
        assert_eq!(text.matches(&line).count(), 1, "{profile}: {text}");
        assert!(text.contains(MARKER), "{profile}: {text}");
        assert!(
            said.contains(&format!(
                "{}: added: {line}",
                h.home().join(profile).display()
            )),
            "says what changed in {profile}: {said}"
        );
    }
    assert!(h.read(".bashrc").starts_with("alias ll='ls -l'\n"));
    assert!(
        !h.home().join(".zshrc").exists(),
        "zsh is not the user's shell"
    );

    // A second run changes nothing and says so.
    let before = snapshot(&h.sb.root());
    let again = succeeds(&mut h.setup(&[]));
    assert_eq!(
        snapshot(&h.sb.root()),
        before,
        "a second setup touched something"
    );
    assert!(
        stdout(&again).contains("already has the PATH line"),
        "{}",
        stdout(&again)
    );
    assert!(stdout(&again).contains("python: already linked"));
}

#[test]
fn the_path_line_goes_after_pyenv_init() {
    let h = Home::new();
    let bashrc = "export A=1\neval \"$(pyenv init -)\"\nalias ll='ls -l'\n";
    fs::write(h.home().join(".bashrc"), bashrc).unwrap();
    succeeds(&mut h.setup(&[]));
    let text = h.read(".bashrc");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "eval \"$(pyenv init -)\"", "{text}");
    assert!(lines[2].starts_with(MARKER), "{text}");
    assert_eq!(lines[3], path_line(&h.shims()), "{text}");
    assert_eq!(lines[4], "alias ll='ls -l'", "{text}");
}

/// The shells on this machine, each with the profile it reads and how to
/// read it; a missing shell is skipped, and said so.
fn shells(h: &Home) -> Vec<(&'static str, PathBuf, String)> {
    let mut found = Vec::new();
    for (exe, profile) in [
        ("/bin/sh", ".profile"),
        ("/bin/dash", ".profile"),
        ("/bin/bash", ".bashrc"),
        ("/usr/bin/zsh", ".zshrc"),
        ("/usr/bin/fish", ".config/fish/config.fish"),
    ] {
        if Path::new(exe).exists() {
            found.push((exe, h.home().join(profile), profile.to_string()));
        } else {
            eprintln!("{exe} not installed: skipped");
        }
    }
    found
}

#[test]
fn every_shells_profile_puts_the_shims_first_for_a_naive_shell_out() {
    let h = Home::new();
    let (dir, venv) = project(&h.sb, "proj", "proj");
    // zsh and fish profiles are written when they are the user's: have both.
    fs::write(h.home().join(".zshrc"), "# zsh\n").unwrap();
    fs::create_dir_all(h.home().join(".config/fish")).unwrap();
    succeeds(&mut h.setup(&[]));
    for (shell, profile, _) in shells(&h) {
        // The seed scenario: a system Python shells out to `python`, from a
        // shell that has read its profile.
        let script = format!(
            "/usr/bin/python3 -c 'import os; os.system(\"python -c \\\"{}\\\"\")'",
            PROBE
        );
        let source = if shell.ends_with("fish") {
            format!("source '{}'; {script}", profile.display())
        } else {
            format!(". '{}'; {script}", profile.display())
        };
        let mut c = h.sb.cmd(shell, &dir);
        c.arg("-c").arg(&source).env("PATH", SYSTEM_PATH);
        let out = ok(&mut c);
        assert_eq!(
            out,
            probed("proj", &venv),
            "{shell} reading {}",
            profile.display()
        );
    }
}

#[test]
fn dry_run_says_what_would_change_and_changes_nothing() {
    let h = Home::new();
    fs::write(h.home().join(".bashrc"), "# mine\n").unwrap();
    let before = snapshot(&h.sb.root());
    let out = succeeds(&mut h.setup(&["--dry-run"]));
    assert_eq!(
        snapshot(&h.sb.root()),
        before,
        "a dry run touched something"
    );
    let said = stdout(&out);
    assert!(said.contains("python: would be linked"), "{said}");
    assert!(said.contains(".bashrc: would be added"), "{said}");
    assert!(said.contains("would write"), "{said}");
}

#[test]
fn no_modify_profile_prints_the_line_and_leaves_profiles_alone() {
    let h = Home::new();
    fs::write(h.home().join(".bashrc"), "# mine\n").unwrap();
    let out = succeeds(&mut h.setup(&["--no-modify-profile"]));
    assert_eq!(h.read(".bashrc"), "# mine\n");
    assert!(!h.home().join(".profile").exists());
    assert!(
        stdout(&out).contains(&path_line(&h.shims())),
        "{}",
        stdout(&out)
    );
    assert_eq!(fs::read_link(h.shims().join("python")).unwrap(), bin());
}

#[test]
fn uninstall_takes_back_exactly_what_setup_added() {
    let h = Home::new();
    fs::write(h.home().join(".bashrc"), "# mine\n").unwrap();
    let share = h.home().join(".local/share");
    fs::create_dir_all(&share).unwrap();
    let pristine = snapshot(&h.sb.root());

    succeeds(&mut h.setup(&[]));
    // A user's file among the shims stays, and so does its directory.
    fs::write(h.shims().join("notes.txt"), "keep\n").unwrap();
    let out = succeeds(&mut h.setup(&["--uninstall"]));
    let said = stdout(&out);
    assert!(said.contains("python: removed"), "{said}");
    assert!(said.contains("removed the PATH line"), "{said}");
    assert_eq!(h.read(".bashrc"), "# mine\n");
    assert!(
        !h.home().join(".profile").exists(),
        "setup made it; it held only our line"
    );
    assert_eq!(
        fs::read_to_string(h.shims().join("notes.txt")).unwrap(),
        "keep\n"
    );

    fs::remove_file(h.shims().join("notes.txt")).unwrap();
    fs::remove_dir(h.shims()).unwrap();
    fs::remove_dir(h.shims().parent().unwrap()).unwrap();
    let now: Vec<_> = snapshot(&h.sb.root()).into_keys().collect();
    let was: Vec<_> = pristine.into_keys().collect();
    assert_eq!(now, was, "nothing of setup is left");

    // Nothing left to undo: a second uninstall changes nothing.
    let before = snapshot(&h.sb.root());
    succeeds(&mut h.setup(&["--uninstall"]));
    assert_eq!(snapshot(&h.sb.root()), before);
}

#[test]
fn setup_follows_xdg_data_home_and_venvexec_shims_dir() {
    let h = Home::new();
    let xdg = h.sb.root().join("xdg");
    let out = succeeds(h.setup(&["--no-modify-profile"]).env("XDG_DATA_HOME", &xdg));
    assert_eq!(
        fs::read_link(xdg.join("venvexec/shims/python")).unwrap(),
        bin()
    );
    assert!(
        xdg.join("man/man1/venvexec.1").is_file(),
        "{}",
        stdout(&out)
    );

    let own = h.sb.root().join("own-shims");
    succeeds(
        h.setup(&["--no-modify-profile"])
            .env("VENVEXEC_SHIMS_DIR", &own),
    );
    assert_eq!(fs::read_link(own.join("python3")).unwrap(), bin());
}

#[test]
fn completions_and_the_man_page_go_where_the_shells_and_man_look() {
    let h = Home::new();
    fs::create_dir_all(h.home().join(".config/fish")).unwrap();
    succeeds(&mut h.setup(&["--no-modify-profile"]));
    let share = h.home().join(".local/share");
    let man = share.join("man/man1/venvexec.1");
    assert!(fs::read_to_string(&man).unwrap().contains(".TH venvexec 1"));

    let bash = share.join("bash-completion/completions/venvexec");
    let out = ok(Command::new("/bin/bash")
        .arg("-c")
        .arg(format!("source '{}'; complete -p venvexec", bash.display())));
    assert!(out.contains("venvexec"), "{out}");

    if Path::new("/usr/bin/zsh").exists() {
        let zsh = share.join("zsh/site-functions/_venvexec");
        assert!(
            fs::read_to_string(&zsh)
                .unwrap()
                .starts_with("#compdef venvexec")
        );
    }
    if Path::new("/usr/bin/fish").exists() {
        let fish = h.home().join(".config/fish/completions/venvexec.fish");
        ok(Command::new("/usr/bin/fish").arg("--no-execute").arg(&fish));
        let text = fs::read_to_string(&fish).unwrap();
        assert!(text.contains("complete -c venvexec"), "{text}");
    }
}

#[test]
fn generate_prints_completions_and_a_man_page() {
    let sb = Sandbox::new();
    let man = ok(sb.venvexec(&sb.root()).args(["--generate", "man"]));
    assert!(
        man.contains(".TH venvexec 1") && man.contains("setup"),
        "{man}"
    );
    let bash = ok(sb
        .venvexec(&sb.root())
        .args(["--generate", "complete-bash"]));
    let listed = ok(Command::new("/bin/bash")
        .arg("-c")
        .arg(format!("{bash}\ncomplete -p venvexec")));
    assert!(listed.contains("venvexec"), "{listed}");
    let zsh = ok(sb.venvexec(&sb.root()).args(["--generate", "complete-zsh"]));
    assert!(zsh.starts_with("#compdef venvexec"), "{zsh}");
    let fish = ok(sb
        .venvexec(&sb.root())
        .args(["--generate", "complete-fish"]));
    assert!(fish.contains("complete -c venvexec"), "{fish}");
    let bad = run(sb
        .venvexec(&sb.root())
        .args(["--generate", "complete-tcsh"]));
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_foreign_file_in_the_shims_dir_fails_setup_but_the_rest_is_done() {
    let h = Home::new();
    fs::create_dir_all(h.shims()).unwrap();
    fs::write(h.shims().join("python"), "mine\n").unwrap();
    let out = run(&mut h.setup(&[]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("left alone"), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(h.shims().join("python")).unwrap(),
        "mine\n"
    );
    assert_eq!(fs::read_link(h.shims().join("python3")).unwrap(), bin());
    assert!(h.read(".profile").contains(&path_line(&h.shims())));
}
