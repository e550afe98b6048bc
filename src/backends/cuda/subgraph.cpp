// Nested graphs on the GPU: kernels per node, plans per input shapes, runs (see subgraph.h).
#include "backends/cuda/subgraph.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "backends/cpu/evaluate.h"  // folds shape computations inside the graph, as the runtime's inference does
#include "backends/gpu.h"
#include "backends/host_inputs.h"
#include "builder/memory_planner.h"
#include "core/dtype.h"
#include "ir/shape_utils.h"

namespace kiln::gpu {
namespace {

constexpr size_t kMaxCachedPlans = 16;

std::string nodeLabel(const std::string& what, const ir::Node& n) {
  return what + " node '" + n.name + "' (" + n.op + ")";
}

//! The tactic the builder takes without timing (the last applicable one); host-parameter wrappers are left
//! out (they read graph inputs in page-locked memory, which a nested graph's inputs are not).
const Tactic* pickTactic(const ir::Node& n, std::string* reasons) {
  const Tactic* chosen = nullptr;
  for (const Tactic& t : kernelRegistry().find(n.op)) {
    std::string why;
    if (t.name == "cuda_host_params") {
      why = "parameters read on the host are not available inside a nested graph";
    } else if (!t.supports || t.supports(n, &why)) {
      chosen = &t;
      continue;
    }
    if (reasons) *reasons += (reasons->empty() ? "" : "; ") + t.name + ": " + why;
  }
  return chosen;
}

}  // namespace

bool Subgraph::supported(const ir::Graph& g, const std::string& what, std::string* why) {
  for (const auto& n : g.nodes) {
    std::string reasons;
    if (!pickTactic(*n, &reasons)) {
      if (why)
        *why = nodeLabel(what, *n) + ": no GPU kernel supports it" + (reasons.empty() ? std::string() : " (" + reasons + ")");
      return false;
    }
  }
  return true;
}

Subgraph::Subgraph(std::shared_ptr<const ir::Graph> graph, std::string what) : graph_(std::move(graph)), what_(std::move(what)) {
  if (!graph_) throw Error(ErrorCode::kINVALID_ARGUMENT, what_ + ": the graph is missing");
  const ir::Graph& g = *graph_;
  g.verify();  // nodes in topological order, producers consistent
  for (const auto& n : g.nodes) {
    std::string reasons;
    const Tactic* t = pickTactic(*n, &reasons);
    if (!t)
      throw Error(ErrorCode::kUNSUPPORTED_NODE, nodeLabel(what_, *n) + ": no GPU kernel supports it" +
                                                    (reasons.empty() ? std::string() : " (" + reasons + ")"));
    try {
      kernels_.push_back(t->create(*n));
    } catch (const Error& e) {
      throw e.withContext(nodeLabel(what_, *n));
    }
    if (dynamic_cast<const backend::HostInputKernel*>(kernels_.back().get()))
      throw Error(ErrorCode::kUNSUPPORTED_NODE, nodeLabel(what_, *n) + ": its GPU kernel reads inputs on the host");
  }
  // constants: one device block, 256-byte aligned each (as the engine places its own)
  constAddr_.assign(g.values.size(), nullptr);
  std::vector<std::size_t> offset(g.values.size(), 0);
  std::size_t total = 0;
  for (const auto& v : g.values)
    if (v->isConstant()) {
      offset[static_cast<size_t>(v->id)] = total;
      total += align256(v->constant->byteSize());
    }
  if (total) {
    std::vector<uint8_t> staging(total, 0);
    for (const auto& v : g.values)
      if (v->isConstant() && v->constant->byteSize())
        std::memcpy(staging.data() + offset[static_cast<size_t>(v->id)], v->constant->raw(), v->constant->byteSize());
    constants_ = gpu::deviceBlock(total);
    gpu::copy(constants_.get(), staging.data(), total);
    for (const auto& v : g.values)
      if (v->isConstant()) constAddr_[static_cast<size_t>(v->id)] = static_cast<const uint8_t*>(constants_.get()) + offset[static_cast<size_t>(v->id)];
  }
  owned_.assign(g.outputs.size(), false);
  for (size_t o = 0; o < g.outputs.size(); ++o) {
    const ir::Value* v = g.outputs[o];
    bool first = true;
    for (size_t q = 0; q < o; ++q) first = first && g.outputs[q] != v;
    owned_[o] = first && v->producer && !v->isConstant();
  }
}

std::shared_ptr<const Subgraph::Plan> Subgraph::plan(std::span<const DataType> types, std::span<const ir::Shape> shapes) const {
  const ir::Graph& g = *graph_;
  if (types.size() != g.inputs.size() || shapes.size() != g.inputs.size())
    throw Error(ErrorCode::kINVALID_ARGUMENT, what_ + ": " + std::to_string(types.size()) + " inputs given, the graph has " +
                                                  std::to_string(g.inputs.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Cached& c : cache_)
      if (std::equal(c.types.begin(), c.types.end(), types.begin(), types.end()) &&
          std::equal(c.shapes.begin(), c.shapes.end(), shapes.begin(), shapes.end()))
        return c.plan;
  }
  // the kernels were created for the graph's stored types
  for (size_t i = 0; i < g.inputs.size(); ++i)
    if (types[i] != g.inputs[i]->dtype)
      throw Error(ErrorCode::kUNSUPPORTED_STATE, what_ + ": input '" + g.inputs[i]->name + "' is " + dataTypeName(types[i]) +
                                                     ", the nested graph was built for " + dataTypeName(g.inputs[i]->dtype));
  auto p = std::make_shared<Plan>();
  p->infos.assign(g.values.size(), {});
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    ir::ValueInfo& vi = p->infos[static_cast<size_t>(g.inputs[i]->id)];
    vi.dtype = types[i];
    vi.shape = shapes[i];
  }
  try {
    ir::inferGraph(ir::defaultOpRegistry(), g, p->infos, &cpu::referenceEvaluator());
  } catch (const Error& e) {
    throw Error(e.code(), what_ + ": " + e.message());
  }
  for (auto& vi : p->infos) vi.data.reset();  // contents are computed on the device
  const size_t nNodes = g.nodes.size();
  std::vector<int32_t> last(g.values.size(), -1);
  for (size_t s = 0; s < nNodes; ++s)
    for (const ir::Value* v : g.nodes[s]->inputs)
      if (v) last[static_cast<size_t>(v->id)] = static_cast<int32_t>(s);
  std::vector<bool> isOutput(g.values.size(), false);
  for (const ir::Value* v : g.outputs) isOutput[static_cast<size_t>(v->id)] = true;
  std::vector<MemoryBlock> blocks;
  std::vector<int32_t> blockValue;
  for (size_t s = 0; s < nNodes; ++s)
    for (const ir::Value* v : g.nodes[s]->outputs) {
      if (!v) continue;
      const ir::ValueInfo& vi = p->infos[static_cast<size_t>(v->id)];
      const int64_t ne = ir::numElements(vi.shape);
      if (ne < 0)
        throw Error(ErrorCode::kUNSUPPORTED_STATE, what_ + ": the shape " + ir::shapeToString(vi.shape) + " of '" + v->name +
                                                       "' depends on values computed on the GPU (not supported in nested graphs)");
      if (vi.dtype != v->dtype)
        throw Error(ErrorCode::kUNSUPPORTED_STATE, what_ + ": '" + v->name + "' is computed as " + dataTypeName(vi.dtype) +
                                                       ", its kernel was built for " + dataTypeName(v->dtype));
      if (isOutput[static_cast<size_t>(v->id)]) continue;  // written to the caller's address
      const int32_t first = static_cast<int32_t>(s);
      blocks.push_back({static_cast<std::size_t>(ne) * dataTypeSize(vi.dtype), first, std::max(first, last[static_cast<size_t>(v->id)])});
      blockValue.push_back(v->id);
    }
  MemoryPlan mp = planMemory(blocks, 256);
  p->offset.assign(g.values.size(), SIZE_MAX);
  for (size_t i = 0; i < blocks.size(); ++i) p->offset[static_cast<size_t>(blockValue[i])] = mp.offsets[i];
  p->childOffset = align256(mp.totalBytes);
  p->in.resize(nNodes);
  p->out.resize(nNodes);
  auto view = [&](const ir::Value* v) {
    TensorView t;
    if (!v) return t;
    const ir::ValueInfo& vi = p->infos[static_cast<size_t>(v->id)];
    t.dtype = vi.dtype;
    t.shape = vi.shape;
    t.numel = ir::numElements(vi.shape);
    t.present = true;
    return t;
  };
  for (size_t s = 0; s < nNodes; ++s) {
    for (const ir::Value* v : g.nodes[s]->inputs) p->in[s].push_back(view(v));
    for (const ir::Value* v : g.nodes[s]->outputs) p->out[s].push_back(view(v));
    p->childBytes = std::max(p->childBytes, kernels_[s]->workspaceSize(p->in[s], p->out[s]));
  }
  p->bytes = p->childOffset + align256(p->childBytes);
  for (const ir::Value* v : g.outputs) p->outputIds.push_back(v->id);
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxCachedPlans) cache_.erase(cache_.begin());
  cache_.push_back({std::vector<DataType>(types.begin(), types.end()), std::vector<ir::Shape>(shapes.begin(), shapes.end()), p});
  return p;
}

void Subgraph::run(const Plan& p, std::span<void* const> in, std::span<void* const> out, void* ws, cudaStream_t stream,
                   std::vector<const void*>& sources) const {
  const ir::Graph& g = *graph_;
  std::vector<void*> ptr(g.values.size(), nullptr);
  auto* base = static_cast<uint8_t*>(ws);
  for (const auto& v : g.values) {
    const size_t id = static_cast<size_t>(v->id);
    if (v->isConstant()) ptr[id] = const_cast<void*>(constAddr_[id]);
    else if (p.offset[id] != SIZE_MAX) ptr[id] = base + p.offset[id];
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) ptr[static_cast<size_t>(g.inputs[i]->id)] = in[i];
  for (size_t o = 0; o < g.outputs.size(); ++o)
    if (owned_[o]) ptr[static_cast<size_t>(g.outputs[o]->id)] = out[o];
  KernelContext kc;
  kc.workspace = base + p.childOffset;
  kc.workspaceBytes = p.childBytes;
  kc.stream = stream;
  std::vector<TensorView> ins, outs;
  for (size_t s = 0; s < g.nodes.size(); ++s) {
    const ir::Node& n = *g.nodes[s];
    ins = p.in[s];
    outs = p.out[s];
    for (size_t k = 0; k < ins.size(); ++k)
      if (n.inputs[k]) ins[k].data = ptr[static_cast<size_t>(n.inputs[k]->id)];
    for (size_t k = 0; k < outs.size(); ++k)
      if (n.outputs[k]) outs[k].data = ptr[static_cast<size_t>(n.outputs[k]->id)];
    kc.inputs = ins;
    kc.outputs = outs;
    try {
      kernels_[s]->run(kc);
    } catch (const Error& e) {
      throw e.withContext(nodeLabel(what_, n));
    }
  }
  sources.resize(g.outputs.size());
  for (size_t o = 0; o < g.outputs.size(); ++o) sources[o] = ptr[static_cast<size_t>(g.outputs[o]->id)];
}

bool conditionIsTrue(const void* p, DataType t) {
  const std::size_t n = dataTypeSize(t);
  switch (t) {
    case DataType::kFLOAT: {
      float f;
      std::memcpy(&f, p, 4);
      return f != 0.f;
    }
    case DataType::kDOUBLE: {
      double d;
      std::memcpy(&d, p, 8);
      return d != 0.0;
    }
    case DataType::kHALF:
    case DataType::kBF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return (h & 0x7FFFu) != 0;  // +-0 are false, NaN true (as float(NaN) != 0)
    }
    default:
      break;
  }
  const auto* b = static_cast<const uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i]) return true;
  return false;
}

}  // namespace kiln::gpu
