// GPU kernels: LayerNormalization (the vectorized row kernel of fused_norm.cu where it applies; else a warp per
// row with the row in registers for rows up to 1024, or a block per row with Welford statistics; float math),
// BatchNormalization (inference: per-channel affine precomputed into the workspace) and LRN.
#include "backends/cuda/fused_transformer.h"
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {
namespace {

//! Where a parameter element of row position r is: r itself (same shape as the row), or a broadcast view.
struct ParamMap {
  int32_t direct{1};
  DimsArg d;
};
__device__ __forceinline__ int64_t paramOffset(const ParamMap& m, int64_t r) {
  return m.direct ? r : stridedOffset(r, m.d);
}

ParamMap paramMap(const TensorView& p, std::span<const int64_t> normShape, int64_t R) {
  ParamMap m;
  if (p.numel == R) return m;
  for (size_t i = 0; i < p.shape.size(); ++i) {
    size_t j = normShape.size() - p.shape.size() + i;
    if (p.shape.size() > normShape.size() || (p.shape[i] != 1 && p.shape[i] != normShape[j]))
      badData("LayerNormalization: parameter shape does not broadcast to the normalized shape");
  }
  m.direct = 0;
  m.d = broadcastStrides(p.shape, normShape);
  return m;
}

template <class T>
struct LnArgs {
  const T* x;
  T* y;
  const T* scale;
  const T* bias;  // may be null
  ParamMap sm, bm;
  int64_t O, R;
  float eps;
  float* mean;  // optional outputs
  float* inv;
};

template <class T>
__device__ __forceinline__ void lnWrite(const LnArgs<T>& a, int64_t o, typename Acc<T>::type mean,
                                        typename Acc<T>::type inv, int64_t r0, int64_t step) {
  using A = typename Acc<T>::type;
  const T* xr = a.x + o * a.R;
  T* yr = a.y + o * a.R;
  for (int64_t r = r0; r < a.R; r += step) {
    A v = (toAcc(xr[r]) - mean) * inv * toAcc(a.scale[paramOffset(a.sm, r)]);
    if (a.bias) v += toAcc(a.bias[paramOffset(a.bm, r)]);
    yr[r] = fromAcc<T>(v);
  }
}

template <class T>
__global__ void layerNormWarpKernel(LnArgs<T> a) {
  using A = typename Acc<T>::type;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  auto merge = [](Welford<A> p, Welford<A> q) { return welfordMerge(p, q); };
  for (int64_t o = warp; o < a.O; o += nwarps) {
    const T* xr = a.x + o * a.R;
    Welford<A> w = welfordInit<A>();
    for (int64_t r = lane; r < a.R; r += 32) welfordAdd(w, toAcc(xr[r]));
    w = warpAll(w, merge);
    const A var = w.m2 / static_cast<A>(a.R);
    const A inv = A(1) / sqrt(var + static_cast<A>(a.eps));
    const A mean = a.R ? w.mean : A(NAN);
    if (lane == 0 && a.mean) a.mean[o] = static_cast<float>(mean);
    if (lane == 0 && a.inv) a.inv[o] = static_cast<float>(inv);
    lnWrite(a, o, mean, inv, lane, 32);
  }
}

//! R <= 32 * V: a warp per row with the row in registers; exact two-pass mean and variance.
template <class T, int V>
__global__ void layerNormWarpCachedKernel(LnArgs<T> a) {
  using A = typename Acc<T>::type;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  const int R = static_cast<int>(a.R);
  auto addOp = [](A p, A q) { return p + q; };
  for (int64_t o = warp; o < a.O; o += nwarps) {
    const T* xr = a.x + o * a.R;
    T* yr = a.y + o * a.R;
    A v[V];
    A sum = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      v[j] = r < R ? toAcc(xr[r]) : A(0);
      sum += v[j];
    }
    const A mean = warpAll(sum, addOp) / static_cast<A>(R);
    A sq = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      const A d = v[j] - mean;
      if (r < R) sq += d * d;
    }
    const A inv = A(1) / sqrt(warpAll(sq, addOp) / static_cast<A>(R) + static_cast<A>(a.eps));
    if (lane == 0 && a.mean) a.mean[o] = static_cast<float>(mean);
    if (lane == 0 && a.inv) a.inv[o] = static_cast<float>(inv);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      if (r < R) {
        A t = (v[j] - mean) * inv * toAcc(a.scale[paramOffset(a.sm, r)]);
        if (a.bias) t += toAcc(a.bias[paramOffset(a.bm, r)]);
        yr[r] = fromAcc<T>(t);
      }
    }
  }
}

template <class T>
__global__ void layerNormBlockKernel(LnArgs<T> a) {
  using A = typename Acc<T>::type;
  auto merge = [](Welford<A> p, Welford<A> q) { return welfordMerge(p, q); };
  for (int64_t o = blockIdx.x; o < a.O; o += gridDim.x) {
    const T* xr = a.x + o * a.R;
    Welford<A> w = welfordInit<A>();
    for (int64_t r = threadIdx.x; r < a.R; r += blockDim.x) welfordAdd(w, toAcc(xr[r]));
    w = blockAll(w, merge);
    const A var = w.m2 / static_cast<A>(a.R);
    const A inv = A(1) / sqrt(var + static_cast<A>(a.eps));
    if (threadIdx.x == 0 && a.mean) a.mean[o] = static_cast<float>(w.mean);
    if (threadIdx.x == 0 && a.inv) a.inv[o] = static_cast<float>(inv);
    lnWrite(a, o, w.mean, inv, threadIdx.x, blockDim.x);
  }
}

class LayerNormKernel final : public Kernel {
 public:
  explicit LayerNormKernel(const ir::Node& node) {
    if (!isFloatT(node.inputs[0]->dtype)) unsupported(node, "data type is not supported");
    axis_ = node.attrs.getInt("axis", -1);
    eps_ = static_cast<float>(node.attrs.getFloat("epsilon", 1e-5));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) badData("LayerNormalization: output shape mismatch");
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    int64_t O = 1, R = 1;
    for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? O : R) *= x.dim(d);
    if (O == 0) return;
    std::span<const int64_t> normShape = x.shape.subspan(static_cast<size_t>(axis));
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    float* stats[2] = {nullptr, nullptr};
    for (size_t k = 1; k < ctx.outputs.size() && k < 3; ++k) {
      const TensorView& o = ctx.outputs[k];
      if (!o.present) continue;
      if (o.dtype != DataType::kFLOAT) badData("LayerNormalization: statistics must be float32");
      if (o.numel != O) badData("LayerNormalization: statistics shape mismatch");
      stats[k - 1] = o.as<float>();
    }
    cudaStream_t st = streamOf(ctx);
    if (R > 0 && ctx.inputs[1].numel == R && (!b || b->numel == R)) {  // fused_norm.cu: vectorized rows
      LayerNormRows r;
      r.dtype = x.dtype;
      r.x = x.data;
      r.y = y.data;
      r.scale = ctx.inputs[1].data;
      r.bias = b ? b->data : nullptr;
      r.O = O;
      r.R = R;
      r.eps = eps_;
      r.mean = stats[0];
      r.inv = stats[1];
      if (launchLayerNormFast(r, st)) return;
    }
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      LnArgs<T> a{x.as<T>(), y.as<T>(), ctx.inputs[1].as<T>(), b ? b->as<T>() : nullptr,
                  paramMap(ctx.inputs[1], normShape, R), b ? paramMap(*b, normShape, R) : ParamMap{},
                  O, R, eps_, stats[0], stats[1]};
      if (R == 0) {
        layerNormWarpKernel<T><<<blocksFor(O * 32), 256, 0, st>>>(a);  // statistics only
        checkLaunch("layerNormWarp");
      } else if (R <= 128) {
        layerNormWarpCachedKernel<T, 4><<<blocksFor(O * 32), 256, 0, st>>>(a);
        checkLaunch("layerNormWarp");
      } else if (R <= 1024) {
        layerNormWarpCachedKernel<T, 32><<<blocksFor(O * 32), 256, 0, st>>>(a);
        checkLaunch("layerNormWarp");
      } else {
        const int threads = R >= 8192 ? 1024 : 256;
        unsigned blocks = static_cast<unsigned>(std::min<int64_t>(O, 65535LL * 16));
        layerNormBlockKernel<T><<<blocks, threads, 0, st>>>(a);
        checkLaunch("layerNormBlock");
      }
    });
  }

 private:
  int64_t axis_;
  float eps_;
};

// ---- BatchNormalization -------------------------------------------------------------------------------

__device__ __forceinline__ double loadAny(const void* p, int dt, int64_t i) {
  switch (static_cast<DataType>(dt)) {
    case DataType::kFLOAT: return static_cast<const float*>(p)[i];
    case DataType::kDOUBLE: return static_cast<const double*>(p)[i];
    case DataType::kHALF: return __half2float(static_cast<const __half*>(p)[i]);
    case DataType::kBF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return 0.0;
  }
}

struct BnParams {
  const void* p[4];  // scale, B, mean, var
  int dt[4];
};

template <class A>
__global__ void bnPrepKernel(BnParams prm, int64_t C, double eps, A* ab) {
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < C;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double a = loadAny(prm.p[0], prm.dt[0], c) / sqrt(loadAny(prm.p[3], prm.dt[3], c) + eps);
    ab[c] = static_cast<A>(a);
    ab[C + c] = static_cast<A>(loadAny(prm.p[1], prm.dt[1], c) - loadAny(prm.p[2], prm.dt[2], c) * a);
  }
}

template <class T, class Idx>
__global__ void bnApplyKernel(const T* __restrict__ x, T* __restrict__ y, const typename Acc<T>::type* __restrict__ ab,
                              Idx n, Idx C, Idx S) {
  for (Idx i = static_cast<Idx>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<Idx>(gridDim.x) * blockDim.x) {
    Idx c = (i / S) % C;
    y[i] = fromAcc<T>(toAcc(x[i]) * ab[c] + ab[C + c]);
  }
}

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const ir::Node& node) {
    if (!isFloatT(node.inputs[0]->dtype)) unsupported(node, "data type is not supported");
    for (size_t i = 1; i < 5; ++i)
      if (!isFloatT(node.inputs[i]->dtype)) unsupported(node, "parameters must be a float type");
    if (node.attrs.getInt("training_mode", 0) != 0) unsupported(node, "training_mode=1 is not supported");
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    if (in[0].rank() < 2) return 0;
    return align256(static_cast<std::size_t>(2 * in[0].dim(1)) * (in[0].dtype == DataType::kDOUBLE ? 8 : 4));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) badData("BatchNormalization: output shape mismatch");
    if (x.rank() < 2) badData("BatchNormalization: X must have rank >= 2");
    const int64_t N = x.dim(0), C = x.dim(1), S = N * C == 0 ? 0 : x.numel / (N * C);
    BnParams prm{};
    for (int i = 0; i < 4; ++i) {
      const TensorView& p = ctx.inputs[static_cast<size_t>(i + 1)];
      if (p.numel != C) badData("BatchNormalization: parameters must have C values");
      prm.p[i] = p.data;
      prm.dt[i] = static_cast<int>(p.dtype);
    }
    if (x.numel == 0) return;
    cudaStream_t st = streamOf(ctx);
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      using A = typename Acc<T>::type;
      A* ab = static_cast<A*>(ctx.workspace);
      bnPrepKernel<A><<<blocksFor(C), 256, 0, st>>>(prm, C, eps_, ab);
      checkLaunch("bnPrep");
      if (x.numel < (int64_t{1} << 31))
        bnApplyKernel<T, uint32_t><<<blocksFor(x.numel), 256, 0, st>>>(
            x.as<T>(), y.as<T>(), ab, static_cast<uint32_t>(x.numel), static_cast<uint32_t>(C), static_cast<uint32_t>(S));
      else
        bnApplyKernel<T, int64_t><<<blocksFor(x.numel), 256, 0, st>>>(x.as<T>(), y.as<T>(), ab, x.numel, C, S);
      checkLaunch("bnApply");
    });
  }

 private:
  double eps_;
};

// ---- LRN ---------------------------------------------------------------------------------------------

template <class T, class Idx>
__global__ void lrnKernel(const T* __restrict__ x, T* __restrict__ y, Idx n, Idx C, Idx S, int lo, int hi,
                          float alphaOverSize, float beta, float bias) {
  using A = typename Acc<T>::type;
  for (Idx i = static_cast<Idx>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<Idx>(gridDim.x) * blockDim.x) {
    const Idx s = i % S, nc = i / S, c = nc % C;
    const Idx base = (nc - c) * S + s;  // (n, 0, s)
    const Idx c0 = c >= static_cast<Idx>(lo) ? c - lo : 0;
    const Idx c1 = c + hi < C ? c + hi : C - 1;
    A sq = 0;
    for (Idx cc = c0; cc <= c1; ++cc) {
      A v = toAcc(x[base + cc * S]);
      sq += v * v;
    }
    y[i] = fromAcc<T>(toAcc(x[i]) / pow(static_cast<A>(bias) + static_cast<A>(alphaOverSize) * sq, static_cast<A>(beta)));
  }
}

class LRNKernel final : public Kernel {
 public:
  explicit LRNKernel(const ir::Node& node) {
    if (!isFloatT(node.inputs[0]->dtype)) unsupported(node, "data type is not supported");
    alpha_ = node.attrs.getFloat("alpha", 1e-4);
    beta_ = node.attrs.getFloat("beta", 0.75);
    bias_ = node.attrs.getFloat("bias", 1.0);
    size_ = node.attrs.requireInt("size");
    if (size_ < 1) unsupported(node, "size must be >= 1");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) badData("LRN: output shape mismatch");
    if (x.rank() < 2) badData("LRN: X must have rank >= 2");
    if (x.numel == 0) return;
    const int64_t C = x.dim(1), S = x.numel / (x.dim(0) * C);
    const int lo = static_cast<int>((size_ - 1) / 2), hi = static_cast<int>(size_ - 1 - (size_ - 1) / 2);
    const float as = static_cast<float>(alpha_ / static_cast<double>(size_));
    cudaStream_t st = streamOf(ctx);
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if (x.numel < (int64_t{1} << 31))
        lrnKernel<T, uint32_t><<<blocksFor(x.numel), 256, 0, st>>>(x.as<T>(), y.as<T>(), static_cast<uint32_t>(x.numel),
                                                                  static_cast<uint32_t>(C), static_cast<uint32_t>(S), lo,
                                                                  hi, as, static_cast<float>(beta_), static_cast<float>(bias_));
      else
        lrnKernel<T, int64_t><<<blocksFor(x.numel), 256, 0, st>>>(x.as<T>(), y.as<T>(), x.numel, C, S, lo, hi, as,
                                                                  static_cast<float>(beta_), static_cast<float>(bias_));
      checkLaunch("lrn");
    });
  }

 private:
  double alpha_, beta_, bias_;
  int64_t size_;
};

template <class K>
Tactic tactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<K>(n); };
  return t;
}

}  // namespace

void registerNormKernels(KernelRegistry& reg) {
  reg.add("LayerNormalization", tactic<LayerNormKernel>());
  reg.add("BatchNormalization", tactic<BatchNormKernel>());
  reg.add("LRN", tactic<LRNKernel>());
}

}  // namespace kiln::gpu::nn
