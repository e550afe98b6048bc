// CUDA Cast from or to kiln's small storage types (float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz, e8m0, float4
// e2m1, int4/uint4/int2/uint2 — one byte per element): the "cuda_small" tactic of Cast, which applies
// only where the source or the target is such a type (the "cuda" tactic of elementwise_cast*.cu covers
// the others). Semantics of the CPU reference's runSmall (src/backends/cpu/ref/elementwise_cast.cpp):
// small floats convert through float, small integers through int64; 'saturate' and 'round_mode'.
#include "backends/cuda/elementwise_cast.cuh"
#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/small_types_device.cuh"

namespace kiln::gpu {
namespace {

constexpr int kCastThreads = 256;

template <class To>
__global__ void castFromSmall(const uint8_t* __restrict__ x, To* __restrict__ y, int64_t n, int32_t from) {
  const bool fromFloat = small::isSmallFloatCode(from);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const uint8_t b = x[i];
    if (fromFloat) y[i] = ew::convertElement<To, float>(small::smallToFloat(from, b));
    else y[i] = ew::convertElement<To, int64_t>(small::smallIntValue(from, b));
  }
}

template <class From>
__device__ inline float asFloat(From v) {
  if constexpr (std::is_same_v<From, __half>) return __half2float(v);
  else if constexpr (std::is_same_v<From, __nv_bfloat16>) return __bfloat162float(v);
  else return static_cast<float>(v);
}

template <class From, bool kBool>
__global__ void castToSmall(const From* __restrict__ x, uint8_t* __restrict__ y, int64_t n, int32_t to, bool sat, int32_t mode) {
  constexpr bool kFloatSrc = std::is_floating_point_v<From> || std::is_same_v<From, __half> || std::is_same_v<From, __nv_bfloat16>;
  const bool toFloat = small::isSmallFloatCode(to);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const From v = x[i];
    if constexpr (kBool) {
      y[i] = small::intToSmall(to, reinterpret_cast<const uint8_t*>(x)[i] != 0 ? 1 : 0);
    } else if constexpr (kFloatSrc) {
      y[i] = small::floatToSmallAny(to, asFloat(v), sat, mode);
    } else {
      y[i] = toFloat ? small::floatToSmallAny(to, static_cast<float>(v), sat, mode) : small::intToSmall(to, static_cast<int64_t>(v));
    }
  }
}

__global__ void castSmallToSmall(const uint8_t* __restrict__ x, uint8_t* __restrict__ y, int64_t n, int32_t from, int32_t to,
                                 bool sat, int32_t mode) {
  const bool fromFloat = small::isSmallFloatCode(from), toFloat = small::isSmallFloatCode(to);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const uint8_t b = x[i];
    if (fromFloat) y[i] = small::floatToSmallAny(to, small::smallToFloat(from, b), sat, mode);
    else if (toFloat) y[i] = small::floatToSmallAny(to, static_cast<float>(small::smallIntValue(from, b)), sat, mode);
    else y[i] = small::intToSmall(to, small::smallIntValue(from, b));
  }
}

bool involvesSmall(const ir::Node& n) {
  const int32_t to = static_cast<int32_t>(n.attrs.getInt("to", -1));
  const int32_t from = !n.inputs.empty() && n.inputs[0] ? static_cast<int32_t>(n.inputs[0]->dtype) : -1;
  return small::isSmallStorageCode(to) || small::isSmallStorageCode(from);
}

bool castSmallSupports(const ir::Node& n, std::string* why) {
  if (!n.attrs.has("to") || !isKnownType(static_cast<DataType>(n.attrs.getInt("to", -1)))) {
    if (why) *why = "Cast: missing or unknown 'to'";
    return false;
  }
  if (!involvesSmall(n)) {
    if (why) *why = "neither side is a float8 / sub-byte type";
    return false;
  }
  return true;
}

class CastSmallKernel final : public Kernel {
 public:
  explicit CastSmallKernel(const ir::Node& node) {
    std::string why;
    if (!castSmallSupports(node, &why)) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Cast: " + why);
    to_ = static_cast<DataType>(node.attrs.getInt("to", 0));
    saturate_ = node.attrs.getInt("saturate", 1) != 0;
    const std::string mode = node.attrs.getString("round_mode", "up");
    if (mode == "up") mode_ = small::kE8M0Up;
    else if (mode == "down") mode_ = small::kE8M0Down;
    else if (mode == "nearest") mode_ = small::kE8M0Nearest;
    else throw Error(ErrorCode::kUNSUPPORTED_NODE, "Cast: unknown round_mode '" + mode + "'");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.dtype != to_ || x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Cast: output does not match");
    const int64_t n = y.numel;
    if (n == 0) return;
    const cudaStream_t s = streamOf(ctx);
    const int32_t from = static_cast<int32_t>(x.dtype), to = static_cast<int32_t>(to_);
    const unsigned blocks = blocksFor(n, kCastThreads);
    if (x.dtype == to_) {
      if (x.data != y.data) KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, y.bytes(), cudaMemcpyDeviceToDevice, s));
      return;
    }
    if (small::isSmallStorageCode(from) && small::isSmallStorageCode(to)) {
      castSmallToSmall<<<blocks, kCastThreads, 0, s>>>(x.as<const uint8_t>(), y.as<uint8_t>(), n, from, to, saturate_, mode_);
    } else if (small::isSmallStorageCode(from)) {
      dispatchDeviceType(to_, [&](auto tag) {
        using To = decltype(tag);
        castFromSmall<To><<<blocks, kCastThreads, 0, s>>>(x.as<const uint8_t>(), y.as<To>(), n, from);
      });
    } else {
      dispatchDeviceType(x.dtype, [&](auto tag) {
        using From = decltype(tag);
        if constexpr (std::is_same_v<From, bool>)
          castToSmall<uint8_t, true><<<blocks, kCastThreads, 0, s>>>(x.as<const uint8_t>(), y.as<uint8_t>(), n, to, saturate_, mode_);
        else
          castToSmall<From, false><<<blocks, kCastThreads, 0, s>>>(x.as<const From>(), y.as<uint8_t>(), n, to, saturate_, mode_);
      });
    }
    checkLaunch("Cast");
  }

 private:
  DataType to_{DataType::kFLOAT};
  bool saturate_{true};
  int32_t mode_{small::kE8M0Up};
};

}  // namespace

void registerCastSmallKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda_small";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<CastSmallKernel>(n); };
  t.supports = &castSmallSupports;
  reg.add("Cast", t);
}

}  // namespace kiln::gpu
