// fuse-matmul-integer (GPU builds): the int32 MatMul that the ONNX importer makes of MatMulInteger and
// QLinearMatMul (src/onnx/importers/quant.cpp) becomes MatMulInteger over the 8-bit inputs again
// (ir/ops/matmul_integer.cpp), so that the GPU multiplies int8 x int8 into int32 (cuBLASLt) instead of
// widening both inputs to int32 first. Each MatMul operand must be one of
//   Cast<int32>(x)                         x int8 / uint8 (no zero point)
//   Sub(Cast<int32>(x), zp)                zp: Cast<int32>(z) with z of x's type, one element; for A also
//                                          Reshape(Cast<int32>(z [M]), [M, 1]) (per row), for B Cast<int32>(z
//                                          [N]) (per column); or an int32 constant of those shapes ([M, 1] /
//                                          [N]) whose values fit x's type
//   an int32 constant whose values all fit int8 (or all fit uint8)    (weights folded by fold-constants)
// The MatMul must have no kiln attributes or bias. The bypassed Cast / Sub nodes are left to
// eliminate-dead-nodes.
#include <cstring>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

bool is8Bit(DataType t) {
  return t == DataType::kINT8 || t == DataType::kUINT8;
}

//! x if v = Cast<int32>(x) with x int8 / uint8.
ir::Value* widened(const ir::Value* v) {
  const ir::Node* p = v->producer;
  if (!p || p->op != "Cast" || v->dtype != DataType::kINT32 || p->inputs.empty() || !p->inputs[0])
    return nullptr;
  return is8Bit(p->inputs[0]->dtype) ? p->inputs[0] : nullptr;
}

//! The int32 values of a constant (nullptr if v is not an int32 constant).
const int32_t* int32Data(const ir::Value* v) {
  if (!v->isConstant() || v->dtype != DataType::kINT32) return nullptr;
  return static_cast<const int32_t*>(v->constant->raw());
}

//! True if the n values all lie in t's range.
bool fitsIn(DataType t, const int32_t* v, int64_t n) {
  const int32_t lo = t == DataType::kINT8 ? -128 : 0, hi = t == DataType::kINT8 ? 127 : 255;
  for (int64_t i = 0; i < n; ++i)
    if (v[i] < lo || v[i] > hi) return false;
  return true;
}

//! A constant of type t (int8 / uint8) and shape `shape` holding the int32 values (which fit).
ir::Value* narrowConstant(ir::Graph& g, const std::string& base, DataType t, ir::Shape shape,
                          const int32_t* v, int64_t n) {
  void* out = nullptr;
  auto data = ir::makeTensor(t, std::move(shape), &out);
  for (int64_t i = 0; i < n; ++i) static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(v[i] & 0xFF);
  return g.addConstant(g.uniqueName(base), data);
}

//! True if `s` is [extent] after dropping 1s everywhere but at position `axisFromEnd` (1: last, 2: the one
//! before), i.e. a per-row ([.., M, 1]) or per-column ([.., N]) layout of `extent` values.
bool perAxisShape(const ir::Shape& s, size_t axisFromEnd, int64_t extent) {
  if (s.size() < axisFromEnd || extent < 1) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool axis = i == s.size() - axisFromEnd;
    if (axis ? s[i] != extent : s[i] != 1) return false;
  }
  return true;
}

//! Matches the zero point `z` (int32, subtracted from Cast<int32>(x)); `isA`: per-row layout [M, 1], else
//! per-column [N]; `extent` is M or N (-1: unknown). With `g`, also returns it as MatMulInteger takes it (x's
//! type, one element or 1-D), making a constant if needed; without, only checks.
bool matchZeroPoint(ir::Graph* g, ir::Value* z, const ir::Value* x, bool isA, int64_t extent,
                    ir::Value** out) {
  const DataType t = x->dtype;
  const int64_t n = ir::numElements(z->shape);
  if (n < 1) return false;
  if (const int32_t* v = int32Data(z)) {
    if (!fitsIn(t, v, n)) return false;
    if (n > 1 && !perAxisShape(z->shape, isA ? 2 : 1, extent)) return false;
    if (g)
      *out = n == 1 ? narrowConstant(*g, z->name + "_q", t, {}, v, 1)
                    : narrowConstant(*g, z->name + "_q", t, {extent}, v, n);
    return true;
  }
  const ir::Value* src = z;
  const bool reshaped =
      isA && n > 1 && z->producer && z->producer->op == "Reshape" && perAxisShape(z->shape, 2, extent);
  if (reshaped) src = z->producer->inputs[0];  // Reshape(Cast(z [M]), [M, 1])
  ir::Value* z8 = widened(src);
  if (!z8 || z8->dtype != t) return false;
  const bool one = ir::numElements(z8->shape) == 1 && z8->shape.size() <= 1;
  // per row needs the Reshape ([M] alone would broadcast along K); per column is Cast(z [N]) itself
  const bool axis =
      z8->shape.size() == 1 && z8->shape[0] == extent && extent > 0 && (isA ? reshaped : !reshaped);
  if (!one && !axis) return false;
  if (g) *out = z8;
  return true;
}

struct Operand {
  ir::Value* x{nullptr};   //!< int8 / uint8
  ir::Value* zp{nullptr};  //!< x's type: one element or 1-D per row / column; nullptr: none
};

//! Matches one MatMul operand (see the file comment). `extent`: M for A, N for B. With `g`, fills `op`
//! (making the constants it needs); without, only checks.
bool matchOperand(ir::Graph* g, ir::Value* v, bool isA, int64_t extent, Operand* op) {
  if (ir::Value* x = widened(v)) {
    op->x = x;
    return true;
  }
  if (const int32_t* c = int32Data(v)) {  // folded weights
    const int64_t n = ir::numElements(v->shape);
    for (DataType t : {DataType::kINT8, DataType::kUINT8})
      if (fitsIn(t, c, n)) {
        if (g) op->x = narrowConstant(*g, v->name + "_q", t, v->shape, c, n);
        return true;
      }
    return false;
  }
  const ir::Node* sub = v->producer;
  if (!sub || sub->op != "Sub" || sub->inputs.size() != 2 || !sub->inputs[0] || !sub->inputs[1]) return false;
  ir::Value* x = widened(sub->inputs[0]);
  if (!x || x->shape != v->shape) return false;  // the zero point must not broadcast the operand
  if (!matchZeroPoint(g, sub->inputs[1], x, isA, extent, &op->zp)) return false;
  op->x = x;
  return true;
}

bool fuseOne(ir::Graph& g) {
  for (auto& np : g.nodes) {
    ir::Node* n = np.get();
    if (n->op != "MatMul" || n->outputs.size() != 1 || n->outputs[0]->dtype != DataType::kINT32) continue;
    if (n->inputs.size() != 2 || !n->inputs[0] || !n->inputs[1] || !n->attrs.all().empty()) continue;
    const ir::Shape& as = n->inputs[0]->shape;
    const ir::Shape& bs = n->inputs[1]->shape;
    if (as.empty() || bs.empty()) continue;
    const int64_t m = as.size() >= 2 ? as[as.size() - 2] : -1, cols = bs.size() >= 2 ? bs.back() : -1;
    Operand a, b;  // check both first: no constants are made for a MatMul that is not rewritten
    if (!matchOperand(nullptr, n->inputs[0], true, m, &a) ||
        !matchOperand(nullptr, n->inputs[1], false, cols, &b))
      continue;
    matchOperand(&g, n->inputs[0], true, m, &a);
    matchOperand(&g, n->inputs[1], false, cols, &b);
    n->op = "MatMulInteger";
    n->inputs = {a.x, b.x, a.zp, b.zp};
    while (!n->inputs.empty() && !n->inputs.back()) n->inputs.pop_back();
    return true;
  }
  return false;
}

}  // namespace

bool fuseMatMulInteger(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (fuseOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
