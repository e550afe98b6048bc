// The fused activation (kiln_act) over a register array, with the switch on the activation taken once per
// array instead of once per element: applyAct (epilogue.cuh) inlined per element of an unrolled epilogue
// turns every element into a multi-way branch with all ten activations' code, which made the channels-last
// convolution kernels (conv_depthwise.cu, conv_pointwise.cu, conv_smallc.cu) several times slower than their
// memory traffic. Same formulas as applyAct.
#pragma once

#include "backends/cuda/epilogue.cuh"

namespace kiln::gpu {

template <int N>
__device__ __forceinline__ void actArray(float (&v)[N], const ActParams& a) {
  switch (a.act) {
    case Act::kNone: return;
    case Act::kRelu:
#pragma unroll
      for (int i = 0; i < N; ++i) v[i] = v[i] > 0.f ? v[i] : 0.f;
      return;
    case Act::kClip:
#pragma unroll
      for (int i = 0; i < N; ++i) v[i] = v[i] < a.alpha ? a.alpha : (v[i] > a.beta ? a.beta : v[i]);
      return;
    case Act::kSilu:
#pragma unroll
      for (int i = 0; i < N; ++i) v[i] = v[i] / (1.f + expf(-v[i]));
      return;
    case Act::kHardSwish:
#pragma unroll
      for (int i = 0; i < N; ++i) v[i] = v[i] * fmaxf(0.f, fminf(1.f, v[i] / 6.f + 0.5f));
      return;
    default:
#pragma unroll
      for (int i = 0; i < N; ++i) v[i] = applyAct(v[i], a);
      return;
  }
}

//! The same on a 2-D register array (viewed as one of N * M elements).
template <int N, int M>
__device__ __forceinline__ void actArray(float (&v)[N][M], const ActParams& a) {
  actArray<N * M>(*reinterpret_cast<float(*)[N * M]>(&v[0][0]), a);
}

}  // namespace kiln::gpu
