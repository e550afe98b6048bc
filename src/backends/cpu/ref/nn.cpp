// Reference CPU kernels of the nn family; each group of ops lives in its own nn_*.cpp file.
#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu {

void registerNnKernels(KernelRegistry& reg) {
  nn::registerConvKernels(reg);
  nn::registerPoolKernels(reg);
  nn::registerMatMulKernels(reg);
  nn::registerSoftmaxKernels(reg);
  nn::registerNormKernels(reg);
  nn::registerReduceKernels(reg);
}

}  // namespace kiln::cpu
