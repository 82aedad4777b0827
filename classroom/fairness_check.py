#!/usr/bin/env python3
"""Measures what the per-student CPU groups do (a measurement, not a pass/fail test).

    sudo python3 classroom/fairness_check.py [--seconds 10] [--runs 3] [--json FILE]

Student A runs two busy processes, student B one, each in a session of its own as a kernel is
(which matters where the kernel's autogroup scheduling is on). With groups, made and joined by
the hub's own code (student_cgroups.py, as a server start does), and without, alternately, the
CPU time each student gets over --seconds is read from /proc/PID/schedstat (the counter that
cpuacct.usage and cpu.stat's usage_usec add up; also shown from the group where the cpu
hierarchy has it). Prints each run, then medians. Everything it starts or makes is gone at the
end, also on Ctrl+C or SIGTERM. Other work on the machine counts against both students alike;
the load average is printed with each run.
"""

import argparse
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import student_cgroups  # noqa: E402

PARENT = "nk-fairness-check"
STUDENTS = {"student-a": 2, "student-b": 1}
BURN = "while True: pass"
WARM_S = 1.0


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def group_ns(groups, name):
    """The group's own CPU counter, where the cpu hierarchy has one (v2; v1 with cpuacct mounted
    together with cpu); None otherwise."""
    tree = groups.cpu
    if tree is None:
        return None
    d = tree.parent / name
    try:
        if tree.version == 1:
            return int((d / "cpuacct.usage").read_text())
        for line in (d / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) * 1000
    except (OSError, ValueError):
        pass
    return None


def measure(groups, grouped, seconds, procs):
    """One run: starts the burners, returns {student: CPU seconds over `seconds`} (and the group's
    own counter where there is one)."""
    files = {name: groups.prepare(name) if grouped else [] for name in STUDENTS}
    for name, n in STUDENTS.items():
        for _ in range(n):
            p = subprocess.Popen([sys.executable, "-c", BURN], preexec_fn=groups.joiner(files[name]),
                                 start_new_session=True, stdin=subprocess.DEVNULL)
            procs.append((name, p))
    try:
        if grouped:
            wrong = [(name, p.pid) for name, p in procs if groups.misplaced(name, p.pid)]
            if wrong:
                raise SystemExit(f"burners outside their groups: {wrong}")
        time.sleep(WARM_S)
        start = {p.pid: cpu_ns(p.pid) for _, p in procs}
        gstart = {name: group_ns(groups, name) for name in STUDENTS} if grouped else {}
        t0 = time.monotonic()
        time.sleep(seconds)
        end = {p.pid: cpu_ns(p.pid) for _, p in procs}
        gend = {name: group_ns(groups, name) for name in STUDENTS} if grouped else {}
        wall = time.monotonic() - t0
    finally:
        owners = [(name, p.pid) for name, p in procs]
        stop(procs)
    out = {}
    for name in STUDENTS:
        # Scaled to exactly `seconds`: the two readings are a few ms further apart than that.
        used = sum(end[pid] - start[pid] for n, pid in owners if n == name)
        out[name] = {"cpu_s": used / 1e9 / wall * seconds}
        if gstart.get(name) is not None and gend.get(name) is not None:
            out[name]["group_cpu_s"] = (gend[name] - gstart[name]) / 1e9 / wall * seconds
    if grouped:
        for name in STUDENTS:
            groups.remove(name)
    return out


def stop(procs):
    for _, p in procs:
        if p.poll() is None:
            p.kill()
    for _, p in procs:
        p.wait()
    procs.clear()


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("fairness_check.py: run as root (it makes cgroups, as the hub does)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, interrupted)
    groups = student_cgroups.StudentGroups(PARENT, cpu=True, memory_limit=None)
    procs = []
    try:
        for _, line in groups.start()[:1]:
            print(line)
        model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
        autogroup = pathlib.Path("/proc/sys/kernel/sched_autogroup_enabled")
        autogroup = {"1": "on", "0": "off"}.get(autogroup.read_text().strip(), "?") if autogroup.exists() else "n/a"
        print(f"machine: {len(os.sched_getaffinity(0))} cores ({model}), autogroup {autogroup}; A runs "
              f"{STUDENTS['student-a']} busy processes, B {STUDENTS['student-b']}; {args.seconds:g} s a run")
        modes = [("groups", True)] if groups.cpu else []
        modes.append(("no groups", False))
        results = {mode: [] for mode, _ in modes}
        for run in range(1, args.runs + 1):
            for mode, grouped in modes:
                load = open("/proc/loadavg").read().split()[0]
                r = measure(groups, grouped, args.seconds, procs)
                results[mode].append({**r, "load": load})
                a, b = r["student-a"]["cpu_s"], r["student-b"]["cpu_s"]
                extra = ""
                if "group_cpu_s" in r["student-a"]:
                    extra = f" (groups' own counters: {r['student-a']['group_cpu_s']:.2f} / {r['student-b']['group_cpu_s']:.2f})"
                print(f"run {run} {mode:>9}: A {a:5.2f} CPU-s, B {b:5.2f} CPU-s, A/B {a / b:4.2f}; load {load}{extra}",
                      flush=True)
        print(f"medians of {args.runs} runs:")
        summary = {}
        for mode, runs in results.items():
            a = statistics.median(r["student-a"]["cpu_s"] for r in runs)
            b = statistics.median(r["student-b"]["cpu_s"] for r in runs)
            ratio = statistics.median(r["student-a"]["cpu_s"] / r["student-b"]["cpu_s"] for r in runs)
            summary[mode] = {"a_cpu_s": round(a, 2), "b_cpu_s": round(b, 2), "a_over_b": round(ratio, 2)}
            print(f"  {mode:>9}: A {a:5.2f} CPU-s, B {b:5.2f} CPU-s over {args.seconds:g} s, A/B {ratio:4.2f}")
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({"summary": summary, "runs": results}, indent=2) + "\n")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(procs)
        for name in STUDENTS:
            groups.remove(name)
        groups.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
