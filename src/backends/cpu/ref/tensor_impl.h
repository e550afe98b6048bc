// Private helpers of the tensor family's reference kernels (src/backends/cpu/ref/tensor_*.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/ops/tensor_ops.h"
#include "ir/shape_utils.h"

namespace kiln::cpu::tensor_ref {

void registerShapeKernels(KernelRegistry& reg);   // tensor_shape.cpp
void registerSliceKernels(KernelRegistry& reg);   // tensor_slice.cpp
void registerGatherKernels(KernelRegistry& reg);  // tensor_gather.cpp
void registerResizeKernels(KernelRegistry& reg);  // tensor_resize.cpp

[[noreturn]] inline void invalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }
[[noreturn]] inline void unsupported(const std::string& msg) { throw Error(ErrorCode::kUNSUPPORTED_NODE, msg); }

//! Calls f(U{}) with U an unsigned integer of `bytes` bytes (1, 2, 4 or 8): data movement for every type.
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

//! Calls f(T{}) for numeric types (not bool).
template <class F>
decltype(auto) dispatchNumeric(DataType t, F&& f) {
  if (t == DataType::kBOOL) unsupported("bool is not supported by this operation");
  return dispatchType(t, std::forward<F>(f));
}

//! Calls f(T{}) for the floating-point types (float, double, half, bfloat16).
template <class F>
decltype(auto) dispatchFloat(DataType t, F&& f) {
  switch (t) {
    case DataType::kFLOAT: return f(float{});
    case DataType::kDOUBLE: return f(double{});
    case DataType::kHALF: return f(Half{});
    case DataType::kBF16: return f(BFloat16{});
    default: break;
  }
  unsupported("only floating-point types are supported by this operation");
}

//! Conversions between element types and double (Half/BFloat16 through float, bool as 0/1).
template <class T>
double toDouble(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return static_cast<double>(static_cast<float>(v));
  else return static_cast<double>(v);
}
template <class T>
T fromDouble(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return T(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}

//! Reads a shape-like (integer) tensor's contents as int64.
std::vector<int64_t> readInts(const TensorView& v);
//! Reads element i of an integer index tensor (int32 or int64).
inline int64_t indexAt(const TensorView& v, int64_t i) {
  return v.dtype == DataType::kINT32 ? static_cast<int64_t>(v.as<const int32_t>()[i]) : v.as<const int64_t>()[i];
}
inline bool isIndexType(DataType t) { return t == DataType::kINT32 || t == DataType::kINT64; }

//! The core data-movement primitive. For an output of shape `outShape` (row-major, contiguous in `dst`),
//! element (i0, ..., in) = src[tabs[0][i0] + ... + tabs[n][in]] (element offsets), or `fill` (one element,
//! may be null for zeros) when any table entry is negative. tabs[d] has outShape[d] entries.
void tableCopy(const std::vector<std::vector<int64_t>>& tabs, const void* src, void* dst, std::size_t elemSize,
               const void* fill);

//! Table of a plain strided axis: entry i = i * stride.
std::vector<int64_t> strideTable(int64_t n, int64_t stride);

//! Transposes `src` of shape `in` by `perm` into dst (out[i...] = in[perm...]).
void transposeCopy(const ir::Shape& in, const std::vector<int64_t>& perm, const void* src, void* dst,
                   std::size_t elemSize);

}  // namespace kiln::cpu::tensor_ref
