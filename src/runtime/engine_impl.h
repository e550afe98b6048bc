// Internal state of Engine and ExecutionContext.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backends/kernel.h"
#include "core/thread_pool.h"
#include "ir/op_registry.h"
#include "kiln/runtime.h"
#include "plan/plan.h"

namespace kiln::detail {

struct IOTensor {
  std::string name;
  TensorIOMode mode{TensorIOMode::kNONE};
  DataType dtype{DataType::kFLOAT};
  ir::Shape shape;  //!< build-time shape, -1 for dynamic extents
  int32_t valueId{0};
};

struct EngineImpl {
  Logger* logger{nullptr};
  plan::PlanContents plan;
  std::vector<IOTensor> io;
  DeviceType device{DeviceType::kCPU};
  std::vector<std::unique_ptr<backend::Kernel>> kernels;  //!< per node
  //! Where each constant lives for the kernels (per value id; nullptr for non-constants): the plan's
  //! bytes on the CPU, one device block holding every constant on the GPU.
  std::vector<const void*> constantAddress;
  std::shared_ptr<void> deviceConstants;
  std::vector<int32_t> lastUse;                       //!< per value id: last node reading it (-1: none)
  //! Zero-copy reshapes: per value id, the value whose memory it shares (-1: its own memory). Set for the
  //! outputs of Identity/Reshape/Flatten/Squeeze/Unsqueeze that are not graph outputs; those nodes are
  //! skipped at run time and their input's memory lives until the alias's last use.
  std::vector<int32_t> aliasOf;
  std::vector<bool> skipNode;  //!< per node
  std::vector<std::string> layerNames;                //!< per node (for errors and profiling)
  //! Memory, recomputed when a plan is loaded (measureMemory; the plan's own arenaBytes is not trusted):
  //! bytes of constants, and the most activation arena + kernel workspace one context needs at any
  //! profile's min/opt/max shapes (shapes that depend on input values are not covered).
  std::size_t constantBytes{0};
  std::size_t contextBytes{0};
  //! Runtime::setMemoryBudget when loaded (0: none): constants + the memory of every live context stay
  //! within it. reservedBytes: what the live contexts hold now.
  std::size_t memoryBudget{0};
  mutable std::atomic<std::size_t> reservedBytes{0};

  //! Index into io, or -1.
  int findIO(const char* name) const noexcept;
};

//! Creates the kernels and I/O table of a parsed plan. Throws kiln::Error (kINVALID_PLAN for a plan whose
//! contents kiln cannot run, naming the layer).
std::shared_ptr<EngineImpl> makeEngine(plan::PlanContents&& contents, Logger& logger);

//! Load-time verification of a made engine: prepares (without allocating) at every profile's min/opt/max
//! shapes, which checks every layer's inputs and outputs against the memory behind them (constants,
//! arena, I/O), and records constantBytes, contextBytes and the verified plan.arenaBytes (opt shapes of
//! profile 0). Throws kiln::Error.
void measureMemory(const std::shared_ptr<EngineImpl>& engine);

//! Per-context state; shared with work queued on streams so that it outlives them.
struct ContextState {
  std::shared_ptr<const EngineImpl> engine;
  std::vector<ir::Shape> ioShapes;  //!< inputs: as set; outputs: inferred
  std::vector<bool> inputShapeSet;
  std::vector<void*> ioAddress;
  int32_t profile{0};
  Profiler* profiler{nullptr};
  std::string name;

  bool prepared{false};
  std::vector<ir::ValueInfo> infos;
  std::vector<std::size_t> arenaOffset;  //!< per value, SIZE_MAX if not in the arena
  std::vector<std::vector<backend::TensorView>> stepIn, stepOut;
  std::vector<std::vector<int32_t>> stepInIds, stepOutIds;
  std::shared_ptr<void> arena;  //!< host memory on the CPU, device memory on the GPU
  std::size_t arenaBytes{0};
  std::shared_ptr<void> workspace;
  std::size_t workspaceBytes{0};
  std::size_t arenaCapacity{0}, workspaceCapacity{0};
  void* ownStream{nullptr};  //!< GPU: the stream execute() runs on (created on first use)
  bool planOnly{false};      //!< prepare() infers, plans and checks memory but allocates nothing
  std::size_t reserved{0};   //!< bytes of the engine's memory budget this context holds (released at destruction)
  //! Grows this context's reservation to `bytes`; throws kFAILED_ALLOCATION naming the sizes when the
  //! engine's constants + every context's reservation would exceed the runtime's memory budget.
  void reserve(std::size_t bytes);
  //! CPU: this context's worker threads (the plan's nbThreads; 0 = one per CPU), created on first run.
  std::unique_ptr<ThreadPool> pool;
  // GPU: CUDA graph of the last run (valid while shapes and addresses stay the same)
  bool useGraph{false};
  void* graphExec{nullptr};
  std::vector<void*> graphAddresses;
  //! GPU: queues a run on `stream`, through the CUDA graph when enabled.
  void enqueueGpu(const std::vector<void*>& addresses, void* stream);

  //! Shapes depend on the values of small integer inputs (TensorRT's shape tensors): their contents as
  //! read at the last prepare(), per I/O index (empty for the others).
  bool dataDependent{false};
  std::vector<std::vector<uint8_t>> valueSnapshot;

  std::atomic<int> active{0};   //!< threads inside a call right now
  std::atomic<int> pending{0};  //!< runs queued on streams, not finished

  explicit ContextState(std::shared_ptr<const EngineImpl> e);
  ~ContextState();
  Logger& logger() const { return *engine->logger; }
  //! Infers every shape from the input shapes (and, where shapes depend on them, the values of small
  //! integer inputs read from their addresses) and plans memory. Throws kiln::Error. `allowUnknown` (the
  //! builder's profile check): shapes that need input values stay unknown and get no memory.
  void prepare(bool allowUnknown = false);
  //! For data-dependent engines: whether a value input changed since prepare() (then prepare again).
  bool valuesChanged(const std::vector<void*>& addresses) const;
  //! Runs every layer with the given I/O addresses; on the GPU queues them on `stream` (cudaStream_t)
  //! without waiting. Throws kiln::Error naming the layer.
  void run(const std::vector<void*>& addresses, void* stream = nullptr);
};

}  // namespace kiln::detail
