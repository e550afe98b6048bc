// GPU kernels: ArgMax, ArgMin (float types and every integer type; int64 output; keepdims,
// select_last_index). As the reference: a NaN at index 0 gives 0, later NaNs are skipped. Integers are
// compared exactly (the reference compares int64 values as doubles, which differs only above 2^53).
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {
namespace {

template <class T>
using CmpT = std::conditional_t<std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, float, T>;

template <class T, bool IsMax>
struct ArgPolicy {
  using In = T;
  using A = CmpT<T>;
  struct S {
    A best;
    int64_t idx;  // -1: nothing seen yet
  };
  int64_t* out;
  bool last;

  __device__ static A val(T x) {
    if constexpr (std::is_same_v<A, float> && !std::is_same_v<T, float>) return toAcc(x);
    else return x;
  }
  __device__ static bool nanFirst(const S& s) { return s.idx == 0 && isNaNv(s.best); }
  __device__ bool better(A v, int64_t r, const S& s) const {
    if (IsMax ? v > s.best : v < s.best) return true;
    return v == s.best && (last ? r > s.idx : r < s.idx);
  }
  __device__ S init() const { return S{A{}, -1}; }
  __device__ void add(S& s, T x, int64_t r) const {
    A v = val(x);
    if (nanFirst(s)) return;
    if (isNaNv(v)) {
      if (r == 0) s = S{v, 0};
      return;
    }
    if (s.idx < 0 || better(v, r, s)) s = S{v, r};
  }
  __device__ S merge(S a, S b) const {
    if (nanFirst(a)) return a;
    if (nanFirst(b)) return b;
    if (a.idx < 0) return b;
    if (b.idx < 0) return a;
    return better(b.best, b.idx, a) ? b : a;
  }
  __device__ void store(int64_t o, S s, int64_t) const { out[o] = s.idx < 0 ? 0 : s.idx; }
};

template <bool IsMax>
class ArgKernel final : public Kernel {
 public:
  explicit ArgKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    if (!(isFloatingType(t) || isIntegerType(t)))
      unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    axis_ = node.attrs.getInt("axis", 0);
    last_ = node.attrs.getInt("select_last_index", 0) != 0;
  }
  ReducePlan plan(const TensorView& x) const {
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    if (x.dim(axis) == 0) badData("ArgMax/ArgMin: the axis is empty");
    std::vector<bool> mask(static_cast<size_t>(x.rank()), false);
    mask[static_cast<size_t>(axis)] = true;
    return planReduce(x.shape, mask);
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return reduceWorkspaceBytes(plan(in[0]));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    ReducePlan pl = plan(x);
    if (pl.O * pl.I != y.numel) badData("ArgMax/ArgMin: output shape mismatch");
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        badData("ArgMax/ArgMin: bool is not supported");
      } else {
        ArgPolicy<T, IsMax> p{y.as<int64_t>(), last_};
        launchReduce(pl, x.as<T>(), p, streamOf(ctx), ctx.workspace);
      }
    });
  }

 private:
  int64_t axis_{0};
  bool last_{false};
};

template <bool IsMax>
Tactic argTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ArgKernel<IsMax>>(n); };
  return t;
}

}  // namespace

void registerArgKernels(KernelRegistry& reg) {
  reg.add("ArgMax", argTactic<true>());
  reg.add("ArgMin", argTactic<false>());
}

}  // namespace kiln::gpu::nn
