// Row kernels of the fast softmax and layer-norm tactics (float32): an AVX2/FMA version (rows_avx2.cpp),
// picked at run time by CPU features, and a portable one (rows.cpp) that computes in double.
#pragma once

#include <cstdint>

namespace kiln::cpu::fast::rows {

//! y = softmax(x) over n elements (log: log-softmax). Rows whose maximum is not finite follow the reference
//! (double) path, so that inf/NaN give the reference's results.
using SoftmaxFn = void (*)(float* y, const float* x, int64_t n, bool log);
//! y = (x - mean) / sqrt(var + eps) * scale + bias over n elements (bias may be null).
using LayerNormFn = void (*)(float* y, const float* x, int64_t n, const float* scale, const float* bias, float eps);

void softmaxPortable(float* y, const float* x, int64_t n, bool log);
void softmaxAvx2(float* y, const float* x, int64_t n, bool log);
void layerNormPortable(float* y, const float* x, int64_t n, const float* scale, const float* bias, float eps);
void layerNormAvx2(float* y, const float* x, int64_t n, const float* scale, const float* bias, float eps);

SoftmaxFn softmax();
LayerNormFn layerNorm();
//! Forces the portable (true) or automatic (false) choice; tests compare both.
void forcePortableForTesting(bool portable);

}  // namespace kiln::cpu::fast::rows
