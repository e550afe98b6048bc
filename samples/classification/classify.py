#!/usr/bin/env python3
"""Classification sample: image -> plan -> top-k classes with scores (printed, and as JSON with --json).
The same steps as classify.cpp; runs a CPU or a GPU plan with the same code (common/sample_common.py)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_common as sc  # noqa: E402


def main():
    ap = sc.image_arg_parser(__doc__)
    ap.add_argument("--labels", help="class names, one per line")
    ap.add_argument("--top", type=int, default=5)
    sc.add_image_args(ap, mean_help="per-channel mean of pixels scaled to 0..1")
    a = ap.parse_args()

    runner = sc.PlanRunner(a.plan)
    image = sc.load_image(a.image)
    out, _, _ = sc.run_image(runner, image, a, check_channels=True)
    scores = out[runner.outputs[0]].astype(np.float64).ravel()

    # probabilities: as they are if they already sum to 1, else a softmax
    if not (np.all((scores >= 0) & (scores <= 1)) and abs(scores.sum() - 1.0) < 1e-3):
        e = np.exp(scores - scores.max())
        scores = e / e.sum()
    order = np.argsort(-scores, kind="stable")[:min(a.top, scores.size)]
    labels = sc.read_labels(a.labels)
    print(f"{a.plan} on {runner.device} ({image.shape[1]}x{image.shape[0]}), {scores.size} classes, top {order.size}:")
    top = []
    for rank, cls in enumerate(order):
        label = labels[cls] if cls < len(labels) else f"class {cls}"
        print(f"  {rank + 1}. {label:<24} {scores[cls]:.6f}")
        top.append({"class": int(cls), "label": label, "score": float(scores[cls])})
    sc.write_json(a.json, {"device": runner.device, "classes": int(scores.size), "top": top})


if __name__ == "__main__":
    main()
