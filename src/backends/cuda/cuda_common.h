// What every CUDA kernel family of kiln shares: error checks, the stream of a run, launch geometry,
// element types on the device, handles of the vendor libraries, and the family registration functions.
#pragma once

#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>

#include "backends/kernel.h"
#include "kiln/types.h"

struct cudnnContext;     // cudnnHandle_t is cudnnContext*
struct cublasLtContext;  // cublasLtHandle_t is cublasLtContext*

namespace kiln::gpu {

using backend::Kernel;
using backend::KernelContext;
using backend::KernelRegistry;
using backend::Tactic;
using backend::TensorView;

[[noreturn]] void throwCuda(cudaError_t err, const char* expr, const char* file, int line);

#define KILN_CUDA_CHECK(expr)                                                       \
  do {                                                                              \
    cudaError_t kiln_err_ = (expr);                                                 \
    if (kiln_err_ != cudaSuccess) ::kiln::gpu::throwCuda(kiln_err_, #expr, __FILE__, __LINE__); \
  } while (0)

//! After a launch: throws kiln::Error(kFAILED_EXECUTION) naming the kernel if the launch failed.
void checkLaunch(const char* kernelName);

inline cudaStream_t streamOf(const KernelContext& ctx) { return static_cast<cudaStream_t>(ctx.stream); }

//! Blocks for n elements with `threads` threads each, capped for grid-stride loops.
inline unsigned blocksFor(int64_t n, int threads = 256, int64_t cap = 65535LL * 32) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b);
}

//! The device type of a kiln element type (Half -> __half, BFloat16 -> __nv_bfloat16).
template <class F>
decltype(auto) dispatchDeviceType(DataType t, F&& f) {
  switch (t) {
    case DataType::kFLOAT: return f(float{});
    case DataType::kDOUBLE: return f(double{});
    case DataType::kHALF: return f(__half{});
    case DataType::kBF16: return f(__nv_bfloat16{});
    case DataType::kINT8: return f(int8_t{});
    case DataType::kINT16: return f(int16_t{});
    case DataType::kINT32: return f(int32_t{});
    case DataType::kINT64: return f(int64_t{});
    case DataType::kUINT8: return f(uint8_t{});
    case DataType::kUINT16: return f(uint16_t{});
    case DataType::kUINT32: return f(uint32_t{});
    case DataType::kUINT64: return f(uint64_t{});
    case DataType::kBOOL: return f(bool{});
    default: break;  // float8 / sub-byte storage types have no device kernels
  }
  throw Error(ErrorCode::kINVALID_ARGUMENT, "unknown data type " + std::to_string(static_cast<int>(t)));
}

//! Float math on any element type: load as float (double stays double), store back.
template <class T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };
template <class T>
__host__ __device__ inline typename Acc<T>::type toAcc(T v) { return static_cast<typename Acc<T>::type>(v); }
template <>
__host__ __device__ inline float toAcc<__half>(__half v) { return __half2float(v); }
template <>
__host__ __device__ inline float toAcc<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class T, class A>
__host__ __device__ inline T fromAcc(A v) { return static_cast<T>(v); }
template <>
__host__ __device__ inline __half fromAcc<__half, float>(float v) { return __float2half_rn(v); }
template <>
__host__ __device__ inline __nv_bfloat16 fromAcc<__nv_bfloat16, float>(float v) { return __float2bfloat16_rn(v); }

//! Up to 8 dims of a broadcast or strided view, passed to kernels by value.
constexpr int kMaxDims = 8;
struct DimsArg {
  int32_t rank{0};
  int64_t dims[kMaxDims]{};
  int64_t strides[kMaxDims]{};  //!< in elements; 0 on broadcast axes
};
//! Row-major strides of `shape` as seen from an output of shape `out` (numpy broadcasting: missing
//! leading dims and extent-1 dims get stride 0). Throws kiln::Error if the rank exceeds kMaxDims.
DimsArg broadcastStrides(std::span<const int64_t> shape, std::span<const int64_t> out);
DimsArg contiguous(std::span<const int64_t> shape);

// Handles of the vendor libraries, one per thread and device (created on first use, never shared
// between threads at the same time). The caller sets the stream before each use.
::cudnnContext* cudnnHandle();
::cublasLtContext* cublasLtHandle();

// Op families (src/backends/cuda/<family>*.cu), registered in kernel_registry.cpp.
void registerElementwiseKernels(KernelRegistry& reg);
void registerTensorKernels(KernelRegistry& reg);
void registerNnKernels(KernelRegistry& reg);
void registerBlasKernels(KernelRegistry& reg);
void registerCopyKernels(KernelRegistry& reg);  // copy_ops.cpp

}  // namespace kiln::gpu
