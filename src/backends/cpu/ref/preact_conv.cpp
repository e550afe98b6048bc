// Reference kernel of PreactConv (ir/ops/preact_conv.cpp): the normalized (and rectified) input is rounded
// to the data type, as the stored output of BatchNormalization -> Relu would be; the 1x1 products, the
// bias and the epilogue activation are computed in double. Registers the fast tactic after it.
#include "backends/cpu/ref/preact_conv.h"

#include <cmath>
#include <vector>

#include "backends/cpu/ref/nn_impl.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu {

namespace preact {

Geom geometry(const KernelContext& ctx) {
  using nn::badData;
  if (ctx.inputs.size() < 5 || ctx.outputs.empty()) badData("PreactConv: expected W, B, Scale, Shift and inputs X");
  const TensorView &w = ctx.inputs[0], &b = ctx.inputs[1], &s = ctx.inputs[2], &t = ctx.inputs[3], &x0 = ctx.inputs[4];
  const TensorView& y = ctx.outputs[0];
  Geom g;
  if (x0.rank() < 3 || w.rank() != x0.rank() || y.rank() != x0.rank()) badData("PreactConv: rank mismatch");
  g.N = x0.dim(0);
  g.M = w.dim(0);
  g.P = 1;
  for (int64_t d = 2; d < x0.rank(); ++d) {
    g.P = nn::checkedMul(g.P, x0.dim(d));
    if (w.dim(d) != 1) badData("PreactConv: W's kernel extents must be 1");
  }
  for (size_t i = 4; i < ctx.inputs.size(); ++i) {
    const TensorView& x = ctx.inputs[i];
    if (x.rank() != x0.rank() || x.dim(0) != g.N) badData("PreactConv: the inputs X differ outside axis 1");
    for (int64_t d = 2; d < x0.rank(); ++d)
      if (x.dim(d) != x0.dim(d)) badData("PreactConv: the inputs X differ outside axis 1");
    g.C += x.dim(1);
  }
  if (w.dim(1) != g.C) badData("PreactConv: W's axis 1 is not the total channels of X");
  if (b.numel != g.M || s.numel != g.C || t.numel != g.C) badData("PreactConv: B, Scale or Shift has the wrong size");
  if (y.dim(0) != g.N || y.dim(1) != g.M) badData("PreactConv: Y has the wrong shape");
  for (int64_t d = 2; d < x0.rank(); ++d)
    if (y.dim(d) != x0.dim(d)) badData("PreactConv: Y has the wrong shape");
  return g;
}

}  // namespace preact

namespace {

using nn::toD;

class PreactConvRef : public Kernel {
 public:
  explicit PreactConvRef(const ir::Node& node)
      : relu_(node.attrs.getInt("relu", 1) != 0), act_(ir::fusedActivationOf(node.attrs)) {
    nn::requireFloatType(node, node.inputs[0]->dtype);
  }

  void run(const KernelContext& ctx) const override {
    const preact::Geom g = preact::geometry(ctx);
    nn::dispatchFloat(ctx.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* w = ctx.inputs[0].as<const T>();
      const T* b = ctx.inputs[1].as<const T>();
      const T* s = ctx.inputs[2].as<const T>();
      const T* t = ctx.inputs[3].as<const T>();
      T* y = ctx.outputs[0].as<T>();
      std::vector<double> a(static_cast<size_t>(g.C * g.P));  // the activated concatenation of one batch item
      for (int64_t n = 0; n < g.N; ++n) {
        int64_t c = 0;
        for (size_t i = 4; i < ctx.inputs.size(); ++i) {
          const TensorView& x = ctx.inputs[i];
          const int64_t ci = x.dim(1);
          const T* src = x.as<const T>() + n * ci * g.P;
          for (int64_t k = 0; k < ci; ++k, ++c)
            for (int64_t p = 0; p < g.P; ++p) {
              double v = toD(nn::fromD<T>(toD(src[k * g.P + p]) * toD(s[c]) + toD(t[c])));
              if (relu_ && !(v > 0) && !std::isnan(v)) v = 0;
              a[static_cast<size_t>(c * g.P + p)] = v;
            }
        }
        for (int64_t m = 0; m < g.M; ++m)
          for (int64_t p = 0; p < g.P; ++p) {
            double acc = toD(b[m]);
            for (int64_t k = 0; k < g.C; ++k) acc += toD(w[m * g.C + k]) * a[static_cast<size_t>(k * g.P + p)];
            y[(n * g.M + m) * g.P + p] = nn::fromD<T>(act_.apply(acc));
          }
      }
    });
  }

 private:
  bool relu_;
  ir::FusedActivation act_;
};

}  // namespace

void registerPreactConvKernels(KernelRegistry& reg) {
  reg.add("PreactConv", refTactic<PreactConvRef>());
  fast::registerPreactConvTactics(reg);
}

}  // namespace kiln::cpu
