// A fast 64-bit checksum for plan files (not cryptographic: it detects damage, not tampering).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln {

//! Hashes `size` bytes; `seed` chains several ranges: hash64(b, n2, hash64(a, n1)).
uint64_t hash64(const void* data, std::size_t size, uint64_t seed = 0) noexcept;

}  // namespace kiln
