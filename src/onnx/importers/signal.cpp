// Importers for numeric/signal operators: CumProd, Det and DFT (1:1 to IR ops of the same name, DFT's
// opset-20 axis input: the IR attribute when constant, else the IR input 2) and HannWindow / HammingWindow / BlackmanWindow
// (decomposed into Range, Cast, Mul, Div, Cos, Sub, Add: they also run on the GPU); NonZero, Compress,
// Unique, NonMaxSuppression, STFT 1:1; MelWeightMatrix with output_datatype as a kiln DataType.
#include <numbers>

#include "ir/op_registry.h"
#include "onnx/importers/decompose.h"

namespace kiln::onnx {
namespace {

void importSame(ImportContext& ctx) {
  ctx.addNode(ctx.node().opType, ctx.inputs(), static_cast<int>(ctx.node().outputs.size()), ctx.convertAttributes());
}

void importDft(ImportContext& ctx) {
  ir::Attributes a;
  a.setInt("inverse", ctx.attrInt("inverse", 0));
  a.setInt("onesided", ctx.attrInt("onesided", 0));
  std::vector<ir::Value*> ins{ctx.input(0), ctx.input(1)};
  if (ctx.opset() >= 20) {
    a.setInt("axis", -2);
    if (ir::Value* ax = ctx.input(2)) {
      if (ax->isConstant() && ax->constant->numel() == 1) a.setInt("axis", ax->constant->intAt(0));
      else ins.push_back(ax);  // a runtime scalar, read like a shape tensor
    }
  } else {
    a.setInt("axis", ctx.attrInt("axis", 1));
  }
  while (!ins.empty() && !ins.back()) ins.pop_back();
  ctx.addNode("DFT", ins, 1, a);
}

//! w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), n in [0, size), N = size (periodic) or size - 1.
void importWindow(ImportContext& ctx, double a0, double a1, double a2) {
  Emit e{ctx};
  ir::Value* size = ctx.input(0);
  if (!size) ctx.unsupported("the size input is required");
  DataType st = ctx.typeOf(size);
  if (st != DataType::kINT32 && st != DataType::kINT64) ctx.unsupported("size must be int32 or int64");
  bool ok = true;
  DataType out = fromOnnxType(static_cast<int32_t>(ctx.attrInt("output_datatype", 1)), &ok);
  if (!ok) ctx.unsupported("unknown output_datatype");
  bool periodic = ctx.attrInt("periodic", 1) != 0;
  ir::Value* s64 = e.cast(size, DataType::kINT64);
  ir::Value* n = e.cast(e.op("Range", {e.int64Scalar(0), s64, e.int64Scalar(1)}), DataType::kFLOAT);
  ir::Value* big = e.cast(size, DataType::kFLOAT);
  if (!periodic) big = e.op("Sub", {big, e.scalar(1.0, DataType::kFLOAT)});
  ir::Value* x = e.op("Div", {e.op("Mul", {n, e.scalar(2.0 * std::numbers::pi, DataType::kFLOAT)}), big});
  ir::Value* w = e.op("Sub", {e.scalar(a0, DataType::kFLOAT), e.op("Mul", {e.scalar(a1, DataType::kFLOAT), e.op1("Cos", x)})});
  if (a2 != 0.0) {
    ir::Value* x2 = e.op("Mul", {x, e.scalar(2.0, DataType::kFLOAT)});
    w = e.op("Add", {w, e.op("Mul", {e.scalar(a2, DataType::kFLOAT), e.op1("Cos", x2)})});
  }
  e.bind(0, e.cast(w, out));
}

void importMel(ImportContext& ctx) {
  bool ok = true;
  DataType out = fromOnnxType(static_cast<int32_t>(ctx.attrInt("output_datatype", 1)), &ok);
  if (!ok) ctx.unsupported("unknown output_datatype");
  ir::Attributes a;
  a.setInt("dtype", static_cast<int64_t>(out));
  ctx.addNode("MelWeightMatrix", ctx.inputs(), 1, a);
}

void importHann(ImportContext& ctx) { importWindow(ctx, 0.5, 0.5, 0.0); }
void importHamming(ImportContext& ctx) { importWindow(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0); }
void importBlackman(ImportContext& ctx) { importWindow(ctx, 0.42, 0.5, 0.08); }

}  // namespace

void registerSignalImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  if (ops.find("CumProd")) reg.add({"", "CumProd", 1, kMaxKnownOpset, importSame});
  if (ops.find("Det")) reg.add({"", "Det", 11, kMaxKnownOpset, importSame});
  if (ops.find("DFT")) reg.add({"", "DFT", 17, kMaxKnownOpset, importDft});
  for (const char* op : {"NonZero", "Compress", "Unique", "NonMaxSuppression"})
    if (ops.find(op)) reg.add({"", op, std::string(op) == "Unique" ? 11 : (std::string(op) == "NonMaxSuppression" ? 10 : 9), kMaxKnownOpset, importSame});
  if (ops.find("STFT")) reg.add({"", "STFT", 17, kMaxKnownOpset, importSame});
  if (ops.find("MelWeightMatrix")) reg.add({"", "MelWeightMatrix", 17, kMaxKnownOpset, importMel});
  reg.add({"", "HannWindow", 17, kMaxKnownOpset, importHann});
  reg.add({"", "HammingWindow", 17, kMaxKnownOpset, importHamming});
  reg.add({"", "BlackmanWindow", 17, kMaxKnownOpset, importBlackman});
}

}  // namespace kiln::onnx
