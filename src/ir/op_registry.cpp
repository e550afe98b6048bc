#include "ir/op_registry.h"

#include "ir/shape_utils.h"

namespace kiln::ir {

void InferContext::setOutput(int i, DataType dtype, Shape shape) {
  if (i < 0 || i >= numOutputs()) fail("output index " + std::to_string(i) + " out of range");
  for (int64_t d : shape)
    if (d < -1) fail("negative output extent " + std::to_string(d));
  numElements(shape);  // throws on overflow
  ValueInfo& o = infos_.at(static_cast<size_t>(node_.outputs[static_cast<size_t>(i)]->id));
  o.dtype = dtype;
  o.shape = std::move(shape);
  o.data.reset();
}

void InferContext::setOutputData(int i, std::shared_ptr<const TensorData> data) {
  if (i < 0 || i >= numOutputs()) fail("output index " + std::to_string(i) + " out of range");
  infos_.at(static_cast<size_t>(node_.outputs[static_cast<size_t>(i)]->id)).data = std::move(data);
}

void InferContext::fail(const std::string& message) const { throw Error(ErrorCode::kINVALID_ARGUMENT, message); }

int64_t InferContext::normalizeAxis(int64_t axis, int64_t rank) const {
  if (axis < -rank || axis >= rank)
    fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

const ValueInfo& InferContext::info(int i) const {
  if (!hasInput(i)) fail("input " + std::to_string(i) + " is missing");
  return infos_.at(static_cast<size_t>(node_.inputs[static_cast<size_t>(i)]->id));
}

void OpRegistry::add(OpSchema schema) {
  std::string op = schema.op;
  map_[op] = std::move(schema);
}

const OpSchema* OpRegistry::find(const std::string& op) const {
  auto it = map_.find(op);
  return it == map_.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::ops() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : map_) out.push_back(k);
  return out;
}

// SkipLayerNormalization, FusedAttention (ops/fused_transformer.cpp; declared here, not in op_registry.h, so
// that adding them did not rebuild every includer of the header).
void registerFusedTransformerOps(OpRegistry& reg);
// PreactConv (ops/preact_conv.cpp), declared here for the same reason.
void registerPreactConvOps(OpRegistry& reg);

const OpRegistry& defaultOpRegistry() {
  static const OpRegistry reg = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerNnOps(r);
    registerTensorOps(r);
    registerRnnOps(r);
    registerSamplingOps(r);
    registerQuantOps(r);
    registerSignalOps(r);
    registerDataDependentOps(r);
    registerAttentionOps(r);
    registerFusedTransformerOps(r);
    registerPreactConvOps(r);
    return r;
  }();
  return reg;
}

namespace {
std::string describe(const Node& node) { return "node '" + node.name + "' (" + node.op + ")"; }
}  // namespace

void inferNode(const OpRegistry& reg, const Node& node, std::vector<ValueInfo>& infos) {
  const OpSchema* s = reg.find(node.op);
  if (!s) throw Error(ErrorCode::kUNSUPPORTED_NODE, "unknown operation '" + node.op + "'").withContext(describe(node));
  int nin = static_cast<int>(node.inputs.size());
  int nout = static_cast<int>(node.outputs.size());
  if (nin < s->minInputs || (s->maxInputs >= 0 && nin > s->maxInputs))
    throw Error(ErrorCode::kINVALID_ARGUMENT, "has " + std::to_string(nin) + " inputs, expected " +
                                                  std::to_string(s->minInputs) + ".." +
                                                  (s->maxInputs < 0 ? std::string("n") : std::to_string(s->maxInputs)))
        .withContext(describe(node));
  if (nout < s->minOutputs || nout > s->maxOutputs)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "has " + std::to_string(nout) + " outputs, expected " +
                                                  std::to_string(s->minOutputs) + ".." + std::to_string(s->maxOutputs))
        .withContext(describe(node));
  for (int i = 0; i < s->minInputs && i < nin; ++i)
    if (!node.inputs[static_cast<size_t>(i)])
      throw Error(ErrorCode::kINVALID_ARGUMENT, "required input " + std::to_string(i) + " is missing")
          .withContext(describe(node));
  InferContext ctx(node, infos);
  try {
    s->infer(ctx);
  } catch (const Error& e) {
    throw e.withContext(describe(node));
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kINTERNAL_ERROR, e.what()).withContext(describe(node));
  }
}

void evaluateKnownOutputs(const Node& n, std::vector<ValueInfo>& infos, const Evaluator& evaluator) {
  std::vector<const TensorData*> ins;
  for (const Value* in : n.inputs) {
    if (!in) {
      ins.push_back(nullptr);
      continue;
    }
    const ValueInfo& i = infos[static_cast<size_t>(in->id)];
    if (!i.data) return;
    ins.push_back(i.data.get());
  }
  for (const Value* o : n.outputs) {
    const ValueInfo& i = infos[static_cast<size_t>(o->id)];
    if (i.data) return;  // the schema provided it
    int64_t ne = numElements(i.shape);
    if (ne < 0 || ne > kMaxInferredElements) return;
  }
  try {
    auto outs = evaluator(n, ins, infos);
    for (size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k)
      infos[static_cast<size_t>(n.outputs[k]->id)].data = std::move(outs[k]);
  } catch (const Error& e) {
    // an op without a host kernel simply stays unknown; a real failure is reported
    if (e.code() != ErrorCode::kUNSUPPORTED_NODE) throw e.withContext("node '" + n.name + "' (" + n.op + ")");
  }
}

void inferGraph(const OpRegistry& reg, const Graph& graph, std::vector<ValueInfo>& infos, const Evaluator* evaluator) {
  infos.resize(graph.values.size());
  for (const auto& v : graph.values)
    if (v->isConstant()) {
      ValueInfo& i = infos[static_cast<size_t>(v->id)];
      i.dtype = v->constant->dtype;
      i.shape = v->constant->shape;
      i.data = v->constant;
    }
  for (const auto& n : graph.nodes) {
    inferNode(reg, *n, infos);
    if (evaluator) evaluateKnownOutputs(*n, infos, *evaluator);
  }
}

void inferGraphInPlace(const OpRegistry& reg, Graph& graph, const Evaluator* evaluator) {
  std::vector<ValueInfo> infos(graph.values.size());
  for (const Value* in : graph.inputs) {
    infos[static_cast<size_t>(in->id)].dtype = in->dtype;
    infos[static_cast<size_t>(in->id)].shape = in->shape;
  }
  inferGraph(reg, graph, infos, evaluator);
  for (const auto& n : graph.nodes)
    for (Value* o : n->outputs) {
      o->dtype = infos[static_cast<size_t>(o->id)].dtype;
      o->shape = infos[static_cast<size_t>(o->id)].shape;
    }
}

}  // namespace kiln::ir
