// GPU kernels: MaxPool (+Indices), AveragePool, LpPool (a thread per output; 1-D/2-D/3-D windows run as
// 3-D ones with extent-1 leading dims, as the reference) and GlobalMaxPool/GlobalAveragePool/GlobalLpPool
// (a warp or a block per (n, c) plane through the reduction engine).
#include "backends/cuda/nn_reduce.cuh"

namespace kiln::gpu::nn {
namespace {

enum class PoolKind { kMAX, kAVG, kLP };

struct PoolGeom {
  int32_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
  int64_t inSz, outSz, NC;
  int64_t C;  //!< channels-last ([N, spatial..., C]): the channel count; 0 for channels-first
};

template <class T, PoolKind K>
__global__ void poolKernel(const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ ind, PoolGeom g,
                           int storageOrder, bool countIncludePad, float p) {
  using A = typename Acc<T>::type;
  const int64_t total = g.NC * g.outSz;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t nc, es;  // es: element stride within a plane
    int32_t sp;
    const T* xp;
    if (g.C > 0) {  // t = (n * outSz + sp) * C + c
      const int64_t c = t % g.C, r = t / g.C, n = r / g.outSz;
      sp = static_cast<int32_t>(r - n * g.outSz);
      nc = n * g.C + c;
      xp = x + n * g.inSz * g.C + c;
      es = g.C;
    } else {
      nc = t / g.outSz;
      sp = static_cast<int32_t>(t - nc * g.outSz);
      xp = x + nc * g.inSz;
      es = 1;
    }
    const int32_t o2 = sp % g.out[2];
    sp /= g.out[2];
    const int32_t o1 = sp % g.out[1], o0 = sp / g.out[1];
    const int32_t b0 = o0 * g.s[0] - g.pb[0], b1 = o1 * g.s[1] - g.pb[1], b2 = o2 * g.s[2] - g.pb[2];
    A acc = 0;
    T best{};
    bool found = false;
    int32_t bestIdx = 0;
    for (int32_t k0 = 0; k0 < g.k[0]; ++k0) {
      const int32_t i0 = b0 + k0 * g.d[0];
      if (i0 < 0 || i0 >= g.in[0]) continue;
      for (int32_t k1 = 0; k1 < g.k[1]; ++k1) {
        const int32_t i1 = b1 + k1 * g.d[1];
        if (i1 < 0 || i1 >= g.in[1]) continue;
        for (int32_t k2 = 0; k2 < g.k[2]; ++k2) {
          const int32_t i2 = b2 + k2 * g.d[2];
          if (i2 < 0 || i2 >= g.in[2]) continue;
          const int32_t idx = (i0 * g.in[1] + i1) * g.in[2] + i2;
          const T v = xp[idx * es];
          if constexpr (K == PoolKind::kMAX) {
            bool better;
            if constexpr (kIsFloatDev<T>) better = toAcc(v) > toAcc(best);
            else better = v > best;
            if (!found || better) {
              best = v;
              bestIdx = storageOrder ? (i2 * g.in[1] + i1) * g.in[0] + i0 : idx;
              found = true;
            }
          } else if constexpr (K == PoolKind::kAVG) {
            acc += toAcc(v);
          } else {
            const A a = fabs(toAcc(v));
            acc += p == 2.f ? a * a : pow(a, static_cast<A>(p));
          }
        }
      }
    }
    if constexpr (K == PoolKind::kMAX) {
      if (!found) {
        if constexpr (kIsFloatDev<T>) best = fromAcc<T>(A(-INFINITY));
        else best = std::numeric_limits<T>::lowest();
      }
      y[t] = best;
      if (ind) ind[t] = found ? nc * g.inSz + bestIdx : -1;
    } else if constexpr (K == PoolKind::kAVG) {
      int32_t cnt = 1;
      for (int dd = 0; dd < 3; ++dd) {
        const int32_t o = dd == 0 ? o0 : dd == 1 ? o1 : o2;
        const int32_t lo = countIncludePad ? -g.pb[dd] : 0, hi = countIncludePad ? g.in[dd] + g.pe[dd] : g.in[dd];
        int32_t c = 0;
        for (int32_t k = 0; k < g.k[dd]; ++k) {
          const int32_t pos = o * g.s[dd] - g.pb[dd] + k * g.d[dd];
          c += pos >= lo && pos < hi;
        }
        cnt *= c;
      }
      y[t] = fromAcc<T>(acc / static_cast<A>(cnt));
    } else {
      y[t] = fromAcc<T>(p == 2.f ? sqrt(acc) : pow(acc, A(1) / static_cast<A>(p)));
    }
  }
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(const ir::Node& node, PoolKind kind) : kind_(kind), nhwc_(node.op.ends_with("NHWC")) {
    DataType t = node.inputs[0]->dtype;
    bool ok = isFloatT(t) || (kind == PoolKind::kMAX && (t == DataType::kINT8 || t == DataType::kUINT8));
    if (!ok) unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    kernel_ = node.attrs.requireInts("kernel_shape");
    if (kernel_.empty() || kernel_.size() > 3) unsupported(node, "only 1-D, 2-D and 3-D pooling is supported");
    window_ = ir::nn::parseWindow(node.attrs, kernel_);
    countIncludePad_ = node.attrs.getInt("count_include_pad", 0) != 0;
    storageOrder_ = static_cast<int>(node.attrs.getInt("storage_order", 0));
    p_ = static_cast<float>(node.attrs.getInt("p", 2));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const TensorView* ind = ctx.outputs.size() > 1 && ctx.outputs[1].present ? &ctx.outputs[1] : nullptr;
    const size_t n = kernel_.size();
    if (x.rank() != static_cast<int64_t>(n) + 2 || y.rank() != x.rank())
      badData("pooling: input rank does not match kernel_shape");
    const int64_t chan = nhwc_ ? x.rank() - 1 : 1, sp0 = nhwc_ ? 1 : 2;
    if (y.dim(0) != x.dim(0) || y.dim(chan) != x.dim(chan) || (nhwc_ && ind)) badData("pooling: output shape mismatch");
    PoolGeom g;
    for (int i = 0; i < 3; ++i) g.in[i] = g.out[i] = g.k[i] = g.s[i] = g.d[i] = 1, g.pb[i] = g.pe[i] = 0;
    const size_t off = 3 - n;
    int64_t inSz = 1, outSz = 1;
    for (size_t i = 0; i < n; ++i) {
      const int64_t in = x.dim(static_cast<int64_t>(i) + sp0);
      ir::nn::WindowDim wd = ir::nn::windowDim(in, kernel_[i], window_.strides[i], window_.dilations[i], window_.pads[i],
                                               window_.pads[n + i], window_.autoPad, window_.ceilMode);
      if (wd.out != y.dim(static_cast<int64_t>(i) + sp0)) badData("pooling: output extent does not match the computed one");
      g.in[off + i] = static_cast<int32_t>(in);
      g.out[off + i] = static_cast<int32_t>(wd.out);
      g.k[off + i] = static_cast<int32_t>(kernel_[i]);
      g.s[off + i] = static_cast<int32_t>(window_.strides[i]);
      g.d[off + i] = static_cast<int32_t>(window_.dilations[i]);
      g.pb[off + i] = static_cast<int32_t>(wd.padBegin);
      g.pe[off + i] = static_cast<int32_t>(wd.padEnd);
      inSz *= in;
      outSz *= wd.out;
    }
    if (inSz >= (int64_t{1} << 31) || outSz >= (int64_t{1} << 31)) badData("pooling: spatial size too large for the GPU kernel");
    g.inSz = inSz;
    g.outSz = outSz;
    g.NC = x.dim(0) * x.dim(chan);
    g.C = nhwc_ ? x.dim(chan) : 0;
    const int64_t total = g.NC * outSz;
    if (total == 0) return;
    cudaStream_t st = streamOf(ctx);
    int64_t* I = ind ? ind->as<int64_t>() : nullptr;
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      if constexpr (kIsFloatDev<T> || std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
        if (kind_ == PoolKind::kMAX) {
          poolKernel<T, PoolKind::kMAX><<<blocksFor(total), 256, 0, st>>>(X, Y, I, g, storageOrder_, false, p_);
        } else if constexpr (kIsFloatDev<T>) {
          if (kind_ == PoolKind::kAVG)
            poolKernel<T, PoolKind::kAVG><<<blocksFor(total), 256, 0, st>>>(X, Y, nullptr, g, 0, countIncludePad_, p_);
          else
            poolKernel<T, PoolKind::kLP><<<blocksFor(total), 256, 0, st>>>(X, Y, nullptr, g, 0, false, p_);
        } else {
          badData("pooling: unsupported data type");
        }
        checkLaunch("pool");
      } else {
        badData("pooling: unsupported data type");
      }
    });
  }

 private:
  PoolKind kind_;
  bool nhwc_;  //!< MaxPoolNHWC / AveragePoolNHWC: channels-last X and Y
  std::vector<int64_t> kernel_;
  ir::nn::Window window_;
  bool countIncludePad_{false};
  int storageOrder_{0};
  float p_{2};
};

// ---- global pools ------------------------------------------------------------------------------------

template <class T>
struct GlobalLpPolicy {
  using In = T;
  using A = typename Acc<T>::type;
  using S = A;
  T* out;
  A p;
  __device__ S init() const { return A(0); }
  __device__ void add(S& s, T x, int64_t) const {
    const A a = fabs(toAcc(x));
    s += p == A(2) ? a * a : pow(a, p);
  }
  __device__ S merge(S a, S b) const { return a + b; }
  __device__ void store(int64_t o, S s, int64_t) const { out[o] = fromAcc<T>(p == A(2) ? sqrt(s) : pow(s, A(1) / p)); }
};

class GlobalPoolKernel final : public Kernel {
 public:
  GlobalPoolKernel(const ir::Node& node, PoolKind kind) : kind_(kind) {
    if (!isFloatT(node.inputs[0]->dtype)) unsupported(node, "data type is not supported");
    p_ = static_cast<double>(node.attrs.getInt("p", 2));
  }
  static ReducePlan plan(const TensorView& x) {
    if (x.rank() < 2) badData("global pooling: rank must be >= 2");
    ReducePlan p;
    p.O = x.dim(0) * x.dim(1);
    p.R = 1;
    for (int64_t d = 2; d < x.rank(); ++d) p.R *= x.dim(d);
    return p;
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return reduceWorkspaceBytes(plan(in[0]));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    ReducePlan pl = plan(x);
    if (y.numel != pl.O) badData("global pooling: output shape mismatch");
    void* ws = ctx.workspace;
    cudaStream_t st = streamOf(ctx);
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using A = typename Acc<T>::type;
      const T* X = x.as<T>();
      if (kind_ == PoolKind::kMAX) launchReduce(pl, X, ReducePolicy<T, Red::kMAX>{y.as<T>()}, st, ws);
      else if (kind_ == PoolKind::kAVG) launchReduce(pl, X, ReducePolicy<T, Red::kMEAN>{y.as<T>()}, st, ws);
      else launchReduce(pl, X, GlobalLpPolicy<T>{y.as<T>(), static_cast<A>(p_)}, st, ws);
    });
  }

 private:
  PoolKind kind_;
  double p_{2};
};

template <PoolKind K>
Tactic poolTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<PoolKernel>(n, K); };
  return t;
}
template <PoolKind K>
Tactic globalTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<GlobalPoolKernel>(n, K); };
  return t;
}

}  // namespace

void registerPoolNhwcKernels(KernelRegistry& reg);  // nn_pool_nhwc.cu: vectorized channels-last pools

void registerPoolKernels(KernelRegistry& reg) {
  reg.add("MaxPool", poolTactic<PoolKind::kMAX>());
  reg.add("AveragePool", poolTactic<PoolKind::kAVG>());
  reg.add("MaxPoolNHWC", poolTactic<PoolKind::kMAX>());
  reg.add("AveragePoolNHWC", poolTactic<PoolKind::kAVG>());
  registerPoolNhwcKernels(reg);  // after the generic ones: the default where tactics are not timed
  reg.add("LpPool", poolTactic<PoolKind::kLP>());
  reg.add("GlobalMaxPool", globalTactic<PoolKind::kMAX>());
  reg.add("GlobalAveragePool", globalTactic<PoolKind::kAVG>());
  reg.add("GlobalLpPool", globalTactic<PoolKind::kLP>());
}

}  // namespace kiln::gpu::nn
