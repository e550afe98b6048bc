// Tests of the binary/variadic elementwise ops, Where and Cast: hand-checked values, a naive
// double-precision reference with its own broadcasting over many shapes and dtypes, and error cases.
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

//! Naive numpy broadcast of shapes (no unknown extents).
ir::Shape naiveBroadcast(const std::vector<ir::Shape>& shapes) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  ir::Shape out(rank, 1);
  for (const auto& s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[rank - s.size() + i];
      if (o == 1) o = s[i];
    }
  return out;
}

//! Flat index into `in` for the output multi-index `idx` (right-aligned, size-1 dims broadcast).
int64_t naiveIndex(const ir::Shape& in, const std::vector<int64_t>& idx) {
  int64_t flat = 0;
  size_t off = idx.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) flat = flat * in[i] + (in[i] == 1 ? 0 : idx[off + i]);
  return flat;
}

//! out[i] = f(ins...) with naive broadcasting, in double.
std::vector<double> naiveMap(const std::vector<const ir::TensorData*>& ins,
                             const std::function<double(const std::vector<double>&)>& f, ir::Shape* outShape) {
  std::vector<ir::Shape> shapes;
  std::vector<std::vector<double>> vals;
  for (auto* t : ins) {
    shapes.push_back(t->shape);
    vals.push_back(asDoubles(*t));
  }
  ir::Shape out = naiveBroadcast(shapes);
  *outShape = out;
  int64_t n = ir::numElements(out);
  std::vector<double> res(static_cast<size_t>(n));
  std::vector<int64_t> idx(out.size());
  std::vector<double> args(ins.size());
  for (int64_t o = 0; o < n; ++o) {
    int64_t rem = o;
    for (size_t i = out.size(); i-- > 0;) {
      idx[i] = rem % out[i];
      rem /= out[i];
    }
    for (size_t k = 0; k < ins.size(); ++k)
      args[k] = vals[k][static_cast<size_t>(naiveIndex(shapes[k], idx))];
    res[static_cast<size_t>(o)] = f(args);
  }
  return res;
}

const std::vector<std::pair<ir::Shape, ir::Shape>> kShapePairs = {
    {{2, 3}, {2, 3}},       {{2, 3}, {3}},          {{3}, {2, 3}},          {{2, 1, 4}, {3, 1}},
    {{}, {2, 2}},           {{2, 2}, {}},           {{1}, {0, 3}},          {{4, 1, 5}, {1, 6, 1}},
    {{2, 3, 4, 5}, {3, 1, 5}}, {{1, 1}, {1}},       {{5, 1}, {1, 1}},       {{2, 0}, {1}},
    {{3, 1, 2, 1}, {1, 4, 1, 3}}, {{7}, {1}},
};

const std::vector<DataType> kFloatTypes = {DataType::kFLOAT, DataType::kHALF, DataType::kBF16, DataType::kDOUBLE};
const std::vector<DataType> kAllNumeric = {DataType::kFLOAT,  DataType::kHALF,   DataType::kBF16,   DataType::kDOUBLE,
                                           DataType::kINT8,   DataType::kINT16,  DataType::kINT32,  DataType::kINT64,
                                           DataType::kUINT8,  DataType::kUINT16, DataType::kUINT32, DataType::kUINT64};

std::vector<double> randomValues(DataType dt, int64_t n, uint32_t seed, double lo, double hi, bool nonZero = false) {
  std::vector<double> v;
  if (isFloatingType(dt)) {
    for (float f : randomFloats(n, seed, static_cast<float>(lo), static_cast<float>(hi))) v.push_back(f);
  } else {
    if (!isSignedType(dt)) lo = std::max(lo, 0.0);
    for (int64_t i : randomInts(n, seed, static_cast<int64_t>(lo), static_cast<int64_t>(hi))) v.push_back(static_cast<double>(i));
  }
  if (nonZero)
    for (double& x : v)
      if (x == 0 || std::fabs(x) < 0.05) x = 1;
  return v;
}

struct BinaryCase {
  std::string op;
  ir::Attributes attrs;
  std::function<double(double, double)> ref;
  std::vector<DataType> types;
  double lo, hi;
  bool boolOut{false};
  bool nonZeroB{false};
};

void checkBinary(const BinaryCase& c, uint32_t seed) {
  for (DataType dt : c.types)
    for (const auto& [sa, sb] : kShapePairs) {
      SCOPED_TRACE(c.op + " " + dataTypeName(dt) + " " + ir::shapeToString(sa) + " " + ir::shapeToString(sb));
      auto a = makeTyped(dt, sa, randomValues(dt, ir::numElements(sa), seed++, c.lo, c.hi));
      auto b = makeTyped(dt, sb, randomValues(dt, ir::numElements(sb), seed++, c.lo, c.hi, c.nonZeroB));
      ir::Shape outShape;
      auto want = naiveMap({a.get(), b.get()}, [&](const std::vector<double>& v) { return c.ref(v[0], v[1]); }, &outShape);
      auto y = runOp(c.op, c.attrs, {a, b});
      ASSERT_EQ(y[0]->dtype, c.boolOut ? DataType::kBOOL : dt);
      double rtol = c.boolOut ? 0 : rtolFor(dt);
      expectClose(*y[0], *makeTyped(c.boolOut ? DataType::kBOOL : dt, outShape, want), rtol, rtol * 1e-2);
    }
}

// ---------------------------------------------------------------------------------------------------------

TEST(BinaryOps, HandCheckedValues) {
  auto a = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = floatTensor({3}, {10, 20, 30});
  expectCloseValues(*runOp("Add", {}, {a, b})[0], {11, 22, 33, 14, 25, 36});
  expectCloseValues(*runOp("Sub", {}, {a, b})[0], {-9, -18, -27, -6, -15, -24});
  expectCloseValues(*runOp("Mul", {}, {a, b})[0], {10, 40, 90, 40, 100, 180});
  expectCloseValues(*runOp("Div", {}, {b, a})[0], {10, 10, 10, 2.5f, 4, 5});
  expectCloseValues(*runOp("Pow", {}, {a, floatTensor({}, {2})})[0], {1, 4, 9, 16, 25, 36});
  auto col = floatTensor({2, 1}, {3, 4});
  expectCloseValues(*runOp("Max", {}, {a, col})[0], {3, 3, 3, 4, 5, 6});
  expectCloseValues(*runOp("Min", {}, {a, col})[0], {1, 2, 3, 4, 4, 4});
  expectCloseValues(*runOp("FloorDiv", {}, {floatTensor({4}, {7, -7, 7, -7}), floatTensor({4}, {2, 2, -2, -2})})[0],
                    {3, -4, -4, 3});
  EXPECT_EQ(boolValues(*runOp("Greater", {}, {a, col})[0]), (std::vector<bool>{false, false, false, false, true, true}));
  EXPECT_EQ(boolValues(*runOp("Less", {}, {a, col})[0]), (std::vector<bool>{true, true, false, false, false, false}));
  EXPECT_EQ(boolValues(*runOp("Equal", {}, {a, col})[0]), (std::vector<bool>{false, false, true, true, false, false}));
  EXPECT_EQ(boolValues(*runOp("GreaterOrEqual", {}, {a, col})[0]),
            (std::vector<bool>{false, false, true, true, true, true}));
  EXPECT_EQ(boolValues(*runOp("LessOrEqual", {}, {a, col})[0]),
            (std::vector<bool>{true, true, true, true, false, false}));
}

TEST(BinaryOps, IntegerDivModFloorDiv) {
  auto a = typedTensor<int32_t>({4}, {7, -7, 7, -7});
  auto b = typedTensor<int32_t>({4}, {2, 2, -2, -2});
  EXPECT_EQ(values<int32_t>(*runOp("Div", {}, {a, b})[0]), (std::vector<int32_t>{3, -3, -3, 3}));
  EXPECT_EQ(values<int32_t>(*runOp("FloorDiv", {}, {a, b})[0]), (std::vector<int32_t>{3, -4, -4, 3}));
  EXPECT_EQ(values<int32_t>(*runOp("Mod", {}, {a, b})[0]), (std::vector<int32_t>{1, 1, -1, -1}));  // divisor's sign
  ir::Attributes fm;
  fm.setInt("fmod", 1);
  EXPECT_EQ(values<int32_t>(*runOp("Mod", fm, {a, b})[0]), (std::vector<int32_t>{1, -1, 1, -1}));  // dividend's sign
  expectCloseValues(*runOp("Mod", fm, {floatTensor({2}, {5.5f, -5.5f}), floatTensor({2}, {2, 2})})[0], {1.5f, -1.5f});
  expectCloseValues(*runOp("Mod", {}, {floatTensor({2}, {5.5f, -5.5f}), floatTensor({2}, {2, 2})})[0], {1.5f, 0.5f});
  // MIN / -1 wraps instead of trapping
  auto mn = typedTensor<int32_t>({1}, {std::numeric_limits<int32_t>::min()});
  auto m1 = typedTensor<int32_t>({1}, {-1});
  EXPECT_EQ(values<int32_t>(*runOp("Div", {}, {mn, m1})[0])[0], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(values<int32_t>(*runOp("Mod", {}, {mn, m1})[0])[0], 0);
  EXPECT_EQ(values<int32_t>(*runOp("FloorDiv", {}, {mn, m1})[0])[0], std::numeric_limits<int32_t>::min());
  // unsigned
  auto ua = typedTensor<uint8_t>({2}, {200, 7});
  auto ub = typedTensor<uint8_t>({2}, {3, 2});
  EXPECT_EQ(values<uint8_t>(*runOp("Div", {}, {ua, ub})[0]), (std::vector<uint8_t>{66, 3}));
  EXPECT_EQ(values<uint8_t>(*runOp("Mod", {}, {ua, ub})[0]), (std::vector<uint8_t>{2, 1}));
  // wrapping arithmetic
  EXPECT_EQ(values<uint8_t>(*runOp("Add", {}, {ua, ua})[0]), (std::vector<uint8_t>{144, 14}));
  auto big = typedTensor<int64_t>({1}, {std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(values<int64_t>(*runOp("Add", {}, {big, typedTensor<int64_t>({1}, {1})})[0])[0],
            std::numeric_limits<int64_t>::min());
  auto u16 = typedTensor<uint16_t>({1}, {65535});
  EXPECT_EQ(values<uint16_t>(*runOp("Mul", {}, {u16, u16})[0])[0], 1);
}

TEST(BinaryOps, IntegerDivisionByZeroThrows) {
  for (const char* op : {"Div", "Mod", "FloorDiv"}) {
    try {
      runOp(op, {}, {typedTensor<int32_t>({3}, {1, 2, 3}), typedTensor<int32_t>({3}, {1, 0, 1})});
      ADD_FAILURE() << op << " did not throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT) << op;
    }
    EXPECT_THROW(runOp(op, {}, {typedTensor<uint8_t>({1}, {1}), typedTensor<uint8_t>({}, {0})}), Error);
    EXPECT_THROW(runOp(op, {}, {typedTensor<int64_t>({2, 2}, {1, 2, 3, 4}), typedTensor<int64_t>({2, 1}, {1, 0})}),
                 Error);
  }
  ir::Attributes fm;
  fm.setInt("fmod", 1);
  EXPECT_THROW(runOp("Mod", fm, {typedTensor<int8_t>({1}, {1}), typedTensor<int8_t>({1}, {0})}), Error);
  // float division by zero is IEEE
  auto y = runOp("Div", {}, {floatTensor({3}, {1, -1, 0}), floatTensor({}, {0})});
  EXPECT_EQ(y[0]->floatAt(0), kInf);
  EXPECT_EQ(y[0]->floatAt(1), -kInf);
  EXPECT_TRUE(std::isnan(y[0]->floatAt(2)));
}

TEST(BinaryOps, MatchNaiveReference) {
  auto floorMod = [](double a, double b) {
    double r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  };
  ir::Attributes fm;
  fm.setInt("fmod", 1);
  std::vector<BinaryCase> cases = {
      {"Add", {}, [](double a, double b) { return a + b; }, kAllNumeric, -50, 50},
      {"Sub", {}, [](double a, double b) { return a - b; },
       {DataType::kFLOAT, DataType::kHALF, DataType::kBF16, DataType::kDOUBLE, DataType::kINT8, DataType::kINT16,
        DataType::kINT32, DataType::kINT64},
       -50, 50},
      {"Mul", {}, [](double a, double b) { return a * b; }, kAllNumeric, -11, 11},
      {"Div", {}, [](double a, double b) { return a / b; }, kFloatTypes, -5, 5, false, true},
      {"Div", {}, [](double a, double b) { return std::trunc(a / b); },
       {DataType::kINT8, DataType::kINT32, DataType::kINT64, DataType::kUINT16}, -100, 100, false, true},
      {"FloorDiv", {}, [](double a, double b) { return std::floor(a / b); },
       {DataType::kFLOAT, DataType::kDOUBLE, DataType::kINT16, DataType::kINT32, DataType::kINT64, DataType::kUINT32},
       -100, 100, false, true},
      {"Mod", {}, floorMod, {DataType::kINT8, DataType::kINT32, DataType::kINT64, DataType::kUINT64}, -100, 100, false,
       true},
      {"Mod", fm, [](double a, double b) { return std::fmod(a, b); },
       {DataType::kFLOAT, DataType::kDOUBLE, DataType::kINT16, DataType::kINT64}, -100, 100, false, true},
      {"Max", {}, [](double a, double b) { return std::fmax(a, b); }, kAllNumeric, -50, 50},
      {"Min", {}, [](double a, double b) { return std::fmin(a, b); }, kAllNumeric, -50, 50},
      {"Equal", {}, [](double a, double b) { return double(a == b); }, kAllNumeric, -2, 2, true},
      {"Greater", {}, [](double a, double b) { return double(a > b); }, kAllNumeric, -3, 3, true},
      {"Less", {}, [](double a, double b) { return double(a < b); }, kAllNumeric, -3, 3, true},
      {"GreaterOrEqual", {}, [](double a, double b) { return double(a >= b); }, kAllNumeric, -3, 3, true},
      {"LessOrEqual", {}, [](double a, double b) { return double(a <= b); }, kAllNumeric, -3, 3, true},
      {"Pow", {}, [](double a, double b) { return std::pow(a, b); }, kFloatTypes, 0.1, 3},
      {"And", {}, [](double a, double b) { return double(a != 0 && b != 0); }, {DataType::kBOOL}, 0, 1, true},
      {"Or", {}, [](double a, double b) { return double(a != 0 || b != 0); }, {DataType::kBOOL}, 0, 1, true},
      {"Xor", {}, [](double a, double b) { return double((a != 0) != (b != 0)); }, {DataType::kBOOL}, 0, 1, true},
      {"Equal", {}, [](double a, double b) { return double(a == b); }, {DataType::kBOOL}, 0, 1, true},
  };
  uint32_t seed = 1000;
  for (const auto& c : cases) checkBinary(c, seed += 100);
}

TEST(BinaryOps, BitwiseAndShift) {
  auto a = typedTensor<int32_t>({3}, {0b1100, -1, 5});
  auto b = typedTensor<int32_t>({3}, {0b1010, 0x0F, 3});
  EXPECT_EQ(values<int32_t>(*runOp("BitwiseAnd", {}, {a, b})[0]), (std::vector<int32_t>{0b1000, 0x0F, 1}));
  EXPECT_EQ(values<int32_t>(*runOp("BitwiseOr", {}, {a, b})[0]), (std::vector<int32_t>{0b1110, -1, 7}));
  EXPECT_EQ(values<int32_t>(*runOp("BitwiseXor", {}, {a, b})[0]), (std::vector<int32_t>{0b0110, -16, 6}));
  ir::Attributes left, right;
  left.setString("direction", "LEFT");
  right.setString("direction", "RIGHT");
  auto x = typedTensor<uint8_t>({4}, {1, 0x81, 16, 255});
  auto s = typedTensor<uint8_t>({4}, {3, 1, 2, 9});
  EXPECT_EQ(values<uint8_t>(*runOp("BitShift", left, {x, s})[0]), (std::vector<uint8_t>{8, 0x02, 64, 0}));
  EXPECT_EQ(values<uint8_t>(*runOp("BitShift", right, {x, s})[0]), (std::vector<uint8_t>{0, 0x40, 4, 0}));
  auto x64 = typedTensor<uint64_t>({2}, {1, 1ull << 63});
  EXPECT_EQ(values<uint64_t>(*runOp("BitShift", left, {x64, typedTensor<uint64_t>({}, {63})})[0]),
            (std::vector<uint64_t>{1ull << 63, 0}));
  EXPECT_EQ(values<uint64_t>(*runOp("BitShift", right, {x64, typedTensor<uint64_t>({}, {64})})[0]),
            (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(values<uint32_t>(*runOp("BitShift", left, {typedTensor<uint32_t>({1}, {3}), typedTensor<uint32_t>({1}, {4})})[0]),
            (std::vector<uint32_t>{48}));
  // signed (opset 24 semantics): arithmetic right shifts; out-of-range amounts give 0 (or -1 shifting a
  // negative value right)
  auto xs = typedTensor<int8_t>({4}, {-16, 4, 1, -1});
  auto ss = typedTensor<int8_t>({4}, {2, 1, 9, -1});
  EXPECT_EQ(values<int8_t>(*runOp("BitShift", right, {xs, ss})[0]), (std::vector<int8_t>{-4, 2, 0, -1}));
  EXPECT_EQ(values<int8_t>(*runOp("BitShift", left, {xs, ss})[0]), (std::vector<int8_t>{-64, 8, 0, 0}));
  EXPECT_EQ(values<int32_t>(*runOp("BitShift", left, {typedTensor<int32_t>({1}, {0x40000001}), typedTensor<int32_t>({1}, {1})})[0]),
            (std::vector<int32_t>{static_cast<int32_t>(0x80000002u)}));
  EXPECT_THROW(runOp("BitShift", {}, {x, s}), Error);     // direction required
  ir::Attributes bad;
  bad.setString("direction", "UP");
  EXPECT_THROW(runOp("BitShift", bad, {x, s}), Error);
  EXPECT_THROW(runOp("BitwiseAnd", {}, {floatTensor({1}, {1}), floatTensor({1}, {1})}), Error);
}

TEST(BinaryOps, PowMixedTypes) {
  auto base = floatTensor({4}, {2, 3, 4, -2});
  expectCloseValues(*runOp("Pow", {}, {base, typedTensor<int32_t>({}, {3})})[0], {8, 27, 64, -8});
  expectCloseValues(*runOp("Pow", {}, {base, typedTensor<int64_t>({4}, {0, 1, -1, 2})})[0], {1, 3, 0.25f, 4});
  expectCloseValues(*runOp("Pow", {}, {floatTensor({1}, {4}), floatTensor({1}, {0.5f})})[0], {2});
  auto ib = typedTensor<int32_t>({5}, {2, -3, 5, 1, -1});
  EXPECT_EQ(values<int32_t>(*runOp("Pow", {}, {ib, typedTensor<int32_t>({5}, {10, 3, -1, -5, -3})})[0]),
            (std::vector<int32_t>{1024, -27, 0, 1, -1}));
  EXPECT_EQ(values<int64_t>(*runOp("Pow", {}, {typedTensor<int64_t>({1}, {3}), typedTensor<uint8_t>({1}, {40})})[0]),
            (std::vector<int64_t>{static_cast<int64_t>(12157665459056928801ull)}));  // 3^40 wraps
  EXPECT_EQ(values<int32_t>(*runOp("Pow", {}, {typedTensor<int32_t>({1}, {9}), floatTensor({1}, {0.5f})})[0]),
            (std::vector<int32_t>{3}));
  auto h = runOp("Pow", {}, {makeTyped(DataType::kHALF, {2}, {1.5, 2}), typedTensor<int64_t>({2}, {2, 10})});
  ASSERT_EQ(h[0]->dtype, DataType::kHALF);
  expectCloseValues(*h[0], {2.25f, 1024});
  EXPECT_THROW(runOp("Pow", {}, {typedTensor<int32_t>({1}, {0}), typedTensor<int32_t>({1}, {-1})}), Error);
  EXPECT_THROW(runOp("Pow", {}, {typedTensor<bool>({1}, {true}), typedTensor<int32_t>({1}, {1})}), Error);
}

TEST(BinaryOps, VariadicSumMeanMaxMin) {
  auto a = floatTensor({2, 2}, {1, 2, 3, 4});
  auto b = floatTensor({2}, {10, 20});
  auto c = floatTensor({2, 1}, {100, 200});
  expectCloseValues(*runOp("Sum", {}, {a, b, c})[0], {111, 122, 213, 224});
  expectCloseValues(*runOp("Mean", {}, {a, b, c})[0], {37, 122.f / 3, 71, 224.f / 3});
  expectCloseValues(*runOp("Max", {}, {a, b, c})[0], {100, 100, 200, 200});
  expectCloseValues(*runOp("Min", {}, {a, b, c})[0], {1, 2, 3, 4});
  // one input
  expectCloseValues(*runOp("Sum", {}, {a})[0], {1, 2, 3, 4});
  expectCloseValues(*runOp("Mean", {}, {a})[0], {1, 2, 3, 4});
  // NaN propagates through Max/Min
  auto n = makeTyped(DataType::kFLOAT, {2}, {kNaN, 1});
  EXPECT_TRUE(std::isnan(runOp("Max", {}, {n, floatTensor({2}, {5, 5})})[0]->floatAt(0)));
  EXPECT_TRUE(std::isnan(runOp("Min", {}, {floatTensor({2}, {5, 5}), n})[0]->floatAt(0)));
  // integers
  auto i1 = typedTensor<int32_t>({3}, {1, -5, 9});
  auto i2 = typedTensor<int32_t>({1}, {2});
  EXPECT_EQ(values<int32_t>(*runOp("Sum", {}, {i1, i2, i1})[0]), (std::vector<int32_t>{4, -8, 20}));
  EXPECT_EQ(values<int32_t>(*runOp("Max", {}, {i1, i2})[0]), (std::vector<int32_t>{2, 2, 9}));
  EXPECT_EQ(values<int32_t>(*runOp("Min", {}, {i1, i2})[0]), (std::vector<int32_t>{1, -5, 2}));
  // against the naive reference, 4 inputs of different shapes, every float type
  const std::vector<ir::Shape> shapes = {{3, 1, 4}, {4}, {2, 1, 1, 1}, {1, 5, 1}};
  for (DataType dt : kFloatTypes) {
    std::vector<TensorPtr> ins;
    std::vector<const ir::TensorData*> raw;
    uint32_t seed = 77;
    for (const auto& s : shapes) {
      ins.push_back(makeTyped(dt, s, randomValues(dt, ir::numElements(s), seed++, -4, 4)));
      raw.push_back(ins.back().get());
    }
    ir::Shape os;
    auto sum = naiveMap(raw, [](const std::vector<double>& v) { return v[0] + v[1] + v[2] + v[3]; }, &os);
    auto mx = naiveMap(raw, [](const std::vector<double>& v) { return std::max({v[0], v[1], v[2], v[3]}); }, &os);
    auto mean = sum;
    for (double& x : mean) x /= 4;
    double tol = 4 * rtolFor(dt);
    expectClose(*runOp("Sum", {}, ins)[0], *makeTyped(dt, os, sum), tol, tol);
    expectClose(*runOp("Mean", {}, ins)[0], *makeTyped(dt, os, mean), tol, tol);
    expectClose(*runOp("Max", {}, ins)[0], *makeTyped(dt, os, mx), 0, 0);
  }
  EXPECT_THROW(runOp("Mean", {}, {i1}), Error);  // float only
  EXPECT_THROW(runOp("Sum", {}, {a, floatTensor({3}, {1, 2, 3})}), Error);
  EXPECT_THROW(runOp("Sum", {}, {a, i1}), Error);
}

TEST(BinaryOps, ZeroSizeAndScalars) {
  auto e = runOp("Add", {}, {floatTensor({0, 3}, {}), floatTensor({3}, {1, 2, 3})});
  EXPECT_EQ(ir::shapeToString(e[0]->shape), "[0,3]");
  auto s = runOp("Mul", {}, {floatTensor({}, {3}), floatTensor({}, {4})});
  EXPECT_EQ(s[0]->shape.size(), 0u);
  EXPECT_EQ(s[0]->floatAt(0), 12);
  auto g = runOp("Greater", {}, {floatTensor({1, 0}, {}), floatTensor({5, 1}, {1, 2, 3, 4, 5})});
  EXPECT_EQ(ir::shapeToString(g[0]->shape), "[5,0]");
}

TEST(BinaryOps, Errors) {
  auto a = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(runOp("Add", {}, {a, floatTensor({2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("Add", {}, {a, typedTensor<int32_t>({1}, {1})}), Error);
  EXPECT_THROW(runOp("And", {}, {a, a}), Error);
  EXPECT_THROW(runOp("Greater", {}, {typedTensor<bool>({1}, {true}), typedTensor<bool>({1}, {true})}), Error);
  EXPECT_THROW(runOp("Add", {}, {typedTensor<bool>({1}, {true}), typedTensor<bool>({1}, {true})}), Error);
  ir::Attributes badMod;
  badMod.setInt("fmod", 2);
  EXPECT_THROW(runOp("Mod", badMod, {a, a}), Error);
  EXPECT_THROW(runOp("Add", {}, {a}), Error);
  EXPECT_THROW(runOp("Sub", {}, {a, a, a}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Where

TEST(WhereOp, HandCheckedAndBroadcast) {
  auto c = typedTensor<bool>({2, 1}, {true, false});
  auto x = floatTensor({3}, {1, 2, 3});
  auto y = floatTensor({}, {-1});
  auto r = runOp("Where", {}, {c, x, y});
  EXPECT_EQ(ir::shapeToString(r[0]->shape), "[2,3]");
  expectCloseValues(*r[0], {1, 2, 3, -1, -1, -1});
  auto ri = runOp("Where", {}, {typedTensor<bool>({3}, {false, true, false}), typedTensor<int64_t>({3}, {1, 2, 3}),
                                typedTensor<int64_t>({1}, {9})});
  EXPECT_EQ(values<int64_t>(*ri[0]), (std::vector<int64_t>{9, 2, 9}));
  auto rb = runOp("Where", {}, {typedTensor<bool>({2}, {true, false}), typedTensor<bool>({2}, {false, false}),
                                typedTensor<bool>({2}, {true, true})});
  EXPECT_EQ(boolValues(*rb[0]), (std::vector<bool>{false, true}));
}

TEST(WhereOp, MatchesNaiveReference) {
  const std::vector<std::array<ir::Shape, 3>> shapes = {
      {ir::Shape{2, 3}, ir::Shape{2, 3}, ir::Shape{2, 3}}, {ir::Shape{3, 1, 4}, ir::Shape{1, 5, 1}, ir::Shape{4}},
      {ir::Shape{}, ir::Shape{2, 2}, ir::Shape{1}},        {ir::Shape{0, 1}, ir::Shape{1, 3}, ir::Shape{}},
      {ir::Shape{2, 1, 3, 1}, ir::Shape{4, 1, 1}, ir::Shape{2, 1, 1, 5}}};
  for (DataType dt : {DataType::kFLOAT, DataType::kHALF, DataType::kINT8, DataType::kINT64, DataType::kDOUBLE,
                      DataType::kUINT16}) {
    uint32_t seed = 3;
    for (const auto& s : shapes) {
      auto c = makeTyped(DataType::kBOOL, s[0], randomValues(DataType::kINT32, ir::numElements(s[0]), seed++, 0, 1));
      auto x = makeTyped(dt, s[1], randomValues(dt, ir::numElements(s[1]), seed++, -50, 50));
      auto y = makeTyped(dt, s[2], randomValues(dt, ir::numElements(s[2]), seed++, -50, 50));
      ir::Shape os;
      auto want = naiveMap({c.get(), x.get(), y.get()},
                           [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; }, &os);
      expectClose(*runOp("Where", {}, {c, x, y})[0], *makeTyped(dt, os, want), 0, 0);
    }
  }
}

TEST(WhereOp, Errors) {
  auto x = floatTensor({2}, {1, 2});
  EXPECT_THROW(runOp("Where", {}, {x, x, x}), Error);  // cond must be bool
  EXPECT_THROW(runOp("Where", {}, {typedTensor<bool>({2}, {true, false}), x, typedTensor<int32_t>({2}, {1, 2})}),
               Error);
  EXPECT_THROW(runOp("Where", {}, {typedTensor<bool>({3}, {true, false, true}), x, x}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Cast

ir::Attributes castTo(DataType t) {
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return a;
}

TEST(CastOp, HandChecked) {
  auto x = floatTensor({6}, {-2.7f, -0.5f, 0.f, 0.5f, 2.7f, 300.f});
  EXPECT_EQ(values<int32_t>(*runOp("Cast", castTo(DataType::kINT32), {x})[0]), (std::vector<int32_t>{-2, 0, 0, 0, 2, 300}));
  EXPECT_EQ(values<int64_t>(*runOp("Cast", castTo(DataType::kINT64), {x})[0]), (std::vector<int64_t>{-2, 0, 0, 0, 2, 300}));
  EXPECT_EQ(boolValues(*runOp("Cast", castTo(DataType::kBOOL), {x})[0]),
            (std::vector<bool>{true, true, false, true, true, true}));
  auto b = typedTensor<bool>({2}, {true, false});
  expectCloseValues(*runOp("Cast", castTo(DataType::kFLOAT), {b})[0], {1, 0});
  EXPECT_EQ(values<int64_t>(*runOp("Cast", castTo(DataType::kINT64), {b})[0]), (std::vector<int64_t>{1, 0}));
  // int -> int wraps, int -> float exact
  auto i = typedTensor<int32_t>({3}, {300, -1, 65537});
  EXPECT_EQ(values<uint8_t>(*runOp("Cast", castTo(DataType::kUINT8), {i})[0]), (std::vector<uint8_t>{44, 255, 1}));
  EXPECT_EQ(values<int16_t>(*runOp("Cast", castTo(DataType::kINT16), {i})[0]), (std::vector<int16_t>{300, -1, 1}));
  expectCloseValues(*runOp("Cast", castTo(DataType::kDOUBLE), {i})[0], {300, -1, 65537});
  // float -> half/bf16 round to nearest even
  auto h = runOp("Cast", castTo(DataType::kHALF), {floatTensor({3}, {1.f + 1.f / 2048, 1.f + 3.f / 2048, 65520.f})});
  EXPECT_EQ(values<uint16_t>(*h[0]), (std::vector<uint16_t>{0x3C00, 0x3C02, 0x7C00}));
  auto bf = runOp("Cast", castTo(DataType::kBF16), {floatTensor({2}, {1.f + 1.f / 256, 1.f + 3.f / 256})});
  EXPECT_EQ(values<uint16_t>(*bf[0]), (std::vector<uint16_t>{0x3F80, 0x3F82}));
  // half -> float exact, double -> half single rounding (1 + 2^-11 + 2^-40 rounds up)
  auto hf = runOp("Cast", castTo(DataType::kFLOAT), {h[0]});
  EXPECT_EQ(values<float>(*hf[0]), (std::vector<float>{1, 1.f + 2.f / 1024, std::numeric_limits<float>::infinity()}));
  auto d = typedTensor<double>({1}, {1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)});
  EXPECT_EQ(values<uint16_t>(*runOp("Cast", castTo(DataType::kHALF), {d})[0])[0], 0x3C01);
  // NaN and out of range to int: no UB (NaN -> 0, saturation)
  auto nan = makeTyped(DataType::kFLOAT, {3}, {kNaN, 1e20, -1e20});
  EXPECT_EQ(values<int32_t>(*runOp("Cast", castTo(DataType::kINT32), {nan})[0]),
            (std::vector<int32_t>{0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(boolValues(*runOp("Cast", castTo(DataType::kBOOL), {nan})[0]), (std::vector<bool>{true, true, true}));
}

TEST(CastOp, AllTypePairsMatchReference) {
  const std::vector<DataType> all = {DataType::kFLOAT,  DataType::kHALF,   DataType::kBF16,   DataType::kDOUBLE,
                                     DataType::kINT8,   DataType::kINT16,  DataType::kINT32,  DataType::kINT64,
                                     DataType::kUINT8,  DataType::kUINT16, DataType::kUINT32, DataType::kUINT64,
                                     DataType::kBOOL};
  // values representable in every type (0..100 integers and a few halves for float sources)
  for (DataType from : all)
    for (DataType to : all) {
      SCOPED_TRACE(std::string(dataTypeName(from)) + " -> " + dataTypeName(to));
      std::vector<double> v = {0, 1, 2, 7, 100, 64, 3, 1};
      if (from == DataType::kBOOL) v = {0, 1, 1, 0, 1, 0, 0, 1};
      if (isFloatingType(from)) v = {0, 1.5, 2.75, 7.25, 100.5, 64, 3.5, 1};
      auto x = makeTyped(from, {2, 4}, v);
      auto y = runOp("Cast", castTo(to), {x});
      ASSERT_EQ(y[0]->dtype, to);
      std::vector<double> want;
      for (double e : asDoubles(*x)) want.push_back(to == DataType::kBOOL ? double(e != 0)
                                                    : isFloatingType(to)   ? e
                                                                           : std::trunc(e));
      expectClose(*y[0], *makeTyped(to, {2, 4}, want), rtolFor(to), 0);
    }
  EXPECT_EQ(runOp("Cast", castTo(DataType::kHALF), {floatTensor({0}, {})})[0]->numel(), 0);
}

TEST(CastOp, Errors) {
  auto x = floatTensor({1}, {1});
  EXPECT_THROW(runOp("Cast", {}, {x}), Error);
  ir::Attributes bad;
  bad.setInt("to", 999);
  EXPECT_THROW(runOp("Cast", bad, {x}), Error);
  bad.setInt("to", -1);
  EXPECT_THROW(runOp("Cast", bad, {x}), Error);
}

}  // namespace
}  // namespace kiln::test
