// Helpers shared by the fast nn tactics (softmax, layer norm, pooling): the reference kernel of the same
// node as the fallback for run-time cases a fast kernel does not cover.
#pragma once

#include <memory>

#include "backends/cpu/fast/fast.h"

namespace kiln::cpu::fast {

//! The "ref" kernel of `node` (created from the default CPU registry).
std::unique_ptr<Kernel> referenceKernel(const ir::Node& node);

void registerSoftmaxTactics(KernelRegistry& reg);    // softmax_tactics.cpp
void registerLayerNormTactics(KernelRegistry& reg);  // layernorm_tactics.cpp
void registerPoolTactics(KernelRegistry& reg);       // pool_tactics.cpp
void registerResizeTactics(KernelRegistry& reg);     // resize_tactics.cpp
void registerCopyTactics(KernelRegistry& reg);       // copy_tactics.cpp: Transpose, Slice

}  // namespace kiln::cpu::fast
