#!/usr/bin/env python3
"""Writes a small image classifier as ONNX (random weights, fixed seed), an input image tensor and the
expected output computed with numpy, so that kiln's result can be checked:

    python3 examples/make_example_model.py OUTDIR
    -> OUTDIR/classifier.onnx, OUTDIR/input.npy, OUTDIR/expected.npy

The model: Conv 3x3 (8 maps) + bias -> Relu -> MaxPool 2x2 -> Conv 1x1 (16) -> Relu ->
GlobalAveragePool -> Flatten -> Gemm (10 classes) -> Softmax.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)

w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
b1 = rng.normal(0, 0.1, (8,)).astype(np.float32)
w2 = rng.normal(0, 0.3, (16, 8, 1, 1)).astype(np.float32)
b2 = rng.normal(0, 0.1, (16,)).astype(np.float32)
wf = rng.normal(0, 0.5, (10, 16)).astype(np.float32)
bf = rng.normal(0, 0.1, (10,)).astype(np.float32)

nodes = [
    helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", kernel_shape=[1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
    helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "example_classifier",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (wf, "wf"), (bf, "bf")]],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kiln-example")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out_dir, "classifier.onnx"))

# numpy reference (float64)
x = rng.uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)


def conv(x, w, b, pad):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    out = np.zeros((n, k, oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,kc->nkhw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(np.float64))
    return out + b.reshape(1, -1, 1, 1)


y = np.maximum(conv(x, w1, b1, 1), 0)
y = y.reshape(1, 8, 16, 2, 16, 2).max(axis=(3, 5))
y = np.maximum(conv(y, w2, b2, 0), 0)
y = y.mean(axis=(2, 3))
logits = y @ wf.T.astype(np.float64) + bf
e = np.exp(logits - logits.max(axis=1, keepdims=True))
probs = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
np.save(os.path.join(out_dir, "input.npy"), x)
np.save(os.path.join(out_dir, "expected.npy"), probs)
print("wrote", os.path.join(out_dir, "classifier.onnx"))
