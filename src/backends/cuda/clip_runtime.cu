// CUDA kernel: Clip whose min and/or max are computed tensors or graph inputs ("cuda_runtime_bounds").
//
// The bounds do not change shapes, so they stay on the device: each thread loads the two scalars from
// their device (or page-locked host) addresses, no host read, no synchronization. Constant bounds are
// passed by value as in the "cuda" tactic. Semantics of the CPU reference: v < min -> min, then v > max ->
// max (NaN passes through; min > max gives max); float16/bfloat16 compare as float.
#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/runtime_params.h"

namespace kiln::gpu {
namespace {

template <class T> struct ClipCompute { using type = T; };
template <> struct ClipCompute<__half> { using type = float; };
template <> struct ClipCompute<__nv_bfloat16> { using type = float; };

template <class T>
__device__ __forceinline__ typename ClipCompute<T>::type clipLoad(T v) {
  if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) return toAcc(v);
  else return v;
}
template <class T>
__device__ __forceinline__ T clipStore(typename ClipCompute<T>::type v) {
  if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) return fromAcc<T>(v);
  else return v;
}

struct Bound {
  const void* ptr{nullptr};  //!< run-time scalar (device-readable), or null
  uint64_t bits{0};          //!< constant scalar's bytes
  bool has{false};
};

template <class T>
__global__ void clipRuntimeKernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, Bound lo, Bound hi) {
  using C = typename ClipCompute<T>::type;
  T l{}, h{};
  if (lo.has) {
    if (lo.ptr) l = *static_cast<const T*>(lo.ptr);
    else memcpy(&l, &lo.bits, sizeof(T));
  }
  if (hi.has) {
    if (hi.ptr) h = *static_cast<const T*>(hi.ptr);
    else memcpy(&h, &hi.bits, sizeof(T));
  }
  const C cl = clipLoad(l), ch = clipLoad(h);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    C v = clipLoad(x[i]);
    if (lo.has && v < cl) v = cl;
    if (hi.has && v > ch) v = ch;
    y[i] = clipStore<T>(v);
  }
}

bool clipRuntimeSupports(const ir::Node& n, std::string* why) {
  if (n.inputs.empty() || !n.inputs[0]) return false;
  const DataType t = n.inputs[0]->dtype;
  if (!isFloatingType(t) && !isIntegerType(t)) {
    if (why) *why = std::string("Clip: data type ") + dataTypeName(t) + " is not supported";
    return false;
  }
  bool runtime = false;
  for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
    const ir::Value* v = n.inputs[k];
    if (!v) continue;
    if (v->dtype != t) {
      if (why) *why = "Clip: 'min' and 'max' must have the input's type";
      return false;
    }
    if (v->isConstant()) {
      if (v->constant->numel() != 1) {
        if (why) *why = "Clip: 'min' and 'max' must be scalars";
        return false;
      }
    } else {
      runtime = true;
    }
  }
  if (!runtime && why) *why = "Clip: constant bounds (the \"cuda\" tactic runs it)";
  return runtime;
}

class ClipRuntimeKernel final : public Kernel {
 public:
  explicit ClipRuntimeKernel(const ir::Node& n) {
    std::string why;
    if (!clipRuntimeSupports(n, &why)) throw Error(ErrorCode::kUNSUPPORTED_NODE, why);
    for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      const ir::Value* v = n.inputs[k];
      if (!v || !v->isConstant()) continue;
      constant_[k - 1] = true;
      std::memcpy(&bits_[k - 1], v->constant->raw(), dataTypeSize(v->dtype));
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    Bound b[2];
    for (size_t k = 1; k < 3 && k < ctx.inputs.size(); ++k) {
      const TensorView& v = ctx.inputs[k];
      if (!v.present) continue;
      if (v.numel != 1) throw Error(ErrorCode::kINVALID_ARGUMENT, "Clip: min and max must be scalars");
      if (v.dtype != x.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, "Clip: min/max type differs from the input's");
      b[k - 1].has = true;
      if (constant_[k - 1]) b[k - 1].bits = bits_[k - 1];
      else b[k - 1].ptr = v.data;
    }
    if (x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Clip: output shape mismatch");
    if (y.numel == 0) return;
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "Clip: bool is not supported");
      } else {
        clipRuntimeKernel<T><<<blocksFor(x.numel), 256, 0, streamOf(ctx)>>>(x.as<const T>(), y.as<T>(), x.numel, b[0], b[1]);
        checkLaunch("clipRuntimeKernel");
      }
    });
  }

 private:
  bool constant_[2]{false, false};
  uint64_t bits_[2]{0, 0};
};

}  // namespace

void registerClipRuntimeKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda_runtime_bounds";
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<ClipRuntimeKernel>(node); };
  t.supports = &clipRuntimeSupports;
  reg.add("Clip", t);
}

}  // namespace kiln::gpu
