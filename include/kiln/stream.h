// kiln public API: streams, events and memory helpers, the same on every backend.
//
// On the CPU backend a Stream is an ordered work queue served by its own thread, "device" memory is
// 64-byte-aligned host memory and page-locked memory is ordinary host memory, so code written for the GPU
// runs unchanged on the CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "kiln/types.h"

namespace kiln {

namespace detail {
struct StreamImpl;
struct EventImpl;
}  // namespace detail

class Stream {
 public:
  explicit Stream(DeviceType device = DeviceType::kCPU);
  ~Stream();  //!< waits for the queued work
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  //! Waits for all queued work. Returns false if any queued work failed since the last synchronize
  //! (the failure was reported to the logger of the call that queued it).
  bool synchronize() noexcept;
  //! true if the queue is empty.
  bool query() const noexcept;
  DeviceType device() const noexcept;
  //! Backend handle (cudaStream_t on the GPU; the Stream itself on the CPU).
  void* handle() noexcept;

  //! Queues a host function (internal and for callbacks). It returns false to mark the stream failed.
  void enqueueHost(std::function<bool()> fn);

  detail::StreamImpl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<detail::StreamImpl> impl_;
};

class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  //! Marks the current end of the stream's queue.
  void record(Stream& stream);
  //! Waits until the work queued before record() is done.
  void synchronize() noexcept;
  bool query() const noexcept;
  //! Milliseconds between two recorded events (both must have completed).
  static float elapsedTime(const Event& start, const Event& end) noexcept;

 private:
  std::shared_ptr<detail::EventImpl> impl_;
};

enum class MemoryKind : int32_t { kHOST = 0, kPAGELOCKED = 1, kDEVICE = 2 };

//! RAII memory block: page-locked host memory or device memory of a backend.
class Buffer {
 public:
  Buffer() = default;
  //! Throws kiln::Error(kFAILED_ALLOCATION) if the memory can't be had.
  Buffer(std::size_t bytes, MemoryKind kind, DeviceType device = DeviceType::kCPU);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  MemoryKind kind() const noexcept { return kind_; }
  DeviceType device() const noexcept { return device_; }

 private:
  void release() noexcept;
  void* data_{nullptr};
  std::size_t size_{0};
  MemoryKind kind_{MemoryKind::kHOST};
  DeviceType device_{DeviceType::kCPU};
};

//! Copies ordered on a stream (host<->device, device<->device).
bool memcpyAsync(void* dst, const void* src, std::size_t bytes, Stream& stream) noexcept;
//! Synchronous copy.
bool memcpy(void* dst, const void* src, std::size_t bytes) noexcept;

}  // namespace kiln
