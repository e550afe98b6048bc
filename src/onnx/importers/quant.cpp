// Quantization operators. QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear / BitCast map onto
// the IR ops of the same name (ir/ops/quant.cpp; type attributes converted to kiln numbering). The
// integer matmul/conv operators are decomposed exactly into existing IR ops:
//   MatMulInteger  = MatMul over int32 (x - zero point)                       (int32 wrap-around, as ONNX)
//   ConvInteger    = Cast<int32>(Conv over double (x - zero point))           (exact: sums < 2^53)
//   QLinearMatMul  = Cast(Clip(Round(MatMul_int32 * (sa * sb / sy) + zy)))    in double, as ONNX's reference
//   QLinearConv    = the same with the double Conv (and the int32 bias added in the Conv)
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {
namespace {

ir::Value* castTo(ImportContext& ctx, ir::Value* v, DataType t) {
  if (ctx.typeOf(v) == t) return v;
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return ctx.addNode("Cast", {v}, 1, a, false)->outputs[0];
}

ir::Value* binary(ImportContext& ctx, const char* op, ir::Value* a, ir::Value* b) {
  return ctx.addNode(op, {a, b}, 1, {}, false)->outputs[0];
}

//! Converts the ONNX type attribute `key` to kiln numbering; removes it when 0 (unset).
void convertTypeAttr(ImportContext& ctx, ir::Attributes& attrs, const char* key) {
  if (!attrs.has(key)) return;
  const int64_t v = attrs.getInt(key, 0);
  attrs.erase(key);
  if (v == 0) return;
  bool ok = false;
  DataType t = fromOnnxType(static_cast<int32_t>(v), &ok);
  if (!ok) ctx.unsupported(std::string(key) + " " + onnxTypeName(static_cast<int32_t>(v)) + " is not supported");
  attrs.setInt(key, static_cast<int64_t>(t));
}

void importQuantizeLinear(ImportContext& ctx) {
  ir::Attributes attrs = ctx.convertAttributes();
  convertTypeAttr(ctx, attrs, "output_dtype");
  convertTypeAttr(ctx, attrs, "precision");
  ctx.addNode("QuantizeLinear", ctx.inputs(), 1, attrs);
}

void importDequantizeLinear(ImportContext& ctx) {
  ir::Attributes attrs = ctx.convertAttributes();
  convertTypeAttr(ctx, attrs, "output_dtype");
  ctx.addNode("DequantizeLinear", ctx.inputs(), 1, attrs);
}

void importPlain(ImportContext& ctx) {
  ctx.addNode(ctx.node().opType, ctx.inputs(), static_cast<int>(ctx.node().outputs.size()), ctx.convertAttributes());
}

//! x (cast to t) minus its zero point (cast to t; a 1-D zero point of several elements is reshaped to
//! `zpShape` first so that it broadcasts along the right axis). zp may be null.
ir::Value* centered(ImportContext& ctx, ir::Value* x, ir::Value* zp, DataType t, const std::vector<int64_t>& zpShape) {
  ir::Value* xc = castTo(ctx, x, t);
  if (!zp) return xc;
  ir::Value* z = castTo(ctx, zp, t);
  const ir::Shape* zs = ctx.shapeOf(zp);
  if (!zs) ctx.unsupported("the zero point's shape is unknown");
  if (zs->size() == 1 && (*zs)[0] != 1 && !zpShape.empty())
    z = ctx.addNode("Reshape", {z, ctx.int64Constant(zpShape, "zp_shape")}, 1, {}, false)->outputs[0];
  return binary(ctx, "Sub", xc, z);
}

//! Rank of a value (unsupported if unknown).
int64_t rankOf(ImportContext& ctx, ir::Value* v) {
  const ir::Shape* s = ctx.shapeOf(v);
  if (!s) ctx.unsupported("an input's rank is unknown");
  return static_cast<int64_t>(s->size());
}

ir::Value* scalarConst(ImportContext& ctx, double v, const std::string& hint) {
  void* out = nullptr;
  auto t = ir::makeTensor(DataType::kDOUBLE, {}, &out);
  *static_cast<double*>(out) = v;
  return ctx.constant(t, hint);
}

//! Requantizes an exact double accumulator: Cast<outType>(Clip(Round(acc * multiplier + zy), lo, hi)).
void requantize(ImportContext& ctx, ir::Value* acc, ir::Value* multiplier, ir::Value* zy, DataType outType) {
  ir::Value* d = binary(ctx, "Mul", acc, castTo(ctx, multiplier, DataType::kDOUBLE));
  if (zy) d = binary(ctx, "Add", d, castTo(ctx, zy, DataType::kDOUBLE));
  d = ctx.addNode("Round", {d}, 1, {}, false)->outputs[0];
  double lo = 0, hi = 255;
  if (outType == DataType::kINT8) lo = -128, hi = 127;
  else if (outType != DataType::kUINT8) ctx.unsupported(std::string("output type ") + dataTypeName(outType) + " is not supported");
  d = ctx.addNode("Clip", {d, scalarConst(ctx, lo, "qmin"), scalarConst(ctx, hi, "qmax")}, 1, {}, false)->outputs[0];
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(outType));
  ctx.addNode("Cast", {d}, 1, a);
}

void requireQuantInput(ImportContext& ctx, ir::Value* v, const char* what) {
  DataType t = ctx.typeOf(v);
  if (t != DataType::kINT8 && t != DataType::kUINT8)
    ctx.unsupported(std::string(what) + " must be int8 or uint8, not " + dataTypeName(t));
}

void importMatMulInteger(ImportContext& ctx) {
  ir::Value* a = ctx.input(0);
  ir::Value* b = ctx.input(1);
  if (!a || !b) ctx.unsupported("MatMulInteger needs A and B");
  requireQuantInput(ctx, a, "A");
  requireQuantInput(ctx, b, "B");
  ir::Value* ac = centered(ctx, a, ctx.input(2), DataType::kINT32, {-1, 1});  // per-row zero point: [M, 1]
  ir::Value* bc = centered(ctx, b, ctx.input(3), DataType::kINT32, {});       // per-column: [N] broadcasts
  ctx.addNode("MatMul", {ac, bc}, 1, {});
}

//! Zero point / scale of W per output channel: [M] -> [M, 1, ..., 1] (rank of W).
std::vector<int64_t> perChannelShape(int64_t rank) {
  std::vector<int64_t> s(static_cast<size_t>(rank), 1);
  s[0] = -1;
  return s;
}

void importConvInteger(ImportContext& ctx) {
  ir::Value* x = ctx.input(0);
  ir::Value* w = ctx.input(1);
  if (!x || !w) ctx.unsupported("ConvInteger needs x and w");
  requireQuantInput(ctx, x, "x");
  requireQuantInput(ctx, w, "w");
  ir::Value* xc = centered(ctx, x, ctx.input(2), DataType::kDOUBLE, {});
  ir::Value* wc = centered(ctx, w, ctx.input(3), DataType::kDOUBLE, perChannelShape(rankOf(ctx, w)));
  ir::Value* y = ctx.addNode("Conv", {xc, wc}, 1, ctx.convertAttributes(), false)->outputs[0];
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(DataType::kINT32));
  ctx.addNode("Cast", {y}, 1, a);
}

void importQLinearMatMul(ImportContext& ctx) {
  for (size_t i : {0, 1, 3, 4, 6}) {
    if (!ctx.input(i)) ctx.unsupported("QLinearMatMul: input " + std::to_string(i) + " is missing");
  }
  ir::Value* a = ctx.input(0);
  ir::Value* b = ctx.input(3);
  requireQuantInput(ctx, a, "a");
  requireQuantInput(ctx, b, "b");
  ir::Value* ac = centered(ctx, a, ctx.input(2), DataType::kINT32, {-1, 1});
  ir::Value* bc = centered(ctx, b, ctx.input(5), DataType::kINT32, {});
  ir::Value* acc = castTo(ctx, ctx.addNode("MatMul", {ac, bc}, 1, {}, false)->outputs[0], DataType::kDOUBLE);
  ir::Value* sa = ctx.input(1);
  const ir::Shape* sas = ctx.shapeOf(sa);
  if (sas && sas->size() == 1 && (*sas)[0] != 1)  // per-row scale of a
    sa = ctx.addNode("Reshape", {sa, ctx.int64Constant({-1, 1}, "scale_shape")}, 1, {}, false)->outputs[0];
  ir::Value* mult = binary(ctx, "Div", binary(ctx, "Mul", sa, ctx.input(4)), ctx.input(6));
  ir::Value* zy = ctx.input(7);
  requantize(ctx, acc, mult, zy, zy ? ctx.typeOf(zy) : ctx.typeOf(a));
}

void importQLinearConv(ImportContext& ctx) {
  for (size_t i : {0, 1, 3, 4, 6}) {
    if (!ctx.input(i)) ctx.unsupported("QLinearConv: input " + std::to_string(i) + " is missing");
  }
  ir::Value* x = ctx.input(0);
  ir::Value* w = ctx.input(3);
  requireQuantInput(ctx, x, "x");
  requireQuantInput(ctx, w, "w");
  const int64_t rank = rankOf(ctx, w);
  ir::Value* xc = centered(ctx, x, ctx.input(2), DataType::kDOUBLE, {});
  ir::Value* wc = centered(ctx, w, ctx.input(5), DataType::kDOUBLE, perChannelShape(rank));
  std::vector<ir::Value*> convIn{xc, wc};
  if (ir::Value* bias = ctx.input(8)) convIn.push_back(castTo(ctx, bias, DataType::kDOUBLE));
  ir::Value* acc = ctx.addNode("Conv", convIn, 1, ctx.convertAttributes(), false)->outputs[0];
  ir::Value* sw = ctx.input(4);
  const ir::Shape* sws = ctx.shapeOf(sw);
  if (sws && sws->size() == 1 && (*sws)[0] != 1) {  // per output channel: [1, M, 1, ...]
    std::vector<int64_t> s(static_cast<size_t>(rank), 1);
    s[1] = -1;
    sw = ctx.addNode("Reshape", {sw, ctx.int64Constant(s, "scale_shape")}, 1, {}, false)->outputs[0];
  }
  ir::Value* mult = binary(ctx, "Div", binary(ctx, "Mul", ctx.input(1), sw), ctx.input(6));
  ir::Value* zy = ctx.input(7);
  requantize(ctx, acc, mult, zy, zy ? ctx.typeOf(zy) : ctx.typeOf(x));
}

}  // namespace

void registerQuantImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  if (ops.find("QuantizeLinear")) reg.add({"", "QuantizeLinear", 10, kMaxKnownOpset, importQuantizeLinear});
  if (ops.find("DequantizeLinear")) reg.add({"", "DequantizeLinear", 10, kMaxKnownOpset, importDequantizeLinear});
  if (ops.find("DynamicQuantizeLinear")) reg.add({"", "DynamicQuantizeLinear", 11, kMaxKnownOpset, importPlain});
  if (ops.find("BitCast")) reg.add({"", "BitCast", 23, kMaxKnownOpset, importPlain});
  reg.add({"", "MatMulInteger", 10, kMaxKnownOpset, importMatMulInteger});
  reg.add({"", "ConvInteger", 10, kMaxKnownOpset, importConvInteger});
  reg.add({"", "QLinearMatMul", 10, kMaxKnownOpset, importQLinearMatMul});
  reg.add({"", "QLinearConv", 10, kMaxKnownOpset, importQLinearConv});
}

}  // namespace kiln::onnx
