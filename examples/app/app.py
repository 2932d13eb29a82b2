"""A tiny worker for the example image: one job a second until stopped.

It shows what venvexec gives a containerised Python app:

- a naive shell-out to `python` (or `pip`) runs the virtual environment's
  interpreter, with its packages, though nothing "activated" it;
- `docker stop` reaches the app: venvexec, as PID 1, forwards SIGTERM, and
  the app finishes the job in hand and exits 0.
"""

import os
import signal
import subprocess
import sys
import time

import packaging  # from /opt/venv, installed by requirements.txt

stopping = False


def stop(signo, frame):
    # Only set a flag: the main loop ends after the job in hand.
    global stopping
    stopping = True


def main():
    signal.signal(signal.SIGTERM, stop)
    print(f"app: pid {os.getpid()}, parent pid {os.getppid()}", flush=True)
    print(f"app: running {sys.executable}, packaging {packaging.__version__}", flush=True)

    # The shell-outs that usually escape to the system Python.
    child = subprocess.run(
        ["python", "-c", "import sys, packaging; print(sys.prefix, packaging.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"app: `python` from PATH runs in {child.stdout.strip()}", flush=True)
    os.system("pip --version")

    job = 0
    while not stopping:
        job += 1
        print(f"app: job {job} done", flush=True)
        time.sleep(1)
    print(f"app: stopping after job {job}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
