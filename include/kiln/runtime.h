// kiln public API: Runtime, Engine, ExecutionContext.
//
// Ownership: an Engine is immutable and may be shared by any number of ExecutionContexts on any threads.
// A context keeps what it needs of its engine alive, so destroying the Engine object before its contexts
// is safe. One ExecutionContext must be used by one thread (or one stream) at a time; a call made while
// another thread is inside the same context is refused with an error, never run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kiln/builder.h"
#include "kiln/stream.h"
#include "kiln/types.h"

namespace kiln {

class Logger;
class ExecutionContext;
namespace detail {
struct EngineImpl;
struct ContextImpl;
}  // namespace detail

enum class LayerInformationFormat : int32_t { kONELINE = 0, kJSON = 1 };

class Engine;

//! Describes an engine: its I/O, layers (op, tactic, shapes), memory plan and target.
class EngineInspector {
 public:
  explicit EngineInspector(const Engine& engine) : engine_(engine) {}
  std::string getLayerInformation(int32_t layerIndex, LayerInformationFormat format) const;
  std::string getEngineInformation(LayerInformationFormat format) const;

 private:
  const Engine& engine_;
};

class Engine {
 public:
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int32_t getNbIOTensors() const noexcept;
  //! nullptr if index is out of range.
  const char* getIOTensorName(int32_t index) const noexcept;
  TensorIOMode getTensorIOMode(const char* name) const noexcept;
  DataType getTensorDataType(const char* name) const noexcept;
  //! Build-time dims, -1 for dynamic extents; {nbDims=-1} for an unknown name.
  Dims getTensorShape(const char* name) const noexcept;
  //! Shape of input `name` in profile `profileIndex`; {nbDims=-1} if unknown.
  Dims getProfileShape(const char* name, int32_t profileIndex, OptProfileSelector select) const noexcept;
  int32_t getNbOptimizationProfiles() const noexcept;
  int32_t getNbLayers() const noexcept;
  //! The most scratch memory (activation arena + kernel workspace) one context needs at any optimization
  //! profile's min/opt/max (or the static) shapes, recomputed when the plan was loaded (the plan's own
  //! figure is not trusted). Shapes that depend on input values can need more at run time.
  std::size_t getDeviceMemorySize() const noexcept;
  DeviceType getDeviceType() const noexcept;
  std::unique_ptr<HostMemory> serialize() const;
  //! nullptr on failure (logged).
  std::unique_ptr<ExecutionContext> createExecutionContext() noexcept;
  std::unique_ptr<EngineInspector> createEngineInspector() const { return std::make_unique<EngineInspector>(*this); }

  // legacy binding-index API
  int32_t getNbBindings() const noexcept { return getNbIOTensors(); }
  const char* getBindingName(int32_t index) const noexcept { return getIOTensorName(index); }
  bool bindingIsInput(int32_t index) const noexcept;

  // internal use
  explicit Engine(std::shared_ptr<const detail::EngineImpl> impl);
  const detail::EngineImpl& impl() const noexcept { return *impl_; }
  std::shared_ptr<const detail::EngineImpl> sharedImpl() const noexcept { return impl_; }

 private:
  std::shared_ptr<const detail::EngineImpl> impl_;
};

//! Per-layer timing callback (see ExecutionContext::setProfiler). While a profiler is set, every run
//! reports each layer once, in execution order, after the layer finished: on the CPU timed with the
//! steady clock, on the GPU with events around the layer (read when the run is synchronized; CUDA graphs
//! are not used meanwhile). Unset (the default) costs nothing.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual void reportLayerTime(const char* layerName, float ms) noexcept = 0;
};
using IProfiler = Profiler;  //!< TensorRT's name

class ExecutionContext {
 public:
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  //! Sets the runtime shape of an input. Returns false (logged) for an unknown name, a wrong rank, or
  //! dims outside the optimization profile.
  bool setInputShape(const char* name, const Dims& dims) noexcept;
  //! Current shape of any I/O tensor (outputs: inferred from the input shapes); {nbDims=-1} if unknown.
  Dims getTensorShape(const char* name) const noexcept;
  bool allInputDimensionsSpecified() const noexcept;
  //! Binds memory to an I/O tensor. Returns false for an unknown name or a null pointer.
  bool setTensorAddress(const char* name, void* data) noexcept;
  bool setInputTensorAddress(const char* name, const void* data) noexcept;
  void* getTensorAddress(const char* name) const noexcept;

  //! Runs inference synchronously on the calling thread. false on failure (logged).
  bool execute() noexcept;
  //! Queues inference on the stream; returns at once. false if the call is refused up front (unset
  //! addresses, bad shapes); failures while running mark the stream (Stream::synchronize returns false).
  bool enqueue(Stream& stream) noexcept;
  bool enqueueV3(Stream& stream) noexcept { return enqueue(stream); }
  //! Legacy: bindings[i] is the address of I/O tensor i (engine order). Synchronous.
  bool executeV2(void* const* bindings) noexcept;

  //! GPU: capture the enqueued work into a CUDA graph once and replay it on later runs with the same
  //! shapes and addresses (fewer launch costs; recaptured when they change). Off by default; no effect
  //! on the CPU. Returns false if the engine does not run on the GPU.
  bool setCudaGraphEnabled(bool enabled) noexcept;
  bool getCudaGraphEnabled() const noexcept;

  void setProfiler(Profiler* profiler) noexcept;
  Profiler* getProfiler() const noexcept;
  const Engine& getEngine() const noexcept { return engine_; }
  void setName(const char* name);
  const char* getName() const noexcept;

  // internal use
  ExecutionContext(const Engine& engine, std::unique_ptr<detail::ContextImpl> impl);
  detail::ContextImpl& impl() noexcept { return *impl_; }

 private:
  const Engine& engine_;
  std::unique_ptr<detail::ContextImpl> impl_;
};

class Runtime {
 public:
  explicit Runtime(Logger& logger);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  //! Verifies and loads a plan. Returns nullptr (the reason logged: truncated, damaged, foreign, wrong
  //! version, other target) on failure. The bytes are copied; the caller may free them afterwards.
  std::unique_ptr<Engine> deserializeEngine(const void* data, std::size_t size) noexcept;
  std::unique_ptr<Engine> deserializeCudaEngine(const void* data, std::size_t size) noexcept {
    return deserializeEngine(data, size);
  }
  //! Loads a plan file: reads it once into memory the engine owns (a file replaced or truncated later cannot
  //! affect the engine); weights are used in place in that memory.
  std::unique_ptr<Engine> deserializeEngineFromFile(const char* path) noexcept;
  Logger& getLogger() const noexcept { return logger_; }
  //! Memory budget in bytes (0, the default: none) for engines deserialized afterwards: a plan whose
  //! constants + the scratch memory of one context (getDeviceMemorySize) exceed it is refused, and so is
  //! creating a context, or running one at shapes, that would take the engine's constants + the memory of
  //! all its live contexts past it (errors name the sizes).
  void setMemoryBudget(std::size_t bytes) noexcept { memoryBudget_ = bytes; }
  std::size_t getMemoryBudget() const noexcept { return memoryBudget_; }

 private:
  Logger& logger_;
  std::size_t memoryBudget_{0};
};

std::unique_ptr<Runtime> createRuntime(Logger& logger);
inline std::unique_ptr<Runtime> createInferRuntime(Logger& logger) { return createRuntime(logger); }

}  // namespace kiln
