// AVX2/FMA epilogue: 8 floats at a time; exp by range reduction (x = n ln2 + r) and a degree-6 polynomial,
// erfc by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). Compiled with -mavx2 -mfma; called only when the CPU
// has both.
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/vec_avx2.h"

namespace kiln::cpu::fast::detail {

namespace {

using ir::FusedAct;

struct Consts {
  __m256 alpha, beta;
};

template <FusedAct A>
inline __m256 activate(__m256 x, const Consts& c) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  if constexpr (A == FusedAct::kNONE) {
    return x;
  } else if constexpr (A == FusedAct::kRELU) {
    return _mm256_max_ps(zero, x);  // NaN (second operand) passes through
  } else if constexpr (A == FusedAct::kCLIP) {
    return _mm256_min_ps(c.beta, _mm256_max_ps(c.alpha, x));
  } else if constexpr (A == FusedAct::kLEAKY_RELU) {
    return _mm256_blendv_ps(x, _mm256_mul_ps(c.alpha, x), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
  } else if constexpr (A == FusedAct::kSIGMOID) {
    return avx2::sigmoid(x);
  } else if constexpr (A == FusedAct::kTANH) {
    return avx2::tanh(x);
  } else if constexpr (A == FusedAct::kHARD_SIGMOID) {
    return _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(c.alpha, x, c.beta)));
  } else if constexpr (A == FusedAct::kHARD_SWISH) {
    __m256 v = _mm256_fmadd_ps(x, _mm256_set1_ps(1.f / 6.f), _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(x, _mm256_min_ps(one, _mm256_max_ps(zero, v)));
  } else if constexpr (A == FusedAct::kSILU) {
    return _mm256_mul_ps(x, avx2::sigmoid(x));
  } else {
    return avx2::gelu(x);
  }
}

template <FusedAct A>
void run(float* y, const float* x, int64_t n, const RowEpilogue& e) {
  const Consts c{_mm256_set1_ps(static_cast<float>(e.act.alpha)), _mm256_set1_ps(static_cast<float>(e.act.beta))};
  const __m256 bias = _mm256_set1_ps(e.bias);
  auto load = [&](int64_t j) {
    __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + j), bias);
    if (e.biasVec) v = _mm256_add_ps(v, _mm256_loadu_ps(e.biasVec + j));
    if (e.z) v = _mm256_add_ps(v, _mm256_loadu_ps(e.z + j));
    return v;
  };
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, activate<A>(load(j), c));
  if (j < n) {
    const int64_t r = n - j;
    alignas(32) float tx[8] = {}, tb[8] = {}, tz[8] = {};
    std::memcpy(tx, x + j, static_cast<size_t>(r) * sizeof(float));
    __m256 v = _mm256_add_ps(_mm256_load_ps(tx), bias);
    if (e.biasVec) {
      std::memcpy(tb, e.biasVec + j, static_cast<size_t>(r) * sizeof(float));
      v = _mm256_add_ps(v, _mm256_load_ps(tb));
    }
    if (e.z) {
      std::memcpy(tz, e.z + j, static_cast<size_t>(r) * sizeof(float));
      v = _mm256_add_ps(v, _mm256_load_ps(tz));
    }
    _mm256_store_ps(tx, activate<A>(v, c));
    std::memcpy(y + j, tx, static_cast<size_t>(r) * sizeof(float));
  }
}

}  // namespace

void epilogueRowAvx2(float* y, const float* x, int64_t n, const RowEpilogue& e) {
  switch (e.act.kind) {
    case FusedAct::kNONE: return run<FusedAct::kNONE>(y, x, n, e);
    case FusedAct::kRELU: return run<FusedAct::kRELU>(y, x, n, e);
    case FusedAct::kCLIP: return run<FusedAct::kCLIP>(y, x, n, e);
    case FusedAct::kLEAKY_RELU: return run<FusedAct::kLEAKY_RELU>(y, x, n, e);
    case FusedAct::kSIGMOID: return run<FusedAct::kSIGMOID>(y, x, n, e);
    case FusedAct::kTANH: return run<FusedAct::kTANH>(y, x, n, e);
    case FusedAct::kHARD_SIGMOID: return run<FusedAct::kHARD_SIGMOID>(y, x, n, e);
    case FusedAct::kHARD_SWISH: return run<FusedAct::kHARD_SWISH>(y, x, n, e);
    case FusedAct::kSILU: return run<FusedAct::kSILU>(y, x, n, e);
    case FusedAct::kGELU: return run<FusedAct::kGELU>(y, x, n, e);
  }
  epilogueRowPortable(y, x, n, e);
}

}  // namespace kiln::cpu::fast::detail
