// Private helpers of the nn family of CUDA kernels (src/backends/cuda/nn*.cu): warp/block reductions of
// any state type, Welford statistics, and a generic reduction engine over "kept x reduced" dims driven by a
// policy (what to accumulate and where to store the result), used by the Reduce ops, ArgMax/ArgMin, the
// global pools and the statistics of the normalizations.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "ir/ops/nn_common.h"

namespace kiln::gpu::nn {

// Per-file registration functions, called by registerNnKernels (nn.cu).
void registerSoftmaxKernels(KernelRegistry& reg);   // nn_softmax.cu
void registerReduceKernelsA(KernelRegistry& reg);   // nn_reduce_a.cu
void registerReduceKernelsB(KernelRegistry& reg);   // nn_reduce_b.cu
void registerArgKernels(KernelRegistry& reg);       // nn_arg.cu
void registerNormKernels(KernelRegistry& reg);      // nn_norm.cu
void registerStatNormKernels(KernelRegistry& reg);  // nn_norm_stats.cu
void registerPoolKernels(KernelRegistry& reg);      // nn_pool.cu

[[noreturn]] inline void unsupported(const ir::Node& node, const std::string& what) {
  throw Error(ErrorCode::kUNSUPPORTED_NODE, node.op + ": " + what);
}
[[noreturn]] inline void badData(const std::string& what) { throw Error(ErrorCode::kINVALID_ARGUMENT, what); }

inline bool isFloatT(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16 || t == DataType::kDOUBLE;
}

//! Calls f(T{}) (device types) for the float types only.
template <class F>
void dispatchFloatDev(DataType t, F&& f) {
  switch (t) {
    case DataType::kFLOAT: f(float{}); return;
    case DataType::kDOUBLE: f(double{}); return;
    case DataType::kHALF: f(__half{}); return;
    case DataType::kBF16: f(__nv_bfloat16{}); return;
    default: break;
  }
  throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string("data type ") + dataTypeName(t) + " is not supported");
}

template <class T>
inline constexpr bool kIsFloatDev = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                    std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

template <class T>
__device__ __forceinline__ bool isNaNv(T v) {
  if constexpr (kIsFloatDev<T>) {
    auto a = toAcc(v);
    return a != a;
  } else {
    return false;
  }
}

inline int smCount() {
  static const int n = [] {
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      cudaGetLastError();
      return 132;
    }
    return v;
  }();
  return n;
}

// ---- warp / block reductions of any trivially copyable state --------------------------------------------

template <class S>
__device__ __forceinline__ S shflXor(S v, int mask) {
  constexpr int n = static_cast<int>((sizeof(S) + 3) / 4);
  int w[n];
  memcpy(w, &v, sizeof(S));
#pragma unroll
  for (int i = 0; i < n; ++i) w[i] = __shfl_xor_sync(0xffffffffu, w[i], mask);
  memcpy(&v, w, sizeof(S));
  return v;
}

//! Butterfly reduction: every lane gets the result.
template <class S, class M>
__device__ __forceinline__ S warpAll(S s, M merge) {
#pragma unroll
  for (int m = 16; m >= 1; m >>= 1) s = merge(s, shflXor(s, m));
  return s;
}

//! Every thread of the block (1-D, multiple of 32 threads) gets the result. Contains __syncthreads:
//! call from block-uniform control flow.
template <class S, class M>
__device__ __forceinline__ S blockAll(S s, M merge) {
  __shared__ alignas(16) unsigned char raw[32 * sizeof(S)];
  S* sh = reinterpret_cast<S*>(raw);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  s = warpAll(s, merge);
  __syncthreads();  // protects sh from a previous use
  if (lane == 0) sh[warp] = s;
  __syncthreads();
  S r = sh[0];
  for (int i = 1; i < nw; ++i) r = merge(r, sh[i]);
  return r;
}

// ---- Welford statistics ---------------------------------------------------------------------------------

template <class A>
struct Welford {
  A n, mean, m2;
};
template <class A>
__device__ __forceinline__ Welford<A> welfordInit() {
  return {A(0), A(0), A(0)};
}
template <class A>
__device__ __forceinline__ void welfordAdd(Welford<A>& w, A v) {
  w.n += A(1);
  A d = v - w.mean;
  w.mean += d / w.n;
  w.m2 += d * (v - w.mean);
}
template <class A>
__device__ __forceinline__ Welford<A> welfordMerge(Welford<A> a, Welford<A> b) {
  if (b.n == A(0)) return a;
  if (a.n == A(0)) return b;
  Welford<A> r;
  r.n = a.n + b.n;
  A d = b.mean - a.mean;
  A fb = b.n / r.n;
  r.mean = a.mean + d * fb;
  r.m2 = a.m2 + b.m2 + d * d * a.n * fb;
  return r;
}

// ---- reduction engine -----------------------------------------------------------------------------------
//
// A policy P (passed by value to the kernels) defines:
//   using In = element type; using S = state (trivially copyable);
//   __device__ S init() const; __device__ void add(S&, In v, int64_t r) const (r: index along the reduced
//   dims, row-major); __device__ S merge(S, S) const; __device__ void store(int64_t o, S, int64_t R) const.

struct ReducePlan {
  enum Kind { kROWS, kCOLS, kGENERIC } kind{kROWS};
  int64_t O{0}, R{0}, I{1};
  DimsArg kept, red;  // kGENERIC: kept dims (output order) and reduced dims with x's strides
};

//! Plans the reduction of a row-major tensor of `shape` over the dims where mask is true.
inline ReducePlan planReduce(std::span<const int64_t> shape, const std::vector<bool>& mask) {
  ReducePlan p;
  int64_t O = 1, R = 1;
  for (size_t i = 0; i < shape.size(); ++i) (mask[i] ? R : O) *= shape[i];
  p.O = O;
  p.R = R;
  p.I = 1;
  if (O == 0 || R == 0) return p;  // rows; O == 0: nothing to do, R == 0: identities
  // drop extent-1 dims, merge neighbours of the same kind
  std::vector<std::pair<int64_t, bool>> g;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!g.empty() && g.back().second == mask[i]) g.back().first *= shape[i];
    else g.push_back({shape[i], static_cast<bool>(mask[i])});
  }
  if (g.empty()) return p;
  if (g.size() == 1) {
    if (!g[0].second) p.R = 1;  // nothing reduced: O rows of 1
    return p;
  }
  if (g.size() == 2 && !g[0].second) return p;  // [O, R]
  if (g.size() == 2) {                           // [R, I]
    p.kind = ReducePlan::kCOLS;
    p.O = 1;
    p.R = g[0].first;
    p.I = g[1].first;
    return p;
  }
  if (g.size() == 3 && !g[0].second) {  // [O, R, I]
    p.kind = ReducePlan::kCOLS;
    p.O = g[0].first;
    p.R = g[1].first;
    p.I = g[2].first;
    return p;
  }
  // generic: strides of the merged groups
  p.kind = ReducePlan::kGENERIC;
  std::vector<int64_t> st(g.size());
  int64_t s = 1;
  for (size_t i = g.size(); i-- > 0;) {
    st[i] = s;
    s *= g[i].first;
  }
  for (size_t i = 0; i < g.size(); ++i) {
    DimsArg& d = g[i].second ? p.red : p.kept;
    if (d.rank >= kMaxDims) throw Error(ErrorCode::kUNSUPPORTED_NODE, "reduction: too many dims");
    d.dims[d.rank] = g[i].first;
    d.strides[d.rank] = st[i];
    ++d.rank;
  }
  return p;
}

template <class P>
__global__ void reduceRowsWarpKernel(const typename P::In* __restrict__ x, int64_t O, int64_t R, P p) {
  using S = typename P::S;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  auto merge = [&](S a, S b) { return p.merge(a, b); };
  for (int64_t o = warp; o < O; o += nwarps) {
    const typename P::In* row = x + o * R;
    S s = p.init();
    for (int64_t r = lane; r < R; r += 32) p.add(s, row[r], r);
    s = warpAll(s, merge);
    if (lane == 0) p.store(o, s, R);
  }
}

//! Short rows (R <= 16): a thread per row.
template <class P>
__global__ void reduceRowsThreadKernel(const typename P::In* __restrict__ x, int64_t O, int64_t R, P p) {
  using S = typename P::S;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < O;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const typename P::In* row = x + o * R;
    S s = p.init();
    for (int64_t r = 0; r < R; ++r) p.add(s, row[r], r);
    p.store(o, s, R);
  }
}

template <class P>
__global__ void reduceRowsBlockKernel(const typename P::In* __restrict__ x, int64_t O, int64_t R, P p) {
  using S = typename P::S;
  auto merge = [&](S a, S b) { return p.merge(a, b); };
  for (int64_t o = blockIdx.x; o < O; o += gridDim.x) {
    const typename P::In* row = x + o * R;
    S s = p.init();
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) p.add(s, row[r], r);
    s = blockAll(s, merge);
    if (threadIdx.x == 0) p.store(o, s, R);
  }
}

//! [O, R, I]: block (32, kColY); x over I (coalesced), y splits R; merged through shared memory.
constexpr int kColY = 16;
template <class P>
__global__ void reduceColsKernel(const typename P::In* __restrict__ x, int64_t O, int64_t R, int64_t I, P p) {
  using S = typename P::S;
  __shared__ alignas(16) unsigned char raw[kColY * 32 * sizeof(S)];
  S* sh = reinterpret_cast<S*>(raw);
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t i0 = static_cast<int64_t>(blockIdx.x) * 32; i0 < I; i0 += static_cast<int64_t>(gridDim.x) * 32) {
    const int64_t i = i0 + tx;
    for (int64_t o = blockIdx.y; o < O; o += gridDim.y) {
      S s = p.init();
      if (i < I) {
        const typename P::In* base = x + o * R * I + i;
        for (int64_t r = ty; r < R; r += kColY) p.add(s, base[r * I], r);
      }
      __syncthreads();
      sh[ty * 32 + tx] = s;
      __syncthreads();
      if (ty == 0 && i < I) {
        S t = sh[tx];
        for (int k = 1; k < kColY; ++k) t = p.merge(t, sh[k * 32 + tx]);
        p.store(o * I + i, t, R);
      }
    }
  }
}

__device__ __forceinline__ int64_t stridedOffset(int64_t idx, const DimsArg& d) {
  int64_t off = 0;
  for (int k = d.rank - 1; k >= 0; --k) {
    int64_t q = idx / d.dims[k];
    off += (idx - q * d.dims[k]) * d.strides[k];
    idx = q;
  }
  return off;
}

template <class P>
__global__ void reduceGenericKernel(const typename P::In* __restrict__ x, int64_t O, int64_t R, DimsArg kept,
                                    DimsArg red, P p) {
  using S = typename P::S;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  auto merge = [&](S a, S b) { return p.merge(a, b); };
  for (int64_t o = warp; o < O; o += nwarps) {
    const typename P::In* base = x + stridedOffset(o, kept);
    S s = p.init();
    for (int64_t r = lane; r < R; r += 32) p.add(s, base[stridedOffset(r, red)], r);
    s = warpAll(s, merge);
    if (lane == 0) p.store(o, s, R);
  }
}

// Split reductions: few outputs over long rows/columns. Stage 1 reduces chunks of R into partial states
// (workspace [O, chunks, I]); stage 2 merges the chunks of every output and stores it.
constexpr std::size_t kMaxStateBytes = 32;  // the largest policy state (Welford<double> is 24 bytes)

//! Number of chunks R is split into (1: no split). Depends only on the plan (and the GPU).
inline int64_t splitChunks(const ReducePlan& p) {
  const int64_t sms = smCount();
  int64_t blocks, perChunk;
  if (p.kind == ReducePlan::kROWS) {
    if (p.R < 32768 || p.O >= sms) return 1;
    blocks = p.O;
    perChunk = 8192;
  } else if (p.kind == ReducePlan::kCOLS) {
    blocks = p.O * ((p.I + 31) / 32);
    if (p.R < 2048 || blocks >= sms || p.O > 65535) return 1;
    perChunk = 512;
  } else {
    return 1;
  }
  int64_t c = std::min((p.R + perChunk - 1) / perChunk, (4 * sms + blocks - 1) / blocks);
  return std::max<int64_t>(1, std::min<int64_t>(c, 4096));
}

//! Workspace bytes launchReduce needs for this plan (256-byte multiple).
inline std::size_t reduceWorkspaceBytes(const ReducePlan& p) {
  const int64_t c = splitChunks(p);
  if (c <= 1 || p.O == 0) return 0;
  return static_cast<std::size_t>((p.O * c * p.I * kMaxStateBytes + 255) / 256 * 256);
}

template <class P>
__global__ void reduceRowsSplitKernel(const typename P::In* __restrict__ x, int64_t R, int64_t chunks, int64_t chunkLen,
                                      typename P::S* part, P p) {
  using S = typename P::S;
  auto merge = [&](S a, S b) { return p.merge(a, b); };
  const int64_t o = blockIdx.y, c = blockIdx.x;
  const typename P::In* row = x + o * R;
  const int64_t r1 = std::min(R, (c + 1) * chunkLen);
  S s = p.init();
  for (int64_t r = c * chunkLen + threadIdx.x; r < r1; r += blockDim.x) p.add(s, row[r], r);
  s = blockAll(s, merge);
  if (threadIdx.x == 0) part[o * chunks + c] = s;
}

template <class P>
__global__ void reduceColsSplitKernel(const typename P::In* __restrict__ x, int64_t R, int64_t I, int64_t chunkLen,
                                      typename P::S* part, P p) {
  using S = typename P::S;
  __shared__ alignas(16) unsigned char raw[kColY * 32 * sizeof(S)];
  S* sh = reinterpret_cast<S*>(raw);
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * 32 + tx, o = blockIdx.y, c = blockIdx.z;
  const int64_t r1 = std::min(R, (c + 1) * chunkLen);
  S s = p.init();
  if (i < I) {
    const typename P::In* base = x + o * R * I + i;
    for (int64_t r = c * chunkLen + ty; r < r1; r += kColY) p.add(s, base[r * I], r);
  }
  sh[ty * 32 + tx] = s;
  __syncthreads();
  if (ty == 0 && i < I) {
    S t = sh[tx];
    for (int k = 1; k < kColY; ++k) t = p.merge(t, sh[k * 32 + tx]);
    part[(o * gridDim.z + c) * I + i] = t;
  }
}

//! Stage 2, I == 1: a warp per output.
template <class P>
__global__ void reduceMergeRowsKernel(const typename P::S* __restrict__ part, int64_t O, int64_t chunks, int64_t R, P p) {
  using S = typename P::S;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  auto merge = [&](S a, S b) { return p.merge(a, b); };
  for (int64_t o = warp; o < O; o += nwarps) {
    S s = p.init();
    for (int64_t c = lane; c < chunks; c += 32) s = p.merge(s, part[o * chunks + c]);
    s = warpAll(s, merge);
    if (lane == 0) p.store(o, s, R);
  }
}

//! Stage 2, I > 1: a thread per (o, i).
template <class P>
__global__ void reduceMergeColsKernel(const typename P::S* __restrict__ part, int64_t O, int64_t chunks, int64_t I,
                                      int64_t R, P p) {
  using S = typename P::S;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < O * I;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = t / I, i = t - o * I;
    S s = p.init();
    for (int64_t c = 0; c < chunks; ++c) s = p.merge(s, part[(o * chunks + c) * I + i]);
    p.store(t, s, R);
  }
}

//! Launches the reduction described by `plan` on x with policy p. `ws` holds reduceWorkspaceBytes(plan)
//! bytes (may be null when that is 0).
template <class P>
void launchReduce(const ReducePlan& plan, const typename P::In* x, const P& p, cudaStream_t st, void* ws = nullptr) {
  using S = typename P::S;
  static_assert(sizeof(S) <= kMaxStateBytes, "reduction state too large");
  if (plan.O == 0) return;
  const int64_t sms = smCount();
  const int64_t chunks = splitChunks(plan);
  if (chunks > 1 && ws) {
    S* part = static_cast<S*>(ws);
    const int64_t chunkLen = (plan.R + chunks - 1) / chunks;
    if (plan.kind == ReducePlan::kROWS) {
      const int threads = chunkLen >= 4096 ? 1024 : 256;
      reduceRowsSplitKernel<P><<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(plan.O)), threads, 0, st>>>(
          x, plan.R, chunks, chunkLen, part, p);
      checkLaunch("reduceRowsSplit");
      reduceMergeRowsKernel<P><<<blocksFor(plan.O * 32), 256, 0, st>>>(part, plan.O, chunks, plan.R, p);
      checkLaunch("reduceMergeRows");
    } else {
      dim3 grid(static_cast<unsigned>((plan.I + 31) / 32), static_cast<unsigned>(plan.O), static_cast<unsigned>(chunks));
      reduceColsSplitKernel<P><<<grid, dim3(32, kColY), 0, st>>>(x, plan.R, plan.I, chunkLen, part, p);
      checkLaunch("reduceColsSplit");
      reduceMergeColsKernel<P><<<blocksFor(plan.O * plan.I), 256, 0, st>>>(part, plan.O, chunks, plan.I, plan.R, p);
      checkLaunch("reduceMergeCols");
    }
    return;
  }
  switch (plan.kind) {
    case ReducePlan::kROWS:
      if (plan.R <= 16 && plan.O >= sms * 256) {
        reduceRowsThreadKernel<P><<<blocksFor(plan.O), 256, 0, st>>>(x, plan.O, plan.R, p);
        checkLaunch("reduceRowsThread");
      } else if (plan.R <= 2048 || plan.O >= sms * 64) {
        const int threads = 256;
        reduceRowsWarpKernel<P><<<blocksFor(plan.O * 32, threads), threads, 0, st>>>(x, plan.O, plan.R, p);
        checkLaunch("reduceRowsWarp");
      } else {
        const int threads = plan.R >= 16384 ? 1024 : 512;
        unsigned blocks = static_cast<unsigned>(std::min<int64_t>(plan.O, 65535LL * 16));
        reduceRowsBlockKernel<P><<<blocks, threads, 0, st>>>(x, plan.O, plan.R, p);
        checkLaunch("reduceRowsBlock");
      }
      return;
    case ReducePlan::kCOLS: {
      dim3 block(32, kColY);
      int64_t gx = std::min<int64_t>((plan.I + 31) / 32, 65535);
      int64_t gy = std::min<int64_t>(plan.O, 65535);
      reduceColsKernel<P><<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)), block, 0, st>>>(
          x, plan.O, plan.R, plan.I, p);
      checkLaunch("reduceCols");
      return;
    }
    case ReducePlan::kGENERIC: {
      const int threads = 256;
      reduceGenericKernel<P><<<blocksFor(plan.O * 32, threads), threads, 0, st>>>(x, plan.O, plan.R, plan.kept,
                                                                                   plan.red, p);
      checkLaunch("reduceGeneric");
      return;
    }
  }
}

//! Row-major strides of `shape`.
inline std::vector<int64_t> rowMajorStrides(std::span<const int64_t> shape) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

//! Rounds a byte count up to 256.
inline std::size_t align256(std::size_t n) { return (n + 255) / 256 * 256; }

//! Whether input k of the node is absent or a constant; writes the reason if not.
inline bool requireConstantInput(const ir::Node& n, size_t k, const char* what, std::string* why) {
  if (n.inputs.size() > k && n.inputs[k] && !n.inputs[k]->isConstant()) {
    if (why) *why = std::string("'") + what + "' must be a constant on the GPU";
    return false;
  }
  return true;
}

}  // namespace kiln::gpu::nn
