// Test helper for the fast CPU tactics: runs one op with a named tactic and a thread pool in the
// KernelContext (cpu::runSingleOp runs serially), to compare with the reference kernel.
#pragma once

#include "backends/cpu/kernel.h"
#include "core/thread_pool.h"
#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {

//! Runs a made kernel on `inputs` (nullptr: an omitted optional input) into new outputs of the given types
//! and shapes (filled with NaN first, so that unwritten elements show), with `pool` in the context.
inline std::vector<TensorPtr> runKernel(const backend::Kernel& k, const std::vector<TensorPtr>& inputs,
                                        const std::vector<ir::ValueInfo>& outputs, ThreadPool* pool) {
  std::vector<backend::TensorView> iv(inputs.size()), ov(outputs.size());
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
    void* p = nullptr;
    auto td = ir::makeTensor(outputs[i].dtype, outputs[i].shape, &p);
    std::memset(p, 0xff, static_cast<size_t>(td->numel()) * dataTypeSize(td->dtype));  // NaN: unwritten shows
    ov[i].data = p;
    ov[i].dtype = td->dtype;
    ov[i].shape = td->shape;
    ov[i].numel = td->numel();
    ov[i].present = true;
    outs.push_back(td);
  }
  const std::size_t ws = k.workspaceSize(iv, ov);
  std::shared_ptr<ir::Blob> wsBlob = ws ? ir::Blob::allocate(ws) : nullptr;
  backend::KernelContext ctx;
  ctx.inputs = iv;
  ctx.outputs = ov;
  ctx.workspace = wsBlob ? wsBlob->mutableData() : nullptr;
  ctx.workspaceBytes = ws;
  ctx.pool = pool;
  k.run(ctx);
  return std::vector<TensorPtr>(outs.begin(), outs.end());
}

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
  std::vector<ir::ValueInfo> outs;
  for (const ir::Value* v : n->outputs) outs.push_back(infos.at(static_cast<size_t>(v->id)));
  return runKernel(*k, inputs, outs, pool);
}

//! One Conv case of the tactic tests (2-D, NCHW).
struct ConvCase {
  ir::Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group{1};
};

inline ir::Attributes convAttrs(const ConvCase& c, const std::string& act) {
  ir::Attributes at;
  at.setInts("strides", c.strides);
  at.setInts("pads", c.pads);
  at.setInts("dilations", c.dilations);
  at.setInt("group", c.group);
  if (!act.empty()) at.setString("kiln_act", act);
  return at;
}

//! Runs the Conv `tactic` on every case, activation epilogue and pool (nullptr: serially), with bias and
//! residual inputs and without, against the reference kernel within `tol`. `seed` advances.
inline void expectConvTacticMatchesReference(const std::vector<ConvCase>& cases, const std::string& tactic,
                                             const std::vector<std::string>& acts,
                                             const std::vector<ThreadPool*>& pools, uint32_t& seed,
                                             double tol) {
  for (const ConvCase& c : cases)
    for (const std::string& act : acts)
      for (ThreadPool* p : pools) {
        ir::Attributes at = convAttrs(c, act);
        auto x = randomTensor(c.x, seed++), w = randomTensor(c.w, seed++), b = randomTensor({c.w[0]}, seed++);
        auto plain = runOp("Conv", convAttrs(c, ""), {x, w})[0];
        auto z = randomTensor(plain->shape, seed++);
        SCOPED_TRACE(tactic + " " + ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w) + " " + act +
                     (p ? " pool" : " serial"));
        auto ref = runOp("Conv", at, {x, w, b, z})[0];
        auto got = runTactic("Conv", at, {x, w, b, z}, tactic, p)[0];
        expectValues(*got, ref->shape, asDoubles(*ref), tol);
        auto ref2 = runOp("Conv", at, {x, w})[0];
        auto got2 = runTactic("Conv", at, {x, w}, tactic, p)[0];
        expectValues(*got2, ref2->shape, asDoubles(*ref2), tol);
      }
}

}  // namespace kiln::test
