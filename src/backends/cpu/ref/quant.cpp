// Reference kernels: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, BitCast. Every element type
// kiln has is read through double (exact for all of them but 64-bit integers beyond 2^53, which are not
// quantized types). Rounding is half to even (std::nearbyint in the default rounding mode).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/kernel.h"
#include "core/dtype.h"
#include "core/small_types.h"

namespace kiln::cpu {
namespace {

double loadAsDouble(DataType t, const void* base, int64_t i) {
  if (isSmallStorageType(t)) {
    const uint8_t b = static_cast<const uint8_t*>(base)[i];
    return isSmallFloatType(t) ? static_cast<double>(smallToFloat(t, b)) : static_cast<double>(smallIntValue(t, b));
  }
  return dispatchType(t, [&](auto tag) -> double {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>)
      return static_cast<const uint8_t*>(base)[i] != 0 ? 1.0 : 0.0;
    else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<double>(static_cast<float>(static_cast<const T*>(base)[i]));
    else
      return static_cast<double>(static_cast<const T*>(base)[i]);
  });
}

//! Stores a float value into a float-typed tensor (float, double, half, bf16), rounding to nearest even.
void storeFloat(DataType t, void* base, int64_t i, double v) {
  switch (t) {
    case DataType::kFLOAT: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DataType::kDOUBLE: static_cast<double*>(base)[i] = v; break;
    case DataType::kHALF: static_cast<uint16_t*>(base)[i] = floatToHalf(static_cast<float>(v)); break;
    case DataType::kBF16: static_cast<uint16_t*>(base)[i] = floatToBf16(static_cast<float>(v)); break;
    default: throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string("cannot store float into ") + dataTypeName(t));
  }
}

//! Rounds a double to the precision of float type t (the type an ONNX reference computation happens in).
double roundTo(DataType t, double v) {
  switch (t) {
    case DataType::kFLOAT: return static_cast<double>(static_cast<float>(v));
    case DataType::kHALF: return static_cast<double>(halfToFloat(floatToHalf(static_cast<float>(v))));
    case DataType::kBF16: return static_cast<double>(bf16ToFloat(floatToBf16(static_cast<float>(v))));
    default: return v;
  }
}

bool integerQuantRange(DataType t, int64_t* lo, int64_t* hi) {
  switch (t) {
    case DataType::kINT8: *lo = -128, *hi = 127; return true;
    case DataType::kUINT8: *lo = 0, *hi = 255; return true;
    case DataType::kINT16: *lo = -32768, *hi = 32767; return true;
    case DataType::kUINT16: *lo = 0, *hi = 65535; return true;
    case DataType::kINT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2: smallIntRange(t, lo, hi); return true;
    default: return false;
  }
}

void storeInt(DataType t, void* base, int64_t i, int64_t v) {
  switch (t) {
    case DataType::kINT8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(v); break;
    case DataType::kUINT8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
    case DataType::kINT16: static_cast<int16_t*>(base)[i] = static_cast<int16_t>(v); break;
    case DataType::kUINT16: static_cast<uint16_t*>(base)[i] = static_cast<uint16_t>(v); break;
    case DataType::kINT32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    default: static_cast<uint8_t*>(base)[i] = intToSmall(t, v); break;  // sub-byte integers (in range)
  }
}

//! Maps an element of x to its scale / zero-point element: per-tensor, per-axis or blocked.
struct ScaleIndex {
  enum Mode { kTensor, kAxis, kBlocked } mode{kTensor};
  int64_t axisDim{1}, inner{1}, scaleAxisDim{1}, block{1};

  ScaleIndex(const TensorView& x, const TensorView& scale, int64_t axis, int64_t blockSize) {
    if (scale.numel == 1 && scale.rank() <= 1) return;
    const int64_t rank = x.rank();
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) throw Error(ErrorCode::kINVALID_ARGUMENT, "quantization axis out of range");
    axisDim = x.dim(axis);
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x.dim(d);
    if (blockSize <= 0) {
      if (scale.rank() != 1 || scale.numel != axisDim)
        throw Error(ErrorCode::kINVALID_ARGUMENT, "per-axis scale does not match the axis");
      mode = kAxis;
    } else {
      if (scale.rank() != rank) throw Error(ErrorCode::kINVALID_ARGUMENT, "blocked scale rank differs from x");
      scaleAxisDim = scale.dim(axis);
      block = blockSize;
      if ((axisDim + block - 1) / block != scaleAxisDim)
        throw Error(ErrorCode::kINVALID_ARGUMENT, "blocked scale does not match block_size");
      int64_t sn = 1;
      for (int64_t d = 0; d < rank; ++d) sn *= d == axis ? scaleAxisDim : x.dim(d);
      if (sn != scale.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "blocked scale shape does not match x");
      mode = kBlocked;
    }
  }
  int64_t operator()(int64_t i) const {
    switch (mode) {
      case kTensor: return 0;
      case kAxis: return (i / inner) % axisDim;
      case kBlocked: {
        const int64_t outer = i / (axisDim * inner), a = (i / inner) % axisDim, in = i % inner;
        return (outer * scaleAxisDim + a / block) * inner + in;
      }
    }
    return 0;
  }
};

class QuantizeKernel : public Kernel {
 public:
  explicit QuantizeKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", 1)),
        block_(node.attrs.getInt("block_size", 0)),
        saturate_(node.attrs.getInt("saturate", 1) != 0),
        hasPrecision_(node.attrs.has("precision")),
        precision_(static_cast<DataType>(node.attrs.getInt("precision", 0))) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const TensorView* z = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const ScaleIndex idx(x, s, axis_, block_);
    const DataType calc = hasPrecision_ ? precision_ : x.dtype;
    int64_t lo = 0, hi = 0;
    const bool isInt = integerQuantRange(y.dtype, &lo, &hi);
    for (int64_t i = 0; i < x.numel; ++i) {
      const int64_t k = idx(i);
      const double q = roundTo(calc, roundTo(calc, loadAsDouble(x.dtype, x.data, i)) /
                                         roundTo(calc, loadAsDouble(s.dtype, s.data, k)));
      if (isInt) {
        double r = std::isnan(q) ? 0.0 : std::nearbyint(q);
        if (z) r += loadAsDouble(z->dtype, z->data, k);
        r = std::clamp(r, static_cast<double>(lo), static_cast<double>(hi));
        storeInt(y.dtype, y.data, i, static_cast<int64_t>(r));
      } else if (y.dtype == DataType::kFP4) {
        const double v = z ? q + loadAsDouble(z->dtype, z->data, k) : q;
        y.as<uint8_t>()[i] = floatToSmall(y.dtype, static_cast<float>(v), true);
      } else {  // float8: the zero point is zero by definition
        y.as<uint8_t>()[i] = floatToSmall(y.dtype, static_cast<float>(q), saturate_);
      }
    }
  }

 private:
  int64_t axis_, block_;
  bool saturate_, hasPrecision_;
  DataType precision_;
};

class DequantizeKernel : public Kernel {
 public:
  explicit DequantizeKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", 1)), block_(node.attrs.getInt("block_size", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const TensorView* z = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const ScaleIndex idx(x, s, axis_, block_);
    const bool floatX = isSmallFloatType(x.dtype);
    const bool wide = x.dtype == DataType::kINT32;  // ONNX's reference: (float(x) - zp) in double for int32
    for (int64_t i = 0; i < x.numel; ++i) {
      const int64_t k = idx(i);
      double dx = loadAsDouble(x.dtype, x.data, i);
      if (!floatX && z) {
        dx = static_cast<double>(static_cast<float>(dx)) - loadAsDouble(z->dtype, z->data, k);
        if (!wide) dx = static_cast<double>(static_cast<float>(dx));
      }
      double v = dx * loadAsDouble(s.dtype, s.data, k);
      if (!wide) v = static_cast<double>(static_cast<float>(v));
      storeFloat(y.dtype, y.data, i, v);
    }
  }

 private:
  int64_t axis_, block_;
};

//! As ONNX's reference, in float32: scale = (max(0, max x) - min(0, min x)) / 255 (1/255 if equal),
//! zero point = round(clamp(-min / scale, 0, 255)), y = clamp(round(x / scale) + zero point, 0, 255).
class DynamicQuantizeKernel : public Kernel {
 public:
  explicit DynamicQuantizeKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    float mx = 0.f, mn = 0.f;
    for (int64_t i = 0; i < x.numel; ++i) {
      const float v = static_cast<float>(loadAsDouble(x.dtype, x.data, i));
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const float scale = (mx == mn ? 1.0f : (mx - mn)) / 255.0f;
    const float zp = std::nearbyint(std::clamp(0.0f - mn / scale, 0.0f, 255.0f));
    uint8_t* y = ctx.outputs[0].as<uint8_t>();
    for (int64_t i = 0; i < x.numel; ++i) {
      const float v = static_cast<float>(loadAsDouble(x.dtype, x.data, i));
      float q = std::nearbyint(v / scale) + zp;
      if (std::isnan(q)) q = 0;
      y[i] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
    }
    storeFloat(ctx.outputs[1].dtype, ctx.outputs[1].data, 0, scale);
    ctx.outputs[2].as<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }
};

class BitCastKernel : public Kernel {
 public:
  explicit BitCastKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.bytes() != y.bytes()) throw Error(ErrorCode::kINVALID_ARGUMENT, "BitCast: sizes differ");
    if (x.bytes()) std::memmove(y.data, x.data, x.bytes());
  }
};

}  // namespace

void registerMatMulIntegerKernels(KernelRegistry& reg);  // matmul_integer.cpp (registered with this family)

void registerQuantKernels(KernelRegistry& reg) {
  registerMatMulIntegerKernels(reg);
  reg.add("QuantizeLinear", refTactic<QuantizeKernel>());
  reg.add("DequantizeLinear", refTactic<DequantizeKernel>());
  reg.add("DynamicQuantizeLinear", refTactic<DynamicQuantizeKernel>());
  reg.add("BitCast", refTactic<BitCastKernel>());
}

}  // namespace kiln::cpu
