// fuse-preact-conv (CPU builds): the pre-activation pattern of DenseNet
//   [Concat(X0, X1, ..., axis 1) ->] BatchNormalization -> Relu -> Conv 1x1
// becomes one PreactConv(W, B, Scale, Shift, X0, X1, ...) (ir/ops/preact_conv.cpp), whose kernel applies the
// normalization and the Relu while it packs the product's operand: the concatenation and the normalized copy
// are never stored. Conditions: float32; the Conv has 1x1 kernels, stride 1, no padding, group 1, constant
// weights (and bias), no residual input Z (an epilogue activation is kept); the BatchNormalization has
// constant parameters; the Concat, BatchNormalization and Relu outputs each have the next node as their
// only reader and are not graph outputs; the channel counts are known.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool allEqual(const ir::Attributes& a, const char* name, int64_t v) {
  if (!a.has(name)) return true;
  for (int64_t x : a.getInts(name))
    if (x != v) return false;
  return true;
}

//! A Conv that is a plain 1x1 product of its input (epilogue activation allowed).
bool isPointwiseConv(const ir::Node& conv) {
  if (conv.op != "Conv" || conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1) return false;
  const ir::Value* w = conv.inputs[1];
  const ir::Value* b = conv.inputs.size() > 2 ? conv.inputs[2] : nullptr;
  if (!conv.inputs[0] || !w || !w->isConstant() || (b && !b->isConstant())) return false;
  if (w->dtype != DataType::kFLOAT || conv.inputs[0]->dtype != DataType::kFLOAT) return false;
  if (w->shape.size() < 3 || w->shape.size() != conv.inputs[0]->shape.size()) return false;
  for (size_t d = 2; d < w->shape.size(); ++d)
    if (w->shape[d] != 1) return false;
  const std::string pad = conv.attrs.getString("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID") return false;
  return conv.attrs.getInt("group", 1) == 1 && allEqual(conv.attrs, "strides", 1) && allEqual(conv.attrs, "pads", 0) &&
         allEqual(conv.attrs, "kernel_shape", 1);
}

bool fuseOne(ir::Graph& g, const Uses& uses, ir::Node* conv) {
  if (!isPointwiseConv(*conv)) return false;
  ir::Node* relu = conv->inputs[0]->producer;
  if (!relu || relu->op != "Relu" || uses.sole(relu->outputs[0]) != conv) return false;
  ir::Node* bn = relu->inputs[0]->producer;
  if (!bn || bn->op != "BatchNormalization" || uses.sole(bn->outputs[0]) != relu) return false;
  ir::Value* x = bn->inputs[0];
  const int64_t C = conv->inputs[1]->shape[1];
  if (x->dtype != DataType::kFLOAT || x->shape.size() != conv->inputs[1]->shape.size() || x->shape[1] != C || C <= 0)
    return false;
  BnParams p;
  if (!bnParams(*bn, C, &p)) return false;
  std::vector<ir::Value*> xs{x};
  std::vector<ir::Node*> gone{relu, bn};
  ir::Node* cat = x->producer;
  if (cat && cat->op == "Concat" && uses.sole(x) == bn && cat->outputs.size() == 1) {
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    int64_t axis = cat->attrs.getInt("axis", 0);
    if (axis < 0) axis += rank;
    bool ok = axis == 1 && !cat->inputs.empty();
    for (const ir::Value* in : cat->inputs) ok = ok && in && in->dtype == DataType::kFLOAT && in->shape.size() == x->shape.size();
    if (ok) {
      xs = cat->inputs;
      gone.push_back(cat);
    }
  }
  const int64_t M = conv->inputs[1]->shape[0];
  ir::Value* b = conv->inputs.size() > 2 ? conv->inputs[2] : nullptr;
  if (!b) b = addConstant(g, conv->name + "_bias", DataType::kFLOAT, {M}, std::vector<double>(static_cast<size_t>(M), 0.0));
  ir::Value* scale = addConstant(g, bn->name + "_scale", DataType::kFLOAT, {C}, p.s);
  ir::Value* shift = addConstant(g, bn->name + "_shift", DataType::kFLOAT, {C}, p.shift);
  std::vector<ir::Value*> inputs{conv->inputs[1], b, scale, shift};
  inputs.insert(inputs.end(), xs.begin(), xs.end());
  const ir::FusedActivation act = ir::fusedActivationOf(conv->attrs);
  conv->op = "PreactConv";
  conv->inputs = std::move(inputs);
  conv->attrs = ir::Attributes();
  conv->attrs.setInt("relu", 1);
  ir::setFusedActivation(conv->attrs, act);
  removeInto(g, conv, gone);
  return true;
}

}  // namespace

bool fusePreactConv(ir::Graph& graph, PassContext&) {
  bool changed = false;
  for (bool again = true; again;) {
    again = false;
    Uses uses(graph);
    for (auto& np : graph.nodes)
      if (fuseOne(graph, uses, np.get())) {
        again = changed = true;
        break;
      }
  }
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
