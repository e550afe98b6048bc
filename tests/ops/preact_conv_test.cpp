// PreactConv (ir/ops/preact_conv.cpp): the reference kernel against a naive Concat -> x * s + t -> Relu ->
// 1x1 product written here, the "fast" tactic (both packers, serial and threaded, batch 1 and 2, partial
// panels, matrix-vector shapes) against the reference kernel, NaN through the Relu, and shape errors.
#include <cmath>

#include "backends/cpu/fast/preact_conv_pack.h"
#include "core/cpu_features.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

struct Case {
  int64_t n;
  std::vector<int64_t> channels;  // of each X_i
  int64_t m, h, w;
};

ir::Attributes attrsOf(bool relu, const std::string& act) {
  ir::Attributes at;
  at.setInt("relu", relu ? 1 : 0);
  if (!act.empty()) at.setString("kiln_act", act);
  return at;
}

//! Inputs W, B, Scale, Shift, X0, ... of a case.
std::vector<TensorPtr> inputsOf(const Case& c, uint32_t seed) {
  int64_t C = 0;
  for (int64_t ci : c.channels) C += ci;
  std::vector<TensorPtr> in{randomTensor({c.m, C, 1, 1}, seed), randomTensor({c.m}, seed + 1),
                            randomTensor({C}, seed + 2, 0.5f, 1.5f), randomTensor({C}, seed + 3, -0.5f, 0.5f)};
  for (size_t i = 0; i < c.channels.size(); ++i)
    in.push_back(randomTensor({c.n, c.channels[i], c.h, c.w}, seed + 10 + static_cast<uint32_t>(i)));
  return in;
}

//! The expected output, computed the long way in double.
std::vector<double> naive(const Case& c, const std::vector<TensorPtr>& in, bool relu, bool reluAfter) {
  const int64_t P = c.h * c.w;
  int64_t C = 0;
  for (int64_t ci : c.channels) C += ci;
  std::vector<double> cat(static_cast<size_t>(c.n * C * P));  // Concat along axis 1
  for (int64_t n = 0; n < c.n; ++n) {
    int64_t c0 = 0;
    for (size_t i = 0; i < c.channels.size(); ++i) {
      auto xv = asDoubles(*in[4 + i]);
      for (int64_t k = 0; k < c.channels[i]; ++k)
        for (int64_t p = 0; p < P; ++p)
          cat[static_cast<size_t>((n * C + c0 + k) * P + p)] = xv[static_cast<size_t>((n * c.channels[i] + k) * P + p)];
      c0 += c.channels[i];
    }
  }
  auto w = asDoubles(*in[0]), b = asDoubles(*in[1]), s = asDoubles(*in[2]), t = asDoubles(*in[3]);
  std::vector<double> y(static_cast<size_t>(c.n * c.m * P));
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t p = 0; p < P; ++p) {
        double acc = b[static_cast<size_t>(m)];
        for (int64_t k = 0; k < C; ++k) {
          double a = cat[static_cast<size_t>((n * C + k) * P + p)] * s[static_cast<size_t>(k)] + t[static_cast<size_t>(k)];
          if (relu) a = std::max(a, 0.0);
          acc += w[static_cast<size_t>(m * C + k)] * a;
        }
        y[static_cast<size_t>((n * c.m + m) * P + p)] = reluAfter ? std::max(acc, 0.0) : acc;
      }
  return y;
}

const std::vector<Case> kCases = {
    {1, {8}, 6, 4, 4},           // one input, one full panel
    {1, {5, 3, 7}, 12, 7, 7},    // three inputs, 49 positions (a partial panel)
    {2, {16, 4}, 13, 3, 19},     // batch 2, 57 positions, M not a multiple of 6
    {1, {3, 2}, 1, 5, 5},        // one output channel (vector x matrix)
    {2, {4, 4}, 7, 1, 1},        // one position (matrix x vector)
    {1, {300}, 9, 6, 6},         // K deeper than one packed depth block
    {1, {300}, 9, 16, 16},       // several packed blocks of columns per thread
    {2, {200, 400}, 8, 19, 21},  // several blocks, the last panel partial
    {1, {8}, 6, 1, 17},          // with two threads, the second one's block is a single column
};

TEST(PreactConv, ReferenceMatchesNaive) {
  uint32_t seed = 100;
  for (const Case& c : kCases)
    for (bool relu : {true, false})
      for (const char* act : {"", "Relu"}) {
        SCOPED_TRACE(::testing::Message() << "case C0=" << c.channels[0] << " m=" << c.m << " relu " << relu << " act " << act);
        auto in = inputsOf(c, seed += 20);
        auto got = runOp("PreactConv", attrsOf(relu, act), in)[0];
        expectValues(*got, {c.n, c.m, c.h, c.w}, naive(c, in, relu, std::string(act) == "Relu"), 1e-5);
      }
}

TEST(PreactConv, FastMatchesReference) {
  ThreadPool pool(2);
  std::vector<cpu::fast::preact::PackFn> packs{cpu::fast::preact::packPortable};
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)) packs.push_back(cpu::fast::preact::packAvx2);
  uint32_t seed = 500;
  for (auto pack : packs) {
    cpu::fast::preact::setPackForTesting(pack);
    for (const Case& c : kCases)
      for (bool relu : {true, false})
        for (const char* act : {"", "Relu", "HardSwish"})
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
            SCOPED_TRACE(::testing::Message() << "case C0=" << c.channels[0] << " m=" << c.m << " relu " << relu
                                              << " act " << act << (p ? " pool" : " serial")
                                              << (pack == cpu::fast::preact::packPortable ? " portable" : " avx2"));
            auto in = inputsOf(c, seed += 20);
            auto ref = runOp("PreactConv", attrsOf(relu, act), in)[0];
            auto got = runTactic("PreactConv", attrsOf(relu, act), in, "fast", p)[0];
            expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
          }
  }
  cpu::fast::preact::setPackForTesting(nullptr);
}

TEST(PreactConv, NanPassesTheRelu) {
  // One channel, one output channel of weight 1: Y = relu(x * 1 + 0) per position; NaN stays NaN.
  auto w = floatTensor({2, 1, 1, 1}, {1.f, 2.f});
  auto b = floatTensor({2}, {0.f, 0.f});
  auto s = floatTensor({1}, {1.f}), t = floatTensor({1}, {0.f});
  std::vector<float> xv(18, -1.f);
  xv[3] = NAN;
  xv[17] = 2.f;
  auto x = floatTensor({1, 1, 3, 6}, xv);
  for (const char* tactic : {"ref", "fast"}) {
    SCOPED_TRACE(tactic);
    auto y = runTactic("PreactConv", attrsOf(true, ""), {w, b, s, t, x}, tactic, nullptr)[0];
    auto v = asDoubles(*y);
    EXPECT_TRUE(std::isnan(v[3]) && std::isnan(v[18 + 3]));
    EXPECT_EQ(v[0], 0.0);
    EXPECT_EQ(v[17], 2.0);
    EXPECT_EQ(v[18 + 17], 4.0);
  }
}

TEST(PreactConv, ShapeErrors) {
  auto s = randomTensor({4}, 1), t = randomTensor({4}, 2), b = randomTensor({3}, 3);
  auto x = randomTensor({1, 4, 2, 2}, 4);
  // a 3x3 kernel, a channel count that is not the inputs' total, inputs of different spatial extents
  EXPECT_THROW(runOp("PreactConv", attrsOf(true, ""), {randomTensor({3, 4, 3, 3}, 5), b, s, t, x}), Error);
  EXPECT_THROW(runOp("PreactConv", attrsOf(true, ""), {randomTensor({3, 5, 1, 1}, 6), b, s, t, x}), Error);
  EXPECT_THROW(runOp("PreactConv", attrsOf(true, ""),
                     {randomTensor({3, 6, 1, 1}, 7), b, randomTensor({6}, 8), randomTensor({6}, 9), x,
                      randomTensor({1, 2, 3, 2}, 10)}),
               Error);
  EXPECT_THROW(runOp("PreactConv", attrsOf(true, ""), {randomTensor({3, 4, 1, 1}, 11), randomTensor({2}, 12), s, t, x}),
               Error);
  ir::Attributes bad = attrsOf(true, "");
  bad.setInt("relu", 2);
  EXPECT_THROW(runOp("PreactConv", bad, {randomTensor({3, 4, 1, 1}, 13), b, s, t, x}), Error);
}

}  // namespace
}  // namespace kiln::test
