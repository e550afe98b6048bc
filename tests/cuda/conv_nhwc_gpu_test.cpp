// Channels-last ConvNHWC kernels written for kiln (cuda_depthwise: conv_depthwise.cu, cuda_pointwise:
// conv_pointwise.cu) against a naive double-precision loop over the same (type-rounded) inputs: strides,
// padding, dilations, kernel sizes, channel counts that are not multiples of the vector width, float32 /
// float16 / bfloat16, with and without bias, residual and fused activation.
#include <gtest/gtest.h>

#include <cmath>

#include "gpu_op.h"

namespace kiln::test {
namespace {

struct NhwcCase {
  int64_t n, h, w, c, m, kh, kw, s, pad, d;
  bool depthwise, bias, residual;
  std::string act;  // "", Relu, Clip (0..6), Silu, HardSwish
  DataType dt;
  std::string tactic;
};

double actRef(const std::string& a, double v) {
  if (a == "Relu") return v > 0 ? v : 0;
  if (a == "Clip") return std::min(6.0, std::max(0.0, v));
  if (a == "Silu") return v / (1 + std::exp(-v));
  if (a == "HardSwish") return v * std::max(0.0, std::min(1.0, v / 6 + 0.5));
  return v;
}

//! Values rounded to `dt` (what the GPU sees), as doubles.
std::vector<double> rounded(const TensorPtr& t, DataType dt) { return asDoubles(*convertTensor(*t, dt)); }

void runCase(const NhwcCase& k, uint32_t seed) {
  SCOPED_TRACE(std::string(dataTypeName(k.dt)) + " " + k.tactic + " x " + std::to_string(k.n) + "x" + std::to_string(k.h) +
               "x" + std::to_string(k.w) + "x" + std::to_string(k.c) + " m " + std::to_string(k.m) + " k " +
               std::to_string(k.kh) + "x" + std::to_string(k.kw) + " s " + std::to_string(k.s) + " p " +
               std::to_string(k.pad) + " d " + std::to_string(k.d) + " bias " + std::to_string(k.bias) + " z " +
               std::to_string(k.residual) + " act " + k.act);
  const int64_t cpg = k.depthwise ? 1 : k.c;  // input channels per group
  const int64_t oh = (k.h + 2 * k.pad - k.d * (k.kh - 1) - 1) / k.s + 1;
  const int64_t ow = (k.w + 2 * k.pad - k.d * (k.kw - 1) - 1) / k.s + 1;
  auto x = randomTensor({k.n, k.h, k.w, k.c}, seed);
  auto w = randomTensor({k.m, k.kh, k.kw, cpg}, seed + 1, -0.5f, 0.5f);
  auto b = randomTensor({k.m}, seed + 2);
  auto z = randomTensor({k.n, oh, ow, k.m}, seed + 3);
  const auto X = rounded(x, k.dt), Wt = rounded(w, k.dt), B = rounded(b, k.dt), Z = rounded(z, k.dt);
  std::vector<double> ref(static_cast<size_t>(k.n * oh * ow * k.m));
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t m = 0; m < k.m; ++m) {
          double acc = 0;
          for (int64_t ky = 0; ky < k.kh; ++ky)
            for (int64_t kx = 0; kx < k.kw; ++kx) {
              const int64_t iy = oy * k.s - k.pad + ky * k.d, ix = ox * k.s - k.pad + kx * k.d;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (int64_t ci = 0; ci < cpg; ++ci) {
                const int64_t c = k.depthwise ? m : ci;
                acc += X[static_cast<size_t>(((n * k.h + iy) * k.w + ix) * k.c + c)] *
                       Wt[static_cast<size_t>(((m * k.kh + ky) * k.kw + kx) * cpg + ci)];
              }
            }
          const size_t o = static_cast<size_t>(((n * oh + oy) * ow + ox) * k.m + m);
          if (k.bias) acc += B[static_cast<size_t>(m)];
          if (k.residual) acc += Z[o];
          ref[o] = actRef(k.act, acc);
        }
  ir::Attributes at;
  at.setInts("kernel_shape", {k.kh, k.kw});
  at.setInts("strides", {k.s, k.s});
  at.setInts("pads", {k.pad, k.pad, k.pad, k.pad});
  at.setInts("dilations", {k.d, k.d});
  at.setInt("group", k.depthwise ? k.c : 1);
  if (!k.act.empty()) at.setString("kiln_act", k.act);
  if (k.act == "Clip") {
    at.setFloat("kiln_act_alpha", 0.0);
    at.setFloat("kiln_act_beta", 6.0);
  }
  std::vector<TensorPtr> ins{convertTensor(*x, k.dt), convertTensor(*w, k.dt)};
  ins.push_back(k.bias ? convertTensor(*b, k.dt) : nullptr);
  if (k.residual) ins.push_back(convertTensor(*z, k.dt));
  if (!k.bias && !k.residual) ins.pop_back();
  GpuOpOptions o;
  o.constantInputs = {1, 2};
  o.tactic = k.tactic;
  auto out = runGpuOp("ConvNHWC", at, ins, 1, o);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0]->shape, (ir::Shape{k.n, oh, ow, k.m}));
  const auto got = asDoubles(*out[0]);
  // float32 accumulation; the result rounded once to the output type
  const double tol = k.dt == DataType::kFLOAT ? 1e-5 : k.dt == DataType::kHALF ? 4e-3 : 3e-2;
  const double atol = k.dt == DataType::kFLOAT ? 1e-5 : 2e-3 * std::sqrt(static_cast<double>(k.kh * k.kw * cpg));
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!(std::fabs(got[i] - ref[i]) <= atol + tol * std::fabs(ref[i]))) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << ref[i];
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(GpuConvNhwc, DepthwiseShapesTypesAndEpilogues) {
  KILN_REQUIRE_GPU();
  std::vector<NhwcCase> cases;
  uint32_t seed = 900;
  const DataType types[] = {DataType::kHALF, DataType::kFLOAT, DataType::kBF16};
  for (DataType dt : types) {
    // fast kernels: 3x3 / 5x5, stride 1 / 2; output widths that do not fill the last strip; C multiple of the
    // vector width, more than one block of channels (C = 264: 33 groups of 8), and not a multiple (C = 12, 5)
    cases.push_back({2, 9, 11, 16, 16, 3, 3, 1, 1, 1, true, true, false, "Clip", dt, "cuda_depthwise"});
    cases.push_back({2, 10, 13, 24, 24, 3, 3, 2, 1, 1, true, true, true, "Relu", dt, "cuda_depthwise"});
    cases.push_back({1, 11, 9, 40, 40, 5, 5, 1, 2, 1, true, true, false, "Silu", dt, "cuda_depthwise"});
    cases.push_back({2, 12, 15, 32, 32, 5, 5, 2, 2, 1, true, false, true, "", dt, "cuda_depthwise"});
    cases.push_back({1, 7, 7, 264, 264, 3, 3, 1, 1, 1, true, true, true, "HardSwish", dt, "cuda_depthwise"});
    cases.push_back({2, 8, 6, 12, 12, 3, 3, 1, 1, 1, true, true, true, "Relu", dt, "cuda_depthwise"});
    cases.push_back({1, 9, 10, 5, 5, 5, 5, 2, 2, 1, true, true, false, "Clip", dt, "cuda_depthwise"});
    cases.push_back({1, 6, 6, 8, 8, 3, 3, 1, 0, 1, true, false, false, "", dt, "cuda_depthwise"});  // no padding
    // generic kernel: dilation, 7x7, stride 3, 1x1 window
    cases.push_back({2, 13, 12, 16, 16, 3, 3, 1, 2, 2, true, true, false, "Relu", dt, "cuda_depthwise"});
    cases.push_back({1, 14, 11, 24, 24, 7, 7, 3, 3, 1, true, true, true, "Silu", dt, "cuda_depthwise"});
    cases.push_back({1, 5, 5, 10, 10, 1, 1, 1, 0, 1, true, true, false, "", dt, "cuda_depthwise"});
  }
  // the one-pixel-per-thread tactic runs every window through the generic kernel
  const size_t strips = cases.size();
  for (size_t i = 0; i < strips; ++i) {
    NhwcCase c = cases[i];
    c.tactic = "cuda_depthwise_px";
    cases.push_back(c);
  }
  for (const auto& c : cases) runCase(c, seed++);
}

TEST(GpuConvNhwc, PointwiseTensorCoreShapesAndEpilogues) {
  KILN_REQUIRE_GPU();
  std::vector<NhwcCase> cases;
  uint32_t seed = 1900;
  for (DataType dt : {DataType::kHALF, DataType::kBF16}) {
    // small K, wide N (more than one block of channels: N = 144 -> 2 x 80); many pixel tiles, a partial last one
    cases.push_back({2, 23, 17, 16, 96, 1, 1, 1, 0, 1, false, true, false, "Clip", dt, "cuda_pointwise"});
    cases.push_back({1, 20, 21, 24, 144, 1, 1, 1, 0, 1, false, true, false, "Silu", dt, "cuda_pointwise"});
    cases.push_back({2, 9, 9, 144, 24, 1, 1, 1, 0, 1, false, true, true, "", dt, "cuda_pointwise"});
    // K over one shared-memory chunk (K = 200 -> 2 chunks of 112), N = 300 (3 blocks of 112, partial)
    cases.push_back({1, 6, 7, 200, 300, 1, 1, 1, 0, 1, false, true, true, "HardSwish", dt, "cuda_pointwise"});
    // channel counts that are not multiples of 8 (scalar loads / stores) and no bias
    cases.push_back({1, 5, 7, 6, 10, 1, 1, 1, 0, 1, false, false, true, "Relu", dt, "cuda_pointwise"});
    cases.push_back({3, 1, 1, 32, 8, 1, 1, 1, 0, 1, false, true, false, "Relu", dt, "cuda_pointwise"});
    cases.push_back({1, 4, 4, 12, 36, 1, 1, 1, 0, 1, false, true, false, "", dt, "cuda_pointwise"});
  }
  for (const auto& c : cases) runCase(c, seed++);
}

TEST(GpuConvNhwc, SmallInputChannelsDirect) {
  KILN_REQUIRE_GPU();
  std::vector<NhwcCase> cases;
  uint32_t seed = 2900;
  for (DataType dt : {DataType::kHALF, DataType::kFLOAT, DataType::kBF16}) {
    cases.push_back({2, 17, 15, 3, 32, 3, 3, 2, 1, 1, false, true, false, "Clip", dt, "cuda_conv_smallc"});  // RGB stem
    cases.push_back({1, 9, 10, 1, 8, 5, 5, 1, 2, 1, false, false, false, "", dt, "cuda_conv_smallc"});
    cases.push_back({2, 11, 12, 4, 16, 3, 3, 1, 2, 2, false, true, true, "Silu", dt, "cuda_conv_smallc"});
    cases.push_back({1, 8, 8, 2, 24, 2, 2, 2, 0, 1, false, true, false, "Relu", dt, "cuda_conv_smallc"});
    cases.push_back({1, 9, 9, 3, 16, 3, 3, 1, 1, 1, false, false, true, "Silu", dt, "cuda_conv_smallc"});  // stem, M 16
    cases.push_back({2, 10, 7, 3, 32, 3, 3, 1, 2, 2, false, true, true, "HardSwish", dt, "cuda_conv_smallc"});
  }
  for (const auto& c : cases) runCase(c, seed++);
  // 5 input channels, or 12 output channels: not offered
  GpuOpOptions o;
  o.constantInputs = {1};
  o.tactic = "cuda_conv_smallc";
  EXPECT_THROW(runGpuOp("ConvNHWC", {}, {randomTensor({1, 4, 4, 5}, 1), randomTensor({8, 1, 1, 5}, 2)}, 1, o), Error);
  EXPECT_THROW(runGpuOp("ConvNHWC", {}, {randomTensor({1, 4, 4, 3}, 1), randomTensor({12, 1, 1, 3}, 2)}, 1, o), Error);
}

TEST(GpuConvNhwc, SmallInputChannelsTensorCores) {
  KILN_REQUIRE_GPU();
  std::vector<NhwcCase> cases;
  uint32_t seed = 3900;
  for (DataType dt : {DataType::kHALF, DataType::kBF16}) {
    cases.push_back({2, 17, 15, 3, 32, 3, 3, 2, 1, 1, false, true, false, "Clip", dt, "cuda_conv_smallc_tc"});  // stem
    cases.push_back({1, 9, 10, 1, 8, 5, 5, 1, 2, 1, false, false, false, "", dt, "cuda_conv_smallc_tc"});
    cases.push_back({2, 11, 12, 4, 16, 3, 3, 1, 2, 2, false, true, true, "Silu", dt, "cuda_conv_smallc_tc"});
    cases.push_back({1, 8, 8, 2, 24, 2, 2, 2, 0, 1, false, true, false, "Relu", dt, "cuda_conv_smallc_tc"});
    cases.push_back({3, 13, 9, 3, 64, 4, 4, 1, 1, 1, false, true, true, "HardSwish", dt, "cuda_conv_smallc_tc"});  // K 48, M 64
    cases.push_back({1, 7, 7, 4, 40, 4, 4, 3, 2, 1, false, false, true, "", dt, "cuda_conv_smallc_tc"});  // K 64, M 40
  }
  for (const auto& c : cases) runCase(c, seed++);
  GpuOpOptions o;  // float32, or K = 5 x 5 x 3 = 75 > 64: not offered
  o.constantInputs = {1};
  o.tactic = "cuda_conv_smallc_tc";
  EXPECT_THROW(runGpuOp("ConvNHWC", {}, {randomTensor({1, 6, 6, 3}, 1), randomTensor({8, 3, 3, 3}, 2)}, 1, o), Error);
  EXPECT_THROW(runGpuOp("ConvNHWC", {}, {convertTensor(*randomTensor({1, 6, 6, 3}, 1), DataType::kHALF),
                                         convertTensor(*randomTensor({8, 5, 5, 3}, 2), DataType::kHALF)},
                        1, o),
               Error);
}

TEST(GpuConvNhwc, PointwiseRefusesWhatItCannotRun) {
  KILN_REQUIRE_GPU();
  // float32, or a strided 1x1: the tactic is not offered
  auto x = randomTensor({1, 4, 4, 8}, 5), w = randomTensor({8, 1, 1, 8}, 6);
  GpuOpOptions o;
  o.constantInputs = {1};
  o.tactic = "cuda_pointwise";
  EXPECT_THROW(runGpuOp("ConvNHWC", {}, {x, w}, 1, o), Error);
  ir::Attributes strided;
  strided.setInts("strides", {2, 2});
  EXPECT_THROW(runGpuOp("ConvNHWC", strided, {convertTensor(*x, DataType::kHALF), convertTensor(*w, DataType::kHALF)}, 1, o),
               Error);
}

// cuDNN's channels-last tensor-core kernels need C % 8 == 0: for float16/bfloat16 the cuDNN tactics zero-pad
// X and W to the next multiple of 8 in the workspace (the RGB stems: 7x7/2 with C = 3 in ResNet)
TEST(GpuConvNhwc, CudnnPadsFewInputChannels) {
  KILN_REQUIRE_GPU();
  std::vector<NhwcCase> cases;
  uint32_t seed = 4900;
  for (DataType dt : {DataType::kHALF, DataType::kBF16}) {
    for (const char* tactic : {"cudnn", "cudnn_implicit_precomp_gemm", "cudnn_implicit_gemm"}) {
      cases.push_back({2, 21, 19, 3, 64, 7, 7, 2, 3, 1, false, true, false, "Relu", dt, tactic});  // the ResNet stem
      cases.push_back({1, 9, 10, 5, 16, 3, 3, 1, 1, 1, false, false, true, "Silu", dt, tactic});
      cases.push_back({2, 8, 8, 1, 8, 3, 3, 2, 1, 2, false, true, true, "", dt, tactic});
    }
    cases.push_back({2, 21, 19, 3, 64, 7, 7, 2, 3, 1, false, true, false, "Relu", dt, "cudnn_fused"});
    cases.push_back({1, 9, 10, 3, 24, 3, 3, 1, 1, 1, false, true, true, "", dt, "cudnn_fused"});
  }
  cases.push_back({1, 11, 12, 3, 16, 5, 5, 2, 2, 1, false, true, false, "Relu", DataType::kFLOAT, "cudnn"});  // unpadded
  for (const auto& c : cases) runCase(c, seed++);
}

}  // namespace
}  // namespace kiln::test
