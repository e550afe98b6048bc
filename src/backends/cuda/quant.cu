// CUDA kernels: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, BitCast.
//
// Same semantics as the CPU reference (src/backends/cpu/ref/quant.cpp): per-tensor, per-axis and blocked
// scales; every element type the importer allows (x / y: int8, uint8, int16, uint16, int32, int4, uint4,
// int2, uint2 — one byte per element in kiln — float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz, float4 e2m1; scales
// float/half/bf16/double), the 'precision' and 'saturate' attributes. Arithmetic in double with the same
// intermediate roundings as the reference, so results are bit-identical.
//
// DynamicQuantizeLinear: one block reduces min/max into the workspace (scale and zero point computed there,
// on the device), then an elementwise pass quantizes; no host synchronization.
#include <algorithm>
#include <cmath>

#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/small_types_device.cuh"
#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu {
namespace {

using tensor::invalid;
using tensor::unsupported;

constexpr int kThreads = 256;

//! Element i of x -> its scale / zero-point element (see the reference's ScaleIndex).
struct ScaleMap {
  int32_t mode{0};  // 0 tensor, 1 axis, 2 blocked
  int64_t axisDim{1}, inner{1}, scaleAxisDim{1}, block{1};
  __device__ int64_t operator()(int64_t i) const {
    if (mode == 0) return 0;
    const int64_t q = i / inner;
    if (mode == 1) return q % axisDim;
    const int64_t outer = q / axisDim, a = q - outer * axisDim, in = i - q * inner;
    return (outer * scaleAxisDim + a / block) * inner + in;
  }
};

ScaleMap scaleMap(const char* op, const TensorView& x, const TensorView& scale, int64_t axis, int64_t blockSize) {
  ScaleMap m;
  if (scale.numel == 1 && scale.rank() <= 1) return m;
  const int64_t rank = x.rank();
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) invalid(std::string(op) + ": quantization axis out of range");
  m.axisDim = x.dim(axis);
  for (int64_t d = axis + 1; d < rank; ++d) m.inner *= x.dim(d);
  if (blockSize <= 0) {
    if (scale.rank() != 1 || scale.numel != m.axisDim) invalid(std::string(op) + ": per-axis scale does not match the axis");
    m.mode = 1;
  } else {
    if (scale.rank() != rank) invalid(std::string(op) + ": blocked scale rank differs from x");
    m.scaleAxisDim = scale.dim(axis);
    m.block = blockSize;
    if ((m.axisDim + m.block - 1) / m.block != m.scaleAxisDim) invalid(std::string(op) + ": blocked scale does not match block_size");
    int64_t sn = 1;
    for (int64_t d = 0; d < rank; ++d) sn *= d == axis ? m.scaleAxisDim : x.dim(d);
    if (sn != scale.numel) invalid(std::string(op) + ": blocked scale shape does not match x");
    m.mode = 2;
  }
  return m;
}

bool intRange(DataType t, int64_t* lo, int64_t* hi) {
  switch (t) {
    case DataType::kINT8: *lo = -128, *hi = 127; return true;
    case DataType::kUINT8: *lo = 0, *hi = 255; return true;
    case DataType::kINT16: *lo = -32768, *hi = 32767; return true;
    case DataType::kUINT16: *lo = 0, *hi = 65535; return true;
    case DataType::kINT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case DataType::kINT4: *lo = -8, *hi = 7; return true;
    case DataType::kUINT4: *lo = 0, *hi = 15; return true;
    case DataType::kINT2: *lo = -2, *hi = 1; return true;
    case DataType::kUINT2: *lo = 0, *hi = 3; return true;
    default: return false;
  }
}
bool isScaleType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16;
}
bool isSmallFloat(DataType t) {
  return t == DataType::kFP8 || t == DataType::kFP8E4M3FNUZ || t == DataType::kFP8E5M2 || t == DataType::kFP8E5M2FNUZ ||
         t == DataType::kFP4 || t == DataType::kE8M0;
}
std::string typeName(DataType t) { return dataTypeName(t); }

// ---- QuantizeLinear -----------------------------------------------------------------------------------
struct QuantArgs {
  const void* x;
  const void* s;
  const void* z;  // nullptr: no zero point
  void* y;
  int64_t n;
  ScaleMap map;
  int32_t xt, st, zt, yt, calc;
  int32_t kind;  // 0 integer, 1 float4 (zero point added, saturating), 2 float8 / e8m0
  bool saturate;
  double lo, hi;
};

__global__ void quantizeKernel(QuantArgs a) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < a.n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t k = a.map(i);
    const double q = small::roundTo(a.calc, small::roundTo(a.calc, small::loadD(a.xt, a.x, i)) /
                                                small::roundTo(a.calc, small::loadD(a.st, a.s, k)));
    if (a.kind == 0) {
      double r = isnan(q) ? 0.0 : rint(q);
      if (a.z) r += small::loadD(a.zt, a.z, k);
      r = fmin(fmax(r, a.lo), a.hi);
      small::storeIntI(a.yt, a.y, i, static_cast<int64_t>(r));
    } else if (a.kind == 1) {
      const double v = a.z ? q + small::loadD(a.zt, a.z, k) : q;
      static_cast<uint8_t*>(a.y)[i] = small::floatToSmallF(a.yt, static_cast<float>(v), true);
    } else {
      static_cast<uint8_t*>(a.y)[i] = small::floatToSmallF(a.yt, static_cast<float>(q), a.saturate);
    }
  }
}

DataType quantOutType(const ir::Node& node) {
  if (tensor::hasInput(node, 2)) return node.inputs[2]->dtype;
  if (!node.outputs.empty() && node.outputs[0]) return node.outputs[0]->dtype;
  return DataType::kUINT8;
}

class QuantizeKernel final : public Kernel {
 public:
  explicit QuantizeKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", 1)),
        block_(node.attrs.getInt("block_size", 0)),
        saturate_(node.attrs.getInt("saturate", 1) != 0),
        hasPrecision_(node.attrs.has("precision")),
        precision_(static_cast<DataType>(node.attrs.getInt("precision", 0))) {
    const DataType yt = quantOutType(node);
    int64_t lo, hi;
    if (!intRange(yt, &lo, &hi) && !isSmallFloat(yt))
      unsupported("QuantizeLinear: output type " + typeName(yt) + " is not supported on the GPU");
    if (!node.inputs.empty() && node.inputs[0] && !isScaleType(node.inputs[0]->dtype))
      unsupported("QuantizeLinear: input type " + typeName(node.inputs[0]->dtype) + " is not supported on the GPU");
    if (hasPrecision_ && !isScaleType(precision_))
      unsupported("QuantizeLinear: precision " + typeName(precision_) + " is not supported on the GPU");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const bool hasZ = tensor::present(ctx, 2);
    const TensorView& y = ctx.outputs[0];
    QuantArgs a{};
    a.map = scaleMap("QuantizeLinear", x, s, axis_, block_);
    if (hasZ && ctx.inputs[2].numel != s.numel) invalid("QuantizeLinear: zero point and scale sizes differ");
    if (y.numel != x.numel) invalid("QuantizeLinear: output size mismatch");
    if (x.numel == 0) return;
    a.x = x.data, a.s = s.data, a.z = hasZ ? ctx.inputs[2].data : nullptr, a.y = y.data, a.n = x.numel;
    a.xt = static_cast<int32_t>(x.dtype), a.st = static_cast<int32_t>(s.dtype);
    a.zt = hasZ ? static_cast<int32_t>(ctx.inputs[2].dtype) : 0;
    a.yt = static_cast<int32_t>(y.dtype);
    a.calc = static_cast<int32_t>(hasPrecision_ ? precision_ : x.dtype);
    a.saturate = saturate_;
    int64_t lo = 0, hi = 0;
    if (intRange(y.dtype, &lo, &hi)) a.kind = 0;
    else if (y.dtype == DataType::kFP4) a.kind = 1;
    else if (isSmallFloat(y.dtype)) a.kind = 2;
    else unsupported("QuantizeLinear: output type " + typeName(y.dtype) + " is not supported on the GPU");
    a.lo = static_cast<double>(lo), a.hi = static_cast<double>(hi);
    quantizeKernel<<<blocksFor(x.numel, kThreads), kThreads, 0, streamOf(ctx)>>>(a);
    checkLaunch("QuantizeLinear");
  }

 private:
  int64_t axis_, block_;
  bool saturate_, hasPrecision_;
  DataType precision_;
};

// ---- DequantizeLinear ---------------------------------------------------------------------------------
struct DequantArgs {
  const void* x;
  const void* s;
  const void* z;
  void* y;
  int64_t n;
  ScaleMap map;
  int32_t xt, st, zt, yt;
  bool floatX, wide;
};

__global__ void dequantizeKernel(DequantArgs a) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < a.n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t k = a.map(i);
    double dx = small::loadD(a.xt, a.x, i);
    if (!a.floatX && a.z) {
      dx = static_cast<double>(static_cast<float>(dx)) - small::loadD(a.zt, a.z, k);
      if (!a.wide) dx = static_cast<double>(static_cast<float>(dx));
    }
    double v = dx * small::loadD(a.st, a.s, k);
    if (!a.wide) v = static_cast<double>(static_cast<float>(v));
    small::storeFloatD(a.yt, a.y, i, v);
  }
}

bool isDequantInput(DataType t) {
  int64_t lo, hi;
  return intRange(t, &lo, &hi) || isSmallFloat(t);
}

class DequantizeKernel final : public Kernel {
 public:
  explicit DequantizeKernel(const ir::Node& node) : axis_(node.attrs.getInt("axis", 1)), block_(node.attrs.getInt("block_size", 0)) {
    if (!node.inputs.empty() && node.inputs[0] && !isDequantInput(node.inputs[0]->dtype))
      unsupported("DequantizeLinear: input type " + typeName(node.inputs[0]->dtype) + " is not supported on the GPU");
    if (!node.outputs.empty() && node.outputs[0] && !isScaleType(node.outputs[0]->dtype))
      unsupported("DequantizeLinear: output type " + typeName(node.outputs[0]->dtype) + " is not supported on the GPU");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& s = ctx.inputs[1];
    const bool hasZ = tensor::present(ctx, 2);
    const TensorView& y = ctx.outputs[0];
    DequantArgs a{};
    a.map = scaleMap("DequantizeLinear", x, s, axis_, block_);
    if (hasZ && ctx.inputs[2].numel != s.numel) invalid("DequantizeLinear: zero point and scale sizes differ");
    if (y.numel != x.numel) invalid("DequantizeLinear: output size mismatch");
    if (!isScaleType(y.dtype)) unsupported("DequantizeLinear: output type " + typeName(y.dtype) + " is not supported on the GPU");
    if (x.numel == 0) return;
    a.x = x.data, a.s = s.data, a.z = hasZ ? ctx.inputs[2].data : nullptr, a.y = y.data, a.n = x.numel;
    a.xt = static_cast<int32_t>(x.dtype), a.st = static_cast<int32_t>(s.dtype);
    a.zt = hasZ ? static_cast<int32_t>(ctx.inputs[2].dtype) : 0;
    a.yt = static_cast<int32_t>(y.dtype);
    a.floatX = isSmallFloat(x.dtype);
    a.wide = x.dtype == DataType::kINT32;
    dequantizeKernel<<<blocksFor(x.numel, kThreads), kThreads, 0, streamOf(ctx)>>>(a);
    checkLaunch("DequantizeLinear");
  }

 private:
  int64_t axis_, block_;
};

// ---- DynamicQuantizeLinear ----------------------------------------------------------------------------
constexpr int kReduceThreads = 1024;

//! One block: min/max of x (NaN ignored, both start at 0), then scale and zero point as the reference
//! computes them in float32. Writes them to params[0..1] and to the scale / zero-point outputs.
__global__ void dynRangeKernel(const void* x, int32_t xt, int64_t n, float* params, void* scaleOut, int32_t scaleT,
                               uint8_t* zpOut) {
  __shared__ float smx[kReduceThreads], smn[kReduceThreads];
  float mx = 0.f, mn = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = static_cast<float>(small::loadD(xt, x, i));
    if (v > mx) mx = v;
    if (v < mn) mn = v;
  }
  smx[threadIdx.x] = mx, smn[threadIdx.x] = mn;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) {
      smx[threadIdx.x] = fmaxf(smx[threadIdx.x], smx[threadIdx.x + w]);
      smn[threadIdx.x] = fminf(smn[threadIdx.x], smn[threadIdx.x + w]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    mx = smx[0], mn = smn[0];
    const float scale = __fdiv_rn(mx == mn ? 1.0f : __fsub_rn(mx, mn), 255.0f);
    const float z = __fsub_rn(0.0f, __fdiv_rn(mn, scale));
    const float zp = rintf(z < 0.0f ? 0.0f : (255.0f < z ? 255.0f : z));  // std::clamp (NaN passes)
    params[0] = scale, params[1] = zp;
    small::storeFloatD(scaleT, scaleOut, 0, scale);
    zpOut[0] = static_cast<uint8_t>(zp);
  }
}

__global__ void dynQuantKernel(const void* x, int32_t xt, int64_t n, const float* params, uint8_t* y) {
  const float scale = params[0], zp = params[1];
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const float v = static_cast<float>(small::loadD(xt, x, i));
    float q = __fadd_rn(rintf(__fdiv_rn(v, scale)), zp);
    if (isnan(q)) q = 0;
    y[i] = static_cast<uint8_t>(fminf(fmaxf(q, 0.0f), 255.0f));
  }
}

class DynamicQuantizeKernel final : public Kernel {
 public:
  explicit DynamicQuantizeKernel(const ir::Node& node) {
    if (!node.inputs.empty() && node.inputs[0] && !isScaleType(node.inputs[0]->dtype))
      unsupported("DynamicQuantizeLinear: input type " + typeName(node.inputs[0]->dtype) + " is not supported on the GPU");
  }
  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override { return 256; }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    if (ctx.outputs.size() < 3) invalid("DynamicQuantizeLinear: needs 3 outputs");
    if (!isScaleType(ctx.outputs[1].dtype) || ctx.outputs[1].numel != 1 || ctx.outputs[2].numel != 1)
      invalid("DynamicQuantizeLinear: scale / zero point outputs must be scalars");
    if (!ctx.workspace) invalid("DynamicQuantizeLinear: no workspace");
    float* params = static_cast<float*>(ctx.workspace);
    cudaStream_t st = streamOf(ctx);
    const int32_t xt = static_cast<int32_t>(x.dtype);
    dynRangeKernel<<<1, kReduceThreads, 0, st>>>(x.data, xt, x.numel, params, ctx.outputs[1].data,
                                                 static_cast<int32_t>(ctx.outputs[1].dtype), ctx.outputs[2].as<uint8_t>());
    checkLaunch("DynamicQuantizeLinear");
    if (x.numel == 0) return;
    dynQuantKernel<<<blocksFor(x.numel, kThreads), kThreads, 0, st>>>(x.data, xt, x.numel, params,
                                                                       ctx.outputs[0].as<uint8_t>());
    checkLaunch("DynamicQuantizeLinear");
  }
};

// ---- BitCast ------------------------------------------------------------------------------------------
class BitCastKernel final : public Kernel {
 public:
  explicit BitCastKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.bytes() != y.bytes()) invalid("BitCast: sizes differ");
    if (x.bytes() && x.data != y.data)
      KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, streamOf(ctx)));
  }
};

}  // namespace

void registerQuantKernels(KernelRegistry& reg) {
  reg.add("QuantizeLinear", tensor::cudaTactic<QuantizeKernel>());
  reg.add("DequantizeLinear", tensor::cudaTactic<DequantizeKernel>());
  reg.add("DynamicQuantizeLinear", tensor::cudaTactic<DynamicQuantizeKernel>());
  reg.add("BitCast", tensor::cudaTactic<BitCastKernel>());
}

}  // namespace kiln::gpu
