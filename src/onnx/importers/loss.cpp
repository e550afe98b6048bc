// Loss operators, decomposed into existing IR operations (so they run on every backend):
//   NegativeLogLikelihoodLoss (opset 12+) and SoftmaxCrossEntropyLoss (opset 12+, = LogSoftmax over axis 1
//   followed by NegativeLogLikelihoodLoss, with the log-probabilities as optional second output).
//
// NLL(input [N,C,d...], target [N,d...], weight [C]?):
//   t'     = target, with ignore_index entries replaced by 0 (so that every gather index is in range)
//   picked = GatherElements(input, Unsqueeze(t', 1), axis 1), squeezed back to [N,d...]
//   w      = weight[t'] (or 1), 0 where target == ignore_index
//   loss   = -picked * w;   none: loss; sum: ReduceSum(loss); mean: ReduceSum(loss) / ReduceSum(w)
// which is exactly ONNX's definition (the mean divides by the sum of the applied weights).
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

//! A scalar constant of type `t` (via a Cast that constant folding removes).
ir::Value* scalarAs(ImportContext& ctx, float v, DataType t, const std::string& hint) {
  ir::Value* c = ctx.constant(ir::makeFloatTensor({v}, {}), hint);
  if (t == DataType::kFLOAT) return c;
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return ctx.addNode("Cast", {c}, 1, a, false)->outputs[0];
}

//! An integer scalar constant of the (index) type `t`.
ir::Value* indexScalar(ImportContext& ctx, int64_t v, DataType t, const std::string& hint) {
  if (t == DataType::kINT64) return ctx.constant(ir::makeInt64Tensor({v}, {}), hint);
  if (t == DataType::kINT32) {
    if (v < INT32_MIN || v > INT32_MAX) ctx.unsupported("ignore_index does not fit the int32 target");
    int32_t x = static_cast<int32_t>(v);
    return ctx.constant(ir::makeTensor(DataType::kINT32, {}, &x, sizeof(x)), hint);
  }
  ctx.unsupported("the target must be int32 or int64");
}

//! Builds the NLL loss of `input` (log-probabilities) and binds it to ONNX output 0.
void buildNll(ImportContext& ctx, ir::Value* input, ir::Value* target, ir::Value* weight) {
  if (!input || !target) ctx.unsupported("needs its input and target");
  const ir::Shape* si = ctx.shapeOf(input);
  const ir::Shape* st = ctx.shapeOf(target);
  if (!si || !st) ctx.unsupported("needs the ranks of input and target");
  if (si->size() < 2) ctx.unsupported("input must have rank >= 2 ([N, C, d...])");
  if (st->size() + 1 != si->size()) ctx.unsupported("target must have rank one less than input ([N, d...])");
  const DataType t = ctx.typeOf(input);
  const DataType ti = ctx.typeOf(target);
  if (ti != DataType::kINT64 && ti != DataType::kINT32) ctx.unsupported("the target must be int32 or int64");
  if (weight) {
    const ir::Shape* sw = ctx.shapeOf(weight);
    if (!sw || sw->size() != 1) ctx.unsupported("weight must be 1-D ([C])");
    if (ctx.typeOf(weight) != t) ctx.unsupported("weight must have the input's type");
  }
  const std::string reduction = ctx.attr("reduction") ? ctx.attr("reduction")->s : "mean";
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    ctx.unsupported("reduction '" + reduction + "' is not supported (none, sum, mean)");
  const bool hasIgnore = ctx.attr("ignore_index") != nullptr;

  ir::Value* idx = target;
  ir::Value* mask = nullptr;
  if (hasIgnore) {
    ir::Value* ii = indexScalar(ctx, ctx.attrInt("ignore_index", 0), ti, "ignore_index");
    mask = ctx.addNode("Equal", {target, ii}, 1, {}, false)->outputs[0];
    idx = ctx.addNode("Where", {mask, indexScalar(ctx, 0, ti, "zero_index"), target}, 1, {}, false)->outputs[0];
  }
  ir::Value* axis1 = ctx.int64Constant({1}, "axis1");
  ir::Value* idxU = ctx.addNode("Unsqueeze", {idx, axis1}, 1, {}, false)->outputs[0];
  ir::Attributes ge;
  ge.setInt("axis", 1);
  ir::Value* picked = ctx.addNode("GatherElements", {input, idxU}, 1, ge, false)->outputs[0];
  picked = ctx.addNode("Squeeze", {picked, axis1}, 1, {}, false)->outputs[0];
  ir::Value* loss = ctx.addNode("Neg", {picked}, 1, {}, false)->outputs[0];

  ir::Value* w = nullptr;  // the applied weight per element, when not all ones
  if (weight) {
    ir::Attributes g;
    g.setInt("axis", 0);
    w = ctx.addNode("Gather", {weight, idx}, 1, g, false)->outputs[0];
    if (mask) w = ctx.addNode("Where", {mask, scalarAs(ctx, 0.f, t, "zero"), w}, 1, {}, false)->outputs[0];
  } else if (mask) {
    w = ctx.addNode("Where", {mask, scalarAs(ctx, 0.f, t, "zero"), scalarAs(ctx, 1.f, t, "one")}, 1, {}, false)
            ->outputs[0];
  }
  if (w) loss = ctx.addNode("Mul", {loss, w}, 1, {}, false)->outputs[0];

  ir::Attributes red;
  red.setInt("keepdims", 0);
  ir::Node* out = nullptr;
  if (reduction == "none") {
    out = ctx.addNode("Identity", {loss}, 1, {}, false);
  } else if (reduction == "sum") {
    out = ctx.addNode("ReduceSum", {loss}, 1, red, false);
  } else if (!w) {
    out = ctx.addNode("ReduceMean", {loss}, 1, red, false);
  } else {
    ir::Value* num = ctx.addNode("ReduceSum", {loss}, 1, red, false)->outputs[0];
    ir::Value* den = ctx.addNode("ReduceSum", {w}, 1, red, false)->outputs[0];
    out = ctx.addNode("Div", {num, den}, 1, {}, false);
  }
  ctx.bindOutput(0, out->outputs[0]);
}

void importNll(ImportContext& ctx) { buildNll(ctx, ctx.input(0), ctx.input(1), ctx.input(2)); }

void importSce(ImportContext& ctx) {
  ir::Value* scores = ctx.input(0);
  if (!scores) ctx.unsupported("needs its scores input");
  const ir::Shape* ss = ctx.shapeOf(scores);
  if (!ss || ss->size() < 2) ctx.unsupported("scores must have rank >= 2 ([N, C, d...])");
  ir::Attributes ls;
  ls.setInt("axis", 1);
  ir::Value* logp = ctx.addNode("LogSoftmax", {scores}, 1, ls, false)->outputs[0];
  buildNll(ctx, logp, ctx.input(1), ctx.input(2));
  if (ctx.node().outputs.size() > 1 && !ctx.node().outputs[1].empty())
    ctx.bindOutput(1, ctx.addNode("Identity", {logp}, 1, {}, false)->outputs[0]);
}

}  // namespace

void registerLossImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const char* n : {"Equal", "Where", "Unsqueeze", "Squeeze", "GatherElements", "Gather", "Neg", "Mul", "Cast",
                        "Identity", "ReduceSum", "ReduceMean", "Div", "LogSoftmax"})
    if (!ops.find(n)) return;
  reg.add({"", "NegativeLogLikelihoodLoss", 12, kMaxKnownOpset, importNll});
  reg.add({"", "SoftmaxCrossEntropyLoss", 12, kMaxKnownOpset, importSce});
}

}  // namespace kiln::onnx
