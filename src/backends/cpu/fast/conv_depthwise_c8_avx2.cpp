// AVX2/FMA body of the "depthwise_c8" tactic (see conv_depthwise_c8.h). Compiled with -mavx2 -mfma; only
// called when the CPU has both (the tactic requires them).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "backends/cpu/fast/conv_depthwise_c8.h"

namespace kiln::cpu::fast::dwc8 {

namespace {

inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

struct Padded {
  int64_t rows, cols;  // of the padded buffer
};

Padded paddedExtent(const Geometry& g) {
  return {(g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1, (g.OW - 1) * g.sw + (g.kw - 1) * g.dw + 1};
}

}  // namespace

int64_t scratchFloats(const Geometry& g) {
  const Padded p = paddedExtent(g);
  // slack: the last (partial) block of 8 outputs of a row reads up to 8 strides past the padded rows
  return (p.rows * p.cols + g.OH * g.OW + g.kh * g.kw + 8 * g.sw + 16) * 8 + 64;
}

void dwC8BlockAvx2(const Geometry& g, const float* x, int64_t inSz, const float* w, int64_t cb, float* y,
                   int64_t outSz, float* scratch, const float* xEnd) {
  const Padded pe = paddedExtent(g);
  const int64_t kSz = g.kh * g.kw, rowStride = pe.cols * 8;
  float* P = scratch;                     // [pe.rows][pe.cols][8]
  float* O = P + pe.rows * pe.cols * 8;   // [OH * OW][8]
  float* Wv = O + g.OH * g.OW * 8;        // [kSz][8]
  // weights, channel-interleaved (missing channels zero)
  for (int64_t t = 0; t < kSz; ++t)
    for (int64_t c = 0; c < 8; ++c) Wv[t * 8 + c] = c < cb ? w[c * kSz + t] : 0.f;
  // padded input: rows/cols of the buffer map to input row r - pt, column q - pl
  const int64_t r0 = std::clamp<int64_t>(g.pt, 0, pe.rows), r1 = std::min(pe.rows, g.pt + g.H);  // rows with data
  const int64_t q0 = std::clamp<int64_t>(g.pl, 0, pe.cols), q1 = std::min(pe.cols, g.pl + g.W);  // cols with data
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t r = 0; r < pe.rows; ++r) {
    float* pr = P + r * rowStride;
    if (r < r0 || r >= r1 || q0 >= q1) {
      for (int64_t q = 0; q < pe.cols; ++q) _mm256_store_ps(pr + q * 8, zero);
      continue;
    }
    for (int64_t q = 0; q < q0; ++q) _mm256_store_ps(pr + q * 8, zero);
    for (int64_t q = q1; q < pe.cols; ++q) _mm256_store_ps(pr + q * 8, zero);
    const float* src[8];
    for (int64_t c = 0; c < 8; ++c) src[c] = x + std::min(c, cb - 1) * inSz + (r - g.pt) * g.W + (q0 - g.pl);
    int64_t q = q0;
    for (; q + 8 <= q1; q += 8) {
      const int64_t o = q - q0;
      __m256 v0 = _mm256_loadu_ps(src[0] + o), v1 = _mm256_loadu_ps(src[1] + o), v2 = _mm256_loadu_ps(src[2] + o),
             v3 = _mm256_loadu_ps(src[3] + o), v4 = _mm256_loadu_ps(src[4] + o), v5 = _mm256_loadu_ps(src[5] + o),
             v6 = _mm256_loadu_ps(src[6] + o), v7 = _mm256_loadu_ps(src[7] + o);
      transpose8(v0, v1, v2, v3, v4, v5, v6, v7);
      float* d = pr + q * 8;
      _mm256_store_ps(d, v0);
      _mm256_store_ps(d + 8, v1);
      _mm256_store_ps(d + 16, v2);
      _mm256_store_ps(d + 24, v3);
      _mm256_store_ps(d + 32, v4);
      _mm256_store_ps(d + 40, v5);
      _mm256_store_ps(d + 48, v6);
      _mm256_store_ps(d + 56, v7);
    }
    if (q < q1 && src[7] + (q - q0) + 8 <= xEnd) {  // the last < 8 columns: 8 loaded (the rest unused)
      const int64_t o = q - q0;
      __m256 v[8] = {_mm256_loadu_ps(src[0] + o), _mm256_loadu_ps(src[1] + o), _mm256_loadu_ps(src[2] + o),
                     _mm256_loadu_ps(src[3] + o), _mm256_loadu_ps(src[4] + o), _mm256_loadu_ps(src[5] + o),
                     _mm256_loadu_ps(src[6] + o), _mm256_loadu_ps(src[7] + o)};
      transpose8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
      for (int64_t j = 0; q < q1; ++q, ++j) _mm256_store_ps(pr + q * 8, v[j]);
    }
    for (; q < q1; ++q)
      for (int64_t c = 0; c < 8; ++c) pr[q * 8 + c] = src[c][q - q0];
  }
  // outputs: 8 pixels of a row at a time (8 independent accumulators), then one at a time
  for (int64_t oy = 0; oy < g.OH; ++oy) {
    const float* prow = P + oy * g.sh * rowStride;
    float* orow = O + oy * g.OW * 8;
    int64_t ox = 0;
    const int64_t step = g.sw * 8;
    // blocks of 8 outputs; a last partial block too (its extra outputs read padding or slack, unused)
    for (; ox < g.OW; ox += 8) {
      __m256 a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const float* pk = prow + ky * g.dh * rowStride + ox * step;
        const float* wk = Wv + ky * g.kw * 8;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const __m256 wv = _mm256_load_ps(wk + kx * 8);
          const float* s = pk + kx * g.dw * 8;
          a0 = _mm256_fmadd_ps(_mm256_load_ps(s), wv, a0);
          a1 = _mm256_fmadd_ps(_mm256_load_ps(s + step), wv, a1);
          a2 = _mm256_fmadd_ps(_mm256_load_ps(s + 2 * step), wv, a2);
          a3 = _mm256_fmadd_ps(_mm256_load_ps(s + 3 * step), wv, a3);
          a4 = _mm256_fmadd_ps(_mm256_load_ps(s + 4 * step), wv, a4);
          a5 = _mm256_fmadd_ps(_mm256_load_ps(s + 5 * step), wv, a5);
          a6 = _mm256_fmadd_ps(_mm256_load_ps(s + 6 * step), wv, a6);
          a7 = _mm256_fmadd_ps(_mm256_load_ps(s + 7 * step), wv, a7);
        }
      }
      const __m256 a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
      float* d = orow + ox * 8;
      const int64_t n = std::min<int64_t>(8, g.OW - ox);
      for (int64_t j = 0; j < n; ++j) _mm256_store_ps(d + j * 8, a[j]);
    }
  }
  // back to the channel planes: 8 consecutive outputs of the 8 channels per transpose
  int64_t o = 0;
  for (; o + 8 <= outSz; o += 8) {
    const float* s = O + o * 8;
    __m256 v0 = _mm256_load_ps(s), v1 = _mm256_load_ps(s + 8), v2 = _mm256_load_ps(s + 16), v3 = _mm256_load_ps(s + 24),
           v4 = _mm256_load_ps(s + 32), v5 = _mm256_load_ps(s + 40), v6 = _mm256_load_ps(s + 48), v7 = _mm256_load_ps(s + 56);
    transpose8(v0, v1, v2, v3, v4, v5, v6, v7);
    const __m256 v[8] = {v0, v1, v2, v3, v4, v5, v6, v7};
    for (int64_t c = 0; c < cb; ++c) _mm256_storeu_ps(y + c * outSz + o, v[c]);
  }
  for (; o < outSz; ++o)
    for (int64_t c = 0; c < cb; ++c) y[c * outSz + o] = O[o * 8 + c];
}

}  // namespace kiln::cpu::fast::dwc8
