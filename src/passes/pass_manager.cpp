#include "core/logging.h"
#include "passes/pass.h"

namespace kiln::passes {

int runToFixpoint(ir::Graph& graph, const std::vector<Pass>& passes, PassContext& ctx, int maxRounds) {
  int round = 0;
  for (; round < maxRounds; ++round) {
    bool changed = false;
    for (const Pass& p : passes) {
      try {
        bool c = p.run(graph, ctx);
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
  return {{"fold-constants", foldConstants},
          {"eliminate-identities", eliminateIdentities},
          {"eliminate-dead-nodes", eliminateDeadNodes}};
}

}  // namespace kiln::passes
