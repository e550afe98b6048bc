// kiln compare's reference: the unoptimized graph, one reference kernel per node, every tensor kept.
#include "backends/cpu/reference_run.h"

#include <algorithm>
#include <set>

#include "backends/cpu/evaluate.h"
#include "backends/cpu/kernel.h"

namespace kiln::cpu {

namespace {

//! Ops whose reference kernel takes float64 tensors but computes in float32 inside (a float64 result
//! from them would claim a precision it does not have).
const std::set<std::string>& computesInFloat32() {
  static const std::set<std::string> ops{"LinearAttention", "DynamicQuantizeLinear"};
  return ops;
}

}  // namespace

bool referenceKernelSupports(const ir::Node& node, std::string* reason) {
  auto say = [&](const std::string& why) {
    if (reason) *reason = why;
    return false;
  };
  const Tactic* t = defaultKernelRegistry().find(node.op, "ref");
  if (!t) return say("no reference kernel for '" + node.op + "'");
  bool anyDouble = false;
  for (const ir::Value* v : node.inputs) anyDouble = anyDouble || (v && v->dtype == DataType::kDOUBLE);
  for (const ir::Value* v : node.outputs) anyDouble = anyDouble || (v && v->dtype == DataType::kDOUBLE);
  if (anyDouble && computesInFloat32().count(node.op)) return say("the reference kernel computes in float32");
  std::string why;
  if (t->supports && !t->supports(node, &why)) return say(why.empty() ? "the reference kernel does not apply" : why);
  try {
    (void)t->create(node);
  } catch (const Error& e) {
    return say(e.message());
  } catch (const std::exception& e) {
    return say(e.what());
  }
  return true;
}

const ir::TensorData* ReferenceRun::find(const ir::Value* v) const {
  if (!v) return nullptr;
  const std::size_t id = static_cast<std::size_t>(v->id);
  if (v->isConstant()) return v->constant.get();
  if (id < data.size() && data[id]) return data[id].get();
  if (id < infos.size() && infos[id].data) return infos[id].data.get();
  return nullptr;
}

const ir::TensorData* ReferenceRun::find(const std::string& name) const {
  return graph ? find(graph->findValue(name)) : nullptr;
}

ReferenceRun runReference(const ir::Graph& model, const std::vector<ReferenceInput>& inputs, bool fp64) {
  ReferenceRun r;
  r.fp64 = fp64;
  r.graph = model.clone();
  ir::Graph& g = *r.graph;
  g.topologicalSort();
  if (fp64) {
    try {
      r.raised = passes::raiseToDouble(g, referenceKernelSupports, &referenceEvaluator());
    } catch (const Error& e) {
      throw e.withContext("retyping the reference to float64");
    }
  }
  r.infos.assign(g.values.size(), {});
  r.data.assign(g.values.size(), nullptr);
  for (const ir::Value* v : g.inputs) {
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const ReferenceInput& in) { return in.name == v->name; });
    if (it == inputs.end()) throw Error(ErrorCode::kINVALID_ARGUMENT, "no data for the graph input '" + v->name + "'");
    const std::size_t id = static_cast<std::size_t>(v->id);
    r.infos[id].dtype = it->dtype;
    r.infos[id].shape = it->shape;
    r.data[id] = ir::makeTensor(it->dtype, it->shape, it->data, it->bytes);
  }
  try {
    ir::inferGraph(ir::defaultOpRegistry(), g, r.infos, &referenceEvaluator());
  } catch (const Error& e) {
    throw e.withContext("inferring the reference's shapes");
  }
  for (const auto& n : g.nodes) {
    std::vector<const ir::TensorData*> ins;
    for (const ir::Value* v : n->inputs) {
      if (!v) {
        ins.push_back(nullptr);
        continue;
      }
      const ir::TensorData* d = r.find(v);
      if (!d)
        throw Error(ErrorCode::kINVALID_ARGUMENT, "the reference has no data for '" + v->name + "' (input of node '" + n->name + "')");
      ins.push_back(d);
    }
    std::vector<std::shared_ptr<const ir::TensorData>> outs;
    try {
      outs = evaluateNode(*n, ins, r.infos);
    } catch (const Error& e) {
      throw e.withContext("the reference kernel of node '" + n->name + "' (" + n->op + ")");
    }
    for (std::size_t k = 0; k < n->outputs.size() && k < outs.size(); ++k)
      if (n->outputs[k]) r.data[static_cast<std::size_t>(n->outputs[k]->id)] = outs[k];
  }
  return r;
}

}  // namespace kiln::cpu
