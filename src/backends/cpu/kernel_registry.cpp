#include "backends/cpu/kernel.h"

namespace kiln::cpu {

// SkipLayerNormalization, FusedAttention (ref/fused_transformer.cpp; declared here rather than in kernel.h so
// that adding them did not rebuild every kernel).
void registerFusedTransformerKernels(KernelRegistry& reg);
// PreactConv: the reference kernel, then the fast tactic (ref/preact_conv.cpp).
void registerPreactConvKernels(KernelRegistry& reg);

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
    registerFusedTransformerKernels(r);
    registerPreactConvKernels(r);
    registerFastKernels(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::cpu
