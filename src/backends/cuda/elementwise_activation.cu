// GPU kernels of the activation functions (ONNX semantics; kiln's ScaledTanh, Silu, Softplus alpha/beta)
// and Clip. float/float16/bfloat16 are computed in float, double in double (the CPU reference computes
// every float type in double: results differ by float rounding only). Relu also takes the signed
// integers, Clip and Shrink every numeric type (Shrink on integers computes in double and truncates).
#include <cstring>

#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

template <class C>
__device__ __forceinline__ C softplusOf(C z) {  // log(1 + exp(z)) without overflow
  return (z > C(0) ? z : C(0)) + m_log1p(m_exp(-m_fabs(z)));
}
template <class C>
__device__ __forceinline__ C sigmoidOf(C x) {
  if (x >= C(0)) return C(1) / (C(1) + m_exp(-x));
  const C e = m_exp(x);
  return e / (C(1) + e);
}
template <class C>
__device__ __forceinline__ C clamp01(C v) {
  return v < C(0) ? C(0) : (v > C(1) ? C(1) : v);
}

struct FloatOnly {
  template <class T>
  static constexpr bool ok() {
    return kFloat<T>;
  }
  static constexpr bool kBoolOut = false;
};

struct ReluOp {
  explicit ReluOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kFloat<T> || kSInt<T>;
  }
  static constexpr bool kBoolOut = false;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return !(x <= C(0)) ? x : C(0);  // NaN passes
    else
      return x > 0 ? x : C{0};
  }
};

struct SigmoidOp : FloatOnly {
  explicit SigmoidOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return sigmoidOf(x);
  }
};

struct TanhOp : FloatOnly {
  explicit TanhOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return m_tanh(x);
  }
};

struct LeakyReluOp : FloatOnly {
  explicit LeakyReluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 0.01)) {}
  Param alpha;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x < C(0) ? alpha.get<C>() * x : x;
  }
};

struct EluOp : FloatOnly {
  explicit EluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {}
  Param alpha;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x < C(0) ? alpha.get<C>() * m_expm1(x) : x;
  }
};

struct SeluOp : FloatOnly {
  explicit SeluOp(const ir::Node& n)
      : alpha(n.attrs.getFloat("alpha", 1.67326319217681884765625)),
        gamma(n.attrs.getFloat("gamma", 1.05070102214813232421875)) {}
  Param alpha, gamma;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x > C(0) ? gamma.get<C>() * x : gamma.get<C>() * (alpha.get<C>() * m_expm1(x));
  }
};

struct SoftsignOp : FloatOnly {
  explicit SoftsignOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x / (C(1) + m_fabs(x));
  }
};

struct SoftplusOp : FloatOnly {
  explicit SoftplusOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)), beta(n.attrs.getFloat("beta", 1.0)) {}
  Param alpha, beta;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return alpha.get<C>() * softplusOf(beta.get<C>() * x);
  }
};

struct HardSigmoidOp : FloatOnly {
  explicit HardSigmoidOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 0.2)), beta(n.attrs.getFloat("beta", 0.5)) {}
  Param alpha, beta;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    const C v = alpha.get<C>() * x + beta.get<C>();
    return v != v ? v : clamp01(v);
  }
};

struct ScaledTanhOp : FloatOnly {
  explicit ScaledTanhOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)), beta(n.attrs.getFloat("beta", 1.0)) {}
  Param alpha, beta;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return alpha.get<C>() * m_tanh(beta.get<C>() * x);
  }
};

struct ThresholdedReluOp : FloatOnly {
  explicit ThresholdedReluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {}
  Param alpha;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x > alpha.get<C>() ? x : (x != x ? x : C(0));
  }
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
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if (tanhApprox) {
      const C k = C(0.79788456080286535587989211986876);  // sqrt(2/pi)
      return C(0.5) * x * (C(1) + m_tanh(k * (x + C(0.044715) * x * x * x)));
    }
    // 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), without cancellation for x << 0
    return C(0.5) * x * m_erfc(-x * C(0.70710678118654752440084436210485));
  }
};

struct SiluOp : FloatOnly {
  explicit SiluOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x * sigmoidOf(x);
  }
};

struct HardSwishOp : FloatOnly {
  explicit HardSwishOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x != x ? x : x * clamp01(x / C(6) + C(0.5));
  }
};

struct MishOp : FloatOnly {
  explicit MishOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    return x * m_tanh(softplusOf(x));
  }
};

struct CeluOp : FloatOnly {
  explicit CeluOp(const ir::Node& n) : alpha(n.attrs.getFloat("alpha", 1.0)) {
    if (alpha.d == 0) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Celu: alpha must not be 0");
  }
  Param alpha;
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if (x != x) return x;
    const C a = alpha.get<C>();
    const C neg = a * m_expm1(x / a);
    return (x > C(0) ? x : C(0)) + (neg < C(0) ? neg : C(0));
  }
};

struct ShrinkOp {
  explicit ShrinkOp(const ir::Node& n) : bias(n.attrs.getFloat("bias", 0.0)), lambd(n.attrs.getFloat("lambd", 0.5)) {}
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = false;
  Param bias, lambd;
  template <class C>
  __device__ __forceinline__ C f(C x) const {
    const C l = lambd.get<C>();
    if (x < -l) return x + bias.get<C>();
    if (x > l) return x - bias.get<C>();
    return x != x ? x : C(0);
  }
  template <class C>
  __device__ __forceinline__ C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>)
      return f(x);
    else
      return saturateToInt<C>(f(static_cast<double>(x)));
  }
};

// ---------------------------------------------------------------------------------------------------------
// Clip(x, min?, max?): min/max are constants on the GPU (read when the kernel is created).

template <class T>
struct ClipOp {
  T lo, hi;
  bool hasLo, hasHi;
  template <class C>
  __device__ __forceinline__ C operator()(C v) const {
    if (hasLo && v < ld(lo)) v = ld(lo);
    if (hasHi && v > ld(hi)) v = ld(hi);  // min > max: everything becomes max (ONNX)
    return v;
  }
};

class ClipKernel final : public Kernel {
 public:
  explicit ClipKernel(const ir::Node& n) {
    for (size_t k = 1; k < 3; ++k) {
      const ir::Value* v = k < n.inputs.size() ? n.inputs[k] : nullptr;
      if (!v) continue;
      if (!v->isConstant()) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Clip: min and max must be constants on the GPU");
      if (v->constant->numel() != 1) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Clip: min and max must be scalars");
      if (v->constant->dtype != n.inputs[0]->dtype)
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "Clip: min/max type differs from the input's");
      has_[k - 1] = true;
      std::memcpy(&bits_[k - 1], v->constant->raw(), dataTypeSize(v->constant->dtype));
    }
  }
  static bool supports(const ir::Node& n, std::string* why) {
    DataType t = inType(n, 0);
    if (!isFloatingType(t) && !isIntegerType(t)) return rejectType(n, t, why);
    for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      const ir::Value* v = n.inputs[k];
      if (!v) continue;
      if (!v->isConstant()) {
        if (why) *why = "Clip: 'min' and 'max' must be constants on the GPU";
        return false;
      }
      if (v->constant->numel() != 1 || v->constant->dtype != t) {
        if (why) *why = "Clip: 'min' and 'max' must be scalars of the input's type";
        return false;
      }
    }
    return true;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!kNumeric<T>) {
        unsupportedType("Clip", x.dtype);
      } else {
        ClipOp<T> op;
        std::memcpy(static_cast<void*>(&op.lo), &bits_[0], sizeof(T));
        std::memcpy(static_cast<void*>(&op.hi), &bits_[1], sizeof(T));
        op.hasLo = has_[0];
        op.hasHi = has_[1];
        launchUnary<ClipOp<T>, T, T>(op, x, y, streamOf(ctx), "Clip");
      }
    });
  }

 private:
  bool has_[2]{false, false};
  uint64_t bits_[2]{0, 0};
};

}  // namespace

void registerActivationKernels(KernelRegistry& reg) {
  addUnary<ReluOp>(reg, "Relu");
  addUnary<SigmoidOp>(reg, "Sigmoid");
  addUnary<TanhOp>(reg, "Tanh");
  addUnary<LeakyReluOp>(reg, "LeakyRelu");
  addUnary<EluOp>(reg, "Elu");
  addUnary<SeluOp>(reg, "Selu");
  addUnary<SoftsignOp>(reg, "Softsign");
  addUnary<SoftplusOp>(reg, "Softplus");
  addUnary<HardSigmoidOp>(reg, "HardSigmoid");
  addUnary<ScaledTanhOp>(reg, "ScaledTanh");
  addUnary<ThresholdedReluOp>(reg, "ThresholdedRelu");
  addUnary<GeluOp>(reg, "Gelu");
  addUnary<SiluOp>(reg, "Silu");
  addUnary<HardSwishOp>(reg, "HardSwish");
  addUnary<MishOp>(reg, "Mish");
  addUnary<CeluOp>(reg, "Celu");
  addUnary<ShrinkOp>(reg, "Shrink");
  reg.add("Clip", cudaTactic<ClipKernel>(&ClipKernel::supports));
}

}  // namespace kiln::gpu::ew
