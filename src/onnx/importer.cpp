#include "onnx/importer.h"

#include "ir/op_registry.h"
#include "onnx/importers/decompose.h"

namespace kiln::onnx {

ir::Value* ImportContext::input(size_t i) const {
  if (i >= node_.inputs.size() || node_.inputs[i].empty()) return nullptr;
  auto it = tensors_.find(node_.inputs[i]);
  if (it == tensors_.end())
    throw Error(ErrorCode::kINVALID_ARGUMENT, "input '" + node_.inputs[i] + "' is not produced by an earlier node, an initializer or a graph input");
  return it->second;
}

std::vector<ir::Value*> ImportContext::inputs() const {
  std::vector<ir::Value*> v;
  for (size_t i = 0; i < node_.inputs.size(); ++i) v.push_back(input(i));
  return v;
}

int64_t ImportContext::attrInt(const std::string& name, int64_t def) const {
  const Attribute* a = attr(name);
  return a ? a->i : def;
}

std::vector<int64_t> ImportContext::attrInts(const std::string& name) const {
  const Attribute* a = attr(name);
  return a ? a->ints : std::vector<int64_t>{};
}

float ImportContext::attrFloat(const std::string& name, float def) const {
  const Attribute* a = attr(name);
  return a ? a->f : def;
}

ir::Attributes ImportContext::convertAttributes() const {
  ir::Attributes out;
  for (const Attribute& a : node_.attributes) {
    if (!a.refAttrName.empty()) unsupported("attribute '" + a.name + "' refers to a function attribute");
    switch (a.type) {
      case AttributeType::kFLOAT: out.setFloat(a.name, a.f); break;
      case AttributeType::kINT: out.setInt(a.name, a.i); break;
      case AttributeType::kSTRING: out.setString(a.name, a.s); break;
      case AttributeType::kFLOATS: out.setFloats(a.name, std::vector<double>(a.floats.begin(), a.floats.end())); break;
      case AttributeType::kINTS: out.setInts(a.name, a.ints); break;
      case AttributeType::kSTRINGS: out.setStrings(a.name, a.strings); break;
      case AttributeType::kTENSOR:
        if (!a.t) unsupported("attribute '" + a.name + "' has no tensor");
        out.setTensor(a.name, toTensorData(*a.t));
        break;
      default:
        unsupported("attribute '" + a.name + "' of type " + attributeTypeName(a.type) + " is not supported");
    }
  }
  // ONNX type numbers -> kiln DataType numbers
  for (const char* key : {"to", "dtype"}) {
    if (!out.has(key)) continue;
    bool ok = false;
    int64_t onnxType = out.getInt(key, 0);
    DataType t = fromOnnxType(static_cast<int32_t>(onnxType), &ok);
    if (!ok) unsupported(std::string("type ") + onnxTypeName(static_cast<int32_t>(onnxType)) + " is not supported");
    out.setInt(key, static_cast<int64_t>(t));
  }
  return out;
}

DataType ImportContext::typeOf(ir::Value* v) const {
  net_.inferShapes();
  return v->dtype;
}

const ir::Shape* ImportContext::shapeOf(ir::Value* v) const {
  net_.inferShapes();
  return net_.isInvalid(v) ? nullptr : &v->shape;
}

ir::Value* ImportContext::constant(std::shared_ptr<const ir::TensorData> data, const std::string& hint) {
  return net_.addConstantValue(std::move(data), hint);
}

ir::Value* ImportContext::int64Constant(const std::vector<int64_t>& v, const std::string& hint) {
  return constant(ir::makeInt64Tensor(v, {static_cast<int64_t>(v.size())}), hint);
}

ir::Node* ImportContext::addNode(const std::string& op, std::vector<ir::Value*> ins, int numOutputs, ir::Attributes attrs,
                                 bool bindOutputs) {
  auto* layer = net_.addLayer<GenericLayer>(LayerType::kGENERIC, op, std::move(ins), numOutputs);
  ir::Node* n = layer->irNode();
  std::string base = node_.name.empty() ? node_.opType : node_.name;
  n->name = net_.graph().uniqueName(base);
  n->origins = {node_.name.empty() ? n->name : node_.name};
  n->attrs = std::move(attrs);
  if (bindOutputs)
    for (size_t i = 0; i < n->outputs.size() && i < node_.outputs.size(); ++i) bindOutput(i, n->outputs[i]);
  return n;
}

void ImportContext::bindOutput(size_t i, ir::Value* v) {
  if (i >= node_.outputs.size() || node_.outputs[i].empty()) return;
  if (!v->producer && !v->isConstant()) throw Error(ErrorCode::kINTERNAL_ERROR, "binding a dangling value");
  if (v->producer) v->name = node_.outputs[i];
  tensors_[node_.outputs[i]] = v;
}

void ImportContext::unsupported(const std::string& reason) const { throw Error(ErrorCode::kUNSUPPORTED_NODE, reason); }

const Importer* ImporterRegistry::find(const std::string& domain, const std::string& op, int64_t opset,
                                       std::string* why) const {
  auto it = map_.find({domain, op});
  if (it == map_.end()) {
    if (why) *why = "operator is not supported by kiln";
    return nullptr;
  }
  std::string ranges;
  for (const Importer& imp : it->second) {
    if (opset >= imp.minOpset && opset <= imp.maxOpset) return &imp;
    ranges += (ranges.empty() ? "" : ", ") + std::to_string(imp.minOpset) + "-" + std::to_string(imp.maxOpset);
  }
  if (why) *why = "opset " + std::to_string(opset) + " of this operator is not supported (supported: " + ranges + ")";
  return nullptr;
}

std::vector<std::string> ImporterRegistry::ops() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : map_) out.push_back(k.first.empty() ? k.second : k.first + "::" + k.second);
  return out;
}

const ImporterRegistry& defaultImporterRegistry() {
  static const ImporterRegistry reg = [] {
    ImporterRegistry r;
    registerDirectImporters(r);
    registerLegacyImporters(r);
    registerAttentionImporters(r);
    registerEinsumImporters(r);
    registerRnnImporters(r);
    registerControlFlowImporters(r);
    registerLossImporters(r);
    registerSamplingImporters(r);
    registerQuantImporters(r);
    registerSignalImporters(r);
    return r;
  }();
  return reg;
}

}  // namespace kiln::onnx
