// Older opsets whose operators took as attributes what newer ones take as inputs, or had other semantics:
// each is rewritten into the newest form.
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

//! Moves integer-list attribute `attr` into a constant int64 input at position `index` (if present).
void attrToInput(ImportContext& ctx, const char* attr, size_t index, const std::string& op) {
  ir::Attributes attrs = ctx.convertAttributes();
  std::vector<ir::Value*> ins = ctx.inputs();
  ins.resize(std::max(ins.size(), index), nullptr);
  if (attrs.has(attr)) {
    ins.insert(ins.begin() + static_cast<long>(index), ctx.int64Constant(attrs.getInts(attr), std::string(attr)));
    attrs.erase(attr);
  }
  while (!ins.empty() && !ins.back()) ins.pop_back();
  ctx.addNode(op, ins, static_cast<int>(ctx.node().outputs.size()), attrs);
}

void importAxesAttr(ImportContext& ctx) { attrToInput(ctx, "axes", 1, ctx.node().opType); }
void importSplitAttr(ImportContext& ctx) { attrToInput(ctx, "split", 1, "Split"); }

void importClipAttrs(ImportContext& ctx) {  // opset 6-10: min/max attributes
  auto lo = ctx.attr("min"), hi = ctx.attr("max");
  std::vector<ir::Value*> ins{ctx.input(0)};
  ins.push_back(ctx.constant(ir::makeFloatTensor({lo ? lo->f : -3.402823466e38f}, {}), "clip_min"));
  ins.push_back(ctx.constant(ir::makeFloatTensor({hi ? hi->f : 3.402823466e38f}, {}), "clip_max"));
  ctx.addNode("Clip", ins, 1, {});
}

void importSliceAttrs(ImportContext& ctx) {  // opset 1-9: starts/ends/axes attributes
  std::vector<ir::Value*> ins{ctx.input(0), ctx.int64Constant(ctx.attrInts("starts"), "starts"),
                              ctx.int64Constant(ctx.attrInts("ends"), "ends")};
  if (ctx.attr("axes")) ins.push_back(ctx.int64Constant(ctx.attrInts("axes"), "axes"));
  ctx.addNode("Slice", ins, 1, {});
}

void importPadAttrs(ImportContext& ctx) {  // opset 2-10: pads/value attributes
  ir::Attributes attrs;
  attrs.setString("mode", ctx.attr("mode") ? ctx.attr("mode")->s : "constant");
  std::vector<ir::Value*> ins{ctx.input(0), ctx.int64Constant(ctx.attrInts("pads"), "pads"),
                              ctx.constant(ir::makeFloatTensor({ctx.attrFloat("value", 0.f)}, {}), "pad_value")};
  ctx.addNode("Pad", ins, 1, attrs);
}

void importTopKAttr(ImportContext& ctx) {  // opset 1-9: k attribute
  ir::Attributes attrs;
  attrs.setInt("axis", ctx.attrInt("axis", -1));
  std::vector<ir::Value*> ins{ctx.input(0), ctx.int64Constant({ctx.attrInt("k", 1)}, "k")};
  ctx.addNode("TopK", ins, 2, attrs);
}

//! Softmax/LogSoftmax/Hardmax before opset 13: the input is flattened to 2-D at `axis` (default 1) and the
//! operation runs over the whole second dimension.
void importSoftmaxCoerced(ImportContext& ctx) {
  int64_t axis = ctx.attrInt("axis", 1);
  ir::Value* x = ctx.input(0);
  ir::Attributes fl;
  fl.setInt("axis", axis);
  ir::Node* flat = ctx.addNode("Flatten", {x}, 1, fl, false);
  ir::Attributes sm;
  sm.setInt("axis", -1);
  ir::Node* op = ctx.addNode(ctx.node().opType, {flat->outputs[0]}, 1, sm, false);
  ir::Node* shape = ctx.addNode("Shape", {x}, 1, {}, false);
  ctx.addNode("Reshape", {op->outputs[0], shape->outputs[0]}, 1, {});
}

//! The attributes of the node minus `drop` (attributes that older opsets had and the IR does not).
ir::Attributes attrsWithout(ImportContext& ctx, std::initializer_list<const char*> drop) {
  ir::Attributes attrs = ctx.convertAttributes();
  for (const char* d : drop) attrs.erase(d);
  return attrs;
}

//! Opsets before 7 (binary ops) or 8 (variadic ops): the same op without consumed_inputs/broadcast.
void importDropLegacyAttrs(ImportContext& ctx) {
  ctx.addNode(ctx.node().opType, ctx.inputs(), static_cast<int>(ctx.node().outputs.size()),
              attrsWithout(ctx, {"consumed_inputs", "broadcast", "axis", "is_test"}));
}

//! Binary ops before opset 7: with broadcast=1 and `axis`, B's dims line up with A's from `axis` on
//! (B is unsqueezed with trailing ones so that numpy broadcasting does the same); without axis the
//! legacy rule is numpy's suffix rule.
void importLegacyBroadcast(ImportContext& ctx) {
  ir::Value* a = ctx.input(0);
  ir::Value* b = ctx.input(1);
  if (!a || !b) ctx.unsupported("needs two inputs");
  if (ctx.attrInt("broadcast", 0) != 0 && ctx.attr("axis")) {
    const ir::Shape* sa = ctx.shapeOf(a);
    const ir::Shape* sb = ctx.shapeOf(b);
    if (!sa || !sb) ctx.unsupported("legacy broadcast with an axis needs the ranks of both inputs");
    int64_t ra = static_cast<int64_t>(sa->size()), rb = static_cast<int64_t>(sb->size());
    int64_t axis = ctx.attrInt("axis", 0);
    if (axis < 0) axis += ra;
    if (axis < 0 || axis + rb > ra) ctx.unsupported("broadcast axis " + std::to_string(ctx.attrInt("axis", 0)) + " does not fit the ranks");
    int64_t trailing = ra - axis - rb;
    if (trailing > 0) {
      std::vector<int64_t> axes;
      for (int64_t i = 0; i < trailing; ++i) axes.push_back(rb + i);
      b = ctx.addNode("Unsqueeze", {b, ctx.int64Constant(axes, "broadcast_axes")}, 1, {}, false)->outputs[0];
    }
  }
  ctx.addNode(ctx.node().opType, {a, b}, 1, {});
}

void importGemmLegacy(ImportContext& ctx) {  // opset 1-6: broadcast attribute for C
  ctx.addNode("Gemm", ctx.inputs(), 1, attrsWithout(ctx, {"broadcast"}));
}

//! PRelu before opset 7: a slope of shape [C] applies per channel (axis 1), not to the last axis.
void importPReluLegacy(ImportContext& ctx) {
  ir::Value* x = ctx.input(0);
  ir::Value* slope = ctx.input(1);
  const ir::Shape* sx = ctx.shapeOf(x);
  const ir::Shape* ss = ctx.shapeOf(slope);
  if (!sx || !ss) ctx.unsupported("PRelu before opset 7 needs the ranks of its inputs");
  if (ss->size() == 1 && (*ss)[0] != 1 && sx->size() > 2) {
    std::vector<int64_t> axes;
    for (size_t i = 1; i + 1 < sx->size(); ++i) axes.push_back(static_cast<int64_t>(i));
    slope = ctx.addNode("Unsqueeze", {slope, ctx.int64Constant(axes, "slope_axes")}, 1, {}, false)->outputs[0];
  }
  ctx.addNode("PRelu", {x, slope}, 1, {});
}

//! BatchNormalization before opset 9: spatial / is_test / consumed_inputs; only inference (one output).
void importBatchNormLegacy(ImportContext& ctx) {
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i)
    if (!ctx.node().outputs[i].empty()) ctx.unsupported("the training outputs of BatchNormalization are not supported");
  if (ctx.attrInt("spatial", 1) != 1) ctx.unsupported("spatial=0 is not supported");
  if (ctx.opset() < 7 && ctx.attrInt("is_test", 0) == 0 && ctx.node().outputs.size() > 1)
    ctx.unsupported("is_test=0 (training) is not supported");
  ctx.addNode("BatchNormalization", ctx.inputs(), 1, attrsWithout(ctx, {"spatial", "is_test", "consumed_inputs"}));
}

//! Upsample (opset 7-10; opset 7 takes scales as an attribute) and Resize-10: a Resize with asymmetric
//! coordinates and floor rounding for nearest.
void importUpsample(ImportContext& ctx) {
  std::string mode = ctx.attr("mode") ? ctx.attr("mode")->s : "nearest";
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear") ctx.unsupported("mode '" + mode + "' is not supported");
  ir::Value* scales = ctx.input(1);
  if (!scales) {
    const Attribute* a = ctx.attr("scales");
    if (!a) ctx.unsupported("Upsample needs scales");
    scales = ctx.constant(ir::makeFloatTensor(a->floats, {static_cast<int64_t>(a->floats.size())}), "scales");
  }
  ir::Attributes attrs;
  attrs.setString("mode", mode);
  attrs.setString("coordinate_transformation_mode", "asymmetric");
  attrs.setString("nearest_mode", "floor");
  ctx.addNode("Resize", {ctx.input(0), nullptr, scales}, 1, attrs);
}

void importReshapeAttr(ImportContext& ctx) {  // opset 1-4: shape attribute
  ir::Value* shape = ctx.input(1);
  if (!shape) shape = ctx.int64Constant(ctx.attrInts("shape"), "shape");
  ctx.addNode("Reshape", {ctx.input(0), shape}, 1, {});
}

void importConcatLegacy(ImportContext& ctx) {  // opset 1-3: axis defaults to 1
  ir::Attributes attrs = ctx.convertAttributes();
  if (!attrs.has("axis")) attrs.setInt("axis", 1);
  ctx.addNode("Concat", ctx.inputs(), 1, attrs);
}

}  // namespace

void registerLegacyImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  auto add = [&](const char* op, int64_t lo, int64_t hi, ImportFn fn, std::initializer_list<const char*> needs) {
    for (const char* n : needs)
      if (!ops.find(n)) return;
    reg.add({"", op, lo, hi, fn});
  };
  for (const char* op : {"Squeeze", "Unsqueeze", "ReduceSum"}) add(op, 1, 12, importAxesAttr, {op});
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                         "ReduceLogSumExp", "ReduceSumSquare"})
    add(op, 1, 17, importAxesAttr, {op});
  add("Split", 2, 12, importSplitAttr, {"Split"});
  add("Clip", 6, 10, importClipAttrs, {"Clip"});
  add("Slice", 1, 9, importSliceAttrs, {"Slice"});
  add("Pad", 2, 10, importPadAttrs, {"Pad"});
  add("TopK", 1, 9, importTopKAttr, {"TopK"});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"})
    add(op, 1, 6, importLegacyBroadcast, {op, "Unsqueeze"});
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) add(op, 1, 7, importDropLegacyAttrs, {op});
  for (const char* op : {"AveragePool", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Exp",
                         "Log", "Sqrt", "Reciprocal", "Abs", "Neg", "Ceil", "Floor", "InstanceNormalization"})
    add(op, 1, 6 - (std::string(op) == "AveragePool" ? 0 : 1), importDropLegacyAttrs, {op});
  add("Gemm", 1, 6, importGemmLegacy, {"Gemm"});
  add("PRelu", 1, 6, importPReluLegacy, {"PRelu", "Unsqueeze"});
  add("BatchNormalization", 1, 8, importBatchNormLegacy, {"BatchNormalization"});
  add("Upsample", 7, 10, importUpsample, {"Resize"});
  add("Resize", 10, 10, importUpsample, {"Resize"});
  add("Reshape", 1, 4, importReshapeAttr, {"Reshape"});
  add("Concat", 1, 3, importConcatLegacy, {"Concat"});
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"})
    add(op, 1, 12, importSoftmaxCoerced, {op, "Flatten", "Shape", "Reshape"});
}

}  // namespace kiln::onnx
