// The plan checksum (plan.h): segment hashes, then one hash over them.
#include <algorithm>
#include <thread>

#include "core/hash.h"
#include "plan/plan.h"

namespace kiln::plan {

namespace {
//! Plans of at least this many bytes are hashed on two threads when no segment hashes come with them.
constexpr std::size_t kParallelHashBytes = std::size_t{32} << 20;

void hashSegments(const uint8_t* plan, std::size_t size, std::size_t first, std::size_t last, uint64_t* out) {
  for (std::size_t i = first; i < last; ++i) out[i] = checksumSegment(plan, size, i);
}
}  // namespace

uint64_t checksumSegment(const uint8_t* plan, std::size_t size, std::size_t index) noexcept {
  const std::size_t begin = 32 + index * kChecksumSegment;
  if (begin >= size) return 0;
  return hash64(plan + begin, std::min(kChecksumSegment, size - begin), index);
}

uint64_t planChecksum(const uint8_t* plan, std::size_t size, const std::vector<uint64_t>* segmentHashes) {
  const std::size_t n = checksumSegments(size);
  std::vector<uint64_t> own;
  if (!segmentHashes || segmentHashes->size() != n) {
    own.resize(n);
    std::thread other;
    std::size_t half = n;
    if (size >= kParallelHashBytes && std::thread::hardware_concurrency() > 1) {
      half = n / 2;
      try {
        other = std::thread(hashSegments, plan, size, half, n, own.data());
      } catch (...) {  // no thread: all of it here
        half = n;
      }
    }
    hashSegments(plan, size, 0, half, own.data());
    if (other.joinable()) other.join();
    segmentHashes = &own;
  }
  return hash64(segmentHashes->data(), n * sizeof(uint64_t), hash64(plan, 24));
}

}  // namespace kiln::plan
