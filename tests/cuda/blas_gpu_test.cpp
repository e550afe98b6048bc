// GPU MatMul / Gemm (cuBLASLt) and Conv / ConvTranspose (cuDNN) against the CPU reference.
#include <gtest/gtest.h>

#include "gpu_op.h"

namespace kiln::test {
namespace {

ir::Attributes ints(std::initializer_list<std::pair<const char*, std::vector<int64_t>>> kv) {
  ir::Attributes a;
  for (const auto& [k, v] : kv) a.setInts(k, v);
  return a;
}

TEST(GpuBlas, MatMulShapesAndBroadcast) {
  KILN_REQUIRE_GPU();
  struct Case {
    ir::Shape a, b;
  };
  std::vector<Case> cases = {
      {{3, 5}, {5, 7}},          {{1, 1}, {1, 1}},        {{64, 128}, {128, 96}},  {{2, 3, 4, 5}, {5, 6}},
      {{2, 3, 4, 5}, {2, 3, 5, 6}}, {{4, 5}, {3, 5, 6}},  {{2, 1, 4, 5}, {1, 3, 5, 6}}, {{5}, {5, 6}},
      {{2, 4, 5}, {5}},          {{5}, {5}},              {{7, 33, 65}, {7, 65, 17}}, {{3, 0}, {0, 4}},
  };
  uint32_t seed = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(ir::shapeToString(c.a) + " x " + ir::shapeToString(c.b));
    auto a = randomTensor(c.a, seed++), b = randomTensor(c.b, seed++);
    expectGpuMatchesCpu("MatMul", {}, {a, b}, 1, {}, 1e-4, 1e-5);
    expectGpuMatchesCpu("MatMul", {}, {convertTensor(*a, DataType::kHALF), convertTensor(*b, DataType::kHALF)}, 1, {},
                        2e-2, 2e-2);
  }
}

TEST(GpuBlas, MatMulTransposeAttrsAndWeights) {
  KILN_REQUIRE_GPU();
  auto a = randomTensor({2, 6, 4}, 11), b = randomTensor({2, 5, 6}, 12);
  ir::Attributes at;
  at.setInt("transA", 1);
  at.setInt("transB", 1);
  expectGpuMatchesCpu("MatMul", at, {a, b}, 1, {}, 1e-4, 1e-5);
  GpuOpOptions constB;
  constB.constantInputs = {1};
  expectGpuMatchesCpu("MatMul", at, {a, b}, 1, constB, 1e-4, 1e-5);
  // large enough to need a real tiling
  auto x = randomTensor({256, 512}, 13), w = randomTensor({512, 384}, 14);
  expectGpuMatchesCpu("MatMul", {}, {x, w}, 1, constB, 1e-4, 1e-4);
}

TEST(GpuBlas, GemmWithBiasAlphaBetaAndTranspose) {
  KILN_REQUIRE_GPU();
  struct Case {
    bool ta, tb;
    ir::Shape c;
    bool constC;
    double alpha, beta;
  };
  std::vector<Case> cases = {{false, false, {7}, true, 1.0, 1.0},    {false, true, {7}, true, 0.5, 2.0},
                             {true, false, {1, 7}, true, 1.0, 1.0},  {true, true, {5, 7}, false, 1.5, 0.25},
                             {false, false, {5, 1}, false, 1.0, 1.0}, {false, false, {1}, true, 1.0, 3.0},
                             {false, true, {}, true, 2.0, 1.0}};
  uint32_t seed = 100;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.ta) + std::to_string(c.tb) + " C" + ir::shapeToString(c.c));
    auto A = randomTensor(c.ta ? ir::Shape{9, 5} : ir::Shape{5, 9}, seed++);
    auto B = randomTensor(c.tb ? ir::Shape{7, 9} : ir::Shape{9, 7}, seed++);
    ir::Attributes at;
    at.setInt("transA", c.ta);
    at.setInt("transB", c.tb);
    at.setFloat("alpha", c.alpha);
    at.setFloat("beta", c.beta);
    std::vector<TensorPtr> ins{A, B};
    GpuOpOptions o;
    o.constantInputs = {1};
    if (!c.c.empty() || c.constC) ins.push_back(randomTensor(c.c, seed++));
    if (c.constC) o.constantInputs.push_back(2);
    expectGpuMatchesCpu("Gemm", at, ins, 1, o, 1e-4, 1e-5);
  }
}

TEST(GpuConv, Conv2dVariants) {
  KILN_REQUIRE_GPU();
  struct Case {
    ir::Shape x, w;
    ir::Attributes attrs;
    bool bias;
  };
  std::vector<Case> cases;
  cases.push_back({{1, 3, 8, 8}, {4, 3, 3, 3}, ints({{"pads", {1, 1, 1, 1}}}), true});
  cases.push_back({{2, 4, 9, 7}, {6, 2, 3, 3}, ints({{"pads", {1, 0, 1, 0}}, {"strides", {2, 1}}, {"group", {}}}), false});
  cases.back().attrs.setInt("group", 2);
  cases.push_back({{1, 8, 10, 10}, {8, 1, 3, 3}, ints({{"pads", {1, 1, 1, 1}}}), true});  // depthwise
  cases.back().attrs.setInt("group", 8);
  cases.push_back({{1, 3, 11, 11}, {5, 3, 3, 3}, ints({{"dilations", {2, 2}}, {"pads", {2, 2, 2, 2}}}), true});
  cases.push_back({{1, 3, 7, 7}, {4, 3, 3, 3}, ints({{"pads", {0, 1, 1, 0}}, {"strides", {2, 2}}}), true});  // asymmetric
  cases.push_back({{1, 2, 8, 8}, {3, 2, 2, 2}, ints({{"strides", {2, 2}}}), false});
  cases.back().attrs.setString("auto_pad", "SAME_UPPER");
  cases.push_back({{1, 2, 7, 7}, {3, 2, 4, 4}, ints({{"strides", {1, 1}}}), true});
  cases.back().attrs.setString("auto_pad", "SAME_LOWER");
  cases.push_back({{2, 16, 14, 14}, {32, 16, 1, 1}, {}, true});  // 1x1
  cases.push_back({{1, 3, 12}, {4, 3, 3}, ints({{"pads", {1, 2}}}), true});  // 1-D, asymmetric
  cases.push_back({{1, 2, 5, 6, 7}, {3, 2, 3, 3, 3}, ints({{"pads", {1, 1, 1, 1, 1, 1}}}), true});  // 3-D
  cases.push_back({{1, 4, 9, 9}, {4, 4, 3, 3}, ints({{"pads", {1, 1, 1, 1}}, {"strides", {2, 2}}}), true});
  cases.back().attrs.setInt("ceil_mode", 1);
  uint32_t seed = 300;
  for (auto& c : cases) {
    SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w));
    std::vector<TensorPtr> ins{randomTensor(c.x, seed++), randomTensor(c.w, seed++)};
    if (c.bias) ins.push_back(randomTensor({c.w[0]}, seed++));
    GpuOpOptions o;
    o.constantInputs = {1, 2};
    expectGpuMatchesCpu("Conv", c.attrs, ins, 1, o, 1e-4, 1e-5);
    std::vector<TensorPtr> half;
    for (auto& t : ins) half.push_back(convertTensor(*t, DataType::kHALF));
    expectGpuMatchesCpu("Conv", c.attrs, half, 1, o, 2e-2, 2e-2);
  }
}

TEST(GpuConv, ConvTransposeVariants) {
  KILN_REQUIRE_GPU();
  struct Case {
    ir::Shape x, w;
    ir::Attributes attrs;
  };
  std::vector<Case> cases;
  cases.push_back({{1, 3, 5, 5}, {3, 4, 3, 3}, ints({{"strides", {2, 2}}})});
  cases.push_back({{1, 4, 6, 6}, {4, 2, 4, 4}, ints({{"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}})});
  cases.push_back({{2, 4, 5, 5}, {4, 3, 3, 3}, ints({{"strides", {2, 2}}, {"pads", {1, 0, 1, 0}}, {"output_padding", {1, 1}}})});
  cases.back().attrs.setInt("group", 2);
  cases.push_back({{1, 2, 4, 4}, {2, 3, 3, 3}, ints({{"strides", {2, 2}}, {"output_shape", {9, 9}}})});
  cases.push_back({{1, 2, 6}, {2, 3, 3}, ints({{"strides", {3}}, {"pads", {1, 0}}})});
  // an output_shape beyond the unpadded result gives negative pads: zeros there (plus the bias). ONNX's
  // test_convtranspose_output_shape (unpadded 9 x 7, output_shape 10 x 8); both ends; 1-D with groups
  cases.push_back({{1, 1, 3, 3}, {1, 2, 3, 3}, ints({{"strides", {3, 2}}, {"output_shape", {10, 8}}})});
  cases.push_back({{2, 3, 5, 4}, {3, 2, 3, 3}, ints({{"strides", {2, 1}}, {"output_shape", {14, 9}}})});
  cases.push_back({{1, 4, 7}, {4, 1, 3}, ints({{"strides", {2}}, {"output_shape", {19}}})});
  cases.back().attrs.setInt("group", 2);
  cases.push_back({{1, 2, 4, 5}, {2, 3, 3, 3}, ints({{"strides", {2, 2}}, {"output_shape", {12, 14}}})});
  cases.back().attrs.setString("auto_pad", "SAME_UPPER");
  uint32_t seed = 400;
  for (auto& c : cases) {
    SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w));
    int64_t group = c.attrs.getInt("group", 1);
    std::vector<TensorPtr> ins{randomTensor(c.x, seed++), randomTensor(c.w, seed++), randomTensor({c.w[1] * group}, seed++)};
    GpuOpOptions o;
    o.constantInputs = {1, 2};
    expectGpuMatchesCpu("ConvTranspose", c.attrs, ins, 1, o, 1e-4, 1e-5);
  }
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

TEST(GpuConv, FusedEpilogueBiasResidualActivation) {
  KILN_REQUIRE_GPU();
  const std::vector<std::pair<std::string, std::pair<double, double>>> acts = {
      {"Relu", {0, 0}}, {"Clip", {0.0, 6.0}}, {"LeakyRelu", {0.1, 0}}, {"Sigmoid", {0, 0}}, {"Tanh", {0, 0}},
      {"HardSigmoid", {0.2, 0.5}}, {"HardSwish", {0, 0}}, {"Silu", {0, 0}}, {"Gelu", {0, 0}}};
  uint32_t seed = 500;
  for (const auto& [name, ab] : acts) {
    SCOPED_TRACE(name);
    ir::Attributes at;
    at.setInts("pads", {1, 1, 1, 1});
    at.setString("kiln_act", name);
    at.setFloat("kiln_act_alpha", ab.first);
    at.setFloat("kiln_act_beta", ab.second);
    auto x = randomTensor({2, 3, 9, 9}, seed++), w = randomTensor({5, 3, 3, 3}, seed++), b = randomTensor({5}, seed++);
    auto z = randomTensor({2, 5, 9, 9}, seed++);
    GpuOpOptions o;
    o.constantInputs = {1, 2};
    expectGpuMatchesCpu("Conv", at, {x, w, b, z}, 1, o, 1e-4, 1e-5);
    std::vector<TensorPtr> half;
    for (auto& t : {x, w, b, z}) half.push_back(convertTensor(*t, DataType::kHALF));
    expectGpuMatchesCpu("Conv", at, half, 1, o, 2e-2, 2e-2);
  }
}

TEST(GpuBlas, MatMulBiasActivationAndGemmActivation) {
  KILN_REQUIRE_GPU();
  ir::Attributes at;
  at.setString("kiln_act", "Gelu");
  auto a = randomTensor({2, 7, 16}, 600), b = randomTensor({16, 12}, 601), bias = randomTensor({12}, 602);
  GpuOpOptions o;
  o.constantInputs = {1, 2};
  expectGpuMatchesCpu("MatMul", at, {a, b, bias}, 1, o, 1e-4, 1e-5);
  auto a4 = randomTensor({2, 3, 7, 16}, 603), b4 = randomTensor({2, 3, 16, 12}, 604);
  expectGpuMatchesCpu("MatMul", at, {a4, b4, bias}, 1, o, 1e-4, 1e-5);  // batched path: bias in the epilogue pass
  ir::Attributes g;
  g.setString("kiln_act", "Relu");
  g.setInt("transB", 1);
  auto A = randomTensor({5, 9}, 605), B = randomTensor({7, 9}, 606), C = randomTensor({7}, 607);
  expectGpuMatchesCpu("Gemm", g, {A, B, C}, 1, o, 1e-4, 1e-5);
}

}  // namespace
}  // namespace kiln::test
