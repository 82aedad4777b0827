#!/usr/bin/env python3
"""Keras reference for gpu-bench: the lesson's own code (Keras 3 on TensorFlow), on the same
CIFAR-10 binary files.

    model = keras.Sequential([Flatten(input_shape=(32, 32, 3)), Dense(3000, relu),
                              Dense(1000, relu), Dense(10, sigmoid)])
    model.compile(optimizer="SGD", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train_scaled, y_train_categorical, epochs=1)      # batch 32

Prints one JSON line per timed run with the fields gpu-bench's --json uses:
implementation, device, epochs, batch, seconds, loss, accuracy (plus a few more).

With --tasks train,predict,evaluate it also times the lesson's inference on the 10,000
test images (test_batch.bin), on the model the last training run left:

    model.predict(X_test_scaled)                          # "task": "predict"
    model.evaluate(X_test_scaled, y_test_categorical)     # "task": "evaluate"

with Keras's defaults (batch 32, verbose "auto", whose progress output is sent to stderr
so that stdout stays JSON lines). Keras traces its predict and evaluate functions on first
use, so each task is first called once, timed on its own as "warmup_seconds", then
--inference-repeat more times: "seconds" is their median, "seconds_all" each of them.
Without "train" in --tasks, predict and evaluate run on a freshly initialised model.

Warm-up: Keras traces its training function the first time a model is fitted, once per
model. So each timed model first trains one batch (traced and timed as "warmup_seconds"),
then gets its initial weights back and is timed on the full data; the lesson's %timeit
includes that tracing, gpu-bench's and PyTorch's timings include no such step.

Runs from its own venv, made by benches/setup-venvs.sh:
    benches/.venv-keras/bin/python benches/keras_lesson.py --data DIR
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
RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
TASKS = ("train", "predict", "evaluate")


def fail(message, status=1):
    print(f"keras_lesson.py: error: {message}", file=sys.stderr)
    sys.exit(status)


def load_cifar10(folder, limit, files=TRAIN_FILES):
    """A split as (x float32 (n, 32, 32, 3) in [0, 1], y one-hot float32)."""
    chunks = []
    for name in files:
        path = os.path.join(folder, name)
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror}")
        if data.size == 0 or data.size % RECORD:
            fail(f"{path}: {data.size} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
        chunks.append(data.reshape(-1, RECORD))
    raw = np.concatenate(chunks)
    if limit:
        raw = raw[:limit]
    labels = raw[:, 0]
    if labels.max() > 9:
        fail(f"{folder}: labels above 9; these are not CIFAR-10 batch files")
    x = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype("float32") / 255.0
    y = keras.utils.to_categorical(labels, 10).astype("float32")
    return x, y


def get_model():
    model = keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Flatten(),
        layers.Dense(3000, activation="relu"),
        layers.Dense(1000, activation="relu"),
        layers.Dense(10, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True,
                        help="folder with data_batch_1.bin ... data_batch_5.bin (and test_batch.bin)")
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
        x_test, y_test = load_cifar10(args.data, args.limit, TEST_FILES)
        if model is None:
            keras.utils.set_random_seed(SEED)
            model = get_model()
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
        accuracy = float(np.mean(np.argmax(result, axis=1) == np.argmax(y, axis=1)))
    else:
        loss, accuracy = float(result["loss"]), float(result["accuracy"])
    print(json.dumps({
        "implementation": "keras",
        "version": version,
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
    x, y = load_cifar10(args.data, args.limit)
    for epochs in epochs_list:
        for _ in range(args.repeat):
            keras.utils.set_random_seed(SEED)
            model = get_model()
            initial = model.get_weights()
            started = time.perf_counter()
            model.fit(x[:args.batch_size], y[:args.batch_size], epochs=1,
                      batch_size=args.batch_size, verbose=0)
            warmup = time.perf_counter() - started
            model.set_weights(initial)

            started = time.perf_counter()
            history = model.fit(x, y, epochs=epochs, batch_size=args.batch_size, verbose=0)
            seconds = time.perf_counter() - started
            print(json.dumps({
                "implementation": "keras",
                "version": version,
                "device": "cpu",
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
