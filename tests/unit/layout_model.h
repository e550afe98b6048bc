// A small CNN in ONNX (tests/onnx_writer.h) with every construct the channels-last layout pass handles:
// Conv + Relu, MaxPool, a residual block, a 1x1 Conv with a residual, strided 1x1 and 3x3 Convs joined by a channel Concat, a
// squeeze-excite block (GlobalAveragePool -> Conv -> Relu -> Conv -> Sigmoid -> Mul), a depthwise Conv,
// AveragePool, a per-channel constant Add, and a classifier (GlobalAveragePool -> Flatten -> Gemm).
// Outputs: y [2, 10] and the intermediate feature map "feat" [2, 16, 4, 4] (a graph output read by more
// layers). Used by the pass test (tests/unit) and the GPU test (tests/cuda).
#pragma once

#include "unit/fusion_util.h"

namespace kiln::test::layout {

inline std::string cnnModel() {
  using namespace fusion;
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"2", "3", "20", "20"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "10"}), valueInfo("feat", FLOAT, {"2", "16", "4", "4"})};
  g.initializers = {randomInit("w1", {16, 3, 3, 3}, 1, -0.5f, 0.5f),  randomInit("b1", {16}, 2),
                    randomInit("w2", {16, 16, 3, 3}, 3, -0.2f, 0.2f), randomInit("b2", {16}, 4),
                    randomInit("w3", {16, 16, 3, 3}, 5, -0.2f, 0.2f), randomInit("b3", {16}, 6),
                    randomInit("w4", {8, 16, 1, 1}, 7, -0.5f, 0.5f),  randomInit("b4", {8}, 8),
                    randomInit("w5", {8, 16, 3, 3}, 9, -0.2f, 0.2f),  randomInit("b5", {8}, 10),
                    randomInit("ws1", {4, 16, 1, 1}, 11),             randomInit("bs1", {4}, 12),
                    randomInit("ws2", {16, 4, 1, 1}, 13),             randomInit("bs2", {16}, 14),
                    randomInit("wd", {16, 1, 3, 3}, 15),              randomInit("bd", {16}, 16),
                    randomInit("cb", {16, 1, 1}, 17),                 randomInit("wfc", {10, 16}, 18),
                    randomInit("bfc", {10}, 19),                      randomInit("w6", {16, 16, 1, 1}, 20, -0.3f, 0.3f),
                    randomInit("b6", {16}, 21)};
  g.nodes = {
      node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1", {attrInts("pads", {1, 1, 1, 1})}),
      node("Relu", {"c1"}, {"r1"}, "relu1"),
      node("MaxPool", {"r1"}, {"p1"}, "pool1",
           {attrInts("kernel_shape", {3, 3}), attrInts("strides", {2, 2}), attrInts("pads", {1, 1, 1, 1})}),
      node("Conv", {"p1", "w2", "b2"}, {"c2"}, "conv2", {attrInts("pads", {1, 1, 1, 1})}),
      node("Relu", {"c2"}, {"r2"}, "relu2"),
      node("Conv", {"r2", "w3", "b3"}, {"c3"}, "conv3", {attrInts("pads", {1, 1, 1, 1})}),
      node("Add", {"c3", "p1"}, {"a3"}, "residual"),
      node("Relu", {"a3"}, {"r3"}, "relu3"),
      node("Conv", {"r3", "w6", "b6"}, {"c6"}, "conv6"),  // 1x1: a GEMM channels-last
      node("Add", {"c6", "r3"}, {"a6"}, "residual6"),
      node("Relu", {"a6"}, {"r6"}, "relu6"),
      node("Conv", {"r6", "w4", "b4"}, {"c4"}, "conv4", {attrInts("strides", {2, 2})}),
      node("Conv", {"r6", "w5", "b5"}, {"c5"}, "conv5", {attrInts("strides", {2, 2}), attrInts("pads", {1, 1, 1, 1})}),
      node("Concat", {"c4", "c5"}, {"cc"}, "concat", {attrInt("axis", 1)}),
      node("GlobalAveragePool", {"cc"}, {"sq"}, "se_pool"),
      node("Conv", {"sq", "ws1", "bs1"}, {"s1"}, "se_conv1"),
      node("Relu", {"s1"}, {"s1r"}, "se_relu"),
      node("Conv", {"s1r", "ws2", "bs2"}, {"s2"}, "se_conv2"),
      node("Sigmoid", {"s2"}, {"s2s"}, "se_sigmoid"),
      node("Mul", {"cc", "s2s"}, {"m"}, "se_scale"),
      node("Conv", {"m", "wd", "bd"}, {"dw"}, "depthwise", {attrInts("pads", {1, 1, 1, 1}), attrInt("group", 16)}),
      node("AveragePool", {"dw"}, {"ap"}, "avgpool", {attrInts("kernel_shape", {2, 2})}),
      node("Add", {"ap", "cb"}, {"feat"}, "channel_bias"),
      node("GlobalAveragePool", {"feat"}, {"gp"}, "head_pool"),
      node("Flatten", {"gp"}, {"fl"}, "flatten"),
      node("Gemm", {"fl", "wfc", "bfc"}, {"y"}, "fc", {attrInt("transB", 1)}),
  };
  return modelBytes(g);
}

}  // namespace kiln::test::layout
