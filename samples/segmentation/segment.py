#!/usr/bin/env python3
"""Segmentation sample: image -> plan -> per-pixel class (argmax over channels; a single-channel
probability map is thresholded) -> class mask blended over the image (PNG); class histogram printed and
as JSON. The same steps as segment.cpp; runs a CPU or a GPU plan with the same code."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_common as sc  # noqa: E402


def main():
    ap = sc.image_arg_parser(__doc__)
    ap.add_argument("--output", required=True, help="the image with the class mask blended over it (PNG)")
    ap.add_argument("--mask-output", help="the class mask at the model's resolution (PNG, grey value = class)")
    ap.add_argument("--threshold", type=float, default=0.5, help="single-channel models: class 1 above it")
    ap.add_argument("--alpha", type=float, default=0.5)
    sc.add_image_args(ap)
    a = ap.parse_args()

    runner = sc.PlanRunner(a.plan)
    image = sc.load_image(a.image)
    out = sc.run_image(runner, image, a)[0][runner.outputs[0]]
    if out.ndim != 4 or out.shape[0] != 1:
        sc.fail("the output is not [1,C,H,W]")
    classes, h, w = out.shape[1:]
    if classes == 1:
        mask = (out[0, 0] > np.float32(a.threshold)).astype(np.int32)
    else:
        mask = np.argmax(out[0], axis=0).astype(np.int32)  # first maximum on ties
    histogram = np.bincount(mask.ravel(), minlength=max(classes, 2))

    sc.write_png(a.output, sc.blend_mask(image, mask, a.alpha))
    if a.mask_output:
        sc.write_png(a.mask_output, np.repeat(mask.astype(np.uint8)[..., None], 3, axis=2))
    print(f"{a.plan} on {runner.device} ({image.shape[1]}x{image.shape[0]}): mask {w}x{h}, pixels per class: " +
          " ".join(f"{c}:{n}" for c, n in enumerate(histogram)))
    print(f"wrote {a.output}")
    sc.write_json(a.json, {"device": runner.device, "width": int(w), "height": int(h),
                           "histogram": [int(v) for v in histogram]})


if __name__ == "__main__":
    main()
