// AVX2/FMA micro-kernels of the "igemm" Conv tactic (conv_igemm.h): 6 output channels x 16 (or 8) output
// positions in 12 (6) accumulators; per step of k one offset, two (one) unaligned loads of the input row
// and six broadcasts of the packed weights. Compiled with -mavx2 -mfma; only called when the CPU has both.
#include <immintrin.h>

#include "backends/cpu/fast/conv_igemm.h"

namespace kiln::cpu::fast::igemm {

namespace {
inline void storeTile(const __m256* acc, int nv, float* c, int64_t ldc, int64_t mr, int64_t nr, bool accumulate) {
  if (mr == kMR && nr == nv * 8) {
    for (int64_t r = 0; r < kMR; ++r) {
      float* row = c + r * ldc;
      for (int v = 0; v < nv; ++v) {
        __m256 x = acc[r * nv + v];
        if (accumulate) x = _mm256_add_ps(x, _mm256_loadu_ps(row + 8 * v));
        _mm256_storeu_ps(row + 8 * v, x);
      }
    }
    return;
  }
  alignas(32) float tile[kMR][kNR];
  for (int64_t r = 0; r < kMR; ++r)
    for (int v = 0; v < nv; ++v) _mm256_store_ps(tile[r] + 8 * v, acc[r * nv + v]);
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.f) + tile[r][j];
}
}  // namespace

void microKernelAvx2(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                     int64_t mr, int64_t nr, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = src + off[k];
    _mm_prefetch(reinterpret_cast<const char*>(b + kNR), _MM_HINT_T0);  // the next tile's floats of this row
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    a += kMR;
  }
  const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  storeTile(acc, 2, c, ldc, mr, nr, accumulate);
}

void microKernelAvx2N8(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                       int64_t mr, int64_t nr, bool accumulate) {
  __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps();
  __m256 c3 = _mm256_setzero_ps(), c4 = _mm256_setzero_ps(), c5 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(src + off[k]);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, c5);
    a += kMR;
  }
  const __m256 acc[6] = {c0, c1, c2, c3, c4, c5};
  storeTile(acc, 1, c, ldc, mr, nr, accumulate);
}

void microKernelTAvx2(int64_t kc, const float* b, const float* src, const int64_t* off, const int64_t* pos,
                      float* tile, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float* s0 = src + pos[0];
  const float* s1 = src + pos[1];
  const float* s2 = src + pos[2];
  const float* s3 = src + pos[3];
  const float* s4 = src + pos[4];
  const float* s5 = src + pos[5];
  for (int64_t k = 0; k < kc; ++k) {
    const int64_t o = off[k];
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(s0 + o);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(s1 + o);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(s2 + o);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(s3 + o);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(s4 + o);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(s5 + o);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    b += kNR;
  }
  const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int i = 0; i < 12; ++i)
    _mm256_storeu_ps(tile + 8 * i, accumulate ? _mm256_add_ps(acc[i], _mm256_loadu_ps(tile + 8 * i)) : acc[i]);
}

}  // namespace kiln::cpu::fast::igemm
