#!/usr/bin/env python3
"""Writes the small ONNX models the samples are tested with. They have RANDOM weights (fixed seeds): they
show that the samples' pre- and post-processing and kiln agree with an independent reference, not that
the models recognize anything. The pretrained models (PP-OCR, see samples/README.md) come from a package.

    python3 samples/make_models.py OUTDIR
    -> OUTDIR/classifier.onnx   image [1,3,64,64] -> logits [1,10]                        (10 classes)
       OUTDIR/detector.onnx     image [1,3,64,64] -> deltas [1,128,4], logits [1,128,3]  (SSD-style head:
                                8x8 grid, stride 8, 2 anchors per cell of 16 and 32 px; 3 classes)
       OUTDIR/segmenter.onnx    image [1,3,64,64] -> logits [1,4,64,64]                   (FCN, 4 classes)
       OUTDIR/keypoints.onnx    image [1,3,64,64] -> points [1,10]                        (5 (x,y) in 0..1)

The detector's anchor layout is what the detection samples decode by default (--anchor-sizes 16,32):
anchor index = (row * 8 + col) * 2 + k, centre ((col + 0.5) * 8, (row + 0.5) * 8), size 16 * 2**k.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 64


class Graph:
    """A tiny builder: conv/relu chains with He-initialized random weights."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, array, name=None):
        name = name or f"w{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, **attrs):
        self.n += 1
        out = f"{op.lower()}{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k=3, stride=1, relu=True, gain=1.0, bias=0.1, bias_mean=0.0):
        w = self.rng.normal(0, gain * np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        b = self.rng.normal(bias_mean, bias, (cout,)).astype(np.float32)
        y = self.node("Conv", [x, self.const(w), self.const(b)], kernel_shape=[k, k], strides=[stride, stride],
                      pads=[k // 2] * 4)
        return self.node("Relu", [y]) if relu else y

    def pooled_dense(self, outputs, w_std, b_std):
        """Three stride-2 convs (3 -> 8 -> 16 -> 32 channels), global average pooling and a dense layer with
        `outputs` values (weights ~ N(0, w_std), biases ~ N(0, b_std)); returns the Gemm's output."""
        x = self.conv("image", 3, 8, stride=2)
        x = self.conv(x, 8, 16, stride=2)
        x = self.conv(x, 16, 32, stride=2)
        x = self.node("GlobalAveragePool", [x])
        x = self.node("Flatten", [x], axis=1)
        w = self.rng.normal(0, w_std, (outputs, 32)).astype(np.float32)
        b = self.rng.normal(0, b_std, (outputs,)).astype(np.float32)
        return self.node("Gemm", [x, self.const(w), self.const(b)], transB=1)

    def save(self, path, outputs, name):
        graph = helper.make_graph(
            self.nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kiln-samples")
        onnx.checker.check_model(model)
        onnx.save(model, path)


def rename_last(g, name):
    g.nodes[-1].output[0] = name
    return name


def classifier(path):
    g = Graph(101)
    g.pooled_dense(10, 1.5, 0.2)
    rename_last(g, "logits")
    g.save(path, [("logits", [1, 10])], "sample_classifier")


def detector(path):
    g = Graph(202)
    x = g.conv("image", 3, 8, stride=2)   # 32x32
    x = g.conv(x, 8, 16, stride=2)        # 16x16
    f = g.conv(x, 16, 16, stride=2)       # 8x8
    k, classes, cells = 2, 3, 8 * 8
    d = g.conv(f, 16, k * 4, relu=False, gain=0.5)
    s = g.conv(f, 16, k * classes, relu=False, gain=2.0, bias=0.5, bias_mean=-2.5)  # few boxes above 0.5
    d = g.node("Transpose", [d], perm=[0, 2, 3, 1])
    s = g.node("Transpose", [s], perm=[0, 2, 3, 1])
    g.node("Reshape", [d, g.const(np.array([1, cells * k, 4], np.int64), "deltas_shape")])
    rename_last(g, "deltas")
    g.node("Reshape", [s, g.const(np.array([1, cells * k, classes], np.int64), "logits_shape")])
    rename_last(g, "logits")
    g.save(path, [("deltas", [1, cells * k, 4]), ("logits", [1, cells * k, classes])], "sample_detector")


def segmenter(path):
    g = Graph(303)
    x = g.conv("image", 3, 8)
    x = g.conv(x, 8, 16, stride=2)
    x = g.conv(x, 16, 16)
    x = g.conv(x, 16, 4, k=1, relu=False, gain=2.0)
    scales = g.const(np.array([1, 1, 2, 2], np.float32), "up_scales")
    g.node("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")
    rename_last(g, "logits")
    g.save(path, [("logits", [1, 4, SIZE, SIZE])], "sample_segmenter")


def keypoints(path):
    g = Graph(404)
    x = g.pooled_dense(10, 0.6, 0.5)
    g.node("Sigmoid", [x])
    rename_last(g, "points")
    g.save(path, [("points", [1, 10])], "sample_keypoints")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    classifier(os.path.join(out, "classifier.onnx"))
    detector(os.path.join(out, "detector.onnx"))
    segmenter(os.path.join(out, "segmenter.onnx"))
    keypoints(os.path.join(out, "keypoints.onnx"))
    print(f"wrote classifier.onnx detector.onnx segmenter.onnx keypoints.onnx to {out}")


if __name__ == "__main__":
    main()
