// Private to the Cast GPU kernel (elementwise_cast*.cu): element conversions with the CPU reference's
// semantics, split over two files by source type to keep each compile short.
#pragma once

#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {

//! Double to float rounded to odd: rounding that to float16/bfloat16 gives the correctly rounded result
//! of the double (no double rounding), like the reference's roundToOddFloat.
__device__ __forceinline__ float roundToOddFloat(double v) {
  const float f = __double2float_rz(v);
  if (isnan(v) || static_cast<double>(f) == v) return f;
  return __uint_as_float(__float_as_uint(f) | 1u);
}

template <class T>
__device__ __forceinline__ T fromDouble(double v) {
  if constexpr (std::is_same_v<T, __half>)
    return __float2half_rn(roundToOddFloat(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __float2bfloat16_rn(roundToOddFloat(v));
  else
    return static_cast<T>(v);
}

//! One element (bool sources arrive as 0/1 bytes). Float -> int truncates toward zero (NaN -> 0, out of
//! range saturates); to bool: != 0; float -> float16/bfloat16 rounds once to nearest even; int -> int wraps.
template <class To, class From>
__device__ __forceinline__ To convertElement(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return ld(v) != 0;
  } else if constexpr (kFloat<From>) {
    if constexpr (kInt<To>)
      return saturateToInt<To>(static_cast<double>(ld(v)));
    else if constexpr (std::is_same_v<To, float>)
      return static_cast<float>(ld(v));
    else if constexpr (std::is_same_v<From, float>)
      return fromAcc<To>(v);  // float -> half/bf16 (round to nearest even) or double (exact)
    else
      return fromDouble<To>(static_cast<double>(ld(v)));
  } else {
    if constexpr (kInt<To> || std::is_same_v<To, float> || std::is_same_v<To, double>)
      return static_cast<To>(v);
    else
      return fromDouble<To>(static_cast<double>(v));  // half/bf16
  }
}

//! y[i] = convert(x[i]); kBoolSrc: x holds bool bytes (any non-zero byte is true), read as uint8 0/1.
template <class From, class To, bool kBoolSrc>
__global__ void __launch_bounds__(kThreads) castKernel(const From* x, To* y, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  auto cvt = [](From v) -> To {
    if constexpr (kBoolSrc)
      return convertElement<To, From>(static_cast<From>(v != 0 ? 1 : 0));
    else
      return convertElement<To, From>(v);
  };
  if (vec) {
    constexpr int V = vecWidth<From, To>();
    const int64_t nv = n / V;
    for (int64_t j = i; j < nv; j += stride) {
      const Pack<From, V> a = reinterpret_cast<const Pack<From, V>*>(x)[j];
      Pack<To, V> r;
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = cvt(a.v[e]);
      reinterpret_cast<Pack<To, V>*>(y)[j] = r;
    }
    i += nv * V;
  }
  for (; i < n; i += stride) y[i] = cvt(x[i]);
}

template <class From, class To, bool kBoolSrc = false>
void launchCast(const TensorView& x, const TensorView& y, cudaStream_t s) {
  const int64_t n = y.numel;
  constexpr int V = vecWidth<From, To>();
  const bool vec = V > 1 && n >= V && aligned(x.data, sizeof(From) * V) && aligned(y.data, sizeof(To) * V);
  castKernel<From, To, kBoolSrc><<<blocksFor(vec ? n / V : n, kThreads), kThreads, 0, s>>>(
      static_cast<const From*>(x.data), static_cast<To*>(y.data), n, vec);
  checkLaunch("Cast");
}

// Per source-type group (elementwise_cast_float.cu / elementwise_cast_int.cu): queue y = Cast(x).
void castFromFloat(const TensorView& x, const TensorView& y, cudaStream_t s);
void castFromInt(const TensorView& x, const TensorView& y, cudaStream_t s);  // ints and bool

}  // namespace kiln::gpu::ew
