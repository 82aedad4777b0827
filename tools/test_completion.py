#!/usr/bin/env python3
"""Tab completion in the installed "Rust (tch)" kernel, as JupyterLab asks for it.

After `:dep notebook-kit` + `use notebook_kit::prelude::*;` and two variables, a Jupyter
`complete_request` must offer `fit` for `model.fi`, `shape` for `x_train.sh` and
`load_data` for `cifar10::load_` (rust-analyzer inside evcxr does this; the kernel's
settings, e.g. the opt-level, must not break it). Prints what it got; exit 1 on a miss.
"""

import pathlib
import sys

from jupyter_client.manager import start_new_kernel

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETUP = [
    ':dep notebook-kit = { path = "../crates/notebook-kit" }\nuse notebook_kit::prelude::*;',
    "let x_train = Tensor::zeros([4, 32, 32, 3], (Kind::Float, Device::Cpu));",
    "let mut model = notebook_kit::models::lesson(Device::Cpu)?;",
]
CASES = [("model.fi", "fit"), ("x_train.sh", "shape"), ("cifar10::load_", "load_data")]


def run(kc, code):
    reply = kc.execute_interactive(code, timeout=900, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r}: {reply['content']}")


def main():
    km, kc = start_new_kernel(kernel_name="rust-tch", cwd=str(ROOT / "notebooks"), startup_timeout=600)
    failures = []
    try:
        for code in SETUP:
            run(kc, code)
        for code, wanted in CASES:
            msg_id = kc.complete(code, len(code))
            reply = kc.get_shell_msg(timeout=120)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=120)
            matches = reply["content"].get("matches", [])
            names = [m.split("(")[0] for m in matches]
            ok = wanted in names
            print(f"{'ok  ' if ok else 'MISS'} {code!r} -> {matches[:8]}")
            if not ok:
                failures.append(f"{code!r} does not offer {wanted!r}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    for f in failures:
        print(f"FAIL: {f}")
    print("completion: " + ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
