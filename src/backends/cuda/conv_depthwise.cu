// Depthwise convolution channels-last (ConvNHWC with group = C = M); bias, residual and the fused
// activation in registers. cuDNN's grouped NHWC kernels are slow (or refuse) for one channel per group.
//
// A thread owns V consecutive channels (V = 8 for half / bfloat16: one 16-byte access; 4 for float; 1 where
// C is not a multiple of that or a pointer is not aligned) and, in the fast kernels (3x3 and 5x5, stride 1
// or 2, no dilation), a strip of kOwt output pixels of one output row: each input row vector it loads serves
// every output of the strip it touches (a row's loads are issued together, branch-free). A block covers up
// to 32 channel groups (threadIdx.x) times 128 / that many strips (threadIdx.y) and loops over strips; it
// keeps the weights of its channels in shared memory as float, [tap][channel], so a thread reads its V
// weights of a tap as one or two 16-byte loads. The activation is applied once per strip (conv_act.cuh).
// Other windows (kernel sizes, dilations, strides) run the generic kernel: one output pixel of V channels
// per thread, weights read from global memory.
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/conv_vec_io.cuh"
#include "backends/cuda/conv_act.cuh"
#include "backends/cuda/conv_nhwc.h"
#include "backends/gpu.h"

namespace kiln::gpu {

namespace {

struct DwGeom {
  int32_t n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  int32_t owTiles;  //!< strips per output row (fast kernels)
};

constexpr int kOwt = 4;  //!< output pixels per thread in the fast kernels

//! acc += bias (+ z at off), then the activation (once for the whole array), then one vector store.
template <class T, int V>
__device__ __forceinline__ void epilogueStore(T* __restrict__ y, const T* __restrict__ z, int64_t off, float (&acc)[V],
                                              const float (&bv)[V], const ActParams& act) {
  if (z) {
    float zv[V];
    loadVec<T, V>(z + off, zv);
#pragma unroll
    for (int i = 0; i < V; ++i) acc[i] += zv[i];
  }
#pragma unroll
  for (int i = 0; i < V; ++i) acc[i] += bv[i];
  actArray<V>(acc, act);
  storeVec<T, V>(y + off, acc);
}

template <class T, int V>
__device__ __forceinline__ void loadBias(const T* __restrict__ bias, int c0, float (&bv)[V]) {
  if (bias) {
    loadVec<T, V>(bias + c0, bv);
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i) bv[i] = 0.f;
  }
}

//! KH x KW window, stride S in both dims, dilation 1. Block (channel groups, strips); grid (strips, channel blocks).
template <class T, int V, int KH, int KW, int S>
__global__ void __launch_bounds__(128) depthwiseFast(const T* __restrict__ x, const T* __restrict__ wt,
                                                     const T* __restrict__ bias, const T* __restrict__ z,
                                                     T* __restrict__ y, DwGeom g, ActParams act) {
  constexpr int KK = KH * KW;
  constexpr int IW = (kOwt - 1) * S + KW;  // input columns a strip reads
  extern __shared__ float4 dwSmem[];
  float* sw = reinterpret_cast<float*>(dwSmem);  // [KK][blockDim.x * V]
  const int bw = blockDim.x * V;
  const int cbase = blockIdx.y * bw;
  const int nthreads = blockDim.x * blockDim.y;
  for (int i = threadIdx.y * blockDim.x + threadIdx.x; i < KK * bw; i += nthreads) {
    const int tap = i / bw, cc = i - tap * bw;
    const int ch = cbase + cc;
    sw[i] = ch < g.c ? toAcc(wt[static_cast<int64_t>(ch) * KK + tap]) : 0.f;
  }
  __syncthreads();
  const int c0 = cbase + threadIdx.x * V;
  if (c0 >= g.c) return;
  float bv[V];
  loadBias<T, V>(bias, c0, bv);
  const float* swc = sw + threadIdx.x * V;
  const int tasks = g.n * g.oh * g.owTiles;
  const int64_t rowStride = static_cast<int64_t>(g.w) * g.c;
  for (int p = blockIdx.x * blockDim.y + threadIdx.y; p < tasks; p += gridDim.x * blockDim.y) {
    const int oxt = p % g.owTiles;
    const int r = p / g.owTiles;
    const int oy = r % g.oh;
    const int n = r / g.oh;
    const int ox0 = oxt * kOwt;
    const int iy0 = oy * S - g.ph, ix0 = ox0 * S - g.pw;
    const T* xn = x + static_cast<int64_t>(n) * g.h * rowStride + c0;
    float acc[kOwt][V];
#pragma unroll
    for (int o = 0; o < kOwt; ++o)
#pragma unroll
      for (int i = 0; i < V; ++i) acc[o][i] = 0.f;
#pragma unroll
    for (int ky = 0; ky < KH; ++ky) {
      const int iy = iy0 + ky;
      const bool rowOk = static_cast<unsigned>(iy) < static_cast<unsigned>(g.h);
      // the row's loads first, branch-free (predicated loads, zeros outside), so that they are all in flight
      // together; converted to float one at a time below
      const T* row = xn + static_cast<int64_t>(rowOk ? iy : 0) * rowStride;
      typename RawVec<T, V>::type raw[IW];
#pragma unroll
      for (int j = 0; j < IW; ++j) {
        const int ix = ix0 + j;
        const bool ok = rowOk && static_cast<unsigned>(ix) < static_cast<unsigned>(g.w);
        raw[j] = RawVec<T, V>::loadOrZero(row + static_cast<int64_t>(ok ? ix : 0) * g.c, ok);
      }
      float wr[KW][V];
#pragma unroll
      for (int kx = 0; kx < KW; ++kx) {
        const float* src = swc + (ky * KW + kx) * bw;
        if constexpr (V % 4 == 0) {
#pragma unroll
          for (int i = 0; i < V; i += 4) {
            const float4 q = *reinterpret_cast<const float4*>(src + i);
            wr[kx][i] = q.x, wr[kx][i + 1] = q.y, wr[kx][i + 2] = q.z, wr[kx][i + 3] = q.w;
          }
        } else {
#pragma unroll
          for (int i = 0; i < V; ++i) wr[kx][i] = src[i];
        }
      }
#pragma unroll
      for (int j = 0; j < IW; ++j) {
        float v[V];
        RawVec<T, V>::toFloat(raw[j], v);
#pragma unroll
        for (int o = 0; o < kOwt; ++o) {
          const int kx = j - o * S;
          if (kx < 0 || kx >= KW) continue;
#pragma unroll
          for (int i = 0; i < V; ++i) acc[o][i] = fmaf(v[i], wr[kx][i], acc[o][i]);
        }
      }
    }
    const int64_t obase = ((static_cast<int64_t>(n) * g.oh + oy) * g.ow) * g.c + c0;
#pragma unroll
    for (int o = 0; o < kOwt; ++o) {
      float zv[V];
      if (z && ox0 + o < g.ow) {
        loadVec<T, V>(z + obase + static_cast<int64_t>(ox0 + o) * g.c, zv);
      } else {
#pragma unroll
        for (int i = 0; i < V; ++i) zv[i] = 0.f;
      }
#pragma unroll
      for (int i = 0; i < V; ++i) acc[o][i] += bv[i] + zv[i];
    }
    actArray<kOwt, V>(acc, act);  // one switch on the activation for the whole strip
#pragma unroll
    for (int o = 0; o < kOwt; ++o)
      if (ox0 + o < g.ow) storeVec<T, V>(y + obase + static_cast<int64_t>(ox0 + o) * g.c, acc[o]);
  }
}

//! Any window: one output pixel of V channels per thread (grid-stride), weights from global memory.
template <class T, int V>
__global__ void __launch_bounds__(256) depthwiseGeneric(const T* __restrict__ x, const T* __restrict__ wt,
                                                        const T* __restrict__ bias, const T* __restrict__ z,
                                                        T* __restrict__ y, DwGeom g, ActParams act) {
  const int cgs = g.c / V;
  const int64_t total = static_cast<int64_t>(g.n) * g.oh * g.ow * cgs;
  const int kk = g.kh * g.kw;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int cg = static_cast<int>(t % cgs);
    const int64_t pix = t / cgs;
    const int ox = static_cast<int>(pix % g.ow);
    const int64_t r = pix / g.ow;
    const int oy = static_cast<int>(r % g.oh);
    const int64_t n = r / g.oh;
    const int c0 = cg * V;
    const T* xn = x + n * g.h * g.w * static_cast<int64_t>(g.c) + c0;
    float acc[V];
#pragma unroll
    for (int i = 0; i < V; ++i) acc[i] = 0.f;
    for (int ky = 0; ky < g.kh; ++ky) {
      const int iy = oy * g.sh - g.ph + ky * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      for (int kx = 0; kx < g.kw; ++kx) {
        const int ix = ox * g.sw - g.pw + kx * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        float v[V];
        loadVec<T, V>(xn + (static_cast<int64_t>(iy) * g.w + ix) * g.c, v);
        const int tap = ky * g.kw + kx;
#pragma unroll
        for (int i = 0; i < V; ++i) acc[i] = fmaf(v[i], toAcc(wt[static_cast<int64_t>(c0 + i) * kk + tap]), acc[i]);
      }
    }
    float bv[V];
    loadBias<T, V>(bias, c0, bv);
    epilogueStore<T, V>(y, z, pix * g.c + c0, acc, bv, act);
  }
}

constexpr const char* kWhat = "depthwise convolution";

//! ConvNHWC, rank 4, one input and one output channel per group, a float type.
bool supportsDepthwise(const ir::Node& n, std::string* why) {
  const ir::Value* x = n.inputs[0];
  const ir::Value* w = n.inputs[1];
  const DataType t = n.outputs[0]->dtype;
  const int64_t group = n.attrs.getInt("group", 1);
  bool ok = x->shape.size() == 4 && w->shape.size() == 4 && w->shape[3] == 1 && w->shape[0] == group &&
            x->shape[3] == group && (t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16);
  if (!ok && why) *why = "not a depthwise (one channel per group) float convolution";
  return ok;
}

template <class T, int V, int KH, int KW, int S>
void launchFast(const T* x, const T* w, const T* b, const T* z, T* y, DwGeom g, const ActParams& act, cudaStream_t s) {
  const int cgs = g.c / V;
  const int chunks = (cgs + 31) / 32;
  const int bx = (cgs + chunks - 1) / chunks;
  const int by = std::max(1, 128 / bx);  // 128-thread blocks: finer occupancy steps at 130-190 registers
  const int64_t tasks = static_cast<int64_t>(g.n) * g.oh * g.owTiles;
  if (tasks > INT32_MAX) throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: too many output rows");
  static const int sms = deviceInfo().multiprocessors;
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(sms) * 48 / chunks);
  const unsigned gx = static_cast<unsigned>(std::min<int64_t>((tasks + by - 1) / by, cap));
  const std::size_t smem = static_cast<std::size_t>(KH * KW) * bx * V * sizeof(float);
  depthwiseFast<T, V, KH, KW, S><<<dim3(gx, static_cast<unsigned>(chunks)), dim3(bx, by), smem, s>>>(x, w, b, z, y, g, act);
}

template <class T, int V>
void launchAny(const T* x, const T* w, const T* b, const T* z, T* y, DwGeom g, const ActParams& act, cudaStream_t s,
               bool strips) {
  const bool fast = strips && g.dh == 1 && g.dw == 1 && g.sh == g.sw && (g.sh == 1 || g.sh == 2) && g.kh == g.kw &&
                    (g.kh == 3 || g.kh == 5);
  if (fast) {
    g.owTiles = (g.ow + kOwt - 1) / kOwt;
    if (g.kh == 3 && g.sh == 1) return launchFast<T, V, 3, 3, 1>(x, w, b, z, y, g, act, s);
    if (g.kh == 3 && g.sh == 2) return launchFast<T, V, 3, 3, 2>(x, w, b, z, y, g, act, s);
    if (g.kh == 5 && g.sh == 1) return launchFast<T, V, 5, 5, 1>(x, w, b, z, y, g, act, s);
    return launchFast<T, V, 5, 5, 2>(x, w, b, z, y, g, act, s);
  }
  const int64_t total = static_cast<int64_t>(g.n) * g.oh * g.ow * (g.c / V);
  depthwiseGeneric<T, V><<<blocksFor(total), 256, 0, s>>>(x, w, b, z, y, g, act);
}

//! kStrips: the strip kernels where they apply (fewer, fatter threads: best when the layer fills the GPU);
//! false: one output pixel per thread for every window (more threads: small batches and images). Two tactics,
//! timed against each other by the builder.
template <bool kStrips>
class DepthwiseKernel final : public Kernel {
 public:
  explicit DepthwiseKernel(const ir::Node& n) : act_(parseAct(n.attrs)) {
    window_ = ir::nn::parseWindow(n.attrs, {1, 1});
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (X.rank() != 4 || W.rank() != 4 || Y.rank() != 4 || W.dim(0) != X.dim(3) || W.dim(3) != 1 ||
        Y.dim(3) != X.dim(3) || Y.dim(0) != X.dim(0))
      throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: shapes do not match");
    DwGeom g{};
    g.c = checkedI32(X.dim(3), kWhat);
    setWindowGeometry(g, X, W, Y, window_, kWhat);
    // 32-bit strip / pixel indices; 64-bit element offsets
    (void)checkedI32(X.numel, kWhat), (void)checkedI32(Y.numel, kWhat);
    const void* bias = optionalBias(ctx);
    const void* z = optionalResidual(ctx);
    cudaStream_t s = streamOf(ctx);
    const bool alignedAll = aligned16(X.data) && aligned16(Y.data) && (!z || aligned16(z)) && (!bias || aligned16(bias));
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      constexpr int kV = std::is_same_v<T, float> ? 4 : 8;
      const T *xp = static_cast<const T*>(X.data), *wp = static_cast<const T*>(W.data);
      const T *bp = static_cast<const T*>(bias), *zp = static_cast<const T*>(z);
      T* yp = static_cast<T*>(Y.data);
      if (alignedAll && g.c % kV == 0)
        launchAny<T, kV>(xp, wp, bp, zp, yp, g, act_, s, kStrips);
      else
        launchAny<T, 1>(xp, wp, bp, zp, yp, g, act_, s, kStrips);
    };
    dispatchConvType<true>(Y.dtype, "depthwise convolution: unsupported type", launch);
    checkLaunch("depthwiseNhwc");
  }

 private:
  ActParams act_;
  ir::nn::Window window_;
};

}  // namespace

void registerDepthwiseKernels(KernelRegistry& reg) {
  // the last applicable tactic is the default of untimed builds: the strip kernel
  reg.add("ConvNHWC", nodeTactic<DepthwiseKernel<false>>("cuda_depthwise_px", supportsDepthwise));
  reg.add("ConvNHWC", nodeTactic<DepthwiseKernel<true>>("cuda_depthwise", supportsDepthwise));
}

}  // namespace kiln::gpu
