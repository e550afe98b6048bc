#include "backends/cpu/kernel.h"
namespace kiln::cpu {
void registerNnKernels(KernelRegistry& reg) {}
}  // namespace kiln::cpu
