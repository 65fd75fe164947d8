#!/usr/bin/env python3
"""SGEMM GFLOP/s of rbm-lab's training shapes, by PyTorch and by numpy's BLAS.

The shapes of one CD step with batch B and H hidden units (V = 784):
    vW      (B x V) @ (V x H)      hidden inputs
    hWt     (B x H) @ (H x V)      visible inputs
    update  (V x 2B) @ (2B x H)    the weight update over data and chain rows
and a 1024^3 square product for reference. Each line: library, shape, best GFLOP/s over five
timed rounds of about 0.2 s (after a warm-up). The last lines give the best library per shape.
"""

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits


def shapes(batch, hidden, visible=784):
    return [
        ("vW", batch, visible, hidden),
        ("hWt", batch, hidden, visible),
        ("update", visible, 2 * batch, hidden),
    ]


def best_gflops(product, m, k, n, rounds=5, seconds=0.2):
    for _ in range(20):
        product()
    best = 0.0
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            product()
            count += 1
        best = max(best, 2.0 * m * k * n * count / elapsed / 1e9)
    return best


def torch_product(m, k, n):
    a, b, out = torch.rand(m, k), torch.rand(k, n), torch.empty(m, n)
    return lambda: torch.matmul(a, b, out=out)


def numpy_product(m, k, n):
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    return lambda: np.matmul(a, b, out=out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 500])
    args = parser.parse_args()
    if args.threads < 1 or args.batch < 1 or min(args.hidden) < 1:
        parser.error("--threads, --batch and --hidden must be at least 1")
    torch.set_num_threads(args.threads)
    cases = [case for hidden in args.hidden for case in shapes(args.batch, hidden)]
    cases.append(("square", 1024, 1024, 1024))
    best = {}
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, m, k, n in cases:
            label = f"{name} ({m}x{k})@({k}x{n})"
            for library, make in (("torch", torch_product), ("numpy", numpy_product)):
                gflops = best_gflops(make(m, k, n), m, k, n)
                print(f"{library} {label}: {gflops:.1f} GFLOP/s ({args.threads} threads)")
                if gflops > best.get(label, (0.0, ""))[0]:
                    best[label] = (gflops, library)
    for label, (gflops, library) in best.items():
        print(f"best {label}: {gflops:.1f} GFLOP/s ({library})")


if __name__ == "__main__":
    main()
