#!/usr/bin/env python3
"""Parity harness: the lesson's model trained step by step from the same initial weights
and the same batch order in tf-keras (Keras 2 API), Keras 3, NumPy and notebook-kit, with
the per-step losses side by side.

Keras's categorical cross-entropy for a sigmoid output follows one of two rules:

  lesson  TensorFlow 2.2 (the lesson's recording): each row of the sigmoid outputs divided
          by its sum, clipped to [1e-7, 1 - 1e-7], -sum y log p, batch mean.
  logits  TensorFlow >= 2.4, tf-keras and Keras 3: the sigmoid caches its input
          (`_keras_logits`) and the loss is the softmax cross-entropy of that input.

tf-keras and Keras 3 give the second; the first is computed by a NumPy implementation
with hand-written gradients (TensorFlow 2.2 does not install on this Python), which a
Keras 3 run with TensorFlow 2.2's formula written out as a custom loss (autodiff
gradients) cross-checks. notebook-kit offers both rules and runs through
`cargo run --release -p notebook-kit --example parity`.

    benches/.venv-keras/bin/python benches/parity.py [--steps 100] [--no-rust]
    benches/.venv-keras/bin/python benches/parity.py --small-fixture
    benches/.venv-keras/bin/python benches/parity.py --exercise [--steps 100]
    benches/.venv-keras/bin/python benches/parity.py --exercise-fixture

The exercise fixture is the exercise's model scaled down: Fashion-MNIST, Adam, sparse
categorical cross-entropy of class numbers, where the lesson has SGD and one-hot labels.

Each loss is the one `train_on_batch` returns for that step's batch: the batch loss on the
weights before that step's update (checked here against a NumPy forward pass on the
weights read back before each step). The figures for 1 and 10 steps are the first 1 and
10 steps of the one run of --steps: a step's loss depends only on the steps before it.

NumPy also runs in float64. A float32 run that tracks it to ~1e-7 and then jumps has met a
ReLU tie: a hidden pre-activation so close to zero that float32 rounding decides its sign,
so the unit passes its gradient in one run and not in the other. The report names the
first step each column leaves float64 and the steps with such near-ties.

Exit status 1 when notebook-kit ran and is further than 1e-4 (relative) from its
reference at some step, or failed to run; else 0, also when it was skipped (said so).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
from cifar_files import TRAIN_FILES, CifarError, read_cifar10  # noqa: E402
from fashion_files import FASHION_TRAIN, FashionError, read_fashion_mnist  # noqa: E402
EPSILON = np.float32(1e-7)  # Keras's backend epsilon
TOLERANCE = 1e-4
# A float32 sum of a few thousand products is off by up to ~1e-7 here, so a hidden unit's
# pre-activation this close to zero can come out with either sign.
TIE = 1e-6
# Two float32 runs of the same arithmetic stay this close until something discrete (a
# ReLU tie) sends them apart.
DEPARTS = 1e-6
SEED = 42

# The lesson: CIFAR-10, SGD(0.01), categorical cross-entropy of one-hot labels.
LESSON = {"dataset": "cifar10", "input_shape": [32, 32, 3], "hidden": [3000, 1000],
          "batch_size": 32, "steps": 100, "optimizer": "sgd", "learning_rate": 0.01,
          "loss": "categorical_crossentropy"}
# Same layer kinds and loss, small enough to commit: 8x8 images (4x4 average pooling of
# real CIFAR-10 images), 64 and 32 hidden units, batch 8.
SMALL = LESSON | {"input_shape": [8, 8, 3], "hidden": [64, 32], "batch_size": 8, "steps": 20}
# The exercise (Fashion-MNIST, hidden layers of 500, Adam at Keras's defaults, sparse
# categorical cross-entropy of class numbers) scaled down the same way: 7x7 images, three
# hidden layers of 32 (the exercise has one or five), batch 8.
EXERCISE_SMALL = {"dataset": "fashion-mnist", "input_shape": [7, 7], "hidden": [32, 32, 32],
                  "batch_size": 8, "steps": 20, "optimizer": "adam", "learning_rate": 0.001,
                  "loss": "sparse_categorical_crossentropy"}
# The exercise's deeper model at full size, for the report in benches/README.md.
EXERCISE = EXERCISE_SMALL | {"input_shape": [28, 28], "hidden": [500] * 5, "batch_size": 32, "steps": 100}
FIXTURES = os.path.join(ROOT, "crates", "notebook-kit", "tests", "fixtures")
SMALL_DIR = os.path.join(FIXTURES, "parity-small")
EXERCISE_DIR = os.path.join(FIXTURES, "parity-exercise-small")
# Keras's Adam defaults (both versions).
BETA_1, BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7

COLUMNS = [  # (key, header, reference key)
    ("tf_keras", "tf-keras", None),
    ("keras3", "Keras 3", "tf_keras"),
    ("numpy_logits", "NumPy logits", "tf_keras"),
    ("numpy_lesson", "NumPy lesson", None),
    ("keras3_lesson", "K3 TF2.2 loss", "numpy_lesson"),
    ("notebook_kit_lesson", "nk lesson", "numpy_lesson"),
    ("notebook_kit_logits", "nk logits", "tf_keras"),
]


def fail(message, status=1):
    print(f"parity.py: error: {message}", file=sys.stderr)
    sys.exit(status)


def note(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# The case folder (the Rust example reads exactly this)


def load_cifar10_train(folder):
    """The 50,000 training images as uint8 [n, 32, 32, 3] (Keras's order) and labels."""
    try:
        return read_cifar10(folder, TRAIN_FILES)
    except CifarError as e:
        fail(str(e))


def load_fashion_mnist_train(folder):
    """The 60,000 training images as uint8 [n, 28, 28] and their labels."""
    try:
        return read_fashion_mnist(folder, FASHION_TRAIN)
    except FashionError as e:
        fail(str(e))


def pooled(images, shape):
    """Images as float32 in [0, 1], averaged over blocks down to `shape` (height, width[, 3])."""
    x = images.astype(np.float32) / np.float32(255.0)
    full, small = images.shape[1:3], shape[:2]
    if tuple(full) == tuple(small):
        return x
    if any(f % s for f, s in zip(full, small)):
        fail(f"input_shape {list(shape)}: {full[0]}x{full[1]} images do not pool to it")
    h, w = small
    blocks = (len(x), h, full[0] // h, w, full[1] // w) + tuple(x.shape[3:])
    return x.reshape(blocks).mean(axis=(2, 4), dtype=np.float32)


def one_hot(y, units):
    """Labels as the NumPy code computes with them: one-hot rows, whatever the case stores."""
    return y if y.ndim == 2 else np.eye(units, dtype=np.float32)[y]


def glorot_uniform(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def make_case(folder, data_dir, spec, steps, seed):
    if spec["dataset"] == "cifar10":
        images, labels = load_cifar10_train(data_dir)
    else:
        images, labels = load_fashion_mnist_train(data_dir)
    rng = np.random.default_rng(seed)
    batch = spec["batch_size"]
    # One permutation per pass over the data, as an epoch's shuffle would give.
    passes = -(-steps * batch // len(labels))
    drawn = np.concatenate([rng.permutation(len(labels)) for _ in range(passes)])[: steps * batch]
    # Only the samples the batches use are stored, re-indexed, so that the folder stays small.
    used, order = np.unique(drawn, return_inverse=True)
    x = pooled(images[used], spec["input_shape"])
    # Sparse cross-entropy trains on the class numbers themselves, as the exercise does.
    if spec["loss"] == "sparse_categorical_crossentropy":
        y = labels[used].astype(np.int64)
    else:
        y = np.eye(10, dtype=np.float32)[labels[used]]

    sizes = [int(np.prod(spec["input_shape"]))] + list(spec["hidden"]) + [10]
    weights = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weights[f"kernel_{i}"] = glorot_uniform(rng, fan_in, fan_out)
        weights[f"bias_{i}"] = np.zeros(fan_out, dtype=np.float32)

    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "x.npy"), np.ascontiguousarray(x, dtype="<f4"))
    np.save(os.path.join(folder, "y.npy"), np.ascontiguousarray(y, dtype=y.dtype.newbyteorder("<")))
    np.save(os.path.join(folder, "order.npy"),
            np.ascontiguousarray(order.reshape(steps, batch), dtype="<i8"))
    np.savez(os.path.join(folder, "weights.npz"),
             **{k: np.ascontiguousarray(v, dtype="<f4") for k, v in weights.items()})
    config = {
        "input_shape": list(spec["input_shape"]),
        "hidden": list(spec["hidden"]),
        "hidden_activation": "relu",
        "output_units": 10,
        "output_activation": "sigmoid",
        "learning_rate": spec["learning_rate"],
        "loss": spec["loss"],
        "steps": steps,
        "batch_size": batch,
        "seed": seed,
    }
    # The lesson's cases predate the field; reading them, absent means SGD.
    if spec["optimizer"] != "sgd":
        config |= {"dataset": spec["dataset"], "optimizer": spec["optimizer"]}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    stale = os.path.join(folder, "losses.json")
    if os.path.exists(stale):
        os.remove(stale)
    return config


def read_case(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    x = np.load(os.path.join(folder, "x.npy"))
    y = np.load(os.path.join(folder, "y.npy"))
    order = np.load(os.path.join(folder, "order.npy"))
    with np.load(os.path.join(folder, "weights.npz")) as npz:
        layers = len(config["hidden"]) + 1
        weights = []
        for i in range(layers):
            weights += [npz[f"kernel_{i}"], npz[f"bias_{i}"]]
    return config, x, y, order, weights


# ---------------------------------------------------------------------------------------
# NumPy: forward, both loss rules, manual gradients, plain SGD; float32 as Keras runs, or
# float64 as the reference that rounding does not move


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype)


def forward(weights, xb):
    a = xb.reshape(len(xb), -1)
    acts, pres = [a], []
    layers = len(weights) // 2
    for i in range(layers):
        z = a @ weights[2 * i] + weights[2 * i + 1]
        pres.append(z)
        if i < layers - 1:
            a = np.maximum(z, 0)
            acts.append(a)
    return acts, pres


def loss_and_grad(z, y, rule, loss):
    """Batch-mean loss and its gradient with respect to the last layer's pre-activation;
    `y` one-hot whichever labels the loss takes (sparse ones are one-hot encoded first)."""
    f = z.dtype.type
    n, one, eps = f(len(z)), f(1), f(EPSILON)
    if rule == "logits":
        # The same softmax cross-entropy for one-hot labels and for class numbers.
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        lse = m + np.log(s)
        per_sample = (y.sum(axis=1, keepdims=True) * lse - (y * z).sum(axis=1, keepdims=True))[:, 0]
        dz = (e / s * y.sum(axis=1, keepdims=True) - y) / n
    elif loss == "categorical_crossentropy":
        p = sigmoid(z)
        s = p.sum(axis=1, keepdims=True)
        q = p / s
        # eps and 1 - eps rounded to z's precision, as TensorFlow's constants are.
        qc = np.clip(q, eps, one - eps)
        per_sample = -(y * np.log(qc)).sum(axis=1)
        # Clipping passes the gradient only inside [eps, 1 - eps]; q = p / s.
        dq = np.where((q >= eps) & (q <= one - eps), -y / qc / n, f(0))
        dp = (dq - (dq * q).sum(axis=1, keepdims=True)) / s
        dz = dp * p * (one - p)
    else:
        # TensorFlow 2.2's sparse rule clips first and then normalises, through the softmax
        # cross-entropy of log p: -log(pc_y / sum pc) with pc = clip(p).
        p = sigmoid(z)
        pc = np.clip(p, eps, one - eps)
        s = pc.sum(axis=1, keepdims=True)
        per_sample = (np.log(s) - np.log((y * pc).sum(axis=1, keepdims=True)))[:, 0]
        dpc = (one / s - y / pc) / n
        dz = np.where((p >= eps) & (p <= one - eps), dpc, f(0)) * p * (one - p)
    return per_sample.mean(dtype=z.dtype), dz.astype(z.dtype)


def batch_loss(weights, xb, yb, rule, loss):
    _, pres = forward(weights, xb)
    return float(loss_and_grad(pres[-1], one_hot(yb, pres[-1].shape[1]), rule, loss)[0])


def numpy_train(case, rule, steps, dtype=np.float32):
    """Per-step losses, and per step the number of hidden pre-activations within TIE of
    zero: where float32 rounding can decide whether a ReLU passes its gradient."""
    config, x, y, order, weights = case
    x, y = x.astype(dtype), one_hot(y, config["output_units"]).astype(dtype)
    lr = dtype(config["learning_rate"])
    adam = config.get("optimizer", "sgd") == "adam"
    weights = [w.astype(dtype) for w in weights]
    moments = [(np.zeros_like(w), np.zeros_like(w)) for w in weights]
    losses, ties = [], []
    for step in range(steps):
        xb, yb = x[order[step]], y[order[step]]
        acts, pres = forward(weights, xb)
        loss, dz = loss_and_grad(pres[-1], yb, rule, config["loss"])
        losses.append(float(loss))
        ties.append(int(sum((np.abs(z) < TIE).sum() for z in pres[:-1])))
        layers = len(weights) // 2
        grads = [None] * len(weights)
        for i in reversed(range(layers)):
            grads[2 * i] = acts[i].T @ dz
            grads[2 * i + 1] = dz.sum(axis=0)
            if i > 0:
                dz = (dz @ weights[2 * i].T) * (pres[i - 1] > 0)
        if not adam:
            for w, g in zip(weights, grads):
                w -= lr * g
            continue
        # Keras's Adam, in the weights' precision: both bias corrections folded into the
        # step size, epsilon added to sqrt(v) ("epsilon hat").
        t = dtype(step + 1)
        b1, b2, eps = dtype(BETA_1), dtype(BETA_2), dtype(ADAM_EPSILON)
        alpha = lr * np.sqrt(dtype(1) - b2 ** t) / (dtype(1) - b1 ** t)
        for w, g, (m, v) in zip(weights, grads, moments):
            m += (g - m) * (dtype(1) - b1)
            v += (g * g - v) * (dtype(1) - b2)
            w -= alpha * m / (np.sqrt(v) + eps)
    return losses, ties


# ---------------------------------------------------------------------------------------
# Keras workers: each Keras in a process of its own (both register with TensorFlow)


def tf22_categorical_crossentropy(y_true, y_pred):
    """TensorFlow 2.2's `categorical_crossentropy` for an output that is not a softmax,
    written out with TensorFlow ops, so that Keras's autodiff checks the NumPy gradients."""
    import tensorflow as tf
    y_pred = y_pred / tf.reduce_sum(y_pred, axis=-1, keepdims=True)
    eps = tf.constant(EPSILON, y_pred.dtype)
    y_pred = tf.clip_by_value(y_pred, eps, 1.0 - eps)
    return -tf.reduce_sum(y_true * tf.math.log(y_pred), axis=-1)


def tf22_sparse_categorical_crossentropy(y_true, y_pred):
    """TensorFlow 2.2's `sparse_categorical_crossentropy` for an output that is not a
    softmax: clip, log, then the softmax cross-entropy of those logs."""
    import tensorflow as tf
    eps = tf.constant(EPSILON, y_pred.dtype)
    logits = tf.math.log(tf.clip_by_value(y_pred, eps, 1.0 - eps))
    labels = tf.cast(tf.reshape(y_true, [-1]), tf.int64)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def worker(impl, folder, steps):
    if impl == "tf_keras":
        import tf_keras as keras
    else:
        import keras
    import tensorflow as tf
    rule = "lesson" if impl == "keras3_lesson" else "logits"

    case = read_case(folder)
    config, x, y, order, weights = case
    layers = [keras.Input(shape=tuple(config["input_shape"])), keras.layers.Flatten()]
    layers += [keras.layers.Dense(h, activation=config["hidden_activation"]) for h in config["hidden"]]
    layers.append(keras.layers.Dense(config["output_units"], activation=config["output_activation"]))
    model = keras.Sequential(layers)
    if config.get("optimizer", "sgd") == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=config["learning_rate"], beta_1=BETA_1,
                                          beta_2=BETA_2, epsilon=ADAM_EPSILON)
    else:
        optimizer = keras.optimizers.SGD(learning_rate=config["learning_rate"])
    sparse = config["loss"] == "sparse_categorical_crossentropy"
    tf22 = tf22_sparse_categorical_crossentropy if sparse else tf22_categorical_crossentropy
    model.compile(optimizer=optimizer, loss=tf22 if rule == "lesson" else config["loss"])
    model.set_weights(weights)

    losses, pre, post, other = [], [], [], []
    started = time.perf_counter()
    for step in range(steps):
        xb, yb = x[order[step]], y[order[step]]
        before = model.get_weights()
        value = model.train_on_batch(xb, yb)
        losses.append(float(np.asarray(value).reshape(-1)[0]))
        # What the returned number is: the batch loss on the weights before or after the
        # update, under which rule; and whether it is that one batch's loss or a mean
        # over the calls so far (which would drift away from `pre` from step 2 on).
        pre.append(batch_loss(before, xb, yb, rule, config["loss"]))
        other.append(batch_loss(before, xb, yb, "logits" if rule == "lesson" else "lesson", config["loss"]))
        post.append(batch_loss(model.get_weights(), xb, yb, rule, config["loss"]))
    seconds = time.perf_counter() - started

    def worst(a, b):
        return max(abs(p - q) / abs(q) for p, q in zip(a, b))

    print(json.dumps({
        "impl": impl,
        "versions": {impl if impl == "tf_keras" else "keras": keras.__version__,
                     "tensorflow": tf.__version__},
        "losses": losses,
        "seconds": seconds,
        "check": {
            "rule": rule,
            "before_update": worst(losses, pre),
            "after_update": worst(losses, post),
            "before_update_other_rule": worst(losses, other),
        },
    }))


def run_worker(impl, folder, steps):
    command = [sys.executable, os.path.abspath(__file__), "--worker", impl, "--case", folder,
               "--steps", str(steps)]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        fail(f"the {impl} worker failed (exit status {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# notebook-kit through its Rust example


def run_notebook_kit(kit_root, folder, rule, steps):
    """The example's losses, or raises RuntimeError saying why there are none."""
    setup = os.path.join(kit_root, "kernel-setup.sh")
    script = (f'eval "$({sh_quote(setup)} --env)" && exec nice -n 10 cargo run --release '
              f'-p notebook-kit --example parity -- --case {sh_quote(os.path.abspath(folder))} '
              f'--rule {rule} --steps {steps}')
    # Cargo's build output goes to stderr and is shown as it comes; stdout is the JSON.
    result = subprocess.run(["bash", "-c", script], cwd=kit_root, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the example exited with status {result.returncode}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        answer = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as e:
        raise RuntimeError(f"no JSON object on its stdout ({e}): {result.stdout[-500:]!r}")
    if answer.get("rule") != rule or len(answer.get("losses", [])) != steps:
        raise RuntimeError(f"expected rule {rule!r} and {steps} losses, got rule "
                           f"{answer.get('rule')!r} and {len(answer.get('losses', []))} losses")
    return [float(v) for v in answer["losses"]]


def sh_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------------------------------
# Report


def shown_steps(steps):
    chosen = list(range(1, min(steps, 5) + 1)) + list(range(10, steps + 1, 10)) + [steps]
    return sorted(set(chosen))


def rel_diffs(values, reference, upto):
    return max(abs(a - b) / abs(b) for a, b in zip(values[:upto], reference[:upto]))


def first_departure(values, reference):
    for step, (a, b) in enumerate(zip(values, reference), 1):
        if abs(a - b) / abs(b) > DEPARTS:
            return step
    return None


def report(losses, ties, steps):
    present = [(k, h, r) for k, h, r in COLUMNS if losses.get(k) is not None]
    print()
    print("per-step loss (the batch loss before that step's update)")
    print(f"{'step':>5} " + " ".join(f"{h:>13}" for _, h, _ in COLUMNS))
    for s in shown_steps(steps):
        cells = []
        for key, _, _ in COLUMNS:
            v = losses.get(key)
            cells.append(f"{v[s - 1]:>13.7f}" if v is not None else f"{'-':>13}")
        print(f"{s:>5} " + " ".join(cells))

    spans = sorted({n for n in (1, 10, 100) if n <= steps} | {steps})
    headers = " ".join(f"{f'N={n}':>10}" for n in spans)
    print()
    print(f"largest relative difference |a - ref| / |ref| over the first N steps (tolerance {TOLERANCE:g})")
    print(f"{'column':<14} {'reference':<14} {headers}  within")
    diffs, ok = {}, True
    for key, header, ref in present:
        if ref is None:
            continue
        row = [rel_diffs(losses[key], losses[ref], n) for n in spans]
        diffs[key] = {"reference": ref, **{str(n): d for n, d in zip(spans, row)}}
        within = row[-1] <= TOLERANCE
        # The exit status is about notebook-kit; the other columns check the harness.
        ok &= within or not key.startswith("notebook_kit")
        ref_header = next(h for k, h, _ in COLUMNS if k == ref)
        print(f"{header:<14} {ref_header:<14} " + " ".join(f"{d:>10.2e}" for d in row)
              + f"  {'yes' if within else 'NO'}")
    # Not a parity check: how far apart the two rules are on the same weights and batches.
    row = [rel_diffs(losses["numpy_lesson"], losses["tf_keras"], n) for n in spans]
    diffs["numpy_lesson"] = {"reference": "tf_keras", **{str(n): d for n, d in zip(spans, row)}}
    print(f"{'NumPy lesson':<14} {'tf-keras':<14} " + " ".join(f"{d:>10.2e}" for d in row)
          + "  (the two rules differ; not a parity check)")

    if losses.get("numpy_logits_f64") is None:
        return diffs, ok
    # Which float32 run left exact arithmetic, and when: a run that tracks float64 to ~1e-7
    # and then jumps did not compute wrongly, it met a ReLU tie (see TIE) and went the other way.
    print()
    print(f"the same, against NumPy in float64 (same rule); 'departs': first step further than {DEPARTS:g}")
    print(f"{'column':<14} {'reference':<14} {headers}  departs")
    diffs["vs_float64"] = {}
    for key, header, _ in present:
        rule = "lesson" if "lesson" in key else "logits"
        ref = f"numpy_{rule}_f64"
        row = [rel_diffs(losses[key], losses[ref], n) for n in spans]
        depart = first_departure(losses[key], losses[ref])
        diffs["vs_float64"][key] = {"reference": ref, "first_step_over": depart,
                                    **{str(n): d for n, d in zip(spans, row)}}
        print(f"{header:<14} {'NumPy64 ' + rule:<14} " + " ".join(f"{d:>10.2e}" for d in row)
              + f"  {depart if depart else '-'}")
    for rule in ("logits", "lesson"):
        near = [f"{i + 1}" + (f" ({n})" if n > 1 else "") for i, n in enumerate(ties[rule]) if n]
        print(f"steps with a hidden pre-activation within {TIE:g} of zero (NumPy float64, {rule} rule): "
              + (", ".join(near) if near else "none"))
    return diffs, ok


# ---------------------------------------------------------------------------------------

FIXTURE_README_TAIL = """Made {date} with {versions}.

Largest relative difference over the {steps} steps:

- Keras 3 vs tf-keras: {d_keras3:.1e}
- NumPy logits rule vs tf-keras: {d_numpy:.1e}
- Keras 3 with the TensorFlow 2.2 formula vs NumPy lesson rule: {d_k3lesson:.1e}
- every float32 column vs NumPy float64 of its rule: {d_f64:.1e}
- the lesson rule vs the logits rule (not a parity check): {d_rules:.1e}

Hidden pre-activations within {tie:g} of zero in the float64 runs: {ties}. Such a
near-tie is where float32 rounding can decide whether a ReLU passes its gradient, and send
two correct float32 implementations apart (see `benches/README.md`, "ReLU ties"). With
none here, a correct float32 implementation should stay within float32 rounding (about
1e-6 relative) of these numbers.
"""


FIXTURE_README = """# parity-small: notebook-kit vs tf-keras on a scaled-down lesson model

Made by `benches/parity.py --small-fixture` (the parity harness, see
`benches/README.md`, "Parity with Keras"); do not edit by hand, re-run that instead:

```sh
benches/setup-venvs.sh      # benches/.venv-keras with TensorFlow, Keras 3 and tf-keras
benches/.venv-keras/bin/python benches/parity.py --small-fixture --no-rust --data DIR
```

with DIR the CIFAR-10 binary folder (`cifar-10-batches-bin`).

The model has the lesson's layer kinds and loss at a size small enough to commit:
Flatten -> Dense({hidden0}, relu) -> Dense({hidden1}, relu) -> Dense(10, sigmoid),
categorical cross-entropy, SGD learning rate 0.01, batch {batch}, {steps} steps, input
{shape} (each CIFAR-10 training image, scaled to [0, 1], averaged over 4x4 pixel blocks).

| file | what it holds |
|---|---|
| `config.json` | the model and training settings (the harness's case format) |
| `x.npy` | float32 `[{n}, {h}, {w}, 3]`: the {n} training images the batches use, in ascending order of their index in `data_batch_1.bin` ... `data_batch_5.bin` taken in turn (0..49,999), re-indexed 0..{n_1} |
| `y.npy` | float32 `[{n}, 10]`: their one-hot labels |
| `order.npy` | int64 `[{steps}, {batch}]`: step k trains on rows `order[k]` of x and y (the first {total} entries of a permutation of the 50,000 training indices drawn with NumPy's `default_rng({seed})`) |
| `weights.npz` | `kernel_0, bias_0, kernel_1, bias_1, kernel_2, bias_2` in Keras's layout (kernel `[inputs, units]`): Glorot-uniform kernels drawn from the same generator after the permutation, zero biases |
| `losses.json` | per-step losses, each the batch loss before that step's update: `tf_keras` and `keras3` (what `train_on_batch` returned, `loss="categorical_crossentropy"`: today's rule, the softmax cross-entropy of the last layer's pre-activation); `numpy_logits` (NumPy float32, same rule); `numpy_lesson` (NumPy float32, TensorFlow 2.2's rule: rows of the sigmoid output divided by their sum, clipped to [1e-7, 1 - 1e-7], -sum y log p, batch mean); `keras3_lesson` (Keras 3 with TensorFlow 2.2's formula written out as a custom loss); `numpy_logits_f64`, `numpy_lesson_f64` (the NumPy runs in float64); `versions` |

"""


EXERCISE_README = """# parity-exercise-small: notebook-kit vs tf-keras on a scaled-down exercise model

Made by `benches/parity.py --exercise-fixture` (the parity harness, see
`benches/README.md`, "Parity with Keras"); do not edit by hand, re-run that instead:

```sh
benches/setup-venvs.sh      # benches/.venv-keras with TensorFlow, Keras 3 and tf-keras
benches/.venv-keras/bin/python benches/parity.py --exercise-fixture --no-rust --data DIR
```

with DIR the Fashion-MNIST folder (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`).

The model has the exercise's layer kinds, optimizer and loss at a size small enough to commit:
Flatten -> {hidden_layers} -> Dense(10, sigmoid), sparse categorical cross-entropy of class
numbers, Adam with Keras's defaults (learning rate {lr}, beta_1 {b1}, beta_2 {b2}, epsilon {eps}),
batch {batch}, {steps} steps, input {shape} (each Fashion-MNIST training image, scaled to
[0, 1], averaged over 4x4 pixel blocks).

| file | what it holds |
|---|---|
| `config.json` | the model and training settings (the harness's case format) |
| `x.npy` | float32 `[{n}, {h}, {w}]`: the {n} training images the batches use, in ascending order of their index in `train-images-idx3-ubyte.gz` (0..59,999), re-indexed 0..{n_1} |
| `y.npy` | int64 `[{n}]`: their class numbers |
| `order.npy` | int64 `[{steps}, {batch}]`: step k trains on rows `order[k]` of x and y (the first {total} entries of a permutation of the 60,000 training indices drawn with NumPy's `default_rng({seed})`) |
| `weights.npz` | `kernel_0, bias_0, ..., kernel_{last}, bias_{last}` in Keras's layout (kernel `[inputs, units]`): Glorot-uniform kernels drawn from the same generator after the permutation, zero biases |
| `losses.json` | per-step losses, each the batch loss before that step's update: `tf_keras` and `keras3` (what `train_on_batch` returned, `loss="sparse_categorical_crossentropy"`: today's rule, the softmax cross-entropy of the last layer's pre-activation); `numpy_logits` (NumPy float32, same rule, with Keras's Adam written out); `numpy_lesson` (NumPy float32, TensorFlow 2.2's rule: the sigmoid outputs clipped to [1e-7, 1 - 1e-7], then -log(p_y / sum p), batch mean); `keras3_lesson` (Keras 3 with TensorFlow 2.2's formula written out as a custom loss); `numpy_logits_f64`, `numpy_lesson_f64` (the NumPy runs in float64); `versions` |

"""


def write_fixture_readme(folder, config, versions, diffs, ties, n):
    if "vs_float64" not in diffs:
        fail("a fixture needs the float64 runs (drop --no-float64): its README reports them")
    h, w = config["input_shape"][:2]
    steps = str(config["steps"])
    tie_steps = {rule: [i + 1 for i, c in enumerate(ties[rule]) if c] for rule in ties}
    common = dict(
        batch=config["batch_size"], steps=config["steps"], shape=config["input_shape"], n=n,
        n_1=n - 1, h=h, w=w, total=config["steps"] * config["batch_size"], seed=config["seed"],
        date=time.strftime("%Y-%m-%d", time.gmtime()),
        versions=", ".join(f"{k} {v}" for k, v in versions.items()),
        d_keras3=diffs["keras3"][steps], d_numpy=diffs["numpy_logits"][steps],
        d_k3lesson=diffs["keras3_lesson"][steps], d_rules=diffs["numpy_lesson"][steps],
        d_f64=max(d[steps] for d in diffs["vs_float64"].values()), tie=TIE,
        ties="; ".join(f"{rule} rule: steps {', '.join(map(str, s))}" if s else f"{rule} rule: none"
                       for rule, s in tie_steps.items()))
    if config.get("optimizer", "sgd") == "adam":
        text = (EXERCISE_README + FIXTURE_README_TAIL).format(
            **common, lr=config["learning_rate"], b1=BETA_1, b2=BETA_2, eps=ADAM_EPSILON,
            last=len(config["hidden"]),
            hidden_layers=" -> ".join(f"Dense({u}, relu)" for u in config["hidden"]))
    else:
        text = (FIXTURE_README + FIXTURE_README_TAIL).format(**common, hidden0=config["hidden"][0],
                                     hidden1=config["hidden"][1])
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(text)


DATA_FOLDERS = {  # dataset: (its folder's name in the kit's layout, a file it must hold)
    "cifar10": ("cifar-10-batches-bin", "data_batch_1.bin"),
    "fashion-mnist": ("fashion-mnist", FASHION_TRAIN[0]),
}


def default_data_dir(dataset):
    name = DATA_FOLDERS[dataset][0]
    if dataset == "cifar10" and os.environ.get("CIFAR10_DIR"):
        return os.environ["CIFAR10_DIR"]
    if os.environ.get("NOTEBOOK_KIT_DATA"):
        return os.path.join(os.environ["NOTEBOOK_KIT_DATA"], name)
    cache = os.environ.get("NOTEBOOK_KIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "notebook-kit")
    return os.path.join(cache, "datasets", name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None,
                        help="CIFAR-10 binary folder, or Fashion-MNIST's with --exercise-fixture "
                             "(default: $CIFAR10_DIR, else $NOTEBOOK_KIT_DATA/cifar-10-batches-bin "
                             "or fashion-mnist, else the kit's cache)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default 100; 20 with --small-fixture or --exercise-fixture)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"NumPy seed for the batch order and weights (default {SEED})")
    parser.add_argument("--case", default=None,
                        help="case folder to write (default benches/results/parity-case, or the "
                             "committed fixture folder with --small-fixture)")
    parser.add_argument("--reuse-case", action="store_true", help="run on an existing case folder instead of making it")
    fixture = parser.add_mutually_exclusive_group()
    fixture.add_argument("--exercise", action="store_true",
                         help="the exercise's model with five hidden layers of 500 (Adam, sparse "
                              "labels, batch 32) instead of the lesson's")
    fixture.add_argument("--small-fixture", action="store_true",
                         help=f"the scaled-down model, written to {os.path.relpath(SMALL_DIR, ROOT)} with a README")
    fixture.add_argument("--exercise-fixture", action="store_true",
                         help="the scaled-down exercise model (Adam, sparse labels), written to "
                              f"{os.path.relpath(EXERCISE_DIR, ROOT)} with a README")
    parser.add_argument("--no-rust", action="store_true", help="skip notebook-kit (it is reported as skipped)")
    parser.add_argument("--kit-root", default=ROOT, help="checkout whose notebook-kit example runs (default: this one)")
    parser.add_argument("--no-float64", action="store_true",
                        help="skip the float64 NumPy runs (the reference that tells a ReLU tie from an error)")
    parser.add_argument("--out", default=None, help="write all numbers as JSON to this file")
    parser.add_argument("--worker", choices=["tf_keras", "keras3", "keras3_lesson"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    spec = (SMALL if args.small_fixture else EXERCISE_SMALL if args.exercise_fixture
            else EXERCISE if args.exercise else LESSON)
    steps = args.steps or spec["steps"]
    if steps < 1:
        fail("--steps must be >= 1", 2)
    if args.worker:
        worker(args.worker, args.case, steps)
        return

    default_folder = (SMALL_DIR if args.small_fixture else EXERCISE_DIR if args.exercise_fixture
                      else os.path.join(HERE, "results",
                                        "parity-exercise-case" if args.exercise else "parity-case"))
    folder = args.case or default_folder
    if args.reuse_case:
        config = read_case(folder)[0]
        if config["steps"] < steps:
            fail(f"{folder} holds {config['steps']} steps, fewer than --steps {steps}", 2)
    else:
        data_dir = args.data or default_data_dir(spec["dataset"])
        if not os.path.isfile(os.path.join(data_dir, DATA_FOLDERS[spec["dataset"]][1])):
            fail(f"no {spec['dataset']} files in '{data_dir}' (use --data)")
        config = make_case(folder, data_dir, spec, steps, args.seed)
        note(f"case folder: {folder} (seed {args.seed}, {steps} steps of {spec['batch_size']})")

    case = read_case(folder)
    losses, seconds, checks, versions = {}, {}, {}, {"numpy": np.__version__, "python": platform.python_version()}
    for impl in ("tf_keras", "keras3", "keras3_lesson"):
        note(f"running {impl} ...")
        answer = run_worker(impl, folder, steps)
        losses[impl] = answer["losses"]
        seconds[impl] = answer["seconds"]
        checks[impl] = answer["check"]
        versions.update(answer["versions"])
    ties = {}
    for rule in ("logits", "lesson"):
        for dtype, suffix in [(np.float32, "")] + ([] if args.no_float64 else [(np.float64, "_f64")]):
            note(f"running NumPy, {rule} rule, {np.dtype(dtype).name} ...")
            started = time.perf_counter()
            losses[f"numpy_{rule}{suffix}"], ties[f"{rule}{suffix}"] = numpy_train(case, rule, steps, dtype)
            seconds[f"numpy_{rule}{suffix}"] = time.perf_counter() - started
    ties = {rule: ties.get(f"{rule}_f64", ties[rule]) for rule in ("logits", "lesson")}

    if not args.reuse_case:
        with open(os.path.join(folder, "losses.json"), "w") as f:
            keys = ("tf_keras", "keras3", "numpy_lesson", "numpy_logits", "keras3_lesson",
                    "numpy_logits_f64", "numpy_lesson_f64")
            json.dump({k: losses[k] for k in keys if k in losses} | {"versions": versions}, f, indent=1)
            f.write("\n")

    example = os.path.join(args.kit_root, "crates", "notebook-kit", "examples", "parity.rs")
    if args.no_rust:
        kit = {"status": "skipped", "reason": "--no-rust"}
    elif not os.path.isfile(example):
        kit = {"status": "skipped", "reason": f"{example} does not exist"}
    elif shutil.which("bash") is None:
        kit = {"status": "skipped", "reason": "no bash to run kernel-setup.sh --env and cargo"}
    else:
        kit = {"status": "ran"}
        for rule in ("lesson", "logits"):
            note(f"running notebook-kit, {rule} rule (cargo run --release; the first build takes minutes) ...")
            started = time.perf_counter()
            try:
                losses[f"notebook_kit_{rule}"] = run_notebook_kit(args.kit_root, folder, rule, steps)
            except RuntimeError as e:
                kit = {"status": "failed", "reason": f"{rule}: {e}"}
                break
            seconds[f"notebook_kit_{rule}"] = time.perf_counter() - started

    print(f"case: {folder}; {steps} steps of batch {config['batch_size']}, input {config['input_shape']}, "
          f"hidden {config['hidden']}, seed {config['seed']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("train_on_batch's number vs the NumPy batch loss on the weights read back just before "
          "and just after each step (largest relative difference):")
    for impl, c in checks.items():
        other = "logits" if c["rule"] == "lesson" else "lesson"
        print(f"  {impl:<13} {c['rule']} rule: before the update {c['before_update']:.1e}, "
              f"after {c['after_update']:.1e}; {other} rule before the update "
              f"{c['before_update_other_rule']:.1e}")
    if kit["status"] != "ran":
        print(f"notebook-kit: {kit['status'].upper()} ({kit['reason']}); its columns are empty and "
              "nothing of it was compared")
    diffs, ok = report(losses, ties, steps)
    if (args.small_fixture or args.exercise_fixture) and not args.reuse_case:
        write_fixture_readme(folder, config, versions, diffs, ties, len(case[1]))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"case": os.path.abspath(folder), "config": config, "versions": versions,
                       "notebook_kit": kit, "losses": losses, "max_rel_diff": diffs,
                       "relu_ties_per_step": ties, "tie_threshold": TIE,
                       "train_on_batch_check": checks, "seconds": seconds, "tolerance": TOLERANCE}, f, indent=1)
            f.write("\n")
    if kit["status"] == "failed":
        sys.exit(1)
    if not ok:
        print(f"notebook-kit is further than {TOLERANCE:g} from its reference", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
