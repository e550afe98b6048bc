// "fast" tactic of Resize: float32 linear (bilinear) resizing of the last two axes of a tensor, as in
// segmentation heads (DeepLab's upsampling of the logits). Each input row is interpolated along the width
// once per plane, then every output row is a weighted sum of two of those rows (contiguous, vectorizable),
// in float instead of the reference's double. Any other case at run time (other axes resized,
// tf_crop_and_resize, cubic/nearest modes, antialias) runs the reference kernel.
#include <algorithm>
#include <cmath>

#include "backends/cpu/fast/nn_tactics.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/thread_pool.h"
#include "ir/ops/tensor_ops.h"

namespace kiln::cpu::fast {

namespace {

namespace to = ir::tensor_ops;

bool supportsResize(const ir::Node& node, std::string* why) {
  auto no = [&](const char* r) {
    if (why) *why = r;
    return false;
  };
  if (node.inputs.empty() || !node.inputs[0] || node.inputs[0]->dtype != DataType::kFLOAT) return no("float32 only");
  if (node.outputs.empty() || !node.outputs[0] || node.outputs[0]->dtype != DataType::kFLOAT) return no("float32 only");
  if (node.attrs.getString("mode", "nearest") != "linear") return no("linear mode only");
  if (node.attrs.getInt("antialias", 0) != 0) return no("no antialias");
  if (node.attrs.getString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
    return no("not tf_crop_and_resize");
  return true;
}

std::vector<double> readNumbers(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel));
  for (int64_t i = 0; i < v.numel; ++i) {
    switch (v.dtype) {
      case DataType::kFLOAT: out[static_cast<size_t>(i)] = v.as<const float>()[i]; break;
      case DataType::kDOUBLE: out[static_cast<size_t>(i)] = v.as<const double>()[i]; break;
      case DataType::kINT64: out[static_cast<size_t>(i)] = static_cast<double>(v.as<const int64_t>()[i]); break;
      case DataType::kINT32: out[static_cast<size_t>(i)] = v.as<const int32_t>()[i]; break;
      default: return {};
    }
  }
  return out;
}

//! Per output index along one axis: the two input indices and their weights (the reference's linear taps).
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
};

class ResizeLinear2d : public Kernel {
 public:
  explicit ResizeLinear2d(const ir::Node& node)
      : attrs_(node.attrs), ref_(referenceKernel(node)),
        coord_(to::parseCoordMode(node.attrs.getString("coordinate_transformation_mode", "half_pixel"))),
        excludeOutside_(node.attrs.getInt("exclude_outside", 0) != 0) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    auto has = [&](size_t i) { return ctx.inputs.size() > i && ctx.inputs[i].present && ctx.inputs[i].numel > 0; };
    const int64_t r = x.rank();
    if (r < 2 || y.rank() != r || x.numel == 0 || y.numel == 0) return ref_->run(ctx);
    std::vector<double> roi, scales;
    std::vector<int64_t> sizes;
    if (has(1)) roi = readNumbers(ctx.inputs[1]);
    if (has(2)) scales = readNumbers(ctx.inputs[2]);
    if (has(3)) {
      for (double v : readNumbers(ctx.inputs[3])) sizes.push_back(static_cast<int64_t>(v));
      if (sizes.size() != static_cast<size_t>(ctx.inputs[3].numel)) return ref_->run(ctx);
    }
    if ((has(1) && roi.size() != static_cast<size_t>(ctx.inputs[1].numel)) ||
        (has(2) && scales.size() != static_cast<size_t>(ctx.inputs[2].numel)))
      return ref_->run(ctx);
    const ir::Shape in = x.shapeVec();
    const to::ResizePlan p = to::resizePlan(attrs_, in, has(1) ? &roi : nullptr, has(2) ? &scales : nullptr,
                                            has(3) ? &sizes : nullptr);
    if (p.outShape != y.shapeVec()) nn::badData("Resize: output shape mismatch");
    // the leading axes must be left alone (same extent, identity coordinates)
    for (int64_t d = 0; d + 2 < r; ++d) {
      const size_t du = static_cast<size_t>(d);
      if (p.outShape[du] != in[du]) return ref_->run(ctx);
      for (int64_t i = 0; i < in[du]; ++i)
        if (to::resizeCoordinate(coord_, static_cast<double>(i), p.scales[du], in[du], in[du], p.roiStart[du],
                                 p.roiEnd[du]) != static_cast<double>(i))
          return ref_->run(ctx);
    }
    const int64_t H = x.dim(r - 2), W = x.dim(r - 1), OH = y.dim(r - 2), OW = y.dim(r - 1);
    const AxisTaps ty = axisTaps(p, static_cast<size_t>(r - 2), H, OH), tx = axisTaps(p, static_cast<size_t>(r - 1), W, OW);
    const int64_t planes = x.numel / (H * W);
    const float* X = x.as<float>();
    float* Y = y.as<float>();
    ThreadPool* pool = y.numel >= (1 << 15) ? ctx.pool : nullptr;
    parallelFor(pool, planes, [&](int64_t p0, int64_t p1) {
      std::vector<float> rows(static_cast<size_t>(H * OW));
      for (int64_t pl = p0; pl < p1; ++pl) {
        const float* xp = X + pl * H * W;
        float* yp = Y + pl * OH * OW;
        // every input row interpolated along the width
        for (int64_t iy = 0; iy < H; ++iy) {
          const float* xr = xp + iy * W;
          float* hr = rows.data() + iy * OW;
          for (int64_t ox = 0; ox < OW; ++ox) {
            const size_t u = static_cast<size_t>(ox);
            const float a = tx.w0[u] * xr[tx.i0[u]], b = tx.w1[u] * xr[tx.i1[u]];
            hr[ox] = tx.w1[u] == 0.f ? a : tx.w0[u] == 0.f ? b : a + b;  // zero taps skipped (inf stays inf)
          }
        }
        for (int64_t oy = 0; oy < OH; ++oy) {
          const size_t u = static_cast<size_t>(oy);
          const float* a = rows.data() + ty.i0[u] * OW;
          const float* b = rows.data() + ty.i1[u] * OW;
          const float wa = ty.w0[u], wb = ty.w1[u];
          float* yr = yp + oy * OW;
          if (wb == 0.f)
            for (int64_t ox = 0; ox < OW; ++ox) yr[ox] = wa * a[ox];
          else if (wa == 0.f)
            for (int64_t ox = 0; ox < OW; ++ox) yr[ox] = wb * b[ox];
          else
            for (int64_t ox = 0; ox < OW; ++ox) yr[ox] = wa * a[ox] + wb * b[ox];
        }
      }
    });
  }

 private:
  AxisTaps axisTaps(const to::ResizePlan& p, size_t axis, int64_t n, int64_t o) const {
    AxisTaps t;
    t.i0.resize(static_cast<size_t>(o));
    t.i1.resize(static_cast<size_t>(o));
    t.w0.resize(static_cast<size_t>(o));
    t.w1.resize(static_cast<size_t>(o));
    for (int64_t j = 0; j < o; ++j) {
      double xo = to::resizeCoordinate(coord_, static_cast<double>(j), p.scales[axis], n, o, p.roiStart[axis], p.roiEnd[axis]);
      xo = std::clamp(xo, -4.0, static_cast<double>(n) + 3.0);  // as the reference: edges beyond stay edges
      const double f = std::floor(xo), s = xo - f;
      int64_t a = static_cast<int64_t>(f), b = a + 1;
      double wa = 1.0 - s, wb = s;
      if (excludeOutside_) {
        if (a < 0 || a >= n) wa = 0;
        if (b < 0 || b >= n) wb = 0;
        const double sum = wa + wb;
        if (sum != 0) wa /= sum, wb /= sum;
      }
      const size_t u = static_cast<size_t>(j);
      t.i0[u] = std::clamp<int64_t>(a, 0, n - 1);
      t.i1[u] = std::clamp<int64_t>(b, 0, n - 1);
      t.w0[u] = static_cast<float>(wa);
      t.w1[u] = static_cast<float>(wb);
    }
    return t;
  }

  ir::Attributes attrs_;
  std::unique_ptr<Kernel> ref_;
  to::CoordMode coord_;
  bool excludeOutside_;
};

}  // namespace

void registerResizeTactics(KernelRegistry& reg) { reg.add("Resize", makeTactic<ResizeLinear2d>("fast", supportsResize)); }

}  // namespace kiln::cpu::fast
