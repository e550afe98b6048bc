#include <chrono>
#include <cstring>

#include "backends/cpu/evaluate.h"
#include "backends/gpu.h"
#include "backends/host_inputs.h"
#include "builder/memory_planner.h"
#include "core/logging.h"
#include "runtime/engine_impl.h"

namespace kiln {

namespace detail {

ContextState::~ContextState() {
  if (reserved) engine->reservedBytes.fetch_sub(reserved);
  gpu::destroyGraph(graphExec);
  if (ownStream) {
    try {
      gpu::synchronizeStream(ownStream);
    } catch (...) {
    }
    gpu::destroyStream(ownStream);
  }
}

namespace {
//! Activation or scratch memory of a context: host memory on the CPU, device memory on the GPU.
std::shared_ptr<void> allocateFor(DeviceType device, std::size_t bytes) {
  if (device == DeviceType::kGPU) return gpu::deviceBlock(bytes);
  std::shared_ptr<ir::Blob> blob = ir::Blob::allocate(bytes);
  void* p = blob->mutableData();
  return std::shared_ptr<void>(blob, p);
}
}  // namespace

ContextState::ContextState(std::shared_ptr<const EngineImpl> e) : engine(std::move(e)) {
  size_t n = engine->io.size();
  ioShapes.resize(n);
  inputShapeSet.assign(n, false);
  ioAddress.assign(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const IOTensor& t = engine->io[i];
    if (t.mode == TensorIOMode::kINPUT && ir::numElements(t.shape) >= 0) {
      ioShapes[i] = t.shape;
      inputShapeSet[i] = true;
    }
  }
}

namespace {
//! A non-integer input whose values set shapes: it feeds Resize's roi/scales, OneHot's depth, Range, or an
//! op whose output extents depend on its input values (NonZero, Compress, Unique, NonMaxSuppression,
//! MelWeightMatrix).
bool floatShapeInput(const ir::Graph& g, int32_t valueId) {
  for (const auto& n : g.nodes)
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      if (!n->inputs[i] || n->inputs[i]->id != valueId) continue;
      if ((n->op == "Resize" && (i == 1 || i == 2)) || (n->op == "OneHot" && i == 1) || n->op == "Range") return true;
      if (n->op == "NonZero" || n->op == "Compress" || n->op == "Unique" || n->op == "NonMaxSuppression" ||
          n->op == "MelWeightMatrix")
        return true;
    }
  return false;
}

//! Small integer inputs (TensorRT's shape tensors), and small float inputs that set shapes.
bool isValueInput(const ir::Graph& g, const IOTensor& t, const ir::Shape& shape) {
  if (t.mode != TensorIOMode::kINPUT) return false;
  bool isInt = t.dtype == DataType::kINT32 || t.dtype == DataType::kINT64;
  if (!isInt && !floatShapeInput(g, t.valueId)) return false;
  int64_t n = ir::numElements(shape);
  return n >= 0 && n <= ir::kMaxInferredElements;
}

//! An input whose values are read on the host (shape inputs, GPU layers' host-read parameters) needs a bound
//! address; on the GPU, host memory (page-locked), not device memory. `what` says who reads it.
void requireHostValues(const std::string& what, const void* address, bool gpu) {
  if (!address)
    throw Error(ErrorCode::kINVALID_STATE,
                what + ": set its address (setTensorAddress) before asking for output shapes or running");
  if (gpu && gpu::isDevicePointer(address))
    throw Error(ErrorCode::kINVALID_STATE, what + ": on the GPU bind it to page-locked host memory (kiln::Buffer "
                                                  "with MemoryKind::kPAGELOCKED), not device memory");
}

bool anyUnknown(const std::vector<ir::ValueInfo>& infos) {
  for (const auto& i : infos)
    if (ir::numElements(i.shape) < 0) return true;
  return false;
}
}  // namespace

bool ContextState::valuesChanged(const std::vector<void*>& addresses) const {
  for (size_t i = 0; i < valueSnapshot.size(); ++i) {
    const auto& snap = valueSnapshot[i];
    if (snap.empty()) continue;
    if (!addresses[i] || std::memcmp(addresses[i], snap.data(), snap.size()) != 0) return true;
  }
  return false;
}

namespace {
//! Part of prepare(): every layer input/output view fits in the memory behind it (arena block, constant,
//! the caller's I/O buffer, an alias's root); throws kINVALID_PLAN naming the layer otherwise.
void checkStepMemory(const ContextState& cs, const std::vector<MemoryBlock>& blocks, const std::vector<int32_t>& blockValue) {
  const auto& engine = cs.engine;
  const auto& infos = cs.infos;
  const auto& ioShapes = cs.ioShapes;
  const auto& stepIn = cs.stepIn;
  const auto& stepOut = cs.stepOut;
  const auto& stepInIds = cs.stepInIds;
  const auto& stepOutIds = cs.stepOutIds;
  // Kernels trust that the memory behind each view holds its inferred shape and type. A plan is untrusted
  // (its stored shapes, types and constants may disagree with what inference computes), so check every
  // input and output of every layer against the bytes behind it before anything runs.
  const ir::Graph& g = *engine->plan.graph;
  std::vector<std::size_t> capacity(g.values.size(), 0);
  for (size_t i = 0; i < blocks.size(); ++i) capacity[static_cast<size_t>(blockValue[i])] = blocks[i].bytes;
  for (const auto& v : g.values)
    if (v->isConstant()) capacity[static_cast<size_t>(v->id)] = v->constant->byteSize();
  for (size_t i = 0; i < engine->io.size(); ++i) {
    const IOTensor& t = engine->io[i];
    const ir::ValueInfo& info = infos[static_cast<size_t>(t.valueId)];
    const bool input = t.mode == TensorIOMode::kINPUT;
    int64_t ne = ir::numElements(input ? ioShapes[i] : info.shape);
    if (!input && ne >= 0 && info.dtype != t.dtype)
      throw Error(ErrorCode::kINVALID_PLAN, std::string("output '") + t.name + "' is declared " + dataTypeName(t.dtype) +
                                                " but its layer computes " + dataTypeName(info.dtype));
    std::size_t bytes = 0;
    if (ne > 0 && __builtin_mul_overflow(static_cast<std::size_t>(ne), dataTypeSize(t.dtype), &bytes)) bytes = SIZE_MAX;
    capacity[static_cast<size_t>(t.valueId)] = bytes;  // the caller's buffer holds the I/O shape
  }
  for (size_t id = 0; id < capacity.size(); ++id)
    if (engine->aliasOf[id] >= 0) capacity[id] = capacity[static_cast<size_t>(engine->aliasOf[id])];
  // kernels are created from the stored value types (they pick their element type then): those must be
  // what inference computes
  for (const auto& v : g.values) {
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    if (v->producer && ir::numElements(info.shape) >= 0 && info.dtype != v->dtype)
      throw Error(ErrorCode::kINVALID_PLAN, "tensor '" + v->name + "' is stored as " + dataTypeName(v->dtype) +
                                                " but computed as " + dataTypeName(info.dtype));
  }
  auto check = [&](size_t s, const backend::TensorView& tv, int32_t id, const char* role) {
    if (id < 0 || !tv.present || tv.numel < 0) return;
    std::size_t need = 0;
    if (__builtin_mul_overflow(static_cast<std::size_t>(tv.numel), dataTypeSize(tv.dtype), &need)) need = SIZE_MAX;
    if (need <= capacity[static_cast<size_t>(id)]) return;
    const ir::Value& v = *g.values[static_cast<size_t>(id)];
    throw Error(ErrorCode::kINVALID_PLAN, std::string(role) + " '" + v.name + "' " + dataTypeName(tv.dtype) +
                                              ir::shapeToString(tv.shapeVec()) + " needs " + std::to_string(need) +
                                              " bytes but the memory behind it holds " +
                                              std::to_string(capacity[static_cast<size_t>(id)]) +
                                              " (the plan's shapes or types are inconsistent)")
        .withContext("layer '" + engine->layerNames[s] + "' (" + g.nodes[s]->op + ")");
  };
  for (size_t s = 0; s < stepIn.size(); ++s) {
    for (size_t k = 0; k < stepIn[s].size(); ++k) check(s, stepIn[s][k], stepInIds[s][k], "input");
    for (size_t k = 0; k < stepOut[s].size(); ++k) check(s, stepOut[s][k], stepOutIds[s][k], "output");
  }
}
}  // namespace

void ContextState::reserve(std::size_t bytes) {
  if (bytes <= reserved) return;
  const std::size_t extra = bytes - reserved;
  const std::size_t budget = engine->memoryBudget;
  std::size_t held = engine->reservedBytes.load();
  for (;;) {
    if (budget && (engine->constantBytes > budget || held > budget - engine->constantBytes ||
                   extra > budget - engine->constantBytes - held))
      throw Error(ErrorCode::kFAILED_ALLOCATION,
                  "execution context '" + name + "' needs " + std::to_string(bytes) +
                      " bytes of activation and scratch memory; with the engine's constants (" +
                      std::to_string(engine->constantBytes) + " bytes) and the memory of its other contexts (" +
                      std::to_string(held - std::min(held, reserved)) + " bytes) that exceeds the runtime's memory budget of " +
                      std::to_string(budget) + " bytes (Runtime::setMemoryBudget)");
    if (engine->reservedBytes.compare_exchange_weak(held, held + extra)) break;
  }
  reserved = bytes;
}

void ContextState::prepare(bool allowUnknown) {
  if (prepared) return;
  if (graphExec) {  // shapes change: the captured graph is stale
    gpu::destroyGraph(graphExec);
    graphExec = nullptr;
  }
  const ir::Graph& g = *engine->plan.graph;
  auto infer = [&](bool withValues) {
    infos.assign(g.values.size(), {});
    valueSnapshot.assign(engine->io.size(), {});
    for (size_t i = 0; i < engine->io.size(); ++i) {
      const IOTensor& t = engine->io[i];
      if (t.mode != TensorIOMode::kINPUT) continue;
      if (!inputShapeSet[i])
        throw Error(ErrorCode::kINVALID_STATE, "the shape of input '" + t.name + "' " + ir::shapeToString(t.shape) +
                                                   " is dynamic and was not set (call setInputShape)");
      auto& info = infos[static_cast<size_t>(t.valueId)];
      info.dtype = t.dtype;
      info.shape = ioShapes[i];
      if (!withValues || !isValueInput(g, t, ioShapes[i])) continue;
      requireHostValues("shapes in this engine depend on the values of input '" + t.name + "'", ioAddress[i],
                        engine->device == DeviceType::kGPU);
      std::size_t bytes = static_cast<std::size_t>(ir::numElements(ioShapes[i])) * dataTypeSize(t.dtype);
      info.data = ir::makeTensor(t.dtype, ioShapes[i], ioAddress[i], bytes);
      valueSnapshot[i].assign(static_cast<const uint8_t*>(ioAddress[i]), static_cast<const uint8_t*>(ioAddress[i]) + bytes);
    }
    ir::inferGraph(ir::defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());
  };
  infer(false);
  dataDependent = false;
  if (anyUnknown(infos) && !allowUnknown) {
    bool haveValueInputs = false;
    for (size_t i = 0; i < engine->io.size(); ++i) haveValueInputs |= isValueInput(g, engine->io[i], ioShapes[i]);
    if (haveValueInputs) {
      infer(true);
      dataDependent = true;
    }
  }
  // GPU layers that read parameter inputs on the host (backends/host_inputs.h): those inputs must be graph
  // inputs in page-locked memory; their values are snapshot so that a change prepares again
  std::vector<void*> hostAddress(g.values.size(), nullptr);
  if (engine->device == DeviceType::kGPU && !allowUnknown) {
    for (size_t s = 0; s < g.nodes.size() && s < engine->kernels.size(); ++s) {
      const auto* hk = dynamic_cast<const backend::HostInputKernel*>(engine->kernels[s].get());
      if (!hk) continue;
      const ir::Node& n = *g.nodes[s];
      for (size_t k = 0; k < n.inputs.size() && k < 32; ++k) {
        if (!(hk->hostInputMask() >> k & 1u) || !n.inputs[k] || n.inputs[k]->isConstant()) continue;
        for (size_t i = 0; i < engine->io.size(); ++i) {
          const IOTensor& t = engine->io[i];
          if (t.mode != TensorIOMode::kINPUT || t.valueId != n.inputs[k]->id) continue;
          requireHostValues("layer '" + engine->layerNames[s] + "' (" + n.op + ") reads the values of input '" +
                                t.name + "' on the host",
                            ioAddress[i], true);
          std::size_t bytes = static_cast<std::size_t>(std::max<int64_t>(ir::numElements(ioShapes[i]), 0)) * dataTypeSize(t.dtype);
          if (valueSnapshot[i].empty())
            valueSnapshot[i].assign(static_cast<const uint8_t*>(ioAddress[i]), static_cast<const uint8_t*>(ioAddress[i]) + bytes);
          hostAddress[static_cast<size_t>(t.valueId)] = ioAddress[i];
          dataDependent = true;
        }
      }
    }
  }

  std::vector<MemoryBlock> blocks;
  std::vector<int32_t> blockValue;
  arenaOffset.assign(g.values.size(), SIZE_MAX);
  std::vector<bool> isIO(g.values.size(), false);
  for (const IOTensor& t : engine->io) isIO[static_cast<size_t>(t.valueId)] = true;
  for (const auto& v : g.values) {
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    int64_t ne = ir::numElements(info.shape);
    if (ne < 0 && allowUnknown) continue;
    if (ne < 0)
      throw Error(ErrorCode::kUNSUPPORTED_STATE, "the shape of '" + v->name + "' " + ir::shapeToString(info.shape) +
                                                     " depends on the data of a computed tensor (not supported yet)");
    if (isIO[static_cast<size_t>(v->id)] || v->isConstant() || !v->producer) continue;
    if (engine->aliasOf[static_cast<size_t>(v->id)] >= 0) continue;  // shares its root's memory
    std::size_t esz = dataTypeSize(info.dtype);
    if (static_cast<uint64_t>(ne) > SIZE_MAX / 2 / esz)
      throw Error(ErrorCode::kFAILED_ALLOCATION, "tensor '" + v->name + "' is too large");
    int32_t first = v->producer->id;
    int32_t last = std::max(first, engine->lastUse[static_cast<size_t>(v->id)]);
    blocks.push_back({static_cast<std::size_t>(ne) * esz, first, last});
    blockValue.push_back(v->id);
  }
  MemoryPlan mp = planMemory(blocks);
  for (size_t i = 0; i < blocks.size(); ++i) arenaOffset[static_cast<size_t>(blockValue[i])] = mp.offsets[i];

  // Views per step (data pointers are patched on every run).
  size_t nSteps = g.nodes.size();
  stepIn.assign(nSteps, {});
  stepOut.assign(nSteps, {});
  stepInIds.assign(nSteps, {});
  stepOutIds.assign(nSteps, {});
  std::size_t ws = 0;
  auto view = [&](const ir::Value* v) {
    backend::TensorView t;
    if (!v) return t;
    const ir::ValueInfo& info = infos[static_cast<size_t>(v->id)];
    t.dtype = info.dtype;
    t.shape = info.shape;
    t.numel = ir::numElements(info.shape);
    t.present = true;
    t.data = hostAddress[static_cast<size_t>(v->id)];  // host-read inputs: workspaceSize() may read them
    return t;
  };
  for (size_t s = 0; s < nSteps; ++s) {
    const ir::Node& n = *g.nodes[s];
    for (const ir::Value* v : n.inputs) {
      stepIn[s].push_back(view(v));
      stepInIds[s].push_back(v ? v->id : -1);
    }
    for (const ir::Value* v : n.outputs) {
      stepOut[s].push_back(view(v));
      stepOutIds[s].push_back(v->id);
    }
    bool known = true;
    for (const auto& v : stepIn[s]) known &= !v.present || v.numel >= 0;
    for (const auto& v : stepOut[s]) known &= v.numel >= 0;
    if (known) ws = std::max(ws, engine->kernels[s]->workspaceSize(stepIn[s], stepOut[s]));
  }
  checkStepMemory(*this, blocks, blockValue);
  if (planOnly) {  // load-time and build-time measuring: nothing is allocated
    arenaBytes = mp.totalBytes;
    workspaceBytes = ws;
    return;
  }
  // the memory this context will hold (capacities only grow), within the runtime's budget
  {
    const std::size_t a = std::max(mp.totalBytes, arenaCapacity), w = std::max(ws, workspaceCapacity);
    if (a > SIZE_MAX - w) throw Error(ErrorCode::kFAILED_ALLOCATION, "activation and scratch memory overflow");
    reserve(a + w);
  }
  // Grow only (a GPU allocation may not be freed while work that uses it is queued: cudaFree waits).
  if (mp.totalBytes > arenaCapacity) {
    arena.reset();
    arena = allocateFor(engine->device, mp.totalBytes);
    arenaCapacity = mp.totalBytes;
  }
  arenaBytes = mp.totalBytes;
  if (ws > workspaceCapacity) {
    workspace.reset();
    workspace = allocateFor(engine->device, ws);
    workspaceCapacity = ws;
  }
  workspaceBytes = ws;
  for (size_t i = 0; i < engine->io.size(); ++i)
    if (engine->io[i].mode == TensorIOMode::kOUTPUT)
      ioShapes[i] = infos[static_cast<size_t>(engine->io[i].valueId)].shape;
  prepared = true;
}

void ContextState::run(const std::vector<void*>& addresses, void* stream) {
  const ir::Graph& g = *engine->plan.graph;
  const bool onGpu = engine->device == DeviceType::kGPU;
  std::vector<void*> ptr(g.values.size(), nullptr);
  auto* base = static_cast<std::byte*>(arena.get());
  for (const auto& v : g.values) {
    size_t id = static_cast<size_t>(v->id);
    if (v->isConstant())
      ptr[id] = const_cast<void*>(engine->constantAddress[id]);
    else if (arenaOffset[id] != SIZE_MAX)
      ptr[id] = base + arenaOffset[id];
  }
  for (size_t i = 0; i < engine->io.size(); ++i) ptr[static_cast<size_t>(engine->io[i].valueId)] = addresses[i];
  for (size_t id = 0; id < ptr.size(); ++id)
    if (engine->aliasOf[id] >= 0) ptr[id] = ptr[static_cast<size_t>(engine->aliasOf[id])];
  backend::KernelContext kc;
  kc.workspace = workspace.get();
  kc.workspaceBytes = workspaceBytes;
  kc.stream = stream;
  if (!onGpu) {
    if (!pool) pool = std::make_unique<ThreadPool>(engine->plan.nbThreads);
    if (pool->size() > 1) kc.pool = pool.get();
  }
  // GPU profiling: an event before the first layer and after each layer run, read once at the end.
  struct Marks {
    std::vector<void*> events;
    std::vector<size_t> steps;
    ~Marks() {
      for (void* e : events) gpu::destroyEvent(e);
    }
    void record(void* stream) {
      events.push_back(gpu::createEvent());
      gpu::recordEvent(events.back(), stream);
    }
  } marks;
  const bool gpuProfile = profiler && onGpu;
  if (gpuProfile) marks.record(stream);
  for (size_t s = 0; s < stepIn.size(); ++s) {
    for (size_t k = 0; k < stepIn[s].size(); ++k)
      if (stepInIds[s][k] >= 0) stepIn[s][k].data = ptr[static_cast<size_t>(stepInIds[s][k])];
    for (size_t k = 0; k < stepOut[s].size(); ++k) stepOut[s][k].data = ptr[static_cast<size_t>(stepOutIds[s][k])];
    if (engine->skipNode[s]) continue;  // a zero-copy reshape
    kc.inputs = stepIn[s];
    kc.outputs = stepOut[s];
    auto t0 = profiler ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    try {
      engine->kernels[s]->run(kc);
    } catch (const Error& e) {
      throw e.withContext("layer '" + engine->layerNames[s] + "' (" + g.nodes[s]->op + ")");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kFAILED_EXECUTION, e.what())
          .withContext("layer '" + engine->layerNames[s] + "' (" + g.nodes[s]->op + ")");
    }
    if (gpuProfile) {
      marks.record(stream);
      marks.steps.push_back(s);
    } else if (profiler) {
      float ms = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count();
      profiler->reportLayerTime(engine->layerNames[s].c_str(), ms);
    }
  }
  if (gpuProfile) {
    gpu::synchronizeStream(stream);  // the times are known once the layers ran
    for (size_t i = 0; i < marks.steps.size(); ++i)
      profiler->reportLayerTime(engine->layerNames[marks.steps[i]].c_str(), gpu::elapsedMs(marks.events[i], marks.events[i + 1]));
  }
}

void ContextState::enqueueGpu(const std::vector<void*>& addresses, void* stream) {
  if (!useGraph || profiler) {
    run(addresses, stream);
    return;
  }
  if (!graphExec || graphAddresses != addresses) {
    gpu::destroyGraph(graphExec);
    graphExec = nullptr;
    gpu::prepareThread();
    gpu::beginCapture(stream);
    try {
      run(addresses, stream);
    } catch (...) {
      try {
        gpu::destroyGraph(gpu::endCapture(stream));
      } catch (...) {
      }
      throw;
    }
    graphExec = gpu::endCapture(stream);
    graphAddresses = addresses;
  }
  gpu::launchGraph(graphExec, stream);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------

struct detail::ContextImpl {
  std::shared_ptr<ContextState> state;
};

namespace {

//! Refuses concurrent use of one context from several threads.
class UseGuard {
 public:
  explicit UseGuard(detail::ContextState& s) : s_(s), ok_(s.active.fetch_add(1) == 0) {
    if (!ok_)
      report(s.logger(), Severity::kERROR,
             "ExecutionContext '" + s.name + "' is in use by another thread; one context serves one thread at a time");
  }
  ~UseGuard() { s_.active.fetch_sub(1); }
  bool ok() const { return ok_; }

 private:
  detail::ContextState& s_;
  bool ok_;
};

bool refuseIfPending(detail::ContextState& s, const char* what) {
  if (s.pending.load() == 0) return false;
  report(s.logger(), Severity::kERROR,
         std::string(what) + ": ExecutionContext '" + s.name + "' has work queued on a stream (synchronize it first)");
  return true;
}

template <class F>
bool guarded(detail::ContextState& s, const char* what, F&& f) noexcept {
  try {
    return f();
  } catch (const Error& e) {
    report(s.logger(), Severity::kERROR, std::string(what) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    report(s.logger(), Severity::kERROR, std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    report(s.logger(), Severity::kERROR, std::string(what) + ": " + e.what());
  }
  return false;
}

}  // namespace

ExecutionContext::ExecutionContext(const Engine& engine, std::unique_ptr<detail::ContextImpl> impl)
    : engine_(engine), impl_(std::move(impl)) {}

ExecutionContext::~ExecutionContext() = default;

bool ExecutionContext::setInputShape(const char* name, const Dims& dims) noexcept {
  auto& s = *impl_->state;
  UseGuard g(s);
  if (!g.ok()) return false;
  return guarded(s, "setInputShape", [&] {
    int idx = s.engine->findIO(name);
    if (idx < 0 || s.engine->io[static_cast<size_t>(idx)].mode != TensorIOMode::kINPUT)
      throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("'") + (name ? name : "(null)") + "' is not an input of the engine");
    const detail::IOTensor& t = s.engine->io[static_cast<size_t>(idx)];
    if (dims.nbDims < 0 || static_cast<size_t>(dims.nbDims) != t.shape.size())
      throw Error(ErrorCode::kINVALID_ARGUMENT, "input '" + t.name + "' has rank " + std::to_string(t.shape.size()) +
                                                    ", got " + toString(dims));
    ir::Shape shape(dims.d, dims.d + dims.nbDims);
    const plan::Profile* prof = nullptr;
    if (!s.engine->plan.profiles.empty()) prof = &s.engine->plan.profiles.at(static_cast<size_t>(s.profile));
    for (size_t i = 0; i < shape.size(); ++i) {
      if (t.shape[i] >= 0 && shape[i] != t.shape[i])
        throw Error(ErrorCode::kINVALID_ARGUMENT, "input '" + t.name + "': dimension " + std::to_string(i) + " is fixed at " +
                                                      std::to_string(t.shape[i]) + ", got " + toString(dims));
    }
    if (prof) {
      auto it = prof->dims.find(t.name);
      if (it != prof->dims.end()) {
        const auto& mmo = it->second;
        for (size_t i = 0; i < shape.size(); ++i)
          if (shape[i] < mmo[0][i] || shape[i] > mmo[2][i])
            throw Error(ErrorCode::kINVALID_ARGUMENT, "input '" + t.name + "' shape " + toString(dims) +
                                                          " is outside the optimization profile (min " +
                                                          ir::shapeToString(mmo[0]) + ", max " + ir::shapeToString(mmo[2]) + ")");
      }
    }
    if (s.inputShapeSet[static_cast<size_t>(idx)] && s.ioShapes[static_cast<size_t>(idx)] == shape) return true;
    if (refuseIfPending(s, "setInputShape")) return false;
    s.ioShapes[static_cast<size_t>(idx)] = shape;
    s.inputShapeSet[static_cast<size_t>(idx)] = true;
    s.prepared = false;
    return true;
  });
}

Dims ExecutionContext::getTensorShape(const char* name) const noexcept {
  auto& s = *impl_->state;
  Dims bad{-1, {}};
  int idx = s.engine->findIO(name);
  if (idx < 0) return bad;
  if (s.engine->io[static_cast<size_t>(idx)].mode == TensorIOMode::kINPUT) {
    if (!s.inputShapeSet[static_cast<size_t>(idx)]) return bad;
    return ir::dimsFromShape(s.ioShapes[static_cast<size_t>(idx)]);
  }
  UseGuard g(s);
  if (!g.ok()) return bad;
  bool ok = guarded(s, "getTensorShape", [&] {
    if (s.pending.load() == 0) {
      if (s.dataDependent && s.valuesChanged(s.ioAddress)) s.prepared = false;
      if (!s.prepared) s.prepare();
    }
    return s.prepared;
  });
  if (!ok) return bad;
  return ir::dimsFromShape(s.ioShapes[static_cast<size_t>(idx)]);
}

bool ExecutionContext::allInputDimensionsSpecified() const noexcept {
  auto& s = *impl_->state;
  for (size_t i = 0; i < s.engine->io.size(); ++i)
    if (s.engine->io[i].mode == TensorIOMode::kINPUT && !s.inputShapeSet[i]) return false;
  return true;
}

namespace {
//! Device memory, managed memory or page-locked host memory (all readable by kernels).
bool gpuAccessible(const void* p) { return gpu::isDevicePointer(p) || gpu::isPinnedPointer(p); }
}  // namespace

bool ExecutionContext::setTensorAddress(const char* name, void* data) noexcept {
  auto& s = *impl_->state;
  int idx = s.engine->findIO(name);
  if (idx < 0) {
    report(s.logger(), Severity::kERROR, std::string("setTensorAddress: '") + (name ? name : "(null)") + "' is not an I/O tensor of the engine");
    return false;
  }
  if (!data) {
    report(s.logger(), Severity::kERROR, std::string("setTensorAddress: null address for '") + name + "'");
    return false;
  }
  if (s.engine->device == DeviceType::kGPU && !gpuAccessible(data)) {
    report(s.logger(), Severity::kERROR, std::string("setTensorAddress: the address given for '") + name +
                                             "' is pageable host memory, which the GPU cannot read; use device memory "
                                             "or page-locked memory (kiln::Buffer with MemoryKind::kDEVICE or kPAGELOCKED)");
    return false;
  }
  if (s.engine->device == DeviceType::kCPU && gpu::isDevicePointer(data)) {
    report(s.logger(), Severity::kERROR, std::string("setTensorAddress: the address given for '") + name +
                                             "' is GPU device memory, which the CPU backend cannot read; this engine "
                                             "runs on the CPU: use host memory (or build the plan for the GPU)");
    return false;
  }
  UseGuard g(s);
  if (!g.ok()) return false;
  if (s.dataDependent && !s.valueSnapshot[static_cast<size_t>(idx)].empty() && s.ioAddress[static_cast<size_t>(idx)] != data) {
    if (refuseIfPending(s, "setTensorAddress")) return false;
    s.prepared = false;
  }
  s.ioAddress[static_cast<size_t>(idx)] = data;
  return true;
}

bool ExecutionContext::setInputTensorAddress(const char* name, const void* data) noexcept {
  return setTensorAddress(name, const_cast<void*>(data));
}

void* ExecutionContext::getTensorAddress(const char* name) const noexcept {
  auto& s = *impl_->state;
  int idx = s.engine->findIO(name);
  return idx < 0 ? nullptr : s.ioAddress[static_cast<size_t>(idx)];
}

namespace {
bool checkReady(detail::ContextState& s) {
  for (size_t i = 0; i < s.engine->io.size(); ++i) {
    const detail::IOTensor& t = s.engine->io[i];
    if (!s.ioAddress[i] && ir::numElements(s.ioShapes[i]) != 0)
      throw Error(ErrorCode::kINVALID_STATE, "no address set for " +
                                                 std::string(t.mode == TensorIOMode::kINPUT ? "input" : "output") + " '" +
                                                 t.name + "' (call setTensorAddress)");
  }
  return true;
}
}  // namespace

bool ExecutionContext::execute() noexcept {
  auto& s = *impl_->state;
  UseGuard g(s);
  if (!g.ok()) return false;
  if (refuseIfPending(s, "execute")) return false;
  return guarded(s, "execute", [&] {
    if (s.dataDependent && s.valuesChanged(s.ioAddress)) s.prepared = false;
    s.prepare();
    checkReady(s);
    if (s.engine->device == DeviceType::kGPU) {
      if (!s.ownStream) s.ownStream = gpu::createStream();
      s.enqueueGpu(s.ioAddress, s.ownStream);
      gpu::synchronizeStream(s.ownStream);
      return true;
    }
    s.run(s.ioAddress);
    return true;
  });
}

bool ExecutionContext::enqueue(Stream& stream) noexcept {
  auto& s = *impl_->state;
  UseGuard g(s);
  if (!g.ok()) return false;
  bool ok = guarded(s, "enqueue", [&] {
    // values of shape-determining inputs are read now, at enqueue time (as TensorRT reads shape tensors)
    if (s.dataDependent && s.valuesChanged(s.ioAddress)) {
      if (s.pending.load() != 0) throw Error(ErrorCode::kINVALID_STATE, "shape-determining input values changed while work is queued");
      s.prepared = false;
    }
    if (s.pending.load() == 0) s.prepare();
    if (!s.prepared) throw Error(ErrorCode::kINVALID_STATE, "shapes changed while work is queued");
    checkReady(s);
    const bool gpuEngine = s.engine->device == DeviceType::kGPU;
    if (gpuEngine != (stream.device() == DeviceType::kGPU))
      throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("the engine runs on the ") + (gpuEngine ? "GPU" : "CPU") +
                                                    " but the stream is a " + (gpuEngine ? "CPU" : "GPU") +
                                                    " stream (create it with Stream(DeviceType::k" + (gpuEngine ? "GPU" : "CPU") + "))");
    if (gpuEngine) s.enqueueGpu(s.ioAddress, stream.handle());  // queued on the CUDA stream, no wait
    return true;
  });
  if (!ok) return false;
  if (s.engine->device == DeviceType::kGPU) return true;
  std::shared_ptr<detail::ContextState> state = impl_->state;
  std::vector<void*> addresses = s.ioAddress;
  s.pending.fetch_add(1);
  stream.enqueueHost([state, addresses]() {
    bool ran = guarded(*state, "enqueue (on the stream)", [&] {
      state->run(addresses);
      return true;
    });
    state->pending.fetch_sub(1);
    return ran;
  });
  return true;
}

bool ExecutionContext::executeV2(void* const* bindings) noexcept {
  auto& s = *impl_->state;
  if (!bindings) {
    report(s.logger(), Severity::kERROR, "executeV2: bindings is null");
    return false;
  }
  for (size_t i = 0; i < s.engine->io.size(); ++i)
    if (!setTensorAddress(s.engine->io[i].name.c_str(), bindings[i])) return false;
  return execute();
}

bool ExecutionContext::setCudaGraphEnabled(bool enabled) noexcept {
  auto& s = *impl_->state;
  if (s.engine->device != DeviceType::kGPU) {
    report(s.logger(), Severity::kERROR, "setCudaGraphEnabled: the engine does not run on the GPU");
    return false;
  }
  UseGuard g(s);
  if (!g.ok()) return false;
  s.useGraph = enabled;
  return true;
}

bool ExecutionContext::getCudaGraphEnabled() const noexcept { return impl_->state->useGraph; }

void ExecutionContext::setProfiler(Profiler* profiler) noexcept { impl_->state->profiler = profiler; }
Profiler* ExecutionContext::getProfiler() const noexcept { return impl_->state->profiler; }
void ExecutionContext::setName(const char* name) { impl_->state->name = name ? name : ""; }
const char* ExecutionContext::getName() const noexcept { return impl_->state->name.c_str(); }

std::unique_ptr<ExecutionContext> Engine::createExecutionContext() noexcept {
  try {
    auto impl = std::make_unique<detail::ContextImpl>();
    impl->state = std::make_shared<detail::ContextState>(impl_);
    // holds the memory it will need at the largest profile shapes from the start (Runtime::setMemoryBudget)
    impl->state->reserve(impl_->contextBytes);
    return std::make_unique<ExecutionContext>(*this, std::move(impl));
  } catch (const std::exception& e) {
    report(*impl_->logger, Severity::kERROR, std::string("createExecutionContext: ") + e.what());
    return nullptr;
  }
}

}  // namespace kiln
