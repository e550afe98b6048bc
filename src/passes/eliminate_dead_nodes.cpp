#include <unordered_set>

#include "passes/pass.h"

namespace kiln::passes {

bool eliminateDeadNodes(ir::Graph& graph, PassContext&) {
  // Walk backwards from the graph outputs; everything not reached is dead.
  std::unordered_set<const ir::Value*> live(graph.outputs.begin(), graph.outputs.end());
  std::unordered_set<const ir::Node*> keep;
  for (auto it = graph.nodes.rbegin(); it != graph.nodes.rend(); ++it) {
    const ir::Node* n = it->get();
    bool needed = false;
    for (const ir::Value* o : n->outputs)
      if (live.count(o)) needed = true;
    if (!needed) continue;
    keep.insert(n);
    for (const ir::Value* in : n->inputs)
      if (in) live.insert(in);
  }
  if (keep.size() == graph.nodes.size()) return false;
  std::vector<ir::Node*> dead;
  for (auto& n : graph.nodes)
    if (!keep.count(n.get())) dead.push_back(n.get());
  for (ir::Node* n : dead) graph.removeNode(n);
  graph.compact();
  return true;
}

}  // namespace kiln::passes
