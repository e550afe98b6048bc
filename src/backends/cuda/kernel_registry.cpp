#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/fused_transformer.h"
#include "backends/gpu.h"

namespace kiln::gpu {

const KernelRegistry& kernelRegistry() {
  static const KernelRegistry reg = [] {
    KernelRegistry r;
    registerCopyKernels(r);
    registerElementwiseKernels(r);
    registerTensorKernels(r);
    registerNnKernels(r);
    registerPointwiseKernels(r);
    registerBlasKernels(r);
    registerFusedNormKernels(r);
    registerFusedAttentionKernels(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::gpu
