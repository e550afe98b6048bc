// Kernels: the interface every kernel of every backend implements, and the registry of tactics per
// operation (one registry per backend).
//
// A Kernel is created once per engine from its IR node (attributes parsed, weights pre-packed), is
// immutable afterwards and is shared by every ExecutionContext of the engine, so run() must be const and
// thread-safe. Shapes and addresses come with each run (they change with dynamic shapes). On the GPU the
// addresses are device addresses; a kernel reads the host values of constant inputs (axes, pads, ...)
// from its node when it is created.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "ir/graph.h"

namespace kiln {
class ThreadPool;  // core/thread_pool.h
}  // namespace kiln

namespace kiln::backend {

//! A dense row-major tensor in memory. An omitted optional input has data == nullptr and present == false.
struct TensorView {
  void* data{nullptr};
  DataType dtype{DataType::kFLOAT};
  std::span<const int64_t> shape;
  int64_t numel{0};
  bool present{false};

  int64_t rank() const noexcept { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const noexcept { return shape[static_cast<size_t>(i)]; }
  ir::Shape shapeVec() const { return ir::Shape(shape.begin(), shape.end()); }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(numel) * dataTypeSize(dtype); }
  template <class T>
  T* as() const noexcept {
    return static_cast<T*>(data);
  }
};

struct KernelContext {
  std::span<const TensorView> inputs;
  std::span<const TensorView> outputs;
  void* workspace{nullptr};  //!< workspaceSize() bytes, 64-byte aligned (256 on the GPU)
  std::size_t workspaceBytes{0};
  //! GPU kernels: the cudaStream_t to launch on (never synchronized by a kernel). nullptr on the CPU.
  void* stream{nullptr};
  //! CPU kernels: the execution context's worker threads (core/thread_pool.h); nullptr: run serially.
  ThreadPool* pool{nullptr};
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  //! Scratch memory needed for these shapes (called after shape inference, before run()).
  virtual std::size_t workspaceSize(std::span<const TensorView> /*inputs*/,
                                    std::span<const TensorView> /*outputs*/) const {
    return 0;
  }
  //! Computes the outputs (GPU kernels: queues the work on ctx.stream). Throws kiln::Error on failure
  //! (e.g. an index out of range in the data, a failed launch).
  virtual void run(const KernelContext& ctx) const = 0;
};

//! Creates a kernel for a node (attributes parsed, constant inputs such as weights may be pre-packed).
//! Value dtypes and build-time shapes (-1 for dynamic extents) are available on the node's values.
//! Throws kiln::Error(kUNSUPPORTED_NODE) if the node's attributes or types are not supported.
using KernelFactory = std::unique_ptr<Kernel> (*)(const ir::Node& node);
//! Whether a tactic applies to a node; on false, writes the reason.
using SupportsFn = bool (*)(const ir::Node& node, std::string* reason);

struct Tactic {
  std::string name;           //!< e.g. "ref", "gemm_avx2"; unique per op, stored in plans
  KernelFactory create{nullptr};
  SupportsFn supports{nullptr};  //!< nullptr: always applies
  uint64_t requiredCpuFeatures{0};  //!< bits of core/cpu_features.h (CPU tactics)
};

class KernelRegistry {
 public:
  void add(const std::string& op, Tactic tactic);
  //! Tactics for an op in registration order (reference first); empty if none.
  const std::vector<Tactic>& find(const std::string& op) const;
  const Tactic* find(const std::string& op, const std::string& tacticName) const;
  std::vector<std::string> ops() const;

 private:
  std::map<std::string, std::vector<Tactic>> map_;
};

}  // namespace kiln::backend
