#!/usr/bin/env python3
"""Runs README's main-job command, `./kernel-setup.sh --lab`, the way a user does, and checks
that it serves the lesson: on a free loopback port, in the background, without a display.

Through Jupyter's REST API it checks that the lesson notebook is served (and not without the
token), that the "Rust (tch)" kernel is listed, then starts that kernel and runs one cell
over the kernel's websocket (`:dep` + `use notebook_kit::prelude::*;` +
`cifar10::CLASSES.len()` must give 10). Finally it presses Ctrl+C (SIGINT) and checks that
the server and every process it started are gone; whatever happens, nothing is left running.
"""

import datetime
import json
import os
import pathlib
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import psutil
import websocket

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSON = "notebooks/01-gpu-benchmarking-cifar10.ipynb"
URL_LINE = re.compile(r"^\s+(http://127\.0\.0\.1:(\d+)(/lab/tree/\S+)\?token=([0-9a-f]+))\s*$")
START_TIMEOUT_S = 600  # kernel-setup.sh runs first; after a completed setup it takes seconds
CELL_TIMEOUT_S = 600
STOP_TIMEOUT_S = 40
CELL = ':dep notebook-kit = { path = "../crates/notebook-kit" }\nuse notebook_kit::prelude::*;\ncifar10::CLASSES.len()'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def read_lines_until(stream, pattern, timeout, seen):
    """Lines from `stream` until one matches; all lines read are appended to `seen`."""
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 1)
        if not ready:
            continue
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return None
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = line.decode(errors="replace")
            seen.append(text)
            match = pattern.match(text)
            if match:
                return match
    return None


def api(base, token, path, method="GET", body=None, auth=True):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, None


def execute(base, token, kernel_id, code):
    """Runs `code` in the kernel through its websocket; returns (status, text/plain result,
    stream text)."""
    ws = websocket.create_connection(
        base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {token}"],
        timeout=CELL_TIMEOUT_S,
    )
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {
                "msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                "session": uuid.uuid4().hex, "version": "5.3",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            },
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        status, result, streams, idle = None, None, [], False
        deadline = time.monotonic() + CELL_TIMEOUT_S
        # The reply (shell channel) and the idle status (iopub) reach the websocket in either
        # order: the cell is over once both have come.
        while not (status and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no execute_reply and idle status within {CELL_TIMEOUT_S} s for {code!r}")
            ws.settimeout(left)
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "execute_result":
                result = msg["content"]["data"].get("text/plain")
            elif kind == "stream":
                streams.append(msg["content"]["text"])
            elif kind == "error":
                streams.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            elif kind == "execute_reply":
                status = msg["content"]["status"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        return status, result, "".join(streams)
    finally:
        ws.close()


def descendants(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def main():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    log = tempfile.NamedTemporaryFile(prefix="lab-command-", suffix=".log", delete=False)
    started = time.monotonic()
    lab = subprocess.Popen(
        [str(ROOT / "kernel-setup.sh"), "--lab", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
    )
    known = set()  # every process the command started, so that none outlives the test
    problems, lines = [], []

    def track():
        known.update(descendants(lab.pid))

    try:
        match = read_lines_until(lab.stdout, URL_LINE, START_TIMEOUT_S, lines)
        track()
        if not match:
            problems.append(f"no URL line within {START_TIMEOUT_S} s; stdout was:\n  " + "\n  ".join(lines[-15:]))
            return problems
        url, bound, lab_path, token = match.group(1), int(match.group(2)), match.group(3), match.group(4)
        print(f"served after {time.monotonic() - started:.1f} s; last lines printed:")
        for line in lines[-4:]:
            print(f"  | {line}")
        if bound != port:
            problems.append(f"asked for port {port}, served on {bound}")
        if lab_path != f"/lab/tree/{LESSON}":
            problems.append(f"the URL opens {lab_path}, not the lesson")
        if os.geteuid() == 0 and not any("--allow-root" in l for l in lines):
            problems.append("running as root, but the command did not say it passes --allow-root")
        base = f"http://127.0.0.1:{bound}"

        status, model = api(base, token, f"/api/contents/{LESSON}?content=0")
        if status != 200 or (model or {}).get("type") != "notebook":
            problems.append(f"GET /api/contents/{LESSON}: status {status}, {model}")
        status, _ = api(base, token, f"/api/contents/{LESSON}?content=0", auth=False)
        if status not in (401, 403):
            problems.append(f"the notebook is served without the token (status {status})")
        status, specs = api(base, token, "/api/kernelspecs")
        spec = (specs or {}).get("kernelspecs", {}).get("rust-tch", {}).get("spec", {})
        if spec.get("display_name") != "Rust (tch)":
            problems.append(f"kernel 'Rust (tch)' not listed: {sorted((specs or {}).get('kernelspecs', {}))}")
            return problems

        status, kernel = api(base, token, "/api/kernels", "POST", {"name": "rust-tch", "path": "notebooks"})
        if status not in (200, 201):
            problems.append(f"starting the kernel: status {status}")
            return problems
        track()
        cell_started = time.monotonic()
        reply, result, streams = execute(base, token, kernel["id"], CELL)
        track()
        print(f"cell ran in {time.monotonic() - cell_started:.1f} s: status {reply}, result {result!r}")
        if reply != "ok" or result != "10":
            problems.append(f"the cell gave status {reply}, result {result!r}, output {streams.strip()[:500]!r}")
    except Exception as e:  # noqa: BLE001 - reported as a failure, cleanup still runs
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        track()
        # Ctrl+C, as a user stops it; then nothing the command started may remain.
        if lab.poll() is None:
            lab.send_signal(signal.SIGINT)
        try:
            lab.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"the command did not stop within {STOP_TIMEOUT_S} s of Ctrl+C")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in known):
            time.sleep(0.2)
        left = [p for p in known if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if left:
            problems.append("left running after Ctrl+C: " + ", ".join(f"{p.pid} {p.name()}" for p in left))
        for p in left + descendants(lab.pid):
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(lab.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        lab.wait()
        if port_open(port):
            problems.append(f"port {port} still open after the test")
        log.close()
        if problems:
            print(f"server log: {log.name}")
        else:
            os.unlink(log.name)
    return problems


if __name__ == "__main__":
    found = main()
    for p in found:
        print(f"FAIL: {p}")
    print("lab command: " + ("FAILED" if found else "ok"))
    sys.exit(1 if found else 0)
