#!/usr/bin/env python3
"""End-to-end tests of the samples (CTest label `samples`).

    samples_test.py setup WORK --kiln KILN
        makes the models (samples/make_models.py: random weights; PP-OCR's pretrained text classifier and
        text detector when the rapidocr_onnxruntime package is installed), the input images (drawn here,
        deterministically), the plans (`kiln build`), and the expected results computed independently of
        kiln: ONNX's reference evaluator (onnx.reference, numpy) on the same preprocessed input, with the
        decode / NMS / argmax written again here.
    samples_test.py check WORK CASE LANG --bin-dir DIR
        runs one sample (LANG cpp: DIR/sample_<task>; python: samples/<task>/<task>.py) and compares its
        JSON/PNG results with the expected ones. Exit 77 (skipped) for a pretrained case whose package is
        missing.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SAMPLES, "common"))

IMAGENET = ("0.485,0.456,0.406", "0.229,0.224,0.225")
SKIP = 77

# Each case: the model, the image, the plan's shapes, the sample and its options.
CASES = {
    "classification": dict(model="classifier.onnx", image="shapes.png", task="classification", norm=IMAGENET),
    "detection": dict(model="detector.onnx", image="shapes.png", task="detection", norm=IMAGENET,
                      args=["--score-threshold", "0.6", "--iou-threshold", "0.3"]),
    "segmentation": dict(model="segmenter.onnx", image="shapes.png", task="segmentation", norm=IMAGENET),
    "regression": dict(model="keypoints.onnx", image="shapes.png", task="regression", norm=IMAGENET,
                       args=["--keypoints"]),
    # pretrained PP-OCR models (rapidocr_onnxruntime): text direction (0 / 180 degrees) and text detection
    "ocr_direction": dict(model="ppocr_cls.onnx", image="text_line_flipped.png", task="classification",
                          norm=("0.5", "0.5"), shapes="x:1x3x48x192", pretrained=True,
                          args=["--labels", "ocr_direction_labels.txt"]),
    "ocr_text": dict(model="ppocr_det.onnx", image="text.png", task="segmentation", norm=IMAGENET,
                     shapes="x:1x3x128x256", pretrained=True, args=["--threshold", "0.3"]),
}
PRETRAINED = {"ppocr_cls.onnx": "ch_ppocr_mobile_v2.0_cls_infer.onnx", "ppocr_det.onnx": "ch_PP-OCRv4_det_infer.onnx"}

# ------------------------------------------------------------------------------------------------- images

# 5x7 glyphs for the synthetic text images
FONT = {
    "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    "I": ["11111", "00100", "00100", "00100", "00100", "00100", "11111"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    " ": ["00000"] * 7,
}


def draw_text(img, text, x, y, scale, color):
    for ch in text:
        for r, row in enumerate(FONT[ch]):
            for c, bit in enumerate(row):
                if bit == "1":
                    img[y + r * scale:y + (r + 1) * scale, x + c * scale:x + (c + 1) * scale] = color
        x += 6 * scale


def make_images(work):
    import sample_common as sc
    # shapes.png: 96x80 (not the models' 64x64, so the resize is exercised), gradient + coloured shapes
    h, w = 80, 96
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([40 + xx * 1.2, 30 + yy * 1.5, 90 + (xx + yy) * 0.5], axis=2).astype(np.uint8)
    img[10:35, 8:40] = (230, 40, 40)
    img[45:75, 55:90] = (40, 200, 60)
    img[((xx - 70) ** 2 + (yy - 22) ** 2) < 12 ** 2] = (250, 230, 30)
    img[50:70, 12:30] = (20, 40, 220)
    sc.write_png(os.path.join(work, "shapes.png"), img)
    # text.png 256x128: two lines of dark text on light paper (PP-OCR text detector)
    text = np.full((128, 256, 3), 235, np.uint8)
    draw_text(text, "KILN SAMPLES", 14, 20, 3, (20, 20, 30))
    draw_text(text, "TEXT 2026", 30, 70, 4, (40, 10, 10))
    sc.write_png(os.path.join(work, "text.png"), text)
    # text_line.png 192x48 and its 180-degree rotation (PP-OCR text direction classifier)
    line = np.full((48, 192, 3), 240, np.uint8)
    draw_text(line, "KILN 2026", 8, 10, 4, (15, 15, 15))
    sc.write_png(os.path.join(work, "text_line.png"), line)
    sc.write_png(os.path.join(work, "text_line_flipped.png"), line[::-1, ::-1])


# -------------------------------------------------------------------------- independent expected results


def preprocess(path, width, height, mean, std):
    """The samples' preprocessing, written again: bilinear (half-pixel centres, edge clamp), /255, normalize."""
    import sample_common as sc
    img = sc.load_image(path).astype(np.float64)
    ih, iw = img.shape[:2]

    def coords(n_out, n_in):
        s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(s).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), s - lo

    y0, y1, fy = coords(height, ih)
    x0, x1, fx = coords(width, iw)
    wy, wx = fy[:, None, None], fx[None, :, None]
    out = (img[y0][:, x0] * (1 - wy) * (1 - wx) + img[y0][:, x1] * (1 - wy) * wx +
           img[y1][:, x0] * wy * (1 - wx) + img[y1][:, x1] * wy * wx)
    m = np.array([float(v) for v in mean.split(",")] * (3 if "," not in mean else 1))
    s = np.array([float(v) for v in std.split(",")] * (3 if "," not in std else 1))
    x = (out / 255.0 - m) / s
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def reference_outputs(model, x):
    import onnx
    from onnx.reference import ReferenceEvaluator
    from onnx import helper, numpy_helper
    proto = onnx.load(model)
    # onnx.reference's BatchNormalization for opsets 9-13 normalizes with the batch's own statistics
    # (training mode: it fills in the schema's default `momentum` and then uses it), which is not what an
    # inference runtime does (onnxruntime and kiln use the stored mean/variance). For the reference run each
    # BatchNormalization is therefore written out as the inference formula: x * a + b per channel.
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            inits[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    nodes = []
    for node in proto.graph.node:
        if node.op_type != "BatchNormalization":
            nodes.append(node)
            continue
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale, bias, mean, var = (inits[n].astype(np.float64) for n in node.input[1:5])
        a = scale / np.sqrt(var + np.float32(eps))
        b = bias - mean * a
        na, nb = node.output[0] + "__ref_a", node.output[0] + "__ref_b"
        proto.graph.initializer.extend([numpy_helper.from_array(a.astype(np.float32).reshape(-1, 1, 1), na),
                                        numpy_helper.from_array(b.astype(np.float32).reshape(-1, 1, 1), nb)])
        nodes.append(helper.make_node("Mul", [node.input[0], na], [node.output[0] + "__ref_ax"]))
        nodes.append(helper.make_node("Add", [node.output[0] + "__ref_ax", nb], [node.output[0]]))
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    sess = ReferenceEvaluator(proto)
    name = sess.input_names[0]
    return dict(zip(sess.output_names, sess.run(None, {name: x})))


def ref_detection(deltas, logits, img_w, img_h, in_w, in_h, sizes, score_thr, iou_thr):
    deltas, logits = deltas[0].astype(np.float64), logits[0].astype(np.float64)
    k = len(sizes)
    n = deltas.shape[0]
    grid = int(round((n // k) ** 0.5))
    a = np.arange(n)
    size = np.array(sizes, np.float64)[a % k]
    cx = ((a // k) % grid + 0.5) * in_w / grid + deltas[:, 0] * 0.1 * size
    cy = ((a // k) // grid + 0.5) * in_h / grid + deltas[:, 1] * 0.1 * size
    bw = size * np.exp(np.minimum(deltas[:, 2] * 0.2, 4))
    bh = size * np.exp(np.minimum(deltas[:, 3] * 0.2, 4))
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * np.array([img_w / in_w, img_h / in_h] * 2)
    scores = 1 / (1 + np.exp(-logits))
    kept = []
    for cls in range(scores.shape[1]):
        idx = np.nonzero(scores[:, cls] > score_thr)[0]
        idx = idx[np.lexsort((idx, -scores[idx, cls]))]
        b = boxes[idx]
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        alive = np.ones(len(idx), bool)
        for i in range(len(idx)):
            if not alive[i]:
                continue
            kept.append((scores[idx[i], cls], idx[i], cls, b[i]))
            iw = np.clip(np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0]), 0, None)
            ih = np.clip(np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1]), 0, None)
            inter = iw * ih
            ov = inter / (area[i] + area - inter)
            alive &= ~((ov > iou_thr) & (np.arange(len(idx)) > i))
    kept.sort(key=lambda t: (-t[0], t[1]))
    cands = int((scores > score_thr).sum())
    return cands, [{"class": int(c), "score": float(s), "box": [float(v) for v in b]} for s, _, c, b in kept]


def find_pretrained():
    spec = importlib.util.find_spec("rapidocr_onnxruntime")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    d = os.path.join(list(spec.submodule_search_locations)[0], "models")
    return d if all(os.path.exists(os.path.join(d, f)) for f in PRETRAINED.values()) else None


def setup(work, kiln):
    import shutil
    os.makedirs(work, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(SAMPLES, "make_models.py"), work], check=True)
    make_images(work)
    pre = find_pretrained()
    if pre:
        for dst, src in PRETRAINED.items():
            shutil.copyfile(os.path.join(pre, src), os.path.join(work, dst))
        with open(os.path.join(work, "ocr_direction_labels.txt"), "w") as f:
            f.write("0 degrees\n180 degrees\n")
    else:
        print("rapidocr_onnxruntime is not installed: the pretrained PP-OCR cases will be skipped "
              "(scripts/python_env.sh installs it)")
    expected = {}
    for name, case in CASES.items():
        model = os.path.join(work, case["model"])
        if not os.path.exists(model):
            continue
        plan = os.path.join(work, name + ".plan")
        cmd = [kiln, "build", model, "-o", plan] + (["--shapes", case["shapes"]] if "shapes" in case else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        import onnx
        g = onnx.load(model).graph
        if "shapes" in case:
            dims = [int(v) for v in case["shapes"].split(":")[1].split("x")]
        else:
            dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
        img_path = os.path.join(work, case["image"])
        x = preprocess(img_path, dims[3], dims[2], *case["norm"])
        out = reference_outputs(model, x)
        ih, iw = __import__("sample_common").load_image(img_path).shape[:2]
        e = {"image_size": [iw, ih]}
        if case["task"] == "classification":
            p = list(out.values())[0].astype(np.float64).ravel()
            if not (np.all(p >= 0) and abs(p.sum() - 1) < 1e-3):
                p = np.exp(p - p.max())
                p /= p.sum()
            order = np.argsort(-p, kind="stable")[:5]
            e["top"] = [{"class": int(c), "score": float(p[c])} for c in order]
        elif case["task"] == "detection":
            args = case["args"]
            e["candidates"], e["boxes"] = ref_detection(out["deltas"], out["logits"], iw, ih, dims[3], dims[2],
                                                        [16, 32], float(args[1]), float(args[3]))
        elif case["task"] == "segmentation":
            y = list(out.values())[0][0]
            thr = float(case["args"][1]) if case.get("args") else 0.5
            mask = (y[0] > thr).astype(np.int32) if y.shape[0] == 1 else np.argmax(y, 0).astype(np.int32)
            np.save(os.path.join(work, name + "_mask.npy"), mask)
        elif case["task"] == "regression":
            e["points"] = [float(v) for v in out["points"].ravel()]
        expected[name] = e
        print(f"{name}: plan and expected result ready")
    with open(os.path.join(work, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


# ------------------------------------------------------------------------------------------------ checks


class Failure(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def read_png(path):
    import sample_common as sc
    expect(os.path.exists(path), f"{path} was not written")
    with open(path, "rb") as f:
        data = f.read()
    expect(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    return sc._read_png(data)


def check(work, name, lang, bin_dir):
    case = CASES[name]
    with open(os.path.join(work, "expected.json")) as f:
        expected = json.load(f).get(name)
    if expected is None:
        if case.get("pretrained"):
            print(f"SKIP: {name} needs the pretrained PP-OCR models (pip install --no-deps rapidocr_onnxruntime)")
            return SKIP
        raise Failure(f"no expected result for {name}: did the setup run?")
    task = case["task"]
    out_dir = os.path.join(work, f"out_{name}_{lang}")
    os.makedirs(out_dir, exist_ok=True)
    result_json, out_png = os.path.join(out_dir, "result.json"), os.path.join(out_dir, "result.png")
    if lang == "cpp":
        cmd = [os.path.join(bin_dir, "sample_" + task)]
    else:
        cmd = [sys.executable, os.path.join(SAMPLES, task, {"classification": "classify.py", "detection": "detect.py",
               "segmentation": "segment.py", "regression": "regress.py"}[task])]
    cmd += ["--plan", os.path.join(work, name + ".plan"), "--image", os.path.join(work, case["image"]),
            "--json", result_json, "--mean", case["norm"][0], "--std", case["norm"][1]]
    cmd += [a if not a.endswith(".txt") else os.path.join(work, a) for a in case.get("args", [])]
    if task in ("detection", "segmentation", "regression"):
        cmd += ["--output", out_png]
    if task == "segmentation":
        cmd += ["--mask-output", os.path.join(out_dir, "mask.png")]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout + r.stderr)
    expect(r.returncode == 0, f"the sample exited with {r.returncode}")
    with open(result_json) as f:
        got = json.load(f)
    iw, ih = expected["image_size"]

    if task == "classification":
        want = expected["top"]
        expect([t["class"] for t in got["top"]] == [t["class"] for t in want],
               f"top classes {[t['class'] for t in got['top']]} != expected {[t['class'] for t in want]}")
        for g, w in zip(got["top"], want):
            expect(abs(g["score"] - w["score"]) < 1e-4, f"class {w['class']}: score {g['score']} != {w['score']}")
        expect(len(want) == min(5, got["classes"]), "wrong number of classes reported")
    elif task == "detection":
        want = expected["boxes"]
        expect(got["candidates"] == expected["candidates"],
               f"{got['candidates']} candidates above the threshold, expected {expected['candidates']}")
        expect(len(got["boxes"]) == len(want), f"{len(got['boxes'])} boxes kept, expected {len(want)}")
        for g, w in zip(got["boxes"], want):
            expect(g["class"] == w["class"] and abs(g["score"] - w["score"]) < 1e-4 and
                   max(abs(a - b) for a, b in zip(g["box"], w["box"])) < 1e-2, f"box {g} != expected {w}")
        # the case must exercise the threshold and the NMS
        expect(0 < len(want) < expected["candidates"], "degenerate case: NMS removed nothing or nothing is left")
        img = read_png(out_png)
        expect(img.shape == (ih, iw, 3), f"{out_png}: size {img.shape[1]}x{img.shape[0]}, expected {iw}x{ih}")
        expect(np.any(img != read_png(os.path.join(work, case["image"]))), "no box was drawn")
    elif task == "segmentation":
        want = np.load(os.path.join(work, name + "_mask.npy"))
        mask = read_png(os.path.join(out_dir, "mask.png"))[..., 0].astype(np.int32)
        expect(mask.shape == want.shape, f"mask shape {mask.shape} != {want.shape}")
        agree = float((mask == want).mean())
        print(f"mask agreement with the reference: {agree * 100:.3f}%")
        expect(agree >= 0.99, f"mask agreement {agree:.4f} < 0.99")
        expect(len(np.unique(want)) >= 2, "degenerate case: the expected mask has one class")
        expect(got["histogram"] == np.bincount(mask.ravel(), minlength=len(got["histogram"])).tolist(),
               "the JSON histogram does not match the mask")
        img = read_png(out_png)
        expect(img.shape == (ih, iw, 3), f"{out_png}: size {img.shape[1]}x{img.shape[0]}, expected {iw}x{ih}")
    elif task == "regression":
        want = np.array(expected["points"])
        got_v = np.array(list(got["outputs"].values())[0])
        expect(got_v.shape == want.shape, f"{got_v.size} values, expected {want.size}")
        err = float(np.abs(got_v - want).max())
        print(f"max |kiln - reference| = {err:.3g}")
        expect(err < 1e-4, f"keypoints differ by {err} (> 1e-4)")
        expect(float(want.std()) > 0.05, "degenerate case: the keypoints are all alike")
        kp = np.array(got["keypoints"])
        expect(np.allclose(kp, want.reshape(-1, 2) * [iw, ih], atol=1e-2), "keypoints in pixels are wrong")
        img = read_png(out_png)
        expect(img.shape == (ih, iw, 3), f"{out_png}: size {img.shape[1]}x{img.shape[0]}, expected {iw}x{ih}")
    print(f"OK: {name} ({lang}) matches the reference; outputs in {out_dir}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["setup", "check"])
    ap.add_argument("work")
    ap.add_argument("case", nargs="?", choices=list(CASES))
    ap.add_argument("lang", nargs="?", choices=["cpp", "python"])
    ap.add_argument("--kiln")
    ap.add_argument("--bin-dir")
    a = ap.parse_args()
    try:
        if a.what == "setup":
            setup(a.work, a.kiln)
            return 0
        return check(a.work, a.case, a.lang, a.bin_dir)
    except Failure as e:
        print(f"FAILED: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
