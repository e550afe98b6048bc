// GPU kernels: the fast LayerNormalization row kernel (a warp per row, the row in registers as float, 16-byte
// vector loads and stores of x, skip, scale and bias, exact two-pass mean and variance) used by
// LayerNormalization and SkipLayerNormalization, and SkipLayerNormalization's general path (a block per row,
// three passes over global memory) for the shapes, types and alignments the fast path does not take.
#include <cstring>

#include "backends/cuda/fused_transformer.h"
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu {
namespace {

template <class T>
struct LnK {
  const T* x;
  const T* skip;
  T* sum;
  T* y;
  const T* scale;
  const T* bias;
  int64_t O;
  int R;
  float eps;
  float* mean;
  float* inv;
};

template <class T>
__device__ __forceinline__ void unpack(const uint4& raw, float* out) {
  constexpr int N = 16 / sizeof(T);
  T t[N];
  memcpy(t, &raw, 16);
#pragma unroll
  for (int i = 0; i < N; ++i) out[i] = toAcc(t[i]);
}
template <class T>
__device__ __forceinline__ uint4 pack(const float* in) {
  constexpr int N = 16 / sizeof(T);
  T t[N];
#pragma unroll
  for (int i = 0; i < N; ++i) t[i] = fromAcc<T>(in[i]);
  uint4 raw;
  memcpy(&raw, t, 16);
  return raw;
}

//! A warp per row; lane l holds the 16-byte vectors l, l + 32, ... (VPT of them) of the row.
template <class T, int VPT>
__global__ void __launch_bounds__(256) lnFastKernel(LnK<T> a) {
  constexpr int N = 16 / sizeof(T);
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= a.O) return;
  const int nvec = a.R / N;
  const uint4* xr = reinterpret_cast<const uint4*>(a.x + row * a.R);
  float v[VPT][N];
  float s = 0.f;
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = lane + 32 * j;
    if (c < nvec) {
      unpack<T>(__ldg(xr + c), v[j]);
      if (a.skip) {
        float w[N];
        unpack<T>(__ldg(reinterpret_cast<const uint4*>(a.skip + row * a.R) + c), w);
#pragma unroll
        for (int i = 0; i < N; ++i) v[j][i] = toAcc(fromAcc<T>(v[j][i] + w[i]));  // rounded like an Add
        if (a.sum) reinterpret_cast<uint4*>(a.sum + row * a.R)[c] = pack<T>(v[j]);
      }
    } else {
#pragma unroll
      for (int i = 0; i < N; ++i) v[j][i] = 0.f;
    }
#pragma unroll
    for (int i = 0; i < N; ++i) s += v[j][i];
  }
#pragma unroll
  for (int m = 16; m >= 1; m >>= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
  const float mean = s / static_cast<float>(a.R);
  float sq = 0.f;
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    if (lane + 32 * j < nvec) {
#pragma unroll
      for (int i = 0; i < N; ++i) {
        const float d = v[j][i] - mean;
        sq += d * d;
      }
    }
  }
#pragma unroll
  for (int m = 16; m >= 1; m >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, m);
  const float inv = 1.f / sqrtf(sq / static_cast<float>(a.R) + a.eps);
  if (lane == 0 && a.mean) a.mean[row] = mean;
  if (lane == 0 && a.inv) a.inv[row] = inv;
  uint4* yr = reinterpret_cast<uint4*>(a.y + row * a.R);
  const uint4* sc = reinterpret_cast<const uint4*>(a.scale);
  const uint4* bi = reinterpret_cast<const uint4*>(a.bias);
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = lane + 32 * j;
    if (c < nvec) {
      float g[N], b[N];
      unpack<T>(__ldg(sc + c), g);
      if (bi) unpack<T>(__ldg(bi + c), b);
      else
#pragma unroll
        for (int i = 0; i < N; ++i) b[i] = 0.f;
#pragma unroll
      for (int i = 0; i < N; ++i) v[j][i] = (v[j][i] - mean) * inv * g[i] + b[i];
      yr[c] = pack<T>(v[j]);
    }
  }
}

template <class T, int VPT>
void launchFast(const LayerNormRows& r, cudaStream_t st) {
  LnK<T> a{static_cast<const T*>(r.x), static_cast<const T*>(r.skip), static_cast<T*>(r.sum), static_cast<T*>(r.y),
           static_cast<const T*>(r.scale), static_cast<const T*>(r.bias), r.O, static_cast<int>(r.R), r.eps, r.mean,
           r.inv};
  // enough blocks to spread small row counts over every SM; 8 warps per block for large ones
  const int64_t sms = nn::smCount();
  int wpb = 8;
  while (wpb > 1 && (r.O + wpb - 1) / wpb < 2 * sms) wpb >>= 1;
  const int64_t blocks = (r.O + wpb - 1) / wpb;
  lnFastKernel<T, VPT><<<static_cast<unsigned>(blocks), 32 * wpb, 0, st>>>(a);
  checkLaunch("layerNormFast");
}

template <class T>
bool launchTyped(const LayerNormRows& r, cudaStream_t st) {
  constexpr int64_t N = 16 / sizeof(T);
  const int64_t nvec = r.R / N;
  const int64_t vpt = (nvec + 31) / 32;
  switch (vpt) {
    case 1: launchFast<T, 1>(r, st); return true;
    case 2: launchFast<T, 2>(r, st); return true;
    case 3: launchFast<T, 3>(r, st); return true;
    case 4: launchFast<T, 4>(r, st); return true;
    case 5:
    case 6: launchFast<T, 6>(r, st); return true;
    case 7:
    case 8: launchFast<T, 8>(r, st); return true;
    default: return false;
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// ---- SkipLayerNormalization: general path ---------------------------------------------------------------

template <class T>
__device__ __forceinline__ typename Acc<T>::type skipSum(const T* x, const T* s, int64_t i) {
  return toAcc(fromAcc<T>(toAcc(x[i]) + toAcc(s[i])));
}

template <class T>
__global__ void skipLnBlockKernel(LnK<T> a, int64_t R) {
  using A = typename Acc<T>::type;
  auto add = [](A p, A q) { return p + q; };
  for (int64_t o = blockIdx.x; o < a.O; o += gridDim.x) {
    const T* xr = a.x + o * R;
    const T* sr = a.skip + o * R;
    A s = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
      const A v = skipSum(xr, sr, r);
      if (a.sum) a.sum[o * R + r] = fromAcc<T>(v);
      s += v;
    }
    const A mean = nn::blockAll(s, add) / static_cast<A>(R);
    A sq = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
      const A d = skipSum(xr, sr, r) - mean;
      sq += d * d;
    }
    const A inv = A(1) / sqrt(nn::blockAll(sq, add) / static_cast<A>(R) + static_cast<A>(a.eps));
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
      A t = (skipSum(xr, sr, r) - mean) * inv * toAcc(a.scale[r]);
      if (a.bias) t += toAcc(a.bias[r]);
      a.y[o * R + r] = fromAcc<T>(t);
    }
  }
}

class SkipLayerNormKernel final : public Kernel {
 public:
  explicit SkipLayerNormKernel(const ir::Node& node) {
    if (!nn::isFloatT(node.inputs[0]->dtype)) nn::unsupported(node, "data type is not supported");
    axis_ = node.attrs.getInt("axis", -1);
    eps_ = static_cast<float>(node.attrs.getFloat("epsilon", 1e-5));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView &x = ctx.inputs[0], &skip = ctx.inputs[1], &scale = ctx.inputs[2];
    const TensorView* b = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const TensorView* sum = ctx.outputs.size() > 1 && ctx.outputs[1].present ? &ctx.outputs[1] : nullptr;
    if (skip.numel != x.numel || y.numel != x.numel || (sum && sum->numel != x.numel))
      nn::badData("SkipLayerNormalization: X, Skip, Y and Sum must have the same size");
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    int64_t O = 1, R = 1;
    for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? O : R) *= x.dim(d);
    if (scale.numel != R || (b && b->numel != R))
      nn::badData("SkipLayerNormalization: Scale and B must have the normalized size");
    if (O == 0 || R == 0) return;
    LayerNormRows r;
    r.dtype = x.dtype;
    r.x = x.data;
    r.skip = skip.data;
    r.sum = sum ? sum->data : nullptr;
    r.y = y.data;
    r.scale = scale.data;
    r.bias = b ? b->data : nullptr;
    r.O = O;
    r.R = R;
    r.eps = eps_;
    cudaStream_t st = streamOf(ctx);
    if (launchLayerNormFast(r, st)) return;
    nn::dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      LnK<T> a{x.as<const T>(), skip.as<const T>(), sum ? sum->as<T>() : nullptr, y.as<T>(), scale.as<const T>(),
               b ? b->as<const T>() : nullptr, O, 0, eps_, nullptr, nullptr};
      const int threads = R >= 4096 ? 1024 : 256;
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(O, 65535LL * 16));
      skipLnBlockKernel<T><<<blocks, threads, 0, st>>>(a, R);
      checkLaunch("skipLayerNormBlock");
    });
  }

 private:
  int64_t axis_;
  float eps_;
};

}  // namespace

bool launchLayerNormFast(const LayerNormRows& r, cudaStream_t st) {
  if (r.O <= 0 || r.R <= 0 || r.R > (int64_t{1} << 20)) return false;
  for (const void* p : {r.x, r.skip, static_cast<const void*>(r.sum), static_cast<const void*>(r.y), r.scale, r.bias})
    if (p && !aligned16(p)) return false;
  if (r.O > (int64_t{1} << 33)) return false;  // grid size
  switch (r.dtype) {
    case DataType::kFLOAT: return r.R % 4 == 0 && launchTyped<float>(r, st);
    case DataType::kHALF: return r.R % 8 == 0 && launchTyped<__half>(r, st);
    case DataType::kBF16: return r.R % 8 == 0 && launchTyped<__nv_bfloat16>(r, st);
    default: return false;
  }
}

void registerFusedNormKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<SkipLayerNormKernel>(n); };
  reg.add("SkipLayerNormalization", t);
}

}  // namespace kiln::gpu
