// Registration of the integer MatMul tactic (matmul_int.cu), called from kernel_registry.cpp.
#pragma once

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

//! MatMul over int32 / int64 ("cuda_int": the lowered MatMulInteger / QLinearMatMul).
void registerIntMatMulKernels(KernelRegistry& reg);

}  // namespace kiln::gpu
