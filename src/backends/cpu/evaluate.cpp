#include "backends/cpu/evaluate.h"

#include "backends/cpu/kernel.h"

namespace kiln::cpu {

std::vector<std::shared_ptr<const ir::TensorData>> evaluateNode(const ir::Node& node,
                                                                const std::vector<const ir::TensorData*>& inputs,
                                                                const std::vector<ir::ValueInfo>& infos,
                                                                const std::string& tacticName) {
  const Tactic* tactic = defaultKernelRegistry().find(node.op, tacticName);
  if (!tactic)
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "no '" + tacticName + "' kernel for operation '" + node.op + "'");
  std::unique_ptr<Kernel> kernel = tactic->create(node);

  std::vector<TensorView> ins(node.inputs.size());
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::TensorData* d = i < inputs.size() ? inputs[i] : nullptr;
    if (!node.inputs[i] || !d) continue;
    ins[i].data = const_cast<void*>(d->raw());
    ins[i].dtype = d->dtype;
    ins[i].shape = d->shape;
    ins[i].numel = d->numel();
    ins[i].present = true;
  }
  std::vector<std::shared_ptr<ir::TensorData>> outData;
  std::vector<TensorView> outs(node.outputs.size());
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::ValueInfo& info = infos.at(static_cast<size_t>(node.outputs[i]->id));
    void* p = nullptr;
    auto t = ir::makeTensor(info.dtype, info.shape, &p);
    outs[i].data = p;
    outs[i].dtype = t->dtype;
    outs[i].shape = t->shape;
    outs[i].numel = t->numel();
    outs[i].present = true;
    outData.push_back(std::move(t));
  }
  std::size_t ws = kernel->workspaceSize(ins, outs);
  std::shared_ptr<ir::Blob> wsBlob = ws ? ir::Blob::allocate(ws) : nullptr;
  KernelContext ctx;
  ctx.inputs = ins;
  ctx.outputs = outs;
  ctx.workspace = wsBlob ? wsBlob->mutableData() : nullptr;
  ctx.workspaceBytes = ws;
  kernel->run(ctx);
  return std::vector<std::shared_ptr<const ir::TensorData>>(outData.begin(), outData.end());
}

const ir::Evaluator& referenceEvaluator() {
  static const ir::Evaluator eval = [](const ir::Node& n, const std::vector<const ir::TensorData*>& ins,
                                       const std::vector<ir::ValueInfo>& infos) { return evaluateNode(n, ins, infos); };
  return eval;
}

std::vector<std::shared_ptr<const ir::TensorData>> runSingleOp(const std::string& op, const ir::Attributes& attrs,
                                                               const std::vector<std::shared_ptr<const ir::TensorData>>& inputs,
                                                               int numOutputs, const std::string& tactic) {
  ir::Graph g;
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i)
    ins.push_back(inputs[i] ? g.addConstant("in" + std::to_string(i), inputs[i]) : nullptr);
  ir::Node* n = g.addNode(op, "node", ins, numOutputs);
  n->attrs = attrs;
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  std::vector<ir::ValueInfo> infos;
  ir::inferGraph(ir::defaultOpRegistry(), g, infos);
  std::vector<const ir::TensorData*> raw;
  for (const auto& p : inputs) raw.push_back(p.get());
  return evaluateNode(*n, raw, infos, tactic);
}

}  // namespace kiln::cpu
