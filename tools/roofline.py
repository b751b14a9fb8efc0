#!/usr/bin/env python3
"""Roofline model of one training round of the GPU engine (784-H…-10, the tutorial's SGD recipe).

Per kernel of a batch step, at the training shapes and the untuned discrete-GPU default tiles
(`KernelPlan::default_for`, see docs/kernels.md): FLOPs, bytes read and written in device memory,
workgroup-memory traffic, arithmetic intensity, workgroups per dispatch, and the roofline time on
three GPUs from their published fp32 peak and memory bandwidth; then the predicted round time
with the fixed costs of dispatches and submission. These are predictions, not measurements.

    python3 tools/roofline.py                 # 784-128-10, batch 1000 and 60000
    python3 tools/roofline.py --hidden 16,16
"""
import argparse
import math

# name, fp32 peak (FLOP/s), memory bandwidth (B/s), compute units (SMs / GPU cores), all
# published; and workgroup-memory bandwidth DERIVED as 128 bytes per clock per SM (NVIDIA's
# shared-memory width) × SMs × boost clock (H100 SXM 1.98 GHz, RTX 4090 2.52 GHz); Apple
# publishes none, so that term is left out for the M2.
GPUS = [
    ("H100 SXM", 67e12, 3.35e12, 132, 128 * 132 * 1.98e9),
    ("RTX 4090", 82.6e12, 1.01e12, 128, 128 * 128 * 2.52e9),
    ("Apple M2 (10-core GPU)", 3.6e12, 100e9, 10, None),
]
# Untuned defaults on a discrete GPU, (BM, BN, BK, TM, TN), as src/engine/gpu/plan.rs sets them.
WIDE = (64, 64, 16, 8, 8)
FORWARD_NARROW = (64, 16, 16, 4, 4)   # a later layer's forward when N is the 10 classes
GRADIENT_NARROW = (16, 64, 16, 4, 4)  # its weight gradient when M is the 10 classes
ROWS_PER_SPLIT, MAX_SPLITS = 512, 32  # src/engine/gpu/params.rs
# Fixed costs. Submitting a round and waiting for its readback through wgpu: ~1.5–2 ms
# (published launch-to-completion figures for wgpu on an M1 and a V100). Between two dependent
# dispatches in one compute pass the GPU drains and launches again: ASSUMED 5 µs, not measured.
SUBMIT_S = 2e-3
DISPATCH_GAP_S = 5e-6


def gemm(name, m, n, k, tile, a_bytes, b_bytes, extra_read=0, out_bytes=None, splits=1):
    """C (m×n) = A (m×k)·B (k×n) in BM×BN tiles. Device traffic is the compulsory one (each
    operand read once): A is re-read by every column of tiles and B by every row of tiles, but
    the re-read operand is the small one here (a layer's weights, 0.4 MB) or is re-read by
    neighbouring workgroups at the same time, so the L2 cache (50 MB on an H100, 72 MB on an
    RTX 4090) serves the repeats. Workgroup memory: every staged element is written once and
    each invocation reads TM + TN values per k for its TM×TN block."""
    bm, bn, bk, tm, tn = tile
    col_tiles, row_tiles = math.ceil(n / bn), math.ceil(m / bm)
    read = a_bytes * m * k + b_bytes * k * n + extra_read
    written = (out_bytes if out_bytes is not None else 4 * m * n) * splits
    padded_k = math.ceil(k / splits / bk) * bk * splits
    groups = col_tiles * row_tiles * splits
    staged = 4 * groups * padded_k // splits * (bm + bn)
    shared_reads = 4 * groups * (bm // tm) * (bn // tn) * (padded_k // splits) * (tm + tn)
    return dict(name=name, flops=2 * m * n * k, read=read, write=written,
                wg=staged + shared_reads, groups=groups, tile=tile)


def simple(name, read, write, flops, groups):
    return dict(name=name, flops=flops, read=read, write=write, wg=0, groups=groups, tile=None)


def batch_step(sizes, b):
    """The dispatches of one batch step, in the order the engine records them."""
    ks = []
    layers = list(zip(sizes[:-1], sizes[1:]))
    for l, (i, o) in enumerate(layers):
        if l == 0:  # packed u8 pixels gathered through the order buffer; weights + biases
            ks.append(gemm(f"forward_input_tiled ({i}→{o})", b, o, i, WIDE, 1, 4, 4 * b + 4 * o))
        else:
            tile = FORWARD_NARROW if o <= 16 else WIDE
            ks.append(gemm(f"forward_hidden_tiled ({i}→{o})", b, o, i, tile, 4, 4, 4 * o))
    top = sizes[-1]
    ks.append(simple("output_error", 4 * b * top + 8 * b, 4 * b * top, 3 * b * top, math.ceil(b / 64)))
    ks.append(simple("batch_cost", 4 * b * top + 8 * b, 4, 3 * b * top, 1))
    splits = min(max(math.ceil(b / ROWS_PER_SPLIT), 1), MAX_SPLITS)
    for l in reversed(range(len(layers))):
        i, o = layers[l]
        if l > 0:  # δ[l-1] = (δ[l]·W[l]) ⊙ f'(a[l-1]): M = rows, N = i, K = o
            ks.append(gemm(f"backprop_error_tiled ({o}→{i})", b, i, o, WIDE, 4, 4, 4 * b * i))
        a_bytes = 1 if l == 0 else 4
        name = "weight_gradient_input_tiled" if l == 0 else "weight_gradient_hidden_tiled"
        tile = GRADIENT_NARROW if o <= 16 else WIDE
        # P[s] = δᵀ (o×rows of split s) · A (rows×i): every split writes an o×i block.
        ks.append(gemm(f"{name} ({o}×{i}, {splits} splits)", o, i, b, tile, 4, a_bytes,
                       out_bytes=4 * o * i, splits=splits))
        ks.append(simple(f"weight_update ({o}×{i})", 4 * o * i * (splits + 1), 4 * o * i,
                         (splits + 1) * o * i, math.ceil(o * i / 4 / 64)))
        ks.append(simple(f"bias_update ({o})", 4 * b * o + 4 * o, 4 * o, b * o, math.ceil(o / 64)))
    return ks


def kernel_time(k, peak, bandwidth, units, shared_bandwidth):
    """Roofline time: the largest of compute (limited to the share of the GPU's compute units
    the dispatch's workgroups can occupy), device memory and workgroup memory (both limited
    the same way for workgroup memory, which is per unit)."""
    fill = min(1.0, k["groups"] / units)
    times = {
        "compute": k["flops"] / (peak * fill),
        "memory": (k["read"] + k["write"]) / bandwidth,
    }
    if shared_bandwidth and k["wg"]:
        times["workgroup memory"] = k["wg"] / (shared_bandwidth * fill)
    bound = max(times, key=times.get)
    return times[bound], bound, fill


def fmt_bytes(x):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f} {unit}"
    return f"{x:.0f} B"


def fmt_time(s):
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def report(sizes, b, train):
    ks = batch_step(sizes, b)
    steps = math.ceil(train / b)
    print(f"\n#### {'-'.join(map(str, sizes))}, batch {b}: {steps} batch step(s) per round, "
          f"{len(ks)} dispatches each\n")
    print("| kernel | MFLOP | device read | device write | workgroup memory | FLOP/byte | workgroups | "
          + " | ".join(g[0] for g in GPUS) + " |")
    print("|---" * (7 + len(GPUS)) + "|")
    totals = [0.0] * len(GPUS)
    for k in ks:
        dev = k["read"] + k["write"]
        cells = []
        for n, (_, peak, bw, units, shared) in enumerate(GPUS):
            t, bound, fill = kernel_time(k, peak, bw, units, shared)
            totals[n] += t
            note = f"{bound}" + (f", {fill:.0%} of units" if fill < 1 and bound != "memory" else "")
            cells.append(f"{fmt_time(t)} ({note})")
        print(f"| `{k['name']}` | {k['flops'] / 1e6:.2f} | {fmt_bytes(k['read'])} | {fmt_bytes(k['write'])} | "
              f"{fmt_bytes(k['wg']) if k['wg'] else '–'} | {k['flops'] / dev:.1f} | {k['groups']} | "
              + " | ".join(cells) + " |")
    print(f"| **batch step** | {sum(k['flops'] for k in ks) / 1e6:.1f} | "
          f"{fmt_bytes(sum(k['read'] for k in ks))} | {fmt_bytes(sum(k['write'] for k in ks))} | | | | "
          + " | ".join(f"**{fmt_time(t)}**" for t in totals) + " |")
    dispatches = len(ks) * steps
    print(f"\nPredicted round ({dispatches} dispatches in one submission; dispatch gap "
          f"{fmt_time(DISPATCH_GAP_S)} assumed, submission + readback {fmt_time(SUBMIT_S)}):\n")
    print("| GPU | kernels (roofline) | dispatch gaps | submission | predicted round | of which kernels |")
    print("|---|---|---|---|---|---|")
    for (name, *_), t in zip(GPUS, totals):
        kernels = t * steps
        gaps = dispatches * DISPATCH_GAP_S
        total = kernels + gaps + SUBMIT_S
        print(f"| {name} | {fmt_time(kernels)} | {fmt_time(gaps)} | {fmt_time(SUBMIT_S)} | "
              f"**{fmt_time(total)}** | {kernels / total:.0%} |")


def main():
    p = argparse.ArgumentParser(description="Roofline model of a GPU training round (predictions).")
    p.add_argument("--hidden", default="128", help="hidden sizes, e.g. 128 or 16,16")
    p.add_argument("--train", type=int, default=60000, help="training images per round")
    p.add_argument("--batch", type=int, action="append", help="batch sizes [1000, 60000]")
    args = p.parse_args()
    sizes = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    for b in args.batch or [1000, 60000]:
        report(sizes, b, args.train)


if __name__ == "__main__":
    main()
