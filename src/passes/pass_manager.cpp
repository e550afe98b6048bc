#include "core/logging.h"
#include "passes/pass.h"

namespace kiln::passes {

int runToFixpoint(ir::Graph& graph, const std::vector<Pass>& passes, PassContext& ctx, int maxRounds) {
  int round = 0;
  for (; round < maxRounds; ++round) {
    bool changed = false;
    for (const Pass& p : passes) {
      try {
        const auto before = static_cast<int64_t>(graph.nodes.size());
        bool c = p.run(graph, ctx);
        if (ctx.removedNodes) (*ctx.removedNodes)[p.name] += before - static_cast<int64_t>(graph.nodes.size());
        if (c) {
          graph.verify();
          LogMessage(ctx.logger, Severity::kVERBOSE) << "pass '" << p.name << "' changed the graph (" << graph.nodes.size()
                                                     << " nodes)";
        }
        changed |= c;
      } catch (const Error& e) {
        throw e.withContext(std::string("pass '") + p.name + "'");
      }
    }
    if (!changed) break;
  }
  return round + 1;
}

std::vector<Pass> defaultPasses() {
  // Recognitions first (they need the unfused ops), then BatchNormalization folding (it needs a bare
  // Conv), then the epilogue fusions (bias, residual, activation); dead nodes last.
  return {{"fold-constants", foldConstants},
          {"eliminate-identities", eliminateIdentities},
          {"recognize-gelu", recognizeGelu},
          {"recognize-layernorm", recognizeLayerNorm},
          {"fold-batchnorm", foldBatchNorm},
          {"fuse-conv-epilogue", fuseConvEpilogue},
          {"fuse-matmul-epilogue", fuseMatMulEpilogue},
          {"eliminate-dead-nodes", eliminateDeadNodes}};
}

std::vector<Pass> gpuPasses() {
  // Their ops have fast GPU kernels only (the CPU keeps its vectorized LayerNormalization, Softmax and GEMM).
  return {{"fuse-skip-layernorm", fuseSkipLayerNorm},
          {"fuse-attention", fuseAttention},
          {"pack-attention-qkv", packAttentionQkv},
          {"fuse-matmul-integer", fuseMatMulInteger},
          {"eliminate-dead-nodes", eliminateDeadNodes}};
}

std::vector<Pass> cpuPasses() {
  return {{"fuse-preact-conv", fusePreactConv}, {"eliminate-dead-nodes", eliminateDeadNodes}};
}

}  // namespace kiln::passes
