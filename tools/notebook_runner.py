#!/usr/bin/env python3
"""Runs notebooks headless on the "Rust (tch)" kernel and fails on anything that went wrong.

evcxr reports a panicking cell, a failed assert and an `Err` returned through `?` to Jupyter
as success, and nbconvert exits 0 on them; a stderr line can also arrive after the cell is
reported finished and go missing from the saved notebook. So this runner does not trust the
cell status alone: after each cell it drains late output from the kernel, then scans every
output for the signs of failure.

    notebook_runner.py [NOTEBOOK ...]        run these (default: notebooks/*.ipynb)
    notebook_runner.py --save                also write executed notebooks back in place
    notebook_runner.py --warm-up CRATE_DIR   execute `:dep` of the crate once (kernel-setup.sh)

Notebooks whose metadata has {"notebook_kit": {"execute": false}} (exercise templates with
gaps for the learner) are skipped. Prints `N passed, N failed`; exit status 1 on any failure.
"""

import argparse
import asyncio
import atexit
import json
import os
import pathlib
import queue
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import notebook_checks  # noqa: E402  (content checks per notebook)

KERNEL = "rust-tch"
CELL_TIMEOUT_S = 1200
# A late stderr line shows up within a few hundred ms of the idle status in practice.
LATE_OUTPUT_WAIT_S = 0.5

# Text that means a cell failed even though the kernel said "ok".
FAILURE_MARKERS = ("panicked at", "Error:", "error[E", "Subprocess terminated")


class DrainingClient(NotebookClient):
    """An nbclient that collects output arriving after a cell's idle status."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell.cell_type == "code":
            await self._drain_late_output(cell)
        return result

    async def _drain_late_output(self, cell):
        deadline = time.monotonic() + LATE_OUTPUT_WAIT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                msg = await self.kc.iopub_channel.get_msg(timeout=remaining)
            except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                return
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "stream":
                cell.outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
            elif kind == "error":
                cell.outputs.append(nbformat.v4.new_output("error", **{k: content[k] for k in ("ename", "evalue", "traceback")}))


def execute(client):
    try:
        client.execute()
    finally:
        # nbclient also registers an exit hook that fails noisily once the kernel is gone.
        atexit.unregister(client._cleanup_kernel)


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def output_text(output):
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        lines = [output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", [])
        return ANSI_ESCAPE.sub("", "\n".join(lines))
    data = output.get("data", {})
    return data.get("text/plain", "")


def cell_problems(cell):
    """Reasons this executed code cell counts as failed (empty list: fine).

    Cell metadata {"notebook_kit": {"allow_stderr": true}} lets a cell write to stderr;
    {"expect_output": false} lets a cell ending in an expression show nothing.
    """
    meta = cell.get("metadata", {}).get("notebook_kit", {})
    problems = []
    # A marker such as "panicked at" may be split over two stream messages.
    for output in notebook_checks.merged_outputs(cell.get("outputs", [])):
        kind = output.get("output_type")
        text = output_text(output)
        if kind == "error":
            problems.append(f"error output: {text.strip()[:400]}")
            continue
        if kind == "stream" and output.get("name") == "stderr":
            # An `Err` leaving a cell through `?` shows up only as its message on stderr,
            # with no marker at all, so any stderr fails the cell unless the cell allows it.
            marker = next((m for m in FAILURE_MARKERS if m in text), None)
            if marker or not meta.get("allow_stderr", False):
                problems.append(f"stderr{' contains ' + repr(marker) if marker else ''}: {text.strip()[:400]}")
        elif any(m in text for m in ("panicked at", "Subprocess terminated")):
            problems.append(f"output reports a crash: {text.strip()[:400]}")
    expects = meta.get("expect_output", True)
    if expects and cell_should_output(cell) and not cell.get("outputs"):
        problems.append("cell produced no output although it ends in an expression")
    return problems


def cell_should_output(cell):
    """A cell whose last line is an expression (no `;`, not a block or item) must show something."""
    lines = [l for l in cell.source.strip().splitlines() if l.strip() and not l.strip().startswith("//")]
    if not lines:
        return False
    last = lines[-1].strip()
    if last.startswith(":"):
        return False
    return not last.endswith((";", "}", "{", ")]")) and not last.startswith(("use ", "fn ", "let "))


def run_notebook(path, save=False, timeout=CELL_TIMEOUT_S, kernel=KERNEL):
    """Executes one notebook; returns (executed notebook, list of problems)."""
    nb = nbformat.read(path, as_version=4)
    client = DrainingClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=True,
        resources={"metadata": {"path": str(pathlib.Path(path).resolve().parent)}},
    )
    problems = []
    started = time.monotonic()
    try:
        execute(client)
    except CellTimeoutError as e:
        problems.append(f"timeout: a cell ran longer than {timeout} s: {str(e)[:300]}")
    except (CellExecutionError, RuntimeError) as e:
        problems.append(f"execution failed: {str(e)[:400]}")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for problem in cell_problems(cell):
            problems.append(f"cell {index}: {problem}")
        if cell.get("execution_count") is None:
            problems.append(f"cell {index}: was not executed")
            break
    problems.extend(notebook_checks.check(pathlib.Path(path).name, nb))
    if save:
        nbformat.write(nb, path)
    return nb, problems, time.monotonic() - started


def warm_up(crate_dir, kernel):
    """Compiles the helper crate inside a kernel so later kernels start from the result."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f':dep notebook-kit = {{ path = "{crate_dir}" }}'),
        nbformat.v4.new_code_cell("use notebook_kit::prelude::*;\nprintln!(\"{}\", Shape(vec![1, 2]));"),
    ]
    client = DrainingClient(nb, timeout=3600, kernel_name=kernel, allow_errors=True)
    execute(client)
    problems = [p for cell in nb.cells for p in cell_problems(cell)]
    out = "".join(output_text(o) for o in nb.cells[1].outputs)
    if "(1, 2)" not in out:
        problems.append(f"warm-up cell did not print (1, 2): {out!r}")
    return problems


def default_notebooks():
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        meta = json.loads(path.read_text()).get("metadata", {}).get("notebook_kit", {})
        if meta.get("execute", True):
            found.append(path)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--save", action="store_true", help="write executed notebooks back in place")
    parser.add_argument("--kernel", default=KERNEL)
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds per cell")
    parser.add_argument("--warm-up", metavar="CRATE_DIR")
    args = parser.parse_args(argv)

    if args.warm_up:
        problems = warm_up(pathlib.Path(args.warm_up).resolve(), args.kernel)
        for p in problems:
            print(f"warm-up: {p}", file=sys.stderr)
        return 1 if problems else 0

    passed = failed = 0
    for path in args.notebooks or default_notebooks():
        print(f"RUN  {path}", flush=True)
        _, problems, seconds = run_notebook(path, save=args.save, timeout=args.timeout, kernel=args.kernel)
        if problems:
            failed += 1
            print(f"FAIL {path} ({seconds:.0f} s)")
            for p in problems:
                print(f"     - {p}")
        else:
            passed += 1
            print(f"PASS {path} ({seconds:.0f} s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
