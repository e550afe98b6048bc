// Vector loads and stores of V consecutive elements converted to / from float, for the channels-last
// convolution kernels (conv_depthwise.cu, conv_pointwise.cu): V = 8 for half / bfloat16 (one 16-byte access),
// V = 4 for float (one float4), V = 1 for any of them. The pointer must be aligned to the access size.
#pragma once

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

__device__ __forceinline__ float2 pairToFloat2(__half2 h) { return __half22float2(h); }
__device__ __forceinline__ float2 pairToFloat2(__nv_bfloat162 h) { return __bfloat1622float2(h); }

template <class T> struct PairOf;
template <> struct PairOf<__half> {
  using type = __half2;
  __device__ __forceinline__ static type make(float a, float b) { return __floats2half2_rn(a, b); }
};
template <> struct PairOf<__nv_bfloat16> {
  using type = __nv_bfloat162;
  __device__ __forceinline__ static type make(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

template <class T, int V>
__device__ __forceinline__ void loadVec(const T* __restrict__ p, float (&v)[V]) {
  if constexpr (V == 1) {
    v[0] = toAcc(*p);
  } else if constexpr (std::is_same_v<T, float>) {
    static_assert(V == 4, "float vectors hold 4 elements");
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  } else {
    static_assert(V == 8, "16-bit vectors hold 8 elements");
    const uint4 q = *reinterpret_cast<const uint4*>(p);
    const auto* h = reinterpret_cast<const typename PairOf<T>::type*>(&q);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = pairToFloat2(h[i]);
      v[2 * i] = f.x, v[2 * i + 1] = f.y;
    }
  }
}

template <class T, int V>
__device__ __forceinline__ void storeVec(T* __restrict__ p, const float (&v)[V]) {
  if constexpr (V == 1) {
    *p = fromAcc<T>(v[0]);
  } else if constexpr (std::is_same_v<T, float>) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
    uint4 q;
    auto* h = reinterpret_cast<typename PairOf<T>::type*>(&q);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = PairOf<T>::make(v[2 * i], v[2 * i + 1]);
    *reinterpret_cast<uint4*>(p) = q;
  }
}

//! 16 bytes from global memory through the read-only path where `pred`, else zeros: a predicated load (no
//! branch, no select waiting on the data), so that a run of them is in flight together. `p` must be valid
//! and 16-byte aligned where pred holds.
__device__ __forceinline__ uint4 ldg16OrZero(const void* p, bool pred) {
  uint4 r;
  asm("{\n"
      "  .reg .pred q;\n"
      "  setp.ne.b32 q, %5, 0;\n"
      "  mov.b32 %0, 0;\n"
      "  mov.b32 %1, 0;\n"
      "  mov.b32 %2, 0;\n"
      "  mov.b32 %3, 0;\n"
      "  @q ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];\n"
      "}\n"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p), "r"(static_cast<int>(pred)));
  return r;
}

//! The raw bits of a V-element vector (loaded now, converted later) and their conversion to float (zero
//! bits are +0.0 in every element for float, half and bfloat16).
template <class T, int V>
struct RawVec {
  using type = std::conditional_t<V == 1, T, std::conditional_t<std::is_same_v<T, float>, float4, uint4>>;
  __device__ __forceinline__ static type load(const T* __restrict__ p) { return *reinterpret_cast<const type*>(p); }
  //! *p where ok, else zeros; p must be a valid address either way (V == 1: a load and a select)
  __device__ __forceinline__ static type loadOrZero(const T* __restrict__ p, bool ok) {
    if constexpr (V == 1) {
      const T v = *p;
      return ok ? v : fromAcc<T>(0.f);
    } else if constexpr (std::is_same_v<T, float>) {
      const uint4 b = ldg16OrZero(p, ok);
      return make_float4(__uint_as_float(b.x), __uint_as_float(b.y), __uint_as_float(b.z), __uint_as_float(b.w));
    } else {
      return ldg16OrZero(p, ok);
    }
  }
  __device__ __forceinline__ static void toFloat(const type& raw, float (&v)[V]) {
    if constexpr (V == 1) {
      v[0] = toAcc(raw);
    } else if constexpr (std::is_same_v<T, float>) {
      v[0] = raw.x, v[1] = raw.y, v[2] = raw.z, v[3] = raw.w;
    } else {
      const auto* h = reinterpret_cast<const typename PairOf<T>::type*>(&raw);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 f = pairToFloat2(h[i]);
        v[2 * i] = f.x, v[2 * i + 1] = f.y;
      }
    }
  }
};

}  // namespace kiln::gpu
