// The elementwise family of GPU kernels: registration of every sub-family (elementwise_*.cu; shared
// helpers in elementwise_common.cuh).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu {
void registerElementwiseKernels(KernelRegistry& reg) {
  ew::registerBinaryArithKernels(reg);
  ew::registerCompareKernels(reg);
  ew::registerBinaryMiscKernels(reg);
  ew::registerPowKernels(reg);
  ew::registerActivationKernels(reg);
  ew::registerUnaryMathKernels(reg);
  ew::registerCastKernels(reg);
}
}  // namespace kiln::gpu
