// GPU kernels: kiln Normalization, InstanceNormalization, GroupNormalization, MeanVarianceNormalization and
// LpNormalization. Two launches: the statistics of every reduction group (Welford, or the Lp norm) into
// the workspace through the reduction engine, then an elementwise pass
// y = (x - mean[group]) * inv[group] * scale + bias over a coalesced strided view.
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {
namespace {

enum class StatKind { kVAR, kMVN, kL1, kL2 };

template <class T, StatKind K>
struct StatsPolicy {
  using In = T;
  using A = typename Acc<T>::type;
  using S = std::conditional_t<K == StatKind::kVAR || K == StatKind::kMVN, Welford<A>, A>;
  A* stats;  // [O][2]: mean, inv
  A eps;

  __device__ S init() const {
    if constexpr (K == StatKind::kVAR || K == StatKind::kMVN) return welfordInit<A>();
    else return A(0);
  }
  __device__ void add(S& s, T x, int64_t) const {
    A v = toAcc(x);
    if constexpr (K == StatKind::kVAR || K == StatKind::kMVN) welfordAdd(s, v);
    else if constexpr (K == StatKind::kL1) s += fabs(v);
    else s += v * v;
  }
  __device__ S merge(S a, S b) const {
    if constexpr (K == StatKind::kVAR || K == StatKind::kMVN) return welfordMerge(a, b);
    else return a + b;
  }
  __device__ void store(int64_t o, S s, int64_t n) const {
    if constexpr (K == StatKind::kVAR || K == StatKind::kMVN) {
      A var = s.m2 / static_cast<A>(n);
      stats[2 * o] = s.mean;
      stats[2 * o + 1] = K == StatKind::kVAR ? A(1) / sqrt(var + eps) : A(1) / (sqrt(var) + eps);
    } else {
      A norm = K == StatKind::kL1 ? s : sqrt(s);
      stats[2 * o] = A(0);
      stats[2 * o + 1] = norm == A(0) ? A(0) : A(1) / norm;
    }
  }
};

constexpr int kApplyDims = 10;
struct ApplyArg {
  int32_t rank{0};
  int64_t dims[kApplyDims]{};
  int64_t statSt[kApplyDims]{}, scaleSt[kApplyDims]{}, biasSt[kApplyDims]{};
};

template <class T, class Idx>
__global__ void normApplyKernel(const T* __restrict__ x, T* __restrict__ y, Idx n, const typename Acc<T>::type* __restrict__ stats,
                                const T* __restrict__ scale, const T* __restrict__ bias, ApplyArg a) {
  using A = typename Acc<T>::type;
  for (Idx i = static_cast<Idx>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<Idx>(gridDim.x) * blockDim.x) {
    Idx rem = i, so = 0, sc = 0, bo = 0;
    for (int k = a.rank - 1; k >= 0; --k) {
      const Idx d = static_cast<Idx>(a.dims[k]);
      const Idx q = rem / d, c = rem - q * d;
      rem = q;
      so += c * static_cast<Idx>(a.statSt[k]);
      sc += c * static_cast<Idx>(a.scaleSt[k]);
      bo += c * static_cast<Idx>(a.biasSt[k]);
    }
    A v = (toAcc(x[i]) - stats[2 * so]) * stats[2 * so + 1];
    if (scale) v *= toAcc(scale[sc]);
    if (bias) v += toAcc(bias[bo]);
    y[i] = fromAcc<T>(v);
  }
}

enum class Mode { kNORMALIZATION, kINSTANCE, kGROUP, kMVN, kLPNORM };

struct Spec {
  std::vector<int64_t> view;
  std::vector<bool> reduced;
  std::vector<int64_t> scaleSt, biasSt;  // over view; empty: no parameter
  int64_t groups() const {
    int64_t o = 1;
    for (size_t i = 0; i < view.size(); ++i)
      if (!reduced[i]) o *= view[i];
    return o;
  }
};

class StatNormKernel final : public Kernel {
 public:
  StatNormKernel(const ir::Node& node, Mode mode) : mode_(mode) {
    if (!isFloatT(node.inputs[0]->dtype)) unsupported(node, "data type is not supported");
    switch (mode) {
      case Mode::kNORMALIZATION:
        axes_ = node.attrs.requireInts("axes");
        eps_ = node.attrs.getFloat("epsilon", 1e-5);
        groups_ = node.attrs.getInt("num_groups", 1);
        if (groups_ < 1) unsupported(node, "num_groups must be >= 1");
        break;
      case Mode::kINSTANCE: eps_ = node.attrs.getFloat("epsilon", 1e-5); break;
      case Mode::kGROUP:
        eps_ = node.attrs.getFloat("epsilon", 1e-5);
        groups_ = node.attrs.requireInt("num_groups");
        if (groups_ < 1) unsupported(node, "num_groups must be >= 1");
        break;
      case Mode::kMVN:
        axes_ = node.attrs.getInts("axes", {0, 2, 3});
        eps_ = 1e-9;
        break;
      case Mode::kLPNORM:
        axis_ = node.attrs.getInt("axis", -1);
        p_ = node.attrs.getInt("p", 2);
        if (p_ != 1 && p_ != 2) unsupported(node, "p must be 1 or 2");
        break;
    }
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    Spec s = spec(in);
    if (in[0].numel == 0) return 0;
    return statsBytes(s, in[0].dtype) + reduceWorkspaceBytes(planReduce(s.view, s.reduced));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.shapeVec() != y.shapeVec()) badData("normalization: output shape mismatch");
    Spec s = spec(ctx.inputs);
    if (x.numel == 0) return;
    ReducePlan plan = planReduce(s.view, s.reduced);
    // the elementwise view: stat strides row-major over the kept dims, then coalesced
    const size_t r = s.view.size();
    std::vector<int64_t> statSt(r, 0);
    int64_t acc = 1;
    for (size_t i = r; i-- > 0;)
      if (!s.reduced[i]) {
        statSt[i] = acc;
        acc *= s.view[i];
      }
    const bool hasScale = !s.scaleSt.empty(), hasBias = !s.biasSt.empty();
    if (!hasScale) s.scaleSt.assign(r, 0);
    if (!hasBias) s.biasSt.assign(r, 0);
    ApplyArg a;
    for (size_t i = 0; i < r; ++i) {
      if (s.view[i] == 1) continue;
      if (a.rank > 0) {
        const int k = a.rank - 1;
        const int64_t d = s.view[i];
        if (a.statSt[k] == statSt[i] * d && a.scaleSt[k] == s.scaleSt[i] * d && a.biasSt[k] == s.biasSt[i] * d) {
          a.dims[k] *= d;
          a.statSt[k] = statSt[i];
          a.scaleSt[k] = s.scaleSt[i];
          a.biasSt[k] = s.biasSt[i];
          continue;
        }
      }
      if (a.rank >= kApplyDims) badData("normalization: too many dims");
      a.dims[a.rank] = s.view[i];
      a.statSt[a.rank] = statSt[i];
      a.scaleSt[a.rank] = s.scaleSt[i];
      a.biasSt[a.rank] = s.biasSt[i];
      ++a.rank;
    }
    const void* scale = hasScale ? ctx.inputs[1].data : nullptr;
    const void* bias = hasBias ? ctx.inputs[2].data : nullptr;
    cudaStream_t st = streamOf(ctx);
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using A = typename Acc<T>::type;
      A* stats = static_cast<A*>(ctx.workspace);
      void* ws = static_cast<char*>(ctx.workspace) + statsBytes(s, x.dtype);
      const T* X = x.as<T>();
      switch (mode_) {
        case Mode::kMVN: launchReduce(plan, X, StatsPolicy<T, StatKind::kMVN>{stats, static_cast<A>(eps_)}, st, ws); break;
        case Mode::kLPNORM:
          if (p_ == 1) launchReduce(plan, X, StatsPolicy<T, StatKind::kL1>{stats, A(0)}, st, ws);
          else launchReduce(plan, X, StatsPolicy<T, StatKind::kL2>{stats, A(0)}, st, ws);
          break;
        default: launchReduce(plan, X, StatsPolicy<T, StatKind::kVAR>{stats, static_cast<A>(eps_)}, st, ws); break;
      }
      const T* sc = static_cast<const T*>(scale);
      const T* bi = static_cast<const T*>(bias);
      if (x.numel < (int64_t{1} << 31))
        normApplyKernel<T, uint32_t><<<blocksFor(x.numel), 256, 0, st>>>(X, y.as<T>(), static_cast<uint32_t>(x.numel),
                                                                         stats, sc, bi, a);
      else
        normApplyKernel<T, int64_t><<<blocksFor(x.numel), 256, 0, st>>>(X, y.as<T>(), x.numel, stats, sc, bi, a);
      checkLaunch("normApply");
    });
  }

 private:
  //! Strides of a parameter broadcast (right-aligned) to x, then over the grouped view when groups > 1.
  static std::vector<int64_t> paramStrides(const TensorView& p, std::span<const int64_t> xs, int64_t groups) {
    if (p.shape.size() > xs.size()) badData("normalization: parameter rank exceeds the input rank");
    for (size_t i = 0; i < p.shape.size(); ++i) {
      int64_t d = p.shape[i], t = xs[xs.size() - p.shape.size() + i];
      if (d != 1 && d != t) badData("normalization: parameter shape does not broadcast to the input");
    }
    DimsArg b = broadcastStrides(p.shape, xs);
    std::vector<int64_t> bs(b.strides, b.strides + xs.size());
    if (groups <= 1) return bs;
    std::vector<int64_t> v{bs[0], bs[1] * (xs[1] / groups), bs[1]};
    v.insert(v.end(), bs.begin() + 2, bs.end());
    return v;
  }

  static std::size_t statsBytes(const Spec& s, DataType t) {
    return align256(static_cast<std::size_t>(2 * s.groups()) * (t == DataType::kDOUBLE ? 8 : 4));
  }

  Spec spec(std::span<const TensorView> in) const {
    const TensorView& x = in[0];
    std::vector<int64_t> xs(x.shape.begin(), x.shape.end());
    Spec s;
    switch (mode_) {
      case Mode::kMVN:
        s.view = xs;
        s.reduced = ir::nn::axesMask(axes_, x.rank(), "MeanVarianceNormalization");
        return s;
      case Mode::kLPNORM: {
        s.view = xs;
        s.reduced.assign(xs.size(), false);
        s.reduced[static_cast<size_t>(ir::normalizeAxis(axis_, x.rank()))] = true;
        return s;
      }
      case Mode::kINSTANCE:
      case Mode::kGROUP: {
        if (x.rank() < 2) badData("normalization: X must have rank >= 2");
        const int64_t C = xs[1], G = mode_ == Mode::kINSTANCE ? C : groups_;
        if (in[1].numel != C || in[2].numel != C) badData("normalization: scale and bias must have C values");
        if (G < 1 || (x.numel && C % G != 0)) badData("normalization: channels are not divisible by the groups");
        const int64_t Cg = G ? C / G : 0;
        s.view = {xs[0], G, Cg};
        s.view.insert(s.view.end(), xs.begin() + 2, xs.end());
        s.reduced.assign(s.view.size(), true);
        s.reduced[0] = s.reduced[1] = false;
        s.scaleSt.assign(s.view.size(), 0);
        s.scaleSt[1] = Cg;
        s.scaleSt[2] = 1;
        s.biasSt = s.scaleSt;
        return s;
      }
      case Mode::kNORMALIZATION: {
        std::vector<bool> mask = ir::nn::axesMask(axes_, x.rank(), "Normalization");
        if (groups_ > 1) {
          if (xs.size() < 2 || xs[1] % groups_ != 0) badData("normalization: channels are not divisible by the groups");
          if (mask[0] || mask[1]) badData("Normalization: with groups, axes must not contain axis 0 or 1");
          s.view = {xs[0], groups_, xs[1] / groups_};
          s.view.insert(s.view.end(), xs.begin() + 2, xs.end());
          s.reduced = {false, false, true};
          s.reduced.insert(s.reduced.end(), mask.begin() + 2, mask.end());
        } else {
          s.view = xs;
          s.reduced = mask;
        }
        s.scaleSt = paramStrides(in[1], x.shape, groups_);
        s.biasSt = paramStrides(in[2], x.shape, groups_);
        return s;
      }
    }
    return s;
  }

  Mode mode_;
  std::vector<int64_t> axes_;
  double eps_{1e-5};
  int64_t groups_{1};
  int64_t axis_{-1};
  int64_t p_{2};
};

template <Mode M>
Tactic statTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<StatNormKernel>(n, M); };
  return t;
}

}  // namespace

void registerStatNormKernels(KernelRegistry& reg) {
  reg.add("Normalization", statTactic<Mode::kNORMALIZATION>());
  reg.add("InstanceNormalization", statTactic<Mode::kINSTANCE>());
  reg.add("GroupNormalization", statTactic<Mode::kGROUP>());
  reg.add("MeanVarianceNormalization", statTactic<Mode::kMVN>());
  reg.add("LpNormalization", statTactic<Mode::kLPNORM>());
}

}  // namespace kiln::gpu::nn
