// Element conversions of kiln's small storage types: the 8-bit floats (e4m3fn = kFP8, e4m3fnuz, e5m2,
// e5m2fnuz, e8m0) and the sub-byte types (kINT4, kUINT4, kFP4 = float4 e2m1, kINT2, kUINT2).
//
// Storage inside kiln: one element per byte. Float8 types hold their 8-bit code; kFP4 holds its 4-bit code
// in the low nibble; kINT4/kINT2 hold the value sign-extended to int8; kUINT4/kUINT2 hold the value.
// ONNX packs the sub-byte types (two 4-bit / four 2-bit elements per byte, first element in the lowest
// bits); packSubByte/unpackSubByte convert where tensors enter or leave kiln.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace kiln {

//! True for the float-like small types (float8 variants, e8m0, float4).
bool isSmallFloatType(DataType t) noexcept;
//! True for the sub-byte types (4-bit and 2-bit), whose ONNX storage is packed.
bool isSubByteType(DataType t) noexcept;
//! Bits per element in ONNX's packed storage (4 or 2) for sub-byte types, 8 for others of size 1.
int packedBits(DataType t) noexcept;

//! The value of one stored element of a small type (exact; NaN/inf where the format has them).
float smallToFloat(DataType t, uint8_t stored) noexcept;

//! e8m0 rounding modes (ONNX Cast 'round_mode').
enum class E8M0Round { kUp, kDown, kNearest };

//! Float to the stored element of a small type. Float types round to nearest even; `saturate` clamps
//! out-of-range values (and infinities) to the largest finite value, otherwise they become inf (e5m2) or
//! NaN (formats without inf). float4 always saturates. Integer types: truncate toward zero and wrap
//! (two's complement), NaN -> 0 — ONNX Cast semantics (QuantizeLinear clamps before converting).
uint8_t floatToSmall(DataType t, float v, bool saturate = true, E8M0Round mode = E8M0Round::kUp) noexcept;
//! Integer to the stored element (integer types wrap; float types convert via float).
uint8_t intToSmall(DataType t, int64_t v) noexcept;
//! Integer value of a stored element of kINT4/kUINT4/kINT2/kUINT2 (value as stored).
inline int64_t smallIntValue(DataType t, uint8_t stored) noexcept {
  return (t == DataType::kINT4 || t == DataType::kINT2) ? static_cast<int64_t>(static_cast<int8_t>(stored))
                                                        : static_cast<int64_t>(stored);
}
//! Value range of the integer sub-byte types.
void smallIntRange(DataType t, int64_t* lo, int64_t* hi) noexcept;

//! ONNX packed bytes (`packedBytes` long) -> `n` unpacked kiln elements. Throws on a size mismatch.
void unpackSubByte(DataType t, const uint8_t* packed, std::size_t packedBytes, uint8_t* out, int64_t n);
//! `n` unpacked kiln elements -> ONNX packed bytes ((n * bits + 7) / 8 of them).
void packSubByte(DataType t, const uint8_t* in, int64_t n, uint8_t* packed);

}  // namespace kiln
