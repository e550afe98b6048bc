#include "runtime/engine_impl.h"

#include <cstring>

#include "core/cpu_features.h"

namespace kiln::detail {

int EngineImpl::findIO(const char* name) const noexcept {
  if (!name) return -1;
  for (size_t i = 0; i < io.size(); ++i)
    if (io[i].name == name) return static_cast<int>(i);
  return -1;
}

std::shared_ptr<EngineImpl> makeEngine(plan::PlanContents&& contents, Logger& logger) {
  auto e = std::make_shared<EngineImpl>();
  e->logger = &logger;
  e->plan = std::move(contents);
  const ir::Graph& g = *e->plan.graph;
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  const cpu::KernelRegistry& kernels = cpu::defaultKernelRegistry();
  auto addIO = [&](const ir::Value* v, TensorIOMode mode) {
    for (const IOTensor& t : e->io)
      if (t.name == v->name)
        throw Error(ErrorCode::kINVALID_PLAN, "two I/O tensors are named '" + v->name + "'");
    if (v->shape.size() > static_cast<size_t>(Dims::MAX_DIMS))
      throw Error(ErrorCode::kINVALID_PLAN, "I/O tensor '" + v->name + "' has rank " + std::to_string(v->shape.size()));
    e->io.push_back({v->name, mode, v->dtype, v->shape, v->id});
  };
  for (const ir::Value* v : g.inputs) addIO(v, TensorIOMode::kINPUT);
  for (const ir::Value* v : g.outputs) {
    if (!v->producer) throw Error(ErrorCode::kINVALID_PLAN, "output '" + v->name + "' is not computed by a layer");
    addIO(v, TensorIOMode::kOUTPUT);
  }
  e->lastUse.assign(g.values.size(), -1);
  for (const auto& n : g.nodes) {
    std::string layer = "layer '" + n->name + "' (" + n->op + ")";
    const ir::OpSchema* schema = ops.find(n->op);
    if (!schema) throw Error(ErrorCode::kINVALID_PLAN, layer + ": unknown operation");
    // Kernel constructors may rely on the op's arity and required inputs (inference checks them too, but
    // kernels are created first): a plan from disk is untrusted, so check them here.
    const int nin = static_cast<int>(n->inputs.size()), nout = static_cast<int>(n->outputs.size());
    if (nin < schema->minInputs || (schema->maxInputs >= 0 && nin > schema->maxInputs) ||
        nout < schema->minOutputs || nout > schema->maxOutputs)
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": wrong number of inputs or outputs");
    for (int i = 0; i < schema->minInputs; ++i)
      if (!n->inputs[static_cast<size_t>(i)])
        throw Error(ErrorCode::kINVALID_PLAN, layer + ": required input " + std::to_string(i) + " is missing");
    const std::string& tacticName = e->plan.tactics.at(static_cast<size_t>(n->id));
    const cpu::Tactic* t = kernels.find(n->op, tacticName);
    if (!t) throw Error(ErrorCode::kINVALID_PLAN, layer + ": unknown tactic '" + tacticName + "'");
    if (t->requiredCpuFeatures & ~cpuFeatures())
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": tactic '" + tacticName + "' needs CPU features [" +
                                                cpuFeatureNames(t->requiredCpuFeatures & ~cpuFeatures()) + "]");
    std::string why;
    if (t->supports && !t->supports(*n, &why))
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": tactic '" + tacticName + "' does not apply (" + why + ")");
    try {
      e->kernels.push_back(t->create(*n));
    } catch (const Error& err) {
      throw Error(ErrorCode::kINVALID_PLAN, err.message()).withContext(layer);
    }
    e->layerNames.push_back(n->name);
    for (const ir::Value* in : n->inputs)
      if (in) e->lastUse[static_cast<size_t>(in->id)] = n->id;
  }
  return e;
}

}  // namespace kiln::detail
