#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "core/cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define KILN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define KILN_CPU_RELAX() asm volatile("yield")
#else
#define KILN_CPU_RELAX() ((void)0)
#endif

namespace kiln {

namespace {
thread_local int tlsDepth = 0;  // > 0 while this thread runs a chunk

constexpr uint64_t kChunkMask = 0xffff;
// How long a worker spins for the next job before it sleeps (layers follow each other within microseconds).
constexpr auto kSpin = std::chrono::microseconds(200);

struct DepthGuard {
  DepthGuard() { ++tlsDepth; }
  ~DepthGuard() { --tlsDepth; }
};
}  // namespace

int resolveThreadCount(int requested) noexcept {
  int n = requested > 0 ? requested : cpuCount();
  return std::clamp(n, 1, 256);
}

bool ThreadPool::insideParallelRegion() noexcept { return tlsDepth > 0; }

ThreadPool::ThreadPool(int threads) {
  const int n = resolveThreadCount(threads);
  workers_.reserve(static_cast<size_t>(n - 1));
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(sleepMutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::runChunks(uint32_t gen) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(t >> 32) != gen) return;
    const uint64_t chunks = (t >> 16) & kChunkMask, next = t & kChunkMask;
    if (next >= chunks) return;
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // Claimed chunk `next` of job `gen`: the job stays alive (and its fields unchanged) until it is done.
    const int64_t begin = static_cast<int64_t>(next) * n_ / static_cast<int64_t>(chunks);
    const int64_t end = static_cast<int64_t>(next + 1) * n_ / static_cast<int64_t>(chunks);
    try {
      DepthGuard guard;
      (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lk(errorMutex_);
      if (!error_) error_ = std::current_exception();
    }
    done_.fetch_add(1, std::memory_order_acq_rel);
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::workerLoop(int /*index*/) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      auto until = std::chrono::steady_clock::now() + kSpin;
      int spins = 0;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        KILN_CPU_RELAX();
        if (++spins % 64 == 0 && std::chrono::steady_clock::now() > until) break;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(sleepMutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lk, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
        g = generation_.load();
      }
    }
    if (stop_.load()) return;
    seen = g;
    runChunks(g);
  }
}

void ThreadPool::parallelFor(int64_t n, const RangeFn& fn, int64_t maxChunks) {
  if (n <= 0) return;
  int64_t chunks = std::min<int64_t>(n, size());
  if (maxChunks > 0) chunks = std::min(chunks, maxChunks);
  chunks = std::min<int64_t>(chunks, static_cast<int64_t>(kChunkMask));
  std::unique_lock<std::mutex> submit(submitMutex_, std::try_to_lock);
  if (chunks <= 1 || tlsDepth > 0 || !submit.owns_lock()) {
    DepthGuard guard;
    fn(0, n);
    return;
  }
  fn_ = &fn;
  n_ = n;
  done_.store(0, std::memory_order_relaxed);
  error_ = nullptr;
  const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
  ticket_.store((static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(chunks) << 16), std::memory_order_release);
  generation_.store(gen);  // seq_cst: pairs with the sleepers' seq_cst increment
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lk(sleepMutex_);
    wake_.notify_all();
  }
  runChunks(gen);
  // Every chunk is claimed; wait for the ones still running on workers.
  int spins = 0;
  while (done_.load(std::memory_order_acquire) < chunks) {
    KILN_CPU_RELAX();
    if (++spins > 4096) std::this_thread::yield();
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace kiln
