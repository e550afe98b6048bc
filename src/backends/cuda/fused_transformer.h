// CUDA kernels of the transformer fusions (host-side interface): the vectorized LayerNormalization row
// kernel shared by LayerNormalization (nn_norm.cu) and SkipLayerNormalization (fused_norm.cu), and the
// registration of SkipLayerNormalization and FusedAttention (fused_attention.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

//! One LayerNormalization over O rows of R contiguous elements, optionally of x + skip.
struct LayerNormRows {
  DataType dtype{DataType::kFLOAT};
  const void* x{nullptr};
  const void* skip{nullptr};  //!< optional: normalize x + skip (rounded to dtype)
  void* sum{nullptr};         //!< optional: x + skip is written here
  void* y{nullptr};
  const void* scale{nullptr};  //!< R values
  const void* bias{nullptr};   //!< R values or null
  int64_t O{0}, R{0};
  float eps{1e-5f};
  float* mean{nullptr};  //!< optional statistics (O values each)
  float* inv{nullptr};
};

//! The fast path (a warp per row, the row in registers, 16-byte loads and stores, float math): float32,
//! float16 and bfloat16, R a multiple of 16 bytes up to 2048 half / 1024 float elements, 16-byte aligned
//! pointers. Returns false (nothing launched) where it does not apply.
bool launchLayerNormFast(const LayerNormRows& a, cudaStream_t stream);

void registerFusedNormKernels(KernelRegistry& reg);       // fused_norm.cu: SkipLayerNormalization
void registerFusedAttentionKernels(KernelRegistry& reg);  // fused_attention.cu: FusedAttention

}  // namespace kiln::gpu
