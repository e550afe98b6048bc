// Registration of the GPU kernels of quant.cu (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// BitCast), sampling.cu (GridSample, AffineGrid, CumProd) and cast_small.cu (the "cuda_small" tactic of Cast:
// float8 / sub-byte types; registered after the elementwise family). Called from kernel_registry.cpp.
#pragma once

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

void registerQuantKernels(KernelRegistry& reg);
void registerSamplingKernels(KernelRegistry& reg);
void registerCastSmallKernels(KernelRegistry& reg);
void registerSignalKernels(KernelRegistry& reg);  // signal.cu: Det, DFT, STFT, Col2Im
void registerLinearAttentionKernels(KernelRegistry& reg);  // linear_attention.cu
void registerMelWeightKernels(KernelRegistry& reg);        // mel_weight.cpp

}  // namespace kiln::gpu
