"""The app every image of tests/images/run starts as `venvexec -- python
app.py MODE`, one mode per thing the script checks. Standard library only:
the venvs are made --without-pip."""

import os
import sys
import time


def where():
    # imageprobe lives only in /opt/venv's site-packages: importing it
    # proves the venv's packages are the ones on sys.path.
    try:
        import imageprobe

        probe = imageprobe.TAG
    except ImportError:
        probe = "missing"
    print(
        f"prefix={sys.prefix} executable={sys.executable} probe={probe}"
        f" virtual_env={os.environ.get('VIRTUAL_ENV', 'unset')}"
        f" pid={os.getpid()} ppid={os.getppid()} uid={os.getuid()}"
        f" home={os.environ.get('HOME', 'unset')}",
        flush=True,
    )


def wait():
    # No SIGTERM handler: the default action ends the app, and its init
    # must report that as 128+15.
    print("ready", flush=True)
    time.sleep(60)


def others():
    """(pid, state) of every process here but PID 1 and this one."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone between listdir and open
        found.append((int(name), stat.rpartition(")")[2].split()[0]))
    return found


def orphans():
    # Double forks: each grandchild loses its parent, is handed to PID 1,
    # and must be reaped there once it exits.
    for _ in range(3):
        child = os.fork()
        if child == 0:
            if os.fork() == 0:
                time.sleep(0.3)
                print(f"orphan ppid={os.getppid()}", flush=True)
                os._exit(0)
            os._exit(0)
        os.waitpid(child, 0)
    deadline = time.monotonic() + 5
    while True:
        time.sleep(0.1)
        left = others()
        if not left:
            print("zombies=0", flush=True)
            return 0
        if time.monotonic() > deadline:
            zombies = [pid for pid, state in left if state == "Z"]
            print(f"zombies={len(zombies)} left={left}", flush=True)
            return 1


def main(argv):
    mode = argv[1] if len(argv) > 1 else "where"
    if mode == "where":
        where()
    elif mode == "exit":
        return int(argv[2])
    elif mode == "wait":
        wait()
    elif mode == "orphans":
        return orphans()
    else:
        print(f"app.py: unknown mode {mode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
