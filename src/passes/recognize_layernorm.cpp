// recognize-layernorm: the decomposed layer normalization over the last axis becomes LayerNormalization:
//   mu = ReduceMean(x, [-1]); d = x - mu; v = ReduceMean(Pow(d, 2) or d * d, [-1]);
//   y = d / Sqrt(v + eps) [* scale] [+ bias]        (scale, bias: constants along the last axis)
// Every intermediate value must be read only inside the pattern and not be a graph output.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool isOp(const ir::Node* n, const char* op, size_t nIn) {
  return n && n->op == op && n->inputs.size() == nIn && n->outputs.size() == 1;
}

//! ReduceMean over the last axis of its input (rank known) with keepdims=1.
bool isLastAxisMean(const ir::Node* n) {
  if (!n || n->op != "ReduceMean" || n->outputs.size() != 1 || n->inputs.empty() || !n->inputs[0]) return false;
  if (n->attrs.getInt("keepdims", 1) != 1) return false;
  const int64_t rank = static_cast<int64_t>(n->inputs[0]->shape.size());
  std::vector<int64_t> axes;
  if (n->inputs.size() > 1 && n->inputs[1]) {
    if (!n->inputs[1]->isConstant()) return false;
    axes = n->inputs[1]->constant->toInts();
  } else {
    axes = n->attrs.getInts("axes");
  }
  return rank >= 1 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

//! A constant broadcasting along the last axis only ([D], [1,..,1,D] or one value): its D values.
bool lastAxisConstant(const ir::Value* k, const ir::Value* xv, std::vector<double>* values) {
  const ir::Shape& x = xv->shape;
  if (!k || !k->isConstant() || k->shape.size() > x.size() || x.back() < 0 || k->dtype != xv->dtype) return false;
  const int64_t D = x.back();
  for (size_t i = 0; i + 1 < k->shape.size(); ++i)
    if (k->shape[i] != 1) return false;
  int64_t last = k->shape.empty() ? 1 : k->shape.back();
  if (last != 1 && last != D) return false;
  auto v = constantValues(k);
  values->resize(static_cast<size_t>(D));
  for (size_t j = 0; j < values->size(); ++j) (*values)[j] = v[last == 1 ? 0 : j];
  return true;
}

bool recognizeOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* r1 = np.get();
    if (!isLastAxisMean(r1)) continue;
    ir::Value* x = r1->inputs[0];
    if (!isFloat(x->dtype) || x->shape.empty() || x->shape.back() < 0) continue;
    ir::Node* sub = uses.sole(r1->outputs[0]);
    if (!isOp(sub, "Sub", 2) || sub->inputs[0] != x || sub->inputs[1] != r1->outputs[0]) continue;
    ir::Value* d = sub->outputs[0];
    if (uses.isGraphOutput(d)) continue;
    // d's readers: the square (Pow(d, 2) or Mul(d, d), listed twice) and the Div
    ir::Node *sq = nullptr, *div = nullptr;
    bool ok = true;
    for (ir::Node* r : uses.readers(d)) {
      bool isDiv = isOp(r, "Div", 2) && r->inputs[0] == d && r->inputs[1] != d;
      bool isSquare = (isOp(r, "Pow", 2) && r->inputs[0] == d && isScalarNear(r->inputs[1], 2.0, 1e-6)) ||
                      (isOp(r, "Mul", 2) && r->inputs[0] == d && r->inputs[1] == d);
      if (isDiv && (!div || div == r)) div = r;
      else if (isSquare && (!sq || sq == r)) sq = r;
      else ok = false;
    }
    if (!ok || !sq || !div) continue;
    ir::Node* r2 = uses.sole(sq->outputs[0]);
    if (!isLastAxisMean(r2)) continue;
    ir::Node* addEps = uses.sole(r2->outputs[0]);
    double eps = 0;
    if (!isOp(addEps, "Add", 2)) continue;
    ir::Value* e = otherInput(*addEps, r2->outputs[0]);
    if (!e || !scalarConstant(e, &eps) || eps < 0) continue;
    ir::Node* sqrt = uses.sole(addEps->outputs[0]);
    if (!isOp(sqrt, "Sqrt", 1) || uses.sole(sqrt->outputs[0]) != div || div->inputs[1] != sqrt->outputs[0]) continue;
    std::vector<ir::Node*> nodes{r1, sub, sq, r2, addEps, sqrt, div};
    const int64_t D = x->shape.back();
    std::vector<double> scale(static_cast<size_t>(D), 1.0), bias;
    ir::Node* ms = uses.sole(div->outputs[0]);
    if (isOp(ms, "Mul", 2) && lastAxisConstant(otherInput(*ms, div->outputs[0]), x, &scale)) {
      nodes.push_back(ms);
      ir::Node* ab = uses.sole(ms->outputs[0]);
      if (isOp(ab, "Add", 2) && lastAxisConstant(otherInput(*ab, ms->outputs[0]), x, &bias)) nodes.push_back(ab);
    }
    ir::Node* last = nodes.back();
    if (last->outputs[0]->shape != x->shape || last->outputs[0]->dtype != x->dtype) continue;
    nodes.pop_back();
    std::vector<ir::Value*> ins{x, addConstant(g, last->name + "_scale", x->dtype, {D}, scale)};
    if (!bias.empty()) ins.push_back(addConstant(g, last->name + "_bias", x->dtype, {D}, bias));
    last->op = "LayerNormalization";
    last->inputs = ins;
    last->attrs = ir::Attributes();
    last->attrs.setInt("axis", -1);
    last->attrs.setFloat("epsilon", eps);
    removeInto(g, last, nodes);
    return true;
  }
  return false;
}

}  // namespace

bool recognizeLayerNorm(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (recognizeOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
