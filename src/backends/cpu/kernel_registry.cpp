#include "backends/cpu/kernel.h"

namespace kiln::cpu {

const KernelRegistry& defaultKernelRegistry() {
  static const KernelRegistry reg = [] {
    KernelRegistry r;
    registerElementwiseKernels(r);
    registerNnKernels(r);
    registerTensorKernels(r);
    registerFastKernels(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::cpu
