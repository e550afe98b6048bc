#include "gpu_op.h"

#include <algorithm>

#include "backends/cpu/evaluate.h"
#include "ir/op_registry.h"

namespace kiln::test {

std::vector<TensorPtr> runGpuOp(const std::string& op, const ir::Attributes& attrs, const std::vector<TensorPtr>& inputs,
                                int numOutputs, const GpuOpOptions& opts) {
  ir::Graph g;
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) {
      ins.push_back(nullptr);
      continue;
    }
    bool constant = std::find(opts.constantInputs.begin(), opts.constantInputs.end(), static_cast<int>(i)) !=
                    opts.constantInputs.end();
    if (constant) {
      ins.push_back(g.addConstant("in" + std::to_string(i), inputs[i]));
    } else {
      ir::Value* v = g.addValue("in" + std::to_string(i), inputs[i]->dtype, inputs[i]->shape);
      g.inputs.push_back(v);
      ins.push_back(v);
    }
  }
  ir::Node* n = g.addNode(op, "node", ins, numOutputs);
  n->attrs = attrs;
  for (ir::Value* o : n->outputs) g.outputs.push_back(o);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  // inferGraph takes the graph inputs' types and shapes from `infos` (as the runtime does)
  std::vector<ir::ValueInfo> infos(g.values.size());
  for (const ir::Value* in : g.inputs) {
    infos[static_cast<size_t>(in->id)].dtype = in->dtype;
    infos[static_cast<size_t>(in->id)].shape = in->shape;
  }
  ir::inferGraph(ir::defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());

  const backend::KernelRegistry& reg = gpu::kernelRegistry();
  const backend::Tactic* chosen = nullptr;
  std::string reasons;
  for (const backend::Tactic& t : reg.find(op)) {
    if (!opts.tactic.empty() && t.name != opts.tactic) continue;
    std::string why;
    if (t.supports && !t.supports(*n, &why)) {
      reasons += " " + t.name + ": " + why + ";";
      continue;
    }
    chosen = &t;
  }
  if (!chosen)
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "no GPU kernel for " + op + (opts.tactic.empty() ? "" : " tactic " + opts.tactic) +
                                                  (reasons.empty() ? "" : " (" + reasons + ")"));
  std::unique_ptr<backend::Kernel> kernel = chosen->create(*n);

  // device buffers
  std::vector<std::shared_ptr<void>> keep;
  std::vector<backend::TensorView> inViews, outViews;
  auto viewOf = [&](const ir::Value* v) {
    backend::TensorView t;
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    t.dtype = info.dtype;
    t.shape = info.shape;
    t.numel = ir::numElements(info.shape);
    t.present = true;
    if (t.numel < 0) throw Error(ErrorCode::kINVALID_STATE, "unknown shape of " + v->name);
    keep.push_back(gpu::deviceBlock(t.bytes() + 256));
    t.data = keep.back().get();
    return t;
  };
  void* stream = gpu::createStream();
  std::shared_ptr<void> streamOwner(stream, [](void* s) { gpu::destroyStream(s); });
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!ins[i]) {
      inViews.emplace_back();
      continue;
    }
    backend::TensorView t = viewOf(ins[i]);
    gpu::copy(t.data, inputs[i]->raw(), t.bytes());
    inViews.push_back(t);
  }
  for (const ir::Value* o : n->outputs) {
    backend::TensorView t = viewOf(o);
    gpu::memsetAsync(t.data, 0xFF, t.bytes(), stream);
    outViews.push_back(t);
  }
  std::size_t ws = kernel->workspaceSize(inViews, outViews);
  std::shared_ptr<void> workspace;
  if (ws) {
    workspace = gpu::deviceBlock(ws);
    gpu::memsetAsync(workspace.get(), 0xFF, ws, stream);
  }
  backend::KernelContext kc;
  kc.inputs = inViews;
  kc.outputs = outViews;
  kc.workspace = workspace.get();
  kc.workspaceBytes = ws;
  kc.stream = stream;
  kernel->run(kc);
  gpu::synchronizeStream(stream);
  gpu::checkLastError(op.c_str());

  std::vector<TensorPtr> out;
  for (const auto& t : outViews) {
    void* host = nullptr;
    auto tensor = ir::makeTensor(t.dtype, t.shapeVec(), &host);
    gpu::copy(host, t.data, t.bytes());
    out.push_back(tensor);
  }
  return out;
}

std::vector<TensorPtr> expectGpuMatchesCpu(const std::string& op, const ir::Attributes& attrs,
                                           const std::vector<TensorPtr>& inputs, int numOutputs,
                                           const GpuOpOptions& opts, double rtol, double atol) {
  std::vector<TensorPtr> ref = runOp(op, attrs, inputs, numOutputs);
  std::vector<TensorPtr> got = runGpuOp(op, attrs, inputs, numOutputs, opts);
  EXPECT_EQ(ref.size(), got.size());
  for (size_t i = 0; i < std::min(ref.size(), got.size()); ++i) {
    SCOPED_TRACE(op + " output " + std::to_string(i));
    EXPECT_EQ(ref[i]->dtype, got[i]->dtype);
    expectClose(*got[i], *ref[i], rtol, atol);
  }
  return got;
}

TensorPtr convertTensor(const ir::TensorData& t, DataType to) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.floatAt(static_cast<int64_t>(i));
  return makeTyped(to, t.shape, v);
}

}  // namespace kiln::test
