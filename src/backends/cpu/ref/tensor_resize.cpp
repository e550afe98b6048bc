// Reference kernel: Resize (ONNX opset 19, antialias=0). Nearest works for every type (a table copy);
// linear and cubic are separable and interpolate one resized axis at a time in double precision.
#include <algorithm>
#include <cmath>

#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu::tensor_ref {
namespace {

using namespace ir::tensor_ops;

std::vector<double> readDoubles(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel));
  dispatchNumeric(v.dtype, [&](auto t) {
    using T = decltype(t);
    for (int64_t i = 0; i < v.numel; ++i) out[static_cast<size_t>(i)] = toDouble(v.as<const T>()[i]);
  });
  return out;
}

class ResizeKernel : public Kernel {
 public:
  explicit ResizeKernel(const ir::Node& node)
      : attrs_(node.attrs),
        coord_(parseCoordMode(node.attrs.getString("coordinate_transformation_mode", "half_pixel"))),
        nearest_(parseNearestMode(node.attrs.getString("nearest_mode", "round_prefer_floor"))),
        a_(node.attrs.getFloat("cubic_coeff_a", -0.75)),
        excludeOutside_(node.attrs.getInt("exclude_outside", 0) != 0),
        extrapolation_(node.attrs.getFloat("extrapolation_value", 0.0)) {
    if (node.attrs.getInt("antialias", 0) != 0) unsupported("Resize: antialias=1 is not supported");
    std::string m = node.attrs.getString("mode", "nearest");
    if (m == "nearest") mode_ = 0;
    else if (m == "linear") mode_ = 1;
    else if (m == "cubic") mode_ = 2;
    else unsupported("Resize: unknown mode '" + m + "'");
    if (mode_ != 0 && !node.inputs.empty() && node.inputs[0] && !isFloatingType(node.inputs[0]->dtype))
      unsupported("Resize: linear/cubic need a floating-point input");
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    auto has = [&](size_t i) { return ctx.inputs.size() > i && ctx.inputs[i].present && ctx.inputs[i].numel > 0; };
    std::vector<double> roi, scales;
    std::vector<int64_t> sizes;
    if (has(1)) roi = readDoubles(ctx.inputs[1]);
    if (has(2)) scales = readDoubles(ctx.inputs[2]);
    if (has(3)) sizes = readInts(ctx.inputs[3]);
    ir::Shape in = x.shapeVec();
    ResizePlan p = resizePlan(attrs_, in, has(1) ? &roi : nullptr, has(2) ? &scales : nullptr, has(3) ? &sizes : nullptr);
    if (p.outShape != y.shapeVec()) invalid("Resize: output shape mismatch");
    const size_t r = in.size();
    // Per axis: original coordinates, out-of-range flags (tf_crop_and_resize extrapolation) and identity.
    std::vector<std::vector<double>> coords(r);
    std::vector<std::vector<bool>> oob(r);
    std::vector<bool> identity(r, true);
    bool anyOob = false;
    for (size_t d = 0; d < r; ++d) {
      int64_t o = p.outShape[d];
      coords[d].resize(static_cast<size_t>(o));
      oob[d].assign(static_cast<size_t>(o), false);
      if (o != in[d]) identity[d] = false;
      for (int64_t i = 0; i < o; ++i) {
        double c = resizeCoordinate(coord_, static_cast<double>(i), p.scales[d], in[d], o, p.roiStart[d], p.roiEnd[d]);
        coords[d][static_cast<size_t>(i)] = c;
        if (c != static_cast<double>(i)) identity[d] = false;
        if (coord_ == CoordMode::kTF_CROP_AND_RESIZE && (c < 0 || c > static_cast<double>(in[d] - 1))) {
          oob[d][static_cast<size_t>(i)] = true;
          anyOob = true;
        }
      }
    }
    if (y.numel == 0) return;
    if (x.numel == 0) invalid("Resize: cannot resize an empty input to a non-empty output");
    if (mode_ == 0) return runNearest(x, y, p, coords, oob);
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        std::vector<double> cur(static_cast<size_t>(x.numel));
        for (int64_t i = 0; i < x.numel; ++i) cur[static_cast<size_t>(i)] = toDouble(x.as<const T>()[i]);
        ir::Shape shape = in;
        for (size_t d = 0; d < r; ++d) {
          if (identity[d]) continue;
          cur = interpolateAxis(cur, shape, d, coords[d]);
          shape[d] = p.outShape[d];
        }
        T* out = y.as<T>();
        if (!anyOob) {
          for (int64_t i = 0; i < y.numel; ++i) out[i] = fromDouble<T>(cur[static_cast<size_t>(i)]);
          return;
        }
        std::vector<int64_t> idx(r, 0);
        for (int64_t i = 0; i < y.numel; ++i) {
          bool bad = false;
          for (size_t d = 0; d < r; ++d) bad = bad || oob[d][static_cast<size_t>(idx[d])];
          out[i] = fromDouble<T>(bad ? extrapolation_ : cur[static_cast<size_t>(i)]);
          for (size_t d = r; d-- > 0;) {
            if (++idx[d] < p.outShape[d]) break;
            idx[d] = 0;
          }
        }
      } else {
        invalid("Resize: linear/cubic need a floating-point input");
      }
    });
  }

 private:
  void runNearest(const TensorView& x, const TensorView& y, const ResizePlan& p,
                  const std::vector<std::vector<double>>& coords, const std::vector<std::vector<bool>>& oob) const {
    ir::Shape in = x.shapeVec();
    std::vector<int64_t> st = ir::stridesOf(in);
    std::vector<std::vector<int64_t>> tabs(in.size());
    for (size_t d = 0; d < in.size(); ++d) {
      tabs[d].resize(static_cast<size_t>(p.outShape[d]));
      for (size_t i = 0; i < tabs[d].size(); ++i) {
        if (oob[d][i]) {
          tabs[d][i] = -1;
          continue;
        }
        // pre-clamping keeps the integer conversion defined; it cannot change the clamped index
        double c = std::clamp(coords[d][i], -4.0, static_cast<double>(in[d]) + 3.0);
        int64_t k = std::clamp<int64_t>(nearestIndex(nearest_, c), 0, in[d] - 1);
        tabs[d][i] = k * st[d];
      }
    }
    // the extrapolation value in the element type
    uint64_t fill = 0;
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      T v = fromDouble<T>(extrapolation_);
      std::memcpy(&fill, &v, sizeof(T));
    });
    tableCopy(tabs, x.data, y.data, dataTypeSize(x.dtype), &fill);
  }

  //! Taps (input index, weight) for one original coordinate.
  void taps(double xo, int64_t n, std::vector<int64_t>& idx, std::vector<double>& w) const {
    // beyond 4 samples outside the input every tap reads an edge value: clamping there changes nothing
    // and keeps the integer conversion defined
    xo = std::clamp(xo, -4.0, static_cast<double>(n) + 3.0);
    double f = std::floor(xo);
    double s = xo - f;
    int64_t x0 = static_cast<int64_t>(f);
    idx.clear();
    w.clear();
    if (mode_ == 1) {
      idx = {x0, x0 + 1};
      w = {1.0 - s, s};
    } else {
      double A = a_;
      double s1 = s + 1, t = 1 - s, t1 = t + 1;
      idx = {x0 - 1, x0, x0 + 1, x0 + 2};
      w = {((A * s1 - 5 * A) * s1 + 8 * A) * s1 - 4 * A, ((A + 2) * s - (A + 3)) * s * s + 1,
           ((A + 2) * t - (A + 3)) * t * t + 1, ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A};
    }
    if (excludeOutside_) {
      double sum = 0;
      for (size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] < 0 || idx[k] >= n) w[k] = 0;
        sum += w[k];
      }
      if (sum != 0)
        for (double& v : w) v /= sum;
    }
    for (int64_t& i : idx) i = std::clamp<int64_t>(i, 0, n - 1);
  }

  std::vector<double> interpolateAxis(const std::vector<double>& cur, const ir::Shape& shape, size_t axis,
                                      const std::vector<double>& coords) const {
    int64_t outer = 1, inner = 1, n = shape[axis], o = static_cast<int64_t>(coords.size());
    for (size_t d = 0; d < axis; ++d) outer *= shape[d];
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    std::vector<double> next(static_cast<size_t>(outer * o * inner), 0.0);
    std::vector<int64_t> idx;
    std::vector<double> w;
    for (int64_t j = 0; j < o; ++j) {
      taps(coords[static_cast<size_t>(j)], n, idx, w);
      for (int64_t b = 0; b < outer; ++b) {
        double* dst = &next[static_cast<size_t>((b * o + j) * inner)];
        for (size_t k = 0; k < idx.size(); ++k) {
          if (w[k] == 0) continue;
          const double* src = &cur[static_cast<size_t>((b * n + idx[k]) * inner)];
          for (int64_t i = 0; i < inner; ++i) dst[i] += w[k] * src[i];
        }
      }
    }
    return next;
  }

  ir::Attributes attrs_;
  CoordMode coord_;
  NearestMode nearest_;
  int mode_{0};
  double a_;
  bool excludeOutside_;
  double extrapolation_;
};

}  // namespace

void registerResizeKernels(KernelRegistry& reg) { reg.add("Resize", refTactic<ResizeKernel>()); }

}  // namespace kiln::cpu::tensor_ref
