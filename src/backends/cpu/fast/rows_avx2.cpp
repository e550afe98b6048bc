// AVX2/FMA softmax and layer-norm rows (see rows.h). Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "backends/cpu/fast/rows.h"
#include "backends/cpu/fast/vec_avx2.h"

namespace kiln::cpu::fast::rows {

namespace {
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
//! The first r (< 8) floats of p, the rest `fill`.
inline __m256 loadPartial(const float* p, int64_t r, float fill) {
  alignas(32) float t[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
  std::memcpy(t, p, static_cast<size_t>(r) * sizeof(float));
  return _mm256_load_ps(t);
}
inline void storePartial(float* p, __m256 v, int64_t r) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  std::memcpy(p, t, static_cast<size_t>(r) * sizeof(float));
}
}  // namespace

void softmaxAvx2(float* y, const float* x, int64_t n, bool log) {
  if (n <= 0) return;
  // maximum (and whether any NaN is present: those rows take the reference path)
  __m256 vmax = _mm256_set1_ps(-INFINITY), vnan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vmax = _mm256_max_ps(vmax, v);
    vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (i < n) {
    const __m256 v = loadPartial(x + i, n - i, -INFINITY);
    vmax = _mm256_max_ps(vmax, v);
    vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  const float mx = hmax(vmax);
  if (_mm256_movemask_ps(vnan) != 0 || !std::isfinite(mx)) return softmaxPortable(y, x, n, log);
  const __m256 shift = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = avx2::exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift));
    if (!log) _mm256_storeu_ps(y + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  if (i < n) {
    const __m256 e = avx2::exp(_mm256_sub_ps(loadPartial(x + i, n - i, -INFINITY), shift));  // exp(-inf) -> 0
    if (!log) storePartial(y + i, e, n - i);
    vsum = _mm256_add_ps(vsum, e);
  }
  const float sum = hsum(vsum);
  if (log) {
    const __m256 sub = _mm256_set1_ps(mx + std::log(sum));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_loadu_ps(x + i), sub));
    for (; i < n; ++i) y[i] = x[i] - (mx + std::log(sum));
    return;
  }
  const __m256 inv = _mm256_set1_ps(1.f / sum);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
  for (; i < n; ++i) y[i] *= 1.f / sum;
}

void layerNormAvx2(float* y, const float* x, int64_t n, const float* scale, const float* bias, float eps) {
  if (n <= 0) return;
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
  float tail = 0.f;
  for (int64_t j = i; j < n; ++j) tail += x[j];
  const float mean = (hsum(s) + tail) / static_cast<float>(n);
  const __m256 vm = _mm256_set1_ps(mean);
  __m256 q = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
    q = _mm256_fmadd_ps(d, d, q);
  }
  float qt = 0.f;
  for (int64_t j = i; j < n; ++j) qt += (x[j] - mean) * (x[j] - mean);
  const float var = (hsum(q) + qt) / static_cast<float>(n);
  const float inv = 1.f / std::sqrt(var + eps);
  const __m256 vi = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
    __m256 r = _mm256_mul_ps(d, _mm256_loadu_ps(scale + i));
    if (bias) r = _mm256_add_ps(r, _mm256_loadu_ps(bias + i));
    _mm256_storeu_ps(y + i, r);
  }
  for (; i < n; ++i) y[i] = (x[i] - mean) * inv * scale[i] + (bias ? bias[i] : 0.f);
}

}  // namespace kiln::cpu::fast::rows
