// Device-side element access of every kiln type by its run-time DataType code (.cu files only): loads as
// double, stores of float / integer values, and the conversions of the small storage types (float8
// e4m3fn/e4m3fnuz/e5m2/e5m2fnuz, e8m0, float4 e2m1 and the one-byte-per-element int4/uint4/int2/uint2).
// These follow src/core/small_types.cpp exactly (round half to even, the same saturation and NaN rules),
// so GPU results of the quantization ops match the CPU reference bit for bit.
//
// Dispatching on a run-time code inside a kernel keeps one instantiation per kernel (the code is uniform
// across a launch, so the switch costs no divergence); it suits the memory-bound ops that use it.
#pragma once

#include <cstdint>

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu::small {

// Format of a small float: exponent/mantissa bits, bias, largest finite value, NaN/inf convention.
enum FmtKind : int32_t { kFN = 0, kIEEE = 1, kFNUZ = 2, kNoNaN = 3 };
struct Fmt {
  int ebits, mbits, bias;
  double maxv;
  int32_t kind;
};

__host__ __device__ inline bool fmtOf(int32_t t, Fmt* f) {
  switch (static_cast<DataType>(t)) {
    case DataType::kFP8: *f = {4, 3, 7, 448.0, kFN}; return true;
    case DataType::kFP8E4M3FNUZ: *f = {4, 3, 8, 240.0, kFNUZ}; return true;
    case DataType::kFP8E5M2: *f = {5, 2, 15, 57344.0, kIEEE}; return true;
    case DataType::kFP8E5M2FNUZ: *f = {5, 2, 16, 57344.0, kFNUZ}; return true;
    case DataType::kFP4: *f = {2, 1, 1, 6.0, kNoNaN}; return true;
    default: return false;
  }
}

__device__ inline float decode(const Fmt& f, uint8_t code) {
  const int bits = 1 + f.ebits + f.mbits;
  const bool neg = (code >> (bits - 1)) & 1u;
  const int e = (code >> f.mbits) & ((1 << f.ebits) - 1);
  const int m = code & ((1 << f.mbits) - 1);
  const int emax = (1 << f.ebits) - 1;
  if (f.kind == kFNUZ && code == 0x80) return __int_as_float(0x7fc00000);
  if (f.kind == kFN && e == emax && m == (1 << f.mbits) - 1) return __int_as_float(neg ? 0xffc00000 : 0x7fc00000);
  if (f.kind == kIEEE && e == emax)
    return m == 0 ? __int_as_float(neg ? 0xff800000 : 0x7f800000) : __int_as_float(neg ? 0xffc00000 : 0x7fc00000);
  double v = e == 0 ? ldexp(static_cast<double>(m), 1 - f.bias - f.mbits)
                    : ldexp(1.0 + ldexp(static_cast<double>(m), -f.mbits), e - f.bias);
  return static_cast<float>(neg ? -v : v);
}

__device__ inline uint8_t encodeFinite(const Fmt& f, bool neg, double r) {
  const uint8_t signBit = static_cast<uint8_t>(neg ? 1u << (f.ebits + f.mbits) : 0u);
  if (r == 0) return f.kind == kFNUZ ? 0 : signBit;
  unsigned exp, mant;
  if (r < ldexp(1.0, 1 - f.bias)) {
    exp = 0;
    mant = static_cast<unsigned>(ldexp(r, f.bias - 1 + f.mbits));
  } else {
    int e2;
    frexp(r, &e2);
    exp = static_cast<unsigned>(e2 - 1 + f.bias);
    mant = static_cast<unsigned>(ldexp(ldexp(r, -(e2 - 1)) - 1.0, f.mbits));
  }
  return static_cast<uint8_t>(signBit | exp << f.mbits | mant);
}

__device__ inline uint8_t encode(const Fmt& f, float v, bool saturate) {
  const bool neg = signbit(v);
  const uint8_t signBit = static_cast<uint8_t>(neg ? 1u << (f.ebits + f.mbits) : 0u);
  if (f.kind == kNoNaN) saturate = true;
  if (isnan(v)) {
    switch (f.kind) {
      case kFN: return static_cast<uint8_t>(0x7f | signBit);
      case kIEEE: return static_cast<uint8_t>(0x7e | signBit);
      case kFNUZ: return 0x80;
      default: return neg ? 0x0 : 0x8;
    }
  }
  const double a = fabs(static_cast<double>(v));
  bool over = isinf(a);
  double r = 0;
  if (!over) {
    int e;
    frexp(a, &e);
    int E = e - 1;
    if (E < 1 - f.bias) E = 1 - f.bias;
    const double q = ldexp(1.0, E - f.mbits);
    r = rint(a / q) * q;  // half to even
    over = r > f.maxv;
  }
  if (over) {
    if (saturate) return encodeFinite(f, neg, f.maxv);
    switch (f.kind) {
      case kFN: return static_cast<uint8_t>(0x7f | signBit);
      case kIEEE: return static_cast<uint8_t>(0x7c | signBit);
      default: return 0x80;
    }
  }
  return encodeFinite(f, neg, r);
}

//! e8m0 rounding (Cast's round_mode; QuantizeLinear uses kUp), as core/small_types.h's E8M0Round.
enum E8M0Mode : int32_t { kE8M0Up = 0, kE8M0Down = 1, kE8M0Nearest = 2 };

__device__ inline uint8_t encodeE8M0(float v, bool saturate, int32_t mode) {
  const uint32_t bits = static_cast<uint32_t>(__float_as_int(v));
  uint32_t exponent = (bits >> 23) & 0xffu;
  if (exponent == 0xffu) return 0xff;
  bool up = false;
  if (mode == kE8M0Up) {
    up = (bits & 0x7fffffu) != 0;
  } else if (mode == kE8M0Nearest) {
    const bool g = bits & 0x400000u, r = bits & 0x200000u, s = (bits & 0x1fffffu) != 0, lsb = exponent > 0;
    up = g && (r || s || lsb);
  }
  if (up && saturate && exponent == 0xfeu) up = false;
  if (up) ++exponent;
  return static_cast<uint8_t>(exponent & 0xffu);
}

__device__ inline bool isSignedSmallInt(int32_t t) {
  return t == static_cast<int32_t>(DataType::kINT4) || t == static_cast<int32_t>(DataType::kINT2);
}

//! Element i of a tensor of type t as double (bool as 0/1; small floats decoded exactly).
__device__ inline double loadD(int32_t t, const void* p, int64_t i) {
  switch (static_cast<DataType>(t)) {
    case DataType::kFLOAT: return static_cast<const float*>(p)[i];
    case DataType::kDOUBLE: return static_cast<const double*>(p)[i];
    case DataType::kHALF: return __half2float(static_cast<const __half*>(p)[i]);
    case DataType::kBF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DataType::kINT8: return static_cast<const int8_t*>(p)[i];
    case DataType::kUINT8: return static_cast<const uint8_t*>(p)[i];
    case DataType::kINT16: return static_cast<const int16_t*>(p)[i];
    case DataType::kUINT16: return static_cast<const uint16_t*>(p)[i];
    case DataType::kINT32: return static_cast<const int32_t*>(p)[i];
    case DataType::kUINT32: return static_cast<const uint32_t*>(p)[i];
    case DataType::kINT64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kUINT64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DataType::kBOOL: return static_cast<const uint8_t*>(p)[i] != 0 ? 1.0 : 0.0;
    case DataType::kINT4:
    case DataType::kINT2: return static_cast<const int8_t*>(p)[i];
    case DataType::kUINT4:
    case DataType::kUINT2: return static_cast<const uint8_t*>(p)[i];
    case DataType::kE8M0: {
      const uint8_t b = static_cast<const uint8_t*>(p)[i];
      return b == 0xff ? __int_as_float(0x7fc00000) : ldexp(1.0, static_cast<int>(b) - 127);
    }
    default: {
      Fmt f;
      if (fmtOf(t, &f)) return decode(f, static_cast<const uint8_t*>(p)[i]);
      return 0.0;
    }
  }
}

//! Stores v into a float-typed tensor (float, double, half, bf16) rounding to nearest even via float.
__device__ inline void storeFloatD(int32_t t, void* p, int64_t i, double v) {
  switch (static_cast<DataType>(t)) {
    case DataType::kDOUBLE: static_cast<double*>(p)[i] = v; break;
    case DataType::kHALF: static_cast<__half*>(p)[i] = __float2half_rn(static_cast<float>(v)); break;
    case DataType::kBF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(static_cast<float>(v)); break;
    default: static_cast<float*>(p)[i] = static_cast<float>(v); break;
  }
}

//! Stores an in-range integer into an integer-typed tensor (sub-byte types: one byte, sign-extended).
__device__ inline void storeIntI(int32_t t, void* p, int64_t i, int64_t v) {
  switch (static_cast<DataType>(t)) {
    case DataType::kINT16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v); break;
    case DataType::kUINT16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v); break;
    case DataType::kINT32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    default: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(static_cast<int8_t>(v)); break;
  }
}

//! Float to a small float type's code (float8, float4, e8m0).
__device__ inline uint8_t floatToSmallF(int32_t t, float v, bool saturate) {
  if (t == static_cast<int32_t>(DataType::kE8M0)) return encodeE8M0(v, saturate, kE8M0Up);
  Fmt f;
  if (!fmtOf(t, &f)) return 0;
  return encode(f, v, saturate);
}

//! Rounds v to the precision of float type t (the type a computation happens in; others: unchanged).
__device__ inline double roundTo(int32_t t, double v) {
  switch (static_cast<DataType>(t)) {
    case DataType::kFLOAT: return static_cast<double>(static_cast<float>(v));
    case DataType::kHALF: return static_cast<double>(__half2float(__float2half_rn(static_cast<float>(v))));
    case DataType::kBF16: return static_cast<double>(__bfloat162float(__float2bfloat16_rn(static_cast<float>(v))));
    default: return v;
  }
}

//! Whether t is a float-like small type (float8 variants, e8m0, float4).
__host__ __device__ inline bool isSmallFloatCode(int32_t t) {
  switch (static_cast<DataType>(t)) {
    case DataType::kFP8:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2:
    case DataType::kFP8E5M2FNUZ:
    case DataType::kFP4:
    case DataType::kE8M0: return true;
    default: return false;
  }
}
//! Whether t is stored one byte per element as a small type (small floats and the sub-byte integers).
__host__ __device__ inline bool isSmallStorageCode(int32_t t) {
  switch (static_cast<DataType>(t)) {
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2: return true;
    default: return isSmallFloatCode(t);
  }
}

//! Value of a stored element of a small float type.
__device__ inline float smallToFloat(int32_t t, uint8_t b) {
  if (t == static_cast<int32_t>(DataType::kE8M0)) return b == 0xff ? __int_as_float(0x7fc00000) : ldexpf(1.0f, static_cast<int>(b) - 127);
  Fmt f;
  if (fmtOf(t, &f)) return decode(f, b);
  return 0.f;
}
//! Integer value of a stored element of int4/uint4/int2/uint2.
__device__ inline int64_t smallIntValue(int32_t t, uint8_t b) {
  return isSignedSmallInt(t) ? static_cast<int64_t>(static_cast<int8_t>(b)) : static_cast<int64_t>(b);
}
//! Two's complement wrap of an integer into int4/uint4/int2/uint2 storage.
__device__ inline uint8_t wrapSmallInt(int32_t t, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  switch (static_cast<DataType>(t)) {
    case DataType::kINT4: return static_cast<uint8_t>(static_cast<int8_t>(((u & 0xfu) ^ 0x8u)) - 8);
    case DataType::kUINT4: return static_cast<uint8_t>(u & 0xfu);
    case DataType::kINT2: return static_cast<uint8_t>(static_cast<int8_t>(((u & 0x3u) ^ 0x2u)) - 2);
    case DataType::kUINT2: return static_cast<uint8_t>(u & 0x3u);
    default: return 0;
  }
}
//! Float to any small type (core/small_types.h's floatToSmall: integer types truncate and wrap, NaN -> 0).
__device__ inline uint8_t floatToSmallAny(int32_t t, float v, bool saturate, int32_t mode) {
  if (t == static_cast<int32_t>(DataType::kE8M0)) return encodeE8M0(v, saturate, mode);
  Fmt f;
  if (fmtOf(t, &f)) return encode(f, v, saturate);
  if (isnan(v)) return 0;
  const double d = trunc(static_cast<double>(v));
  const int64_t i = d <= -9.2e18 ? INT64_MIN : d >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(d);
  return wrapSmallInt(t, i);
}
//! Integer to any small type (core/small_types.h's intToSmall: float types via float, saturating).
__device__ inline uint8_t intToSmall(int32_t t, int64_t v) {
  if (isSmallFloatCode(t)) return floatToSmallAny(t, static_cast<float>(v), true, kE8M0Up);
  return wrapSmallInt(t, v);
}

}  // namespace kiln::gpu::small
