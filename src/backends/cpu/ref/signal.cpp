// Reference kernels: Det (LU with partial pivoting), DFT and STFT (direct O(N*L) sums, in double).
#include <cmath>
#include <numbers>
#include <type_traits>

#include "backends/cpu/ref/tensor_impl.h"
#include "ir/ops/data_dependent.h"

namespace kiln::cpu {
namespace {

using namespace tensor_ref;  // dispatch, conversions, readInts, invalid/unsupported (tensor_impl.h)


class DetKernel : public Kernel {
 public:
  explicit DetKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) invalid("Det: the input must be [*, M, M]");
    const int64_t m = x.dim(x.rank() - 1);
    const int64_t batch = y.numel;
    dispatchFloat(x.dtype, [&](auto t) {
      using T = decltype(t);
      const T* in = x.as<const T>();
      T* out = y.as<T>();
      std::vector<double> a(static_cast<size_t>(m * m));
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t i = 0; i < m * m; ++i) a[static_cast<size_t>(i)] = toDouble(in[b * m * m + i]);
        double det = 1.0;
        for (int64_t k = 0; k < m && det != 0.0; ++k) {
          int64_t p = k;
          for (int64_t r = k + 1; r < m; ++r)
            if (std::fabs(a[static_cast<size_t>(r * m + k)]) > std::fabs(a[static_cast<size_t>(p * m + k)])) p = r;
          double piv = a[static_cast<size_t>(p * m + k)];
          if (piv == 0.0) {
            det = 0.0;
            break;
          }
          if (p != k) {
            for (int64_t c = 0; c < m; ++c) std::swap(a[static_cast<size_t>(p * m + c)], a[static_cast<size_t>(k * m + c)]);
            det = -det;
          }
          det *= piv;
          for (int64_t r = k + 1; r < m; ++r) {
            double f = a[static_cast<size_t>(r * m + k)] / piv;
            if (f == 0.0) continue;
            for (int64_t c = k; c < m; ++c) a[static_cast<size_t>(r * m + c)] -= f * a[static_cast<size_t>(k * m + c)];
          }
        }
        out[b] = fromDouble<T>(det);
      }
    });
  }
};

class DftKernel : public Kernel {
 public:
  explicit DftKernel(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", 1)),
        inverse_(node.attrs.getInt("inverse", 0) != 0),
        onesided_(node.attrs.getInt("onesided", 0) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t r = x.rank();
    int64_t axis = axis_;
    if (ctx.inputs.size() > 2 && ctx.inputs[2].present) {
      auto av = readInts(ctx.inputs[2]);
      if (av.size() != 1) invalid("DFT: axis must be a scalar");
      axis = av[0];
    }
    if (axis < 0) axis += r;
    if (r < 2 || axis < 0 || axis >= r - 1) invalid("DFT: axis out of range");
    const int64_t comp = x.dim(r - 1);
    if (comp != 1 && comp != 2) invalid("DFT: the last dim must be 1 or 2");
    const int64_t n = x.dim(axis);
    int64_t len = n;
    if (ctx.inputs.size() > 1 && ctx.inputs[1].present) {
      auto v = readInts(ctx.inputs[1]);
      if (v.size() != 1 || v[0] < 1) invalid("DFT: dft_length must be a positive scalar");
      len = v[0];
    }
    const int64_t lout = onesided_ ? len / 2 + 1 : len;
    if (y.rank() != r || y.dim(axis) != lout || y.dim(r - 1) != 2) invalid("DFT: output shape mismatch");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < r - 1; ++d) inner *= x.dim(d);
    const int64_t used = std::min(n, len);  // longer signals are cut, shorter ones zero-padded
    std::vector<double> cosT(static_cast<size_t>(len)), sinT(static_cast<size_t>(len));
    for (int64_t k = 0; k < len; ++k) {
      double ang = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(len);
      cosT[static_cast<size_t>(k)] = std::cos(ang);
      sinT[static_cast<size_t>(k)] = std::sin(ang);
    }
    const double sign = inverse_ ? 1.0 : -1.0;
    const double scale = inverse_ ? 1.0 / static_cast<double>(len) : 1.0;
    dispatchFloat(x.dtype, [&](auto t) {
      using T = decltype(t);
      const T* in = x.as<const T>();
      T* out = y.as<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i)
          for (int64_t k = 0; k < lout; ++k) {
            double re = 0, im = 0;
            for (int64_t j = 0; j < used; ++j) {
              int64_t off = ((o * n + j) * inner + i) * comp;
              double xr = toDouble(in[off]), xi = comp == 2 ? toDouble(in[off + 1]) : 0.0;
              size_t w = static_cast<size_t>((k * j) % len);
              double c = cosT[w], s = sign * sinT[w];
              re += xr * c - xi * s;
              im += xr * s + xi * c;
            }
            int64_t oo = ((o * lout + k) * inner + i) * 2;
            out[oo] = fromDouble<T>(re * scale);
            out[oo + 1] = fromDouble<T>(im * scale);
          }
    });
  }

 private:
  int64_t axis_;
  bool inverse_, onesided_;
};

//! STFT(signal [B, T, 1|2], frame_step, window? [L], frame_length?) -> [B, frames, bins, 2].
class StftKernel : public Kernel {
 public:
  explicit StftKernel(const ir::Node& node) : onesided_(node.attrs.getInt("onesided", 1) != 0) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2)) invalid("STFT: the signal must be [batch, length, 1 or 2]");
    auto sv = readInts(ctx.inputs[1]);
    if (sv.size() != 1 || sv[0] < 1) invalid("STFT: frame_step must be a positive scalar");
    const int64_t step = sv[0], comp = x.dim(2), tlen = x.dim(1);
    const bool hasWin = ctx.inputs.size() > 2 && ctx.inputs[2].present;
    int64_t len = hasWin ? ctx.inputs[2].numel : -1;
    if (ctx.inputs.size() > 3 && ctx.inputs[3].present) {
      auto lv = readInts(ctx.inputs[3]);
      if (lv.size() != 1 || lv[0] < 1 || (len >= 0 && lv[0] != len)) invalid("STFT: bad frame_length");
      len = lv[0];
    }
    if (len < 1 || len > tlen) invalid("STFT: the frame length must be in [1, signal length]");
    const int64_t frames = (tlen - len) / step + 1, bins = onesided_ ? len / 2 + 1 : len;
    if (y.rank() != 4 || y.dim(1) != frames || y.dim(2) != bins || y.dim(3) != 2) invalid("STFT: output shape mismatch");
    std::vector<double> win(static_cast<size_t>(len), 1.0);
    if (hasWin)
      dispatchFloat(ctx.inputs[2].dtype, [&](auto t) {
        using T = decltype(t);
        for (int64_t j = 0; j < len; ++j) win[static_cast<size_t>(j)] = toDouble(ctx.inputs[2].as<const T>()[j]);
      });
    std::vector<double> cosT(static_cast<size_t>(len)), sinT(static_cast<size_t>(len));
    for (int64_t k = 0; k < len; ++k) {
      double ang = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(len);
      cosT[static_cast<size_t>(k)] = std::cos(ang);
      sinT[static_cast<size_t>(k)] = std::sin(ang);
    }
    dispatchFloat(x.dtype, [&](auto t) {
      using T = decltype(t);
      const T* in = x.as<const T>();
      T* out = y.as<T>();
      for (int64_t b = 0; b < x.dim(0); ++b)
        for (int64_t f = 0; f < frames; ++f)
          for (int64_t k = 0; k < bins; ++k) {
            double re = 0, im = 0;
            for (int64_t j = 0; j < len; ++j) {
              int64_t off = (b * tlen + f * step + j) * comp;
              double w = win[static_cast<size_t>(j)];
              double xr = toDouble(in[off]) * w, xi = comp == 2 ? toDouble(in[off + 1]) * w : 0.0;
              size_t q = static_cast<size_t>((k * j) % len);
              double c = cosT[q], s = -sinT[q];
              re += xr * c - xi * s;
              im += xr * s + xi * c;
            }
            int64_t oo = ((b * frames + f) * bins + k) * 2;
            out[oo] = fromDouble<T>(re);
            out[oo + 1] = fromDouble<T>(im);
          }
    });
  }

 private:
  bool onesided_;
};

//! MelWeightMatrix: the computation shared with inference (ir/ops/data_dependent.h).
class MelWeightMatrixKernel : public Kernel {
 public:
  explicit MelWeightMatrixKernel(const ir::Node& node) : attrs_(node.attrs) {}
  void run(const KernelContext& ctx) const override {
    std::vector<std::shared_ptr<const ir::TensorData>> in;
    for (const TensorView& v : ctx.inputs) in.push_back(ir::data_dependent::viewOf(v.dtype, v.shapeVec(), v.data));
    if (in.size() != 5) invalid("MelWeightMatrix: needs 5 inputs");
    auto outs = ir::data_dependent::melWeightMatrix(attrs_, *in[0], *in[1], *in[2], *in[3], *in[4]);
    const TensorView& y = ctx.outputs[0];
    if (y.shapeVec() != outs[0]->shape || y.dtype != outs[0]->dtype) invalid("MelWeightMatrix: output shape mismatch");
    if (y.bytes()) std::memcpy(y.data, outs[0]->raw(), y.bytes());
  }

 private:
  ir::Attributes attrs_;
};

}  // namespace

void registerSignalKernels(KernelRegistry& reg) {
  reg.add("MelWeightMatrix", refTactic<MelWeightMatrixKernel>());
  reg.add("STFT", refTactic<StftKernel>());
  reg.add("Det", refTactic<DetKernel>());
  reg.add("DFT", refTactic<DftKernel>());
}

}  // namespace kiln::cpu
