#!/usr/bin/env python3
"""Keras reference for gpu-bench: the lesson's own code (Keras 3 on TensorFlow), on the same
CIFAR-10 binary files (--model lesson, the default):

    model = keras.Sequential([Flatten(input_shape=(32, 32, 3)), Dense(3000, relu),
                              Dense(1000, relu), Dense(10, sigmoid)])
    model.compile(optimizer="SGD", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train_scaled, y_train_categorical, epochs=1)      # batch 32

or the lesson's exercise on Fashion-MNIST's gzipped IDX files (--model exercise-1, or
exercise-5 with five hidden layers), labels kept as integers:

    model = keras.Sequential([Flatten(input_shape=(28, 28)), Dense(500, relu),
                              Dense(10, sigmoid)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X_train_scaled, y_train, epochs=1)                   # batch 32

--dataset picks the data set (default: the model's own); the input shape follows it.

Prints one JSON line per timed run with the fields gpu-bench's --json uses:
implementation, device, epochs, batch, seconds, loss, accuracy (plus model, dataset and a
few more).

With --tasks train,predict,evaluate it also times the lesson's inference on the 10,000
test images (test_batch.bin, or Fashion-MNIST's t10k files), on the model the last
training run left:

    model.predict(X_test_scaled)                          # "task": "predict"
    model.evaluate(X_test_scaled, y_test_categorical)     # "task": "evaluate" (y_test for
                                                          # the exercise models)

with Keras's defaults (batch 32, verbose "auto", whose progress output is sent to stderr
so that stdout stays JSON lines). Keras traces its predict and evaluate functions on first
use, so each task is first called once, timed on its own as "warmup_seconds", then
--inference-repeat more times: "seconds" is their median, "seconds_all" each of them.
Without "train" in --tasks, predict and evaluate run on a freshly initialised model.

Warm-up: Keras traces its training function the first time a model is fitted, once per
model. So each timed model first trains one batch (traced and timed as "warmup_seconds"),
then gets its initial weights and its optimizer's initial state back (Adam's moments and
step count would otherwise carry the warm-up batch into the timed run) and is timed on the
full data; the lesson's %timeit
includes that tracing, gpu-bench's and PyTorch's timings include no such step.

Runs from its own venv, made by benches/setup-venvs.sh:
    benches/.venv-keras/bin/python benches/keras_lesson.py --data DIR
    benches/.venv-keras/bin/python benches/keras_lesson.py --model exercise-5 --data FASHION_DIR
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the CPU, as in the lesson's CPU cell

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

SEED = 42
from cifar_files import TEST_FILES, TRAIN_FILES, CifarError, read_cifar10  # noqa: E402
from fashion_files import FASHION_TEST, FASHION_TRAIN, FashionError, read_fashion_mnist  # noqa: E402
TASKS = ("train", "predict", "evaluate")
# Hidden Dense(relu) widths and the data set each model was written for.
MODELS = {
    "lesson": ([3000, 1000], "cifar10"),
    "exercise-1": ([500], "fashion-mnist"),
    "exercise-5": ([500] * 5, "fashion-mnist"),
}
INPUT_SHAPES = {"cifar10": (32, 32, 3), "fashion-mnist": (28, 28)}


def fail(message, status=1):
    print(f"keras_lesson.py: error: {message}", file=sys.stderr)
    sys.exit(status)


def load_cifar10(folder, limit, files=TRAIN_FILES):
    """A split as (x float32 (n, 32, 32, 3) in [0, 1], y one-hot float32)."""
    try:
        images, labels = read_cifar10(folder, files, limit)
    except CifarError as e:
        fail(str(e))
    x = images.astype("float32") / 255.0
    y = keras.utils.to_categorical(labels, 10).astype("float32")
    return x, y


def load_fashion_mnist(folder, limit, files=FASHION_TRAIN):
    """A split as (x float32 (n, 28, 28) in [0, 1], y uint8 class indices)."""
    try:
        images, labels = read_fashion_mnist(folder, files)
    except FashionError as e:
        fail(str(e))
    if limit:
        images, labels = images[:limit], labels[:limit]
    return images.astype("float32") / 255.0, labels.astype(np.uint8)


def load(args, test=False):
    """The data set's training (or test) split with labels as the model's loss wants them."""
    if args.dataset == "cifar10":
        x, y = load_cifar10(args.data, args.limit, TEST_FILES if test else TRAIN_FILES)
        # The lesson's model is given one-hot labels, the exercise's integers.
        return (x, y) if args.model == "lesson" else (x, np.argmax(y, axis=1).astype("uint8"))
    x, y = load_fashion_mnist(args.data, args.limit, FASHION_TEST if test else FASHION_TRAIN)
    return (x, keras.utils.to_categorical(y, 10).astype("float32")) if args.model == "lesson" else (x, y)


def get_model(name="lesson", dataset="cifar10"):
    hidden, _ = MODELS[name]
    model = keras.Sequential(
        [keras.Input(shape=INPUT_SHAPES[dataset]), layers.Flatten()]
        + [layers.Dense(units, activation="relu") for units in hidden]
        + [layers.Dense(10, activation="sigmoid")])
    if name == "lesson":
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    else:
        # As the exercise writes it: the string, i.e. Adam with Keras's defaults.
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True,
                        help="folder with data_batch_1.bin ... data_batch_5.bin (and test_batch.bin), "
                             "or with Fashion-MNIST's four *-ubyte.gz files")
    parser.add_argument("--model", choices=sorted(MODELS), default="lesson",
                        help="lesson (default): 3000-1000 relu, SGD 0.01, categorical cross-entropy; "
                             "exercise-1 / exercise-5: one / five Dense(500, relu), Adam, "
                             "sparse categorical cross-entropy")
    parser.add_argument("--dataset", choices=sorted(INPUT_SHAPES),
                        help="default: the model's own (lesson: cifar10, exercise-*: fashion-mnist)")
    parser.add_argument("--epochs", default="1", help="comma-separated, e.g. 1,10 (default 1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0,
                        help="use only the first N training samples (and N test samples)")
    parser.add_argument("--tasks", default="train",
                        help="comma-separated, of train, predict, evaluate (default train)")
    parser.add_argument("--inference-repeat", type=int, default=3,
                        help="timed predict / evaluate calls after the warm-up call (default 3)")
    parser.add_argument("--inference-batch-size", type=int, default=32,
                        help="batch for predict / evaluate (default 32, Keras's default)")
    parser.add_argument("--verbose", default="auto",
                        help='verbose for predict / evaluate (default "auto", Keras\'s default)')
    args = parser.parse_args()
    args.dataset = args.dataset or MODELS[args.model][1]
    try:
        epochs_list = [int(e) for e in args.epochs.split(",")]
    except ValueError:
        fail(f"--epochs expects comma-separated whole numbers, got {args.epochs!r}", 2)
    if min(epochs_list) < 1 or args.batch_size < 1 or args.repeat < 1 or args.limit < 0:
        fail("--epochs, --batch-size and --repeat must be >= 1, --limit >= 0", 2)
    tasks = [t for t in args.tasks.split(",") if t]
    if not tasks or any(t not in TASKS for t in tasks):
        fail(f"--tasks expects a comma-separated list of {', '.join(TASKS)}, got {args.tasks!r}", 2)
    if args.inference_repeat < 1 or args.inference_batch_size < 1:
        fail("--inference-repeat and --inference-batch-size must be >= 1", 2)
    try:
        verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    except ValueError:
        fail(f'--verbose expects "auto", 0, 1 or 2, got {args.verbose!r}', 2)

    import tensorflow as tf  # only for its version
    version = f"keras {keras.__version__}, tensorflow {tf.__version__}"
    model, trained_epochs = None, 0
    if "train" in tasks:
        model, trained_epochs = train(args, epochs_list, version)
    if "predict" in tasks or "evaluate" in tasks:
        x_test, y_test = load(args, test=True)
        if model is None:
            keras.utils.set_random_seed(SEED)
            model = get_model(args.model, args.dataset)
        for task in ("predict", "evaluate"):
            if task in tasks:
                infer(model, task, x_test, y_test, args, verbose, version, trained_epochs)


def infer(model, task, x, y, args, verbose, version, trained_epochs):
    """Times `model.predict(x)` or `model.evaluate(x, y)` and prints its JSON line."""
    def call():
        # Keras's progress output goes to stdout; stdout is for the JSON lines.
        with contextlib.redirect_stdout(sys.stderr):
            if task == "predict":
                return model.predict(x, batch_size=args.inference_batch_size, verbose=verbose)
            return model.evaluate(x, y, batch_size=args.inference_batch_size, verbose=verbose,
                                  return_dict=True)

    started = time.perf_counter()
    call()
    warmup = time.perf_counter() - started
    times = []
    for _ in range(args.inference_repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    if task == "predict":
        loss = None
        labels = y if y.ndim == 1 else np.argmax(y, axis=1)
        accuracy = float(np.mean(np.argmax(result, axis=1) == labels))
    else:
        loss, accuracy = float(result["loss"]), float(result["accuracy"])
    print(json.dumps({
        "implementation": "keras",
        "version": version,
        "model": args.model,
        "dataset": args.dataset,
        "device": "cpu",
        "task": task,
        "batch": args.inference_batch_size,
        "samples": int(x.shape[0]),
        "seconds": statistics.median(times),
        "seconds_all": times,
        "warmup_seconds": warmup,
        "loss": loss,
        "accuracy": accuracy,
        "trained_epochs": trained_epochs,
        "verbose": verbose,
    }), flush=True)


def train(args, epochs_list, version):
    """The timed training runs, one JSON line each; the last run's model and epochs."""
    x, y = load(args)
    for epochs in epochs_list:
        for _ in range(args.repeat):
            keras.utils.set_random_seed(SEED)
            model = get_model(args.model, args.dataset)
            # Built now so that its state exists to be saved; fit would build it anyway.
            model.optimizer.build(model.trainable_variables)
            initial = model.get_weights()
            initial_optimizer = [v.numpy() for v in model.optimizer.variables]
            started = time.perf_counter()
            model.fit(x[:args.batch_size], y[:args.batch_size], epochs=1,
                      batch_size=args.batch_size, verbose=0)
            warmup = time.perf_counter() - started
            model.set_weights(initial)
            for variable, value in zip(model.optimizer.variables, initial_optimizer):
                variable.assign(value)

            started = time.perf_counter()
            history = model.fit(x, y, epochs=epochs, batch_size=args.batch_size, verbose=0)
            seconds = time.perf_counter() - started
            print(json.dumps({
                "implementation": "keras",
                "version": version,
                "model": args.model,
                "dataset": args.dataset,
                "device": "cpu",
                "task": "train",
                "epochs": epochs,
                "batch": args.batch_size,
                "samples": int(x.shape[0]),
                "seconds": seconds,
                "loss": float(history.history["loss"][-1]),
                "accuracy": float(history.history["accuracy"][-1]),
                "warmup_seconds": warmup,
            }), flush=True)
    return model, epochs_list[-1]


if __name__ == "__main__":
    main()
