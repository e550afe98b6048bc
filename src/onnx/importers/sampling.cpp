// Sampling / image-geometry operators:
//   GridSample (opset 16-19: bilinear/bicubic renamed to the IR's linear/cubic; 20+: as is, N-d),
//   AffineGrid (opset 20), Col2Im (opset 18): IR operations of the same name (CPU kernels only);
//   CenterCropPad (opset 18): decomposed into a Pad with (possibly negative, i.e. cropping) pads computed
//   from the target shape: begin = trunc((shape - dim) / 2), end = (shape - dim) - begin.
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

void importGridSample(ImportContext& ctx) {
  ir::Attributes attrs = ctx.convertAttributes();
  std::string mode = attrs.getString("mode", ctx.opset() < 20 ? "bilinear" : "linear");
  if (ctx.opset() < 20) {
    if (mode == "bilinear") mode = "linear";
    else if (mode == "bicubic") mode = "cubic";
    else if (mode != "nearest") ctx.unsupported("GridSample: unknown mode '" + mode + "'");
    const ir::Shape* sx = ctx.shapeOf(ctx.input(0));
    if (sx && sx->size() != 4) ctx.unsupported("GridSample before opset 20 takes 4-D inputs only");
  }
  attrs.setString("mode", mode);
  ctx.addNode("GridSample", ctx.inputs(), 1, attrs);
}

void importSame(ImportContext& ctx) { ctx.addNode(ctx.node().opType, ctx.inputs(), 1, ctx.convertAttributes()); }

void importCenterCropPad(ImportContext& ctx) {
  ir::Value* x = ctx.input(0);
  ir::Value* shape = ctx.input(1);
  if (!x || !shape) ctx.unsupported("CenterCropPad needs input_data and shape");
  const ir::Shape* sx = ctx.shapeOf(x);
  if (!sx) ctx.unsupported("CenterCropPad needs the rank of its input");
  const int64_t rank = static_cast<int64_t>(sx->size());
  std::vector<int64_t> axes;
  if (ctx.attr("axes")) {
    for (int64_t a : ctx.attrInts("axes")) {
      if (a < -rank || a >= rank) ctx.unsupported("CenterCropPad: axis " + std::to_string(a) + " out of range");
      axes.push_back(a < 0 ? a + rank : a);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  for (size_t i = 0; i < axes.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (axes[i] == axes[j]) ctx.unsupported("CenterCropPad: repeated axis");
  const ir::Shape* ss = ctx.shapeOf(shape);
  if (!ss || ss->size() != 1) ctx.unsupported("CenterCropPad: shape must be 1-D");
  if ((*ss)[0] >= 0 && (*ss)[0] != static_cast<int64_t>(axes.size()))
    ctx.unsupported("CenterCropPad: shape must have one entry per axis");
  DataType st = ctx.typeOf(shape);
  if (st != DataType::kINT64 && st != DataType::kINT32) ctx.unsupported("CenterCropPad: shape must be int32 or int64");
  if (st == DataType::kINT32) {
    ir::Attributes c;
    c.setInt("to", static_cast<int64_t>(DataType::kINT64));
    shape = ctx.addNode("Cast", {shape}, 1, c, false)->outputs[0];
  }
  ir::Value* axesV = ctx.int64Constant(axes, "axes");
  ir::Value* dimsAll = ctx.addNode("Shape", {x}, 1, {}, false)->outputs[0];
  ir::Attributes g0;
  g0.setInt("axis", 0);
  ir::Value* dims = ctx.addNode("Gather", {dimsAll, axesV}, 1, g0, false)->outputs[0];
  ir::Value* diff = ctx.addNode("Sub", {shape, dims}, 1, {}, false)->outputs[0];
  ir::Value* begin = ctx.addNode("Div", {diff, ctx.int64Constant({2}, "two")}, 1, {}, false)->outputs[0];  // truncates
  ir::Value* end = ctx.addNode("Sub", {diff, begin}, 1, {}, false)->outputs[0];
  ir::Value* pads = ctx.addNode("Concat", {begin, end}, 1, g0, false)->outputs[0];
  ir::Attributes pa;
  pa.setString("mode", "constant");
  ctx.addNode("Pad", {x, pads, nullptr, axesV}, 1, pa);
}

}  // namespace

void registerSamplingImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  if (ops.find("GridSample")) reg.add({"", "GridSample", 16, kMaxKnownOpset, importGridSample});
  if (ops.find("AffineGrid")) reg.add({"", "AffineGrid", 20, kMaxKnownOpset, importSame});
  if (ops.find("Col2Im")) reg.add({"", "Col2Im", 18, kMaxKnownOpset, importSame});
  bool cropOk = true;
  for (const char* n : {"Shape", "Gather", "Sub", "Div", "Concat", "Pad", "Cast"}) cropOk = cropOk && ops.find(n);
  if (cropOk) reg.add({"", "CenterCropPad", 18, kMaxKnownOpset, importCenterCropPad});
}

}  // namespace kiln::onnx
