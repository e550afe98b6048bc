// Reference kernels of the binary and variadic elementwise ops with numpy broadcasting: arithmetic,
// comparisons, logical and bitwise ops, Pow, Sum/Mean/Max/Min.
//
// Float types are computed in double and rounded once; integers use their own type with wrapping
// arithmetic (no UB); integer division/modulo by zero throws kiln::Error(kINVALID_ARGUMENT).
#include <algorithm>
#include <cmath>

#include "backends/cpu/ref/elementwise_impl.h"

namespace kiln::cpu::ew {
namespace {

[[noreturn]] void divByZero(const char* op) {
  throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(op) + ": integer division by zero");
}

//! Unsigned type wide enough that arithmetic on it does not promote to (signed) int.
template <class T>
using WrapT = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

// Each op: static bool accepts(DataType) (type of both inputs), static constexpr bool kBoolOut, and
// template <class C> auto operator()(C a, C b) const with C = double for float types, the integer type
// for integers, bool for bool.

struct NumericOp {
  static constexpr bool kBoolOut = false;
  static bool accepts(DataType t) { return isNumeric(t); }
};

struct AddOp : NumericOp {
  explicit AddOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a + b;
    else
      return static_cast<C>(static_cast<WrapT<C>>(a) + static_cast<WrapT<C>>(b));
  }
};

struct SubOp : NumericOp {
  explicit SubOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a - b;
    else
      return static_cast<C>(static_cast<WrapT<C>>(a) - static_cast<WrapT<C>>(b));
  }
};

struct MulOp : NumericOp {
  explicit MulOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a * b;
    else
      return static_cast<C>(static_cast<WrapT<C>>(a) * static_cast<WrapT<C>>(b));
  }
};

//! C-style truncating integer division; throws on a zero divisor; MIN / -1 wraps.
template <class C>
C intDiv(C a, C b, const char* op) {
  if (b == 0) divByZero(op);
  if constexpr (std::is_signed_v<C>)
    if (b == -1) return wrapNeg(a);
  return static_cast<C>(a / b);
}
//! C-style remainder (sign of the dividend); throws on a zero divisor.
template <class C>
C intRem(C a, C b, const char* op) {
  if (b == 0) divByZero(op);
  if constexpr (std::is_signed_v<C>)
    if (b == -1) return 0;
  return static_cast<C>(a % b);
}

struct DivOp : NumericOp {
  explicit DivOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a / b;
    else
      return intDiv(a, b, "Div");
  }
};

struct FloorDivOp : NumericOp {
  explicit FloorDivOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return std::floor(a / b);
    } else {
      C q = intDiv(a, b, "FloorDiv");
      if constexpr (std::is_signed_v<C>)
        if (intRem(a, b, "FloorDiv") != 0 && ((a < 0) != (b < 0))) q = static_cast<C>(q - 1);
      return q;
    }
  }
};

struct ModOp : NumericOp {
  explicit ModOp(const ir::Node& n) {
    int64_t f = n.attrs.getInt("fmod", 0);
    if (f != 0 && f != 1) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Mod: fmod must be 0 or 1");
    fmod = f == 1;
  }
  bool fmod{false};
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      C r = std::fmod(a, b);
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      C r = intRem(a, b, "Mod");
      if constexpr (std::is_signed_v<C>)
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
      return r;
    }
  }
};

struct MaxOp : NumericOp {
  explicit MaxOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
    return a < b ? b : a;
  }
};

struct MinOp : NumericOp {
  explicit MinOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
    return b < a ? b : a;
  }
};

struct CompareBase {
  static constexpr bool kBoolOut = true;
  static bool accepts(DataType t) { return isNumeric(t); }
};
struct EqualOp {
  explicit EqualOp(const ir::Node&) {}
  static constexpr bool kBoolOut = true;
  static bool accepts(DataType t) { return isKnownType(t); }
  template <class C>
  bool operator()(C a, C b) const {
    return a == b;
  }
};
struct GreaterOp : CompareBase {
  explicit GreaterOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a > b;
  }
};
struct LessOp : CompareBase {
  explicit LessOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a < b;
  }
};
struct GreaterOrEqualOp : CompareBase {
  explicit GreaterOrEqualOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a >= b;
  }
};
struct LessOrEqualOp : CompareBase {
  explicit LessOrEqualOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a <= b;
  }
};

struct LogicalBase {
  static constexpr bool kBoolOut = true;
  static bool accepts(DataType t) { return t == DataType::kBOOL; }
};
struct AndOp : LogicalBase {
  explicit AndOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a && b;
  }
};
struct OrOp : LogicalBase {
  explicit OrOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a || b;
  }
};
struct XorOp : LogicalBase {
  explicit XorOp(const ir::Node&) {}
  template <class C>
  bool operator()(C a, C b) const {
    return a != b;
  }
};

struct BitwiseBase {
  static constexpr bool kBoolOut = false;
  static bool accepts(DataType t) { return isIntegerType(t); }
};
struct BitwiseAndOp : BitwiseBase {
  explicit BitwiseAndOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(a & b);
    else
      return a;  // never instantiated for a supported type
  }
};
struct BitwiseOrOp : BitwiseBase {
  explicit BitwiseOrOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(a | b);
    else
      return a;  // never instantiated for a supported type
  }
};
struct BitwiseXorOp : BitwiseBase {
  explicit BitwiseXorOp(const ir::Node&) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(a ^ b);
    else
      return a;  // never instantiated for a supported type
  }
};
struct BitShiftOp {
  static constexpr bool kBoolOut = false;
  static bool accepts(DataType t) { return isIntegerType(t); }
  explicit BitShiftOp(const ir::Node& n) {
    std::string d = n.attrs.getString("direction", "");
    if (d == "LEFT")
      left = true;
    else if (d != "RIGHT")
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "BitShift: direction must be \"LEFT\" or \"RIGHT\", got \"" + d + "\"");
  }
  bool left{false};
  //! Shifts of a negative amount or of the bit width or more give 0 (a right shift of a negative signed
  //! value gives -1); signed left shifts wrap like unsigned ones; signed right shifts are arithmetic.
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
      using U = std::make_unsigned_t<C>;
      using W = WrapT<U>;
      const bool outOfRange = (std::is_signed_v<C> && b < 0) || static_cast<uint64_t>(b) >= sizeof(C) * 8;
      if (left) return outOfRange ? C{0} : static_cast<C>(static_cast<U>(static_cast<W>(static_cast<U>(a)) << b));
      if (outOfRange) return (std::is_signed_v<C> && a < 0) ? static_cast<C>(-1) : C{0};
      return static_cast<C>(a >> b);
    } else {
      return a;  // never instantiated for a supported type
    }
  }
};

// ---------------------------------------------------------------------------------------------------------

//! out = op(a, b) over the broadcast of a and b, for one element type T.
template <class Op, class T>
void binaryTyped(const Op& op, const TensorView& a, const TensorView& b, const TensorView& y) {
  if constexpr (std::is_same_v<T, bool>) {
    // bools are read as bytes (any non-zero byte is true)
    broadcastMap<bool, uint8_t, uint8_t>(y, {&a, &b}, [&](uint8_t p, uint8_t q) {
      return static_cast<bool>(op(p != 0, q != 0));
    });
  } else if constexpr (Op::kBoolOut) {
    broadcastMap<bool, T, T>(y, {&a, &b}, [&](T p, T q) { return op(load(p), load(q)); });
  } else {
    broadcastMap<T, T, T>(y, {&a, &b}, [&](T p, T q) { return store<T>(op(load(p), load(q))); });
  }
}

template <class Op>
class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(const ir::Node& node) : op_(node) {
    DataType t = node.inputs[0]->dtype;
    if (!Op::accepts(t)) unsupportedType(node, t);
    if (node.inputs[1]->dtype != t)
      throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": both inputs must have the same type");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (a.dtype != b.dtype || !Op::accepts(a.dtype))
      throw Error(ErrorCode::kINVALID_ARGUMENT, "binary op: unsupported or mismatched input types");
    dispatchType(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool> && !Op::kBoolOut) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "binary op: bool is not supported");
      } else {
        binaryTyped<Op, T>(op_, a, b, y);
      }
    });
  }

 private:
  Op op_;
};

//! Sum / Mean / Max / Min over 1..n inputs with multidirectional broadcasting. The output starts as
//! the first input broadcast, then folds in each further input (pairwise, in order, as ONNX does).
template <class Op, bool kMean>
class VariadicKernel : public Kernel {
 public:
  explicit VariadicKernel(const ir::Node& node) : op_(node) {
    DataType t = node.inputs[0]->dtype;
    if (kMean ? !isFloatingType(t) : !Op::accepts(t)) unsupportedType(node, t);
    for (const ir::Value* v : node.inputs)
      if (!v || v->dtype != t) throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": all inputs must have the same type");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    const TensorView& first = ctx.inputs[0];
    for (const TensorView& in : ctx.inputs)
      if (in.dtype != first.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, "variadic op: mismatched input types");
    TensorView acc = y;  // the output read back as an input (same shape: elementwise in place)
    dispatchType(first.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "variadic op: bool is not supported");
      } else {
        broadcastMap<T, T>(y, {&first}, [](T v) { return v; });
        for (size_t k = 1; k < ctx.inputs.size(); ++k) binaryTyped<Op, T>(op_, acc, ctx.inputs[k], y);
        if constexpr (kMean) {
          if constexpr (kIsFloat<T>) {
            T* out = y.as<T>();
            const double n = static_cast<double>(ctx.inputs.size());
            for (int64_t i = 0; i < y.numel; ++i) out[i] = fromDouble<T>(toDouble(out[i]) / n);
          }
        }
      }
    });
  }

 private:
  Op op_;
};

// ---------------------------------------------------------------------------------------------------------
// Pow(base, exponent): output has the base's type; the exponent may have another numeric type.

template <class I>
I intPow(I base, int64_t e) {
  if (e < 0) {
    if (base == 0) throw Error(ErrorCode::kINVALID_ARGUMENT, "Pow: zero to a negative integer power");
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<I>)
      if (base == -1) return (e & 1) ? static_cast<I>(-1) : I{1};
    return 0;  // |1 / base^n| < 1 truncates to 0
  }
  using W = WrapT<I>;
  W result = 1, b = static_cast<W>(base);
  uint64_t n = static_cast<uint64_t>(e);
  while (n) {
    if (n & 1) result = static_cast<W>(result * b);
    b = static_cast<W>(b * b);
    n >>= 1;
  }
  return static_cast<I>(result);
}

class PowKernel : public Kernel {
 public:
  explicit PowKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype, e = node.inputs[1]->dtype;
    if (!isNumeric(t)) unsupportedType(node, t);
    if (!isNumeric(e)) unsupportedType(node, e);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    dispatchType(a.dtype, [&](auto ta) {
      using T = decltype(ta);
      dispatchType(b.dtype, [&](auto tb) {
        using E = decltype(tb);
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<E, bool>) {
          throw Error(ErrorCode::kUNSUPPORTED_NODE, "Pow: bool is not supported");
        } else if constexpr (kIsInt<T> && kIsInt<E>) {
          broadcastMap<T, T, E>(y, {&a, &b}, [](T p, E q) {
            if constexpr (std::is_unsigned_v<E>) {
              // huge unsigned exponents: clamp, keeping the parity (it decides the sign for base -1)
              constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
              if (static_cast<uint64_t>(q) > kMax) q = static_cast<E>((q & 1) ? kMax : kMax - 1);
            }
            return intPow<T>(p, static_cast<int64_t>(q));
          });
        } else {
          broadcastMap<T, T, E>(y, {&a, &b}, [](T p, E q) {
            return fromDouble<T>(std::pow(static_cast<double>(load(p)), static_cast<double>(load(q))));
          });
        }
      });
    });
  }
};

}  // namespace

void registerBinaryKernels(KernelRegistry& reg) {
  reg.add("Add", refTactic<BinaryKernel<AddOp>>());
  reg.add("Sub", refTactic<BinaryKernel<SubOp>>());
  reg.add("Mul", refTactic<BinaryKernel<MulOp>>());
  reg.add("Div", refTactic<BinaryKernel<DivOp>>());
  reg.add("Mod", refTactic<BinaryKernel<ModOp>>());
  reg.add("FloorDiv", refTactic<BinaryKernel<FloorDivOp>>());
  reg.add("Equal", refTactic<BinaryKernel<EqualOp>>());
  reg.add("Greater", refTactic<BinaryKernel<GreaterOp>>());
  reg.add("Less", refTactic<BinaryKernel<LessOp>>());
  reg.add("GreaterOrEqual", refTactic<BinaryKernel<GreaterOrEqualOp>>());
  reg.add("LessOrEqual", refTactic<BinaryKernel<LessOrEqualOp>>());
  reg.add("And", refTactic<BinaryKernel<AndOp>>());
  reg.add("Or", refTactic<BinaryKernel<OrOp>>());
  reg.add("Xor", refTactic<BinaryKernel<XorOp>>());
  reg.add("BitwiseAnd", refTactic<BinaryKernel<BitwiseAndOp>>());
  reg.add("BitwiseOr", refTactic<BinaryKernel<BitwiseOrOp>>());
  reg.add("BitwiseXor", refTactic<BinaryKernel<BitwiseXorOp>>());
  reg.add("BitShift", refTactic<BinaryKernel<BitShiftOp>>());
  reg.add("Sum", refTactic<VariadicKernel<AddOp, false>>());
  reg.add("Mean", refTactic<VariadicKernel<AddOp, true>>());
  reg.add("Max", refTactic<VariadicKernel<MaxOp, false>>());
  reg.add("Min", refTactic<VariadicKernel<MinOp, false>>());
  reg.add("Pow", refTactic<PowKernel>());
}

}  // namespace kiln::cpu::ew
