// GPU layout pass: 2-D convolutions and pooling in float16/bfloat16 run channels-last (NHWC), where cuDNN's
// tensor-core kernels read their operands directly; in channels-first layout they transpose internally.
//
// 1. Every eligible Conv / MaxPool / AveragePool becomes Transpose(to NHWC) -> ConvNHWC / MaxPoolNHWC /
//    AveragePoolNHWC -> Transpose(back to NCHW), its weights permuted once to [M, kH, kW, C/group] and its
//    residual input transposed too.
// 2. The transposes back to NCHW sink through the ops that do not care about the layout (elementwise ops
//    whose other operands are transposed the same way or are constants, Concat with its axis remapped,
//    global pooling as a ReduceMean/ReduceMax over the spatial axes).
// 3. A transpose to NHWC of a transpose to NCHW cancels: between two channels-last layers, nothing moves.
// What remains are transposes at the borders of the channels-last regions (the image input, the pooled
// features before the classifier).
#include <algorithm>
#include <cstring>
#include <set>

#include "core/dtype.h"
#include "passes/layout.h"
#include "passes/pass.h"

namespace kiln::passes {

namespace {

const std::vector<int64_t> kToLast{0, 2, 3, 1};   // NCHW -> NHWC
const std::vector<int64_t> kToFirst{0, 3, 1, 2};  // NHWC -> NCHW

ir::Shape permuted(const ir::Shape& s, const std::vector<int64_t>& perm) {
  ir::Shape r(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) r[i] = s[static_cast<size_t>(perm[i])];
  return r;
}

bool isTransposeWith(const ir::Node* n, const std::vector<int64_t>& perm) {
  return n && n->op == "Transpose" && n->outputs.size() == 1 && n->attrs.getInts("perm") == perm;
}

//! The producer of `v` if it is a Transpose to NCHW, else nullptr.
ir::Node* toFirstProducer(const ir::Value* v) {
  return v && isTransposeWith(v->producer, kToFirst) ? v->producer : nullptr;
}

//! A rank-4 constant permuted by `perm` (a constant of lower rank is first given leading 1-extents).
std::shared_ptr<const ir::TensorData> permuteConstant(const ir::TensorData& t, const std::vector<int64_t>& perm) {
  ir::Shape s = t.shape;
  while (s.size() < 4) s.insert(s.begin(), 1);
  ir::Shape out = permuted(s, perm);
  const std::size_t es = dataTypeSize(t.dtype);
  void* dst = nullptr;
  auto r = ir::makeTensor(t.dtype, out, &dst);
  int64_t inStride[4];
  inStride[3] = 1;
  for (int d = 2; d >= 0; --d) inStride[d] = inStride[d + 1] * s[static_cast<size_t>(d + 1)];
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* o = static_cast<uint8_t*>(dst);
  int64_t idx = 0;
  for (int64_t a = 0; a < out[0]; ++a)
    for (int64_t b = 0; b < out[1]; ++b)
      for (int64_t c = 0; c < out[2]; ++c)
        for (int64_t d = 0; d < out[3]; ++d, ++idx) {
          const int64_t i[4] = {a, b, c, d};
          int64_t off = 0;
          for (int k = 0; k < 4; ++k) off += i[k] * inStride[perm[static_cast<size_t>(k)]];
          std::memcpy(o + static_cast<std::size_t>(idx) * es, src + static_cast<std::size_t>(off) * es, es);
        }
  return r;
}

ir::Value* addTranspose(ir::Graph& g, ir::Value* x, const std::vector<int64_t>& perm, const std::string& base) {
  ir::Node* t = g.addNode("Transpose", g.uniqueName(base), {x}, 1);
  t->attrs.setInts("perm", perm);
  t->outputs[0]->dtype = x->dtype;
  t->outputs[0]->shape = permuted(x->shape, perm);
  t->outputs[0]->name = g.uniqueName(t->name + "_out");
  return t->outputs[0];
}

//! Replaces `old` by a node of `op` that computes channels-last from `inputs` (already channels-last), with
//! a Transpose back to NCHW that produces `old`'s output value (so readers and graph outputs are unchanged).
ir::Node* replaceChannelsLast(ir::Graph& g, ir::Node* old, const std::string& op, std::vector<ir::Value*> inputs,
                              const std::string& suffix) {
  ir::Value* out = old->outputs[0];
  ir::Node* n = g.addNode(op, g.uniqueName(old->name + suffix), std::move(inputs), 1);
  n->attrs = old->attrs;
  n->origins = old->origins.empty() ? std::vector<std::string>{old->name} : old->origins;
  n->outputs[0]->dtype = out->dtype;
  n->outputs[0]->shape = permuted(out->shape, kToLast);
  n->outputs[0]->name = g.uniqueName(n->name + "_out");
  ir::Value* nhwc = n->outputs[0];
  g.removeNode(old);
  ir::Node* back = g.addNodeWithOutputs("Transpose", g.uniqueName(n->name + "_to_nchw"), {nhwc}, {out});
  back->attrs.setInts("perm", kToFirst);
  return n;
}

bool reducedFloat(DataType t) { return t == DataType::kHALF || t == DataType::kBF16; }

bool symmetricPads(const ir::Node& n) {
  auto pads = n.attrs.getInts("pads", {0, 0, 0, 0});
  return pads.size() == 4 && pads[0] == pads[2] && pads[1] == pads[3];
}

//! Step 1 for one node; returns true if it was converted.
bool convert(ir::Graph& g, ir::Node* n) {
  if (n->outputs.size() != 1 || !n->inputs[0] || n->inputs[0]->shape.size() != 4 || !reducedFloat(n->outputs[0]->dtype))
    return false;
  const std::string autoPad = n->attrs.getString("auto_pad", "NOTSET");
  if (n->op == "Conv") {
    ir::Value* w = n->inputs[1];
    // cuDNN pads symmetrically; asymmetric windows stay channels-first (they pad explicitly)
    if (!w || !w->isConstant() || w->shape.size() != 4 || !(autoPad == "NOTSET" || autoPad == "VALID" || autoPad.empty()) ||
        n->attrs.getInt("ceil_mode", 0) != 0 || !symmetricPads(*n))
      return false;
    // grouped: only depthwise (kiln's own kernel); cuDNN's grouped channels-last kernels are slow or refuse
    const int64_t group = n->attrs.getInt("group", 1);
    if (group != 1 && (w->shape[1] != 1 || w->shape[0] != group)) return false;
    std::vector<ir::Value*> ins{addTranspose(g, n->inputs[0], kToLast, n->name + "_to_nhwc"),
                                g.addConstant(g.uniqueName(w->name + "_khwc"), permuteConstant(*w->constant, kToLast))};
    if (n->inputs.size() > 2) ins.push_back(n->inputs[2]);
    if (n->inputs.size() > 3 && n->inputs[3]) ins.push_back(addTranspose(g, n->inputs[3], kToLast, n->name + "_z_to_nhwc"));
    replaceChannelsLast(g, n, "ConvNHWC", ins, "_nhwc");
    return true;
  }
  if (n->op == "MaxPool" || n->op == "AveragePool") {
    replaceChannelsLast(g, n, n->op + "NHWC", {addTranspose(g, n->inputs[0], kToLast, n->name + "_to_nhwc")}, "_nhwc");
    return true;
  }
  return false;
}

const std::set<std::string> kUnary{"Relu",  "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish",
                                   "Gelu",  "Erf",     "Exp",  "Neg",       "Abs",  "Sqrt",        "Cast",
                                   "Elu",   "Selu",    "Softplus", "Identity", "Reciprocal", "Floor", "Ceil", "Round"};
const std::set<std::string> kBinary{"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};

bool scalarConst(const ir::Value* v) { return v && v->isConstant() && v->constant->numel() == 1; }

//! Step 2 for one node: if its layout-sensitive inputs all come from transposes to NCHW, it computes on
//! their inputs and the transpose moves after it.
bool sink(ir::Graph& g, ir::Node* n) {
  if (n->outputs.size() != 1 || n->inputs.empty() || n->outputs[0]->shape.size() != 4) return false;
  const std::string op = n->op;  // a copy: n is removed below
  std::vector<ir::Value*> ins;
  std::string newOp = op;
  if (kUnary.count(op)) {
    ir::Node* t = toFirstProducer(n->inputs[0]);
    if (!t) return false;
    for (size_t i = 1; i < n->inputs.size(); ++i)
      if (n->inputs[i] && !scalarConst(n->inputs[i])) return false;
    ins = n->inputs;
    ins[0] = t->inputs[0];
  } else if (kBinary.count(op) || op == "Concat") {
    bool any = false;
    for (ir::Value* v : n->inputs) {
      if (!v) return false;
      if (ir::Node* t = toFirstProducer(v)) {
        ins.push_back(t->inputs[0]);
        any = true;
      } else if (op != "Concat" && v->isConstant() && v->shape.size() <= 4) {
        ins.push_back(g.addConstant(g.uniqueName(v->name + "_nhwc"), permuteConstant(*v->constant, kToLast)));
      } else {
        return false;
      }
    }
    if (!any) return false;
  } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    ir::Node* t = toFirstProducer(n->inputs[0]);
    if (!t) return false;
    newOp = op == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
    ins = {t->inputs[0], g.addConstant(g.uniqueName(n->name + "_axes"), ir::makeInt64Tensor({1, 2}, {2}))};
  } else {
    return false;
  }
  ir::Node* nn = replaceChannelsLast(g, n, newOp, ins, "_nhwc");
  if (op == "Concat") {
    int64_t axis = nn->attrs.getInt("axis", 0);
    if (axis < 0) axis += 4;
    static const int64_t kAxisToLast[4] = {0, 3, 1, 2};
    nn->attrs.setInt("axis", kAxisToLast[std::clamp<int64_t>(axis, 0, 3)]);
  }
  if (newOp != op) {
    nn->attrs = ir::Attributes();
    nn->attrs.setInt("keepdims", 1);
  }
  return true;
}

//! Step 3: Transpose(to NHWC) of Transpose(to NCHW) of x is x.
bool cancel(ir::Graph& g) {
  bool changed = false;
  std::set<const ir::Value*> outputs(g.outputs.begin(), g.outputs.end());
  for (auto& up : g.nodes) {
    ir::Node* n = up.get();
    if (!isTransposeWith(n, kToLast) || outputs.count(n->outputs[0])) continue;
    ir::Node* t = toFirstProducer(n->inputs[0]);
    if (!t) continue;
    g.replaceAllUses(n->outputs[0], t->inputs[0]);
    changed = true;
  }
  return changed;
}

}  // namespace

int convertToChannelsLast(ir::Graph& g) {
  std::vector<ir::Node*> candidates;
  for (auto& n : g.nodes)
    if (n->op == "Conv" || n->op == "MaxPool" || n->op == "AveragePool") candidates.push_back(n.get());
  int converted = 0;
  for (ir::Node* n : candidates) converted += convert(g, n) ? 1 : 0;
  if (!converted) return 0;
  g.topologicalSort();
  for (int round = 0; round < 64; ++round) {
    bool changed = cancel(g);
    std::vector<ir::Node*> nodes;
    for (auto& n : g.nodes) nodes.push_back(n.get());
    for (ir::Node* n : nodes) changed |= sink(g, n);
    if (!changed) break;
    g.topologicalSort();
  }
  g.topologicalSort();
  return converted;
}

}  // namespace kiln::passes
