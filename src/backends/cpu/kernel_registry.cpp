#include "backends/cpu/kernel.h"

namespace kiln::cpu {

const KernelRegistry& defaultKernelRegistry() {
  static const KernelRegistry reg = [] {
    KernelRegistry r;
    registerElementwiseKernels(r);
    registerNnKernels(r);
    registerTensorKernels(r);
    registerRnnKernels(r);
    registerSamplingKernels(r);
    registerQuantKernels(r);
    registerSignalKernels(r);
    registerDataDependentKernels(r);
    registerAttentionKernels(r);
    registerFastKernels(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::cpu
