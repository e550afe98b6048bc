#include "backends/cpu/kernel.h"
namespace kiln::cpu {
void registerTensorKernels(KernelRegistry& reg) {}
}  // namespace kiln::cpu
