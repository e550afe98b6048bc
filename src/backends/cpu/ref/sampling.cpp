// Reference kernels: GridSample (N-d; linear / nearest / cubic; zeros / border / reflection padding),
// AffineGrid (2-D and 3-D), Col2Im (N-d). Arithmetic in double, results rounded to the output type.
#include <cmath>

#include "backends/cpu/kernel.h"
#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu {
namespace {

using namespace tensor_ref;  // dispatch, conversions, readInts, invalid/unsupported (tensor_impl.h)


//! Reads a floating-point tensor as doubles.
std::vector<double> readDoubles(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel));
  dispatchFloat(v.dtype, [&](auto t) {
    using T = decltype(t);
    const T* p = v.as<const T>();
    for (int64_t i = 0; i < v.numel; ++i) out[static_cast<size_t>(i)] = toDouble(p[i]);
  });
  return out;
}

enum class Mode { kLinear, kNearest, kCubic };
enum class Pad { kZeros, kBorder, kReflection };

//! Folds x into [lo, hi] by reflecting at the borders (repeatedly).
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (!(range > 0)) return lo;
  if (x >= lo && x <= hi) return x;
  const bool below = x < lo;
  const double dx = below ? lo - x : x - hi;
  const double periods = std::floor(dx / range);
  const double rem = dx - periods * range;
  const bool even = std::fmod(periods, 2.0) == 0.0;
  if (below) return even ? lo + rem : hi - rem;
  return even ? hi - rem : lo + rem;
}

//! Keys' cubic convolution weights (a = -0.75) of the 4 taps x0-1 .. x0+2 for fraction t in [0, 1).
void cubicWeights(double t, double w[4]) {
  constexpr double a = -0.75;
  auto near = [](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };           // |s| <= 1
  auto far = [](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };      // 1 < |s| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

class GridSampleKernel : public Kernel {
 public:
  explicit GridSampleKernel(const ir::Node& node) : align_(node.attrs.getInt("align_corners", 0) != 0) {
    const std::string m = node.attrs.getString("mode", "linear");
    const std::string p = node.attrs.getString("padding_mode", "zeros");
    if (m == "linear") mode_ = Mode::kLinear;
    else if (m == "nearest") mode_ = Mode::kNearest;
    else if (m == "cubic") mode_ = Mode::kCubic;
    else invalid("GridSample: unknown mode '" + m + "'");
    if (p == "zeros") pad_ = Pad::kZeros;
    else if (p == "border") pad_ = Pad::kBorder;
    else if (p == "reflection") pad_ = Pad::kReflection;
    else invalid("GridSample: unknown padding_mode '" + p + "'");
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& g = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    const int64_t r = x.rank() - 2;
    if (r < 1 || g.rank() != x.rank() || g.dim(r + 1) != r || g.dim(0) != x.dim(0))
      invalid("GridSample: grid must be [N, out..., " + std::to_string(r) + "] for X of rank " + std::to_string(x.rank()));
    if (y.rank() != x.rank() || y.dim(0) != x.dim(0) || y.dim(1) != x.dim(1)) invalid("GridSample: output shape mismatch");
    for (int64_t k = 1; k <= r; ++k)
      if (y.dim(k + 1) != g.dim(k)) invalid("GridSample: output shape mismatch");
    const int64_t n = x.dim(0), c = x.dim(1);
    int64_t inSize = 1, outSize = 1;
    std::vector<int64_t> dims(static_cast<size_t>(r)), strides(static_cast<size_t>(r));
    for (int64_t k = r - 1; k >= 0; --k) {
      dims[static_cast<size_t>(k)] = x.dim(k + 2);
      strides[static_cast<size_t>(k)] = inSize;
      inSize *= x.dim(k + 2);
      outSize *= g.dim(k + 1);
    }
    if (y.numel == 0) return;
    const std::vector<double> grid = readDoubles(g);
    const std::vector<double> in = readDoubles(x);
    std::vector<double> out(static_cast<size_t>(y.numel), 0.0);

    const int taps = mode_ == Mode::kNearest ? 1 : (mode_ == Mode::kLinear ? 2 : 4);
    // per spatial dim: tap element offsets (-1: zero padding) and weights
    std::vector<int64_t> tapOff(static_cast<size_t>(r * taps));
    std::vector<double> tapW(static_cast<size_t>(r * taps));
    std::vector<int> counter(static_cast<size_t>(r));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < outSize; ++p) {
        const double* gp = grid.data() + (b * outSize + p) * r;
        for (int64_t k = 0; k < r; ++k) {
          // grid's last axis lists coordinates innermost dim first (x, y, z)
          taps1d(gp[r - 1 - k], dims[static_cast<size_t>(k)], &tapOff[static_cast<size_t>(k * taps)],
                 &tapW[static_cast<size_t>(k * taps)]);
          for (int t = 0; t < taps; ++t) {
            int64_t& o = tapOff[static_cast<size_t>(k * taps + t)];
            if (o >= 0) o *= strides[static_cast<size_t>(k)];
          }
        }
        for (int64_t ch = 0; ch < c; ++ch) {
          const double* src = in.data() + (b * c + ch) * inSize;
          double acc = 0;
          std::fill(counter.begin(), counter.end(), 0);
          for (;;) {
            double w = 1;
            int64_t off = 0;
            bool zero = false;
            for (int64_t k = 0; k < r; ++k) {
              const size_t i = static_cast<size_t>(k * taps + counter[static_cast<size_t>(k)]);
              w *= tapW[i];
              if (tapOff[i] < 0) zero = true;
              else off += tapOff[i];
            }
            if (!zero) acc += w * src[off];
            int64_t k = r - 1;
            while (k >= 0 && ++counter[static_cast<size_t>(k)] == taps) counter[static_cast<size_t>(k--)] = 0;
            if (k < 0) break;
          }
          out[static_cast<size_t>((b * c + ch) * outSize + p)] = acc;
        }
      }
    dispatchFloat(y.dtype, [&](auto t) {
      using T = decltype(t);
      T* yp = y.as<T>();
      for (int64_t i = 0; i < y.numel; ++i) yp[i] = fromDouble<T>(out[static_cast<size_t>(i)]);
    });
  }

 private:
  //! Index of integer position i after padding (-1: a zero).
  int64_t fetchIndex(int64_t i, int64_t d, double lo, double hi) const {
    if (d <= 0) return -1;
    if (i >= 0 && i < d) return i;
    if (pad_ == Pad::kZeros) return -1;
    if (pad_ == Pad::kBorder) return i < 0 ? 0 : d - 1;
    int64_t j = static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi));  // truncation, as the spec's reference
    return std::clamp<int64_t>(j, 0, d - 1);
  }

  //! The taps of one normalized coordinate along a dim of extent d.
  void taps1d(double gn, int64_t d, int64_t* off, double* w) const {
    const double lo = align_ ? 0.0 : -0.5;
    const double hi = align_ ? static_cast<double>(d) - 1 : static_cast<double>(d) - 0.5;
    double xc = align_ ? (gn + 1) / 2 * static_cast<double>(d - 1) : ((gn + 1) * static_cast<double>(d) - 1) / 2;
    if (std::isnan(xc)) {
      const int taps = mode_ == Mode::kNearest ? 1 : (mode_ == Mode::kLinear ? 2 : 4);
      for (int t = 0; t < taps; ++t) off[t] = -1, w[t] = 0;
      return;
    }
    if (mode_ == Mode::kNearest) xc = std::nearbyint(xc);  // half to even
    if (xc < lo || xc > hi) {
      if (pad_ == Pad::kBorder) xc = std::clamp(xc, 0.0, static_cast<double>(d - 1));
      else if (pad_ == Pad::kReflection) xc = reflect(xc, lo, hi);
    }
    // beyond these bounds every tap is outside (keeps the integer conversions defined)
    xc = std::clamp(xc, -8.0, static_cast<double>(d) + 8.0);
    if (mode_ == Mode::kNearest) {
      off[0] = fetchIndex(static_cast<int64_t>(xc), d, lo, hi);  // truncation toward zero
      w[0] = 1;
      return;
    }
    const double fl = std::floor(xc);
    const int64_t x0 = static_cast<int64_t>(fl);
    const double t = xc - fl;
    if (mode_ == Mode::kLinear) {
      off[0] = fetchIndex(x0, d, lo, hi), w[0] = 1 - t;
      off[1] = fetchIndex(x0 + 1, d, lo, hi), w[1] = t;
      return;
    }
    cubicWeights(t, w);
    for (int k = 0; k < 4; ++k) off[k] = fetchIndex(x0 - 1 + k, d, lo, hi);
  }

  bool align_;
  Mode mode_{Mode::kLinear};
  Pad pad_{Pad::kZeros};
};

class AffineGridKernel : public Kernel {
 public:
  explicit AffineGridKernel(const ir::Node& node) : align_(node.attrs.getInt("align_corners", 0) != 0) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& th = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> size = readInts(ctx.inputs[1]);
    const int64_t r = static_cast<int64_t>(size.size()) - 2;
    if (r != 2 && r != 3) invalid("AffineGrid: size must have 4 or 5 entries");
    if (th.rank() != 3 || th.dim(1) != r || th.dim(2) != r + 1 || th.dim(0) != size[0])
      invalid("AffineGrid: theta must be [N, " + std::to_string(r) + ", " + std::to_string(r + 1) + "] with N = size[0]");
    if (y.rank() != r + 2 || y.dim(0) != size[0] || y.dim(r + 1) != r) invalid("AffineGrid: output shape mismatch");
    for (int64_t k = 0; k < r; ++k)
      if (size[static_cast<size_t>(k + 2)] != y.dim(k + 1)) invalid("AffineGrid: output shape mismatch");
    if (y.numel == 0) return;
    const std::vector<double> theta = readDoubles(th);
    // base coordinate of index i along an axis of extent n
    auto base = [&](int64_t i, int64_t n) {
      if (align_) return n > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1) : -1.0;
      return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(n);
    };
    const int64_t depth = r == 3 ? size[2] : 1, h = size[static_cast<size_t>(r)], w = size[static_cast<size_t>(r + 1)];
    std::vector<double> out(static_cast<size_t>(y.numel));
    size_t o = 0;
    for (int64_t b = 0; b < size[0]; ++b) {
      const double* t = theta.data() + b * r * (r + 1);
      for (int64_t dz = 0; dz < depth; ++dz)
        for (int64_t iy = 0; iy < h; ++iy)
          for (int64_t ix = 0; ix < w; ++ix) {
            double v[4] = {base(ix, w), base(iy, h), r == 3 ? base(dz, depth) : 1.0, 1.0};  // (x, y[, z], 1)
            for (int64_t row = 0; row < r; ++row) {
              double s = 0;
              for (int64_t col = 0; col <= r; ++col) s += t[row * (r + 1) + col] * v[col];
              out[o++] = s;
            }
          }
    }
    dispatchFloat(y.dtype, [&](auto tt) {
      using T = decltype(tt);
      T* yp = y.as<T>();
      for (int64_t i = 0; i < y.numel; ++i) yp[i] = fromDouble<T>(out[static_cast<size_t>(i)]);
    });
  }

 private:
  bool align_;
};

class Col2ImKernel : public Kernel {
 public:
  explicit Col2ImKernel(const ir::Node& node)
      : dil_(node.attrs.getInts("dilations")), pads_(node.attrs.getInts("pads")), str_(node.attrs.getInts("strides")) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const std::vector<int64_t> img = readInts(ctx.inputs[1]);
    const std::vector<int64_t> blk = readInts(ctx.inputs[2]);
    const size_t r = img.size();
    if (r < 1 || blk.size() != r) invalid("Col2Im: image_shape and block_shape must have the same length >= 1");
    std::vector<int64_t> dil = dil_.empty() ? std::vector<int64_t>(r, 1) : dil_;
    std::vector<int64_t> str = str_.empty() ? std::vector<int64_t>(r, 1) : str_;
    std::vector<int64_t> pads = pads_.empty() ? std::vector<int64_t>(2 * r, 0) : pads_;
    if (dil.size() != r || str.size() != r || pads.size() != 2 * r) invalid("Col2Im: attribute lengths do not match");
    if (x.rank() != 3 || y.rank() != static_cast<int64_t>(r) + 2) invalid("Col2Im: rank mismatch");
    int64_t bprod = 1, ipr = 1, blocks = 1;
    std::vector<int64_t> cnt(r);
    for (size_t k = 0; k < r; ++k) {
      constexpr int64_t kBig = int64_t{1} << 31;
      if (blk[k] < 1 || blk[k] > x.dim(1) || blk[k] > kBig || dil[k] < 1 || dil[k] > kBig || str[k] < 1 || str[k] > kBig || pads[k] < 0 ||
          pads[k] > kBig || pads[k + r] < 0 || pads[k + r] > kBig || img[k] < 0 || y.dim(static_cast<int64_t>(k) + 2) != img[k])
        invalid("Col2Im: invalid image_shape/block_shape/attributes");
      bprod *= blk[k];  // both factors <= x.dim(1): no overflow
      if (bprod > x.dim(1)) invalid("Col2Im: prod(block_shape) exceeds the input's dim 1");
      ipr *= img[k];
      const int64_t span = dil[k] * (blk[k] - 1) + 1;
      const int64_t padded = img[k] + pads[k] + pads[k + r];
      if (padded < span) invalid("Col2Im: the block does not fit the padded image");
      cnt[k] = (padded - span) / str[k] + 1;
      blocks *= cnt[k];
      if (blocks > x.dim(2)) invalid("Col2Im: the image holds more blocks than the input has");
    }
    const int64_t n = x.dim(0), c = y.dim(1);
    if (y.dim(0) != n || x.dim(1) != c * bprod || x.dim(2) != blocks) invalid("Col2Im: input shape does not match");
    const std::vector<double> in = [&] {
      std::vector<double> v(static_cast<size_t>(x.numel));
      dispatchNumeric(x.dtype, [&](auto t) {
        using T = decltype(t);
        for (int64_t i = 0; i < x.numel; ++i) v[static_cast<size_t>(i)] = toDouble(x.as<const T>()[i]);
      });
      return v;
    }();
    std::vector<double> out(static_cast<size_t>(y.numel), 0.0);
    std::vector<int64_t> bi(r), li(r);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        double* dst = out.data() + (b * c + ch) * ipr;
        for (int64_t kb = 0; kb < bprod; ++kb) {
          // block element multi-index
          for (int64_t k = static_cast<int64_t>(r) - 1, rem = kb; k >= 0; --k) {
            bi[static_cast<size_t>(k)] = rem % blk[static_cast<size_t>(k)];
            rem /= blk[static_cast<size_t>(k)];
          }
          const double* src = in.data() + ((b * c + ch) * bprod + kb) * blocks;
          for (int64_t l = 0; l < blocks; ++l) {
            int64_t rem = l, pos = 0;
            bool inside = true;
            for (int64_t k = static_cast<int64_t>(r) - 1; k >= 0; --k) li[static_cast<size_t>(k)] = rem % cnt[static_cast<size_t>(k)], rem /= cnt[static_cast<size_t>(k)];
            for (size_t k = 0; k < r; ++k) {
              const int64_t p = li[k] * str[k] - pads[k] + bi[k] * dil[k];
              if (p < 0 || p >= img[k]) {
                inside = false;
                break;
              }
              pos = pos * img[k] + p;
            }
            if (inside) dst[pos] += src[l];
          }
        }
      }
    dispatchNumeric(y.dtype, [&](auto t) {
      using T = decltype(t);
      T* yp = y.as<T>();
      for (int64_t i = 0; i < y.numel; ++i) yp[i] = fromDouble<T>(out[static_cast<size_t>(i)]);
    });
  }

 private:
  std::vector<int64_t> dil_, pads_, str_;
};

}  // namespace

void registerSamplingKernels(KernelRegistry& reg) {
  reg.add("GridSample", refTactic<GridSampleKernel>());
  reg.add("AffineGrid", refTactic<AffineGridKernel>());
  reg.add("Col2Im", refTactic<Col2ImKernel>());
}

}  // namespace kiln::cpu
