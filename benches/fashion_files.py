"""Fashion-MNIST's gzipped IDX files (`train-images-idx3-ubyte.gz` ...) read with NumPy, for
the reference scripts that run in benches/.venv-keras (keras_lesson.py, parity.py)."""

import gzip
import os

import numpy as np

FASHION_TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
FASHION_TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class FashionError(Exception):
    """A file that is missing or is not Fashion-MNIST data; the message names it."""


def read_idx(path, dims):
    """One gzipped IDX file of unsigned bytes as a uint8 array with `dims` dimensions."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise FashionError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from e
    # Magic: two zero bytes, type 0x08 (unsigned byte), the number of dimensions.
    if len(data) < 4 + 4 * dims or data[:4] != bytes([0, 0, 8, dims]):
        raise FashionError(f"{path}: not an IDX file of unsigned bytes with {dims} dimension(s)")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise FashionError(f"{path}: header says {shape}, body has {body.size} bytes")
    return body.reshape(shape)


def read_fashion_mnist(folder, files=FASHION_TRAIN):
    """(images uint8 [n, 28, 28], labels int64 [n]) from the (images, labels) `files` in `folder`."""
    images = read_idx(os.path.join(folder, files[0]), 3)
    labels = read_idx(os.path.join(folder, files[1]), 1).astype(np.int64)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise FashionError(f"{folder}: {files[0]} {images.shape} and {files[1]} {labels.shape} do not match")
    if labels.size and labels.max() > 9:
        raise FashionError(f"{folder}: labels above 9; these are not Fashion-MNIST files")
    return images, labels
