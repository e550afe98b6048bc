// Direct depthwise convolution (group == channels, one filter per channel) for the fast CPU tactics:
// the row kernels shared by conv_depthwise.cpp (tactic, portable rows) and conv_depthwise_avx2.cpp.
#pragma once

#include <cstdint>

namespace kiln::cpu::fast::dw {

//! acc[ox] = sum over r < rows, kx < kw of w[r][kx] * src[r * kw + kx][ox], for ox < ow. Every src row is
//! readable up to ow rounded up to a multiple of 8 (the buffers carry that slack).
using RowsFn = void (*)(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows,
                        int64_t kw);
void rowsPortable(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows, int64_t kw);
void rowsAvx2(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows, int64_t kw);
//! Forces a row kernel (tests compare both); nullptr restores the automatic choice.
void setRowsForTesting(RowsFn f);

}  // namespace kiln::cpu::fast::dw
