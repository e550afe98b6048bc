#include "backends/cpu/fast/rows.h"

#include <atomic>
#include <cmath>

#include "core/cpu_features.h"

namespace kiln::cpu::fast::rows {

void softmaxPortable(float* y, const float* x, int64_t n, bool log) {
  if (n <= 0) return;
  double mx = x[0];
  for (int64_t i = 1; i < n; ++i)
    if (static_cast<double>(x[i]) > mx) mx = x[i];
  const double shift = std::isinf(mx) ? 0.0 : mx;  // as the reference kernel
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - shift);
  if (log) {
    const double ls = std::log(sum);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<double>(x[i]) - shift - ls);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - shift) / sum);
  }
}

void layerNormPortable(float* y, const float* x, int64_t n, const float* scale, const float* bias, float eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>((x[i] - mean) * inv * scale[i] + (bias ? static_cast<double>(bias[i]) : 0.0));
}

namespace {
std::atomic<bool> portableForced{false};
bool useAvx2() {
  static const bool has = (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA);
  return has && !portableForced.load(std::memory_order_relaxed);
}
}  // namespace

SoftmaxFn softmax() { return useAvx2() ? softmaxAvx2 : softmaxPortable; }
LayerNormFn layerNorm() { return useAvx2() ? layerNormAvx2 : layerNormPortable; }
void forcePortableForTesting(bool portable) { portableForced.store(portable); }

}  // namespace kiln::cpu::fast::rows
