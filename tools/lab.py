#!/usr/bin/env python3
"""Serves JupyterLab on a notebook and prints the URL to open, last: `./kernel-setup.sh --lab`.

    lab.py --root DIR [--ip ADDR] [--port N] [--url-host HOST] NOTEBOOK

Runs as root too (passes --allow-root and says so), never opens a browser on a machine
without a display, keeps Jupyter's token (made here unless JUPYTER_TOKEN is set, as in the Jupyter
docker-stacks; handed over in the environment so it does not show in `ps`), and listens on 127.0.0.1 unless told otherwise. Jupyter logs to
stderr; the lines to act on go to stdout once the server answers. Ctrl+C (or SIGTERM)
shuts the server and its kernels down; if this process dies, the server gets SIGTERM.
"""

import argparse
import ctypes
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
PR_SET_PDEATHSIG = 1


def say(text):
    print(f"[kernel-setup] {text}", flush=True)


def die_with_parent():
    """Runs in the child before exec: SIGTERM it when this launcher goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def runtime_dir():
    out = subprocess.run([sys.executable, "-m", "jupyter", "--runtime-dir"], capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


def wait_until_serving(server, token):
    """The port Jupyter actually bound (it moves on when the asked one is taken), once the
    server answers an authenticated request; None if it exited or did not come up in time."""
    info_file = runtime_dir() / f"jpserver-{server.pid}.json"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return None
        try:
            info = json.loads(info_file.read_text())
            request = urllib.request.Request(
                f"http://127.0.0.1:{info['port']}/api/status" if info["hostname"] in ("0.0.0.0", "::", "")
                else info["url"].rstrip("/") + "/api/status",
                headers={"Authorization": f"token {token}"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return int(info["port"])
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    return None


def has_display():
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and not os.environ.get("SSH_CONNECTION")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, type=pathlib.Path)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--url-host", help="host to print in the URL, e.g. 127.0.0.1 in a container "
                        "whose port is published there (default: --ip, or this machine's name)")
    parser.add_argument("notebook", type=pathlib.Path)
    args = parser.parse_args(argv)

    root = args.root.resolve()
    notebook = args.notebook if args.notebook.is_absolute() else (pathlib.Path.cwd() / args.notebook)
    if not notebook.exists():
        notebook = root / args.notebook
    notebook = notebook.resolve()
    try:
        relative = notebook.relative_to(root)
    except ValueError:
        # Jupyter serves one folder tree; serve the notebook's own folder instead.
        root, relative = notebook.parent, pathlib.Path(notebook.name)
    lab_path = "/lab/tree/" + urllib.parse.quote(relative.as_posix())

    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.default_url={lab_path}",
        "--no-browser",
    ]
    if os.geteuid() == 0:
        say("running as root: starting JupyterLab with --allow-root (its kernels run as root too)")
        command.append("--allow-root")
    env = dict(os.environ, JUPYTER_TOKEN=token)

    # Its own session: a Ctrl+C in the terminal reaches only this launcher, which then
    # shuts Jupyter down cleanly instead of Jupyter asking "Shutdown this server (y/[n])?".
    server = subprocess.Popen(command, cwd=root, env=env, start_new_session=True, preexec_fn=die_with_parent)
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say(f"stopping JupyterLab ({signal.Signals(signum).name})")
        server.terminate()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)

    port = wait_until_serving(server, token)
    if port is None:
        if server.poll() is None:
            say(f"JupyterLab did not answer within {START_TIMEOUT_S} s; stopping it")
            server.terminate()
        code = server.wait()
        if not stopping:
            say(f"JupyterLab exited (status {code}) before serving; its log is above")
            return code or 1
        return 0

    host = args.url_host or (args.ip if args.ip not in ("0.0.0.0", "::", "") else socket.gethostname())
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}{lab_path}?token={token}"
    opened = has_display() and webbrowser.open(url)
    say(f"JupyterLab is serving {relative.as_posix()}{' (opened in your browser)' if opened else ''}; Ctrl+C stops it.")
    if not args.url_host:
        say(f"From another machine: ssh -N -L {port}:127.0.0.1:{port} USER@THIS-HOST, then open the URL there.")
    say("Open this URL in a browser:")
    print(f"    {url}", flush=True)

    while True:
        try:
            code = server.wait(timeout=STOP_TIMEOUT_S if stopping else None)
            break
        except subprocess.TimeoutExpired:
            say(f"JupyterLab did not stop within {STOP_TIMEOUT_S} s; killing it")
            server.kill()
    return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
