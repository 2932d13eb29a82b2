#!/usr/bin/env python3
"""Drive the real poetry / pipenv / pdm / uv and record where they put venvs.

This is how tool_envs.tsv was produced (see README.md).  It is NOT run by the
test suite: it needs the tools installed in a scratch venv first

    python3 -m venv /tmp/golden-work/tools
    /tmp/golden-work/tools/bin/pip install poetry pipenv pdm uv

and pyenv's CPython 3.11.7 and 3.12.1 at the paths below.  It creates and deletes
directories under /tmp/golden-work only, and rewrites tool_envs.tsv (with all
four tools) at OUT.  Usage: python3 record_tool_envs.py [tool ...]
(a subset of tools only prints, it does not rewrite the TSV).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata

W = "/tmp/golden-work"
TOOLS = f"{W}/tools/bin"
P = f"{W}/projects"
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3"
PY312 = "/root/.pyenv/versions/3.12.1/bin/python3"
OUT = "/work/main/tests/golden/tool_envs.tsv"
LOG = f"{W}/driver.log"

BASE_ENV = {"PATH": f"{TOOLS}:/usr/bin:/bin", "LANG": "C.UTF-8"}

rows = []
counter = {}


def nfc(s):
    return unicodedata.normalize("NFC", s)


def log(*a):
    with open(LOG, "a", encoding="utf-8") as f:
        print(*a, file=f)


def fresh_home(tool):
    counter[tool] = counter.get(tool, 0) + 1
    home = f"{W}/home-{tool}-{counter[tool]}"
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home)
    return home


def reset_dir(d, files):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, content in files.items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)


def run(cmd, env, cwd, check=True):
    full_env = dict(BASE_ENV)
    full_env.update(env)
    full_env["PWD"] = cwd  # as a shell `cd` would leave it
    log(f"$ (cd {cwd!r}; env {env} {' '.join(cmd)})")
    r = subprocess.run(cmd, env=full_env, cwd=cwd, capture_output=True, text=True)
    log(r.stdout)
    log(r.stderr)
    if check and r.returncode != 0:
        raise SystemExit(f"command failed rc={r.returncode}: {cmd}\n{r.stdout}\n{r.stderr}")
    return r


def add_row(tool, project_dir, name, env, pseudo, env_path):
    settings = [f"{k}={v}" for k, v in env.items()]
    settings += [f"@{k}={v}" for k, v in pseudo.items()]
    for field in (project_dir, name, env_path, *settings):
        assert "\t" not in field and "\n" not in field and ";" not in field, field
    rows.append((tool, project_dir, name, ";".join(settings), env_path))
    print(f"{tool}\t{project_dir}\t{env_path}")


# ----------------------------------------------------------------- projects
def pep621(name):
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.8"\ndependencies = []\n'


def poetry_classic(name):
    return (
        f'[tool.poetry]\nname = "{name}"\nversion = "0.1.0"\ndescription = ""\n'
        'authors = []\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = ">=3.8"\n'
    )


POETRY_PEP621_TAIL = "\n[tool.poetry]\npackage-mode = false\n"

MYAPP = f"{P}/myapp"
SPACES = f"{P}/my app"
UNICODE = nfc(f"{P}/café-ü")
COOL = f"{P}/cool_app_dir"
DEEP = f"{P}/deep/level1/level2/level3/level4/level5/nested-proj"
LONG = f"{P}/a-very-long-project-directory-name-that-exceeds-forty-two-chars"
LINK = f"{P}/link-to-myapp"


def make_link():
    if os.path.islink(LINK):
        os.unlink(LINK)
    os.symlink(MYAPP, LINK)


# ----------------------------------------------------------------- poetry
def poetry_case(project_dir, pyproject, name, env, py=PY311, cwd=None, pseudo=None):
    reset_dir(project_dir, {"pyproject.toml": pyproject})
    home = fresh_home("poetry")
    env = {"HOME": home, **{k: v.replace("$HOME", home) for k, v in env.items()}}
    cwd = cwd or project_dir
    run(["poetry", "env", "use", py], env, cwd)
    r = run(["poetry", "env", "info", "-p"], env, cwd)
    ver = subprocess.run([py, "-c", "import sys;print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True).stdout.strip()
    ps = {"cmd": f"poetry env use {py} && poetry env info -p", "python": ver}
    if cwd != project_dir:
        ps["cwd"] = cwd
    ps.update(pseudo or {})
    add_row("poetry", project_dir, name, env, ps, r.stdout.strip())


def do_poetry():
    poetry_case(MYAPP, poetry_classic("myapp"), "myapp", {})
    poetry_case(SPACES, pep621("my-app") + POETRY_PEP621_TAIL, "my-app", {})
    poetry_case(UNICODE, pep621("cafe-u") + POETRY_PEP621_TAIL, "cafe-u", {})
    poetry_case(COOL, pep621("My_Cool.App") + POETRY_PEP621_TAIL, "My_Cool.App", {})
    poetry_case(COOL, poetry_classic("My_Cool.App"), "My_Cool.App",
                {"POETRY_VIRTUALENVS_IN_PROJECT": "false"})
    poetry_case(DEEP, pep621("nested-proj") + POETRY_PEP621_TAIL, "nested-proj", {})
    long_name = "A-Very_Long.Project-Name-That-Exceeds-Forty-Two-Characters"
    poetry_case(LONG, pep621(long_name) + POETRY_PEP621_TAIL, long_name, {})
    # package-mode = false without any name -> poetry-core uses "non-package-mode"
    poetry_case(MYAPP, "[tool.poetry]\npackage-mode = false\n", "", {})
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp", {}, py=PY312)
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp",
                {"XDG_CACHE_HOME": "$HOME/xdg-cache"})
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp",
                {"POETRY_CACHE_DIR": f"{W}/poetry-cache-dir"})
    poetry_case(SPACES, pep621("my-app") + POETRY_PEP621_TAIL, "my-app",
                {"POETRY_VIRTUALENVS_PATH": f"{W}/poetry venvs path"})
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp",
                {"POETRY_CACHE_DIR": f"{W}/pcache2",
                 "POETRY_VIRTUALENVS_PATH": "{cache-dir}/custom-envs"})
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp",
                {"POETRY_VIRTUALENVS_IN_PROJECT": "true"})
    # cwd reached through a symlink: poetry hashes realpath(cwd)
    reset_dir(MYAPP, {})
    make_link()
    poetry_case(MYAPP, pep621("myapp") + POETRY_PEP621_TAIL, "myapp", {}, cwd=LINK)


def poetry_subdir_case():
    reset_dir(DEEP, {"pyproject.toml": pep621("nested-proj") + POETRY_PEP621_TAIL, "src/pkg/__init__.py": ""})
    home = fresh_home("poetry")
    env = {"HOME": home}
    cwd = DEEP + "/src/pkg"
    run(["poetry", "env", "use", PY311], env, cwd)
    r = run(["poetry", "env", "info", "-p"], env, cwd)
    add_row("poetry", DEEP, "nested-proj", env,
            {"cmd": f"poetry env use {PY311} && poetry env info -p", "python": "3.11", "cwd": cwd},
            r.stdout.strip())


# ----------------------------------------------------------------- pipenv
PIPENV_FIXED = {"PIPENV_YES": "1", "PIPENV_VERBOSITY": "-1", "PIP_NO_INDEX": "1"}


def pipenv_case(project_dir, env, extra_files=None, cwd=None, pseudo=None, pipfile="",
                report_dir=None, link=False):
    files = {"Pipfile": pipfile}
    files.update(extra_files or {})
    reset_dir(project_dir, files)
    if link:
        make_link()
    home = fresh_home("pipenv")
    env = {"HOME": home, **{k: v.replace("$HOME", home) for k, v in env.items()}}
    full = {**PIPENV_FIXED, **env}
    cwd = cwd or project_dir
    if cwd != project_dir:
        os.makedirs(cwd, exist_ok=True)
    run(["pipenv", "--python", PY311], full, cwd)
    r = run(["pipenv", "--venv"], full, cwd)
    ps = {"cmd": f"pipenv --python {PY311} && pipenv --venv", "python": "3.11"}
    env = full
    if cwd != project_dir:
        ps["cwd"] = cwd
    ps.update(pseudo or {})
    report_dir = report_dir or project_dir
    add_row("pipenv", report_dir, os.path.basename(report_dir), env, ps, r.stdout.strip())


def do_pipenv():
    pipenv_case(MYAPP, {})
    pipenv_case(SPACES, {})
    pipenv_case(UNICODE, {})
    pipenv_case(f"{P}/My_Cool.App", {})
    pipenv_case(f"{P}/weird[name] (v2) & co!", {})
    pipenv_case(DEEP, {})
    pipenv_case(LONG, {})
    pipenv_case(MYAPP, {"WORKON_HOME": f"{W}/workon home"})
    pipenv_case(MYAPP, {"WORKON_HOME": "~/envs"})
    pipenv_case(MYAPP, {"XDG_DATA_HOME": "$HOME/xdg-data"})
    pipenv_case(MYAPP, {"PIPENV_CUSTOM_VENV_NAME": "my-custom-env"})
    pipenv_case(MYAPP, {"PIPENV_PYTHON": PY311})
    pipenv_case(MYAPP, {"PIPENV_PYTHON": "3.11"})
    pipenv_case(MYAPP, {"PIPENV_VENV_IN_PROJECT": "1"})
    pipenv_case(MYAPP, {}, pipfile="[pipenv]\nvenv_in_project = true\n",
                pseudo={"pipfile": "[pipenv] venv_in_project = true"})
    pipenv_case(MYAPP, {}, extra_files={".venv": "named-env\n"}, pseudo={"dotvenv-file": "named-env"})
    pipenv_case(MYAPP, {}, extra_files={".venv": "../shared-envs/x\n"},
                pseudo={"dotvenv-file": "../shared-envs/x"})
    # cwd reached via symlink: find_pipfile() resolves the cwd (Path.resolve)
    reset_dir(MYAPP, {})
    make_link()
    pipenv_case(MYAPP, {}, cwd=LINK)
    # run from a subdirectory (Pipfile searched up to PIPENV_MAX_DEPTH=3 levels)
    pipenv_case(DEEP, {}, cwd=DEEP + "/src/pkg")
    # PIPENV_PIPFILE: os.path.abspath() only -- a symlinked path is NOT resolved
    pipenv_case(DEEP, {"PIPENV_PIPFILE": DEEP + "/Pipfile"}, cwd=W)
    pipenv_case(MYAPP, {"PIPENV_PIPFILE": LINK + "/Pipfile"}, cwd=W, report_dir=LINK, link=True)


# ----------------------------------------------------------------- pdm
PDM_FIXED = {"PDM_VENV_IN_PROJECT": "false", "PDM_CHECK_UPDATE": "false"}


def pdm_case(project_dir, name, env, py=PY311, cwd=None, venv_location=None, create_name=None,
             project_opt=None, install=False):
    pp = pep621(name) + ("\n[tool.pdm]\ndistribution = false\n" if install else "")
    reset_dir(project_dir, {"pyproject.toml": pp})
    home = fresh_home("pdm")
    env = {"HOME": home, **PDM_FIXED, **{k: v.replace("$HOME", home) for k, v in env.items()}}
    cwd = cwd or project_dir
    os.makedirs(cwd, exist_ok=True)
    ver = subprocess.run([py, "-c", "import sys;print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True).stdout.strip()
    ps = {}
    if venv_location:
        run([f"{TOOLS}/pdm", "config", "venv.location", venv_location], env, cwd)
        ps["pdm-config:venv.location"] = venv_location
    popt = ["-p", project_opt] if project_opt else []
    if install:
        # `pdm install` picks the first python on PATH (findpython); put the wanted one first
        env["PATH"] = os.path.dirname(py) + ":/usr/bin:/bin"
        run([f"{TOOLS}/pdm", "install"], env, cwd)
        key = ver
        ps["cmd"] = f"{TOOLS}/pdm install && pdm venv --path {key}"
        with open(os.path.join(project_dir, ".pdm-python"), encoding="utf-8") as f:
            log("PDM-PYTHON", project_dir, repr(f.read()))
    elif create_name:
        run([f"{TOOLS}/pdm", "venv", "create", *popt, "-n", create_name, py], env, cwd)
        key = create_name
        ps["cmd"] = f"pdm venv create -n {create_name} {py} && pdm venv --path {key}"
    else:
        run([f"{TOOLS}/pdm", "use", *popt, "-f", py], env, cwd)
        key = ver
        ps["cmd"] = f"pdm use {' '.join(popt) + ' ' if popt else ''}-f {py} && pdm venv --path {key}"
        root = project_opt or project_dir
        with open(os.path.join(root, ".pdm-python"), encoding="utf-8") as f:
            log("PDM-PYTHON", project_dir, repr(f.read()))
    r = run([f"{TOOLS}/pdm", "venv", *popt, "--path", key], env, cwd)
    ps["python"] = ver
    if cwd != project_dir:
        ps["cwd"] = cwd
    add_row("pdm", project_opt or project_dir, name, env, ps, r.stdout.strip())


def do_pdm():
    pdm_case(MYAPP, "myapp", {})
    pdm_case(SPACES, "my-app", {})
    pdm_case(UNICODE, "cafe-u", {})
    pdm_case(COOL, "My_Cool.App", {})
    pdm_case(DEEP, "nested-proj", {})
    pdm_case(LONG, "long-one", {})
    pdm_case(MYAPP, "myapp", {}, py=PY312)
    pdm_case(MYAPP, "myapp", {"XDG_DATA_HOME": "$HOME/xdg-data"})
    pdm_case(MYAPP, "myapp", {}, venv_location=f"{W}/pdm venvs loc")
    pdm_case(MYAPP, "myapp", {}, create_name="foo")
    reset_dir(MYAPP, {})
    make_link()
    pdm_case(MYAPP, "myapp", {}, cwd=LINK)
    # -p <symlink>: pdm uses Path(p).absolute(), no symlink resolution
    reset_dir(MYAPP, {})
    make_link()
    pdm_case(MYAPP, "myapp", {}, cwd=W, project_opt=LINK)
    pdm_case(DEEP, "nested-proj", {}, cwd=DEEP + "/src/pkg")
    pdm_case(SPACES, "my-app", {}, install=True)


# ----------------------------------------------------------------- uv
UV_FIXED = {"UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}
CREATING = re.compile(r"^Creating virtual environment at: (.*)$", re.M)


def uv_case(project_dir, name, env, sub="src", cmd="sync", files=None, pseudo=None, cwd=None,
            report_dir=None):
    reset_dir(project_dir, {"pyproject.toml": pep621(name), **(files or {})})
    home = fresh_home("uv")
    env = {"HOME": home, **UV_FIXED, **{k: v.replace("$HOME", home) for k, v in env.items()}}
    if cwd is None:
        cwd = os.path.join(project_dir, sub) if sub else project_dir
    os.makedirs(cwd, exist_ok=True)
    if cmd == "sync":
        r = run(["uv", "sync", "--python", PY311], env, cwd)
    else:
        r = run(["uv", "venv", "--python", PY311], env, cwd)
    m = CREATING.search(r.stderr)
    assert m, r.stderr
    printed = m.group(1)
    pref = run(["uv", "run", "--python", PY311, "python", "-c", "import sys;print(sys.prefix)"],
               env, cwd).stdout.strip() if cmd == "sync" else None
    log("UV printed", repr(printed), "sys.prefix", repr(pref))
    ps = {"cmd": f"uv {cmd} --python {PY311}", "python": "3.11"}
    if cwd != (report_dir or project_dir):
        ps["cwd"] = cwd
    ps.update(pseudo or {})
    if not os.path.isabs(printed):
        # uv prints paths below the cwd relative to the cwd (user_display)
        ps["printed"] = printed
        printed = os.path.join(cwd, printed)
    if pref is not None:
        assert os.path.normpath(printed) == pref, (printed, pref)
    add_row("uv", report_dir or project_dir, name, env, ps, printed)


def do_uv():
    uv_case(MYAPP, "myapp", {})
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": f"{W}/uv-abs-env"})
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": "envs/py311"})
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": "../shared-envs/myapp"})
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": "~/uv-tilde-env"})
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": ""})
    uv_case(SPACES, "my-app", {"UV_PROJECT_ENVIRONMENT": "venv dir"})
    uv_case(UNICODE, "cafe-u", {"UV_PROJECT_ENVIRONMENT": "ü-env"})
    uv_case(COOL, "My_Cool.App", {})
    uv_case(DEEP, "nested-proj", {"UV_PROJECT_ENVIRONMENT": "./x/../.venv-custom"})
    uv_case(DEEP, "nested-proj", {"UV_PROJECT_ENVIRONMENT": f"{W}/uv abs env2"})
    # uv venv (in the project root) also honours UV_PROJECT_ENVIRONMENT
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": "envs/from-uv-venv"}, sub="", cmd="venv")
    # workspace member: the venv belongs to the workspace root
    ws = f"{P}/uv-workspace"
    member = ws + "/packages/member-a"
    root_pp = pep621("ws-root") + '\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    reset_dir(ws, {"pyproject.toml": root_pp, "packages/member-a/pyproject.toml": pep621("member-a")})
    home = fresh_home("uv")
    for upe in ("", "rel-env"):
        env = {"HOME": home, **UV_FIXED}
        if upe:
            env["UV_PROJECT_ENVIRONMENT"] = upe
        r = run(["uv", "sync", "--python", PY311], env, member)
        printed = CREATING.search(r.stderr).group(1)
        add_row("uv", member, "member-a", env,
                {"cmd": f"uv sync --python {PY311}", "python": "3.11", "uv-workspace-root": ws},
                printed)
    # symlinked cwd
    reset_dir(MYAPP, {})
    make_link()
    uv_case(MYAPP, "myapp", {"UV_PROJECT_ENVIRONMENT": "envs/via-link"}, cwd=LINK + "/src")


def main():
    tools = sys.argv[1:] or ["poetry", "pipenv", "pdm", "uv"]
    open(LOG, "w").close()
    for tool in tools:
        shutil.rmtree(P, ignore_errors=True)
        for extra in ("poetry-cache-dir", "pcache2", "poetry venvs path", "workon home",
                      "shared-envs", "uv-abs-env", "uv abs env2", "pdm venvs loc"):
            shutil.rmtree(f"{W}/{extra}", ignore_errors=True)
        os.makedirs(P)
        {"poetry": lambda: (do_poetry(), poetry_subdir_case()),
         "pipenv": do_pipenv, "pdm": do_pdm, "uv": do_uv}[tool]()
        with open(f"{W}/rows-{tool}.json", "w", encoding="utf-8") as f:
            json.dump([r for r in rows if r[0] == tool], f, ensure_ascii=False, indent=0)
    if len(tools) == 4:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w", encoding="utf-8", newline="\n") as f:
            f.write("tool\tproject_dir\tproject_name\tsettings\tenv_path\n")
            for r in rows:
                f.write("\t".join(r) + "\n")
        print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
