"""The lesson's cells the class tests run in a student's or a learner's kernel: the opening
cells, read from a copy of the lesson notebook, and a short fit of the lesson's model."""

import re

import nbformat

# Where the lesson is in a student's home (classroom/singleuser.sh hands it out there).
LESSON = "rust-lesson/notebooks/01-gpu-benchmarking-cifar10.ipynb"

FIT_CELL = """let x_fit = scale(&x_train.i(..2000))?;
let y_fit = to_categorical(&y_train.i(..2000), 10)?;
let mut model = Sequential::new()
    .add(Flatten::new([32, 32, 3]))
    .add(Dense::new(3000, Relu))
    .add(Dense::new(1000, Relu))
    .add(Dense::new(10, Sigmoid))
    .build(Device::Cpu)?;
model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
let history = model.fit(&x_fit, &y_fit, Fit::epochs(1))?;
println!("test fit: loss {:.4} accuracy {:.4} threads {}", history.loss[0], history.accuracy[0], tch::get_num_threads());
"""


def lesson_cells(notebook):
    """(label, source) of the opening cells in the lesson notebook at `notebook`: `:dep` + `use`,
    `cifar10::load_data()?`, `plot_sample(&x_train, 0)?`. ValueError if one is missing."""
    nb = nbformat.read(notebook, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]

    def find(pattern):
        for src in code:
            if re.search(pattern, src, re.M):
                return src
        raise ValueError(f"{notebook} has no cell matching {pattern!r}: update classroom/lesson_cells.py")

    return [("dep", find(r"^:dep notebook-kit")), ("load", find(r"cifar10::load_data\(\)\?")),
            ("plot", find(r"^plot_sample\(&x_train, 0\)\?"))]
