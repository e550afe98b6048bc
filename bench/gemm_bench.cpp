// SGEMM micro-benchmark: GFLOP/s of kiln's packed SGEMM at several sizes, next to the single-core FMA peak
// measured by a probe on this machine. Usage: kiln_gemm_bench [repeats] [threads] [max size]
// (threads: 1 = no pool; max size: skip the square sizes above it, default 4096). With 1 thread the times are
// the thread's CPU time (this machine is shared: time slices given to others do not count), else wall time;
// "ms", "GFLOP/s" and "of peak" are of the best run, "median" the median run's share of the peak.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "backends/cpu/gemm/sgemm.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace {

double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double threadSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// 12 independent FMA chains of 8 floats keep both FMA ports busy: 2 * 8 * 12 flops per iteration.
__attribute__((target("avx2,fma"))) double peakGflops() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  const long iters = 50'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = threadSeconds();
    for (long it = 0; it < iters; ++it)
      for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    double t = threadSeconds() - t0;
    best = std::max(best, 2.0 * 8 * 12 * iters / t / 1e9);
  }
  float sink = 0;
  for (int i = 0; i < 12; ++i) sink += _mm256_cvtss_f32(acc[i]);
  if (sink == 12345.f) std::puts("");
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int64_t maxSize = argc > 3 ? std::atoll(argv[3]) : 4096;
  kiln::ThreadPool pool(std::max(threads, 1));
  kiln::ThreadPool* usePool = threads > 1 ? &pool : nullptr;
  bool fma = (kiln::cpuFeatures() & (kiln::kCpuAVX2 | kiln::kCpuFMA)) == (kiln::kCpuAVX2 | kiln::kCpuFMA);
  double peak = fma ? peakGflops() : 0;
  std::printf("cpu: %s\nmicro-kernel: %s\nFMA peak (1 core, probe): %.1f GFLOP/s\nthreads: %d (%% of peak: of %d x the 1-core peak)\n\n", kiln::cpuName().c_str(),
              kiln::cpu::sgemmKernelName(), peak, threads, threads);
  peak *= std::max(threads, 1);
  std::printf("%6s %6s %6s %10s %10s %8s %8s\n", "M", "N", "K", "ms", "GFLOP/s", "of peak", "median");
  auto now = threads > 1 ? seconds : threadSeconds;
  struct Size {
    int64_t m, n, k;
  };
  std::vector<Size> sizes{{256, 256, 256},   {512, 512, 512},   {1024, 1024, 1024}, {2048, 2048, 2048},
                          {3072, 3072, 3072}, {4096, 4096, 4096}, {64, 3136, 576},    {256, 784, 1152},
                          {512, 49, 4608},    {1, 1000, 2048},    {128, 768, 768},    {197, 768, 768},
                          {197, 3072, 768},   {197, 768, 3072},   {128, 1024, 256},   {1024, 196, 4608},
                          {128, 3072, 768},   {128, 768, 3072},   {49, 2048, 512},    {196, 1024, 256},
                          {784, 512, 128},    {3136, 256, 64}};
  void* ws = std::aligned_alloc(64, (kiln::cpu::sgemmWorkspaceBytes() + 63) / 64 * 64);
  for (const Size& s : sizes) {
    if (s.m == s.n && s.n == s.k && s.m > maxSize) continue;
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)), c(static_cast<size_t>(s.m * s.n));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7919) % 1000) / 1000.f - 0.5f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 104729) % 1000) / 1000.f - 0.5f;
    double best = 1e30;
    std::vector<double> times;
    for (int r = 0; r < repeats + 1; ++r) {
      double t0 = now();
      kiln::cpu::sgemm(s.m, s.n, s.k, {a.data(), s.k, 1}, {b.data(), s.n, 1}, c.data(), s.n, false, ws,
                       usePool);
      double t = now() - t0;
      if (r > 0) best = std::min(best, t), times.push_back(t);  // first run warms up
      if (t > 2.0 && r >= 2) break;          // the largest sizes: a few runs suffice
    }
    double gf = 2.0 * s.m * s.n * s.k / best / 1e9;
    std::sort(times.begin(), times.end());
    const double median = times.empty() ? best : times[times.size() / 2];
    std::printf("%6lld %6lld %6lld %10.3f %10.1f %7.0f%% %7.0f%%\n", static_cast<long long>(s.m), static_cast<long long>(s.n),
                static_cast<long long>(s.k), best * 1e3, gf, peak > 0 ? 100 * gf / peak : 0.0,
                peak > 0 ? 100 * 2.0 * s.m * s.n * s.k / median / 1e9 / peak : 0.0);
  }
  std::free(ws);
  return 0;
}
