// Streams: on the CPU an ordered work queue served by one thread, on the GPU a CUDA stream; events mark
// positions in either.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "backends/gpu.h"
#include "kiln/stream.h"

namespace kiln {

struct detail::StreamImpl {
  DeviceType device{DeviceType::kCPU};
  std::mutex mu;
  std::condition_variable cv;      // work arrived / stop
  std::condition_variable idleCv;  // queue drained
  std::deque<std::function<bool()>> queue;
  bool busy{false};
  bool stop{false};
  bool failed{false};
  std::thread worker;
  void* cuda{nullptr};  //!< cudaStream_t of a GPU stream
  std::atomic<bool> gpuFailed{false};

  void loop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty() && stop) return;
      auto fn = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      bool ok = false;
      try {
        ok = fn();
      } catch (...) {
        ok = false;
      }
      lock.lock();
      busy = false;
      if (!ok) failed = true;
      if (queue.empty()) idleCv.notify_all();
    }
  }
};

Stream::Stream(DeviceType device) : impl_(std::make_unique<detail::StreamImpl>()) {
  impl_->device = device;
  if (device == DeviceType::kGPU) impl_->cuda = gpu::createStream();
  else if (device != DeviceType::kCPU) throw Error(ErrorCode::kINVALID_ARGUMENT, "unknown device type");
}

Stream::~Stream() {
  if (impl_->cuda) {
    try {
      gpu::synchronizeStream(impl_->cuda);
    } catch (...) {
    }
    gpu::destroyStream(impl_->cuda);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void Stream::enqueueHost(std::function<bool()> fn) {
  if (impl_->cuda) {
    detail::StreamImpl* s = impl_.get();  // the destructor synchronizes, so s outlives the callback
    gpu::launchHost(impl_->cuda, [s, fn = std::move(fn)] {
      bool ok = false;
      try {
        ok = fn();
      } catch (...) {
      }
      if (!ok) s->gpuFailed = true;
    });
    return;
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->worker.joinable()) impl_->worker = std::thread([this] { impl_->loop(); });
  impl_->queue.push_back(std::move(fn));
  impl_->cv.notify_one();
}

bool Stream::synchronize() noexcept {
  if (impl_->cuda) {
    bool ok = true;
    try {
      gpu::synchronizeStream(impl_->cuda);
    } catch (...) {
      ok = false;
    }
    return !impl_->gpuFailed.exchange(false) && ok;
  }
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->idleCv.wait(lock, [&] { return impl_->queue.empty() && !impl_->busy; });
  bool ok = !impl_->failed;
  impl_->failed = false;
  return ok;
}

bool Stream::query() const noexcept {
  if (impl_->cuda) return gpu::queryStream(impl_->cuda);
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->queue.empty() && !impl_->busy;
}

DeviceType Stream::device() const noexcept { return impl_->device; }
void* Stream::handle() noexcept { return impl_->cuda ? impl_->cuda : static_cast<void*>(this); }

struct detail::EventImpl {
  std::mutex mu;
  std::condition_variable cv;
  bool done{true};
  std::chrono::steady_clock::time_point when{};
  void* cuda{nullptr};  //!< cudaEvent_t, created when first recorded on a GPU stream
  bool onGpu{false};    //!< last recorded on a GPU stream
  ~EventImpl() { gpu::destroyEvent(cuda); }
};

Event::Event() : impl_(std::make_shared<detail::EventImpl>()) {}
Event::~Event() = default;

void Event::record(Stream& stream) {
  if (stream.device() == DeviceType::kGPU) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->cuda) impl_->cuda = gpu::createEvent();
    gpu::recordEvent(impl_->cuda, stream.handle());
    impl_->onGpu = true;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->onGpu = false;
    impl_->done = false;
  }
  auto ev = impl_;
  stream.enqueueHost([ev] {
    std::lock_guard<std::mutex> lock(ev->mu);
    ev->when = std::chrono::steady_clock::now();
    ev->done = true;
    ev->cv.notify_all();
    return true;
  });
}

void Event::synchronize() noexcept {
  if (impl_->onGpu) return gpu::synchronizeEvent(impl_->cuda);
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->done; });
}

bool Event::query() const noexcept {
  if (impl_->onGpu) return gpu::queryEvent(impl_->cuda);
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->done;
}

float Event::elapsedTime(const Event& start, const Event& end) noexcept {
  if (start.impl_->onGpu && end.impl_->onGpu) return gpu::elapsedMs(start.impl_->cuda, end.impl_->cuda);
  std::scoped_lock lock(start.impl_->mu, end.impl_->mu);
  return std::chrono::duration<float, std::milli>(end.impl_->when - start.impl_->when).count();
}

// ---------------------------------------------------------------------------------------------------------
// Buffers and copies

Buffer::Buffer(std::size_t bytes, MemoryKind kind, DeviceType device) : size_(bytes), kind_(kind), device_(device) {
  if (device == DeviceType::kGPU && kind == MemoryKind::kDEVICE) {
    data_ = gpu::deviceAlloc(bytes);
    return;
  }
  if (device == DeviceType::kGPU && kind == MemoryKind::kPAGELOCKED) {
    data_ = gpu::pinnedAlloc(bytes);
    return;
  }
  if (bytes > (std::size_t{1} << 47))
    throw Error(ErrorCode::kFAILED_ALLOCATION, "refusing to allocate " + std::to_string(bytes) + " bytes");
  std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) throw Error(ErrorCode::kFAILED_ALLOCATION, "cannot allocate " + std::to_string(bytes) + " bytes");
}

Buffer::~Buffer() { release(); }

void Buffer::release() noexcept {
  if (device_ == DeviceType::kGPU && kind_ == MemoryKind::kDEVICE)
    gpu::deviceFree(data_);
  else if (device_ == DeviceType::kGPU && kind_ == MemoryKind::kPAGELOCKED)
    gpu::pinnedFree(data_);
  else
    std::free(data_);
  data_ = nullptr;
  size_ = 0;
}

Buffer::Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), kind_(o.kind_), device_(o.device_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    kind_ = o.kind_;
    device_ = o.device_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

bool memcpyAsync(void* dst, const void* src, std::size_t bytes, Stream& stream) noexcept {
  if (bytes && (!dst || !src)) return false;
  try {
    if (stream.device() == DeviceType::kGPU) {
      gpu::copyAsync(dst, src, bytes, stream.handle());
      return true;
    }
    stream.enqueueHost([dst, src, bytes] {
      if (bytes) std::memcpy(dst, src, bytes);
      return true;
    });
  } catch (...) {
    return false;
  }
  return true;
}

bool memcpy(void* dst, const void* src, std::size_t bytes) noexcept {
  if (bytes && (!dst || !src)) return false;
  if (!bytes) return true;
  if (gpu::isDevicePointer(dst) || gpu::isDevicePointer(src)) {
    try {
      gpu::copy(dst, src, bytes);
    } catch (...) {
      return false;
    }
    return true;
  }
  std::memcpy(dst, src, bytes);
  return true;
}

}  // namespace kiln
