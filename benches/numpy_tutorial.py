#!/usr/bin/env python3
"""The numpy tutorial's vectorised MNIST trainer, as the baseline mnist-gpu is compared with.

Same network, cost, round semantics and hyper-parameters as `mnist-gpu train`:
  * images as columns, X has shape (784, N), pixel / 255
  * one-hot targets Y with shape (10, N)
  * sigmoid layers Z = W·A + b, A = sigmoid(Z); W has shape (out, in)
  * init: W and b uniform(-0.5, 0.5)
  * batch cost C = 1/(2B) · sum((A_L - Y)^2) (the quadratic cost), gradients by backpropagation,
    plain gradient descent W -= lr · dC/dW
  * a round is one pass over all training images in batches of --batch-size;
    the printed cost of a round is the mean of its batch costs.

It prints the same figures as `mnist-gpu train` (cost per round, accuracy, seconds per round),
plus one machine-readable `RESULT {json}` line at the end for benches/compare.sh.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows * cols)
    if magic == 2049:
        return np.frombuffer(data, dtype=np.uint8, offset=8)
    sys.exit(f"{path}: not an IDX image or label file (magic {magic})")


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    sys.exit(f"{folder}: {stem}[.gz] not found (set --data or MNIST_GPU_DATA)")


def load(folder, dtype):
    def images(stem):
        return (read_idx(find(folder, stem)).T.astype(dtype) / dtype(255)).copy()

    def labels(stem):
        return read_idx(find(folder, stem)).astype(np.int64)

    return (
        images("train-images-idx3-ubyte"),
        labels("train-labels-idx1-ubyte"),
        images("t10k-images-idx3-ubyte"),
        labels("t10k-labels-idx1-ubyte"),
    )


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes, rng, dtype):
        self.W = [(rng.random((o, i)) - 0.5).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
        self.b = [(rng.random((o, 1)) - 0.5).astype(dtype) for o in sizes[1:]]

    def forward(self, X):
        A = [X]
        for W, b in zip(self.W, self.b):
            A.append(sigmoid(W @ A[-1] + b))
        return A

    def accuracy(self, X, labels):
        return 100.0 * np.mean(np.argmax(self.forward(X)[-1], axis=0) == labels)

    def step(self, X, Y, lr):
        A = self.forward(X)
        B = X.shape[1]
        cost = np.sum((A[-1] - Y) ** 2) / (2 * B)
        dA = (A[-1] - Y) / B
        for layer in range(len(self.W) - 1, -1, -1):
            dZ = dA * A[layer + 1] * (1.0 - A[layer + 1])
            if layer > 0:
                dA = self.W[layer].T @ dZ
            self.W[layer] -= lr * (dZ @ A[layer].T)
            self.b[layer] -= lr * dZ.sum(axis=1, keepdims=True)
        return float(cost)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("MNIST_GPU_DATA", os.path.expanduser("~/.cache/mnist-gpu/mnist")))
    p.add_argument("--hidden", default="128", help="comma-separated hidden layer sizes")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--shuffle", action="store_true")
    p.add_argument("--eval-every", type=int, default=0, help="test accuracy every K rounds (and after the last)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = p.parse_args()

    dtype = np.float64 if args.dtype == "float64" else np.float32
    X, labels, Xt, labels_t = load(args.data, dtype)
    Y = np.eye(10, dtype=dtype)[labels].T.copy()
    hidden = [int(h) for h in args.hidden.split(",") if h]
    sizes = [X.shape[0], *hidden, 10]
    rng = np.random.default_rng(args.seed)
    net = Network(sizes, rng, dtype)
    n = X.shape[1]
    print(f"numpy {np.__version__} {args.dtype}: network {'-'.join(map(str, sizes))}, batch {args.batch_size}, lr {args.lr}")
    print(f"test accuracy after initialisation: {net.accuracy(Xt, labels_t):.2f}%")

    seconds, costs = [], []
    accuracy = None
    for r in range(1, args.rounds + 1):
        start = time.perf_counter()
        order = rng.permutation(n) if args.shuffle else None
        batch_costs = []
        for lo in range(0, n, args.batch_size):
            if order is None:
                xb, yb = X[:, lo : lo + args.batch_size], Y[:, lo : lo + args.batch_size]
            else:
                idx = order[lo : lo + args.batch_size]
                xb, yb = X[:, idx], Y[:, idx]
            batch_costs.append(net.step(xb, yb, dtype(args.lr)))
        cost = float(np.mean(batch_costs))
        seconds.append(time.perf_counter() - start)
        costs.append(cost)
        line = f"round {r:>4}/{args.rounds}  cost {cost:.6f}  {seconds[-1]:.3f} s"
        if r == args.rounds or (args.eval_every and r % args.eval_every == 0):
            accuracy = net.accuracy(Xt, labels_t)
            line += f"  test accuracy {accuracy:.2f}%"
        print(line, flush=True)

    median = float(np.median(seconds))
    print(f"test accuracy after training: {accuracy:.2f}%")
    print(f"median time per round: {median:.3f} s")
    print("RESULT " + json.dumps({"impl": f"numpy {args.dtype}", "median_seconds": median, "seconds": seconds,
                                  "costs": costs, "test_accuracy": accuracy}))


if __name__ == "__main__":
    main()
