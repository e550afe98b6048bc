#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/fused_transformer.h"
#include "backends/cuda/matmul_int.h"
#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/runtime_params.h"
#include "backends/cuda/subgraph.h"
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
    registerIntMatMulKernels(r);  // matmul_int.h
    registerFusedNormKernels(r);
    registerFusedAttentionKernels(r);
    registerQuantKernels(r);     // quant_sampling.h
    registerSamplingKernels(r);
    registerCastSmallKernels(r);
    registerSignalKernels(r);
    registerLinearAttentionKernels(r);
    registerMelWeightKernels(r);
    registerClipRuntimeKernels(r);     // runtime_params.h: after the families whose kernels they wrap
    registerDataDependentKernels(r);
    registerRecurrentKernels(r);
    registerHostParamKernels(r);
    registerControlFlowKernels(r);     // subgraph.h: Scan, If (their nested graphs use the kernels above)
    return r;
  }();
  return reg;
}

}  // namespace kiln::gpu
