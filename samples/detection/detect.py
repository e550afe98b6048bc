#!/usr/bin/env python3
"""Detection sample: image -> plan -> SSD-style anchor decode -> score threshold -> per-class NMS -> boxes
drawn on the image (PNG), printed, and as JSON with --json. The same steps as detect.cpp (see its --help
for the anchor layout); runs a CPU or a GPU plan with the same code (common/sample_common.py)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_common as sc  # noqa: E402


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(cands, iou_threshold, max_detections):
    """Greedy per-class NMS; cands are (score, anchor, class, box); highest score first, ties by anchor."""
    kept = []
    for cand in sorted(cands, key=lambda t: (-t[0], t[1])):
        if all(k[2] != cand[2] or iou(k[3], cand[3]) <= iou_threshold for k in kept):
            kept.append(cand)
            if len(kept) == max_detections:
                break
    return kept


def main():
    ap = sc.image_arg_parser(__doc__)
    ap.add_argument("--output", required=True, help="the image with the boxes (PNG)")
    ap.add_argument("--anchor-sizes", default="16,32")
    ap.add_argument("--score-threshold", type=float, default=0.5)
    ap.add_argument("--iou-threshold", type=float, default=0.45)
    ap.add_argument("--max-detections", type=int, default=100)
    ap.add_argument("--labels")
    sc.add_image_args(ap)
    a = ap.parse_args()

    runner = sc.PlanRunner(a.plan)
    image = sc.load_image(a.image)
    out, in_w, in_h = sc.run_image(runner, image, a)
    if len(out) != 2:
        sc.fail("the detector needs two outputs (deltas, logits)")
    names = [n for n in runner.outputs if out[n].ndim == 3 and out[n].shape[2] == 4][:1]
    if not names:
        sc.fail("expected outputs deltas [1,A,4] and logits [1,A,C]")
    deltas = out[names[0]][0].astype(np.float32)
    logits = out[[n for n in runner.outputs if n != names[0]][0]][0].astype(np.float32)
    sizes = np.array(sc.parse_floats(a.anchor_sizes), np.float32)
    anchors, k = deltas.shape[0], sizes.size
    grid = int(round(np.sqrt(anchors // k)))
    if grid * grid * k != anchors or logits.shape[0] != anchors:
        sc.fail(f"{anchors} anchors do not form a square grid with {k} anchor sizes (--anchor-sizes)")

    # decode, vectorized (float32 like detect.cpp)
    idx = np.arange(anchors)
    cell = idx // k
    row, col = (cell // grid).astype(np.float32), (cell % grid).astype(np.float32)
    size = sizes[idx % k]
    stride_x, stride_y = np.float32(in_w / grid), np.float32(in_h / grid)
    cx = (col + np.float32(0.5)) * stride_x + deltas[:, 0] * np.float32(0.1) * size
    cy = (row + np.float32(0.5)) * stride_y + deltas[:, 1] * np.float32(0.1) * size
    bw = size * np.exp(np.minimum(deltas[:, 2] * np.float32(0.2), np.float32(4)))
    bh = size * np.exp(np.minimum(deltas[:, 3] * np.float32(0.2), np.float32(4)))
    sx, sy = np.float32(image.shape[1] / in_w), np.float32(image.shape[0] / in_h)
    boxes = np.stack([(cx - bw / 2) * sx, (cy - bh / 2) * sy, (cx + bw / 2) * sx, (cy + bh / 2) * sy], axis=1)
    scores = 1.0 / (1.0 + np.exp(-logits))
    cands = [(float(scores[i, c]), int(i), int(c), [float(v) for v in boxes[i]])
             for i, c in zip(*np.nonzero(scores > a.score_threshold))]
    kept = nms(cands, a.iou_threshold, a.max_detections)

    labels = sc.read_labels(a.labels)
    print(f"{a.plan} on {runner.device} ({image.shape[1]}x{image.shape[0]}): {len(cands)} candidates above "
          f"{a.score_threshold:.2f}, {len(kept)} boxes after NMS (IoU {a.iou_threshold:.2f})")
    drawn = image.copy()
    result = []
    for score, _, cls, box in kept:
        label = labels[cls] if cls < len(labels) else f"class {cls}"
        print(f"  {label:<12} {score:.4f}  [{box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f}]")
        sc.draw_rect(drawn, *box, sc.palette(cls + 1), 2)
        result.append({"class": cls, "score": score, "box": box})
    sc.write_png(a.output, drawn)
    sc.write_json(a.json, {"device": runner.device, "candidates": len(cands), "boxes": result})
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
