#include "runtime/engine_impl.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>

#include "backends/cpu/kernel.h"
#include "backends/gpu.h"
#include "core/cpu_features.h"
#include "core/logging.h"
#include "core/thread_pool.h"

namespace kiln::detail {

int EngineImpl::findIO(const char* name) const noexcept {
  if (!name) return -1;
  for (size_t i = 0; i < io.size(); ++i)
    if (io[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace {
//! Constants stay in the plan's bytes on the CPU; on the GPU they are copied into one device block
//! (256-byte aligned each) once per engine.
void placeConstants(EngineImpl& e) {
  const ir::Graph& g = *e.plan.graph;
  e.constantAddress.assign(g.values.size(), nullptr);
  if (e.device != DeviceType::kGPU) {
    for (const auto& v : g.values)
      if (v->isConstant()) e.constantAddress[static_cast<size_t>(v->id)] = v->constant->raw();
    return;
  }
  std::size_t total = 0;
  std::vector<std::size_t> offset(g.values.size(), 0);
  for (const auto& v : g.values) {
    if (!v->isConstant()) continue;
    offset[static_cast<size_t>(v->id)] = total;
    total += (v->constant->byteSize() + 255) / 256 * 256;
  }
  if (total == 0) return;
  std::vector<uint8_t> staging(total, 0);
  for (const auto& v : g.values)
    if (v->isConstant() && v->constant->byteSize())
      std::memcpy(staging.data() + offset[static_cast<size_t>(v->id)], v->constant->raw(), v->constant->byteSize());
  e.deviceConstants = gpu::deviceBlock(total);
  gpu::copy(e.deviceConstants.get(), staging.data(), total);
  auto* base = static_cast<const uint8_t*>(e.deviceConstants.get());
  for (const auto& v : g.values)
    if (v->isConstant()) e.constantAddress[static_cast<size_t>(v->id)] = base + offset[static_cast<size_t>(v->id)];
}
}  // namespace

namespace {
//! Plans with at least this many bytes of constants create their kernels on several threads.
constexpr std::size_t kParallelLoadBytes = std::size_t{4} << 20;
//! At most this many (packing weights is bound by memory bandwidth more than by cores).
constexpr int kMaxLoadThreads = 8;

void findAliases(EngineImpl& e) {
  const ir::Graph& g = *e.plan.graph;
  e.aliasOf.assign(g.values.size(), -1);
  e.skipNode.assign(g.nodes.size(), false);
  std::vector<bool> isOutput(g.values.size(), false);
  for (const ir::Value* v : g.outputs) isOutput[static_cast<size_t>(v->id)] = true;
  for (const auto& n : g.nodes) {
    if (n->op != "Identity" && n->op != "Reshape" && n->op != "Flatten" && n->op != "Squeeze" && n->op != "Unsqueeze")
      continue;
    const ir::Value* in = n->inputs.empty() ? nullptr : n->inputs[0];
    const ir::Value* out = n->outputs.empty() ? nullptr : n->outputs[0];
    if (!in || !out || in->isConstant() || isOutput[static_cast<size_t>(out->id)] || in->dtype != out->dtype) continue;
    int32_t root = in->id;
    while (e.aliasOf[static_cast<size_t>(root)] >= 0) root = e.aliasOf[static_cast<size_t>(root)];
    e.aliasOf[static_cast<size_t>(out->id)] = root;
    e.skipNode[static_cast<size_t>(n->id)] = true;
    // the shared memory lives until the alias's last reader
    e.lastUse[static_cast<size_t>(root)] = std::max(e.lastUse[static_cast<size_t>(root)], e.lastUse[static_cast<size_t>(out->id)]);
  }
  // aliases read later than their root's recorded last use (chains): fold once more in node order
  for (size_t v = 0; v < e.aliasOf.size(); ++v)
    if (e.aliasOf[v] >= 0)
      e.lastUse[static_cast<size_t>(e.aliasOf[v])] = std::max(e.lastUse[static_cast<size_t>(e.aliasOf[v])], e.lastUse[v]);
}
}  // namespace

std::shared_ptr<EngineImpl> makeEngine(plan::PlanContents&& contents, Logger& logger) {
  auto e = std::make_shared<EngineImpl>();
  e->logger = &logger;
  e->plan = std::move(contents);
  const ir::Graph& g = *e->plan.graph;
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  e->device = e->plan.backend;
  const bool onGpu = e->device == DeviceType::kGPU;
  const backend::KernelRegistry& kernels = onGpu ? gpu::kernelRegistry() : cpu::defaultKernelRegistry();
  auto addIO = [&](const ir::Value* v, TensorIOMode mode) {
    for (const IOTensor& t : e->io)
      if (t.name == v->name)
        throw Error(ErrorCode::kINVALID_PLAN, "two I/O tensors are named '" + v->name + "'");
    if (v->shape.size() > static_cast<size_t>(Dims::MAX_DIMS))
      throw Error(ErrorCode::kINVALID_PLAN, "I/O tensor '" + v->name + "' has rank " + std::to_string(v->shape.size()));
    e->io.push_back({v->name, mode, v->dtype, v->shape, v->id});
  };
  for (const ir::Value* v : g.inputs) addIO(v, TensorIOMode::kINPUT);
  for (const ir::Value* v : g.outputs) {
    if (!v->producer) throw Error(ErrorCode::kINVALID_PLAN, "output '" + v->name + "' is not computed by a layer");
    addIO(v, TensorIOMode::kOUTPUT);
  }
  e->lastUse.assign(g.values.size(), -1);
  placeConstants(*e);
  // Each layer is checked and its kernel created independently (creation pre-packs weights: most of a
  // large CPU plan's load time), on the plan's worker threads where the weights make it pay; the first
  // failing layer in node order is reported.
  const std::size_t nNodes = g.nodes.size();
  std::vector<std::unique_ptr<backend::Kernel>> made(nNodes);
  std::vector<std::exception_ptr> failed(nNodes);
  auto createOne = [&](std::size_t i) {
    const ir::Node* n = g.nodes[i].get();
    std::string layer = "layer '" + n->name + "' (" + n->op + ")";
    const ir::OpSchema* schema = ops.find(n->op);
    if (!schema) throw Error(ErrorCode::kINVALID_PLAN, layer + ": unknown operation");
    // Kernel constructors may rely on the op's arity and required inputs (inference checks them too, but
    // kernels are created first): a plan from disk is untrusted, so check them here.
    const int nin = static_cast<int>(n->inputs.size()), nout = static_cast<int>(n->outputs.size());
    if (nin < schema->minInputs || (schema->maxInputs >= 0 && nin > schema->maxInputs) ||
        nout < schema->minOutputs || nout > schema->maxOutputs)
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": wrong number of inputs or outputs");
    for (int k = 0; k < schema->minInputs; ++k)
      if (!n->inputs[static_cast<size_t>(k)])
        throw Error(ErrorCode::kINVALID_PLAN, layer + ": required input " + std::to_string(k) + " is missing");
    const std::string& tacticName = e->plan.tactics.at(static_cast<size_t>(n->id));
    const backend::Tactic* t = kernels.find(n->op, tacticName);
    if (!t) throw Error(ErrorCode::kINVALID_PLAN, layer + ": unknown tactic '" + tacticName + "'");
    if (!onGpu && (t->requiredCpuFeatures & ~cpuFeatures()))
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": tactic '" + tacticName + "' needs CPU features [" +
                                                cpuFeatureNames(t->requiredCpuFeatures & ~cpuFeatures()) + "]");
    std::string why;
    if (t->supports && !t->supports(*n, &why))
      throw Error(ErrorCode::kINVALID_PLAN, layer + ": tactic '" + tacticName + "' does not apply (" + why + ")");
    try {
      made[i] = t->create(*n);
    } catch (const Error& err) {
      throw Error(ErrorCode::kINVALID_PLAN, err.message()).withContext(layer);
    }
  };
  // Layers with the most constant bytes first (their kernels pack the most), so that the threads finish
  // together; each thread claims the next layer of that order when it is done with one.
  std::vector<std::size_t> order(nNodes), weight(nNodes, 0);
  std::size_t constantBytes = 0;
  for (std::size_t i = 0; i < nNodes; ++i) {
    order[i] = i;
    for (const ir::Value* in : g.nodes[i]->inputs)
      if (in && in->isConstant()) weight[i] += in->constant->byteSize();
    constantBytes += weight[i];
  }
  const int threads = onGpu || nNodes < 2 || constantBytes < kParallelLoadBytes
                          ? 1
                          : std::min(resolveThreadCount(e->plan.nbThreads), kMaxLoadThreads);
  if (threads > 1)
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  std::atomic<std::size_t> next{0};
  auto createSome = [&](int64_t, int64_t) {
    for (std::size_t k; (k = next.fetch_add(1)) < nNodes;) {
      const std::size_t i = order[k];
      try {
        createOne(i);
      } catch (...) {
        failed[i] = std::current_exception();
      }
    }
  };
  if (threads > 1) {
    ThreadPool pool(threads);
    pool.parallelFor(threads, createSome);
  } else {
    createSome(0, 1);
  }
  for (std::size_t i = 0; i < nNodes; ++i)
    if (failed[i]) std::rethrow_exception(failed[i]);
  for (std::size_t i = 0; i < nNodes; ++i) {
    const ir::Node* n = g.nodes[i].get();
    e->kernels.push_back(std::move(made[i]));
    e->layerNames.push_back(n->name);
    for (const ir::Value* in : n->inputs)
      if (in) e->lastUse[static_cast<size_t>(in->id)] = n->id;
  }
  findAliases(*e);
  return e;
}

void measureMemory(const std::shared_ptr<EngineImpl>& e) {
  const ir::Graph& g = *e->plan.graph;
  e->constantBytes = 0;
  for (const auto& v : g.values)
    if (v->isConstant()) e->constantBytes += v->constant->byteSize();
  const auto& profiles = e->plan.profiles;
  static const char* selName[] = {"min", "opt", "max"};
  std::size_t most = 0, optArena = 0;
  for (size_t p = 0; p < std::max<size_t>(1, profiles.size()); ++p)
    for (int sel : {0, 1, 2}) {
      ContextState state(e);
      state.planOnly = true;
      for (size_t i = 0; i < e->io.size(); ++i) {
        const IOTensor& t = e->io[i];
        if (t.mode != TensorIOMode::kINPUT) continue;
        const ir::Shape* given = &t.shape;
        if (!profiles.empty()) {
          auto it = profiles[p].dims.find(t.name);
          if (it != profiles[p].dims.end()) given = &it->second[static_cast<size_t>(sel)];
        }
        const ir::Shape& shape = *given;
        if (shape.size() != t.shape.size())
          throw Error(ErrorCode::kINVALID_PLAN, "optimization profile " + std::to_string(p) + " gives input '" + t.name +
                                                    "' rank " + std::to_string(shape.size()) + ", the input has rank " +
                                                    std::to_string(t.shape.size()));
        for (size_t k = 0; k < shape.size(); ++k)
          if (t.shape[k] >= 0 && shape[k] != t.shape[k])
            throw Error(ErrorCode::kINVALID_PLAN, "optimization profile " + std::to_string(p) + " disagrees with the fixed shape " +
                                                      ir::shapeToString(t.shape) + " of input '" + t.name + "'");
        state.ioShapes[i] = shape;
        state.inputShapeSet[i] = true;
      }
      try {
        state.prepare(/*allowUnknown=*/true);  // shapes that need input values are known at run time only
      } catch (const Error& err) {
        throw err.withContext(profiles.empty() ? std::string("at the plan's shapes")
                                               : "at the " + std::string(selName[sel]) + " shapes of optimization profile " +
                                                     std::to_string(p));
      }
      std::size_t bytes = state.arenaBytes + state.workspaceBytes;
      if (bytes < state.arenaBytes) throw Error(ErrorCode::kINVALID_PLAN, "activation and scratch memory overflow");
      most = std::max(most, bytes);
      if (p == 0 && sel == 1) optArena = state.arenaBytes;
    }
  if (e->plan.arenaBytes != optArena) {
    report(*e->logger, Severity::kWARNING,
           "plan says its activation arena is " + std::to_string(e->plan.arenaBytes) + " bytes at the opt shapes, " +
               "recomputed " + std::to_string(optArena) + " (using the recomputed size)");
    e->plan.arenaBytes = optArena;
  }
  e->contextBytes = most;
}

}  // namespace kiln::detail
