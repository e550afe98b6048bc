// GPU kernels of the unary math ops (ONNX semantics): Exp, Log, Sqrt, Reciprocal, trigonometric and
// hyperbolic functions, Ceil, Floor, Round (halves to even), Erf, Abs, Neg, Sign, IsInf, IsNaN, Not,
// BitwiseNot. float/float16/bfloat16 are computed in float, double in double (the CPU reference computes
// in double: results differ by float rounding only).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

struct FloatOnly {
  template <class T>
  static constexpr bool ok() {
    return kFloat<T>;
  }
  static constexpr bool kBoolOut = false;
};

#define KILN_EW_FLOAT_OP(NAME, EXPR)                    \
  struct NAME : FloatOnly {                             \
    explicit NAME(const ir::Node&) {}                   \
    template <class C>                                  \
    __device__ __forceinline__ C operator()(C x) const { \
      return EXPR;                                      \
    }                                                   \
  };
KILN_EW_FLOAT_OP(ExpOp, m_exp(x))
KILN_EW_FLOAT_OP(LogOp, m_log(x))
KILN_EW_FLOAT_OP(SqrtOp, m_sqrt(x))
KILN_EW_FLOAT_OP(ReciprocalOp, C(1) / x)
KILN_EW_FLOAT_OP(SinOp, m_sin(x))
KILN_EW_FLOAT_OP(CosOp, m_cos(x))
KILN_EW_FLOAT_OP(TanOp, m_tan(x))
KILN_EW_FLOAT_OP(SinhOp, m_sinh(x))
KILN_EW_FLOAT_OP(CoshOp, m_cosh(x))
KILN_EW_FLOAT_OP(AsinOp, m_asin(x))
KILN_EW_FLOAT_OP(AcosOp, m_acos(x))
KILN_EW_FLOAT_OP(AtanOp, m_atan(x))
KILN_EW_FLOAT_OP(AsinhOp, m_asinh(x))
KILN_EW_FLOAT_OP(AcoshOp, m_acosh(x))
KILN_EW_FLOAT_OP(AtanhOp, m_atanh(x))
KILN_EW_FLOAT_OP(CeilOp, m_ceil(x))
KILN_EW_FLOAT_OP(FloorOp, m_floor(x))
KILN_EW_FLOAT_OP(RoundOp, m_rint(x))  // round to nearest, halves to even
#undef KILN_EW_FLOAT_OP

struct ErfOp {
  explicit ErfOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return m_erf(x);
    else
      return saturateToInt<C>(::erf(static_cast<double>(x)));  // as the reference: 0, or +-1 for |x| >= 6
  }
};

struct AbsOp {
  explicit AbsOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return m_fabs(x);
    else if constexpr (std::is_signed_v<C>)
      return x < 0 ? wrapNeg(x) : x;
    else
      return x;
  }
};

struct NegOp {
  explicit NegOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kFloat<T> || kSInt<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return -x;
    else
      return wrapNeg(x);
  }
};

struct SignOp {
  explicit SignOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return x > C(0) ? C(1) : (x < C(0) ? C(-1) : x);  // NaN stays NaN, zeros stay
    else if constexpr (std::is_signed_v<C>)
      return x > 0 ? C{1} : (x < 0 ? static_cast<C>(-1) : C{0});
    else
      return x > 0 ? C{1} : C{0};
  }
};

struct IsInfOp {
  explicit IsInfOp(const ir::Node& n)
      : neg(n.attrs.getInt("detect_negative", 1) != 0), pos(n.attrs.getInt("detect_positive", 1) != 0) {}
  template <class T>
  static constexpr bool ok() {
    return kFloat<T>;
  }
  static constexpr bool kBoolOut = true;
  bool neg, pos;
  template <class C>
  __device__ __forceinline__ bool operator()(C x) const {
    return isinf(x) && ((x > C(0) && pos) || (x < C(0) && neg));
  }
};

struct IsNaNOp {
  explicit IsNaNOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kFloat<T>;
  }
  static constexpr bool kBoolOut = true;
  template <class C>
  __device__ __forceinline__ bool operator()(C x) const {
    return x != x;
  }
};

struct NotOp {
  explicit NotOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return std::is_same_v<T, bool>;
  }
  static constexpr bool kBoolOut = true;
  __device__ __forceinline__ bool operator()(uint8_t x) const { return x == 0; }
};

struct BitwiseNotOp {
  explicit BitwiseNotOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kInt<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return static_cast<C>(~x);
  }
};

}  // namespace

void registerUnaryMathKernels(KernelRegistry& reg) {
  addUnary<ExpOp>(reg, "Exp");
  addUnary<LogOp>(reg, "Log");
  addUnary<SqrtOp>(reg, "Sqrt");
  addUnary<ReciprocalOp>(reg, "Reciprocal");
  addUnary<SinOp>(reg, "Sin");
  addUnary<CosOp>(reg, "Cos");
  addUnary<TanOp>(reg, "Tan");
  addUnary<SinhOp>(reg, "Sinh");
  addUnary<CoshOp>(reg, "Cosh");
  addUnary<AsinOp>(reg, "Asin");
  addUnary<AcosOp>(reg, "Acos");
  addUnary<AtanOp>(reg, "Atan");
  addUnary<AsinhOp>(reg, "Asinh");
  addUnary<AcoshOp>(reg, "Acosh");
  addUnary<AtanhOp>(reg, "Atanh");
  addUnary<CeilOp>(reg, "Ceil");
  addUnary<FloorOp>(reg, "Floor");
  addUnary<RoundOp>(reg, "Round");
  addUnary<ErfOp>(reg, "Erf");
  addUnary<AbsOp>(reg, "Abs");
  addUnary<NegOp>(reg, "Neg");
  addUnary<SignOp>(reg, "Sign");
  addUnary<IsInfOp>(reg, "IsInf");
  addUnary<IsNaNOp>(reg, "IsNaN");
  addUnary<NotOp>(reg, "Not");
  addUnary<BitwiseNotOp>(reg, "BitwiseNot");
}

}  // namespace kiln::gpu::ew
