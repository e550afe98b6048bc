// Operators whose kiln IR operation has the same name and semantics as ONNX (the IR follows the newest
// ONNX opset). Each entry gives the first opset whose semantics the IR operation implements; older opsets
// are handled in legacy.cpp where they differ.
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

void importDirect(ImportContext& ctx) {
  ctx.addNode(ctx.node().opType, ctx.inputs(), static_cast<int>(ctx.node().outputs.size()), ctx.convertAttributes());
}

void importConstant(ImportContext& ctx) {
  const Node& n = ctx.node();
  if (n.attributes.size() != 1) ctx.unsupported("Constant needs exactly one value attribute");
  const Attribute& a = n.attributes[0];
  std::shared_ptr<const ir::TensorData> t;
  if (a.name == "value" && a.t) {
    t = toTensorData(*a.t);
  } else if (a.name == "value_float") {
    t = ir::makeFloatTensor({a.f}, {});
  } else if (a.name == "value_floats") {
    t = ir::makeFloatTensor(a.floats, {static_cast<int64_t>(a.floats.size())});
  } else if (a.name == "value_int") {
    t = ir::makeInt64Tensor({a.i}, {});
  } else if (a.name == "value_ints") {
    t = ir::makeInt64Tensor(a.ints, {static_cast<int64_t>(a.ints.size())});
  } else {
    ctx.unsupported("Constant attribute '" + a.name + "' is not supported");
  }
  ctx.bindOutput(0, ctx.constant(t, n.outputs.empty() ? "constant" : n.outputs[0]));
}

void importDropout(ImportContext& ctx) {
  // inference: Dropout is the identity; the mask output is all true
  if (ctx.input(2)) {
    ir::Value* mode = ctx.input(2);
    if (!mode->isConstant()) ctx.unsupported("a training_mode input that is not a constant is not supported");
    if (mode->constant->numel() > 0 && mode->constant->intAt(0) != 0) ctx.unsupported("training mode is not supported");
  }
  ir::Node* id = ctx.addNode("Identity", {ctx.input(0)}, 1, {}, false);
  ctx.bindOutput(0, id->outputs[0]);
  if (ctx.node().outputs.size() > 1 && !ctx.node().outputs[1].empty()) {
    // opset 10+: a bool mask; opsets 7-9 declared the same type as the input (all ones either way)
    DataType maskType = ctx.opset() >= 10 ? DataType::kBOOL : ctx.typeOf(ctx.input(0));
    void* out = nullptr;
    auto one = ir::makeTensor(maskType, {1}, &out);
    switch (maskType) {
      case DataType::kBOOL: *static_cast<uint8_t*>(out) = 1; break;
      case DataType::kFLOAT: *static_cast<float*>(out) = 1.f; break;
      case DataType::kDOUBLE: *static_cast<double*>(out) = 1.0; break;
      default: ctx.unsupported("the mask output of Dropout is not supported for this input type");
    }
    ir::Attributes a;
    a.setTensor("value", one);
    ir::Node* shape = ctx.addNode("Shape", {ctx.input(0)}, 1, {}, false);
    ir::Node* mask = ctx.addNode("ConstantOfShape", {shape->outputs[0]}, 1, a, false);
    ctx.bindOutput(1, mask->outputs[0]);
  }
}

//! CastLike(input, target_type) = Cast(input, to = the element type of target_type).
void importCastLike(ImportContext& ctx) {
  ir::Attributes attrs = ctx.convertAttributes();
  ir::Value* target = ctx.input(1);
  if (!target) ctx.unsupported("CastLike needs its target_type input");
  attrs.setInt("to", static_cast<int64_t>(ctx.typeOf(target)));
  ctx.addNode("Cast", {ctx.input(0)}, 1, attrs);
}

//! A scalar constant of type `t` (via a Cast that constant folding removes).
ir::Value* scalarOf(ImportContext& ctx, float v, DataType t, const std::string& hint) {
  ir::Value* c = ctx.constant(ir::makeFloatTensor({v}, {}), hint);
  if (t == DataType::kFLOAT) return c;
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return ctx.addNode("Cast", {c}, 1, a, false)->outputs[0];
}

//! Swish (opset 24): x * sigmoid(alpha * x).
void importSwish(ImportContext& ctx) {
  ir::Value* x = ctx.input(0);
  DataType t = ctx.typeOf(x);
  ir::Value* ax = ctx.addNode("Mul", {x, scalarOf(ctx, ctx.attrFloat("alpha", 1.f), t, "alpha")}, 1, {}, false)->outputs[0];
  ir::Value* sg = ctx.addNode("Sigmoid", {ax}, 1, {}, false)->outputs[0];
  ctx.addNode("Mul", {x, sg}, 1, {});
}

//! RMSNormalization (opset 23), as its ONNX function body: X / sqrt(mean(X^2 over axis..end) + epsilon)
//! computed in float (stash_type 1), cast back, times scale.
void importRMSNormalization(ImportContext& ctx) {
  ir::Value* x = ctx.input(0);
  ir::Value* scale = ctx.input(1);
  if (!scale) ctx.unsupported("RMSNormalization needs its scale input");
  if (ctx.attrInt("stash_type", 1) != 1) ctx.unsupported("stash_type other than float is not supported");
  const ir::Shape* sx = ctx.shapeOf(x);
  if (!sx) ctx.unsupported("RMSNormalization needs the rank of X");
  const int64_t rank = static_cast<int64_t>(sx->size());
  int64_t axis = ctx.attrInt("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) ctx.unsupported("axis out of range");
  std::vector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i) axes.push_back(i);
  const DataType t = ctx.typeOf(x);
  ir::Attributes toFloat, toT;
  toFloat.setInt("to", static_cast<int64_t>(DataType::kFLOAT));
  toT.setInt("to", static_cast<int64_t>(t));
  ir::Value* xf = t == DataType::kFLOAT ? x : ctx.addNode("Cast", {x}, 1, toFloat, false)->outputs[0];
  ir::Value* sq = ctx.addNode("Mul", {xf, xf}, 1, {}, false)->outputs[0];
  ir::Attributes keep;
  keep.setInt("keepdims", 1);
  ir::Value* mean = ctx.addNode("ReduceMean", {sq, ctx.int64Constant(axes, "axes")}, 1, keep, false)->outputs[0];
  ir::Value* eps = ctx.constant(ir::makeFloatTensor({ctx.attrFloat("epsilon", 1e-5f)}, {}), "epsilon");
  ir::Value* rms = ctx.addNode("Sqrt", {ctx.addNode("Add", {mean, eps}, 1, {}, false)->outputs[0]}, 1, {}, false)->outputs[0];
  ir::Value* norm = ctx.addNode("Div", {xf, rms}, 1, {}, false)->outputs[0];
  if (t != DataType::kFLOAT) norm = ctx.addNode("Cast", {norm}, 1, toT, false)->outputs[0];
  ctx.addNode("Mul", {norm, scale}, 1, {});
}

//! SpaceToDepth: the IR implements DCR order only; the CRD mode (opset 25) is refused, not run wrongly.
void importSpaceToDepth(ImportContext& ctx) {
  ir::Attributes attrs = ctx.convertAttributes();
  std::string mode = attrs.getString("mode", "DCR");
  if (mode != "DCR") ctx.unsupported("mode '" + mode + "' is not supported (only DCR)");
  attrs.erase("mode");
  ctx.addNode("SpaceToDepth", ctx.inputs(), 1, attrs);
}

//! Scatter (opset 9-10, deprecated) is ScatterElements without reduction.
void importScatter(ImportContext& ctx) {
  ctx.addNode("ScatterElements", ctx.inputs(), 1, ctx.convertAttributes());
}

struct Entry {
  const char* op;
  int64_t since;
};

// First opset with the semantics kiln's IR implements.
constexpr Entry kDirect[] = {
    // activations and unary math
    {"Relu", 6}, {"Sigmoid", 6}, {"Tanh", 6}, {"LeakyRelu", 6}, {"Elu", 6}, {"Selu", 6}, {"Softsign", 1},
    {"Softplus", 1}, {"HardSigmoid", 6}, {"ThresholdedRelu", 10}, {"Gelu", 20}, {"HardSwish", 14}, {"Mish", 18},
    {"Celu", 12}, {"PRelu", 7}, {"Shrink", 9}, {"Clip", 11}, {"Exp", 6}, {"Log", 6}, {"Sqrt", 6}, {"Reciprocal", 6},
    {"Abs", 6}, {"Neg", 6}, {"Sin", 7}, {"Cos", 7}, {"Tan", 7}, {"Sinh", 9}, {"Cosh", 9}, {"Asin", 7}, {"Acos", 7},
    {"Atan", 7}, {"Asinh", 9}, {"Acosh", 9}, {"Atanh", 9}, {"Ceil", 6}, {"Floor", 6}, {"Erf", 9}, {"Sign", 9},
    {"Round", 11}, {"IsInf", 10}, {"IsNaN", 9}, {"Not", 1}, {"BitwiseNot", 18},
    // binary and variadic
    {"Add", 7}, {"Sub", 7}, {"Mul", 7}, {"Div", 7}, {"Pow", 7}, {"Min", 8}, {"Max", 8}, {"Sum", 8}, {"Mean", 8},
    {"Mod", 10}, {"And", 7}, {"Or", 7}, {"Xor", 7}, {"Equal", 7}, {"Greater", 7}, {"Less", 7}, {"GreaterOrEqual", 12},
    {"LessOrEqual", 12}, {"BitShift", 11}, {"BitwiseAnd", 18}, {"BitwiseOr", 18}, {"BitwiseXor", 18}, {"Where", 9},
    {"Cast", 6}, {"Identity", 1},
    // neural network
    {"Conv", 1}, {"ConvTranspose", 1}, {"MaxPool", 1}, {"AveragePool", 7}, {"GlobalAveragePool", 1},
    {"GlobalMaxPool", 1}, {"LpPool", 2}, {"GlobalLpPool", 2}, {"MatMul", 1}, {"Gemm", 7}, {"Softmax", 13},
    {"LogSoftmax", 13}, {"Hardmax", 13}, {"BatchNormalization", 9}, {"InstanceNormalization", 6},
    {"LayerNormalization", 17}, {"GroupNormalization", 21}, {"LpNormalization", 1}, {"LRN", 1},
    {"MeanVarianceNormalization", 9}, {"ReduceSum", 13}, {"ReduceMean", 18}, {"ReduceMax", 18}, {"ReduceMin", 18},
    {"ReduceProd", 18}, {"ReduceL1", 18}, {"ReduceL2", 18}, {"ReduceLogSum", 18}, {"ReduceLogSumExp", 18},
    {"ReduceSumSquare", 18}, {"ArgMax", 1}, {"ArgMin", 1},
    // tensor manipulation
    {"Shape", 1}, {"Size", 1}, {"Transpose", 1}, {"Reshape", 5}, {"Flatten", 1}, {"Squeeze", 13}, {"Unsqueeze", 13},
    {"Expand", 8}, {"Tile", 6}, {"Concat", 4}, {"Split", 13}, {"Slice", 10}, {"Pad", 11}, {"Resize", 11},
    {"Gather", 1}, {"GatherElements", 11}, {"GatherND", 11}, {"ScatterElements", 11}, {"ScatterND", 11}, {"TopK", 10},
    {"Range", 11}, {"ConstantOfShape", 9}, {"DepthToSpace", 1}, {"Trilu", 14}, {"CumSum", 11},
    {"OneHot", 9}, {"ReverseSequence", 10}, {"EyeLike", 9},
};

}  // namespace

void registerDirectImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const Entry& e : kDirect)
    if (ops.find(e.op)) reg.add({"", e.op, e.since, kMaxKnownOpset, importDirect});
  reg.add({"", "Constant", 1, kMaxKnownOpset, importConstant});
  reg.add({"", "Dropout", 1, kMaxKnownOpset, importDropout});
  if (ops.find("Cast")) reg.add({"", "CastLike", 15, kMaxKnownOpset, importCastLike});
  if (ops.find("ScatterElements")) reg.add({"", "Scatter", 9, 10, importScatter});
  if (ops.find("SpaceToDepth")) reg.add({"", "SpaceToDepth", 1, kMaxKnownOpset, importSpaceToDepth});
  if (ops.find("Sigmoid") && ops.find("Mul") && ops.find("Cast")) reg.add({"", "Swish", 1, kMaxKnownOpset, importSwish});  // opset 24 (newer models import as 23)
  if (ops.find("ReduceMean") && ops.find("Sqrt") && ops.find("Div") && ops.find("Cast"))
    reg.add({"", "RMSNormalization", 23, kMaxKnownOpset, importRMSNormalization});
}

}  // namespace kiln::onnx
