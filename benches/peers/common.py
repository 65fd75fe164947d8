"""What the peer benchmarks share: the IDX training images, the command line, the timed loop.

The images: `train-images-idx3-ubyte` (gzipped or plain, also the `train-images.idx3-ubyte`
spelling) from a folder, by default the repository's assets/ (the MNIST that rbm-lab embeds), as
float32 intensities in [0, 1].
"""

import argparse
import gzip
import os
import struct
import time

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


def training_arguments(description):
    """The peers' command line: data folder, the tutorial's settings, epochs, threads, seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", nargs="?", help="folder with the IDX files (default: the repository's assets/)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="0: the library's default")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def checked(parser, args):
    for name in ("hidden", "k", "batch", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def timed_epochs(count, batch, epochs, permutation, step):
    """Runs `epochs` epochs of `step(batch_indices) -> loss` over a fresh `permutation(count)` each;
    returns (samples, seconds, the last epoch's mean loss)."""
    samples, last_loss = 0, float("nan")
    started = time.perf_counter()
    for _ in range(epochs):
        order = permutation(count)
        losses = []
        for first in range(0, count, batch):
            indices = order[first:first + batch]
            losses.append(step(indices))
            samples += len(indices)
        last_loss = sum(losses) / len(losses)
    return samples, time.perf_counter() - started, last_loss
