// Channels-last 2-D MaxPool / AveragePool (MaxPoolNHWC / AveragePoolNHWC, the layout-nhwc pass's ops) with
// vector accesses: a thread owns one output pixel of V channels (V = 8 for float16/bfloat16 in one 16-byte
// load, 4 for float32, 1 where C or the addresses do not allow vectors) and walks the window; 32-bit index
// math (a launch per slice of the batch keeps the thread count below 2^31). The generic pool kernel
// (nn_pool.cu, tactic "cuda") does 64-bit divisions per element and scalar loads; this one ("cuda_vec") is
// registered after it and timed against it. No Indices output, no ceil_mode (the pass converts neither).
#include "backends/cuda/conv_vec_io.cuh"
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {
namespace {

struct PoolNhwcArgs {
  int32_t h, w, c;          //!< input extents
  int32_t oh, ow, cv;       //!< output extents; cv = C / V
  int32_t kh, kw, sh, sw, dh, dw, ph, pw;
  int32_t peh, pew;         //!< end pads (count_include_pad counts them)
  uint32_t total;           //!< threads of this launch: n * oh * ow * cv
  bool includePad;
};

template <class T, int V, bool kMax>
__global__ void poolNhwc(const T* __restrict__ x, T* __restrict__ y, PoolNhwcArgs a) {
  const uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= a.total) return;
  uint32_t p = t / static_cast<uint32_t>(a.cv);
  const int32_t cv = static_cast<int32_t>(t - p * static_cast<uint32_t>(a.cv));
  const int32_t ow = static_cast<int32_t>(p % static_cast<uint32_t>(a.ow));
  p /= static_cast<uint32_t>(a.ow);
  const int32_t oh = static_cast<int32_t>(p % static_cast<uint32_t>(a.oh));
  const int32_t n = static_cast<int32_t>(p / static_cast<uint32_t>(a.oh));
  const int32_t h0 = oh * a.sh - a.ph, w0 = ow * a.sw - a.pw;
  const T* xn = x + static_cast<int64_t>(n) * a.h * a.w * a.c + cv * V;
  float acc[V];
#pragma unroll
  for (int i = 0; i < V; ++i) acc[i] = kMax ? -INFINITY : 0.f;
  int32_t valid = 0;
  for (int32_t i = 0; i < a.kh; ++i) {
    const int32_t ih = h0 + i * a.dh;
    if (ih < 0 || ih >= a.h) continue;
    for (int32_t j = 0; j < a.kw; ++j) {
      const int32_t iw = w0 + j * a.dw;
      if (iw < 0 || iw >= a.w) continue;
      float v[V];
      loadVec<T, V>(xn + (static_cast<int64_t>(ih) * a.w + iw) * a.c, v);
#pragma unroll
      for (int q = 0; q < V; ++q) acc[q] = kMax ? (v[q] > acc[q] ? v[q] : acc[q]) : acc[q] + v[q];
      ++valid;
    }
  }
  if constexpr (!kMax) {
    int32_t cnt = valid;
    if (a.includePad) {  // window positions inside the padded extents
      int32_t ch = 0, cw = 0;
      for (int32_t i = 0; i < a.kh; ++i) ch += h0 + i * a.dh < a.h + a.peh;
      for (int32_t j = 0; j < a.kw; ++j) cw += w0 + j * a.dw < a.w + a.pew;
      cnt = ch * cw;
    }
    const float inv = cnt > 0 ? 1.f / static_cast<float>(cnt) : 0.f;
#pragma unroll
    for (int q = 0; q < V; ++q) acc[q] *= inv;
  }
  storeVec<T, V>(y + static_cast<int64_t>(t) * V, acc);
}

bool supportsPoolNhwc(const ir::Node& n, std::string* why) {
  const DataType t = n.inputs[0]->dtype;
  const char* no = nullptr;
  if (t != DataType::kFLOAT && t != DataType::kHALF && t != DataType::kBF16) no = "float32/float16/bfloat16 only";
  else if (n.inputs[0]->shape.size() != 4) no = "2-D pooling only";
  else if (n.outputs.size() > 1 && n.outputs[1]) no = "no Indices output";
  else if (n.attrs.getInt("ceil_mode", 0) != 0) no = "no ceil_mode";
  if (no && why) *why = no;
  return !no;
}

class PoolNhwcKernel final : public Kernel {
 public:
  PoolNhwcKernel(const ir::Node& n, bool isMax) : max_(isMax) {
    kernel_ = n.attrs.requireInts("kernel_shape");
    if (kernel_.size() != 2) unsupported(n, "2-D pooling only");
    window_ = ir::nn::parseWindow(n.attrs, kernel_);
    includePad_ = n.attrs.getInt("count_include_pad", 0) != 0;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() != 4 || y.rank() != 4 || x.dim(0) != y.dim(0) || x.dim(3) != y.dim(3))
      badData("pooling: channels-last shapes do not match");
    if (y.numel == 0) return;
    PoolNhwcArgs a{};
    int32_t* ext[2][2] = {{&a.h, &a.oh}, {&a.w, &a.ow}};
    int32_t* geo[2][5] = {{&a.kh, &a.sh, &a.dh, &a.ph, &a.peh}, {&a.kw, &a.sw, &a.dw, &a.pw, &a.pew}};
    for (int i = 0; i < 2; ++i) {
      const int64_t in = x.dim(1 + i);
      const ir::nn::WindowDim wd = ir::nn::windowDim(in, kernel_[i], window_.strides[i], window_.dilations[i], window_.pads[i],
                                                     window_.pads[2 + i], window_.autoPad, window_.ceilMode);
      if (wd.out != y.dim(1 + i)) badData("pooling: output extent does not match the computed one");
      if (in > INT32_MAX / 2 || wd.padBegin < 0 || wd.padEnd < 0) badData("pooling: extent out of range");
      *ext[i][0] = static_cast<int32_t>(in);
      *ext[i][1] = static_cast<int32_t>(wd.out);
      *geo[i][0] = static_cast<int32_t>(kernel_[i]);
      *geo[i][1] = static_cast<int32_t>(window_.strides[i]);
      *geo[i][2] = static_cast<int32_t>(window_.dilations[i]);
      *geo[i][3] = static_cast<int32_t>(wd.padBegin);
      *geo[i][4] = static_cast<int32_t>(wd.padEnd);
    }
    if (x.dim(3) > INT32_MAX) badData("pooling: too many channels");
    a.c = static_cast<int32_t>(x.dim(3));
    a.includePad = includePad_;
    const int64_t batch = x.dim(0);
    cudaStream_t s = streamOf(ctx);
    auto launch = [&](auto tag, auto vtag) {
      using T = decltype(tag);
      constexpr int V = decltype(vtag)::value;
      a.cv = a.c / V;
      const int64_t perImage = static_cast<int64_t>(a.oh) * a.ow * a.cv;
      const int64_t step = std::max<int64_t>(1, (int64_t{1} << 30) / std::max<int64_t>(1, perImage));
      if (perImage >= (int64_t{1} << 30)) badData("pooling: image too large for the GPU kernel");
      for (int64_t n0 = 0; n0 < batch; n0 += step) {
        const int64_t nb = std::min(step, batch - n0);
        a.total = static_cast<uint32_t>(nb * perImage);
        const T* xp = static_cast<const T*>(x.data) + n0 * x.numel / batch;
        T* yp = static_cast<T*>(y.data) + n0 * y.numel / batch;
        const unsigned blocks = (a.total + 255) / 256;
        if (max_) poolNhwc<T, V, true><<<blocks, 256, 0, s>>>(xp, yp, a);
        else poolNhwc<T, V, false><<<blocks, 256, 0, s>>>(xp, yp, a);
      }
      checkLaunch("poolNhwc");
    };
    const bool aligned = reinterpret_cast<uintptr_t>(x.data) % 16 == 0 && reinterpret_cast<uintptr_t>(y.data) % 16 == 0;
    switch (x.dtype) {
      case DataType::kFLOAT:
        if (aligned && a.c % 4 == 0) launch(float{}, std::integral_constant<int, 4>{});
        else launch(float{}, std::integral_constant<int, 1>{});
        break;
      case DataType::kHALF:
        if (aligned && a.c % 8 == 0) launch(__half{}, std::integral_constant<int, 8>{});
        else launch(__half{}, std::integral_constant<int, 1>{});
        break;
      case DataType::kBF16:
        if (aligned && a.c % 8 == 0) launch(__nv_bfloat16{}, std::integral_constant<int, 8>{});
        else launch(__nv_bfloat16{}, std::integral_constant<int, 1>{});
        break;
      default: badData("pooling: float32/float16/bfloat16 only");
    }
  }

 private:
  bool max_;
  bool includePad_{false};
  std::vector<int64_t> kernel_;
  ir::nn::Window window_;
};

}  // namespace

//! Called by registerPoolKernels (nn_pool.cu) after the generic channels-last pools.
void registerPoolNhwcKernels(KernelRegistry& reg) {
  Tactic mx{.name = "cuda_vec",
            .create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<PoolNhwcKernel>(n, true); },
            .supports = supportsPoolNhwc};
  Tactic avg{.name = "cuda_vec",
             .create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<PoolNhwcKernel>(n, false); },
             .supports = supportsPoolNhwc};
  reg.add("MaxPoolNHWC", mx);
  reg.add("AveragePoolNHWC", avg);
}

}  // namespace kiln::gpu::nn
