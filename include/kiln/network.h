// kiln public API: the network definition (layer API).
//
// A NetworkDefinition owns its tensors and layers; pointers returned by add*() stay valid until the
// network is destroyed. Weights are copied when a layer is added. Output dimensions of a layer are
// available right away through getOutput(i)->getDimensions(); a layer whose inputs do not fit is still
// added, reported through the Logger, and makes getDimensions() return {nbDims = -1} and the build fail.
#pragma once

#include <cstdint>
#include <memory>

#include "kiln/types.h"

namespace kiln {

class Logger;
namespace ir {
struct Node;
struct Value;
}  // namespace ir
namespace detail {
class NetworkImpl;
}

class NetworkDefinition;

//! A tensor of a network (not a buffer: it has a name, a type and dims).
class Tensor {
 public:
  const char* getName() const noexcept;
  void setName(const char* name);
  //! Dims as inferred so far; -1 for dims that depend on a dynamic input. {nbDims=-1} if the producing
  //! layer is invalid.
  Dims getDimensions() const noexcept;
  //! Only for network inputs.
  void setDimensions(Dims dims);
  DataType getType() const noexcept;
  //! Only for network inputs (other tensors' types are inferred).
  void setType(DataType type);
  bool isNetworkInput() const noexcept;
  bool isNetworkOutput() const noexcept;
  //! Set by the importer or the user: the element range for INT8 calibration-free quantization (reserved).
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

 private:
  friend class detail::NetworkImpl;
  friend class Layer;
  Tensor(detail::NetworkImpl& net, ir::Value* v) : net_(net), v_(v) {}
  detail::NetworkImpl& net_;
  ir::Value* v_;

 public:
  ir::Value* irValue() const noexcept { return v_; }  // internal use
};

enum class LayerType : int32_t {
  kCONVOLUTION = 0,
  kCAST,
  kACTIVATION,
  kPOOLING,
  kSCALE,
  kSOFTMAX,
  kDECONVOLUTION,
  kCONCATENATION,
  kELEMENTWISE,
  kUNARY,
  kPADDING,
  kSHUFFLE,
  kREDUCE,
  kTOPK,
  kGATHER,
  kMATRIX_MULTIPLY,
  kCONSTANT,
  kIDENTITY,
  kSLICE,
  kRESIZE,
  kNORMALIZATION,
  //! A layer created by the ONNX importer or a pass for an IR operation without a dedicated layer class.
  kGENERIC,
};
const char* layerTypeName(LayerType t) noexcept;

//! Base of every layer. Layers are views on nodes of the network's graph IR.
class Layer {
 public:
  virtual ~Layer() = default;
  LayerType getType() const noexcept { return type_; }
  void setName(const char* name);
  const char* getName() const noexcept;
  int32_t getNbInputs() const noexcept;
  //! nullptr for an omitted optional input. Throws kiln::Error if index is out of range.
  Tensor* getInput(int32_t index) const;
  int32_t getNbOutputs() const noexcept;
  Tensor* getOutput(int32_t index) const;
  //! Replaces input `index` (index == getNbInputs() appends an optional input, where the layer has one).
  void setInput(int32_t index, Tensor& tensor);
  //! The IR operation this layer created (e.g. "Conv").
  const char* getOpType() const noexcept;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // internal use
  Layer(detail::NetworkImpl& net, ir::Node* node, LayerType type) : net_(net), node_(node), type_(type) {}
  ir::Node* irNode() const noexcept { return node_; }

 protected:
  detail::NetworkImpl& net_;
  ir::Node* node_;
  LayerType type_;
};

// ---------------------------------------------------------------------------------------------------------
// Convolution family

enum class PaddingMode : int32_t {
  kEXPLICIT_ROUND_DOWN = 0,
  kEXPLICIT_ROUND_UP = 1,
  kSAME_UPPER = 2,
  kSAME_LOWER = 3,
};

//! N-d convolution over an NC(D)HW input: kernel weights [K, C/groups, kh, kw], bias [K] (count 0: none).
class ConvolutionLayer : public Layer {
 public:
  using Layer::Layer;
  void setKernelSizeNd(Dims kernelSize);
  Dims getKernelSizeNd() const;
  void setNbOutputMaps(int64_t nbOutputMaps);
  int64_t getNbOutputMaps() const;
  void setStrideNd(Dims stride);
  Dims getStrideNd() const;
  //! Symmetric padding (sets pre- and post-padding).
  void setPaddingNd(Dims padding);
  Dims getPaddingNd() const;
  void setPrePadding(Dims padding);
  Dims getPrePadding() const;
  void setPostPadding(Dims padding);
  Dims getPostPadding() const;
  void setPaddingMode(PaddingMode mode);
  PaddingMode getPaddingMode() const;
  void setDilationNd(Dims dilation);
  Dims getDilationNd() const;
  void setNbGroups(int64_t groups);
  int64_t getNbGroups() const;
  // Short names used in kiln's docs and by TensorRT users (same as the *Nd forms).
  void setStride(Dims stride) { setStrideNd(stride); }
  void setPadding(Dims padding) { setPaddingNd(padding); }
  void setDilation(Dims dilation) { setDilationNd(dilation); }
};

//! Transposed convolution: kernel weights [C, K/groups, kh, kw], bias [K].
class DeconvolutionLayer : public Layer {
 public:
  using Layer::Layer;
  void setKernelSizeNd(Dims kernelSize);
  Dims getKernelSizeNd() const;
  void setNbOutputMaps(int64_t nbOutputMaps);
  int64_t getNbOutputMaps() const;
  void setStrideNd(Dims stride);
  Dims getStrideNd() const;
  void setPaddingNd(Dims padding);
  Dims getPaddingNd() const;
  void setPrePadding(Dims padding);
  Dims getPrePadding() const;
  void setPostPadding(Dims padding);
  Dims getPostPadding() const;
  void setPaddingMode(PaddingMode mode);
  PaddingMode getPaddingMode() const;
  void setDilationNd(Dims dilation);
  Dims getDilationNd() const;
  void setNbGroups(int64_t groups);
  int64_t getNbGroups() const;
  void setStride(Dims stride) { setStrideNd(stride); }
  void setPadding(Dims padding) { setPaddingNd(padding); }
  void setDilation(Dims dilation) { setDilationNd(dilation); }
};

// ---------------------------------------------------------------------------------------------------------
// Activations, unary and elementwise

enum class ActivationType : int32_t {
  kRELU = 0,
  kSIGMOID = 1,
  kTANH = 2,
  kLEAKY_RELU = 3,        //!< x >= 0 ? x : alpha * x (alpha default 0.01)
  kELU = 4,               //!< x >= 0 ? x : alpha * (exp(x) - 1) (alpha default 1)
  kSELU = 5,              //!< beta * (x >= 0 ? x : alpha * (exp(x) - 1)) (defaults 1.67326, 1.0507)
  kSOFTSIGN = 6,          //!< x / (1 + |x|)
  kSOFTPLUS = 7,          //!< alpha * log(exp(beta * x) + 1) (defaults 1, 1)
  kCLIP = 8,              //!< max(alpha, min(beta, x))
  kHARD_SIGMOID = 9,      //!< max(0, min(1, alpha * x + beta)) (defaults 0.2, 0.5)
  kSCALED_TANH = 10,      //!< alpha * tanh(beta * x)
  kTHRESHOLDED_RELU = 11, //!< x > alpha ? x : 0 (alpha default 1)
  kGELU_ERF = 12,         //!< 0.5 x (1 + erf(x / sqrt(2)))
  kGELU_TANH = 13,        //!< 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  kSILU = 14,             //!< x * sigmoid(x) (kiln extension)
  kGELU = kGELU_ERF,
};

class ActivationLayer : public Layer {
 public:
  using Layer::Layer;
  void setActivationType(ActivationType type);
  ActivationType getActivationType() const;
  void setAlpha(float alpha);
  void setBeta(float beta);
  float getAlpha() const;
  float getBeta() const;
};

enum class UnaryOperation : int32_t {
  kEXP = 0,
  kLOG = 1,
  kSQRT = 2,
  kRECIP = 3,
  kABS = 4,
  kNEG = 5,
  kSIN = 6,
  kCOS = 7,
  kTAN = 8,
  kSINH = 9,
  kCOSH = 10,
  kASIN = 11,
  kACOS = 12,
  kATAN = 13,
  kASINH = 14,
  kACOSH = 15,
  kATANH = 16,
  kCEIL = 17,
  kFLOOR = 18,
  kERF = 19,
  kNOT = 20,
  kSIGN = 21,
  kROUND = 22,  //!< round half to even
  kISINF = 23,
  kISNAN = 24,
};

class UnaryLayer : public Layer {
 public:
  using Layer::Layer;
  void setOperation(UnaryOperation op);
  UnaryOperation getOperation() const;
};

enum class ElementWiseOperation : int32_t {
  kSUM = 0,
  kPROD = 1,
  kMAX = 2,
  kMIN = 3,
  kSUB = 4,
  kDIV = 5,
  kPOW = 6,
  kFLOOR_DIV = 7,
  kAND = 8,
  kOR = 9,
  kXOR = 10,
  kEQUAL = 11,
  kGREATER = 12,
  kLESS = 13,
};

//! Binary elementwise op with numpy-style broadcasting (TensorRT requires equal ranks; kiln also accepts
//! different ranks and aligns them on the right, as numpy and ONNX do).
class ElementWiseLayer : public Layer {
 public:
  using Layer::Layer;
  void setOperation(ElementWiseOperation op);
  ElementWiseOperation getOperation() const;
};

enum class ScaleMode : int32_t { kUNIFORM = 0, kCHANNEL = 1, kELEMENTWISE = 2 };

//! out = (in * scale + shift) ^ power, with per-tensor, per-channel or per-element coefficients.
//! Any of shift/scale/power may have count 0 (identity). Channel axis defaults to 1 (NCHW).
class ScaleLayer : public Layer {
 public:
  using Layer::Layer;
  ScaleMode getMode() const;
  int32_t getChannelAxis() const;
};

class IdentityLayer : public Layer {
 public:
  using Layer::Layer;
};

class CastLayer : public Layer {
 public:
  using Layer::Layer;
  void setToType(DataType toType);
  DataType getToType() const;
};

// ---------------------------------------------------------------------------------------------------------
// Pooling, reductions, normalization, softmax, matrix multiply

enum class PoolingType : int32_t { kMAX = 0, kAVERAGE = 1 };

class PoolingLayer : public Layer {
 public:
  using Layer::Layer;
  void setPoolingType(PoolingType type);
  PoolingType getPoolingType() const;
  void setWindowSizeNd(Dims windowSize);
  Dims getWindowSizeNd() const;
  void setStrideNd(Dims stride);  //!< default: 1 in every dim
  Dims getStrideNd() const;
  void setPaddingNd(Dims padding);
  Dims getPaddingNd() const;
  void setPrePadding(Dims padding);
  Dims getPrePadding() const;
  void setPostPadding(Dims padding);
  Dims getPostPadding() const;
  void setPaddingMode(PaddingMode mode);
  PaddingMode getPaddingMode() const;
  //! Average pooling: true (the default, as in TensorRT) divides by the number of non-padding elements.
  void setAverageCountExcludesPadding(bool exclusive);
  bool getAverageCountExcludesPadding() const;
  void setStride(Dims stride) { setStrideNd(stride); }
  void setPadding(Dims padding) { setPaddingNd(padding); }
};

enum class ReduceOperation : int32_t { kSUM = 0, kPROD = 1, kMAX = 2, kMIN = 3, kAVG = 4 };

class ReduceLayer : public Layer {
 public:
  using Layer::Layer;
  void setOperation(ReduceOperation op);
  ReduceOperation getOperation() const;
  //! Bit i set: reduce over dimension i.
  void setReduceAxes(uint32_t axes);
  uint32_t getReduceAxes() const;
  void setKeepDimensions(bool keep);
  bool getKeepDimensions() const;
};

//! Normalizes over the dimensions in the axes mask: y = (x - mean) / sqrt(var + eps) * scale + bias.
//! Layer norm: axes = last dims; instance norm: axes = spatial dims with scale/bias [1,C,1,1];
//! group norm: setNbGroups(G) with axes = spatial dims (channels split into G groups).
class NormalizationLayer : public Layer {
 public:
  using Layer::Layer;
  void setEpsilon(float eps);  //!< default 1e-5
  float getEpsilon() const;
  void setAxes(uint32_t axesMask);
  uint32_t getAxes() const;
  void setNbGroups(int64_t nbGroups);  //!< default 1
  int64_t getNbGroups() const;
};

//! Softmax along one axis. The default axis is max(0, nbDims - 3) as in TensorRT (the channel axis of
//! NCHW); set it with setAxes(1u << axis).
class SoftMaxLayer : public Layer {
 public:
  using Layer::Layer;
  void setAxes(uint32_t axes);
  uint32_t getAxes() const;
};

enum class MatrixOperation : int32_t {
  kNONE = 0,
  kTRANSPOSE = 1,  //!< transpose the last two dims
  kVECTOR = 2,     //!< treat the last dim as a vector (no matrix dims)
};

//! Batched matrix product with broadcasting of the batch dims.
class MatrixMultiplyLayer : public Layer {
 public:
  using Layer::Layer;
  void setOperation(int32_t index, MatrixOperation op);
  MatrixOperation getOperation(int32_t index) const;
};

// ---------------------------------------------------------------------------------------------------------
// Tensor manipulation

class ConstantLayer : public Layer {
 public:
  using Layer::Layer;
  Dims getDimensions() const;
};

//! First transpose, then reshape, then second transpose. In reshape dims, 0 copies the input dim
//! (unless setZeroIsPlaceholder(false)) and one -1 is inferred. setInput(1, shapeTensor) gives the
//! reshape dims as an INT64/INT32 tensor instead.
class ShuffleLayer : public Layer {
 public:
  using Layer::Layer;
  void setFirstTranspose(Permutation permutation);
  Permutation getFirstTranspose() const;
  void setReshapeDimensions(Dims dimensions);
  Dims getReshapeDimensions() const;  //!< {nbDims=-1} if no reshape
  void setSecondTranspose(Permutation permutation);
  Permutation getSecondTranspose() const;
  void setZeroIsPlaceholder(bool zeroIsPlaceholder);
  bool getZeroIsPlaceholder() const;
};

//! Default axis: max(0, nbDims - 3), as in TensorRT.
class ConcatenationLayer : public Layer {
 public:
  using Layer::Layer;
  void setAxis(int32_t axis);
  int32_t getAxis() const;
};

enum class SampleMode : int32_t {
  kSTRICT_BOUNDS = 0,  //!< every sampled coordinate must be inside the input
  kWRAP = 1,           //!< coordinates wrap around
  kCLAMP = 2,          //!< coordinates are clamped to the input
  kFILL = 3,           //!< out-of-bounds elements are 0
  kREFLECT = 4,        //!< coordinates reflect at the borders
};

//! out[i] = in[start + i * stride] for i < size, per dimension.
class SliceLayer : public Layer {
 public:
  using Layer::Layer;
  void setStart(Dims start);
  Dims getStart() const;
  void setSize(Dims size);
  Dims getSize() const;
  void setStride(Dims stride);
  Dims getStride() const;
  void setMode(SampleMode mode);
  SampleMode getMode() const;
};

//! Zero padding (negative values crop) of the innermost dims: prePadding/postPadding with k dims pad the
//! last k dims of the input.
class PaddingLayer : public Layer {
 public:
  using Layer::Layer;
  void setPrePaddingNd(Dims padding);
  Dims getPrePaddingNd() const;
  void setPostPaddingNd(Dims padding);
  Dims getPostPaddingNd() const;
};

enum class InterpolationMode : int32_t { kNEAREST = 0, kLINEAR = 1, kCUBIC = 2 };
using ResizeMode = InterpolationMode;
enum class ResizeCoordinateTransformation : int32_t { kALIGN_CORNERS = 0, kASYMMETRIC = 1, kHALF_PIXEL = 2 };
enum class ResizeRoundMode : int32_t { kHALF_UP = 0, kHALF_DOWN = 1, kFLOOR = 2, kCEIL = 3 };

//! Resize by output dims or by per-dim scales. kLINEAR interpolates over every resized dim.
class ResizeLayer : public Layer {
 public:
  using Layer::Layer;
  void setOutputDimensions(Dims dimensions);
  Dims getOutputDimensions() const;  //!< {nbDims=-1} when scales are used
  void setScales(const float* scales, int32_t nbScales);
  int32_t getScales(int32_t size, float* scales) const;  //!< returns the number of scales (-1: none)
  void setResizeMode(InterpolationMode mode);
  InterpolationMode getResizeMode() const;
  void setCoordinateTransformation(ResizeCoordinateTransformation t);
  ResizeCoordinateTransformation getCoordinateTransformation() const;
  void setNearestRounding(ResizeRoundMode mode);
  ResizeRoundMode getNearestRounding() const;
};

enum class GatherMode : int32_t { kDEFAULT = 0, kELEMENT = 1, kND = 2 };

//! kDEFAULT: ONNX Gather; kELEMENT: ONNX GatherElements; kND: ONNX GatherND. Negative indices count
//! from the end.
class GatherLayer : public Layer {
 public:
  using Layer::Layer;
  void setGatherAxis(int32_t axis);
  int32_t getGatherAxis() const;
  void setMode(GatherMode mode);
  GatherMode getMode() const;
  void setNbElementWiseDims(int32_t k);  //!< kND: number of leading batch dims
  int32_t getNbElementWiseDims() const;
};

enum class TopKOperation : int32_t { kMAX = 0, kMIN = 1 };

//! Two outputs: values and indices (INT32 by default as in TensorRT; setIndicesType(kINT64) for ONNX).
class TopKLayer : public Layer {
 public:
  using Layer::Layer;
  void setOperation(TopKOperation op);
  TopKOperation getOperation() const;
  void setK(int32_t k);
  int32_t getK() const;
  void setReduceAxes(uint32_t axes);  //!< exactly one bit
  uint32_t getReduceAxes() const;
  void setIndicesType(DataType type);
  DataType getIndicesType() const;
};

//! A layer over an IR operation without a dedicated class (created by the ONNX importer).
class GenericLayer : public Layer {
 public:
  using Layer::Layer;
};

// ---------------------------------------------------------------------------------------------------------

class NetworkDefinition {
 public:
  ~NetworkDefinition();
  NetworkDefinition(const NetworkDefinition&) = delete;
  NetworkDefinition& operator=(const NetworkDefinition&) = delete;

  //! Adds a network input. Dims may contain -1 (dynamic; needs an optimization profile at build time).
  Tensor* addInput(const char* name, DataType type, Dims dims);
  void markOutput(Tensor& tensor);
  void unmarkOutput(Tensor& tensor);

  ConvolutionLayer* addConvolutionNd(Tensor& input, int64_t nbOutputMaps, Dims kernelSize, Weights kernelWeights,
                                     Weights biasWeights);
  ConvolutionLayer* addConvolution(Tensor& input, int64_t nbOutputMaps, Dims kernelSize, Weights kernelWeights,
                                   Weights biasWeights) {
    return addConvolutionNd(input, nbOutputMaps, kernelSize, kernelWeights, biasWeights);
  }
  DeconvolutionLayer* addDeconvolutionNd(Tensor& input, int64_t nbOutputMaps, Dims kernelSize,
                                         Weights kernelWeights, Weights biasWeights);
  DeconvolutionLayer* addDeconvolution(Tensor& input, int64_t nbOutputMaps, Dims kernelSize, Weights kernelWeights,
                                       Weights biasWeights) {
    return addDeconvolutionNd(input, nbOutputMaps, kernelSize, kernelWeights, biasWeights);
  }
  ActivationLayer* addActivation(Tensor& input, ActivationType type);
  PoolingLayer* addPoolingNd(Tensor& input, PoolingType type, Dims windowSize);
  PoolingLayer* addPooling(Tensor& input, PoolingType type, Dims windowSize) {
    return addPoolingNd(input, type, windowSize);
  }
  ElementWiseLayer* addElementWise(Tensor& input1, Tensor& input2, ElementWiseOperation op);
  UnaryLayer* addUnary(Tensor& input, UnaryOperation op);
  SoftMaxLayer* addSoftMax(Tensor& input);
  ConcatenationLayer* addConcatenation(Tensor* const* inputs, int32_t nbInputs);
  ShuffleLayer* addShuffle(Tensor& input);
  ReduceLayer* addReduce(Tensor& input, ReduceOperation op, uint32_t reduceAxes, bool keepDimensions);
  //! Channel mode uses channel axis 1 (addScaleNd chooses another).
  ScaleLayer* addScale(Tensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power);
  ScaleLayer* addScaleNd(Tensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power,
                         int32_t channelAxis);
  NormalizationLayer* addNormalization(Tensor& input, Tensor& scale, Tensor& bias, uint32_t axesMask);
  SliceLayer* addSlice(Tensor& input, Dims start, Dims size, Dims stride);
  PaddingLayer* addPaddingNd(Tensor& input, Dims prePadding, Dims postPadding);
  ResizeLayer* addResize(Tensor& input);
  GatherLayer* addGather(Tensor& data, Tensor& indices, int32_t axis);
  GatherLayer* addGatherV2(Tensor& data, Tensor& indices, GatherMode mode);
  TopKLayer* addTopK(Tensor& input, TopKOperation op, int32_t k, uint32_t reduceAxes);
  MatrixMultiplyLayer* addMatrixMultiply(Tensor& input0, MatrixOperation op0, Tensor& input1, MatrixOperation op1);
  ConstantLayer* addConstant(Dims dimensions, Weights weights);
  IdentityLayer* addIdentity(Tensor& input);
  CastLayer* addCast(Tensor& input, DataType toType);

  int32_t getNbLayers() const noexcept;
  Layer* getLayer(int32_t index) const;
  int32_t getNbInputs() const noexcept;
  Tensor* getInput(int32_t index) const;
  int32_t getNbOutputs() const noexcept;
  Tensor* getOutput(int32_t index) const;
  //! Removes a layer whose outputs are unused and unmarked. Returns false (and logs) otherwise.
  bool removeLayer(Layer& layer);
  void setName(const char* name);
  const char* getName() const noexcept;

  // internal use
  explicit NetworkDefinition(Logger& logger);
  detail::NetworkImpl& impl() noexcept { return *impl_; }
  const detail::NetworkImpl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<detail::NetworkImpl> impl_;
};

}  // namespace kiln
