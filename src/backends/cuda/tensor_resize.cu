// CUDA kernel: Resize (ONNX opset 19, antialias=0; roi/scales/sizes must be constants on the GPU).
//
// A first launch computes, per resized axis and output coordinate, the input taps (offsets and weights)
// into the workspace with the reference's double-precision formulas (written with non-fused operations so
// that nearest indices and floor() agree bit for bit); the second computes every output element: nearest
// copies by element size (all types), linear/cubic take the tensor product of the taps of the resized axes
// in one pass, accumulated in double (the reference interpolates one axis at a time in double: the results
// differ by double rounding only).
#include <algorithm>
#include <cmath>

#include "backends/cuda/tensor_device.cuh"
#include "ir/ops/tensor_ops.h"

namespace kiln::gpu::tensor {
namespace {

using ir::tensor_ops::CoordMode;
using ir::tensor_ops::NearestMode;

constexpr int kThreads = 256;

struct Tap {
  int64_t off[4];  // element offsets (index * stride) of the taps, clamped into the input
  double w[4];
  int32_t oob;  // tf_crop_and_resize: the coordinate is outside the input (extrapolation value)
  int32_t pad;
};

struct AxisPlan {
  int64_t inLen, outLen, stride, tabOff;
  double scale, r0, r1;
};
struct TapArgs {
  int32_t naxes, mode, coord, nearest, exclude;
  double A;
  int64_t total;
  AxisPlan ax[kMaxDims];
};

__device__ double coordinateD(int32_t m, double x, double scale, int64_t inLen, int64_t outLen, double r0, double r1) {
  const double in = static_cast<double>(inLen), out = static_cast<double>(outLen);
  switch (static_cast<CoordMode>(m)) {
    case CoordMode::kHALF_PIXEL: return __dsub_rn(__ddiv_rn(__dadd_rn(x, 0.5), scale), 0.5);
    case CoordMode::kHALF_PIXEL_SYMMETRIC: {
      double adjustment = __ddiv_rn(out, __dmul_rn(scale, in));
      double center = __ddiv_rn(in, 2.0);
      double offset = __dmul_rn(center, __dsub_rn(1.0, adjustment));
      return __dsub_rn(__dadd_rn(offset, __ddiv_rn(__dadd_rn(x, 0.5), scale)), 0.5);
    }
    case CoordMode::kPYTORCH_HALF_PIXEL: return outLen > 1 ? __dsub_rn(__ddiv_rn(__dadd_rn(x, 0.5), scale), 0.5) : 0.0;
    case CoordMode::kALIGN_CORNERS:
      return outLen == 1 ? 0.0 : __ddiv_rn(__dmul_rn(x, static_cast<double>(inLen - 1)), static_cast<double>(outLen - 1));
    case CoordMode::kASYMMETRIC: return __ddiv_rn(x, scale);
    case CoordMode::kTF_CROP_AND_RESIZE:
      if (outLen > 1)
        return __dadd_rn(__dmul_rn(r0, static_cast<double>(inLen - 1)),
                         __ddiv_rn(__dmul_rn(__dmul_rn(x, __dsub_rn(r1, r0)), static_cast<double>(inLen - 1)),
                                   static_cast<double>(outLen - 1)));
      return __dmul_rn(__dmul_rn(0.5, __dadd_rn(r0, r1)), static_cast<double>(inLen - 1));
  }
  return x;
}

__device__ int64_t nearestD(int32_t m, double x) {
  double f = floor(x);
  switch (static_cast<NearestMode>(m)) {
    case NearestMode::kROUND_PREFER_FLOOR: return static_cast<int64_t>(__dsub_rn(x, f) == 0.5 ? f : round(x));
    case NearestMode::kROUND_PREFER_CEIL: return static_cast<int64_t>(__dsub_rn(x, f) == 0.5 ? f + 1 : round(x));
    case NearestMode::kFLOOR: return static_cast<int64_t>(f);
    case NearestMode::kCEIL: return static_cast<int64_t>(ceil(x));
  }
  return 0;
}

__global__ void tapsKernel(Tap* __restrict__ tab, TapArgs p) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < p.total;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int a = 0;
    while (a + 1 < p.naxes && e >= p.ax[a + 1].tabOff) ++a;
    const AxisPlan& ax = p.ax[a];
    const int64_t i = e - ax.tabOff, n = ax.inLen;
    double c = coordinateD(p.coord, static_cast<double>(i), ax.scale, ax.inLen, ax.outLen, ax.r0, ax.r1);
    Tap t{};
    t.oob = p.coord == static_cast<int32_t>(CoordMode::kTF_CROP_AND_RESIZE) && (c < 0 || c > static_cast<double>(n - 1));
    c = fmin(fmax(c, -4.0), static_cast<double>(n) + 3.0);
    if (p.mode == 0) {
      int64_t k = nearestD(p.nearest, c);
      k = k < 0 ? 0 : (k > n - 1 ? n - 1 : k);
      t.off[0] = k * ax.stride;
      t.w[0] = 1.0;
    } else {
      double f = floor(c), s = c - f;
      int64_t x0 = static_cast<int64_t>(f);
      int64_t idx[4];
      int nt;
      if (p.mode == 1) {
        nt = 2;
        idx[0] = x0;
        idx[1] = x0 + 1;
        t.w[0] = 1.0 - s;
        t.w[1] = s;
      } else {
        nt = 4;
        const double A = p.A, s1 = s + 1, u = 1 - s, u1 = u + 1;
        for (int k = 0; k < 4; ++k) idx[k] = x0 - 1 + k;
        t.w[0] = ((A * s1 - 5 * A) * s1 + 8 * A) * s1 - 4 * A;
        t.w[1] = ((A + 2) * s - (A + 3)) * s * s + 1;
        t.w[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
        t.w[3] = ((A * u1 - 5 * A) * u1 + 8 * A) * u1 - 4 * A;
      }
      if (p.exclude) {
        double sum = 0;
        for (int k = 0; k < nt; ++k) {
          if (idx[k] < 0 || idx[k] >= n) t.w[k] = 0;
          sum += t.w[k];
        }
        if (sum != 0)
          for (int k = 0; k < nt; ++k) t.w[k] /= sum;
      }
      for (int k = 0; k < nt; ++k) {
        int64_t j = idx[k] < 0 ? 0 : (idx[k] > n - 1 ? n - 1 : idx[k]);
        t.off[k] = j * ax.stride;
      }
    }
    tab[e] = t;
  }
}

struct MainArgs {
  int32_t rank, ntaps, nres;
  int64_t ext[kMaxDims];     // output extents
  int64_t stride[kMaxDims];  // input strides (0 on resized dims: their taps carry the offsets)
  int32_t res[kMaxDims];     // per dim: index into tab (-1 = not resized)
  int64_t tabOff[kMaxDims];  // per resized axis (by res index)
};

template <class U>
__global__ void nearestKernel(const U* __restrict__ src, U* __restrict__ dst, const Tap* __restrict__ tab, MainArgs p,
                              int64_t n, U fill) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t rem = i, off = 0;
    bool oob = false;
    for (int d = p.rank - 1; d >= 0; --d) {
      int64_t q = rem / p.ext[d], c = rem - q * p.ext[d];
      rem = q;
      if (p.res[d] < 0) {
        off += c * p.stride[d];
      } else {
        const Tap& t = tab[p.tabOff[p.res[d]] + c];
        oob = oob || t.oob;
        off += t.off[0];
      }
    }
    dst[i] = oob ? fill : src[off];
  }
}

template <class T>
__global__ void interpKernel(const T* __restrict__ src, T* __restrict__ dst, const Tap* __restrict__ tab, MainArgs p,
                             int64_t n, double extrapolation) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t rem = i, base = 0;
    bool oob = false;
    const Tap* rows[kMaxDims];
    for (int d = p.rank - 1; d >= 0; --d) {
      int64_t q = rem / p.ext[d], c = rem - q * p.ext[d];
      rem = q;
      if (p.res[d] < 0) {
        base += c * p.stride[d];
      } else {
        const Tap* t = tab + p.tabOff[p.res[d]] + c;
        rows[p.res[d]] = t;
        oob = oob || t->oob;
      }
    }
    if (oob) {
      dst[i] = fromD<T>(extrapolation);
      continue;
    }
    int combos = 1;
    for (int j = 0; j < p.nres; ++j) combos *= p.ntaps;
    double acc = 0;
    for (int cmb = 0; cmb < combos; ++cmb) {
      int rest = cmb;
      double w = 1;
      int64_t off = base;
      for (int j = 0; j < p.nres; ++j) {
        int k = rest % p.ntaps;
        rest /= p.ntaps;
        w *= rows[j]->w[k];
        off += rows[j]->off[k];
      }
      if (w != 0) acc += w * toD(src[off]);
    }
    dst[i] = fromD<T>(acc);
  }
}

bool resizeSupports(const ir::Node& n, std::string* why) {
  for (size_t k = 1; k < 4; ++k)
    if (hasInput(n, k) && !n.inputs[k]->isConstant()) {
      if (why) *why = "roi/scales/sizes must be constants on the GPU";
      return false;
    }
  if (n.attrs.getInt("antialias", 0) != 0) {
    if (why) *why = "antialias=1 is not supported";
    return false;
  }
  std::string m = n.attrs.getString("mode", "nearest");
  if (m != "nearest" && !n.inputs.empty() && n.inputs[0]) {
    DataType t = n.inputs[0]->dtype;
    if (t != DataType::kFLOAT && t != DataType::kHALF && t != DataType::kBF16 && t != DataType::kDOUBLE) {
      if (why) *why = "linear/cubic need a floating-point input";
      return false;
    }
  }
  return true;
}

class ResizeKernel final : public Kernel {
 public:
  explicit ResizeKernel(const ir::Node& node)
      : attrs_(node.attrs),
        coord_(ir::tensor_ops::parseCoordMode(node.attrs.getString("coordinate_transformation_mode", "half_pixel"))),
        nearest_(ir::tensor_ops::parseNearestMode(node.attrs.getString("nearest_mode", "round_prefer_floor"))),
        a_(node.attrs.getFloat("cubic_coeff_a", -0.75)),
        exclude_(node.attrs.getInt("exclude_outside", 0) != 0),
        extrapolation_(node.attrs.getFloat("extrapolation_value", 0.0)) {
    std::string why;
    if (!resizeSupports(node, &why)) unsupported("Resize: " + why);
    std::string m = node.attrs.getString("mode", "nearest");
    if (m == "nearest") mode_ = 0;
    else if (m == "linear") mode_ = 1;
    else if (m == "cubic") mode_ = 2;
    else unsupported("Resize: unknown mode '" + m + "'");
    std::vector<int64_t> sz;
    hasRoi_ = constantDoubles(node, 1, &roi_) && !roi_.empty();
    hasScales_ = constantDoubles(node, 2, &scales_) && !scales_.empty();
    hasSizes_ = constantInts(node, 3, &sizes_) && !sizes_.empty();
  }

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView> outputs) const override {
    int64_t n = 0;
    for (int64_t d = 0; d < outputs[0].rank(); ++d) n += outputs[0].dim(d);
    return static_cast<size_t>(n) * sizeof(Tap) + 256;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    ir::Shape in = x.shapeVec();
    ir::tensor_ops::ResizePlan p = ir::tensor_ops::resizePlan(attrs_, in, hasRoi_ ? &roi_ : nullptr,
                                                              hasScales_ ? &scales_ : nullptr, hasSizes_ ? &sizes_ : nullptr);
    if (p.outShape != y.shapeVec()) invalid("Resize: output shape mismatch");
    if (y.numel == 0) return;
    if (x.numel == 0) invalid("Resize: cannot resize an empty input to a non-empty output");
    const size_t r = in.size();
    if (r > static_cast<size_t>(kMaxDims)) unsupported("Resize: rank above 8");
    std::vector<int64_t> st = stridesOf(x.shape);
    TapArgs ta{};
    ta.mode = mode_;
    ta.coord = static_cast<int32_t>(coord_);
    ta.nearest = static_cast<int32_t>(nearest_);
    ta.exclude = exclude_;
    ta.A = a_;
    MainArgs ma{};
    ma.rank = static_cast<int32_t>(r);
    ma.ntaps = mode_ == 0 ? 1 : mode_ == 1 ? 2 : 4;
    int64_t total = 0;
    for (size_t d = 0; d < r; ++d) {
      ma.ext[d] = p.outShape[d];
      ma.stride[d] = st[d];
      ma.res[d] = -1;
      if (!isIdentity(p, d, in[d])) {
        AxisPlan& ap = ta.ax[ta.naxes];
        ap = AxisPlan{in[d], p.outShape[d], st[d], total, p.scales[d], p.roiStart[d], p.roiEnd[d]};
        ma.res[d] = ta.naxes;
        ma.tabOff[ta.naxes] = total;
        ma.stride[d] = 0;
        ++ta.naxes;
        total += p.outShape[d];
      }
    }
    ma.nres = ta.naxes;
    ta.total = total;
    if (ctx.workspaceBytes < static_cast<size_t>(total) * sizeof(Tap)) invalid("Resize: workspace too small");
    Tap* tab = static_cast<Tap*>(ctx.workspace);
    cudaStream_t s = streamOf(ctx);
    if (total > 0) {
      tapsKernel<<<blocksFor(total, kThreads), kThreads, 0, s>>>(tab, ta);
      checkLaunch("Resize taps");
    }
    unsigned grid = blocksFor(y.numel, kThreads);
    if (mode_ == 0) {
      dispatchDeviceType(x.dtype, [&](auto tag) {
        using T = decltype(tag);
        T fillT = hostFromDouble<T>(extrapolation_);
        uint64_t bits = 0;
        std::memcpy(&bits, &fillT, sizeof(T));
        dispatchBySize(sizeof(T), [&](auto u) {
          using U = decltype(u);
          U fill;
          std::memcpy(&fill, &bits, sizeof(U));
          nearestKernel<U><<<grid, kThreads, 0, s>>>(x.as<const U>(), y.as<U>(), tab, ma, y.numel, fill);
        });
      });
    } else {
      auto go = [&](auto tag) {
        using T = decltype(tag);
        interpKernel<T><<<grid, kThreads, 0, s>>>(x.as<const T>(), y.as<T>(), tab, ma, y.numel, extrapolation_);
      };
      switch (x.dtype) {
        case DataType::kFLOAT: go(float{}); break;
        case DataType::kHALF: go(__half{}); break;
        case DataType::kBF16: go(__nv_bfloat16{}); break;
        case DataType::kDOUBLE: go(double{}); break;
        default: invalid("Resize: linear/cubic need a floating-point input");
      }
    }
    checkLaunch("Resize");
  }

 private:
  //! The reference skips axes whose output coordinates equal the input's (every mode keeps them as is).
  bool isIdentity(const ir::tensor_ops::ResizePlan& p, size_t d, int64_t inLen) const {
    if (p.outShape[d] != inLen) return false;
    for (int64_t i = 0; i < inLen; ++i)
      if (ir::tensor_ops::resizeCoordinate(coord_, static_cast<double>(i), p.scales[d], inLen, inLen, p.roiStart[d],
                                           p.roiEnd[d]) != static_cast<double>(i))
        return false;
    return true;
  }
  template <class T>
  static T hostFromDouble(double v) {
    if constexpr (std::is_same_v<T, __half>) return __float2half_rn(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, bool>) return v != 0;
    else return static_cast<T>(v);
  }

  ir::Attributes attrs_;
  CoordMode coord_;
  NearestMode nearest_;
  int32_t mode_{0};
  double a_;
  bool exclude_;
  double extrapolation_;
  bool hasRoi_{false}, hasScales_{false}, hasSizes_{false};
  std::vector<double> roi_, scales_;
  std::vector<int64_t> sizes_;
};

}  // namespace

void registerResizeOps(KernelRegistry& reg) { reg.add("Resize", cudaTactic<ResizeKernel>(&resizeSupports)); }

}  // namespace kiln::gpu::tensor
