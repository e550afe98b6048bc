// Softmax/LogSoftmax/Hardmax and the normalizations (BatchNormalization, InstanceNormalization,
// LayerNormalization, GroupNormalization, LpNormalization, LRN, MeanVarianceNormalization, kiln
// Normalization): hand-checked values, naive comparisons, dtypes, zero-size tensors and errors.
#include <random>

#include "test_util.h"

namespace kiln::test {
namespace {

//! Groups the elements of `shape` by their coords outside `mask` (the "key"): returns for each element its
//! group id, groups numbered in row-major order of the kept dims.
std::vector<int64_t> groupIds(const ir::Shape& shape, const std::vector<bool>& mask) {
  std::vector<int64_t> ids(static_cast<size_t>(ir::numElements(shape)));
  for (size_t i = 0; i < ids.size(); ++i) {
    auto c = coords(static_cast<int64_t>(i), shape);
    int64_t id = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!mask[d]) id = id * shape[d] + c[d];
    ids[i] = id;
  }
  return ids;
}

//! Broadcast read of a parameter (right-aligned) at the coords of element `lin` of `shape`.
double bcast(const std::vector<double>& p, const ir::Shape& ps, const ir::Shape& shape, int64_t lin) {
  auto c = coords(lin, shape);
  int64_t off = 0;
  size_t o = shape.size() - ps.size();
  for (size_t i = 0; i < ps.size(); ++i) off = off * ps[i] + (ps[i] == 1 ? 0 : c[o + i]);
  return p[static_cast<size_t>(off)];
}

//! Naive (x - mean) / sqrt(var + eps) over the groups given by ids.
std::vector<double> naiveNorm(const std::vector<double>& x, const std::vector<int64_t>& ids, double eps,
                              bool mvn = false) {
  int64_t ng = 0;
  for (int64_t id : ids) ng = std::max(ng, id + 1);
  std::vector<double> sum(static_cast<size_t>(ng)), sq(static_cast<size_t>(ng)), cnt(static_cast<size_t>(ng));
  for (size_t i = 0; i < x.size(); ++i) sum[static_cast<size_t>(ids[i])] += x[i], cnt[static_cast<size_t>(ids[i])] += 1;
  for (size_t i = 0; i < x.size(); ++i) {
    double d = x[i] - sum[static_cast<size_t>(ids[i])] / cnt[static_cast<size_t>(ids[i])];
    sq[static_cast<size_t>(ids[i])] += d * d;
  }
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t g = static_cast<size_t>(ids[i]);
    double var = sq[g] / cnt[g];
    y[i] = (x[i] - sum[g] / cnt[g]) / (mvn ? std::sqrt(var) + eps : std::sqrt(var + eps));
  }
  return y;
}

// ------------------------------------------------------------------------------------------------------------
// Softmax family

TEST(SoftmaxOp, HandChecked) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 0, 0, 0});
  double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
  expectValues(*runOp("Softmax", {}, {x})[0], {2, 3}, {e1 / s, e2 / s, e3 / s, 1. / 3, 1. / 3, 1. / 3}, 1e-6);
  expectValues(*runOp("LogSoftmax", {}, {x})[0], {2, 3},
               {1 - std::log(s), 2 - std::log(s), 3 - std::log(s), -std::log(3.), -std::log(3.), -std::log(3.)}, 1e-6);
  expectValues(*runOp("Hardmax", {}, {x})[0], {2, 3}, {0, 0, 1, 1, 0, 0}, 0);
  ir::Attributes a0;
  a0.setInt("axis", 0);
  expectValues(*runOp("Hardmax", a0, {x})[0], {2, 3}, {1, 1, 1, 0, 0, 0}, 0);
  // large values: stable
  auto big = floatTensor({2}, {1000, 1000});
  expectValues(*runOp("Softmax", {}, {big})[0], {2}, {0.5, 0.5}, 0);
}

TEST(SoftmaxOp, NaiveAllAxesAndTrtDefault) {
  for (int it = 0; it < 30; ++it) {
    ir::Shape xs;
    int rank = 1 + it % 4;
    for (int i = 0; i < rank; ++i) xs.push_back(1 + (it * 7 + i * 3) % 4);
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 1), -5, 5);
    auto xv = asDoubles(*x);
    for (int64_t axis = -rank; axis < rank; ++axis) {
      int64_t ax = axis < 0 ? axis + rank : axis;
      std::vector<bool> mask(xs.size(), false);
      mask[static_cast<size_t>(ax)] = true;
      auto ids = groupIds(xs, mask);
      std::vector<double> mx(xv.size(), -INFINITY), sum(xv.size(), 0);
      for (size_t i = 0; i < xv.size(); ++i) mx[static_cast<size_t>(ids[i])] = std::max(mx[static_cast<size_t>(ids[i])], xv[i]);
      for (size_t i = 0; i < xv.size(); ++i) sum[static_cast<size_t>(ids[i])] += std::exp(xv[i] - mx[static_cast<size_t>(ids[i])]);
      std::vector<double> sm, lsm, hm(xv.size(), 0);
      std::vector<int64_t> first(xv.size(), -1);
      for (size_t i = 0; i < xv.size(); ++i) {
        size_t g = static_cast<size_t>(ids[i]);
        sm.push_back(std::exp(xv[i] - mx[g]) / sum[g]);
        lsm.push_back(xv[i] - mx[g] - std::log(sum[g]));
        if (first[g] < 0 && xv[i] == mx[g]) first[g] = static_cast<int64_t>(i), hm[i] = 1;
      }
      ir::Attributes a;
      a.setInt("axis", axis);
      expectValues(*runOp("Softmax", a, {x})[0], xs, sm, 1e-6);
      expectValues(*runOp("LogSoftmax", a, {x})[0], xs, lsm, 1e-6);
      expectValues(*runOp("Hardmax", a, {x})[0], xs, hm, 0);
      if (ax == std::max<int64_t>(0, rank - 3)) {
        ir::Attributes t;
        t.setInt("trt_default_axis", 1);
        expectValues(*runOp("Softmax", t, {x})[0], xs, sm, 1e-6);
      }
    }
  }
}

TEST(SoftmaxOp, DtypesZeroSizeErrors) {
  auto y = runOp("Softmax", {}, {typedTensor<Half>({2}, {Half(0.f), Half(0.f)})});
  EXPECT_EQ(y[0]->dtype, DataType::kHALF);
  expectValues(*y[0], {2}, {0.5, 0.5}, 0);
  y = runOp("LogSoftmax", {}, {typedTensor<double>({2}, {1, 1})});
  expectValues(*y[0], {2}, {-std::log(2.0), -std::log(2.0)}, 1e-15);
  y = runOp("Softmax", {}, {typedTensor<BFloat16>({1}, {BFloat16(3.f)})});
  expectValues(*y[0], {1}, {1}, 0);
  y = runOp("Softmax", {}, {randomTensor({0, 3}, 1)});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[0,3]");
  ir::Attributes a;
  a.setInt("axis", 2);
  EXPECT_THROW(runOp("Softmax", a, {randomTensor({2, 3}, 1)}), Error);
  EXPECT_THROW(runOp("Softmax", {}, {typedTensor<int32_t>({2}, {1, 2})}), Error);
}

// ------------------------------------------------------------------------------------------------------------
// Normalizations

TEST(NormOp, BatchNormalization) {
  auto x = floatTensor({1, 2, 2}, {1, 2, 3, 4});
  auto y = runOp("BatchNormalization", {}, {x, floatTensor({2}, {1, 2}), floatTensor({2}, {0, 1}),
                                             floatTensor({2}, {1, 3}), floatTensor({2}, {4, 1})});
  double e = 1e-5;
  expectValues(*y[0], {1, 2, 2}, {0, 1 / std::sqrt(4 + e), 1, 1 + 2 / std::sqrt(1 + e)}, 1e-6);
  // naive over shapes and dtypes
  for (int it = 0; it < 10; ++it) {
    ir::Shape xs{1 + it % 2, 1 + it % 3};
    for (int i = 0; i < it % 3; ++i) xs.push_back(2 + i);
    int64_t C = xs[1];
    auto xx = randomTensor(xs, static_cast<uint32_t>(it));
    auto sc = randomTensor({C}, 10), b = randomTensor({C}, 11), m = randomTensor({C}, 12), v = randomTensor({C}, 13, 0.1f, 2.f);
    ir::Attributes a;
    a.setFloat("epsilon", 1e-3);
    auto xv = asDoubles(*xx);
    std::vector<double> exp;
    int64_t S = ir::numElements(xs) / (xs[0] * C);
    for (size_t i = 0; i < xv.size(); ++i) {
      size_t c = static_cast<size_t>((static_cast<int64_t>(i) / S) % C);
      exp.push_back((xv[i] - asDoubles(*m)[c]) / std::sqrt(asDoubles(*v)[c] + 1e-3) * asDoubles(*sc)[c] + asDoubles(*b)[c]);
    }
    expectValues(*runOp("BatchNormalization", a, {xx, sc, b, m, v})[0], xs, exp, 1e-5);
    auto xd = typedTensor<double>(xs, xv);
    auto yd = runOp("BatchNormalization", a, {xd, sc, b, m, v});
    EXPECT_EQ(yd[0]->dtype, DataType::kDOUBLE);
    expectValues(*yd[0], xs, exp, 1e-6);
  }
  EXPECT_THROW(runOp("BatchNormalization", {}, {x, floatTensor({3}, {1, 1, 1}), floatTensor({2}, {0, 1}),
                                                 floatTensor({2}, {1, 3}), floatTensor({2}, {4, 1})}),
               Error);
  ir::Attributes tm;
  tm.setInt("training_mode", 1);
  EXPECT_THROW(runOp("BatchNormalization", tm, {x, floatTensor({2}, {1, 2}), floatTensor({2}, {0, 1}),
                                                 floatTensor({2}, {1, 3}), floatTensor({2}, {4, 1})}),
               Error);
}

TEST(NormOp, InstanceAndGroupNormalization) {
  // hand-checked: one channel [1, 3]: mean 2, var 1
  auto y = runOp("InstanceNormalization", {}, {floatTensor({1, 1, 2}, {1, 3}), floatTensor({1}, {2}), floatTensor({1}, {1})});
  expectValues(*y[0], {1, 1, 2}, {1 - 2 / std::sqrt(1 + 1e-5), 1 + 2 / std::sqrt(1 + 1e-5)}, 1e-6);
  for (int it = 0; it < 12; ++it) {
    int64_t G = 1 + it % 3;
    ir::Shape xs{1 + it % 2, G * (1 + it % 2)};
    for (int i = 0; i < 1 + it % 3; ++i) xs.push_back(1 + (it + i) % 3);
    if (it == 11) xs[0] = 0;
    int64_t C = xs[1];
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 50));
    auto sc = randomTensor({C}, 1), b = randomTensor({C}, 2);
    auto xv = asDoubles(*x), sv = asDoubles(*sc), bv = asDoubles(*b);
    int64_t S = C == 0 || xs[0] == 0 ? 1 : ir::numElements(xs) / (xs[0] * C);
    // instance: group per (n, c); group norm: per (n, c / (C/G))
    std::vector<int64_t> idsI(xv.size()), idsG(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) {
      int64_t nc = static_cast<int64_t>(i) / S;
      idsI[i] = nc;
      idsG[i] = (nc / C) * G + (nc % C) / (C / G);
    }
    auto nI = naiveNorm(xv, idsI, 1e-5), nG = naiveNorm(xv, idsG, 1e-4);
    for (size_t i = 0; i < xv.size(); ++i) {
      size_t c = static_cast<size_t>((static_cast<int64_t>(i) / S) % C);
      nI[i] = nI[i] * sv[c] + bv[c];
      nG[i] = nG[i] * sv[c] + bv[c];
    }
    expectValues(*runOp("InstanceNormalization", {}, {x, sc, b})[0], xs, nI, 1e-5);
    ir::Attributes a;
    a.setInt("num_groups", G);
    a.setFloat("epsilon", 1e-4);
    expectValues(*runOp("GroupNormalization", a, {x, sc, b})[0], xs, nG, 1e-5);
  }
  ir::Attributes a;
  a.setInt("num_groups", 3);
  EXPECT_THROW(runOp("GroupNormalization", a, {randomTensor({1, 4, 2}, 1), randomTensor({4}, 2), randomTensor({4}, 3)}), Error);
  EXPECT_THROW(runOp("GroupNormalization", {}, {randomTensor({1, 4, 2}, 1), randomTensor({4}, 2), randomTensor({4}, 3)}), Error);
  EXPECT_THROW(runOp("InstanceNormalization", {}, {randomTensor({1, 4, 2}, 1), randomTensor({3}, 2), randomTensor({4}, 3)}), Error);
}

TEST(NormOp, LayerNormalization) {
  auto y = runOp("LayerNormalization", {}, {floatTensor({1, 2}, {1, 3}), floatTensor({2}, {1, 2})}, 3);
  double inv = 1 / std::sqrt(1 + 1e-5);
  expectValues(*y[0], {1, 2}, {-inv, 2 * inv}, 1e-6);
  expectValues(*y[1], {1, 1}, {2}, 0);
  expectValues(*y[2], {1, 1}, {inv}, 1e-6);
  EXPECT_EQ(y[1]->dtype, DataType::kFLOAT);
  for (int it = 0; it < 20; ++it) {
    ir::Shape xs;
    int rank = 1 + it % 4;
    for (int i = 0; i < rank; ++i) xs.push_back(1 + (it + 2 * i) % 4);
    int64_t axis = -1 - (it % rank);
    int64_t ax = axis + rank;
    ir::Shape ps(xs.begin() + ax, xs.end());
    if (it % 3 == 1 && !ps.empty()) ps.erase(ps.begin());  // lower-rank scale broadcasts
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 70));
    auto sc = randomTensor(ps, 3), b = randomTensor(ps, 4);
    std::vector<bool> mask(xs.size(), false);
    for (int64_t d = ax; d < rank; ++d) mask[static_cast<size_t>(d)] = true;
    auto xv = asDoubles(*x);
    auto exp = naiveNorm(xv, groupIds(xs, mask), 1e-5);
    for (size_t i = 0; i < xv.size(); ++i)
      exp[i] = exp[i] * bcast(asDoubles(*sc), ps, xs, static_cast<int64_t>(i)) + bcast(asDoubles(*b), ps, xs, static_cast<int64_t>(i));
    ir::Attributes a;
    a.setInt("axis", axis);
    expectValues(*runOp("LayerNormalization", a, {x, sc, b})[0], xs, exp, 1e-5);
  }
  EXPECT_THROW(runOp("LayerNormalization", {}, {randomTensor({2, 3}, 1), randomTensor({2}, 2)}), Error);
  ir::Attributes bad;
  bad.setInt("axis", 2);
  EXPECT_THROW(runOp("LayerNormalization", bad, {randomTensor({2, 3}, 1), randomTensor({3}, 2)}), Error);
}

TEST(NormOp, LpNormLrnMvn) {
  expectValues(*runOp("LpNormalization", {}, {floatTensor({2, 2}, {3, 4, 0, 0})})[0], {2, 2}, {0.6, 0.8, 0, 0}, 1e-7);
  ir::Attributes p1;
  p1.setInt("p", 1);
  p1.setInt("axis", 0);
  expectValues(*runOp("LpNormalization", p1, {floatTensor({2, 2}, {1, 2, -3, 2})})[0], {2, 2}, {0.25, 0.5, -0.75, 0.5}, 1e-7);
  // LRN size 3 over 3 channels, alpha 3, beta 1, bias 1: y = x / (1 + sum of neighbours' squares)
  ir::Attributes l;
  l.setInt("size", 3);
  l.setFloat("alpha", 3);
  l.setFloat("beta", 1);
  expectValues(*runOp("LRN", l, {floatTensor({1, 3}, {1, 2, 3})})[0], {1, 3}, {1. / 6, 2. / 15, 3. / 14}, 1e-6);
  // LRN naive with even size (window floor/ceil) over shapes
  for (int it = 0; it < 8; ++it) {
    ir::Shape xs{2, 1 + it, 2, 1 + it % 2};
    auto x = randomTensor(xs, static_cast<uint32_t>(it));
    auto xv = asDoubles(*x);
    int64_t size = 1 + it % 4, C = xs[1], S = xs[2] * xs[3];
    std::vector<double> exp;
    for (size_t i = 0; i < xv.size(); ++i) {
      int64_t c = (static_cast<int64_t>(i) / S) % C, base = static_cast<int64_t>(i) - c * S;
      double sq = 0;
      for (int64_t cc = c - (size - 1) / 2; cc <= c + size / 2; ++cc)
        if (cc >= 0 && cc < C) sq += xv[static_cast<size_t>(base + cc * S)] * xv[static_cast<size_t>(base + cc * S)];
      exp.push_back(xv[i] / std::pow(2.0 + 1e-2 / static_cast<double>(size) * sq, 0.5));
    }
    ir::Attributes a;
    a.setInt("size", size);
    a.setFloat("alpha", 1e-2);
    a.setFloat("beta", 0.5);
    a.setFloat("bias", 2.0);
    expectValues(*runOp("LRN", a, {x})[0], xs, exp, 1e-6);
  }
  // MVN default axes [0, 2, 3] and custom axes
  for (int it = 0; it < 6; ++it) {
    ir::Shape xs{2, 3, 1 + it % 3, 2};
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 9));
    std::vector<bool> mask{true, false, true, true};
    expectValues(*runOp("MeanVarianceNormalization", {}, {x})[0], xs, naiveNorm(asDoubles(*x), groupIds(xs, mask), 1e-9, true), 1e-5);
    ir::Attributes a;
    a.setInts("axes", {-1});
    std::vector<bool> m2{false, false, false, true};
    expectValues(*runOp("MeanVarianceNormalization", a, {x})[0], xs, naiveNorm(asDoubles(*x), groupIds(xs, m2), 1e-9, true), 1e-5);
  }
  ir::Attributes bad;
  bad.setInt("p", 3);
  EXPECT_THROW(runOp("LpNormalization", bad, {randomTensor({2}, 1)}), Error);
  EXPECT_THROW(runOp("LRN", {}, {randomTensor({1, 2}, 1)}), Error);  // size required
  ir::Attributes dup;
  dup.setInts("axes", {1, 1});
  EXPECT_THROW(runOp("MeanVarianceNormalization", dup, {randomTensor({1, 2}, 1)}), Error);
}

TEST(NormOp, KilnNormalization) {
  // layer norm over the last axis, instance norm over spatial dims with [1,C,1,1] params, group norm
  for (int it = 0; it < 18; ++it) {
    int mode = it % 3;
    ir::Shape xs{1 + it % 2, 4, 1 + it % 3, 3};
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 90));
    auto xv = asDoubles(*x);
    ir::Attributes a;
    a.setFloat("epsilon", 1e-3);
    std::vector<bool> mask;
    ir::Shape ps;
    std::vector<int64_t> ids;
    if (mode == 0) {
      a.setInts("axes", {3});
      mask = {false, false, false, true};
      ps = {3};
      ids = groupIds(xs, mask);
    } else if (mode == 1) {
      a.setInts("axes", {2, 3});
      mask = {false, false, true, true};
      ps = {1, 4, 1, 1};
      ids = groupIds(xs, mask);
    } else {
      a.setInts("axes", {2, 3});
      a.setInt("num_groups", 2);
      ps = {1, 4, 1, 1};
      int64_t S = xs[2] * xs[3];
      for (size_t i = 0; i < xv.size(); ++i) {
        int64_t nc = static_cast<int64_t>(i) / S;
        ids.push_back((nc / 4) * 2 + (nc % 4) / 2);
      }
    }
    auto sc = randomTensor(ps, 5), b = randomTensor(ps, 6);
    auto exp = naiveNorm(xv, ids, 1e-3);
    for (size_t i = 0; i < xv.size(); ++i)
      exp[i] = exp[i] * bcast(asDoubles(*sc), ps, xs, static_cast<int64_t>(i)) + bcast(asDoubles(*b), ps, xs, static_cast<int64_t>(i));
    SCOPED_TRACE("mode " + std::to_string(mode));
    expectValues(*runOp("Normalization", a, {x, sc, b})[0], xs, exp, 1e-5);
    if (it == 0) {
      std::vector<Half> h;
      for (double v : xv) h.push_back(Half(static_cast<float>(v)));
      std::vector<Half> sh, bh;
      for (double v : asDoubles(*sc)) sh.push_back(Half(static_cast<float>(v)));
      for (double v : asDoubles(*b)) bh.push_back(Half(static_cast<float>(v)));
      auto yh = runOp("Normalization", a, {typedTensor(xs, h), typedTensor(ps, sh), typedTensor(ps, bh)});
      EXPECT_EQ(yh[0]->dtype, DataType::kHALF);
      expectValues(*yh[0], xs, exp, 1e-2);
    }
  }
  ir::Attributes g;
  g.setInts("axes", {2});
  g.setInt("num_groups", 3);
  EXPECT_THROW(runOp("Normalization", g, {randomTensor({1, 4, 2}, 1), randomTensor({1, 4, 1}, 2), randomTensor({1, 4, 1}, 3)}), Error);
  ir::Attributes ax;
  ax.setInts("axes", {3});
  EXPECT_THROW(runOp("Normalization", ax, {randomTensor({1, 4, 2}, 1), randomTensor({1}, 2), randomTensor({1}, 3)}), Error);
  ax.setInts("axes", {2});
  EXPECT_THROW(runOp("Normalization", ax, {randomTensor({1, 4, 2}, 1), randomTensor({3}, 2), randomTensor({1}, 3)}), Error);
  auto z = runOp("Normalization", ax, {randomTensor({0, 4, 2}, 1), randomTensor({1}, 2), randomTensor({1}, 3)});
  EXPECT_EQ(ir::shapeToString(z[0]->shape), "[0,4,2]");
}

}  // namespace
}  // namespace kiln::test
