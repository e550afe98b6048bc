// CUDA kernels: Gather, GatherElements, GatherND, ScatterElements, ScatterND.
//
// Differences from the CPU reference (which throws kiln::Error on an index out of range): the GPU cannot
// report a bad index without synchronizing, so a gathered element whose index is out of range is written
// as zero (all bytes 0) and a scatter update whose index is out of range is dropped; memory is never
// read or written out of bounds. Scatters with duplicate indices: with reduction "none" one of the
// duplicates wins (unspecified which, the reference keeps the last); add/mul on floating types apply in an
// unspecified order, so rounding may differ from the reference's in-order result.
#include <algorithm>

#include "backends/cuda/tensor_device.cuh"

namespace kiln::gpu::tensor {
namespace {

constexpr int kThreads = 256;

void requireIndex(const TensorView& v, const char* op) {
  if (v.dtype != DataType::kINT32 && v.dtype != DataType::kINT64) invalid(std::string(op) + ": indices must be int32 or int64");
}

template <class F>
decltype(auto) dispatchIndex(DataType t, F&& f) {
  if (t == DataType::kINT32) return f(int32_t{});
  return f(int64_t{});
}

// ---- Gather -----------------------------------------------------------------------------------------------
template <class U, class I, bool k32>
__global__ void gatherKernel(const U* __restrict__ src, U* __restrict__ dst, const I* __restrict__ ind, int64_t n,
                             int64_t count, int64_t inner, int64_t axisExt, FastDiv divInner, FastDiv divCount) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r, j, o;
    if constexpr (k32) {
      uint32_t t = divInner.div(static_cast<uint32_t>(i));
      r = static_cast<uint32_t>(i) - t * divInner.d;
      uint32_t oo = divCount.div(t);
      j = t - oo * divCount.d;
      o = oo;
    } else {
      int64_t t = i / inner;
      r = i - t * inner;
      o = t / count;
      j = t - o * count;
    }
    int64_t k = static_cast<int64_t>(ind[j]);
    if (k < 0) k += axisExt;
    dst[i] = (k >= 0 && k < axisExt) ? src[(o * axisExt + k) * inner + r] : U{};
  }
}

class GatherKernel final : public Kernel {
 public:
  explicit GatherKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndex(ind, "Gather");
    int64_t axis = normAxis(axis_, x.rank(), "Gather");
    int64_t outer = 1, inner = 1, n = x.dim(axis);
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    if (y.numel != outer * ind.numel * inner) invalid("Gather: output size mismatch");
    if (y.numel == 0) return;
    std::size_t es = dataTypeSize(x.dtype);
    // widen the copied rows
    for (std::size_t w = 16; w > es; w /= 2) {
      int64_t k = static_cast<int64_t>(w / es);
      if (inner % k == 0 && reinterpret_cast<uintptr_t>(x.data) % w == 0 && reinterpret_cast<uintptr_t>(y.data) % w == 0) {
        inner /= k;
        es = w;
        break;
      }
    }
    const int64_t total = outer * ind.numel * inner;
    const bool k32 = fits32(total) && fits32(x.numel);
    FastDiv dI, dC;
    if (k32) {
      dI = FastDiv(static_cast<uint32_t>(inner));
      dC = FastDiv(static_cast<uint32_t>(ind.numel));
    }
    cudaStream_t s = streamOf(ctx);
    unsigned grid = blocksFor(total, kThreads);
    auto go = [&](auto u) {
      using U = decltype(u);
      dispatchIndex(ind.dtype, [&](auto it) {
        using I = decltype(it);
        if (k32)
          gatherKernel<U, I, true><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), ind.as<const I>(), total, ind.numel,
                                                             inner, n, dI, dC);
        else
          gatherKernel<U, I, false><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), ind.as<const I>(), total,
                                                              ind.numel, inner, n, dI, dC);
      });
    };
    switch (es) {
      case 1: go(uint8_t{}); break;
      case 2: go(uint16_t{}); break;
      case 4: go(uint32_t{}); break;
      case 8: go(uint64_t{}); break;
      default: go(uint4{}); break;
    }
    checkLaunch("Gather");
  }

 private:
  int64_t axis_;
};

// ---- GatherElements / ScatterElements ------------------------------------------------------------------
struct ElemArgs {
  int32_t rank, axis;
  int64_t ext[kMaxDims];      // the indices' shape
  int64_t xstride[kMaxDims];  // the data's strides
  int64_t axisExt;
};

//! Offset into the data of index element i, or -1 if its index is out of range.
template <class I>
__device__ inline int64_t elemOffset(const ElemArgs& p, const I* ind, int64_t i) {
  int64_t rem = i, off = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    int64_t q = rem / p.ext[d], c = rem - q * p.ext[d];
    rem = q;
    if (d == p.axis) {
      c = static_cast<int64_t>(ind[i]);
      if (c < 0) c += p.axisExt;
      if (c < 0 || c >= p.axisExt) return -1;
    }
    off += c * p.xstride[d];
  }
  return off;
}

template <class U, class I>
__global__ void gatherElementsKernel(const U* __restrict__ src, U* __restrict__ dst, const I* __restrict__ ind, ElemArgs p,
                                     int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t off = elemOffset(p, ind, i);
    dst[i] = off >= 0 ? src[off] : U{};
  }
}

template <class T, class I>
__global__ void scatterElementsKernel(T* __restrict__ dst, const I* __restrict__ ind, const T* __restrict__ upd, ElemArgs p,
                                      int64_t n, int32_t red) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t off = elemOffset(p, ind, i);
    if (off < 0) continue;
    T v = upd[i];
    if (red == kRedNone) dst[off] = v;
    else atomicApply(dst + off, [&](T cur) { return reduceOp(cur, v, red); });
  }
}

ElemArgs elemArgs(const TensorView& x, const TensorView& ind, int64_t axis, const char* op) {
  if (x.rank() != ind.rank()) invalid(std::string(op) + ": shape mismatch");
  if (x.rank() > kMaxDims) unsupported(std::string(op) + ": rank above 8");
  ElemArgs p{};
  p.rank = static_cast<int32_t>(x.rank());
  p.axis = static_cast<int32_t>(axis);
  p.axisExt = x.dim(axis);
  std::vector<int64_t> st = stridesOf(x.shape);
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d != axis && ind.dim(d) > x.dim(d)) invalid(std::string(op) + ": indices extent exceeds the data's on dim " + std::to_string(d));
    p.ext[d] = ind.dim(d);
    p.xstride[d] = st[static_cast<size_t>(d)];
  }
  return p;
}

class GatherElementsKernel final : public Kernel {
 public:
  explicit GatherElementsKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndex(ind, "GatherElements");
    int64_t axis = normAxis(axis_, x.rank(), "GatherElements");
    ElemArgs p = elemArgs(x, ind, axis, "GatherElements");
    if (y.numel != ind.numel) invalid("GatherElements: shape mismatch");
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchBySize(dataTypeSize(x.dtype), [&](auto u) {
      using U = decltype(u);
      dispatchIndex(ind.dtype, [&](auto it) {
        using I = decltype(it);
        gatherElementsKernel<U, I><<<blocksFor(y.numel), kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), ind.as<const I>(), p, y.numel);
      });
    });
    checkLaunch("GatherElements");
  }

 private:
  int64_t axis_;
};

int32_t parseReduction(const ir::Node& node) {
  std::string r = node.attrs.getString("reduction", "none");
  if (r == "none") return kRedNone;
  if (r == "add") return kRedAdd;
  if (r == "mul") return kRedMul;
  if (r == "max") return kRedMax;
  if (r == "min") return kRedMin;
  unsupported("unknown reduction '" + r + "'");
}

class ScatterElementsKernel final : public Kernel {
 public:
  explicit ScatterElementsKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 0)), red_(parseReduction(node)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    requireIndex(ind, "ScatterElements");
    if (ind.rank() != upd.rank() || ind.numel != upd.numel || y.numel != x.numel) invalid("ScatterElements: shape mismatch");
    for (int64_t d = 0; d < ind.rank(); ++d)
      if (ind.dim(d) != upd.dim(d)) invalid("ScatterElements: indices and updates differ in shape");
    int64_t axis = normAxis(axis_, x.rank(), "ScatterElements");
    ElemArgs p = elemArgs(x, ind, axis, "ScatterElements");
    cudaStream_t s = streamOf(ctx);
    if (x.bytes() && x.data != y.data) KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, s));
    if (ind.numel == 0) return;
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      dispatchIndex(ind.dtype, [&](auto it) {
        using I = decltype(it);
        scatterElementsKernel<T, I><<<blocksFor(ind.numel), kThreads, 0, s>>>(y.as<T>(), ind.as<const I>(), upd.as<const T>(), p,
                                                                             ind.numel, red_);
      });
    });
    checkLaunch("ScatterElements");
  }

 private:
  int64_t axis_;
  int32_t red_;
};

// ---- GatherND / ScatterND ----------------------------------------------------------------------------
struct NDArgs {
  int64_t count{1}, m{0}, slice{1}, batchStride{0};
  int64_t dims[kMaxDims]{}, strides[kMaxDims]{};
};

//! Offset of index tuple `tuple` (without the batch part), or -1 if out of range.
template <class I>
__device__ inline int64_t ndOffset(const NDArgs& g, const I* ind, int64_t tuple) {
  int64_t off = 0;
  for (int64_t k = 0; k < g.m; ++k) {
    int64_t v = static_cast<int64_t>(ind[tuple * g.m + k]);
    if (v < 0) v += g.dims[k];
    if (v < 0 || v >= g.dims[k]) return -1;
    off += v * g.strides[k];
  }
  return off;
}

template <class U, class I>
__global__ void gatherNDKernel(const U* __restrict__ src, U* __restrict__ dst, const I* __restrict__ ind, NDArgs g, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t tuple = i / g.slice, s = i - tuple * g.slice;
    int64_t bi = tuple / g.count;
    int64_t off = ndOffset(g, ind, tuple);
    dst[i] = off >= 0 ? src[bi * g.batchStride + off + s] : U{};
  }
}

template <class T, class I>
__global__ void scatterNDKernel(T* __restrict__ dst, const I* __restrict__ ind, const T* __restrict__ upd, NDArgs g, int64_t n,
                                int32_t red) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t tuple = i / g.slice, s = i - tuple * g.slice;
    int64_t off = ndOffset(g, ind, tuple);
    if (off < 0) continue;
    T v = upd[i];
    if (red == kRedNone) dst[off + s] = v;
    else atomicApply(dst + off + s, [&](T cur) { return reduceOp(cur, v, red); });
  }
}

class GatherNDKernel final : public Kernel {
 public:
  explicit GatherNDKernel(const ir::Node& node) : b_(node.attrs.getInt("batch_dims", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    requireIndex(ind, "GatherND");
    int64_t r = x.rank(), q = ind.rank(), b = b_;
    if (q < 1) invalid("GatherND: indices must have rank >= 1");
    NDArgs g;
    g.m = ind.dim(q - 1);
    if (b < 0 || b >= std::min(r, q) || g.m > r - b) invalid("GatherND: bad batch_dims or index length");
    std::vector<int64_t> st = stridesOf(x.shape);
    int64_t batches = 1;
    for (int64_t d = 0; d < b; ++d) {
      if (x.dim(d) != ind.dim(d)) invalid("GatherND: batch dims differ");
      batches *= x.dim(d);
    }
    for (int64_t d = b; d < q - 1; ++d) g.count *= ind.dim(d);
    for (int64_t d = b; d < b + g.m; ++d) {
      g.dims[d - b] = x.dim(d);
      g.strides[d - b] = st[static_cast<size_t>(d)];
    }
    for (int64_t d = b + g.m; d < r; ++d) g.slice *= x.dim(d);
    g.batchStride = b > 0 ? st[static_cast<size_t>(b - 1)] : 0;
    if (y.numel != batches * g.count * g.slice) invalid("GatherND: output size mismatch");
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchBySize(dataTypeSize(x.dtype), [&](auto u) {
      using U = decltype(u);
      dispatchIndex(ind.dtype, [&](auto it) {
        using I = decltype(it);
        gatherNDKernel<U, I><<<blocksFor(y.numel), kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), ind.as<const I>(), g, y.numel);
      });
    });
    checkLaunch("GatherND");
  }

 private:
  int64_t b_;
};

class ScatterNDKernel final : public Kernel {
 public:
  explicit ScatterNDKernel(const ir::Node& node) : red_(parseReduction(node)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& ind = ctx.inputs[1];
    const TensorView& upd = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    requireIndex(ind, "ScatterND");
    if (ind.rank() < 1) invalid("ScatterND: indices must have rank >= 1");
    NDArgs g;
    g.m = ind.dim(ind.rank() - 1);
    if (g.m > x.rank()) invalid("ScatterND: index tuples longer than the data's rank");
    std::vector<int64_t> st = stridesOf(x.shape);
    for (int64_t d = 0; d + 1 < ind.rank(); ++d) g.count *= ind.dim(d);
    for (int64_t d = 0; d < g.m; ++d) {
      g.dims[d] = x.dim(d);
      g.strides[d] = st[static_cast<size_t>(d)];
    }
    for (int64_t d = g.m; d < x.rank(); ++d) g.slice *= x.dim(d);
    if (upd.numel != g.count * g.slice || y.numel != x.numel) invalid("ScatterND: updates have the wrong size");
    cudaStream_t s = streamOf(ctx);
    if (x.bytes() && x.data != y.data) KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, s));
    if (upd.numel == 0) return;
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      dispatchIndex(ind.dtype, [&](auto it) {
        using I = decltype(it);
        scatterNDKernel<T, I><<<blocksFor(upd.numel), kThreads, 0, s>>>(y.as<T>(), ind.as<const I>(), upd.as<const T>(), g,
                                                                        upd.numel, red_);
      });
    });
    checkLaunch("ScatterND");
  }

 private:
  int32_t red_;
};

}  // namespace

void registerGatherOps(KernelRegistry& reg) {
  reg.add("Gather", cudaTactic<GatherKernel>());
  reg.add("GatherElements", cudaTactic<GatherElementsKernel>());
  reg.add("GatherND", cudaTactic<GatherNDKernel>());
  reg.add("ScatterElements", cudaTactic<ScatterElementsKernel>());
  reg.add("ScatterND", cudaTactic<ScatterNDKernel>());
}

}  // namespace kiln::gpu::tensor
