#include "backends/cuda/cuda_common.h"
#include "backends/gpu.h"

namespace kiln::gpu {

const KernelRegistry& kernelRegistry() {
  static const KernelRegistry reg = [] {
    KernelRegistry r;
    registerCopyKernels(r);
    registerElementwiseKernels(r);
    registerTensorKernels(r);
    registerNnKernels(r);
    registerBlasKernels(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::gpu
