// Layer API of the elementwise family: activation, unary, elementwise, scale, identity, cast.
//
// Design notes:
//  * ActivationLayer: one IR node whose op depends on the activation type (Relu, LeakyRelu, Clip, ...).
//    The layer's (type, alpha, beta) are stored on the node as attributes "kiln_activation_type",
//    "kiln_alpha", "kiln_beta"; configureActivation() (re)writes the node's op, ONNX attributes and
//    inputs from them, so setActivationType/setAlpha/setBeta can switch ops freely. Clip's min/max are
//    constant inputs (ONNX), re-created in the input's type on every change.
//  * UnaryLayer / ElementWiseLayer: one node; the operation is the node's op (mapped back by the getters).
//  * ScaleLayer: helper nodes Mul(x, scale) -> Add(., shift) -> Pow(., power) with constant inputs,
//    skipping the ones whose weights have count 0 (Identity if all are skipped). The layer's node is the
//    LAST one, so getOutput(0) is the result; mode and channel axis are stored on it as attributes
//    "kiln_scale_mode" / "kiln_channel_axis".
#include <cmath>
#include <limits>

#include "core/dtype.h"
#include "network/network_impl.h"

namespace kiln {
namespace {

using detail::NetworkImpl;

[[noreturn]] void invalidArg(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

//! Converts a double to element type T (ints truncate and saturate; NaN -> 0).
template <class T>
T castValue(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

//! A constant of type `dtype` and `shape` holding `values` (converted).
std::shared_ptr<ir::TensorData> makeConverted(DataType dtype, const ir::Shape& shape, const std::vector<double>& values) {
  void* out = nullptr;
  auto t = ir::makeTensor(dtype, shape, &out);
  dispatchType(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      auto* p = static_cast<uint8_t*>(out);
      for (size_t i = 0; i < values.size(); ++i) p[i] = values[i] != 0;
    } else {
      auto* p = static_cast<T*>(out);
      for (size_t i = 0; i < values.size(); ++i) p[i] = castValue<T>(values[i]);
    }
  });
  return t;
}

//! The element type a value has after inference (kFLOAT if unknown).
DataType valueType(NetworkImpl& net, ir::Value* v) {
  net.inferShapes();
  return v ? v->dtype : DataType::kFLOAT;
}

// ---------------------------------------------------------------------------------------------------------
// Activation

const char* activationOp(ActivationType t) {
  switch (t) {
    case ActivationType::kRELU: return "Relu";
    case ActivationType::kSIGMOID: return "Sigmoid";
    case ActivationType::kTANH: return "Tanh";
    case ActivationType::kLEAKY_RELU: return "LeakyRelu";
    case ActivationType::kELU: return "Elu";
    case ActivationType::kSELU: return "Selu";
    case ActivationType::kSOFTSIGN: return "Softsign";
    case ActivationType::kSOFTPLUS: return "Softplus";
    case ActivationType::kCLIP: return "Clip";
    case ActivationType::kHARD_SIGMOID: return "HardSigmoid";
    case ActivationType::kSCALED_TANH: return "ScaledTanh";
    case ActivationType::kTHRESHOLDED_RELU: return "ThresholdedRelu";
    case ActivationType::kGELU_ERF: return "Gelu";
    case ActivationType::kGELU_TANH: return "Gelu";
    case ActivationType::kSILU: return "Silu";
  }
  invalidArg("unknown ActivationType " + std::to_string(static_cast<int>(t)));
}

//! TensorRT's default alpha/beta per activation type.
void activationDefaults(ActivationType t, float& alpha, float& beta) {
  alpha = 0.f;
  beta = 0.f;
  switch (t) {
    case ActivationType::kLEAKY_RELU: alpha = 0.01f; break;
    case ActivationType::kELU: alpha = 1.f; break;
    case ActivationType::kSELU:
      alpha = 1.67326319217681884765625f;
      beta = 1.05070102214813232421875f;
      break;
    case ActivationType::kSOFTPLUS: alpha = beta = 1.f; break;
    case ActivationType::kHARD_SIGMOID:
      alpha = 0.2f;
      beta = 0.5f;
      break;
    case ActivationType::kSCALED_TANH: alpha = beta = 1.f; break;
    case ActivationType::kTHRESHOLDED_RELU: alpha = 1.f; break;
    default: break;
  }
}

//! (Re)writes the node's op, attributes and inputs from (type, alpha, beta).
void configureActivation(NetworkImpl& net, ir::Node* node, ActivationType type, float alpha, float beta) {
  const char* op = activationOp(type);  // validates the type
  ir::Attributes& a = node->attrs;
  for (const char* k : {"alpha", "beta", "gamma", "approximate"}) a.erase(k);
  a.setInt("kiln_activation_type", static_cast<int64_t>(type));
  a.setFloat("kiln_alpha", alpha);
  a.setFloat("kiln_beta", beta);
  node->op = op;
  node->inputs.resize(1);
  switch (type) {
    case ActivationType::kLEAKY_RELU:
    case ActivationType::kELU:
    case ActivationType::kTHRESHOLDED_RELU: a.setFloat("alpha", alpha); break;
    case ActivationType::kSELU:
      a.setFloat("alpha", alpha);
      a.setFloat("gamma", beta);
      break;
    case ActivationType::kSOFTPLUS:
    case ActivationType::kHARD_SIGMOID:
    case ActivationType::kSCALED_TANH:
      a.setFloat("alpha", alpha);
      a.setFloat("beta", beta);
      break;
    case ActivationType::kGELU_TANH: a.setString("approximate", "tanh"); break;
    case ActivationType::kCLIP: {
      DataType dt = valueType(net, node->inputs[0]);
      if (!isKnownType(dt) || dt == DataType::kBOOL) dt = DataType::kFLOAT;
      node->inputs.push_back(net.addConstantValue(makeConverted(dt, {}, {alpha}), node->name + "_min"));
      node->inputs.push_back(net.addConstantValue(makeConverted(dt, {}, {beta}), node->name + "_max"));
      break;
    }
    default: break;
  }
  net.markDirty();
}

// ---------------------------------------------------------------------------------------------------------
// Unary / ElementWise op tables

struct UnaryEntry {
  UnaryOperation op;
  const char* name;
};
constexpr UnaryEntry kUnaryOps[] = {
    {UnaryOperation::kEXP, "Exp"},     {UnaryOperation::kLOG, "Log"},     {UnaryOperation::kSQRT, "Sqrt"},
    {UnaryOperation::kRECIP, "Reciprocal"}, {UnaryOperation::kABS, "Abs"}, {UnaryOperation::kNEG, "Neg"},
    {UnaryOperation::kSIN, "Sin"},     {UnaryOperation::kCOS, "Cos"},     {UnaryOperation::kTAN, "Tan"},
    {UnaryOperation::kSINH, "Sinh"},   {UnaryOperation::kCOSH, "Cosh"},   {UnaryOperation::kASIN, "Asin"},
    {UnaryOperation::kACOS, "Acos"},   {UnaryOperation::kATAN, "Atan"},   {UnaryOperation::kASINH, "Asinh"},
    {UnaryOperation::kACOSH, "Acosh"}, {UnaryOperation::kATANH, "Atanh"}, {UnaryOperation::kCEIL, "Ceil"},
    {UnaryOperation::kFLOOR, "Floor"}, {UnaryOperation::kERF, "Erf"},     {UnaryOperation::kNOT, "Not"},
    {UnaryOperation::kSIGN, "Sign"},   {UnaryOperation::kROUND, "Round"}, {UnaryOperation::kISINF, "IsInf"},
    {UnaryOperation::kISNAN, "IsNaN"},
};

const char* unaryOp(UnaryOperation op) {
  for (const auto& e : kUnaryOps)
    if (e.op == op) return e.name;
  invalidArg("unknown UnaryOperation " + std::to_string(static_cast<int>(op)));
}

struct ElementWiseEntry {
  ElementWiseOperation op;
  const char* name;
};
constexpr ElementWiseEntry kElementWiseOps[] = {
    {ElementWiseOperation::kSUM, "Add"},       {ElementWiseOperation::kPROD, "Mul"},
    {ElementWiseOperation::kMAX, "Max"},       {ElementWiseOperation::kMIN, "Min"},
    {ElementWiseOperation::kSUB, "Sub"},       {ElementWiseOperation::kDIV, "Div"},
    {ElementWiseOperation::kPOW, "Pow"},       {ElementWiseOperation::kFLOOR_DIV, "FloorDiv"},
    {ElementWiseOperation::kAND, "And"},       {ElementWiseOperation::kOR, "Or"},
    {ElementWiseOperation::kXOR, "Xor"},       {ElementWiseOperation::kEQUAL, "Equal"},
    {ElementWiseOperation::kGREATER, "Greater"}, {ElementWiseOperation::kLESS, "Less"},
};

const char* elementWiseOp(ElementWiseOperation op) {
  for (const auto& e : kElementWiseOps)
    if (e.op == op) return e.name;
  invalidArg("unknown ElementWiseOperation " + std::to_string(static_cast<int>(op)));
}

// ---------------------------------------------------------------------------------------------------------
// Scale

//! Weights as a constant of `dtype` (converted when both are float types and differ).
ir::Value* scaleCoefficients(NetworkImpl& net, const Weights& w, const ir::Shape& shape, DataType dtype,
                             const std::string& name) {
  if (w.type == dtype || !isFloatingType(dtype) || !isFloatingType(w.type)) return net.addWeights(w, shape, name);
  // validate count/pointer/type first, then convert the copied tensor
  ir::Value* v = net.addWeights(w, shape, name);
  std::vector<double> vals(static_cast<size_t>(w.count));
  for (int64_t i = 0; i < w.count; ++i) vals[static_cast<size_t>(i)] = v->constant->floatAt(i);
  v->constant = makeConverted(dtype, shape, vals);
  v->dtype = dtype;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// NetworkDefinition::add*

ActivationLayer* NetworkDefinition::addActivation(Tensor& input, ActivationType type) {
  activationOp(type);  // validates before anything is added
  auto* layer = impl_->addLayer<ActivationLayer>(LayerType::kACTIVATION, activationOp(type), {input.irValue()}, 1);
  float alpha, beta;
  activationDefaults(type, alpha, beta);
  configureActivation(*impl_, layer->irNode(), type, alpha, beta);
  return layer;
}

UnaryLayer* NetworkDefinition::addUnary(Tensor& input, UnaryOperation op) {
  return impl_->addLayer<UnaryLayer>(LayerType::kUNARY, unaryOp(op), {input.irValue()}, 1);
}

ElementWiseLayer* NetworkDefinition::addElementWise(Tensor& input1, Tensor& input2, ElementWiseOperation op) {
  return impl_->addLayer<ElementWiseLayer>(LayerType::kELEMENTWISE, elementWiseOp(op),
                                           {input1.irValue(), input2.irValue()}, 1);
}

IdentityLayer* NetworkDefinition::addIdentity(Tensor& input) {
  return impl_->addLayer<IdentityLayer>(LayerType::kIDENTITY, "Identity", {input.irValue()}, 1);
}

CastLayer* NetworkDefinition::addCast(Tensor& input, DataType toType) {
  if (!isKnownType(toType)) invalidArg("addCast: unknown data type " + std::to_string(static_cast<int>(toType)));
  auto* layer = impl_->addLayer<CastLayer>(LayerType::kCAST, "Cast", {input.irValue()}, 1);
  layer->irNode()->attrs.setInt("to", static_cast<int64_t>(toType));
  return layer;
}

ScaleLayer* NetworkDefinition::addScale(Tensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power) {
  return addScaleNd(input, mode, shift, scale, power, 1);
}

ScaleLayer* NetworkDefinition::addScaleNd(Tensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power,
                                          int32_t channelAxis) {
  if (mode != ScaleMode::kUNIFORM && mode != ScaleMode::kCHANNEL && mode != ScaleMode::kELEMENTWISE)
    invalidArg("addScale: unknown ScaleMode " + std::to_string(static_cast<int>(mode)));
  for (const Weights* w : {&shift, &scale, &power})
    if (w->count < 0) invalidArg("addScale: negative weights count");
  NetworkImpl& net = *impl_;
  const Dims dims = input.getDimensions();
  const DataType dtype = valueType(net, input.irValue());

  // Coefficient shape (shared by shift, scale and power), validated against the known dims.
  auto coefShape = [&](int64_t count) -> ir::Shape {
    if (mode == ScaleMode::kUNIFORM) {
      if (count != 1) invalidArg("addScale: kUNIFORM needs 1 coefficient, got " + std::to_string(count));
      return {};
    }
    if (dims.nbDims < 0) invalidArg("addScale: the input's dims are invalid");
    const int64_t rank = dims.nbDims;
    if (channelAxis < 0 || channelAxis >= rank)
      invalidArg("addScale: channel axis " + std::to_string(channelAxis) + " is out of range for rank " +
                 std::to_string(rank));
    if (mode == ScaleMode::kCHANNEL) {
      int64_t c = dims.d[channelAxis];
      if (c >= 0 && c != count)
        invalidArg("addScale: kCHANNEL needs " + std::to_string(c) + " coefficients (dim " +
                   std::to_string(channelAxis) + "), got " + std::to_string(count));
      ir::Shape s(static_cast<size_t>(rank - channelAxis), 1);
      s[0] = count;
      return s;
    }
    ir::Shape s(dims.d + channelAxis, dims.d + rank);
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] < 0) {
        if (unknown >= 0) invalidArg("addScale: kELEMENTWISE needs static dims from the channel axis on");
        unknown = static_cast<int64_t>(i);
      } else {
        known *= s[i];
      }
    }
    if (unknown >= 0) {
      if (known == 0 || count % known != 0)
        invalidArg("addScale: kELEMENTWISE coefficient count " + std::to_string(count) + " does not fit " + toString(dims));
      s[static_cast<size_t>(unknown)] = count / known;
    } else if (known != count) {
      invalidArg("addScale: kELEMENTWISE needs " + std::to_string(known) + " coefficients, got " + std::to_string(count));
    }
    return s;
  };

  // Validate everything before adding anything to the graph.
  ir::Shape scaleShape, shiftShape, powerShape;
  if (scale.count) scaleShape = coefShape(scale.count);
  if (shift.count) shiftShape = coefShape(shift.count);
  if (power.count) powerShape = coefShape(power.count);

  const std::string base = "(Unnamed Layer* " + std::to_string(net.layers().size()) + ") [Scale]";
  auto& g = net.graph();
  struct Step {
    const char* op;
    const Weights* w;
    const ir::Shape* shape;
    const char* tag;
  };
  std::vector<Step> steps;
  if (scale.count) steps.push_back({"Mul", &scale, &scaleShape, "scale"});
  if (shift.count) steps.push_back({"Add", &shift, &shiftShape, "shift"});
  if (power.count) steps.push_back({"Pow", &power, &powerShape, "power"});

  ir::Value* cur = input.irValue();
  ScaleLayer* layer = nullptr;
  if (steps.empty()) {
    layer = net.addLayer<ScaleLayer>(LayerType::kSCALE, "Identity", {cur}, 1);
  } else {
    for (size_t i = 0; i < steps.size(); ++i) {
      ir::Value* coef = scaleCoefficients(net, *steps[i].w, *steps[i].shape, dtype, base + "_" + steps[i].tag);
      if (i + 1 == steps.size()) {
        layer = net.addLayer<ScaleLayer>(LayerType::kSCALE, steps[i].op, {cur, coef}, 1);
      } else {
        std::string name = g.uniqueName(base + "_" + steps[i].op);
        ir::Node* n = g.addNode(steps[i].op, name, {cur, coef}, 1);
        n->outputs[0]->name = g.uniqueName(name + "_output_0");
        n->origins.push_back(base);
        cur = n->outputs[0];
      }
    }
  }
  layer->irNode()->attrs.setInt("kiln_scale_mode", static_cast<int64_t>(mode));
  layer->irNode()->attrs.setInt("kiln_channel_axis", channelAxis);
  net.markDirty();
  return layer;
}

// ---------------------------------------------------------------------------------------------------------
// Layer classes

void ActivationLayer::setActivationType(ActivationType type) {
  activationOp(type);
  float alpha, beta;
  activationDefaults(type, alpha, beta);
  configureActivation(net_, node_, type, alpha, beta);
}

ActivationType ActivationLayer::getActivationType() const {
  return static_cast<ActivationType>(node_->attrs.getInt("kiln_activation_type", 0));
}

void ActivationLayer::setAlpha(float alpha) { configureActivation(net_, node_, getActivationType(), alpha, getBeta()); }

void ActivationLayer::setBeta(float beta) { configureActivation(net_, node_, getActivationType(), getAlpha(), beta); }

float ActivationLayer::getAlpha() const { return static_cast<float>(node_->attrs.getFloat("kiln_alpha", 0.0)); }

float ActivationLayer::getBeta() const { return static_cast<float>(node_->attrs.getFloat("kiln_beta", 0.0)); }

void UnaryLayer::setOperation(UnaryOperation op) {
  node_->op = unaryOp(op);
  for (const char* k : {"detect_negative", "detect_positive"}) node_->attrs.erase(k);
  net_.markDirty();
}

UnaryOperation UnaryLayer::getOperation() const {
  for (const auto& e : kUnaryOps)
    if (node_->op == e.name) return e.op;
  invalidArg("UnaryLayer: node op '" + node_->op + "' is not a unary operation");
}

void ElementWiseLayer::setOperation(ElementWiseOperation op) {
  node_->op = elementWiseOp(op);
  net_.markDirty();
}

ElementWiseOperation ElementWiseLayer::getOperation() const {
  for (const auto& e : kElementWiseOps)
    if (node_->op == e.name) return e.op;
  invalidArg("ElementWiseLayer: node op '" + node_->op + "' is not an elementwise operation");
}

ScaleMode ScaleLayer::getMode() const {
  return static_cast<ScaleMode>(node_->attrs.getInt("kiln_scale_mode", 0));
}

int32_t ScaleLayer::getChannelAxis() const {
  return static_cast<int32_t>(node_->attrs.getInt("kiln_channel_axis", 1));
}

void CastLayer::setToType(DataType toType) {
  if (!isKnownType(toType)) invalidArg("CastLayer::setToType: unknown data type");
  node_->attrs.setInt("to", static_cast<int64_t>(toType));
  net_.markDirty();
}

DataType CastLayer::getToType() const { return static_cast<DataType>(node_->attrs.getInt("to", 0)); }

}  // namespace kiln
