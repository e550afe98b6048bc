#include "backends/cpu/fast/activation.h"

#include <atomic>

#include "core/cpu_features.h"

namespace kiln::cpu::fast {

namespace detail {

void epilogueRowPortable(float* y, const float* x, int64_t n, const RowEpilogue& e) {
  for (int64_t j = 0; j < n; ++j) {
    double v = static_cast<double>(x[j]) + static_cast<double>(e.bias);
    if (e.biasVec) v += static_cast<double>(e.biasVec[j]);
    if (e.z) v += static_cast<double>(e.z[j]);
    y[j] = static_cast<float>(e.act.apply(v));
  }
}

namespace {
std::atomic<EpilogueFn> forced{nullptr};
}

void setEpilogueForTesting(EpilogueFn f) { forced.store(f); }

}  // namespace detail

void epilogueRow(float* y, const float* x, int64_t n, const RowEpilogue& e) {
  static const detail::EpilogueFn best = (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)
                                             ? detail::epilogueRowAvx2
                                             : detail::epilogueRowPortable;
  detail::EpilogueFn f = detail::forced.load(std::memory_order_relaxed);
  (f ? f : best)(y, x, n, e);
}

}  // namespace kiln::cpu::fast
