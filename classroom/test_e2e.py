#!/usr/bin/env python3
"""End-to-end test of the class hub: three students at once, through the hub, on real accounts.

    PREFIX/kit/venv/bin/python classroom/test_e2e.py --prefix PREFIX [--json RESULTS]

Runs as root against an install made by classroom/setup.sh (run-tests.sh's "classroom" suite
does both). It starts the installed hub on free 127.0.0.1 ports with a state folder of its
own; the students sign up, the teacher approves them, each logs in and asks the REST API for a
token; their servers start at the same moment and each student's own kernel runs the lesson's
opening cells (`:dep`, `cifar10::load_data()?`, `plot_sample` -> image/png) and a short `fit`.
Then isolation: kernels run as the student, students cannot read each other's notebooks or
kernel folders nor write into the install, the shared prebuilt folder is unchanged, the hub's
secrets (the install's and the test hub's) are root's alone. Solutions are not handed out at a
server start but by handout.sh; a student's edited notebook survives a server restart. While the
kernels run, classroom/setup.sh refuses an update that would change what they use, naming the hub,
and a re-run with nothing changed goes ahead and leaves them working. Per-student cgroups: every
process of a student is in that student's groups (equal CPU weights, the memory limit), which the
student cannot leave or change, and a student's groups go when their server stops; where root
cannot make cgroups here, the hub must have logged that fairness is off. Whatever
happens (a failed step, Ctrl+C, SIGTERM), the hub, the servers, the accounts, the cgroups and the
ports are gone at the end, and anything left behind fails the test. Prints the measured times, kernel
memory and private disk.
"""

import argparse
import asyncio
import base64
import json
import os
import pathlib
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

TEACHER = "nkteacher"
STUDENTS = ["nkstudent1", "nkstudent2", "nkstudent3"]
GROUP = "nke2e-students"
# Accounts carry this comment; a leftover account is only removed when it has it.
COMMENT = "notebook-kit e2e test account (safe to delete)"
PASSWORD = "e2e-Rust-lesson-7421"
HUB_START_S = 60
SERVER_START_S = 150
CELL_TIMEOUT_S = 300
STOP_S = 60
# Private disk allowed per kernel (the rest must come from the shared prebuilt folder).
PRIVATE_LIMIT_MB = 50
# The test hub's parent cgroup (a real hub's is notebook-kit) and memory limit per student.
CGROUP = "nke2e-classroom"
MEMORY_LIMIT = "8G"
MEMORY_LIMIT_BYTES = 8 * 2**30
GROUP_GONE_S = 15

ISOLATION_CELL = """fn e2e_try<T>(r: std::io::Result<T>) -> String {
    match r { Ok(_) => "ALLOWED".to_string(), Err(e) => format!("{:?}", e.kind()) }
}
let e2e_uid = std::fs::read_to_string("/proc/self/status").unwrap().lines()
    .find(|l| l.starts_with("Uid:")).unwrap().split_whitespace().nth(1).unwrap().to_string();
println!("e2e isolation: uid {} other-home {} shared-write {}", e2e_uid,
    e2e_try(std::fs::read_dir(OTHER_HOME)), e2e_try(std::fs::write(SHARED_PROBE, b"x")));
"""


def log(msg):
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def account(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def pids_of(uid):
    out = subprocess.run(["pgrep", "-u", str(uid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def zombie(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone


def kill_pids(pids, grace_s=10):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
            time.sleep(0.2)


def remove_test_account(name):
    """Removes a test account and its processes; refuses accounts this test did not create."""
    entry = account(name)
    if entry is None:
        return
    if entry.pw_gecos != COMMENT:
        raise Failure(f"Unix account {name} exists and was not made by this test (comment {entry.pw_gecos!r}); "
                      "refusing to touch it")
    kill_pids(pids_of(entry.pw_uid))
    # A process forking while it is killed leaves a child behind: kill until none is left
    # (zombies cannot be killed; their parent or init reaps them).
    deadline = time.monotonic() + 10
    while (left := [p for p in pids_of(entry.pw_uid) if not zombie(p)]) and time.monotonic() < deadline:
        kill_pids(left, grace_s=1)
    if left:
        raise Failure(f"{name}'s processes survive SIGKILL: {left}")
    subprocess.run(["userdel", "-r", name], capture_output=True)
    if account(name) is not None:
        raise Failure(f"userdel -r {name} failed")


# The hub's secrets: JupyterHub refuses a cookie secret others can read, and the database holds
# the password hashes.
SECRETS = ("jupyterhub_cookie_secret", "jupyterhub.sqlite", "jupyterhub.sqlite-journal", "jupyterhub.sqlite-wal",
           "teacher-password")


def secrets_exposed(folder, must_exist=()):
    """What in a hub state folder others could read: the folder itself and its secret files."""
    problems = []
    if not folder.is_dir():
        return [f"{folder} is missing"]
    st = os.stat(folder)
    if st.st_uid != 0 or st.st_mode & 0o077:
        problems.append(f"{folder} is mode {st.st_mode & 0o777:o}, uid {st.st_uid} (want 700, root)")
    for name in SECRETS:
        p = folder / name
        if not p.exists():
            if name in must_exist:
                problems.append(f"{p} is missing")
            continue
        st = os.stat(p)
        if st.st_uid != 0 or st.st_mode & 0o077:
            problems.append(f"{p} is mode {st.st_mode & 0o777:o}, uid {st.st_uid} (want 600, root)")
    return problems


def as_user(name, *cmd):
    return subprocess.run(["runuser", "-u", name, "--", *cmd], capture_output=True, text=True, timeout=120)


def manifest(folder):
    """What a write-through into the shared folder would change: sizes, times, modes."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            entries[p] = (st.st_size, st.st_mtime_ns, st.st_mode, st.st_ino)
    return entries


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(d))
            except OSError:
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def user_cpu_s(uid):
    """CPU seconds used so far by a user's processes, including finished children they reaped
    (cargo and rustc runs of the kernel)."""
    total = 0
    for pid in pids_of(uid):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def disk_mb(folder):
    """Blocks used by the folder itself: symlinks into the shared folder count as what they take."""
    out = subprocess.run(["du", "-s", "-B1", "-P", folder], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 2**20


def cgroup_lines(pid):
    """{controller: path} (v1) and {"": path} (v2) of a process, as /proc/PID/cgroup lists them."""
    found = {}
    for line in open(f"/proc/{pid}/cgroup"):
        hid, controllers, path = line.rstrip("\n").split(":", 2)
        for c in ([""] if hid == "0" and not controllers else controllers.split(",")):
            found.setdefault(c, path)
    return found


class TestCgroups:
    """Where the test hub must put each student's groups, worked out here independently of the
    hub's code (classroom/student_cgroups.py): per controller, the parent group's folder and its
    path as /proc/PID/cgroup shows it, or None where root cannot make groups on this machine (the
    hub must then log that it runs without them). v1 groups go below the hub's own group (the
    test's: the hub inherits it), v2 groups at the top of the tree."""

    def __init__(self):
        own = cgroup_lines("self")
        mounts = []
        for line in open("/proc/self/mountinfo"):
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if tail and tail[0] in ("cgroup", "cgroup2"):
                mounts.append((tail[0], pathlib.Path(fields[4]), fields[3], tail[2].split(",")))
        self.trees = {c: self._find(c, own, mounts) for c in ("cpu", "memory")}

    def _find(self, controller, own, mounts):
        for fstype, mount, root, options in mounts:
            if fstype == "cgroup" and controller in options and controller in own:
                if not (own[controller] + "/").startswith(root.rstrip("/") + "/"):
                    return None  # the test's (and hub's) group is not under this mount
                rel = own[controller][len(root.rstrip("/")):].lstrip("/")
                return self._probe(1, controller, controller, mount / rel, own[controller])
        for fstype, mount, root, options in mounts:
            try:
                available = (mount / "cgroup.controllers").read_text().split() if fstype == "cgroup2" else []
            except OSError:
                continue
            if controller in available:
                return self._probe(2, controller, "", mount, root)
        return None

    @staticmethod
    def _probe(version, controller, key, where, shown):
        probe = where / f"_nke2e-probe-{os.getpid()}"
        files = {("cpu", 1): "cpu.shares", ("cpu", 2): "cpu.weight",
                 ("memory", 1): "memory.limit_in_bytes", ("memory", 2): "memory.max"}
        try:
            if version == 2:
                (where / "cgroup.subtree_control").write_text(f"+{controller}")
            probe.mkdir()
            if not (probe / files[controller, version]).exists():
                return None
        except OSError:
            return None
        finally:
            try:
                probe.rmdir()
            except OSError:
                pass
        return {"version": version, "key": key, "parent": where / CGROUP,
                "shown": shown.rstrip("/") + "/" + CGROUP, "file": files[controller, version]}

    def groups(self, name):
        return {c: t["parent"] / name for c, t in self.trees.items() if t}

    def parents(self):
        return {t["parent"] for t in self.trees.values() if t}

    def remove_all(self):
        """Removes the test hub's groups, killing what runs in them; returns what was there."""
        found = []
        for parent in self.parents():
            if not parent.is_dir():
                continue
            found.append(str(parent))
            children = [c for c in parent.iterdir() if c.is_dir()]
            for child in children:
                try:
                    pids = [int(p) for p in (child / "cgroup.procs").read_text().split()]
                except OSError:
                    continue  # gone meanwhile
                kill_pids(pids, grace_s=5)
                found.append(f"{child} ({len(pids)} processes)")
                try:
                    child.rmdir()
                except OSError as e:
                    found.append(f"{child}: {e}")
            try:
                parent.rmdir()
            except OSError as e:
                found.append(f"{parent}: {e}")
        return found


def check_cgroups_of_students(hub, cgroups, students):
    """Every process of each student (server, kernel, evcxr's children) is in that student's
    groups, the groups' CPU weights are all equal, the memory limit is the setting, and a student
    can neither leave the group nor change it. Where root cannot make groups, the hub said so."""
    text = hub.log_path.read_text(errors="replace")
    cpu, memory = cgroups.trees["cpu"], cgroups.trees["memory"]
    if not cpu:
        check("Per-student CPU fairness is off: " in text,
              "cgroups cannot be made here, and the hub did not log that CPU fairness is off")
    else:
        check("Per-student CPU fairness is on: " in text and str(cpu["parent"]) in text,
              f"the hub did not log that CPU fairness is on in {cpu['parent']}:\n{hub.log_tail()}")
    if not memory:
        check("Per-student memory limit is off: " in text,
              "memory cgroups cannot be made here, and the hub did not log that the memory limit is off")
    else:
        check(f"Per-student memory limit: {MEMORY_LIMIT_BYTES / 2**30:.1f} GiB" in text,
              f"the hub did not log the memory limit of {MEMORY_LIMIT}:\n{hub.log_tail()}")
    weights = {}
    for st in students:
        uid = pwd.getpwnam(st.name).pw_uid
        procs = [p for p in pids_of(uid) if not zombie(p)]
        check(st.kernel_pid is None or st.kernel_pid in procs, f"{st.name}'s kernel {st.kernel_pid} is not running")
        check(len(procs) >= 2, f"{st.name} has {len(procs)} processes, not a server and a kernel at least")
        for controller, tree in cgroups.trees.items():
            if not tree:
                continue
            want = f"{tree['shown']}/{st.name}"
            wrong = {}
            for p in procs:
                try:
                    where = cgroup_lines(p).get(tree["key"])
                except OSError:
                    continue  # exited meanwhile
                if where != want:
                    wrong[p] = where
            check(not wrong, f"{st.name}'s processes outside their {controller} group {want}: "
                  + ", ".join(f"pid {p} ({open(f'/proc/{p}/comm').read().strip() if os.path.exists(f'/proc/{p}') else '?'})"
                              f" in {w}" for p, w in list(wrong.items())[:6]))
            group = tree["parent"] / st.name
            value = (group / tree["file"]).read_text().strip()
            if controller == "cpu":
                weights[st.name] = value
            else:
                page = os.sysconf("SC_PAGE_SIZE")
                check(value.isdigit() and MEMORY_LIMIT_BYTES - page < int(value) <= MEMORY_LIMIT_BYTES,
                      f"{st.name}'s {group / tree['file']} is {value}, the setting is {MEMORY_LIMIT}")
            r = as_user(st.name, "sh", "-c", f"echo $$ > {shlex.quote(str(tree['parent'].parent / 'cgroup.procs'))}")
            check(r.returncode != 0, f"{st.name} could move a process out of their {controller} group")
            r = as_user(st.name, "sh", "-c", f"echo 10000 > {shlex.quote(str(group / tree['file']))}")
            check(r.returncode != 0, f"{st.name} could change their group's {tree['file']}")
    if cpu:
        check(len(set(weights.values())) == 1, f"the students' CPU weights differ: {weights}")
        # Against other work, the class weighs as much as one process per student group.
        groups = [c for c in cpu["parent"].iterdir() if c.is_dir()]
        whole = (cpu["parent"] / cpu["file"]).read_text().strip()
        check(int(whole) == int(next(iter(weights.values()))) * len(groups),
              f"{cpu['parent']} has {cpu['file']} {whole} for {len(groups)} student groups of {weights}")
    return weights


async def check_groups_removed(cgroups, name):
    """After a server stopped, its groups go (the hub's stop hook removes them)."""
    deadline = time.monotonic() + GROUP_GONE_S
    while (left := [g for g in cgroups.groups(name).values() if g.exists()]) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    check(not left, f"{name}'s cgroups outlived their server by {GROUP_GONE_S} s: {left}")


def check_off_reported(prefix):
    """The hub's cgroup code, as installed, on a machine without cgroups (no cgroup mount) and
    with a cgroup tree it cannot write: it says "off" and why, never "on"."""
    sys.dont_write_bytecode = True  # no __pycache__ in the install
    sys.path.insert(0, str(prefix / "src" / "classroom"))
    import student_cgroups
    with tempfile.NamedTemporaryFile("w", prefix="nk-e2e-mountinfo-") as none, \
            tempfile.NamedTemporaryFile("w", prefix="nk-e2e-mountinfo-") as readonly:
        readonly.write("99 1 0:99 / /proc/1 rw - cgroup cgroup rw,cpu,memory\n")
        readonly.flush()
        for mountinfo, why in ((none.name, "this machine has no 'cpu' cgroup controller"),
                               (readonly.name, "cannot set up /proc/1/nke2e-classroom")):
            groups = student_cgroups.StudentGroups(CGROUP, cpu=True, memory_limit=MEMORY_LIMIT_BYTES,
                                                   mountinfo=mountinfo, own={"cpu": "/", "memory": "/", "": "/"})
            lines = [line for _, line in groups.start()]
            check(not groups.trees() and any(line.startswith(f"Per-student CPU fairness is off: {why}") for line in lines)
                  and any(line.startswith("Per-student memory limit is off: ") for line in lines),
                  f"without usable cgroups ({why}) the hub's cgroup code said: {lines}")


class Hub:
    def __init__(self, prefix, state, ports):
        self.prefix, self.state = prefix, state
        self.port, self.hub_port, self.proxy_api_port = ports
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = state / "hub.log"

    def write_settings(self):
        (self.state / "classroom.json").write_text(json.dumps({
            "prefix": str(self.prefix), "teacher": TEACHER, "students": len(STUDENTS), "threads": 0,
            "ip": "127.0.0.1", "port": self.port, "hub_port": self.hub_port,
            "proxy_api_port": self.proxy_api_port, "idle_timeout": 3600,
            "group": GROUP, "account_comment": COMMENT,
            "cpu_groups": True, "memory_limit": MEMORY_LIMIT, "cgroup": CGROUP,
        }))
        (self.state / "teacher-password").write_text(PASSWORD + "\n")
        os.chmod(self.state / "teacher-password", 0o600)

    def start(self):
        env = {"PATH": f"{self.prefix}/kit/venv/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "NOTEBOOK_KIT_HUB_STATE": str(self.state)}
        self.proc = subprocess.Popen(
            [f"{self.prefix}/kit/venv/bin/jupyterhub", "-f", f"{self.prefix}/src/classroom/jupyterhub_config.py"],
            cwd=self.state, env=env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"the hub exited with status {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise Failure(f"the hub did not answer on {self.url} within {HUB_START_S} s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    def stop(self):
        """SIGTERM lets the hub stop every server and the proxy; SIGKILL only if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            log(f"the hub did not stop within {STOP_S} s: killing its process group")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def browser_session():
    """A requests session: it keeps the hub's cookies (login, XSRF) as a browser does."""
    s = requests.Session()
    s.headers["User-Agent"] = "notebook-kit-e2e"
    return s


def form_xsrf(session, url):
    r = session.get(url, timeout=30)
    r.raise_for_status()
    m = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
    if not m:
        raise Failure(f"no _xsrf field in {url}")
    return m.group(1)


def signup(hub, name):
    s = browser_session()
    xsrf = form_xsrf(s, f"{hub.url}/hub/signup")
    r = s.post(f"{hub.url}/hub/signup", data={"_xsrf": xsrf, "username": name, "signup_password": PASSWORD,
                                               "signup_password_confirmation": PASSWORD}, timeout=30)
    if r.status_code != 200 or "has been sent to the admin" not in r.text:
        raise Failure(f"sign-up of {name} failed: HTTP {r.status_code}: {re.sub(r'<[^>]+>', ' ', r.text)[-400:]}")


def login(hub, name):
    """Logs in through the form; returns the session, or None when the hub refused."""
    s = browser_session()
    xsrf = form_xsrf(s, f"{hub.url}/hub/login")
    r = s.post(f"{hub.url}/hub/login", data={"_xsrf": xsrf, "username": name, "password": PASSWORD},
               allow_redirects=False, timeout=30)
    if r.status_code == 302 and any(c.name.startswith("jupyterhub-hub-login") for c in s.cookies):
        return s
    return None


def api_token(hub, session, name):
    """The REST API's token for a logged-in user (cookie + XSRF header, as JupyterLab does)."""
    xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf")
    r = session.post(f"{hub.url}/hub/api/users/{name}/tokens", json={"note": "e2e", "expires_in": 3600},
                     headers={"X-XSRFToken": xsrf}, timeout=30)
    if r.status_code != 201:
        raise Failure(f"token request for {name}: HTTP {r.status_code} {r.text[:300]}")
    return r.json()["token"]


class Student:
    def __init__(self, hub, name, token):
        self.hub, self.name, self.token = hub, name, token
        self.home = None  # the account is made when the server first starts
        self.times = {}
        self.outputs = {}
        self.kernel_pid = None
        self.kernel_dir = None

    async def api(self, method, path, body=None, ok=(200, 201, 202, 204)):
        req = HTTPRequest(f"{self.hub.url}{path}", method=method, headers={"Authorization": f"token {self.token}"},
                          body=None if body is None else json.dumps(body), allow_nonstandard_methods=True,
                          request_timeout=60)
        resp = await AsyncHTTPClient().fetch(req, raise_error=False)
        if resp.code not in ok:
            raise Failure(f"{self.name}: {method} {path}: HTTP {resp.code} {(resp.body or b'')[:300]!r}")
        return json.loads(resp.body) if resp.body else None

    async def start_server(self):
        await self.api("POST", f"/hub/api/users/{self.name}/server")
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            model = await self.api("GET", f"/hub/api/users/{self.name}")
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            await asyncio.sleep(0.5)
        raise Failure(f"{self.name}: server not ready within {SERVER_START_S} s:\n{self.hub.log_tail()}")

    async def stop_server(self):
        await self.api("DELETE", f"/hub/api/users/{self.name}/server")
        deadline = time.monotonic() + STOP_S
        while time.monotonic() < deadline:
            model = await self.api("GET", f"/hub/api/users/{self.name}")
            if not model.get("servers"):
                return
            await asyncio.sleep(0.5)
        raise Failure(f"{self.name}: server did not stop within {STOP_S} s")

    async def open_kernel(self):
        self.kernel = Kernel(f"{self.hub.url}/user/{self.name}", self.token, LESSON, who=self.name)
        await self.kernel.open()

    async def execute(self, label, code, timeout=CELL_TIMEOUT_S):
        outputs = await self.kernel.execute(label, code, timeout)
        self.times[label] = time.monotonic()
        if label in self.kernel.png_at:
            self.times[f"{label}:png"] = self.kernel.png_at[label]
        self.outputs[label] = text_of(outputs)
        return outputs

    def find_kernel(self):
        kernels = self.home / ".cache" / "notebook-kit" / "kernels"
        live = [d for d in kernels.iterdir() if d.name.isdigit() and os.path.exists(f"/proc/{d.name}")]
        if len(live) != 1:
            raise Failure(f"{self.name}: expected one running kernel folder in {kernels}, found {live}")
        self.kernel_dir, self.kernel_pid = live[0], int(live[0].name)


async def student_lesson(student, other_name, shared_probe):
    await student.start_server()
    student.times["ready"] = time.monotonic()
    student.home = pathlib.Path(pwd.getpwnam(student.name).pw_dir)
    await student.open_kernel()
    for label, code in lesson_cells(student.home / LESSON):
        outputs = await student.execute(label, code)
        if label == "plot" and not any("image/png" in o.get("data", {}) for o in outputs):
            raise Failure(f"{student.name}: plot_sample returned no image/png")
    student.times["image"] = student.times["plot:png"]
    student.cpu_to_image = user_cpu_s(pwd.getpwnam(student.name).pw_uid)
    await student.execute("fit", FIT_CELL)
    other = account(other_name)
    if other is None:
        raise Failure(f"{other_name}'s account does not exist although their server started")
    cell = ISOLATION_CELL.replace("OTHER_HOME", json.dumps(other.pw_dir)).replace(
        "SHARED_PROBE", json.dumps(str(shared_probe)))
    await student.execute("isolation", cell)


def check(condition, message):
    if not condition:
        raise Failure(message)


SETUP_S = 300


def run_setup(checkout, prefix, *args):
    """setup.sh of `checkout` for `prefix`. In a session of its own, so that a timeout or Ctrl+C
    stops kernel-setup.sh with it."""
    env = {k: v for k, v in os.environ.items() if k != "NOTEBOOK_KIT_DATA"}
    proc = subprocess.Popen([str(checkout / "classroom" / "setup.sh"), "--prefix", str(prefix), *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=SETUP_S)
    except BaseException as e:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        if isinstance(e, subprocess.TimeoutExpired):
            raise Failure(f"classroom/setup.sh {' '.join(args)} did not finish within {SETUP_S} s")
        raise
    return proc.returncode, out


async def check_update_while_running(hub, prefix, student):
    """While the hub and the students' kernels run, setup.sh refuses an update that would replace
    what kernels use, naming the hub; with nothing changed it goes ahead and the kernels go on.
    Both runs update from a copy of the install's own sources, with its own toolchain and no data
    folder or evcxr build to copy, so that nothing changes by construction (edits made to this
    checkout during the test do not count). The change offered to the first is an evcxr build to
    copy (--reuse) that differs from the installed one only in its stamp's description: were it
    copied, kernels would get the same binary, and the installed stamp is put back."""
    evcxr = prefix / "kit" / "evcxr"
    stamp = evcxr / ".notebook-kit-stamp"
    binary = evcxr / "bin" / "evcxr_jupyter"
    before = (stamp.read_bytes(), os.stat(binary).st_ino)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="nk-e2e-update-"))
    try:
        checkout, other, nothing = scratch / "checkout", scratch / "other", scratch / "nothing"
        shutil.copytree(prefix / "src", checkout, symlinks=True)
        shutil.copytree(evcxr, other / "evcxr", symlinks=True)
        nothing.mkdir()
        first, _, rest = before[0].decode().partition("\n")
        (other / "evcxr" / ".notebook-kit-stamp").write_text(f"{first}\n{rest.strip()} (e2e: another build)\n")
        own = ("--rust-sysroot", str(prefix / "rust"))
        try:
            rc, out = run_setup(checkout, prefix, *own, "--reuse", str(other))
        finally:
            try:
                if stamp.read_bytes() != before[0]:
                    stamp.write_bytes(before[0])
            except OSError:
                pass  # kit/evcxr gone: the check below fails
        check(rc != 0, f"setup.sh replaced kit/evcxr while the hub ran (exit {rc}):\n{out[-1500:]}")
        check(f"pid {hub.proc.pid} (root), the class hub" in out and "kit/evcxr/" in out and "--while-running" in out,
              f"setup.sh's refusal does not name the hub (pid {hub.proc.pid}) and what would change:\n{out[-1500:]}")
        check((stamp.read_bytes(), os.stat(binary).st_ino) == before, "setup.sh changed kit/evcxr although it refused")
        check(not (prefix / "src.new").exists(), "setup.sh left src.new behind after refusing")

        rc, out = run_setup(checkout, prefix, *own, "--reuse", str(nothing))
        check(rc == 0, f"setup.sh with nothing changed failed while the hub ran:\n{out[-2500:]}")
        busy = [line for line in out.splitlines() if re.search(
            r"Lesson sources updated|Copying|Vendoring|Installing (JupyterHub|configurable|Python)|Prebuilding|Building",
            line)]
        check(not busy, f"setup.sh with nothing changed still changed: {busy}")

        # Were the check missing, this would run a second hub in the foreground until SETUP_S.
        rc, out = run_setup(checkout, prefix, *own, "--reuse", str(nothing), "--start")
        check(rc != 0 and "not starting a second hub" in out and f"pid {hub.proc.pid} (root)" in out,
              f"setup.sh --start while the hub ran did not refuse naming it (exit {rc}):\n{out[-1500:]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    await student.execute("after-update", 'println!("e2e after update {}", 6 * 7);')
    check("e2e after update 42" in student.outputs["after-update"],
          f"{student.name}'s kernel after the re-run printed {student.outputs['after-update']!r}")


async def run(hub, prefix, results, cgroups, shot_path=None):
    probe = prefix / "kit" / "template" / "e2e-probe"
    try:
        await run_checks(hub, prefix, results, probe, cgroups, shot_path)
    finally:
        # Only there when a student could write into the prebuilt folder (a failed check).
        if probe.exists() or probe.is_symlink():
            probe.unlink()


async def run_checks(hub, prefix, results, probe, cgroups, shot_path=None):
    template = prefix / "kit" / "template"
    before = manifest(template)
    exposed = secrets_exposed(hub.state, must_exist=("jupyterhub_cookie_secret", "jupyterhub.sqlite"))
    check(not exposed, "the running hub's secrets can be read by others: " + "; ".join(exposed))

    log("students sign up; the teacher approves them")
    for name in STUDENTS:
        signup(hub, name)
    check(login(hub, STUDENTS[0]) is None, "a student could log in before the teacher approved them")
    teacher = login(hub, TEACHER)
    check(teacher is not None, f"the teacher could not log in:\n{hub.log_tail()}")
    for name in STUDENTS:
        r = teacher.get(f"{hub.url}/hub/authorize/{name}", timeout=30)
        check(r.status_code == 200, f"approving {name}: HTTP {r.status_code}")
    teacher_token = api_token(hub, teacher, TEACHER)
    r = requests.get(f"{hub.url}/hub/api/user", headers={"Authorization": f"token {teacher_token}"}, timeout=30)
    check(r.status_code == 200 and r.json().get("admin") is True,
          f"the teacher is not the hub's admin: HTTP {r.status_code} {r.text[:200]}")

    log("students log in and get API tokens")
    students = []
    for name in STUDENTS:
        s = login(hub, name)
        check(s is not None, f"{name} could not log in after approval")
        students.append(Student(hub, name, api_token(hub, s, name)))
    r = requests.post(f"{hub.url}/hub/api/users/{STUDENTS[0]}/server",
                      headers={"Authorization": f"token {students[1].token}"}, timeout=30)
    check(r.status_code in (403, 404), f"{STUDENTS[1]} could start {STUDENTS[0]}'s server: HTTP {r.status_code}")

    log(f"{len(students)} servers start at once; each runs the lesson's opening cells and a short fit")
    t0 = time.monotonic()
    tasks = [student_lesson(st, STUDENTS[1] if i == 0 else STUDENTS[0], probe)
             for i, st in enumerate(students)]
    load_before = open("/proc/loadavg").read().split()[:3]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    if errors:
        raise Failure("; ".join(str(e) for e in errors))

    log("measuring kernels and checking isolation")
    solutions = sorted(p.name for p in (prefix / "src/notebooks").glob("*-solution.ipynb"))
    for st in students:
        given = sorted(p.name for p in (st.home / "rust-lesson/notebooks").glob("*-solution.ipynb"))
        check(not given, f"{st.name} got the solutions at the server start: {given}")
        st.find_kernel()
        uid = pwd.getpwnam(st.name).pw_uid
        m = re.search(r"e2e isolation: uid (\d+) other-home (\S+) shared-write (\S+)", st.outputs["isolation"])
        check(m, f"{st.name}: isolation cell printed {st.outputs['isolation']!r}")
        check(int(m.group(1)) == uid, f"{st.name}: the kernel runs as uid {m.group(1)}, not the student's {uid}")
        check(m.group(2) == "PermissionDenied", f"{st.name}'s kernel reading another home: {m.group(2)}")
        check(m.group(3) == "PermissionDenied", f"{st.name}'s kernel writing into the install: {m.group(3)}")
        fm = re.search(r"test fit: loss ([0-9.]+) accuracy ([0-9.]+) threads (\d+)", st.outputs["fit"])
        check(fm, f"{st.name}: fit printed {st.outputs['fit'][-300:]!r}")
        want_threads = max(1, len(os.sched_getaffinity(0)) // len(STUDENTS))
        check(int(fm.group(3)) == want_threads,
              f"{st.name}: libtorch uses {fm.group(3)} threads, the hub's setting is {want_threads}")
        deps = st.kernel_dir / "target" / "x86_64-unknown-linux-gnu" / "debug" / "deps"
        shared = [p for p in deps.glob("lib*.rlib") if p.is_symlink()]
        rebuilt = [p.name for p in deps.glob("lib*.rlib") if not p.is_symlink()]
        check(shared and not rebuilt, f"{st.name}: dependencies were rebuilt in the kernel's folder: {rebuilt[:5]}")
        st.private_mb = disk_mb(st.kernel_dir)
        check(st.private_mb <= PRIVATE_LIMIT_MB,
              f"{st.name}: the kernel's private folder takes {st.private_mb:.1f} MB (limit {PRIVATE_LIMIT_MB})")
        st.rss_mb = tree_rss_mb(st.kernel_pid)

    log("per-student cgroups: " + ", ".join(
        f"{c} in cgroup v{t['version']} {t['parent']}" if t else f"{c}: none can be made here (the hub must say so)"
        for c, t in cgroups.trees.items()))
    weights = check_cgroups_of_students(hub, cgroups, students)
    results["cgroups"] = {c: str(t["parent"]) if t else None for c, t in cgroups.trees.items()}
    results["cpu_weights"] = weights
    check_off_reported(prefix)

    s1, s2 = students[0], students[1]
    nb1 = s1.home / LESSON
    r = as_user(s2.name, "cat", str(nb1))
    check(r.returncode != 0, f"{s2.name} can read {s1.name}'s notebook {nb1}")
    r = as_user(s2.name, "ls", str(s1.kernel_dir))
    check(r.returncode != 0, f"{s2.name} can list {s1.name}'s kernel folder")
    for st in students:
        r = as_user(st.name, "find", str(prefix), "-path", str(prefix / "hub"), "-prune", "-o",
                    "-writable", "-print", "-quit")
        check(r.returncode == 0 and not r.stdout.strip(),
              f"{st.name} can write into the install: {r.stdout.strip() or r.stderr.strip()[:300]}")
        r = as_user(st.name, "sh", "-c", f"echo x >> {shlex.quote(next(shared_files(template)))}")
        check(r.returncode != 0, f"{st.name} could append to a file of the shared prebuilt folder")
    log("the teacher re-runs classroom/setup.sh during the lesson: refused for a change kernels use, "
        "done when nothing changed")
    await check_update_while_running(hub, prefix, s1)

    after = manifest(template)
    changed = [p for p in set(before) | set(after) if before.get(p) != after.get(p)]
    check(not changed, f"the shared prebuilt folder changed while students worked: {sorted(changed)[:5]}")

    if shot_path:
        log(f"{students[2].name} opens the lesson in headless Chromium through the hub's login page")
        await screenshot(hub, students[2].name, shot_path)

    log(f"{s1.name} edits the lesson and deletes the exercise; their server restarts")
    await s1.stop_server()
    await check_groups_removed(cgroups, s1.name)
    leftover = [d.name for d in (s1.home / ".cache/notebook-kit/kernels").iterdir()]
    check(not leftover, f"{s1.name}'s kernel folders were not cleaned up after the server stopped: {leftover}")
    exercise = s1.home / "rust-lesson/notebooks/02-exercise-fashion-mnist.ipynb"
    r = as_user(s1.name, str(prefix / "kit/venv/bin/python"), "-c",
                "import sys, nbformat; p = sys.argv[1]; nb = nbformat.read(p, 4); "
                "nb.cells.append(nbformat.v4.new_markdown_cell('E2E-STUDENT-EDIT')); nbformat.write(nb, p)",
                str(nb1))
    check(r.returncode == 0, f"{s1.name} could not edit their notebook: {r.stderr[-300:]}")
    check(as_user(s1.name, "rm", str(exercise)).returncode == 0, f"{s1.name} could not delete {exercise}")
    await s1.start_server()
    s1.kernel_pid = None  # no kernel this time: the restarted server, in a group made anew
    check_cgroups_of_students(hub, cgroups, [s1])
    check("E2E-STUDENT-EDIT" in nb1.read_text(), f"{s1.name}'s edited notebook was overwritten on restart")
    check(exercise.exists() and exercise.read_bytes() == (prefix / "src/notebooks" / exercise.name).read_bytes(),
          f"the deleted {exercise.name} was not handed out again")
    await s1.stop_server()

    log(f"the teacher resets {s1.name}'s lesson with handout.sh")
    r = subprocess.run([str(prefix / "src/classroom/handout.sh"), "--prefix", str(prefix), "--reset", nb1.name,
                        s1.name], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"handout.sh --reset failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    kept = list(nb1.parent.glob(nb1.stem + "-before-reset-*.ipynb"))
    check(nb1.read_bytes() == (prefix / "src/notebooks" / nb1.name).read_bytes(),
          f"after the reset {nb1} is not the original")
    check(len(kept) == 1 and "E2E-STUDENT-EDIT" in kept[0].read_text(),
          f"the reset did not keep {s1.name}'s own version: {kept}")
    if solutions:
        log(f"the teacher releases {solutions[0]} to {s1.name} with handout.sh")
        r = subprocess.run([str(prefix / "src/classroom/handout.sh"), "--prefix", str(prefix), solutions[0], s1.name],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"handout.sh {solutions[0]} failed: {r.stdout[-300:]} {r.stderr[-300:]}")
        got = s1.home / "rust-lesson/notebooks" / solutions[0]
        check(got.exists() and got.read_bytes() == (prefix / "src/notebooks" / solutions[0]).read_bytes(),
              f"handout.sh did not give {s1.name} {solutions[0]}")
        check(got.stat().st_uid == pwd.getpwnam(s1.name).pw_uid, f"{got} is not owned by {s1.name}")
        check(not (s2.home / "rust-lesson/notebooks" / solutions[0]).exists(),
              f"handout.sh to {s1.name} also gave {s2.name} {solutions[0]}")

    for st in students:
        results["students"].append({
            "name": st.name,
            "server_ready_s": round(st.times["ready"] - t0, 1),
            "first_cell_done_s": round(st.times["dep"] - t0, 1),
            "image_s": round(st.times["image"] - t0, 1),
            "fit_cell_s": round(st.times["fit"] - st.times["plot"], 1),
            "cpu_s_to_image": round(st.cpu_to_image, 1),
            "kernel_rss_mb": round(st.rss_mb),
            "private_disk_mb": round(st.private_mb, 1),
        })
    results["load_before"] = load_before
    results["load_after"] = open("/proc/loadavg").read().split()[:3]


async def screenshot(hub, name, path):
    """Logs `name` in through the hub's form in headless Chromium (DevTools protocol) and saves
    what JupyterLab shows: the lesson, opened through the hub like a student's browser would."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise Failure("--screenshot needs chromium (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="nk-e2e-chromium-")
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            line = await asyncio.get_running_loop().run_in_executor(None, proc.stderr.readline)
            m = re.search(r"DevTools listening on ws://127.0.0.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
            elif not line and proc.poll() is not None:
                raise Failure(f"chromium exited with status {proc.returncode}")
        if port is None:
            raise Failure("chromium did not open its DevTools port")
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        ws = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=64 * 2**20)
        ids = iter(range(1, 10**6))

        async def cdp(method, **params):
            call = next(ids)
            await ws.write_message(json.dumps({"id": call, "method": method, "params": params}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.read_message(), 60))
                if msg.get("id") == call:
                    if "error" in msg:
                        raise Failure(f"chromium {method}: {msg['error']}")
                    return msg["result"]

        async def until(js, what, timeout=90):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                r = await cdp("Runtime.evaluate", expression=js, returnByValue=True)
                if r.get("result", {}).get("value"):
                    return
                await asyncio.sleep(0.5)
            raise Failure(f"the browser did not get to {what} within {timeout} s")

        await cdp("Page.enable")
        await cdp("Page.navigate", url=f"{hub.url}/hub/login")
        await until("!!document.querySelector('#username_input')", "the hub's login form")
        await cdp("Runtime.evaluate", expression=(
            f"document.querySelector('#username_input').value = {json.dumps(name)};"
            f"document.querySelector('#password_input').value = {json.dumps(PASSWORD)};"
            "document.querySelector('#username_input').form.submit();"))
        await until(f"location.pathname.startsWith('/user/{name}/lab')", "JupyterLab")
        await until("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 10", "the lesson's cells")
        await until("[...document.querySelectorAll('.jp-Notebook img')].some(i => i.complete && i.naturalWidth)",
                    "a rendered image")
        # The first figure (plot_sample) in view, as a student scrolling to it sees it.
        await cdp("Runtime.evaluate", expression=(
            "document.querySelector('.jp-Notebook img').scrollIntoView({block: 'center'})"))
        await asyncio.sleep(2)
        shot = await cdp("Page.captureScreenshot", format="png")
        pathlib.Path(path).write_bytes(base64.b64decode(shot["data"]))
        ws.close()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def shared_files(template):
    for dirpath, _, filenames in os.walk(template):
        for f in filenames:
            if f.endswith(".rlib"):
                yield os.path.join(dirpath, f)


def processes_of_test_hub(state):
    """Processes started for the test's hub that outlive it: the idle culler (a service, in a
    session of its own) runs in the hub's working folder, the test's state folder; nothing
    else on the machine refers to that unique temporary folder."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{d}/cwd")
            cmdline = open(f"/proc/{d}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if cwd == str(state) or cwd.startswith(f"{state}/") or cwd.startswith(f"{state} ") or str(state) in cmdline:
            found.append(int(d))
    return found


def cleanup(hub, state, names, cgroups, keep_log=None):
    """Stops and removes everything; returns what could not be removed."""
    problems = []
    if hub is not None:
        try:
            hub.stop()
        except Exception as e:  # keep cleaning up
            problems.append(f"stopping the hub: {e}")
        proxy_pid = state / "proxy.pid"
        if proxy_pid.exists():
            try:
                pid = int(proxy_pid.read_text().strip())
                if "configurable-http-proxy" in open(f"/proc/{pid}/cmdline").read():
                    problems.append(f"the proxy (pid {pid}) outlived the hub")
                    kill_pids([pid])
            except (OSError, ValueError):
                pass
        stray = processes_of_test_hub(state)
        if stray:
            problems.append(f"{len(stray)} process(es) of the hub outlived it: {stray}")
            kill_pids(stray)
    for name in names:
        entry = account(name)
        if entry is None:
            continue
        left = pids_of(entry.pw_uid)
        if left:
            problems.append(f"{len(left)} process(es) of {name} outlived the hub: {left}")
        try:
            remove_test_account(name)
        except Failure as e:
            problems.append(str(e))
    subprocess.run(["groupdel", GROUP], capture_output=True)
    # The hub removes each student's groups when their server stops, and the parent at its exit.
    left = cgroups.remove_all()
    if left:
        problems.append("cgroups the hub left: " + ", ".join(left))
    if hub is not None:
        for port in (hub.port, hub.hub_port, hub.proxy_api_port):
            if port_open(port):
                problems.append(f"port {port} is still open")
    if keep_log and hub is not None:
        try:
            shutil.copy(hub.log_path, keep_log)
        except OSError as e:
            log(f"could not keep the hub's log: {e}")
    shutil.rmtree(state, ignore_errors=True)
    return problems


def interrupted(signum, frame):
    raise KeyboardInterrupt


def not_now(signum, frame):
    log(f"signal {signum} during the cleanup: ignored, the cleanup goes on")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default=os.environ.get("NOTEBOOK_KIT_CLASSROOM_PREFIX", "/opt/notebook-kit"))
    parser.add_argument("--json", help="write the measured numbers here")
    parser.add_argument("--keep-log", help="copy the hub's log here at the end")
    parser.add_argument("--screenshot", help="also log a student in with headless Chromium and save the page here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("classroom e2e test: needs root (it creates Unix accounts and runs the hub); CI runs as root",
              file=sys.stderr)
        return 1
    prefix = pathlib.Path(args.prefix).resolve()
    for need in ("kit/venv/bin/jupyterhub", "kit/template/.notebook-kit-stamp", "src/classroom/jupyterhub_config.py"):
        if not (prefix / need).exists():
            print(f"classroom e2e test: {prefix / need} is missing: run classroom/setup.sh --prefix {prefix}",
                  file=sys.stderr)
            return 1

    # SIGTERM (a CI timeout, kill) takes the same way out as Ctrl+C: through the cleanup.
    signal.signal(signal.SIGTERM, interrupted)
    names = [TEACHER] + STUDENTS
    for name in names:
        remove_test_account(name)  # leftovers of an earlier run that was killed
    subprocess.run(["groupdel", GROUP], capture_output=True)
    cgroups = TestCgroups()
    cgroups.remove_all()
    state = pathlib.Path(tempfile.mkdtemp(prefix="nk-e2e-hub-"))
    os.chmod(state, 0o700)
    hub = Hub(prefix, state, free_ports(3))
    results = {"students": [], "ports": [hub.port, hub.hub_port, hub.proxy_api_port]}
    failure = None
    started = time.monotonic()
    try:
        exposed = secrets_exposed(prefix / "hub")
        check(not exposed, "the install's hub secrets can be read by others (re-run classroom/setup.sh): "
              + "; ".join(exposed))
        hub.write_settings()
        log(f"starting the hub on {hub.url} (hub API :{hub.hub_port}, proxy API :{hub.proxy_api_port})")
        hub.start()
        asyncio.run(run(hub, prefix, results, cgroups, args.screenshot))
    except Failure as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    except Exception as e:  # an unexpected error is a failure with its reason, not a traceback only
        import traceback
        traceback.print_exc()
        failure = f"{type(e).__name__}: {e}"
    finally:
        # A second Ctrl+C or SIGTERM must not cut the cleanup short (accounts, processes left).
        # A handler, not SIG_IGN, which the commands run from here would inherit.
        signal.signal(signal.SIGINT, not_now)
        signal.signal(signal.SIGTERM, not_now)
        if failure:
            print(f"--- hub log (last lines) ---\n{hub.log_tail(60)}\n---", flush=True)
        log("stopping the hub, removing accounts")
        leftovers = cleanup(hub, state, names, cgroups, args.keep_log)
    if leftovers:
        failure = (failure + "; " if failure else "") + "left behind: " + "; ".join(leftovers)
    results["seconds"] = round(time.monotonic() - started)
    if results["students"]:
        print(f"{'student':<12} {'ready':>7} {':dep done':>9} {'image':>7} {'CPU to image':>12} {'fit cell':>8} "
              f"{'RSS':>8} {'private':>9}")
        for r in results["students"]:
            print(f"{r['name']:<12} {r['server_ready_s']:>6.1f}s {r['first_cell_done_s']:>8.1f}s {r['image_s']:>6.1f}s "
                  f"{r['cpu_s_to_image']:>11.1f}s {r['fit_cell_s']:>7.1f}s {r['kernel_rss_mb']:>5} MB "
                  f"{r['private_disk_mb']:>6.1f} MB")
        print(f"(seconds from 'start server'; load average before {results['load_before']}, after {results['load_after']})")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if failure:
        print(f"FAIL classroom e2e: {failure}")
        return 1
    print(f"PASS classroom e2e ({results['seconds']} s)")
    return 0


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from kernel_ws import Failure, Kernel, text_of  # noqa: E402  (a kernel through the server's websocket)
from lesson_cells import FIT_CELL, LESSON, lesson_cells  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
