// Packing of PreactConv's activated input straight into sgemm's B panels (fast/preact_conv.cpp): the
// concatenation, the per-channel scale and shift and the Relu are applied while the panels are written.
#pragma once

#include <cstdint>

namespace kiln::cpu::fast::preact {

//! One input X_i of a batch item: `channels` rows of `P` floats each, row k at src + k * P.
struct Piece {
  const float* src;
  int64_t channels;
};

//! Writes panels [q0, q1) of the K x P matrix A (A[c, j] = relu?(X[c, j] * scale[c] + shift[c]), rows taken
//! from the pieces in order, K = their total channels) in sgemm's packed-B layout
//! (sgemmPackedBOffset, counted from panel q0: panel q at out + (q - q0) * K * 16), padding columns zeroed.
using PackFn = void (*)(const Piece* pieces, int64_t nPieces, const float* scale, const float* shift, bool relu,
                        int64_t P, int64_t K, int64_t q0, int64_t q1, float* out);
void packPortable(const Piece* pieces, int64_t nPieces, const float* scale, const float* shift, bool relu, int64_t P,
                  int64_t K, int64_t q0, int64_t q1, float* out);
void packAvx2(const Piece* pieces, int64_t nPieces, const float* scale, const float* shift, bool relu, int64_t P,
              int64_t K, int64_t q0, int64_t q1, float* out);  // preact_conv_avx2.cpp (AVX2/FMA)
//! Forces a packing function (tests compare both); nullptr restores the automatic choice.
void setPackForTesting(PackFn f);

}  // namespace kiln::cpu::fast::preact
