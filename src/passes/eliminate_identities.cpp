#include <algorithm>

#include "passes/pass.h"

namespace kiln::passes {

namespace {
bool isGraphOutput(const ir::Graph& g, const ir::Value* v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

bool isNoOp(const ir::Node& n) {
  if (n.inputs.empty() || !n.inputs[0] || n.outputs.size() != 1) return false;
  const ir::Value* in = n.inputs[0];
  const ir::Value* out = n.outputs[0];
  if (n.op == "Identity") return true;
  if (n.op == "Cast") return in->dtype == out->dtype;
  return false;
}
}  // namespace

bool eliminateIdentities(ir::Graph& graph, PassContext&) {
  bool changed = false;
  std::vector<ir::Node*> victims;
  for (auto& n : graph.nodes)
    if (isNoOp(*n) && !isGraphOutput(graph, n->outputs[0])) victims.push_back(n.get());
  for (ir::Node* n : victims) {
    graph.replaceAllUses(n->outputs[0], n->inputs[0]);
    graph.removeNode(n);
    changed = true;
  }
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
