// A fixed pool of worker threads for the CPU kernels of one ExecutionContext.
//
// parallelFor(n, fn) splits [0, n) into at most size() contiguous chunks of (almost) equal size (static
// chunking) and calls fn(begin, end) once per chunk; the calling thread takes part and the call returns
// when every chunk is done. Chunks are claimed from a shared counter, so a worker that wakes late costs
// no correctness and little time (the others take its chunk). Workers spin briefly after each job (low
// wake-up latency for the next layer), then sleep on a condition variable.
//
// A call from inside a chunk (nested), or while another thread is using the pool, runs fn(0, n) inline on
// the caller. The first exception thrown by a chunk is rethrown by parallelFor after all chunks ended.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  using RangeFn = std::function<void(int64_t begin, int64_t end)>;

  //! `threads`: total threads that run chunks, the caller included (so threads - 1 workers are started);
  //! 0 = one per logical CPU available to the process. Clamped to [1, 256].
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  //! Threads that run chunks (workers + the caller).
  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  //! Calls fn(begin, end) over at most min(n, size(), maxChunks) chunks covering [0, n) exactly once.
  //! `maxChunks` <= 0: size(). Throws the first exception of a chunk.
  void parallelFor(int64_t n, const RangeFn& fn, int64_t maxChunks = 0);

  //! Whether the calling thread is running a chunk of some pool right now (nested calls run inline).
  static bool insideParallelRegion() noexcept;

 private:
  void workerLoop(int index);
  //! Claims and runs chunks of the job of generation `gen` until none is left.
  void runChunks(uint32_t gen);

  std::vector<std::thread> workers_;
  std::mutex submitMutex_;  // one job at a time; try_lock fails -> inline

  // The job. `ticket_` packs (generation << 32) | (chunks << 16) | next chunk; fields below are written
  // before the ticket is published and read only after a chunk of that generation has been claimed.
  std::atomic<uint64_t> ticket_{0};
  const RangeFn* fn_{nullptr};
  int64_t n_{0};
  std::atomic<int64_t> done_{0};
  std::mutex errorMutex_;
  std::exception_ptr error_;

  // Wake-up: workers watch `generation_`; sleepers count those blocked on the condition variable.
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex sleepMutex_;
  std::condition_variable wake_;
};

//! parallelFor on `pool`, or serially (fn(0, n)) when pool is nullptr or n is small.
inline void parallelFor(ThreadPool* pool, int64_t n, const ThreadPool::RangeFn& fn, int64_t maxChunks = 0) {
  if (n <= 0) return;
  if (!pool || n == 1 || pool->size() == 1) {
    fn(0, n);
    return;
  }
  pool->parallelFor(n, fn, maxChunks);
}

//! Threads a pool would use for `requested` (0 = one per logical CPU).
int resolveThreadCount(int requested) noexcept;

}  // namespace kiln
