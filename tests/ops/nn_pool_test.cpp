// Pooling: MaxPool (+Indices, int8/uint8), AveragePool (count_include_pad), LpPool and the global pools:
// hand-checked values, naive comparisons over many shapes (strides, pads, dilations, ceil_mode, auto_pad).
#include <random>

#include "test_util.h"

namespace kiln::test {
namespace {

struct PoolCfg {
  ir::Shape x;
  std::vector<int64_t> k, s, d, pb, pe;
  bool ceil{false};
};

enum class Kind { kMAX, kAVG_EXCL, kAVG_INCL, kLP2, kLP3 };

//! Naive pooling; `idx` receives MaxPool's flat row-major indices.
std::vector<double> naivePool(const std::vector<double>& X, const PoolCfg& c, Kind kind, ir::Shape& ys,
                              std::vector<int64_t>* idx = nullptr) {
  const size_t n = c.k.size();
  ys = {c.x[0], c.x[1]};
  for (size_t i = 0; i < n; ++i) {
    int64_t eff = c.d[i] * (c.k[i] - 1) + 1;
    int64_t span = c.x[2 + i] + c.pb[i] + c.pe[i] - eff;
    int64_t o = (c.ceil ? (span + c.s[i] - 1) / c.s[i] : span / c.s[i]) + 1;
    if (c.ceil && (o - 1) * c.s[i] >= c.x[2 + i] + c.pb[i]) --o;
    ys.push_back(o);
  }
  ir::Shape ks(c.k.begin(), c.k.end());
  int64_t S = 1;
  for (size_t i = 0; i < n; ++i) S *= c.x[2 + i];
  std::vector<double> Y(static_cast<size_t>(ir::numElements(ys)));
  if (idx) idx->assign(Y.size(), -1);
  for (size_t yi = 0; yi < Y.size(); ++yi) {
    auto yc = coords(static_cast<int64_t>(yi), ys);
    double best = -INFINITY, sum = 0;
    int64_t bestI = -1, cntIn = 0, cntPad = 0;
    for (int64_t ki = 0; ki < ir::numElements(ks); ++ki) {
      auto kc = coords(ki, ks);
      bool inside = true, inPadded = true;
      int64_t flat = 0;
      for (size_t i = 0; i < n; ++i) {
        int64_t p = yc[2 + i] * c.s[i] - c.pb[i] + kc[i] * c.d[i];
        if (p < 0 || p >= c.x[2 + i]) inside = false;
        if (p < -c.pb[i] || p >= c.x[2 + i] + c.pe[i]) inPadded = false;
        flat = flat * c.x[2 + i] + p;
      }
      if (inPadded) ++cntPad;
      if (!inside) continue;
      ++cntIn;
      int64_t lin = (yc[0] * c.x[1] + yc[1]) * S + flat;
      double v = X[static_cast<size_t>(lin)];
      if (v > best) best = v, bestI = lin;
      sum += kind == Kind::kLP2 ? v * v : (kind == Kind::kLP3 ? std::pow(std::fabs(v), 3) : v);
    }
    double r = 0;
    switch (kind) {
      case Kind::kMAX: r = best; break;
      case Kind::kAVG_EXCL: r = sum / static_cast<double>(cntIn); break;
      case Kind::kAVG_INCL: r = sum / static_cast<double>(cntPad); break;
      case Kind::kLP2: r = std::sqrt(sum); break;
      case Kind::kLP3: r = std::cbrt(sum); break;
    }
    Y[yi] = r;
    if (idx) (*idx)[yi] = bestI;
  }
  return Y;
}

ir::Attributes poolAttrs(const PoolCfg& c) {
  ir::Attributes a;
  a.setInts("kernel_shape", c.k);
  a.setInts("strides", c.s);
  a.setInts("dilations", c.d);
  std::vector<int64_t> pads = c.pb;
  pads.insert(pads.end(), c.pe.begin(), c.pe.end());
  a.setInts("pads", pads);
  if (c.ceil) a.setInt("ceil_mode", 1);
  return a;
}

TEST(PoolOp, HandChecked) {
  auto x = floatTensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  ir::Attributes a;
  a.setInts("kernel_shape", {2, 2});
  auto y = runOp("MaxPool", a, {x}, 2);
  expectValues(*y[0], {1, 1, 2, 2}, {5, 6, 8, 9}, 0);
  expectValues(*y[1], {1, 1, 2, 2}, {4, 5, 7, 8}, 0);
  EXPECT_EQ(y[1]->dtype, DataType::kINT64);
  y = runOp("AveragePool", a, {x});
  expectValues(*y[0], {1, 1, 2, 2}, {3, 4, 6, 7}, 0);
  // padding 1, stride 2: corner windows hold one input element
  a.setInts("pads", {1, 1, 1, 1});
  a.setInts("strides", {2, 2});
  y = runOp("AveragePool", a, {x});
  expectValues(*y[0], {1, 1, 2, 2}, {1, 2.5, 5.5, 7}, 0);
  a.setInt("count_include_pad", 1);
  y = runOp("AveragePool", a, {x});
  expectValues(*y[0], {1, 1, 2, 2}, {0.25, 1.25, 2.75, 7}, 0);
  // ceil mode: 3 wide, kernel 2, stride 2 -> 2 outputs, the last window holds one element
  ir::Attributes c;
  c.setInts("kernel_shape", {2});
  c.setInts("strides", {2});
  c.setInt("ceil_mode", 1);
  y = runOp("AveragePool", c, {floatTensor({1, 1, 3}, {1, 2, 4})});
  expectValues(*y[0], {1, 1, 2}, {1.5, 4}, 0);
  // storage_order 1: column-major indices
  ir::Attributes so;
  so.setInts("kernel_shape", {2, 2});
  so.setInt("storage_order", 1);
  y = runOp("MaxPool", so, {x}, 2);
  expectValues(*y[1], {1, 1, 2, 2}, {4, 7, 5, 8}, 0);
  // LpPool p=1 over 1-D
  ir::Attributes lp;
  lp.setInts("kernel_shape", {2});
  lp.setInt("p", 1);
  y = runOp("LpPool", lp, {floatTensor({1, 1, 3}, {1, -2, 3})});
  expectValues(*y[0], {1, 1, 2}, {3, 5}, 0);
}

TEST(PoolOp, NaiveComparisonManyShapes) {
  std::mt19937 rng(11);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 200; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 3);
    PoolCfg c;
    c.x = {r(1, 2), r(1, 3)};
    for (size_t i = 0; i < n; ++i) {
      c.k.push_back(r(1, 3));
      c.s.push_back(r(1, 3));
      c.d.push_back(r(1, 2));
      c.pb.push_back(r(0, c.k[i] - 1));
      c.pe.push_back(r(0, c.k[i] - 1));
      int64_t eff = c.d[i] * (c.k[i] - 1) + 1;
      c.x.push_back(std::max<int64_t>(1, eff - c.pb[i] - c.pe[i]) + r(0, n == 3 ? 3 : 5));
    }
    c.ceil = it % 4 == 1;
    Kind kind = static_cast<Kind>(it % 5);
    auto x = randomTensor(c.x, static_cast<uint32_t>(300 + it));
    ir::Attributes a = poolAttrs(c);
    std::string op = "MaxPool";
    if (kind == Kind::kAVG_EXCL || kind == Kind::kAVG_INCL) {
      op = "AveragePool";
      a.setInt("count_include_pad", kind == Kind::kAVG_INCL ? 1 : 0);
    } else if (kind == Kind::kLP2 || kind == Kind::kLP3) {
      op = "LpPool";
      a.setInt("p", kind == Kind::kLP2 ? 2 : 3);
    }
    ir::Shape ys;
    std::vector<int64_t> idx;
    auto exp = naivePool(asDoubles(*x), c, kind, ys, &idx);
    auto y = runOp(op, a, {x}, op == "MaxPool" ? 2 : 1);
    SCOPED_TRACE(op + " case " + std::to_string(it) + " x " + ir::shapeToString(c.x));
    expectValues(*y[0], ys, exp, 1e-6);
    if (op == "MaxPool") {
      std::vector<double> ie(idx.begin(), idx.end());
      expectValues(*y[1], ys, ie, 0);
    }
  }
}

TEST(PoolOp, AutoPadSameAndValid) {
  std::mt19937 rng(12);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 60; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 2);
    std::string mode = it % 3 == 0 ? "SAME_UPPER" : (it % 3 == 1 ? "SAME_LOWER" : "VALID");
    PoolCfg c;
    c.x = {1, 2};
    for (size_t i = 0; i < n; ++i) {
      c.k.push_back(r(1, 3));
      c.s.push_back(r(1, 3));
      c.d.push_back(1);
      c.x.push_back(c.k[i] + r(0, 5));
      if (mode == "VALID") {
        c.pb.push_back(0), c.pe.push_back(0);
      } else {
        int64_t in = c.x.back(), out = (in + c.s[i] - 1) / c.s[i];
        int64_t total = std::max<int64_t>(0, (out - 1) * c.s[i] + c.k[i] - in);
        c.pb.push_back(mode == "SAME_UPPER" ? total / 2 : total - total / 2);
        c.pe.push_back(total - c.pb.back());
      }
    }
    for (Kind kind : {Kind::kMAX, Kind::kAVG_EXCL, Kind::kAVG_INCL}) {
      auto x = randomTensor(c.x, static_cast<uint32_t>(700 + it));
      ir::Attributes a;
      a.setInts("kernel_shape", c.k);
      a.setInts("strides", c.s);
      a.setString("auto_pad", mode);
      if (kind == Kind::kAVG_INCL) a.setInt("count_include_pad", 1);
      ir::Shape ys;
      auto exp = naivePool(asDoubles(*x), c, kind, ys);
      auto y = runOp(kind == Kind::kMAX ? "MaxPool" : "AveragePool", a, {x});
      SCOPED_TRACE(mode + " case " + std::to_string(it));
      expectValues(*y[0], ys, exp, 1e-6);
    }
  }
}

TEST(PoolOp, DtypesIntMaxAndZeroSize) {
  ir::Attributes a;
  a.setInts("kernel_shape", {2});
  auto y = runOp("MaxPool", a, {typedTensor<int8_t>({1, 1, 4}, {-5, -7, 3, -128})});
  EXPECT_EQ(y[0]->dtype, DataType::kINT8);
  EXPECT_EQ(values<int8_t>(*y[0]), (std::vector<int8_t>{-5, 3, 3}));
  y = runOp("MaxPool", a, {typedTensor<uint8_t>({1, 1, 3}, {200, 7, 255})});
  EXPECT_EQ(values<uint8_t>(*y[0]), (std::vector<uint8_t>{200, 255}));
  for (DataType dt : {DataType::kHALF, DataType::kBF16, DataType::kDOUBLE}) {
    std::vector<float> f{1, 2, 3, 4};
    TensorPtr x;
    if (dt == DataType::kHALF) x = typedTensor<Half>({1, 1, 4}, {Half(1), Half(2), Half(3), Half(4)});
    if (dt == DataType::kBF16) x = typedTensor<BFloat16>({1, 1, 4}, {BFloat16(1), BFloat16(2), BFloat16(3), BFloat16(4)});
    if (dt == DataType::kDOUBLE) x = typedTensor<double>({1, 1, 4}, {1, 2, 3, 4});
    y = runOp("AveragePool", a, {x});
    EXPECT_EQ(y[0]->dtype, dt);
    expectValues(*y[0], {1, 1, 3}, {1.5, 2.5, 3.5}, 0);
  }
  y = runOp("MaxPool", a, {randomTensor({0, 3, 4}, 1)});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[0,3,3]");
  y = runOp("GlobalAveragePool", {}, {randomTensor({2, 0, 4, 4}, 1)});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[2,0,1,1]");
}

TEST(PoolOp, GlobalPools) {
  for (int it = 0; it < 12; ++it) {
    ir::Shape xs{2, 3};
    for (int i = 0; i < 1 + it % 3; ++i) xs.push_back(1 + (it + i) % 4);
    auto x = randomTensor(xs, static_cast<uint32_t>(40 + it));
    auto xv = asDoubles(*x);
    int64_t S = ir::numElements(xs) / 6;
    std::vector<double> mx(6, -INFINITY), avg(6, 0), lp(6, 0);
    for (int64_t nc = 0; nc < 6; ++nc)
      for (int64_t i = 0; i < S; ++i) {
        double v = xv[static_cast<size_t>(nc * S + i)];
        mx[static_cast<size_t>(nc)] = std::max(mx[static_cast<size_t>(nc)], v);
        avg[static_cast<size_t>(nc)] += v / static_cast<double>(S);
        lp[static_cast<size_t>(nc)] += v * v;
      }
    for (double& v : lp) v = std::sqrt(v);
    ir::Shape ys{2, 3};
    ys.resize(xs.size(), 1);
    expectValues(*runOp("GlobalMaxPool", {}, {x})[0], ys, mx, 1e-6);
    expectValues(*runOp("GlobalAveragePool", {}, {x})[0], ys, avg, 1e-6);
    expectValues(*runOp("GlobalLpPool", {}, {x})[0], ys, lp, 1e-6);
  }
}

TEST(PoolOp, Errors) {
  auto x = randomTensor({1, 2, 4, 4}, 1);
  EXPECT_THROW(runOp("MaxPool", {}, {x}), Error);  // kernel_shape required
  ir::Attributes a;
  a.setInts("kernel_shape", {5, 5});
  EXPECT_THROW(runOp("MaxPool", a, {x}), Error);  // window > input
  a.setInts("kernel_shape", {2});
  EXPECT_THROW(runOp("AveragePool", a, {x}), Error);  // rank mismatch
  a.setInts("kernel_shape", {2, 2});
  a.setInts("strides", {0, 1});
  EXPECT_THROW(runOp("MaxPool", a, {x}), Error);
  ir::Attributes b;
  b.setInts("kernel_shape", {2});
  EXPECT_THROW(runOp("AveragePool", b, {typedTensor<int8_t>({1, 1, 3}, {1, 2, 3})}), Error);
  EXPECT_THROW(runOp("MaxPool", b, {randomTensor({4}, 1)}), Error);
  EXPECT_THROW(runOp("GlobalAveragePool", {}, {randomTensor({4}, 1)}), Error);
}

}  // namespace
}  // namespace kiln::test
