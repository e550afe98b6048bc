// The optimized CPU tactics (src/backends/cpu/fast/): one registration function per family, called in
// this order by registerFastKernels (fast/registry.cpp) after the reference kernels.
#pragma once

#include "backends/cpu/kernel.h"

namespace kiln::cpu::fast {

void registerGemmTactics(KernelRegistry& reg);         // gemm_tactics.cpp: MatMul, Gemm, Conv ("gemm")
void registerDepthwiseTactics(KernelRegistry& reg);    // conv_depthwise.cpp: Conv ("depthwise")
void registerDepthwiseC8Tactics(KernelRegistry& reg);  // conv_depthwise_c8.cpp: Conv ("depthwise_c8", AVX2/FMA)
void registerWinogradTactics(KernelRegistry& reg);     // conv_winograd.cpp: Conv ("winograd", 3x3 stride 1)
void registerElementwiseTactics(KernelRegistry& reg);  // elementwise_tactics.cpp: unary activations, binary ("fast")
void registerNnTactics(KernelRegistry& reg);           // softmax / layernorm / pooling ("fast")

//! Whether every input and output of `node` is float32 (the fast tactics' common requirement).
bool allFloat32(const ir::Node& node, std::string* why);

//! A tactic `name` built by `new K(node)`, applying where `supports` says so.
template <class K>
Tactic makeTactic(const char* name, SupportsFn supports) {
  Tactic t;
  t.name = name;
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<K>(node); };
  t.supports = supports;
  return t;
}

}  // namespace kiln::cpu::fast
