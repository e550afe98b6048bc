// GPU kernels: FusedAttention (ir/ops/fused_transformer.cpp), softmax(scale * Q K^T + mask) V per batch and
// head, reading Q, K, V and writing Y in [B,S,H,D] or [B,H,S,D] layout through strides.
//  - float16 / bfloat16 with head size D = Dv <= 128, D % 8 == 0 and 16-byte aligned rows: tensor cores
//    (WMMA 16x16x16, float accumulation) with an online softmax over key tiles of 64 (flash-attention
//    style): a warp owns 16 query rows (their fragments stay in registers), the block's warps share the
//    key/value tiles, double-buffered in shared memory and loaded with cp.async; the scores and the P.V
//    partial products go through a per-warp float tile in shared memory, two lanes per query row keep the
//    running max, sum and output row in registers.
//  - everything else (float32, float64, other head sizes): a block per query row, the row's scores in shared
//    memory, float (double) math.
// Q, K and V may also come packed side by side in the rows of one [B, S, 3*H*D] tensor (qkv_heads = H).
// A row whose scores are all -inf gives zeros (masked_rows_zero = 1) or NaN; no keys at all gives zeros.
#include <mma.h>

#include <cmath>
#include <mutex>

#include "backends/cuda/fused_transformer.h"
#include "ir/ops/fused_transformer.h"
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu {
namespace {

struct AttnArgs {
  const void* q;
  const void* k;
  const void* v;
  const void* mask;
  void* y;
  int64_t qsb, qsh, qss;  // element strides of batch, head, sequence (the head dim is contiguous)
  int64_t ksb, ksh, kss;
  int64_t vsb, vsh, vss;
  int64_t ysb, ysh, yss;
  int64_t mb, mh, mi, mj;  // mask strides over [B, H, Sq, Sk] (0: broadcast)
  int B, H, Sq, Sk, D, Dv;
  float scale;
  int zeroRows;
};

// ---- tensor-core path -----------------------------------------------------------------------------------

constexpr int kKT = 64;  // keys per tile

template <int DP, int WARPS>
struct TcLayout {
  static constexpr int LDH = DP + 8;                        // Q, K, V rows (elements)
  static constexpr int LDP = kKT + 8;                       // P rows (elements)
  static constexpr int LDF = (kKT > DP ? kKT : DP) + 4;     // float scratch rows
  // Q, two K and two V tiles (double buffered), P and the float scratch per warp
  static constexpr size_t bytes = (size_t(WARPS) * 16 * LDH + 4 * size_t(kKT) * LDH + size_t(WARPS) * 16 * LDP) * 2 +
                                  size_t(WARPS) * 16 * LDF * 4;
};

//! Starts copying `rows` rows of D elements (16-byte pieces, cp.async) into a shared tile of DP columns;
//! the padding columns and the rows past `valid` are zero-filled.
template <class T, int DP, int NT>
__device__ __forceinline__ void loadTileAsync(T* dst, int ld, const T* src, int64_t stride, int rows, int valid, int D) {
  constexpr int VPR = DP / 8;
  for (int idx = threadIdx.x; idx < rows * VPR; idx += NT) {
    const int r = idx / VPR, c = (idx % VPR) * 8;
    const bool ok = r < valid && c < D;
    const T* g = ok ? src + static_cast<int64_t>(r) * stride + c : src;
    const unsigned sa = static_cast<unsigned>(__cvta_generic_to_shared(dst + r * ld + c));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sa), "l"(g), "r"(ok ? 16 : 0) : "memory");
  }
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

template <class T, int DP, int WARPS>
__global__ void __launch_bounds__(WARPS * 32) attnTcKernel(AttnArgs a) {
  using namespace nvcuda;
  using L = TcLayout<DP, WARPS>;
  constexpr int LDH = L::LDH, LDP = L::LDP, LDF = L::LDF, NT = WARPS * 32;
  extern __shared__ __align__(128) unsigned char smem[];
  T* Qs = reinterpret_cast<T*>(smem);
  T* Ks = Qs + WARPS * 16 * LDH;  // [2][kKT][LDH]
  T* Vs = Ks + 2 * kKT * LDH;     // [2][kKT][LDH]
  T* Ph = Vs + 2 * kKT * LDH;
  float* Sf = reinterpret_cast<float*>(Ph + WARPS * 16 * LDP);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * WARPS * 16;
  const T* Q = static_cast<const T*>(a.q) + b * a.qsb + h * a.qsh;
  const T* K = static_cast<const T*>(a.k) + b * a.ksb + h * a.ksh;
  const T* V = static_cast<const T*>(a.v) + b * a.vsb + h * a.vsh;
  const T* M = a.mask ? static_cast<const T*>(a.mask) + b * a.mb + h * a.mh : nullptr;
  T* Y = static_cast<T*>(a.y) + b * a.ysb + h * a.ysh;
  const int tiles = (a.Sk + kKT - 1) / kKT;

  // group 0: Q and the first key/value tile
  loadTileAsync<T, DP, NT>(Qs, LDH, Q + static_cast<int64_t>(q0) * a.qss, a.qss, WARPS * 16, a.Sq - q0, a.D);
  if (tiles > 0) {
    const int valid = a.Sk < kKT ? a.Sk : kKT;
    loadTileAsync<T, DP, NT>(Ks, LDH, K, a.kss, kKT, valid, a.D);
    loadTileAsync<T, DP, NT>(Vs, LDH, V, a.vss, kKT, valid, a.D);
  }

  const int r = lane >> 1, half = lane & 1;
  const int qi = q0 + warp * 16 + r;
  float* S = Sf + warp * 16 * LDF;
  T* P = Ph + warp * 16 * LDP;
  const T* Mrow = M && qi < a.Sq ? M + static_cast<int64_t>(qi) * a.mi : nullptr;
  float o[DP / 2];
#pragma unroll
  for (int t = 0; t < DP / 2; ++t) o[t] = 0.f;
  float m = -INFINITY, l = 0.f;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qf[DP / 16];

  for (int t = 0; t < tiles; ++t) {
    const int k0 = t * kKT;
    const T* Kt = Ks + (t & 1) * kKT * LDH;
    const T* Vt = Vs + (t & 1) * kKT * LDH;
    if (t + 1 < tiles) {  // prefetch the next tiles into the other buffers (freed by the barrier ending t - 1)
      const int n0 = k0 + kKT, valid = a.Sk - n0 < kKT ? a.Sk - n0 : kKT;
      loadTileAsync<T, DP, NT>(Ks + ((t + 1) & 1) * kKT * LDH, LDH, K + static_cast<int64_t>(n0) * a.kss, a.kss, kKT, valid, a.D);
      loadTileAsync<T, DP, NT>(Vs + ((t + 1) & 1) * kKT * LDH, LDH, V + static_cast<int64_t>(n0) * a.vss, a.vss, kKT, valid, a.D);
      cpAsyncWait<2>();  // everything but the two groups just issued
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < DP / 16; ++kk) wmma::load_matrix_sync(qf[kk], Qs + warp * 16 * LDH + kk * 16, LDH);
    }
    // S = Q K^T (16 x 64) for this warp's rows
#pragma unroll
    for (int n = 0; n < kKT / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < DP / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
        wmma::load_matrix_sync(fb, Kt + n * 16 * LDH + kk * 16, LDH);
        wmma::mma_sync(acc, qf[kk], fb, acc);
      }
      wmma::store_matrix_sync(S + n * 16, acc, LDF, wmma::mem_row_major);
    }
    __syncwarp();
    // online softmax: lane (r, half) takes the column pairs 4c + 2*half (+1) of row r (float2 reads, one
    // 32-bit store of two probabilities)
    constexpr int C = kKT / 4;
    float sv[2 * C];
    float mx = -INFINITY;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const int col = 4 * c + 2 * half, j = k0 + col;
      const float2 sc = *reinterpret_cast<const float2*>(S + r * LDF + col);
      float s0 = j < a.Sk ? sc.x * a.scale : -INFINITY;
      float s1 = j + 1 < a.Sk ? sc.y * a.scale : -INFINITY;
      if (Mrow) {
        if (j < a.Sk) s0 += toAcc(Mrow[static_cast<int64_t>(j) * a.mj]);
        if (j + 1 < a.Sk) s1 += toAcc(Mrow[static_cast<int64_t>(j + 1) * a.mj]);
      }
      sv[2 * c] = s0;
      sv[2 * c + 1] = s1;
      mx = fmaxf(mx, fmaxf(s0, s1));
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const float mnew = fmaxf(m, mx);
    float alpha = 1.f, psum = 0.f;
    const float mref = mnew == -INFINITY ? 0.f : mnew;  // all -inf so far: every p is 0
    alpha = __expf(m - mref);                             // m = -inf: 0 (and unused: o and l are 0)
#pragma unroll
    for (int c = 0; c < C; ++c) {
      T pr[2];
      const float p0 = __expf(sv[2 * c] - mref), p1 = __expf(sv[2 * c + 1] - mref);
      psum += p0 + p1;
      pr[0] = fromAcc<T>(p0);
      pr[1] = fromAcc<T>(p1);
      uint32_t packed;
      memcpy(&packed, pr, 4);
      *reinterpret_cast<uint32_t*>(P + r * LDP + 4 * c + 2 * half) = packed;
    }
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    l = l * alpha + psum;
    m = mnew;
    __syncwarp();
    // S = P V (16 x DP)
#pragma unroll
    for (int n = 0; n < DP / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < kKT / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, P + kk * 16, LDP);
        wmma::load_matrix_sync(fb, Vt + kk * 16 * LDH + n * 16, LDH);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(S + n * 16, acc, LDF, wmma::mem_row_major);
    }
    __syncwarp();
    const float4* srow = reinterpret_cast<const float4*>(S + r * LDF + half * (DP / 2));
#pragma unroll
    for (int t4 = 0; t4 < DP / 8; ++t4) {
      const float4 pv = srow[t4];
      o[4 * t4] = o[4 * t4] * alpha + pv.x;
      o[4 * t4 + 1] = o[4 * t4 + 1] * alpha + pv.y;
      o[4 * t4 + 2] = o[4 * t4 + 2] * alpha + pv.z;
      o[4 * t4 + 3] = o[4 * t4 + 3] * alpha + pv.w;
    }
    __syncthreads();  // every warp is done with this K/V buffer (and S) before it is refilled
  }
  cpAsyncWait<0>();  // no tiles: Q's group
  if (qi >= a.Sq) return;
  const float dead = a.zeroRows || a.Sk == 0 ? 0.f : NAN;
  const float invl = l > 0.f ? 1.f / l : 0.f;
  T* yr = Y + static_cast<int64_t>(qi) * a.yss;
#pragma unroll
  for (int t0 = 0; t0 < DP / 2; t0 += 8) {
    const int d = half * (DP / 2) + t0;
    if (d < a.Dv) {
      T out[8];
#pragma unroll
      for (int t = 0; t < 8; ++t) out[t] = fromAcc<T>(l > 0.f ? o[t0 + t] * invl : dead);
      uint4 raw;
      memcpy(&raw, out, 16);
      *reinterpret_cast<uint4*>(yr + d) = raw;
    }
  }
}

template <class T, int DP, int WARPS>
void launchTc(const AttnArgs& a, cudaStream_t st) {
  using L = TcLayout<DP, WARPS>;
  static std::once_flag once;
  std::call_once(once, [] {
    KILN_CUDA_CHECK(cudaFuncSetAttribute(attnTcKernel<T, DP, WARPS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(L::bytes)));
  });
  dim3 grid(static_cast<unsigned>((a.Sq + WARPS * 16 - 1) / (WARPS * 16)), static_cast<unsigned>(a.H),
            static_cast<unsigned>(a.B));
  attnTcKernel<T, DP, WARPS><<<grid, WARPS * 32, L::bytes, st>>>(a);
  checkLaunch("fusedAttentionTc");
}

template <class T, int DP>
void launchTcWarps(const AttnArgs& a, cudaStream_t st) {
  const int64_t sms = nn::smCount();
  const int64_t bh = static_cast<int64_t>(a.B) * a.H;
  if (bh * ((a.Sq + 63) / 64) >= 2 * sms) launchTc<T, DP, 4>(a, st);
  else if (bh * ((a.Sq + 31) / 32) >= sms) launchTc<T, DP, 2>(a, st);
  else launchTc<T, DP, 1>(a, st);
}

// ---- general path ---------------------------------------------------------------------------------------

template <class T>
__global__ void attnRowKernel(AttnArgs a) {
  using A = typename Acc<T>::type;
  extern __shared__ __align__(16) unsigned char smem[];
  A* p = reinterpret_cast<A*>(smem);
  const int64_t rows = static_cast<int64_t>(a.B) * a.H * a.Sq;
  auto maxOp = [](A x, A y) { return x > y ? x : y; };
  auto addOp = [](A x, A y) { return x + y; };
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int i = static_cast<int>(row % a.Sq);
    const int64_t bh = row / a.Sq;
    const int h = static_cast<int>(bh % a.H), b = static_cast<int>(bh / a.H);
    const T* q = static_cast<const T*>(a.q) + b * a.qsb + h * a.qsh + i * a.qss;
    const T* K = static_cast<const T*>(a.k) + b * a.ksb + h * a.ksh;
    const T* V = static_cast<const T*>(a.v) + b * a.vsb + h * a.vsh;
    const T* M = a.mask ? static_cast<const T*>(a.mask) + b * a.mb + h * a.mh + i * a.mi : nullptr;
    A mx = -INFINITY;
    for (int j = threadIdx.x; j < a.Sk; j += blockDim.x) {
      const T* kr = K + j * a.kss;
      A s = 0;
      for (int d = 0; d < a.D; ++d) s += toAcc(q[d]) * toAcc(kr[d]);
      s *= static_cast<A>(a.scale);
      if (M) s += toAcc(M[j * a.mj]);
      p[j] = s;
      mx = maxOp(mx, s);
    }
    mx = nn::blockAll(mx, maxOp);
    A sum = 0;
    for (int j = threadIdx.x; j < a.Sk; j += blockDim.x) {
      const A e = mx == -INFINITY ? A(0) : exp(p[j] - mx);
      p[j] = e;
      sum += e;
    }
    sum = nn::blockAll(sum, addOp);  // also makes p visible to every thread
    T* yr = static_cast<T*>(a.y) + b * a.ysb + h * a.ysh + i * a.yss;
    const A dead = a.zeroRows || a.Sk == 0 ? A(0) : A(NAN);
    for (int d = threadIdx.x; d < a.Dv; d += blockDim.x) {
      A acc = 0;
      for (int j = 0; j < a.Sk; ++j) acc += p[j] * toAcc(V[j * a.vss + d]);
      yr[d] = fromAcc<T>(sum > A(0) ? acc / sum : dead);
    }
    __syncthreads();  // p is rewritten by the next row
  }
}

template <class T>
void launchRows(const AttnArgs& a, cudaStream_t st) {
  using A = typename Acc<T>::type;
  const size_t bytes = std::max<size_t>(static_cast<size_t>(a.Sk) * sizeof(A), 16);
  if (bytes > 48 * 1024) {
    if (bytes > 160 * 1024) nn::badData("FusedAttention: sequence too long for the general GPU kernel");
    KILN_CUDA_CHECK(cudaFuncSetAttribute(attnRowKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(bytes)));
  }
  const int64_t rows = static_cast<int64_t>(a.B) * a.H * a.Sq;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(rows, 65535LL * 16));
  attnRowKernel<T><<<blocks, 128, bytes, st>>>(a);
  checkLaunch("fusedAttentionRows");
}

// ---- kernel ---------------------------------------------------------------------------------------------

class FusedAttentionKernel final : public Kernel {
 public:
  explicit FusedAttentionKernel(const ir::Node& node) : a_(ir::fusedAttentionAttrs(node)) {
    if (!nn::isFloatT(node.inputs[0]->dtype)) nn::unsupported(node, "data type is not supported");
    if (a_.layouts.size() != 4) nn::unsupported(node, "layouts must have 4 values");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& q = ctx.inputs[0];
    const TensorView* mask = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    struct Dims {
      int64_t b, h, s, d, sb, sh, ss;
    };
    auto dimsOf = [](const TensorView& t, int64_t l) {
      const int64_t d1 = t.dim(1), d2 = t.dim(2), d3 = t.dim(3);
      if (l == 0) return Dims{t.dim(0), d2, d1, d3, d1 * d2 * d3, d3, d2 * d3};
      return Dims{t.dim(0), d1, d2, d3, d1 * d2 * d3, d2 * d3, d3};
    };
    if (y.rank() != 4) nn::badData("FusedAttention: Y must be rank 4");
    Dims Q{}, K{}, V{};
    const void *kp = nullptr, *vp = nullptr;
    if (a_.qkvHeads > 0) {  // [B, S, 3*H*D]: Q, K, V side by side in each row
      if (q.rank() != 3 || q.dim(2) % (3 * a_.qkvHeads)) nn::badData("FusedAttention: bad packed QKV shape");
      const int64_t D = q.dim(2) / (3 * a_.qkvHeads);
      Q = K = V = Dims{q.dim(0), a_.qkvHeads, q.dim(1), D, q.dim(1) * q.dim(2), D, q.dim(2)};
      kp = static_cast<const char*>(q.data) + a_.qkvHeads * D * static_cast<int64_t>(dataTypeSize(q.dtype));
      vp = static_cast<const char*>(q.data) + 2 * a_.qkvHeads * D * static_cast<int64_t>(dataTypeSize(q.dtype));
    } else {
      const TensorView &k = ctx.inputs[1], &v = ctx.inputs[2];
      if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) nn::badData("FusedAttention: operands must be rank 4");
      Q = dimsOf(q, a_.layouts[0]), K = dimsOf(k, a_.layouts[1]), V = dimsOf(v, a_.layouts[2]);
      kp = k.data;
      vp = v.data;
    }
    const Dims Y = dimsOf(y, a_.layouts[3]);
    if (K.b != Q.b || V.b != Q.b || K.h != Q.h || V.h != Q.h || K.d != Q.d || V.s != K.s || Y.b != Q.b ||
        Y.h != Q.h || Y.s != Q.s || Y.d != V.d)
      nn::badData("FusedAttention: operand shapes do not match");
    const int64_t lim = int64_t{1} << 30;
    if (Q.b > 65535 || Q.h > 65535 || Q.s > lim || K.s > lim || Q.d > lim || V.d > lim)
      nn::badData("FusedAttention: dimensions too large");
    if (y.numel == 0) return;
    AttnArgs a{};
    a.q = q.data;
    a.k = kp;
    a.v = vp;
    a.y = y.data;
    a.qsb = Q.sb, a.qsh = Q.sh, a.qss = Q.ss;
    a.ksb = K.sb, a.ksh = K.sh, a.kss = K.ss;
    a.vsb = V.sb, a.vsh = V.sh, a.vss = V.ss;
    a.ysb = Y.sb, a.ysh = Y.sh, a.yss = Y.ss;
    a.B = static_cast<int>(Q.b), a.H = static_cast<int>(Q.h), a.Sq = static_cast<int>(Q.s);
    a.Sk = static_cast<int>(K.s), a.D = static_cast<int>(Q.d), a.Dv = static_cast<int>(V.d);
    a.scale = static_cast<float>(a_.scale);
    a.zeroRows = a_.maskedRowsZero ? 1 : 0;
    if (mask) {
      if (mask->rank() > 4) nn::badData("FusedAttention: Mask must have rank <= 4");
      const int64_t full[4] = {Q.b, Q.h, Q.s, K.s};
      for (int64_t i = 0; i < mask->rank(); ++i) {
        const int64_t d = mask->dim(i), f = full[4 - mask->rank() + i];
        if (d != 1 && d != f) nn::badData("FusedAttention: Mask does not broadcast to [B, H, Sq, Sk]");
      }
      const DimsArg ms = broadcastStrides(mask->shape, std::span<const int64_t>(full, 4));
      a.mask = mask->data;
      a.mb = ms.strides[0], a.mh = ms.strides[1], a.mi = ms.strides[2], a.mj = ms.strides[3];
    }
    cudaStream_t st = streamOf(ctx);
    auto al = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; };
    const bool vec = a.D == a.Dv && a.D % 8 == 0 && a.D <= 128 && al(a.q) && al(a.k) && al(a.v) && al(a.y) &&
                     a.qss % 8 == 0 && a.qsh % 8 == 0 && a.qsb % 8 == 0 && a.kss % 8 == 0 && a.ksh % 8 == 0 &&
                     a.ksb % 8 == 0 && a.vss % 8 == 0 && a.vsh % 8 == 0 && a.vsb % 8 == 0 && a.yss % 8 == 0 &&
                     a.ysh % 8 == 0 && a.ysb % 8 == 0;
    if (vec && (q.dtype == DataType::kHALF || q.dtype == DataType::kBF16)) {
      const bool small = a.D <= 64;
      if (q.dtype == DataType::kHALF) small ? launchTcWarps<__half, 64>(a, st) : launchTcWarps<__half, 128>(a, st);
      else small ? launchTcWarps<__nv_bfloat16, 64>(a, st) : launchTcWarps<__nv_bfloat16, 128>(a, st);
      return;
    }
    nn::dispatchFloatDev(q.dtype, [&](auto tag) {
      using T = decltype(tag);
      launchRows<T>(a, st);
    });
  }

 private:
  ir::FusedAttentionAttrs a_;
};

}  // namespace

void registerFusedAttentionKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<FusedAttentionKernel>(n); };
  reg.add("FusedAttention", t);
}

}  // namespace kiln::gpu
