#!/usr/bin/env python3
"""Re-derive every env_path in tool_envs.tsv from the documented algorithms.

Standard library only, no filesystem access besides reading the TSV (none of the
recorded paths needs to exist).  See README.md in this directory for the
algorithms and where in each tool's source they come from.

Usage: python3 check_algorithms.py [path/to/tool_envs.tsv]
Prints one line per failing row and ends with "N passed, M failed";
exits non-zero if anything failed.
"""
import base64
import hashlib
import os
import posixpath
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ["tool", "project_dir", "project_name", "settings", "env_path"]


# --------------------------------------------------------------------- helpers
def parse_settings(field):
    """'K=V;K2=V2;@pseudo=V3' -> (env vars, pseudo settings)."""
    env, pseudo = {}, {}
    if not field:
        return env, pseudo
    for item in field.split(";"):
        key, _, value = item.partition("=")
        if key.startswith("@"):
            pseudo[key[1:]] = value
        else:
            env[key] = value
    return env, pseudo


def expanduser(path, env):
    """os.path.expanduser driven by the row's HOME instead of ours."""
    if path == "~" or path.startswith("~/"):
        return env["HOME"] + path[1:]
    return path


def xdg(env, var, default_rel):
    """platformdirs on Linux: $XDG_* if set and non-blank, else ~/<default_rel>."""
    value = env.get(var, "").strip()
    return value if value else posixpath.join(env["HOME"], default_rel)


def poetry_bool(value):
    # poetry/config/config.py boolean_normalizer
    return value is not None and value.lower() in ("true", "1")


def pipenv_bool(value):
    # pipenv/utils/shell.py env_to_bool with pipenv/utils/constants.py TRUE_VALUES
    return value is not None and value.lower() in ("1", "true", "yes", "on")


def pdm_bool(value):
    # pdm/project/config.py ensure_boolean (note: "off" counts as true!)
    return bool(value) and value.lower() not in ("false", "no", "0")


def b64_8(digest):
    return base64.urlsafe_b64encode(digest).decode("ascii")[:8]


# --------------------------------------------------------------------- poetry
def poetry_canonicalize(name):
    # packaging.utils.canonicalize_name (poetry-core Package.name)
    return re.sub(r"[-_.]+", "-", name).lower()


def poetry_env_name(name, project_dir):
    # poetry/utils/env/env_manager.py  EnvManager.generate_env_name
    name = name.lower()
    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", name)[:42]
    # normcase(realpath(cwd)); project_dir in the TSV already is the realpath
    h = b64_8(hashlib.sha256(project_dir.encode("utf-8")).digest())
    return f"{sanitized}-{h}"


def expect_poetry(project_dir, project_name, env, pseudo):
    if poetry_bool(env.get("POETRY_VIRTUALENVS_IN_PROJECT")):
        return project_dir + "/.venv"
    cache_dir = env.get("POETRY_CACHE_DIR") or posixpath.join(
        xdg(env, "XDG_CACHE_HOME", ".cache"), "pypoetry")
    venvs = env.get("POETRY_VIRTUALENVS_PATH")
    if venvs:
        venvs = venvs.replace("{cache-dir}", cache_dir)
    else:
        venvs = posixpath.join(cache_dir, "virtualenvs")
    venvs = expanduser(venvs, env)
    # package name: [project].name or [tool.poetry].name, else "non-package-mode"
    name = poetry_canonicalize(project_name or "non-package-mode")
    return f"{venvs}/{poetry_env_name(name, project_dir)}-py{pseudo['python']}"


# --------------------------------------------------------------------- pipenv
def pipenv_sanitize(name):
    # pipenv/utils/venv_locator.py  VenvLocator._sanitize
    return re.sub(r'[ &$`!*@"()\[\]\\\r\n\t]', "_", name)[0:42]


def pipenv_env_name(pipfile_location, env):
    # pipenv/utils/venv_locator.py  VenvLocator.name / _get_virtualenv_hash
    if env.get("PIPENV_CUSTOM_VENV_NAME"):
        return env["PIPENV_CUSTOM_VENV_NAME"]
    dir_name = posixpath.basename(posixpath.dirname(pipfile_location))
    h = base64.urlsafe_b64encode(
        hashlib.sha256(pipfile_location.encode("utf-8")).digest()[:6]).decode("ascii")
    suffix = ""
    py = env.get("PIPENV_PYTHON")
    if py:
        suffix = "-" + (posixpath.basename(py) if py.startswith("/") else py)
    return f"{pipenv_sanitize(dir_name)}-{h}{suffix}"


def pipenv_workon_home(env):
    # pipenv/utils/shell.py  get_workon_home
    home = env.get("WORKON_HOME") or posixpath.join(
        env.get("XDG_DATA_HOME") or "~/.local/share", "virtualenvs")
    return expanduser(home, env)


def expect_pipenv(project_dir, project_name, env, pseudo):
    pipfile = env.get("PIPENV_PIPFILE") or project_dir + "/Pipfile"
    project_dir = posixpath.dirname(pipfile)
    dot_venv_file = pseudo.get("dotvenv-file")
    if dot_venv_file is not None:  # .venv is a *file*: its stripped content
        name = dot_venv_file.strip()
        if name:
            if "/" in name:  # looks_like_dir -> path relative to the project dir
                return posixpath.join(project_dir, name)  # no ".." collapsing
            return posixpath.join(pipenv_workon_home(env), name)
    elif (pipenv_bool(env.get("PIPENV_VENV_IN_PROJECT"))
          or "venv_in_project = true" in pseudo.get("pipfile", "")):
        return project_dir + "/.venv"
    return posixpath.join(pipenv_workon_home(env), pipenv_env_name(pipfile, env))


# --------------------------------------------------------------------- pdm
def pdm_hash_path(path):
    # pdm/cli/commands/venv/utils.py  hash_path
    return b64_8(hashlib.md5(path.encode("utf-8")).digest())


def expect_pdm(project_dir, project_name, env, pseudo):
    if pdm_bool(env.get("PDM_VENV_IN_PROJECT", "true")):  # venv.in_project defaults to true
        return project_dir + "/.venv"
    parent = pseudo.get("pdm-config:venv.location") or posixpath.join(
        xdg(env, "XDG_DATA_HOME", ".local/share"), "pdm", "venvs")
    parent = expanduser(parent, env)
    m = re.search(r"venv create -n (\S+)", pseudo["cmd"])
    ident = m.group(1) if m else pseudo["python"]  # else PythonInfo.identifier "3.11"
    prefix = f"{posixpath.basename(project_dir)}-{pdm_hash_path(project_dir)}-"
    return f"{parent}/{prefix}{ident}"


# --------------------------------------------------------------------- uv
def expect_uv(project_dir, project_name, env, pseudo):
    root = pseudo.get("uv-workspace-root") or project_dir
    value = env.get("UV_PROJECT_ENVIRONMENT", "")
    if not value:
        return root + "/.venv"
    if value.startswith("/"):
        return value
    return root + "/" + value  # PathBuf::join: no normalisation, no ~ expansion


EXPECT = {"poetry": expect_poetry, "pipenv": expect_pipenv, "pdm": expect_pdm, "uv": expect_uv}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "tool_envs.tsv")
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    assert lines[0].split("\t") == HEADER, lines[0]
    passed = failed = 0
    per_tool = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        tool, project_dir, project_name, settings, env_path = line.split("\t")
        env, pseudo = parse_settings(settings)
        got = EXPECT[tool](project_dir, project_name, env, pseudo)
        per_tool.setdefault(tool, [0, 0])
        if got == env_path:
            passed += 1
            per_tool[tool][0] += 1
        else:
            failed += 1
            per_tool[tool][1] += 1
            print(f"FAIL line {lineno} ({tool} {project_dir!r}):\n  recorded: {env_path!r}\n"
                  f"  computed: {got!r}")
    for tool, (p, fl) in per_tool.items():
        print(f"{tool}: {p} passed, {fl} failed")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
