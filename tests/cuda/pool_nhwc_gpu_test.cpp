// Channels-last MaxPoolNHWC / AveragePoolNHWC on the GPU (the vectorized tactic "cuda_vec" of
// nn_pool_nhwc.cu and the generic "cuda" of nn_pool.cu) against a naive double-precision loop: window
// sizes, strides, dilations, asymmetric pads, count_include_pad, channel counts that allow 16-byte vectors
// and ones that do not, float32 / float16 / bfloat16.
#include <gtest/gtest.h>

#include <cmath>

#include "gpu_op.h"

namespace kiln::test {
namespace {

struct PoolCase {
  int64_t n, h, w, c, kh, kw, s, d;
  int64_t pt, pl, pb, pr;  // pads: top, left, bottom, right
  bool max, includePad;
};

void runPoolCase(const PoolCase& k, DataType dt, const std::string& tactic, uint32_t seed) {
  SCOPED_TRACE(std::string(dataTypeName(dt)) + " " + tactic + (k.max ? " max " : " avg ") + std::to_string(k.n) + "x" +
               std::to_string(k.h) + "x" + std::to_string(k.w) + "x" + std::to_string(k.c) + " k " + std::to_string(k.kh) +
               "x" + std::to_string(k.kw) + " s " + std::to_string(k.s) + " d " + std::to_string(k.d) + " incl " +
               std::to_string(k.includePad));
  const int64_t oh = (k.h + k.pt + k.pb - k.d * (k.kh - 1) - 1) / k.s + 1;
  const int64_t ow = (k.w + k.pl + k.pr - k.d * (k.kw - 1) - 1) / k.s + 1;
  auto x = convertTensor(*randomTensor({k.n, k.h, k.w, k.c}, seed), dt);
  const auto X = asDoubles(*x);
  std::vector<double> ref(static_cast<size_t>(k.n * oh * ow * k.c));
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t c = 0; c < k.c; ++c) {
          double acc = k.max ? -INFINITY : 0.0;
          int64_t cnt = 0, cntPad = 0;
          for (int64_t ky = 0; ky < k.kh; ++ky)
            for (int64_t kx = 0; kx < k.kw; ++kx) {
              const int64_t iy = oy * k.s - k.pt + ky * k.d, ix = ox * k.s - k.pl + kx * k.d;
              if (iy < k.h + k.pb && ix < k.w + k.pr) ++cntPad;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              const double v = X[static_cast<size_t>(((n * k.h + iy) * k.w + ix) * k.c + c)];
              acc = k.max ? std::max(acc, v) : acc + v;
              ++cnt;
            }
          if (!k.max) acc /= static_cast<double>(k.includePad ? cntPad : cnt);
          ref[static_cast<size_t>(((n * oh + oy) * ow + ox) * k.c + c)] = acc;
        }
  ir::Attributes at;
  at.setInts("kernel_shape", {k.kh, k.kw});
  at.setInts("strides", {k.s, k.s});
  at.setInts("pads", {k.pt, k.pl, k.pb, k.pr});
  at.setInts("dilations", {k.d, k.d});
  if (!k.max) at.setInt("count_include_pad", k.includePad ? 1 : 0);
  GpuOpOptions o;
  o.tactic = tactic;
  auto out = runGpuOp(k.max ? "MaxPoolNHWC" : "AveragePoolNHWC", at, {x}, 1, o);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0]->shape, (ir::Shape{k.n, oh, ow, k.c}));
  const auto got = asDoubles(*out[0]);
  // max: exact; average: float accumulation, rounded once to the output type
  const double tol = k.max ? 0.0 : dt == DataType::kFLOAT ? 1e-5 : dt == DataType::kHALF ? 2e-3 : 1e-2;
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(got[i] - ref[i]) <= tol * (1 + std::fabs(ref[i]))))
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << ref[i];
  EXPECT_EQ(bad, 0);
}

TEST(GpuPoolNhwc, VectorizedAndGenericMatchNaiveLoop) {
  KILN_REQUIRE_GPU();
  const std::vector<PoolCase> cases = {
      {2, 17, 15, 64, 3, 3, 2, 1, 1, 1, 1, 1, true, false},   // the ResNet stem pool (odd extents)
      {1, 12, 13, 24, 3, 3, 2, 1, 1, 1, 1, 1, true, false},   // C = 24: 3 vectors of 8 (float: 6 of 4)
      {2, 9, 11, 12, 2, 3, 1, 2, 0, 1, 2, 0, true, false},    // dilation, asymmetric pads; C = 12: no 8-vectors
      {1, 8, 7, 5, 3, 3, 2, 1, 1, 1, 1, 1, true, false},      // C = 5: scalar
      {2, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, false, false},  // average, excluding pads
      {1, 10, 9, 16, 3, 2, 2, 1, 1, 0, 1, 1, false, true},    // average, counting pads (asymmetric)
      {1, 7, 7, 40, 7, 7, 1, 1, 0, 0, 0, 0, false, false},    // a global-size window
      {3, 6, 5, 7, 2, 2, 2, 1, 0, 0, 1, 1, false, true},      // C = 7, end pads only
  };
  uint32_t seed = 7100;
  for (DataType dt : {DataType::kHALF, DataType::kFLOAT, DataType::kBF16})
    for (const auto& c : cases)
      for (const char* tactic : {"cuda_vec", "cuda"}) runPoolCase(c, dt, tactic, seed++);
}

TEST(GpuPoolNhwc, VectorizedRefusesIndicesAndCeilMode) {
  KILN_REQUIRE_GPU();
  ir::Attributes at;
  at.setInts("kernel_shape", {2, 2});
  at.setInt("ceil_mode", 1);
  GpuOpOptions o;
  o.tactic = "cuda_vec";
  EXPECT_THROW(runGpuOp("MaxPoolNHWC", at, {randomTensor({1, 5, 5, 8}, 1)}, 1, o), Error);
}

}  // namespace
}  // namespace kiln::test
