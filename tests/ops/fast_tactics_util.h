// Test helper for the fast CPU tactics: runs one op with a named tactic and a thread pool in the
// KernelContext (cpu::runSingleOp runs serially), to compare with the reference kernel.
#pragma once

#include "backends/cpu/kernel.h"
#include "core/thread_pool.h"
#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {

inline std::vector<TensorPtr> runTactic(const std::string& op, const ir::Attributes& attrs,
                                        const std::vector<TensorPtr>& inputs, const std::string& tactic,
                                        ThreadPool* pool, int numOutputs = 1) {
  ir::Graph g;
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i)
    ins.push_back(inputs[i] ? g.addConstant("in" + std::to_string(i), inputs[i]) : nullptr);
  ir::Node* n = g.addNode(op, "node", ins, numOutputs);
  n->attrs = attrs;
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  std::vector<ir::ValueInfo> infos;
  ir::inferGraph(ir::defaultOpRegistry(), g, infos);
  const backend::Tactic* t = cpu::defaultKernelRegistry().find(op, tactic);
  if (!t) ADD_FAILURE() << "no tactic " << tactic << " for " << op;
  std::string why;
  if (t->supports && !t->supports(*n, &why)) ADD_FAILURE() << tactic << " does not support this " << op << ": " << why;
  std::unique_ptr<backend::Kernel> k = t->create(*n);
  std::vector<backend::TensorView> iv(inputs.size()), ov(static_cast<size_t>(numOutputs));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) continue;
    iv[i].data = const_cast<void*>(inputs[i]->raw());
    iv[i].dtype = inputs[i]->dtype;
    iv[i].shape = inputs[i]->shape;
    iv[i].numel = inputs[i]->numel();
    iv[i].present = true;
  }
  std::vector<std::shared_ptr<ir::TensorData>> outs;
  for (size_t i = 0; i < ov.size(); ++i) {
    const ir::ValueInfo& info = infos.at(static_cast<size_t>(n->outputs[i]->id));
    void* p = nullptr;
    auto td = ir::makeTensor(info.dtype, info.shape, &p);
    std::memset(p, 0xff, static_cast<size_t>(td->numel()) * dataTypeSize(td->dtype));  // NaN: unwritten shows
    ov[i].data = p;
    ov[i].dtype = td->dtype;
    ov[i].shape = td->shape;
    ov[i].numel = td->numel();
    ov[i].present = true;
    outs.push_back(td);
  }
  const std::size_t ws = k->workspaceSize(iv, ov);
  std::shared_ptr<ir::Blob> wsBlob = ws ? ir::Blob::allocate(ws) : nullptr;
  backend::KernelContext ctx;
  ctx.inputs = iv;
  ctx.outputs = ov;
  ctx.workspace = wsBlob ? wsBlob->mutableData() : nullptr;
  ctx.workspaceBytes = ws;
  ctx.pool = pool;
  k->run(ctx);
  return std::vector<TensorPtr>(outs.begin(), outs.end());
}

}  // namespace kiln::test
