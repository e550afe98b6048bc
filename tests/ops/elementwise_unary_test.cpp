// Tests of the activation and unary math ops: hand-checked values, a naive double-precision reference
// over many shapes and every supported dtype, and error cases.
#include <cmath>
#include <functional>
#include <limits>

#include "test_util.h"

namespace kiln::test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double rtolFor(DataType t) {
  switch (t) {
    case DataType::kHALF: return 2e-3;
    case DataType::kBF16: return 1.6e-2;
    case DataType::kFLOAT: return 2e-6;
    case DataType::kDOUBLE: return 1e-12;
    default: return 0;
  }
}

const std::vector<ir::Shape> kShapes = {{}, {0}, {1}, {7}, {2, 3}, {2, 0, 3}, {1, 4, 1, 3}, {3, 2, 2, 5}};
const std::vector<DataType> kFloatTypes = {DataType::kFLOAT, DataType::kHALF, DataType::kBF16, DataType::kDOUBLE};

struct UnaryCase {
  std::string op;
  ir::Attributes attrs;
  std::function<double(double)> ref;
  std::vector<DataType> types;
  double lo, hi;
};

//! Runs `op` on random inputs of every type and shape and compares with ref (double) rounded to the type.
void checkAgainstReference(const UnaryCase& c, uint32_t seed = 1) {
  for (DataType dt : c.types) {
    for (const auto& shape : kShapes) {
      SCOPED_TRACE(c.op + " " + dataTypeName(dt) + " " + ir::shapeToString(shape));
      int64_t n = ir::numElements(shape);
      std::vector<double> in;
      if (isFloatingType(dt)) {
        for (float f : randomFloats(n, seed++, static_cast<float>(c.lo), static_cast<float>(c.hi))) in.push_back(f);
      } else {
        for (int64_t i : randomInts(n, seed++, static_cast<int64_t>(c.lo), static_cast<int64_t>(c.hi)))
          in.push_back(static_cast<double>(i));
      }
      auto x = makeTyped(dt, shape, in);
      std::vector<double> xs = asDoubles(*x);  // the values after rounding to dt
      std::vector<double> expected;
      for (double v : xs) expected.push_back(c.ref(v));
      auto want = makeTyped(dt, shape, expected);
      auto y = runOp(c.op, c.attrs, {x});
      ASSERT_EQ(y[0]->dtype, dt);
      double rtol = rtolFor(dt);
      expectClose(*y[0], *want, rtol, rtol * 1e-2);
    }
  }
}

ir::Attributes attrF(std::initializer_list<std::pair<const char*, double>> kv) {
  ir::Attributes a;
  for (auto& [k, v] : kv) a.setFloat(k, v);
  return a;
}

double naiveSigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double naiveSoftplus(double x) { return std::log(1.0 + std::exp(x)); }

// ---------------------------------------------------------------------------------------------------------
// Activations

TEST(ActivationOps, HandCheckedValues) {
  auto x = floatTensor({6}, {-2.f, -0.5f, 0.f, 0.5f, 1.f, 3.f});
  expectCloseValues(*runOp("Relu", {}, {x})[0], {0, 0, 0, 0.5f, 1, 3});
  expectCloseValues(*runOp("LeakyRelu", attrF({{"alpha", 0.1}}), {x})[0], {-0.2f, -0.05f, 0, 0.5f, 1, 3});
  expectCloseValues(*runOp("LeakyRelu", {}, {x})[0], {-0.02f, -0.005f, 0, 0.5f, 1, 3});
  expectCloseValues(*runOp("Sigmoid", {}, {x})[0],
                    {0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.73105858f, 0.95257413f});
  expectCloseValues(*runOp("Tanh", {}, {x})[0], {-0.96402758f, -0.46211716f, 0, 0.46211716f, 0.76159416f, 0.99505475f});
  expectCloseValues(*runOp("Elu", {}, {x})[0], {-0.86466472f, -0.39346934f, 0, 0.5f, 1, 3});
  expectCloseValues(*runOp("Softsign", {}, {x})[0], {-2.f / 3, -1.f / 3, 0, 1.f / 3, 0.5f, 0.75f});
  expectCloseValues(*runOp("Softplus", {}, {x})[0],
                    {0.12692801f, 0.47407698f, 0.69314718f, 0.97407698f, 1.31326169f, 3.04858735f});
  expectCloseValues(*runOp("HardSigmoid", {}, {x})[0], {0.1f, 0.4f, 0.5f, 0.6f, 0.7f, 1.f});
  expectCloseValues(*runOp("ThresholdedRelu", {}, {x})[0], {0, 0, 0, 0, 0, 3});
  expectCloseValues(*runOp("ScaledTanh", attrF({{"alpha", 2}, {"beta", 0.5}}), {x})[0],
                    {-1.52318831f, -0.48983399f, 0, 0.48983399f, 0.92423431f, 1.81028469f});
  expectCloseValues(*runOp("HardSwish", {}, {x})[0], {-1.f / 3, -0.20833333f, 0, 0.29166667f, 0.66666667f, 3});
  expectCloseValues(*runOp("Silu", {}, {x})[0], {-0.23840584f, -0.18877033f, 0, 0.31122967f, 0.73105858f, 2.85772238f});
  expectCloseValues(*runOp("Shrink", {}, {x})[0], {-2, 0, 0, 0, 1, 3});
  expectCloseValues(*runOp("Shrink", attrF({{"bias", 0.5}}), {x})[0], {-1.5f, 0, 0, 0, 0.5f, 2.5f});
  expectCloseValues(*runOp("Shrink", attrF({{"bias", 0.f}, {"lambd", 1.f}}), {x})[0], {-2, 0, 0, 0, 0, 3});
  expectCloseValues(*runOp("Celu", attrF({{"alpha", 2.0}}), {x})[0], {-1.26424112f, -0.44239843f, 0, 0.5f, 1, 3});
  auto selu = runOp("Selu", {}, {floatTensor({2}, {-1.f, 2.f})});
  expectCloseValues(*selu[0], {-1.11133074f, 2.10140204f});
  auto gelu = runOp("Gelu", {}, {floatTensor({3}, {-1.f, 0.f, 1.f})});
  expectCloseValues(*gelu[0], {-0.15865525f, 0, 0.84134475f});
  ir::Attributes tanhApprox;
  tanhApprox.setString("approximate", "tanh");
  expectCloseValues(*runOp("Gelu", tanhApprox, {floatTensor({2}, {-1.f, 1.f})})[0], {-0.15880801f, 0.84119199f});
  expectCloseValues(*runOp("Mish", {}, {floatTensor({2}, {-1.f, 1.f})})[0], {-0.30340147f, 0.86509839f});
}

TEST(ActivationOps, SoftplusIsStableAndHasAlphaBeta) {
  auto x = floatTensor({3}, {-1000.f, 1000.f, 0.f});
  expectCloseValues(*runOp("Softplus", {}, {x})[0], {0.f, 1000.f, 0.69314718f});
  auto y = runOp("Softplus", attrF({{"alpha", 2.0}, {"beta", 3.0}}), {floatTensor({1}, {0.5f})});
  expectCloseValues(*y[0], {static_cast<float>(2.0 * std::log(1.0 + std::exp(1.5)))});
  // sigmoid of large magnitudes stays finite
  expectCloseValues(*runOp("Sigmoid", {}, {x})[0], {0.f, 1.f, 0.5f});
}

TEST(ActivationOps, NaNPropagates) {
  auto x = makeTyped(DataType::kFLOAT, {1}, {kNaN});
  for (const char* op : {"Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Elu", "ThresholdedRelu", "Gelu"})
    EXPECT_TRUE(std::isnan(runOp(op, {}, {x})[0]->floatAt(0))) << op;
}

TEST(ActivationOps, MatchNaiveReference) {
  const double selA = 1.67326319217681884765625, selG = 1.05070102214813232421875;
  std::vector<UnaryCase> cases = {
      {"Relu", {}, [](double x) { return x > 0 ? x : 0; }, kFloatTypes, -3, 3},
      {"Sigmoid", {}, naiveSigmoid, kFloatTypes, -8, 8},
      {"Tanh", {}, [](double x) { return std::tanh(x); }, kFloatTypes, -4, 4},
      {"LeakyRelu", attrF({{"alpha", 0.3}}), [](double x) { return x > 0 ? x : 0.3 * x; }, kFloatTypes, -3, 3},
      {"Elu", attrF({{"alpha", 0.7}}), [](double x) { return x > 0 ? x : 0.7 * (std::exp(x) - 1); }, kFloatTypes, -3, 3},
      {"Selu", {}, [=](double x) { return x > 0 ? selG * x : selG * selA * (std::exp(x) - 1); }, kFloatTypes, -3, 3},
      {"Softsign", {}, [](double x) { return x / (1 + std::fabs(x)); }, kFloatTypes, -5, 5},
      {"Softplus", {}, naiveSoftplus, kFloatTypes, -10, 10},
      {"Softplus", attrF({{"alpha", 0.5}, {"beta", 2.0}}), [](double x) { return 0.5 * naiveSoftplus(2 * x); },
       kFloatTypes, -5, 5},
      {"HardSigmoid", attrF({{"alpha", 0.3}, {"beta", 0.4}}),
       [](double x) { return std::fmin(1.0, std::fmax(0.0, 0.3 * x + 0.4)); }, kFloatTypes, -5, 5},
      {"ScaledTanh", attrF({{"alpha", 1.5}, {"beta", 0.7}}), [](double x) { return 1.5 * std::tanh(0.7 * x); },
       kFloatTypes, -4, 4},
      {"ThresholdedRelu", attrF({{"alpha", 0.25}}), [](double x) { return x > 0.25 ? x : 0; }, kFloatTypes, -2, 2},
      {"Gelu", {}, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, kFloatTypes, -4, 4},
      {"Silu", {}, [](double x) { return x * naiveSigmoid(x); }, kFloatTypes, -6, 6},
      {"HardSwish", {}, [](double x) { return x * std::fmin(1.0, std::fmax(0.0, x / 6 + 0.5)); }, kFloatTypes, -5, 5},
      {"Mish", {}, [](double x) { return x * std::tanh(naiveSoftplus(x)); }, kFloatTypes, -5, 5},
      {"Celu", {}, [](double x) { return std::fmax(0.0, x) + std::fmin(0.0, std::exp(x) - 1); }, kFloatTypes, -3, 3},
      {"Shrink", attrF({{"bias", 0.2}, {"lambd", 0.6}}),
       [](double x) { return x < -0.6 ? x + 0.2 : x > 0.6 ? x - 0.2 : 0; }, kFloatTypes, -2, 2},
      // integer variants
      {"Relu", {}, [](double x) { return x > 0 ? x : 0; }, {DataType::kINT8, DataType::kINT32, DataType::kINT64}, -50, 50},
      {"Shrink", attrF({{"bias", 2.0}, {"lambd", 3.0}}), [](double x) { return x < -3 ? x + 2 : x > 3 ? x - 2 : 0; },
       {DataType::kINT32, DataType::kINT16}, -10, 10},
  };
  uint32_t seed = 100;
  for (const auto& c : cases) checkAgainstReference(c, seed += 50);
  ir::Attributes tanhApprox;
  tanhApprox.setString("approximate", "tanh");
  checkAgainstReference({"Gelu", tanhApprox,
                         [](double x) {
                           return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
                         },
                         kFloatTypes, -4, 4});
}

TEST(ActivationOps, ClipWithOptionalBounds) {
  auto x = floatTensor({5}, {-3.f, -1.f, 0.f, 1.f, 3.f});
  auto lo = floatTensor({}, {-1.5f});
  auto hi = floatTensor({}, {2.f});
  expectCloseValues(*runOp("Clip", {}, {x, lo, hi})[0], {-1.5f, -1, 0, 1, 2});
  expectCloseValues(*runOp("Clip", {}, {x, lo})[0], {-1.5f, -1, 0, 1, 3});
  expectCloseValues(*runOp("Clip", {}, {x, nullptr, hi})[0], {-3, -1, 0, 1, 2});
  expectCloseValues(*runOp("Clip", {}, {x})[0], {-3, -1, 0, 1, 3});
  // min > max: everything becomes max
  expectCloseValues(*runOp("Clip", {}, {x, floatTensor({}, {2.f}), floatTensor({}, {1.f})})[0], {1, 1, 1, 1, 1});
  // integers
  auto xi = typedTensor<int32_t>({4}, {-100, -5, 5, 100});
  auto y = runOp("Clip", {}, {xi, typedTensor<int32_t>({}, {-10}), typedTensor<int32_t>({}, {10})});
  EXPECT_EQ(values<int32_t>(*y[0]), (std::vector<int32_t>{-10, -5, 5, 10}));
  auto yu = runOp("Clip", {}, {typedTensor<uint8_t>({3}, {0, 100, 250}), typedTensor<uint8_t>({}, {10}),
                               typedTensor<uint8_t>({}, {200})});
  EXPECT_EQ(values<uint8_t>(*yu[0]), (std::vector<uint8_t>{10, 100, 200}));
  auto y64 = runOp("Clip", {}, {typedTensor<int64_t>({2, 2}, {-7, 0, 7, 1}), nullptr, typedTensor<int64_t>({}, {1})});
  EXPECT_EQ(values<int64_t>(*y64[0]), (std::vector<int64_t>{-7, 0, 1, 1}));
}

TEST(ActivationOps, ClipMatchesReferenceAllFloatTypes) {
  for (DataType dt : kFloatTypes)
    for (const auto& shape : kShapes) {
      auto x = makeTyped(dt, shape, [&] {
        std::vector<double> v;
        for (float f : randomFloats(ir::numElements(shape), 5, -3, 3)) v.push_back(f);
        return v;
      }());
      auto y = runOp("Clip", {}, {x, makeTyped(dt, {}, {-0.5}), makeTyped(dt, {}, {1.25})});
      std::vector<double> want;
      for (double v : asDoubles(*x)) want.push_back(std::fmin(1.25, std::fmax(-0.5, v)));
      expectClose(*y[0], *makeTyped(dt, shape, want), 0, 0);
    }
}

TEST(ActivationOps, PReluBroadcastsSlopeToInput) {
  auto x = floatTensor({2, 3}, {-1, 2, -3, 4, -5, 6});
  expectCloseValues(*runOp("PRelu", {}, {x, floatTensor({3}, {0.1f, 0.2f, 0.3f})})[0], {-0.1f, 2, -0.9f, 4, -1.0f, 6});
  expectCloseValues(*runOp("PRelu", {}, {x, floatTensor({2, 1}, {0.5f, 2.f})})[0], {-0.5f, 2, -1.5f, 4, -10, 6});
  expectCloseValues(*runOp("PRelu", {}, {x, floatTensor({}, {0.25f})})[0], {-0.25f, 2, -0.75f, 4, -1.25f, 6});
  auto yi = runOp("PRelu", {}, {typedTensor<int32_t>({3}, {-4, 0, 4}), typedTensor<int32_t>({1}, {3})});
  EXPECT_EQ(values<int32_t>(*yi[0]), (std::vector<int32_t>{-12, 0, 4}));
  auto y64 = runOp("PRelu", {}, {typedTensor<int64_t>({2}, {-4, 5}), typedTensor<int64_t>({2}, {2, 3})});
  EXPECT_EQ(values<int64_t>(*y64[0]), (std::vector<int64_t>{-8, 5}));
  // NCHW with per-channel slope [C,1,1], several types, against a naive loop
  for (DataType dt : kFloatTypes) {
    std::vector<double> xv, sv;
    for (float f : randomFloats(2 * 3 * 2 * 2, 9)) xv.push_back(f);
    for (float f : randomFloats(3, 10, 0, 1)) sv.push_back(f);
    auto xt = makeTyped(dt, {2, 3, 2, 2}, xv);
    auto st = makeTyped(dt, {3, 1, 1}, sv);
    auto xs = asDoubles(*xt), ss = asDoubles(*st);
    std::vector<double> want(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      size_t c = (i / 4) % 3;
      want[i] = xs[i] < 0 ? xs[i] * ss[c] : xs[i];
    }
    expectClose(*runOp("PRelu", {}, {xt, st})[0], *makeTyped(dt, {2, 3, 2, 2}, want), rtolFor(dt), 1e-6);
  }
  // zero-size
  EXPECT_EQ(runOp("PRelu", {}, {floatTensor({0, 3}, {}), floatTensor({3}, {1, 2, 3})})[0]->numel(), 0);
}

TEST(ActivationOps, Errors) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  // slope must broadcast unidirectionally to x
  EXPECT_THROW(runOp("PRelu", {}, {x, floatTensor({2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("PRelu", {}, {floatTensor({3}, {1, 2, 3}), floatTensor({2, 3}, {1, 2, 3, 4, 5, 6})}), Error);
  // type mismatch
  EXPECT_THROW(runOp("PRelu", {}, {x, typedTensor<int32_t>({1}, {1})}), Error);
  EXPECT_THROW(runOp("Clip", {}, {x, typedTensor<int32_t>({}, {1})}), Error);
  // non-scalar bounds
  EXPECT_THROW(runOp("Clip", {}, {x, floatTensor({2}, {0, 1})}), Error);
  // bad attribute
  ir::Attributes bad;
  bad.setString("approximate", "erf");
  EXPECT_THROW(runOp("Gelu", bad, {x}), Error);
  EXPECT_THROW(runOp("Celu", attrF({{"alpha", 0.0}}), {x}), Error);
  // unsupported types
  EXPECT_THROW(runOp("Sigmoid", {}, {typedTensor<int32_t>({1}, {1})}), Error);
  EXPECT_THROW(runOp("Relu", {}, {typedTensor<bool>({1}, {true})}), Error);
  EXPECT_THROW(runOp("Relu", {}, {typedTensor<uint8_t>({1}, {1})}), Error);
  EXPECT_THROW(runOp("LeakyRelu", {}, {typedTensor<int32_t>({1}, {1})}), Error);
  // arity
  EXPECT_THROW(runOp("Relu", {}, {x, x}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Unary math

TEST(UnaryOps, HandCheckedValues) {
  auto x = floatTensor({4}, {0.25f, 1.f, 4.f, 9.f});
  expectCloseValues(*runOp("Sqrt", {}, {x})[0], {0.5f, 1, 2, 3});
  expectCloseValues(*runOp("Reciprocal", {}, {x})[0], {4, 1, 0.25f, 1.f / 9});
  expectCloseValues(*runOp("Log", {}, {x})[0], {-1.38629436f, 0, 1.38629436f, 2.19722458f});
  expectCloseValues(*runOp("Exp", {}, {floatTensor({3}, {-1, 0, 1})})[0], {0.36787944f, 1, 2.71828183f});
  auto r = floatTensor({8}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.6f, -2.4f});
  expectCloseValues(*runOp("Round", {}, {r})[0], {-2, -2, -0.f, 0, 2, 2, 3, -2});
  expectCloseValues(*runOp("Ceil", {}, {r})[0], {-2, -1, -0.f, 1, 2, 3, 3, -2});
  expectCloseValues(*runOp("Floor", {}, {r})[0], {-3, -2, -1, 0, 1, 2, 2, -3});
  expectCloseValues(*runOp("Abs", {}, {r})[0], {2.5f, 1.5f, 0.5f, 0.5f, 1.5f, 2.5f, 2.6f, 2.4f});
  expectCloseValues(*runOp("Neg", {}, {r})[0], {2.5f, 1.5f, 0.5f, -0.5f, -1.5f, -2.5f, -2.6f, 2.4f});
  expectCloseValues(*runOp("Sign", {}, {floatTensor({3}, {-2, 0, 3})})[0], {-1, 0, 1});
  expectCloseValues(*runOp("Erf", {}, {floatTensor({3}, {-1, 0, 0.5f})})[0], {-0.84270079f, 0, 0.52049988f});
  expectCloseValues(*runOp("Sin", {}, {floatTensor({2}, {0, 1.5707963f})})[0], {0, 1});
  expectCloseValues(*runOp("Cos", {}, {floatTensor({2}, {0, 3.14159265f})})[0], {1, -1});
  expectCloseValues(*runOp("Atan", {}, {floatTensor({1}, {1})})[0], {0.78539816f});
  expectCloseValues(*runOp("Acosh", {}, {floatTensor({1}, {1})})[0], {0});
}

TEST(UnaryOps, IntegerAbsNegSign) {
  auto x = typedTensor<int32_t>({4}, {-7, 0, 3, std::numeric_limits<int32_t>::min()});
  EXPECT_EQ(values<int32_t>(*runOp("Abs", {}, {x})[0]),
            (std::vector<int32_t>{7, 0, 3, std::numeric_limits<int32_t>::min()}));  // wraps, no UB
  EXPECT_EQ(values<int32_t>(*runOp("Neg", {}, {x})[0]),
            (std::vector<int32_t>{7, 0, -3, std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(values<int32_t>(*runOp("Sign", {}, {x})[0]), (std::vector<int32_t>{-1, 0, 1, -1}));
  auto x8 = typedTensor<int8_t>({3}, {-128, -1, 127});
  EXPECT_EQ(values<int8_t>(*runOp("Abs", {}, {x8})[0]), (std::vector<int8_t>{-128, 1, 127}));
  auto x64 = typedTensor<int64_t>({2}, {-5, 6});
  EXPECT_EQ(values<int64_t>(*runOp("Neg", {}, {x64})[0]), (std::vector<int64_t>{5, -6}));
  auto xu = typedTensor<uint16_t>({2}, {0, 9});
  EXPECT_EQ(values<uint16_t>(*runOp("Sign", {}, {xu})[0]), (std::vector<uint16_t>{0, 1}));
  EXPECT_EQ(values<uint16_t>(*runOp("Abs", {}, {xu})[0]), (std::vector<uint16_t>{0, 9}));
  EXPECT_THROW(runOp("Neg", {}, {xu}), Error);
}

TEST(UnaryOps, MatchNaiveReference) {
  auto F = [](double (*f)(double)) { return std::function<double(double)>(f); };
  std::vector<UnaryCase> cases = {
      {"Exp", {}, F(std::exp), kFloatTypes, -5, 5},
      {"Log", {}, F(std::log), kFloatTypes, 0.01, 10},
      {"Sqrt", {}, F(std::sqrt), kFloatTypes, 0, 10},
      {"Reciprocal", {}, [](double x) { return 1 / x; }, kFloatTypes, 0.1, 10},
      {"Abs", {}, F(std::fabs), kFloatTypes, -5, 5},
      {"Neg", {}, [](double x) { return -x; }, kFloatTypes, -5, 5},
      {"Sin", {}, F(std::sin), kFloatTypes, -6, 6},
      {"Cos", {}, F(std::cos), kFloatTypes, -6, 6},
      {"Tan", {}, F(std::tan), kFloatTypes, -1.2, 1.2},
      {"Sinh", {}, F(std::sinh), kFloatTypes, -3, 3},
      {"Cosh", {}, F(std::cosh), kFloatTypes, -3, 3},
      {"Asin", {}, F(std::asin), kFloatTypes, -0.99, 0.99},
      {"Acos", {}, F(std::acos), kFloatTypes, -0.99, 0.99},
      {"Atan", {}, F(std::atan), kFloatTypes, -5, 5},
      {"Asinh", {}, F(std::asinh), kFloatTypes, -5, 5},
      {"Acosh", {}, F(std::acosh), kFloatTypes, 1, 6},
      {"Atanh", {}, F(std::atanh), kFloatTypes, -0.95, 0.95},
      {"Ceil", {}, F(std::ceil), kFloatTypes, -5, 5},
      {"Floor", {}, F(std::floor), kFloatTypes, -5, 5},
      {"Erf", {}, F(std::erf), kFloatTypes, -3, 3},
      {"Sign", {}, [](double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }, kFloatTypes, -3, 3},
      {"Round", {}, [](double x) { return std::nearbyint(x); }, kFloatTypes, -6, 6},
      {"Abs", {}, F(std::fabs), {DataType::kINT8, DataType::kINT16, DataType::kINT32, DataType::kINT64}, -100, 100},
      {"Neg", {}, [](double x) { return -x; }, {DataType::kINT8, DataType::kINT32, DataType::kINT64}, -100, 100},
      {"Sign", {}, [](double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; },
       {DataType::kINT8, DataType::kINT64, DataType::kUINT32}, -100, 100},
  };
  cases.back().lo = 0;  // unsigned
  uint32_t seed = 7;
  for (const auto& c : cases) checkAgainstReference(c, seed += 50);
  // Round on exact halves of every float type: half to even
  for (DataType dt : kFloatTypes) {
    auto x = makeTyped(dt, {6}, {0.5, 1.5, 2.5, -0.5, -1.5, -3.5});
    expectClose(*runOp("Round", {}, {x})[0], *makeTyped(dt, {6}, {0, 2, 2, -0.0, -2, -4}), 0, 0);
  }
}

TEST(UnaryOps, IsInfIsNaN) {
  auto x = makeTyped(DataType::kFLOAT, {5}, {kInf, -kInf, kNaN, 0, 1});
  EXPECT_EQ(boolValues(*runOp("IsInf", {}, {x})[0]), (std::vector<bool>{true, true, false, false, false}));
  ir::Attributes onlyPos;
  onlyPos.setInt("detect_negative", 0);
  EXPECT_EQ(boolValues(*runOp("IsInf", onlyPos, {x})[0]), (std::vector<bool>{true, false, false, false, false}));
  ir::Attributes onlyNeg;
  onlyNeg.setInt("detect_positive", 0);
  EXPECT_EQ(boolValues(*runOp("IsInf", onlyNeg, {x})[0]), (std::vector<bool>{false, true, false, false, false}));
  EXPECT_EQ(boolValues(*runOp("IsNaN", {}, {x})[0]), (std::vector<bool>{false, false, true, false, false}));
  for (DataType dt : {DataType::kHALF, DataType::kBF16, DataType::kDOUBLE}) {
    auto y = makeTyped(dt, {3}, {kInf, kNaN, 2});
    auto inf = runOp("IsInf", {}, {y});
    ASSERT_EQ(inf[0]->dtype, DataType::kBOOL);
    EXPECT_EQ(boolValues(*inf[0]), (std::vector<bool>{true, false, false}));
    EXPECT_EQ(boolValues(*runOp("IsNaN", {}, {y})[0]), (std::vector<bool>{false, true, false}));
  }
  EXPECT_THROW(runOp("IsNaN", {}, {typedTensor<int32_t>({1}, {1})}), Error);
}

TEST(UnaryOps, NotAndBitwiseNot) {
  auto b = typedTensor<bool>({2, 2}, {true, false, false, true});
  EXPECT_EQ(boolValues(*runOp("Not", {}, {b})[0]), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(values<int32_t>(*runOp("BitwiseNot", {}, {typedTensor<int32_t>({2}, {0, 5})})[0]),
            (std::vector<int32_t>{-1, -6}));
  EXPECT_EQ(values<uint8_t>(*runOp("BitwiseNot", {}, {typedTensor<uint8_t>({2}, {0, 0xF0})})[0]),
            (std::vector<uint8_t>{0xFF, 0x0F}));
  EXPECT_EQ(values<uint64_t>(*runOp("BitwiseNot", {}, {typedTensor<uint64_t>({1}, {1})})[0]),
            (std::vector<uint64_t>{~uint64_t{1}}));
  EXPECT_THROW(runOp("Not", {}, {floatTensor({1}, {1})}), Error);
  EXPECT_THROW(runOp("BitwiseNot", {}, {floatTensor({1}, {1})}), Error);
  EXPECT_EQ(runOp("Not", {}, {typedTensor<bool>({0}, {})})[0]->numel(), 0);
}

TEST(UnaryOps, ErfOnIntegersAndErrors) {
  EXPECT_EQ(values<int32_t>(*runOp("Erf", {}, {typedTensor<int32_t>({3}, {-3, 0, 3})})[0]),
            (std::vector<int32_t>{0, 0, 0}));  // |erf| < 1 truncates to 0
  EXPECT_THROW(runOp("Exp", {}, {typedTensor<int32_t>({1}, {1})}), Error);
  EXPECT_THROW(runOp("Sqrt", {}, {typedTensor<bool>({1}, {true})}), Error);
  EXPECT_THROW(runOp("Exp", {}, {}), Error);
}

}  // namespace
}  // namespace kiln::test
