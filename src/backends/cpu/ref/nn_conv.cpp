// Reference kernels: Conv and ConvTranspose (1-D, 2-D, 3-D; grouped; float types, accumulated in double).
// Conv also takes the kiln residual input Z and the epilogue activation kiln_act (docs/ir/nn.md).
#include "backends/cpu/ref/nn_impl.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::nn {
namespace {

void checkTypes(const ir::Node& node) {
  DataType t = node.inputs[0]->dtype;
  requireFloatType(node, t);
  for (size_t i = 1; i < node.inputs.size(); ++i)
    if (node.inputs[i] && node.inputs[i]->dtype != t) unsupported(node, "inputs must have the same type");
  if (node.inputs[0]->shape.size() > 5 || (!node.inputs[0]->shape.empty() && node.inputs[0]->shape.size() < 3))
    unsupported(node, "only 1-D, 2-D and 3-D spatial dims are supported");
}

class ConvKernel : public Kernel {
 public:
  explicit ConvKernel(const ir::Node& node) {
    checkTypes(node);
    attrKernel_ = node.attrs.getInts("kernel_shape");
    group_ = node.attrs.getInt("group", 1);
    if (group_ < 1) unsupported(node, "group must be >= 1");
    size_t n = node.inputs[1]->shape.size() >= 3 ? node.inputs[1]->shape.size() - 2 : attrKernel_.size();
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(n, 1));
    try {
      act_ = ir::fusedActivationOf(node.attrs);
    } catch (const Error& e) {
      unsupported(node, e.message());
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& w = ctx.inputs[1];
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank() || y.rank() != x.rank())
      badData("Conv: X and W must have the same rank in 3..5");
    if (z && z->shapeVec() != y.shapeVec()) badData("Conv: the residual Z must have the output's shape");
    const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), cpg = w.dim(1);
    if (cpg * group_ != C || M % group_ != 0) badData("Conv: channels do not match the weights and group");
    if (y.dim(0) != N || y.dim(1) != M) badData("Conv: output shape mismatch");
    if (b && (b->rank() != 1 || b->dim(0) != M)) badData("Conv: bias must have shape [M]");
    std::vector<int64_t> k = kernelFromW(w, attrKernel_);
    Geom3 g = forwardGeom(x.shape.subspan(2), k, window_, y.shape.subspan(2));
    const int64_t mpg = M / group_;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      const T* W = w.as<T>();
      const T* B = b ? b->as<T>() : nullptr;
      const T* Z = z ? z->as<T>() : nullptr;
      T* Y = y.as<T>();
      const int64_t inSz = g.inSize(), outSz = g.outSize(), kSz = g.kSize();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m) {
          const int64_t grp = m / mpg;
          T* yp = Y + (n * M + m) * outSz;
          const T* zp = Z ? Z + (n * M + m) * outSz : nullptr;
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
              for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
                double acc = B ? toD(B[m]) : 0.0;
                for (int64_t ic = 0; ic < cpg; ++ic) {
                  const T* xp = X + (n * C + grp * cpg + ic) * inSz;
                  const T* wp = W + (m * cpg + ic) * kSz;
                  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                    int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    if (i0 < 0 || i0 >= g.in[0]) continue;
                    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                      int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                      if (i1 < 0 || i1 >= g.in[1]) continue;
                      for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                        int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                        if (i2 < 0 || i2 >= g.in[2]) continue;
                        acc += toD(xp[(i0 * g.in[1] + i1) * g.in[2] + i2]) * toD(wp[(k0 * g.k[1] + k1) * g.k[2] + k2]);
                      }
                    }
                  }
                }
                const int64_t o = (o0 * g.out[1] + o1) * g.out[2] + o2;
                if (zp) acc += toD(zp[o]);
                yp[o] = fromD<T>(act_.apply(acc));
              }
        }
    });
  }

 private:
  std::vector<int64_t> attrKernel_;
  int64_t group_{1};
  ir::nn::Window window_;
  ir::FusedActivation act_;
};

class ConvTransposeKernel : public Kernel {
 public:
  explicit ConvTransposeKernel(const ir::Node& node) {
    checkTypes(node);
    attrKernel_ = node.attrs.getInts("kernel_shape");
    group_ = node.attrs.getInt("group", 1);
    if (group_ < 1) unsupported(node, "group must be >= 1");
    size_t n = node.inputs[1]->shape.size() >= 3 ? node.inputs[1]->shape.size() - 2 : attrKernel_.size();
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(n, 1));
    outPad_ = node.attrs.getInts("output_padding", std::vector<int64_t>(n, 0));
    outShape_ = node.attrs.getInts("output_shape", std::vector<int64_t>(n, -1));
    if (outShape_.size() == n + 2) outShape_.erase(outShape_.begin(), outShape_.begin() + 2);
    if (outPad_.size() != n || outShape_.size() != n) unsupported(node, "output_padding/output_shape length mismatch");
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& w = ctx.inputs[1];
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank() || y.rank() != x.rank())
      badData("ConvTranspose: X and W must have the same rank in 3..5");
    const int64_t N = x.dim(0), C = x.dim(1), mpg = w.dim(1), M = mpg * group_;
    if (w.dim(0) != C || C % group_ != 0) badData("ConvTranspose: channels do not match the weights and group");
    if (y.dim(0) != N || y.dim(1) != M) badData("ConvTranspose: output shape mismatch");
    if (b && (b->rank() != 1 || b->dim(0) != M)) badData("ConvTranspose: bias must have shape [M]");
    std::vector<int64_t> k = kernelFromW(w, attrKernel_);
    const size_t n = k.size();
    if (outPad_.size() != n) badData("ConvTranspose: output_padding length mismatch");
    Geom3 g;
    const size_t off = 3 - n;
    for (size_t i = 0; i < n; ++i) {
      ir::nn::WindowDim wd = ir::nn::convTransposeDim(x.dim(2 + static_cast<int64_t>(i)), k[i], window_.strides[i],
                                                      window_.dilations[i], outPad_[i], window_.pads[i],
                                                      window_.pads[n + i], window_.autoPad, outShape_[i]);
      if (wd.out != y.dim(2 + static_cast<int64_t>(i))) badData("ConvTranspose: output spatial shape mismatch");
      g.in[off + i] = x.dim(2 + static_cast<int64_t>(i));
      g.out[off + i] = wd.out;
      g.k[off + i] = k[i];
      g.s[off + i] = window_.strides[i];
      g.d[off + i] = window_.dilations[i];
      g.pb[off + i] = wd.padBegin;
    }
    const int64_t cpg = C / group_;
    const int64_t inSz = g.inSize(), outSz = g.outSize(), kSz = g.kSize();
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      const T* W = w.as<T>();
      const T* B = b ? b->as<T>() : nullptr;
      T* Y = y.as<T>();
      std::vector<double> acc(static_cast<size_t>(outSz));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m) {
          const int64_t grp = m / mpg, oc = m % mpg;
          std::fill(acc.begin(), acc.end(), B ? toD(B[m]) : 0.0);
          for (int64_t ic = 0; ic < cpg; ++ic) {
            const int64_t c = grp * cpg + ic;
            const T* xp = X + (n * C + c) * inSz;
            const T* wp = W + (c * mpg + oc) * kSz;
            for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
              for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
                for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
                  const double xv = toD(xp[(i0 * g.in[1] + i1) * g.in[2] + i2]);
                  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                    int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    if (o0 < 0 || o0 >= g.out[0]) continue;
                    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                      int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                      if (o1 < 0 || o1 >= g.out[1]) continue;
                      for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                        int64_t o2 = i2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                        if (o2 < 0 || o2 >= g.out[2]) continue;
                        acc[static_cast<size_t>((o0 * g.out[1] + o1) * g.out[2] + o2)] +=
                            xv * toD(wp[(k0 * g.k[1] + k1) * g.k[2] + k2]);
                      }
                    }
                  }
                }
          }
          T* yp = Y + (n * M + m) * outSz;
          for (int64_t i = 0; i < outSz; ++i) yp[i] = fromD<T>(acc[static_cast<size_t>(i)]);
        }
    });
  }

 private:
  std::vector<int64_t> attrKernel_, outPad_, outShape_;
  int64_t group_{1};
  ir::nn::Window window_;
};

}  // namespace

void registerConvKernels(KernelRegistry& reg) {
  reg.add("Conv", refTactic<ConvKernel>());
  reg.add("ConvTranspose", refTactic<ConvTransposeKernel>());
}

}  // namespace kiln::cpu::nn
