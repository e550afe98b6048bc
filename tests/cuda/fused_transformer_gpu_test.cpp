// GPU kernels of the transformer fusions against the CPU reference: SkipLayerNormalization (vectorized row
// kernel and the general block path), LayerNormalization's vectorized path with statistics, and
// FusedAttention (tensor-core path for float16/bfloat16, general path, layouts, masks, fully masked rows).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "gpu_op.h"

namespace kiln::test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TensorPtr rnd(const ir::Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return randomTensor(shape, seed, lo, hi);
}

std::vector<TensorPtr> as(DataType dt, const std::vector<TensorPtr>& in) {
  std::vector<TensorPtr> out;
  for (const auto& t : in) out.push_back(t && dt != DataType::kFLOAT ? convertTensor(*t, dt) : t);
  return out;
}

void checkTypes(const std::string& op, const ir::Attributes& a, const std::vector<TensorPtr>& in, int nOut = 1,
                const GpuOpOptions& opts = {}, double tol32 = 1e-4) {
  {
    SCOPED_TRACE(op + " float32");
    expectGpuMatchesCpu(op, a, in, nOut, opts, tol32, tol32);
  }
  {
    SCOPED_TRACE(op + " float16");
    expectGpuMatchesCpu(op, a, as(DataType::kHALF, in), nOut, opts, 1e-2, 1e-2);
  }
  {
    SCOPED_TRACE(op + " bfloat16");
    expectGpuMatchesCpu(op, a, as(DataType::kBF16, in), nOut, opts, 3e-2, 3e-2);
  }
}

}  // namespace

TEST(GpuFusedTransformer, SkipLayerNormalization) {
  KILN_REQUIRE_GPU();
  ir::Attributes a;
  a.setFloat("epsilon", 1e-5);
  // vectorized rows (R a multiple of 8): with and without bias and the sum output
  checkTypes("SkipLayerNormalization", a, {rnd({4, 16}, 1, -3, 3), rnd({4, 16}, 2), rnd({16}, 3), rnd({16}, 4)}, 2);
  checkTypes("SkipLayerNormalization", a, {rnd({1, 128, 768}, 5, -3, 3), rnd({1, 128, 768}, 6), rnd({768}, 7)}, 1);
  checkTypes("SkipLayerNormalization", a, {rnd({3, 7, 768}, 8), rnd({3, 7, 768}, 9), rnd({768}, 10), rnd({1, 768}, 11)}, 2);
  checkTypes("SkipLayerNormalization", a, {rnd({65, 2048}, 12), rnd({65, 2048}, 13), rnd({2048}, 14), rnd({2048}, 15)}, 2);
  checkTypes("SkipLayerNormalization", a, {rnd({300, 1000}, 16), rnd({300, 1000}, 17), rnd({1000}, 18), rnd({1000}, 19)});
  // general path: odd rows, long rows, normalizing two axes
  checkTypes("SkipLayerNormalization", a, {rnd({5, 33}, 20, -3, 3), rnd({5, 33}, 21), rnd({33}, 22), rnd({33}, 23)}, 2);
  checkTypes("SkipLayerNormalization", a, {rnd({3, 5000}, 24, 0, 4), rnd({3, 5000}, 25), rnd({5000}, 26)}, 2);
  ir::Attributes ax;
  ax.setInt("axis", -2);
  checkTypes("SkipLayerNormalization", ax, {rnd({2, 3, 40}, 27), rnd({2, 3, 40}, 28), rnd({3, 40}, 29), rnd({3, 40}, 30)}, 2);
  expectGpuMatchesCpu("SkipLayerNormalization", a, {rnd({0, 16}, 31), rnd({0, 16}, 32), rnd({16}, 33)}, 2);
  // constant parameters, as the pass makes them
  GpuOpOptions c;
  c.constantInputs = {2, 3};
  expectGpuMatchesCpu("SkipLayerNormalization", a, as(DataType::kHALF, {rnd({32, 128, 768}, 34, -4, 4), rnd({32, 128, 768}, 35),
                                                                       rnd({768}, 36), rnd({768}, 37)}),
                      1, c, 1e-2, 1e-2);
}

TEST(GpuFusedTransformer, LayerNormalizationVectorizedWithStatistics) {
  KILN_REQUIRE_GPU();
  ir::Attributes a;
  checkTypes("LayerNormalization", a, {rnd({7, 768}, 1, -3, 3), rnd({768}, 2), rnd({768}, 3)}, 3);
  checkTypes("LayerNormalization", a, {rnd({129, 256}, 4, 1, 5), rnd({256}, 5)}, 3);
  checkTypes("LayerNormalization", a, {rnd({4096, 24}, 6, -3, 3), rnd({24}, 7), rnd({24}, 8)}, 1);
}

namespace {

ir::Attributes attn(double scale, std::vector<int64_t> layouts, int zero = 1) {
  ir::Attributes a;
  a.setFloat("scale", scale);
  a.setInts("layouts", std::move(layouts));
  a.setInt("masked_rows_zero", zero);
  return a;
}

//! Q, K, V of [B,S,H,D] (layout 0) or [B,H,S,D] (layout 1).
ir::Shape shapeOf(int64_t l, int64_t B, int64_t H, int64_t S, int64_t D) {
  return l == 0 ? ir::Shape{B, S, H, D} : ir::Shape{B, H, S, D};
}

struct AttnCase {
  int64_t B, H, Sq, Sk, D, Dv;
  std::vector<int64_t> layouts;
  int maskKind;  // 0 none, 1 [1,1,Sq,Sk] with a fully masked row, 2 [B,1,1,Sk] key padding, 3 [Sk]
};

std::vector<TensorPtr> attnInputs(const AttnCase& c, uint32_t seed) {
  std::vector<TensorPtr> in{rnd(shapeOf(c.layouts[0], c.B, c.H, c.Sq, c.D), seed, -2, 2),
                            rnd(shapeOf(c.layouts[1], c.B, c.H, c.Sk, c.D), seed + 1, -2, 2),
                            rnd(shapeOf(c.layouts[2], c.B, c.H, c.Sk, c.Dv), seed + 2)};
  if (c.maskKind == 1) {
    std::vector<double> m(static_cast<size_t>(c.Sq * c.Sk));
    std::vector<float> r = randomFloats(static_cast<int64_t>(m.size()), seed + 3, -3.f, 0.f);
    for (size_t i = 0; i < m.size(); ++i) m[i] = r[i];
    for (int64_t j = 0; j < c.Sk; ++j) m[static_cast<size_t>((c.Sq / 2) * c.Sk + j)] = -kInf;  // a dead row
    for (int64_t j = 0; j < c.Sk; j += 3) m[static_cast<size_t>(j)] = -kInf;
    in.push_back(makeTyped(DataType::kFLOAT, {1, 1, c.Sq, c.Sk}, m));
  } else if (c.maskKind == 2) {
    std::vector<double> m(static_cast<size_t>(c.B * c.Sk), 0.0);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t j = c.Sk - 1 - b * 3; j >= 0 && j < c.Sk; ++j) m[static_cast<size_t>(b * c.Sk + j)] = -kInf;
    in.push_back(makeTyped(DataType::kFLOAT, {c.B, 1, 1, c.Sk}, m));
  } else if (c.maskKind == 3) {
    in.push_back(rnd({c.Sk}, seed + 4, -1, 0));
  }
  return in;
}

}  // namespace

TEST(GpuFusedTransformer, FusedAttention) {
  KILN_REQUIRE_GPU();
  const std::vector<AttnCase> cases = {
      {1, 12, 128, 128, 64, 64, {0, 0, 0, 0}, 1},  // BERT-base, batch 1
      {2, 3, 77, 50, 32, 32, {0, 1, 0, 1}, 2},     // partial tiles, D padded to 64
      {2, 2, 40, 130, 128, 128, {1, 1, 1, 0}, 3},  // D = 128
      {1, 2, 33, 33, 80, 80, {1, 0, 1, 1}, 0},     // D = 80 (padded to 128)
      {6, 12, 256, 256, 64, 64, {0, 0, 0, 0}, 0},  // 4 warps per block
      {8, 12, 64, 64, 64, 64, {0, 0, 0, 0}, 1},    // 2 warps per block
      {1, 2, 512, 512, 64, 64, {1, 1, 1, 1}, 3},   // long sequence
      {2, 2, 9, 11, 12, 20, {0, 0, 0, 0}, 1},      // general path (D % 8, Dv != D)
  };
  uint32_t seed = 100;
  for (const AttnCase& c : cases) {
    SCOPED_TRACE("B" + std::to_string(c.B) + " H" + std::to_string(c.H) + " Sq" + std::to_string(c.Sq) + " Sk" +
                 std::to_string(c.Sk) + " D" + std::to_string(c.D));
    checkTypes("FusedAttention", attn(1.0 / std::sqrt(static_cast<double>(c.D)), c.layouts), attnInputs(c, seed), 1, {},
               2e-4);
    seed += 10;
  }
}

TEST(GpuFusedTransformer, FusedAttentionPackedQkv) {
  KILN_REQUIRE_GPU();
  // one [B, S, 3*H*D] input (qkv_heads = H): tensor-core path (D = 64) and general path (D = 12)
  for (const auto& [B, S, H, D] : std::vector<std::array<int64_t, 4>>{{1, 128, 12, 64}, {3, 77, 4, 32}, {2, 9, 2, 12}}) {
    SCOPED_TRACE("S" + std::to_string(S) + " D" + std::to_string(D));
    ir::Attributes a = attn(1.0 / std::sqrt(static_cast<double>(D)), {0, 0, 0, 0});
    a.setInt("qkv_heads", H);
    AttnCase c{B, H, S, S, D, D, {0, 0, 0, 0}, 1};
    std::vector<TensorPtr> in = attnInputs(c, 50);
    checkTypes("FusedAttention", a, {rnd({B, S, 3 * H * D}, 51, -2, 2), nullptr, nullptr, in[3]}, 1, {}, 2e-4);
  }
}

TEST(GpuFusedTransformer, FusedAttentionMaskedRows) {
  KILN_REQUIRE_GPU();
  // masked_rows_zero = 0: a fully masked row is NaN on both backends (expectGpuMatchesCpu matches NaN)
  AttnCase c{1, 2, 16, 16, 64, 64, {0, 0, 0, 0}, 1};
  checkTypes("FusedAttention", attn(0.125, c.layouts, 0), attnInputs(c, 7), 1, {}, 2e-4);
  AttnCase g{1, 2, 16, 16, 12, 12, {0, 0, 0, 0}, 1};
  checkTypes("FusedAttention", attn(0.125, g.layouts, 0), attnInputs(g, 8), 1, {}, 2e-4);
  // mask read from a constant (as in BERT), no keys at all
  GpuOpOptions k;
  k.constantInputs = {3};
  AttnCase b{1, 12, 128, 128, 64, 64, {0, 0, 0, 0}, 1};
  expectGpuMatchesCpu("FusedAttention", attn(0.125, b.layouts), as(DataType::kHALF, attnInputs(b, 9)), 1, k, 1e-2, 1e-2);
  AttnCase e{1, 2, 4, 0, 64, 64, {0, 0, 0, 0}, 0};
  expectGpuMatchesCpu("FusedAttention", attn(0.125, e.layouts), as(DataType::kHALF, attnInputs(e, 10)));
}

}  // namespace kiln::test
