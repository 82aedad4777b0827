"""Per-student cgroups for the class hub: an equal share of the cores for every student, and a
memory limit per student.

The hub (root) puts each student's single-user server into a group of its own, PARENT/STUDENT,
between fork and exec, while the new process is still root: the server, and the kernels and
compiles it starts, which inherit the group, are in it from their first instruction, and the
student, who owns none of the group's files, can neither move out of it nor change its settings.
All students' groups have the same CPU weight, so under contention each student gets an equal
share of the cores whatever number of kernels they run; the memory limit stops a runaway kernel
in its own group instead of letting it take the server down.

Both cgroup versions: v1 (a `cpu` hierarchy with cpu.shares, a `memory` hierarchy with
memory.limit_in_bytes) and v2 (cpu.weight, memory.max), and hybrid machines (v1 controllers, a
v2 tree without them). Where cgroups cannot be used, start() says why and nothing else changes.

Used by jupyterhub_config.py, fairness_check.py and test_e2e.py; standard library only.
"""

import errno
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess

V1_SHARES = 1024  # the kernel's default: what every process outside the class has
V2_WEIGHT = 100  # likewise
V1_SHARES_MAX, V2_WEIGHT_MAX = 262144, 10000
# Student names are Unix account names (jupyterhub_config.py's username_pattern). Groups made
# for the hub's own use start with "_", which no student name does.
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}\Z")  # \Z: "$" would let a trailing newline through
MIN_MEMORY = 256 * 2**20  # below this not even a student's JupyterLab starts


class Unavailable(Exception):
    """Why a controller cannot be used (the text goes into the hub's log)."""


def memory_total(mountinfo="/proc/self/mountinfo", own=None):
    """The memory this process may use: the machine's, or its own cgroup's limit where lower (a
    container's, a service's), so that a share of it means the same in both."""
    total = None
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    if total is None:
        raise OSError("no MemTotal in /proc/meminfo")
    try:
        own = cgroups_of() if own is None else own
        for fstype, mount, root, options in cgroup_mounts(mountinfo):
            key, limit_file = ("memory", "memory.limit_in_bytes") if fstype == "cgroup" else ("", "memory.max")
            if fstype == "cgroup" and "memory" not in options or key not in own:
                continue
            inside = (own[key] + "/").startswith(root.rstrip("/") + "/")  # /lxc/c10 is not inside /lxc/c1
            rel = own[key][len(root.rstrip("/")):].lstrip("/") if inside else None
            group = mount / rel if rel is not None else None
            while group is not None and group != mount.parent:
                try:
                    value = (group / limit_file).read_text().strip()
                    if value.isdigit():
                        total = min(total, int(value))
                except OSError:
                    pass
                group = group.parent if group != mount else None
    except OSError:
        pass
    return total


def parse_memory_limit(text, total=None):
    """Bytes from a memory_limit setting: `none` (no limit), a size (bytes, or K/M/G/T, powers of
    1024: 6G, 4096M) or a share of the server's memory (50%). ValueError says what is wrong."""
    t = str(text).strip()
    if t.lower() in ("", "none", "off"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
    if m:
        share = float(m.group(1))
        if not 0 < share <= 100:
            raise ValueError(f"memory limit {text!r}: a share must be over 0% and at most 100%")
        limit = int((memory_total() if total is None else total) * share / 100)
    else:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", t, re.IGNORECASE)
        if not m:
            raise ValueError(f"memory limit {text!r}: give a size (6G, 4096M), a share of the server's "
                             "memory (50%) or none")
        limit = int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))
    if limit < MIN_MEMORY:
        raise ValueError(f"memory limit {text!r} is {limit / 2**20:.0f} MiB: under {MIN_MEMORY // 2**20} MiB "
                         "a student's server cannot even start (a lesson kernel needs about 1.5 GB)")
    return limit


def gib(n):
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _unescape(field):
    # mountinfo writes spaces, tabs, newlines and backslashes in octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def cgroup_mounts(mountinfo="/proc/self/mountinfo"):
    """(fstype, mount point, root of the hierarchy mounted there, super options) of every cgroup mount."""
    found = []
    for line in open(mountinfo):
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and tail and tail[0] in ("cgroup", "cgroup2"):
            found.append((tail[0], pathlib.Path(_unescape(fields[4])), _unescape(fields[3]),
                          tail[2].split(",") if len(tail) > 2 else []))
    return found


def cgroups_of(pid="self", proc="/proc"):
    """{controller: path} for v1 hierarchies and {"": path} for v2, as /proc/PID/cgroup lists them."""
    found = {}
    for line in open(f"{proc}/{pid}/cgroup"):
        hid, controllers, path = line.rstrip("\n").split(":", 2)
        if hid == "0" and not controllers:
            found[""] = path
        else:
            for c in controllers.split(","):
                found.setdefault(c, path)
    return found


class Tree:
    """Where one controller's student groups go: `parent`, a folder in the cgroup file system,
    which /proc/PID/cgroup shows as `shown`; `key` is the controller's key in cgroups_of()."""

    def __init__(self, version, controller, key, mount, root, parent):
        self.version, self.controller, self.key = version, controller, key
        self.mount, self.parent = mount, parent
        self.shown = root.rstrip("/") + "/" + str(parent.relative_to(mount))

    def __repr__(self):
        return f"cgroup v{self.version} {self.parent}"


def locate(controller, parent_name, mountinfo="/proc/self/mountinfo", own=None):
    """The Tree for `controller`, or Unavailable with the reason."""
    own = cgroups_of() if own is None else own
    mounts = cgroup_mounts(mountinfo)
    v1 = [m for m in mounts if m[0] == "cgroup" and controller in m[3]]
    if v1:
        path = own.get(controller)
        if path is None:
            raise Unavailable(f"the hub's process is in no cgroup v1 '{controller}' group (/proc/self/cgroup)")
        for _, mount, root, _ in v1:
            if root == "/" or path == root or path.startswith(root.rstrip("/") + "/"):
                rel = path[len(root.rstrip("/")):].lstrip("/")
                # v1 lets a group hold processes and child groups at once: the students' groups
                # go below the hub's own, inside whatever limits the hub was started under
                # (a container's, a service's).
                return Tree(1, controller, controller, mount, root, mount / rel / parent_name)
        raise Unavailable(f"the hub's '{controller}' cgroup {path} lies outside what is mounted at {v1[0][1]} "
                          f"(the hierarchy's {v1[0][2]})")
    for _, mount, root, _ in (m for m in mounts if m[0] == "cgroup2"):
        try:
            available = (mount / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if controller in available:
            # v2 hands controllers only to the children of a group that holds no processes, and
            # the hub's own group holds the hub: the students' groups go at the top of the tree.
            return Tree(2, controller, "", mount, root, mount / parent_name)
    raise Unavailable(f"this machine has no '{controller}' cgroup controller (no cgroup v1 '{controller}' "
                      f"hierarchy, and none in cgroup v2's cgroup.controllers)")


def _write(path, value):
    # One write(2) per value: a cgroup file takes one value per write.
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _why(e):
    return f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename and e.strerror else str(e)


class StudentGroups:
    """The students' groups of one hub. start() once, then prepare() + joiner() for every server
    start, misplaced() to check a started server, remove() when it stopped, close() at the end."""

    def __init__(self, parent_name="notebook-kit", cpu=True, memory_limit=None, memory_setting=None,
                 mountinfo="/proc/self/mountinfo", own=None):
        if not NAME.match(parent_name):
            raise ValueError(f"cgroup name {parent_name!r}: lower-case letters, digits, '-' and '_'")
        self.parent_name = parent_name
        self.want_cpu, self.memory_limit = cpu, memory_limit
        self.memory_setting = memory_setting or memory_limit
        self.mountinfo, self.own = mountinfo, own
        self.cpu = self.memory = None  # Trees in use
        self.cpu_off = self.memory_off = None  # why not

    def trees(self):
        return [t for t in (self.cpu, self.memory) if t is not None]

    def folders(self):
        """Each parent folder once (v2 has one for both controllers) with what to write in a
        student's group there, in order; optional writes may fail (a file this kernel lacks)."""
        out = {}
        for t in self.trees():
            writes = out.setdefault(t.parent, [])
            if t is self.cpu:
                writes.append(("cpu.shares", V1_SHARES, False) if t.version == 1 else ("cpu.weight", V2_WEIGHT, False))
            elif t.version == 1:
                # Swap counts in the limit, so that a student at the limit is stopped instead of
                # filling the server's swap. memsw may never be below the limit: lifted first.
                writes += [("memory.memsw.limit_in_bytes", -1, True), ("memory.limit_in_bytes", self.memory_limit, False),
                           ("memory.memsw.limit_in_bytes", self.memory_limit, True)]
            else:
                writes += [("memory.max", self.memory_limit, False), ("memory.swap.max", 0, True)]
        return out

    def start(self):
        """Finds, makes and tries out the groups; returns (level, line) to log: one line for the
        CPU groups and one for the memory limit, each saying on or off and why."""
        self.cpu = self.memory = None
        self.cpu_off = self.memory_off = None
        if not self.want_cpu:
            self.cpu_off = "cpu_groups is off in the hub's settings (classroom.json)"
        else:
            try:
                self.cpu = locate("cpu", self.parent_name, self.mountinfo, self.own)
            except (Unavailable, OSError) as e:
                self.cpu_off = _why(e)
        if self.memory_limit is None:
            self.memory_off = "memory_limit is none in the hub's settings (classroom.json)"
        else:
            try:
                self.memory = locate("memory", self.parent_name, self.mountinfo, self.own)
            except (Unavailable, OSError) as e:
                self.memory_off = _why(e)
        for tree in self.trees():
            try:
                self._make_parent(tree)
            except OSError as e:
                hint = ""
                if e.errno == errno.EBUSY and tree.version == 2:
                    hint = (" (v2 gives controllers only to the children of a group without processes: the top of "
                            "this tree holds some, as in a container; a delegated cgroup or the host's tree is needed)")
                self._off(tree, f"cannot set up {tree.parent}: {_why(e)}{hint}")
        if self.trees():
            self.remove_stale()
            for tree, why in self._try_out():
                self._off(tree, why)
        return self.report()

    def _off(self, tree, why):
        if tree is self.cpu:
            self.cpu, self.cpu_off = None, why
        elif tree is self.memory:
            self.memory, self.memory_off = None, why

    def _make_parent(self, tree):
        if tree.version == 2:
            # The top of the tree may hold processes (it is exempt from v2's rule); a container's
            # top is not, and refuses here with EBUSY.
            _write(tree.mount / "cgroup.subtree_control", f"+{tree.controller}")
        tree.parent.mkdir(exist_ok=True)
        if tree.version == 2:
            _write(tree.parent / "cgroup.subtree_control", f"+{tree.controller}")

    def _try_out(self):
        """Puts a short-lived process into a group the way a server start does and checks that
        it got there: the log says "on" only for groups that work."""
        name = f"_probe-{os.getpid()}"
        failed = []
        try:
            files = self.prepare(name)
        except OSError as e:
            failed = [(t, f"cannot make a student's group: {_why(e)}") for t in self.trees()]
            self.remove(name)
            return failed
        try:
            proc = subprocess.Popen([shutil.which("sleep") or "/bin/sleep", "60"], preexec_fn=self.joiner(files),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as e:
            self.remove(name)
            return [(t, f"cannot start a process to try the groups: {_why(e)}") for t in self.trees()]
        try:
            wrong = self.misplaced(name, proc.pid)
        finally:
            proc.kill()
            proc.wait()
        for tree in self.trees():
            if tree in wrong:
                failed.append((tree, f"a process put into {tree.parent / name} stayed in {wrong[tree]}"))
        self.remove(name)
        return failed

    def report(self):
        lines = []
        if self.cpu:
            t = self.cpu
            weight = f"cpu.shares {V1_SHARES}" if t.version == 1 else f"cpu.weight {V2_WEIGHT}"
            lines.append((logging.INFO, f"Per-student CPU fairness is on: each student's server, kernels and compiles "
                          f"run in cgroup v{t.version} {t.parent}/STUDENT, every student with {weight}: an equal "
                          f"share of the cores under contention, whatever number of kernels they run"))
        else:
            lines.append((logging.WARNING, f"Per-student CPU fairness is off: {self.cpu_off}. Every kernel competes "
                          "for the cores on its own: a student with three busy kernels gets three times the CPU "
                          "of a student with one"))
        if self.memory:
            t = self.memory
            lines.append((logging.INFO, f"Per-student memory limit: {gib(self.memory_limit)} (memory_limit "
                          f"{self.memory_setting}) in cgroup v{t.version} {t.parent}/STUDENT: a student's "
                          "processes past it are stopped (the largest first), not the server"))
        else:
            level = logging.INFO if self.memory_limit is None else logging.WARNING
            lines.append((level, f"Per-student memory limit is off: {self.memory_off}. One student's runaway "
                          "memory can take the server down"))
        return lines

    def prepare(self, name):
        """Makes (or keeps) the student's groups with their settings; returns the cgroup.procs
        files to join. Called in the hub before the server's fork."""
        if not (NAME.match(name) or re.fullmatch(r"_probe-\d+", name)):
            raise ValueError(f"no cgroup for the name {name!r}")
        files = []
        for parent, writes in self.folders().items():
            group = parent / name
            group.mkdir(exist_ok=True)
            for fname, value, optional in writes:
                try:
                    _write(group / fname, value)
                except OSError:
                    if not optional:
                        raise
            files.append(group / "cgroup.procs")
        self.weigh_class()
        return files

    def weigh_class(self):
        """Gives the parent group the weight of one ordinary process per student group in it.
        Grouped, the whole class would otherwise weigh as much as one process (or one session,
        with autogroup) against other work on the server, where before each kernel weighed as
        much: beside one busy program, three students starting would get half the cores
        instead of three quarters."""
        if self.cpu is None:
            return
        try:
            n = sum(1 for c in self.cpu.parent.iterdir() if c.is_dir() and NAME.match(c.name))
            if self.cpu.version == 1:
                _write(self.cpu.parent / "cpu.shares", min(V1_SHARES_MAX, V1_SHARES * max(1, n)))
            else:
                _write(self.cpu.parent / "cpu.weight", min(V2_WEIGHT_MAX, V2_WEIGHT * max(1, n)))
        except OSError:
            pass  # the students' shares among themselves stay equal either way

    @staticmethod
    def joiner(files):
        """A preexec_fn that moves the new process into the groups, as root, before exec (and
        before the spawner drops to the student's uid). A failure is not raised there (the
        server would not start): misplaced() finds it after the start."""
        paths = [os.fsencode(f) for f in files]

        def join():
            for p in paths:
                try:
                    _write(p, 0)  # 0: the writing process itself
                except OSError:
                    pass

        return join

    def misplaced(self, name, pid):
        """{tree: where the process is instead} for each controller whose student group it is not in."""
        try:
            where = cgroups_of(pid)
        except OSError as e:
            return {t: f"(unreadable: {_why(e)})" for t in self.trees()}
        return {t: where.get(t.key, "(none)") for t in self.trees() if where.get(t.key) != f"{t.shown}/{name}"}

    def move(self, name, pid):
        """Moves one process (not its children) into the student's groups, after the fact."""
        for parent in self.folders():
            _write(parent / name / "cgroup.procs", pid)

    def remove(self, name):
        """Removes the student's groups; returns those still holding processes (kept)."""
        kept = []
        for parent in self.folders():
            try:
                (parent / name).rmdir()
            except FileNotFoundError:
                pass
            except OSError as e:
                if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                    raise
                kept.append(parent / name)
        self.weigh_class()
        return kept

    def remove_stale(self):
        """Removes empty groups an earlier hub left (one that was killed); busy ones stay."""
        for parent in self.folders():
            try:
                children = [c for c in parent.iterdir() if c.is_dir()]
            except OSError:
                continue
            for child in children:
                try:
                    child.rmdir()
                except OSError:
                    pass

    def close(self):
        """At the hub's exit: the empty groups and the parents go."""
        self.remove_stale()
        for parent in self.folders():
            try:
                parent.rmdir()
            except OSError:
                pass


def kill_group(group, sig=signal.SIGKILL):
    """Signals every process in a group folder (cleanup for tests and measurements)."""
    try:
        pids = [int(p) for p in (pathlib.Path(group) / "cgroup.procs").read_text().split()]
    except OSError:
        return []
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return pids


if __name__ == "__main__":
    # classroom/setup.sh checks --memory-limit the way the hub will read it.
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "memory-limit":
        sys.exit("usage: student_cgroups.py memory-limit VALUE")
    try:
        limit = parse_memory_limit(sys.argv[2])
    except ValueError as e:
        sys.exit(str(e))
    print("none" if limit is None else gib(limit))
