#!/usr/bin/env python3
"""PyTorch reference for gpu-bench: the lesson's model, trained the way a PyTorch user
would write it (eager mode, torch.optim.SGD), on the same CIFAR-10 binary files.

Same as gpu-bench and the Keras lesson: Flatten -> Dense(3000, relu) -> Dense(1000, relu)
-> Dense(10, sigmoid); Glorot-uniform kernels and zero biases (Keras's initialisers, not
PyTorch's); SGD lr 0.01; Keras's categorical cross-entropy for a sigmoid output (each row
divided by its sum, clipped to [1e-7, 1 - 1e-7], -sum y log p, batch mean); samples
reshuffled every epoch; batch 32 by default.

Prints one JSON line per timed run with the fields gpu-bench's --json uses:
implementation, device, epochs, batch, seconds, loss, accuracy (plus a few more).

Runs with the kit's venv (the same torch 2.11 wheel gpu-bench links against; numpy is not
needed):
    ~/.local/share/notebook-kit/venv/bin/python benches/pytorch_lesson.py --data DIR
"""

import argparse
import json
import os
import sys
import time
import warnings

# The kit's venv has no numpy, which torch only mentions; nothing here needs it.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from torch import nn  # noqa: E402

SEED = 42
RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]


def fail(message, status=1):
    print(f"pytorch_lesson.py: error: {message}", file=sys.stderr)
    sys.exit(status)


def load_cifar10(folder, limit):
    """The training split as (x float32 [n, 3072] in Keras's NHWC flatten order, y one-hot)."""
    chunks = []
    for name in TRAIN_FILES:
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror}")
        if not data or len(data) % RECORD:
            fail(f"{path}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
        chunks.append(data)
    raw = torch.frombuffer(bytearray(b"".join(chunks)), dtype=torch.uint8).view(-1, RECORD)
    if limit:
        raw = raw[:limit]
    labels = raw[:, 0].long()
    if int(labels.max()) > 9:
        fail(f"{folder}: labels above 9; these are not CIFAR-10 batch files")
    # Each record holds the red, green and blue planes; Keras sees (32, 32, 3) images.
    pixels = raw[:, 1:].reshape(-1, 3, 32, 32).permute(0, 2, 3, 1).reshape(-1, 32 * 32 * 3)
    x = pixels.float() / 255.0
    y = nn.functional.one_hot(labels, 10).float()
    return x, y


def get_model():
    model = nn.Sequential(
        nn.Linear(3072, 3000), nn.ReLU(),
        nn.Linear(3000, 1000), nn.ReLU(),
        nn.Linear(1000, 10), nn.Sigmoid(),
    )
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def keras_categorical_crossentropy(p, y):
    """Keras's loss for probabilities that are not a softmax (here: sigmoid outputs)."""
    p = p / p.sum(dim=-1, keepdim=True)
    p = p.clamp(1e-7, 1.0 - 1e-7)
    return -(y * p.log()).sum(dim=-1).mean()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(model, x, y, epochs, batch_size):
    """Keras's fit loop; returns the last epoch's mean loss and accuracy."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    n = x.shape[0]
    loss_sum = correct = None
    for _ in range(epochs):
        order = torch.randperm(n, device=x.device)
        loss_sum = torch.zeros((), device=x.device)
        correct = torch.zeros((), dtype=torch.long, device=x.device)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            xb, yb = x[index], y[index]
            optimizer.zero_grad()
            p = model(xb)
            loss = keras_categorical_crossentropy(p, yb)
            loss.backward()
            optimizer.step()
            # Kept on the device and read once per epoch, as Keras does with verbose=0.
            loss_sum += loss.detach() * xb.shape[0]
            correct += (p.detach().argmax(-1) == yb.argmax(-1)).sum()
    return float(loss_sum) / n, int(correct) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with data_batch_1.bin ... data_batch_5.bin")
    parser.add_argument("--epochs", default="1", help="comma-separated, e.g. 1,10 (default 1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training samples")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    try:
        epochs_list = [int(e) for e in args.epochs.split(",")]
    except ValueError:
        fail(f"--epochs expects comma-separated whole numbers, got {args.epochs!r}", 2)
    if min(epochs_list) < 1 or args.batch_size < 1 or args.repeat < 1 or args.limit < 0:
        fail("--epochs, --batch-size and --repeat must be >= 1, --limit >= 0", 2)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        fail("--device cuda: CUDA is not available to this torch", 2)
    device = torch.device(args.device)

    x, y = load_cifar10(args.data, args.limit)
    x, y = x.to(device), y.to(device)  # once: no timed run pays for a copy

    # One step on a throwaway model: allocator, thread pool, kernels.
    torch.manual_seed(SEED)
    synchronize(device)
    started = time.perf_counter()
    train(get_model().to(device), x[:args.batch_size], y[:args.batch_size], 1, args.batch_size)
    synchronize(device)
    warmup = time.perf_counter() - started

    for epochs in epochs_list:
        for _ in range(args.repeat):
            torch.manual_seed(SEED)
            model = get_model().to(device)
            synchronize(device)
            started = time.perf_counter()
            loss, accuracy = train(model, x, y, epochs, args.batch_size)
            synchronize(device)
            seconds = time.perf_counter() - started
            print(json.dumps({
                "implementation": "pytorch",
                "version": torch.__version__,
                "device": args.device,
                "epochs": epochs,
                "batch": args.batch_size,
                "samples": x.shape[0],
                "seconds": seconds,
                "loss": loss,
                "accuracy": accuracy,
                "warmup_seconds": warmup,
                "threads": torch.get_num_threads(),
            }), flush=True)


if __name__ == "__main__":
    main()
