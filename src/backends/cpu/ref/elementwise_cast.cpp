// Reference kernels of Cast and Where.
#include <cmath>

#include "backends/cpu/ref/elementwise_impl.h"
#include "core/small_types.h"

namespace kiln::cpu::ew {
namespace {

//! Converts one element. Float -> int truncates toward zero (NaN -> 0, out of range saturates); to bool:
//! != 0; from bool: 0/1; float -> float16/bfloat16 rounds to nearest even (single rounding); int -> int
//! wraps (two's complement).
template <class To, class From>
inline To convertElement(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (kIsFloat<From>)
      return toDouble(v) != 0;
    else
      return v != 0;
  } else if constexpr (kIsFloat<From>) {
    double d = toDouble(v);
    if constexpr (kIsInt<To>)
      return saturateToInt<To>(d);
    else if constexpr (std::is_same_v<To, float>)
      return static_cast<float>(d);
    else if constexpr (std::is_same_v<From, float>)  // float -> half/bf16/double: one rounding
      return To(static_cast<float>(v));
    else
      return fromDouble<To>(d);
  } else {
    // From is an integer (bool handled by the caller as uint8 0/1)
    if constexpr (kIsInt<To>)
      return static_cast<To>(v);
    else if constexpr (std::is_same_v<To, float> || std::is_same_v<To, double>)
      return static_cast<To>(v);
    else
      return fromDouble<To>(static_cast<double>(v));  // Half/BFloat16 (exact via round-to-odd for |v| < 2^53)
  }
}

class CastKernel : public Kernel {
 public:
  explicit CastKernel(const ir::Node& node) {
    int64_t to = node.attrs.requireInt("to");
    if (!isKnownType(static_cast<DataType>(to)))
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "Cast: unknown target type " + std::to_string(to));
    to_ = static_cast<DataType>(to);
    saturate_ = node.attrs.getInt("saturate", 1) != 0;
    const std::string mode = node.attrs.getString("round_mode", "up");
    if (mode == "up") mode_ = E8M0Round::kUp;
    else if (mode == "down") mode_ = E8M0Round::kDown;
    else if (mode == "nearest") mode_ = E8M0Round::kNearest;
    else throw Error(ErrorCode::kUNSUPPORTED_NODE, "Cast: unknown round_mode '" + mode + "'");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.dtype != to_ || x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Cast: output does not match");
    const int64_t n = x.numel;
    if (isSmallStorageType(x.dtype) || isSmallStorageType(to_)) {
      runSmall(x, y, n);
      return;
    }
    dispatchType(x.dtype, [&](auto tf) {
      using From = decltype(tf);
      dispatchType(to_, [&](auto tt) {
        using To = decltype(tt);
        To* out = y.as<To>();
        if constexpr (std::is_same_v<From, bool>) {
          const uint8_t* in = x.as<uint8_t>();
          for (int64_t i = 0; i < n; ++i) out[i] = convertElement<To, uint8_t>(in[i] != 0 ? 1 : 0);
        } else {
          const From* in = x.as<From>();
          for (int64_t i = 0; i < n; ++i) out[i] = convertElement<To, From>(in[i]);
        }
      });
    });
  }

 private:
  //! Casts from or to the float8 / sub-byte storage types (core/small_types.h): through float for the
  //! float-like ones, through int64 for the integer ones.
  void runSmall(const TensorView& x, const TensorView& y, int64_t n) const {
    const DataType from = x.dtype;
    if (from == to_) {
      std::memcpy(y.as<uint8_t>(), x.as<uint8_t>(), static_cast<std::size_t>(n));
      return;
    }
    if (isSmallStorageType(from)) {
      const uint8_t* in = x.as<uint8_t>();
      const bool fromFloat = isSmallFloatType(from);
      if (isSmallStorageType(to_)) {
        uint8_t* out = y.as<uint8_t>();
        for (int64_t i = 0; i < n; ++i)
          out[i] = fromFloat ? floatToSmall(to_, smallToFloat(from, in[i]), saturate_, mode_)
                             : (isSmallFloatType(to_) ? floatToSmall(to_, static_cast<float>(smallIntValue(from, in[i])), saturate_, mode_)
                                                      : intToSmall(to_, smallIntValue(from, in[i])));
        return;
      }
      dispatchType(to_, [&](auto tt) {
        using To = decltype(tt);
        To* out = y.as<To>();
        for (int64_t i = 0; i < n; ++i) {
          if (fromFloat)
            out[i] = convertElement<To, float>(smallToFloat(from, in[i]));
          else
            out[i] = convertElement<To, int64_t>(smallIntValue(from, in[i]));
        }
      });
      return;
    }
    uint8_t* out = y.as<uint8_t>();
    const bool toFloat = isSmallFloatType(to_);
    dispatchType(from, [&](auto tf) {
      using From = decltype(tf);
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<From, bool>) {
          out[i] = intToSmall(to_, x.as<uint8_t>()[i] != 0 ? 1 : 0);
        } else if constexpr (kIsFloat<From>) {
          out[i] = floatToSmall(to_, static_cast<float>(toDouble(x.as<From>()[i])), saturate_, mode_);
        } else {
          const auto v = x.as<From>()[i];
          out[i] = toFloat ? floatToSmall(to_, static_cast<float>(v), saturate_, mode_)
                           : intToSmall(to_, static_cast<int64_t>(v));
        }
      }
    });
  }

  DataType to_{DataType::kFLOAT};
  bool saturate_{true};
  E8M0Round mode_{E8M0Round::kUp};
};

//! Where(cond, x, y): elements are copied as raw bits of their size (every type).
class WhereKernel : public Kernel {
 public:
  explicit WhereKernel(const ir::Node& node) {
    if (node.inputs[0]->dtype != DataType::kBOOL) unsupportedType(node, node.inputs[0]->dtype);
    if (node.inputs[1]->dtype != node.inputs[2]->dtype)
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "Where: x and y must have the same type");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& c = ctx.inputs[0];
    const TensorView& a = ctx.inputs[1];
    const TensorView& b = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    if (c.dtype != DataType::kBOOL || a.dtype != b.dtype || a.dtype != y.dtype)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "Where: bad input types");
    auto go = [&](auto tag) {
      using B = decltype(tag);
      broadcastMap<B, uint8_t, B, B>(y, {&c, &a, &b}, [](uint8_t k, B p, B q) { return k ? p : q; });
    };
    switch (dataTypeSize(a.dtype)) {
      case 1: go(uint8_t{}); break;
      case 2: go(uint16_t{}); break;
      case 4: go(uint32_t{}); break;
      case 8: go(uint64_t{}); break;
      default: throw Error(ErrorCode::kUNSUPPORTED_NODE, "Where: unsupported type");
    }
  }
};

}  // namespace

void registerCastWhereKernels(KernelRegistry& reg) {
  reg.add("Cast", refTactic<CastKernel>());
  reg.add("Where", refTactic<WhereKernel>());
}

}  // namespace kiln::cpu::ew
