"""The CIFAR-10 binary batch files (`data_batch_1.bin` ... `test_batch.bin`) read with NumPy,
for the reference scripts that run in benches/.venv-keras (keras_lesson.py, parity.py).
Each record is one label byte and 3,072 pixel bytes in channel-major order."""

import os

import numpy as np

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]


class CifarError(Exception):
    """A file that is missing or is not CIFAR-10 batch data; the message names it."""


def read_cifar10(folder, files, limit=0):
    """(images uint8 [n, 32, 32, 3] in Keras's order, labels int64 [n]) from `files` in
    `folder`, the first `limit` records only when `limit` is set."""
    chunks = []
    for name in files:
        path = os.path.join(folder, name)
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as e:
            raise CifarError(f"cannot read {path}: {e.strerror}") from e
        if data.size == 0 or data.size % RECORD:
            raise CifarError(f"{path}: {data.size} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
        chunks.append(data.reshape(-1, RECORD))
    raw = np.concatenate(chunks)
    if limit:
        raw = raw[:limit]
    labels = raw[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise CifarError(f"{folder}: labels above 9; these are not CIFAR-10 batch files")
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
