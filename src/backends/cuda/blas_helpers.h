// Device helpers shared by the GEMM (cuBLASLt) and convolution (cuDNN) tactics.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

struct WindowCopyArg {
  int32_t rank{0};
  int64_t outDims[kMaxDims]{};
  int64_t inDims[kMaxDims]{};
  int64_t inStrides[kMaxDims]{};
  int64_t begin[kMaxDims]{};  //!< where input index 0 lands in the output (negative: crop)
};

//! dst (row-major dstShape) = src broadcast numpy-style from srcShape. Element size 2, 4 or 8.
void broadcastInto(void* dst, std::span<const int64_t> dstShape, const void* src, std::span<const int64_t> srcShape,
                   std::size_t elemSize, cudaStream_t stream);

//! dst[o] = src[o - begin] where that is inside src, else 0 (pads when begin > 0, crops when begin < 0).
void copyWindow(void* dst, std::span<const int64_t> dstShape, const void* src, std::span<const int64_t> srcShape,
                std::span<const int64_t> begin, std::size_t elemSize, cudaStream_t stream);

//! Fused epilogues of Conv / MatMul / Gemm (kiln_act attributes, see docs/ir/nn.md).
enum class Act : int32_t { kNone, kRelu, kClip, kLeakyRelu, kSigmoid, kTanh, kHardSigmoid, kHardSwish, kSilu, kGelu };
struct ActParams {
  Act act{Act::kNone};
  float alpha{0.f}, beta{0.f};
};
//! Reads kiln_act / kiln_act_alpha / kiln_act_beta. Throws kiln::Error(kUNSUPPORTED_NODE) for an unknown name.
ActParams parseAct(const ir::Attributes& attrs);

//! y[i] = act(y[i] + bias[(i / inner) % channels] + z[i]) in place; bias and z may be null.
//! Types: float, half, bf16, double (bias and z in y's type).
void applyEpilogue(void* y, DataType dtype, int64_t n, const void* bias, int64_t channels, int64_t inner, const void* z,
                   const ActParams& act, cudaStream_t stream);

//! The tactic `name` of a kernel class K constructible from a node.
template <class K>
Tactic nodeTactic(std::string name, backend::SupportsFn supports) {
  return Tactic{.name = std::move(name),
                .create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<K>(n); },
                .supports = supports};
}

//! Conv and ConvTranspose on cuDNN (conv_dnn.cpp), registered by registerBlasKernels.
void registerConvKernels(KernelRegistry& reg);
//! Channels-last depthwise convolution (conv_depthwise.cu), registered by registerBlasKernels.
void registerDepthwiseKernels(KernelRegistry& reg);
//! Channels-last 1x1 convolution on the tensor cores with a fused epilogue (conv_pointwise.cu), registered
//! by kernelRegistry() before cuBLASLt's and cuDNN's (timed against them; not the untimed default).
void registerPointwiseKernels(KernelRegistry& reg);

}  // namespace kiln::gpu
