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
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"})
    add(op, 1, 12, importSoftmaxCoerced, {op, "Flatten", "Shape", "Reshape"});
}

}  // namespace kiln::onnx
