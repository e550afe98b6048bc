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
  if (ctx.node().outputs.size() > 1 && !ctx.node().outputs[1].empty())
    ctx.unsupported("the mask output of Dropout is not supported");
  ctx.addNode("Identity", {ctx.input(0)}, 1, {});
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
    {"Range", 11}, {"ConstantOfShape", 9}, {"DepthToSpace", 1}, {"SpaceToDepth", 1}, {"Trilu", 14}, {"CumSum", 11},
    {"OneHot", 9}, {"ReverseSequence", 10}, {"EyeLike", 9},
};

}  // namespace

void registerDirectImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const Entry& e : kDirect)
    if (ops.find(e.op)) reg.add({"", e.op, e.since, kMaxKnownOpset, importDirect});
  reg.add({"", "Constant", 1, kMaxKnownOpset, importConstant});
  reg.add({"", "Dropout", 1, kMaxKnownOpset, importDropout});
}

}  // namespace kiln::onnx
