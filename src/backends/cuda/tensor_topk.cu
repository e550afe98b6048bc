// CUDA kernel: TopK (K must be a constant on the GPU).
//
// Every row along the axis is sorted with CUB's stable radix sort on order-preserving unsigned keys (NaN
// maps above +inf, -0 to +0), descending for largest=1: ties keep the lower index first and NaN ranks
// above every number, like the reference. One row uses the device-wide sort, several rows the segmented
// sort. Then the first K of each row are written (values and int32/int64 indices).
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <algorithm>

#include "backends/cuda/tensor_device.cuh"

namespace kiln::gpu::tensor {
namespace {

constexpr int kThreads = 256;

template <class T>
using KeyOf = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;

template <class T>
__device__ inline KeyOf<T> sortKey(T v) {
  if constexpr (std::is_same_v<T, double>) {
    if (isnan(v)) return ~uint64_t{0};
    if (v == 0) v = 0;  // -0 ties with +0
    uint64_t u = __double_as_longlong(v);
    return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
  } else if constexpr (kIsFloat<T>) {
    float f = static_cast<float>(toD(v));
    if (isnan(f)) return ~uint32_t{0};
    if (f == 0) f = 0;
    uint32_t u = __float_as_uint(f);
    return (u >> 31) ? ~u : (u | 0x80000000u);
  } else if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 8) return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
    else return static_cast<uint32_t>(static_cast<int32_t>(v)) ^ 0x80000000u;
  } else {
    return static_cast<KeyOf<T>>(v);
  }
}

template <class T>
__global__ void keysKernel(const T* __restrict__ x, KeyOf<T>* __restrict__ keys, int32_t* __restrict__ vals, int64_t items,
                           int64_t n, int64_t inner) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < items;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t row = e / n, j = e - row * n, o = row / inner, i = row - o * inner;
    keys[e] = sortKey(x[(o * n + j) * inner + i]);
    vals[e] = static_cast<int32_t>(j);
  }
}

__global__ void offsetsKernel(int32_t* __restrict__ off, int64_t rows, int64_t n) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r <= rows;
       r += static_cast<int64_t>(blockDim.x) * gridDim.x)
    off[r] = static_cast<int32_t>(r * n);
}

template <class T, class I>
__global__ void topkOutKernel(const T* __restrict__ x, const int32_t* __restrict__ order, T* __restrict__ vals,
                              I* __restrict__ idx, int64_t total, int64_t n, int64_t k, int64_t inner) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    // e enumerates the output in its own layout: (o, j, i)
    int64_t i = e % inner, t = e / inner, j = t % k, o = t / k;
    int64_t row = o * inner + i;
    int64_t src = order[row * n + j];
    vals[e] = x[(o * n + src) * inner + i];
    idx[e] = static_cast<I>(src);
  }
}

constexpr size_t alignUp(size_t v) { return (v + 255) / 256 * 256; }

struct Layout {
  size_t keysIn, keysOut, valsIn, valsOut, offsets, temp, total;
};

bool topkSupports(const ir::Node& n, std::string* why) {
  if (!hasInput(n, 1) || !n.inputs[1]->isConstant()) {
    if (why) *why = "K must be a constant on the GPU";
    return false;
  }
  if (!n.inputs.empty() && n.inputs[0] && n.inputs[0]->dtype == DataType::kBOOL) {
    if (why) *why = "bool is not supported";
    return false;
  }
  return true;
}

class TopKKernel final : public Kernel {
 public:
  explicit TopKKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", -1)), largest_(node.attrs.getInt("largest", 1) != 0) {
    std::vector<int64_t> kv;
    if (!constantInts(node, 1, &kv)) unsupported("TopK: K must be a constant on the GPU");
    if (kv.size() != 1) unsupported("TopK: K must have one element");
    k_ = kv[0];
  }

  std::size_t workspaceSize(std::span<const TensorView> inputs, std::span<const TensorView>) const override {
    return layout(inputs[0]).total;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& vals = ctx.outputs[0];
    const TensorView& idx = ctx.outputs[1];
    int64_t axis = normAxis(axis_, x.rank(), "TopK");
    int64_t n = x.dim(axis), k = k_;
    if (k < 0 || k > n) invalid("TopK: K = " + std::to_string(k) + " is out of [0, " + std::to_string(n) + "]");
    if (vals.dim(axis) != k || idx.dim(axis) != k || (idx.dtype != DataType::kINT32 && idx.dtype != DataType::kINT64))
      invalid("TopK: output shape/type mismatch");
    if (vals.numel == 0) return;
    Layout L = layout(x);
    if (ctx.workspaceBytes < L.total) invalid("TopK: workspace too small");
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t rows = x.numel / n, items = x.numel;
    char* ws = static_cast<char*>(ctx.workspace);
    int32_t* valsIn = reinterpret_cast<int32_t*>(ws + L.valsIn);
    int32_t* valsOut = reinterpret_cast<int32_t*>(ws + L.valsOut);
    int32_t* offsets = reinterpret_cast<int32_t*>(ws + L.offsets);
    size_t tempBytes = L.total - L.temp;
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        unsupported("TopK: bool is not supported");
      } else {
        using K = KeyOf<T>;
        K* keysIn = reinterpret_cast<K*>(ws + L.keysIn);
        K* keysOut = reinterpret_cast<K*>(ws + L.keysOut);
        keysKernel<T><<<blocksFor(items, kThreads), kThreads, 0, s>>>(x.as<const T>(), keysIn, valsIn, items, n, inner);
        checkLaunch("TopK keys");
        int num = static_cast<int>(items);
        if (rows == 1) {
          if (largest_)
            KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(ws + L.temp, tempBytes, keysIn, keysOut, valsIn, valsOut, num,
                                                                      0, static_cast<int>(sizeof(K) * 8), s));
          else
            KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(ws + L.temp, tempBytes, keysIn, keysOut, valsIn, valsOut, num, 0,
                                                            static_cast<int>(sizeof(K) * 8), s));
        } else {
          offsetsKernel<<<blocksFor(rows + 1, kThreads), kThreads, 0, s>>>(offsets, rows, n);
          checkLaunch("TopK offsets");
          int segs = static_cast<int>(rows);
          if (largest_)
            KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(ws + L.temp, tempBytes, keysIn, keysOut, valsIn,
                                                                               valsOut, num, segs, offsets, offsets + 1, 0,
                                                                               static_cast<int>(sizeof(K) * 8), s));
          else
            KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(ws + L.temp, tempBytes, keysIn, keysOut, valsIn, valsOut, num,
                                                                     segs, offsets, offsets + 1, 0,
                                                                     static_cast<int>(sizeof(K) * 8), s));
        }
        unsigned grid = blocksFor(vals.numel, kThreads);
        if (idx.dtype == DataType::kINT32)
          topkOutKernel<T, int32_t><<<grid, kThreads, 0, s>>>(x.as<const T>(), valsOut, vals.as<T>(), idx.as<int32_t>(), vals.numel,
                                                              n, k, inner);
        else
          topkOutKernel<T, int64_t><<<grid, kThreads, 0, s>>>(x.as<const T>(), valsOut, vals.as<T>(), idx.as<int64_t>(), vals.numel,
                                                              n, k, inner);
        checkLaunch("TopK");
      }
    });
  }

 private:
  Layout layout(const TensorView& x) const {
    Layout L{};
    if (x.rank() == 0 || x.numel == 0) return L;
    int64_t axis = normAxis(axis_, x.rank(), "TopK");
    int64_t n = x.dim(axis), items = x.numel, rows = items / std::max<int64_t>(n, 1);
    if (items >= (int64_t{1} << 31) - 1) unsupported("TopK: inputs of 2^31 elements or more are not supported on the GPU");
    const size_t ks = dataTypeSize(x.dtype) == 8 ? 8 : 4;
    size_t off = 0;
    L.keysIn = off;
    off = alignUp(off + static_cast<size_t>(items) * ks);
    L.keysOut = off;
    off = alignUp(off + static_cast<size_t>(items) * ks);
    L.valsIn = off;
    off = alignUp(off + static_cast<size_t>(items) * 4);
    L.valsOut = off;
    off = alignUp(off + static_cast<size_t>(items) * 4);
    L.offsets = off;
    off = alignUp(off + static_cast<size_t>(rows + 1) * 4);
    L.temp = off;
    size_t temp = 0;
    int num = static_cast<int>(items), segs = static_cast<int>(rows);
    auto query = [&](auto key) {
      using K = decltype(key);
      K* kp = nullptr;
      int32_t* vp = nullptr;
      int32_t* op = nullptr;
      if (rows == 1) {
        if (largest_) cub::DeviceRadixSort::SortPairsDescending(nullptr, temp, kp, kp, vp, vp, num, 0, static_cast<int>(sizeof(K) * 8));
        else cub::DeviceRadixSort::SortPairs(nullptr, temp, kp, kp, vp, vp, num, 0, static_cast<int>(sizeof(K) * 8));
      } else {
        if (largest_)
          cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, temp, kp, kp, vp, vp, num, segs, op, op + 1, 0,
                                                             static_cast<int>(sizeof(K) * 8));
        else
          cub::DeviceSegmentedRadixSort::SortPairs(nullptr, temp, kp, kp, vp, vp, num, segs, op, op + 1, 0,
                                                   static_cast<int>(sizeof(K) * 8));
      }
    };
    if (ks == 8) query(uint64_t{});
    else query(uint32_t{});
    L.total = off + alignUp(temp);
    return L;
  }

  int64_t axis_;
  bool largest_;
  int64_t k_{0};
};

}  // namespace

void registerTopKOps(KernelRegistry& reg) { reg.add("TopK", cudaTactic<TopKKernel>(&topkSupports)); }

}  // namespace kiln::gpu::tensor
