// fuse-conv-epilogue: what follows a Conv becomes part of it (docs/ir/nn.md, Conv's Z and kiln_act):
//   Conv -> Add(constant per-channel [C,1,1] / [1,C,1,1] / scalar)  -> folded into B
//   Conv -> Add(other of the output's exact, known shape)           -> residual input Z
//   Conv -> activation (Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Silu / Mul(x, Sigmoid(x)),
//           Gelu)                                                    -> kiln_act
// in that order (the activation applies after the residual add: relu(conv + b + identity)). Only where the
// intermediate value has exactly one reader and is not a graph output; a Conv with an activation takes
// nothing more.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool hasAct(const ir::Node& c) { return c.attrs.has("kiln_act") && !c.attrs.getString("kiln_act", "").empty(); }
bool hasZ(const ir::Node& c) { return c.inputs.size() > 3 && c.inputs[3]; }
bool known(const ir::Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

//! A constant that broadcasts to `out` [N, M, ...] with at most the channel axis not 1: its per-channel
//! values (M of them).
bool perChannel(const ir::Value* k, const ir::Shape& out, std::vector<double>* values) {
  if (!k->isConstant() || k->shape.size() > out.size() || out.size() < 2 || out[1] < 0) return false;
  const int64_t M = out[1];
  const size_t off = out.size() - k->shape.size();
  int64_t channelExtent = 1;
  for (size_t i = 0; i < k->shape.size(); ++i) {
    int64_t d = k->shape[i];
    if (off + i == 1) channelExtent = d;
    else if (d != 1) return false;
  }
  if (channelExtent != 1 && channelExtent != M) return false;
  auto v = constantValues(k);
  values->resize(static_cast<size_t>(M));
  for (size_t m = 0; m < values->size(); ++m) (*values)[m] = v[channelExtent == 1 ? 0 : m];
  return true;
}

bool fuseAdd(ir::Graph& g, const Uses& uses, ir::Node* conv, bool* needSort) {
  ir::Value* out = conv->outputs[0];
  ir::Node* add = uses.sole(out);
  if (!add || add->op != "Add" || hasAct(*conv)) return false;
  ir::Value* other = otherInput(*add, out);
  ir::Value* sum = add->outputs[0];
  if (!other || other->dtype != out->dtype || sum->dtype != out->dtype || sum->shape != out->shape) return false;
  std::vector<double> bias;
  if (perChannel(other, out->shape, &bias)) {
    ir::Value* b = conv->inputs.size() > 2 ? conv->inputs[2] : nullptr;
    if (b && !b->isConstant()) return false;
    if (b) {
      auto old = constantValues(b);
      for (size_t m = 0; m < bias.size(); ++m) bias[m] += old[m];
    }
    conv->inputs.resize(std::max<size_t>(conv->inputs.size(), 3));
    conv->inputs[2] = addConstant(g, conv->name + "_bias", out->dtype, {out->shape[1]}, bias);
    takeOverOutput(g, conv, add);
    return true;
  }
  if (hasZ(*conv) || !known(out->shape) || other->shape != out->shape) return false;
  conv->inputs.resize(4);
  conv->inputs[3] = other;
  takeOverOutput(g, conv, add);
  *needSort = true;  // `other` may be computed after the Conv
  return true;
}

bool fuseActivation(ir::Graph& g, const Uses& uses, ir::Node* conv) {
  if (hasAct(*conv)) return false;
  ActivationMatch m;
  if (!matchActivation(uses, conv->outputs[0], &m)) return false;
  ir::setFusedActivation(conv->attrs, m.act);
  ir::Node* last = m.nodes.back();
  m.nodes.pop_back();
  removeInto(g, conv, m.nodes);
  takeOverOutput(g, conv, last);
  return true;
}

bool fuseOne(ir::Graph& g, bool* needSort) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* conv = np.get();
    if (conv->op != "Conv" || conv->outputs.size() != 1 || !isFloat(conv->outputs[0]->dtype)) continue;
    if (fuseAdd(g, uses, conv, needSort) || fuseActivation(g, uses, conv)) return true;
  }
  return false;
}

}  // namespace

bool fuseConvEpilogue(ir::Graph& graph, PassContext&) {
  bool changed = false, needSort = false;
  while (fuseOne(graph, &needSort)) changed = true;
  if (needSort) graph.topologicalSort();
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
