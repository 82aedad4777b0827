#!/usr/bin/env python3
"""How long notebook cells take on the installed "Rust (tch)" kernel: a benchmark, not a test.

    bench_cells.py [--rounds N] [--kernel NAME]

Each round starts a fresh kernel (jupyter_client, as JupyterLab does) in notebooks/, times
kernel start + the `:dep` cell, the cell after it, and then ten trivial cells, and shuts the
kernel down. Prints per-round times and the medians; `--json FILE` keeps them. Run it on a
quiet machine (check `uptime`): every number here is wall-clock time.
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEP = ':dep notebook-kit = { path = "../crates/notebook-kit" }\nuse notebook_kit::prelude::*;'
NEXT = "let classes = cifar10::CLASSES;\nclasses.len()"
TRIVIAL = [
    "let a = 1;",
    "a + 1",
    "let v = vec![1, 2, 3];",
    "v.len()",
    "classes[3]",
    'format!("{a}")',
    "let s = Shape(vec![2, 3]);",
    "s",
    "let t = Tensor::from_slice(&[1.0f32, 2.0]);",
    "t.size()",
]


def run(kc, code, timeout=900):
    """Executes `code`; returns (seconds, error text or None)."""
    started = time.monotonic()
    msg_id = kc.execute(code)
    error = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "error":
            error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
        elif kind == "stream" and msg["content"]["name"] == "stderr":
            error = (error or "") + msg["content"]["text"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return time.monotonic() - started, error


def one_round(kernel):
    started = time.monotonic()
    km, kc = start_new_kernel(kernel_name=kernel, cwd=str(ROOT / "notebooks"), startup_timeout=600)
    try:
        dep, error = run(kc, DEP)
        first = time.monotonic() - started
        if error:
            raise RuntimeError(f":dep cell failed: {error}")
        second, error = run(kc, NEXT)
        if error:
            raise RuntimeError(f"second cell failed: {error}")
        trivial = []
        for code in TRIVIAL:
            seconds, error = run(kc, code)
            if error:
                raise RuntimeError(f"{code!r} failed: {error}")
            trivial.append(seconds)
        return {"start_and_dep": first, "dep_cell": dep, "second": second, "trivial": trivial}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kernel", default="rust-tch")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    rounds = []
    for i in range(args.rounds):
        r = one_round(args.kernel)
        rounds.append(r)
        print(
            f"round {i + 1}: start + :dep {r['start_and_dep']:.2f} s, next cell {r['second']:.2f} s, "
            f"trivial median {statistics.median(r['trivial']):.3f} s "
            f"(min {min(r['trivial']):.3f}, max {max(r['trivial']):.3f})",
            flush=True,
        )
    trivial = [t for r in rounds for t in r["trivial"]]
    summary = {
        "start_and_dep_median": statistics.median(r["start_and_dep"] for r in rounds),
        "second_median": statistics.median(r["second"] for r in rounds),
        "first_two_median": statistics.median(r["start_and_dep"] + r["second"] for r in rounds),
        "trivial_median": statistics.median(trivial),
    }
    print(
        f"medians over {len(rounds)} rounds: start + :dep {summary['start_and_dep_median']:.2f} s, "
        f"next cell {summary['second_median']:.2f} s, first two together {summary['first_two_median']:.2f} s, "
        f"trivial cells {summary['trivial_median']:.3f} s ({len(trivial)} cells)"
    )
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
