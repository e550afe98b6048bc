#!/usr/bin/env python3
"""Regression sample: image -> plan -> continuous outputs, printed (and as JSON); with --keypoints the first
output is read as (x, y) pairs in 0..1 of the image and drawn on it (PNG). The same steps as regress.cpp;
runs a CPU or a GPU plan with the same code."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_common as sc  # noqa: E402


def main():
    ap = sc.image_arg_parser(__doc__)
    ap.add_argument("--keypoints", action="store_true", help="the first output holds (x, y) pairs in 0..1")
    ap.add_argument("--output", help="the image with the keypoints drawn (PNG; with --keypoints)")
    ap.add_argument("--radius", type=float, default=3)
    sc.add_image_args(ap)
    a = ap.parse_args()
    if a.keypoints and not a.output:
        sc.fail("--keypoints needs --output FILE.png")

    runner = sc.PlanRunner(a.plan)
    image = sc.load_image(a.image)
    out, _, _ = sc.run_image(runner, image, a)
    print(f"{a.plan} on {runner.device} ({image.shape[1]}x{image.shape[0]}):")
    result = {"device": runner.device, "outputs": {}}
    for name in runner.outputs:
        v = out[name].astype(np.float32)
        print(f"  {name} [{','.join(str(d) for d in v.shape)}]: " + " ".join(f"{t:.6f}" for t in v.ravel()))
        result["outputs"][name] = [float(t) for t in v.ravel()]
    if a.keypoints:
        v = out[runner.outputs[0]].astype(np.float32).ravel()
        if v.size % 2:
            sc.fail("--keypoints: the first output has an odd number of values")
        drawn = image.copy()
        points = []
        for i in range(v.size // 2):
            px, py = float(v[2 * i] * np.float32(image.shape[1])), float(v[2 * i + 1] * np.float32(image.shape[0]))
            print(f"  keypoint {i}: ({px:.2f}, {py:.2f}) px")
            sc.draw_point(drawn, px, py, a.radius + 1, (255, 255, 255))
            sc.draw_point(drawn, px, py, a.radius, sc.palette(i + 1))
            points.append([px, py])
        result["keypoints"] = points
        sc.write_png(a.output, drawn)
        print(f"wrote {a.output}")
    sc.write_json(a.json, result)


if __name__ == "__main__":
    main()
