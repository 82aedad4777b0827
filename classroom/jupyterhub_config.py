"""JupyterHub for a class working through the Rust (tch) lesson on one server.

Started by PREFIX/bin/notebook-kit-hub (written by classroom/setup.sh), as root. Settings come
from $NOTEBOOK_KIT_HUB_STATE/classroom.json, which setup.sh writes from its options; the same
folder (root only) holds the hub's database, cookie secret and the teacher's first password.

- Students sign up at /hub/signup and the teacher approves them at /hub/authorize
  (NativeAuthenticator); the teacher is the hub's admin.
- Each student's server runs under their own Unix account, created on first start, with a
  home only they can read. On every start the lesson's notebooks they do not have yet are
  copied to ~/rust-lesson/notebooks (solutions, *-solution.ipynb, only with handout.sh); their
  own copies are never overwritten.
- libtorch/OpenMP threads per kernel come from one setting (`threads`, default cores /
  `students`); that sizes each kernel's training. Fairness between students comes from cgroups
  (student_cgroups.py): each student's server, with its kernels and compiles, runs in a group of
  its own with the same CPU weight as every other student's (`cpu_groups`, default on) and, with
  `memory_limit` (default 50% of the server's memory), a memory limit. Where cgroups cannot be
  used the hub logs why at its start and runs without them.
"""

import asyncio
import atexit
import json
import logging
import os
import pathlib
import pwd
import grp
import shutil
import signal
import subprocess
import sys

from jupyterhub.app import JupyterHub
from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE = pathlib.Path(os.environ["NOTEBOOK_KIT_HUB_STATE"]).resolve()
S = json.loads((STATE / "classroom.json").read_text())
PREFIX = pathlib.Path(S["prefix"])
VENV = PREFIX / "kit" / "venv"
KERNEL_WRAPPER = PREFIX / "kit" / "bin" / "rust-tch-kernel"
LESSON = "rust-lesson/notebooks/01-gpu-benchmarking-cifar10.ipynb"
# Unix accounts below this uid are the system's own (root, daemons): never spawn as them.
UID_MIN = 1000


def threads_per_kernel():
    if int(S.get("threads") or 0) > 0:
        return int(S["threads"])
    cores = len(os.sched_getaffinity(0))
    return max(1, cores // max(1, int(S["students"])))


THREADS = threads_per_kernel()

# The hub's own logger, so that the lines logged while the config is read look like its others.
LOG = JupyterHub.instance().log if JupyterHub.initialized() else logging.getLogger("JupyterHub")

# The per-student groups, made and tried at the hub's start. A root-owned copy beside this file;
# no __pycache__ written into the install (setup.sh would take it for a changed source).
sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import student_cgroups  # noqa: E402

MEMORY_SETTING = str(S.get("memory_limit", "50%"))
try:
    _memory = student_cgroups.parse_memory_limit(MEMORY_SETTING)
except ValueError as e:
    raise SystemExit(f"{STATE / 'classroom.json'}: {e}")
_cpu = S.get("cpu_groups", True)
if isinstance(_cpu, str):  # a hand-edited "off"
    _cpu = _cpu.strip().lower() in ("on", "true", "yes", "1")
GROUPS = student_cgroups.StudentGroups(S.get("cgroup", "notebook-kit"), cpu=bool(_cpu), memory_limit=_memory,
                                       memory_setting=MEMORY_SETTING)
for _level, _line in GROUPS.start():
    LOG.log(_level, _line)
# Servers are stopped (and their groups removed) before the hub exits; the parent goes last.
atexit.register(GROUPS.close)

# Network: the public address, and the hub's and proxy's internal ports on loopback.
c.JupyterHub.ip = S["ip"]
c.JupyterHub.port = int(S["port"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(S["hub_port"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(S['proxy_api_port'])}"
c.ConfigurableHTTPProxy.command = [str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
if S.get("ssl_cert") and S.get("ssl_key"):
    c.JupyterHub.ssl_cert = S["ssl_cert"]
    c.JupyterHub.ssl_key = S["ssl_key"]
# The database holds the students' password hashes: root's alone, as the cookie secret (which
# JupyterHub writes 0600). sqlite creates it with the umask's mode and gives its journal the
# same mode, so it is made 0600 here, before the hub opens it.
DB = STATE / "jupyterhub.sqlite"
os.close(os.open(DB, os.O_WRONLY | os.O_CREAT, 0o600))
os.chmod(DB, 0o600)
c.JupyterHub.db_url = f"sqlite:///{DB}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")


def unix_account_problem(name):
    """Why `name` may not be a student's or teacher's Unix account (None: it may)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None  # created on first start
    if entry.pw_uid < UID_MIN:
        return f"'{name}' is a system account"
    if name != S["teacher"]:
        try:
            members = grp.getgrnam(S["group"]).gr_mem
        except KeyError:
            members = []
        if name not in members:
            # An existing account that the hub did not create (staff, a service): the teacher
            # must opt it in, or a sign-up under that name would run as that person.
            return (f"the Unix account '{name}' already exists and is not in group '{S['group']}' "
                    f"(to let it in: usermod -aG {S['group']} {name})")
    return None


class _NoStatsd:
    """JupyterHub 6 removed statsd (jupyterhub PR #5407); NativeAuthenticator 1.3.0's login
    form still times itself with `self.statsd` and fails with AttributeError on every login."""

    def timer(self, *args, **kwargs):
        return self

    def start(self):
        return self

    def stop(self, *args, **kwargs):
        pass


class ClassroomLoginHandler(NativeLoginHandler):
    statsd = _NoStatsd()

    def _render(self, login_error=None, username=None, **kwargs):
        # JupyterHub 6 renders error pages through _render with extra arguments (sync=True).
        return super()._render(login_error=login_error, username=username)


class ClassroomAuthenticator(NativeAuthenticator):
    """NativeAuthenticator whose names are safe Unix account names, with the teacher's account
    made at first start (otherwise whoever signed up first under the teacher's name would
    become admin)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        teacher = S["teacher"]
        if self.get_user(teacher) is None:
            password = (STATE / "teacher-password").read_text().strip()
            if not self.create_user(teacher, password):
                raise SystemExit(f"could not create the teacher account '{teacher}' (is the password in "
                                 f"{STATE / 'teacher-password'} at least {self.minimum_password_length} characters?)")
            self.log.info("Created the teacher's hub account %s", teacher)

    def get_handlers(self, app):
        return [(path, ClassroomLoginHandler if handler is NativeLoginHandler else handler)
                for path, handler in super().get_handlers(app)]

    def validate_username(self, username):
        if not super().validate_username(username):
            return False
        problem = unix_account_problem(username)
        if problem:
            self.log.warning("Refusing user name: %s", problem)
            return False
        return True


c.JupyterHub.authenticator_class = ClassroomAuthenticator
c.Authenticator.admin_users = {S["teacher"]}
# NativeAuthenticator decides who may log in (approved students); the hub need not list them.
c.Authenticator.allow_all = True
# Lower-case Unix user names; the Unix account shares the hub name.
c.Authenticator.username_pattern = r"^[a-z][a-z0-9_-]{0,30}$"
c.NativeAuthenticator.open_signup = False
c.NativeAuthenticator.minimum_password_length = 8
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 10
c.NativeAuthenticator.seconds_before_next_try = 60
c.JupyterHub.template_paths = [str(pathlib.Path(sys.modules["nativeauthenticator"].__file__).parent / "templates")]


def system_tool(name):
    # The hub's PATH need not include the sbin folders.
    return shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin") or name


def prepare_account(spawner):
    """Creates the student's Unix account on first start (home readable by them alone)."""
    name = spawner.user.name
    problem = unix_account_problem(name)
    if problem:
        raise RuntimeError(f"Cannot start a server: {problem}")
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    subprocess.run([system_tool("groupadd"), "-f", S["group"]], check=True)
    subprocess.run(
        [system_tool("useradd"), "--create-home", "--key", "HOME_MODE=0700", "--user-group", "--groups", S["group"],
         "--shell", "/bin/bash", "--comment", S["account_comment"], name],
        check=True,
    )
    home = pwd.getpwnam(name).pw_dir
    os.chmod(home, 0o700)
    spawner.log.info("Created Unix account %s (%s)", name, home)


SWEEP_TIMEOUT_S = 30


async def sweep_kernel_folders(spawner):
    """Removes the private compile folders of the user's kernels that are no longer running.
    Runs as the user: their cache is theirs to arrange, root should not follow their links.
    A coroutine (JupyterHub awaits it), so that a long sweep never blocks the hub's event loop;
    past SWEEP_TIMEOUT_S it is killed, and the next server or kernel start sweeps again."""
    name = spawner.user.name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    proc = await asyncio.create_subprocess_exec(
        str(KERNEL_WRAPPER), "--sweep",
        preexec_fn=set_user_setuid(name),
        env={"HOME": entry.pw_dir, "USER": name, "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await asyncio.wait_for(proc.wait(), SWEEP_TIMEOUT_S)
    except asyncio.TimeoutError:
        spawner.log.warning("Sweeping %s's kernel folders took over %d s: stopped", name, SWEEP_TIMEOUT_S)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the script and its rm
        except ProcessLookupError:
            pass
        await proc.wait()


class ClassroomSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that starts each student's server in the student's own cgroups."""

    def make_preexec_fn(self, name):
        become_student = super().make_preexec_fn(name)
        join = None
        if GROUPS.trees():
            try:
                join = GROUPS.joiner(GROUPS.prepare(name))
            except (OSError, ValueError) as e:
                # A server without its group is better than no server in the middle of a lesson.
                self.log.warning("%s's server starts outside its cgroup (no CPU share or memory limit of its "
                                 "own): %s", name, e)

        def preexec():
            # Before the uid changes: as the student, the move would be refused.
            if join is not None:
                join()
            become_student()

        return preexec

    async def start(self):
        address = await super().start()
        name = self.user.name
        wrong = GROUPS.misplaced(name, self.pid)
        if wrong:
            try:
                GROUPS.move(name, self.pid)
                self.log.warning("%s's server (pid %d) was not in its cgroup at its start (%s): moved there now "
                                 "(any process it started before stays outside)",
                                 name, self.pid, "; ".join(f"{t}: {w}" for t, w in wrong.items()))
            except OSError as e:
                self.log.warning("%s's server (pid %d) runs outside its cgroup (%s): %s", name, self.pid,
                                 "; ".join(f"{t}: {w}" for t, w in wrong.items()), e)
        return address


GROUP_EMPTY_S = 5


async def after_stop(spawner):
    await sweep_kernel_folders(spawner)
    if not GROUPS.trees():
        return
    name = spawner.user.name
    # singleuser.sh stops the kernels before it exits; a process still exiting keeps the group
    # busy for a moment.
    deadline = asyncio.get_running_loop().time() + GROUP_EMPTY_S
    while True:
        try:
            kept = GROUPS.remove(name)
        except OSError as e:
            spawner.log.warning("Could not remove %s's cgroups: %s", name, e)
            return
        if not kept or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    if kept:
        spawner.log.warning("%s's cgroups %s still hold processes after their server stopped: kept (the "
                            "processes stay limited); removed when empty at the next stop or hub start",
                            name, ", ".join(map(str, kept)))


c.JupyterHub.spawner_class = ClassroomSpawner
c.Spawner.pre_spawn_hook = prepare_account
c.Spawner.post_stop_hook = after_stop
c.Spawner.cmd = [str(PREFIX / "src" / "classroom" / "singleuser.sh")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = f"/lab/tree/{LESSON}"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# Nothing from root's environment (its PATH reaches into /root, which students cannot read).
c.LocalProcessSpawner.env_keep = ["LANG", "LC_ALL", "JUPYTERHUB_SINGLEUSER_APP"]
c.Spawner.environment = {
    "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "NOTEBOOK_KIT_PREFIX": str(PREFIX),
    # libtorch sizes its OpenMP/MKL pools from these when a kernel loads it.
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
}
c.Spawner.args = [
    # A kernel left idle holds its data sets and model in memory; stop it after a while.
    f"--MappingKernelManager.cull_idle_timeout={int(S['idle_timeout'])}",
    "--MappingKernelManager.cull_interval=300",
]

c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={int(S['idle_timeout'])}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
