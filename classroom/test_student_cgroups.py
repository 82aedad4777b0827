#!/usr/bin/env python3
"""Unit tests of the class hub's cgroup code (student_cgroups.py) on fake cgroup trees.

    python3 classroom/test_student_cgroups.py [-v]

No root, no cgroups and about a second: run-tests.sh runs it on every machine, also where the
classroom suite is skipped. The machines the end-to-end test runs on have cgroup v1 controllers,
so only here do the v2 path (cpu.weight, memory.max, memory.swap.max, controllers enabled in
cgroup.subtree_control, groups at the top of the tree, a container's top that holds processes)
and layouts other than the machine's own run at all.

The fake: folders in a temporary directory (with a space in its name, so that every mount point
goes through mountinfo's octal escapes), a mountinfo text naming them, the hub's own groups
passed in, and FakeKernel in place of the kernel's side of the cgroup file system: a group
folder has the control files its kernel offers (in v2 only those of the controllers its parent
enables), a write replaces a file's value, cgroup.subtree_control takes only controllers the
parent offers and is refused (EBUSY) in a group holding processes unless it is the real root,
and rmdir refuses (EBUSY) a group holding processes or groups. A group "holds processes" when
its cgroup.procs has a pid in it, written there by the test.

What needs a real kernel is not tested here: that joiner() really moves a process between fork
and exec, that misplaced() finds it in its group, move(), and start()'s probe succeeding; the
end-to-end test (classroom/test_e2e.py) checks those on the machine's own cgroups. Here the
probe runs against a fake tree, where no process can move, and start() must say "off" and why.
"""

import errno
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import unittest
import warnings
from unittest import mock

# As in the hub's config: in an installed copy, a __pycache__ would look like a changed source to setup.sh.
sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import student_cgroups as sc  # noqa: E402

G = 2**30
V1_FILES = {"cpu.shares", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}
V2_FILES = {"cpu.weight", "memory.max", "memory.swap.max"}
V2_CONTROLLERS = "cpuset cpu io memory pids"
ORIGINAL_RMDIR = pathlib.Path.rmdir


def setUpModule():
    # The module leaves its /proc and mountinfo files to the garbage collector, as the hub can.
    warnings.filterwarnings("ignore", category=ResourceWarning, module="student_cgroups")


def escape(path):
    # As the kernel writes mountinfo: octal for space, tab, newline and backslash.
    return "".join("\\%03o" % ord(ch) if ch in " \t\n\\" else ch for ch in str(path))


def machine_memory():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise OSError("no MemTotal in /proc/meminfo")


class FakeKernel:
    """The kernel's side of cgroup file systems under `base` (see the module's docstring).
    `files`: the control files a group has; `v2`: the top folders of v2 trees; `host`: v2 tops
    that are the real root, which may enable controllers while holding processes."""

    def __init__(self, base, files, v2=(), host=()):
        self.base, self.files = pathlib.Path(base), set(files)
        self.v2, self.host = {pathlib.Path(p) for p in v2}, {pathlib.Path(p) for p in host}
        self.writes = []  # (path, value) of every write, refused ones too

    def top_of(self, group):
        return next((t for t in self.v2 if group == t or t in group.parents), None)

    @staticmethod
    def enabled(group):
        try:
            return set((group / "cgroup.subtree_control").read_text().split())
        except FileNotFoundError:
            return set()

    @staticmethod
    def procs(group):
        try:
            return (group / "cgroup.procs").read_text().split()
        except FileNotFoundError:
            return []

    def busy(self, group):
        return bool(self.procs(group)) or any(c.is_dir() for c in group.iterdir())

    def has(self, path):
        group, top = path.parent, self.top_of(path.parent)
        if path.name in ("cgroup.procs", "cgroup.subtree_control"):
            return top is not None or path.name == "cgroup.procs"
        if path.name not in self.files:
            return False
        if top is None:
            return True
        # v2: the top has no weight or limit of its own; a group has a controller's files only
        # where its parent hands the controller down.
        return group != top and path.name.split(".")[0] in self.enabled(group.parent)

    def write(self, path, value):
        path, text = pathlib.Path(os.fsdecode(path)), str(value)
        self.writes.append((path, text))
        if self.base not in path.parents:
            raise PermissionError(errno.EPERM, "outside the fake cgroup trees", str(path))
        if not path.parent.is_dir() or not self.has(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        group = path.parent
        if path.name == "cgroup.procs":
            return  # no process moves into a fake group
        if path.name == "cgroup.subtree_control":
            top = self.top_of(group)
            if group == top:
                offered = set((top / "cgroup.controllers").read_text().split())
            else:
                offered = self.enabled(group.parent)
            now = self.enabled(group)
            for word in text.split():
                if word[1:] not in offered:
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
                if word[0] == "+" and self.procs(group) and group not in self.host:
                    raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(path))
                now = now | {word[1:]} if word[0] == "+" else now - {word[1:]}
            text = " ".join(sorted(now))
        path.write_text(text)

    def rmdir(self, path):
        path = pathlib.Path(path)
        if self.base not in path.parents or not path.is_dir():
            return ORIGINAL_RMDIR(path)
        if self.busy(path):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(path))
        for f in path.iterdir():
            f.unlink()
        return ORIGINAL_RMDIR(path)


class FakeCgroups(unittest.TestCase):
    """A temporary directory for fake trees, with a mountinfo and the FakeKernel in place."""

    files = V1_FILES | V2_FILES

    def setUp(self):
        self.base = pathlib.Path(tempfile.mkdtemp(prefix="nk cgroups test "))
        self.addCleanup(shutil.rmtree, self.base, ignore_errors=True)
        self.mounts = []
        self.kernel = FakeKernel(self.base, self.files)
        for patch in (mock.patch.object(sc, "_write", self.kernel.write),
                      mock.patch.object(pathlib.Path, "rmdir", lambda p: self.kernel.rmdir(p))):
            patch.start()
            self.addCleanup(patch.stop)

    def v1(self, name, options, root="/", own=None):
        """A v1 hierarchy mounted at base/name (the hierarchy's `root` there), with the hub's
        group `own` (as /proc/self/cgroup shows it) made in it."""
        mount = self.base / name
        mount.mkdir()
        (mount / "cgroup.procs").write_text("1\n")
        if own is not None and own != root:
            group = mount / own[len(root.rstrip("/")):].lstrip("/")
            group.mkdir(parents=True, exist_ok=True)
            (group / "cgroup.procs").write_text(f"{os.getpid()}\n")
        self.mounts.append(("cgroup", mount, root, f"rw,{options}"))
        return mount

    def v2(self, name, controllers=V2_CONTROLLERS, root="/", host=True, procs="1\n"):
        """A v2 tree at base/name; `host`: its top is the real root (a container's is not)."""
        mount = self.base / name
        mount.mkdir()
        (mount / "cgroup.controllers").write_text(controllers + "\n")
        (mount / "cgroup.subtree_control").write_text("")
        (mount / "cgroup.procs").write_text(procs)
        self.kernel.v2.add(mount)
        if host:
            self.kernel.host.add(mount)
        self.mounts.append(("cgroup2", mount, root, "rw,nsdelegate"))
        return mount

    def mountinfo(self):
        path = self.base / "mountinfo"
        lines = ["22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
                 f"30 22 0:27 / {escape(self.base)} rw,nosuid shared:8 - tmpfs tmpfs rw,mode=755"]
        for i, (fstype, mount, root, options) in enumerate(self.mounts):
            lines.append(f"{40 + i} 30 0:{40 + i} {escape(root)} {escape(mount)} rw,nosuid,nodev,noexec,relatime "
                         f"shared:{9 + i} - {fstype} {fstype} {options}")
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def groups(self, own, cpu=True, memory_limit=2 * G, parent="notebook-kit"):
        return sc.StudentGroups(parent, cpu=cpu, memory_limit=memory_limit, mountinfo=self.mountinfo(), own=own)

    def started(self, own, **kw):
        """StudentGroups after start(), its probe (which needs a real kernel) left out."""
        g = self.groups(own, **kw)
        g._try_out = lambda: []
        self.lines = g.start()
        return g

    def written(self, path):
        return [v for p, v in self.kernel.writes if p == pathlib.Path(path)]


class MountinfoTest(unittest.TestCase):
    def test_cgroup_mounts(self):
        with tempfile.NamedTemporaryFile("w", prefix="nk-mountinfo-") as f:
            f.write("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
                    "31 23 0:28 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
                    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
                    "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                    "40 31 0:37 / /sys/fs/cgroup/systemd rw shared:15 master:3 - cgroup cgroup rw,xattr,name=systemd\n"
                    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:16 - cgroup2 cgroup2 rw,nsdelegate\n"
                    "50 22 0:40 /a\\040b /mnt/my\\040cg\\011x\\134y rw - cgroup2 none rw\n"
                    "51 22 0:41 / /mnt/bare rw - cgroup2 none\n")
            f.flush()
            found = sc.cgroup_mounts(f.name)
        P = pathlib.Path
        self.assertEqual(found, [
            ("cgroup", P("/sys/fs/cgroup/cpu,cpuacct"), "/", ["rw", "cpu", "cpuacct"]),
            ("cgroup", P("/sys/fs/cgroup/memory"), "/docker/abc", ["rw", "memory"]),
            ("cgroup", P("/sys/fs/cgroup/systemd"), "/", ["rw", "xattr", "name=systemd"]),
            ("cgroup2", P("/sys/fs/cgroup/unified"), "/", ["rw", "nsdelegate"]),
            ("cgroup2", P("/mnt/my cg\tx\\y"), "/a b", ["rw"]),
            ("cgroup2", P("/mnt/bare"), "/", []),
        ])

    def test_cgroups_of(self):
        with tempfile.TemporaryDirectory(prefix="nk-proc-") as proc:
            os.mkdir(f"{proc}/4242")
            pathlib.Path(f"{proc}/4242/cgroup").write_text(
                "9:name=systemd:/user.slice\n4:memory:/hub:with:colons\n2:cpu,cpuacct:/hub\n"
                "1:cpu:/not-this-one\n0::/user.slice/hub.service\n")
            os.mkdir(f"{proc}/self")
            pathlib.Path(f"{proc}/self/cgroup").write_text("0::/\n")
            self.assertEqual(sc.cgroups_of(4242, proc=proc), {
                "name=systemd": "/user.slice", "memory": "/hub:with:colons", "cpu": "/hub", "cpuacct": "/hub",
                "": "/user.slice/hub.service"})
            self.assertEqual(sc.cgroups_of(proc=proc), {"": "/"})

    def test_cgroups_of_this_process(self):
        own = sc.cgroups_of()
        self.assertTrue(own and all(p.startswith("/") for p in own.values()), own)


class LocateTest(FakeCgroups):
    def test_pure_v2(self):
        top = self.v2("cgroup2")
        own = {"": "/system.slice/jupyterhub.service"}
        for controller in ("cpu", "memory"):
            t = sc.locate(controller, "notebook-kit", self.mountinfo(), own)
            # The top of the tree, not below the hub's own group (which holds the hub).
            self.assertEqual((t.version, t.key, t.mount, t.parent, t.shown),
                             (2, "", top, top / "notebook-kit", "/notebook-kit"))

    def test_v2_mounted_below_the_hierarchys_root(self):
        top = self.v2("cgroup2", root="/docker/abc")
        t = sc.locate("cpu", "notebook-kit", self.mountinfo(), {"": "/docker/abc"})
        self.assertEqual((t.parent, t.shown), (top / "notebook-kit", "/docker/abc/notebook-kit"))

    def test_pure_v1(self):
        cpu = self.v1("cpu,cpuacct", "cpu,cpuacct", own="/user.slice")
        memory = self.v1("memory", "memory", own="/user.slice/hub")
        own = {"cpu": "/user.slice", "cpuacct": "/user.slice", "memory": "/user.slice/hub"}
        t = sc.locate("cpu", "notebook-kit", self.mountinfo(), own)
        # Below the hub's own group, within whatever limits the hub runs under.
        self.assertEqual((t.version, t.key, t.parent, t.shown),
                         (1, "cpu", cpu / "user.slice/notebook-kit", "/user.slice/notebook-kit"))
        t = sc.locate("memory", "notebook-kit", self.mountinfo(), own)
        self.assertEqual((t.version, t.key, t.parent, t.shown),
                         (1, "memory", memory / "user.slice/hub/notebook-kit", "/user.slice/hub/notebook-kit"))

    def test_v1_mounted_below_the_hierarchys_root(self):
        cpu = self.v1("cpu", "cpu", root="/docker/abc", own="/docker/abc/hub")
        t = sc.locate("cpu", "nk", self.mountinfo(), {"cpu": "/docker/abc/hub"})
        self.assertEqual((t.parent, t.shown), (cpu / "hub/nk", "/docker/abc/hub/nk"))
        t = sc.locate("cpu", "nk", self.mountinfo(), {"cpu": "/docker/abc"})
        self.assertEqual((t.parent, t.shown), (cpu / "nk", "/docker/abc/nk"))

    def test_v1_hub_outside_the_mount(self):
        self.v1("cpu", "cpu", root="/docker/abc")
        with self.assertRaisesRegex(sc.Unavailable, "cgroup /docker/abcdef lies outside what is mounted at"):
            sc.locate("cpu", "nk", self.mountinfo(), {"cpu": "/docker/abcdef"})
        with self.assertRaisesRegex(sc.Unavailable, "in no cgroup v1 'cpu' group"):
            sc.locate("cpu", "nk", self.mountinfo(), {"memory": "/"})

    def test_hybrid_v1_controllers_v2_without(self):
        # This machine's and CI's layout (systemd's "hybrid").
        cpu = self.v1("cpu", "cpu", own="/")
        memory = self.v1("memory", "memory", own="/process_api/ded5")
        self.v1("systemd", "xattr,name=systemd", own="/")
        self.v2("unified", controllers="")
        own = {"cpu": "/", "memory": "/process_api/ded5", "name=systemd": "/", "": "/"}
        t = sc.locate("cpu", "notebook-kit", self.mountinfo(), own)
        self.assertEqual((t.version, t.parent, t.shown), (1, cpu / "notebook-kit", "/notebook-kit"))
        t = sc.locate("memory", "notebook-kit", self.mountinfo(), own)
        self.assertEqual((t.version, t.parent, t.shown),
                         (1, memory / "process_api/ded5/notebook-kit", "/process_api/ded5/notebook-kit"))

    def test_hybrid_memory_only_in_v2(self):
        cpu = self.v1("cpu", "cpu,cpuacct", own="/")
        unified = self.v2("unified", controllers="memory pids")
        own = {"cpu": "/", "cpuacct": "/", "": "/user.slice"}
        self.assertEqual(sc.locate("cpu", "nk", self.mountinfo(), own).parent, cpu / "nk")
        t = sc.locate("memory", "nk", self.mountinfo(), own)
        self.assertEqual((t.version, t.key, t.parent, t.shown), (2, "", unified / "nk", "/nk"))

    def test_no_controller(self):
        self.v2("unified", controllers="")
        bare = self.v2("bare")
        (bare / "cgroup.controllers").unlink()
        with self.assertRaisesRegex(sc.Unavailable, "no 'cpu' cgroup controller"):
            sc.locate("cpu", "nk", self.mountinfo(), {"": "/"})


class PrepareV1Test(FakeCgroups):
    files = V1_FILES

    def setUp(self):
        super().setUp()
        self.cpu = self.v1("cpu,cpuacct", "cpu,cpuacct", own="/")
        self.mem = self.v1("memory", "memory", own="/hub")
        self.own = {"cpu": "/", "cpuacct": "/", "memory": "/hub"}

    def test_prepare(self):
        g = self.started(self.own)
        self.assertEqual([(level, line.split(":")[0]) for level, line in self.lines],
                         [(logging.INFO, "Per-student CPU fairness is on"), (logging.INFO, "Per-student memory limit")])
        self.assertIn(f"cgroup v1 {self.cpu / 'notebook-kit'}/STUDENT, every student with cpu.shares 1024",
                      self.lines[0][1])
        self.assertIn(f"2.0 GiB (memory_limit {2 * G}) in cgroup v1 {self.mem / 'hub/notebook-kit'}/STUDENT",
                      self.lines[1][1])
        cpu, mem = self.cpu / "notebook-kit", self.mem / "hub/notebook-kit"
        files = g.prepare("alice")
        self.assertEqual(files, [cpu / "alice/cgroup.procs", mem / "alice/cgroup.procs"])
        self.assertEqual((cpu / "alice/cpu.shares").read_text(), "1024")
        self.assertEqual((mem / "alice/memory.limit_in_bytes").read_text(), str(2 * G))
        self.assertEqual((mem / "alice/memory.memsw.limit_in_bytes").read_text(), str(2 * G))
        # memsw may never be below the limit: lifted before the limit is set, whatever it was.
        self.assertEqual(self.written(mem / "alice/memory.memsw.limit_in_bytes"), ["-1", str(2 * G)])
        order = [p.name for p, _ in self.kernel.writes if p.parent == mem / "alice"]
        self.assertEqual(order, ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"])
        self.assertEqual((cpu / "cpu.shares").read_text(), "1024")
        g.prepare("bob")
        self.assertEqual((cpu / "cpu.shares").read_text(), "2048")
        self.assertFalse((mem / "cpu.shares").exists())
        g.prepare("alice")  # a restart keeps the group
        self.assertEqual((cpu / "cpu.shares").read_text(), "2048")

    def test_no_swap_accounting(self):
        self.kernel.files.discard("memory.memsw.limit_in_bytes")
        g = self.started(self.own)
        g.prepare("alice")
        self.assertEqual((self.mem / "hub/notebook-kit/alice/memory.limit_in_bytes").read_text(), str(2 * G))
        self.assertFalse((self.mem / "hub/notebook-kit/alice/memory.memsw.limit_in_bytes").exists())

    def test_missing_limit_file_fails(self):
        self.kernel.files.discard("memory.limit_in_bytes")
        g = self.started(self.own)
        with self.assertRaises(FileNotFoundError):
            g.prepare("alice")

    def test_cpu_only(self):
        g = self.started(self.own, memory_limit=None)
        self.assertEqual(self.lines[1], (logging.INFO, "Per-student memory limit is off: memory_limit is none in the "
                                         "hub's settings (classroom.json). One student's runaway memory can take the "
                                         "server down"))
        self.assertEqual(g.prepare("alice"), [self.cpu / "notebook-kit/alice/cgroup.procs"])
        self.assertFalse((self.mem / "hub/notebook-kit").exists())

    def test_cpu_and_memory_in_one_hierarchy(self):
        both = self.v1("both", "cpu,memory", own="/")
        own = {"cpu": "/", "memory": "/"}
        self.mounts = [m for m in self.mounts if m[1] == both]
        g = self.started(own)
        self.assertEqual(g.prepare("alice"), [both / "notebook-kit/alice/cgroup.procs"])
        self.assertEqual((both / "notebook-kit/alice/cpu.shares").read_text(), "1024")
        self.assertEqual((both / "notebook-kit/alice/memory.limit_in_bytes").read_text(), str(2 * G))

    def test_weigh_class(self):
        g = self.started(self.own)
        parent = self.cpu / "notebook-kit"
        for name in ("_probe-1", "Not-a-student"):
            (parent / name).mkdir()
        g.weigh_class()
        self.assertEqual((parent / "cpu.shares").read_text(), "1024")  # no student yet: one process's weight
        for i in range(3):
            g.prepare(f"s{i}")
        self.assertEqual((parent / "cpu.shares").read_text(), str(3 * 1024))
        for i in range(3, 300):
            (parent / f"s{i}").mkdir()
        g.weigh_class()
        self.assertEqual((parent / "cpu.shares").read_text(), "262144")

    def test_remove(self):
        g = self.started(self.own)
        g.prepare("alice")
        g.prepare("bob")
        cpu, mem = self.cpu / "notebook-kit", self.mem / "hub/notebook-kit"
        (cpu / "bob/cgroup.procs").write_text("4242\n")
        self.assertEqual(g.remove("alice"), [])
        self.assertFalse((cpu / "alice").exists() or (mem / "alice").exists())
        self.assertEqual(g.remove("bob"), [cpu / "bob"])  # still running there: kept
        self.assertTrue((cpu / "bob").is_dir())
        self.assertFalse((mem / "bob").exists())
        self.assertEqual((cpu / "cpu.shares").read_text(), "1024")
        self.assertEqual(g.remove("carol"), [])  # never made
        (cpu / "dave").write_text("")  # not a group: an error the hub logs, not a kept group
        with self.assertRaises(NotADirectoryError):
            g.remove("dave")

    def test_remove_stale_and_close(self):
        cpu, mem = self.cpu / "notebook-kit", self.mem / "hub/notebook-kit"
        for parent in (cpu, mem):
            for name in ("alice", "bob", "_probe-99"):
                (parent / name).mkdir(parents=True)
                (parent / name / "cgroup.procs").write_text("")
        (cpu / "bob/cgroup.procs").write_text("4242\n")  # an earlier hub's student, still running
        g = self.started(self.own)
        self.assertEqual(sorted(c.name for c in cpu.iterdir() if c.is_dir()), ["bob"])
        self.assertEqual(sorted(c.name for c in mem.iterdir() if c.is_dir()), [])
        g.close()
        self.assertTrue((cpu / "bob").is_dir())
        self.assertFalse(mem.exists())


class PrepareV2Test(FakeCgroups):
    files = V2_FILES

    def setUp(self):
        super().setUp()
        self.top = self.v2("cgroup2")
        self.own = {"": "/system.slice/jupyterhub.service"}

    def test_prepare(self):
        g = self.started(self.own)
        parent = self.top / "notebook-kit"
        self.assertEqual([level for level, _ in self.lines], [logging.INFO, logging.INFO], self.lines)
        self.assertIn(f"cgroup v2 {parent}/STUDENT, every student with cpu.weight 100", self.lines[0][1])
        self.assertIn(f"in cgroup v2 {parent}/STUDENT", self.lines[1][1])
        # Controllers handed down from the top to the parent and from the parent to the students.
        self.assertEqual((self.top / "cgroup.subtree_control").read_text(), "cpu memory")
        self.assertEqual((parent / "cgroup.subtree_control").read_text(), "cpu memory")
        files = g.prepare("alice")
        self.assertEqual(files, [parent / "alice/cgroup.procs"])  # one tree for both controllers
        self.assertEqual((parent / "alice/cpu.weight").read_text(), "100")
        self.assertEqual((parent / "alice/memory.max").read_text(), str(2 * G))
        self.assertEqual((parent / "alice/memory.swap.max").read_text(), "0")
        self.assertFalse((parent / "alice/cpu.shares").exists())
        self.assertEqual((parent / "cpu.weight").read_text(), "100")
        g.prepare("bob")
        self.assertEqual((parent / "cpu.weight").read_text(), "200")

    def test_no_swap_file(self):
        self.kernel.files.discard("memory.swap.max")
        g = self.started(self.own)
        g.prepare("alice")
        self.assertEqual((self.top / "notebook-kit/alice/memory.max").read_text(), str(2 * G))

    def test_missing_limit_file_fails(self):
        self.kernel.files.discard("memory.max")
        g = self.started(self.own)
        with self.assertRaises(FileNotFoundError):
            g.prepare("alice")

    def test_cpu_only(self):
        g = self.started(self.own, memory_limit=None)
        parent = self.top / "notebook-kit"
        self.assertEqual((self.top / "cgroup.subtree_control").read_text(), "cpu")
        self.assertEqual((parent / "cgroup.subtree_control").read_text(), "cpu")
        g.prepare("alice")
        self.assertEqual((parent / "alice/cpu.weight").read_text(), "100")
        self.assertFalse((parent / "alice/memory.max").exists())

    def test_memory_only(self):
        g = self.started(self.own, cpu=False)
        self.assertEqual(self.lines[0], (logging.WARNING, "Per-student CPU fairness is off: cpu_groups is off in the "
                                         "hub's settings (classroom.json). Every kernel competes for the cores on its "
                                         "own: a student with three busy kernels gets three times the CPU of a "
                                         "student with one"))
        g.prepare("alice")
        self.assertEqual((self.top / "notebook-kit/alice/memory.max").read_text(), str(2 * G))
        self.assertFalse((self.top / "notebook-kit/cpu.weight").exists())

    def test_weigh_class(self):
        g = self.started(self.own)
        parent = self.top / "notebook-kit"
        g.weigh_class()
        self.assertEqual((parent / "cpu.weight").read_text(), "100")
        for i in range(150):
            (parent / f"s{i}").mkdir()
        g.weigh_class()
        self.assertEqual((parent / "cpu.weight").read_text(), "10000")

    def test_container_top_holds_processes(self):
        self.kernel.host.clear()
        g = self.groups(self.own)
        lines = g.start()
        self.assertEqual(g.trees(), [])
        hint = "(v2 gives controllers only to the children of a group without processes"
        cpu_off = f"Per-student CPU fairness is off: cannot set up {self.top / 'notebook-kit'}: "
        self.assertTrue(lines[0][1].startswith(cpu_off) and hint in lines[0][1], lines)
        mem_off = "Per-student memory limit is off: cannot set up "
        self.assertTrue(lines[1][1].startswith(mem_off) and hint in lines[1][1], lines)
        self.assertEqual([level for level, _ in lines], [logging.WARNING, logging.WARNING])

    def test_remove(self):
        g = self.started(self.own)
        parent = self.top / "notebook-kit"
        g.prepare("alice")
        g.prepare("bob")
        self.assertEqual((parent / "cpu.weight").read_text(), "200")
        (parent / "bob/cgroup.procs").write_text("4242\n")
        self.assertEqual(g.remove("bob"), [parent / "bob"])
        self.assertEqual(g.remove("alice"), [])
        self.assertFalse((parent / "alice").exists())
        self.assertEqual((parent / "cpu.weight").read_text(), "100")
        (parent / "bob/cgroup.procs").write_text("")
        g.close()
        self.assertFalse((parent / "bob").exists())


class NamesTest(FakeCgroups):
    def test_invalid_names_refused(self):
        top = self.v2("cgroup2")
        g = self.started({"": "/"})
        for bad in ("", "Alice", "1alice", "_alice", "-x", "a/b", "../etc", "..", "alice\n", "al ice", "a" * 65,
                    "_probe-", "_probe-1x", "élève"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                g.prepare(bad)
        self.assertEqual([c.name for c in (top / "notebook-kit").iterdir() if c.is_dir()], [])
        for good in ("a", "alice", "s-1_b", "a" * 64, "_probe-123"):
            g.prepare(good)
        for bad in ("", "Notebook-Kit", "a/b", "nk\n"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                sc.StudentGroups(bad)


class MemoryLimitTest(unittest.TestCase):
    def test_none(self):
        for text in ("", "  ", "none", "None", "OFF", "off "):
            self.assertIsNone(sc.parse_memory_limit(text, total=8 * G), text)

    def test_sizes(self):
        for text, want in (("6G", 6 * G), ("6g", 6 * G), (" 4096M ", 4 * G), ("1.5G", 3 * G // 2),
                           (str(512 * 2**20), 512 * 2**20), ("262144K", 256 * 2**20), ("1T", 2**40),
                           ("256M", sc.MIN_MEMORY)):
            self.assertEqual(sc.parse_memory_limit(text, total=1), want, text)

    def test_shares(self):
        self.assertEqual(sc.parse_memory_limit("50%", total=8 * G), 4 * G)
        self.assertEqual(sc.parse_memory_limit("100%", total=8 * G), 8 * G)
        self.assertEqual(sc.parse_memory_limit("12.5%", total=8 * G), G)
        self.assertEqual(sc.parse_memory_limit("50%"), sc.memory_total() // 2)

    def test_refused(self):
        for text, why in (("0", "under 256 MiB"), ("255M", "under 256 MiB"), ("1%", "under 256 MiB"),
                          ("0%", "over 0% and at most 100%"), ("101%", "over 0% and at most 100%"),
                          ("-1G", "give a size"), ("6GB", "give a size"), ("6 G", "give a size"), ("G", "give a size"),
                          ("lots", "give a size"), ("50 %", "give a size"), ("1e9", "give a size")):
            with self.assertRaises(ValueError, msg=repr(text)) as caught:
                sc.parse_memory_limit(text, total=8 * G)
            self.assertIn(f"memory limit {str(text)!r}", str(caught.exception))
            self.assertIn(why, str(caught.exception))


class MemoryTotalTest(FakeCgroups):
    def setUp(self):
        super().setUp()
        self.machine = machine_memory()

    def test_v1_own_and_parent_limits(self):
        mem = self.v1("memory", "memory", own="/lxc/c1/hub")
        self.v1("cpu", "cpu", own="/")
        own = {"memory": "/lxc/c1/hub", "cpu": "/"}
        unlimited = "9223372036854771712"
        for folder in (mem, mem / "lxc", mem / "lxc/c1", mem / "lxc/c1/hub"):
            (folder / "memory.limit_in_bytes").write_text(unlimited + "\n")
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), self.machine)
        (mem / "lxc/c1/memory.limit_in_bytes").write_text(f"{G}\n")  # a container's limit, above the hub
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), min(G, self.machine))
        (mem / "lxc/c1/hub/memory.limit_in_bytes").write_text(f"{G // 2}\n")
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), min(G // 2, self.machine))
        (mem / "lxc/c10").mkdir()
        (mem / "lxc/c10/memory.limit_in_bytes").write_text(f"{G // 4}\n")  # someone else's group
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), min(G // 2, self.machine))

    def test_v1_mounted_below_the_hierarchys_root(self):
        mem = self.v1("memory", "memory", root="/lxc/c1", own="/lxc/c1")
        (mem / "memory.limit_in_bytes").write_text(f"{G}\n")
        self.assertEqual(sc.memory_total(self.mountinfo(), own={"memory": "/lxc/c1"}), min(G, self.machine))
        # A group whose name only starts like the mounted one is not below it.
        self.assertEqual(sc.memory_total(self.mountinfo(), own={"memory": "/lxc/c10"}), self.machine)

    def test_v2(self):
        top = self.v2("cgroup2")
        (top / "system.slice/hub.service").mkdir(parents=True)
        (top / "system.slice/memory.max").write_text("max\n")
        (top / "system.slice/hub.service/memory.max").write_text("max\n")
        own = {"": "/system.slice/hub.service"}
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), self.machine)
        (top / "system.slice/memory.max").write_text(f"{3 * G}\n")
        self.assertEqual(sc.memory_total(self.mountinfo(), own=own), min(3 * G, self.machine))

    def test_no_cgroups(self):
        self.assertEqual(sc.memory_total(self.mountinfo(), own={}), self.machine)


class StartOffTest(FakeCgroups):
    """start() where the groups cannot be used: each line says off, and why; never "on"."""

    def test_no_cgroup_mounts(self):
        g = self.groups({"": "/"})
        lines = g.start()
        self.assertEqual(g.trees(), [])
        self.assertTrue(lines[0][1].startswith("Per-student CPU fairness is off: this machine has no 'cpu' cgroup "
                                               "controller"), lines)
        self.assertTrue(lines[1][1].startswith("Per-student memory limit is off: this machine has no 'memory' cgroup "
                                               "controller"), lines)
        self.assertEqual([level for level, _ in lines], [logging.WARNING, logging.WARNING])

    def test_all_off_in_settings(self):
        self.v2("cgroup2")
        g = self.groups({"": "/"}, cpu=False, memory_limit=None)
        lines = g.start()
        self.assertEqual(g.trees(), [])
        self.assertEqual([level for level, _ in lines], [logging.WARNING, logging.INFO])
        self.assertIn("cpu_groups is off", lines[0][1])
        self.assertIn("memory_limit is none", lines[1][1])
        self.assertFalse((self.base / "cgroup2/notebook-kit").exists())

    def test_unwritable_tree(self):
        mount = self.v1("gone", "cpu,memory", own="/")
        shutil.rmtree(mount)
        g = self.groups({"cpu": "/", "memory": "/"})
        lines = g.start()
        self.assertEqual(g.trees(), [])
        parent = mount / "notebook-kit"
        self.assertTrue(lines[0][1].startswith(f"Per-student CPU fairness is off: cannot set up {parent}: {parent}: "
                                               "No such file or directory"), lines)
        self.assertTrue(lines[1][1].startswith("Per-student memory limit is off: cannot set up "), lines)

    def test_probe_fails_on_a_fake_tree(self):
        # The real probe: a process is started into the groups, but nothing moves it into a fake one.
        top = self.v2("cgroup2")
        parent = top / "notebook-kit"
        parent.mkdir()
        (parent / "cgroup.subtree_control").write_text("")
        (parent / "cgroup.procs").write_text("")
        for name, procs in (("stale", ""), ("running", "4242\n")):
            (parent / name).mkdir()
            (parent / name / "cgroup.procs").write_text(procs)
        g = self.groups({"": "/"})
        lines = g.start()
        self.assertEqual(g.trees(), [])
        self.assertEqual([level for level, _ in lines], [logging.WARNING, logging.WARNING])
        for line in lines:
            self.assertRegex(line[1], r"is off: a process put into .*/notebook-kit/_probe-\d+ stayed in (/|\(none\))")
        self.assertEqual(sorted(c.name for c in parent.iterdir() if c.is_dir()), ["running"])


if __name__ == "__main__":
    unittest.main()
