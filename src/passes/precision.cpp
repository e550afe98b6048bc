// Reduced precision for the GPU (BuilderFlag::kFP16 / kBF16 / kTF32).
//
// kFP16/kBF16: every float32 tensor inside the network becomes float16 (bfloat16): float32 constants are
// converted once, float32 network inputs get a Cast right after them, float32 outputs a Cast right
// before them (the engine's I/O keeps the declared types, as in TensorRT), Casts to float32 inside the
// network cast to the reduced type instead. Kernels accumulate in float32 (matrix products,
// convolutions, reductions, normalizations, softmax). Inputs that an op reads as float32 parameters
// whatever its data type (Resize's roi and scales) keep float32.
// kTF32: matrix products and convolutions in float32 may use TF32 tensor cores (attribute kiln_tf32).
#include "passes/precision.h"

#include <set>

#include "core/dtype.h"
#include "ir/op_registry.h"

namespace kiln::passes {

namespace {

//! (op, input index) pairs that stay float32.
bool keepsFloat32(const std::string& op, size_t input) {
  if (op == "Resize") return input == 1 || input == 2;
  return false;
}

std::shared_ptr<const ir::TensorData> convertConstant(const ir::TensorData& t, DataType to) {
  void* out = nullptr;
  auto r = ir::makeTensor(to, t.shape, &out);
  const float* src = t.as<float>();
  int64_t n = t.numel();
  if (to == DataType::kHALF)
    for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = floatToHalf(src[i]);
  else
    for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = floatToBf16(src[i]);
  return r;
}

}  // namespace

void lowerFloatPrecision(ir::Graph& g, DataType to) {
  const int64_t toCode = static_cast<int64_t>(to);
  // 1. float32 constants read as data: one converted copy per constant
  std::map<ir::Value*, ir::Value*> converted;
  for (auto& n : g.nodes) {
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      ir::Value* v = n->inputs[i];
      if (!v || !v->isConstant() || v->constant->dtype != DataType::kFLOAT || keepsFloat32(n->op, i)) continue;
      auto it = converted.find(v);
      if (it == converted.end())
        it = converted.emplace(v, g.addConstant(g.uniqueName(v->name + "_" + dataTypeName(to)), convertConstant(*v->constant, to))).first;
      n->inputs[i] = it->second;
    }
    // constants held in attributes that must match the data type
    if (n->op == "ConstantOfShape" || n->op == "Constant") {
      auto t = n->attrs.getTensor("value");
      if (t && t->dtype == DataType::kFLOAT) n->attrs.setTensor("value", convertConstant(*t, to));
    }
    if (n->op == "Cast" && n->attrs.getInt("to", -1) == static_cast<int64_t>(DataType::kFLOAT)) n->attrs.setInt("to", toCode);
    if (n->op == "EyeLike" && n->attrs.getInt("dtype", -1) == static_cast<int64_t>(DataType::kFLOAT))
      n->attrs.setInt("dtype", toCode);
  }
  // 2. float32 network inputs: Cast after them
  std::vector<ir::Node*> added;
  for (ir::Value* in : g.inputs) {
    if (in->dtype != DataType::kFLOAT) continue;
    // uses that keep float32 (Resize's roi/scales given at run time) read the input itself
    bool needed = false;
    for (ir::Node* c : g.consumers(in))
      for (size_t k = 0; k < c->inputs.size(); ++k) needed |= c->inputs[k] == in && !keepsFloat32(c->op, k);
    if (!needed) continue;
    ir::Node* cast = g.addNode("Cast", g.uniqueName(in->name + "_to_" + dataTypeName(to)), {in}, 1);
    cast->attrs.setInt("to", toCode);
    cast->outputs[0]->dtype = to;
    cast->outputs[0]->shape = in->shape;
    for (ir::Node* c : g.consumers(in))
      if (c != cast)
        for (size_t k = 0; k < c->inputs.size(); ++k)
          if (c->inputs[k] == in && !keepsFloat32(c->op, k)) c->inputs[k] = cast->outputs[0];
  }
  // 3. float32 network outputs: computed in the reduced type, Cast back at the end
  for (auto& out : g.outputs) {
    if (out->dtype != DataType::kFLOAT || !out->producer) continue;
    std::string name = out->name;
    out->name = g.uniqueName(name + "_" + dataTypeName(to));
    ir::Value* f32 = g.addValue(name, DataType::kFLOAT, out->shape);
    ir::Node* cast = g.addNodeWithOutputs("Cast", g.uniqueName(name + "_to_float32"), {out}, {f32});
    cast->attrs.setInt("to", static_cast<int64_t>(DataType::kFLOAT));
    cast->origins.push_back(name);
    out = f32;
  }
  g.topologicalSort();
  // 4. every other type follows from inference (float32 results of reduced inputs become reduced)
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
}

void markTf32(ir::Graph& g) {
  static const std::set<std::string> ops{"MatMul", "Gemm", "Conv", "ConvTranspose"};
  for (auto& n : g.nodes)
    if (ops.count(n->op)) n->attrs.setInt("kiln_tf32", 1);
}

}  // namespace kiln::passes
