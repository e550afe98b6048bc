// Private helpers of the CUDA tensor family (src/backends/cuda/tensor*.cu, tensor*.cpp): the shared
// data-movement primitives (strided/mapped copies, tiled transposes, batched row copies) and small host
// helpers for reading constant inputs.
//
// Data movement works by element size (1/2/4/8 bytes, widened to 16 where alignment allows), so one
// kernel serves every data type.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu::tensor {

// Registration of the sub-families (called from tensor.cu).
void registerShapeOps(KernelRegistry& reg);   // tensor_shape_ops.cpp: Transpose, Shuffle, Expand, Tile, D2S, S2D
void registerSliceOps(KernelRegistry& reg);   // tensor_slice_ops.cpp: Concat, Split, Slice, StridedSlice, Pad
void registerGatherOps(KernelRegistry& reg);  // tensor_gather.cu: Gather, GatherElements, GatherND, Scatter*
void registerResizeOps(KernelRegistry& reg);  // tensor_resize.cu: Resize
void registerMiscOps(KernelRegistry& reg);    // tensor_misc.cu: Trilu, CumSum, OneHot, EyeLike, Range, ...
void registerTopKOps(KernelRegistry& reg);    // tensor_topk.cu: TopK

[[noreturn]] void invalid(const std::string& msg);      // kINVALID_ARGUMENT (bad shapes/values at run time)
[[noreturn]] void unsupported(const std::string& msg);  // kUNSUPPORTED_NODE

//! Contents of constant input k of a node as int64 (nullptr-safe: returns false if absent/not constant).
bool constantInts(const ir::Node& node, size_t k, std::vector<int64_t>* out);
//! Contents of constant input k as doubles.
bool constantDoubles(const ir::Node& node, size_t k, std::vector<double>* out);
//! Whether input k is present on the node.
inline bool hasInput(const ir::Node& node, size_t k) { return node.inputs.size() > k && node.inputs[k] != nullptr; }
//! Input k of a run is present.
inline bool present(const KernelContext& ctx, size_t k) { return ctx.inputs.size() > k && ctx.inputs[k].present; }

//! How a sampled coordinate outside [0, inExt) is handled (the kiln StridedSlice modes).
enum AxisMode : int32_t { kAffine = 0, kWrap = 1, kClamp = 2, kFill = 3, kReflect = 4 };

//! One output dim of a mapped copy: out coordinate i samples input coordinate c = start + i * step of an
//! input axis with extent inExt and element stride inStride, through `mode` when c is out of range
//! (kAffine: the caller guarantees c is in range, or inStride is 0).
struct CopyAxis {
  int64_t ext{1};
  int64_t start{0};
  int64_t step{1};
  int64_t inExt{1};
  int64_t inStride{0};
  int32_t mode{kAffine};
};

//! The core data-movement primitive: dst (contiguous, shape = the axes' extents) from src through the
//! per-axis maps. `fillDev` (a device pointer to one element, may be null) or else `fillBits` (the
//! element's bytes) give the value of kFill samples. Any number of axes (merged/dropped to <= 8
//! non-trivial ones, else kUNSUPPORTED_NODE). Picks memcpy, a tiled transpose, a vectorized strided copy
//! or a mapped copy.
void mappedCopy(const std::vector<CopyAxis>& axes, const void* src, void* dst, std::size_t elemSize,
                cudaStream_t stream, const void* fillDev = nullptr, uint64_t fillBits = 0);

//! Affine axes of a plain transpose: output dim i reads input dim perm[i] (row-major input `in`).
std::vector<CopyAxis> transposeAxes(const std::vector<int64_t>& in, const std::vector<int64_t>& perm);

//! A batched 2-D row copy: rows x rowLen elements from src (pitch srcPitch) to dst (pitch dstPitch).
struct RowCopy {
  const void* src{nullptr};
  void* dst{nullptr};
  int64_t rows{0}, rowLen{0}, srcPitch{0}, dstPitch{0};  // elements
};
//! Runs several row copies of one element size in as few launches as possible (Concat, Split).
void rowCopies(const std::vector<RowCopy>& copies, std::size_t elemSize, cudaStream_t stream);

//! 32-bit division by a run-time constant with a multiply and a shift (valid for n, d < 2^31).
struct FastDiv {
  uint32_t d{1}, m{1}, s{0};
  FastDiv() = default;
  explicit FastDiv(uint32_t divisor) : d(divisor) {
    s = 0;
    while (s < 32 && (uint64_t{1} << s) < divisor) ++s;
    m = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << s) - divisor)) / divisor + 1);
  }
  __host__ __device__ inline uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    return (__umulhi(n, m) + n) >> s;
#else
    return static_cast<uint32_t>(((static_cast<uint64_t>(n) * m >> 32) + n) >> s);
#endif
  }
};

//! Whether every index of a launch fits 32-bit math.
inline bool fits32(int64_t n) { return n >= 0 && n < (int64_t{1} << 31) - 1; }

//! Element type of a size (data movement).
template <std::size_t N> struct SizedType;
template <> struct SizedType<1> { using type = uint8_t; };
template <> struct SizedType<2> { using type = uint16_t; };
template <> struct SizedType<4> { using type = uint32_t; };
template <> struct SizedType<8> { using type = uint64_t; };
template <> struct SizedType<16> { using type = uint4; };

template <class F>
decltype(auto) dispatchBySize(std::size_t bytes, F&& f) {
  switch (bytes) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: break;
  }
  unsupported("unsupported element size " + std::to_string(bytes));
}

//! Normalizes an axis into [0, rank) or throws kINVALID_ARGUMENT.
int64_t normAxis(int64_t axis, int64_t rank, const char* op);

//! The "cuda" tactic of a kernel class constructible from a node.
template <class K>
Tactic cudaTactic(backend::SupportsFn supports = nullptr) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<K>(node); };
  t.supports = supports;
  return t;
}

//! Row-major element strides of a shape.
inline std::vector<int64_t> stridesOf(std::span<const int64_t> shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) st[d - 1] = st[d] * shape[d];
  return st;
}

//! Launch helper: checks the launch and names the kernel on failure.
inline void launched(const char* name) { checkLaunch(name); }

}  // namespace kiln::gpu::tensor
