#include "core/large_alloc.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kiln/types.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kiln {

namespace {
constexpr std::size_t kHuge = std::size_t{2} << 20;

std::shared_ptr<void> alignedZeroed(std::size_t bytes) noexcept {
  std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return nullptr;
  std::memset(p, 0, rounded);
  try {
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  } catch (...) {  // (the shared_ptr constructor has freed p with the deleter)
    return nullptr;
  }
}
}  // namespace

std::shared_ptr<void> allocateLarge(std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kHuge && bytes <= SIZE_MAX / 2) {
    static const bool disabled = std::getenv("KILN_NO_HUGE_PAGES") != nullptr;  // A/B timings (bench/)
    if (!disabled) {
      const std::size_t size = (bytes + 4095) / 4096 * 4096;
      // Over-map by 2 MiB and trim, so that the buffer starts on a huge-page boundary.
      void* raw = ::mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw != MAP_FAILED) {
        auto base = reinterpret_cast<std::uintptr_t>(raw);
        std::uintptr_t start = (base + kHuge - 1) / kHuge * kHuge;
        if (start > base) ::munmap(raw, start - base);
        std::uintptr_t end = start + size, rawEnd = base + size + kHuge;
        if (rawEnd > end) ::munmap(reinterpret_cast<void*>(end), rawEnd - end);
        void* p = reinterpret_cast<void*>(start);
        ::madvise(p, size, MADV_HUGEPAGE);  // advisory: without THP the mapping simply stays in 4 KiB pages
        try {
          return std::shared_ptr<void>(p, [size](void* q) { ::munmap(q, size); });
        } catch (...) {  // (the shared_ptr constructor has unmapped p with the deleter)
          return nullptr;
        }
      }
    }
  }
#endif
  return alignedZeroed(bytes);
}

namespace detail {
void largeAllocFailed(std::size_t bytes) {
  throw Error(ErrorCode::kFAILED_ALLOCATION, "cannot allocate " + std::to_string(bytes) + " bytes");
}
}  // namespace detail

}  // namespace kiln
