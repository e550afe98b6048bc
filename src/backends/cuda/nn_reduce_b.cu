// GPU kernels: ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (float types).
#include "backends/cuda/nn_reduce.cuh"

namespace kiln::gpu::nn {

void registerReduceKernelsB(KernelRegistry& reg) {
  reg.add("ReduceL1", reduceTactic<Red::kL1>());
  reg.add("ReduceL2", reduceTactic<Red::kL2>());
  reg.add("ReduceLogSum", reduceTactic<Red::kLOGSUM>());
  reg.add("ReduceLogSumExp", reduceTactic<Red::kLOGSUMEXP>());
  reg.add("ReduceSumSquare", reduceTactic<Red::kSUMSQUARE>());
}

}  // namespace kiln::gpu::nn
