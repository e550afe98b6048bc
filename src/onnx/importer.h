// ONNX -> network import: the importer registry keyed by (domain, op_type, opset range) and the context
// an importer works with. One file per op family under src/onnx/importers/.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "network/network_impl.h"
#include "onnx/model.h"

namespace kiln::onnx {

//! The newest default-domain opset this importer knows; newer models are imported with its semantics.
constexpr int64_t kMaxKnownOpset = 23;

class ImportContext {
 public:
  ImportContext(detail::NetworkImpl& net, std::map<std::string, ir::Value*>& tensors, const Node& node, int64_t opset)
      : net_(net), tensors_(tensors), node_(node), opset_(opset) {}

  const Node& node() const noexcept { return node_; }
  int64_t opset() const noexcept { return opset_; }
  //! Input i as a value; nullptr for an omitted optional input (empty name or index past the end).
  ir::Value* input(size_t i) const;
  size_t numInputs() const noexcept { return node_.inputs.size(); }
  //! All inputs (nullptr for omitted ones).
  std::vector<ir::Value*> inputs() const;
  //! ONNX attributes converted to IR attributes (Cast "to" to kiln's DataType numbering). Throws
  //! kUNSUPPORTED_NODE for attribute kinds the IR can't hold.
  ir::Attributes convertAttributes() const;
  const Attribute* attr(const std::string& name) const { return node_.findAttribute(name); }
  int64_t attrInt(const std::string& name, int64_t def) const;
  std::vector<int64_t> attrInts(const std::string& name) const;
  float attrFloat(const std::string& name, float def) const;

  //! The element type / shape of a value as inferred so far (runs the network's lazy shape inference);
  //! shapeOf returns nullptr when the value's producer failed inference.
  DataType typeOf(ir::Value* v) const;
  const ir::Shape* shapeOf(ir::Value* v) const;

  //! A new constant value.
  ir::Value* constant(std::shared_ptr<const ir::TensorData> data, const std::string& hint);
  ir::Value* int64Constant(const std::vector<int64_t>& v, const std::string& hint);
  //! Adds an IR node (a GenericLayer of the network). `bindOutputs`: name its outputs after the ONNX
  //! node's outputs and register them; otherwise they are intermediate values.
  ir::Node* addNode(const std::string& op, std::vector<ir::Value*> inputs, int numOutputs, ir::Attributes attrs,
                    bool bindOutputs = true);
  //! Registers `v` as the value of ONNX output i (for importers that produce outputs without a node).
  void bindOutput(size_t i, ir::Value* v);

  [[noreturn]] void unsupported(const std::string& reason) const;

  //! For importers that import a subgraph inline (If with a known condition): the network being built
  //! and the ONNX name -> value map of the current scope.
  detail::NetworkImpl& network() const noexcept { return net_; }
  std::map<std::string, ir::Value*>& tensorMap() const noexcept { return tensors_; }

 private:
  detail::NetworkImpl& net_;
  std::map<std::string, ir::Value*>& tensors_;
  const Node& node_;
  int64_t opset_;
};

using ImportFn = void (*)(ImportContext& ctx);

struct Importer {
  std::string domain;  //!< "" = default ONNX domain
  std::string op;
  int64_t minOpset;
  int64_t maxOpset;
  ImportFn fn;
};

class ImporterRegistry {
 public:
  void add(Importer imp) { map_[{imp.domain, imp.op}].push_back(std::move(imp)); }
  //! The importer for an opset, or nullptr; `*why` says why not (unknown op / opset out of range).
  const Importer* find(const std::string& domain, const std::string& op, int64_t opset, std::string* why) const;
  std::vector<std::string> ops() const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<Importer>> map_;
};

const ImporterRegistry& defaultImporterRegistry();

// Families (src/onnx/importers/<family>.cpp).
void registerDirectImporters(ImporterRegistry& reg);  // ops whose IR semantics equal ONNX's, per opset range
void registerLegacyImporters(ImporterRegistry& reg);  // older opsets: attributes that became inputs, etc.
void registerRnnImporters(ImporterRegistry& reg);          // RNN, GRU, LSTM (rnn.cpp)
void registerControlFlowImporters(ImporterRegistry& reg);  // If (control_flow.cpp)
void registerLossImporters(ImporterRegistry& reg);    // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss (decomposed)
void registerSamplingImporters(ImporterRegistry& reg);  // GridSample, AffineGrid, Col2Im, CenterCropPad
void registerSignalImporters(ImporterRegistry& reg);  // CumProd, Det, DFT, Hann/Hamming/BlackmanWindow (signal.cpp)
void registerQuantImporters(ImporterRegistry& reg);  // Quantize/DequantizeLinear, QLinear*, *Integer, BitCast (quant.cpp)

}  // namespace kiln::onnx
