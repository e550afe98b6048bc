// Large, long-lived host buffers (plan bytes, pre-packed weights, activation arenas) that are cheap to
// fault in: on Linux, buffers of 2 MiB and more are fresh anonymous mappings, 2 MiB-aligned and advised
// for transparent huge pages (MADV_HUGEPAGE), so the kernel maps them 2 MiB at a time instead of taking a
// fault, a page allocation and a memory-cgroup charge per 4 KiB page (resnet50's 102 MB plan: ~70 ms of
// faults in 4 KiB pages, ~20 ms in huge pages on the 2-core test VM). Smaller buffers, and systems without
// THP, get ordinary 64-byte aligned memory. The memory is always zero-filled (fresh mappings are zero:
// callers need not clear padding) and never shorter than asked.
#pragma once

#include <cstddef>
#include <memory>

namespace kiln {

//! Zero-filled, at least 64-byte aligned memory of `bytes` bytes (huge pages where it pays), freed with the
//! last reference. Returns nullptr when out of memory.
std::shared_ptr<void> allocateLarge(std::size_t bytes) noexcept;

//! A zero-filled array of `n` trivially copyable T from allocateLarge, owned uniquely (movable).
//! Throws kiln::Error(kFAILED_ALLOCATION) when out of memory.
template <class T>
class LargeArray {
 public:
  LargeArray() = default;
  explicit LargeArray(std::size_t n);
  LargeArray(LargeArray&&) noexcept = default;
  LargeArray& operator=(LargeArray&&) noexcept = default;
  LargeArray(const LargeArray&) = delete;  // (would share the memory: say it with a move)
  LargeArray& operator=(const LargeArray&) = delete;
  T* data() noexcept { return static_cast<T*>(mem_.get()); }
  const T* data() const noexcept { return static_cast<const T*>(mem_.get()); }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }

 private:
  std::shared_ptr<void> mem_;
  std::size_t n_{0};
};

namespace detail {
[[noreturn]] void largeAllocFailed(std::size_t bytes);
}  // namespace detail

template <class T>
LargeArray<T>::LargeArray(std::size_t n) : mem_(n ? allocateLarge(n * sizeof(T)) : nullptr), n_(n) {
  if (n && !mem_) detail::largeAllocFailed(n * sizeof(T));
}

}  // namespace kiln
