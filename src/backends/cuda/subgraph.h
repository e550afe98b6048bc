// Nested graphs on the GPU (the bodies of Scan and the branches of If, src/backends/cuda/control_flow.cpp).
//
// A Subgraph owns a GPU kernel per node of a nested graph (the tactic the builder takes without timing: the
// last applicable one of the CUDA registry, host-parameter wrappers excepted: a nested graph's inputs are
// device tensors) and a device copy of the graph's constants. Its shapes come from shape inference given
// the shapes of its inputs (a Plan, cached per distinct input shapes: Scan runs the same plan every
// iteration). Per-run memory is the caller's workspace: the values the nested graph computes (offsets
// planned by lifetime, 256-byte aligned) and then one scratch region that every node kernel shares (they
// run one after another on the stream). Outputs computed by the graph are written straight to addresses
// the caller gives; the others (a graph output that is an input, a constant or an output listed twice) are
// read from where they lie (Plan::sources).
//
// Nested control flow works through the same registry (an If or Scan inside a body is a node like any
// other). Ops whose output shapes depend on values (NonZero, Slice by computed starts read on the host...)
// are refused: a nested graph's shapes must follow from its input shapes.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "ir/op_registry.h"

namespace kiln::gpu {

//! Rounds up to the 256-byte alignment of GPU workspaces.
inline std::size_t align256(std::size_t b) { return (b + 255) / 256 * 256; }

class Subgraph {
 public:
  //! What the graph needs for given input shapes (immutable; shared by concurrent runs).
  struct Plan {
    std::vector<ir::ValueInfo> infos;              //!< per value: type and shape (no contents)
    std::vector<std::vector<TensorView>> in, out;  //!< per node (data filled per run)
    std::vector<std::size_t> offset;               //!< per value: workspace offset, SIZE_MAX if not there
    std::size_t childOffset{0}, childBytes{0};     //!< scratch of the node kernels
    std::size_t bytes{0};                          //!< workspace the plan needs
    //! Output o's type and shape.
    const ir::ValueInfo& output(size_t o) const { return infos[static_cast<size_t>(outputIds[o])]; }
    std::vector<int32_t> outputIds;
  };

  //! `what` names the graph in messages ("Scan body", "If then_branch"). Throws kiln::Error
  //! (kUNSUPPORTED_NODE) naming the node when a node has no GPU kernel.
  Subgraph(std::shared_ptr<const ir::Graph> graph, std::string what);

  //! Whether every node of `g` has a GPU kernel; on false writes which does not and why.
  static bool supported(const ir::Graph& g, const std::string& what, std::string* why);

  //! The plan for these input types and shapes (cached). Throws kiln::Error when inference fails or leaves
  //! a shape unknown.
  std::shared_ptr<const Plan> plan(std::span<const DataType> types, std::span<const ir::Shape> shapes) const;

  //! Whether output o is computed by the graph into the caller's address (else Plan::sources says where).
  bool writesOutput(size_t o) const { return owned_[o]; }
  size_t numInputs() const { return graph_->inputs.size(); }
  size_t numOutputs() const { return graph_->outputs.size(); }

  //! Queues the graph on `stream`. `in`: an address per graph input; `out`: an address per output (used
  //! where writesOutput(o); it must hold the output's bytes); `ws`: p.bytes bytes. `sources` (one per output)
  //! receives where each output's bytes are once the work is done.
  void run(const Plan& p, std::span<void* const> in, std::span<void* const> out, void* ws, cudaStream_t stream,
           std::vector<const void*>& sources) const;

 private:
  std::shared_ptr<const ir::Graph> graph_;
  std::string what_;
  std::vector<std::unique_ptr<Kernel>> kernels_;  //!< per node
  std::shared_ptr<void> constants_;              //!< device copy of the graph's constants
  std::vector<const void*> constAddr_;            //!< per value
  std::vector<bool> owned_;                       //!< per output
  mutable std::mutex mu_;
  struct Cached {
    std::vector<DataType> types;
    std::vector<ir::Shape> shapes;
    std::shared_ptr<const Plan> plan;
  };
  mutable std::vector<Cached> cache_;
};

//! Whether a value of type `t` at `p` (host bytes of the value) is true (nonzero; -0.0 is false).
bool conditionIsTrue(const void* p, DataType t);

//! Queues, for each i: dst[i] <- (condition true ? a[i] : b[i]) (bytes[i] bytes; nothing where the chosen
//! source is dst[i]). The condition is read on the device (control_flow_select.cu).
void selectCopy(const void* cond, DataType condType, std::span<void* const> dst, std::span<const void* const> a,
                std::span<const void* const> b, std::span<const std::size_t> bytes, cudaStream_t stream);

void registerControlFlowKernels(KernelRegistry& reg);  // control_flow.cpp: Scan, If

}  // namespace kiln::gpu
