// GPU kernels of the nn family (softmax, reductions, normalizations, pooling) against the CPU reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gpu_op.h"

namespace kiln::test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TensorPtr rnd(const ir::Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return randomTensor(shape, seed, lo, hi);
}

TensorPtr ints(DataType dt, const ir::Shape& shape, uint32_t seed, int64_t lo, int64_t hi) {
  std::vector<int64_t> v = randomInts(ir::numElements(shape), seed, lo, hi);
  return makeTyped(dt, shape, std::vector<double>(v.begin(), v.end()));
}

TensorPtr axesT(const std::vector<int64_t>& a) { return int64Tensor({static_cast<int64_t>(a.size())}, a); }

//! Float inputs converted to `dt` (other inputs, e.g. int64 axes, kept).
std::vector<TensorPtr> as(DataType dt, const std::vector<TensorPtr>& in) {
  std::vector<TensorPtr> out;
  for (const auto& t : in) out.push_back(t && t->dtype == DataType::kFLOAT && dt != DataType::kFLOAT ? convertTensor(*t, dt) : t);
  return out;
}

ir::Attributes attrs(std::initializer_list<std::pair<const char*, int64_t>> ints = {}) {
  ir::Attributes a;
  for (const auto& [k, v] : ints) a.setInt(k, v);
  return a;
}

//! float (tight), half and bf16 (loose) variants of one op.
void checkFloatTypes(const std::string& op, const ir::Attributes& a, const std::vector<TensorPtr>& in, int nOut = 1,
                     const GpuOpOptions& opts = {}, double rtol = 1e-4, double atol = 1e-5, bool bf16 = false) {
  {
    SCOPED_TRACE(op + " float32");
    expectGpuMatchesCpu(op, a, in, nOut, opts, rtol, atol);
  }
  {
    SCOPED_TRACE(op + " float16");
    expectGpuMatchesCpu(op, a, as(DataType::kHALF, in), nOut, opts, 2e-3, 2e-3);
  }
  if (bf16) {
    SCOPED_TRACE(op + " bfloat16");
    expectGpuMatchesCpu(op, a, as(DataType::kBF16, in), nOut, opts, 1e-2, 1e-2);
  }
}

// ---- softmax --------------------------------------------------------------------------------------------

TEST(GpuNn, SoftmaxLogSoftmaxShapesAndAxes) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    SCOPED_TRACE(op);
    checkFloatTypes(op, attrs(), {rnd({4, 10}, 1, -4, 4)}, 1, {}, 1e-4, 1e-5, true);
    checkFloatTypes(op, attrs({{"axis", 1}}), {rnd({3, 5, 7}, 2, -4, 4)});
    checkFloatTypes(op, attrs({{"axis", 0}}), {rnd({33, 3}, 3, -4, 4)});
    checkFloatTypes(op, attrs({{"axis", -2}}), {rnd({2, 1, 70, 1}, 4, -4, 4)});
    checkFloatTypes(op, attrs(), {rnd({7, 3001}, 5, -8, 8)});   // block per row
    checkFloatTypes(op, attrs(), {rnd({3, 20000}, 6, -8, 8)});  // 1024 threads
    checkFloatTypes(op, attrs(), {rnd({1, 1}, 7)});
    expectGpuMatchesCpu(op, attrs(), {rnd({2, 1000000}, 8, -10, 10)}, 1, {}, 1e-4, 1e-9);  // a wide row
    expectGpuMatchesCpu(op, attrs(), {rnd({1 << 16, 17}, 9, -10, 10)}, 1, {}, 1e-4, 1e-6);  // many rows
    expectGpuMatchesCpu(op, attrs({{"axis", 1}}), {rnd({512, 5, 600}, 10)}, 1, {}, 1e-4, 1e-6);
    expectGpuMatchesCpu(op, attrs(), {rnd({0, 5}, 11)});
    expectGpuMatchesCpu(op, attrs({{"trt_default_axis", 1}}), {rnd({2, 3, 4, 5}, 12)}, 1, {}, 1e-4, 1e-6);
  }
}

TEST(GpuNn, SoftmaxSpecialValues) {
  KILN_REQUIRE_GPU();
  // rows: plain, one +inf, two +inf, all -inf, a -inf, a NaN
  std::vector<double> v = {1, 2, 3, 4,  1, kInf, 2, 3,  kInf, 1, kInf, 2,  -kInf, -kInf, -kInf, -kInf,
                           1, -kInf, 2, 3,  1, kNaN, 2, 3};
  TensorPtr x = makeTyped(DataType::kFLOAT, {6, 4}, v);
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    SCOPED_TRACE(op);
    expectGpuMatchesCpu(op, attrs(), {x}, 1, {}, 1e-5, 1e-6);
  }
}

TEST(GpuNn, Hardmax) {
  KILN_REQUIRE_GPU();
  TensorPtr ties = makeTyped(DataType::kFLOAT, {3, 4}, {1, 3, 3, 0, 5, 5, 5, 5, -1, -2, -1, -3});
  expectGpuMatchesCpu("Hardmax", attrs(), {ties});
  checkFloatTypes("Hardmax", attrs({{"axis", 1}}), {ints(DataType::kFLOAT, {3, 5, 7}, 1, -3, 3)});
  checkFloatTypes("Hardmax", attrs(), {rnd({5, 3000}, 2)});
}

// ---- normalizations -------------------------------------------------------------------------------------

TEST(GpuNn, LayerNormalization) {
  KILN_REQUIRE_GPU();
  checkFloatTypes("LayerNormalization", attrs(), {rnd({4, 16}, 1, -3, 3), rnd({16}, 2), rnd({16}, 3)}, 1, {}, 1e-4,
                  1e-5, true);
  // statistics outputs, no bias
  checkFloatTypes("LayerNormalization", attrs(), {rnd({5, 33}, 4, -3, 3), rnd({33}, 5)}, 3);
  // axis 1 over [3, 50], broadcast parameters
  checkFloatTypes("LayerNormalization", attrs({{"axis", 1}}), {rnd({2, 3, 50}, 6), rnd({3, 50}, 7), rnd({50}, 8)}, 3);
  checkFloatTypes("LayerNormalization", attrs({{"axis", -2}}), {rnd({2, 3, 50}, 6), rnd({1, 50}, 7), rnd({3, 1}, 8)});
  // block per row
  checkFloatTypes("LayerNormalization", attrs(), {rnd({6, 4099}, 9, 0, 5), rnd({4099}, 10), rnd({4099}, 11)}, 3);
  ir::Attributes eps = attrs();
  eps.setFloat("epsilon", 1e-2);
  expectGpuMatchesCpu("LayerNormalization", eps, {rnd({4, 300000}, 12, -2, 6), rnd({300000}, 13), rnd({300000}, 14)}, 3,
                      {}, 1e-4, 1e-4);
  expectGpuMatchesCpu("LayerNormalization", attrs(), {rnd({8192, 128}, 15), rnd({128}, 16), rnd({128}, 17)}, 1, {}, 1e-4,
                      1e-4);
  expectGpuMatchesCpu("LayerNormalization", attrs(), {rnd({0, 8}, 18), rnd({8}, 19), rnd({8}, 20)});
  expectGpuMatchesCpu("LayerNormalization", attrs(), {rnd({3, 0}, 18), rnd({0}, 19), rnd({0}, 20)}, 3);
  // constant parameters (as in real models)
  GpuOpOptions c;
  c.constantInputs = {1, 2};
  expectGpuMatchesCpu("LayerNormalization", attrs(), {rnd({3, 768}, 21), rnd({768}, 22), rnd({768}, 23)}, 1, c, 1e-4, 1e-4);
}

TEST(GpuNn, BatchNormalization) {
  KILN_REQUIRE_GPU();
  auto params = [](int64_t C, uint32_t s) {
    return std::vector<TensorPtr>{rnd({C}, s), rnd({C}, s + 1), rnd({C}, s + 2), rnd({C}, s + 3, 0.1f, 2.f)};
  };
  for (const ir::Shape& shape : {ir::Shape{2, 3, 4, 5}, ir::Shape{4, 6}, ir::Shape{2, 5, 7}, ir::Shape{1, 3, 2, 3, 4}}) {
    std::vector<TensorPtr> in{rnd(shape, 1, -3, 3)};
    for (auto& p : params(shape[1], 10)) in.push_back(p);
    checkFloatTypes("BatchNormalization", attrs(), in, 1, {}, 1e-4, 1e-5, true);
    // half data with float parameters
    std::vector<TensorPtr> mixed = in;
    mixed[0] = convertTensor(*in[0], DataType::kHALF);
    expectGpuMatchesCpu("BatchNormalization", attrs(), mixed, 1, {}, 2e-3, 2e-3);
  }
  std::vector<TensorPtr> big{rnd({2, 64, 128, 128}, 2)};
  for (auto& p : params(64, 20)) big.push_back(p);
  GpuOpOptions c;
  c.constantInputs = {1, 2, 3, 4};
  expectGpuMatchesCpu("BatchNormalization", attrs(), big, 1, c, 1e-4, 1e-5);
  std::vector<TensorPtr> empty{rnd({0, 3, 4}, 3)};
  for (auto& p : params(3, 30)) empty.push_back(p);
  expectGpuMatchesCpu("BatchNormalization", attrs(), empty);
}

TEST(GpuNn, KilnNormalization) {
  KILN_REQUIRE_GPU();
  ir::Attributes a;
  a.setInts("axes", {2, 3});
  checkFloatTypes("Normalization", a, {rnd({2, 4, 5, 6}, 1, -2, 3), rnd({1, 4, 1, 1}, 2), rnd({4, 1, 1}, 3)});
  a.setInt("num_groups", 2);
  checkFloatTypes("Normalization", a, {rnd({2, 4, 5, 6}, 4, -2, 3), rnd({1, 4, 1, 1}, 5), rnd({4, 1, 1}, 6)});
  checkFloatTypes("Normalization", a, {rnd({2, 4, 5, 6}, 7, -2, 3), rnd({5, 6}, 8), rnd({1}, 9)});
  ir::Attributes b;
  b.setInts("axes", {1});
  checkFloatTypes("Normalization", b, {rnd({3, 7, 5}, 10), rnd({7, 5}, 11), rnd({3, 1, 5}, 12)});
  ir::Attributes c;
  c.setInts("axes", {0, 2});
  checkFloatTypes("Normalization", c, {rnd({3, 7, 5}, 13), rnd({1}, 14), rnd({1}, 15)});
  ir::Attributes d;
  d.setInts("axes", {-1});
  expectGpuMatchesCpu("Normalization", d, {rnd({64, 20000}, 16), rnd({20000}, 17), rnd({20000}, 18)}, 1, {}, 1e-4, 1e-4);
}

TEST(GpuNn, InstanceGroupNormalization) {
  KILN_REQUIRE_GPU();
  checkFloatTypes("InstanceNormalization", attrs(), {rnd({2, 3, 5, 7}, 1, -2, 4), rnd({3}, 2), rnd({3}, 3)}, 1, {}, 1e-4,
                  1e-5, true);
  checkFloatTypes("InstanceNormalization", attrs(), {rnd({2, 3, 50}, 4), rnd({3}, 5), rnd({3}, 6)});
  expectGpuMatchesCpu("InstanceNormalization", attrs(), {rnd({2, 8, 300, 300}, 7), rnd({8}, 8), rnd({8}, 9)}, 1, {}, 1e-4,
                      1e-4);
  checkFloatTypes("GroupNormalization", attrs({{"num_groups", 3}}), {rnd({2, 6, 4, 4}, 10, -1, 3), rnd({6}, 11), rnd({6}, 12)});
  checkFloatTypes("GroupNormalization", attrs({{"num_groups", 1}}), {rnd({2, 6, 5}, 13), rnd({6}, 14), rnd({6}, 15)});
  checkFloatTypes("GroupNormalization", attrs({{"num_groups", 6}}), {rnd({2, 6, 5}, 16), rnd({6}, 17), rnd({6}, 18)});
  expectGpuMatchesCpu("GroupNormalization", attrs({{"num_groups", 32}}), {rnd({2, 320, 64, 64}, 19), rnd({320}, 20), rnd({320}, 21)},
                      1, {}, 1e-4, 1e-4);
}

TEST(GpuNn, MeanVarianceLpNormalizationLRN) {
  KILN_REQUIRE_GPU();
  checkFloatTypes("MeanVarianceNormalization", attrs(), {rnd({2, 3, 4, 5}, 1, -1, 3)});
  ir::Attributes a;
  a.setInts("axes", {1});
  checkFloatTypes("MeanVarianceNormalization", a, {rnd({2, 3, 4}, 2)});
  for (int64_t p : {1, 2}) {
    checkFloatTypes("LpNormalization", attrs({{"p", p}}), {rnd({3, 7}, 3)});
    checkFloatTypes("LpNormalization", attrs({{"p", p}, {"axis", 1}}), {rnd({3, 7, 5}, 4)});
    checkFloatTypes("LpNormalization", attrs({{"p", p}, {"axis", 0}}), {rnd({300, 2000}, 5)});
  }
  TensorPtr zero = makeTyped(DataType::kFLOAT, {2, 3}, {0, 0, 0, 1, -2, 3});
  expectGpuMatchesCpu("LpNormalization", attrs(), {zero});
  for (int64_t size : {1, 3, 4, 5}) {
    ir::Attributes l = attrs({{"size", size}});
    l.setFloat("alpha", 0.02);
    checkFloatTypes("LRN", l, {rnd({2, 7, 3, 3}, 6, -2, 2)});
  }
  expectGpuMatchesCpu("LRN", attrs({{"size", 5}}), {rnd({4, 64, 64, 64}, 7)}, 1, {}, 1e-4, 1e-5);
}

// ---- reductions -----------------------------------------------------------------------------------------

const char* const kAllReduce[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                  "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
const char* const kIntReduce[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"};

TEST(GpuNn, ReduceAxesKeepdims) {
  KILN_REQUIRE_GPU();
  GpuOpOptions c;
  c.constantInputs = {1};
  const std::vector<std::vector<int64_t>> axesList = {{1}, {2}, {0}, {0, 2}, {-1}, {1, 2}, {0, 1, 2}, {0, 1}};
  for (const char* op : kAllReduce) {
    SCOPED_TRACE(op);
    // positive values keep LogSum finite; Prod stays in range
    TensorPtr x = rnd({3, 4, 5}, 1, 0.5f, 1.5f);
    for (const auto& axes : axesList)
      for (int64_t keep : {0, 1}) {
        SCOPED_TRACE(::testing::Message() << "axes " << axes.size() << " first " << axes[0] << " keepdims " << keep);
        checkFloatTypes(op, attrs({{"keepdims", keep}}), {x, axesT(axes)}, 1, c, 1e-4, 1e-5);
      }
    // no axes: everything; noop_with_empty_axes
    checkFloatTypes(op, attrs(), {x}, 1, c);
    checkFloatTypes(op, attrs({{"keepdims", 0}}), {x, axesT({})}, 1, c);
    expectGpuMatchesCpu(op, attrs({{"noop_with_empty_axes", 1}}), {x, axesT({})}, 1, c);
    // generic strides: [2,3,4,5,6] over {1,3}, {0,2,4}
    TensorPtr y = rnd({2, 3, 4, 5, 6}, 2, 0.8f, 1.2f);
    expectGpuMatchesCpu(op, attrs(), {y, axesT({1, 3})}, 1, c, 1e-4, 1e-5);
    expectGpuMatchesCpu(op, attrs({{"keepdims", 0}}), {y, axesT({0, 2, 4})}, 1, c, 1e-4, 1e-5);
    // extent-1 dims between
    expectGpuMatchesCpu(op, attrs(), {rnd({3, 1, 4, 1, 5}, 3, 0.5f, 1.5f), axesT({1, 2, 3})}, 1, c, 1e-4, 1e-5);
    // empty reductions give the identity; empty outputs
    expectGpuMatchesCpu(op, attrs(), {rnd({0, 4}, 4), axesT({0})}, 1, c);
    expectGpuMatchesCpu(op, attrs(), {rnd({0, 4}, 4), axesT({1})}, 1, c);
  }
}

TEST(GpuNn, ReduceLarge) {
  KILN_REQUIRE_GPU();
  GpuOpOptions c;
  c.constantInputs = {1};
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare"}) {
    SCOPED_TRACE(op);
    TensorPtr x = rnd({1100, 1000}, 5, 0.f, 1.f);
    expectGpuMatchesCpu(op, attrs(), {x, axesT({1})}, 1, c, 1e-4, 1e-4);
    expectGpuMatchesCpu(op, attrs(), {x, axesT({0})}, 1, c, 1e-4, 1e-4);
    expectGpuMatchesCpu(op, attrs({{"keepdims", 0}}), {x}, 1, c, 1e-4, 1e-4);  // everything
    expectGpuMatchesCpu(op, attrs(), {rnd({4, 300000}, 6, 0.f, 1.f), axesT({1})}, 1, c, 1e-4, 1e-4);
    expectGpuMatchesCpu(op, attrs(), {rnd({8, 40000, 4}, 7, 0.f, 1.f), axesT({1})}, 1, c, 1e-4, 1e-4);
    expectGpuMatchesCpu(op, attrs(), {rnd({64, 64, 300}, 8, 0.f, 1.f), axesT({0, 2})}, 1, c, 1e-4, 1e-4);
    expectGpuMatchesCpu(op, attrs(), {rnd({50000, 5}, 9, 0.f, 1.f), axesT({1})}, 1, c, 1e-4, 1e-4);  // short rows
    expectGpuMatchesCpu(op, attrs(), {rnd({300000, 2}, 10, 0.f, 1.f), axesT({0})}, 1, c, 1e-4, 1e-4);
  }
}

TEST(GpuNn, ReduceIntegersAndSpecialValues) {
  KILN_REQUIRE_GPU();
  GpuOpOptions c;
  c.constantInputs = {1};
  for (const char* op : kIntReduce) {
    SCOPED_TRACE(op);
    for (DataType dt : {DataType::kINT32, DataType::kINT64}) {
      TensorPtr x = ints(dt, {3, 4, 5}, 1, -7, 7);
      for (const auto& axes : std::vector<std::vector<int64_t>>{{1}, {2}, {0, 2}, {0, 1, 2}})
        expectGpuMatchesCpu(op, attrs(), {x, axesT(axes)}, 1, c, 0, 0);
      expectGpuMatchesCpu(op, attrs(), {ints(dt, {0, 3}, 2, 0, 1), axesT({0})}, 1, c, 0, 0);
      // wrap-around: int32 sums and products overflow
      expectGpuMatchesCpu(op, attrs(), {ints(dt, {3, 4000}, 3, 1000000, 2000000), axesT({1})}, 1, c, 0, 0);
    }
  }
  // NaN propagates through Max/Min; infinities through LogSumExp
  TensorPtr s = makeTyped(DataType::kFLOAT, {4, 3}, {1, kNaN, 2, kNaN, 0, 1, kInf, 1, 2, -kInf, -kInf, -kInf});
  for (const char* op : kAllReduce) {
    SCOPED_TRACE(op);
    expectGpuMatchesCpu(op, attrs(), {s, axesT({1})}, 1, c, 1e-5, 1e-6);
  }
}

TEST(GpuNn, ArgMaxArgMin) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"ArgMax", "ArgMin"}) {
    SCOPED_TRACE(op);
    for (int64_t axis : {0, 1, 2, -1})
      for (int64_t keep : {0, 1})
        for (int64_t last : {0, 1}) {
          ir::Attributes a = attrs({{"axis", axis}, {"keepdims", keep}, {"select_last_index", last}});
          // small integer range: many ties
          TensorPtr x = ints(DataType::kFLOAT, {3, 4, 5}, 1, -2, 2);
          expectGpuMatchesCpu(op, a, {x}, 1, {}, 0, 0);
          expectGpuMatchesCpu(op, a, {convertTensor(*x, DataType::kHALF)}, 1, {}, 0, 0);
          for (DataType dt : {DataType::kINT32, DataType::kINT64, DataType::kINT8, DataType::kUINT8})
            expectGpuMatchesCpu(op, a, {ints(dt, {3, 4, 5}, 2, 0, 3)}, 1, {}, 0, 0);
        }
    for (int64_t last : {0, 1}) {
      ir::Attributes a = attrs({{"axis", 1}, {"select_last_index", last}});
      expectGpuMatchesCpu(op, a, {ints(DataType::kFLOAT, {3, 100000}, 3, -1000, 1000)}, 1, {}, 0, 0);
      expectGpuMatchesCpu(op, a, {ints(DataType::kFLOAT, {5000, 300}, 4, -50, 50)}, 1, {}, 0, 0);
      ir::Attributes b = attrs({{"axis", 0}, {"select_last_index", last}});
      expectGpuMatchesCpu(op, b, {ints(DataType::kFLOAT, {3000, 70}, 5, -50, 50)}, 1, {}, 0, 0);
      expectGpuMatchesCpu(op, a, {ints(DataType::kFLOAT, {40000, 7}, 6, -3, 3)}, 1, {}, 0, 0);
      expectGpuMatchesCpu(op, b, {ints(DataType::kINT32, {100000, 3}, 7, -1000, 1000)}, 1, {}, 0, 0);
    }
    // NaN at index 0 wins, later NaNs are skipped
    TensorPtr s = makeTyped(DataType::kFLOAT, {3, 4}, {kNaN, 1, 2, 3, 1, kNaN, 3, 0, 2, 2, -kInf, kInf});
    expectGpuMatchesCpu(op, attrs({{"axis", 1}}), {s}, 1, {}, 0, 0);
    expectGpuMatchesCpu(op, attrs({{"axis", 1}, {"select_last_index", 1}}), {s}, 1, {}, 0, 0);
  }
}

// ---- pooling --------------------------------------------------------------------------------------------

ir::Attributes poolAttrs(std::vector<int64_t> k, std::vector<int64_t> s = {}, std::vector<int64_t> pads = {},
                         std::vector<int64_t> d = {}, int64_t ceil = 0) {
  ir::Attributes a;
  a.setInts("kernel_shape", k);
  if (!s.empty()) a.setInts("strides", s);
  if (!pads.empty()) a.setInts("pads", pads);
  if (!d.empty()) a.setInts("dilations", d);
  if (ceil) a.setInt("ceil_mode", ceil);
  return a;
}

TEST(GpuNn, MaxPool) {
  KILN_REQUIRE_GPU();
  TensorPtr x = rnd({2, 3, 9, 10}, 1, -3, 3);
  std::vector<ir::Attributes> cases = {poolAttrs({3, 3}), poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}),
                                       poolAttrs({3, 2}, {2, 3}, {1, 0, 2, 1}, {}, 1),
                                       poolAttrs({3, 3}, {1, 2}, {2, 2, 2, 2}, {2, 2}), poolAttrs({2, 2}, {2, 2})};
  ir::Attributes same = poolAttrs({3, 3}, {2, 2});
  same.setString("auto_pad", "SAME_UPPER");
  cases.push_back(same);
  ir::Attributes lower = poolAttrs({4, 4}, {3, 3});
  lower.setString("auto_pad", "SAME_LOWER");
  cases.push_back(lower);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "case " << i);
    checkFloatTypes("MaxPool", cases[i], {x}, 2, {}, 0, 0, true);
    ir::Attributes so = cases[i];
    so.setInt("storage_order", 1);
    expectGpuMatchesCpu("MaxPool", so, {x}, 2, {}, 0, 0);
    expectGpuMatchesCpu("MaxPool", cases[i], {ints(DataType::kINT8, {2, 3, 9, 10}, 2, -128, 127)}, 2, {}, 0, 0);
    expectGpuMatchesCpu("MaxPool", cases[i], {ints(DataType::kUINT8, {2, 3, 9, 10}, 3, 0, 255)}, 1, {}, 0, 0);
  }
  // a window entirely in the padding: -inf and index -1
  expectGpuMatchesCpu("MaxPool", poolAttrs({1, 1}, {2, 2}, {1, 1, 1, 1}), {rnd({1, 2, 3, 3}, 4)}, 2, {}, 0, 0);
  // 1-D and 3-D
  expectGpuMatchesCpu("MaxPool", poolAttrs({3}, {2}, {1, 1}), {rnd({2, 3, 17}, 5)}, 2, {}, 0, 0);
  expectGpuMatchesCpu("MaxPool", poolAttrs({2, 3, 2}, {2, 1, 2}, {0, 1, 1, 1, 1, 0}), {rnd({2, 3, 5, 6, 7}, 6)}, 2, {}, 0, 0);
  // large
  expectGpuMatchesCpu("MaxPool", poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}), {rnd({8, 64, 112, 112}, 7)}, 1, {}, 0, 0);
  expectGpuMatchesCpu("MaxPool", poolAttrs({2, 2}), {rnd({0, 3, 4, 4}, 8)}, 2, {}, 0, 0);
}

TEST(GpuNn, AverageLpPool) {
  KILN_REQUIRE_GPU();
  TensorPtr x = rnd({2, 3, 9, 10}, 1, -3, 3);
  std::vector<ir::Attributes> cases = {poolAttrs({3, 3}), poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}),
                                       poolAttrs({3, 2}, {2, 3}, {1, 0, 2, 1}, {}, 1),
                                       poolAttrs({3, 3}, {1, 2}, {2, 2, 2, 2}, {2, 2})};
  ir::Attributes same = poolAttrs({3, 3}, {2, 2});
  same.setString("auto_pad", "SAME_LOWER");
  cases.push_back(same);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "case " << i);
    for (int64_t cip : {0, 1}) {
      ir::Attributes a = cases[i];
      a.setInt("count_include_pad", cip);
      checkFloatTypes("AveragePool", a, {x}, 1, {}, 1e-5, 1e-6, true);
    }
    for (int64_t p : {1, 2, 3}) {
      ir::Attributes a = cases[i];
      a.setInt("p", p);
      checkFloatTypes("LpPool", a, {x}, 1, {}, 1e-4, 1e-5);
    }
  }
  expectGpuMatchesCpu("AveragePool", poolAttrs({3}, {2}, {1, 1}), {rnd({2, 3, 17}, 5)}, 1, {}, 1e-5, 1e-6);
  expectGpuMatchesCpu("AveragePool", poolAttrs({2, 3, 2}, {2, 1, 2}, {0, 1, 1, 1, 1, 0}), {rnd({2, 3, 5, 6, 7}, 6)}, 1, {},
                      1e-5, 1e-6);
  expectGpuMatchesCpu("AveragePool", poolAttrs({3, 3}, {1, 1}, {1, 1, 1, 1}), {rnd({8, 64, 56, 56}, 7)}, 1, {}, 1e-5, 1e-6);
}

TEST(GpuNn, GlobalPools) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) {
    SCOPED_TRACE(op);
    checkFloatTypes(op, attrs(), {rnd({2, 3, 7, 7}, 1)}, 1, {}, 1e-4, 1e-5, true);
    checkFloatTypes(op, attrs(), {rnd({2, 5, 13}, 2)});
    checkFloatTypes(op, attrs(), {rnd({2, 3, 2, 3, 4}, 3)});
    checkFloatTypes(op, attrs(), {rnd({3, 4}, 4)});
    expectGpuMatchesCpu(op, attrs(), {rnd({32, 2048, 7, 7}, 5)}, 1, {}, 1e-4, 1e-5);
    expectGpuMatchesCpu(op, attrs(), {rnd({1, 8, 512, 512}, 6)}, 1, {}, 1e-4, 1e-5);
    expectGpuMatchesCpu(op, attrs(), {rnd({2, 3, 0, 4}, 7)});
    expectGpuMatchesCpu(op, attrs(), {rnd({2, 20000, 3, 3}, 8)}, 1, {}, 1e-4, 1e-5);
  }
  expectGpuMatchesCpu("GlobalLpPool", attrs({{"p", 3}}), {rnd({2, 3, 7, 7}, 8)}, 1, {}, 1e-4, 1e-5);
  expectGpuMatchesCpu("GlobalLpPool", attrs({{"p", 1}}), {rnd({2, 3, 7, 7}, 9)}, 1, {}, 1e-4, 1e-5);
  TensorPtr s = makeTyped(DataType::kFLOAT, {1, 2, 2, 2}, {1, kNaN, 2, 3, -kInf, -kInf, -kInf, -kInf});
  expectGpuMatchesCpu("GlobalMaxPool", attrs(), {s});
}

}  // namespace
}  // namespace kiln::test
