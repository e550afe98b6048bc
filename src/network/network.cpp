// NetworkDefinition, Tensor and the Layer base. Each layer family's add*() and setters live in
// layers_<family>.cpp.
#include <algorithm>

#include "backends/cpu/evaluate.h"
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "network/network_impl.h"

namespace kiln {

const char* layerTypeName(LayerType t) noexcept {
  switch (t) {
    case LayerType::kCONVOLUTION: return "Convolution";
    case LayerType::kCAST: return "Cast";
    case LayerType::kACTIVATION: return "Activation";
    case LayerType::kPOOLING: return "Pooling";
    case LayerType::kSCALE: return "Scale";
    case LayerType::kSOFTMAX: return "SoftMax";
    case LayerType::kDECONVOLUTION: return "Deconvolution";
    case LayerType::kCONCATENATION: return "Concatenation";
    case LayerType::kELEMENTWISE: return "ElementWise";
    case LayerType::kUNARY: return "Unary";
    case LayerType::kPADDING: return "Padding";
    case LayerType::kSHUFFLE: return "Shuffle";
    case LayerType::kREDUCE: return "Reduce";
    case LayerType::kTOPK: return "TopK";
    case LayerType::kGATHER: return "Gather";
    case LayerType::kMATRIX_MULTIPLY: return "MatrixMultiply";
    case LayerType::kCONSTANT: return "Constant";
    case LayerType::kIDENTITY: return "Identity";
    case LayerType::kSLICE: return "Slice";
    case LayerType::kRESIZE: return "Resize";
    case LayerType::kNORMALIZATION: return "Normalization";
    case LayerType::kGENERIC: return "Generic";
  }
  return "Unknown";
}

namespace detail {

std::vector<int64_t> toInts(const Dims& d) {
  checkDims(d, "dims", true);
  return std::vector<int64_t>(d.d, d.d + d.nbDims);
}

Dims toDims(const std::vector<int64_t>& v) { return ir::dimsFromShape(v); }

void checkDims(const Dims& d, const char* what, bool allowNegative) {
  if (d.nbDims < 0 || d.nbDims > Dims::MAX_DIMS)
    throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(what) + ": nbDims " + std::to_string(d.nbDims) +
                                                  " is outside [0, " + std::to_string(Dims::MAX_DIMS) + "]");
  if (!allowNegative)
    for (int i = 0; i < d.nbDims; ++i)
      if (d.d[i] < 0) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(what) + " " + toString(d) + " has a negative value");
}

std::vector<int64_t> axesFromMask(uint32_t mask) {
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < 32; ++i)
    if (mask & (1u << i)) axes.push_back(i);
  return axes;
}

uint32_t maskFromAxes(const std::vector<int64_t>& axes) {
  uint32_t m = 0;
  for (int64_t a : axes)
    if (a >= 0 && a < 32) m |= 1u << a;
  return m;
}

Tensor* NetworkImpl::tensor(ir::Value* v) {
  if (!v) return nullptr;
  auto it = tensors_.find(v);
  if (it != tensors_.end()) return it->second.get();
  auto t = std::unique_ptr<Tensor>(new Tensor(*this, v));
  Tensor* raw = t.get();
  tensors_.emplace(v, std::move(t));
  return raw;
}

ir::Node* NetworkImpl::newNode(const std::string& op, const std::string& base, std::vector<ir::Value*> inputs,
                               int numOutputs) {
  std::string name = graph_.uniqueName("(Unnamed Layer* " + std::to_string(layers_.size()) + ") [" + base + "]");
  ir::Node* n = graph_.addNode(op, name, std::move(inputs), numOutputs);
  for (int i = 0; i < numOutputs; ++i)
    n->outputs[static_cast<size_t>(i)]->name = graph_.uniqueName(name + "_output_" + std::to_string(i));
  n->origins.push_back(name);
  return n;
}

ir::Value* NetworkImpl::addWeights(const Weights& w, const ir::Shape& shape, const std::string& nameHint) {
  int64_t n = ir::numElements(shape);
  if (n < 0) throw Error(ErrorCode::kINVALID_ARGUMENT, "weights need a static shape, got " + ir::shapeToString(shape));
  if (w.count != n)
    throw Error(ErrorCode::kINVALID_ARGUMENT, nameHint + ": weights have " + std::to_string(w.count) +
                                                  " values, the layer needs " + std::to_string(n) + " (shape " +
                                                  ir::shapeToString(shape) + ")");
  if (w.count > 0 && !w.values) throw Error(ErrorCode::kINVALID_ARGUMENT, nameHint + ": weights pointer is null");
  if (!isKnownType(w.type)) throw Error(ErrorCode::kINVALID_ARGUMENT, nameHint + ": unknown weights type");
  auto data = ir::makeTensor(w.type, shape, w.values, static_cast<std::size_t>(n) * dataTypeSize(w.type));
  return addConstantValue(std::move(data), nameHint);
}

ir::Value* NetworkImpl::addConstantValue(std::shared_ptr<const ir::TensorData> data, const std::string& nameHint) {
  ir::Value* v = graph_.addConstant(graph_.uniqueName(nameHint), std::move(data));
  markDirty();
  return v;
}

bool NetworkImpl::inferShapes() const {
  if (!dirty_) return lastError_.empty();
  dirty_ = false;
  invalid_.clear();
  std::string firstError;
  const ir::OpRegistry& reg = ir::defaultOpRegistry();
  auto& g = const_cast<ir::Graph&>(graph_);
  std::vector<ir::ValueInfo> infos(g.values.size());
  for (const auto& v : g.values) {
    auto& i = infos[static_cast<size_t>(v->id)];
    i.dtype = v->dtype;
    i.shape = v->shape;
    if (v->isConstant()) i.data = v->constant;
  }
  // Layers may have been added in any order relative to setInput() calls; sort a copy of the order.
  std::vector<ir::Node*> order;
  for (auto& n : g.nodes) order.push_back(n.get());
  bool sorted = true;
  try {
    g.topologicalSort();
    order.clear();
    for (auto& n : g.nodes) order.push_back(n.get());
  } catch (const Error& e) {
    firstError = e.what();
    sorted = false;
  }
  for (ir::Node* n : order) {
    bool inputsOk = true;
    for (const ir::Value* in : n->inputs)
      if (in && invalid_.count(in)) inputsOk = false;
    // a failing layer invalidates what depends on it, not unrelated layers
    if (inputsOk && sorted) {
      try {
        ir::inferNode(reg, *n, infos);
        ir::evaluateKnownOutputs(*n, infos, cpu::referenceEvaluator());
        for (ir::Value* o : n->outputs) {
          o->dtype = infos[static_cast<size_t>(o->id)].dtype;
          o->shape = infos[static_cast<size_t>(o->id)].shape;
        }
        continue;
      } catch (const Error& e) {
        if (firstError.empty()) firstError = e.what();
      }
    }
    for (const ir::Value* o : n->outputs) invalid_[o] = true;
  }
  if (!firstError.empty() && firstError != lastError_) report(logger_, Severity::kERROR, firstError);
  lastError_ = firstError;
  return firstError.empty();
}

bool NetworkImpl::isInvalid(const ir::Value* v) const {
  inferShapes();
  return invalid_.count(v) != 0;
}

Layer* NetworkImpl::layerOf(const ir::Node* node) const {
  for (const auto& l : layers_)
    if (l->irNode() == node) return l.get();
  return nullptr;
}

void NetworkImpl::removeLayer(Layer* layer) {
  ir::Node* node = layer->irNode();
  for (ir::Value* o : node->outputs) tensors_.erase(o);
  graph_.removeNode(node);
  graph_.compact();
  layers_.erase(std::remove_if(layers_.begin(), layers_.end(), [&](const auto& p) { return p.get() == layer; }),
                layers_.end());
  markDirty();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------
// Tensor

const char* Tensor::getName() const noexcept { return v_->name.c_str(); }

void Tensor::setName(const char* name) {
  if (!name) throw Error(ErrorCode::kINVALID_ARGUMENT, "Tensor::setName: null name");
  v_->name = name;
}

Dims Tensor::getDimensions() const noexcept {
  try {
    if (net_.isInvalid(v_)) return Dims{-1, {}};
    return ir::dimsFromShape(v_->shape);
  } catch (...) {
    return Dims{-1, {}};
  }
}

void Tensor::setDimensions(Dims dims) {
  if (!isNetworkInput())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "setDimensions: '" + v_->name + "' is not a network input");
  detail::checkDims(dims, "input dims", true);
  for (int i = 0; i < dims.nbDims; ++i)
    if (dims.d[i] < -1) throw Error(ErrorCode::kINVALID_ARGUMENT, "input dims " + toString(dims) + ": extents must be >= -1");
  v_->shape = ir::shapeFromDims(dims);
  net_.markDirty();
}

DataType Tensor::getType() const noexcept {
  net_.inferShapes();
  return v_->dtype;
}

void Tensor::setType(DataType type) {
  if (!isKnownType(type)) throw Error(ErrorCode::kINVALID_ARGUMENT, "setType: unknown data type");
  if (!isNetworkInput())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "setType: '" + v_->name + "' is not a network input (types of other tensors are inferred)");
  v_->dtype = type;
  net_.markDirty();
}

bool Tensor::isNetworkInput() const noexcept {
  const auto& ins = net_.graph().inputs;
  return std::find(ins.begin(), ins.end(), v_) != ins.end();
}

bool Tensor::isNetworkOutput() const noexcept {
  const auto& outs = net_.graph().outputs;
  return std::find(outs.begin(), outs.end(), v_) != outs.end();
}

// ---------------------------------------------------------------------------------------------------------
// Layer

void Layer::setName(const char* name) {
  if (!name) throw Error(ErrorCode::kINVALID_ARGUMENT, "Layer::setName: null name");
  node_->name = name;
  if (!node_->origins.empty()) node_->origins[0] = name;
}

const char* Layer::getName() const noexcept { return node_->name.c_str(); }

int32_t Layer::getNbInputs() const noexcept { return static_cast<int32_t>(node_->inputs.size()); }

Tensor* Layer::getInput(int32_t index) const {
  if (index < 0 || index >= getNbInputs())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "layer '" + node_->name + "': input index " + std::to_string(index) + " out of range");
  return net_.tensor(node_->inputs[static_cast<size_t>(index)]);
}

int32_t Layer::getNbOutputs() const noexcept { return static_cast<int32_t>(node_->outputs.size()); }

Tensor* Layer::getOutput(int32_t index) const {
  if (index < 0 || index >= getNbOutputs())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "layer '" + node_->name + "': output index " + std::to_string(index) + " out of range");
  return net_.tensor(node_->outputs[static_cast<size_t>(index)]);
}

void Layer::setInput(int32_t index, Tensor& tensor) {
  if (index < 0 || index > getNbInputs())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "layer '" + node_->name + "': input index " + std::to_string(index) + " out of range");
  for (const ir::Value* o : node_->outputs)
    if (o == tensor.irValue())
      throw Error(ErrorCode::kINVALID_ARGUMENT, "layer '" + node_->name + "': cannot read its own output");
  if (index == getNbInputs())
    node_->inputs.push_back(tensor.irValue());
  else
    node_->inputs[static_cast<size_t>(index)] = tensor.irValue();
  net_.markDirty();
}

const char* Layer::getOpType() const noexcept { return node_->op.c_str(); }

// ---------------------------------------------------------------------------------------------------------
// NetworkDefinition

NetworkDefinition::NetworkDefinition(Logger& logger) : impl_(std::make_unique<detail::NetworkImpl>(logger)) {}
NetworkDefinition::~NetworkDefinition() = default;

Tensor* NetworkDefinition::addInput(const char* name, DataType type, Dims dims) {
  if (!name || !*name) throw Error(ErrorCode::kINVALID_ARGUMENT, "addInput: the input needs a name");
  if (!isKnownType(type)) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("addInput '") + name + "': unknown data type");
  detail::checkDims(dims, "addInput dims", true);
  for (int i = 0; i < dims.nbDims; ++i)
    if (dims.d[i] < -1)
      throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("addInput '") + name + "': extents must be >= -1, got " + toString(dims));
  auto& g = impl_->graph();
  for (const ir::Value* in : g.inputs)
    if (in->name == name) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string("addInput: a network input named '") + name + "' exists");
  ir::Value* v = g.addValue(name, type, ir::shapeFromDims(dims));
  g.inputs.push_back(v);
  impl_->markDirty();
  return impl_->tensor(v);
}

void NetworkDefinition::markOutput(Tensor& tensor) {
  auto& outs = impl_->graph().outputs;
  if (std::find(outs.begin(), outs.end(), tensor.irValue()) == outs.end()) outs.push_back(tensor.irValue());
  impl_->markDirty();
}

void NetworkDefinition::unmarkOutput(Tensor& tensor) {
  auto& outs = impl_->graph().outputs;
  outs.erase(std::remove(outs.begin(), outs.end(), tensor.irValue()), outs.end());
  impl_->markDirty();
}

int32_t NetworkDefinition::getNbLayers() const noexcept { return static_cast<int32_t>(impl_->layers().size()); }

Layer* NetworkDefinition::getLayer(int32_t index) const {
  if (index < 0 || index >= getNbLayers())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "getLayer: index " + std::to_string(index) + " out of range");
  return impl_->layers()[static_cast<size_t>(index)].get();
}

int32_t NetworkDefinition::getNbInputs() const noexcept { return static_cast<int32_t>(impl_->graph().inputs.size()); }

Tensor* NetworkDefinition::getInput(int32_t index) const {
  if (index < 0 || index >= getNbInputs())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "getInput: index " + std::to_string(index) + " out of range");
  return impl_->tensor(impl_->graph().inputs[static_cast<size_t>(index)]);
}

int32_t NetworkDefinition::getNbOutputs() const noexcept { return static_cast<int32_t>(impl_->graph().outputs.size()); }

Tensor* NetworkDefinition::getOutput(int32_t index) const {
  if (index < 0 || index >= getNbOutputs())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "getOutput: index " + std::to_string(index) + " out of range");
  return impl_->tensor(impl_->graph().outputs[static_cast<size_t>(index)]);
}

bool NetworkDefinition::removeLayer(Layer& layer) {
  const auto& g = impl_->graph();
  for (const ir::Value* o : layer.irNode()->outputs) {
    if (std::find(g.outputs.begin(), g.outputs.end(), o) != g.outputs.end() || !g.consumers(o).empty()) {
      report(impl_->logger(), Severity::kERROR,
             std::string("removeLayer: the outputs of '") + layer.getName() + "' are still in use");
      return false;
    }
  }
  impl_->removeLayer(&layer);
  return true;
}

void NetworkDefinition::setName(const char* name) { impl_->name = name ? name : ""; }
const char* NetworkDefinition::getName() const noexcept { return impl_->name.c_str(); }

}  // namespace kiln
