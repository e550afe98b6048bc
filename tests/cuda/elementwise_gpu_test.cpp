// GPU kernels of the elementwise family against the CPU reference: binary ops with broadcasting (flat,
// scalar, row, channel, two-sided, high-rank, empty and > 2^20-element shapes), variadic ops, unary math,
// activations, Clip, Where, Cast between every pair of types, comparisons, logical and bitwise ops.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gpu_op.h"

namespace kiln::test {
namespace {

using ir::Attributes;
using ir::Shape;

struct Tol {
  double rtol, atol;
};
Tol tolFor(DataType t) {
  switch (t) {
    case DataType::kFLOAT: return {1e-5, 1e-6};
    case DataType::kHALF: return {2e-3, 1e-3};
    case DataType::kBF16: return {1.6e-2, 1e-2};
    case DataType::kDOUBLE: return {1e-12, 1e-13};
    default: return {0, 0};
  }
}

//! Uniform floats in [lo, hi) as any float type (rounded once from float).
TensorPtr rnd(DataType t, const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  TensorPtr f = randomTensor(s, seed, lo, hi);
  return t == DataType::kFLOAT ? f : convertTensor(*f, t);
}
//! Uniform integers in [lo, hi] as any type.
TensorPtr rndInt(DataType t, const Shape& s, uint32_t seed, int64_t lo, int64_t hi) {
  std::vector<int64_t> v = randomInts(ir::numElements(s), seed, lo, hi);
  return makeTyped(t, s, std::vector<double>(v.begin(), v.end()));
}
//! Non-zero integers in [-m, -1] u [1, m].
TensorPtr rndNonZero(DataType t, const Shape& s, uint32_t seed, int64_t m) {
  std::vector<int64_t> v = randomInts(ir::numElements(s), seed, 1, m);
  std::vector<int64_t> sign = randomInts(ir::numElements(s), seed + 1, 0, 1);
  std::vector<double> d(v.size());
  for (size_t i = 0; i < v.size(); ++i) d[i] = static_cast<double>(sign[i] && isSignedType(t) ? -v[i] : v[i]);
  return makeTyped(t, s, d);
}
TensorPtr rndBool(const Shape& s, uint32_t seed) { return rndInt(DataType::kBOOL, s, seed, 0, 1); }
TensorPtr fromValues(DataType t, const Shape& s, const std::vector<double>& v) { return makeTyped(t, s, v); }

void check(const std::string& op, const Attributes& a, const std::vector<TensorPtr>& in, DataType t,
           const GpuOpOptions& opts = {}) {
  SCOPED_TRACE(op + " " + dataTypeName(t));
  Tol tol = tolFor(t);
  expectGpuMatchesCpu(op, a, in, 1, opts, tol.rtol, tol.atol);
}

const DataType kFloats[] = {DataType::kFLOAT, DataType::kHALF, DataType::kBF16, DataType::kDOUBLE};
const DataType kInts[] = {DataType::kINT8,  DataType::kINT16,  DataType::kINT32,  DataType::kINT64,
                          DataType::kUINT8, DataType::kUINT16, DataType::kUINT32, DataType::kUINT64};

//! Pairs of input shapes covering every launch mode.
struct ShapePair {
  Shape a, b;
};
const std::vector<ShapePair> kBroadcastShapes = {
    {{2, 3, 5}, {2, 3, 5}},              // flat, same shape
    {{1031}, {1031}},                    // flat, odd size (vector tail)
    {{7, 9}, {}},                        // flat, scalar on the right
    {{}, {7, 9}},                        // flat, scalar on the left
    {{1, 1}, {1}},                       // a single element
    {{4, 33}, {33}},                     // row broadcast
    {{2, 3, 4, 5}, {3, 1, 1}},           // channel broadcast
    {{3, 1, 5}, {1, 4, 1}},              // two-sided
    {{2, 1, 3, 1, 2, 3}, {1, 2, 1, 3, 1, 1}},  // rank 6, alternating
    {{0, 3}, {3}},                       // empty
    {{8, 64}, {64}},                     // row broadcast, packs within rows
    {{2, 3, 4, 8}, {3, 1, 1}},           // channel broadcast, packs within rows
    {{6, 16}, {6, 1}},                   // column broadcast, packs within rows
    {{5, 1, 8}, {1, 3, 8}},              // two-sided, packs within rows
    {{1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, {2}},  // rank 10, merges to rank 2
};

// ---------------------------------------------------------------------------------------------------------
// Binary arithmetic

TEST(GpuElementwise, ArithmeticFloatBroadcasting) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"})
    for (DataType t : kFloats) {
      uint32_t seed = 1;
      for (const ShapePair& s : kBroadcastShapes) {
        SCOPED_TRACE(ir::shapeToString(s.a) + " " + ir::shapeToString(s.b));
        check(op, {}, {rnd(t, s.a, seed), rnd(t, s.b, seed + 100, 0.5f, 2.f)}, t);
        ++seed;
      }
    }
}

TEST(GpuElementwise, ArithmeticLarge) {
  KILN_REQUIRE_GPU();
  const Shape big{(1 << 20) + 3};
  for (DataType t : {DataType::kFLOAT, DataType::kHALF}) {
    check("Add", {}, {rnd(t, big, 1), rnd(t, big, 2)}, t);
    check("Mul", {}, {rnd(t, {1025, 1027}, 3), rnd(t, {1025, 1}, 4)}, t);  // general path, > 2^20
    check("Sub", {}, {rnd(t, {3, 1000, 700}, 5), rnd(t, {1000, 1}, 6)}, t);
    check("Div", {}, {rnd(t, big, 7), rnd(t, {}, 8, 0.5f, 1.f)}, t);
  }
}

TEST(GpuElementwise, ArithmeticIntegers) {
  KILN_REQUIRE_GPU();
  for (DataType t : kInts) {
    const bool s = isSignedType(t);
    for (const char* op : {"Add", "Sub", "Mul", "Max", "Min", "Sum"}) {
      uint32_t seed = 10;
      for (const ShapePair& sh : kBroadcastShapes) {
        SCOPED_TRACE(ir::shapeToString(sh.a) + " " + ir::shapeToString(sh.b));
        check(op, {}, {rndInt(t, sh.a, seed, s ? -100 : 0, 100), rndInt(t, sh.b, seed + 1, s ? -100 : 0, 100)}, t);
        seed += 2;
      }
    }
    for (const char* op : {"Div", "Mod", "FloorDiv"})
      for (const ShapePair& sh : kBroadcastShapes) {
        SCOPED_TRACE(ir::shapeToString(sh.a) + " " + ir::shapeToString(sh.b));
        check(op, {}, {rndInt(t, sh.a, 3, s ? -100 : 0, 100), rndNonZero(t, sh.b, 4, 9)}, t);
      }
  }
  // wrap-around and MIN / -1
  const double mn = static_cast<double>(std::numeric_limits<int32_t>::min());
  const double mx = static_cast<double>(std::numeric_limits<int32_t>::max());
  auto a = fromValues(DataType::kINT32, {4}, {mn, mx, mn, -7});
  auto b = fromValues(DataType::kINT32, {4}, {-1, 1, 1, 2});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Mod", "FloorDiv"}) check(op, {}, {a, b}, DataType::kINT32);
  Attributes fm;
  fm.setInt("fmod", 1);
  check("Mod", fm, {rndInt(DataType::kINT64, {5, 7}, 1, -50, 50), rndNonZero(DataType::kINT64, {7}, 2, 9)},
        DataType::kINT64);
}

TEST(GpuElementwise, IntegerDivisionByZeroGivesZero) {
  KILN_REQUIRE_GPU();
  // The CPU reference throws; the GPU kernels document 0.
  auto a = fromValues(DataType::kINT32, {3}, {5, -5, 0});
  auto z = fromValues(DataType::kINT32, {3}, {0, 0, 0});
  for (const char* op : {"Div", "Mod", "FloorDiv"}) {
    auto out = runGpuOp(op, {}, {a, z});
    EXPECT_EQ(values<int32_t>(*out[0]), (std::vector<int32_t>{0, 0, 0})) << op;
  }
}

TEST(GpuElementwise, ModAndFloorDivFloat) {
  KILN_REQUIRE_GPU();
  Attributes fm;
  fm.setInt("fmod", 1);
  for (DataType t : kFloats) {
    for (const ShapePair& s : kBroadcastShapes) {
      SCOPED_TRACE(ir::shapeToString(s.a) + " " + ir::shapeToString(s.b));
      auto a = rnd(t, s.a, 21, -10.f, 10.f);
      auto b = rnd(t, s.b, 22, 0.5f, 3.f);
      check("Mod", {}, {a, b}, t);
      check("Mod", fm, {a, b}, t);
      check("FloorDiv", {}, {a, b}, t);
      check("Mod", {}, {a, rnd(t, s.b, 23, -3.f, -0.5f)}, t);
    }
  }
}

TEST(GpuElementwise, MaxMinPropagateNaN) {
  KILN_REQUIRE_GPU();
  const double nan = std::nan("");
  for (DataType t : kFloats) {
    auto a = fromValues(t, {5}, {1, nan, 3, -0.0, nan});
    auto b = fromValues(t, {5}, {nan, 2, 1, 0.0, nan});
    check("Max", {}, {a, b}, t);
    check("Min", {}, {a, b}, t);
  }
}

TEST(GpuElementwise, Variadic) {
  KILN_REQUIRE_GPU();
  for (DataType t : {DataType::kFLOAT, DataType::kHALF, DataType::kDOUBLE}) {
    for (const char* op : {"Sum", "Mean", "Max", "Min"}) {
      check(op, {}, {rnd(t, {2, 3, 4}, 1)}, t);                                               // one input
      check(op, {}, {rnd(t, {3, 1}, 1), rnd(t, {2, 3, 4}, 2), rnd(t, {4}, 3)}, t);            // three, broadcast
      check(op, {}, {rnd(t, {1031}, 4), rnd(t, {1031}, 5), rnd(t, {1031}, 6), rnd(t, {}, 7)}, t);  // four
    }
  }
  for (const char* op : {"Sum", "Max", "Min"})
    check(op, {}, {rndInt(DataType::kINT64, {3, 1}, 1, -9, 9), rndInt(DataType::kINT64, {2, 3, 4}, 2, -9, 9),
                   rndInt(DataType::kINT64, {4}, 3, -9, 9)},
          DataType::kINT64);
}

// ---------------------------------------------------------------------------------------------------------
// Pow, PRelu, Where

TEST(GpuElementwise, Pow) {
  KILN_REQUIRE_GPU();
  for (DataType t : kFloats) {
    for (const ShapePair& s : kBroadcastShapes) {
      SCOPED_TRACE(ir::shapeToString(s.a) + " " + ir::shapeToString(s.b));
      check("Pow", {}, {rnd(t, s.a, 31, 0.1f, 2.f), rnd(t, s.b, 32, -2.f, 2.f)}, t);
    }
    // integer exponents (negative bases), constant exponent 2 (squares), float exponent of another type
    check("Pow", {}, {rnd(t, {5, 7}, 33, -2.f, 2.f), rndInt(DataType::kINT64, {7}, 34, -3, 4)}, t);
    check("Pow", {}, {rnd(t, {5, 7}, 35, -2.f, 2.f), rndInt(DataType::kINT32, {5, 1}, 36, -3, 4)}, t);
    GpuOpOptions c;
    c.constantInputs = {1};
    check("Pow", {}, {rnd(t, {1031}, 37, -3.f, 3.f), fromValues(t, {}, {2.0})}, t, c);
    check("Pow", {}, {rnd(t, {1031}, 38, 0.f, 3.f), fromValues(DataType::kFLOAT, {}, {0.5})}, t, c);
  }
  for (DataType t : {DataType::kINT32, DataType::kINT64}) {
    check("Pow", {}, {rndNonZero(t, {6, 5}, 41, 5), rndInt(t, {5}, 42, -2, 9)}, t);  // 0^negative throws on the CPU
    check("Pow", {}, {rndInt(t, {6, 5}, 43, -5, 5), rndInt(DataType::kINT64, {5}, 44, 0, 70)}, t);  // wraps
    check("Pow", {}, {rndInt(t, {6, 5}, 45, 1, 9), rnd(DataType::kFLOAT, {6, 1}, 46, 0.f, 3.f)}, t);
  }
}

TEST(GpuElementwise, PowIntegerExponentTypes) {
  KILN_REQUIRE_GPU();
  // float bases with exponents of every integer type (ONNX's test_pow_types_*)
  uint32_t seed = 50;
  for (DataType base : {DataType::kFLOAT, DataType::kDOUBLE, DataType::kHALF}) {
    for (DataType e : kInts) {
      SCOPED_TRACE(std::string("exponent ") + dataTypeName(e));
      const int64_t lo = isSignedType(e) ? -4 : 0;
      TensorPtr x = rnd(base, {5, 7}, seed++, -2.f, 2.f);
      check("Pow", {}, {x, rndInt(e, {7}, seed++, lo, 6)}, base);
      check("Pow", {}, {x, rndInt(e, {5, 1}, seed++, lo, 6)}, base);
    }
  }
  // int32 / int64 bases with unsigned exponents: 0, 1, -1 and wrap-around
  for (DataType t : {DataType::kINT32, DataType::kINT64})
    for (DataType e : {DataType::kUINT8, DataType::kUINT16, DataType::kUINT32, DataType::kUINT64})
      check("Pow", {}, {rndInt(t, {6, 5}, 60, -5, 5), rndInt(e, {5}, 61, 0, 70)}, t);
  // unsigned 64-bit exponents above INT64_MAX are clamped keeping their parity (the sign of (-1)^e)
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  const std::vector<uint64_t> ev = {big, big - 1, uint64_t{1} << 63, (uint64_t{1} << 63) + 1, 0, 1, 2, 63};
  const TensorPtr e = typedTensor<uint64_t>({8}, ev);
  const std::vector<double> b = {-1, -1, -1, -1, -1, -1, 0, 2, 1, 1, 1, 1, 0, 0, 0, 0};
  for (DataType t : {DataType::kINT32, DataType::kINT64}) check("Pow", {}, {fromValues(t, {2, 8}, b), e}, t);
  check("Pow", {}, {fromValues(DataType::kFLOAT, {8}, {-1, 1.5, 0.5, -0.5, 1, 2, 0, -2}), e}, DataType::kFLOAT);
  // the GPU takes float, int32 and int64 bases (the CPU reference also the smaller integer types)
  EXPECT_THROW(runGpuOp("Pow", {}, {rndInt(DataType::kUINT8, {4}, 62, 0, 3), rndInt(DataType::kUINT8, {4}, 63, 0, 3)}), Error);
}

TEST(GpuElementwise, PRelu) {
  KILN_REQUIRE_GPU();
  for (DataType t : kFloats) {
    check("PRelu", {}, {rnd(t, {2, 3, 4, 5}, 1), rnd(t, {3, 1, 1}, 2)}, t);
    check("PRelu", {}, {rnd(t, {1031}, 3), rnd(t, {1}, 4)}, t);
    check("PRelu", {}, {rnd(t, {4, 33}, 5), rnd(t, {4, 33}, 6)}, t);
  }
  check("PRelu", {}, {rnd(DataType::kFLOAT, {2, 64, 96, 97}, 7), rnd(DataType::kFLOAT, {64, 1, 1}, 8)}, DataType::kFLOAT);
  check("PRelu", {}, {rndInt(DataType::kINT32, {3, 4}, 9, -20, 20), rndInt(DataType::kINT32, {4}, 10, -3, 3)},
        DataType::kINT32);
}

TEST(GpuElementwise, Where) {
  KILN_REQUIRE_GPU();
  struct Shapes {
    Shape c, a, b;
  };
  const std::vector<Shapes> shapes = {{{2, 3, 5}, {2, 3, 5}, {2, 3, 5}}, {{1031}, {1031}, {}},  {{}, {4, 5}, {4, 5}},
                                      {{4, 1}, {1, 5}, {4, 5}},          {{2, 1, 4}, {3, 1}, {4}}, {{0, 4}, {4}, {1}},
                                      {{1, 1, 1, 9}, {2, 1, 3, 9}, {2, 5, 1, 1}}, {{1, 1, 1, 16}, {2, 3, 4, 16}, {}},
                                      {{3, 1, 8}, {1, 4, 8}, {3, 4, 1}}};
  for (const Shapes& s : shapes) {
    SCOPED_TRACE(ir::shapeToString(s.c) + " " + ir::shapeToString(s.a) + " " + ir::shapeToString(s.b));
    for (DataType t : {DataType::kFLOAT, DataType::kHALF, DataType::kDOUBLE}) check("Where", {}, {rndBool(s.c, 1), rnd(t, s.a, 2), rnd(t, s.b, 3)}, t);
    check("Where", {}, {rndBool(s.c, 4), rndInt(DataType::kINT64, s.a, 5, -9, 9), rndInt(DataType::kINT64, s.b, 6, -9, 9)},
          DataType::kINT64);
    check("Where", {}, {rndBool(s.c, 7), rndBool(s.a, 8), rndBool(s.b, 9)}, DataType::kBOOL);
    check("Where", {}, {rndBool(s.c, 7), rndInt(DataType::kINT8, s.a, 8, -9, 9), rndInt(DataType::kINT8, s.b, 9, -9, 9)},
          DataType::kINT8);
  }
  const Shape big{(1 << 20) + 1};
  check("Where", {}, {rndBool(big, 10), rnd(DataType::kFLOAT, big, 11), rnd(DataType::kFLOAT, {}, 12)}, DataType::kFLOAT);
  // attention-mask shaped
  check("Where", {}, {rndBool({2, 1, 1, 64}, 13), rnd(DataType::kHALF, {2, 8, 64, 64}, 14), rnd(DataType::kHALF, {}, 15)},
        DataType::kHALF);
}

// ---------------------------------------------------------------------------------------------------------
// Comparisons, logical and bitwise ops

TEST(GpuElementwise, Comparisons) {
  KILN_REQUIRE_GPU();
  std::vector<DataType> types(std::begin(kFloats), std::end(kFloats));
  types.insert(types.end(), std::begin(kInts), std::end(kInts));
  for (const char* op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"})
    for (DataType t : types) {
      uint32_t seed = 50;
      for (const ShapePair& s : kBroadcastShapes) {
        SCOPED_TRACE(ir::shapeToString(s.a) + " " + ir::shapeToString(s.b));
        // small integers so that equal values occur
        check(op, {}, {rndInt(t, s.a, seed, 0, 4), rndInt(t, s.b, seed + 1, 0, 4)}, DataType::kBOOL);
        seed += 2;
      }
    }
  const double nan = std::nan("");
  for (const char* op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"})
    check(op, {}, {fromValues(DataType::kFLOAT, {4}, {nan, 1, nan, 2}), fromValues(DataType::kFLOAT, {4}, {nan, nan, 1, 2})},
          DataType::kBOOL);
  check("Equal", {}, {rndBool({3, 7}, 1), rndBool({7}, 2)}, DataType::kBOOL);
  check("Less", {}, {rnd(DataType::kFLOAT, {1025, 1027}, 3), rnd(DataType::kFLOAT, {1027}, 4)}, DataType::kBOOL);
}

TEST(GpuElementwise, Logical) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"And", "Or", "Xor"}) {
    uint32_t seed = 60;
    for (const ShapePair& s : kBroadcastShapes) {
      check(op, {}, {rndBool(s.a, seed), rndBool(s.b, seed + 1)}, DataType::kBOOL);
      seed += 2;
    }
  }
  for (const Shape& s : {Shape{1031}, Shape{0}, Shape{(1 << 20) + 7}}) check("Not", {}, {rndBool(s, 70)}, DataType::kBOOL);
}

TEST(GpuElementwise, Bitwise) {
  KILN_REQUIRE_GPU();
  for (DataType t : kInts) {
    const bool s = isSignedType(t);
    for (const char* op : {"BitwiseAnd", "BitwiseOr", "BitwiseXor"}) {
      uint32_t seed = 80;
      for (const ShapePair& sh : kBroadcastShapes) {
        check(op, {}, {rndInt(t, sh.a, seed, s ? -120 : 0, 120), rndInt(t, sh.b, seed + 1, s ? -120 : 0, 120)}, t);
        seed += 2;
      }
    }
    check("BitwiseNot", {}, {rndInt(t, {1031}, 90, s ? -120 : 0, 120)}, t);
    const int64_t bits = static_cast<int64_t>(dataTypeSize(t) * 8);
    for (const char* dir : {"LEFT", "RIGHT"}) {
      Attributes a;
      a.setString("direction", dir);
      check("BitShift", a, {rndInt(t, {9, 13}, 91, s ? -100 : 0, 100), rndInt(t, {13}, 92, s ? -2 : 0, bits + 2)}, t);
      check("BitShift", a, {rndInt(t, {1031}, 93, s ? -100 : 0, 100), rndInt(t, {}, 94, 1, 3)}, t);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Unary math and activations

struct UnaryCase {
  const char* op;
  float lo, hi;
  Attributes attrs;
};
Attributes attrF(std::initializer_list<std::pair<const char*, double>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.setFloat(k, v);
  return a;
}

TEST(GpuElementwise, UnaryFloat) {
  KILN_REQUIRE_GPU();
  Attributes tanhGelu;
  tanhGelu.setString("approximate", "tanh");
  const std::vector<UnaryCase> cases = {
      {"Relu", -3, 3, {}},
      {"Sigmoid", -12, 12, {}},
      {"Tanh", -5, 5, {}},
      {"LeakyRelu", -3, 3, attrF({{"alpha", 0.2}})},
      {"LeakyRelu", -3, 3, {}},
      {"Elu", -4, 3, attrF({{"alpha", 0.7}})},
      {"Selu", -4, 3, {}},
      {"Softsign", -5, 5, {}},
      {"Softplus", -30, 30, {}},
      {"Softplus", -5, 5, attrF({{"alpha", 0.5}, {"beta", 2.0}})},
      {"HardSigmoid", -6, 6, {}},
      {"HardSigmoid", -6, 6, attrF({{"alpha", 0.1666}, {"beta", 0.5}})},
      {"ScaledTanh", -3, 3, attrF({{"alpha", 1.5}, {"beta", 0.7}})},
      {"ThresholdedRelu", -3, 3, attrF({{"alpha", 0.5}})},
      {"Gelu", -6, 6, {}},
      {"Gelu", -6, 6, tanhGelu},
      {"Silu", -10, 10, {}},
      {"HardSwish", -5, 5, {}},
      {"Mish", -10, 10, {}},
      {"Celu", -4, 3, attrF({{"alpha", 0.8}})},
      {"Shrink", -2, 2, attrF({{"bias", 0.3}, {"lambd", 0.7}})},
      {"Exp", -10, 10, {}},
      {"Log", 0.01f, 100, {}},
      {"Sqrt", 0, 100, {}},
      {"Reciprocal", 0.1f, 10, {}},
      {"Sin", -6, 6, {}},
      {"Cos", -6, 6, {}},
      {"Tan", -1.2f, 1.2f, {}},
      {"Sinh", -5, 5, {}},
      {"Cosh", -5, 5, {}},
      {"Asin", -0.99f, 0.99f, {}},
      {"Acos", -0.99f, 0.99f, {}},
      {"Atan", -5, 5, {}},
      {"Asinh", -5, 5, {}},
      {"Acosh", 1.01f, 10, {}},
      {"Atanh", -0.95f, 0.95f, {}},
      {"Ceil", -5, 5, {}},
      {"Floor", -5, 5, {}},
      {"Round", -5, 5, {}},
      {"Erf", -3, 3, {}},
      {"Abs", -3, 3, {}},
      {"Neg", -3, 3, {}},
      {"Sign", -3, 3, {}},
  };
  uint32_t seed = 100;
  for (const UnaryCase& c : cases)
    for (DataType t : kFloats) {
      SCOPED_TRACE(c.op);
      check(c.op, c.attrs, {rnd(t, {1031}, seed, c.lo, c.hi)}, t);
      check(c.op, c.attrs, {rnd(t, {2, 0, 3}, seed, c.lo, c.hi)}, t);
      ++seed;
    }
  const Shape big{(1 << 20) + 5};
  for (const char* op : {"Relu", "Sigmoid", "Gelu", "Exp"})
    for (DataType t : {DataType::kFLOAT, DataType::kHALF, DataType::kBF16}) check(op, {}, {rnd(t, big, 7, -4, 4)}, t);
}

TEST(GpuElementwise, UnarySpecialValues) {
  KILN_REQUIRE_GPU();
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const std::vector<double> v = {nan, inf, -inf, 0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 3.7, -3.7, 1e-30, 70000};
  const Shape s{static_cast<int64_t>(v.size())};
  for (DataType t : kFloats) {
    auto x = fromValues(t, s, v);
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "Round", "Floor", "Ceil", "Sign", "Abs", "Neg", "HardSigmoid",
                           "HardSwish", "ThresholdedRelu", "Celu", "Shrink", "Softplus", "Gelu", "Silu"})
      check(op, {}, {x}, t);
    check("IsNaN", {}, {x}, DataType::kBOOL);
    check("IsInf", {}, {x}, DataType::kBOOL);
    Attributes pos;
    pos.setInt("detect_negative", 0);
    check("IsInf", pos, {x}, DataType::kBOOL);
    Attributes neg;
    neg.setInt("detect_positive", 0);
    check("IsInf", neg, {x}, DataType::kBOOL);
  }
}

TEST(GpuElementwise, UnaryIntegers) {
  KILN_REQUIRE_GPU();
  for (DataType t : kInts) {
    const bool s = isSignedType(t);
    auto x = rndInt(t, {1031}, 5, s ? -100 : 0, 100);
    for (const char* op : {"Abs", "Sign", "Erf"}) check(op, {}, {x}, t);
    check("Shrink", attrF({{"bias", 2.0}, {"lambd", 5.0}}), {x}, t);
    if (s)
      for (const char* op : {"Relu", "Neg"}) check(op, {}, {x}, t);
  }
  const double mn = static_cast<double>(std::numeric_limits<int64_t>::min());
  auto e = fromValues(DataType::kINT64, {5}, {mn, -7, 0, 6, 100});
  for (const char* op : {"Abs", "Neg", "Sign", "Erf", "Relu"}) check(op, {}, {e}, DataType::kINT64);
}

TEST(GpuElementwise, Clip) {
  KILN_REQUIRE_GPU();
  GpuOpOptions c;
  c.constantInputs = {1, 2};
  for (DataType t : kFloats) {
    auto x = rnd(t, {1031}, 1, -3, 3);
    check("Clip", {}, {x, fromValues(t, {}, {-1}), fromValues(t, {}, {0.5})}, t, c);  // both
    check("Clip", {}, {x, fromValues(t, {}, {-1})}, t, c);                           // min only
    check("Clip", {}, {x, nullptr, fromValues(t, {}, {0.5})}, t, c);                 // max only
    check("Clip", {}, {x}, t, c);                                                    // neither
    check("Clip", {}, {x, fromValues(t, {}, {1}), fromValues(t, {}, {-1})}, t, c);    // min > max
    check("Clip", {}, {fromValues(t, {3}, {std::nan(""), -5, 5}), fromValues(t, {}, {0}), fromValues(t, {}, {6})}, t, c);
  }
  for (DataType t : {DataType::kINT32, DataType::kINT64, DataType::kUINT8})
    check("Clip", {}, {rndInt(t, {1031}, 2, 0, 100), fromValues(t, {}, {10}), fromValues(t, {}, {60})}, t, c);
  check("Clip", {}, {rnd(DataType::kHALF, {(1 << 20) + 3}, 3, -8, 8), fromValues(DataType::kHALF, {}, {0}),
                     fromValues(DataType::kHALF, {}, {6})},
        DataType::kHALF, c);
}

// ---------------------------------------------------------------------------------------------------------
// Cast

TEST(GpuElementwise, CastEveryPair) {
  KILN_REQUIRE_GPU();
  const std::vector<DataType> all = {DataType::kFLOAT,  DataType::kHALF,   DataType::kBF16,   DataType::kDOUBLE,
                                     DataType::kINT8,   DataType::kINT16,  DataType::kINT32,  DataType::kINT64,
                                     DataType::kUINT8,  DataType::kUINT16, DataType::kUINT32, DataType::kUINT64,
                                     DataType::kBOOL};
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  // float sources: fractions, halves, NaN, infinities, out-of-range values for every integer type
  std::vector<double> fv = {0.0, -0.0, 0.4, 0.5, 1.5, 2.5, -1.7, -2.5, 127.9, 128.5, -129.3, 255.5, 256.0, 300.7,
                            -40000.2, 65519.0, 65520.0, 70000.0, 1e10, -1e10, 3e9, 1e20, -1e20, 1.00048828125,
                            1.0009765625, 3.14159265358979, nan, inf, -inf, 1e-8, -1e-8};
  for (int i = 0; i < 40; ++i) fv.push_back(std::ldexp(1.0 + i / 41.0, i - 20) * (i % 2 ? -1 : 1));
  for (DataType from : all) {
    std::vector<double> v;
    if (isFloatingType(from)) {
      v = fv;
    } else if (from == DataType::kBOOL) {
      v = {0, 1, 1, 0, 1, 0, 0, 1, 1};
    } else {
      const bool s = isSignedType(from);
      const int bits = static_cast<int>(dataTypeSize(from) * 8);
      const double maxV = s ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
      for (double c : {0.0, 1.0, 2.0, 100.0, 127.0, 128.0, 255.0, 256.0, 300.0, 2049.0, 4097.0, 32767.0, 65535.0,
                       65536.0, 16777217.0, 2147483647.0, 4294967295.0, 1e18}) {
        if (c <= maxV) v.push_back(c);
        if (s && c != 0 && -c >= -(maxV + 1)) v.push_back(-c);
      }
    }
    TensorPtr x;
    if (from == DataType::kINT64 || from == DataType::kUINT64) {
      // exact 64-bit values (makeTyped goes through double)
      std::vector<int64_t> iv(v.begin(), v.end());
      iv.push_back(9007199254740993LL);  // 2^53 + 1
      iv.push_back(std::numeric_limits<int64_t>::max());
      if (from == DataType::kINT64) iv.push_back(std::numeric_limits<int64_t>::min());
      x = typedTensor<int64_t>({static_cast<int64_t>(iv.size())}, iv);
      if (from == DataType::kUINT64) {
        void* out = nullptr;
        auto u = ir::makeTensor(DataType::kUINT64, x->shape, &out);
        std::memcpy(out, x->raw(), iv.size() * 8);
        x = u;
      }
    } else {
      x = fromValues(from, {static_cast<int64_t>(v.size())}, v);
    }
    for (DataType to : all) {
      SCOPED_TRACE(std::string(dataTypeName(from)) + " -> " + dataTypeName(to));
      Attributes a;
      a.setInt("to", static_cast<int64_t>(to));
      expectGpuMatchesCpu("Cast", a, {x}, 1, {}, 0, 0);
    }
  }
  // bool bytes other than 0/1 read as true
  void* raw = nullptr;
  auto b = ir::makeTensor(DataType::kBOOL, {4}, &raw);
  const uint8_t bytes[4] = {0, 1, 2, 255};
  std::memcpy(raw, bytes, 4);
  for (DataType to : {DataType::kFLOAT, DataType::kINT32, DataType::kBOOL}) {
    Attributes a;
    a.setInt("to", static_cast<int64_t>(to));
    expectGpuMatchesCpu("Cast", a, {b}, 1, {}, 0, 0);
  }
  // large, vectorized
  Attributes toHalf;
  toHalf.setInt("to", static_cast<int64_t>(DataType::kHALF));
  expectGpuMatchesCpu("Cast", toHalf, {rnd(DataType::kFLOAT, {(1 << 20) + 3}, 9, -100, 100)}, 1, {}, 0, 0);
  Attributes toFloat;
  toFloat.setInt("to", static_cast<int64_t>(DataType::kFLOAT));
  expectGpuMatchesCpu("Cast", toFloat, {rnd(DataType::kBF16, {1031}, 10, -100, 100)}, 1, {}, 0, 0);
  expectGpuMatchesCpu("Cast", toFloat, {rnd(DataType::kBF16, {0, 4}, 10)}, 1, {}, 0, 0);
}

}  // namespace
}  // namespace kiln::test
