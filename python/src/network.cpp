// kiln Python bindings: NetworkDefinition, Tensor, the layers, and the ONNX parser.
#include <vector>

#include "common.h"
#include "kiln/onnx_parser.h"

namespace kilnpy {

namespace {

using namespace kiln;
constexpr auto ref = py::return_value_policy::reference_internal;

py::tuple permTuple(const Permutation& p, int n = Dims::MAX_DIMS) {
  py::tuple t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = py::int_(p.order[i]);
  return t;
}
Permutation toPerm(py::handle obj) {
  Permutation p;
  int i = 0;
  for (py::handle item : py::iter(obj)) {
    if (i >= Dims::MAX_DIMS) raise(ErrorCode::kINVALID_ARGUMENT, "a permutation has at most 8 entries");
    p.order[i++] = item.cast<int32_t>();
  }
  for (int j = i; j < Dims::MAX_DIMS; ++j) p.order[j] = j;
  return p;
}

// A Dims-valued property: the getter returns kiln.Dims, the setter takes any shape.
#define DIMS_PROP(cls, pyname, Cls, get, set)                                                               \
  cls.def_property(                                                                                          \
      pyname, [](const Cls& l) { return l.get(); }, [](Cls& l, py::object v) { l.set(toDims(v)); })

template <class Cls>
void convLike(py::class_<Cls, Layer>& c) {
  DIMS_PROP(c, "kernel_size_nd", Cls, getKernelSizeNd, setKernelSizeNd);
  DIMS_PROP(c, "stride_nd", Cls, getStrideNd, setStrideNd);
  DIMS_PROP(c, "padding_nd", Cls, getPaddingNd, setPaddingNd);
  DIMS_PROP(c, "pre_padding", Cls, getPrePadding, setPrePadding);
  DIMS_PROP(c, "post_padding", Cls, getPostPadding, setPostPadding);
  DIMS_PROP(c, "dilation_nd", Cls, getDilationNd, setDilationNd);
  // TensorRT's 2-d names
  DIMS_PROP(c, "kernel_size", Cls, getKernelSizeNd, setKernelSizeNd);
  DIMS_PROP(c, "stride", Cls, getStrideNd, setStrideNd);
  DIMS_PROP(c, "padding", Cls, getPaddingNd, setPaddingNd);
  DIMS_PROP(c, "dilation", Cls, getDilationNd, setDilationNd);
  c.def_property("num_output_maps", &Cls::getNbOutputMaps, &Cls::setNbOutputMaps);
  c.def_property("num_groups", &Cls::getNbGroups, &Cls::setNbGroups);
  c.def_property("padding_mode", &Cls::getPaddingMode, &Cls::setPaddingMode);
}

std::vector<Tensor*> tensorList(const std::vector<Tensor*>& v) {
  for (Tensor* t : v)
    if (!t) raise(ErrorCode::kINVALID_ARGUMENT, "None in the list of tensors");
  return v;
}

}  // namespace

void initNetwork(py::module_& m) {
  // ---- enums ----
  py::enum_<LayerType>(m, "LayerType")
      .value("CONVOLUTION", LayerType::kCONVOLUTION)
      .value("CAST", LayerType::kCAST)
      .value("ACTIVATION", LayerType::kACTIVATION)
      .value("POOLING", LayerType::kPOOLING)
      .value("SCALE", LayerType::kSCALE)
      .value("SOFTMAX", LayerType::kSOFTMAX)
      .value("DECONVOLUTION", LayerType::kDECONVOLUTION)
      .value("CONCATENATION", LayerType::kCONCATENATION)
      .value("ELEMENTWISE", LayerType::kELEMENTWISE)
      .value("UNARY", LayerType::kUNARY)
      .value("PADDING", LayerType::kPADDING)
      .value("SHUFFLE", LayerType::kSHUFFLE)
      .value("REDUCE", LayerType::kREDUCE)
      .value("TOPK", LayerType::kTOPK)
      .value("GATHER", LayerType::kGATHER)
      .value("MATRIX_MULTIPLY", LayerType::kMATRIX_MULTIPLY)
      .value("CONSTANT", LayerType::kCONSTANT)
      .value("IDENTITY", LayerType::kIDENTITY)
      .value("SLICE", LayerType::kSLICE)
      .value("RESIZE", LayerType::kRESIZE)
      .value("NORMALIZATION", LayerType::kNORMALIZATION)
      .value("GENERIC", LayerType::kGENERIC);
  py::enum_<PaddingMode>(m, "PaddingMode")
      .value("EXPLICIT_ROUND_DOWN", PaddingMode::kEXPLICIT_ROUND_DOWN)
      .value("EXPLICIT_ROUND_UP", PaddingMode::kEXPLICIT_ROUND_UP)
      .value("SAME_UPPER", PaddingMode::kSAME_UPPER)
      .value("SAME_LOWER", PaddingMode::kSAME_LOWER);
  py::enum_<ActivationType>(m, "ActivationType")
      .value("RELU", ActivationType::kRELU)
      .value("SIGMOID", ActivationType::kSIGMOID)
      .value("TANH", ActivationType::kTANH)
      .value("LEAKY_RELU", ActivationType::kLEAKY_RELU)
      .value("ELU", ActivationType::kELU)
      .value("SELU", ActivationType::kSELU)
      .value("SOFTSIGN", ActivationType::kSOFTSIGN)
      .value("SOFTPLUS", ActivationType::kSOFTPLUS)
      .value("CLIP", ActivationType::kCLIP)
      .value("HARD_SIGMOID", ActivationType::kHARD_SIGMOID)
      .value("SCALED_TANH", ActivationType::kSCALED_TANH)
      .value("THRESHOLDED_RELU", ActivationType::kTHRESHOLDED_RELU)
      .value("GELU_ERF", ActivationType::kGELU_ERF)
      .value("GELU_TANH", ActivationType::kGELU_TANH)
      .value("SILU", ActivationType::kSILU);
  py::enum_<UnaryOperation> unary(m, "UnaryOperation");
  {
    const std::pair<const char*, UnaryOperation> ops[] = {
        {"EXP", UnaryOperation::kEXP},     {"LOG", UnaryOperation::kLOG},     {"SQRT", UnaryOperation::kSQRT},
        {"RECIP", UnaryOperation::kRECIP}, {"ABS", UnaryOperation::kABS},     {"NEG", UnaryOperation::kNEG},
        {"SIN", UnaryOperation::kSIN},     {"COS", UnaryOperation::kCOS},     {"TAN", UnaryOperation::kTAN},
        {"SINH", UnaryOperation::kSINH},   {"COSH", UnaryOperation::kCOSH},   {"ASIN", UnaryOperation::kASIN},
        {"ACOS", UnaryOperation::kACOS},   {"ATAN", UnaryOperation::kATAN},   {"ASINH", UnaryOperation::kASINH},
        {"ACOSH", UnaryOperation::kACOSH}, {"ATANH", UnaryOperation::kATANH}, {"CEIL", UnaryOperation::kCEIL},
        {"FLOOR", UnaryOperation::kFLOOR}, {"ERF", UnaryOperation::kERF},     {"NOT", UnaryOperation::kNOT},
        {"SIGN", UnaryOperation::kSIGN},   {"ROUND", UnaryOperation::kROUND}, {"ISINF", UnaryOperation::kISINF},
        {"ISNAN", UnaryOperation::kISNAN}};
    for (const auto& [n, v] : ops) unary.value(n, v);
  }
  py::enum_<ElementWiseOperation>(m, "ElementWiseOperation")
      .value("SUM", ElementWiseOperation::kSUM)
      .value("PROD", ElementWiseOperation::kPROD)
      .value("MAX", ElementWiseOperation::kMAX)
      .value("MIN", ElementWiseOperation::kMIN)
      .value("SUB", ElementWiseOperation::kSUB)
      .value("DIV", ElementWiseOperation::kDIV)
      .value("POW", ElementWiseOperation::kPOW)
      .value("FLOOR_DIV", ElementWiseOperation::kFLOOR_DIV)
      .value("AND", ElementWiseOperation::kAND)
      .value("OR", ElementWiseOperation::kOR)
      .value("XOR", ElementWiseOperation::kXOR)
      .value("EQUAL", ElementWiseOperation::kEQUAL)
      .value("GREATER", ElementWiseOperation::kGREATER)
      .value("LESS", ElementWiseOperation::kLESS);
  py::enum_<ScaleMode>(m, "ScaleMode")
      .value("UNIFORM", ScaleMode::kUNIFORM)
      .value("CHANNEL", ScaleMode::kCHANNEL)
      .value("ELEMENTWISE", ScaleMode::kELEMENTWISE);
  py::enum_<PoolingType>(m, "PoolingType").value("MAX", PoolingType::kMAX).value("AVERAGE", PoolingType::kAVERAGE);
  py::enum_<ReduceOperation>(m, "ReduceOperation")
      .value("SUM", ReduceOperation::kSUM)
      .value("PROD", ReduceOperation::kPROD)
      .value("MAX", ReduceOperation::kMAX)
      .value("MIN", ReduceOperation::kMIN)
      .value("AVG", ReduceOperation::kAVG);
  py::enum_<MatrixOperation>(m, "MatrixOperation")
      .value("NONE", MatrixOperation::kNONE)
      .value("TRANSPOSE", MatrixOperation::kTRANSPOSE)
      .value("VECTOR", MatrixOperation::kVECTOR);
  py::enum_<SampleMode>(m, "SampleMode")
      .value("STRICT_BOUNDS", SampleMode::kSTRICT_BOUNDS)
      .value("WRAP", SampleMode::kWRAP)
      .value("CLAMP", SampleMode::kCLAMP)
      .value("FILL", SampleMode::kFILL)
      .value("REFLECT", SampleMode::kREFLECT);
  py::enum_<InterpolationMode>(m, "InterpolationMode")
      .value("NEAREST", InterpolationMode::kNEAREST)
      .value("LINEAR", InterpolationMode::kLINEAR)
      .value("CUBIC", InterpolationMode::kCUBIC);
  m.attr("ResizeMode") = m.attr("InterpolationMode");
  py::enum_<ResizeCoordinateTransformation>(m, "ResizeCoordinateTransformation")
      .value("ALIGN_CORNERS", ResizeCoordinateTransformation::kALIGN_CORNERS)
      .value("ASYMMETRIC", ResizeCoordinateTransformation::kASYMMETRIC)
      .value("HALF_PIXEL", ResizeCoordinateTransformation::kHALF_PIXEL);
  py::enum_<ResizeRoundMode>(m, "ResizeRoundMode")
      .value("HALF_UP", ResizeRoundMode::kHALF_UP)
      .value("HALF_DOWN", ResizeRoundMode::kHALF_DOWN)
      .value("FLOOR", ResizeRoundMode::kFLOOR)
      .value("CEIL", ResizeRoundMode::kCEIL);
  py::enum_<GatherMode>(m, "GatherMode")
      .value("DEFAULT", GatherMode::kDEFAULT)
      .value("ELEMENT", GatherMode::kELEMENT)
      .value("ND", GatherMode::kND);
  py::enum_<TopKOperation>(m, "TopKOperation").value("MAX", TopKOperation::kMAX).value("MIN", TopKOperation::kMIN);
  // TensorRT scripts write `1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)`; kiln networks are
  // always explicit-batch and ignore the flags.
  {
    py::object flags = py::module_::import("types").attr("SimpleNamespace")();
    flags.attr("EXPLICIT_BATCH") = 0;
    flags.attr("STRONGLY_TYPED") = 1;
    m.attr("NetworkDefinitionCreationFlag") = flags;
  }

  // ---- Tensor ----
  py::class_<Tensor> tensor(m, "ITensor", "A tensor of a network (name, dtype, shape); not a buffer.");
  tensor
      .def_property(
          "name", [](const Tensor& t) { return std::string(t.getName()); },
          [](Tensor& t, const std::string& n) { t.setName(n.c_str()); })
      .def_property(
          "shape", [](const Tensor& t) { return t.getDimensions(); },
          [](Tensor& t, py::object s) { t.setDimensions(toDims(s)); })
      .def_property("dtype", &Tensor::getType, &Tensor::setType)
      .def_property_readonly("is_network_input", &Tensor::isNetworkInput)
      .def_property_readonly("is_network_output", &Tensor::isNetworkOutput)
      .def("__repr__", [](const Tensor& t) {
        return std::string("<kiln.ITensor '") + t.getName() + "' " + kiln::dataTypeName(t.getType()) + " " +
               kiln::toString(t.getDimensions()) + ">";
      });
  m.attr("Tensor") = tensor;

  // ---- Layers ----
  py::class_<Layer> layer(m, "ILayer");
  layer
      .def_property(
          "name", [](const Layer& l) { return std::string(l.getName()); },
          [](Layer& l, const std::string& n) { l.setName(n.c_str()); })
      .def_property_readonly("type", &Layer::getType)
      .def_property_readonly("op_type", [](const Layer& l) { return std::string(l.getOpType()); })
      .def_property_readonly("num_inputs", &Layer::getNbInputs)
      .def_property_readonly("num_outputs", &Layer::getNbOutputs)
      .def("get_input", &Layer::getInput, py::arg("index"), ref)
      .def("get_output", &Layer::getOutput, py::arg("index"), ref)
      .def("set_input", &Layer::setInput, py::arg("index"), py::arg("tensor"))
      .def("__repr__", [](const Layer& l) {
        return std::string("<kiln.") + layerTypeName(l.getType()) + " layer '" + l.getName() + "'>";
      });
  m.attr("Layer") = layer;

  py::class_<ConvolutionLayer, Layer> conv(m, "IConvolutionLayer");
  convLike(conv);
  py::class_<DeconvolutionLayer, Layer> deconv(m, "IDeconvolutionLayer");
  convLike(deconv);
  py::class_<ActivationLayer, Layer>(m, "IActivationLayer")
      .def_property("type", &ActivationLayer::getActivationType, &ActivationLayer::setActivationType)
      .def_property("alpha", &ActivationLayer::getAlpha, &ActivationLayer::setAlpha)
      .def_property("beta", &ActivationLayer::getBeta, &ActivationLayer::setBeta);
  py::class_<UnaryLayer, Layer>(m, "IUnaryLayer").def_property("op", &UnaryLayer::getOperation, &UnaryLayer::setOperation);
  py::class_<ElementWiseLayer, Layer>(m, "IElementWiseLayer")
      .def_property("op", &ElementWiseLayer::getOperation, &ElementWiseLayer::setOperation);
  py::class_<ScaleLayer, Layer>(m, "IScaleLayer")
      .def_property_readonly("mode", &ScaleLayer::getMode)
      .def_property_readonly("channel_axis", &ScaleLayer::getChannelAxis);
  py::class_<IdentityLayer, Layer>(m, "IIdentityLayer");
  py::class_<CastLayer, Layer>(m, "ICastLayer").def_property("to_type", &CastLayer::getToType, &CastLayer::setToType);
  py::class_<PoolingLayer, Layer> pool(m, "IPoolingLayer");
  pool.def_property("type", &PoolingLayer::getPoolingType, &PoolingLayer::setPoolingType)
      .def_property("padding_mode", &PoolingLayer::getPaddingMode, &PoolingLayer::setPaddingMode)
      .def_property("average_count_excludes_padding", &PoolingLayer::getAverageCountExcludesPadding,
                    &PoolingLayer::setAverageCountExcludesPadding);
  DIMS_PROP(pool, "window_size_nd", PoolingLayer, getWindowSizeNd, setWindowSizeNd);
  DIMS_PROP(pool, "window_size", PoolingLayer, getWindowSizeNd, setWindowSizeNd);
  DIMS_PROP(pool, "stride_nd", PoolingLayer, getStrideNd, setStrideNd);
  DIMS_PROP(pool, "stride", PoolingLayer, getStrideNd, setStrideNd);
  DIMS_PROP(pool, "padding_nd", PoolingLayer, getPaddingNd, setPaddingNd);
  DIMS_PROP(pool, "padding", PoolingLayer, getPaddingNd, setPaddingNd);
  DIMS_PROP(pool, "pre_padding", PoolingLayer, getPrePadding, setPrePadding);
  DIMS_PROP(pool, "post_padding", PoolingLayer, getPostPadding, setPostPadding);
  py::class_<ReduceLayer, Layer>(m, "IReduceLayer")
      .def_property("op", &ReduceLayer::getOperation, &ReduceLayer::setOperation)
      .def_property("axes", &ReduceLayer::getReduceAxes, &ReduceLayer::setReduceAxes)
      .def_property("keep_dims", &ReduceLayer::getKeepDimensions, &ReduceLayer::setKeepDimensions);
  py::class_<NormalizationLayer, Layer>(m, "INormalizationLayer")
      .def_property("epsilon", &NormalizationLayer::getEpsilon, &NormalizationLayer::setEpsilon)
      .def_property("axes", &NormalizationLayer::getAxes, &NormalizationLayer::setAxes)
      .def_property("num_groups", &NormalizationLayer::getNbGroups, &NormalizationLayer::setNbGroups);
  py::class_<SoftMaxLayer, Layer>(m, "ISoftMaxLayer").def_property("axes", &SoftMaxLayer::getAxes, &SoftMaxLayer::setAxes);
  py::class_<MatrixMultiplyLayer, Layer>(m, "IMatrixMultiplyLayer")
      .def_property(
          "op0", [](const MatrixMultiplyLayer& l) { return l.getOperation(0); },
          [](MatrixMultiplyLayer& l, MatrixOperation op) { l.setOperation(0, op); })
      .def_property(
          "op1", [](const MatrixMultiplyLayer& l) { return l.getOperation(1); },
          [](MatrixMultiplyLayer& l, MatrixOperation op) { l.setOperation(1, op); })
      .def("get_operation", &MatrixMultiplyLayer::getOperation)
      .def("set_operation", &MatrixMultiplyLayer::setOperation);
  py::class_<ConstantLayer, Layer>(m, "IConstantLayer").def_property_readonly("shape", &ConstantLayer::getDimensions);
  py::class_<ShuffleLayer, Layer> shuffle(m, "IShuffleLayer");
  shuffle
      .def_property(
          "first_transpose", [](const ShuffleLayer& l) { return permTuple(l.getFirstTranspose()); },
          [](ShuffleLayer& l, py::object p) { l.setFirstTranspose(toPerm(p)); })
      .def_property(
          "second_transpose", [](const ShuffleLayer& l) { return permTuple(l.getSecondTranspose()); },
          [](ShuffleLayer& l, py::object p) { l.setSecondTranspose(toPerm(p)); })
      .def_property("zero_is_placeholder", &ShuffleLayer::getZeroIsPlaceholder, &ShuffleLayer::setZeroIsPlaceholder);
  DIMS_PROP(shuffle, "reshape_dims", ShuffleLayer, getReshapeDimensions, setReshapeDimensions);
  py::class_<ConcatenationLayer, Layer>(m, "IConcatenationLayer")
      .def_property("axis", &ConcatenationLayer::getAxis, &ConcatenationLayer::setAxis);
  py::class_<SliceLayer, Layer> slice(m, "ISliceLayer");
  DIMS_PROP(slice, "start", SliceLayer, getStart, setStart);
  DIMS_PROP(slice, "shape", SliceLayer, getSize, setSize);
  DIMS_PROP(slice, "stride", SliceLayer, getStride, setStride);
  slice.def_property("mode", &SliceLayer::getMode, &SliceLayer::setMode);
  py::class_<PaddingLayer, Layer> padding(m, "IPaddingLayer");
  DIMS_PROP(padding, "pre_padding_nd", PaddingLayer, getPrePaddingNd, setPrePaddingNd);
  DIMS_PROP(padding, "post_padding_nd", PaddingLayer, getPostPaddingNd, setPostPaddingNd);
  py::class_<ResizeLayer, Layer> resize(m, "IResizeLayer");
  DIMS_PROP(resize, "shape", ResizeLayer, getOutputDimensions, setOutputDimensions);
  resize
      .def_property(
          "scales",
          [](const ResizeLayer& l) {
            float buf[Dims::MAX_DIMS];
            int n = l.getScales(Dims::MAX_DIMS, buf);
            return n < 0 ? std::vector<float>{} : std::vector<float>(buf, buf + n);
          },
          [](ResizeLayer& l, const std::vector<float>& s) { l.setScales(s.data(), static_cast<int32_t>(s.size())); })
      .def_property("resize_mode", &ResizeLayer::getResizeMode, &ResizeLayer::setResizeMode)
      .def_property("coordinate_transformation", &ResizeLayer::getCoordinateTransformation,
                    &ResizeLayer::setCoordinateTransformation)
      .def_property("nearest_rounding", &ResizeLayer::getNearestRounding, &ResizeLayer::setNearestRounding);
  py::class_<GatherLayer, Layer>(m, "IGatherLayer")
      .def_property("axis", &GatherLayer::getGatherAxis, &GatherLayer::setGatherAxis)
      .def_property("mode", &GatherLayer::getMode, &GatherLayer::setMode)
      .def_property("num_elementwise_dims", &GatherLayer::getNbElementWiseDims, &GatherLayer::setNbElementWiseDims);
  py::class_<TopKLayer, Layer>(m, "ITopKLayer")
      .def_property("op", &TopKLayer::getOperation, &TopKLayer::setOperation)
      .def_property("k", &TopKLayer::getK, &TopKLayer::setK)
      .def_property("axes", &TopKLayer::getReduceAxes, &TopKLayer::setReduceAxes)
      .def_property("indices_type", &TopKLayer::getIndicesType, &TopKLayer::setIndicesType);
  py::class_<GenericLayer, Layer>(m, "IGenericLayer");

  // ---- NetworkDefinition ----
  py::class_<NetworkDefinition, Holder<NetworkDefinition>> net(m, "INetworkDefinition");
  withContextManager(net);
  net.def_property(
         "name", [](const NetworkDefinition& n) { return std::string(n.getName()); },
         [](NetworkDefinition& n, const std::string& s) { n.setName(s.c_str()); })
      .def_property_readonly("num_layers", &NetworkDefinition::getNbLayers)
      .def_property_readonly("num_inputs", &NetworkDefinition::getNbInputs)
      .def_property_readonly("num_outputs", &NetworkDefinition::getNbOutputs)
      .def_property_readonly("has_implicit_batch_dimension", [](const NetworkDefinition&) { return false; })
      .def("get_layer", &NetworkDefinition::getLayer, py::arg("index"), ref)
      .def("get_input", &NetworkDefinition::getInput, py::arg("index"), ref)
      .def("get_output", &NetworkDefinition::getOutput, py::arg("index"), ref)
      .def("__len__", &NetworkDefinition::getNbLayers)
      .def(
          "__getitem__",
          [](const NetworkDefinition& n, int32_t i) {
            if (i < 0) i += n.getNbLayers();
            if (i < 0 || i >= n.getNbLayers()) throw py::index_error("layer index out of range");
            return n.getLayer(i);
          },
          ref)
      .def("remove_layer", &NetworkDefinition::removeLayer, py::arg("layer"))
      .def(
          "add_input",
          [](NetworkDefinition& n, const std::string& name, py::object dtype, py::object shape) {
            DataType t = py::isinstance<DataType>(dtype) ? dtype.cast<DataType>() : fromNumpy(py::dtype::from_args(dtype));
            return n.addInput(name.c_str(), t, toDims(shape));
          },
          py::arg("name"), py::arg("dtype"), py::arg("shape"), ref)
      .def("mark_output", &NetworkDefinition::markOutput, py::arg("tensor"))
      .def("unmark_output", &NetworkDefinition::unmarkOutput, py::arg("tensor"))
      .def(
          "add_convolution_nd",
          [](NetworkDefinition& n, Tensor& in, int64_t maps, py::object kernelShape, py::object kernel, py::object bias) {
            WeightsArg k = toWeights(kernel), b = toWeights(bias);
            return n.addConvolutionNd(in, maps, toDims(kernelShape), k.w, b.w);
          },
          py::arg("input"), py::arg("num_output_maps"), py::arg("kernel_shape"), py::arg("kernel"),
          py::arg("bias") = py::none(), ref)
      .def(
          "add_deconvolution_nd",
          [](NetworkDefinition& n, Tensor& in, int64_t maps, py::object kernelShape, py::object kernel, py::object bias) {
            WeightsArg k = toWeights(kernel), b = toWeights(bias);
            return n.addDeconvolutionNd(in, maps, toDims(kernelShape), k.w, b.w);
          },
          py::arg("input"), py::arg("num_output_maps"), py::arg("kernel_shape"), py::arg("kernel"),
          py::arg("bias") = py::none(), ref)
      .def("add_activation", &NetworkDefinition::addActivation, py::arg("input"), py::arg("type"), ref)
      .def(
          "add_pooling_nd",
          [](NetworkDefinition& n, Tensor& in, PoolingType t, py::object window) {
            return n.addPoolingNd(in, t, toDims(window));
          },
          py::arg("input"), py::arg("type"), py::arg("window_size"), ref)
      .def("add_elementwise", &NetworkDefinition::addElementWise, py::arg("input1"), py::arg("input2"), py::arg("op"), ref)
      .def("add_unary", &NetworkDefinition::addUnary, py::arg("input"), py::arg("op"), ref)
      .def("add_softmax", &NetworkDefinition::addSoftMax, py::arg("input"), ref)
      .def(
          "add_concatenation",
          [](NetworkDefinition& n, const std::vector<Tensor*>& inputs) {
            auto v = tensorList(inputs);
            return n.addConcatenation(v.data(), static_cast<int32_t>(v.size()));
          },
          py::arg("inputs"), ref)
      .def("add_shuffle", &NetworkDefinition::addShuffle, py::arg("input"), ref)
      .def(
          "add_reduce",
          [](NetworkDefinition& n, Tensor& in, ReduceOperation op, uint32_t axes, bool keep) {
            return n.addReduce(in, op, axes, keep);
          },
          py::arg("input"), py::arg("op"), py::arg("axes"), py::arg("keep_dims"), ref)
      .def(
          "add_scale",
          [](NetworkDefinition& n, Tensor& in, ScaleMode mode, py::object shift, py::object scale, py::object power) {
            WeightsArg a = toWeights(shift), b = toWeights(scale), c = toWeights(power);
            return n.addScale(in, mode, a.w, b.w, c.w);
          },
          py::arg("input"), py::arg("mode"), py::arg("shift") = py::none(), py::arg("scale") = py::none(),
          py::arg("power") = py::none(), ref)
      .def(
          "add_scale_nd",
          [](NetworkDefinition& n, Tensor& in, ScaleMode mode, py::object shift, py::object scale, py::object power,
             int32_t axis) {
            WeightsArg a = toWeights(shift), b = toWeights(scale), c = toWeights(power);
            return n.addScaleNd(in, mode, a.w, b.w, c.w, axis);
          },
          py::arg("input"), py::arg("mode"), py::arg("shift") = py::none(), py::arg("scale") = py::none(),
          py::arg("power") = py::none(), py::arg("channel_axis") = 1, ref)
      .def("add_normalization", &NetworkDefinition::addNormalization, py::arg("input"), py::arg("scale"),
           py::arg("bias"), py::arg("axesMask"), ref)
      .def(
          "add_slice",
          [](NetworkDefinition& n, Tensor& in, py::object start, py::object shape, py::object stride) {
            return n.addSlice(in, toDims(start), toDims(shape), toDims(stride));
          },
          py::arg("input"), py::arg("start"), py::arg("shape"), py::arg("stride"), ref)
      .def(
          "add_padding_nd",
          [](NetworkDefinition& n, Tensor& in, py::object pre, py::object post) {
            return n.addPaddingNd(in, toDims(pre), toDims(post));
          },
          py::arg("input"), py::arg("pre_padding"), py::arg("post_padding"), ref)
      .def("add_resize", &NetworkDefinition::addResize, py::arg("input"), ref)
      .def("add_gather", &NetworkDefinition::addGather, py::arg("input"), py::arg("indices"), py::arg("axis"), ref)
      .def("add_gather_v2", &NetworkDefinition::addGatherV2, py::arg("input"), py::arg("indices"), py::arg("mode"), ref)
      .def("add_topk", &NetworkDefinition::addTopK, py::arg("input"), py::arg("op"), py::arg("k"), py::arg("axes"), ref)
      .def("add_matrix_multiply", &NetworkDefinition::addMatrixMultiply, py::arg("input0"), py::arg("op0"),
           py::arg("input1"), py::arg("op1"), ref)
      .def(
          "add_constant",
          [](NetworkDefinition& n, py::object shape, py::object weights) {
            WeightsArg w = toWeights(weights);
            return n.addConstant(toDims(shape), w.w);
          },
          py::arg("shape"), py::arg("weights"), ref)
      .def("add_identity", &NetworkDefinition::addIdentity, py::arg("input"), ref)
      .def("add_cast", &NetworkDefinition::addCast, py::arg("input"), py::arg("to_type"), ref);

  // ---- ONNX parser ----
  py::class_<onnx::ParserError>(m, "ParserError")
      .def("code", &onnx::ParserError::code)
      .def("desc", [](const onnx::ParserError& e) { return std::string(e.desc()); })
      .def("node_name", [](const onnx::ParserError& e) { return std::string(e.nodeName()); })
      .def("node_operator", [](const onnx::ParserError& e) { return std::string(e.nodeOperator()); })
      .def("node_domain", [](const onnx::ParserError& e) { return std::string(e.nodeDomain()); })
      .def("opset", &onnx::ParserError::opset)
      .def("reason", [](const onnx::ParserError& e) { return std::string(e.reason()); })
      .def("node", &onnx::ParserError::node)
      .def_property_readonly("op", [](const onnx::ParserError& e) { return std::string(e.nodeOperator()); })
      .def("__str__", [](const onnx::ParserError& e) { return std::string(e.desc()); })
      .def("__repr__", [](const onnx::ParserError& e) { return "<kiln.ParserError " + std::string(e.desc()) + ">"; });

  py::class_<onnx::Parser> parser(m, "OnnxParser", "kiln.OnnxParser(network, logger): fills a network from ONNX.");
  withContextManager(parser);
  parser
      .def(py::init([](NetworkDefinition& net, kiln::Logger& logger) { return onnx::createParser(net, logger); }),
           py::arg("network"), py::arg("logger"), py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def(
          "parse",
          [](onnx::Parser& p, py::buffer model, py::object path) {
            py::buffer_info info = model.request();
            std::string base = path.is_none() ? std::string() : py::str(path).cast<std::string>();
            py::gil_scoped_release nogil;
            return p.parse(info.ptr, static_cast<size_t>(info.size * info.itemsize), base.empty() ? nullptr : base.c_str());
          },
          py::arg("model"), py::arg("path") = py::none(),
          "Parses ONNX bytes; path: directory for external data. False if anything could not be imported "
          "(see num_errors / get_error).")
      .def(
          "parse_from_file",
          [](onnx::Parser& p, py::object path) {
            std::string s = py::str(path);
            py::gil_scoped_release nogil;
            return p.parseFromFile(s.c_str());
          },
          py::arg("model"))
      .def_property_readonly("num_errors", &onnx::Parser::getNbErrors)
      .def("get_error", &onnx::Parser::getError, py::arg("index"), ref)
      .def("clear_errors", &onnx::Parser::clearErrors)
      .def(
          "supports_operator",
          [](const onnx::Parser& p, const std::string& op, int64_t opset, const std::string& domain) {
            return p.supportsOperator(op.c_str(), opset, domain.c_str());
          },
          py::arg("op_name"), py::arg("opset") = 0, py::arg("domain") = "");
}

}  // namespace kilnpy
