// fuse-conv-epilogue: what follows a Conv becomes part of it (docs/ir/nn.md, Conv's Z and kiln_act):
//   Conv -> Add(constant per-channel [C,1,1] / [1,C,1,1] / scalar)  -> folded into B
//   Conv -> Add(other of the output's shape)                         -> residual input Z
//   Conv -> activation (Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Silu / Mul(x, Sigmoid(x)),
//           Gelu)                                                    -> kiln_act
// in that order (the activation applies after the residual add: relu(conv + b + identity)). Only where the
// intermediate value has exactly one reader and is not a graph output; a Conv with an activation takes
// nothing more.
//
// A residual whose shape has unknown extents (dynamic shapes) is fused only where it provably has the Conv
// output's shape and does not broadcast: shape inference is run twice with the graph inputs' unknown
// extents set to probe values (one uniform run, one with a distinct value per input axis), and both runs
// must give equal shapes.
#include "backends/cpu/evaluate.h"
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

//! Value shapes of the graph under probe values for the unknown extents of its inputs: every unknown extent
//! 13, then a distinct prime per (input, axis). Values whose shapes agree in both runs agree for the input
//! extents the model accepts, short of coincidences with the probes. Where a run fails (e.g. the model ties
//! extents of two inputs, which may still broadcast at run time), nothing is known.
class ShapeProbes {
 public:
  ShapeProbes(const ir::Graph& g, const ir::OpRegistry& ops) {
    bool dynamic = false;
    for (const ir::Value* in : g.inputs) dynamic |= !known(in->shape);
    if (!dynamic) return;
    static constexpr int64_t kDistinct[] = {31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101};
    for (int p = 0; p < 2; ++p) {
      std::vector<ir::ValueInfo> infos(g.values.size());
      size_t next = 0;
      for (const ir::Value* in : g.inputs) {
        ir::ValueInfo& i = infos[static_cast<size_t>(in->id)];
        i.dtype = in->dtype;
        i.shape = in->shape;
        for (int64_t& d : i.shape)
          if (d < 0) d = p == 0 ? 13 : kDistinct[next++ % std::size(kDistinct)];
      }
      try {
        ir::inferGraph(ops, g, infos, &cpu::referenceEvaluator());
      } catch (const Error&) {
        runs_.clear();
        return;
      }
      runs_.push_back(std::move(infos));
    }
  }
  //! Whether `a` and `b` have equal, fully known shapes in every probe run (false without runs).
  bool sameShape(const ir::Value* a, const ir::Value* b) const {
    if (runs_.empty()) return false;
    for (const auto& r : runs_) {
      const auto ia = static_cast<size_t>(a->id), ib = static_cast<size_t>(b->id);
      if (ia >= r.size() || ib >= r.size()) return false;
      if (!known(r[ia].shape) || r[ia].shape != r[ib].shape) return false;
    }
    return true;
  }

 private:
  std::vector<std::vector<ir::ValueInfo>> runs_;
};

bool fuseAdd(ir::Graph& g, const Uses& uses, const ShapeProbes& probes, ir::Node* conv, bool* needSort) {
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
  if (hasZ(*conv) || other->shape != out->shape) return false;
  if (!known(out->shape) && !probes.sameShape(out, other)) return false;
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

bool fuseOne(ir::Graph& g, const ShapeProbes& probes, bool* needSort) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* conv = np.get();
    if (conv->op != "Conv" || conv->outputs.size() != 1 || !isFloat(conv->outputs[0]->dtype)) continue;
    if (fuseAdd(g, uses, probes, conv, needSort) || fuseActivation(g, uses, conv)) return true;
  }
  return false;
}

}  // namespace

bool fuseConvEpilogue(ir::Graph& graph, PassContext& ctx) {
  bool changed = false, needSort = false;
  const ShapeProbes probes(graph, ctx.ops);  // value ids stay valid: the graph is compacted at the end
  while (fuseOne(graph, probes, &needSort)) changed = true;
  if (needSort) graph.topologicalSort();
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
