#!/usr/bin/env python3
"""Side-by-side speed of the numpy tutorial, `mnist-gpu --cpu` and each GPU backend.

Runs every implementation on the same settings, interleaved (numpy, cpu, gpu, numpy, cpu, ...)
and repeated, then prints one table: implementation, device, median seconds per round over all
repeats, speed-up over numpy float64, GFLOP/s achieved, test accuracy after the last round, and
the warm-up (start-up to first round: data loading, upload, shader compilation), which is
excluded from the per-round median.

    benches/compare.sh --rounds 5 --batch-size 60000      # full-batch speed
    benches/compare.sh --rounds 20                        # default settings, accuracy check
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def flops_per_round(sizes, images):
    """Forward, weight gradients and back-propagated errors (not into the input layer)."""
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return images * 2.0 * (3 * sum(macs) - macs[0])


def gemm_peak():
    """This machine's f32 matrix-multiply ceiling: the best of numpy's BLAS on large squares."""
    import numpy as np
    best = 0.0
    for n in (2048, 4096):
        a = np.random.default_rng(0).random((n, n), dtype=np.float32)
        a @ a
        for _ in range(5):
            start = time.perf_counter()
            a @ a
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def run_numpy(args, dtype):
    cmd = [sys.executable, os.path.join(HERE, "numpy_tutorial.py"), "--data", args.data,
           "--hidden", args.hidden, "--rounds", str(args.rounds), "--batch-size", str(args.batch_size),
           "--lr", str(args.lr), "--dtype", dtype]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1:] or ["failed"]
    wall = time.perf_counter() - start
    result = json.loads(next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))[7:])
    warmup = wall - sum(result["seconds"])
    return {"seconds": result["seconds"], "accuracy": result["test_accuracy"], "warmup": warmup,
            "device": "CPU (numpy BLAS)"}, None


def run_mnist_gpu(args, engine_flags):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.jsonl")
        cmd = [args.binary, "train", "--data", args.data, "--hidden", args.hidden,
               "--rounds", str(args.rounds), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
               "--metrics", metrics, *engine_flags]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if out.returncode != 0:
            return None, (out.stderr.strip().splitlines() or ["failed"])[-1:]
        with open(metrics) as f:
            records = [json.loads(l) for l in f if l.strip()]
    seconds = [r["seconds"] for r in records]
    accuracy = records[-1].get("test_accuracy")
    engine = re.search(r"^engine: (.*)$", out.stdout, re.M)
    # Everything but the rounds themselves and the evaluations: process start, data loading,
    # upload, pipeline creation. Evaluations are short and counted here too.
    warmup = wall - sum(seconds)
    return {"seconds": seconds, "accuracy": accuracy, "warmup": warmup,
            "device": engine.group(1) if engine else "?"}, None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("MNIST_GPU_DATA", os.path.expanduser("~/.cache/mnist-gpu/mnist")))
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "mnist-gpu"))
    p.add_argument("--hidden", default="128")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=60000)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--backends", default="vulkan", help="comma-separated GPU backends to try (vulkan,metal,dx12,gl)")
    p.add_argument("--skip-numpy32", action="store_true", help="leave out numpy float32")
    p.add_argument("--json", help="also write the table as JSON to this file")
    args = p.parse_args()

    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: build it first with `cargo build --release`")

    impls = [("numpy float64", lambda: run_numpy(args, "float64"))]
    if not args.skip_numpy32:
        impls.append(("numpy float32", lambda: run_numpy(args, "float32")))
    impls.append(("mnist-gpu --cpu", lambda: run_mnist_gpu(args, ["--cpu"])))
    for backend in [b for b in args.backends.split(",") if b]:
        impls.append((f"mnist-gpu --backend {backend}",
                      lambda b=backend: run_mnist_gpu(args, ["--backend", b])))

    print("measuring the f32 GEMM peak (numpy BLAS, 2048^3 and 4096^3) ...", file=sys.stderr, flush=True)
    peak_before = gemm_peak()
    runs = {name: [] for name, _ in impls}
    skipped = {}
    for repeat in range(args.repeats):
        for name, run in impls:
            if name in skipped:
                continue
            print(f"[{repeat + 1}/{args.repeats}] {name} ...", file=sys.stderr, flush=True)
            result, error = run()
            if result is None:
                skipped[name] = error[0] if error else "failed"
                print(f"    skipped: {skipped[name]}", file=sys.stderr)
            else:
                runs[name].append(result)

    peak = max(peak_before, gemm_peak())
    sizes = [784, *[int(h) for h in args.hidden.split(",")], 10]
    flops = flops_per_round(sizes, 60000)
    base = None
    rows = []
    for name, _ in impls:
        if not runs[name]:
            continue
        seconds = [s for r in runs[name] for s in r["seconds"]]
        median = statistics.median(seconds)
        if name == "numpy float64":
            base = median
        rows.append({
            "implementation": name,
            "device": runs[name][0]["device"],
            "median_seconds_per_round": median,
            "speedup_over_numpy_f64": (base / median) if base else None,
            "gflops": flops / median / 1e9,
            "fraction_of_peak": flops / median / 1e9 / peak,
            "test_accuracy": runs[name][-1]["accuracy"],
            "warmup_seconds": statistics.median(r["warmup"] for r in runs[name]),
        })

    print(f"\nnetwork {'-'.join(map(str, sizes))}, batch {args.batch_size}, lr {args.lr}, "
          f"{args.rounds} rounds x {args.repeats} repeats, {flops / 1e9:.2f} GFLOP per round; "
          f"f32 GEMM peak of this machine (numpy BLAS, best of before/after): {peak:.1f} GFLOP/s")
    header = (f"| {'implementation':<28} | {'device':<44} | s/round | speed-up | GFLOP/s | of peak "
              f"| test acc | warm-up s |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in rows:
        speedup = f"{r['speedup_over_numpy_f64']:.1f}x" if r["speedup_over_numpy_f64"] else "-"
        acc = f"{r['test_accuracy']:.2f}%" if r["test_accuracy"] is not None else "-"
        print(f"| {r['implementation']:<28} | {r['device'][:44]:<44} | {r['median_seconds_per_round']:7.3f} | "
              f"{speedup:>8} | {r['gflops']:7.1f} | {100 * r['fraction_of_peak']:6.1f}% | {acc:>8} "
              f"| {r['warmup_seconds']:9.2f} |")
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "peak_gflops": peak, "rows": rows, "skipped": skipped}, f,
                      indent=2)


if __name__ == "__main__":
    main()
