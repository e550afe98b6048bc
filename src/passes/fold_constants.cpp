#include "backends/cpu/evaluate.h"
#include "core/logging.h"
#include "passes/pass.h"

namespace kiln::passes {

namespace {
bool allInputsConstant(const ir::Node& n) {
  for (const ir::Value* in : n.inputs)
    if (in && !in->isConstant()) return false;
  return true;
}

void makeConstant(ir::Value* v, std::shared_ptr<const ir::TensorData> data) {
  v->producer = nullptr;
  v->dtype = data->dtype;
  v->shape = data->shape;
  v->constant = std::move(data);
}
}  // namespace

bool foldConstants(ir::Graph& graph, PassContext& ctx) {
  // Inference with evaluation gives the contents of small values computed from constants and static
  // shapes (Shape -> Gather -> Concat chains); nodes with all-constant inputs are evaluated whatever their
  // size, up to ctx.maxFoldBytes.
  std::vector<ir::ValueInfo> infos(graph.values.size());
  for (const ir::Value* in : graph.inputs) {
    infos[static_cast<size_t>(in->id)].dtype = in->dtype;
    infos[static_cast<size_t>(in->id)].shape = in->shape;
  }
  ir::inferGraph(ctx.ops, graph, infos, &cpu::referenceEvaluator());

  std::vector<ir::Node*> folded;
  for (auto& np : graph.nodes) {
    ir::Node& n = *np;
    bool known = true;
    for (const ir::Value* o : n.outputs)
      if (!infos[static_cast<size_t>(o->id)].data) known = false;
    if (!known && allInputsConstant(n)) {
      std::size_t bytes = 0;
      for (const ir::Value* o : n.outputs) {
        const auto& i = infos[static_cast<size_t>(o->id)];
        int64_t ne = ir::numElements(i.shape);
        bytes += ne < 0 ? SIZE_MAX / 4 : static_cast<std::size_t>(ne) * dataTypeSize(i.dtype);
      }
      if (bytes > ctx.maxFoldBytes) continue;
      std::vector<const ir::TensorData*> ins;
      for (const ir::Value* in : n.inputs) ins.push_back(in ? in->constant.get() : nullptr);
      try {
        auto outs = cpu::evaluateNode(n, ins, infos);
        for (size_t k = 0; k < outs.size(); ++k) infos[static_cast<size_t>(n.outputs[k]->id)].data = outs[k];
        known = true;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kUNSUPPORTED_NODE) throw e.withContext("node '" + n.name + "' (" + n.op + ")");
        continue;
      }
    }
    if (!known) continue;
    for (ir::Value* o : n.outputs) makeConstant(o, infos[static_cast<size_t>(o->id)].data);
    folded.push_back(&n);
  }
  for (ir::Node* n : folded) graph.removeNode(n);
  if (!folded.empty()) {
    LogMessage(ctx.logger, Severity::kVERBOSE) << "folded " << folded.size() << " nodes into constants";
    graph.compact();
  }
  return !folded.empty();
}

}  // namespace kiln::passes
