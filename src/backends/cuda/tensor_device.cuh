// Device helpers of the CUDA tensor family (.cu files only): double conversions that round like the CPU
// reference (double -> float -> half/bf16), reductions of the scatter ops and a CAS-based atomic update
// for every element size.
#pragma once

#include <type_traits>

#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu::tensor {

template <class T>
__device__ inline double toD(T v) {
  if constexpr (std::is_same_v<T, __half>) return static_cast<double>(__half2float(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return static_cast<double>(__bfloat162float(v));
  else return static_cast<double>(v);
}
template <class T>
__device__ inline T fromD(double v) {
  if constexpr (std::is_same_v<T, __half>) return __float2half_rn(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}
template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

enum Reduction : int32_t { kRedNone = 0, kRedAdd = 1, kRedMul = 2, kRedMax = 3, kRedMin = 4 };

//! dst (op) v like the CPU reference's reduceInto.
template <class T>
__device__ inline T reduceOp(T a, T b, int32_t r) {
  if constexpr (std::is_same_v<T, bool>) {
    if (r == kRedMax || r == kRedAdd) return a || b;
    if (r == kRedMin || r == kRedMul) return a && b;
    return b;
  } else if constexpr (std::is_integral_v<T>) {
    switch (r) {
      case kRedAdd: return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
      case kRedMul: return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
      case kRedMax: return a > b ? a : b;
      case kRedMin: return a < b ? a : b;
      default: return b;
    }
  } else {
    double x = toD(a), y = toD(b);
    switch (r) {
      case kRedAdd: return fromD<T>(x + y);
      case kRedMul: return fromD<T>(x * y);
      case kRedMax: return fromD<T>(fmax(x, y));
      case kRedMin: return fromD<T>(fmin(x, y));
      default: return b;
    }
  }
}

//! *addr = f(*addr) atomically (compare-and-swap on the aligned 4- or 8-byte word that holds it).
template <class T, class F>
__device__ inline void atomicApply(T* addr, F f) {
  if constexpr (sizeof(T) == 8) {
    auto* a = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *a, assumed;
    do {
      assumed = old;
      T cur, nv;
      memcpy(&cur, &assumed, 8);
      nv = f(cur);
      unsigned long long bits;
      memcpy(&bits, &nv, 8);
      old = atomicCAS(a, assumed, bits);
    } while (assumed != old);
  } else {
    uintptr_t p = reinterpret_cast<uintptr_t>(addr);
    auto* w = reinterpret_cast<unsigned int*>(p & ~uintptr_t{3});
    const unsigned shift = static_cast<unsigned>(p & 3) * 8;
    const unsigned mask = sizeof(T) == 4 ? 0xFFFFFFFFu : ((1u << (8 * sizeof(T))) - 1u);
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      unsigned int bits = (assumed >> shift) & mask;
      T cur, nv;
      memcpy(&cur, &bits, sizeof(T));
      nv = f(cur);
      unsigned int nb = 0;
      memcpy(&nb, &nv, sizeof(T));
      unsigned int repl = sizeof(T) == 4 ? nb : ((assumed & ~(mask << shift)) | (nb << shift));
      old = atomicCAS(w, assumed, repl);
    } while (assumed != old);
  }
}

}  // namespace kiln::gpu::tensor
