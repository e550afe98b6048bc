// Registration of the GPU kernels whose parameters or output extents come from values known only at run
// time: host-parameter wrappers (host_params.cpp), Clip with run-time bounds (clip_runtime.cu), NonZero /
// Compress / Unique / NonMaxSuppression (data_dependent.cu). Called from kernel_registry.cpp, after the
// families whose "cuda" tactics the wrappers instantiate.
#pragma once

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

void registerHostParamKernels(KernelRegistry& reg);
void registerClipRuntimeKernels(KernelRegistry& reg);
void registerDataDependentKernels(KernelRegistry& reg);
void registerRecurrentKernels(KernelRegistry& reg);  // rnn.cu: RNN, GRU, LSTM

}  // namespace kiln::gpu
