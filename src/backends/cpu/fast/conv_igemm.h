// The "igemm" Conv tactic (conv_igemm.cpp): an implicit GEMM whose micro-kernel reads the input image in
// place, through a table of row offsets, instead of an im2col matrix packed into panels. Micro-kernels here:
// a portable one and an AVX2/FMA one (conv_igemm_avx2.cpp), picked by CPU features.
// Also declares the registration of "winograd4" (conv_winograd4.cpp) and helpers the Conv tactics share.
#pragma once

#include <cstdint>

#include "backends/cpu/kernel.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {
void registerIgemmTactics(KernelRegistry& reg);  // conv_igemm.cpp: Conv ("igemm")
void registerWinograd4Tactics(KernelRegistry& reg);  // conv_winograd4.cpp: Conv ("winograd4", F(4x4, 3x3))
//! Constant 3x3 weights, stride 1, dilation 1, group 1, float32 (conv_winograd.cpp; winograd and winograd4).
bool supportsWinograd(const ir::Node& node, std::string* why);
//! The node's fused kiln_act (nn::unsupported for a malformed one).
ir::FusedActivation convActivation(const ir::Node& node);
//! The optional bias (input 2) and residual Z (input 3) of a fused 4-D Conv, null where absent, after
//! checking X's channels (C), Y's batch and channels (M), the bias' shape [M] and Z's (Y's); `op` names the
//! tactic in the messages.
struct ConvExtras {
  const float* bias{nullptr};
  const float* z{nullptr};
};
ConvExtras convExtras(const KernelContext& ctx, int64_t C, int64_t M, const char* op);
}  // namespace kiln::cpu::fast

namespace kiln::cpu::fast::igemm {

constexpr int64_t kMR = 6;   //!< output channels per micro-tile
constexpr int64_t kNR = 16;  //!< output positions per micro-tile

//! acc(r, j) = sum_{k < kc} a[k * kMR + r] * src[off[k] + j] (r < kMR, j < kNR: all 16 floats of each row
//! are read, whatever nr is); then C(r, j) = (accumulate ? C(r, j) : 0) + acc(r, j) for r < mr, j < nr.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                             int64_t mr, int64_t nr, bool accumulate);
void microKernelPortable(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                         int64_t mr, int64_t nr, bool accumulate);
void microKernelAvx2(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                     int64_t mr, int64_t nr, bool accumulate);
//! microKernelAvx2 for nr <= 8: reads only 8 floats of each row.
void microKernelAvx2N8(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                       int64_t mr, int64_t nr, bool accumulate);

//! Transposed tile ("igemm_t": output positions as the 6 rows, output channels as the 16 columns):
//! tile[r * kNR + j] (+)= sum_{k < kc} src[off[k] + pos[r]] * b[k * kNR + j] (b: packed weights of 16 output
//! channels, kc x 16; `accumulate`: add to the tile instead of overwriting it).
using MicroKernelT = void (*)(int64_t kc, const float* b, const float* src, const int64_t* off, const int64_t* pos,
                              float* tile, bool accumulate);
void microKernelTPortable(int64_t kc, const float* b, const float* src, const int64_t* off, const int64_t* pos,
                          float* tile, bool accumulate);
void microKernelTAvx2(int64_t kc, const float* b, const float* src, const int64_t* off, const int64_t* pos,
                      float* tile, bool accumulate);

//! Forces the portable micro-kernel (tests compare both); false restores the automatic choice.
void forcePortableForTesting(bool portable);

}  // namespace kiln::cpu::fast::igemm
