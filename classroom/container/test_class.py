#!/usr/bin/env python3
"""A class on containers, for real: JupyterHub 6.1.1 + DockerSpawner 14.0.0 (the config beside
this file) spawning the kit's image for two students at once, through podman's Docker API.

    test_class.py --image NAME [--data DIR] [--cpu-limit N] [--mem-limit SIZE] [--keep-log FILE]

What it does, all on 127.0.0.1:
  - the hub's own Python venv (jupyterhub, dockerspawner, docker) and configurable-http-proxy
    from npm, made once under ${NOTEBOOK_KIT_HOME:-~/.local/share/notebook-kit}/container-hub
    (a stamp names the versions; a rerun finds them in a moment);
  - `podman system service` on a socket of its own, which the hub reaches through DOCKER_HOST;
  - the hub on free ports, with a service token (scopes from the config) that adds two students
    and hands each a token of their own: no passwords;
  - both students at once: start the server through the hub's API, open the lesson's kernel
    through the hub's proxy with the student's token, run the lesson's opening cells (`:dep`,
    `load_data` from the data mounted read-only at /data, `plot_sample` -> image/png) and a
    short fit;
  - checks: each student's container has the CPU quota and memory limit of the config, and
    no swap beyond it (inside the container, and for the kernel's process from the host's
    cgroups), the kernel one libtorch thread per CPU of the limit; on the shared host network
    each server listens on a port of its own and nothing in a container listens beyond
    127.0.0.1; a student's token does not open the other's server; a file student 1's kernel
    writes in their home is not in student 2's container, whose /home holds only jovyan (its
    own volume); /data is read-only; after both servers stop through the API their
    containers are gone and their volumes kept.
Timings and memory peaks are printed as benchmarks (not pass/fail). Exit 1 with the reason (and the hub's log)
on a failure. Everything it made goes at the end, also on failure, Ctrl+C or SIGTERM: hub,
proxy, podman service, containers, volumes, socket, temporary folder. Names carry a unique
prefix (nk-class-XXXXXXXX), so concurrent runs do not meet.

Needs root (rootful podman), podman (with runc; on hosts like this project's CI point
CONTAINERS_CONF at classroom/container/containers.conf), /usr/bin/python3 with venv, npm, and a
Python with tornado, nbformat, requests to run this script (the kit's venv has them).
"""

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from kernel_ws import Failure, Kernel, text_of  # noqa: E402
from lesson_cells import FIT_CELL, LESSON, lesson_cells  # noqa: E402

CONFIG = HERE / "jupyterhub_config.py"
HUB_REQUIREMENTS = ["jupyterhub==6.1.1", "dockerspawner==14.0.0", "docker==7.1.0"]
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
STUDENTS = ["ada", "grace"]
SERVICE_START_S = 30
HUB_START_S = 60
SERVER_READY_S = 240
SERVER_STOP_S = 60
HUB_STOP_S = 60
CELL_TIMEOUT_S = 600

resources = {"service": None, "hub": None, "socket": None, "state": None, "name": None}


def log(msg):
    print(f"[class] {msg}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def podman(*args, check_rc=True, timeout=120):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check_rc and result.returncode != 0:
        raise Failure(f"podman {' '.join(args[:4])} ...: exit {result.returncode}: {result.stderr.strip()[-800:]}")
    return result.stdout


def tail(path, lines=60):
    try:
        return "\n".join(pathlib.Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path})"


# --- the hub's environment, made once -----------------------------------------------------------
def hub_env_dir():
    home = os.environ.get("NOTEBOOK_KIT_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "notebook-kit")
    return pathlib.Path(home) / "container-hub"


def ensure_hub_env():
    """The hub's venv and proxy under container-hub/, remade when the stamp differs."""
    folder = hub_env_dir()
    folder.mkdir(parents=True, exist_ok=True)
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    want = hashlib.sha256(json.dumps([HUB_REQUIREMENTS, PROXY_PACKAGE, python]).encode()).hexdigest()[:16]
    stamp = folder / ".notebook-kit-stamp"
    chp = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once: the second waits, then finds it made
        if stamp.exists() and stamp.read_text().split()[0] == want and (folder / "venv/bin/jupyterhub").exists() \
                and chp.exists():
            return folder
        started = time.monotonic()
        log(f"making the hub's environment in {folder} ({', '.join(HUB_REQUIREMENTS)}, {PROXY_PACKAGE})")
        stamp.unlink(missing_ok=True)
        shutil.rmtree(folder / "venv", ignore_errors=True)
        shutil.rmtree(folder / "node_modules", ignore_errors=True)
        # Debian's Python, not pyenv's (STACK-NOTES: a venv made from a Python inside a home
        # that others cannot read is unusable to them; the hub runs as root, but keep it portable).
        subprocess.run([python, "-m", "venv", str(folder / "venv")], check=True)
        subprocess.run([str(folder / "venv/bin/pip"), "install", "-q", "--disable-pip-version-check",
                        *HUB_REQUIREMENTS], check=True)
        subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error",
                        PROXY_PACKAGE], check=True, stdout=subprocess.DEVNULL)
        stamp.write_text(f"{want} {' '.join(HUB_REQUIREMENTS)} {PROXY_PACKAGE}\n")
        log(f"hub environment made in {time.monotonic() - started:.0f} s")
        return folder


# --- podman's Docker API --------------------------------------------------------------------------
def docker_api_get(sock_path, path, timeout=5):
    """(status, body) of a GET on the Docker Engine API over its unix socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def start_podman_service(state, sock_path):
    log_file = open(state / "podman-service.log", "w")
    proc = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock_path}"],
                            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    resources["service"] = proc
    deadline = time.monotonic() + SERVICE_START_S
    while time.monotonic() < deadline:
        check(proc.poll() is None, f"podman system service exited with {proc.returncode}:\n"
              f"{tail(state / 'podman-service.log')}")
        try:
            status, body = docker_api_get(str(sock_path), "/v1.41/version")
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.2)
    raise Failure(f"podman's Docker API did not answer on {sock_path} within {SERVICE_START_S} s")


# --- the hub ----------------------------------------------------------------------------------------
class Hub:
    def __init__(self, env_dir, state, name, args, service_token):
        self.env_dir, self.state, self.name, self.args = env_dir, state, name, args
        self.service_token = service_token
        self.port, self.hub_port, self.proxy_api_port = free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = state / "hub.log"
        self.proc = None

    def start(self, sock_path):
        env = {
            "PATH": f"{self.env_dir / 'venv/bin'}:{self.env_dir / 'node_modules/.bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.state),
            "DOCKER_HOST": f"unix://{sock_path}",
            "NOTEBOOK_KIT_IMAGE": self.args.image,
            "NOTEBOOK_KIT_PULL_POLICY": "never",  # a local image: nothing to pull, no registry here
            "NOTEBOOK_KIT_DATA": self.args.data,
            "NOTEBOOK_KIT_CPU_LIMIT": self.args.cpu_limit,
            "NOTEBOOK_KIT_MEM_LIMIT": self.args.mem_limit,
            "NOTEBOOK_KIT_NAME": self.name,
            "NOTEBOOK_KIT_HUB_IP": "127.0.0.1",
            "NOTEBOOK_KIT_HUB_PORT": str(self.port),
            "NOTEBOOK_KIT_HUB_API_PORT": str(self.hub_port),
            "NOTEBOOK_KIT_PROXY_API_PORT": str(self.proxy_api_port),
            "NOTEBOOK_KIT_SERVICE_TOKEN": self.service_token,
            # No logins: the students exist and get tokens through the class-admin service only
            # (PAM, the config's default, would want Unix accounts named like them).
            "NOTEBOOK_KIT_AUTHENTICATOR": "null",
        }
        self.proc = subprocess.Popen([str(self.env_dir / "venv/bin/jupyterhub"), "-f", str(CONFIG)],
                                     cwd=self.state, env=env, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        resources["hub"] = self
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline:
            check(self.proc.poll() is None,
                  f"the hub exited with status {self.proc.returncode} while starting")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise Failure(f"the hub did not answer on {self.url} within {HUB_START_S} s")

    def log_tail(self, lines=60):
        return tail(self.log_path, lines)

    def api(self, method, path, token=None, ok=(200, 201, 202, 204), **kwargs):
        r = requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                             headers={"Authorization": f"token {token or self.service_token}"}, **kwargs)
        if r.status_code not in ok:
            raise Failure(f"{method} /hub/api{path}: HTTP {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def stop(self):
        """SIGTERM: the hub stops the servers it runs (their containers go) and its proxy."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(HUB_STOP_S)
        except subprocess.TimeoutExpired:
            log(f"the hub did not stop within {HUB_STOP_S} s: killing its process group")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


# --- a student --------------------------------------------------------------------------------------
class Student:
    def __init__(self, hub, name, token):
        self.hub, self.name, self.token = hub, name, token
        self.container = f"{hub.name}-server-{name}"
        self.volume = f"{hub.name}-{name}"
        self.times = {}
        self.kernel = None

    async def api(self, method, path, ok=(200, 201, 202, 204)):
        # requests in a thread: the two students' calls run side by side.
        return await asyncio.to_thread(self.hub.api, method, path, self.token, ok)

    async def start_server(self):
        started = time.monotonic()
        await self.api("POST", f"/users/{self.name}/server")
        while time.monotonic() - started < SERVER_READY_S:
            model = await self.api("GET", f"/users/{self.name}")
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                self.times["start server -> ready"] = f"{time.monotonic() - started:.1f} s"
                return started
            if not server and time.monotonic() - started > 5:
                raise Failure(f"{self.name}: the server's start failed (the hub's log below says why)")
            await asyncio.sleep(0.5)
        raise Failure(f"{self.name}: server not ready within {SERVER_READY_S} s")

    async def lesson(self):
        started = await self.start_server()
        self.kernel = Kernel(f"{self.hub.url}/user/{self.name}", self.token, LESSON, who=self.name)
        await self.kernel.open()
        self.times["start server -> kernel open"] = f"{time.monotonic() - started:.1f} s"
        for label, code in lesson_cells(ROOT / "notebooks" / pathlib.Path(LESSON).name):
            outputs = await self.kernel.execute(label, code, timeout=CELL_TIMEOUT_S)
            if label == "plot":
                check(any("image/png" in o.get("data", {}) for o in outputs),
                      f"{self.name}: plot_sample returned no image/png")
        self.times["start server -> first image"] = f"{self.kernel.png_at['plot'] - started:.1f} s"
        fit_started = time.monotonic()
        outputs = await self.kernel.execute("fit", FIT_CELL, timeout=CELL_TIMEOUT_S)
        self.times["fit cell (2,000 images, 1 epoch)"] = f"{time.monotonic() - fit_started:.1f} s"
        last = (text_of(outputs).strip().splitlines() or [""])[-1]
        check("test fit: loss" in last, f"{self.name}: the fit printed no loss: {text_of(outputs)[-500:]}")
        log(f"{self.name}: opening cells ran in their container (:dep, load_data from /data, plot_sample -> "
            f"image/png), then {last}")

    async def cell(self, label, code, marker):
        """Runs a cell whose last line prints `marker: ...`; that line's rest."""
        text = text_of(await self.kernel.execute(label, code, timeout=CELL_TIMEOUT_S))
        found = re.search(rf"^{re.escape(marker)}: (.*)$", text, re.M)
        check(found, f"{self.name}: cell '{label}' printed no '{marker}:' line: {text[-500:]}")
        return found.group(1)

    async def stop_server(self):
        started = time.monotonic()
        await self.api("DELETE", f"/users/{self.name}/server")
        while time.monotonic() - started < SERVER_STOP_S:
            model = await self.api("GET", f"/users/{self.name}")
            if not model.get("servers"):
                self.times["stop server -> stopped"] = f"{time.monotonic() - started:.1f} s"
                return
            await asyncio.sleep(0.5)
        raise Failure(f"{self.name}: the server did not stop within {SERVER_STOP_S} s")


# --- checks -------------------------------------------------------------------------------------------
def parse_bytes(text):
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text.upper())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * units[m.group(2)])


CGROUP_SCRIPT = r"""
if [ -f /sys/fs/cgroup/cpu.max ]; then
    echo "v2 $(cat /sys/fs/cgroup/cpu.max) $(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo -)"
else
    echo "v1 $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us) $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo -)"
fi
"""


def container_limits(container):
    """(CPUs, memory bytes, memory+swap bytes) from the container's cgroup files, read inside it;
    None where unlimited (or, for swap, not shown by this kernel)."""
    version, quota, period, memory, swap = podman("exec", container, "sh", "-c", CGROUP_SCRIPT).split()

    def number(text):
        return None if text in ("max", "-", "-1") or int(text) >= 2**60 else int(text)

    cpus = None if number(quota) is None else int(quota) / int(period)
    mem = number(memory)
    if swap == "-":  # no swap accounting in this kernel: nothing to check
        swap_total = "not shown"
    elif version == "v2":  # memory.swap.max is the swap alone
        swap_total = None if mem is None or number(swap) is None else mem + number(swap)
    else:
        swap_total = number(swap)
    return cpus, mem, swap_total


def host_cgroup_limits(pid):
    """(CPUs, memory bytes) of the cgroups a host process is in, read on the host."""
    cpus = mem = None
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        names = controllers.split(",")
        if controllers == "":  # cgroup v2
            base = pathlib.Path("/sys/fs/cgroup") / path.lstrip("/")
            if (base / "cpu.max").exists():
                quota, period = (base / "cpu.max").read_text().split()
                cpus = None if quota == "max" else int(quota) / int(period)
                memory = (base / "memory.max").read_text().strip()
                mem = None if memory == "max" else int(memory)
        elif "cpu" in names:
            for mount in ("cpu,cpuacct", "cpu"):
                base = pathlib.Path("/sys/fs/cgroup") / mount / path.lstrip("/")
                if (base / "cpu.cfs_quota_us").exists():
                    quota = int((base / "cpu.cfs_quota_us").read_text())
                    cpus = None if quota < 0 else quota / int((base / "cpu.cfs_period_us").read_text())
                    break
        elif "memory" in names:
            base = pathlib.Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (base / "memory.limit_in_bytes").exists():
                memory = int((base / "memory.limit_in_bytes").read_text())
                mem = None if memory >= 2**60 else memory
    return cpus, mem


def kernel_host_pid(container):
    """The host pid of the Rust kernel (evcxr_jupyter) in the container."""
    out = podman("top", container, "hpid", "args")
    for line in out.splitlines()[1:]:
        hpid, _, command = line.strip().partition(" ")
        if "evcxr_jupyter" in command:
            return int(hpid)
    raise Failure(f"no evcxr_jupyter among {container}'s processes:\n{out}")


def check_limits(student, args):
    want_cpus = float(args.cpu_limit)
    want_mem = parse_bytes(args.mem_limit)
    cpus, mem, swap_total = container_limits(student.container)
    check(cpus is not None and abs(cpus - want_cpus) < 1e-6,
          f"{student.name}'s container has a CPU quota of {cpus} CPUs, not the config's cpu_limit {want_cpus}")
    check(mem == want_mem, f"{student.name}'s container has a memory limit of {mem} bytes, not the config's "
          f"mem_limit {args.mem_limit} ({want_mem} bytes)")
    check(swap_total in (want_mem, "not shown"), f"{student.name}'s container may use {swap_total} bytes of memory + swap, not "
          f"the memory limit's {want_mem} (the config's memswap_limit)")
    pid = kernel_host_pid(student.container)
    host_cpus, host_mem = host_cgroup_limits(pid)
    check(host_cpus == cpus and host_mem == mem,
          f"{student.name}'s kernel (host pid {pid}) is in cgroups limited to {host_cpus} CPUs / {host_mem} bytes, "
          f"not the container's {cpus} / {mem}")
    environ = dict(item.split("=", 1) for item in
                   pathlib.Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0") if "=" in item)
    want_threads = str(max(1, int(want_cpus)))
    check(environ.get("OMP_NUM_THREADS") == want_threads,
          f"{student.name}'s kernel runs with OMP_NUM_THREADS={environ.get('OMP_NUM_THREADS')}, not {want_threads} "
          f"(one libtorch thread per CPU of cpu_limit)")
    log(f"{student.name}: cgroup limits applied: CPU quota {cpus:g} CPUs, memory {mem / 2**30:g} GiB (memory + swap: "
        f"{swap_total if swap_total == 'not shown' else 'the same'}), inside the container and for the kernel's process (host pid {pid}) from the host; kernel's "
        f"OMP_NUM_THREADS={want_threads}")


def memory_peak(container):
    """The most memory the container's cgroup has held so far (v1 max_usage; v2 memory.peak)."""
    out = podman("exec", container, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes "
                 "2>/dev/null || cat /sys/fs/cgroup/memory.peak 2>/dev/null || echo -").strip()
    return f"{int(out) / 2**30:.2f} GiB" if out.isdigit() else "not shown"


def listening(container):
    """{(address, port)} of the TCP sockets the container's processes listen on. With host
    networking they are in the host's tables, which this test (on the host's network) reads."""
    inodes = set()
    for hpid in podman("top", container, "hpid").split()[1:]:
        try:
            for fd in os.listdir(f"/proc/{hpid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{hpid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
        except OSError:
            continue  # ended meanwhile
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with contextlib.suppress(OSError):
            for line in pathlib.Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A" or inode not in inodes:  # 0A: LISTEN
                    continue
                address, port = local.split(":")
                if width == 8:
                    ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                else:
                    raw = bytes.fromhex(address)
                    ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
                found.add((ip, int(port, 16)))
    return found


def service_url(container):
    env = json.loads(podman("inspect", "--format", "{{json .Config.Env}}", container))
    for item in env:
        if item.startswith("JUPYTERHUB_SERVICE_URL="):
            return item.split("=", 1)[1]
    raise Failure(f"{container} has no JUPYTERHUB_SERVICE_URL in its environment")


def check_listening(students):
    ports = {}
    for s in students:
        sockets = listening(s.container)
        wide = sorted(a for a in sockets if a[0] not in ("127.0.0.1", "::1"))
        check(not wide, f"{s.name}'s container listens beyond loopback (host network: on the machine's "
              f"interfaces, past the proxy): {wide}")
        url = service_url(s.container)
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/user/[^/]+/", url)
        check(m, f"{s.name}'s server is told to listen at {url}, not on 127.0.0.1")
        port = int(m.group(1))
        check(("127.0.0.1", port) in sockets, f"{s.name}'s server does not listen on 127.0.0.1:{port}: {sorted(sockets)}")
        ports[s.name] = port
        log(f"{s.name}'s server listens on 127.0.0.1:{port}; all {len(sockets)} listening sockets of the container "
            f"(server, kernel) are on loopback")
    check(len(set(ports.values())) == len(ports), f"the students' servers share a port: {ports}")


def exists_in(container, path):
    return subprocess.run(["podman", "exec", container, "test", "-e", path], capture_output=True,
                          timeout=60).returncode == 0


async def check_isolation(first, second):
    secret = f"/home/jovyan/only-{first.name}-{uuid.uuid4().hex[:8]}.txt"
    wrote = await first.cell("write in home", f'std::fs::write("{secret}", "{first.name}\'s work").unwrap();\n'
                             f'println!("wrote: {{}}", std::path::Path::new("{secret}").exists());', "wrote")
    check(wrote == "true" and exists_in(first.container, secret),
          f"{first.name} could not write {secret} in their home")
    check(not exists_in(second.container, secret),
          f"{secret}, written by {first.name}, exists in {second.name}'s container")
    listing = await second.cell("list /home", 'let mut names: Vec<String> = std::fs::read_dir("/home").unwrap()\n'
                                '    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();\n'
                                'names.sort();\nprintln!("home: {}", names.join(" "));', "home")
    check(listing.split() == ["jovyan"], f"{second.name}'s kernel sees /home: {listing!r}, not only jovyan")
    own = await second.cell("list own home", 'let mut names: Vec<String> = std::fs::read_dir("/home/jovyan")'
                            '.unwrap()\n    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();\n'
                            'names.sort();\nprintln!("mine: {}", names.join(" "));', "mine")
    check(pathlib.Path(secret).name not in own.split(), f"{second.name}'s home lists {secret}: {own}")
    mounts = json.loads(podman("inspect", "--format", "{{json .Mounts}}", second.container))
    home = [m for m in mounts if m.get("Destination") == "/home/jovyan"]
    check(len(home) == 1 and home[0].get("Name") == second.volume,
          f"{second.name}'s /home/jovyan is not their own volume {second.volume}: {home}")
    log(f"{second.name} cannot see {first.name}'s files: {pathlib.Path(secret).name} (written by {first.name}'s "
        f"kernel) is not in {second.name}'s container; /home there holds only jovyan, on volume {second.volume}")
    data = [m for m in mounts if m.get("Destination") == "/data"]
    check(len(data) == 1 and not data[0].get("RW", True), f"/data is not mounted read-only: {data}")
    probe = subprocess.run(["podman", "exec", second.container, "touch", "/data/.write-probe"], capture_output=True,
                           text=True, timeout=60)
    check(probe.returncode != 0, f"{second.name} can write into /data")
    log(f"/data is read-only in the containers ({probe.stderr.strip()})")


async def check_tokens(first, second):
    """One student's token does not open the other's server."""
    def status():
        return requests.get(f"{first.hub.url}/user/{first.name}/api/status", timeout=30,
                            headers={"Authorization": f"token {second.token}"}, allow_redirects=False).status_code
    code = await asyncio.to_thread(status)
    check(code in (403, 404), f"{second.name}'s token opens {first.name}'s server: HTTP {code}")
    log(f"{second.name}'s token does not open {first.name}'s server (HTTP {code})")


def containers_of(name):
    out = podman("ps", "-a", "--filter", f"name=^{name}-", "--format", "{{.Names}}")
    return [n for n in out.split() if n.startswith(f"{name}-")]


def volumes_of(name):
    out = podman("volume", "ls", "--filter", f"name=^{name}-", "--format", "{{.Name}}")
    return [n for n in out.split() if n.startswith(f"{name}-")]


async def run(hub, args, times):
    tokens = {}
    hub.api("POST", "/users", json={"usernames": STUDENTS})
    for name in STUDENTS:
        tokens[name] = hub.api("POST", f"/users/{name}/tokens",
                               json={"note": "test_class.py", "expires_in": 3600})["token"]
    log(f"the class-admin service added {', '.join(STUDENTS)} and gave each a token of their own (no passwords)")
    students = [Student(hub, name, tokens[name]) for name in STUDENTS]
    await asyncio.gather(*(s.lesson() for s in students))
    names = containers_of(hub.name)
    check(sorted(names) == sorted(s.container for s in students),
          f"containers while both servers run: {names}, not one per student")
    for s in students:
        check_limits(s, args)
        s.times["memory peak of the container (cgroup)"] = memory_peak(s.container)
    check_listening(students)
    await check_tokens(students[0], students[1])
    await check_isolation(students[0], students[1])
    for s in students:
        s.kernel.close()
    await asyncio.gather(*(s.stop_server() for s in students))
    deadline = time.monotonic() + 30
    while (left := containers_of(hub.name)) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    check(not left, f"containers left after both servers stopped (remove = True): {left}")
    kept = volumes_of(hub.name)
    check(sorted(kept) == sorted(s.volume for s in students), f"the students' volumes after the stop: {kept}")
    log(f"both servers stopped through the API: their containers are removed, their volumes kept ({', '.join(kept)})")
    for s in students:
        times[s.name] = s.times


# --- cleanup -------------------------------------------------------------------------------------------
def cleanup():
    problems = []
    hub = resources["hub"]
    if hub is not None:
        try:
            hub.stop()
        except Exception as e:  # keep cleaning up
            problems.append(f"stopping the hub: {e}")
        pid_file = hub.state / "jupyterhub-proxy.pid"
        try:
            pid = int(pid_file.read_text().strip())
            if "configurable-http-proxy" in pathlib.Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                problems.append(f"the proxy (pid {pid}) outlived the hub: killed")
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
    name = resources["name"]
    if name:
        try:
            for container in containers_of(name):
                problems.append(f"container {container} outlived the hub: removed")
                podman("rm", "-f", "-t", "0", container, check_rc=False)
            for volume in volumes_of(name):
                podman("volume", "rm", "-f", volume, check_rc=False)
            left = volumes_of(name) + containers_of(name)
            if left:
                problems.append(f"could not remove {left}")
        except (Failure, subprocess.TimeoutExpired) as e:
            problems.append(str(e))
    service = resources["service"]
    if service is not None and service.poll() is None:
        service.terminate()
        try:
            service.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)
            service.wait(10)
    if resources["socket"]:
        pathlib.Path(resources["socket"]).unlink(missing_ok=True)
    return problems


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def not_now(signum, _frame):
    log(f"signal {signum} during the cleanup: ignored, the cleanup goes on")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True, help="the kit's image, e.g. localhost/notebook-kit:latest")
    default_data = os.environ.get("NOTEBOOK_KIT_DATA") or (ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=str(default_data), help="folder to mount read-only at /data")
    parser.add_argument("--cpu-limit", default="1", help="each student's cpu_limit (default 1)")
    parser.add_argument("--mem-limit", default="3G", help="each student's mem_limit (default 3G)")
    parser.add_argument("--keep-log", help="copy the hub's log here at the end")
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    if not data.is_dir():
        print(f"[class] FAILED: no data folder {data} (--data or NOTEBOOK_KIT_DATA): the lesson loads CIFAR-10 "
              "offline", flush=True)
        return 1
    args.data = str(data.resolve())
    try:
        check(float(args.cpu_limit) > 0 and parse_bytes(args.mem_limit) > 0, "")
    except (ValueError, Failure):
        print(f"[class] FAILED: --cpu-limit {args.cpu_limit} --mem-limit {args.mem_limit}: the test checks limits, "
              "give a number of CPUs and a size such as 3G", flush=True)
        return 1
    if subprocess.run(["podman", "image", "exists", args.image]).returncode != 0:
        print(f"[class] FAILED: no image {args.image} (classroom/container/build.sh --tag {args.image})", flush=True)
        return 1

    signal.signal(signal.SIGTERM, interrupted)
    run_id = uuid.uuid4().hex[:8]
    name = f"nk-class-{run_id}"
    resources["name"] = name
    failure = None
    times = {}
    state = None
    try:
        env_dir = ensure_hub_env()
        state = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-"))
        os.chmod(state, 0o700)
        resources["state"] = state
        sock_path = pathlib.Path(tempfile.gettempdir()) / f"{name}.sock"
        resources["socket"] = sock_path
        started = time.monotonic()
        version = start_podman_service(state, sock_path)
        log(f"podman system service answers the Docker API on {sock_path} (podman {version.get('Version')}, "
            f"API {version.get('ApiVersion')}) in {time.monotonic() - started:.1f} s")
        hub = Hub(env_dir, state, name, args, secrets.token_hex(32))
        started = time.monotonic()
        hub.start(sock_path)
        log(f"hub up on {hub.url} (hub API :{hub.hub_port}, proxy API :{hub.proxy_api_port}) in "
            f"{time.monotonic() - started:.1f} s; image {args.image}, cpu_limit {args.cpu_limit}, "
            f"mem_limit {args.mem_limit}, data {args.data} read-only at /data, names {name}-*")
        asyncio.run(run(hub, args, times))
    except Failure as e:
        failure = str(e)
    except KeyboardInterrupt as e:
        failure = f"interrupted ({e})" if str(e) else "interrupted"
    except Exception as e:  # an unexpected error is a failure with its reason
        import traceback
        traceback.print_exc()
        failure = f"{type(e).__name__}: {e}"
    finally:
        signal.signal(signal.SIGINT, not_now)
        signal.signal(signal.SIGTERM, not_now)
        if failure and resources["hub"] is not None:
            print(f"--- hub log (last lines) ---\n{resources['hub'].log_tail(80)}\n---", flush=True)
        if failure and state is not None:
            print(f"--- podman service log (last lines) ---\n{tail(state / 'podman-service.log', 20)}\n---",
                  flush=True)
        leftovers = cleanup()
        if args.keep_log and state is not None:
            with contextlib.suppress(OSError):
                shutil.copy(state / "hub.log", args.keep_log)
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)
    if leftovers:
        # Something outlived its owner (the hub should stop its servers): worth knowing, and a failure.
        failure = (failure + "; " if failure else "") + "cleanup: " + "; ".join(leftovers)
    if times:
        log("measured (this machine; benchmarks, not pass/fail):")
        for student, numbers in times.items():
            for key, value in numbers.items():
                log(f"    {student}: {key}: {value}")
    if failure:
        print(f"[class] FAILED: {failure}", flush=True)
        return 1
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
