// CPU streams: an ordered work queue served by one thread; events mark positions in it.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

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
  if (device != DeviceType::kCPU) throw Error(ErrorCode::kUNSUPPORTED_STATE, "this kiln build has no GPU backend");
  impl_->device = device;
}

Stream::~Stream() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void Stream::enqueueHost(std::function<bool()> fn) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->worker.joinable()) impl_->worker = std::thread([this] { impl_->loop(); });
  impl_->queue.push_back(std::move(fn));
  impl_->cv.notify_one();
}

bool Stream::synchronize() noexcept {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->idleCv.wait(lock, [&] { return impl_->queue.empty() && !impl_->busy; });
  bool ok = !impl_->failed;
  impl_->failed = false;
  return ok;
}

bool Stream::query() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->queue.empty() && !impl_->busy;
}

DeviceType Stream::device() const noexcept { return impl_->device; }
void* Stream::handle() noexcept { return this; }

struct detail::EventImpl {
  std::mutex mu;
  std::condition_variable cv;
  bool done{true};
  std::chrono::steady_clock::time_point when{};
};

Event::Event() : impl_(std::make_shared<detail::EventImpl>()) {}
Event::~Event() = default;

void Event::record(Stream& stream) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
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
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->done; });
}

bool Event::query() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->done;
}

float Event::elapsedTime(const Event& start, const Event& end) noexcept {
  std::scoped_lock lock(start.impl_->mu, end.impl_->mu);
  return std::chrono::duration<float, std::milli>(end.impl_->when - start.impl_->when).count();
}

// ---------------------------------------------------------------------------------------------------------
// Buffers and copies

Buffer::Buffer(std::size_t bytes, MemoryKind kind, DeviceType device) : size_(bytes), kind_(kind), device_(device) {
  if (device != DeviceType::kCPU) throw Error(ErrorCode::kUNSUPPORTED_STATE, "this kiln build has no GPU backend");
  if (bytes > (std::size_t{1} << 47))
    throw Error(ErrorCode::kFAILED_ALLOCATION, "refusing to allocate " + std::to_string(bytes) + " bytes");
  std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) throw Error(ErrorCode::kFAILED_ALLOCATION, "cannot allocate " + std::to_string(bytes) + " bytes");
}

Buffer::~Buffer() { release(); }

void Buffer::release() noexcept {
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
  if (bytes) std::memcpy(dst, src, bytes);
  return true;
}

}  // namespace kiln
