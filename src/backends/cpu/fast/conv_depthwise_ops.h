// The operand checks shared by the depthwise convolution tactics (conv_depthwise.cpp, conv_depthwise_c8.cpp).
// Not included by the ISA-specific (_avx2) files: its inline helpers must not be compiled for AVX2.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu::fast::dw {

//! The checked operands of a 2-D depthwise Conv (group = C = M, W [C, 1, kh, kw], optional bias B [C] and
//! residual Z of Y's shape) and its geometry; throws kiln::Error (bad data) naming what does not match.
//! Shared by the `depthwise` and `depthwise_c8` tactics.
struct Operands {
  const float* x{nullptr};
  const float* w{nullptr};
  const float* bias{nullptr};  //!< optional
  const float* z{nullptr};     //!< optional residual
  float* y{nullptr};
  int64_t n{0}, c{0};
  nn::Geom3 g;
};
Operands checkedOperands(const KernelContext& ctx, const std::vector<int64_t>& attrKernel, const ir::nn::Window& window,
                         int64_t group);

}  // namespace kiln::cpu::fast::dw
