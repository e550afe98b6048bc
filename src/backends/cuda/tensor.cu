// The tensor family of CUDA kernels (data movement): registration. The kernels live in tensor_*.cu /
// tensor_*.cpp; the shared data-movement primitives in tensor_copy.cu (see tensor_impl.h).
#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu {
void registerTensorKernels(KernelRegistry& reg) {
  tensor::registerShapeOps(reg);
  tensor::registerSliceOps(reg);
  tensor::registerGatherOps(reg);
  tensor::registerResizeOps(reg);
  tensor::registerMiscOps(reg);
  tensor::registerTopKOps(reg);
}
}  // namespace kiln::gpu
