#include "core/small_types.h"

#include <cmath>
#include <cstring>

namespace kiln {
namespace {

struct FloatFormat {
  int ebits, mbits, bias;
  double maxv;
  enum Kind { kFN, kIEEE, kFNUZ, kNoNaN } kind;  // e4m3fn / e5m2 / *fnuz / e2m1
};

const FloatFormat* formatOf(DataType t) noexcept {
  static const FloatFormat e4m3fn{4, 3, 7, 448.0, FloatFormat::kFN};
  static const FloatFormat e4m3fnuz{4, 3, 8, 240.0, FloatFormat::kFNUZ};
  static const FloatFormat e5m2{5, 2, 15, 57344.0, FloatFormat::kIEEE};
  static const FloatFormat e5m2fnuz{5, 2, 16, 57344.0, FloatFormat::kFNUZ};
  static const FloatFormat e2m1{2, 1, 1, 6.0, FloatFormat::kNoNaN};
  switch (t) {
    case DataType::kFP8: return &e4m3fn;
    case DataType::kFP8E4M3FNUZ: return &e4m3fnuz;
    case DataType::kFP8E5M2: return &e5m2;
    case DataType::kFP8E5M2FNUZ: return &e5m2fnuz;
    case DataType::kFP4: return &e2m1;
    default: return nullptr;
  }
}

float decode(const FloatFormat& f, uint8_t code) noexcept {
  const int bits = 1 + f.ebits + f.mbits;
  const bool neg = (code >> (bits - 1)) & 1u;
  const int e = (code >> f.mbits) & ((1 << f.ebits) - 1);
  const int m = code & ((1 << f.mbits) - 1);
  const int emax = (1 << f.ebits) - 1;
  if (f.kind == FloatFormat::kFNUZ && code == 0x80) return NAN;
  if (f.kind == FloatFormat::kFN && e == emax && m == (1 << f.mbits) - 1) return neg ? -NAN : NAN;
  if (f.kind == FloatFormat::kIEEE && e == emax) return m == 0 ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
  double v = e == 0 ? std::ldexp(static_cast<double>(m), 1 - f.bias - f.mbits)
                    : std::ldexp(1.0 + std::ldexp(static_cast<double>(m), -f.mbits), e - f.bias);
  return static_cast<float>(neg ? -v : v);
}

uint8_t encodeFinite(const FloatFormat& f, bool neg, double r) noexcept {
  const uint8_t signBit = static_cast<uint8_t>(neg ? 1u << (f.ebits + f.mbits) : 0u);
  if (r == 0) return f.kind == FloatFormat::kFNUZ ? 0 : signBit;
  unsigned exp, mant;
  if (r < std::ldexp(1.0, 1 - f.bias)) {
    exp = 0;
    mant = static_cast<unsigned>(std::ldexp(r, f.bias - 1 + f.mbits));
  } else {
    int e2;
    std::frexp(r, &e2);
    exp = static_cast<unsigned>(e2 - 1 + f.bias);
    mant = static_cast<unsigned>(std::ldexp(std::ldexp(r, -(e2 - 1)) - 1.0, f.mbits));
  }
  return static_cast<uint8_t>(signBit | exp << f.mbits | mant);
}

uint8_t encode(const FloatFormat& f, float v, bool saturate) noexcept {
  const bool neg = std::signbit(v);
  const uint8_t signBit = static_cast<uint8_t>(neg ? 1u << (f.ebits + f.mbits) : 0u);
  if (f.kind == FloatFormat::kNoNaN) saturate = true;
  auto overflow = [&]() -> uint8_t {
    if (saturate) return encodeFinite(f, neg, f.maxv);
    switch (f.kind) {
      case FloatFormat::kFN: return static_cast<uint8_t>(0x7f | signBit);
      case FloatFormat::kIEEE: return static_cast<uint8_t>(0x7c | signBit);
      default: return 0x80;
    }
  };
  if (std::isnan(v)) {
    switch (f.kind) {
      case FloatFormat::kFN: return static_cast<uint8_t>(0x7f | signBit);
      case FloatFormat::kIEEE: return static_cast<uint8_t>(0x7e | signBit);
      case FloatFormat::kFNUZ: return 0x80;
      case FloatFormat::kNoNaN: return neg ? 0x0 : 0x8;  // as ml_dtypes (ONNX's reference) converts NaN
    }
  }
  const double a = std::fabs(static_cast<double>(v));
  if (std::isinf(a)) return overflow();
  int e;
  std::frexp(a, &e);
  int E = e - 1;
  if (E < 1 - f.bias) E = 1 - f.bias;
  const double q = std::ldexp(1.0, E - f.mbits);
  const double r = std::nearbyint(a / q) * q;  // round half to even (default rounding mode)
  if (r > f.maxv) return overflow();
  return encodeFinite(f, neg, r);
}

uint8_t encodeE8M0(float v, bool saturate, E8M0Round mode) noexcept {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  uint32_t exponent = (bits >> 23) & 0xffu;
  if (exponent == 0xffu) return 0xff;
  bool up = false;
  switch (mode) {
    case E8M0Round::kUp: up = (bits & 0x7fffffu) != 0; break;
    case E8M0Round::kDown: break;
    case E8M0Round::kNearest: {
      const bool g = bits & 0x400000u, r = bits & 0x200000u, s = (bits & 0x1fffffu) != 0, lsb = exponent > 0;
      up = g && (r || s || lsb);
      break;
    }
  }
  if (up && saturate && exponent == 0xfeu) up = false;
  if (up) ++exponent;
  return static_cast<uint8_t>(exponent & 0xffu);
}

uint8_t wrapInt(DataType t, int64_t v) noexcept {
  const uint64_t u = static_cast<uint64_t>(v);
  switch (t) {
    case DataType::kINT4: return static_cast<uint8_t>(static_cast<int8_t>(((u & 0xfu) ^ 0x8u)) - 8);
    case DataType::kUINT4: return static_cast<uint8_t>(u & 0xfu);
    case DataType::kINT2: return static_cast<uint8_t>(static_cast<int8_t>(((u & 0x3u) ^ 0x2u)) - 2);
    case DataType::kUINT2: return static_cast<uint8_t>(u & 0x3u);
    default: return 0;
  }
}

}  // namespace

bool isSmallFloatType(DataType t) noexcept { return formatOf(t) != nullptr || t == DataType::kE8M0; }

bool isSubByteType(DataType t) noexcept {
  return t == DataType::kINT4 || t == DataType::kUINT4 || t == DataType::kFP4 || t == DataType::kINT2 ||
         t == DataType::kUINT2;
}

int packedBits(DataType t) noexcept {
  if (t == DataType::kINT2 || t == DataType::kUINT2) return 2;
  if (t == DataType::kINT4 || t == DataType::kUINT4 || t == DataType::kFP4) return 4;
  return 8;
}

float smallToFloat(DataType t, uint8_t stored) noexcept {
  if (const FloatFormat* f = formatOf(t)) return decode(*f, stored);
  if (t == DataType::kE8M0) return stored == 0xff ? NAN : std::ldexp(1.0f, static_cast<int>(stored) - 127);
  return static_cast<float>(smallIntValue(t, stored));
}

uint8_t floatToSmall(DataType t, float v, bool saturate, E8M0Round mode) noexcept {
  if (const FloatFormat* f = formatOf(t)) return encode(*f, v, saturate);
  if (t == DataType::kE8M0) return encodeE8M0(v, saturate, mode);
  if (std::isnan(v)) return 0;
  double d = std::trunc(static_cast<double>(v));
  int64_t i = d <= -9.2e18 ? INT64_MIN : d >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(d);
  return wrapInt(t, i);
}

uint8_t intToSmall(DataType t, int64_t v) noexcept {
  if (isSmallFloatType(t)) return floatToSmall(t, static_cast<float>(v));
  return wrapInt(t, v);
}

void smallIntRange(DataType t, int64_t* lo, int64_t* hi) noexcept {
  switch (t) {
    case DataType::kINT4: *lo = -8, *hi = 7; break;
    case DataType::kUINT4: *lo = 0, *hi = 15; break;
    case DataType::kINT2: *lo = -2, *hi = 1; break;
    case DataType::kUINT2: *lo = 0, *hi = 3; break;
    default: *lo = 0, *hi = 0; break;
  }
}

void unpackSubByte(DataType t, const uint8_t* packed, std::size_t packedBytes, uint8_t* out, int64_t n) {
  const int bits = packedBits(t);
  const uint64_t need = (static_cast<uint64_t>(n) * bits + 7) / 8;
  if (bits == 8 || need != packedBytes)
    throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("unpackSubByte: ") + dataTypeName(t) + ": " +
                                                   std::to_string(packedBytes) + " bytes for " + std::to_string(n) +
                                                   " elements (need " + std::to_string(need) + ")");
  const int per = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  for (int64_t i = 0; i < n; ++i) {
    unsigned v = (packed[i / per] >> ((i % per) * bits)) & mask;
    if (t == DataType::kINT4 || t == DataType::kINT2) {
      const unsigned signBit = 1u << (bits - 1);
      out[i] = static_cast<uint8_t>(static_cast<int8_t>(static_cast<int>(v ^ signBit) - static_cast<int>(signBit)));
    } else {
      out[i] = static_cast<uint8_t>(v);
    }
  }
}

void packSubByte(DataType t, const uint8_t* in, int64_t n, uint8_t* packed) {
  const int bits = packedBits(t);
  if (bits == 8) throw Error(ErrorCode::kINVALID_ARGUMENT, "packSubByte: not a sub-byte type");
  const int per = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  const int64_t bytes = (n * bits + 7) / 8;
  std::memset(packed, 0, static_cast<std::size_t>(bytes));
  for (int64_t i = 0; i < n; ++i) packed[i / per] |= static_cast<uint8_t>((in[i] & mask) << ((i % per) * bits));
}

}  // namespace kiln
