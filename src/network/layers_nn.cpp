// Layer API of the nn family: convolution, deconvolution, pooling, matrix multiply, softmax, reduce and
// normalization. Every layer is a view on ONE IR node (see docs/ir/nn.md for the ops):
//   Convolution   -> Conv (W [K, C/groups, k...], optional B [K]; kEXPLICIT_ROUND_UP -> kiln ceil_mode=1)
//   Deconvolution -> ConvTranspose (W [C, K/groups, k...], optional B [K])
//   Pooling       -> MaxPool / AveragePool (the op changes with setPoolingType)
//   MatrixMultiply-> MatMul with kiln attrs transA/transB (kTRANSPOSE) and vecA/vecB (kVECTOR)
//   SoftMax       -> Softmax with kiln attr trt_default_axis=1 until setAxes() sets ONNX "axis"
//   Reduce        -> ReduceSum/Prod/Max/Min/Mean with a constant int64 "axes" input
//   Normalization -> kiln Normalization (axes, epsilon, num_groups)
// Weights are constants; their shape follows the layer's parameters (a weights count that does not fit the
// parameters gives a rank-1 shape, which makes the layer invalid until fixed).
#include <algorithm>

#include "core/dtype.h"
#include "network/network_impl.h"

namespace kiln {
namespace {

using detail::toDims;
using detail::toInts;

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

std::vector<int64_t> positiveDims(const Dims& d, const char* what) {
  detail::checkDims(d, what);
  std::vector<int64_t> v = toInts(d);
  for (int64_t x : v)
    if (x < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(what) + " " + toString(d) + " must be positive");
  return v;
}

std::vector<int64_t> nonNegativeDims(const Dims& d, const char* what) {
  detail::checkDims(d, what);
  return toInts(d);
}

//! Gives a constant input of `node` a new shape with the same element count (weights stay the same
//! bytes). A count that does not fit `shape` gives the rank-1 shape [count].
void reshapeConstantInput(ir::Node* node, size_t idx, const ir::Shape& shape) {
  if (idx >= node->inputs.size()) return;
  ir::Value* v = node->inputs[idx];
  if (!v || !v->constant) return;
  int64_t count = v->constant->numel();
  ir::Shape s = product(shape) == count ? shape : ir::Shape{count};
  if (s == v->constant->shape) return;
  auto t = std::make_shared<ir::TensorData>(*v->constant);
  t->shape = s;
  v->constant = t;
  v->shape = s;
}

int64_t weightCount(const ir::Node* node) {
  const ir::Value* w = node->inputs.size() > 1 ? node->inputs[1] : nullptr;
  return w && w->constant ? w->constant->numel() : -1;
}

//! Conv weights [K, count / (K * prod(k)), k...].
void reshapeConvWeights(ir::Node* node, int64_t K) {
  int64_t count = weightCount(node);
  if (count < 0) return;
  std::vector<int64_t> k = node->attrs.getInts("kernel_shape");
  int64_t pk = product(k);
  ir::Shape s{count};
  if (K > 0 && pk > 0 && count % (K * pk) == 0) {
    s = {K, count / (K * pk)};
    s.insert(s.end(), k.begin(), k.end());
  }
  reshapeConstantInput(node, 1, s);
}

//! Deconv weights [count / (K/groups * prod(k)), K/groups, k...].
void reshapeDeconvWeights(ir::Node* node, int64_t K) {
  int64_t count = weightCount(node);
  if (count < 0) return;
  std::vector<int64_t> k = node->attrs.getInts("kernel_shape");
  int64_t g = node->attrs.getInt("group", 1);
  int64_t pk = product(k);
  ir::Shape s{count};
  if (K > 0 && g > 0 && K % g == 0 && pk > 0 && count % (K / g * pk) == 0) {
    s = {count / (K / g * pk), K / g};
    s.insert(s.end(), k.begin(), k.end());
  }
  reshapeConstantInput(node, 1, s);
}

//! Output maps stored with the weights' shape: conv W[0], deconv W[1] * groups.
int64_t outputMaps(const ir::Node* node, bool deconv) {
  const ir::Value* w = node->inputs.size() > 1 ? node->inputs[1] : nullptr;
  if (!w) return -1;
  if (w->shape.size() < 2) return -1;
  if (!deconv) return w->shape[0];
  return w->shape[1] < 0 ? -1 : w->shape[1] * node->attrs.getInt("group", 1);
}

// ---- window attributes shared by conv, deconv and pooling -------------------------------------------------

void setWindowDefaults(ir::Node* node, const std::vector<int64_t>& k, bool dilations) {
  size_t n = k.size();
  node->attrs.setInts("kernel_shape", k);
  node->attrs.setInts("strides", std::vector<int64_t>(n, 1));
  node->attrs.setInts("pads", std::vector<int64_t>(2 * n, 0));
  if (dilations) node->attrs.setInts("dilations", std::vector<int64_t>(n, 1));
}

std::vector<int64_t> padsOf(const ir::Node* node) {
  size_t n = node->attrs.getInts("kernel_shape").size();
  return node->attrs.getInts("pads", std::vector<int64_t>(2 * n, 0));
}

void setPadHalf(ir::Node* node, const Dims& d, bool pre) {
  std::vector<int64_t> p = nonNegativeDims(d, pre ? "pre-padding" : "post-padding");
  std::vector<int64_t> pads = padsOf(node);
  std::vector<int64_t> begin, end;
  if (pads.size() % 2 == 0 && pads.size() / 2 == p.size()) {
    begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(p.size()));
    end.assign(pads.begin() + static_cast<std::ptrdiff_t>(p.size()), pads.end());
  } else {
    begin.assign(p.size(), 0);
    end.assign(p.size(), 0);
  }
  (pre ? begin : end) = p;
  begin.insert(begin.end(), end.begin(), end.end());
  node->attrs.setInts("pads", begin);
}

Dims padHalf(const ir::Node* node, bool pre) {
  std::vector<int64_t> pads = padsOf(node);
  size_t h = pads.size() / 2;
  return pre ? toDims(std::vector<int64_t>(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(h)))
             : toDims(std::vector<int64_t>(pads.begin() + static_cast<std::ptrdiff_t>(h), pads.end()));
}

//! Padding mode -> auto_pad (+ ceil_mode where the op has it, else the kiln marker trt_round_up).
void setPadMode(ir::Node* node, PaddingMode mode, const char* ceilAttr) {
  switch (mode) {
    case PaddingMode::kEXPLICIT_ROUND_DOWN:
    case PaddingMode::kEXPLICIT_ROUND_UP:
      node->attrs.erase("auto_pad");
      if (mode == PaddingMode::kEXPLICIT_ROUND_UP) node->attrs.setInt(ceilAttr, 1);
      else node->attrs.erase(ceilAttr);
      return;
    case PaddingMode::kSAME_UPPER:
    case PaddingMode::kSAME_LOWER:
      node->attrs.setString("auto_pad", mode == PaddingMode::kSAME_UPPER ? "SAME_UPPER" : "SAME_LOWER");
      node->attrs.erase(ceilAttr);
      return;
  }
  throw Error(ErrorCode::kINVALID_ARGUMENT, "unknown padding mode " + std::to_string(static_cast<int>(mode)));
}

PaddingMode padMode(const ir::Node* node, const char* ceilAttr) {
  std::string ap = node->attrs.getString("auto_pad", "NOTSET");
  if (ap == "SAME_UPPER") return PaddingMode::kSAME_UPPER;
  if (ap == "SAME_LOWER") return PaddingMode::kSAME_LOWER;
  return node->attrs.getInt(ceilAttr, 0) ? PaddingMode::kEXPLICIT_ROUND_UP : PaddingMode::kEXPLICIT_ROUND_DOWN;
}

void requireKernelDims(const Dims& k) {
  if (k.nbDims < 1 || k.nbDims > 3)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "kernel/window size must have 1 to 3 dims, got " + toString(k));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Convolution

ConvolutionLayer* NetworkDefinition::addConvolutionNd(Tensor& input, int64_t nbOutputMaps, Dims kernelSize,
                                                      Weights kernelWeights, Weights biasWeights) {
  requireKernelDims(kernelSize);
  std::vector<int64_t> k = positiveDims(kernelSize, "addConvolutionNd kernel size");
  if (nbOutputMaps < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "addConvolutionNd: nbOutputMaps must be >= 1");
  const int64_t per = nbOutputMaps * product(k);
  if (kernelWeights.count <= 0 || kernelWeights.count % per != 0)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "addConvolutionNd: " + std::to_string(kernelWeights.count) +
                                                  " kernel weights is not a multiple of nbOutputMaps * kernel volume (" +
                                                  std::to_string(per) + ")");
  ir::Shape ws{nbOutputMaps, kernelWeights.count / per};
  ws.insert(ws.end(), k.begin(), k.end());
  ir::Value* w = impl_->addWeights(kernelWeights, ws, "conv_kernel");
  std::vector<ir::Value*> ins{input.irValue(), w};
  if (biasWeights.count != 0) ins.push_back(impl_->addWeights(biasWeights, {nbOutputMaps}, "conv_bias"));
  auto* l = impl_->addLayer<ConvolutionLayer>(LayerType::kCONVOLUTION, "Conv", ins, 1);
  setWindowDefaults(l->irNode(), k, true);
  l->irNode()->attrs.setInt("group", 1);
  return l;
}

void ConvolutionLayer::setKernelSizeNd(Dims kernelSize) {
  requireKernelDims(kernelSize);
  int64_t K = getNbOutputMaps();
  node_->attrs.setInts("kernel_shape", positiveDims(kernelSize, "kernel size"));
  reshapeConvWeights(node_, K);
  net_.markDirty();
}
Dims ConvolutionLayer::getKernelSizeNd() const { return toDims(node_->attrs.getInts("kernel_shape")); }
void ConvolutionLayer::setNbOutputMaps(int64_t nbOutputMaps) {
  if (nbOutputMaps < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "setNbOutputMaps: must be >= 1");
  reshapeConvWeights(node_, nbOutputMaps);
  net_.markDirty();
}
int64_t ConvolutionLayer::getNbOutputMaps() const { return outputMaps(node_, false); }
void ConvolutionLayer::setStrideNd(Dims stride) {
  node_->attrs.setInts("strides", positiveDims(stride, "stride"));
  net_.markDirty();
}
Dims ConvolutionLayer::getStrideNd() const { return toDims(node_->attrs.getInts("strides")); }
void ConvolutionLayer::setPaddingNd(Dims padding) {
  std::vector<int64_t> p = nonNegativeDims(padding, "padding");
  std::vector<int64_t> pads = p;
  pads.insert(pads.end(), p.begin(), p.end());
  node_->attrs.setInts("pads", pads);
  net_.markDirty();
}
Dims ConvolutionLayer::getPaddingNd() const { return padHalf(node_, true); }
void ConvolutionLayer::setPrePadding(Dims padding) {
  setPadHalf(node_, padding, true);
  net_.markDirty();
}
Dims ConvolutionLayer::getPrePadding() const { return padHalf(node_, true); }
void ConvolutionLayer::setPostPadding(Dims padding) {
  setPadHalf(node_, padding, false);
  net_.markDirty();
}
Dims ConvolutionLayer::getPostPadding() const { return padHalf(node_, false); }
void ConvolutionLayer::setPaddingMode(PaddingMode mode) {
  setPadMode(node_, mode, "ceil_mode");
  net_.markDirty();
}
PaddingMode ConvolutionLayer::getPaddingMode() const { return padMode(node_, "ceil_mode"); }
void ConvolutionLayer::setDilationNd(Dims dilation) {
  node_->attrs.setInts("dilations", positiveDims(dilation, "dilation"));
  net_.markDirty();
}
Dims ConvolutionLayer::getDilationNd() const { return toDims(node_->attrs.getInts("dilations")); }
void ConvolutionLayer::setNbGroups(int64_t groups) {
  if (groups < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "setNbGroups: must be >= 1");
  node_->attrs.setInt("group", groups);
  // W is [K, C/groups, k...]: its shape follows from the count alone; keep it consistent anyway
  reshapeConvWeights(node_, getNbOutputMaps());
  net_.markDirty();
}
int64_t ConvolutionLayer::getNbGroups() const { return node_->attrs.getInt("group", 1); }

// ---------------------------------------------------------------------------------------------------------
// Deconvolution

DeconvolutionLayer* NetworkDefinition::addDeconvolutionNd(Tensor& input, int64_t nbOutputMaps, Dims kernelSize,
                                                          Weights kernelWeights, Weights biasWeights) {
  requireKernelDims(kernelSize);
  std::vector<int64_t> k = positiveDims(kernelSize, "addDeconvolutionNd kernel size");
  if (nbOutputMaps < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "addDeconvolutionNd: nbOutputMaps must be >= 1");
  const int64_t per = nbOutputMaps * product(k);
  if (kernelWeights.count <= 0 || kernelWeights.count % per != 0)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "addDeconvolutionNd: " + std::to_string(kernelWeights.count) +
                                                  " kernel weights is not a multiple of nbOutputMaps * kernel volume (" +
                                                  std::to_string(per) + ")");
  ir::Shape ws{kernelWeights.count / per, nbOutputMaps};
  ws.insert(ws.end(), k.begin(), k.end());
  ir::Value* w = impl_->addWeights(kernelWeights, ws, "deconv_kernel");
  std::vector<ir::Value*> ins{input.irValue(), w};
  if (biasWeights.count != 0) ins.push_back(impl_->addWeights(biasWeights, {nbOutputMaps}, "deconv_bias"));
  auto* l = impl_->addLayer<DeconvolutionLayer>(LayerType::kDECONVOLUTION, "ConvTranspose", ins, 1);
  setWindowDefaults(l->irNode(), k, true);
  l->irNode()->attrs.setInt("group", 1);
  return l;
}

void DeconvolutionLayer::setKernelSizeNd(Dims kernelSize) {
  requireKernelDims(kernelSize);
  int64_t K = getNbOutputMaps();
  node_->attrs.setInts("kernel_shape", positiveDims(kernelSize, "kernel size"));
  reshapeDeconvWeights(node_, K);
  net_.markDirty();
}
Dims DeconvolutionLayer::getKernelSizeNd() const { return toDims(node_->attrs.getInts("kernel_shape")); }
void DeconvolutionLayer::setNbOutputMaps(int64_t nbOutputMaps) {
  if (nbOutputMaps < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "setNbOutputMaps: must be >= 1");
  reshapeDeconvWeights(node_, nbOutputMaps);
  net_.markDirty();
}
int64_t DeconvolutionLayer::getNbOutputMaps() const { return outputMaps(node_, true); }
void DeconvolutionLayer::setStrideNd(Dims stride) {
  node_->attrs.setInts("strides", positiveDims(stride, "stride"));
  net_.markDirty();
}
Dims DeconvolutionLayer::getStrideNd() const { return toDims(node_->attrs.getInts("strides")); }
void DeconvolutionLayer::setPaddingNd(Dims padding) {
  std::vector<int64_t> p = nonNegativeDims(padding, "padding");
  std::vector<int64_t> pads = p;
  pads.insert(pads.end(), p.begin(), p.end());
  node_->attrs.setInts("pads", pads);
  net_.markDirty();
}
Dims DeconvolutionLayer::getPaddingNd() const { return padHalf(node_, true); }
void DeconvolutionLayer::setPrePadding(Dims padding) {
  setPadHalf(node_, padding, true);
  net_.markDirty();
}
Dims DeconvolutionLayer::getPrePadding() const { return padHalf(node_, true); }
void DeconvolutionLayer::setPostPadding(Dims padding) {
  setPadHalf(node_, padding, false);
  net_.markDirty();
}
Dims DeconvolutionLayer::getPostPadding() const { return padHalf(node_, false); }
void DeconvolutionLayer::setPaddingMode(PaddingMode mode) {
  // A transposed convolution has no rounding: kEXPLICIT_ROUND_UP only sets the marker trt_round_up.
  setPadMode(node_, mode, "trt_round_up");
  net_.markDirty();
}
PaddingMode DeconvolutionLayer::getPaddingMode() const { return padMode(node_, "trt_round_up"); }
void DeconvolutionLayer::setDilationNd(Dims dilation) {
  node_->attrs.setInts("dilations", positiveDims(dilation, "dilation"));
  net_.markDirty();
}
Dims DeconvolutionLayer::getDilationNd() const { return toDims(node_->attrs.getInts("dilations")); }
void DeconvolutionLayer::setNbGroups(int64_t groups) {
  if (groups < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "setNbGroups: must be >= 1");
  int64_t K = getNbOutputMaps();
  node_->attrs.setInt("group", groups);
  reshapeDeconvWeights(node_, K);  // W is [C, K/groups, k...]
  net_.markDirty();
}
int64_t DeconvolutionLayer::getNbGroups() const { return node_->attrs.getInt("group", 1); }

// ---------------------------------------------------------------------------------------------------------
// Pooling

PoolingLayer* NetworkDefinition::addPoolingNd(Tensor& input, PoolingType type, Dims windowSize) {
  requireKernelDims(windowSize);
  std::vector<int64_t> k = positiveDims(windowSize, "addPoolingNd window size");
  if (type != PoolingType::kMAX && type != PoolingType::kAVERAGE)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "addPoolingNd: unknown pooling type");
  auto* l = impl_->addLayer<PoolingLayer>(LayerType::kPOOLING, type == PoolingType::kMAX ? "MaxPool" : "AveragePool",
                                          {input.irValue()}, 1);
  setWindowDefaults(l->irNode(), k, false);
  if (type == PoolingType::kAVERAGE) l->irNode()->attrs.setInt("count_include_pad", 0);
  return l;
}

void PoolingLayer::setPoolingType(PoolingType type) {
  if (type == PoolingType::kMAX) {
    node_->op = "MaxPool";
    node_->attrs.erase("count_include_pad");
  } else if (type == PoolingType::kAVERAGE) {
    if (node_->op != "AveragePool") node_->attrs.setInt("count_include_pad", 0);
    node_->op = "AveragePool";
  } else {
    throw Error(ErrorCode::kINVALID_ARGUMENT, "setPoolingType: unknown pooling type");
  }
  net_.markDirty();
}
PoolingType PoolingLayer::getPoolingType() const {
  return node_->op == "MaxPool" ? PoolingType::kMAX : PoolingType::kAVERAGE;
}
void PoolingLayer::setWindowSizeNd(Dims windowSize) {
  requireKernelDims(windowSize);
  node_->attrs.setInts("kernel_shape", positiveDims(windowSize, "window size"));
  net_.markDirty();
}
Dims PoolingLayer::getWindowSizeNd() const { return toDims(node_->attrs.getInts("kernel_shape")); }
void PoolingLayer::setStrideNd(Dims stride) {
  node_->attrs.setInts("strides", positiveDims(stride, "stride"));
  net_.markDirty();
}
Dims PoolingLayer::getStrideNd() const { return toDims(node_->attrs.getInts("strides")); }
void PoolingLayer::setPaddingNd(Dims padding) {
  std::vector<int64_t> p = nonNegativeDims(padding, "padding");
  std::vector<int64_t> pads = p;
  pads.insert(pads.end(), p.begin(), p.end());
  node_->attrs.setInts("pads", pads);
  net_.markDirty();
}
Dims PoolingLayer::getPaddingNd() const { return padHalf(node_, true); }
void PoolingLayer::setPrePadding(Dims padding) {
  setPadHalf(node_, padding, true);
  net_.markDirty();
}
Dims PoolingLayer::getPrePadding() const { return padHalf(node_, true); }
void PoolingLayer::setPostPadding(Dims padding) {
  setPadHalf(node_, padding, false);
  net_.markDirty();
}
Dims PoolingLayer::getPostPadding() const { return padHalf(node_, false); }
void PoolingLayer::setPaddingMode(PaddingMode mode) {
  setPadMode(node_, mode, "ceil_mode");
  net_.markDirty();
}
PaddingMode PoolingLayer::getPaddingMode() const { return padMode(node_, "ceil_mode"); }
void PoolingLayer::setAverageCountExcludesPadding(bool exclusive) {
  if (node_->op == "AveragePool") {
    node_->attrs.setInt("count_include_pad", exclusive ? 0 : 1);
    net_.markDirty();
  }
}
bool PoolingLayer::getAverageCountExcludesPadding() const {
  return node_->attrs.getInt("count_include_pad", 0) == 0;
}

// ---------------------------------------------------------------------------------------------------------
// Matrix multiply

namespace {
void setMatOp(ir::Node* node, int32_t index, MatrixOperation op) {
  if (index != 0 && index != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "MatrixMultiply: index must be 0 or 1");
  const char* trans = index == 0 ? "transA" : "transB";
  const char* vec = index == 0 ? "vecA" : "vecB";
  node->attrs.erase(trans);
  node->attrs.erase(vec);
  switch (op) {
    case MatrixOperation::kNONE: return;
    case MatrixOperation::kTRANSPOSE: node->attrs.setInt(trans, 1); return;
    case MatrixOperation::kVECTOR: node->attrs.setInt(vec, 1); return;
  }
  throw Error(ErrorCode::kINVALID_ARGUMENT, "MatrixMultiply: unknown matrix operation");
}
}  // namespace

MatrixMultiplyLayer* NetworkDefinition::addMatrixMultiply(Tensor& input0, MatrixOperation op0, Tensor& input1,
                                                          MatrixOperation op1) {
  auto* l = impl_->addLayer<MatrixMultiplyLayer>(LayerType::kMATRIX_MULTIPLY, "MatMul",
                                                 {input0.irValue(), input1.irValue()}, 1);
  setMatOp(l->irNode(), 0, op0);
  setMatOp(l->irNode(), 1, op1);
  return l;
}

void MatrixMultiplyLayer::setOperation(int32_t index, MatrixOperation op) {
  setMatOp(node_, index, op);
  net_.markDirty();
}
MatrixOperation MatrixMultiplyLayer::getOperation(int32_t index) const {
  if (index != 0 && index != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "MatrixMultiply: index must be 0 or 1");
  if (node_->attrs.getInt(index == 0 ? "vecA" : "vecB", 0)) return MatrixOperation::kVECTOR;
  if (node_->attrs.getInt(index == 0 ? "transA" : "transB", 0)) return MatrixOperation::kTRANSPOSE;
  return MatrixOperation::kNONE;
}

// ---------------------------------------------------------------------------------------------------------
// SoftMax

SoftMaxLayer* NetworkDefinition::addSoftMax(Tensor& input) {
  auto* l = impl_->addLayer<SoftMaxLayer>(LayerType::kSOFTMAX, "Softmax", {input.irValue()}, 1);
  l->irNode()->attrs.setInt("trt_default_axis", 1);
  return l;
}

void SoftMaxLayer::setAxes(uint32_t axes) {
  if (axes == 0 || (axes & (axes - 1)) != 0)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "SoftMaxLayer::setAxes: exactly one bit must be set");
  int64_t axis = 0;
  while (!(axes & (1u << axis))) ++axis;
  node_->attrs.setInt("axis", axis);
  node_->attrs.erase("trt_default_axis");
  net_.markDirty();
}
uint32_t SoftMaxLayer::getAxes() const {
  int64_t rank = -1;
  if (!node_->inputs.empty() && node_->inputs[0]) {
    Dims d = getInput(0)->getDimensions();
    rank = d.nbDims;
  }
  int64_t axis;
  if (!node_->attrs.has("axis") && node_->attrs.getInt("trt_default_axis", 0)) {
    axis = std::max<int64_t>(0, rank - 3);
  } else {
    axis = node_->attrs.getInt("axis", -1);
    if (axis < 0) axis += rank;
  }
  return axis >= 0 && axis < 32 ? 1u << axis : 0u;
}

// ---------------------------------------------------------------------------------------------------------
// Reduce

namespace {
const char* reduceOpName(ReduceOperation op) {
  switch (op) {
    case ReduceOperation::kSUM: return "ReduceSum";
    case ReduceOperation::kPROD: return "ReduceProd";
    case ReduceOperation::kMAX: return "ReduceMax";
    case ReduceOperation::kMIN: return "ReduceMin";
    case ReduceOperation::kAVG: return "ReduceMean";
  }
  throw Error(ErrorCode::kINVALID_ARGUMENT, "unknown reduce operation " + std::to_string(static_cast<int>(op)));
}
}  // namespace

ReduceLayer* NetworkDefinition::addReduce(Tensor& input, ReduceOperation op, uint32_t reduceAxes,
                                          bool keepDimensions) {
  const char* name = reduceOpName(op);
  std::vector<int64_t> axes = detail::axesFromMask(reduceAxes);
  ir::Value* a = impl_->addConstantValue(ir::makeInt64Tensor(axes, {static_cast<int64_t>(axes.size())}), "reduce_axes");
  auto* l = impl_->addLayer<ReduceLayer>(LayerType::kREDUCE, name, {input.irValue(), a}, 1);
  l->irNode()->attrs.setInt("keepdims", keepDimensions ? 1 : 0);
  // an empty mask reduces nothing (ONNX would reduce every axis without noop_with_empty_axes)
  if (axes.empty()) l->irNode()->attrs.setInt("noop_with_empty_axes", 1);
  return l;
}

void ReduceLayer::setOperation(ReduceOperation op) {
  node_->op = reduceOpName(op);
  net_.markDirty();
}
ReduceOperation ReduceLayer::getOperation() const {
  const std::string& op = node_->op;
  if (op == "ReduceProd") return ReduceOperation::kPROD;
  if (op == "ReduceMax") return ReduceOperation::kMAX;
  if (op == "ReduceMin") return ReduceOperation::kMIN;
  if (op == "ReduceMean") return ReduceOperation::kAVG;
  return ReduceOperation::kSUM;
}
void ReduceLayer::setReduceAxes(uint32_t axes) {
  std::vector<int64_t> list = detail::axesFromMask(axes);
  auto data = ir::makeInt64Tensor(list, {static_cast<int64_t>(list.size())});
  ir::Value* cur = node_->inputs.size() > 1 ? node_->inputs[1] : nullptr;
  if (cur && cur->constant && net_.graph().consumers(cur).size() == 1) {
    cur->constant = data;  // this layer's own axes constant: update it in place
    cur->shape = data->shape;
  } else {
    ir::Value* v = net_.addConstantValue(data, "reduce_axes");
    if (node_->inputs.size() < 2) node_->inputs.resize(2, nullptr);
    node_->inputs[1] = v;
  }
  if (list.empty()) node_->attrs.setInt("noop_with_empty_axes", 1);
  else node_->attrs.erase("noop_with_empty_axes");
  net_.markDirty();
}
uint32_t ReduceLayer::getReduceAxes() const {
  const ir::Value* a = node_->inputs.size() > 1 ? node_->inputs[1] : nullptr;
  if (!a || !a->constant) return 0;
  int64_t rank = getInput(0)->getDimensions().nbDims;
  std::vector<int64_t> axes = a->constant->toInts();
  for (int64_t& x : axes)
    if (x < 0 && rank >= 0) x += rank;
  return detail::maskFromAxes(axes);
}
void ReduceLayer::setKeepDimensions(bool keep) {
  node_->attrs.setInt("keepdims", keep ? 1 : 0);
  net_.markDirty();
}
bool ReduceLayer::getKeepDimensions() const { return node_->attrs.getInt("keepdims", 1) != 0; }

// ---------------------------------------------------------------------------------------------------------
// Normalization

NormalizationLayer* NetworkDefinition::addNormalization(Tensor& input, Tensor& scale, Tensor& bias,
                                                        uint32_t axesMask) {
  auto* l = impl_->addLayer<NormalizationLayer>(LayerType::kNORMALIZATION, "Normalization",
                                                {input.irValue(), scale.irValue(), bias.irValue()}, 1);
  l->irNode()->attrs.setInts("axes", detail::axesFromMask(axesMask));
  l->irNode()->attrs.setFloat("epsilon", 1e-5);
  l->irNode()->attrs.setInt("num_groups", 1);
  return l;
}

void NormalizationLayer::setEpsilon(float eps) {
  node_->attrs.setFloat("epsilon", static_cast<double>(eps));
  net_.markDirty();
}
float NormalizationLayer::getEpsilon() const { return static_cast<float>(node_->attrs.getFloat("epsilon", 1e-5)); }
void NormalizationLayer::setAxes(uint32_t axesMask) {
  node_->attrs.setInts("axes", detail::axesFromMask(axesMask));
  net_.markDirty();
}
uint32_t NormalizationLayer::getAxes() const { return detail::maskFromAxes(node_->attrs.getInts("axes")); }
void NormalizationLayer::setNbGroups(int64_t nbGroups) {
  if (nbGroups < 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "setNbGroups: must be >= 1");
  node_->attrs.setInt("num_groups", nbGroups);
  net_.markDirty();
}
int64_t NormalizationLayer::getNbGroups() const { return node_->attrs.getInt("num_groups", 1); }

}  // namespace kiln
