// Few-input-channel channels-last convolution (ConvNHWC, one group, C <= 4: the RGB stems) as an implicit
// GEMM on the tensor cores, float16 / bfloat16: Y[P, M] = act(im2col(X)[P, K] W[M, K]^T + B + Z) with
// K = kH kW C <= 64 (zero padded to a multiple of 16) and M <= 64 output channels (a multiple of 8).
//
// A block of 4 warps computes 64 output pixels x all M channels: two threads per pixel gather its K
// im2col values (a per-block table maps k to the tap's offset, row and column displacement and channel;
// taps outside the image are zeros) into shared memory as 16-byte stores; the weights stay in shared
// memory; each warp multiplies its 16 pixels with WMMA (float accumulation) and stores through a per-warp
// float tile with bias, residual and activation fused, 16 bytes at a time. Blocks loop over pixel tiles.
// The timed tactic "cuda_conv_smallc_tc", beside cuda_conv_smallc (CUDA cores) and cuDNN's.
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/conv_nhwc.h"
#include "backends/cuda/conv_wmma.cuh"

namespace kiln::gpu {

namespace {

constexpr int kTm = 64;       //!< pixels per tile (4 warps x 16)
constexpr int kTt = 128;      //!< threads per block
constexpr int kMaxK = 64;     //!< kH kW C, padded
constexpr int kMaxM = 64;     //!< output channels
constexpr const char* kWhat = "small-channel convolution";

struct StArgs {
  int32_t n, h, w, c, m, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  int32_t k, kp, nf, p, tiles;
  bool vecOut;  //!< Y and Z 16-byte aligned
};

std::size_t stSmemBytes(int kp, int nf, std::size_t elem) {
  return (static_cast<std::size_t>(kTm) + 16 * nf) * (kp + 8) * elem + kMaxM * sizeof(float) + kMaxK * sizeof(int4) +
         stageBytes(kTt / 32);
}

template <class T, int NF>
__global__ void __launch_bounds__(kTt) stemTc(const T* __restrict__ x, const T* __restrict__ wt,
                                              const T* __restrict__ bias, const T* __restrict__ z, T* __restrict__ y,
                                              StArgs a, ActParams act) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  extern __shared__ __align__(128) float4 stSmem[];
  const int ld = a.kp + 8;
  T* sA = reinterpret_cast<T*>(stSmem);                        // [kTm][ld] im2col tile
  T* sB = sA + kTm * ld;                                        // [16 nf][ld] weights
  float* sBias = reinterpret_cast<float*>(sB + 16 * a.nf * ld);  // [kMaxM]
  int4* sTab = reinterpret_cast<int4*>(sBias + kMaxM);          // [kMaxK] {offset, dy, dx, valid}
  float* sC = reinterpret_cast<float*>(sTab + kMaxK);           // [4 warps][16][kStageLd]
  const T zero = fromAcc<T>(0.f);
  for (int i = threadIdx.x; i < 16 * a.nf * a.kp; i += kTt) {
    const int r = i / a.kp, k = i - r * a.kp;
    sB[r * ld + k] = r < a.m && k < a.k ? wt[static_cast<int64_t>(r) * a.k + k] : zero;
  }
  for (int i = threadIdx.x; i < kMaxM; i += kTt) sBias[i] = bias && i < a.m ? toAcc(bias[i]) : 0.f;
  for (int k = threadIdx.x; k < a.kp; k += kTt) {
    if (k < a.k) {
      const int c = k % a.c, tap = k / a.c;
      const int dy = (tap / a.kw) * a.dh, dx = (tap % a.kw) * a.dw;
      sTab[k] = make_int4((dy * a.w + dx) * a.c + c, dy, dx, 1);
    } else {
      sTab[k] = make_int4(0, 0, 0, 0);
    }
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* cw = sC + warp * 16 * kStageLd;
  const int row = threadIdx.x / 2, kHalf = a.kp / 2, kBeg = (threadIdx.x % 2) * kHalf;
  for (int tile = blockIdx.x; tile < a.tiles; tile += gridDim.x) {
    const int p0 = tile * kTm;
    __syncthreads();  // tables ready / the previous tile's sA consumed
    {
      const int pix = p0 + row;
      const bool pixOk = pix < a.p;
      const int q = pixOk ? pix : 0;
      const int ox = q % a.ow, t = q / a.ow;
      const int oy = t % a.oh, n = t / a.oh;
      const int iy0 = oy * a.sh - a.ph, ix0 = ox * a.sw - a.pw;
      const int64_t base = (static_cast<int64_t>(n) * a.h * a.w + static_cast<int64_t>(iy0) * a.w + ix0) * a.c;
      for (int g = 0; g < kHalf; g += 8) {
        typename RawVec<T, 8>::type packed;
        T* pv = reinterpret_cast<T*>(&packed);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const int4 tb = sTab[kBeg + g + e];
          const int iy = iy0 + tb.y, ix = ix0 + tb.z;
          const bool ok = pixOk && tb.w && static_cast<unsigned>(iy) < static_cast<unsigned>(a.h) &&
                          static_cast<unsigned>(ix) < static_cast<unsigned>(a.w);
          const T v = x[ok ? base + tb.x : 0];
          pv[e] = ok ? v : zero;
        }
        *reinterpret_cast<uint4*>(sA + row * ld + kBeg + g) = packed;
      }
    }
    __syncthreads();
    WmmaAcc acc[NF];
#pragma unroll
    for (int f = 0; f < NF; ++f) wmma::fill_fragment(acc[f], 0.f);
    wmmaStrip<T, NF>(acc, sA + warp * 16 * ld, sB, ld, a.kp, a.nf);
    wmmaEpilogue<T, NF, /*Whole8=*/true>(acc, a.nf, cw, lane, p0 + warp * 16, a.p, 0, a.m, sBias, z, y, a.vecOut, act);
  }
#endif
}

//! float16 / bfloat16 ConvNHWC, one group, C <= 4, kH kW C <= 64, M <= 64 and a multiple of 8, sm_80+.
bool supportsStemTc(const ir::Node& n, std::string* why) {
  const ir::Value* x = n.inputs[0];
  const ir::Value* w = n.inputs[1];
  const DataType t = n.outputs[0]->dtype;
  bool ok = (t == DataType::kHALF || t == DataType::kBF16) && x->shape.size() == 4 && w->shape.size() == 4 &&
            n.attrs.getInt("group", 1) == 1 && w->shape[3] >= 1 && w->shape[3] <= 4 && x->shape[3] == w->shape[3] &&
            w->shape[0] > 0 && w->shape[0] <= kMaxM && w->shape[0] % 8 == 0 && w->shape[1] > 0 && w->shape[2] > 0 &&
            w->shape[1] * w->shape[2] * w->shape[3] <= kMaxK;
  return wmmaSupports(
      ok, "not a float16/bfloat16 single-group convolution with C <= 4, kH kW C <= 64, M <= 64 a multiple of 8",
      "the tensor-core stem kernel", why);
}

class StemTcKernel final : public Kernel {
 public:
  explicit StemTcKernel(const ir::Node& n) : act_(parseAct(n.attrs)) { window_ = ir::nn::parseWindow(n.attrs, {1, 1}); }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (!singleGroupShapes(X, W, Y) || Y.dim(0) != X.dim(0) || W.dim(3) < 1 || W.dim(3) > 4 || W.dim(0) % 8 != 0 ||
        W.dim(0) > kMaxM || W.dim(1) * W.dim(2) * W.dim(3) > kMaxK)
      throw Error(ErrorCode::kFAILED_EXECUTION, "small-channel convolution: shapes do not match");
    StArgs a{};
    a.c = checkedI32(X.dim(3), kWhat), a.m = checkedI32(W.dim(0), kWhat);
    setWindowGeometry(a, X, W, Y, window_, kWhat);
    (void)checkedI32(X.numel, kWhat);
    const int64_t P = Y.numel / a.m;
    if (P > INT32_MAX - kTm) throw Error(ErrorCode::kFAILED_EXECUTION, "small-channel convolution: too many pixels");
    a.p = static_cast<int32_t>(P);
    a.k = a.kh * a.kw * a.c;
    a.kp = (a.k + 15) / 16 * 16;
    a.nf = (a.m + 15) / 16;
    a.tiles = (a.p + kTm - 1) / kTm;
    const void* bias = optionalBias(ctx);
    const void* z = optionalResidual(ctx);
    a.vecOut = aligned16(Y.data) && (!z || aligned16(z));
    cudaStream_t s = streamOf(ctx);
    static const int sms = deviceInfo().multiprocessors;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(a.tiles, static_cast<int64_t>(sms) * 16));
    const std::size_t smem = stSmemBytes(a.kp, a.nf, 2);
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      const T *xp = static_cast<const T*>(X.data), *wp = static_cast<const T*>(W.data);
      const T *bp = static_cast<const T*>(bias), *zp = static_cast<const T*>(z);
      T* yp = static_cast<T*>(Y.data);
      if (a.nf <= 2)
        stemTc<T, 2><<<blocks, kTt, smem, s>>>(xp, wp, bp, zp, yp, a, act_);
      else
        stemTc<T, 4><<<blocks, kTt, smem, s>>>(xp, wp, bp, zp, yp, a, act_);
    };
    dispatchConvType<false>(Y.dtype, "small-channel convolution: float16 or bfloat16 only", launch);
    checkLaunch("stemTc");
  }

 private:
  ActParams act_;
  ir::nn::Window window_;
};

}  // namespace

void registerStemTcKernels(KernelRegistry& reg) {
  reg.add("ConvNHWC", nodeTactic<StemTcKernel>("cuda_conv_smallc_tc", supportsStemTc));
}

}  // namespace kiln::gpu
