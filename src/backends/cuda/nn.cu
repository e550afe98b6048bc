// The nn family of GPU kernels (everything but Conv/ConvTranspose/MatMul/Gemm): softmax, reductions,
// normalizations, pooling. One file per sub-family (nn_*.cu); this one registers them all.
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu {
void registerNnKernels(KernelRegistry& reg) {
  nn::registerSoftmaxKernels(reg);
  nn::registerReduceKernelsA(reg);
  nn::registerReduceKernelsB(reg);
  nn::registerArgKernels(reg);
  nn::registerNormKernels(reg);
  nn::registerStatNormKernels(reg);
  nn::registerPoolKernels(reg);
}
}  // namespace kiln::gpu
