// core/thread_pool: every index of a range is covered exactly once, chunks are static and balanced, the
// caller takes part, nested calls run inline, exceptions reach the caller, and many pools (one per
// execution context) run at once without deadlocks.
#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace kiln {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 5, 8, 13, 100, 1001, 65537}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h.store(0);
      std::atomic<int> calls{0};
      pool.parallelFor(n, [&](int64_t b, int64_t e) {
        ASSERT_LE(0, b);
        ASSERT_LT(b, e);
        ASSERT_LE(e, n);
        calls.fetch_add(1);
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << threads << " threads, n " << n << ", i " << i;
      EXPECT_EQ(calls.load(), std::min<int64_t>(n, threads));
    }
  }
}

TEST(ThreadPool, StaticChunksAreBalancedAndMaxChunksIsHonoured) {
  ThreadPool pool(4);
  std::mutex m;
  std::vector<int64_t> sizes;
  pool.parallelFor(10, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lk(m);
    sizes.push_back(e - b);
  });
  ASSERT_EQ(sizes.size(), 4u);
  for (int64_t s : sizes) EXPECT_TRUE(s == 2 || s == 3) << s;
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), int64_t{0}), 10);
  sizes.clear();
  pool.parallelFor(10, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lk(m);
    sizes.push_back(e - b);
  }, 2);
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0] + sizes[1], 10);
}

TEST(ThreadPool, UsesSeveralThreadsAndTheCaller) {
  ThreadPool pool(3);
  // Chunks wait for each other, so they can only finish if they run on 3 different threads at once.
  std::atomic<int> arrived{0};
  std::mutex m;
  std::set<std::thread::id> ids;
  pool.parallelFor(3, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lk(m);
      ids.insert(std::this_thread::get_id());
    }
    arrived.fetch_add(1);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (arrived.load() < 3 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  });
  EXPECT_EQ(arrived.load(), 3);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  pool.parallelFor(6, [&](int64_t b, int64_t e) {
    EXPECT_TRUE(ThreadPool::insideParallelRegion());
    for (int64_t i = b; i < e; ++i) {
      const auto outer = std::this_thread::get_id();
      int innerCalls = 0;
      pool.parallelFor(10, [&](int64_t ib, int64_t ie) {
        EXPECT_EQ(std::this_thread::get_id(), outer);
        EXPECT_EQ(ib, 0);
        EXPECT_EQ(ie, 10);
        ++innerCalls;
        for (int64_t j = ib; j < ie; ++j) sum.fetch_add(i * 10 + j);
      });
      EXPECT_EQ(innerCalls, 1);
    }
  });
  EXPECT_FALSE(ThreadPool::insideParallelRegion());
  EXPECT_EQ(sum.load(), 59 * 60 / 2);
}

TEST(ThreadPool, ExceptionsReachTheCallerAndThePoolStaysUsable) {
  ThreadPool pool(4);
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.parallelFor(8, [&](int64_t b, int64_t) {
                   ran.fetch_add(1);
                   if (b == (round % 4) * 2) throw std::runtime_error("chunk failed");
                 }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 4);  // the other chunks still ran to the end
    std::atomic<int64_t> s{0};
    pool.parallelFor(100, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) s.fetch_add(i);
    });
    EXPECT_EQ(s.load(), 4950);
  }
}

TEST(ThreadPool, ManyJobsInARowAndSleepingWorkersWakeUp) {
  ThreadPool pool(2);
  int64_t total = 0;
  for (int job = 0; job < 2000; ++job) {
    std::atomic<int64_t> s{0};
    pool.parallelFor(64, [&](int64_t b, int64_t e) { s.fetch_add(e - b); });
    total += s.load();
    if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go to sleep
  }
  EXPECT_EQ(total, 2000 * 64);
}

TEST(ThreadPool, ManyPoolsOnManyThreadsAtOnce) {
  // 8 contexts, each with its own pool of 2, driven by 8 threads (twice as many threads as a 2-core
  // machine's pools would want): no deadlock, every result right.
  constexpr int kContexts = 8;
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int i = 0; i < kContexts; ++i) pools.push_back(std::make_unique<ThreadPool>(2));
  std::atomic<int> failures{0};
  std::vector<std::thread> drivers;
  for (int c = 0; c < kContexts; ++c)
    drivers.emplace_back([&, c] {
      for (int it = 0; it < 300; ++it) {
        std::vector<int> v(1000, 0);
        pools[static_cast<size_t>(c)]->parallelFor(1000, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) v[static_cast<size_t>(i)] = c + it;
        });
        for (int x : v)
          if (x != c + it) failures.fetch_add(1);
      }
    });
  for (auto& t : drivers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ThreadPool, ConcurrentCallersOnOnePoolRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int it = 0; it < 200; ++it)
        pool.parallelFor(50, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(total.load(), 4 * 200 * 50);
}

TEST(ThreadPool, NullPoolHelperRunsSerially) {
  int calls = 0;
  parallelFor(nullptr, 17, [&](int64_t b, int64_t e) {
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 17);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  parallelFor(nullptr, 0, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 1);
  EXPECT_GE(resolveThreadCount(0), 1);
  EXPECT_EQ(resolveThreadCount(3), 3);
}

}  // namespace
}  // namespace kiln
