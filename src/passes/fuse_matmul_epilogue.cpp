// fuse-matmul-epilogue: MatMul(A, constant 2-D B) -> Add(constant [N] / [1,...,1,N] / scalar) becomes
// MatMul's kiln bias input; then an activation after MatMul (with a constant 2-D B) or Gemm becomes kiln_act
// (the activations of fuse-conv-epilogue). Only where the intermediate value has exactly one reader and is
// not a graph output.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool hasAct(const ir::Node& n) { return !n.attrs.getString("kiln_act", "").empty(); }

//! MatMul with a constant 2-D B (not a vector) and a float output of rank >= 1.
bool fusableMatMul(const ir::Node& n) {
  if (n.op != "MatMul" || n.inputs.size() < 2 || !n.inputs[1] || n.outputs.size() != 1) return false;
  const ir::Value* b = n.inputs[1];
  return b->isConstant() && b->shape.size() == 2 && !n.attrs.getInt("vecB", 0) && isFloat(b->dtype) &&
         !n.outputs[0]->shape.empty();
}

//! A constant with N values along the last axis only ([N], [1,..,1,N], or one value): those N values.
bool rowBias(const ir::Value* k, const ir::Shape& out, std::vector<double>* values) {
  if (!k->isConstant() || k->shape.size() > out.size() || out.back() < 0) return false;
  const int64_t N = out.back();
  for (size_t i = 0; i + 1 < k->shape.size(); ++i)
    if (k->shape[i] != 1) return false;
  int64_t last = k->shape.empty() ? 1 : k->shape.back();
  if (last != 1 && last != N) return false;
  auto v = constantValues(k);
  values->resize(static_cast<size_t>(N));
  for (size_t j = 0; j < values->size(); ++j) (*values)[j] = v[last == 1 ? 0 : j];
  return true;
}

bool fuseBias(ir::Graph& g, const Uses& uses, ir::Node* mm) {
  ir::Value* out = mm->outputs[0];
  ir::Node* add = uses.sole(out);
  if (!add || add->op != "Add" || hasAct(*mm)) return false;
  ir::Value* other = otherInput(*add, out);
  ir::Value* sum = add->outputs[0];
  if (!other || other->dtype != out->dtype || sum->dtype != out->dtype || sum->shape != out->shape) return false;
  std::vector<double> bias;
  if (!rowBias(other, out->shape, &bias)) return false;
  ir::Value* old = mm->inputs.size() > 2 ? mm->inputs[2] : nullptr;
  if (old && !old->isConstant()) return false;
  if (old) {
    auto ov = constantValues(old);
    for (size_t j = 0; j < bias.size(); ++j) bias[j] += ov[j];
  }
  mm->inputs.resize(3);
  mm->inputs[2] = addConstant(g, mm->name + "_bias", out->dtype, {out->shape.back()}, bias);
  takeOverOutput(g, mm, add);
  return true;
}

bool fuseActivation(ir::Graph& g, const Uses& uses, ir::Node* mm) {
  if (hasAct(*mm)) return false;
  ActivationMatch m;
  if (!matchActivation(uses, mm->outputs[0], &m)) return false;
  ir::setFusedActivation(mm->attrs, m.act);
  ir::Node* last = m.nodes.back();
  m.nodes.pop_back();
  removeInto(g, mm, m.nodes);
  takeOverOutput(g, mm, last);
  return true;
}

bool fuseOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* n = np.get();
    if (fusableMatMul(*n) && isFloat(n->outputs[0]->dtype)) {
      if (fuseBias(g, uses, n) || fuseActivation(g, uses, n)) return true;
    } else if (n->op == "Gemm" && n->outputs.size() == 1 && isFloat(n->outputs[0]->dtype)) {
      if (fuseActivation(g, uses, n)) return true;
    }
  }
  return false;
}

}  // namespace

bool fuseMatMulEpilogue(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (fuseOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
