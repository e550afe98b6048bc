// CUDA kernels: GridSample (1-D to 6-D spatial; linear / nearest / cubic; zeros / border / reflection
// padding; align_corners), AffineGrid (2-D and 3-D) and CumProd (constant axis).
//
// Same arithmetic as the CPU reference (src/backends/cpu/ref/sampling.cpp, tensor_shape.cpp): double
// precision, the same tap order and rounding, results rounded to the output type. GridSample runs one
// thread per output point (all channels in a loop: the taps are computed once). AffineGrid takes the grid
// extents from its output's shape (the 'size' input is not read on the device).
#include <algorithm>
#include <cmath>

#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/small_types_device.cuh"
#include "backends/cuda/tensor_device.cuh"

namespace kiln::gpu {
namespace {

using tensor::invalid;
using tensor::unsupported;

constexpr int kThreads = 256;
constexpr int kMaxSpatial = 6;  // the importer's limit (ir/ops/sampling.cpp)

bool isFloatType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16;
}

// ---- GridSample ---------------------------------------------------------------------------------------
enum Mode : int32_t { kLinear = 0, kNearest = 1, kCubic = 2 };
enum Pad : int32_t { kZeros = 0, kBorder = 1, kReflection = 2 };

struct GridArgs {
  const void* x;
  const void* grid;
  void* y;
  int32_t xt, gt, yt;
  int32_t r, mode, pad;
  bool align;
  int64_t n, c, inSize, outSize;
  int64_t dims[kMaxSpatial], strides[kMaxSpatial];
};

__device__ double reflectD(double x, double lo, double hi) {
  const double range = hi - lo;
  if (!(range > 0)) return lo;
  if (x >= lo && x <= hi) return x;
  const bool below = x < lo;
  const double dx = below ? lo - x : x - hi;
  const double periods = floor(dx / range);
  const double rem = dx - periods * range;
  const bool even = fmod(periods, 2.0) == 0.0;
  if (below) return even ? lo + rem : hi - rem;
  return even ? hi - rem : lo + rem;
}

__device__ int64_t fetchIndex(const GridArgs& a, int64_t i, int64_t d, double lo, double hi) {
  if (d <= 0) return -1;
  if (i >= 0 && i < d) return i;
  if (a.pad == kZeros) return -1;
  if (a.pad == kBorder) return i < 0 ? 0 : d - 1;
  int64_t j = static_cast<int64_t>(reflectD(static_cast<double>(i), lo, hi));
  return j < 0 ? 0 : (j > d - 1 ? d - 1 : j);
}

__device__ void taps1d(const GridArgs& a, double gn, int64_t d, int64_t* off, double* w) {
  const double lo = a.align ? 0.0 : -0.5;
  const double hi = a.align ? static_cast<double>(d) - 1 : static_cast<double>(d) - 0.5;
  double xc = a.align ? (gn + 1) / 2 * static_cast<double>(d - 1) : ((gn + 1) * static_cast<double>(d) - 1) / 2;
  const int taps = a.mode == kNearest ? 1 : (a.mode == kLinear ? 2 : 4);
  if (isnan(xc)) {
    for (int t = 0; t < taps; ++t) off[t] = -1, w[t] = 0;
    return;
  }
  if (a.mode == kNearest) xc = rint(xc);
  if (xc < lo || xc > hi) {
    if (a.pad == kBorder) xc = fmin(fmax(xc, 0.0), static_cast<double>(d - 1));
    else if (a.pad == kReflection) xc = reflectD(xc, lo, hi);
  }
  xc = fmin(fmax(xc, -8.0), static_cast<double>(d) + 8.0);
  if (a.mode == kNearest) {
    off[0] = fetchIndex(a, static_cast<int64_t>(xc), d, lo, hi);
    w[0] = 1;
    return;
  }
  const double fl = floor(xc);
  const int64_t x0 = static_cast<int64_t>(fl);
  const double t = xc - fl;
  if (a.mode == kLinear) {
    off[0] = fetchIndex(a, x0, d, lo, hi), w[0] = 1 - t;
    off[1] = fetchIndex(a, x0 + 1, d, lo, hi), w[1] = t;
    return;
  }
  constexpr double A = -0.75;
  auto nearW = [](double s) { return ((A + 2) * s - (A + 3)) * s * s + 1; };
  auto farW = [](double s) { return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A; };
  w[0] = farW(t + 1);
  w[1] = nearW(t);
  w[2] = nearW(1 - t);
  w[3] = farW(2 - t);
  for (int k = 0; k < 4; ++k) off[k] = fetchIndex(a, x0 - 1 + k, d, lo, hi);
}

__global__ void gridSampleKernel(GridArgs a) {
  const int taps = a.mode == kNearest ? 1 : (a.mode == kLinear ? 2 : 4);
  const int r = a.r;
  for (int64_t bp = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; bp < a.n * a.outSize;
       bp += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t b = bp / a.outSize, p = bp - b * a.outSize;
    int64_t tapOff[kMaxSpatial * 4];
    double tapW[kMaxSpatial * 4];
    for (int k = 0; k < r; ++k) {
      const double gn = small::loadD(a.gt, a.grid, bp * r + (r - 1 - k));
      taps1d(a, gn, a.dims[k], &tapOff[k * taps], &tapW[k * taps]);
      for (int t = 0; t < taps; ++t)
        if (tapOff[k * taps + t] >= 0) tapOff[k * taps + t] *= a.strides[k];
    }
    int combos = 1;
    for (int k = 0; k < r; ++k) combos *= taps;
    for (int64_t ch = 0; ch < a.c; ++ch) {
      const int64_t base = (b * a.c + ch) * a.inSize;
      double acc = 0;
      for (int cmb = 0; cmb < combos; ++cmb) {  // last spatial dim fastest, as the reference's counter
        double w = 1;
        int64_t off = 0;
        bool zero = false;
        int rem = cmb, div = combos;
        for (int k = 0; k < r; ++k) {
          div /= taps;
          const int ck = rem / div;
          rem -= ck * div;
          const int i = k * taps + ck;
          w *= tapW[i];
          if (tapOff[i] < 0) zero = true;
          else off += tapOff[i];
        }
        if (!zero) acc += w * small::loadD(a.xt, a.x, base + off);
      }
      small::storeFloatD(a.yt, a.y, (b * a.c + ch) * a.outSize + p, acc);
    }
  }
}

bool gridSampleSupports(const ir::Node& n, std::string* why) {
  if (!n.inputs.empty() && n.inputs[0]) {
    const int64_t rank = static_cast<int64_t>(n.inputs[0]->shape.size());
    if (rank > 2 + kMaxSpatial) {
      if (why) *why = "GridSample: only 1 to 6 spatial dims on the GPU (X has rank " + std::to_string(rank) + ")";
      return false;
    }
    if (!isFloatType(n.inputs[0]->dtype)) {
      if (why) *why = std::string("GridSample: X of type ") + dataTypeName(n.inputs[0]->dtype) + " is not supported on the GPU";
      return false;
    }
  }
  return true;
}

class GridSampleKernel final : public Kernel {
 public:
  explicit GridSampleKernel(const ir::Node& node) : align_(node.attrs.getInt("align_corners", 0) != 0) {
    std::string why;
    if (!gridSampleSupports(node, &why)) unsupported(why);
    const std::string m = node.attrs.getString("mode", "linear");
    const std::string p = node.attrs.getString("padding_mode", "zeros");
    if (m == "linear" || m == "bilinear") mode_ = kLinear;
    else if (m == "nearest") mode_ = kNearest;
    else if (m == "cubic" || m == "bicubic") mode_ = kCubic;
    else unsupported("GridSample: unknown mode '" + m + "'");
    if (p == "zeros") pad_ = kZeros;
    else if (p == "border") pad_ = kBorder;
    else if (p == "reflection") pad_ = kReflection;
    else unsupported("GridSample: unknown padding_mode '" + p + "'");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& g = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    const int64_t r = x.rank() - 2;
    if (r < 1 || g.rank() != x.rank() || g.dim(r + 1) != r || g.dim(0) != x.dim(0))
      invalid("GridSample: grid must be [N, out..., " + std::to_string(r) + "] for X of rank " + std::to_string(x.rank()));
    if (r > kMaxSpatial) unsupported("GridSample: only 1 to 6 spatial dims on the GPU");
    if (y.rank() != x.rank() || y.dim(0) != x.dim(0) || y.dim(1) != x.dim(1)) invalid("GridSample: output shape mismatch");
    for (int64_t k = 1; k <= r; ++k)
      if (y.dim(k + 1) != g.dim(k)) invalid("GridSample: output shape mismatch");
    if (!isFloatType(x.dtype) || !isFloatType(g.dtype) || y.dtype != x.dtype)
      unsupported("GridSample: X and grid must be float types on the GPU");
    GridArgs a{};
    a.x = x.data, a.grid = g.data, a.y = y.data;
    a.xt = static_cast<int32_t>(x.dtype), a.gt = static_cast<int32_t>(g.dtype), a.yt = static_cast<int32_t>(y.dtype);
    a.r = static_cast<int32_t>(r), a.mode = mode_, a.pad = pad_, a.align = align_;
    a.n = x.dim(0), a.c = x.dim(1);
    a.inSize = 1, a.outSize = 1;
    for (int64_t k = r - 1; k >= 0; --k) {
      a.dims[k] = x.dim(k + 2);
      a.strides[k] = a.inSize;
      a.inSize *= x.dim(k + 2);
      a.outSize *= g.dim(k + 1);
    }
    if (y.numel == 0) return;
    gridSampleKernel<<<blocksFor(a.n * a.outSize, kThreads), kThreads, 0, streamOf(ctx)>>>(a);
    checkLaunch("GridSample");
  }

 private:
  bool align_;
  int32_t mode_{kLinear}, pad_{kZeros};
};

// ---- AffineGrid ---------------------------------------------------------------------------------------
__device__ inline double affineBase(int64_t i, int64_t n, bool align) {
  if (align) return n > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1) : -1.0;
  return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(n);
}

__global__ void affineGridKernel(const void* theta, int32_t tt, void* y, int32_t yt, int32_t r, int64_t batch, int64_t depth,
                                 int64_t h, int64_t w, bool align) {
  const int64_t pts = depth * h * w;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch * pts;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t b = i / pts, q = i - b * pts;
    const int64_t ix = q % w, iy = (q / w) % h, dz = q / (w * h);
    const double v[4] = {affineBase(ix, w, align), affineBase(iy, h, align), r == 3 ? affineBase(dz, depth, align) : 1.0, 1.0};
    const int64_t t0 = b * r * (r + 1);
    for (int row = 0; row < r; ++row) {
      double s = 0;
      for (int col = 0; col <= r; ++col) s += small::loadD(tt, theta, t0 + row * (r + 1) + col) * v[col];
      small::storeFloatD(yt, y, i * r + row, s);
    }
  }
}

class AffineGridKernel final : public Kernel {
 public:
  explicit AffineGridKernel(const ir::Node& node) : align_(node.attrs.getInt("align_corners", 0) != 0) {
    if (!node.inputs.empty() && node.inputs[0] && !isFloatType(node.inputs[0]->dtype))
      unsupported(std::string("AffineGrid: theta of type ") + dataTypeName(node.inputs[0]->dtype) + " is not supported on the GPU");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& th = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t r = y.rank() - 2;
    if (r != 2 && r != 3) invalid("AffineGrid: size must have 4 or 5 entries");
    if (th.rank() != 3 || th.dim(1) != r || th.dim(2) != r + 1 || th.dim(0) != y.dim(0) || y.dim(r + 1) != r)
      invalid("AffineGrid: theta must be [N, " + std::to_string(r) + ", " + std::to_string(r + 1) + "] with N = size[0]");
    if (!isFloatType(y.dtype)) unsupported("AffineGrid: output must be a float type");
    if (y.numel == 0) return;
    const int64_t depth = r == 3 ? y.dim(1) : 1, h = y.dim(r - 1), w = y.dim(r);  // y: [N, (D,) H, W, r]
    affineGridKernel<<<blocksFor(y.numel / r, kThreads), kThreads, 0, streamOf(ctx)>>>(
        th.data, static_cast<int32_t>(th.dtype), y.data, static_cast<int32_t>(y.dtype), static_cast<int32_t>(r), y.dim(0),
        depth, h, w, align_);
    checkLaunch("AffineGrid");
  }

 private:
  bool align_;
};

// ---- CumProd ------------------------------------------------------------------------------------------
template <class T>
__global__ void cumprodLines(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t len, int64_t inner,
                             bool exclusive, bool reverse) {
  using A = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;  // integers wrap like T
  for (int64_t line = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; line < outer * inner;
       line += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t o = line / inner, i = line - o * inner;
    A acc = A{1};
    for (int64_t s = 0; s < len; ++s) {
      const int64_t j = reverse ? len - 1 - s : s;
      const int64_t off = (o * len + j) * inner + i;
      A v;
      if constexpr (std::is_integral_v<T>) v = static_cast<A>(static_cast<int64_t>(x[off]));
      else v = tensor::toD(x[off]);
      const A before = acc;
      acc *= v;
      const A put = exclusive ? before : acc;
      if constexpr (std::is_integral_v<T>) y[off] = static_cast<T>(put);
      else y[off] = tensor::fromD<T>(put);
    }
  }
}

bool cumprodSupports(const ir::Node& n, std::string* why) {
  if (!tensor::hasInput(n, 1) || !n.inputs[1]->isConstant()) {
    if (why) *why = "CumProd: 'axis' must be a constant on the GPU";
    return false;
  }
  if (!n.inputs.empty() && n.inputs[0] && n.inputs[0]->dtype == DataType::kBOOL) {
    if (why) *why = "CumProd: bool is not supported";
    return false;
  }
  return true;
}

class CumProdKernel final : public Kernel {
 public:
  explicit CumProdKernel(const ir::Node& node)
      : exclusive_(node.attrs.getInt("exclusive", 0) != 0), reverse_(node.attrs.getInt("reverse", 0) != 0) {
    std::vector<int64_t> a;
    if (!tensor::constantInts(node, 1, &a)) unsupported("CumProd: 'axis' must be a constant on the GPU");
    if (a.size() != 1) unsupported("CumProd: axis must be a scalar");
    axis_ = a[0];
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t axis = tensor::normAxis(axis_, x.rank(), "CumProd");
    if (x.numel == 0) return;
    int64_t len = x.dim(axis), inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t outer = x.numel / (len * inner);
    cudaStream_t s = streamOf(ctx);
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        cumprodLines<T><<<blocksFor(outer * inner, kThreads), kThreads, 0, s>>>(x.as<const T>(), y.as<T>(), outer, len, inner,
                                                                                exclusive_, reverse_);
      } else {
        unsupported("CumProd: bool is not supported");
      }
    });
    checkLaunch("CumProd");
  }

 private:
  bool exclusive_, reverse_;
  int64_t axis_{0};
};

}  // namespace

void registerSamplingKernels(KernelRegistry& reg) {
  reg.add("GridSample", tensor::cudaTactic<GridSampleKernel>(&gridSampleSupports));
  reg.add("AffineGrid", tensor::cudaTactic<AffineGridKernel>());
  reg.add("CumProd", tensor::cudaTactic<CumProdKernel>(&cumprodSupports));
}

}  // namespace kiln::gpu
