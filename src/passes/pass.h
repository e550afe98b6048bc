// Graph rewrites. A pass reports whether it changed the graph; the manager runs a pass list to a fixpoint,
// verifies the graph after each pass and puts the pass name into any error.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kiln/logger.h"

namespace kiln::passes {

struct PassContext {
  Logger& logger;
  const ir::OpRegistry& ops;
  //! Largest constant (bytes) that constant folding may create.
  std::size_t maxFoldBytes{std::size_t{256} << 20};
  //! If set, runToFixpoint adds per pass name the number of nodes the pass removed (net).
  std::map<std::string, int64_t>* removedNodes{nullptr};
};

struct Pass {
  const char* name;
  bool (*run)(ir::Graph& graph, PassContext& ctx);
};

//! Runs the passes in order, repeatedly, until none changes the graph (at most `maxRounds` rounds).
//! Returns the number of rounds. Throws kiln::Error with "pass '<name>'" in its context.
int runToFixpoint(ir::Graph& graph, const std::vector<Pass>& passes, PassContext& ctx, int maxRounds = 16);

//! Removes nodes none of whose outputs is used or exported.
bool eliminateDeadNodes(ir::Graph& graph, PassContext& ctx);
//! Replaces nodes whose inputs are all constant (or whose outputs' contents inference knows) by constants.
bool foldConstants(ir::Graph& graph, PassContext& ctx);
//! Bypasses Identity nodes (and Cast/Reshape to the same type/shape) that do not produce graph outputs.
bool eliminateIdentities(ir::Graph& graph, PassContext& ctx);

// Fusions and pattern recognitions (they run for every backend; docs/ir/nn.md describes the IR they make).
//! BatchNormalization after Conv (or Gemm / MatMul with a constant 2-D weight) folded into the weights.
bool foldBatchNorm(ir::Graph& graph, PassContext& ctx);
//! Conv + per-channel Add -> B; Conv + Add(residual) -> Z; Conv + activation -> kiln_act.
bool fuseConvEpilogue(ir::Graph& graph, PassContext& ctx);
//! MatMul (constant 2-D B) + Add([N]) -> bias input; MatMul / Gemm + activation -> kiln_act.
bool fuseMatMulEpilogue(ir::Graph& graph, PassContext& ctx);
//! The erf and tanh forms of GELU -> Gelu.
bool recognizeGelu(ir::Graph& graph, PassContext& ctx);
//! ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div[/Mul/Add] over the last axis -> LayerNormalization.
bool recognizeLayerNorm(ir::Graph& graph, PassContext& ctx);
//! Add(a, b) -> LayerNormalization -> SkipLayerNormalization (the sum as a second output if still read).
bool fuseSkipLayerNorm(ir::Graph& graph, PassContext& ctx);
//! Transpose/Mul/MatMul/[Add mask]/Softmax/[Where(IsNaN)]/MatMul/Transpose attention -> FusedAttention.
bool fuseAttention(ir::Graph& graph, PassContext& ctx);
//! FusedAttention of Reshaped Q/K/V MatMuls of one input -> one MatMul (weights concatenated), packed input.
bool packAttentionQkv(ir::Graph& graph, PassContext& ctx);
//! The int32 MatMul of the lowered MatMulInteger / QLinearMatMul -> MatMulInteger over the 8-bit inputs.
bool fuseMatMulInteger(ir::Graph& graph, PassContext& ctx);

//! [Concat ->] BatchNormalization -> Relu -> 1x1 Conv -> PreactConv (CPU builds; fuse_preact_conv.cpp).
bool fusePreactConv(ir::Graph& graph, PassContext& ctx);

//! The default pipeline (every backend): constant folding and clean-ups, pattern recognition, fusions.
std::vector<Pass> defaultPasses();
//! Run after defaultPasses for GPU builds: fuse-skip-layernorm, fuse-attention and pack-attention-qkv (the
//! builder runs the attention ones for float16/bfloat16 builds only), fuse-matmul-integer, eliminate-dead-nodes.
std::vector<Pass> gpuPasses();
//! Run after defaultPasses for CPU builds: fuse-preact-conv (its op has CPU kernels only), eliminate-dead-nodes.
std::vector<Pass> cpuPasses();

}  // namespace kiln::passes
