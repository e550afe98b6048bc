#include "core/hash.h"

#include <cstring>

namespace kiln {

namespace {
constexpr uint64_t kP1 = 0x9e3779b185ebca87ull;
constexpr uint64_t kP2 = 0xc2b2ae3d27d4eb4full;
constexpr uint64_t kP3 = 0x165667b19e3779f9ull;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t mix(uint64_t acc, uint64_t w) { return rotl(acc ^ (w * kP2), 31) * kP1; }
}  // namespace

uint64_t hash64(const void* data, std::size_t size, uint64_t seed) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  // Four independent lanes over 32-byte blocks keep the multipliers busy.
  uint64_t a = seed + kP1, b = seed ^ kP2, c = seed + kP3, d = seed - kP1;
  std::size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    a = mix(a, load64(p + i));
    b = mix(b, load64(p + i + 8));
    c = mix(c, load64(p + i + 16));
    d = mix(d, load64(p + i + 24));
  }
  uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + static_cast<uint64_t>(size) * kP3;
  for (; i + 8 <= size; i += 8) h = mix(h, load64(p + i));
  for (; i < size; ++i) h = rotl(h ^ (p[i] * kP3), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

}  // namespace kiln
