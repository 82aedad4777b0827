#!/usr/bin/env python3
"""The notebook runner's own tests: each failure evcxr hides from Jupyter must be caught.

Runs small generated notebooks on the real "Rust (tch)" kernel. Prints `N passed, N failed`.
"""

import pathlib
import sys
import tempfile

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import notebook_runner  # noqa: E402

# name -> (cells, should the runner fail it?, text its problems must mention)
CASES = {
    "clean": (["let x = 40 + 2;\nx", 'println!("hello");'], False, None),
    "panic": (['let v: Vec<i32> = Vec::new();\nprintln!("{}", v[3]);'], True, "panicked at"),
    "failed-assert": (["assert_eq!(1 + 1, 3);"], True, "panicked at"),
    "compile-error": (['let x: u32 = "not a number";'], True, "error"),
    "err-through-question-mark": (
        ['fn check() -> Result<(), String> { Err("bad input".to_string()) }\ncheck()?;'],
        True,
        "bad input",
    ),
    "late-stderr": (
        [
            "std::thread::spawn(|| {\n"
            "    std::thread::sleep(std::time::Duration::from_millis(150));\n"
            '    eprintln!("thread \'worker\' panicked at src/lib.rs:1:1: late");\n'
            "});",
            "std::thread::sleep(std::time::Duration::from_millis(400));",
        ],
        True,
        "panicked at",
    ),
    "process-abort": (["std::process::abort();", "1 + 1"], True, None),
    # The patched kernel sends stderr as it arrives: a marker can straddle two stream messages.
    "marker-split-over-messages": (
        [
            'eprint!("thread \'main\' pani");\n'
            "std::thread::sleep(std::time::Duration::from_millis(300));\n"
            'eprintln!("cked at src/lib.rs:1:1: split");'
        ],
        True,
        "panicked at",
    ),
    "stderr-allowed-by-metadata": (['eprintln!("a warning the notebook expects");'], False, None),
}


def make_notebook(folder, name, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    if name in ("stderr-allowed-by-metadata", "marker-split-over-messages"):
        nb.cells[0].metadata["notebook_kit"] = {"allow_stderr": True}
    nb.metadata["kernelspec"] = {"name": notebook_runner.KERNEL, "display_name": "Rust (tch)", "language": "rust"}
    path = pathlib.Path(folder) / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, (cells, should_fail, mention) in CASES.items():
            path = make_notebook(folder, name, cells)
            _, problems, _ = notebook_runner.run_notebook(path, timeout=300)
            ok = bool(problems) == should_fail
            if ok and mention:
                ok = any(mention in p for p in problems)
            if ok:
                passed += 1
                print(f"ok   {name}: {'caught: ' + problems[0][:120] if problems else 'clean'}")
            else:
                failed += 1
                print(f"FAIL {name}: expected {'a failure' if should_fail else 'success'}"
                      f"{' mentioning ' + repr(mention) if mention else ''}, runner said {problems}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
