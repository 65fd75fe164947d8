#!/usr/bin/env python3
"""The tutorial's RBM in PyTorch, timed: rbm-lab's peer for training speed.

The algorithm (as rbm-lab's default mode): V visible (784 for MNIST), H hidden units,
W = randn * sqrt(2 / (V + H)), zero biases, batch 64, lr 0.005, CD-k whose chain uses
    v = sigmoid(h W^T + b_v) + 0.1 * randn    (noisy mean-field visibles)
    h ~ Bernoulli(sigmoid(v W + b_h)),
updates
    W   += lr (v0^T p(h|v0) - vk^T p(h|vk)) / B
    b_v += lr mean(v0 - vk),   b_h += lr mean(p(h|v0) - p(h|vk)),
and the L1 loss mean |vk - v0|.

Two forms:
  tutorial  written as the tutorial writes it: a module whose methods return new tensors, the chain
            recomputing p(h|v0) in its first step (2k + 4 products a batch);
  inplace   the peer to beat: preallocated buffers, products written into them by addmm and
            in-place element operations, p(h|v0) reused (2k + 3 products, as rbm-lab does).

Prints one line: samples/s of the training loop (reading the files excluded) and the last epoch's
mean L1.
"""

import math

import torch

from common import checked, load_training_images, timed_epochs, training_arguments


class TutorialRbm:
    """The tutorial's form: every operation makes a new tensor."""

    def __init__(self, n_visible, n_hidden, k, lr, noise):
        self.W = torch.randn(n_visible, n_hidden) * math.sqrt(2.0 / (n_visible + n_hidden))
        self.v_bias = torch.zeros(n_visible)
        self.h_bias = torch.zeros(n_hidden)
        self.k, self.lr, self.noise = k, lr, noise

    def hidden_probabilities(self, v):
        return torch.sigmoid(torch.matmul(v, self.W) + self.h_bias)

    def sample_hidden(self, v):
        return torch.bernoulli(self.hidden_probabilities(v))

    def visible_from(self, h):
        p = torch.sigmoid(torch.matmul(h, self.W.t()) + self.v_bias)
        return p + self.noise * torch.randn_like(p)

    def contrastive_divergence(self, v0):
        vk = v0
        for _ in range(self.k):
            h = self.sample_hidden(vk)
            vk = self.visible_from(h)
        p0 = self.hidden_probabilities(v0)
        pk = self.hidden_probabilities(vk)
        batch = v0.shape[0]
        self.W += self.lr * (torch.matmul(v0.t(), p0) - torch.matmul(vk.t(), pk)) / batch
        self.v_bias += self.lr * torch.mean(v0 - vk, dim=0)
        self.h_bias += self.lr * torch.mean(p0 - pk, dim=0)
        return torch.mean(torch.abs(vk - v0)).item()


class InplaceRbm:
    """The same algorithm with preallocated buffers and in-place operations."""

    def __init__(self, n_visible, n_hidden, batch, k, lr, noise):
        self.W = torch.randn(n_visible, n_hidden) * math.sqrt(2.0 / (n_visible + n_hidden))
        self.v_bias = torch.zeros(n_visible)
        self.h_bias = torch.zeros(n_hidden)
        self.k, self.lr, self.noise = k, lr, noise
        self.p0 = torch.empty(batch, n_hidden)
        self.pk = torch.empty(batch, n_hidden)
        self.h = torch.empty(batch, n_hidden)
        self.vk = torch.empty(batch, n_visible)
        self.noise_buffer = torch.empty(batch, n_visible)
        self.difference = torch.empty(batch, n_visible)

    def contrastive_divergence(self, v0):
        W, batch = self.W, v0.shape[0]
        p0, pk, h, vk = self.p0[:batch], self.pk[:batch], self.h[:batch], self.vk[:batch]
        noise = self.noise_buffer[:batch]
        torch.addmm(self.h_bias, v0, W, out=p0).sigmoid_()
        probabilities = p0
        for _ in range(self.k):
            torch.bernoulli(probabilities, out=h)
            torch.addmm(self.v_bias, h, W.t(), out=vk).sigmoid_()
            vk.add_(noise.normal_(), alpha=self.noise)
            torch.addmm(self.h_bias, vk, W, out=pk).sigmoid_()
            probabilities = pk
        # W += lr/B (v0^T p0 - vk^T pk), as two accumulating products.
        W.addmm_(v0.t(), p0, alpha=self.lr / batch)
        W.addmm_(vk.t(), pk, alpha=-self.lr / batch)
        self.v_bias.add_(v0.mean(dim=0) - vk.mean(dim=0), alpha=self.lr)
        self.h_bias.add_(p0.mean(dim=0) - pk.mean(dim=0), alpha=self.lr)
        difference = self.difference[:batch]
        torch.sub(vk, v0, out=difference)
        return difference.abs_().mean().item()


def main():
    parser = training_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=["tutorial", "inplace"], default="inplace")
    args = checked(parser, parser.parse_args())
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = torch.from_numpy(load_training_images(args.data))
    count, n_visible = images.shape
    with torch.no_grad():
        if args.variant == "tutorial":
            rbm = TutorialRbm(n_visible, args.hidden, args.k, args.lr, args.noise)
        else:
            rbm = InplaceRbm(n_visible, args.hidden, args.batch, args.k, args.lr, args.noise)
        samples, seconds, last_loss = timed_epochs(
            count, args.batch, args.epochs, torch.randperm, lambda rows: rbm.contrastive_divergence(images[rows])
        )
    print(
        f"torch-{args.variant} {n_visible}x{args.hidden} CD-{args.k} batch {args.batch}: "
        f"{samples / seconds:.0f} samples/s, last epoch mean L1 {last_loss:.5f} "
        f"({args.epochs} epochs, {torch.get_num_threads()} threads, torch {torch.__version__})"
    )


if __name__ == "__main__":
    main()
