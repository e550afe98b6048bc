// Direct channels-last convolution for few input channels (ConvNHWC, one group, C <= 4: the RGB stems of
// image networks), any window, stride, dilation and padding, with the fused bias / residual / activation.
// cuDNN's NHWC algorithms handle 3 input channels poorly (implicit GEMM with K = 27 padded far up).
//
// Two kernels behind the timed tactic "cuda_conv_smallc" (M a multiple of 8):
//  - the stem kernel, for a 3x3 window over 3 input channels with 16 or 32 output channels and constant
//    weights (and bias): a thread computes all M channels of one output pixel; weights and bias travel
//    in the kernel's parameters (constant bank), so every multiply-add takes its weight as a constant operand
//    and a thread does only its 27 input loads and M / 8 16-byte stores;
//  - the generic kernel: a thread computes 8 consecutive output channels of one output pixel (the channel
//    group is the fastest index, so a warp writes whole pixels as contiguous 16-byte stores); the weights of
//    all output channels sit in shared memory as float, [tap][input channel][output channel].
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/conv_vec_io.cuh"
#include "backends/cuda/conv_act.cuh"
#include "backends/cuda/conv_nhwc.h"
#include "backends/gpu.h"

namespace kiln::gpu {

namespace {

struct ScGeom {
  int32_t n, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  bool vec;  //!< Y and Z 16-byte aligned (vector stores)
};

template <class T>
__device__ __forceinline__ void store8(T* __restrict__ p, const float (&v)[8], bool vec) {
  if (vec) {
    if constexpr (std::is_same_v<T, float>) {
      const float(&lo)[4] = *reinterpret_cast<const float(*)[4]>(&v[0]);
      const float(&hi)[4] = *reinterpret_cast<const float(*)[4]>(&v[4]);
      storeVec<float, 4>(p, lo);
      storeVec<float, 4>(p + 4, hi);
    } else {
      storeVec<T, 8>(p, v);
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i) p[i] = fromAcc<T>(v[i]);
  }
}

template <class T>
__device__ __forceinline__ void load8(const T* __restrict__ p, float (&v)[8], bool vec) {
  if (vec) {
    if constexpr (std::is_same_v<T, float>) {
      float(&lo)[4] = *reinterpret_cast<float(*)[4]>(&v[0]);
      float(&hi)[4] = *reinterpret_cast<float(*)[4]>(&v[4]);
      loadVec<float, 4>(p, lo);
      loadVec<float, 4>(p + 4, hi);
    } else {
      loadVec<T, 8>(p, v);
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = toAcc(p[i]);
  }
}

template <class T, int CIN>
__global__ void __launch_bounds__(256) convSmallC(const T* __restrict__ x, const T* __restrict__ wt,
                                                  const T* __restrict__ bias, const T* __restrict__ z,
                                                  T* __restrict__ y, ScGeom g, ActParams act) {
  extern __shared__ float4 scSmem[];
  float* sw = reinterpret_cast<float*>(scSmem);  // [kh*kw*CIN][m]
  const int taps = g.kh * g.kw * CIN;
  float* sb = sw + taps * g.m;  // [m]
  for (int i = threadIdx.x; i < taps * g.m; i += blockDim.x) {
    const int t = i / g.m, m = i - t * g.m;
    sw[i] = toAcc(wt[static_cast<int64_t>(m) * taps + t]);
  }
  for (int i = threadIdx.x; i < g.m; i += blockDim.x) sb[i] = bias ? toAcc(bias[i]) : 0.f;
  __syncthreads();
  const int mgs = g.m / 8;
  const int64_t total = static_cast<int64_t>(g.n) * g.oh * g.ow * mgs;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int mg = static_cast<int>(t % mgs);
    const int64_t pix = t / mgs;
    const int ox = static_cast<int>(pix % g.ow);
    const int64_t r = pix / g.ow;
    const int oy = static_cast<int>(r % g.oh);
    const int64_t n = r / g.oh;
    const int m0 = mg * 8;
    float acc[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = sb[m0 + i];
    const T* xn = x + n * g.h * g.w * CIN;
    for (int ky = 0; ky < g.kh; ++ky) {
      const int iy = oy * g.sh - g.ph + ky * g.dh;
      if (static_cast<unsigned>(iy) >= static_cast<unsigned>(g.h)) continue;
      for (int kx = 0; kx < g.kw; ++kx) {
        const int ix = ox * g.sw - g.pw + kx * g.dw;
        if (static_cast<unsigned>(ix) >= static_cast<unsigned>(g.w)) continue;
        const T* px = xn + (static_cast<int64_t>(iy) * g.w + ix) * CIN;
        const float* wrow = sw + ((ky * g.kw + kx) * CIN) * g.m + m0;
#pragma unroll
        for (int c = 0; c < CIN; ++c) {
          const float v = toAcc(px[c]);
          const float4 w0 = *reinterpret_cast<const float4*>(wrow + c * g.m);
          const float4 w1 = *reinterpret_cast<const float4*>(wrow + c * g.m + 4);
          acc[0] = fmaf(v, w0.x, acc[0]), acc[1] = fmaf(v, w0.y, acc[1]);
          acc[2] = fmaf(v, w0.z, acc[2]), acc[3] = fmaf(v, w0.w, acc[3]);
          acc[4] = fmaf(v, w1.x, acc[4]), acc[5] = fmaf(v, w1.y, acc[5]);
          acc[6] = fmaf(v, w1.z, acc[6]), acc[7] = fmaf(v, w1.w, acc[7]);
        }
      }
    }
    const int64_t off = pix * g.m + m0;
    if (z) {
      float zv[8];
      load8<T>(z + off, zv, g.vec);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] += zv[i];
    }
    actArray<8>(acc, act);
    store8<T>(y + off, acc, g.vec);
  }
}

constexpr int kStemK = 3, kStemC = 3, kStemMaxM = 32;
struct StemParams {
  float w[kStemK * kStemK * kStemC * kStemMaxM];  //!< [ky][kx][c][m]
  float b[kStemMaxM];
};

//! 3x3 window, 3 input channels, M (16 or 32) output channels; weights and bias in the parameters.
template <class T, int M>
__global__ void __launch_bounds__(256) convStem(const T* __restrict__ x, const T* __restrict__ z, T* __restrict__ y,
                                                ScGeom g, ActParams act, const __grid_constant__ StemParams p) {
  const int64_t total = static_cast<int64_t>(g.n) * g.oh * g.ow;
  for (int64_t pix = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; pix < total;
       pix += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int ox = static_cast<int>(pix % g.ow);
    const int64_t r = pix / g.ow;
    const int oy = static_cast<int>(r % g.oh);
    const int64_t n = r / g.oh;
    const T* xn = x + n * g.h * g.w * kStemC;
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; ++m) acc[m] = p.b[m];
#pragma unroll
    for (int ky = 0; ky < kStemK; ++ky) {
      const int iy = oy * g.sh - g.ph + ky * g.dh;
      const bool rowOk = static_cast<unsigned>(iy) < static_cast<unsigned>(g.h);
#pragma unroll
      for (int kx = 0; kx < kStemK; ++kx) {
        const int ix = ox * g.sw - g.pw + kx * g.dw;
        const bool ok = rowOk && static_cast<unsigned>(ix) < static_cast<unsigned>(g.w);
        // branch-free: an outside tap reads the image's first pixel and is zeroed, so all loads are in flight together
        const T* px = xn + (ok ? (static_cast<int64_t>(iy) * g.w + ix) * kStemC : 0);
        float v[kStemC];
#pragma unroll
        for (int c = 0; c < kStemC; ++c) {
          const float t = toAcc(px[c]);
          v[c] = ok ? t : 0.f;
        }
#pragma unroll
        for (int c = 0; c < kStemC; ++c)
#pragma unroll
          for (int m = 0; m < M; ++m) acc[m] = fmaf(v[c], p.w[((ky * kStemK + kx) * kStemC + c) * M + m], acc[m]);
      }
    }
    const int64_t off = pix * M;
    if (z) {
#pragma unroll
      for (int m = 0; m < M; m += 8) {
        float zv[8];
        load8<T>(z + off + m, zv, g.vec);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[m + i] += zv[i];
      }
    }
    actArray<M>(acc, act);
#pragma unroll
    for (int m = 0; m < M; m += 8) store8<T>(y + off + m, *reinterpret_cast<const float(*)[8]>(&acc[m]), g.vec);
  }
}

constexpr std::size_t kMaxSmem = 48 * 1024;
constexpr const char* kWhat = "small-channel convolution";
constexpr const char* kUnsupportedType = "small-channel convolution: unsupported type";

//! ConvNHWC, rank 4, one group, 1..4 input channels, M a multiple of 8, a float type, weights that fit shared memory.
bool supportsSmallC(const ir::Node& n, std::string* why) {
  const ir::Value* x = n.inputs[0];
  const ir::Value* w = n.inputs[1];
  const DataType t = n.outputs[0]->dtype;
  bool ok = x->shape.size() == 4 && w->shape.size() == 4 && n.attrs.getInt("group", 1) == 1 && w->shape[3] >= 1 &&
            w->shape[3] <= 4 && x->shape[3] == w->shape[3] && w->shape[0] > 0 && w->shape[0] % 8 == 0 &&
            w->shape[1] > 0 && w->shape[2] > 0 &&
            static_cast<std::size_t>(w->shape[0]) * (w->shape[1] * w->shape[2] * w->shape[3] + 1) * sizeof(float) <= kMaxSmem &&
            (t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16);
  if (!ok && why) *why = "not a single-group convolution with 1 to 4 input channels and a multiple of 8 output channels";
  return ok;
}

class SmallCKernel final : public Kernel {
 public:
  explicit SmallCKernel(const ir::Node& n) : act_(parseAct(n.attrs)) {
    window_ = ir::nn::parseWindow(n.attrs, {1, 1});
    const ir::Value* w = n.inputs[1];
    const ir::Value* b = n.inputs.size() > 2 ? n.inputs[2] : nullptr;
    if (w->isConstant() && (!b || b->isConstant()) && w->shape == ir::Shape{w->shape[0], kStemK, kStemK, kStemC} &&
        (w->shape[0] == 16 || w->shape[0] == 32)) {
      const int m = static_cast<int>(w->shape[0]);
      stemM_ = m;
      for (int o = 0; o < m; ++o) {
        for (int t = 0; t < kStemK * kStemK * kStemC; ++t)  // KRSC [m][tap][c] -> [tap][c][m]
          stem_.w[t * m + o] = static_cast<float>(w->constant->floatAt(static_cast<int64_t>(o) * kStemK * kStemK * kStemC + t));
        stem_.b[o] = b && b->constant->numel() == m ? static_cast<float>(b->constant->floatAt(o)) : 0.f;
      }
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (!singleGroupShapes(X, W, Y) || Y.dim(0) != X.dim(0) || W.dim(3) < 1 || W.dim(3) > 4 || W.dim(0) % 8 != 0)
      throw Error(ErrorCode::kFAILED_EXECUTION, "small-channel convolution: shapes do not match");
    ScGeom g{};
    g.m = checkedI32(W.dim(0), kWhat);
    setWindowGeometry(g, X, W, Y, window_, kWhat);
    const std::size_t smem = static_cast<std::size_t>(g.m) * (g.kh * g.kw * X.dim(3) + 1) * sizeof(float);
    if (smem > kMaxSmem) throw Error(ErrorCode::kFAILED_EXECUTION, "small-channel convolution: weights too large");
    const void* bias = optionalBias(ctx);
    const void* z = optionalResidual(ctx);
    g.vec = aligned16(Y.data) && (!z || aligned16(z));
    cudaStream_t s = streamOf(ctx);
    static const int sms = deviceInfo().multiprocessors;
    const int64_t total = Y.numel / 8;
    const unsigned blocks = blocksFor(total, 256, static_cast<int64_t>(sms) * 16);
    if (stemM_ && X.dim(3) == kStemC && W.dim(0) == stemM_ && W.dim(1) == kStemK && W.dim(2) == kStemK) {
      const int64_t pixels = Y.numel / stemM_;
      const unsigned pb = blocksFor(pixels, 256);
      auto stem = [&](auto tag) {
        using T = decltype(tag);
        const T* xp = static_cast<const T*>(X.data);
        const T* zp = static_cast<const T*>(z);
        T* yp = static_cast<T*>(Y.data);
        if (stemM_ == 32)
          convStem<T, 32><<<pb, 256, 0, s>>>(xp, zp, yp, g, act_, stem_);
        else
          convStem<T, 16><<<pb, 256, 0, s>>>(xp, zp, yp, g, act_, stem_);
      };
      dispatchConvType<true>(Y.dtype, kUnsupportedType, stem);
      checkLaunch("convStem");
      return;
    }
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      const T *xp = static_cast<const T*>(X.data), *wp = static_cast<const T*>(W.data);
      const T *bp = static_cast<const T*>(bias), *zp = static_cast<const T*>(z);
      T* yp = static_cast<T*>(Y.data);
      switch (X.dim(3)) {
        case 1: convSmallC<T, 1><<<blocks, 256, smem, s>>>(xp, wp, bp, zp, yp, g, act_); break;
        case 2: convSmallC<T, 2><<<blocks, 256, smem, s>>>(xp, wp, bp, zp, yp, g, act_); break;
        case 3: convSmallC<T, 3><<<blocks, 256, smem, s>>>(xp, wp, bp, zp, yp, g, act_); break;
        default: convSmallC<T, 4><<<blocks, 256, smem, s>>>(xp, wp, bp, zp, yp, g, act_); break;
      }
    };
    dispatchConvType<true>(Y.dtype, kUnsupportedType, launch);
    checkLaunch("convSmallC");
  }

 private:
  ActParams act_;
  ir::nn::Window window_;
  int stemM_{0};      //!< 16 or 32: the stem kernel with stem_ (constant 3x3x3 weights); 0: the generic kernel
  StemParams stem_{};
};

}  // namespace

void registerSmallChannelConvKernels(KernelRegistry& reg) {
  reg.add("ConvNHWC", nodeTactic<SmallCKernel>("cuda_conv_smallc", supportsSmallC));
}

}  // namespace kiln::gpu
