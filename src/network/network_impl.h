// Internal state of a NetworkDefinition: the graph IR plus the Tensor/Layer views handed to users.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/logging.h"
#include "ir/graph.h"
#include "kiln/network.h"

namespace kiln::detail {

class NetworkImpl {
 public:
  explicit NetworkImpl(Logger& logger) : logger_(logger) {}

  Logger& logger() const noexcept { return logger_; }
  ir::Graph& graph() noexcept { return graph_; }
  const ir::Graph& graph() const noexcept { return graph_; }

  //! The Tensor view of a value (created on first use).
  Tensor* tensor(ir::Value* v);
  //! Adds a node and its Layer view. Inputs may contain nullptr (omitted optional inputs).
  template <class L>
  L* addLayer(LayerType type, const std::string& op, std::vector<ir::Value*> inputs, int numOutputs) {
    ir::Node* node = newNode(op, layerTypeName(type), std::move(inputs), numOutputs);
    auto layer = std::make_unique<L>(*this, node, type);
    L* raw = layer.get();
    layers_.push_back(std::move(layer));
    markDirty();
    return raw;
  }
  //! Copies weights into a new constant value of the given shape. Throws kiln::Error if the count does not
  //! match the shape or the pointer is null with a non-zero count.
  ir::Value* addWeights(const Weights& w, const ir::Shape& shape, const std::string& nameHint);
  //! A constant value holding a tensor made elsewhere.
  ir::Value* addConstantValue(std::shared_ptr<const ir::TensorData> data, const std::string& nameHint);

  //! Called by every mutation: shapes are re-inferred lazily on the next query.
  void markDirty() noexcept { dirty_ = true; }
  //! Re-infers shapes if needed. On failure, logs the first error once and marks the failing node's
  //! outputs (and everything after it) invalid. Returns true if every node inferred.
  bool inferShapes() const;
  //! True if the value's dims are known to be invalid (its producer failed inference).
  bool isInvalid(const ir::Value* v) const;

  std::vector<std::unique_ptr<Layer>>& layers() noexcept { return layers_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const noexcept { return layers_; }
  Layer* layerOf(const ir::Node* node) const;
  void removeLayer(Layer* layer);
  std::string name;

 private:
  ir::Node* newNode(const std::string& op, const std::string& base, std::vector<ir::Value*> inputs, int numOutputs);
  Logger& logger_;
  ir::Graph graph_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unordered_map<const ir::Value*, std::unique_ptr<Tensor>> tensors_;
  mutable bool dirty_{true};
  mutable std::unordered_map<const ir::Value*, bool> invalid_;
  mutable std::string lastError_;
};

//! Conversions between Dims and the IR's int64 lists.
std::vector<int64_t> toInts(const Dims& d);
Dims toDims(const std::vector<int64_t>& v);
//! Checks a Dims argument (rank in range, values satisfying `pred`), throwing kiln::Error naming `what`.
void checkDims(const Dims& d, const char* what, bool allowNegative = false);
//! Mask bits -> sorted axis list; throws if a bit is >= rank... (rank unknown: no check if rank < 0).
std::vector<int64_t> axesFromMask(uint32_t mask);
uint32_t maskFromAxes(const std::vector<int64_t>& axes);

}  // namespace kiln::detail
