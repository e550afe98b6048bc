// CPU kernels: the kernel interface (backends/kernel.h) and the CPU registry of tactics per operation.
#pragma once

#include "backends/kernel.h"

namespace kiln::cpu {

using backend::Kernel;
using backend::KernelContext;
using backend::KernelFactory;
using backend::KernelRegistry;
using backend::SupportsFn;
using backend::Tactic;
using backend::TensorView;

const KernelRegistry& defaultKernelRegistry();

// Reference kernel families (src/backends/cpu/ref/<family>.cpp).
void registerElementwiseKernels(KernelRegistry& reg);
void registerNnKernels(KernelRegistry& reg);
void registerTensorKernels(KernelRegistry& reg);
void registerRnnKernels(KernelRegistry& reg);  // ref/rnn.cpp: RNN, GRU, LSTM
void registerSamplingKernels(KernelRegistry& reg);  // ref/sampling.cpp: GridSample, AffineGrid, Col2Im
void registerAttentionKernels(KernelRegistry& reg);  // ref/attention.cpp: LinearAttention
void registerSignalKernels(KernelRegistry& reg);  // ref/signal.cpp: CumProd, Det, DFT
void registerDataDependentKernels(KernelRegistry& reg);  // ref/data_dependent.cpp: NonZero, Compress, Unique, NMS
void registerQuantKernels(KernelRegistry& reg);  // ref/quant.cpp: Quantize/DequantizeLinear, DynamicQuantizeLinear, BitCast
// Optimized tactics (src/backends/cpu/fast/), registered after the reference ones.
void registerFastKernels(KernelRegistry& reg);

//! Helper for families: a tactic named "ref" built by `new K(node)`.
template <class K>
Tactic refTactic(SupportsFn supports = nullptr) {
  Tactic t;
  t.name = "ref";
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<K>(node); };
  t.supports = supports;
  return t;
}

}  // namespace kiln::cpu
