#!/usr/bin/env python3
"""The `--preset fast` recipe in JAX (CPU), as the peer of `mnist-gpu train --cpu --preset fast`.

Same recipe: images deskewed as mnist-gpu's `--preprocess deskew` does it (the same
arithmetic in f64, ported below), 784-H-10, relu hidden layer, softmax with cross-entropy, He-uniform weights and zero
biases, Adam (beta1 0.9, beta2 0.999, eps 1e-8) with a per-step cosine learning rate to 0 at the
end of the last planned round, batches of B images in a new random order every round, test
accuracy after every round, stop at the target. The training loop of a round is one jitted
`lax.scan` over its full batches (plus one step for a partial last batch), so Python is not in
the inner loop. Compilation is done before the clock starts and reported apart, like data
loading; the time to target is the rounds' wall time, evaluation excluded (as mnist-gpu counts).

    python3 benches/jax_fast.py --data /path/to/mnist --target 98

Prints the same kind of lines as mnist-gpu and a machine-readable `RESULT {json}` line.
Needs `pip install jax` (CPU wheels).
"""
import argparse
import json
import os
import time

import numpy as np

# The IDX reader and file lookup of the numpy tutorial script beside this one.
from numpy_tutorial import find, read_idx


def deskew(images):
    """`images` (n × rows × cols grey levels) sheared upright and centred by their ink's
    moments, rounded back to levels: src/ops/preprocess.rs's arithmetic, batched."""
    n, rows, cols = images.shape
    out = np.empty_like(images)
    r = np.arange(rows, dtype=np.float64)[None, :, None]
    c = np.arange(cols, dtype=np.float64)[None, None, :]
    pad = max(rows, cols) + 4
    for start in range(0, n, 5000):
        x = images[start:start + 5000].astype(np.float64)
        b = x.shape[0]
        ink = x.sum(axis=(1, 2))
        safe = np.where(ink > 0, ink, 1.0)
        mean_r = (x * r).sum(axis=(1, 2)) / safe
        mean_c = (x * c).sum(axis=(1, 2)) / safe
        dr = r - mean_r[:, None, None]
        dc = c - mean_c[:, None, None]
        var_r = (dr * dr * x).sum(axis=(1, 2))
        cov = (dr * dc * x).sum(axis=(1, 2))
        keep = (ink <= 0) | (var_r <= 1e-12 * ink)
        slant = np.where(keep, 0.0, cov / np.where(keep, 1.0, var_r))
        shift_r = mean_r - rows / 2
        whole_r = np.floor(shift_r)
        frac_r = (shift_r - whole_r)[:, None, None]
        whole_r = np.clip(whole_r, -(rows + 2), rows + 2).astype(np.int64)
        offset_c = (mean_c[:, None] - cols / 2
                    + slant[:, None] * (np.arange(rows, dtype=np.float64)[None, :] - rows / 2))
        whole_c = np.floor(offset_c)
        frac_c = (offset_c - whole_c)[:, :, None]
        whole_c = np.clip(whole_c, -(cols + 2), cols + 2).astype(np.int64)
        padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        top = (np.arange(rows)[None, :, None] + whole_r[:, None, None] + pad)
        left = (np.arange(cols)[None, None, :] + whole_c[:, :, None] + pad)
        i = np.arange(b)[:, None, None]
        upper = (1.0 - frac_c) * padded[i, top, left] + frac_c * padded[i, top, left + 1]
        lower = (1.0 - frac_c) * padded[i, top + 1, left] + frac_c * padded[i, top + 1, left + 1]
        value = (1.0 - frac_r) * upper + frac_r * lower
        value = np.where(keep[:, None, None], x, value)
        out[start:start + b] = np.clip(np.floor(value + 0.5), 0, 255).astype(np.uint8)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.environ.get("MNIST_GPU_DATA", ""))
    p.add_argument("--preprocess", choices=["deskew", "none"], default="deskew")
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.015)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--target", type=float, default=98.0)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()

    started = time.perf_counter()
    import jax
    import jax.numpy as jnp

    t = time.perf_counter()
    def prepare(images):
        images = images.reshape(-1, 28, 28)
        return deskew(images) if args.preprocess == "deskew" else images
    x_train = prepare(read_idx(find(args.data, "train-images-idx3-ubyte")))
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255.0
    y_train = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int32)
    x_test = prepare(read_idx(find(args.data, "t10k-images-idx3-ubyte")))
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255.0
    y_test = read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int32)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    x_test, y_test = jnp.asarray(x_test), jnp.asarray(y_test)
    loading = time.perf_counter() - t

    n, hidden, batch = x_train.shape[0], args.hidden, args.batch_size
    full, rest = divmod(n, batch)
    steps_per_round = full + (1 if rest else 0)
    total_steps = steps_per_round * args.rounds

    rng = np.random.default_rng(args.seed)

    def he(fan_in, fan_out):
        bound = np.sqrt(6.0 / fan_in)
        return jnp.asarray(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))

    params = {"w1": he(784, hidden), "b1": jnp.zeros(hidden), "w2": he(hidden, 10),
              "b2": jnp.zeros(10)}
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = (params, zeros, zeros, jnp.int32(0))

    def loss_fn(p, x, y):
        h = jax.nn.relu(x @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(y.shape[0]), y])

    def lr_at(step):
        # The learning rate at the start of step `step` (from 0): cosine to 0 at total_steps.
        progress = step.astype(jnp.float32) / total_steps
        return args.lr * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))

    def step(state, idx):
        p, m, v, t = state
        loss, g = jax.value_and_grad(loss_fn)(p, x_train[idx], y_train[idx])
        t1 = t + 1
        lr = lr_at(t)
        c1 = 1.0 / (1.0 - 0.9 ** t1.astype(jnp.float32))
        c2 = 1.0 / (1.0 - 0.999 ** t1.astype(jnp.float32))
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        p = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m * c1) / (jnp.sqrt(v * c2) + 1e-8), p, m, v)
        return (p, m, v, t1), loss

    @jax.jit
    def round_fn(state, order):
        state, losses = jax.lax.scan(step, state, order[: full * batch].reshape(full, batch))
        total = jnp.sum(losses)
        if rest:
            state, last = step(state, order[full * batch:])
            total = total + last
        return state, total / steps_per_round

    @jax.jit
    def correct(p):
        h = jax.nn.relu(x_test @ p["w1"] + p["b1"])
        return jnp.sum(jnp.argmax(h @ p["w2"] + p["b2"], axis=1) == y_test)

    t = time.perf_counter()
    order0 = jnp.asarray(np.arange(n, dtype=np.int32))
    round_compiled = round_fn.lower(state, order0).compile()
    correct_compiled = correct.lower(params).compile()
    compiling = time.perf_counter() - t

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {args.preprocess} inputs, "
          f"784-{hidden}-10 relu, softmax "
          f"+ cross-entropy, Adam lr {args.lr} cosine, batch {batch}, {args.rounds} rounds")
    training = 0.0
    evaluation = 0.0
    reached = None
    accuracy = 0.0
    for r in range(1, args.rounds + 1):
        order = jnp.asarray(rng.permutation(n).astype(np.int32))
        t = time.perf_counter()
        state, cost = round_compiled(state, order)
        cost = float(cost)  # waits for the round
        seconds = time.perf_counter() - t
        training += seconds
        t = time.perf_counter()
        accuracy = 100.0 * int(correct_compiled(state[0])) / x_test.shape[0]
        evaluation += time.perf_counter() - t
        print(f"round {r}/{args.rounds}  cost {cost:.6f}  {seconds:.3f} s  "
              f"test accuracy {accuracy:.2f}%", flush=True)
        if accuracy >= args.target:
            reached = r
            break
    total = time.perf_counter() - started
    if reached:
        print(f"time to target: {accuracy:.2f}% test accuracy >= {args.target}% after round "
              f"{reached}: {training:.2f} s of training (the rounds' wall time)")
    else:
        print(f"target not reached in {args.rounds} rounds ({training:.2f} s of training)")
    print(f"apart from training: data loading {loading:.2f} s, compilation {compiling:.2f} s, "
          f"evaluation {evaluation:.2f} s; total wall time {total:.2f} s")
    print("RESULT " + json.dumps({"reached_round": reached, "training_seconds": training,
                                  "accuracy": accuracy, "compile_seconds": compiling,
                                  "loading_seconds": loading, "total_seconds": total}))


if __name__ == "__main__":
    main()
