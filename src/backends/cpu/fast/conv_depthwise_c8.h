// Depthwise convolution on blocks of 8 channels (the "depthwise_c8" tactic, conv_depthwise_c8.cpp): each
// block of channel planes is transposed into a zero-padded [rows][cols][8] buffer, so that one AVX2
// vector holds the 8 channels of a pixel and every output pixel is kh x kw FMAs with no edge cases; the
// result is transposed back into the channel planes. Suits the small planes (7x7 .. 28x28) of mobile
// networks, where per-row work of the plane-wise "depthwise" tactic dominates.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::cpu::fast::dwc8 {

struct Geometry {
  int64_t H, W, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl;
};

//! Floats of scratch dwC8BlockAvx2 needs for this geometry.
int64_t scratchFloats(const Geometry& g);

//! y_c[o] = sum over taps of w_c[t] * x_c[tap o] (no bias/activation) for the cb <= 8 channels c of one
//! block: x_c = x + c * inSz, w_c = w + c * kh * kw, y_c = y + c * outSz. `scratch`: scratchFloats(g)
//! floats, 32-byte aligned. `xEnd`: the end of the readable memory after x (whole vectors may be loaded up
//! to it past a row's end). Compiled with -mavx2 -mfma (conv_depthwise_c8_avx2.cpp).
void dwC8BlockAvx2(const Geometry& g, const float* x, int64_t inSz, const float* w, int64_t cb, float* y,
                   int64_t outSz, float* scratch, const float* xEnd);

}  // namespace kiln::cpu::fast::dwc8
