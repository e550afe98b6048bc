// The fused activations of Conv / MatMul / Gemm epilogues (kiln_act, see docs/ir/nn.md) as a device
// function, for the kernels that apply them in registers (blas_helpers.cu, conv_depthwise.cu).
#pragma once

#include "backends/cuda/blas_helpers.h"

namespace kiln::gpu {

template <class A>
__device__ __forceinline__ A applyAct(A v, const ActParams& a) {
  switch (a.act) {
    case Act::kNone: break;
    case Act::kRelu: v = v > A(0) ? v : A(0); break;
    case Act::kClip: v = v < A(a.alpha) ? A(a.alpha) : (v > A(a.beta) ? A(a.beta) : v); break;
    case Act::kLeakyRelu: v = v >= A(0) ? v : v * A(a.alpha); break;
    case Act::kSigmoid: v = A(1) / (A(1) + exp(-v)); break;
    case Act::kTanh: v = tanh(v); break;
    case Act::kHardSigmoid: v = fmax(A(0), fmin(A(1), A(a.alpha) * v + A(a.beta))); break;
    case Act::kHardSwish: v = v * fmax(A(0), fmin(A(1), v / A(6) + A(0.5))); break;
    case Act::kSilu: v = v / (A(1) + exp(-v)); break;
    case Act::kGelu: v = A(0.5) * v * (A(1) + erf(v * A(0.70710678118654752440))); break;
  }
  return v;
}

}  // namespace kiln::gpu
