// Reference kernels of the unary math ops (ONNX semantics). Float types are computed in double.
#include <cfenv>
#include <cmath>

#include "backends/cpu/ref/elementwise_impl.h"

namespace kiln::cpu::ew {
namespace {

// A float-only op from a plain function of double.
template <double (*F)(double)>
struct FloatFn {
  explicit FloatFn(const ir::Node&) {}
  static constexpr int kInts = 0;
  static bool accepts(DataType t) { return isFloatingType(t); }
  double f(double x) const { return F(x); }
};

double fExp(double x) { return std::exp(x); }
double fLog(double x) { return std::log(x); }
double fSqrt(double x) { return std::sqrt(x); }
double fRecip(double x) { return 1.0 / x; }
double fSin(double x) { return std::sin(x); }
double fCos(double x) { return std::cos(x); }
double fTan(double x) { return std::tan(x); }
double fSinh(double x) { return std::sinh(x); }
double fCosh(double x) { return std::cosh(x); }
double fAsin(double x) { return std::asin(x); }
double fAcos(double x) { return std::acos(x); }
double fAtan(double x) { return std::atan(x); }
double fAsinh(double x) { return std::asinh(x); }
double fAcosh(double x) { return std::acosh(x); }
double fAtanh(double x) { return std::atanh(x); }
double fCeil(double x) { return std::ceil(x); }
double fFloor(double x) { return std::floor(x); }
double fRound(double x) {
  // half to even, independent of the current rounding mode
  double r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return r;
}

struct ErfOp {
  explicit ErfOp(const ir::Node&) {}
  static constexpr int kInts = 2;
  static bool accepts(DataType t) { return isNumeric(t); }
  double f(double x) const { return std::erf(x); }
};

struct AbsOp {
  explicit AbsOp(const ir::Node&) {}
  static constexpr int kInts = 1;
  static bool accepts(DataType t) { return isNumeric(t); }
  double f(double x) const { return std::fabs(x); }
  template <class I>
  I i(I x) const {
    if constexpr (std::is_signed_v<I>)
      return x < 0 ? wrapNeg(x) : x;
    else
      return x;
  }
};

struct NegOp {
  explicit NegOp(const ir::Node&) {}
  static constexpr int kInts = 1;
  static bool accepts(DataType t) { return isFloatOrSignedInt(t); }
  double f(double x) const { return -x; }
  template <class I>
  I i(I x) const {
    return wrapNeg(x);
  }
};

struct SignOp {
  explicit SignOp(const ir::Node&) {}
  static constexpr int kInts = 1;
  static bool accepts(DataType t) { return isNumeric(t); }
  double f(double x) const { return x > 0 ? 1.0 : x < 0 ? -1.0 : x; }  // NaN stays NaN, 0 stays 0
  template <class I>
  I i(I x) const {
    return x > 0 ? I{1} : x < 0 ? static_cast<I>(-1) : I{0};
  }
};

// ---------------------------------------------------------------------------------------------------------
// Ops with other output types

class IsInfKernel : public Kernel {
 public:
  explicit IsInfKernel(const ir::Node& node)
      : neg_(node.attrs.getInt("detect_negative", 1) != 0), pos_(node.attrs.getInt("detect_positive", 1) != 0) {
    if (!isFloatingType(node.inputs[0]->dtype)) unsupportedType(node, node.inputs[0]->dtype);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    bool* out = ctx.outputs[0].as<bool>();
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        const T* in = x.as<T>();
        for (int64_t i = 0; i < x.numel; ++i) {
          double v = toDouble(in[i]);
          out[i] = std::isinf(v) && ((v > 0 && pos_) || (v < 0 && neg_));
        }
      } else {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "IsInf: float types only");
      }
    });
  }

 private:
  bool neg_, pos_;
};

class IsNaNKernel : public Kernel {
 public:
  explicit IsNaNKernel(const ir::Node& node) {
    if (!isFloatingType(node.inputs[0]->dtype)) unsupportedType(node, node.inputs[0]->dtype);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    bool* out = ctx.outputs[0].as<bool>();
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        const T* in = x.as<T>();
        for (int64_t i = 0; i < x.numel; ++i) out[i] = std::isnan(toDouble(in[i]));
      } else {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "IsNaN: float types only");
      }
    });
  }
};

class NotKernel : public Kernel {
 public:
  explicit NotKernel(const ir::Node& node) {
    if (node.inputs[0]->dtype != DataType::kBOOL) unsupportedType(node, node.inputs[0]->dtype);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    if (x.dtype != DataType::kBOOL) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Not: bool only");
    // read as bytes: any non-zero byte is true
    const uint8_t* in = x.as<uint8_t>();
    bool* out = ctx.outputs[0].as<bool>();
    for (int64_t i = 0; i < x.numel; ++i) out[i] = in[i] == 0;
  }
};

class BitwiseNotKernel : public Kernel {
 public:
  explicit BitwiseNotKernel(const ir::Node& node) {
    if (!isIntegerType(node.inputs[0]->dtype)) unsupportedType(node, node.inputs[0]->dtype);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsInt<T>) {
        const T* in = x.as<T>();
        T* out = ctx.outputs[0].as<T>();
        for (int64_t i = 0; i < x.numel; ++i) out[i] = static_cast<T>(~in[i]);
      } else {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "BitwiseNot: integer types only");
      }
    });
  }
};

}  // namespace

void registerUnaryKernels(KernelRegistry& reg) {
  reg.add("Exp", refTactic<UnaryKernel<FloatFn<fExp>>>());
  reg.add("Log", refTactic<UnaryKernel<FloatFn<fLog>>>());
  reg.add("Sqrt", refTactic<UnaryKernel<FloatFn<fSqrt>>>());
  reg.add("Reciprocal", refTactic<UnaryKernel<FloatFn<fRecip>>>());
  reg.add("Sin", refTactic<UnaryKernel<FloatFn<fSin>>>());
  reg.add("Cos", refTactic<UnaryKernel<FloatFn<fCos>>>());
  reg.add("Tan", refTactic<UnaryKernel<FloatFn<fTan>>>());
  reg.add("Sinh", refTactic<UnaryKernel<FloatFn<fSinh>>>());
  reg.add("Cosh", refTactic<UnaryKernel<FloatFn<fCosh>>>());
  reg.add("Asin", refTactic<UnaryKernel<FloatFn<fAsin>>>());
  reg.add("Acos", refTactic<UnaryKernel<FloatFn<fAcos>>>());
  reg.add("Atan", refTactic<UnaryKernel<FloatFn<fAtan>>>());
  reg.add("Asinh", refTactic<UnaryKernel<FloatFn<fAsinh>>>());
  reg.add("Acosh", refTactic<UnaryKernel<FloatFn<fAcosh>>>());
  reg.add("Atanh", refTactic<UnaryKernel<FloatFn<fAtanh>>>());
  reg.add("Ceil", refTactic<UnaryKernel<FloatFn<fCeil>>>());
  reg.add("Floor", refTactic<UnaryKernel<FloatFn<fFloor>>>());
  reg.add("Round", refTactic<UnaryKernel<FloatFn<fRound>>>());
  reg.add("Erf", refTactic<UnaryKernel<ErfOp>>());
  reg.add("Abs", refTactic<UnaryKernel<AbsOp>>());
  reg.add("Neg", refTactic<UnaryKernel<NegOp>>());
  reg.add("Sign", refTactic<UnaryKernel<SignOp>>());
  reg.add("IsInf", refTactic<IsInfKernel>());
  reg.add("IsNaN", refTactic<IsNaNKernel>());
  reg.add("Not", refTactic<NotKernel>());
  reg.add("BitwiseNot", refTactic<BitwiseNotKernel>());
}

}  // namespace kiln::cpu::ew
