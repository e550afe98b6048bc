#include "passes/pattern.h"

#include <algorithm>

#include "core/dtype.h"

namespace kiln::passes {

Uses::Uses(const ir::Graph& g) {
  for (const auto& n : g.nodes)
    for (const ir::Value* in : n->inputs)
      if (in) readers_[in].push_back(n.get());
  for (const ir::Value* o : g.outputs) ++outputs_[o];
}

const std::vector<ir::Node*>& Uses::readers(const ir::Value* v) const {
  static const std::vector<ir::Node*> kNone;
  auto it = readers_.find(v);
  return it == readers_.end() ? kNone : it->second;
}

bool Uses::isGraphOutput(const ir::Value* v) const { return outputs_.count(v) != 0; }

ir::Node* Uses::sole(const ir::Value* v) const {
  const auto& r = readers(v);
  return r.size() == 1 && !isGraphOutput(v) ? r[0] : nullptr;
}

bool Uses::onlyUsedBy(const ir::Value* v, const std::vector<const ir::Node*>& nodes) const {
  if (isGraphOutput(v)) return false;
  for (const ir::Node* r : readers(v))
    if (std::find(nodes.begin(), nodes.end(), r) == nodes.end()) return false;
  return true;
}

bool isFloat(DataType t) { return isFloatingType(t); }

bool scalarConstant(const ir::Value* v, double* out) {
  if (!v || !v->isConstant() || v->constant->numel() != 1) return false;
  if (!isFloatingType(v->constant->dtype) && !isIntegerType(v->constant->dtype)) return false;
  *out = v->constant->floatAt(0);
  return true;
}

bool isScalarNear(const ir::Value* v, double expected, double rel) {
  double x;
  return scalarConstant(v, &x) && std::fabs(x - expected) <= rel * std::fabs(expected);
}

ir::Value* otherInput(const ir::Node& n, const ir::Value* v) {
  if (n.inputs.size() != 2) return nullptr;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return nullptr;
}

void appendOrigins(ir::Node& to, const ir::Node& from) {
  if (from.origins.empty()) {
    to.origins.push_back(from.name);
    return;
  }
  to.origins.insert(to.origins.end(), from.origins.begin(), from.origins.end());
}

void takeOverOutput(ir::Graph& g, ir::Node* keep, ir::Node* tail) {
  ir::Value* out = tail->outputs[0];
  appendOrigins(*keep, *tail);
  g.removeNode(tail);
  ir::Value* old = keep->outputs[0];
  if (old->producer == keep) old->producer = nullptr;
  keep->outputs[0] = out;
  out->producer = keep;
  out->producerOutput = 0;
}

void removeInto(ir::Graph& g, ir::Node* into, const std::vector<ir::Node*>& nodes) {
  for (ir::Node* n : nodes) {
    appendOrigins(*into, *n);
    g.removeNode(n);
  }
}

std::shared_ptr<const ir::TensorData> makeConstant(DataType dtype, ir::Shape shape, const std::vector<double>& v) {
  void* out = nullptr;
  auto t = ir::makeTensor(dtype, std::move(shape), &out);
  dispatchType(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      for (size_t i = 0; i < v.size(); ++i) static_cast<T*>(out)[i] = T(static_cast<float>(v[i]));
    } else if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < v.size(); ++i) static_cast<uint8_t*>(out)[i] = v[i] != 0;
    } else {
      for (size_t i = 0; i < v.size(); ++i) static_cast<T*>(out)[i] = static_cast<T>(v[i]);
    }
  });
  return t;
}

ir::Value* addConstant(ir::Graph& g, const std::string& base, DataType dtype, ir::Shape shape,
                       const std::vector<double>& v) {
  return g.addConstant(g.uniqueName(base), makeConstant(dtype, std::move(shape), v));
}

std::vector<double> constantValues(const ir::Value* v) {
  const ir::TensorData& t = *v->constant;
  std::vector<double> out(static_cast<size_t>(std::max<int64_t>(t.numel(), 0)));
  for (size_t i = 0; i < out.size(); ++i) out[i] = t.floatAt(static_cast<int64_t>(i));
  return out;
}

namespace {

//! Clip's optional constant bound (absent: +-inf).
bool clipBound(const ir::Node& n, size_t i, double def, double* out) {
  if (n.inputs.size() <= i || !n.inputs[i]) {
    *out = def;
    return true;
  }
  return scalarConstant(n.inputs[i], out);
}

bool singleNodeActivation(const ir::Node& n, ir::FusedActivation* a) {
  const std::string& op = n.op;
  if (op == "Relu") a->kind = ir::FusedAct::kRELU;
  else if (op == "Sigmoid") a->kind = ir::FusedAct::kSIGMOID;
  else if (op == "Tanh") a->kind = ir::FusedAct::kTANH;
  else if (op == "HardSwish") a->kind = ir::FusedAct::kHARD_SWISH;
  else if (op == "Silu") a->kind = ir::FusedAct::kSILU;
  else if (op == "LeakyRelu") {
    a->kind = ir::FusedAct::kLEAKY_RELU;
    a->alpha = n.attrs.getFloat("alpha", 0.01);
  } else if (op == "HardSigmoid") {
    a->kind = ir::FusedAct::kHARD_SIGMOID;
    a->alpha = n.attrs.getFloat("alpha", 0.2);
    a->beta = n.attrs.getFloat("beta", 0.5);
  } else if (op == "Gelu") {
    if (n.attrs.getString("approximate", "none") != "none") return false;
    a->kind = ir::FusedAct::kGELU;
  } else if (op == "Clip") {
    a->kind = ir::FusedAct::kCLIP;
    const double inf = std::numeric_limits<double>::infinity();
    if (!clipBound(n, 1, -inf, &a->alpha) || !clipBound(n, 2, inf, &a->beta)) return false;
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool matchActivation(const Uses& uses, const ir::Value* v, ActivationMatch* m) {
  if (uses.isGraphOutput(v)) return false;
  const auto& readers = uses.readers(v);
  *m = ActivationMatch{};
  if (readers.size() == 1) {
    ir::Node* n = readers[0];
    if (n->outputs.size() != 1 || n->inputs.empty() || n->inputs[0] != v) return false;
    if (n->outputs[0]->dtype != v->dtype) return false;
    if (!singleNodeActivation(*n, &m->act)) return false;
    m->nodes = {n};
    return true;
  }
  if (readers.size() == 2) {  // Mul(v, Sigmoid(v)) in either order
    ir::Node* sig = readers[0]->op == "Sigmoid" ? readers[0] : readers[1];
    ir::Node* mul = sig == readers[0] ? readers[1] : readers[0];
    if (sig->op != "Sigmoid" || mul->op != "Mul" || sig->inputs.size() != 1 || sig->inputs[0] != v) return false;
    if (uses.sole(sig->outputs[0]) != mul || otherInput(*mul, sig->outputs[0]) != v) return false;
    m->act.kind = ir::FusedAct::kSILU;
    m->nodes = {sig, mul};
    return true;
  }
  return false;
}

}  // namespace kiln::passes
