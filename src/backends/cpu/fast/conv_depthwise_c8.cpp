// "depthwise_c8" tactic of Conv: 2-D depthwise convolutions (group == C == M) on blocks of 8 channels
// (conv_depthwise_c8.h; AVX2/FMA only, the tactic requires both). Bias, residual Z and kiln_act run on each
// finished channel plane (fast/activation.h). Blocks of channels are split over the thread pool. Which of
// "depthwise" and "depthwise_c8" a layer gets is left to the builder's tactic timing.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/conv_depthwise_c8.h"
#include "backends/cpu/fast/conv_depthwise_ops.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

namespace {

using nn::badData;

bool supportsDepthwiseC8(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  auto no = [&](const char* r) {
    if (why) *why = r;
    return false;
  };
  if (node.inputs.size() < 2 || !node.inputs[0] || !node.inputs[1]) return no("needs X and W");
  const ir::Shape& ws = node.inputs[1]->shape;
  const ir::Shape& xs = node.inputs[0]->shape;
  if (ws.size() != 4 || xs.size() != 4) return no("2-D convolutions only");
  const int64_t group = node.attrs.getInt("group", 1);
  if (group < 2 || ws[0] != group || ws[1] != 1 || (xs[1] >= 0 && xs[1] != group))
    return no("not depthwise (needs group == C == M)");
  return true;
}

struct AlignedScratch {
  std::unique_ptr<float[]> buf;
  int64_t size{0};
  float* get(int64_t n) {
    if (n + 8 > size) {
      buf.reset(new float[static_cast<size_t>(n + 8)]);
      size = n + 8;
    }
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buf.get()) + 31) / 32 * 32);
  }
};

class DepthwiseC8 : public Kernel {
 public:
  explicit DepthwiseC8(const ir::Node& node)
      : attrKernel_(node.attrs.getInts("kernel_shape")), group_(node.attrs.getInt("group", 1)) {
    try {
      act_ = ir::fusedActivationOf(node.attrs);
    } catch (const Error& e) {
      nn::unsupported(node, e.message());
    }
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(2, 1));
  }

  void run(const KernelContext& ctx) const override {
    const dw::Operands op = dw::checkedOperands(ctx, attrKernel_, window_, group_);
    if (ctx.outputs[0].numel == 0) return;
    const int64_t N = op.n, C = op.c;
    const nn::Geom3& g3 = op.g;
    const dwc8::Geometry g{g3.in[1], g3.in[2], g3.out[1], g3.out[2], g3.k[1], g3.k[2], g3.s[1], g3.s[2],
                           g3.d[1], g3.d[2], g3.pb[1], g3.pb[2]};
    const int64_t inSz = g3.inSize(), outSz = g3.outSize(), kSz = g3.kSize();
    const float *X = op.x, *W = op.w, *B = op.bias, *Z = op.z;
    float* Y = op.y;
    const int64_t blocks = (C + 7) / 8, scratch = dwc8::scratchFloats(g);
    parallelFor(ctx.pool, N * blocks, [&](int64_t t0, int64_t t1) {
      thread_local AlignedScratch s;
      float* buf = s.get(scratch);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t n = t / blocks, c0 = (t % blocks) * 8, cb = std::min<int64_t>(8, C - c0);
        const int64_t p0 = n * C + c0;
        dwc8::dwC8BlockAvx2(g, X + p0 * inSz, inSz, W + c0 * kSz, cb, Y + p0 * outSz, outSz, buf, X + N * C * inSz);
        RowEpilogue e;
        e.act = act_;
        for (int64_t c = 0; c < cb; ++c) {
          e.bias = B ? B[c0 + c] : 0.f;
          e.z = Z ? Z + (p0 + c) * outSz : nullptr;
          if (epilogueNeeded(e)) epilogueRow(Y + (p0 + c) * outSz, Y + (p0 + c) * outSz, outSz, e);
        }
      }
    });
  }

 private:
  std::vector<int64_t> attrKernel_;
  int64_t group_;
  ir::nn::Window window_;
  ir::FusedActivation act_;
};

}  // namespace

void registerDepthwiseC8Tactics(KernelRegistry& reg) {
  Tactic t = makeTactic<DepthwiseC8>("depthwise_c8", supportsDepthwiseC8);
  t.requiredCpuFeatures = kCpuAVX2 | kCpuFMA;
  reg.add("Conv", t);
}

}  // namespace kiln::cpu::fast
