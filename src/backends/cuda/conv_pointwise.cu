// Pointwise (1x1, stride 1, unpadded, one group) channels-last convolution in float16 / bfloat16 on the
// tensor cores with the whole epilogue fused: Y[P, N] = act(X[P, K] W[N, K]^T + B + Z) over the P pixels.
//
// cuBLASLt's GEMM (cublaslt_1x1) applies only bias and ReLU in its epilogue; a Clip, SiLU or other
// activation then costs one more pass over the output, which for the wide expansions of mobile networks
// (16 -> 96 channels at 112x112) is most of the time. Here a block of 4 warps computes a 64-pixel x BN-channel
// tile (BN <= 128, a multiple of 16): the X tile and the weight tile go through shared memory in chunks of
// up to 128 input channels (zero padded to a multiple of 16; the weights stay resident when one chunk holds
// all of K; with one chunk of at most 64 channels, the next tile's X is prefetched into registers during
// this tile's math and stores), each warp multiplies its 16 pixels by the BN / 16 weight fragments with
// WMMA (float accumulation), then turns each 16x16 accumulator tile through a per-warp shared buffer into
// 8-channel vectors to add bias and residual, apply the activation and store 16 bytes at a time. Blocks loop
// over pixel tiles.
// Registered as the timed tactic "cuda_pointwise" beside cuBLASLt's and cuDNN's.
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/conv_nhwc.h"
#include "backends/cuda/conv_wmma.cuh"

namespace kiln::gpu {

namespace {

constexpr int kBm = 64;        //!< pixels per block tile
constexpr int kThreads = 128;  //!< 4 warps of 16 pixels (small blocks: finer occupancy steps at ~150 registers)
constexpr int kMaxKc = 128;    //!< input channels per shared-memory chunk

struct PwArgs {
  int32_t p, k, n;   //!< pixels, input channels, output channels
  int32_t kc;        //!< chunk of K (multiple of 16)
  int32_t bn;        //!< output channels per block (multiple of 16)
  int32_t nf;        //!< bn / 16
  int32_t tiles;     //!< pixel tiles
  bool vecIn;        //!< K % 8 == 0 and X, W 16-byte aligned
  bool vecOut;       //!< N % 8 == 0 and Y, Z, B 16-byte aligned
};

//! rows x kc tile of a row-major [rows, K] matrix (row0.., k0..) into smem [rows][ld], zero outside.
template <class T>
__device__ __forceinline__ void loadTile(T* __restrict__ dst, int ld, const T* __restrict__ src, int rows, int rowLimit,
                                         int row0, int k, int k0, int kc, bool vec) {
  const T zero = fromAcc<T>(0.f);
  if (vec) {
    const int vpr = kc / 8;  // kc is a multiple of 16
    for (int i = threadIdx.x; i < rows * vpr; i += kThreads) {
      const int r = i / vpr, kv = (i - r * vpr) * 8;
      const int gr = row0 + r, gk = k0 + kv;
      uint4 q = make_uint4(0, 0, 0, 0);
      if (gr < rowLimit && gk < k) q = *reinterpret_cast<const uint4*>(src + static_cast<int64_t>(gr) * k + gk);
      *reinterpret_cast<uint4*>(dst + r * ld + kv) = q;  // K % 8 == 0: a vector is all in or all out
    }
  } else {
    for (int i = threadIdx.x; i < rows * kc; i += kThreads) {
      const int r = i / kc, kk = i - r * kc;
      const int gr = row0 + r, gk = k0 + kk;
      dst[r * ld + kk] = gr < rowLimit && gk < k ? src[static_cast<int64_t>(gr) * k + gk] : zero;
    }
  }
}

constexpr int kPrefetch = 4;  //!< 16-byte vectors per thread of a prefetched X tile (kc <= 64)

//! The next X tile (one chunk of kc <= 64 channels, K % 8 == 0) into registers, branch-free.
template <class T>
__device__ __forceinline__ void fetchTile(uint4 (&pre)[kPrefetch], const T* __restrict__ x, int p0, int p, int k, int kc) {
  const int vpr = kc / 8, per = kc / 16;  // kBm rows x vpr vectors over kThreads = 2 kBm threads
#pragma unroll
  for (int q = 0; q < kPrefetch; ++q) {
    if (q < per) {
      const int i = threadIdx.x + q * kThreads;
      const int r = i / vpr, kv = (i - r * vpr) * 8;
      const bool ok = p0 + r < p && kv < k;
      pre[q] = ldg16OrZero(x + (ok ? static_cast<int64_t>(p0 + r) * k + kv : 0), ok);
    }
  }
}

template <class T>
__device__ __forceinline__ void storeTile(const uint4 (&pre)[kPrefetch], T* __restrict__ sA, int ld, int kc) {
  const int vpr = kc / 8, per = kc / 16;
#pragma unroll
  for (int q = 0; q < kPrefetch; ++q) {
    if (q < per) {
      const int i = threadIdx.x + q * kThreads;
      const int r = i / vpr, kv = (i - r * vpr) * 8;
      *reinterpret_cast<uint4*>(sA + r * ld + kv) = pre[q];
    }
  }
}

template <class T, int NF>
__global__ void __launch_bounds__(kThreads, 1) pointwiseMma(const T* __restrict__ x, const T* __restrict__ w,
                                                         const T* __restrict__ bias, const T* __restrict__ z,
                                                         T* __restrict__ y, PwArgs a, ActParams act) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  extern __shared__ __align__(128) float4 pwSmem[];
  const int ld = a.kc + 8;
  T* sA = reinterpret_cast<T*>(pwSmem);                     // [kBm][ld]
  T* sB = sA + kBm * ld;                                     // [bn][ld]
  float* sBias = reinterpret_cast<float*>(sB + a.bn * ld);   // [bn]
  float* sC = sBias + 128;                                   // [kThreads / 32 warps][16][kStageLd]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* cw = sC + warp * 16 * kStageLd;
  const int n0 = blockIdx.y * a.bn;
  for (int i = threadIdx.x; i < a.bn; i += kThreads)
    sBias[i] = bias && n0 + i < a.n ? toAcc(bias[n0 + i]) : 0.f;
  const bool oneChunk = a.kc >= a.k;
  if (oneChunk) loadTile<T>(sB, ld, w, a.bn, a.n, n0, a.k, 0, a.kc, a.vecIn);
  // one vectorized chunk of at most 64 channels: the next tile's X is loaded into registers while this
  // tile is multiplied and stored
  const bool prefetch = oneChunk && a.vecIn && a.kc <= 16 * kPrefetch;
  uint4 pre[kPrefetch];
  if (prefetch) fetchTile<T>(pre, x, blockIdx.x * kBm, a.p, a.k, a.kc);
  for (int tile = blockIdx.x; tile < a.tiles; tile += gridDim.x) {
    const int p0 = tile * kBm;
    WmmaAcc acc[NF];
#pragma unroll
    for (int f = 0; f < NF; ++f) wmma::fill_fragment(acc[f], 0.f);
    for (int k0 = 0; k0 < a.k; k0 += a.kc) {
      __syncthreads();  // the previous chunk / tile is consumed
      if (prefetch) {
        storeTile<T>(pre, sA, ld, a.kc);
      } else {
        loadTile<T>(sA, ld, x, kBm, a.p, p0, a.k, k0, a.kc, a.vecIn);
        if (!oneChunk) loadTile<T>(sB, ld, w, a.bn, a.n, n0, a.k, k0, a.kc, a.vecIn);
      }
      __syncthreads();
      if (prefetch && tile + static_cast<int>(gridDim.x) < a.tiles)
        fetchTile<T>(pre, x, (tile + gridDim.x) * kBm, a.p, a.k, a.kc);
      wmmaStrip<T, NF>(acc, sA + warp * 16 * ld, sB, ld, a.kc, a.nf);
    }
    wmmaEpilogue<T, NF>(acc, a.nf, cw, lane, p0 + warp * 16, a.p, n0, a.n, sBias, z, y, a.vecOut, act);
  }
#endif
}

std::size_t smemBytes(int kc, int bn, std::size_t elem) {
  return (static_cast<std::size_t>(kBm) + bn) * (kc + 8) * elem + 128 * sizeof(float) + stageBytes(kThreads / 32);
}

template <class T, int NF>
void launchPw(const T* x, const T* w, const T* b, const T* z, T* y, const PwArgs& a, const ActParams& act, cudaStream_t s) {
  const std::size_t smem = smemBytes(a.kc, a.bn, sizeof(T));
  static const bool configured = [] {
    KILN_CUDA_CHECK(cudaFuncSetAttribute(pointwiseMma<T, NF>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smemBytes(kMaxKc, 128, sizeof(T)))));
    return true;
  }();
  (void)configured;
  static const int sms = deviceInfo().multiprocessors;
  const int ny = (a.n + a.bn - 1) / a.bn;
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(sms) * 16 / ny);
  const unsigned gx = static_cast<unsigned>(std::min<int64_t>(a.tiles, cap));
  pointwiseMma<T, NF><<<dim3(gx, static_cast<unsigned>(ny)), kThreads, smem, s>>>(x, w, b, z, y, a, act);
}

//! float16 / bfloat16 ConvNHWC with a 1x1 kernel, stride 1, no padding, one group (as cublaslt_1x1), on sm_80+.
bool supportsPointwise(const ir::Node& n, std::string* why) {
  const DataType t = n.outputs[0]->dtype;
  const bool ok = (t == DataType::kHALF || t == DataType::kBF16) && isPlainPointwiseConv(n);
  return wmmaSupports(ok, "not a float16/bfloat16 1x1, stride-1, unpadded, single-group convolution",
                      "the pointwise tensor-core kernel", why);
}

class PointwiseKernel final : public Kernel {
 public:
  explicit PointwiseKernel(const ir::Node& n) : act_(parseAct(n.attrs)) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (!singleGroupShapes(X, W, Y) || X.numel / std::max<int64_t>(1, X.dim(3)) != Y.numel / Y.dim(3))
      throw Error(ErrorCode::kFAILED_EXECUTION, "pointwise convolution: shapes do not match");
    if (X.dim(3) == 0) throw Error(ErrorCode::kFAILED_EXECUTION, "pointwise convolution without input channels");
    const int64_t P = Y.numel / Y.dim(3);
    if (P > INT32_MAX - kBm || X.numel > INT64_MAX / 2 || W.dim(0) > INT32_MAX || X.dim(3) > INT32_MAX)
      throw Error(ErrorCode::kFAILED_EXECUTION, "pointwise convolution: extent out of range");
    const void* bias = optionalBias(ctx);
    const void* z = optionalResidual(ctx);
    PwArgs a{};
    a.p = static_cast<int32_t>(P);
    a.k = static_cast<int32_t>(X.dim(3));
    a.n = static_cast<int32_t>(W.dim(0));
    const int kp = (a.k + 15) / 16 * 16;
    const int kchunks = (kp + kMaxKc - 1) / kMaxKc;
    a.kc = ((kp + kchunks - 1) / kchunks + 15) / 16 * 16;
    const int np = (a.n + 15) / 16 * 16;
    const int ny = (np + 127) / 128;
    a.bn = ((np + ny - 1) / ny + 15) / 16 * 16;
    a.nf = a.bn / 16;
    a.tiles = static_cast<int32_t>((P + kBm - 1) / kBm);
    a.vecIn = a.k % 8 == 0 && aligned16(X.data) && aligned16(W.data);
    a.vecOut = a.n % 8 == 0 && aligned16(Y.data) && (!z || aligned16(z));
    cudaStream_t s = streamOf(ctx);
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      const T *xp = static_cast<const T*>(X.data), *wp = static_cast<const T*>(W.data);
      const T *bp = static_cast<const T*>(bias), *zp = static_cast<const T*>(z);
      T* yp = static_cast<T*>(Y.data);
      if (a.nf <= 2) launchPw<T, 2>(xp, wp, bp, zp, yp, a, act_, s);
      else if (a.nf <= 4) launchPw<T, 4>(xp, wp, bp, zp, yp, a, act_, s);
      else if (a.nf <= 6) launchPw<T, 6>(xp, wp, bp, zp, yp, a, act_, s);
      else launchPw<T, 8>(xp, wp, bp, zp, yp, a, act_, s);
    };
    dispatchConvType<false>(Y.dtype, "pointwise convolution: float16 or bfloat16 only", launch);
    checkLaunch("pointwiseMma");
  }

 private:
  ActParams act_;
};

}  // namespace

void registerSmallChannelConvKernels(KernelRegistry& reg);  // conv_smallc.cu
void registerStemTcKernels(KernelRegistry& reg);            // conv_stem_tc.cu

//! Also registers the few-input-channel convolutions (conv_smallc.cu, conv_stem_tc.cu), more timed ConvNHWC tactics.
void registerPointwiseKernels(KernelRegistry& reg) {
  registerSmallChannelConvKernels(reg);
  registerStemTcKernels(reg);
  reg.add("ConvNHWC", nodeTactic<PointwiseKernel>("cuda_pointwise", supportsPointwise));
}

}  // namespace kiln::gpu
