// Quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (ONNX opset 23 semantics:
// per-tensor, per-axis and blocked scales), and BitCast.
//
// Type attributes ('output_dtype', 'precision', BitCast's 'to') hold kiln DataType values; an absent
// output_dtype / precision means: not set.
#include "core/dtype.h"
#include "core/small_types.h"
#include "ir/op_registry.h"

namespace kiln::ir {
namespace {

bool isQuantType(DataType t) {
  switch (t) {
    case DataType::kINT8:
    case DataType::kUINT8:
    case DataType::kINT16:
    case DataType::kUINT16:
    case DataType::kINT32:
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2:
    case DataType::kFP8:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2:
    case DataType::kFP8E5M2FNUZ:
    case DataType::kFP4: return true;
    default: return false;
  }
}

//! Checks the scale (input 1) and zero point (input 2) shapes against x (input 0): per-tensor (one
//! element), per-axis (1-D of x.shape[axis]) or blocked (x's rank, ceil(x.shape[axis] / block_size) on
//! the axis, x's extent elsewhere).
void checkScaleShapes(InferContext& c, const char* op) {
  const Shape& xs = c.inputShape(0);
  const Shape& ss = c.inputShape(1);
  const int64_t rank = c.inputRank(0);
  const int64_t blockSize = c.attrs().getInt("block_size", 0);
  if (blockSize < 0) c.fail(std::string(op) + ": block_size must be >= 0");
  const int64_t sn = numElements(ss);
  if (blockSize == 0) {
    if (ss.size() > 1) c.fail(std::string(op) + ": the scale must be a scalar or 1-D without block_size");
    if (ss.size() == 1 && ss[0] != 1) {
      const int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", 1), rank);
      if (ss[0] >= 0 && xs[static_cast<size_t>(axis)] >= 0 && ss[0] != xs[static_cast<size_t>(axis)])
        c.fail(std::string(op) + ": per-axis scale of " + std::to_string(ss[0]) + " elements for an axis of " +
               std::to_string(xs[static_cast<size_t>(axis)]));
    }
  } else {
    if (sn == 1 && ss.size() <= 1) {
      // a single scale: per-tensor whatever the block size
    } else {
      if (static_cast<int64_t>(ss.size()) != rank) c.fail(std::string(op) + ": blocked scale must have x's rank");
      const int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", 1), rank);
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t xe = xs[static_cast<size_t>(d)], se = ss[static_cast<size_t>(d)];
        if (xe < 0 || se < 0) continue;
        const int64_t want = d == axis ? (xe + blockSize - 1) / blockSize : xe;
        if (se != want)
          c.fail(std::string(op) + ": blocked scale dimension " + std::to_string(d) + " is " + std::to_string(se) +
                 ", expected " + std::to_string(want));
      }
    }
  }
  if (c.hasInput(2) && c.inputShape(2) != ss && !(sn == 1 && numElements(c.inputShape(2)) == 1))
    c.fail(std::string(op) + ": zero point and scale shapes differ");
}

void inferQuantize(InferContext& c) {
  const DataType xt = c.inputType(0);
  if (!isFloatingType(xt)) c.fail("QuantizeLinear: x must be a float type");
  if (!isFloatingType(c.inputType(1))) c.fail("QuantizeLinear: y_scale must be a float type");
  const bool hasOd = c.attrs().has("output_dtype");
  const int64_t od = c.attrs().getInt("output_dtype", 0);
  DataType out = DataType::kUINT8;
  if (c.hasInput(2)) {
    out = c.inputType(2);
    if (hasOd && od != static_cast<int64_t>(out)) c.fail("QuantizeLinear: output_dtype differs from the zero point's type");
  } else if (hasOd) {
    out = static_cast<DataType>(od);
  }
  if (!isQuantType(out)) c.fail(std::string("QuantizeLinear: ") + dataTypeName(out) + " is not a quantized type");
  const int64_t prec = c.attrs().getInt("precision", 0);
  if (c.attrs().has("precision") && !isFloatingType(static_cast<DataType>(prec))) c.fail("QuantizeLinear: precision must be a float type");
  checkScaleShapes(c, "QuantizeLinear");
  c.setOutput(0, out, c.inputShape(0));
}

void inferDequantize(InferContext& c) {
  const DataType xt = c.inputType(0);
  if (!isQuantType(xt)) c.fail(std::string("DequantizeLinear: x of type ") + dataTypeName(xt) + " is not a quantized type");
  const DataType st = c.inputType(1);
  if (!isFloatingType(st)) c.fail("DequantizeLinear: x_scale must be a float type");
  if (c.hasInput(2) && c.inputType(2) != xt) c.fail("DequantizeLinear: the zero point must have x's type");
  DataType out = st;
  if (c.attrs().has("output_dtype")) out = static_cast<DataType>(c.attrs().getInt("output_dtype", 0));
  if (!isFloatingType(out)) c.fail("DequantizeLinear: output_dtype must be a float type");
  checkScaleShapes(c, "DequantizeLinear");
  c.setOutput(0, out, c.inputShape(0));
}

void inferDynamicQuantize(InferContext& c) {
  if (c.inputType(0) != DataType::kFLOAT && c.inputType(0) != DataType::kHALF)
    c.fail("DynamicQuantizeLinear: x must be float32 or float16");
  c.setOutput(0, DataType::kUINT8, c.inputShape(0));
  c.setOutput(1, c.inputType(0), {});
  c.setOutput(2, DataType::kUINT8, {});
}

void inferBitCast(InferContext& c) {
  const int64_t to = c.attrs().getInt("to", -1);
  if (to < INT32_MIN || to > INT32_MAX || !isKnownType(static_cast<DataType>(to)))
    c.fail("BitCast: 'to' = " + std::to_string(to) + " is not a kiln DataType");
  const DataType t = static_cast<DataType>(to), xt = c.inputType(0);
  if (isSubByteType(t) || isSubByteType(xt)) c.fail("BitCast: sub-byte types are not supported");
  if (dataTypeSize(t) != dataTypeSize(xt))
    c.fail(std::string("BitCast: ") + dataTypeName(xt) + " and " + dataTypeName(t) + " differ in size");
  c.setOutput(0, t, c.inputShape(0));
}

}  // namespace

void registerMatMulIntegerOp(OpRegistry& reg);  // matmul_integer.cpp (registered with this family)

void registerQuantOps(OpRegistry& reg) {
  registerMatMulIntegerOp(reg);
  reg.add({"QuantizeLinear", 2, 3, 1, 1, inferQuantize,
           "y = saturate(round_half_even(x / scale) + zero_point) (float8/float4 outputs: cast of x / scale); "
           "attrs axis, block_size, saturate, output_dtype, precision"});
  reg.add({"DequantizeLinear", 2, 3, 1, 1, inferDequantize,
           "y = (x - zero_point) * scale; attrs axis, block_size, output_dtype"});
  reg.add({"DynamicQuantizeLinear", 1, 1, 3, 3, inferDynamicQuantize,
           "uint8 quantization of x with scale and zero point from min(0, min x) .. max(0, max x)"});
  reg.add({"BitCast", 1, 1, 1, 1, inferBitCast, "reinterprets the bits of each element as type 'to' (same size)"});
}

}  // namespace kiln::ir
