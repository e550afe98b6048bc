// Reference kernel: LinearAttention (per time step: optional decay of the state, optional delta-rule
// correction of the value, rank-1 state update, readout by the query), computed in float like ONNX's
// reference.
#include <cmath>
#include <vector>

#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu {
namespace {

using tensor_ref::invalid;
using tensor_ref::unsupported;

float loadF(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case DataType::kFLOAT: return v.as<const float>()[i];
    case DataType::kDOUBLE: return static_cast<float>(v.as<const double>()[i]);
    case DataType::kHALF: return static_cast<float>(v.as<const Half>()[i]);
    case DataType::kBF16: return static_cast<float>(v.as<const BFloat16>()[i]);
    default: unsupported("LinearAttention: floating-point tensors only");
  }
}
void storeF(const TensorView& v, int64_t i, float x) {
  switch (v.dtype) {
    case DataType::kFLOAT: v.as<float>()[i] = x; return;
    case DataType::kDOUBLE: v.as<double>()[i] = x; return;
    case DataType::kHALF: v.as<Half>()[i] = Half(x); return;
    case DataType::kBF16: v.as<BFloat16>()[i] = BFloat16(x); return;
    default: unsupported("LinearAttention: floating-point tensors only");
  }
}

class LinearAttentionKernel : public Kernel {
 public:
  explicit LinearAttentionKernel(const ir::Node& node)
      : qh_(node.attrs.getInt("q_num_heads", 0)),
        kvh_(node.attrs.getInt("kv_num_heads", 0)),
        scale_(node.attrs.getFloat("scale", 0.0)) {
    std::string rule = node.attrs.getString("update_rule", "gated_delta");
    gating_ = rule == "gated" || rule == "gated_delta";
    delta_ = rule == "delta" || rule == "gated_delta";
    if (qh_ <= 0 || kvh_ <= 0 || qh_ % kvh_) unsupported("LinearAttention: invalid head counts");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView &q = ctx.inputs[0], &k = ctx.inputs[1], &v = ctx.inputs[2];
    const TensorView* past = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView* decay = ctx.inputs.size() > 4 && ctx.inputs[4].present ? &ctx.inputs[4] : nullptr;
    const TensorView* beta = ctx.inputs.size() > 5 && ctx.inputs[5].present ? &ctx.inputs[5] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) invalid("LinearAttention: inputs must be rank 3");
    const int64_t b = q.dim(0), t = q.dim(1);
    if (q.dim(2) % qh_ || v.dim(2) % kvh_) invalid("LinearAttention: hidden sizes not divisible by the heads");
    const int64_t dk = q.dim(2) / qh_, dv = v.dim(2) / kvh_, group = qh_ / kvh_;
    if (k.dim(0) != b || v.dim(0) != b || k.dim(1) != t || v.dim(1) != t || k.dim(2) != kvh_ * dk)
      invalid("LinearAttention: query/key/value shapes do not match");
    if (gating_ != (decay != nullptr) || delta_ != (beta != nullptr)) invalid("LinearAttention: decay/beta do not match update_rule");
    int64_t decayLast = 0, betaLast = 0;
    if (decay) {
      decayLast = decay->dim(2);
      if (decay->rank() != 3 || decay->dim(0) != b || decay->dim(1) != t || (decayLast != kvh_ && decayLast != kvh_ * dk))
        invalid("LinearAttention: bad decay shape");
    }
    if (beta) {
      betaLast = beta->dim(2);
      if (beta->rank() != 3 || beta->dim(0) != b || beta->dim(1) != t || (betaLast != kvh_ && betaLast != 1))
        invalid("LinearAttention: bad beta shape");
    }
    const int64_t stateN = b * kvh_ * dk * dv;
    std::vector<float> state(static_cast<size_t>(stateN), 0.f);
    if (past) {
      if (past->numel != stateN || past->rank() != 4 || past->dim(1) != kvh_ || past->dim(2) != dk || past->dim(3) != dv)
        invalid("LinearAttention: bad past_state shape");
      for (int64_t i = 0; i < stateN; ++i) state[static_cast<size_t>(i)] = loadF(*past, i);
    }
    const float scale = scale_ == 0.0 ? 1.f / std::sqrt(static_cast<float>(dk)) : static_cast<float>(scale_);
    std::vector<float> kt(static_cast<size_t>(dk)), vt(static_cast<size_t>(dv)), ret(static_cast<size_t>(dv));
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < kvh_; ++h) {
        float* s = state.data() + (bi * kvh_ + h) * dk * dv;
        for (int64_t ti = 0; ti < t; ++ti) {
          const int64_t row = bi * t + ti;
          for (int64_t d = 0; d < dk; ++d) kt[static_cast<size_t>(d)] = loadF(k, row * kvh_ * dk + h * dk + d);
          for (int64_t m = 0; m < dv; ++m) vt[static_cast<size_t>(m)] = loadF(v, row * kvh_ * dv + h * dv + m);
          if (decay) {
            for (int64_t d = 0; d < dk; ++d) {
              int64_t di = decayLast == kvh_ ? row * kvh_ + h : row * kvh_ * dk + h * dk + d;
              const float g = std::exp(loadF(*decay, di));
              for (int64_t m = 0; m < dv; ++m) s[d * dv + m] *= g;
            }
          }
          if (beta) {
            const float be = loadF(*beta, betaLast == 1 ? row : row * kvh_ + h);
            for (int64_t m = 0; m < dv; ++m) {
              float r = 0.f;
              for (int64_t d = 0; d < dk; ++d) r += s[d * dv + m] * kt[static_cast<size_t>(d)];
              ret[static_cast<size_t>(m)] = r;
            }
            for (int64_t m = 0; m < dv; ++m) vt[static_cast<size_t>(m)] = be * (vt[static_cast<size_t>(m)] - ret[static_cast<size_t>(m)]);
          }
          for (int64_t d = 0; d < dk; ++d)
            for (int64_t m = 0; m < dv; ++m) s[d * dv + m] += kt[static_cast<size_t>(d)] * vt[static_cast<size_t>(m)];
          for (int64_t g = 0; g < group; ++g) {
            const int64_t hq = h * group + g;
            for (int64_t m = 0; m < dv; ++m) {
              float o = 0.f;
              for (int64_t d = 0; d < dk; ++d) o += loadF(q, row * qh_ * dk + hq * dk + d) * s[d * dv + m];
              storeF(y, row * qh_ * dv + hq * dv + m, scale * o);
            }
          }
        }
      }
    if (ctx.outputs.size() > 1 && ctx.outputs[1].present) {
      const TensorView& ps = ctx.outputs[1];
      if (ps.numel != stateN) invalid("LinearAttention: present_state size mismatch");
      for (int64_t i = 0; i < stateN; ++i) storeF(ps, i, state[static_cast<size_t>(i)]);
    }
  }

 private:
  int64_t qh_, kvh_;
  double scale_;
  bool gating_{false}, delta_{false};
};

}  // namespace

void registerAttentionKernels(KernelRegistry& reg) { reg.add("LinearAttention", refTactic<LinearAttentionKernel>()); }

}  // namespace kiln::cpu
