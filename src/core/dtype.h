// Internal helpers for element types: half/bfloat16 conversion, dispatch over types.
#pragma once

#include <cstdint>
#include <cstring>

#include "kiln/types.h"

namespace kiln {

float halfToFloat(uint16_t h) noexcept;
uint16_t floatToHalf(float f) noexcept;  // round to nearest even
inline float bf16ToFloat(uint16_t b) noexcept {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t floatToBf16(float f) noexcept;  // round to nearest even

//! A half-precision value type usable in templated kernels (stored as its bits).
struct Half {
  uint16_t bits{0};
  Half() = default;
  explicit Half(float f) : bits(floatToHalf(f)) {}
  operator float() const { return halfToFloat(bits); }
};
struct BFloat16 {
  uint16_t bits{0};
  BFloat16() = default;
  explicit BFloat16(float f) : bits(floatToBf16(f)) {}
  operator float() const { return bf16ToFloat(bits); }
};

bool isFloatingType(DataType t) noexcept;  // float, half, bf16, double
bool isIntegerType(DataType t) noexcept;   // signed and unsigned integers (not bool)
bool isSignedType(DataType t) noexcept;
bool isKnownType(DataType t) noexcept;
//! The 8-bit float codes (kFP8, kFP8E4M3FNUZ, kFP8E5M2, kFP8E5M2FNUZ, kE8M0) and the sub-byte types
//! (kINT4, kUINT4, kFP4, kINT2, kUINT2): storage types that only Cast, QuantizeLinear/DequantizeLinear
//! and data movement handle. Converting helpers are in core/small_types.h.
bool isSmallStorageType(DataType t) noexcept;

//! Calls f(T{}) with T the C++ type of `t` (Half/BFloat16 for the 16-bit floats, bool for kBOOL).
//! Throws kiln::Error for an unknown type.
template <class F>
decltype(auto) dispatchType(DataType t, F&& f) {
  switch (t) {
    case DataType::kFLOAT: return f(float{});
    case DataType::kDOUBLE: return f(double{});
    case DataType::kHALF: return f(Half{});
    case DataType::kBF16: return f(BFloat16{});
    case DataType::kINT8: return f(int8_t{});
    case DataType::kINT16: return f(int16_t{});
    case DataType::kINT32: return f(int32_t{});
    case DataType::kINT64: return f(int64_t{});
    case DataType::kUINT8: return f(uint8_t{});
    case DataType::kUINT16: return f(uint16_t{});
    case DataType::kUINT32: return f(uint32_t{});
    case DataType::kUINT64: return f(uint64_t{});
    case DataType::kBOOL: return f(bool{});
    default: break;  // the 8-bit float codes and the sub-byte types have no C++ value type here
  }
  throw Error(ErrorCode::kINVALID_ARGUMENT, "unknown data type " + std::to_string(static_cast<int>(t)));
}

template <class T>
constexpr DataType dataTypeOf();
template <> constexpr DataType dataTypeOf<float>() { return DataType::kFLOAT; }
template <> constexpr DataType dataTypeOf<double>() { return DataType::kDOUBLE; }
template <> constexpr DataType dataTypeOf<Half>() { return DataType::kHALF; }
template <> constexpr DataType dataTypeOf<BFloat16>() { return DataType::kBF16; }
template <> constexpr DataType dataTypeOf<int8_t>() { return DataType::kINT8; }
template <> constexpr DataType dataTypeOf<int16_t>() { return DataType::kINT16; }
template <> constexpr DataType dataTypeOf<int32_t>() { return DataType::kINT32; }
template <> constexpr DataType dataTypeOf<int64_t>() { return DataType::kINT64; }
template <> constexpr DataType dataTypeOf<uint8_t>() { return DataType::kUINT8; }
template <> constexpr DataType dataTypeOf<uint16_t>() { return DataType::kUINT16; }
template <> constexpr DataType dataTypeOf<uint32_t>() { return DataType::kUINT32; }
template <> constexpr DataType dataTypeOf<uint64_t>() { return DataType::kUINT64; }
template <> constexpr DataType dataTypeOf<bool>() { return DataType::kBOOL; }

}  // namespace kiln
