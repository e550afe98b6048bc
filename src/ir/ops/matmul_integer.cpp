// Op schema of MatMulInteger, ONNX's semantics (docs/ir/quant.md). The ONNX importer lowers ONNX's
// MatMulInteger and QLinearMatMul to an int32 MatMul of the centered inputs; GPU builds fold that back into
// this op (passes/fuse_matmul_integer.cpp) so that the GPU multiplies the 8-bit inputs directly.
//
// MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> Y (int32) = (A - a_zero_point) x (B - b_zero_point)
//   A, B int8 or uint8 (independently), MatMul shapes (numpy batch broadcasting, 1-D operands);
//   a_zero_point of A's type: one element, or 1-D [M] (per row of A); b_zero_point of B's type: one element,
//   or 1-D [N] (per column of B). Sums wrap around in int32.
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

bool is8Bit(DataType t) {
  return t == DataType::kINT8 || t == DataType::kUINT8;
}

//! A zero point: one element, or 1-D with `extent` elements (per row / column); `extent` < 0: unknown.
void checkZeroPoint(InferContext& c, int i, int64_t extent, bool perAxisAllowed, const char* what) {
  if (!c.hasInput(i)) return;
  if (c.inputType(i) != c.inputType(i - 2))
    c.fail(std::string("MatMulInteger: ") + what + " must have its input's type");
  const Shape& z = c.inputShape(i);
  if (numElements(z) == 1 && z.size() <= 1) return;
  const bool ok = perAxisAllowed && z.size() == 1 && (z[0] < 0 || extent < 0 || z[0] == extent);
  if (!ok)
    c.fail(std::string("MatMulInteger: ") + what + " must have one element or one per " +
           (i == 2 ? "row of A" : "column of B"));
}

void inferMatMulInteger(InferContext& c) {
  if (!is8Bit(c.inputType(0)) || !is8Bit(c.inputType(1)))
    c.fail("MatMulInteger: A and B must be int8 or uint8");
  Shape a = c.inputShape(0), b = c.inputShape(1);
  if (a.empty() || b.empty()) c.fail("MatMulInteger: A and B must have rank >= 1");
  const bool vecA = a.size() == 1, vecB = b.size() == 1;
  if (vecA) a.insert(a.begin(), 1);
  if (vecB) b.push_back(1);
  const int64_t m = a[a.size() - 2], k = a.back(), k2 = b[b.size() - 2], n = b.back();
  if (k >= 0 && k2 >= 0 && k != k2) c.fail("MatMulInteger: inner dimensions do not match");
  checkZeroPoint(c, 2, m, !vecA, "a_zero_point");
  checkZeroPoint(c, 3, n, !vecB, "b_zero_point");
  Shape out;
  try {
    out = broadcastShapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  } catch (const Error& e) {
    c.fail("MatMulInteger: batch dims: " + e.message());
  }
  if (!vecA) out.push_back(m);
  if (!vecB) out.push_back(n);
  c.setOutput(0, DataType::kINT32, out);
}

}  // namespace

void registerMatMulIntegerOp(OpRegistry& reg) {
  reg.add({"MatMulInteger", 2, 4, 1, 1, inferMatMulInteger,
           "Y (int32) = (A - a_zero_point) x (B - b_zero_point); int8/uint8 A and B, zero points per tensor, "
           "per row "
           "of A / column of B"});
}

}  // namespace kiln::ir
