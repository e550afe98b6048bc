// Reference kernels of Cast and Where.
#include <cmath>

#include "backends/cpu/ref/elementwise_impl.h"

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
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.dtype != to_ || x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Cast: output does not match");
    const int64_t n = x.numel;
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
  DataType to_{DataType::kFLOAT};
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
