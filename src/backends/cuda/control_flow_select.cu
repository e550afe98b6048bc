// If under CUDA graph capture (control_flow.cpp): copies the taken branch's outputs into place, reading the
// condition on the device, so that a replay follows the condition's value at that time.
#include "backends/cuda/subgraph.h"

namespace kiln::gpu {
namespace {

//! How a condition's bytes are tested: 0 float, 1 double, 2 float16/bfloat16 (bits but the sign), 3 any byte.
int conditionKind(DataType t) {
  switch (t) {
    case DataType::kFLOAT: return 0;
    case DataType::kDOUBLE: return 1;
    case DataType::kHALF:
    case DataType::kBF16: return 2;
    default: return 3;
  }
}

__device__ bool deviceConditionIsTrue(const void* p, int kind, int size) {
  if (kind == 0) return *static_cast<const float*>(p) != 0.f;
  if (kind == 1) return *static_cast<const double*>(p) != 0.0;
  if (kind == 2) return (*static_cast<const uint16_t*>(p) & 0x7FFFu) != 0;
  const auto* b = static_cast<const uint8_t*>(p);
  bool any = false;
  for (int i = 0; i < size; ++i) any = any || b[i] != 0;
  return any;
}

__global__ void selectCopyKernel(const void* cond, int kind, int size, uint8_t* dst, const uint8_t* a, const uint8_t* b,
                                 std::size_t bytes) {
  const uint8_t* src = deviceConditionIsTrue(cond, kind, size) ? a : b;
  if (src == dst) return;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t first = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (((reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src) | bytes) & 15) == 0) {
    const auto* s4 = reinterpret_cast<const uint4*>(src);
    auto* d4 = reinterpret_cast<uint4*>(dst);
    for (std::size_t i = first; i < bytes / 16; i += stride) d4[i] = s4[i];
  } else {
    for (std::size_t i = first; i < bytes; i += stride) dst[i] = src[i];
  }
}

}  // namespace

void selectCopy(const void* cond, DataType condType, std::span<void* const> dst, std::span<const void* const> a,
                std::span<const void* const> b, std::span<const std::size_t> bytes, cudaStream_t stream) {
  const int kind = conditionKind(condType);
  const int size = static_cast<int>(dataTypeSize(condType));
  for (size_t i = 0; i < dst.size(); ++i) {
    if (!bytes[i]) continue;
    const std::size_t units = bytes[i] % 16 == 0 ? bytes[i] / 16 : bytes[i];
    selectCopyKernel<<<blocksFor(static_cast<int64_t>(units)), 256, 0, stream>>>(
        cond, kind, size, static_cast<uint8_t*>(dst[i]), static_cast<const uint8_t*>(a[i]), static_cast<const uint8_t*>(b[i]), bytes[i]);
    checkLaunch("If select copy");
  }
}

}  // namespace kiln::gpu
