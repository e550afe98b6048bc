// CUDA kernels of the ops whose output extents depend on input values: NonZero, Compress, Unique,
// NonMaxSuppression (semantics of ir/ops/data_dependent.cpp, which the CPU reference runs).
//
// The extents come from the runtime's shape inference, which reads the inputs' values on the host where
// they are known when a context is prepared (graph inputs in page-locked memory, which the runtime reads
// like TensorRT's shape tensors, or small tensors computed from them). The kernels compute the contents
// on the device from the inputs' device-readable addresses into outputs already sized for them: no
// device->host copy and no synchronization. A result that would not fit the planned extents (inputs
// changed behind the runtime's back) is cut to them.
//
// NonZero / Compress: one block, a block-wide prefix sum (CUB) per 1024-element chunk. Unique: one block
// (first occurrence per slice, a serial numbering of the first occurrences, counts by atomics, the sorted
// rank of each unique slice by counting, lexicographic double comparisons as the reference). NMS: a block per
// (batch, class): the candidates over score_threshold ranked by score (stable, by counting), then greedy
// suppression in score order (each kept box marks the later candidates it overlaps by more than
// iou_threshold, in parallel; IoU in double as the reference), up to max_output_boxes_per_class; a second
// kernel writes [batch, class, box] rows at each (batch, class)'s offset.
#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/runtime_params.h"

namespace kiln::gpu {
namespace {

[[noreturn]] void badInput(const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, m); }
[[noreturn]] void notSupported(const std::string& m) { throw Error(ErrorCode::kUNSUPPORTED_NODE, m); }

template <class T>
__device__ __forceinline__ double asDouble(T v) {
  if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) return static_cast<double>(toAcc(v));
  else return static_cast<double>(v);
}

constexpr int kScanThreads = 1024;
using BlockScan = cub::BlockScan<int, kScanThreads>;

//! One block: calls emit(i, k) for every i < n with nonzero(i), k its rank among those (in index order).
template <class Pred, class Emit>
__device__ void blockCompact(int64_t n, Pred nonzero, Emit emit) {
  __shared__ typename BlockScan::TempStorage tmp;
  __shared__ int64_t base;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  for (int64_t start = 0; start < n; start += kScanThreads) {
    const int64_t i = start + threadIdx.x;
    const int f = (i < n && nonzero(i)) ? 1 : 0;
    int excl = 0, total = 0;
    BlockScan(tmp).ExclusiveSum(f, excl, total);
    if (f) emit(i, base + excl);
    __syncthreads();
    if (threadIdx.x == 0) base += total;
    __syncthreads();
  }
}

// ---- NonZero ----------------------------------------------------------------------------------------------
template <class T>
__global__ void __launch_bounds__(kScanThreads) nonZeroKernel(const T* __restrict__ x, int64_t n, DimsArg dims,
                                                                int64_t* __restrict__ out, int64_t nnz) {
  blockCompact(
      n, [&](int64_t i) { return asDouble(x[i]) != 0.0; },
      [&](int64_t i, int64_t k) {
        if (k >= nnz) return;
        if (dims.rank == 0) out[k] = 0;
        int64_t rem = i;
        for (int d = dims.rank - 1; d >= 0; --d) {
          out[d * nnz + k] = rem % dims.dims[d];
          rem /= dims.dims[d];
        }
      });
}

class NonZeroKernel final : public Kernel {
 public:
  explicit NonZeroKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() > kMaxDims) notSupported("NonZero: rank above 8");
    if (y.rank() != 2 || y.dim(0) != std::max<int64_t>(x.rank(), 1)) badInput("NonZero: output shape mismatch");
    if (y.numel == 0) return;
    DimsArg d = contiguous(x.shape);
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      nonZeroKernel<T><<<1, kScanThreads, 0, streamOf(ctx)>>>(x.as<const T>(), x.numel, d, y.as<int64_t>(), y.dim(1));
      checkLaunch("nonZeroKernel");
    });
  }
};

// ---- Compress ---------------------------------------------------------------------------------------------
template <class C>
__global__ void __launch_bounds__(kScanThreads) pickKernel(const C* __restrict__ cond, int64_t n, int64_t* __restrict__ pick,
                                                             int64_t cap) {
  blockCompact(
      n, [&](int64_t i) { return asDouble(cond[i]) != 0.0; },
      [&](int64_t i, int64_t k) {
        if (k < cap) pick[k] = i;
      });
}

//! y[o, k, i] = x[o, pick[k], i] for o < outer, k < P, i < inner (x has len slices along the axis).
template <class E>
__global__ void gatherSlicesKernel(const E* __restrict__ x, E* __restrict__ y, const int64_t* __restrict__ pick, int64_t outer,
                                   int64_t P, int64_t len, int64_t inner) {
  const int64_t total = outer * P * inner;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e % inner, k = (e / inner) % P, o = e / (inner * P);
    y[e] = x[(o * len + pick[k]) * inner + i];
  }
}

void gatherSlices(const void* x, void* y, const int64_t* pick, int64_t outer, int64_t P, int64_t len, int64_t inner,
                  std::size_t elemSize, cudaStream_t s) {
  const int64_t total = outer * P * inner;
  if (total == 0) return;
  auto go = [&](auto tag) {
    using E = decltype(tag);
    gatherSlicesKernel<E><<<blocksFor(total), 256, 0, s>>>(static_cast<const E*>(x), static_cast<E*>(y), pick, outer, P, len, inner);
  };
  switch (elemSize) {
    case 1: go(uint8_t{}); break;
    case 2: go(uint16_t{}); break;
    case 4: go(uint32_t{}); break;
    case 8: go(uint64_t{}); break;
    default: notSupported("element size " + std::to_string(elemSize) + " is not supported");
  }
  checkLaunch("gatherSlicesKernel");
}

//! outer / len / inner of x split at `axis` (-1: flattened).
void splitAt(const TensorView& x, int64_t axis, int64_t* outer, int64_t* len, int64_t* inner) {
  if (axis < 0) {
    *outer = 1;
    *len = x.numel;
    *inner = 1;
    return;
  }
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < axis; ++d) *outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) *inner *= x.dim(d);
  *len = x.dim(axis);
}

int64_t axisOf(const ir::Attributes& a, int64_t rank, const char* op) {
  if (!a.has("axis")) return -1;
  int64_t ax = a.getInt("axis", 0);
  if (ax < -rank || ax >= rank) badInput(std::string(op) + ": axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
  return ax < 0 ? ax + rank : ax;
}

class CompressKernel final : public Kernel {
 public:
  explicit CompressKernel(const ir::Node& n) : attrs_(n.attrs) {}
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return static_cast<std::size_t>(std::max<int64_t>(in[1].numel, 1)) * sizeof(int64_t);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& c = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (c.rank() != 1) badInput("Compress: condition must be 1-D");
    const int64_t axis = axisOf(attrs_, x.rank(), "Compress");
    int64_t outer, len, inner;
    splitAt(x, axis, &outer, &len, &inner);
    if (c.numel > len) badInput("Compress: condition is longer than the selected axis");
    const int64_t P = axis < 0 ? y.numel : y.dim(axis);
    if (outer * P * inner != y.numel) badInput("Compress: output shape mismatch");
    if (y.numel == 0) return;
    auto* pick = static_cast<int64_t*>(ctx.workspace);
    cudaStream_t s = streamOf(ctx);
    // positions past the condition's true entries stay unwritten only if inputs changed: zero them first
    KILN_CUDA_CHECK(cudaMemsetAsync(pick, 0, static_cast<std::size_t>(std::max<int64_t>(c.numel, 1)) * sizeof(int64_t), s));
    dispatchDeviceType(c.dtype, [&](auto tag) {
      using C = decltype(tag);
      pickKernel<C><<<1, kScanThreads, 0, s>>>(c.as<const C>(), c.numel, pick, c.numel);
      checkLaunch("pickKernel");
    });
    gatherSlices(x.data, y.data, pick, outer, P, len, inner, dataTypeSize(x.dtype), s);
  }

 private:
  ir::Attributes attrs_;
};

// ---- Unique -----------------------------------------------------------------------------------------------
struct UniqueArgs {
  int64_t outer, len, inner, planned;  //!< planned: the number of unique slices the outputs were sized for
  int64_t *first, *uid, *firsts, *cnt, *rank;  //!< workspace, len each
  int64_t *indices, *inverse, *counts;          //!< outputs (null when absent)
  bool sorted;
};

template <class T>
__device__ bool sliceEqual(const T* x, const UniqueArgs& a, int64_t p, int64_t q) {
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t i = 0; i < a.inner; ++i)
      if (!(asDouble(x[(o * a.len + p) * a.inner + i]) == asDouble(x[(o * a.len + q) * a.inner + i]))) return false;
  return true;
}

//! std::vector<double> operator< of slices p and q.
template <class T>
__device__ bool sliceLess(const T* x, const UniqueArgs& a, int64_t p, int64_t q) {
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t i = 0; i < a.inner; ++i) {
      const double u = asDouble(x[(o * a.len + p) * a.inner + i]), v = asDouble(x[(o * a.len + q) * a.inner + i]);
      if (u < v) return true;
      if (v < u) return false;
    }
  return false;
}

template <class T>
__global__ void __launch_bounds__(1024) uniqueKernel(const T* __restrict__ x, T* __restrict__ y, UniqueArgs a) {
  __shared__ int64_t nUnique;
  const int64_t t0 = threadIdx.x, step = blockDim.x;
  for (int64_t j = t0; j < a.len; j += step) {
    int64_t f = j;
    for (int64_t p = 0; p < j; ++p)
      if (sliceEqual(x, a, p, j)) {
        f = p;
        break;
      }
    a.first[j] = f;
    a.cnt[j] = 0;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t u = 0;
    for (int64_t j = 0; j < a.len; ++j)
      if (a.first[j] == j) {
        a.uid[j] = u;
        a.firsts[u++] = j;
      }
    nUnique = u;
  }
  __syncthreads();
  const int64_t U = nUnique;
  for (int64_t j = t0; j < a.len; j += step)
    atomicAdd(reinterpret_cast<unsigned long long*>(&a.cnt[a.uid[a.first[j]]]), 1ull);
  for (int64_t u = t0; u < U; u += step) {
    int64_t r = u;
    if (a.sorted) {  // stable sort position of slice firsts[u]
      r = 0;
      const int64_t pu = a.firsts[u];
      for (int64_t v = 0; v < U; ++v) {
        if (v == u) continue;
        const int64_t pv = a.firsts[v];
        if (sliceLess(x, a, pv, pu)) ++r;
        else if (v < u && !sliceLess(x, a, pu, pv)) ++r;
      }
    }
    a.rank[u] = r;
  }
  __syncthreads();
  for (int64_t u = t0; u < U; u += step) {
    const int64_t r = a.rank[u];
    if (r >= a.planned) continue;
    if (a.indices) a.indices[r] = a.firsts[u];
    if (a.counts) a.counts[r] = a.cnt[u];
  }
  for (int64_t j = t0; j < a.len; j += step)
    if (a.inverse) a.inverse[j] = a.rank[a.uid[a.first[j]]];
  if (y) {
    const int64_t total = a.outer * U * a.inner;
    for (int64_t e = t0; e < total; e += step) {
      const int64_t i = e % a.inner, u = (e / a.inner) % U, o = e / (a.inner * U);
      const int64_t r = a.rank[u];
      if (r < a.planned) y[(o * a.planned + r) * a.inner + i] = x[(o * a.len + a.firsts[u]) * a.inner + i];
    }
  }
}

class UniqueKernel final : public Kernel {
 public:
  explicit UniqueKernel(const ir::Node& n) : attrs_(n.attrs), sorted_(n.attrs.getInt("sorted", 1) != 0) {
    if (!n.inputs.empty() && n.inputs[0] && !isFloatingType(n.inputs[0]->dtype) && !isIntegerType(n.inputs[0]->dtype) &&
        n.inputs[0]->dtype != DataType::kBOOL)
      notSupported(std::string("Unique: data type ") + dataTypeName(n.inputs[0]->dtype) + " is not supported");
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    int64_t outer, len, inner;
    splitAt(in[0], axisOf(attrs_, in[0].rank(), "Unique"), &outer, &len, &inner);
    return static_cast<std::size_t>(std::max<int64_t>(len, 1)) * 5 * sizeof(int64_t);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const int64_t axis = axisOf(attrs_, x.rank(), "Unique");
    UniqueArgs a{};
    splitAt(x, axis, &a.outer, &a.len, &a.inner);
    a.sorted = sorted_;
    auto out = [&](size_t k) -> const TensorView* {
      return k < ctx.outputs.size() && ctx.outputs[k].present ? &ctx.outputs[k] : nullptr;
    };
    const TensorView* y = out(0);
    a.planned = -1;
    if (y) a.planned = axis < 0 ? y->numel : y->dim(axis);
    for (size_t k = 1; k < 4; ++k)
      if (const TensorView* o = out(k); o && k != 2) a.planned = o->numel;
    if (a.planned < 0) return;  // no output wanted
    if (const TensorView* inv = out(2); inv && inv->numel != a.len) badInput("Unique: inverse_indices shape mismatch");
    if (a.len == 0) return;
    auto* ws = static_cast<int64_t*>(ctx.workspace);
    a.first = ws;
    a.uid = ws + a.len;
    a.firsts = ws + 2 * a.len;
    a.cnt = ws + 3 * a.len;
    a.rank = ws + 4 * a.len;
    a.indices = out(1) ? out(1)->as<int64_t>() : nullptr;
    a.inverse = out(2) ? out(2)->as<int64_t>() : nullptr;
    a.counts = out(3) ? out(3)->as<int64_t>() : nullptr;
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      uniqueKernel<T><<<1, 1024, 0, streamOf(ctx)>>>(x.as<const T>(), y ? y->as<T>() : nullptr, a);
      checkLaunch("uniqueKernel");
    });
  }

 private:
  ir::Attributes attrs_;
  bool sorted_;
};

// ---- NonMaxSuppression ------------------------------------------------------------------------------------
//! A scalar input read on the device (float/double/half/int32/int64), or `dflt` when absent.
struct Scalar {
  const void* ptr{nullptr};
  int32_t kind{0};  //!< 0 float, 1 double, 2 half, 3 int32, 4 int64
};
__device__ __forceinline__ double readScalar(const Scalar& s, double dflt) {
  if (!s.ptr) return dflt;
  switch (s.kind) {
    case 0: return *static_cast<const float*>(s.ptr);
    case 1: return *static_cast<const double*>(s.ptr);
    case 2: return __half2float(*static_cast<const __half*>(s.ptr));
    case 3: return *static_cast<const int32_t*>(s.ptr);
    default: return static_cast<double>(*static_cast<const int64_t*>(s.ptr));
  }
}
__device__ __forceinline__ int64_t readCount(const Scalar& s) {
  if (!s.ptr) return 0;
  if (s.kind == 3) return *static_cast<const int32_t*>(s.ptr);
  if (s.kind == 4) return *static_cast<const int64_t*>(s.ptr);
  return static_cast<int64_t>(readScalar(s, 0));
}

struct NmsArgs {
  int64_t nb, nc, nbox, rows;
  int center;
  Scalar maxOut, iou, score;
  int32_t* counts;  //!< [nb * nc]
  int32_t* order;   //!< [nb * nc * nbox]
  int32_t* kept;    //!< [nb * nc * nbox]
  uint8_t* supp;    //!< [nb * nc * nbox]
};

struct Box {
  double y1, x1, y2, x2, area;
};

template <class T>
__device__ Box loadBox(const T* boxes, int64_t b, int64_t nbox, int64_t i, int center) {
  double v[4];
  for (int k = 0; k < 4; ++k) v[k] = asDouble(boxes[(b * nbox + i) * 4 + k]);
  Box q;
  if (center) {
    q = {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2, 0};
  } else {
    q = {fmin(v[0], v[2]), fmin(v[1], v[3]), fmax(v[0], v[2]), fmax(v[1], v[3]), 0};
  }
  q.area = (q.y2 - q.y1) * (q.x2 - q.x1);
  return q;
}

__device__ __forceinline__ bool overlaps(const Box& p, const Box& q, double iouT) {
  if (p.area <= 0 || q.area <= 0) return false;
  const double ih = fmin(p.y2, q.y2) - fmax(p.y1, q.y1), iw = fmin(p.x2, q.x2) - fmax(p.x1, q.x1);
  if (ih <= 0 || iw <= 0) return false;
  const double inter = ih * iw;
  return inter / (p.area + q.area - inter) > iouT;
}

template <class T>
__global__ void __launch_bounds__(256) nmsClassKernel(const T* __restrict__ boxes, const T* __restrict__ scores, NmsArgs a) {
  const int64_t bc = blockIdx.x, b = bc / a.nc;
  const T* s = scores + bc * a.nbox;
  int32_t* order = a.order + bc * a.nbox;
  int32_t* kept = a.kept + bc * a.nbox;
  uint8_t* supp = a.supp + bc * a.nbox;
  const int64_t maxOut = readCount(a.maxOut);
  const double iouT = readScalar(a.iou, 0.0);
  const bool hasScore = a.score.ptr != nullptr;
  const double scoreT = readScalar(a.score, 0.0);
  __shared__ int nCand, nKept;
  if (threadIdx.x == 0) nCand = 0;
  __syncthreads();
  // rank of each candidate in a stable sort by descending score
  for (int64_t i = threadIdx.x; i < a.nbox; i += blockDim.x) {
    const double si = asDouble(s[i]);
    if (hasScore && !(si > scoreT)) continue;
    int64_t r = 0;
    for (int64_t j = 0; j < a.nbox; ++j) {
      if (j == i) continue;
      const double sj = asDouble(s[j]);
      if (hasScore && !(sj > scoreT)) continue;
      if (sj > si || (j < i && !(si > sj))) ++r;
    }
    order[r] = static_cast<int32_t>(i);
    supp[r] = 0;
    atomicAdd(&nCand, 1);
  }
  if (threadIdx.x == 0) nKept = 0;
  __syncthreads();
  const int n = nCand;
  for (int k = 0; k < n; ++k) {
    // nKept and supp[k] were last written before a barrier: every thread takes the same branches
    if (nKept >= maxOut) break;
    const bool keep = !supp[k];
    if (keep) {
      const Box p = loadBox(boxes, b, a.nbox, order[k], a.center);
      for (int j = k + 1 + static_cast<int>(threadIdx.x); j < n; j += blockDim.x)
        if (!supp[j] && overlaps(p, loadBox(boxes, b, a.nbox, order[j], a.center), iouT)) supp[j] = 1;
    }
    __syncthreads();
    if (keep && threadIdx.x == 0) kept[nKept++] = order[k];
    __syncthreads();
  }
  if (threadIdx.x == 0) a.counts[bc] = nKept;
}

__global__ void nmsWriteKernel(NmsArgs a, int64_t* __restrict__ out) {
  const int64_t bc = blockIdx.x;
  int64_t off = 0;
  for (int64_t q = 0; q < bc; ++q) off += a.counts[q];
  const int64_t cnt = a.counts[bc];
  const int32_t* kept = a.kept + bc * a.nbox;
  for (int64_t t = threadIdx.x; t < cnt; t += blockDim.x) {
    const int64_t row = off + t;
    if (row >= a.rows) break;
    out[row * 3 + 0] = bc / a.nc;
    out[row * 3 + 1] = bc % a.nc;
    out[row * 3 + 2] = kept[t];
  }
}

Scalar scalarOf(const KernelContext& ctx, size_t k) {
  Scalar s;
  if (k >= ctx.inputs.size() || !ctx.inputs[k].present || ctx.inputs[k].numel <= 0) return s;
  const TensorView& v = ctx.inputs[k];
  s.ptr = v.data;
  switch (v.dtype) {
    case DataType::kFLOAT: s.kind = 0; break;
    case DataType::kDOUBLE: s.kind = 1; break;
    case DataType::kHALF: s.kind = 2; break;
    case DataType::kINT32: s.kind = 3; break;
    case DataType::kINT64: s.kind = 4; break;
    default: notSupported(std::string("NonMaxSuppression: scalar input of type ") + dataTypeName(v.dtype));
  }
  return s;
}

bool nmsSupports(const ir::Node& n, std::string* why) {
  for (size_t k = 0; k < 2; ++k) {
    DataType t = n.inputs.size() > k && n.inputs[k] ? n.inputs[k]->dtype : DataType::kFLOAT;
    if (t != DataType::kFLOAT && t != DataType::kDOUBLE && t != DataType::kHALF) {
      if (why) *why = std::string("NonMaxSuppression: boxes/scores of type ") + dataTypeName(t) + " are not supported";
      return false;
    }
  }
  if (n.inputs.size() > 1 && n.inputs[0] && n.inputs[1] && n.inputs[0]->dtype != n.inputs[1]->dtype) {
    if (why) *why = "NonMaxSuppression: boxes and scores of different types";
    return false;
  }
  return true;
}

class NmsKernel final : public Kernel {
 public:
  explicit NmsKernel(const ir::Node& n) : center_(static_cast<int>(n.attrs.getInt("center_point_box", 0))) {
    std::string why;
    if (!nmsSupports(n, &why)) notSupported(why);
    if (center_ != 0 && center_ != 1) badInput("NonMaxSuppression: center_point_box must be 0 or 1");
  }
  static std::size_t align(std::size_t v) { return (v + 255) / 256 * 256; }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    if (in[0].rank() != 3 || in[1].rank() != 3) return 0;
    const auto groups = static_cast<std::size_t>(in[1].dim(0) * in[1].dim(1)), nbox = static_cast<std::size_t>(in[0].dim(1));
    return align(groups * 4) + 2 * align(groups * nbox * 4) + align(groups * nbox);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& boxes = ctx.inputs[0];
    const TensorView& scores = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (boxes.rank() != 3 || boxes.dim(2) != 4) badInput("NonMaxSuppression: boxes must be [batch, boxes, 4]");
    if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
      badInput("NonMaxSuppression: scores must be [batch, classes, boxes] matching boxes");
    if (y.rank() != 2 || y.dim(1) != 3) badInput("NonMaxSuppression: output shape mismatch");
    NmsArgs a{};
    a.nb = boxes.dim(0);
    a.nc = scores.dim(1);
    a.nbox = boxes.dim(1);
    a.rows = y.dim(0);
    a.center = center_;
    a.maxOut = scalarOf(ctx, 2);
    a.iou = scalarOf(ctx, 3);
    a.score = scalarOf(ctx, 4);
    const int64_t groups = a.nb * a.nc;
    if (y.numel == 0 || groups == 0 || a.nbox == 0) return;
    if (groups > 0x7fffffff || a.nbox > 0x7fffffff) notSupported("NonMaxSuppression: too many boxes or classes");
    auto* ws = static_cast<std::byte*>(ctx.workspace);
    const auto g = static_cast<std::size_t>(groups), nbox = static_cast<std::size_t>(a.nbox);
    a.counts = reinterpret_cast<int32_t*>(ws);
    a.order = reinterpret_cast<int32_t*>(ws + align(g * 4));
    a.kept = reinterpret_cast<int32_t*>(ws + align(g * 4) + align(g * nbox * 4));
    a.supp = reinterpret_cast<uint8_t*>(ws + align(g * 4) + 2 * align(g * nbox * 4));
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(boxes.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, __half>) {
        nmsClassKernel<T><<<static_cast<unsigned>(groups), 256, 0, s>>>(boxes.as<const T>(), scores.as<const T>(), a);
        checkLaunch("nmsClassKernel");
      } else {
        notSupported(std::string("NonMaxSuppression: type ") + dataTypeName(boxes.dtype));
      }
    });
    nmsWriteKernel<<<static_cast<unsigned>(groups), 128, 0, s>>>(a, y.as<int64_t>());
    checkLaunch("nmsWriteKernel");
  }

 private:
  int center_;
};

template <class K>
Tactic ddTactic(backend::SupportsFn supports = nullptr) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<K>(node); };
  t.supports = supports;
  return t;
}

}  // namespace

void registerDataDependentKernels(KernelRegistry& reg) {
  reg.add("NonZero", ddTactic<NonZeroKernel>());
  reg.add("Compress", ddTactic<CompressKernel>());
  reg.add("Unique", ddTactic<UniqueKernel>());
  reg.add("NonMaxSuppression", ddTactic<NmsKernel>(&nmsSupports));
}

}  // namespace kiln::gpu
