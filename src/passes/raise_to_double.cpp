// The float64 reference of `kiln compare` (see raise_to_double.h): every float tensor retyped to double,
// node by node in graph order. A node's float inputs are float64 by the time it is visited (converted
// constants, the Cast after a graph input, the float64 outputs of earlier nodes), so each node is decided
// on its own: it runs in float64 if its schema infers with those types and the capability query accepts
// it; else it is wrapped in Casts down to its original types and back up.
#include "passes/raise_to_double.h"

#include <map>
#include <set>
#include <type_traits>

#include "core/dtype.h"

namespace kiln::passes {

namespace {

bool raisable(DataType t) { return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16; }

//! (op, input index) pairs that keep their type (parameters ONNX types as float32 whatever the data).
bool keepsType(const std::string& op, size_t input) {
  if (op == "Resize") return input == 1 || input == 2;
  return false;
}

std::shared_ptr<const ir::TensorData> toDouble(const ir::TensorData& t) {
  void* out = nullptr;
  auto r = ir::makeTensor(DataType::kDOUBLE, t.shape, &out);
  auto* d = static_cast<double*>(out);
  const int64_t n = t.numel();
  dispatchType(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* s = t.as<T>();
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<double>(static_cast<float>(s[i]));
    else
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<double>(s[i]);
  });
  return r;
}

//! Retypes the attributes of `n` that name a float type or hold a float tensor; true if one changed.
bool raiseAttributes(ir::Node& n) {
  bool changed = false;
  const int64_t dbl = static_cast<int64_t>(DataType::kDOUBLE);
  for (const char* name : {"to", "dtype", "output_dtype"}) {
    if (std::string(name) == "to" && n.op != "Cast") continue;
    const ir::Attr* a = n.attrs.find(name);
    if (a && a->kind == ir::Attr::Kind::kINT && raisable(static_cast<DataType>(a->i))) {
      n.attrs.setInt(name, dbl);
      changed = true;
    }
  }
  const ir::Attr* v = n.attrs.find("value");
  if (v && v->kind == ir::Attr::Kind::kTENSOR && v->tensor && raisable(v->tensor->dtype)) {
    n.attrs.setTensor("value", toDouble(*v->tensor));
    changed = true;
  }
  return changed;
}

bool hasNestedGraph(const ir::Node& n) {
  for (const auto& [name, a] : n.attrs.all())
    if (a.kind == ir::Attr::Kind::kGRAPH) return true;
  return false;
}

class Raiser {
 public:
  Raiser(ir::Graph& g, const DoubleSupportFn& supports, const ir::Evaluator* evaluator)
      : g_(g), supports_(supports), evaluator_(evaluator), reg_(ir::defaultOpRegistry()) {}

  RaiseToDoubleResult run() {
    g_.topologicalSort();
    std::vector<ir::Node*> order;
    for (auto& n : g_.nodes) order.push_back(n.get());
    infos_.resize(g_.values.size());
    for (const auto& v : g_.values) {
      auto& i = infos_[static_cast<size_t>(v->id)];
      i.dtype = v->dtype;
      i.shape = v->shape;
      if (v->isConstant()) i.data = v->constant;
    }
    // graph inputs: a Cast to float64 right after each float one
    for (ir::Value* in : g_.inputs) {
      if (!raisable(in->dtype)) continue;
      ir::Value* up = castTo(in, DataType::kDOUBLE, in->name + "_float64");
      raisedFrom_[up] = in->dtype;
      for (ir::Node* n : order)
        for (auto& x : n->inputs)
          if (x == in) x = up;
    }
    for (ir::Node* n : order) visit(*n);
    g_.topologicalSort();
    return std::move(result_);
  }

 private:
  void syncInfos() {
    if (infos_.size() < g_.values.size()) infos_.resize(g_.values.size());
  }
  ir::ValueInfo& info(const ir::Value* v) { return infos_[static_cast<size_t>(v->id)]; }

  //! A Cast of `v` to `to` producing a new value named after `base` (made unique).
  ir::Value* castTo(ir::Value* v, DataType to, const std::string& base) {
    ir::Value* out = g_.addValue(g_.uniqueName(base), to, v->shape);
    ir::Node* c = g_.addNodeWithOutputs("Cast", g_.uniqueName(v->name + "_to_" + dataTypeName(to)), {v}, {out});
    c->attrs.setInt("to", static_cast<int64_t>(to));
    syncInfos();
    info(out).dtype = to;
    info(out).shape = info(v).shape;
    return out;
  }

  //! The float64 copy of a float constant (one per constant).
  ir::Value* doubleConstant(ir::Value* v) {
    auto it = constants_.find(v);
    if (it != constants_.end()) return it->second;
    ir::Value* d = g_.addConstant(g_.uniqueName(v->name + "_float64"), toDouble(*v->constant));
    syncInfos();
    info(d).dtype = DataType::kDOUBLE;
    info(d).shape = d->shape;
    info(d).data = d->constant;
    raisedFrom_[d] = v->constant->dtype;
    constants_.emplace(v, d);
    return d;
  }

  //! A raised value cast back down to its original type (one Cast per value).
  ir::Value* castDown(ir::Value* v) {
    auto it = down_.find(v);
    if (it != down_.end()) return it->second;
    DataType t = raisedFrom_.at(v);
    ir::Value* out = castTo(v, t, v->name + "_" + dataTypeName(t));
    down_.emplace(v, out);
    return out;
  }

  //! infer(), or where the schema cannot infer the node with what is known here, the outputs keep the
  //! types they had (`before`).
  void inferOrKeep(const ir::Node& n, const std::vector<DataType>& before) {
    try {
      infer(n);
    } catch (const Error&) {
      for (size_t k = 0; k < n.outputs.size(); ++k)
        if (n.outputs[k]) n.outputs[k]->dtype = info(n.outputs[k]).dtype = before[k];
    }
  }

  void infer(const ir::Node& n) {
    syncInfos();
    ir::inferNode(reg_, n, infos_);
    if (evaluator_) ir::evaluateKnownOutputs(n, infos_, *evaluator_);
    for (ir::Value* o : n.outputs)
      if (o) o->dtype = info(o).dtype;
  }

  void visit(ir::Node& n) {
    const std::vector<ir::Value*> savedInputs = n.inputs;
    const ir::Attributes savedAttrs = n.attrs;
    std::vector<DataType> before;
    for (const ir::Value* o : n.outputs) before.push_back(o ? o->dtype : DataType::kFLOAT);
    bool touched = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      ir::Value* v = n.inputs[i];
      if (!v) continue;
      const bool raised = raisedFrom_.count(v) != 0;
      if (keepsType(n.op, i)) {
        if (raised) n.inputs[i] = castDown(v);
      } else if (v->isConstant() && raisable(v->constant->dtype)) {
        n.inputs[i] = doubleConstant(v);
        touched = true;
      } else if (raised) {
        touched = true;
      }
    }
    touched = raiseAttributes(n) || touched;
    std::string reason;
    bool reduced = false;
    if (touched) {
      bool ok = false;
      if (hasNestedGraph(n)) {
        reason = "holds nested graphs (not retyped)";
      } else {
        try {
          infer(n);
          ok = supports_ ? supports_(n, &reason) : true;
        } catch (const Error& e) {
          reason = e.message();
        } catch (const std::exception& e) {
          reason = e.what();
        }
      }
      if (ok) {
        ++result_.raisedNodes;
      } else {
        reduced = true;
        n.attrs = savedAttrs;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          ir::Value* v = savedInputs[i];
          n.inputs[i] = v && raisedFrom_.count(v) ? castDown(v) : v;
        }
        inferOrKeep(n, before);
      }
    } else {
      inferOrKeep(n, before);
    }
    // float outputs still in their original type (a reduced node; a float result of non-float inputs):
    // computed as they are, cast up to float64 under the output's name
    ReducedNode r{n.name, n.op, reason, {}, DataType::kFLOAT};
    bool precisionSet = false;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      ir::Value* y = n.outputs[k];
      if (!y || !raisable(y->dtype)) continue;
      const DataType t = y->dtype;
      ir::Value* low = g_.addValue(g_.uniqueName(y->name + "_" + dataTypeName(t)), t, y->shape);
      syncInfos();
      info(low) = info(y);
      n.outputs[k] = low;
      low->producer = &n;
      low->producerOutput = static_cast<int32_t>(k);
      y->producer = nullptr;
      ir::Node* c = g_.addNodeWithOutputs("Cast", g_.uniqueName(y->name + "_to_float64"), {low}, {y});
      c->attrs.setInt("to", static_cast<int64_t>(DataType::kDOUBLE));
      y->dtype = DataType::kDOUBLE;
      info(y).dtype = DataType::kDOUBLE;
      info(y).data = info(low).data ? toDouble(*info(low).data) : nullptr;
      raisedFrom_[y] = t;
      r.outputs.push_back(y->name);
      if (!precisionSet) r.precision = t, precisionSet = true;
    }
    if (touched && !reduced)  // float outputs computed in float64 stand for their original type
      for (ir::Value* y : n.outputs)
        if (y && y->dtype == DataType::kDOUBLE && !raisedFrom_.count(y)) {
          auto it = originalTypes_.find(y);
          if (it != originalTypes_.end()) raisedFrom_[y] = it->second;
        }
    if (reduced) {
      if (!precisionSet)
        for (ir::Value* v : n.inputs)
          if (v && raisable(v->dtype)) {
            r.precision = v->dtype;
            break;
          }
      result_.reduced.push_back(std::move(r));
    }
  }

 public:
  void recordOriginalTypes() {
    for (const auto& v : g_.values)
      if (raisable(v->dtype)) originalTypes_[v.get()] = v->dtype;
  }

 private:
  ir::Graph& g_;
  const DoubleSupportFn& supports_;
  const ir::Evaluator* evaluator_;
  const ir::OpRegistry& reg_;
  std::vector<ir::ValueInfo> infos_;
  std::map<const ir::Value*, DataType> raisedFrom_;  //!< float64 values -> the float type they stand for
  std::map<const ir::Value*, DataType> originalTypes_;
  std::map<ir::Value*, ir::Value*> constants_;
  std::map<ir::Value*, ir::Value*> down_;
  RaiseToDoubleResult result_;
};

}  // namespace

RaiseToDoubleResult raiseToDouble(ir::Graph& g, const DoubleSupportFn& supports, const ir::Evaluator* evaluator) {
  Raiser r(g, supports, evaluator);
  r.recordOriginalTypes();
  return r.run();
}

}  // namespace kiln::passes
