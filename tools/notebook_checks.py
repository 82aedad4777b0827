"""What the executed notebooks must show, beyond "no cell failed".

Each check reads the executed notebook's outputs and returns a list of problems.
"""

import re


def merged_outputs(outputs):
    """The outputs with each run of consecutive outputs of one stream joined into one.

    The patched evcxr kernel forwards text as it arrives, so one line can be spread over several
    stream outputs: text checks must not look at one output at a time.
    """
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else {}
        if (
            output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            merged[-1] = dict(previous, text=previous.get("text", "") + output.get("text", ""))
        else:
            merged.append(output)
    return merged


def all_text(nb):
    parts = []
    for cell in nb.cells:
        for output in merged_outputs(cell.get("outputs", [])):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            else:
                parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def count_mime(nb, mime):
    return sum(
        1
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if mime in output.get("data", {})
    )


def expect(problems, condition, message):
    if not condition:
        problems.append(message)


def check_cells(nb):
    """The exercise's check cells (metadata notebook_kit.check) and the text each showed."""
    found = []
    for cell in nb.cells:
        if cell.get("metadata", {}).get("notebook_kit", {}).get("check"):
            text = "".join(
                o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
                for o in cell.get("outputs", [])
            ).strip()
            found.append(("".join(cell.source).strip(), text))
    return found


def cell_output_lines(nb, needle):
    """How many lines the first code cell containing `needle` shows, as JupyterLab renders
    its streams: a `\r` redraws the current line rather than adding one (a live progress
    bar), so only newlines count."""
    for cell in nb.cells:
        if cell.cell_type == "code" and needle in "".join(cell.source):
            text = "".join(
                o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "") + "\n"
                for o in cell.get("outputs", [])
            )
            return text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return None


def check_lesson(nb):
    text = all_text(nb)
    problems = []
    expect(problems, "(50000, 32, 32, 3)" in text, "no output shows X_train's shape (50000, 32, 32, 3)")
    expect(problems, "(50000, 1)" in text, "no output shows y_train's shape (50000, 1)")
    expect(problems, re.search(r"6\D+9\D+9\D+4\D+1", text) is not None, "the first labels 6, 9, 9, 4, 1 are not shown")
    expect(problems, '"deer"' in text or "deer" in text.split(), "the class of sample 3 (deer) is not shown")
    pngs = count_mime(nb, "image/png")
    expect(problems, pngs >= 4, f"expected at least 4 image/png outputs, found {pngs}")
    expect(
        problems,
        re.search(r"1563/1563 .* - loss: [0-9.]+ - accuracy: [0-9.]+", text) is not None,
        "no Keras-style fit line '1563/1563 ... - loss: … - accuracy: …'",
    )
    # IPython's _format_time: "44.5 s", "612 ns", "1.23 ms", and from a minute up "1min 25s", "2h 3min".
    duration = r"(?:[0-9.]+ (?:ns|µs|μs|us|ms|s)|(?:\d+d ?)?(?:\d+h ?)?(?:\d+min ?)?(?:\d+s)?)"
    timeit = duration + r" ± " + duration + r" per loop \(mean ± std\. dev\. of \d+ runs?, [0-9,]+ loops? each\)"
    expect(problems, re.search(timeit, text) is not None, "no timeit line in IPython's format")
    lines = cell_output_lines(nb, "Fit::epochs(10)")
    expect(problems, lines is not None and lines <= 50, f"the 10-epoch CPU cell printed {lines} lines (at most 50)")
    return problems


def check_exercise_solution(nb):
    text = all_text(nb)
    problems = []
    checks = check_cells(nb)
    expect(problems, len(checks) >= 6, f"expected at least 6 check cells, found {len(checks)}")
    for source, shown in checks:
        expect(problems, shown.startswith("\u2713"), f"the solution fails its check `{source}`: {shown!r}")
    expect(problems, "(60000, 28, 28)" in text, "no output shows the Fashion-MNIST shape (60000, 28, 28)")
    expect(problems, re.search(r"1875/1875 .* - loss: [0-9.]+ - accuracy: [0-9.]+", text) is not None, "no fit line 1875/1875")
    expect(problems, count_mime(nb, "image/png") >= 1, "no image output")
    return problems


def check_exercise_learner(nb):
    """The learner's version, run as committed (TODO cells unanswered): every check cell
    gives a hint rather than failing the notebook."""
    problems = []
    checks = check_cells(nb)
    expect(problems, len(checks) >= 6, f"expected at least 6 check cells, found {len(checks)}")
    for source, shown in checks:
        expect(problems, shown.startswith("\u2717") and len(shown) > 20, f"check `{source}` shows no hint: {shown!r}")
    return problems


CHECKS = {
    "01-gpu-benchmarking-cifar10.ipynb": check_lesson,
    "02-exercise-fashion-mnist.ipynb": check_exercise_learner,
    "02-exercise-fashion-mnist-solution.ipynb": check_exercise_solution,
}


def check(name, nb):
    fn = CHECKS.get(name)
    return fn(nb) if fn else []
