// RNN, GRU, LSTM (opset 7+): the IR ops take ONNX's inputs, outputs and attributes as they are (layout,
// added in opset 14, defaults to 0 so older opsets import the same way). See src/ir/ops/rnn.cpp.
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

void importRecurrent(ImportContext& ctx) {
  const Node& n = ctx.node();
  if (n.outputs.empty()) ctx.unsupported(n.opType + " without outputs");
  ctx.addNode(n.opType, ctx.inputs(), static_cast<int>(n.outputs.size()), ctx.convertAttributes());
}

}  // namespace

void registerRnnImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const char* op : {"RNN", "GRU", "LSTM"})
    if (ops.find(op)) reg.add({"", op, 7, kMaxKnownOpset, importRecurrent});
}

}  // namespace kiln::onnx
