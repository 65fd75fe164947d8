"""MNIST-style IDX training images for the peer benchmarks, as float32 intensities in [0, 1].

Reads `train-images-idx3-ubyte` (gzipped or plain, also the `train-images.idx3-ubyte` spelling)
from a folder; the default is the repository's assets/ (the MNIST that rbm-lab embeds).
"""

import gzip
import os
import struct

import numpy as np

REPO_ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets")
NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")


def find_training_images(folder):
    for name in NAMES:
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    raise SystemExit(f"no training images ({' or '.join(NAMES)}, plain or .gz) in {folder}")


def load_training_images(folder=None):
    """(count, rows*cols) float32 array of intensities / 255."""
    path = find_training_images(folder or REPO_ASSETS)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 16:
        raise SystemExit(f"{path}: too short for an IDX header")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes in 3 dimensions (magic {magic:#010x})")
    if len(data) != 16 + count * rows * cols:
        raise SystemExit(f"{path}: header says {count}x{rows}x{cols} bytes, the file has {len(data) - 16}")
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows * cols)
    return pixels.astype(np.float32) / np.float32(255.0)
