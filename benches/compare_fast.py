#!/usr/bin/env python3
"""Time to 98% test accuracy: `mnist-gpu train --cpu --preset fast` against the same recipe in
JAX (benches/jax_fast.py), interleaved and repeated on the same machine in the same run.

    python3 benches/compare_fast.py --repeats 3 [--jax-python /path/to/venv/bin/python]

Build first (`cargo build --release`); JAX must be importable by --jax-python (`pip install
jax`). Prints one line per run and a table of medians: training seconds to the target (the
rounds' wall time), the round it was reached in, and the time apart from training (data loading,
engine setup or compilation, evaluation) and the total wall time.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    text = out.stdout + out.stderr
    hit = re.search(r"time to target: ([\d.]+)% .* after round (\d+): ([\d.]+) s of training", text)
    total = re.search(r"total wall time ([\d.]+) s", text)
    apart = re.search(r"apart from training: (.*); total", text)
    if out.returncode != 0 or not hit:
        return {"failed": text.strip().splitlines()[-3:]}
    return {"accuracy": float(hit.group(1)), "round": int(hit.group(2)),
            "seconds": float(hit.group(3)), "total": float(total.group(1)) if total else None,
            "apart": apart.group(1) if apart else ""}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.environ.get("MNIST_GPU_DATA", ""))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--target", type=float, default=98.0)
    p.add_argument("--jax-python", default=sys.executable)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "mnist-gpu"))
    args = p.parse_args()
    target = str(args.target)
    commands = {
        "mnist-gpu --cpu --preset fast": [args.bin, "train", "--cpu", "--preset", "fast",
                                          "--data", args.data, "--target-accuracy", target],
        "JAX (benches/jax_fast.py)": [args.jax_python, os.path.join(HERE, "jax_fast.py"),
                                      "--data", args.data, "--target", target],
    }
    results = {name: [] for name in commands}
    for repeat in range(args.repeats):
        for name, cmd in commands.items():
            r = run(cmd)
            results[name].append(r)
            print(f"{repeat + 1}: {name}: {r}", flush=True)
    print()
    print("| implementation | training s to target (median) | all runs | round reached | "
          "test acc. | total wall s (median) |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        ok = [r for r in runs if "failed" not in r]
        if not ok:
            print(f"| {name} | failed | | | | |")
            continue
        secs = [r["seconds"] for r in ok]
        print(f"| {name} | {statistics.median(secs):.2f} | "
              f"{', '.join(f'{s:.2f}' for s in secs)} | {ok[0]['round']} | "
              f"{ok[0]['accuracy']:.2f}% | {statistics.median(r['total'] for r in ok):.2f} |")


if __name__ == "__main__":
    main()
