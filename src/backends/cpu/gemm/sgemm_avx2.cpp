// The 6x16 AVX2/FMA micro-kernel: 12 accumulators (6 rows x 2 vectors of 8), one broadcast of A and two
// loads of B per row and step of k. Compiled with -mavx2 -mfma (see CMakeLists.txt); only called when
// the CPU has both.
#include <immintrin.h>

#include "backends/cpu/gemm/sgemm.h"

namespace kiln::cpu::gemm_detail {

namespace {
//! Asks for the lines of the C tile before the k loop: C is read (accumulate) or written once per kc steps,
//! and for large products it has left the caches since; the loop's ~kc * 6 cycles hide the miss.
inline void prefetchTile(const float* c, int64_t ldc, int64_t mr, int64_t nr) {
  for (int64_t r = 0; r < mr; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + nr - 1), _MM_HINT_T0);
  }
}
}  // namespace

void microKernelAvx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                     bool accumulate) {
  prefetchTile(c, ldc, mr, nr);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 a0 = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(a0, b0, c00);
    c01 = _mm256_fmadd_ps(a0, b1, c01);
    __m256 a1 = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(a1, b0, c10);
    c11 = _mm256_fmadd_ps(a1, b1, c11);
    __m256 a2 = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(a2, b0, c20);
    c21 = _mm256_fmadd_ps(a2, b1, c21);
    __m256 a3 = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(a3, b0, c30);
    c31 = _mm256_fmadd_ps(a3, b1, c31);
    __m256 a4 = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(a4, b0, c40);
    c41 = _mm256_fmadd_ps(a4, b1, c41);
    __m256 a5 = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(a5, b0, c50);
    c51 = _mm256_fmadd_ps(a5, b1, c51);
    a += kMR;
    b += kNR;
  }
  __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == kMR && nr == kNR) {
    for (int64_t r = 0; r < kMR; ++r) {
      float* row = c + r * ldc;
      __m256 v0 = acc[r][0], v1 = acc[r][1];
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, v0);
      _mm256_storeu_ps(row + 8, v1);
    }
    return;
  }
  alignas(32) float tile[kMR][kNR];
  for (int64_t r = 0; r < kMR; ++r) {
    _mm256_store_ps(tile[r], acc[r][0]);
    _mm256_store_ps(tile[r] + 8, acc[r][1]);
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.f) + tile[r][j];
}

void microKernelAvx2N8(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                       bool accumulate) {
  prefetchTile(c, ldc, mr, nr);
  __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps();
  __m256 c3 = _mm256_setzero_ps(), c4 = _mm256_setzero_ps(), c5 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, c5);
    a += kMR;
    b += kNR;
  }
  alignas(32) float tile[kMR][8];
  _mm256_store_ps(tile[0], c0);
  _mm256_store_ps(tile[1], c1);
  _mm256_store_ps(tile[2], c2);
  _mm256_store_ps(tile[3], c3);
  _mm256_store_ps(tile[4], c4);
  _mm256_store_ps(tile[5], c5);
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.f) + tile[r][j];
}

void dotRowsAvx2(const float* a, const float* b, int64_t ldb, int64_t K, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {  // 4 rows of b at a time: each load of a feeds 4 FMAs
    const float* b0 = b + j * ldb;
    const float* b1 = b0 + ldb;
    const float* b2 = b1 + ldb;
    const float* b3 = b2 + ldb;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      const __m256 av = _mm256_loadu_ps(a + k);
      s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b0 + k), s0);
      s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b1 + k), s1);
      s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b2 + k), s2);
      s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b3 + k), s3);
    }
    // horizontal sums of the 4 accumulators at once
    const __m256 h01 = _mm256_hadd_ps(s0, s1), h23 = _mm256_hadd_ps(s2, s3);
    const __m256 h = _mm256_hadd_ps(h01, h23);
    const __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    alignas(16) float t[4];
    _mm_store_ps(t, r);
    for (; k < K; ++k) {
      t[0] += a[k] * b0[k];
      t[1] += a[k] * b1[k];
      t[2] += a[k] * b2[k];
      t[3] += a[k] * b3[k];
    }
    out[j] = t[0], out[j + 1] = t[1], out[j + 2] = t[2], out[j + 3] = t[3];
  }
  for (; j < n; ++j) {
    const float* bj = b + j * ldb;
    __m256 acc = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(bj + k), acc);
    alignas(32) float t[8];
    _mm256_store_ps(t, acc);
    float sum = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    for (; k < K; ++k) sum += a[k] * bj[k];
    out[j] = sum;
  }
}

namespace {
//! Transposes the 8 x 8 matrix held in r[0..7] (row q in r[q]) in place.
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

//! The 8 x 8 block at src (rows ld apart) transposed: out row k (ldo apart) = column k of the block.
inline void transpose8x8(const float* src, int64_t ld, float* out, int64_t ldo) {
  __m256 r[8];
  for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * ld);
  transpose8(r);
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(out + q * ldo, r[q]);
}
}  // namespace

void packPanelTransposedAvx2(const float* src, int64_t ld, int64_t K, float* out) {
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    transpose8x8(src + k, ld, out + k * kNR, kNR);
    transpose8x8(src + 8 * ld + k, ld, out + k * kNR + 8, kNR);
  }
  for (; k < K; ++k)
    for (int64_t j = 0; j < kNR; ++j) out[k * kNR + j] = src[j * ld + k];
}

void packTile6Avx2(const float* src, int64_t rs, int64_t kc, float* out) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8, out += 8 * kMR) {
    // rows 0..5 and two spare ones: after the transpose, r[q] holds (a0..a5)[k + q] and 2 spare lanes
    __m256 r[8];
    for (int q = 0; q < 6; ++q) r[q] = _mm256_loadu_ps(src + q * rs + k);
    r[6] = r[4], r[7] = r[5];
    transpose8(r);
    // each store writes 8 floats, the last 2 of which the next store overwrites; the last one is masked
    for (int q = 0; q < 7; ++q) _mm256_storeu_ps(out + q * kMR, r[q]);
    _mm256_maskstore_ps(out + 7 * kMR, six, r[7]);
  }
  for (; k < kc; ++k, out += kMR)
    for (int64_t q = 0; q < kMR; ++q) out[q] = src[q * rs + k];
}

}  // namespace kiln::cpu::gemm_detail
