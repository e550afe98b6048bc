// Conv and ConvTranspose: hand-checked values, comparison with naive formulations over many shapes
// (strides, pads, dilations, groups, 1-D/2-D/3-D, SAME modes, ceil_mode), dtypes and error cases.
#include <random>

#include "test_util.h"

namespace kiln::test {
namespace {

TensorPtr asType(const TensorPtr& t, DataType dt) {
  std::vector<float> f(static_cast<size_t>(t->numel()));
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(t->floatAt(static_cast<int64_t>(i)));
  switch (dt) {
    case DataType::kHALF: {
      std::vector<Half> h(f.begin(), f.end());
      for (size_t i = 0; i < f.size(); ++i) h[i] = Half(f[i]);
      return typedTensor(t->shape, h);
    }
    case DataType::kBF16: {
      std::vector<BFloat16> h(f.size());
      for (size_t i = 0; i < f.size(); ++i) h[i] = BFloat16(f[i]);
      return typedTensor(t->shape, h);
    }
    case DataType::kDOUBLE: return typedTensor(t->shape, std::vector<double>(f.begin(), f.end()));
    default: return typedTensor(t->shape, f);
  }
}

struct Cfg {
  ir::Shape x, w;
  std::vector<int64_t> s, d, pb, pe;
  int64_t group{1};
  bool bias{false};
};

//! Naive convolution: y[n, m, o] = B[m] + sum_{ic, k} x[n, g*cpg+ic, o*s - pb + k*d] * w[m, ic, k].
std::vector<double> naiveConv(const std::vector<double>& X, const std::vector<double>& W, const std::vector<double>* B,
                              const Cfg& c, bool ceil, ir::Shape& ys) {
  const size_t n = c.x.size() - 2;
  const int64_t M = c.w[0], cpg = c.w[1], mpg = M / c.group;
  ys = {c.x[0], M};
  for (size_t i = 0; i < n; ++i) {
    int64_t eff = c.d[i] * (c.w[2 + i] - 1) + 1;
    int64_t span = c.x[2 + i] + c.pb[i] + c.pe[i] - eff;
    int64_t o = (ceil ? (span + c.s[i] - 1) / c.s[i] : span / c.s[i]) + 1;
    if (ceil && (o - 1) * c.s[i] >= c.x[2 + i] + c.pb[i]) --o;
    ys.push_back(o);
  }
  ir::Shape ks(c.w.begin() + 2, c.w.end());
  int64_t total = ir::numElements(ys), kTotal = ir::numElements(ks);
  std::vector<double> Y(static_cast<size_t>(total));
  for (int64_t yi = 0; yi < total; ++yi) {
    auto yc = coords(yi, ys);
    int64_t m = yc[1], g = m / mpg;
    double acc = B ? (*B)[static_cast<size_t>(m)] : 0.0;
    for (int64_t ic = 0; ic < cpg; ++ic)
      for (int64_t ki = 0; ki < kTotal; ++ki) {
        auto kc = coords(ki, ks);
        std::vector<int64_t> xc{yc[0], g * cpg + ic};
        bool inside = true;
        for (size_t i = 0; i < n; ++i) {
          int64_t p = yc[2 + i] * c.s[i] - c.pb[i] + kc[i] * c.d[i];
          if (p < 0 || p >= c.x[2 + i]) inside = false;
          xc.push_back(p);
        }
        if (!inside) continue;
        std::vector<int64_t> wc{m, ic};
        wc.insert(wc.end(), kc.begin(), kc.end());
        acc += X[static_cast<size_t>(linear(xc, c.x))] * W[static_cast<size_t>(linear(wc, c.w))];
      }
    Y[static_cast<size_t>(yi)] = acc;
  }
  return Y;
}

//! Naive transposed convolution (scatter form): y[n, g*mpg+oc, i*s - pb + k*d] += x[n, c, i] * w[c, oc, k].
std::vector<double> naiveConvTranspose(const std::vector<double>& X, const std::vector<double>& W,
                                       const std::vector<double>* B, const Cfg& c, const std::vector<int64_t>& outSp,
                                       ir::Shape& ys) {
  const size_t n = c.x.size() - 2;
  const int64_t C = c.x[1], mpg = c.w[1], M = mpg * c.group, cpg = C / c.group;
  ys = {c.x[0], M};
  ys.insert(ys.end(), outSp.begin(), outSp.end());
  std::vector<double> Y(static_cast<size_t>(ir::numElements(ys)), 0.0);
  for (int64_t yi = 0; yi < static_cast<int64_t>(Y.size()); ++yi)
    Y[static_cast<size_t>(yi)] = B ? (*B)[static_cast<size_t>(coords(yi, ys)[1])] : 0.0;
  ir::Shape ks(c.w.begin() + 2, c.w.end());
  for (int64_t xi = 0; xi < ir::numElements(c.x); ++xi) {
    auto xc = coords(xi, c.x);
    int64_t ch = xc[1], g = ch / cpg;
    for (int64_t oc = 0; oc < mpg; ++oc)
      for (int64_t ki = 0; ki < ir::numElements(ks); ++ki) {
        auto kc = coords(ki, ks);
        std::vector<int64_t> yc{xc[0], g * mpg + oc};
        bool inside = true;
        for (size_t i = 0; i < n; ++i) {
          int64_t p = xc[2 + i] * c.s[i] - c.pb[i] + kc[i] * c.d[i];
          if (p < 0 || p >= ys[2 + i]) inside = false;
          yc.push_back(p);
        }
        if (!inside) continue;
        std::vector<int64_t> wc{ch, oc};
        wc.insert(wc.end(), kc.begin(), kc.end());
        Y[static_cast<size_t>(linear(yc, ys))] += X[static_cast<size_t>(xi)] * W[static_cast<size_t>(linear(wc, c.w))];
      }
  }
  return Y;
}

ir::Attributes convAttrs(const Cfg& c, bool withKernelShape) {
  ir::Attributes a;
  a.setInts("strides", c.s);
  a.setInts("dilations", c.d);
  std::vector<int64_t> pads = c.pb;
  pads.insert(pads.end(), c.pe.begin(), c.pe.end());
  a.setInts("pads", pads);
  a.setInt("group", c.group);
  if (withKernelShape) a.setInts("kernel_shape", std::vector<int64_t>(c.w.begin() + 2, c.w.end()));
  return a;
}

std::vector<TensorPtr> makeInputs(const Cfg& c, int64_t biasCount, uint32_t seed) {
  std::vector<TensorPtr> in{randomTensor(c.x, seed), randomTensor(c.w, seed + 1)};
  if (c.bias) in.push_back(randomTensor({biasCount}, seed + 2));
  return in;
}

// ------------------------------------------------------------------------------------------------------------

TEST(ConvOp, HandChecked2D) {
  auto x = floatTensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = floatTensor({1, 1, 2, 2}, {1, 1, 1, 1});
  auto y = runOp("Conv", {}, {x, w});
  expectValues(*y[0], {1, 1, 2, 2}, {12, 16, 24, 28}, 0);
  // with bias, pads 1 and stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1)
  ir::Attributes a;
  a.setInts("pads", {1, 1, 1, 1});
  a.setInts("strides", {2, 2});
  y = runOp("Conv", a, {x, w, floatTensor({1}, {0.5f})});
  expectValues(*y[0], {1, 1, 2, 2}, {1.5, 5.5, 11.5, 28.5}, 0);
}

TEST(ConvOp, HandChecked1DDilatedGrouped) {
  // x: 2 channels of length 5, group 2, dilation 2, kernel 2: y[c][o] = w0*x[o] + w1*x[o+2]
  auto x = floatTensor({1, 2, 5}, {1, 2, 3, 4, 5, 10, 20, 30, 40, 50});
  auto w = floatTensor({2, 1, 2}, {1, -1, 2, 1});
  ir::Attributes a;
  a.setInt("group", 2);
  a.setInts("dilations", {2});
  auto y = runOp("Conv", a, {x, w});
  expectValues(*y[0], {1, 2, 3}, {-2, -2, -2, 50, 80, 110}, 0);
}

TEST(ConvOp, NaiveComparisonManyShapes) {
  std::mt19937 rng(42);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int cases = 0;
  for (int it = 0; it < 150; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 3);
    Cfg c;
    int64_t groupChoice = r(0, 2);
    int64_t cpg = r(1, 3), mpg = r(1, 3);
    c.group = groupChoice == 0 ? 1 : (groupChoice == 1 ? 2 : r(1, 4));
    if (it % 7 == 0) cpg = 1, mpg = 1;  // depthwise
    int64_t C = cpg * c.group, M = mpg * c.group;
    c.x = {r(1, 2), C};
    c.w = {M, cpg};
    for (size_t i = 0; i < n; ++i) {
      int64_t k = r(1, 3);
      c.s.push_back(r(1, 3));
      c.d.push_back(r(1, 2));
      c.pb.push_back(r(0, 2));
      c.pe.push_back(r(0, 2));
      int64_t eff = c.d[i] * (k - 1) + 1;
      int64_t minIn = std::max<int64_t>(1, eff - c.pb[i] - c.pe[i]);
      c.x.push_back(minIn + r(0, n == 3 ? 3 : 6));
      c.w.push_back(k);
    }
    c.bias = it % 2 == 0;
    bool ceil = it % 5 == 0;
    auto in = makeInputs(c, M, static_cast<uint32_t>(100 + it));
    ir::Attributes a = convAttrs(c, it % 3 == 0);
    if (ceil) a.setInt("ceil_mode", 1);
    auto bias = c.bias ? asDoubles(*in[2]) : std::vector<double>{};
    ir::Shape ys;
    auto exp = naiveConv(asDoubles(*in[0]), asDoubles(*in[1]), c.bias ? &bias : nullptr, c, ceil, ys);
    auto y = runOp("Conv", a, in);
    SCOPED_TRACE("case " + std::to_string(it) + " x " + ir::shapeToString(c.x) + " w " + ir::shapeToString(c.w));
    expectValues(*y[0], ys, exp, 1e-5);
    ++cases;
  }
  EXPECT_EQ(cases, 150);
}

TEST(ConvOp, SameAndValidAutoPad) {
  std::mt19937 rng(7);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 60; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 3);
    const char* mode = it % 3 == 0 ? "SAME_UPPER" : (it % 3 == 1 ? "SAME_LOWER" : "VALID");
    Cfg c;
    c.x = {1, 2};
    c.w = {3, 2};
    for (size_t i = 0; i < n; ++i) {
      int64_t k = r(1, 4);
      c.s.push_back(r(1, 3));
      c.d.push_back(r(1, 2));
      int64_t eff = c.d[i] * (k - 1) + 1;
      c.x.push_back(eff + r(0, 5));
      c.w.push_back(k);
      // independent formulas: SAME: out = ceil(in / s), total = max(0, (out-1)*s + eff - in)
      if (std::string(mode) == "VALID") {
        c.pb.push_back(0);
        c.pe.push_back(0);
      } else {
        int64_t in = c.x.back(), out = (in + c.s[i] - 1) / c.s[i];
        int64_t total = std::max<int64_t>(0, (out - 1) * c.s[i] + eff - in);
        int64_t small = total / 2, big = total - small;
        c.pb.push_back(std::string(mode) == "SAME_UPPER" ? small : big);
        c.pe.push_back(std::string(mode) == "SAME_UPPER" ? big : small);
      }
    }
    auto in = makeInputs(c, 3, static_cast<uint32_t>(500 + it));
    ir::Attributes a;
    a.setString("auto_pad", mode);
    a.setInts("strides", c.s);
    a.setInts("dilations", c.d);
    a.setInts("pads", std::vector<int64_t>(2 * n, 7));  // ignored by auto_pad
    ir::Shape ys;
    auto exp = naiveConv(asDoubles(*in[0]), asDoubles(*in[1]), nullptr, c, false, ys);
    if (std::string(mode) != "VALID") {
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(ys[2 + i], (c.x[2 + i] + c.s[i] - 1) / c.s[i]);
    }
    auto y = runOp("Conv", a, in);
    SCOPED_TRACE(std::string(mode) + " case " + std::to_string(it));
    expectValues(*y[0], ys, exp, 1e-5);
  }
}

TEST(ConvOp, DtypesAndZeroSize) {
  Cfg c{{2, 4, 5, 6}, {6, 2, 3, 2}, {2, 1}, {1, 2}, {1, 0}, {1, 2}, 2, true};
  auto in = makeInputs(c, 6, 9);
  auto bias = asDoubles(*in[2]);
  ir::Shape ys;
  auto exp = naiveConv(asDoubles(*in[0]), asDoubles(*in[1]), &bias, c, false, ys);
  for (DataType dt : {DataType::kDOUBLE, DataType::kHALF, DataType::kBF16}) {
    std::vector<TensorPtr> typed;
    for (auto& t : in) typed.push_back(asType(t, dt));
    // the reference computes on the rounded inputs
    auto b2 = asDoubles(*typed[2]);
    auto exp2 = naiveConv(asDoubles(*typed[0]), asDoubles(*typed[1]), &b2, c, false, ys);
    auto y = runOp("Conv", convAttrs(c, false), typed);
    EXPECT_EQ(y[0]->dtype, dt);
    expectValues(*y[0], ys, exp2, dt == DataType::kDOUBLE ? 1e-12 : (dt == DataType::kHALF ? 2e-3 : 1e-2));
  }
  // zero batch
  auto y = runOp("Conv", {}, {randomTensor({0, 2, 4, 4}, 1), randomTensor({3, 2, 3, 3}, 2)});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[0,3,2,2]");
  // zero input channels: output is the bias
  y = runOp("Conv", {}, {randomTensor({1, 0, 3}, 1), randomTensor({2, 0, 2}, 2), floatTensor({2}, {1, 2})});
  expectValues(*y[0], {1, 2, 2}, {1, 1, 2, 2}, 0);
}

TEST(ConvOp, Errors) {
  auto x = randomTensor({1, 4, 5, 5}, 1);
  EXPECT_THROW(runOp("Conv", {}, {x, randomTensor({2, 3, 3, 3}, 2)}), Error);  // channel mismatch
  ir::Attributes g3;
  g3.setInt("group", 3);
  EXPECT_THROW(runOp("Conv", g3, {x, randomTensor({3, 2, 3, 3}, 2)}), Error);  // 4 channels, 3 groups
  EXPECT_THROW(runOp("Conv", {}, {x, randomTensor({2, 4, 3}, 2)}), Error);      // W rank
  EXPECT_THROW(runOp("Conv", {}, {x, randomTensor({2, 4, 7, 7}, 2)}), Error);   // window > input
  EXPECT_THROW(runOp("Conv", {}, {x, randomTensor({2, 4, 3, 3}, 2), randomTensor({3}, 3)}), Error);  // bias
  ir::Attributes bad;
  bad.setInts("strides", {1});
  EXPECT_THROW(runOp("Conv", bad, {x, randomTensor({2, 4, 3, 3}, 2)}), Error);
  ir::Attributes bad2;
  bad2.setString("auto_pad", "FOO");
  EXPECT_THROW(runOp("Conv", bad2, {x, randomTensor({2, 4, 3, 3}, 2)}), Error);
  ir::Attributes ks;
  ks.setInts("kernel_shape", {2, 2});
  EXPECT_THROW(runOp("Conv", ks, {x, randomTensor({2, 4, 3, 3}, 2)}), Error);
  EXPECT_THROW(runOp("Conv", {}, {typedTensor<int32_t>({1, 1, 2, 2}, {1, 2, 3, 4}),
                                  typedTensor<int32_t>({1, 1, 1, 1}, {1})}),
               Error);
}

// ------------------------------------------------------------------------------------------------------------

TEST(DeconvOp, HandChecked1D) {
  auto x = floatTensor({1, 1, 2}, {1, 2});
  auto w = floatTensor({1, 1, 3}, {1, 1, 1});
  ir::Attributes a;
  a.setInts("strides", {2});
  auto y = runOp("ConvTranspose", a, {x, w});
  expectValues(*y[0], {1, 1, 5}, {1, 1, 3, 2, 2}, 0);
  // pads crop the output; output_padding adds at the end
  a.setInts("pads", {1, 0});
  a.setInts("output_padding", {1});
  y = runOp("ConvTranspose", a, {x, w, floatTensor({1}, {10})});
  expectValues(*y[0], {1, 1, 5}, {11, 13, 12, 12, 10}, 0);
}

TEST(DeconvOp, HandChecked2DGroups) {
  // 2 input channels, group 2, 1 output channel per group: each channel upsampled by its own 2x2 kernel
  auto x = floatTensor({1, 2, 1, 1}, {2, 3});
  auto w = floatTensor({2, 1, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1});
  ir::Attributes a;
  a.setInt("group", 2);
  auto y = runOp("ConvTranspose", a, {x, w});
  expectValues(*y[0], {1, 2, 2, 2}, {2, 4, 6, 8, 3, 0, 0, 3}, 0);
}

TEST(DeconvOp, NaiveComparisonManyShapes) {
  std::mt19937 rng(99);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 120; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 3);
    Cfg c;
    c.group = r(1, 3);
    int64_t cpg = r(1, 2), mpg = r(1, 3);
    c.x = {r(1, 2), cpg * c.group};
    c.w = {cpg * c.group, mpg};
    std::vector<int64_t> outPad, outSp;
    for (size_t i = 0; i < n; ++i) {
      int64_t k = r(1, 3);
      c.s.push_back(r(1, 3));
      c.d.push_back(r(1, 2));
      c.pb.push_back(r(0, 1));
      c.pe.push_back(r(0, 1));
      outPad.push_back(r(0, static_cast<int>(std::max(c.s[i], c.d[i]) - 1)));
      c.x.push_back(r(1, n == 3 ? 3 : 5));
      c.w.push_back(k);
      outSp.push_back(c.s[i] * (c.x.back() - 1) + outPad[i] + c.d[i] * (k - 1) + 1 - c.pb[i] - c.pe[i]);
    }
    c.bias = it % 2 == 1;
    auto in = makeInputs(c, mpg * c.group, static_cast<uint32_t>(1000 + it));
    ir::Attributes a = convAttrs(c, it % 2 == 0);
    a.setInts("output_padding", outPad);
    auto bias = c.bias ? asDoubles(*in[2]) : std::vector<double>{};
    ir::Shape ys;
    auto exp = naiveConvTranspose(asDoubles(*in[0]), asDoubles(*in[1]), c.bias ? &bias : nullptr, c, outSp, ys);
    auto y = runOp("ConvTranspose", a, in);
    SCOPED_TRACE("case " + std::to_string(it) + " x " + ir::shapeToString(c.x) + " w " + ir::shapeToString(c.w));
    expectValues(*y[0], ys, exp, 1e-5);
  }
}

TEST(DeconvOp, OutputShapeAndSameModes) {
  std::mt19937 rng(5);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 60; ++it) {
    const size_t n = static_cast<size_t>(1 + it % 2);
    int mode = it % 4;  // 0: output_shape NOTSET, 1: output_shape SAME_UPPER, 2: SAME_UPPER, 3: SAME_LOWER
    Cfg c;
    c.x = {1, 2};
    c.w = {2, 2};
    std::vector<int64_t> outSp, outShapeAttr;
    for (size_t i = 0; i < n; ++i) {
      int64_t k = r(1, 4);
      c.s.push_back(r(1, 3));
      c.d.push_back(r(1, 2));
      c.x.push_back(r(1, 4));
      c.w.push_back(k);
      int64_t eff = c.d[i] * (k - 1) + 1;
      int64_t natural = c.s[i] * (c.x.back() - 1) + eff;
      int64_t out = mode <= 1 ? std::max<int64_t>(1, natural - r(0, 2)) : c.x.back() * c.s[i];
      outShapeAttr.push_back(out);
      int64_t total = natural - out;  // >= 0 here... or negative for SAME with a large stride
      bool upper = mode == 1 || mode == 2;
      // Python-style floor division for negative totals
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      c.pb.push_back(upper ? half : total - half);
      c.pe.push_back(upper ? total - half : half);
      outSp.push_back(out);
    }
    auto in = makeInputs(c, 2, static_cast<uint32_t>(2000 + it));
    ir::Attributes a;
    a.setInts("strides", c.s);
    a.setInts("dilations", c.d);
    if (mode <= 1) a.setInts("output_shape", outShapeAttr);
    if (mode == 1 || mode == 2) a.setString("auto_pad", "SAME_UPPER");
    if (mode == 3) a.setString("auto_pad", "SAME_LOWER");
    ir::Shape ys;
    auto exp = naiveConvTranspose(asDoubles(*in[0]), asDoubles(*in[1]), nullptr, c, outSp, ys);
    auto y = runOp("ConvTranspose", a, in);
    SCOPED_TRACE("mode " + std::to_string(mode) + " case " + std::to_string(it));
    expectValues(*y[0], ys, exp, 1e-5);
  }
}

TEST(DeconvOp, DtypesAndErrors) {
  Cfg c{{1, 2, 3, 3}, {2, 3, 2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1, false};
  auto in = makeInputs(c, 3, 3);
  std::vector<TensorPtr> typed{asType(in[0], DataType::kHALF), asType(in[1], DataType::kHALF)};
  ir::Shape ys;
  auto exp = naiveConvTranspose(asDoubles(*typed[0]), asDoubles(*typed[1]), nullptr, c, {6, 6}, ys);
  ir::Attributes a;
  a.setInts("strides", {2, 2});
  auto y = runOp("ConvTranspose", a, typed);
  EXPECT_EQ(y[0]->dtype, DataType::kHALF);
  expectValues(*y[0], ys, exp, 2e-3);
  y = runOp("ConvTranspose", a, {randomTensor({0, 2, 3, 3}, 1), in[1]});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[0,3,6,6]");
  EXPECT_THROW(runOp("ConvTranspose", {}, {randomTensor({1, 3, 3, 3}, 1), in[1]}), Error);  // channels
  ir::Attributes big;
  big.setInts("pads", {5, 5, 5, 5});
  EXPECT_THROW(runOp("ConvTranspose", big, in), Error);  // negative output extent
  ir::Attributes op;
  op.setInts("output_padding", {1});
  EXPECT_THROW(runOp("ConvTranspose", op, in), Error);
}

}  // namespace
}  // namespace kiln::test
