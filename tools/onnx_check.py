#!/usr/bin/env python3
"""Checks an ONNX model written by `mnist-gpu export` with the ONNX checker and ONNX Runtime.

Reads raw 28x28 grey images (uint8, row-major, one after another), mnist-gpu's own outputs
for them (float32 little-endian, 10 per image) and optionally their labels (uint8), runs the
model on the images as the graph's input expects them (float32 N x 1 x 28 x 28, levels 0-255)
and prints one JSON line: the largest output difference, how many predicted digits differ,
the accuracy against the labels, the model's metadata and the versions used.

Needs: pip install onnx onnxruntime numpy
"""

import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="uint8 N x 784")
    parser.add_argument("--expected", required=True, help="float32 N x 10")
    parser.add_argument("--labels", help="uint8 N")
    parser.add_argument(
        "--deskewed", help="uint8 N x 784: the images as mnist-gpu deskews them, to compare pixels"
    )
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    metadata = {p.key: p.value for p in model.metadata_props}

    images = np.fromfile(args.images, dtype=np.uint8).reshape(-1, 1, 28, 28)
    expected = np.fromfile(args.expected, dtype="<f4").reshape(images.shape[0], -1)
    names = [o.name for o in model.graph.output]
    if args.deskewed:
        # Expose the deskewed grey levels the graph computes inside as a third output.
        inner = [o for n in model.graph.node for o in n.output if o.startswith("deskewed_levels")]
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(inner[0], onnx.TensorProto.FLOAT, None)
        )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    scores, digits, levels = [], [], []
    for start in range(0, images.shape[0], args.batch):
        batch = images[start : start + args.batch].astype(np.float32)
        out = session.run(None, {session.get_inputs()[0].name: batch})
        scores.append(out[0])
        digits.append(out[1])
        if args.deskewed:
            levels.append(out[2].reshape(-1, 784))
    seconds = time.perf_counter() - started
    scores = np.concatenate(scores)
    digits = np.concatenate(digits)
    diff = np.abs(scores.astype(np.float64) - expected)
    # Images whose deskewed grey levels agree with mnist-gpu's: there the outputs may differ
    # only by the order of f32 sums (one level more or less moves an input by 1/255).
    same_input = np.ones(images.shape[0], dtype=bool)
    if args.deskewed:
        theirs = np.fromfile(args.deskewed, dtype=np.uint8).reshape(-1, 784).astype(np.float32)
        level_diff = np.abs(np.concatenate(levels) - theirs)
        same_input = ~np.any(level_diff > 0, axis=1)
    # The first index of the largest output, as mnist-gpu counts.
    expected_digits = np.argmax(expected, axis=1)
    report = {
        "images": int(images.shape[0]),
        "max_abs_diff": float(np.max(diff)),
        "max_abs_diff_same_input": float(np.max(diff[same_input], initial=0.0)),
        "digits_differ": int(np.sum(digits != expected_digits)),
        "argmax_of_scores_differs": int(np.sum(np.argmax(scores, axis=1) != digits)),
        "outputs": names,
        "input": session.get_inputs()[0].name,
        "input_shape": [str(d) for d in session.get_inputs()[0].shape],
        "producer": f"{model.producer_name} {model.producer_version}",
        "opset": int(model.opset_import[0].version),
        "doc_string": model.doc_string,
        "metadata": metadata,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "run_seconds": seconds,
    }
    if args.deskewed:
        report["deskewed_pixels_differ"] = int(np.sum(level_diff > 0))
        report["deskewed_max_level_diff"] = float(np.max(level_diff))
        which = np.flatnonzero(~same_input)
        report["deskewed_images_differ"] = int(len(which))
        report["deskewed_which"] = [int(i) for i in which[:10]]
    if args.labels:
        labels = np.fromfile(args.labels, dtype=np.uint8)
        report["correct"] = int(np.sum(digits == labels))
        report["accuracy"] = 100.0 * report["correct"] / len(labels)
    print(json.dumps(report))


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        print(f"onnx_check: {e} (pip install onnx onnxruntime numpy)", file=sys.stderr)
        sys.exit(3)
