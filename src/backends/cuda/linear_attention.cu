// CUDA kernel: LinearAttention (update rules linear / gated / delta / gated_delta, GQA/MQA head groups,
// per-head or per-key decay, per-head or scalar beta, optional past_state and present_state).
//
// Same float arithmetic as the CPU reference (src/backends/cpu/ref/attention.cpp), without contractions
// into FMAs. One thread per (batch, kv head, value column m): column m of the dk x dv state evolves
// independently of the others (the delta rule's readout S^T k and the query readout both reduce over the
// key dim only), so a thread walks the time steps alone, keeping its column in the workspace.
#include <cmath>

#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/small_types_device.cuh"
#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu {
namespace {

using tensor::invalid;
using tensor::unsupported;

struct LinAttnArgs {
  const void *q, *k, *v, *past, *decay, *beta;
  void *y, *present;
  int32_t qt, kt, vt, pt, dt, bt, yt, st;
  int64_t b, t, qh, kvh, dk, dv, group, decayLast, betaLast;
  float scale;
  float* state;  // workspace: b * kvh * dk * dv
};

__device__ inline float ldf(int32_t t, const void* p, int64_t i) { return static_cast<float>(small::loadD(t, p, i)); }

__global__ void linearAttentionKernel(LinAttnArgs a) {
  const int64_t total = a.b * a.kvh * a.dv;
  for (int64_t id = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; id < total;
       id += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t m = id % a.dv, h = (id / a.dv) % a.kvh, bi = id / (a.dv * a.kvh);
    float* s = a.state + (bi * a.kvh + h) * a.dk * a.dv;  // column m: s[d * dv + m]
    for (int64_t d = 0; d < a.dk; ++d) s[d * a.dv + m] = a.past ? ldf(a.pt, a.past, (bi * a.kvh + h) * a.dk * a.dv + d * a.dv + m) : 0.f;
    for (int64_t ti = 0; ti < a.t; ++ti) {
      const int64_t row = bi * a.t + ti;
      const int64_t kb = row * a.kvh * a.dk + h * a.dk;
      float vt = ldf(a.vt, a.v, row * a.kvh * a.dv + h * a.dv + m);
      if (a.decay) {
        for (int64_t d = 0; d < a.dk; ++d) {
          const int64_t di = a.decayLast == a.kvh ? row * a.kvh + h : row * a.kvh * a.dk + h * a.dk + d;
          const float g = expf(ldf(a.dt, a.decay, di));
          s[d * a.dv + m] = __fmul_rn(s[d * a.dv + m], g);
        }
      }
      if (a.beta) {
        const float be = ldf(a.bt, a.beta, a.betaLast == 1 ? row : row * a.kvh + h);
        float r = 0.f;
        for (int64_t d = 0; d < a.dk; ++d) r = __fadd_rn(r, __fmul_rn(s[d * a.dv + m], ldf(a.kt, a.k, kb + d)));
        vt = __fmul_rn(be, __fsub_rn(vt, r));
      }
      for (int64_t d = 0; d < a.dk; ++d) s[d * a.dv + m] = __fadd_rn(s[d * a.dv + m], __fmul_rn(ldf(a.kt, a.k, kb + d), vt));
      for (int64_t g = 0; g < a.group; ++g) {
        const int64_t hq = h * a.group + g;
        float o = 0.f;
        for (int64_t d = 0; d < a.dk; ++d) o = __fadd_rn(o, __fmul_rn(ldf(a.qt, a.q, row * a.qh * a.dk + hq * a.dk + d), s[d * a.dv + m]));
        small::storeFloatD(a.yt, a.y, row * a.qh * a.dv + hq * a.dv + m, __fmul_rn(a.scale, o));
      }
    }
    if (a.present)
      for (int64_t d = 0; d < a.dk; ++d)
        small::storeFloatD(a.st, a.present, (bi * a.kvh + h) * a.dk * a.dv + d * a.dv + m, s[d * a.dv + m]);
  }
}

bool isFloatType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16;
}

class LinearAttentionKernel final : public Kernel {
 public:
  explicit LinearAttentionKernel(const ir::Node& node)
      : qh_(node.attrs.getInt("q_num_heads", 0)), kvh_(node.attrs.getInt("kv_num_heads", 0)), scale_(node.attrs.getFloat("scale", 0.0)) {
    const std::string rule = node.attrs.getString("update_rule", "gated_delta");
    gating_ = rule == "gated" || rule == "gated_delta";
    delta_ = rule == "delta" || rule == "gated_delta";
    if (qh_ <= 0 || kvh_ <= 0 || qh_ % kvh_) unsupported("LinearAttention: invalid head counts");
    for (const ir::Value* in : node.inputs)
      if (in && !isFloatType(in->dtype))
        unsupported(std::string("LinearAttention: inputs of type ") + dataTypeName(in->dtype) + " are not supported on the GPU");
  }
  static int64_t stateElems(std::span<const TensorView> in, int64_t kvh, int64_t qh) {
    if (in.size() < 3 || in[0].rank() != 3 || in[2].rank() != 3 || in[0].dim(2) % qh || in[2].dim(2) % kvh) return 0;
    return in[0].dim(0) * kvh * (in[0].dim(2) / qh) * (in[2].dim(2) / kvh);
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return static_cast<std::size_t>(stateElems(in, kvh_, qh_)) * sizeof(float);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView &q = ctx.inputs[0], &k = ctx.inputs[1], &v = ctx.inputs[2];
    const bool hasPast = tensor::present(ctx, 3), hasDecay = tensor::present(ctx, 4), hasBeta = tensor::present(ctx, 5);
    const TensorView& y = ctx.outputs[0];
    if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) invalid("LinearAttention: inputs must be rank 3");
    LinAttnArgs a{};
    a.b = q.dim(0), a.t = q.dim(1), a.qh = qh_, a.kvh = kvh_;
    if (q.dim(2) % qh_ || v.dim(2) % kvh_) invalid("LinearAttention: hidden sizes not divisible by the heads");
    a.dk = q.dim(2) / qh_, a.dv = v.dim(2) / kvh_, a.group = qh_ / kvh_;
    if (k.dim(0) != a.b || v.dim(0) != a.b || k.dim(1) != a.t || v.dim(1) != a.t || k.dim(2) != kvh_ * a.dk)
      invalid("LinearAttention: query/key/value shapes do not match");
    if (gating_ != hasDecay || delta_ != hasBeta) invalid("LinearAttention: decay/beta do not match update_rule");
    if (hasDecay) {
      const TensorView& d = ctx.inputs[4];
      a.decayLast = d.dim(2);
      if (d.rank() != 3 || d.dim(0) != a.b || d.dim(1) != a.t || (a.decayLast != kvh_ && a.decayLast != kvh_ * a.dk))
        invalid("LinearAttention: bad decay shape");
      a.decay = d.data, a.dt = static_cast<int32_t>(d.dtype);
    }
    if (hasBeta) {
      const TensorView& be = ctx.inputs[5];
      a.betaLast = be.dim(2);
      if (be.rank() != 3 || be.dim(0) != a.b || be.dim(1) != a.t || (a.betaLast != kvh_ && a.betaLast != 1))
        invalid("LinearAttention: bad beta shape");
      a.beta = be.data, a.bt = static_cast<int32_t>(be.dtype);
    }
    const int64_t stateN = a.b * kvh_ * a.dk * a.dv;
    if (hasPast) {
      const TensorView& p = ctx.inputs[3];
      if (p.numel != stateN || p.rank() != 4 || p.dim(1) != kvh_ || p.dim(2) != a.dk || p.dim(3) != a.dv)
        invalid("LinearAttention: bad past_state shape");
      a.past = p.data, a.pt = static_cast<int32_t>(p.dtype);
    }
    if (ctx.outputs.size() > 1 && ctx.outputs[1].present) {
      if (ctx.outputs[1].numel != stateN) invalid("LinearAttention: present_state size mismatch");
      a.present = ctx.outputs[1].data, a.st = static_cast<int32_t>(ctx.outputs[1].dtype);
    }
    a.scale = scale_ == 0.0 ? 1.f / sqrtf(static_cast<float>(a.dk)) : static_cast<float>(scale_);
    a.q = q.data, a.k = k.data, a.v = v.data, a.y = y.data;
    a.qt = static_cast<int32_t>(q.dtype), a.kt = static_cast<int32_t>(k.dtype), a.vt = static_cast<int32_t>(v.dtype);
    a.yt = static_cast<int32_t>(y.dtype);
    if (stateN == 0) return;
    if (ctx.workspaceBytes < static_cast<std::size_t>(stateN) * sizeof(float)) invalid("LinearAttention: workspace too small");
    a.state = static_cast<float*>(ctx.workspace);
    const int64_t threads = a.b * kvh_ * a.dv;
    linearAttentionKernel<<<blocksFor(threads, 128), 128, 0, streamOf(ctx)>>>(a);
    checkLaunch("LinearAttention");
  }

 private:
  int64_t qh_, kvh_;
  double scale_;
  bool gating_{false}, delta_{false};
};

}  // namespace

void registerLinearAttentionKernels(KernelRegistry& reg) {
  reg.add("LinearAttention", tensor::cudaTactic<LinearAttentionKernel>());
}

}  // namespace kiln::gpu
