// GPU kernels: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd (float types, int32, int64).
#include "backends/cuda/nn_reduce.cuh"

namespace kiln::gpu::nn {

void registerReduceKernelsA(KernelRegistry& reg) {
  reg.add("ReduceSum", reduceTactic<Red::kSUM>());
  reg.add("ReduceMean", reduceTactic<Red::kMEAN>());
  reg.add("ReduceMax", reduceTactic<Red::kMAX>());
  reg.add("ReduceMin", reduceTactic<Red::kMIN>());
  reg.add("ReduceProd", reduceTactic<Red::kPROD>());
}

}  // namespace kiln::gpu::nn
