// GPU MatMul over int32 / int64 (matmul_int.cu, tactic "cuda_int") against the CPU reference, bit for bit:
// shapes with odd extents, batch broadcasting, 1-D operands, transA/transB, wrap-around; and the graphs the
// ONNX importer lowers MatMulInteger and QLinearMatMul to (src/onnx/importers/quant.cpp), run op by op on
// both backends from the same int8 / uint8 inputs with per-tensor, per-row and per-column zero points.
#include <cstring>

#include "gpu_op.h"

namespace kiln::test {
namespace {

using ir::Attributes;
using ir::Shape;

TensorPtr ints(DataType t, const Shape& s, uint32_t seed, int64_t lo, int64_t hi) {
  std::vector<int64_t> v = randomInts(ir::numElements(s), seed, lo, hi);
  std::vector<double> d(v.begin(), v.end());
  return makeTyped(t, s, d);
}

//! Same type, shape and bytes.
void expectSameBytes(const ir::TensorData& got, const ir::TensorData& ref) {
  ASSERT_EQ(got.dtype, ref.dtype);
  ASSERT_EQ(ir::shapeToString(got.shape), ir::shapeToString(ref.shape));
  const size_t n = static_cast<size_t>(ref.numel()) * dataTypeSize(ref.dtype);
  const auto* a = static_cast<const uint8_t*>(got.raw());
  const auto* b = static_cast<const uint8_t*>(ref.raw());
  int bad = 0;
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i] && bad++ < 5)
      ADD_FAILURE() << "byte " << i << ": got " << int(a[i]) << ", expected " << int(b[i]);
  EXPECT_EQ(bad, 0);
}

void expectMatMulExact(const Attributes& attrs, const std::vector<TensorPtr>& in) {
  std::vector<TensorPtr> ref = runOp("MatMul", attrs, in);
  std::vector<TensorPtr> got = runGpuOp("MatMul", attrs, in);
  expectSameBytes(*got[0], *ref[0]);
}

TEST(GpuIntMatMul, ShapesAndBroadcast) {
  KILN_REQUIRE_GPU();
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {{1, 1}, {1, 1}},
      {{3, 5}, {5, 7}},
      {{17, 33}, {33, 19}},
      {{64, 64}, {64, 64}},
      {{2, 3, 9, 4}, {4, 11}},
      {{3, 1, 5, 6}, {4, 6, 2}},
      {{7}, {7, 3}},
      {{5, 7}, {7}},
      {{9}, {9}},
      {{2, 1, 4, 6}, {3, 6, 5}},
      {{1, 40, 130}, {130, 1}},
      {{4, 0, 3}, {3, 2}},
      {{3, 0}, {0, 4}},  // K = 0: zeros
  };
  uint32_t seed = 1;
  for (DataType t : {DataType::kINT32, DataType::kINT64}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(dataTypeName(t)) + " " + ir::shapeToString(c.a) + " x " +
                   ir::shapeToString(c.b));
      expectMatMulExact({}, {ints(t, c.a, seed, -300, 300), ints(t, c.b, seed + 1, -300, 300)});
      seed += 2;
    }
  }
}

TEST(GpuIntMatMul, TransposedAndVectorAttributes) {
  KILN_REQUIRE_GPU();
  Attributes ta, tb, both;
  ta.setInt("transA", 1);
  tb.setInt("transB", 1);
  both.setInt("transA", 1);
  both.setInt("transB", 1);
  for (DataType t : {DataType::kINT32, DataType::kINT64}) {
    expectMatMulExact(ta, {ints(t, {2, 13, 5}, 11, -50, 50), ints(t, {13, 6}, 12, -50, 50)});
    expectMatMulExact(tb, {ints(t, {5, 13}, 13, -50, 50), ints(t, {3, 6, 13}, 14, -50, 50)});
    expectMatMulExact(both, {ints(t, {21, 18}, 15, -50, 50), ints(t, {17, 21}, 16, -50, 50)});
  }
}

TEST(GpuIntMatMul, WrapsAroundLikeTheReference) {
  KILN_REQUIRE_GPU();
  // products and sums far outside int32 / int64
  expectMatMulExact({}, {ints(DataType::kINT32, {6, 37}, 21, -2000000000, 2000000000),
                         ints(DataType::kINT32, {37, 5}, 22, -2000000000, 2000000000)});
  std::vector<int64_t> big = randomInts(8 * 9, 23, INT64_MIN / 2, INT64_MAX / 2);
  std::vector<int64_t> big2 = randomInts(9 * 4, 24, INT64_MIN / 2, INT64_MAX / 2);
  expectMatMulExact({}, {typedTensor<int64_t>({8, 9}, big), typedTensor<int64_t>({9, 4}, big2)});
}

TEST(GpuIntMatMul, ErrorCases) {
  KILN_REQUIRE_GPU();
  // mixed types, bias input and kiln_act are refused (no kernel), mismatched K fails
  EXPECT_THROW(runGpuOp("MatMul", {},
                        {ints(DataType::kINT32, {2, 3}, 1, 0, 5), ints(DataType::kINT64, {3, 2}, 2, 0, 5)}),
               Error);
  Attributes act;
  act.setString("kiln_act", "Relu");
  EXPECT_THROW(runGpuOp("MatMul", act,
                        {ints(DataType::kINT32, {2, 3}, 1, 0, 5), ints(DataType::kINT32, {3, 2}, 2, 0, 5)}),
               Error);
  EXPECT_THROW(runGpuOp("MatMul", {},
                        {ints(DataType::kINT32, {2, 3}, 1, 0, 5), ints(DataType::kINT32, {4, 2}, 2, 0, 5)}),
               Error);
  // uint8 MatMul has no kernel (the importer widens to int32 first)
  EXPECT_THROW(runGpuOp("MatMul", {},
                        {ints(DataType::kUINT8, {2, 3}, 1, 0, 5), ints(DataType::kUINT8, {3, 2}, 2, 0, 5)}),
               Error);
}

// ---- MatMulInteger (made by fuse-matmul-integer): cuBLASLt int8 path and the tiled kernel ----

TensorPtr bytes8(DataType t, const Shape& s, uint32_t seed) {
  return t == DataType::kINT8 ? ints(t, s, seed, -128, 127) : ints(t, s, seed, 0, 255);
}

TEST(GpuMatMulInteger, MatchesReferenceBothPaths) {
  KILN_REQUIRE_GPU();
  struct Case {
    Shape a, b;
    int zp;  // 0 none, 1 per tensor, 2 per row / column, 3 only b's
  };
  // the first six take the cuBLASLt path (2-D B, K and N multiples of 4), the others the tiled kernel
  const std::vector<Case> cases = {
      {{16, 32}, {32, 16}, 0},
      {{7, 64}, {64, 20}, 1},
      {{3, 5, 12}, {12, 8}, 2},
      {{130, 256}, {256, 132}, 2},
      {{1, 4}, {4, 4}, 3},
      {{2, 2, 9, 36}, {36, 12}, 1},
      {{5, 7}, {7, 3}, 2},
      {{33, 17}, {17, 31}, 1},
      {{4, 6, 8}, {4, 8, 12}, 2},
      {{9}, {9, 5}, 1},
      {{6, 10}, {10}, 1},
      {{3, 0}, {0, 8}, 1},
      {{0, 8}, {8, 4}, 2},
  };
  uint32_t seed = 300;
  for (DataType ta : {DataType::kUINT8, DataType::kINT8})
    for (DataType tb : {DataType::kUINT8, DataType::kINT8})
      for (const Case& c : cases) {
        SCOPED_TRACE(std::string(dataTypeName(ta)) + " x " + dataTypeName(tb) + " " + ir::shapeToString(c.a) +
                     " x " + ir::shapeToString(c.b) + " zp " + std::to_string(c.zp));
        std::vector<TensorPtr> in{bytes8(ta, c.a, seed), bytes8(tb, c.b, seed + 1)};
        seed += 4;
        const int64_t M = c.a.size() >= 2 ? c.a[c.a.size() - 2] : 1, N = c.b.size() >= 2 ? c.b.back() : 1;
        if (c.zp == 1 || c.zp == 2) {
          in.push_back(bytes8(ta, c.zp == 2 ? Shape{M} : Shape{}, seed + 2));
          in.push_back(bytes8(tb, c.zp == 2 ? Shape{N} : Shape{1}, seed + 3));
        } else if (c.zp == 3) {
          in.push_back(nullptr);
          in.push_back(bytes8(tb, {N}, seed + 3));
        }
        std::vector<TensorPtr> ref = runOp("MatMulInteger", {}, in);
        std::vector<TensorPtr> got = runGpuOp("MatMulInteger", {}, in);
        expectSameBytes(*got[0], *ref[0]);
      }
}

TEST(GpuMatMulInteger, LargeKAndExtremeValues) {
  KILN_REQUIRE_GPU();
  // all 255 (uint8) against all -128 (int8) with zero points at the other end of the range: the largest
  // magnitudes per product; K = 4096 keeps the int32 result exact
  const int64_t M = 8, K = 4096, N = 16;
  std::vector<uint8_t> a(M * K, 255);
  std::vector<int8_t> b(K * N, -128);
  std::vector<TensorPtr> in{typedTensor<uint8_t>({M, K}, a), typedTensor<int8_t>({K, N}, b),
                            typedTensor<uint8_t>({}, {0}), typedTensor<int8_t>({}, {127})};
  expectSameBytes(*runGpuOp("MatMulInteger", {}, in)[0], *runOp("MatMulInteger", {}, in)[0]);
  // K = 70000 (past the cuBLASLt limit of the kernel): the tiled kernel, wrap-around like the reference
  const int64_t K2 = 70000;
  std::vector<TensorPtr> in2{bytes8(DataType::kUINT8, {3, K2}, 901), bytes8(DataType::kUINT8, {K2, 4}, 902)};
  expectSameBytes(*runGpuOp("MatMulInteger", {}, in2)[0], *runOp("MatMulInteger", {}, in2)[0]);
}

TEST(GpuMatMulInteger, ErrorCases) {
  KILN_REQUIRE_GPU();
  // int32 inputs are MatMul's, not MatMulInteger's; a zero point of the wrong length fails inference
  EXPECT_THROW(runGpuOp("MatMulInteger", {},
                        {ints(DataType::kINT32, {2, 4}, 1, 0, 5), ints(DataType::kINT32, {4, 4}, 2, 0, 5)}),
               Error);
  EXPECT_THROW(runGpuOp("MatMulInteger", {},
                        {bytes8(DataType::kINT8, {2, 4}, 1), bytes8(DataType::kINT8, {4, 4}, 2),
                         bytes8(DataType::kINT8, {3}, 3)}),
               Error);
}

// ---- the lowered MatMulInteger / QLinearMatMul graphs, op by op ----

//! One node of a small graph: op, attributes, indices of its inputs among the values so far (the graph
//! inputs first, then each step's output).
struct Step {
  std::string op;
  Attributes attrs;
  std::vector<int> in;
};

Attributes castTo(DataType t) {
  Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return a;
}

//! Runs the steps on the CPU reference and on the GPU, each backend feeding its own results forward, and
//! expects every intermediate and the result to match bit for bit.
void expectChainExact(const std::vector<TensorPtr>& inputs, const std::vector<Step>& steps) {
  std::vector<TensorPtr> cpu = inputs, gpu = inputs;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " (" + s.op + ")");
    std::vector<TensorPtr> ci, gi;
    for (int k : s.in) {
      ci.push_back(cpu[static_cast<size_t>(k)]);
      gi.push_back(gpu[static_cast<size_t>(k)]);
    }
    cpu.push_back(runOp(s.op, s.attrs, ci)[0]);
    gpu.push_back(runGpuOp(s.op, s.attrs, gi)[0]);
    expectSameBytes(*gpu.back(), *cpu.back());
    if (::testing::Test::HasFatalFailure()) return;
  }
}

//! MatMulInteger(a, b, azp, bzp) as the importer lowers it: MatMul(Cast(a) - Cast(azp), Cast(b) - Cast(bzp)).
//! Values: 0 a, 1 b, 2 azp, 3 bzp; returns the steps (the MatMul is value 8).
std::vector<Step> matMulIntegerSteps() {
  const Attributes i32 = castTo(DataType::kINT32);
  return {{"Cast", i32, {0}},    {"Cast", i32, {2}}, {"Sub", {}, {4, 5}},  // 6 = a - azp
          {"Cast", i32, {1}},    {"Cast", i32, {3}}, {"Sub", {}, {7, 8}},  // 9 = b - bzp
          {"MatMul", {}, {6, 9}}};                                         // 10
}

TEST(GpuIntMatMul, LoweredMatMulInteger) {
  KILN_REQUIRE_GPU();
  struct Case {
    DataType ta, tb;
    Shape a, b, azp, bzp;
  };
  const std::vector<Case> cases = {
      {DataType::kUINT8, DataType::kUINT8, {4, 3}, {3, 2}, {}, {}},  // ONNX's test_matmulinteger shape
      {DataType::kINT8, DataType::kINT8, {13, 31}, {31, 9}, {}, {}},
      {DataType::kUINT8, DataType::kINT8, {7, 20}, {20, 5}, {7, 1}, {5}},       // per row / per column
      {DataType::kINT8, DataType::kUINT8, {2, 3, 6, 17}, {17, 33}, {1}, {33}},  // batch broadcast
      {DataType::kUINT8, DataType::kUINT8, {3, 65, 129}, {3, 129, 66}, {}, {1, 66}},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(ir::shapeToString(c.a) + " x " + ir::shapeToString(c.b));
    auto range = [](DataType t, int64_t* lo, int64_t* hi) {
      *lo = t == DataType::kINT8 ? -128 : 0;
      *hi = t == DataType::kINT8 ? 127 : 255;
    };
    int64_t la, ha, lb, hb;
    range(c.ta, &la, &ha);
    range(c.tb, &lb, &hb);
    std::vector<TensorPtr> in{ints(c.ta, c.a, seed, la, ha), ints(c.tb, c.b, seed + 1, lb, hb),
                              ints(c.ta, c.azp, seed + 2, la, ha), ints(c.tb, c.bzp, seed + 3, lb, hb)};
    seed += 4;
    expectChainExact(in, matMulIntegerSteps());
  }
}

TEST(GpuIntMatMul, LoweredQLinearMatMul) {
  KILN_REQUIRE_GPU();
  // values: 0 a, 1 b, 2 azp, 3 bzp, 4 sa, 5 sb, 6 sy, 7 zy, 8 qmin, 9 qmax; steps from 10
  for (DataType t : {DataType::kUINT8, DataType::kINT8}) {
    for (bool perAxis : {false, true}) {
      SCOPED_TRACE(std::string(dataTypeName(t)) + (perAxis ? " per row/column" : " per tensor"));
      const int64_t lo = t == DataType::kINT8 ? -128 : 0, hi = t == DataType::kINT8 ? 127 : 255;
      const int64_t M = 9, K = 23, N = 6;
      const Shape zpa = perAxis ? Shape{M, 1} : Shape{}, zpb = perAxis ? Shape{N} : Shape{};
      std::vector<TensorPtr> in{ints(t, {2, M, K}, 200, lo, hi),
                                ints(t, {K, N}, 201, lo, hi),
                                ints(t, zpa, 202, lo, hi),
                                ints(t, zpb, 203, lo, hi),
                                randomTensor(perAxis ? Shape{M, 1} : Shape{}, 204, 0.001f, 0.05f),
                                randomTensor(perAxis ? Shape{N} : Shape{}, 205, 0.001f, 0.05f),
                                randomTensor({}, 206, 0.05f, 0.2f),
                                ints(t, {}, 207, lo, hi),
                                makeTyped(DataType::kDOUBLE, {}, {static_cast<double>(lo)}),
                                makeTyped(DataType::kDOUBLE, {}, {static_cast<double>(hi)})};
      std::vector<Step> steps;
      for (const Step& s : matMulIntegerSteps()) {
        Step m = s;
        for (int& k : m.in) k = k >= 4 ? k + 6 : k;  // the lowering's values start at 10 here
        steps.push_back(m);
      }
      const Attributes f64 = castTo(DataType::kDOUBLE);
      std::vector<Step> requant = {
          {"Cast", f64, {16}},       // 17 acc
          {"Mul", {}, {4, 5}},       // 18 sa * sb
          {"Div", {}, {18, 6}},      // 19 / sy
          {"Cast", f64, {19}},       // 20
          {"Mul", {}, {17, 20}},     // 21
          {"Cast", f64, {7}},        // 22 zy
          {"Add", {}, {21, 22}},     // 23
          {"Round", {}, {23}},       // 24
          {"Clip", {}, {24, 8, 9}},  // 25
          {"Cast", castTo(t), {25}}  // 26
      };
      steps.insert(steps.end(), requant.begin(), requant.end());
      expectChainExact(in, steps);
    }
  }
}

}  // namespace
}  // namespace kiln::test
