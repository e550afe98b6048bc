// Depthwise convolution channels-last (ConvNHWC with group = C = M): a thread per output element, the
// channel fastest so that a warp reads 32 consecutive channels of one pixel; bias, residual and the fused
// activation in registers. cuDNN's grouped NHWC kernels are slow (or refuse) for one channel per group.
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/epilogue.cuh"
#include "ir/ops/nn_common.h"

namespace kiln::gpu {

namespace {

struct DwGeom {
  int32_t n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
};

template <class T>
__global__ void depthwiseNhwc(const T* __restrict__ x, const T* __restrict__ wt, const T* __restrict__ bias,
                              const T* __restrict__ z, T* __restrict__ y, DwGeom g, ActParams act) {
  using A = typename Acc<T>::type;
  const int64_t total = static_cast<int64_t>(g.n) * g.oh * g.ow * g.c;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t c = static_cast<int32_t>(t % g.c);
    int64_t r = t / g.c;
    const int32_t ox = static_cast<int32_t>(r % g.ow);
    r /= g.ow;
    const int32_t oy = static_cast<int32_t>(r % g.oh);
    const int64_t n = r / g.oh;
    const T* xn = x + n * g.h * g.w * static_cast<int64_t>(g.c) + c;
    const T* wc = wt + static_cast<int64_t>(c) * g.kh * g.kw;
    A acc = 0;
    for (int32_t ky = 0; ky < g.kh; ++ky) {
      const int32_t iy = oy * g.sh - g.ph + ky * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      for (int32_t kx = 0; kx < g.kw; ++kx) {
        const int32_t ix = ox * g.sw - g.pw + kx * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        acc += toAcc(xn[(static_cast<int64_t>(iy) * g.w + ix) * g.c]) * toAcc(wc[ky * g.kw + kx]);
      }
    }
    if (bias) acc += toAcc(bias[c]);
    if (z) acc += toAcc(z[t]);
    y[t] = fromAcc<T>(applyAct(acc, act));
  }
}

int32_t i32(int64_t v) {
  if (v < 0 || v > INT32_MAX) throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: extent out of range");
  return static_cast<int32_t>(v);
}

//! ConvNHWC, rank 4, one input and one output channel per group, a float type.
bool supportsDepthwise(const ir::Node& n, std::string* why) {
  const ir::Value* x = n.inputs[0];
  const ir::Value* w = n.inputs[1];
  const DataType t = n.outputs[0]->dtype;
  const int64_t group = n.attrs.getInt("group", 1);
  bool ok = x->shape.size() == 4 && w->shape.size() == 4 && w->shape[3] == 1 && w->shape[0] == group &&
            x->shape[3] == group && (t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16);
  if (!ok && why) *why = "not a depthwise (one channel per group) float convolution";
  return ok;
}

class DepthwiseKernel final : public Kernel {
 public:
  explicit DepthwiseKernel(const ir::Node& n) : act_(parseAct(n.attrs)) {
    window_ = ir::nn::parseWindow(n.attrs, {1, 1});
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (X.rank() != 4 || W.rank() != 4 || Y.rank() != 4 || W.dim(0) != X.dim(3) || W.dim(3) != 1 ||
        Y.dim(3) != X.dim(3) || Y.dim(0) != X.dim(0))
      throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: shapes do not match");
    DwGeom g{};
    g.n = i32(X.dim(0)), g.h = i32(X.dim(1)), g.w = i32(X.dim(2)), g.c = i32(X.dim(3));
    g.kh = i32(W.dim(1)), g.kw = i32(W.dim(2));
    int32_t* outs[2] = {&g.oh, &g.ow};
    int32_t* pads[2] = {&g.ph, &g.pw};
    for (int i = 0; i < 2; ++i) {
      ir::nn::WindowDim wd = ir::nn::windowDim(X.dim(1 + i), W.dim(1 + i), window_.strides[static_cast<size_t>(i)],
                                               window_.dilations[static_cast<size_t>(i)], window_.pads[static_cast<size_t>(i)],
                                               window_.pads[static_cast<size_t>(2 + i)], window_.autoPad, window_.ceilMode);
      if (wd.out != Y.dim(1 + i)) throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: output extent mismatch");
      *outs[i] = i32(wd.out);
      *pads[i] = i32(wd.padBegin);
    }
    g.sh = i32(window_.strides[0]), g.sw = i32(window_.strides[1]);
    g.dh = i32(window_.dilations[0]), g.dw = i32(window_.dilations[1]);
    const void* bias = ctx.inputs.size() > 2 && ctx.inputs[2].present && ctx.inputs[2].numel ? ctx.inputs[2].data : nullptr;
    const void* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? ctx.inputs[3].data : nullptr;
    cudaStream_t s = streamOf(ctx);
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      depthwiseNhwc<T><<<blocksFor(Y.numel), 256, 0, s>>>(static_cast<const T*>(X.data), static_cast<const T*>(W.data),
                                                           static_cast<const T*>(bias), static_cast<const T*>(z),
                                                           static_cast<T*>(Y.data), g, act_);
    };
    switch (Y.dtype) {
      case DataType::kFLOAT: launch(float{}); break;
      case DataType::kHALF: launch(__half{}); break;
      case DataType::kBF16: launch(__nv_bfloat16{}); break;
      default: throw Error(ErrorCode::kFAILED_EXECUTION, "depthwise convolution: unsupported type");
    }
    checkLaunch("depthwiseNhwc");
  }

 private:
  ActParams act_;
  ir::nn::Window window_;
};

}  // namespace

void registerDepthwiseKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda_depthwise";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<DepthwiseKernel>(n); };
  t.supports = supportsDepthwise;
  reg.add("ConvNHWC", t);
}

}  // namespace kiln::gpu
