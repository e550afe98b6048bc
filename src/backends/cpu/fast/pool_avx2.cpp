// AVX2 rows of the separable MaxPool (pool_tactics.cpp): NaN-skipping maxima down the window rows and
// across the window columns (gathers for strides other than 1). Compiled with -mavx2 -mfma; only called
// when the CPU has AVX2.
#include <immintrin.h>

#include <cstdint>

#include "backends/cpu/fast/pool_rows.h"

namespace kiln::cpu::fast::pool {

namespace {
//! b where b > a or a is NaN, else a (the larger, NaNs skipped unless both are NaN)
inline __m256 maxSkipNan(__m256 a, __m256 b) {
  const __m256 take = _mm256_or_ps(_mm256_cmp_ps(b, a, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  return _mm256_blendv_ps(a, b, take);
}

//! The scalar step, without branches (random data would mispredict them)
inline float maxSkipNan1(float a, float b) {
  const __m128 va = _mm_set_ss(a), vb = _mm_set_ss(b);
  const __m128 take = _mm_or_ps(_mm_cmp_ss(vb, va, _CMP_GT_OQ), _mm_cmp_ss(va, va, _CMP_UNORD_Q));
  return _mm_cvtss_f32(_mm_blendv_ps(va, vb, take));
}
}  // namespace

void colMaxAvx2(float* cm, const float* r, int64_t n, bool overread) {
  int64_t i = 0;
  const int64_t end = overread ? n : n - 7;  // with overread: a last vector that reaches past n
  for (; i < end; i += 8) _mm256_storeu_ps(cm + i, maxSkipNan(_mm256_loadu_ps(cm + i), _mm256_loadu_ps(r + i)));
  for (; i < n; ++i) cm[i] = maxSkipNan1(cm[i], r[i]);
}

bool copyRowAvx2(float* cm, const float* r, int64_t n) {
  __m256 nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(r + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(cm + i, v);
  }
  bool any = _mm256_movemask_ps(nan) != 0;
  for (; i < n; ++i) {
    cm[i] = r[i];
    any = any || r[i] != r[i];
  }
  return any;
}

void rowMaxAvx2(float* y, const float* cm, const float* first, int64_t ox0, int64_t ox1, int64_t sx, int64_t dx,
                int64_t kw, int64_t base, bool firstNan) {
  int64_t ox = ox0;
  const int64_t n = ox1 > ox0 ? (ox1 - 1) * sx + base + (kw - 1) * dx + 1 : 0;  // cm entries read
  if (ox1 - ox0 >= 8 && n < (int64_t{1} << 31)) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i step = _mm256_set1_epi32(static_cast<int>(sx));
    for (; ox < ox1; ox += 8) {
      if (ox + 8 > ox1) ox = ox1 - 8;  // the last 8 outputs (some computed twice)
      const int64_t b0 = ox * sx + base;
      __m256 best, f = _mm256_setzero_ps();
      if (sx == 2 && !firstNan) {  // taps at even/odd offsets: deinterleaved pairs of loads
        auto tap = [&](int64_t off) {
          const int64_t e = off & ~int64_t{1};
          const __m256 a = _mm256_loadu_ps(cm + b0 + e), b = _mm256_loadu_ps(cm + b0 + e + 8);
          const __m256 v = (off & 1) ? _mm256_shuffle_ps(a, b, 0xDD) : _mm256_shuffle_ps(a, b, 0x88);
          return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
        };
        best = tap(0);
        for (int64_t kx = 1; kx < kw; ++kx) best = maxSkipNan(best, tap(kx * dx));
        _mm256_storeu_ps(y + ox, best);
        continue;
      }
      if (sx == 1) {
        f = _mm256_loadu_ps(first + b0);
        best = _mm256_loadu_ps(cm + b0);
        for (int64_t kx = 1; kx < kw; ++kx) best = maxSkipNan(best, _mm256_loadu_ps(cm + b0 + kx * dx));
      } else {
        const __m256i idx = _mm256_mullo_epi32(lane, step);
        f = _mm256_i32gather_ps(first + b0, idx, 4);
        best = _mm256_i32gather_ps(cm + b0, idx, 4);
        for (int64_t kx = 1; kx < kw; ++kx) best = maxSkipNan(best, _mm256_i32gather_ps(cm + b0 + kx * dx, idx, 4));
      }
      _mm256_storeu_ps(y + ox, _mm256_blendv_ps(best, f, _mm256_cmp_ps(f, f, _CMP_UNORD_Q)));
    }
  }
  for (; ox < ox1; ++ox) {
    const int64_t b = ox * sx + base;
    float best = cm[b];
    for (int64_t kx = 1; kx < kw; ++kx) best = maxSkipNan1(best, cm[b + kx * dx]);
    const __m128 f = _mm_set_ss(first[b]);
    y[ox] = _mm_cvtss_f32(_mm_blendv_ps(_mm_set_ss(best), f, _mm_cmp_ss(f, f, _CMP_UNORD_Q)));
  }
}

}  // namespace kiln::cpu::fast::pool
