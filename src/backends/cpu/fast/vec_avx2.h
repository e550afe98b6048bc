// Inline AVX2/FMA math on 8 floats (exp, sigmoid, tanh, gelu) for the *_avx2.cpp files of the fast
// tactics only (they are compiled with -mavx2 -mfma). Accuracy: a few ulp for exp; NaN in gives NaN out.
#pragma once

#include <immintrin.h>

namespace kiln::cpu::fast::avx2 {

//! e^x; finite inputs are clamped to [-88, 88] (results below 2^-126 flush towards 0); above
//! ln(FLT_MAX) the result is +inf, and NaN stays NaN.
inline __m256 exp(__m256 x0) {
  const __m256 nanMask = _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q);
  const __m256 x = _mm256_min_ps(_mm256_max_ps(x0, _mm256_set1_ps(-88.f)), _mm256_set1_ps(88.f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  const __m256 res = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  const __m256 big = _mm256_cmp_ps(x0, _mm256_set1_ps(88.7228394f), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_blendv_ps(res, _mm256_set1_ps(__builtin_inff()), big), x0, nanMask);
}

inline __m256 restoreNaN(__m256 res, __m256 x) { return _mm256_blendv_ps(res, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); }

inline __m256 sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 e = exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return restoreNaN(_mm256_div_ps(one, _mm256_add_ps(one, e)), x);
}

inline __m256 tanh(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x);
  const __m256 t = exp(_mm256_mul_ps(ax, _mm256_set1_ps(-2.f)));
  const __m256 r = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  return restoreNaN(_mm256_or_ps(r, sign), x);
}

//! erfc(u) for u >= 0 (Abramowitz-Stegun 7.1.26).
inline __m256 erfcNonNegative(__m256 u) {
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), u, _mm256_set1_ps(1.f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  return _mm256_mul_ps(p, exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(u, u))));
}

//! 0.5 x (1 + erf(x / sqrt 2)), without cancellation for negative x.
inline __m256 gelu(__m256 x) {
  const __m256 u = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), x), _mm256_set1_ps(0.70710678118654752f));
  const __m256 q = erfcNonNegative(u);
  const __m256 f = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.f), q), q, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  return restoreNaN(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), f), x);
}

}  // namespace kiln::cpu::fast::avx2
