// AVX2/FMA packing of PreactConv's activated input into sgemm's B panels (see preact_conv_pack.h).
// Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "backends/cpu/fast/preact_conv_pack.h"

namespace kiln::cpu::fast::preact {

void packAvx2(const Piece* pieces, int64_t nPieces, const float* scale, const float* shift, bool relu, int64_t P,
              int64_t K, int64_t q0, int64_t q1, float* out) {
  const __m256 zero = _mm256_setzero_ps();
  // lanes of a partial panel that hold columns (the rest are zeroed)
  const int64_t tail = P % 16;
  alignas(32) int32_t maskBits[16];
  for (int i = 0; i < 16; ++i) maskBits[i] = i < tail ? -1 : 0;
  const __m256i m0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(maskBits));
  const __m256i m1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(maskBits + 8));
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t j0 = q * 16;
    const bool full = j0 + 16 <= P;
    float* o = out + (q - q0) * K * 16;
    int64_t c = 0;
    for (int64_t i = 0; i < nPieces; ++i) {
      const float* row = pieces[i].src + j0;
      for (int64_t k = 0; k < pieces[i].channels; ++k, ++c, row += P, o += 16) {
        const __m256 s = _mm256_broadcast_ss(scale + c), t = _mm256_broadcast_ss(shift + c);
        __m256 a, b;
        if (full) {
          a = _mm256_loadu_ps(row);
          b = _mm256_loadu_ps(row + 8);
        } else {
          a = _mm256_maskload_ps(row, m0);
          b = _mm256_maskload_ps(row + 8, m1);
        }
        a = _mm256_fmadd_ps(a, s, t);
        b = _mm256_fmadd_ps(b, s, t);
        if (relu) {  // max(0, v): a NaN v is the second operand and passes, as in Relu
          a = _mm256_max_ps(zero, a);
          b = _mm256_max_ps(zero, b);
        }
        if (!full) {  // padding columns must be zero (shift may not be)
          a = _mm256_and_ps(a, _mm256_castsi256_ps(m0));
          b = _mm256_and_ps(b, _mm256_castsi256_ps(m1));
        }
        _mm256_store_ps(o, a);
        _mm256_store_ps(o + 8, b);
      }
    }
  }
}

}  // namespace kiln::cpu::fast::preact
