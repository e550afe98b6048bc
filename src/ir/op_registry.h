// Op schemas: per IR operation, its arity and its shape and type inference.
//
// Registries are objects the caller owns and fills explicitly (registerXxxOps(reg)); defaultOpRegistry()
// builds one on first use by calling every register function in op_registry.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

//! What is known about a value during inference: type, shape (-1 for unknown extents) and, where known,
//! its contents (constants, and values computed from constants or shapes).
struct ValueInfo {
  DataType dtype{DataType::kFLOAT};
  Shape shape;
  std::shared_ptr<const TensorData> data;
};

class InferContext {
 public:
  InferContext(const Node& node, std::vector<ValueInfo>& infos) : node_(node), infos_(infos) {}

  const Node& node() const noexcept { return node_; }
  const Attributes& attrs() const noexcept { return node_.attrs; }
  int numInputs() const noexcept { return static_cast<int>(node_.inputs.size()); }
  int numOutputs() const noexcept { return static_cast<int>(node_.outputs.size()); }
  //! false for an omitted optional input (or index past the end).
  bool hasInput(int i) const noexcept { return i >= 0 && i < numInputs() && node_.inputs[i] != nullptr; }
  DataType inputType(int i) const { return info(i).dtype; }
  const Shape& inputShape(int i) const { return info(i).shape; }
  int64_t inputRank(int i) const { return static_cast<int64_t>(info(i).shape.size()); }
  //! Contents of input i if known at this point (constants, folded shape computations), else nullptr.
  const TensorData* inputData(int i) const { return info(i).data.get(); }
  void setOutput(int i, DataType dtype, Shape shape);
  //! Optionally also provide the output's contents (shape computations that can be evaluated here).
  void setOutputData(int i, std::shared_ptr<const TensorData> data);

  //! Throws kiln::Error(kINVALID_ARGUMENT) with the message (the caller adds the node's name).
  [[noreturn]] void fail(const std::string& message) const;
  void require(bool cond, const std::string& message) const {
    if (!cond) fail(message);
  }
  //! Normalizes a possibly negative axis against `rank`; fails if out of range.
  int64_t normalizeAxis(int64_t axis, int64_t rank) const;

 private:
  const ValueInfo& info(int i) const;
  const Node& node_;
  std::vector<ValueInfo>& infos_;
};

using InferFn = std::function<void(InferContext&)>;

struct OpSchema {
  std::string op;
  int minInputs{1};
  int maxInputs{1};  //!< -1: variadic
  int minOutputs{1};
  int maxOutputs{1};
  InferFn infer;
  std::string doc;  //!< one line: semantics and attributes
};

class OpRegistry {
 public:
  void add(OpSchema schema);
  const OpSchema* find(const std::string& op) const;
  std::vector<std::string> ops() const;

 private:
  std::map<std::string, OpSchema> map_;
};

const OpRegistry& defaultOpRegistry();

// Op families (one file each under src/ir/ops/).
void registerElementwiseOps(OpRegistry& reg);  // activations, unary, binary, cast, identity
void registerNnOps(OpRegistry& reg);           // conv, deconv, pooling, matmul, norms, softmax, reduce
void registerTensorOps(OpRegistry& reg);       // shape manipulation, concat, slice, pad, resize, gather, topk
void registerRnnOps(OpRegistry& reg);          // RNN, GRU, LSTM (rnn.cpp)
void registerSamplingOps(OpRegistry& reg);     // GridSample, AffineGrid, Col2Im (sampling.cpp)
void registerAttentionOps(OpRegistry& reg);     // LinearAttention (attention.cpp)
void registerSignalOps(OpRegistry& reg);       // CumProd, Det, DFT (signal.cpp)
void registerDataDependentOps(OpRegistry& reg);  // NonZero, Compress, Unique, NonMaxSuppression (data_dependent.cpp)
void registerQuantOps(OpRegistry& reg);        // QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, BitCast (quant.cpp)

//! Checks arity and runs the schema's inference for one node, writing its outputs' infos. Errors carry
//! the node's name and op.
void inferNode(const OpRegistry& reg, const Node& node, std::vector<ValueInfo>& infos);

//! Computes the outputs of a node whose inputs are all known (the CPU reference kernels, in practice).
using Evaluator = std::function<std::vector<std::shared_ptr<const TensorData>>(
    const Node&, const std::vector<const TensorData*>&, const std::vector<ValueInfo>&)>;

//! Outputs up to this many elements are computed during inference when all inputs are known (this is
//! what folds shape computations such as Shape -> Gather -> Concat -> Reshape).
constexpr int64_t kMaxInferredElements = 4096;

//! Runs inference over a whole (topologically sorted) graph. `infos` must hold an entry per value with
//! graph inputs filled in; constants are filled from the graph. With an evaluator, small outputs of nodes
//! whose inputs are all known get their contents too.
void inferGraph(const OpRegistry& reg, const Graph& graph, std::vector<ValueInfo>& infos,
                const Evaluator* evaluator = nullptr);

//! After inferNode: if every present input of `node` has known contents and its outputs are small
//! (kMaxInferredElements), computes the outputs' contents with `evaluator`. An op the evaluator cannot
//! run stays unknown; any other failure throws with the node's name.
void evaluateKnownOutputs(const Node& node, std::vector<ValueInfo>& infos, const Evaluator& evaluator);

//! Runs inference over the graph and stores the result in the values (dtype, shape).
void inferGraphInPlace(const OpRegistry& reg, Graph& graph, const Evaluator* evaluator = nullptr);

}  // namespace kiln::ir
