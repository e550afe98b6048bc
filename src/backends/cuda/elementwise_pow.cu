// GPU kernel of Pow(X, Y) with numpy broadcasting; the output has X's type.
//
// Types: X float/float16/bfloat16/double/int32/int64, Y of any numeric type (the CPU reference,
// cpu/ref/elementwise_binary.cpp, also takes the other integer types for X). float^float is computed in
// float (powf), the rest with a float side in double; integer^integer by squaring with wrap-around, an
// unsigned exponent above INT64_MAX clamped keeping its parity (as the reference). A constant scalar
// exponent of 2 squares. Integer 0 to a negative integer power gives 0 (the reference throws).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

template <class T>
constexpr bool powBaseOk() {
  return kFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;
}
template <class T, class E>
constexpr bool powOk() {
  return powBaseOk<T>() && kNumeric<E>;
}

template <class I>
__device__ __forceinline__ I intPow(I base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<I>)
      if (base == -1) return (e & 1) ? static_cast<I>(-1) : I{1};
    return 0;  // |1 / base^n| < 1 truncates to 0 (0^negative: the reference throws)
  }
  using W = WrapU<I>;
  W result = 1, b = static_cast<W>(base);
  uint64_t n = static_cast<uint64_t>(e);
  while (n) {
    if (n & 1) result = static_cast<W>(result * b);
    b = static_cast<W>(b * b);
    n >>= 1;
  }
  return static_cast<I>(result);
}

struct PowOp {
  bool square{false};
  template <class CA, class CB>
  __device__ __forceinline__ CA operator()(CA a, CB e) const {
    if constexpr (std::is_floating_point_v<CA>) {
      if (square) return a * a;
      if constexpr (std::is_same_v<CA, float> && std::is_same_v<CB, float>)
        return powf(a, e);
      else
        return static_cast<CA>(pow(static_cast<double>(a), static_cast<double>(e)));
    } else if constexpr (std::is_floating_point_v<CB>) {
      return saturateToInt<CA>(pow(static_cast<double>(a), static_cast<double>(e)));
    } else {
      if constexpr (std::is_unsigned_v<CB>) {
        // huge unsigned exponents: clamp, keeping the parity (it decides the sign for base -1)
        constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
        if (static_cast<uint64_t>(e) > kMax) return intPow<CA>(a, static_cast<int64_t>((e & 1) ? kMax : kMax - 1));
      }
      return intPow<CA>(a, static_cast<int64_t>(e));
    }
  }
};

class PowKernel final : public Kernel {
 public:
  explicit PowKernel(const ir::Node& n) {
    const ir::Value* e = n.inputs[1];
    op_.square = isFloatingType(n.inputs[0]->dtype) && e->isConstant() && e->constant->numel() == 1 &&
                 e->constant->floatAt(0) == 2.0;
  }
  static bool supports(const ir::Node& n, std::string* why) {
    DataType t = inType(n, 0), e = inType(n, 1);
    bool ok = false;
    try {
      dispatchDeviceType(t, [&](auto ta) {
        dispatchDeviceType(e, [&](auto tb) { ok = powOk<decltype(ta), decltype(tb)>(); });
      });
    } catch (const Error&) {
      ok = false;
    }
    if (!ok && why)
      *why = std::string("Pow: ") + dataTypeName(t) + " to a " + dataTypeName(e) + " power is not supported on the GPU";
    return ok;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    dispatchDeviceType(a.dtype, [&](auto ta) {
      using T = decltype(ta);
      if constexpr (!powBaseOk<T>()) {
        unsupportedType("Pow", a.dtype);
      } else {
        dispatchDeviceType(b.dtype, [&](auto tb) {
          using E = decltype(tb);
          if constexpr (!powOk<T, E>())
            unsupportedType("Pow (exponent)", b.dtype);
          else
            launchBinary<PowOp, T, E, T>(op_, a, b, y, streamOf(ctx), "Pow");
        });
      }
    });
  }

 private:
  PowOp op_;
};

}  // namespace

void registerPowKernels(KernelRegistry& reg) { reg.add("Pow", cudaTactic<PowKernel>(&PowKernel::supports)); }

}  // namespace kiln::gpu::ew
