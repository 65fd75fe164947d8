#!/usr/bin/env python3
"""The tutorial's RBM in numpy, timed: rbm-lab's peer for training speed on numpy's BLAS.

The same algorithm as torch_rbm.py (noisy mean-field CD-k, batch 64, lr 0.005, L1 loss), written
with preallocated float32 buffers, products into them (`np.matmul(..., out=)`) and in-place element
operations; p(h|v0) is reused by the chain's first step (2k + 3 products a batch). The BLAS thread
count is set with threadpoolctl.

Prints one line: samples/s of the training loop (reading the files excluded) and the last epoch's
mean L1.
"""

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from common import checked, load_training_images, timed_epochs, training_arguments


def sigmoid_(x):
    """x <- 1 / (1 + exp(-x)), in place (exp overflows to inf for x < -88: the result is 0)."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += np.float32(1.0)
    np.reciprocal(x, out=x)


class NumpyRbm:
    def __init__(self, n_visible, n_hidden, batch, k, lr, noise, rng):
        scale = np.float32(np.sqrt(2.0 / (n_visible + n_hidden)))
        self.W = rng.standard_normal((n_visible, n_hidden), dtype=np.float32) * scale
        self.v_bias = np.zeros(n_visible, dtype=np.float32)
        self.h_bias = np.zeros(n_hidden, dtype=np.float32)
        self.k, self.lr, self.noise, self.rng = k, np.float32(lr), np.float32(noise), rng
        self.p0 = np.empty((batch, n_hidden), dtype=np.float32)
        self.pk = np.empty((batch, n_hidden), dtype=np.float32)
        self.h = np.empty((batch, n_hidden), dtype=np.float32)
        self.uniform = np.empty((batch, n_hidden), dtype=np.float32)
        self.vk = np.empty((batch, n_visible), dtype=np.float32)
        self.gaussian = np.empty((batch, n_visible), dtype=np.float32)
        self.gradient = np.empty((n_visible, n_hidden), dtype=np.float32)
        self.model_term = np.empty((n_visible, n_hidden), dtype=np.float32)

    def contrastive_divergence(self, v0):
        batch = v0.shape[0]
        W, rng = self.W, self.rng
        p0, pk, h, u = self.p0[:batch], self.pk[:batch], self.h[:batch], self.uniform[:batch]
        vk, z = self.vk[:batch], self.gaussian[:batch]
        np.matmul(v0, W, out=p0)
        p0 += self.h_bias
        sigmoid_(p0)
        probabilities = p0
        for _ in range(self.k):
            rng.random(out=u, dtype=np.float32)
            np.less(u, probabilities, out=h, casting="unsafe")
            np.matmul(h, W.T, out=vk)
            vk += self.v_bias
            sigmoid_(vk)
            rng.standard_normal(out=z, dtype=np.float32)
            z *= self.noise
            vk += z
            np.matmul(vk, W, out=pk)
            pk += self.h_bias
            sigmoid_(pk)
            probabilities = pk
        np.matmul(v0.T, p0, out=self.gradient)
        np.matmul(vk.T, pk, out=self.model_term)
        self.gradient -= self.model_term
        self.gradient *= self.lr / np.float32(batch)
        W += self.gradient
        self.v_bias += self.lr * (v0.mean(axis=0) - vk.mean(axis=0))
        self.h_bias += self.lr * (p0.mean(axis=0) - pk.mean(axis=0))
        return float(np.abs(vk - v0).mean())


def main():
    parser = training_arguments(__doc__.split("\n\n")[0])
    args = checked(parser, parser.parse_args())
    rng = np.random.default_rng(args.seed)
    images = load_training_images(args.data)
    count, n_visible = images.shape
    limits = threadpool_limits(limits=args.threads, user_api="blas") if args.threads > 0 else None
    blas = ", ".join(f"{i['internal_api']} {i.get('version') or ''} {i['num_threads']} threads".strip()
                     for i in threadpool_info() if i["user_api"] == "blas")
    rbm = NumpyRbm(n_visible, args.hidden, args.batch, args.k, args.lr, args.noise, rng)
    with np.errstate(over="ignore"):
        samples, seconds, last_loss = timed_epochs(
            count, args.batch, args.epochs, rng.permutation, lambda rows: rbm.contrastive_divergence(images[rows])
        )
    if limits is not None:
        limits.restore_original_limits()
    print(
        f"numpy {n_visible}x{args.hidden} CD-{args.k} batch {args.batch}: "
        f"{samples / seconds:.0f} samples/s, last epoch mean L1 {last_loss:.5f} "
        f"({args.epochs} epochs, numpy {np.__version__}, {blas})"
    )


if __name__ == "__main__":
    main()
