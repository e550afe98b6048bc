// Reference kernels of the activation functions (ONNX semantics; kiln extensions ScaledTanh, Silu and
// Softplus's alpha/beta). Float types are computed in double.
#include <algorithm>
#include <cmath>

#include "backends/cpu/ref/elementwise_impl.h"

namespace kiln::cpu::ew {
namespace {

//! log(1 + exp(z)) without overflow.
inline double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z))); }
inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

struct FloatOnly {
  static constexpr int kInts = 0;
  static bool accepts(DataType t) { return isFloatingType(t); }
};

struct ReluOp {
  explicit ReluOp(const ir::Node&) {}
  static constexpr int kInts = 1;
  static bool accepts(DataType t) { return isFloatOrSignedInt(t); }
  double f(double x) const { return x > 0 || std::isnan(x) ? x : 0.0; }
  template <class I>
  I i(I x) const {
    return x > 0 ? x : I{0};
  }
};

struct SigmoidOp : FloatOnly {
  explicit SigmoidOp(const ir::Node&) {}
  double f(double x) const { return sigmoid(x); }
};

struct TanhOp : FloatOnly {
  explicit TanhOp(const ir::Node&) {}
  double f(double x) const { return std::tanh(x); }
};

struct LeakyReluOp : FloatOnly {
  explicit LeakyReluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 0.01)) {}
  double alpha;
  double f(double x) const { return x < 0 ? alpha * x : x; }
};

struct EluOp : FloatOnly {
  explicit EluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {}
  double alpha;
  double f(double x) const { return x < 0 ? alpha * std::expm1(x) : x; }
};

struct SeluOp : FloatOnly {
  explicit SeluOp(const ir::Node& n)
      : alpha(n.attrs.getFloat("alpha", 1.67326319217681884765625)),
        gamma(n.attrs.getFloat("gamma", 1.05070102214813232421875)) {}
  double alpha, gamma;
  double f(double x) const { return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha); }
};

struct SoftsignOp : FloatOnly {
  explicit SoftsignOp(const ir::Node&) {}
  double f(double x) const { return x / (1.0 + std::fabs(x)); }
};

struct SoftplusOp : FloatOnly {
  explicit SoftplusOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)), beta(n.attrs.getFloat("beta", 1.0)) {}
  double alpha, beta;
  double f(double x) const { return alpha * softplus(beta * x); }
};

struct HardSigmoidOp : FloatOnly {
  explicit HardSigmoidOp(const ir::Node& n)
      : alpha(n.attrs.getFloat("alpha", 0.2)), beta(n.attrs.getFloat("beta", 0.5)) {}
  double alpha, beta;
  double f(double x) const {
    double v = alpha * x + beta;
    if (std::isnan(v)) return v;
    return std::min(1.0, std::max(0.0, v));
  }
};

struct ScaledTanhOp : FloatOnly {
  explicit ScaledTanhOp(const ir::Node& n)
      : alpha(n.attrs.getFloat("alpha", 1.0)), beta(n.attrs.getFloat("beta", 1.0)) {}
  double alpha, beta;
  double f(double x) const { return alpha * std::tanh(beta * x); }
};

struct ThresholdedReluOp : FloatOnly {
  explicit ThresholdedReluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {}
  double alpha;
  double f(double x) const { return x > alpha ? x : (std::isnan(x) ? x : 0.0); }
};

struct GeluOp : FloatOnly {
  explicit GeluOp(const ir::Node& n) {
    std::string a = n.attrs.getString("approximate", "none");
    if (a == "tanh")
      tanhApprox = true;
    else if (a != "none")
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "Gelu: approximate must be \"none\" or \"tanh\", got \"" + a + "\"");
  }
  bool tanhApprox{false};
  double f(double x) const {
    if (tanhApprox) {
      constexpr double k = 0.79788456080286535587989211986876;  // sqrt(2/pi)
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440084436210485));
  }
};

struct SiluOp : FloatOnly {
  explicit SiluOp(const ir::Node&) {}
  double f(double x) const { return x * sigmoid(x); }
};

struct HardSwishOp : FloatOnly {
  explicit HardSwishOp(const ir::Node&) {}
  double f(double x) const {
    if (std::isnan(x)) return x;
    return x * std::min(1.0, std::max(0.0, x / 6.0 + 0.5));
  }
};

struct MishOp : FloatOnly {
  explicit MishOp(const ir::Node&) {}
  double f(double x) const { return x * std::tanh(softplus(x)); }
};

struct CeluOp : FloatOnly {
  explicit CeluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {
    if (alpha == 0) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Celu: alpha must not be 0");
  }
  double alpha;
  double f(double x) const {
    if (std::isnan(x)) return x;
    return std::max(0.0, x) + std::min(0.0, alpha * std::expm1(x / alpha));
  }
};

struct ShrinkOp {
  explicit ShrinkOp(const ir::Node& n) : bias(n.attrs.getFloat("bias", 0.0)), lambd(n.attrs.getFloat("lambd", 0.5)) {}
  static constexpr int kInts = 2;
  static bool accepts(DataType t) { return isNumeric(t); }
  double bias, lambd;
  double f(double x) const {
    if (x < -lambd) return x + bias;
    if (x > lambd) return x - bias;
    return std::isnan(x) ? x : 0.0;
  }
};

// ---------------------------------------------------------------------------------------------------------
// Clip(x, min?, max?): min/max are scalars read at run time.

class ClipKernel : public Kernel {
 public:
  explicit ClipKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    if (!isNumeric(t)) unsupportedType(node, t);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    for (size_t k = 1; k < ctx.inputs.size(); ++k) {
      const TensorView& b = ctx.inputs[k];
      if (!b.present) continue;
      if (b.numel != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "Clip: min and max must be scalars");
      if (b.dtype != x.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, "Clip: min/max type differs from the input's");
    }
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "Clip: bool is not supported");
      } else {
        using C = ComputeT<T>;
        bool hasLo = ctx.inputs.size() > 1 && ctx.inputs[1].present;
        bool hasHi = ctx.inputs.size() > 2 && ctx.inputs[2].present;
        C lo = hasLo ? load(ctx.inputs[1].as<T>()[0]) : C{};
        C hi = hasHi ? load(ctx.inputs[2].as<T>()[0]) : C{};
        const T* in = x.as<T>();
        T* out = y.as<T>();
        for (int64_t i = 0; i < x.numel; ++i) {
          C v = load(in[i]);
          if (hasLo && v < lo) v = lo;
          if (hasHi && v > hi) v = hi;  // min > max: everything becomes max (ONNX)
          out[i] = store<T>(v);
        }
      }
    });
  }
};

// ---------------------------------------------------------------------------------------------------------
// PRelu(x, slope): slope broadcasts unidirectionally to x.

class PReluKernel : public Kernel {
 public:
  explicit PReluKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    if (!isNumeric(t)) unsupportedType(node, t);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (s.dtype != x.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, "PRelu: slope type differs from the input's");
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "PRelu: bool is not supported");
      } else if constexpr (kIsFloat<T>) {
        broadcastMap<T, T, T>(y, {&x, &s}, [](T a, T b) {
          double v = toDouble(a);
          return fromDouble<T>(v < 0 ? v * toDouble(b) : v);
        });
      } else {
        broadcastMap<T, T, T>(y, {&x, &s}, [](T a, T b) {
          if constexpr (std::is_signed_v<T>) {
            using U = std::make_unsigned_t<T>;
            return a < 0 ? static_cast<T>(static_cast<U>(a) * static_cast<U>(b)) : a;
          } else {
            (void)b;
            return a;
          }
        });
      }
    });
  }
};

}  // namespace

void registerActivationKernels(KernelRegistry& reg) {
  reg.add("Relu", refTactic<UnaryKernel<ReluOp>>());
  reg.add("Sigmoid", refTactic<UnaryKernel<SigmoidOp>>());
  reg.add("Tanh", refTactic<UnaryKernel<TanhOp>>());
  reg.add("LeakyRelu", refTactic<UnaryKernel<LeakyReluOp>>());
  reg.add("Elu", refTactic<UnaryKernel<EluOp>>());
  reg.add("Selu", refTactic<UnaryKernel<SeluOp>>());
  reg.add("Softsign", refTactic<UnaryKernel<SoftsignOp>>());
  reg.add("Softplus", refTactic<UnaryKernel<SoftplusOp>>());
  reg.add("HardSigmoid", refTactic<UnaryKernel<HardSigmoidOp>>());
  reg.add("ScaledTanh", refTactic<UnaryKernel<ScaledTanhOp>>());
  reg.add("ThresholdedRelu", refTactic<UnaryKernel<ThresholdedReluOp>>());
  reg.add("Gelu", refTactic<UnaryKernel<GeluOp>>());
  reg.add("Silu", refTactic<UnaryKernel<SiluOp>>());
  reg.add("HardSwish", refTactic<UnaryKernel<HardSwishOp>>());
  reg.add("Mish", refTactic<UnaryKernel<MishOp>>());
  reg.add("Celu", refTactic<UnaryKernel<CeluOp>>());
  reg.add("Shrink", refTactic<UnaryKernel<ShrinkOp>>());
  reg.add("Clip", refTactic<ClipKernel>());
  reg.add("PRelu", refTactic<PReluKernel>());
}

}  // namespace kiln::cpu::ew
