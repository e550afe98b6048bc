// Reference kernels: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare (axes input,
// keepdims, noop_with_empty_axes; empty reductions give the identity element) and ArgMax/ArgMin.
#include <cmath>
#include <cstring>

#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu::nn {
namespace {

enum class Red { kSUM, kMEAN, kMAX, kMIN, kPROD, kL1, kL2, kLOGSUM, kLOGSUMEXP, kSUMSQUARE };

constexpr bool allowsInts(Red r) {
  return r == Red::kSUM || r == Red::kMEAN || r == Red::kMAX || r == Red::kMIN || r == Red::kPROD;
}

//! The reduced-dims mask for a run: from the axes input (if any), keepdims and noop_with_empty_axes.
//! Returns false if the op is a no-op (empty axes with noop_with_empty_axes=1).
bool reduceMask(const KernelContext& ctx, bool noop, std::vector<bool>& mask) {
  const TensorView& x = ctx.inputs[0];
  std::vector<int64_t> axes;
  if (ctx.inputs.size() > 1 && ctx.inputs[1].present) {
    const TensorView& a = ctx.inputs[1];
    if (a.dtype != DataType::kINT64) badData("reduce: axes must be int64");
    axes.assign(a.as<int64_t>(), a.as<int64_t>() + a.numel);
  }
  if (axes.empty()) {
    if (noop) return false;
    mask.assign(static_cast<size_t>(x.rank()), true);
    return true;
  }
  mask = ir::nn::axesMask(axes, x.rank(), "reduce");
  return true;
}

template <Red R>
class ReduceKernel : public Kernel {
 public:
  explicit ReduceKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    bool ok = isFloatingType(t) || (allowsInts(R) && (t == DataType::kINT32 || t == DataType::kINT64));
    if (!ok) unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    noop_ = node.attrs.getInt("noop_with_empty_axes", 0) != 0;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<bool> mask;
    if (!reduceMask(ctx, noop_, mask)) {
      if (y.numel != x.numel) badData("reduce: output shape mismatch");
      if (x.bytes()) std::memcpy(y.data, x.data, x.bytes());
      return;
    }
    ReduceLayout L = reduceLayout(x.shape, mask);
    if (static_cast<int64_t>(L.outer.size()) != y.numel) badData("reduce: output shape mismatch");
    const double cnt = static_cast<double>(L.inner.size());
    dispatchFloatInt(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (size_t o = 0; o < L.outer.size(); ++o) {
        // an empty input (its data may be null) has no taps: never offset its pointer
        const T* xp = x.numel ? X + L.outer[o] : X;
        if constexpr (kIsFloat<T>) {
          double acc;
          if constexpr (R == Red::kMAX || R == Red::kMIN) {
            acc = R == Red::kMAX ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
            for (int64_t off : L.inner) {
              double v = toD(xp[off]);
              if (std::isnan(v)) {
                acc = v;
                break;
              }
              acc = R == Red::kMAX ? std::max(acc, v) : std::min(acc, v);
            }
          } else if constexpr (R == Red::kPROD) {
            acc = 1;
            for (int64_t off : L.inner) acc *= toD(xp[off]);
          } else if constexpr (R == Red::kLOGSUMEXP) {
            double mx = -std::numeric_limits<double>::infinity();
            for (int64_t off : L.inner) mx = std::max(mx, toD(xp[off]));
            double s = 0;
            if (std::isinf(mx)) {
              acc = mx;  // empty or all -inf: -inf; any +inf: +inf
            } else {
              for (int64_t off : L.inner) s += std::exp(toD(xp[off]) - mx);
              acc = mx + std::log(s);
            }
          } else {
            double s = 0;
            for (int64_t off : L.inner) {
              double v = toD(xp[off]);
              if constexpr (R == Red::kL1) s += std::fabs(v);
              else if constexpr (R == Red::kL2 || R == Red::kSUMSQUARE) s += v * v;
              else s += v;
            }
            if constexpr (R == Red::kMEAN) acc = s / cnt;
            else if constexpr (R == Red::kL2) acc = std::sqrt(s);
            else if constexpr (R == Red::kLOGSUM) acc = std::log(s);
            else acc = s;
          }
          Y[o] = fromD<T>(acc);
        } else if constexpr (allowsInts(R)) {
          if constexpr (R == Red::kMAX || R == Red::kMIN) {
            T acc = R == Red::kMAX ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
            for (int64_t off : L.inner) acc = R == Red::kMAX ? std::max(acc, xp[off]) : std::min(acc, xp[off]);
            Y[o] = acc;
          } else if constexpr (R == Red::kPROD) {
            uint64_t acc = 1;  // wraps around like the integer type
            for (int64_t off : L.inner) acc *= static_cast<uint64_t>(static_cast<int64_t>(xp[off]));
            Y[o] = static_cast<T>(acc);
          } else {
            uint64_t acc = 0;
            for (int64_t off : L.inner) acc += static_cast<uint64_t>(static_cast<int64_t>(xp[off]));
            if constexpr (R == Red::kMEAN) {
              int64_t n = static_cast<int64_t>(L.inner.size());
              Y[o] = n == 0 ? T{0} : static_cast<T>(static_cast<int64_t>(static_cast<T>(acc)) / n);
            } else {
              Y[o] = static_cast<T>(acc);
            }
          }
        }
      }
    });
  }

 private:
  bool noop_{false};
};

template <bool IsMax>
class ArgKernel : public Kernel {
 public:
  explicit ArgKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    if (!(isFloatingType(t) || isIntegerType(t)))
      unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    axis_ = node.attrs.getInt("axis", 0);
    last_ = node.attrs.getInt("select_last_index", 0) != 0;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    if (x.dim(axis) == 0) badData("ArgMax/ArgMin: the axis is empty");
    std::vector<bool> mask(static_cast<size_t>(x.rank()), false);
    mask[static_cast<size_t>(axis)] = true;
    ReduceLayout L = reduceLayout(x.shape, mask);
    if (static_cast<int64_t>(L.outer.size()) != y.numel) badData("ArgMax/ArgMin: output shape mismatch");
    int64_t* Y = y.as<int64_t>();
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        const T* X = x.as<T>();
        for (size_t o = 0; o < L.outer.size(); ++o) {
          const T* xp = X + L.outer[o];
          double best = toD(xp[L.inner[0]]);
          int64_t arg = 0;
          for (size_t r = 1; r < L.inner.size(); ++r) {
            double v = toD(xp[L.inner[r]]);
            bool better = IsMax ? (last_ ? v >= best : v > best) : (last_ ? v <= best : v < best);
            if (better) {
              best = v;
              arg = static_cast<int64_t>(r);
            }
          }
          Y[o] = arg;
        }
      }
    });
  }

 private:
  int64_t axis_{0};
  bool last_{false};
};

}  // namespace

void registerReduceKernels(KernelRegistry& reg) {
  reg.add("ReduceSum", refTactic<ReduceKernel<Red::kSUM>>());
  reg.add("ReduceMean", refTactic<ReduceKernel<Red::kMEAN>>());
  reg.add("ReduceMax", refTactic<ReduceKernel<Red::kMAX>>());
  reg.add("ReduceMin", refTactic<ReduceKernel<Red::kMIN>>());
  reg.add("ReduceProd", refTactic<ReduceKernel<Red::kPROD>>());
  reg.add("ReduceL1", refTactic<ReduceKernel<Red::kL1>>());
  reg.add("ReduceL2", refTactic<ReduceKernel<Red::kL2>>());
  reg.add("ReduceLogSum", refTactic<ReduceKernel<Red::kLOGSUM>>());
  reg.add("ReduceLogSumExp", refTactic<ReduceKernel<Red::kLOGSUMEXP>>());
  reg.add("ReduceSumSquare", refTactic<ReduceKernel<Red::kSUMSQUARE>>());
  reg.add("ArgMax", refTactic<ArgKernel<true>>());
  reg.add("ArgMin", refTactic<ArgKernel<false>>());
}

}  // namespace kiln::cpu::nn
