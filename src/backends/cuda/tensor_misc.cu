// CUDA kernels: Shape, Size, ConstantOfShape, Range, EyeLike, Trilu, CumSum, OneHot, ReverseSequence.
//
// Shape/Size write values known on the host through kernel parameters (no host memory is read by a
// copy that could run after the host memory died). Range, Trilu's k and OneHot's values are read on the
// device; CumSum's axis must be a constant. ReverseSequence clamps sequence lengths into [0, time] (the
// reference throws for lengths out of range).
#include <cub/block/block_scan.cuh>

#include <algorithm>

#include "backends/cuda/tensor_device.cuh"

namespace kiln::gpu::tensor {
namespace {

constexpr int kThreads = 256;

template <class T>
constexpr bool kNumeric = !std::is_same_v<T, bool>;

// ---- Shape, Size --------------------------------------------------------------------------------------
struct Ints8 {
  int64_t v[kMaxDims];
};
__global__ void writeIntsKernel(int64_t* dst, Ints8 v, int n) {
  int i = threadIdx.x;
  if (i < n) dst[i] = v.v[i];
}

class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(const ir::Node& node)
      : hasEnd_(node.attrs.has("end")), start_(node.attrs.getInt("start", 0)), end_(node.attrs.getInt("end", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    int64_t r = x.rank();
    int64_t s = start_ < 0 ? start_ + r : start_, e = hasEnd_ ? (end_ < 0 ? end_ + r : end_) : r;
    s = std::clamp<int64_t>(s, 0, r);
    e = std::clamp<int64_t>(e, 0, r);
    const TensorView& y = ctx.outputs[0];
    if (y.numel != std::max<int64_t>(e - s, 0)) invalid("Shape: output size mismatch");
    if (y.numel == 0) return;
    if (y.numel > kMaxDims) unsupported("Shape: rank above 8");
    Ints8 v{};
    for (int64_t i = s; i < e; ++i) v.v[i - s] = x.dim(i);
    writeIntsKernel<<<1, kMaxDims, 0, streamOf(ctx)>>>(y.as<int64_t>(), v, static_cast<int>(y.numel));
    checkLaunch("Shape");
  }

 private:
  bool hasEnd_;
  int64_t start_, end_;
};

class SizeKernel final : public Kernel {
 public:
  explicit SizeKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    Ints8 v{};
    v.v[0] = ctx.inputs[0].numel;
    writeIntsKernel<<<1, kMaxDims, 0, streamOf(ctx)>>>(ctx.outputs[0].as<int64_t>(), v, 1);
    checkLaunch("Size");
  }
};

// ---- ConstantOfShape, EyeLike --------------------------------------------------------------------------
template <class U>
__global__ void fillKernel(U* __restrict__ dst, int64_t n, U v) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    dst[i] = v;
}

class ConstantOfShapeKernel final : public Kernel {
 public:
  explicit ConstantOfShapeKernel(const ir::Node& node) {
    auto v = node.attrs.getTensor("value");
    if (v && v->numel() != 1) unsupported("ConstantOfShape: value must have one element");
    if (v) std::memcpy(&bits_, v->raw(), dataTypeSize(v->dtype));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    if (bits_ == 0) {
      KILN_CUDA_CHECK(cudaMemsetAsync(y.data, 0, y.bytes(), s));
      return;
    }
    dispatchBySize(dataTypeSize(y.dtype), [&](auto u) {
      using U = decltype(u);
      U v;
      std::memcpy(&v, &bits_, sizeof(U));
      fillKernel<U><<<blocksFor(y.numel, kThreads), kThreads, 0, s>>>(y.as<U>(), y.numel, v);
    });
    checkLaunch("ConstantOfShape");
  }

 private:
  uint64_t bits_{0};
};

template <class T>
__global__ void eyeKernel(T* __restrict__ dst, int64_t n, int64_t m, int64_t k) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n * m;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r = i / m, c = i - r * m;
    dst[i] = fromD<T>(c == r + k ? 1.0 : 0.0);
  }
}

class EyeLikeKernel final : public Kernel {
 public:
  explicit EyeLikeKernel(const ir::Node& node) : k_(node.attrs.getInt("k", 0)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    if (y.rank() != 2) invalid("EyeLike: output must be 2-D");
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(y.dtype, [&](auto tag) {
      using T = decltype(tag);
      eyeKernel<T><<<blocksFor(y.numel, kThreads), kThreads, 0, s>>>(y.as<T>(), y.dim(0), y.dim(1), k_);
    });
    checkLaunch("EyeLike");
  }

 private:
  int64_t k_;
};

// ---- Range ---------------------------------------------------------------------------------------------
template <class T>
__global__ void rangeKernel(T* __restrict__ dst, int64_t n, const T* start, const T* delta) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    if constexpr (std::is_integral_v<T>) {
      dst[i] = static_cast<T>(static_cast<int64_t>(*start) + i * static_cast<int64_t>(*delta));
    } else {
      dst[i] = fromD<T>(toD(*start) + static_cast<double>(i) * toD(*delta));
    }
  }
}

class RangeKernel final : public Kernel {
 public:
  explicit RangeKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    for (int i = 0; i < 3; ++i)
      if (ctx.inputs[static_cast<size_t>(i)].numel != 1 || ctx.inputs[static_cast<size_t>(i)].dtype != y.dtype)
        invalid("Range: start, limit and delta must be scalars of the output's type");
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(y.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kNumeric<T>)
        rangeKernel<T><<<blocksFor(y.numel, kThreads), kThreads, 0, s>>>(y.as<T>(), y.numel, ctx.inputs[0].as<const T>(),
                                                                        ctx.inputs[2].as<const T>());
      else
        unsupported("Range: bool is not supported");
    });
    checkLaunch("Range");
  }
};

// ---- Trilu ---------------------------------------------------------------------------------------------
template <class U, class K>
__global__ void triluKernel(const U* __restrict__ src, U* __restrict__ dst, int64_t total, int64_t n, int64_t m,
                            const K* kp, bool upper) {
  const int64_t k = kp ? static_cast<int64_t>(*kp) : 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t j = i % m, r = (i / m) % n;
    bool keep = upper ? (j - r >= k) : (j - r <= k);
    dst[i] = keep ? src[i] : U{};
  }
}

class TriluKernel final : public Kernel {
 public:
  explicit TriluKernel(const ir::Node& node) : upper_(node.attrs.getInt("upper", 1) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 2) invalid("Trilu: input must have rank >= 2");
    const TensorView* kv = present(ctx, 1) ? &ctx.inputs[1] : nullptr;
    if (kv && kv->numel != 1) invalid("Trilu: k must be a scalar");
    if (kv && kv->dtype != DataType::kINT64 && kv->dtype != DataType::kINT32) invalid("Trilu: k must be int64");
    if (x.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    int64_t n = x.dim(x.rank() - 2), m = x.dim(x.rank() - 1);
    dispatchBySize(dataTypeSize(x.dtype), [&](auto u) {
      using U = decltype(u);
      unsigned grid = blocksFor(x.numel, kThreads);
      if (kv && kv->dtype == DataType::kINT32)
        triluKernel<U, int32_t><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), x.numel, n, m, kv->as<const int32_t>(), upper_);
      else
        triluKernel<U, int64_t><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), x.numel, n, m,
                                                          kv ? kv->as<const int64_t>() : nullptr, upper_);
    });
    checkLaunch("Trilu");
  }

 private:
  bool upper_;
};

// ---- CumSum --------------------------------------------------------------------------------------------
template <class T>
using ScanAcc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
template <class T>
__device__ inline ScanAcc<T> scanLoad(T v) {
  if constexpr (std::is_integral_v<T>) return static_cast<uint64_t>(static_cast<int64_t>(v));
  else return toD(v);
}
template <class T>
__device__ inline T scanStore(ScanAcc<T> a) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(a);
  else return fromD<T>(a);
}

//! One thread per line (inner > 1: neighbouring threads read neighbouring elements).
template <class T>
__global__ void cumsumLines(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t len, int64_t inner,
                            bool exclusive, bool reverse) {
  for (int64_t line = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; line < outer * inner;
       line += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t o = line / inner, i = line - o * inner;
    ScanAcc<T> acc{};
    for (int64_t s = 0; s < len; ++s) {
      int64_t j = reverse ? len - 1 - s : s;
      int64_t off = (o * len + j) * inner + i;
      ScanAcc<T> v = scanLoad(x[off]);
      if (exclusive) {
        y[off] = scanStore<T>(acc);
        acc += v;
      } else {
        acc += v;
        y[off] = scanStore<T>(acc);
      }
    }
  }
}

//! One block per row (inner == 1): a block-wide scan in chunks with a running carry.
template <class T>
__global__ void cumsumRows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t len, bool exclusive,
                           bool reverse) {
  using Acc = ScanAcc<T>;
  using Scan = cub::BlockScan<Acc, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  __shared__ Acc carry;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    if (threadIdx.x == 0) carry = Acc{};
    __syncthreads();
    for (int64_t base = 0; base < len; base += kThreads) {
      int64_t s = base + threadIdx.x;
      int64_t j = reverse ? len - 1 - s : s;
      Acc v = s < len ? scanLoad(x[row * len + j]) : Acc{};
      Acc ex, total;
      Scan(tmp).ExclusiveSum(v, ex, total);
      Acc c = carry;
      if (s < len) y[row * len + j] = scanStore<T>(exclusive ? c + ex : c + ex + v);
      __syncthreads();
      if (threadIdx.x == 0) carry = c + total;
      __syncthreads();
    }
  }
}

bool cumsumSupports(const ir::Node& n, std::string* why) {
  if (!hasInput(n, 1) || !n.inputs[1]->isConstant()) {
    if (why) *why = "'axis' must be a constant on the GPU";
    return false;
  }
  return true;
}

class CumSumKernel final : public Kernel {
 public:
  explicit CumSumKernel(const ir::Node& node)
      : exclusive_(node.attrs.getInt("exclusive", 0) != 0), reverse_(node.attrs.getInt("reverse", 0) != 0) {
    std::vector<int64_t> a;
    if (!constantInts(node, 1, &a)) unsupported("CumSum: 'axis' must be a constant on the GPU");
    if (a.size() != 1) unsupported("CumSum: axis must be a scalar");
    axis_ = a[0];
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    int64_t axis = normAxis(axis_, x.rank(), "CumSum");
    if (x.numel == 0) return;
    int64_t len = x.dim(axis), inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    int64_t outer = x.numel / (len * inner);
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kNumeric<T>) {
        if (inner == 1 && len >= 64)
          cumsumRows<T><<<static_cast<unsigned>(std::min<int64_t>(outer, 65535LL * 16)), kThreads, 0, s>>>(
              x.as<const T>(), y.as<T>(), outer, len, exclusive_, reverse_);
        else
          cumsumLines<T><<<blocksFor(outer * inner, kThreads), kThreads, 0, s>>>(x.as<const T>(), y.as<T>(), outer, len, inner,
                                                                                exclusive_, reverse_);
      } else {
        unsupported("CumSum: bool is not supported");
      }
    });
    checkLaunch("CumSum");
  }

 private:
  bool exclusive_, reverse_;
  int64_t axis_{0};
};

// ---- OneHot --------------------------------------------------------------------------------------------
__device__ inline int64_t loadIndexAny(const void* p, int64_t i, int32_t dt) {
  switch (static_cast<DataType>(dt)) {
    case DataType::kFLOAT: return static_cast<int64_t>(static_cast<double>(static_cast<const float*>(p)[i]));
    case DataType::kDOUBLE: return static_cast<int64_t>(static_cast<const double*>(p)[i]);
    case DataType::kHALF: return static_cast<int64_t>(__half2float(static_cast<const __half*>(p)[i]));
    case DataType::kBF16: return static_cast<int64_t>(__bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]));
    case DataType::kINT8: return static_cast<const int8_t*>(p)[i];
    case DataType::kINT16: return static_cast<const int16_t*>(p)[i];
    case DataType::kINT32: return static_cast<const int32_t*>(p)[i];
    case DataType::kUINT8: return static_cast<const uint8_t*>(p)[i];
    case DataType::kUINT16: return static_cast<const uint16_t*>(p)[i];
    case DataType::kUINT32: return static_cast<const uint32_t*>(p)[i];
    case DataType::kUINT64: return static_cast<int64_t>(static_cast<double>(static_cast<const uint64_t*>(p)[i]));
    case DataType::kINT64: return static_cast<int64_t>(static_cast<double>(static_cast<const int64_t*>(p)[i]));
    default: return static_cast<const uint8_t*>(p)[i];
  }
}

template <class U>
__global__ void oneHotKernel(const void* __restrict__ ind, int32_t indType, const U* __restrict__ vals, U* __restrict__ dst,
                             int64_t total, int64_t depth, int64_t inner) {
  const U off = vals[0], on = vals[1];
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t in = i % inner, t = i / inner, d = t % depth, o = t / depth;
    int64_t v = loadIndexAny(ind, o * inner + in, indType);
    if (v < 0) v += depth;
    dst[i] = v == d ? on : off;
  }
}

class OneHotKernel final : public Kernel {
 public:
  explicit OneHotKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", -1)) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& ind = ctx.inputs[0];
    const TensorView& vals = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    if (vals.numel != 2 || vals.dtype != y.dtype) invalid("OneHot: values must have 2 elements of the output's type");
    if (ind.dtype == DataType::kBOOL) invalid("OneHot: bool indices are not supported");
    int64_t r = ind.rank() + 1;
    int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis >= r || y.rank() != r) invalid("OneHot: axis out of range");
    int64_t depth = y.dim(axis), inner = 1;
    for (int64_t d = axis; d < ind.rank(); ++d) inner *= ind.dim(d);
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchBySize(dataTypeSize(y.dtype), [&](auto u) {
      using U = decltype(u);
      oneHotKernel<U><<<blocksFor(y.numel, kThreads), kThreads, 0, s>>>(ind.data, static_cast<int32_t>(ind.dtype), vals.as<const U>(),
                                                                       y.as<U>(), y.numel, depth, inner);
    });
    checkLaunch("OneHot");
  }

 private:
  int64_t axis_;
};

// ---- ReverseSequence -----------------------------------------------------------------------------------
template <class U, class L>
__global__ void reverseSeqKernel(const U* __restrict__ src, U* __restrict__ dst, const L* __restrict__ lens, int64_t total,
                                 int64_t chunk, int64_t nb, int64_t nt, bool timeFirst) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t q = i / chunk, r = i - q * chunk, b, t;
    if (timeFirst) {
      t = q / nb;
      b = q - t * nb;
    } else {
      b = q / nt;
      t = q - b * nt;
    }
    int64_t len = static_cast<int64_t>(lens[b]);
    len = len < 0 ? 0 : (len > nt ? nt : len);
    int64_t st = t < len ? len - 1 - t : t;
    int64_t pos = timeFirst ? st * nb + b : b * nt + st;
    dst[i] = src[pos * chunk + r];
  }
}

class ReverseSequenceKernel final : public Kernel {
 public:
  explicit ReverseSequenceKernel(const ir::Node& node)
      : batchAxis_(node.attrs.getInt("batch_axis", 1)), timeAxis_(node.attrs.getInt("time_axis", 0)) {
    if (!((batchAxis_ == 0 && timeAxis_ == 1) || (batchAxis_ == 1 && timeAxis_ == 0)))
      unsupported("ReverseSequence: batch_axis/time_axis must be 0 and 1");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const TensorView& lens = ctx.inputs[1];
    if (x.rank() < 2) invalid("ReverseSequence: input must have rank >= 2");
    int64_t nb = x.dim(batchAxis_), nt = x.dim(timeAxis_);
    if (lens.numel != nb) invalid("ReverseSequence: sequence_lens length != batch size");
    if (lens.dtype != DataType::kINT64 && lens.dtype != DataType::kINT32) invalid("ReverseSequence: sequence_lens must be int64");
    if (x.numel == 0) return;
    std::size_t es = dataTypeSize(x.dtype);
    int64_t chunk = x.numel / (nb * nt);
    for (std::size_t w = 16; w > es; w /= 2) {
      int64_t k = static_cast<int64_t>(w / es);
      if (chunk % k == 0 && reinterpret_cast<uintptr_t>(x.data) % w == 0 && reinterpret_cast<uintptr_t>(y.data) % w == 0) {
        chunk /= k;
        es = w;
        break;
      }
    }
    const int64_t total = chunk * nb * nt;
    cudaStream_t s = streamOf(ctx);
    auto go = [&](auto u) {
      using U = decltype(u);
      unsigned grid = blocksFor(total, kThreads);
      if (lens.dtype == DataType::kINT32)
        reverseSeqKernel<U, int32_t><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), lens.as<const int32_t>(), total, chunk,
                                                               nb, nt, timeAxis_ == 0);
      else
        reverseSeqKernel<U, int64_t><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), lens.as<const int64_t>(), total, chunk,
                                                               nb, nt, timeAxis_ == 0);
    };
    switch (es) {
      case 1: go(uint8_t{}); break;
      case 2: go(uint16_t{}); break;
      case 4: go(uint32_t{}); break;
      case 8: go(uint64_t{}); break;
      default: go(uint4{}); break;
    }
    checkLaunch("ReverseSequence");
  }

 private:
  int64_t batchAxis_, timeAxis_;
};

}  // namespace

void registerMiscOps(KernelRegistry& reg) {
  reg.add("Shape", cudaTactic<ShapeKernel>());
  reg.add("Size", cudaTactic<SizeKernel>());
  reg.add("ConstantOfShape", cudaTactic<ConstantOfShapeKernel>());
  reg.add("EyeLike", cudaTactic<EyeLikeKernel>());
  reg.add("Range", cudaTactic<RangeKernel>());
  reg.add("Trilu", cudaTactic<TriluKernel>());
  reg.add("CumSum", cudaTactic<CumSumKernel>(&cumsumSupports));
  reg.add("OneHot", cudaTactic<OneHotKernel>());
  reg.add("ReverseSequence", cudaTactic<ReverseSequenceKernel>());
}

}  // namespace kiln::gpu::tensor
