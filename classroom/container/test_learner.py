#!/usr/bin/env python3
"""The image as one learner runs it: `podman run -p 127.0.0.1:PORT:8888 -v DATA:/data:ro -v VOLUME:/home/jovyan IMAGE`.

Checks, through the published port only: JupyterLab prints its URL with a token and answers
with that token (and refuses without it); over the kernel's websocket the lesson's opening
cells run in the container (`:dep` + `use`, `cifar10::load_data()?` from the mounted data,
`plot_sample` returns an image/png), then a short `fit`; Stop during a `fit` ends the cell and
keeps `x_train` and `model` (our evcxr patch is inside); every process in the container runs
as uid 1000; `podman stop` ends it within 10 s without a SIGKILL; a second container on the
same volume keeps a notebook edited in the first. Prints the timings and memory (benchmarks,
not pass/fail). Removes its containers and volume, also on failure or Ctrl+C.

    test_learner.py --image NAME [--data DIR] [--screenshot FILE]
    test_learner.py --image NAME --smoke USER:UID   an image built with other NB_USER/NB_UID
                                                    (repo2docker's arguments): JupyterLab answers,
                                                    every process runs as that user
"""

import argparse
import asyncio
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from kernel_ws import Failure, Kernel, text_of  # noqa: E402
from lesson_cells import FIT_CELL, LESSON, lesson_cells  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
URL_TIMEOUT_S = 120
STOP_LIMIT_S = 10
EDIT_MARK = "edited in the first container " + uuid.uuid4().hex[:8]

# CI caps every fit through NOTEBOOK_KIT_MAX_EPOCHS; this one must run until stopped.
LONG_FIT_CELL = "set_max_epochs(None)?;\nmodel.fit(&x_fit, &y_fit, Fit::epochs(1000))?;"
AFTER_STOP_CELL = "(x_train.size(), model.history().epochs() > 0)"
# The checkout's lesson, which the image hands out.
OPENING_CELLS = lesson_cells(ROOT / "notebooks" / pathlib.Path(LESSON).name)

resources = {"containers": [], "volumes": []}


def log(msg):
    print(f"[learner] {msg}", flush=True)


def podman(*args, check=True, timeout=120):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise Failure(f"podman {' '.join(args[:3])} ...: exit {result.returncode}: {result.stderr.strip()[-800:]}")
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_container(image, port, data, volume, env=()):
    name = f"nk-test-learner-{uuid.uuid4().hex[:8]}"
    resources["containers"].append(name)
    args = ["run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8888"]
    if volume:
        args += ["-v", f"{volume}:/home/jovyan"]
    if data:
        args += ["-v", f"{data}:/data:ro"]
    for pair in env:
        args += ["-e", pair]
    podman(*args, image)
    return name


def container_logs(name, tail=None):
    result = subprocess.run(["podman", "logs", *(["--tail", str(tail)] if tail else []), name],
                            capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def wait_for_url(name, port):
    """The URL the container printed for the learner, with its token; the host's port swapped in."""
    deadline = time.monotonic() + URL_TIMEOUT_S
    while time.monotonic() < deadline:
        logs = container_logs(name)
        found = re.search(r"http://127\.0\.0\.1:8888(/lab/tree/\S+)\?token=(\w+)", logs)
        if found:
            return found.group(1), found.group(2)
        state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).strip()
        if state not in ("running", "created", "configured"):
            raise Failure(f"the container is {state} before printing a URL:\n{logs[-3000:]}")
        time.sleep(0.3)
    raise Failure(f"no URL with a token in the container's output within {URL_TIMEOUT_S} s:\n{container_logs(name)[-3000:]}")


def http_status(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def host_processes(name):
    """(host pid, uid, VmRSS kB, command) of every process in the container."""
    rows = []
    for line in podman("top", name, "hpid").split()[1:]:
        try:
            status = pathlib.Path(f"/proc/{line}/status").read_text()
            cmd = pathlib.Path(f"/proc/{line}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended meanwhile
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        rss = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
        rows.append((int(line), uid, int(rss.group(1)) if rss else 0, cmd))
    return rows


def check(condition, message):
    if not condition:
        raise Failure(message)


async def first_run(args, port, volume, numbers):
    started = time.monotonic()
    name = start_container(args.image, port, args.data, volume)
    lab_path, token = wait_for_url(name, port)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while http_status(f"{base}/api/status", token) != 200:
        check(time.monotonic() < deadline, "JupyterLab printed its URL but does not answer on the published port")
        time.sleep(0.3)
    numbers["podman run -> JupyterLab answering"] = f"{time.monotonic() - started:.1f} s"
    check(lab_path.endswith("/01-gpu-benchmarking-cifar10.ipynb"), f"the printed URL opens {lab_path}, not the lesson")
    check(http_status(f"{base}/api/status") == 403, "JupyterLab answers without the token")
    check(http_status(f"{base}{lab_path}?token={token}") == 200, f"{lab_path} with the token does not load")
    log(f"JupyterLab answers at {base}{lab_path} with its token, refuses without it")

    kernel = Kernel(base, token, LESSON)
    await kernel.open()
    for label, code in OPENING_CELLS:
        outputs = await kernel.execute(label, code)
        if label == "plot":
            check(any("image/png" in o.get("data", {}) for o in outputs), "plot_sample returned no image/png")
    numbers["container start -> first plot_sample image"] = f"{kernel.png_at['plot'] - started:.1f} s"
    log("opening cells ran in the container: :dep, load_data from /data, plot_sample -> image/png")
    outputs = await kernel.execute("fit", FIT_CELL)
    log(text_of(outputs).strip().splitlines()[-1])

    procs = host_processes(name)
    numbers["RSS after the opening cells and a 2,000-image fit"] = \
        f"{sum(p[2] for p in procs) / 2**20:.2f} GB over {len(procs)} processes (largest {max(p[2] for p in procs) / 2**20:.2f} GB)"

    # Stop (JupyterLab's interrupt) a few seconds into a long fit, and watch the processes then.
    msg_id = await kernel.start(LONG_FIT_CELL)
    seen_at = []

    def running(text):
        if "Epoch 1/" in text and not seen_at:
            seen_at.append(time.monotonic())
        return bool(seen_at) and time.monotonic() - seen_at[0] > 3

    outputs, reply = await kernel.collect("long fit", msg_id, timeout=120, until=running)
    check(reply is None, f"the long fit ended by itself: {text_of(outputs)[-500:]}")
    procs = host_processes(name)
    not_1000 = [p for p in procs if p[1] != 1000]
    check(not not_1000, f"processes in the container not running as uid 1000: {not_1000}")
    check(any("evcxr" in p[3] for p in procs), f"no kernel among the container's processes: {procs}")
    log(f"all {len(procs)} processes in the container run as uid 1000 (kernel and cell included)")
    sent = time.monotonic()
    await kernel.interrupt()
    more, reply = await kernel.collect("long fit", msg_id, timeout=60)
    text = text_of(outputs + more)
    numbers["Stop -> fit cell ends"] = f"{time.monotonic() - sent:.2f} s"
    check("interrupted at epoch" in text, f"no interruption message from fit: {text[-400:]}")
    check("SIGKILL" not in text and "Subprocess terminated" not in text, f"the cell's process died: {text[-400:]}")
    outputs = await kernel.execute("after stop", AFTER_STOP_CELL)
    check("[50000, 32, 32, 3]" in text_of(outputs) and "true" in text_of(outputs),
          f"x_train or the model is gone after Stop: {text_of(outputs)}")
    log("Stop during fit ended the cell and kept x_train and model")
    kernel.close()

    # An edit of the learner's, saved as JupyterLab saves it.
    model = await kernel.api("GET", f"/api/contents/{LESSON}?content=1")
    model["content"]["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": EDIT_MARK})
    await kernel.api("PUT", f"/api/contents/{LESSON}", {"type": "notebook", "format": "json", "content": model["content"]})

    if args.screenshot:
        screenshot(f"{base}{lab_path}?token={token}", args.screenshot)

    stop_started = time.monotonic()
    podman("stop", name, timeout=60)
    stop_s = time.monotonic() - stop_started
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).strip()
    numbers["podman stop"] = f"{stop_s:.1f} s (exit code {exit_code})"
    check(stop_s < STOP_LIMIT_S and exit_code != "137",
          f"podman stop took {stop_s:.1f} s, exit code {exit_code} (137: killed after the grace period)")
    log(f"podman stop ended JupyterLab and its kernel in {stop_s:.1f} s")


async def second_run(args, port, volume):
    """Same volume, no data mounted, and no way out (a proxy that refuses): the notebook edited
    in the first run is there, and load_data() says in one line that the download failed."""
    name = start_container(args.image, port, None, volume, env=["HTTPS_PROXY=http://127.0.0.1:9"])
    lab_path, token = wait_for_url(name, port)
    kernel = Kernel(f"http://127.0.0.1:{port}", token, LESSON)
    deadline = time.monotonic() + 60
    while http_status(f"http://127.0.0.1:{port}/api/status", token) != 200:
        check(time.monotonic() < deadline, "the second container's JupyterLab does not answer")
        time.sleep(0.3)
    model = await kernel.api("GET", f"/api/contents/{LESSON}?content=1")
    check(model["content"]["cells"][0]["source"] == EDIT_MARK,
          "the second container on the same volume does not show the notebook edited in the first")
    log("a second container on the same volume keeps the edited notebook")
    await kernel.open()
    await kernel.execute("dep", OPENING_CELLS[0][1])
    code = "cifar10::load_data().map(|_| ()).map_err(|e| e.to_string())"
    outputs, reply = await kernel.collect("offline load", await kernel.start(code), timeout=120)
    text = text_of(outputs)
    check(reply is not None and reply.get("status") == "ok" and "download of https://" in text and "failed" in text
          and "panicked" not in text, f"load_data() without data or internet: {text[-600:]}")
    log(f"without data or internet, load_data() says: {text.strip()[:200]}")
    kernel.close()
    podman("stop", name, timeout=60)


def smoke(image, user, uid):
    """The image as repo2docker builds it (--build-arg NB_USER, NB_UID): starts, serves, runs as them."""
    name = start_container(image, port := free_port(), None, None)
    _, token = wait_for_url(name, port)
    deadline = time.monotonic() + 60
    while http_status(f"http://127.0.0.1:{port}/api/status", token) != 200:
        check(time.monotonic() < deadline, f"the {user} image's JupyterLab does not answer")
        time.sleep(0.3)
    procs = host_processes(name)
    check(procs and all(p[1] == uid for p in procs), f"not every process runs as uid {uid}: {procs}")
    whoami = podman("exec", name, "bash", "-c", 'echo "$(id -un) $HOME"').split()
    check(whoami == [user, f"/home/{user}"], f"the image's user and home are {whoami}, not {user} /home/{user}")
    log(f"built with NB_USER={user} NB_UID={uid}: JupyterLab answers, all {len(procs)} processes run as {user} ({uid})")


def screenshot(url, out):
    """JupyterLab from the container in headless Chromium, as a learner's browser shows it."""
    profile = subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--window-size=1400,1600", "--virtual-time-budget=30000",
                        f"--screenshot={out}", url], capture_output=True, timeout=180, check=True)
        log(f"screenshot of JupyterLab from the container: {out}")
    finally:
        subprocess.run(["rm", "-rf", profile])


def cleanup():
    for name in resources["containers"]:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
    for volume in resources["volumes"]:
        subprocess.run(["podman", "volume", "rm", "-f", volume], capture_output=True)


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True)
    default_data = os.environ.get("NOTEBOOK_KIT_DATA") or (ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=str(default_data), help="folder to mount read-only at /data")
    parser.add_argument("--screenshot", help="also save a screenshot of JupyterLab from the container")
    parser.add_argument("--smoke", metavar="USER:UID", help="only check that an image built for this user starts")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    if args.smoke:
        user, uid = args.smoke.split(":")
        try:
            smoke(args.image, user, int(uid))
        except Failure as e:
            print(f"[learner] FAILED: {e}", flush=True)
            return 1
        finally:
            cleanup()
        return 0
    args.data = str(pathlib.Path(args.data).resolve()) if pathlib.Path(args.data).is_dir() else None
    check(args.data is not None, "no data folder to mount (--data or NOTEBOOK_KIT_DATA): the test loads CIFAR-10 offline")
    volume = f"nk-test-home-{uuid.uuid4().hex[:8]}"
    resources["volumes"].append(volume)
    podman("volume", "create", volume)
    numbers = {}
    try:
        port = free_port()
        asyncio.run(first_run(args, port, volume, numbers))
        asyncio.run(second_run(args, free_port(), volume))
    except Failure as e:
        print(f"[learner] FAILED: {e}", flush=True)
        for name in resources["containers"][-1:]:
            print(f"[learner] the container's last output:\n{container_logs(name, 40)}")
        return 1
    finally:
        cleanup()
    print("[learner] measured (this machine; benchmarks, not pass/fail):")
    for key, value in numbers.items():
        print(f"    {key}: {value}")
    print("[learner] ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
