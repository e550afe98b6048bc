// AVX2/FMA rows of the direct depthwise convolution: 16 (then 8) outputs per step in registers over all
// kernel rows; 3- and 5-wide kernels fully unrolled. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/fast/conv_depthwise.h"

namespace kiln::cpu::fast::dw {

namespace {

template <int KW>
void rowsFixed(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows, int64_t kwRt) {
  const int64_t kw = KW > 0 ? KW : kwRt;
  int64_t ox = 0;
  for (; ox + 16 <= ow; ox += 16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t r = 0; r < rows; ++r) {
      const float* const* s = src + r * kw;
      const float* wr = w[r];
      for (int64_t kx = 0; kx < kw; ++kx) {
        const __m256 wv = _mm256_broadcast_ss(wr + kx);
        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(s[kx] + ox), a0);
        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(s[kx] + ox + 8), a1);
      }
    }
    _mm256_storeu_ps(acc + ox, a0);
    _mm256_storeu_ps(acc + ox + 8, a1);
  }
  for (; ox < ow; ox += 8) {
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t r = 0; r < rows; ++r) {
      const float* const* s = src + r * kw;
      const float* wr = w[r];
      for (int64_t kx = 0; kx < kw; ++kx) a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(wr + kx), _mm256_loadu_ps(s[kx] + ox), a0);
    }
    if (ox + 8 <= ow) {
      _mm256_storeu_ps(acc + ox, a0);
    } else {
      alignas(32) float t[8];
      _mm256_store_ps(t, a0);
      std::memcpy(acc + ox, t, static_cast<size_t>(ow - ox) * sizeof(float));
    }
  }
}

}  // namespace

void rowsAvx2(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows, int64_t kw) {
  if (kw == 3) return rowsFixed<3>(acc, ow, src, w, rows, kw);
  if (kw == 5) return rowsFixed<5>(acc, ow, src, w, rows, kw);
  rowsFixed<0>(acc, ow, src, w, rows, kw);
}

}  // namespace kiln::cpu::fast::dw
