// Private to nn_reduce_a.cu / nn_reduce_b.cu: the Reduce* kernel class (policy + host side).
#pragma once

#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {

enum class Red { kSUM, kMEAN, kMAX, kMIN, kPROD, kL1, kL2, kLOGSUM, kLOGSUMEXP, kSUMSQUARE };

constexpr bool allowsInts(Red r) {
  return r == Red::kSUM || r == Red::kMEAN || r == Red::kMAX || r == Red::kMIN || r == Red::kPROD;
}

template <class A>
struct LseState {
  A m, s;
};

//! Online log-sum-exp state update (see nn_softmax.cu for the rules on infinities and NaN).
template <class A>
__device__ __forceinline__ void lseAdd(LseState<A>& st, A v) {
  if (v > st.m) {
    st.s = st.s * exp(st.m - v) + A(1);
    st.m = v;
  } else if (v == st.m) {
    st.s += A(1);
  } else {
    st.s += exp(v - st.m);  // NaN v: s becomes NaN
  }
}
template <class A>
__device__ __forceinline__ LseState<A> lseMerge(LseState<A> a, LseState<A> b) {
  if (a.m == b.m) return {a.m, a.s + b.s};
  if (a.m > b.m) return {a.m, a.s + b.s * exp(b.m - a.m)};
  return {b.m, b.s + a.s * exp(a.m - b.m)};
}

template <class T, Red R, bool = kIsFloatDev<T>>
struct RedState;
template <class T, Red R>
struct RedState<T, R, true> {
  using A = typename Acc<T>::type;
  using type = std::conditional_t<R == Red::kLOGSUMEXP, LseState<A>, A>;
};
template <class T, Red R>
struct RedState<T, R, false> {
  using type = std::conditional_t<R == Red::kMAX || R == Red::kMIN, T, uint64_t>;
};

template <class T, Red R>
struct ReducePolicy {
  using In = T;
  using S = typename RedState<T, R>::type;
  T* out;

  __device__ S init() const {
    if constexpr (kIsFloatDev<T>) {
      using A = typename Acc<T>::type;
      if constexpr (R == Red::kLOGSUMEXP) return S{-INFINITY, A(0)};
      else if constexpr (R == Red::kMAX) return A(-INFINITY);
      else if constexpr (R == Red::kMIN) return A(INFINITY);
      else if constexpr (R == Red::kPROD) return A(1);
      else return A(0);
    } else {
      if constexpr (R == Red::kMAX) return std::numeric_limits<T>::lowest();
      else if constexpr (R == Red::kMIN) return std::numeric_limits<T>::max();
      else if constexpr (R == Red::kPROD) return uint64_t{1};
      else return uint64_t{0};
    }
  }
  __device__ void add(S& s, T x, int64_t) const {
    if constexpr (kIsFloatDev<T>) {
      using A = typename Acc<T>::type;
      A v = toAcc(x);
      if constexpr (R == Red::kLOGSUMEXP) lseAdd(s, v);
      else if constexpr (R == Red::kMAX) s = (s != s || v <= s) ? s : v;  // NaN propagates
      else if constexpr (R == Red::kMIN) s = (s != s || v >= s) ? s : v;
      else if constexpr (R == Red::kPROD) s *= v;
      else if constexpr (R == Red::kL1) s += fabs(v);
      else if constexpr (R == Red::kL2 || R == Red::kSUMSQUARE) s += v * v;
      else s += v;
    } else {
      if constexpr (R == Red::kMAX) s = x > s ? x : s;
      else if constexpr (R == Red::kMIN) s = x < s ? x : s;
      else if constexpr (R == Red::kPROD) s *= static_cast<uint64_t>(static_cast<int64_t>(x));
      else s += static_cast<uint64_t>(static_cast<int64_t>(x));
    }
  }
  __device__ S merge(S a, S b) const {
    if constexpr (kIsFloatDev<T>) {
      if constexpr (R == Red::kLOGSUMEXP) return lseMerge(a, b);
      else if constexpr (R == Red::kMAX) return (a != a || b <= a) ? a : b;
      else if constexpr (R == Red::kMIN) return (a != a || b >= a) ? a : b;
      else if constexpr (R == Red::kPROD) return a * b;
      else return a + b;
    } else {
      if constexpr (R == Red::kMAX) return a > b ? a : b;
      else if constexpr (R == Red::kMIN) return a < b ? a : b;
      else if constexpr (R == Red::kPROD) return a * b;
      else return a + b;
    }
  }
  __device__ void store(int64_t o, S s, int64_t n) const {
    if constexpr (kIsFloatDev<T>) {
      using A = typename Acc<T>::type;
      A r;
      if constexpr (R == Red::kLOGSUMEXP) r = isinf(s.m) ? s.m : s.m + log(s.s);
      else if constexpr (R == Red::kMEAN) r = s / static_cast<A>(n);
      else if constexpr (R == Red::kL2) r = sqrt(s);
      else if constexpr (R == Red::kLOGSUM) r = log(s);
      else r = s;
      out[o] = fromAcc<T>(r);
    } else {
      if constexpr (R == Red::kMAX || R == Red::kMIN) out[o] = s;
      else if constexpr (R == Red::kMEAN)
        out[o] = n == 0 ? T{0} : static_cast<T>(static_cast<int64_t>(static_cast<T>(s)) / n);
      else out[o] = static_cast<T>(s);
    }
  }
};

template <Red R>
class ReduceKernel final : public Kernel {
 public:
  explicit ReduceKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    bool ok = isFloatT(t) || (allowsInts(R) && (t == DataType::kINT32 || t == DataType::kINT64));
    if (!ok) unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    noop_ = node.attrs.getInt("noop_with_empty_axes", 0) != 0;
    if (node.inputs.size() > 1 && node.inputs[1]) {
      if (!node.inputs[1]->isConstant()) unsupported(node, "'axes' must be a constant on the GPU");
      axes_ = node.inputs[1]->constant->toInts();
    }
  }

  static bool supports(const ir::Node& n, std::string* why) {
    if (!requireConstantInput(n, 1, "axes", why)) return false;
    DataType t = n.inputs[0]->dtype;
    if (!(isFloatT(t) || (allowsInts(R) && (t == DataType::kINT32 || t == DataType::kINT64)))) {
      if (why) *why = std::string("data type ") + dataTypeName(t) + " is not supported";
      return false;
    }
    return true;
  }

  //! The mask of reduced dims for a run; false if the op is a no-op (empty axes, noop_with_empty_axes=1).
  bool mask(int64_t rank, std::vector<bool>& m) const {
    if (axes_.empty()) {
      if (noop_) return false;
      m.assign(static_cast<size_t>(rank), true);
    } else {
      m = ir::nn::axesMask(axes_, rank, "reduce");
    }
    return true;
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    std::vector<bool> m;
    if (!mask(in[0].rank(), m)) return 0;
    return reduceWorkspaceBytes(planReduce(in[0].shape, m));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    std::vector<bool> m;
    if (!mask(x.rank(), m)) {
      if (y.numel != x.numel) badData("reduce: output shape mismatch");
      if (x.bytes() && x.data != y.data)
        KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, streamOf(ctx)));
      return;
    }
    ReducePlan plan = planReduce(x.shape, m);
    if (plan.O * plan.I != y.numel) badData("reduce: output shape mismatch");
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatDev<T> || (allowsInts(R) && (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>))) {
        ReducePolicy<T, R> p{y.as<T>()};
        launchReduce(plan, x.as<T>(), p, streamOf(ctx), ctx.workspace);
      } else {
        badData("reduce: unsupported data type");
      }
    });
  }

 private:
  bool noop_{false};
  std::vector<int64_t> axes_;
};

template <Red R>
Tactic reduceTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ReduceKernel<R>>(n); };
  t.supports = &ReduceKernel<R>::supports;
  return t;
}

}  // namespace kiln::gpu::nn
