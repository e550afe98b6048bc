// CUDA kernels: Det (LU with partial pivoting, one thread per matrix), DFT and STFT (direct O(N*L) sums in
// double, one thread per output bin, twiddle table in the workspace) and Col2Im (gather: one thread per
// image element, contributions summed in the reference's order).
//
// Same arithmetic as the CPU reference (src/backends/cpu/ref/signal.cpp, sampling.cpp). The parameter
// inputs that set output shapes (DFT's dft_length / axis, STFT's frame_step / frame_length, Col2Im's
// image_shape / block_shape) must be constants here; graph inputs go through the "cuda_host_params"
// wrapper (host_params.cpp), which makes them constants.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/small_types_device.cuh"
#include "backends/cuda/tensor_device.cuh"

namespace kiln::gpu {
namespace {

using tensor::invalid;
using tensor::unsupported;

constexpr int kThreads = 256;

bool isFloatType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16;
}

//! Scalar constant input k (absent: false; present but not constant: throws kUNSUPPORTED_NODE).
bool constScalar(const ir::Node& node, size_t k, const char* op, const char* what, int64_t* out) {
  if (!tensor::hasInput(node, k)) return false;
  std::vector<int64_t> v;
  if (!tensor::constantInts(node, k, &v))
    unsupported(std::string(op) + ": '" + what + "' must be a constant on the GPU (or a host-bound graph input)");
  if (v.size() != 1) invalid(std::string(op) + ": '" + what + "' must be a scalar");
  *out = v[0];
  return true;
}

bool constInputsSupport(const ir::Node& n, std::initializer_list<size_t> ks, const char* what, std::string* why) {
  for (size_t k : ks)
    if (tensor::hasInput(n, k) && !n.inputs[k]->isConstant()) {
      if (why) *why = std::string(n.op) + ": " + what + " must be constants on the GPU";
      return false;
    }
  return true;
}

// ---- Det ----------------------------------------------------------------------------------------------
__global__ void detKernel(const void* x, int32_t xt, void* y, int32_t yt, int64_t batch, int64_t m, double* work) {
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < batch;
       b += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    double* a = work + b * m * m;
    for (int64_t i = 0; i < m * m; ++i) a[i] = small::loadD(xt, x, b * m * m + i);
    double det = 1.0;
    for (int64_t k = 0; k < m && det != 0.0; ++k) {
      int64_t p = k;
      for (int64_t r = k + 1; r < m; ++r)
        if (fabs(a[r * m + k]) > fabs(a[p * m + k])) p = r;
      const double piv = a[p * m + k];
      if (piv == 0.0) {
        det = 0.0;
        break;
      }
      if (p != k) {
        for (int64_t c = 0; c < m; ++c) {
          const double t = a[p * m + c];
          a[p * m + c] = a[k * m + c];
          a[k * m + c] = t;
        }
        det = -det;
      }
      det *= piv;
      for (int64_t r = k + 1; r < m; ++r) {
        const double f = a[r * m + k] / piv;
        if (f == 0.0) continue;
        for (int64_t c = k; c < m; ++c) a[r * m + c] = __dsub_rn(a[r * m + c], __dmul_rn(f, a[k * m + c]));
      }
    }
    small::storeFloatD(yt, y, b, det);
  }
}

class DetKernel final : public Kernel {
 public:
  explicit DetKernel(const ir::Node& node) {
    if (!node.inputs.empty() && node.inputs[0] && !isFloatType(node.inputs[0]->dtype))
      unsupported(std::string("Det: type ") + dataTypeName(node.inputs[0]->dtype) + " is not supported on the GPU");
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return static_cast<std::size_t>(in[0].numel) * sizeof(double);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) invalid("Det: the input must be [*, M, M]");
    const int64_t m = x.dim(x.rank() - 1);
    if (y.numel == 0) return;
    if (ctx.workspaceBytes < static_cast<std::size_t>(x.numel) * sizeof(double)) invalid("Det: workspace too small");
    detKernel<<<blocksFor(y.numel, 64), 64, 0, streamOf(ctx)>>>(x.data, static_cast<int32_t>(x.dtype), y.data,
                                                                 static_cast<int32_t>(y.dtype), y.numel, m,
                                                                 static_cast<double*>(ctx.workspace));
    checkLaunch("Det");
  }
};

// ---- DFT / STFT ---------------------------------------------------------------------------------------
__global__ void twiddleKernel(double* cosT, double* sinT, int64_t len) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < len;
       k += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const double ang = 2.0 * 3.141592653589793 * static_cast<double>(k) / static_cast<double>(len);
    cosT[k] = cos(ang);
    sinT[k] = sin(ang);
  }
}

std::size_t twiddleBytes(int64_t len) { return (static_cast<std::size_t>(len) * 2 * sizeof(double) + 255) / 256 * 256; }

struct DftArgs {
  const void* x;
  void* y;
  int32_t xt, yt;
  int64_t outer, inner, n, len, lout, used, comp;
  double sign, scale;
  const double* cosT;
  const double* sinT;
};

__global__ void dftKernel(DftArgs a) {
  const int64_t total = a.outer * a.lout * a.inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t i = t % a.inner, k = (t / a.inner) % a.lout, o = t / (a.inner * a.lout);
    double re = 0, im = 0;
    for (int64_t j = 0; j < a.used; ++j) {
      const int64_t off = ((o * a.n + j) * a.inner + i) * a.comp;
      const double xr = small::loadD(a.xt, a.x, off), xi = a.comp == 2 ? small::loadD(a.xt, a.x, off + 1) : 0.0;
      const int64_t w = (k * j) % a.len;
      const double c = a.cosT[w], s = a.sign * a.sinT[w];
      re = __dadd_rn(re, __dsub_rn(__dmul_rn(xr, c), __dmul_rn(xi, s)));
      im = __dadd_rn(im, __dadd_rn(__dmul_rn(xr, s), __dmul_rn(xi, c)));
    }
    const int64_t oo = ((o * a.lout + k) * a.inner + i) * 2;
    small::storeFloatD(a.yt, a.y, oo, re * a.scale);
    small::storeFloatD(a.yt, a.y, oo + 1, im * a.scale);
  }
}

bool dftSupports(const ir::Node& n, std::string* why) { return constInputsSupport(n, {1, 2}, "dft_length and axis", why); }

class DftKernel final : public Kernel {
 public:
  explicit DftKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", 1)), inverse_(node.attrs.getInt("inverse", 0) != 0), onesided_(node.attrs.getInt("onesided", 0) != 0) {
    if (!node.inputs.empty() && node.inputs[0] && !isFloatType(node.inputs[0]->dtype))
      unsupported(std::string("DFT: type ") + dataTypeName(node.inputs[0]->dtype) + " is not supported on the GPU");
    hasLen_ = constScalar(node, 1, "DFT", "dft_length", &len_);
    constScalar(node, 2, "DFT", "axis", &axis_);
    if (hasLen_ && len_ < 1) invalid("DFT: dft_length must be a positive scalar");
  }
  int64_t axisOf(int64_t r) const {
    const int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (r < 2 || axis < 0 || axis >= r - 1) invalid("DFT: axis out of range");
    return axis;
  }
  int64_t lenOf(const TensorView& x) const { return hasLen_ ? len_ : x.dim(axisOf(x.rank())); }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    return twiddleBytes(lenOf(in[0]));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t r = x.rank(), axis = axisOf(r);
    DftArgs a{};
    a.comp = x.dim(r - 1);
    if (a.comp != 1 && a.comp != 2) invalid("DFT: the last dim must be 1 or 2");
    a.n = x.dim(axis);
    a.len = lenOf(x);
    a.lout = onesided_ ? a.len / 2 + 1 : a.len;
    if (y.rank() != r || y.dim(axis) != a.lout || y.dim(r - 1) != 2) invalid("DFT: output shape mismatch");
    a.outer = 1, a.inner = 1;
    for (int64_t d = 0; d < axis; ++d) a.outer *= x.dim(d);
    for (int64_t d = axis + 1; d < r - 1; ++d) a.inner *= x.dim(d);
    a.used = std::min(a.n, a.len);
    a.sign = inverse_ ? 1.0 : -1.0;
    a.scale = inverse_ ? 1.0 / static_cast<double>(a.len) : 1.0;
    if (y.numel == 0) return;
    if (ctx.workspaceBytes < twiddleBytes(a.len)) invalid("DFT: workspace too small");
    double* cosT = static_cast<double*>(ctx.workspace);
    double* sinT = cosT + a.len;
    a.cosT = cosT, a.sinT = sinT;
    a.x = x.data, a.y = y.data, a.xt = static_cast<int32_t>(x.dtype), a.yt = static_cast<int32_t>(y.dtype);
    cudaStream_t s = streamOf(ctx);
    twiddleKernel<<<blocksFor(a.len, kThreads), kThreads, 0, s>>>(cosT, sinT, a.len);
    checkLaunch("DFT");
    dftKernel<<<blocksFor(a.outer * a.lout * a.inner, kThreads), kThreads, 0, s>>>(a);
    checkLaunch("DFT");
  }

 private:
  int64_t axis_, len_{0};
  bool inverse_, onesided_, hasLen_{false};
};

struct StftArgs {
  const void* x;
  const void* win;  // nullptr: rectangular
  void* y;
  int32_t xt, wt, yt;
  int64_t batch, tlen, comp, step, len, frames, bins;
  const double* cosT;
  const double* sinT;
};

__global__ void stftKernel(StftArgs a) {
  const int64_t total = a.batch * a.frames * a.bins;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t k = t % a.bins, f = (t / a.bins) % a.frames, b = t / (a.bins * a.frames);
    double re = 0, im = 0;
    for (int64_t j = 0; j < a.len; ++j) {
      const int64_t off = (b * a.tlen + f * a.step + j) * a.comp;
      const double w = a.win ? small::loadD(a.wt, a.win, j) : 1.0;
      const double xr = __dmul_rn(small::loadD(a.xt, a.x, off), w);
      const double xi = a.comp == 2 ? __dmul_rn(small::loadD(a.xt, a.x, off + 1), w) : 0.0;
      const int64_t q = (k * j) % a.len;
      const double c = a.cosT[q], s = -a.sinT[q];
      re = __dadd_rn(re, __dsub_rn(__dmul_rn(xr, c), __dmul_rn(xi, s)));
      im = __dadd_rn(im, __dadd_rn(__dmul_rn(xr, s), __dmul_rn(xi, c)));
    }
    const int64_t oo = t * 2;
    small::storeFloatD(a.yt, a.y, oo, re);
    small::storeFloatD(a.yt, a.y, oo + 1, im);
  }
}

bool stftSupports(const ir::Node& n, std::string* why) {
  if (!tensor::hasInput(n, 1)) {
    if (why) *why = "STFT: frame_step is required";
    return false;
  }
  return constInputsSupport(n, {1, 3}, "frame_step and frame_length", why);
}

class StftKernel final : public Kernel {
 public:
  explicit StftKernel(const ir::Node& node) : onesided_(node.attrs.getInt("onesided", 1) != 0) {
    if (!node.inputs.empty() && node.inputs[0] && !isFloatType(node.inputs[0]->dtype))
      unsupported(std::string("STFT: type ") + dataTypeName(node.inputs[0]->dtype) + " is not supported on the GPU");
    if (!constScalar(node, 1, "STFT", "frame_step", &step_)) unsupported("STFT: frame_step is required");
    if (step_ < 1) invalid("STFT: frame_step must be a positive scalar");
    hasLen_ = constScalar(node, 3, "STFT", "frame_length", &len_);
  }
  int64_t lenOf(std::span<const TensorView> in) const {
    const bool hasWin = in.size() > 2 && in[2].present;
    int64_t len = hasWin ? in[2].numel : -1;
    if (hasLen_) {
      if (len_ < 1 || (len >= 0 && len_ != len)) invalid("STFT: bad frame_length");
      len = len_;
    }
    if (len < 1 || len > in[0].dim(1)) invalid("STFT: the frame length must be in [1, signal length]");
    return len;
  }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    if (in[0].rank() != 3) return 0;
    return twiddleBytes(lenOf(in));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2)) invalid("STFT: the signal must be [batch, length, 1 or 2]");
    StftArgs a{};
    a.len = lenOf(ctx.inputs);
    a.batch = x.dim(0), a.tlen = x.dim(1), a.comp = x.dim(2), a.step = step_;
    a.frames = (a.tlen - a.len) / a.step + 1;
    a.bins = onesided_ ? a.len / 2 + 1 : a.len;
    if (y.rank() != 4 || y.dim(1) != a.frames || y.dim(2) != a.bins || y.dim(3) != 2) invalid("STFT: output shape mismatch");
    const bool hasWin = tensor::present(ctx, 2);
    if (hasWin && !isFloatType(ctx.inputs[2].dtype)) unsupported("STFT: the window must be a float type");
    if (y.numel == 0) return;
    if (ctx.workspaceBytes < twiddleBytes(a.len)) invalid("STFT: workspace too small");
    double* cosT = static_cast<double*>(ctx.workspace);
    a.cosT = cosT, a.sinT = cosT + a.len;
    a.x = x.data, a.y = y.data, a.win = hasWin ? ctx.inputs[2].data : nullptr;
    a.xt = static_cast<int32_t>(x.dtype), a.yt = static_cast<int32_t>(y.dtype);
    a.wt = hasWin ? static_cast<int32_t>(ctx.inputs[2].dtype) : 0;
    cudaStream_t s = streamOf(ctx);
    twiddleKernel<<<blocksFor(a.len, kThreads), kThreads, 0, s>>>(cosT, cosT + a.len, a.len);
    checkLaunch("STFT");
    stftKernel<<<blocksFor(a.batch * a.frames * a.bins, kThreads), kThreads, 0, s>>>(a);
    checkLaunch("STFT");
  }

 private:
  bool onesided_;
  int64_t step_{1}, len_{0};
  bool hasLen_{false};
};

// ---- Col2Im -------------------------------------------------------------------------------------------
struct Col2ImArgs {
  int32_t r;
  int64_t img[kMaxDims], blk[kMaxDims], dil[kMaxDims], str[kMaxDims], pad[kMaxDims], cnt[kMaxDims];
  int64_t nc, ipr, bprod, blocks;
};

template <class T>
__global__ void col2imKernel(const T* __restrict__ x, T* __restrict__ y, Col2ImArgs a) {
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < a.nc * a.ipr;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t bc = t / a.ipr, pos = t - bc * a.ipr;
    int64_t p[kMaxDims];
    {
      int64_t rem = pos;
      for (int k = a.r - 1; k >= 0; --k) p[k] = rem % a.img[k], rem /= a.img[k];
    }
    double acc = 0;
    for (int64_t kb = 0; kb < a.bprod; ++kb) {
      int64_t rem = kb, l = 0;
      bool ok = true;
      int64_t bi[kMaxDims];
      for (int k = a.r - 1; k >= 0; --k) bi[k] = rem % a.blk[k], rem /= a.blk[k];
      for (int k = 0; k < a.r && ok; ++k) {
        const int64_t q = p[k] + a.pad[k] - bi[k] * a.dil[k];
        if (q < 0 || q % a.str[k] != 0) {
          ok = false;
          break;
        }
        const int64_t li = q / a.str[k];
        if (li >= a.cnt[k]) ok = false;
        else l = l * a.cnt[k] + li;
      }
      if (ok) acc += tensor::toD(x[(bc * a.bprod + kb) * a.blocks + l]);
    }
    y[t] = tensor::fromD<T>(acc);
  }
}

bool col2imSupports(const ir::Node& n, std::string* why) {
  if (!tensor::hasInput(n, 1) || !tensor::hasInput(n, 2)) {
    if (why) *why = "Col2Im: image_shape and block_shape are required";
    return false;
  }
  return constInputsSupport(n, {1, 2}, "image_shape and block_shape", why);
}

class Col2ImKernel final : public Kernel {
 public:
  explicit Col2ImKernel(const ir::Node& node)
      : dil_(node.attrs.getInts("dilations")), pads_(node.attrs.getInts("pads")), str_(node.attrs.getInts("strides")) {
    if (!tensor::constantInts(node, 1, &img_) || !tensor::constantInts(node, 2, &blk_))
      unsupported("Col2Im: image_shape and block_shape must be constants on the GPU");
    if (img_.size() > static_cast<size_t>(kMaxDims)) unsupported("Col2Im: more than 8 spatial dims");
    if (!node.inputs.empty() && node.inputs[0] && node.inputs[0]->dtype == DataType::kBOOL) unsupported("Col2Im: bool is not supported");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const size_t r = img_.size();
    if (r < 1 || blk_.size() != r) invalid("Col2Im: image_shape and block_shape must have the same length >= 1");
    std::vector<int64_t> dil = dil_.empty() ? std::vector<int64_t>(r, 1) : dil_;
    std::vector<int64_t> str = str_.empty() ? std::vector<int64_t>(r, 1) : str_;
    std::vector<int64_t> pads = pads_.empty() ? std::vector<int64_t>(2 * r, 0) : pads_;
    if (dil.size() != r || str.size() != r || pads.size() != 2 * r) invalid("Col2Im: attribute lengths do not match");
    if (x.rank() != 3 || y.rank() != static_cast<int64_t>(r) + 2) invalid("Col2Im: rank mismatch");
    Col2ImArgs a{};
    a.r = static_cast<int32_t>(r);
    int64_t bprod = 1, ipr = 1, blocks = 1;
    for (size_t k = 0; k < r; ++k) {
      constexpr int64_t kBig = int64_t{1} << 31;
      if (blk_[k] < 1 || blk_[k] > x.dim(1) || blk_[k] > kBig || dil[k] < 1 || dil[k] > kBig || str[k] < 1 || str[k] > kBig ||
          pads[k] < 0 || pads[k] > kBig || pads[k + r] < 0 || pads[k + r] > kBig || img_[k] < 0 ||
          y.dim(static_cast<int64_t>(k) + 2) != img_[k])
        invalid("Col2Im: invalid image_shape/block_shape/attributes");
      bprod *= blk_[k];
      if (bprod > x.dim(1)) invalid("Col2Im: prod(block_shape) exceeds the input's dim 1");
      ipr *= img_[k];
      const int64_t span = dil[k] * (blk_[k] - 1) + 1;
      const int64_t padded = img_[k] + pads[k] + pads[k + r];
      if (padded < span) invalid("Col2Im: the block does not fit the padded image");
      a.cnt[k] = (padded - span) / str[k] + 1;
      blocks *= a.cnt[k];
      if (blocks > x.dim(2)) invalid("Col2Im: the image holds more blocks than the input has");
      a.img[k] = img_[k], a.blk[k] = blk_[k], a.dil[k] = dil[k], a.str[k] = str[k], a.pad[k] = pads[k];
    }
    const int64_t n = x.dim(0), c = y.dim(1);
    if (y.dim(0) != n || x.dim(1) != c * bprod || x.dim(2) != blocks) invalid("Col2Im: input shape does not match");
    a.nc = n * c, a.ipr = ipr, a.bprod = bprod, a.blocks = blocks;
    if (y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>)
        col2imKernel<T><<<blocksFor(y.numel, kThreads), kThreads, 0, s>>>(x.as<const T>(), y.as<T>(), a);
      else
        unsupported("Col2Im: bool is not supported");
    });
    checkLaunch("Col2Im");
  }

 private:
  std::vector<int64_t> dil_, pads_, str_, img_, blk_;
};

}  // namespace

void registerSignalKernels(KernelRegistry& reg) {
  reg.add("Det", tensor::cudaTactic<DetKernel>());
  reg.add("DFT", tensor::cudaTactic<DftKernel>(&dftSupports));
  reg.add("STFT", tensor::cudaTactic<StftKernel>(&stftSupports));
  reg.add("Col2Im", tensor::cudaTactic<Col2ImKernel>(&col2imSupports));
}

}  // namespace kiln::gpu
