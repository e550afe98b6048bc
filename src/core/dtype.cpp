#include "core/dtype.h"

#include <cstdio>
#include <string>

namespace kiln {

std::size_t dataTypeSize(DataType t) noexcept {
  switch (t) {
    case DataType::kFLOAT: return 4;
    case DataType::kHALF: return 2;
    case DataType::kBF16: return 2;
    case DataType::kINT8: return 1;
    case DataType::kINT32: return 4;
    case DataType::kBOOL: return 1;
    case DataType::kUINT8: return 1;
    case DataType::kINT64: return 8;
    case DataType::kDOUBLE: return 8;
    case DataType::kINT16: return 2;
    case DataType::kUINT16: return 2;
    case DataType::kUINT32: return 4;
    case DataType::kUINT64: return 8;
    case DataType::kFP8:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2:
    case DataType::kFP8E5M2FNUZ:
    case DataType::kE8M0:
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kFP4:
    case DataType::kINT2:
    case DataType::kUINT2: return 1;
  }
  return 0;
}

const char* dataTypeName(DataType t) noexcept {
  switch (t) {
    case DataType::kFLOAT: return "float32";
    case DataType::kHALF: return "float16";
    case DataType::kBF16: return "bfloat16";
    case DataType::kINT8: return "int8";
    case DataType::kINT32: return "int32";
    case DataType::kBOOL: return "bool";
    case DataType::kUINT8: return "uint8";
    case DataType::kINT64: return "int64";
    case DataType::kDOUBLE: return "float64";
    case DataType::kINT16: return "int16";
    case DataType::kUINT16: return "uint16";
    case DataType::kUINT32: return "uint32";
    case DataType::kUINT64: return "uint64";
    case DataType::kFP8: return "float8e4m3fn";
    case DataType::kFP8E4M3FNUZ: return "float8e4m3fnuz";
    case DataType::kFP8E5M2: return "float8e5m2";
    case DataType::kFP8E5M2FNUZ: return "float8e5m2fnuz";
    case DataType::kE8M0: return "float8e8m0";
    case DataType::kINT4: return "int4";
    case DataType::kUINT4: return "uint4";
    case DataType::kFP4: return "float4e2m1";
    case DataType::kINT2: return "int2";
    case DataType::kUINT2: return "uint2";
  }
  return "unknown";
}

bool isKnownType(DataType t) noexcept { return dataTypeSize(t) != 0; }

bool isSmallStorageType(DataType t) noexcept {
  switch (t) {
    case DataType::kFP8:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2:
    case DataType::kFP8E5M2FNUZ:
    case DataType::kE8M0:
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kFP4:
    case DataType::kINT2:
    case DataType::kUINT2: return true;
    default: return false;
  }
}

bool isFloatingType(DataType t) noexcept {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16 || t == DataType::kDOUBLE;
}

bool isIntegerType(DataType t) noexcept {
  switch (t) {
    case DataType::kINT8:
    case DataType::kINT16:
    case DataType::kINT32:
    case DataType::kINT64:
    case DataType::kUINT8:
    case DataType::kUINT16:
    case DataType::kUINT32:
    case DataType::kUINT64: return true;
    default: return false;
  }
}

bool isSignedType(DataType t) noexcept {
  switch (t) {
    case DataType::kINT8:
    case DataType::kINT16:
    case DataType::kINT32:
    case DataType::kINT64: return true;
    default: return isFloatingType(t);
  }
}

float halfToFloat(uint16_t h) noexcept {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
  }
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (absx < 0x38800000u) {  // subnormal half or zero
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of the smallest subnormal
    // value / 2^-24 = mant * 2^(E - 126), E = biased float exponent (102..112): shift 14..24.
    uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    int shift = 126 - static_cast<int>(absx >> 23);
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t e = (absx >> 23) - 127 + 15;
  uint32_t mant = absx & 0x7fffffu;
  uint32_t h = e << 10 | mant >> 13;
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: still correct
  return static_cast<uint16_t>(sign | h);
}

uint16_t floatToBf16(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

int64_t volume(const Dims& dims) noexcept {
  if (dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS) return -1;
  int64_t v = 1;
  for (int i = 0; i < dims.nbDims; ++i) {
    if (dims.d[i] < 0) return -1;
    if (dims.d[i] != 0 && v > INT64_MAX / dims.d[i]) return -1;
    v *= dims.d[i];
  }
  return v;
}

bool operator==(const Dims& a, const Dims& b) noexcept {
  if (a.nbDims != b.nbDims) return false;
  if (a.nbDims < 0 || a.nbDims > Dims::MAX_DIMS) return true;
  for (int i = 0; i < a.nbDims; ++i)
    if (a.d[i] != b.d[i]) return false;
  return true;
}

std::string toString(const Dims& dims) {
  if (dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS) return "[invalid]";
  std::string s = "[";
  for (int i = 0; i < dims.nbDims; ++i) {
    if (i) s += ",";
    s += std::to_string(dims.d[i]);
  }
  return s + "]";
}

const char* versionString() noexcept {
  static const std::string v = std::to_string(kVERSION_MAJOR) + "." + std::to_string(kVERSION_MINOR) + "." +
                               std::to_string(kVERSION_PATCH);
  return v.c_str();
}

}  // namespace kiln
