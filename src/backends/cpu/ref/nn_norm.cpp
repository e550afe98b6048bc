// Reference kernels: BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// GroupNormalization, LpNormalization, LRN, MeanVarianceNormalization and kiln's Normalization.
// Statistics are computed in double with two passes (mean, then the mean of squared deviations).
#include <cmath>

#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu::nn {
namespace {

std::vector<double> loadDoubles(const TensorView& t) {
  std::vector<double> v(static_cast<size_t>(t.numel));
  dispatchType(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.as<T>();
    if constexpr (std::is_same_v<T, bool>)
      for (size_t i = 0; i < v.size(); ++i) v[i] = p[i] ? 1.0 : 0.0;
    else
      for (size_t i = 0; i < v.size(); ++i) v[i] = toD(p[i]);
  });
  return v;
}


//! Broadcast strides of a parameter over x's shape, then over the grouped view of x (channel axis 1 split
//! into [groups, C/groups]) when groups > 1.
std::vector<int64_t> paramViewStrides(const ir::Shape& param, const ir::Shape& xs, int64_t groups) {
  if (param.size() > xs.size()) badData("normalization: parameter rank exceeds the input rank");
  for (size_t i = 0; i < param.size(); ++i) {
    int64_t d = param[i], t = xs[xs.size() - param.size() + i];
    if (d != 1 && d != t) badData("normalization: parameter shape does not broadcast to the input");
  }
  std::vector<int64_t> bs = ir::broadcastStrides(param, xs);
  if (groups <= 1) return bs;
  std::vector<int64_t> v{bs[0], bs[1] * (xs[1] / groups), bs[1]};
  v.insert(v.end(), bs.begin() + 2, bs.end());
  return v;
}

//! x viewed with channel axis 1 split into [groups, C/groups] (groups > 1), else x's shape.
ir::Shape groupedView(const ir::Shape& xs, int64_t groups) {
  if (groups <= 1) return xs;
  if (xs.size() < 2 || xs[1] % groups != 0) badData("normalization: channels are not divisible by the groups");
  ir::Shape v{xs[0], groups, xs[1] / groups};
  v.insert(v.end(), xs.begin() + 2, xs.end());
  return v;
}

struct NormSpec {
  ir::Shape view;
  std::vector<bool> reduced;  // over view
  const double* scale{nullptr};
  std::vector<int64_t> scaleStrides;  // over view
  const double* bias{nullptr};
  std::vector<int64_t> biasStrides;
  double eps{1e-5};
  bool mvn{false};  // (x - mean) / (sqrt(var) + eps) instead of / sqrt(var + eps)
};

//! y = (x - mean) * inv * scale + bias per reduction group; writes mean/inv per group if asked.
template <class T>
void normalizeRun(const T* X, T* Y, const NormSpec& s, std::vector<double>* means = nullptr,
                  std::vector<double>* invs = nullptr) {
  std::vector<bool> kept(s.reduced.size());
  for (size_t i = 0; i < kept.size(); ++i) kept[i] = !s.reduced[i];
  std::vector<int64_t> xs = ir::stridesOf(s.view);
  std::vector<int64_t> outer = stridedOffsets(s.view, kept, xs), inner = stridedOffsets(s.view, s.reduced, xs);
  std::vector<int64_t> sOut, sIn, bOut, bIn;
  if (s.scale) sOut = stridedOffsets(s.view, kept, s.scaleStrides), sIn = stridedOffsets(s.view, s.reduced, s.scaleStrides);
  if (s.bias) bOut = stridedOffsets(s.view, kept, s.biasStrides), bIn = stridedOffsets(s.view, s.reduced, s.biasStrides);
  const double n = static_cast<double>(inner.size());
  if (means) means->assign(outer.size(), 0.0);
  if (invs) invs->assign(outer.size(), 0.0);
  for (size_t o = 0; o < outer.size(); ++o) {
    const T* xp = X + outer[o];
    T* yp = Y + outer[o];
    double sum = 0;
    for (int64_t off : inner) sum += toD(xp[off]);
    const double mean = sum / n;
    double sq = 0;
    for (int64_t off : inner) {
      double d = toD(xp[off]) - mean;
      sq += d * d;
    }
    const double var = sq / n;
    const double inv = s.mvn ? 1.0 / (std::sqrt(var) + s.eps) : 1.0 / std::sqrt(var + s.eps);
    if (means) (*means)[o] = mean;
    if (invs) (*invs)[o] = inv;
    for (size_t r = 0; r < inner.size(); ++r) {
      double v = (toD(xp[inner[r]]) - mean) * inv;
      if (s.scale) v *= s.scale[sOut[o] + sIn[r]];
      if (s.bias) v += s.bias[bOut[o] + bIn[r]];
      yp[inner[r]] = fromD<T>(v);
    }
  }
}

void checkSameShape(const TensorView& x, const TensorView& y) {
  if (x.shapeVec() != y.shapeVec()) badData("normalization: output shape mismatch");
}

class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    if (node.attrs.getInt("training_mode", 0) != 0) unsupported(node, "training_mode=1 is not supported");
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    if (x.rank() < 2) badData("BatchNormalization: X must have rank >= 2");
    const int64_t N = x.dim(0), C = x.dim(1), S = N * C == 0 ? 0 : x.numel / (N * C);
    std::vector<double> p[4];
    for (int i = 0; i < 4; ++i) {
      p[i] = loadDoubles(ctx.inputs[static_cast<size_t>(i + 1)]);
      if (static_cast<int64_t>(p[i].size()) != C) badData("BatchNormalization: parameters must have C values");
    }
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
          const size_t ci = static_cast<size_t>(c);
          const double a = p[0][ci] / std::sqrt(p[3][ci] + eps_);
          const int64_t base = (n * C + c) * S;
          for (int64_t i = 0; i < S; ++i) Y[base + i] = fromD<T>((toD(X[base + i]) - p[2][ci]) * a + p[1][ci]);
        }
    });
  }

 private:
  double eps_;
};

//! InstanceNormalization (groups = C, i.e. per channel) and GroupNormalization (num_groups): scale and
//! bias are per channel [C], statistics over (channels of the group x spatial dims).
class GroupLikeNormKernel : public Kernel {
 public:
  explicit GroupLikeNormKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
    instance_ = node.op == "InstanceNormalization";
    groups_ = instance_ ? 0 : node.attrs.requireInt("num_groups");
    if (!instance_ && groups_ < 1) unsupported(node, "num_groups must be >= 1");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    if (x.rank() < 2) badData("normalization: X must have rank >= 2");
    ir::Shape xs = x.shapeVec();
    const int64_t C = xs[1];
    const int64_t G = instance_ ? C : groups_;
    std::vector<double> scale = loadDoubles(ctx.inputs[1]), bias = loadDoubles(ctx.inputs[2]);
    if (static_cast<int64_t>(scale.size()) != C || static_cast<int64_t>(bias.size()) != C)
      badData("normalization: scale and bias must have C values");
    if (x.numel == 0) return;
    if (G < 1 || C % G != 0) badData("normalization: channels are not divisible by the groups");
    ir::Shape pshape(xs.size() - 1, 1);
    pshape[0] = C;
    NormSpec s;
    // always view as [N, G, C/G, spatial...] (valid for G = 1 too)
    s.view = ir::Shape{xs[0], G, C / G};
    s.view.insert(s.view.end(), xs.begin() + 2, xs.end());
    s.reduced.assign(s.view.size(), true);
    s.reduced[0] = s.reduced[1] = false;
    std::vector<int64_t> bs = ir::broadcastStrides(pshape, xs);
    s.scaleStrides = {bs[0], bs[1] * (C / G), bs[1]};
    s.scaleStrides.insert(s.scaleStrides.end(), bs.begin() + 2, bs.end());
    s.biasStrides = s.scaleStrides;
    s.scale = scale.data();
    s.bias = bias.data();
    s.eps = eps_;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      normalizeRun<T>(x.as<T>(), y.as<T>(), s);
    });
  }

 private:
  double eps_;
  bool instance_;
  int64_t groups_;
};

class LayerNormKernel : public Kernel {
 public:
  explicit LayerNormKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    axis_ = node.attrs.getInt("axis", -1);
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    ir::Shape xs = x.shapeVec();
    NormSpec s;
    s.view = xs;
    s.reduced.assign(xs.size(), false);
    for (size_t i = static_cast<size_t>(axis); i < xs.size(); ++i) s.reduced[i] = true;
    std::vector<double> scale = loadDoubles(ctx.inputs[1]), bias;
    s.scaleStrides = paramViewStrides(ctx.inputs[1].shapeVec(), xs, 1);
    s.scale = scale.data();
    if (b) {
      bias = loadDoubles(*b);
      s.biasStrides = paramViewStrides(b->shapeVec(), xs, 1);
      s.bias = bias.data();
    }
    s.eps = eps_;
    std::vector<double> means, invs;
    const bool wantStats = ctx.outputs.size() > 1;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      normalizeRun<T>(x.as<T>(), y.as<T>(), s, wantStats ? &means : nullptr, wantStats ? &invs : nullptr);
    });
    for (size_t k = 1; k < ctx.outputs.size() && k < 3; ++k) {
      const TensorView& o = ctx.outputs[k];
      if (!o.present) continue;
      const std::vector<double>& src = k == 1 ? means : invs;
      if (o.numel != static_cast<int64_t>(src.size())) badData("LayerNormalization: statistics shape mismatch");
      dispatchFloat(o.dtype, [&](auto tag) {
        using T = decltype(tag);
        T* p = o.as<T>();
        for (size_t i = 0; i < src.size(); ++i) p[i] = fromD<T>(src[i]);
      });
    }
  }

 private:
  int64_t axis_;
  double eps_;
};

class MVNKernel : public Kernel {
 public:
  explicit MVNKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    axes_ = node.attrs.getInts("axes", {0, 2, 3});
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    NormSpec s;
    s.view = x.shapeVec();
    s.reduced = ir::nn::axesMask(axes_, x.rank(), "MeanVarianceNormalization");
    s.eps = 1e-9;
    s.mvn = true;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      normalizeRun<T>(x.as<T>(), y.as<T>(), s);
    });
  }

 private:
  std::vector<int64_t> axes_;
};

//! kiln "Normalization" (TensorRT INormalizationLayer).
class NormalizationKernel : public Kernel {
 public:
  explicit NormalizationKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    axes_ = node.attrs.requireInts("axes");
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
    groups_ = node.attrs.getInt("num_groups", 1);
    if (groups_ < 1) unsupported(node, "num_groups must be >= 1");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    ir::Shape xs = x.shapeVec();
    std::vector<bool> mask = ir::nn::axesMask(axes_, x.rank(), "Normalization");
    NormSpec s;
    s.view = groupedView(xs, groups_);
    if (groups_ > 1) {
      if (mask[0] || mask[1]) badData("Normalization: with groups, axes must not contain axis 0 or 1");
      s.reduced = {false, false, true};
      s.reduced.insert(s.reduced.end(), mask.begin() + 2, mask.end());
    } else {
      s.reduced = mask;
    }
    std::vector<double> scale = loadDoubles(ctx.inputs[1]), bias = loadDoubles(ctx.inputs[2]);
    s.scaleStrides = paramViewStrides(ctx.inputs[1].shapeVec(), xs, groups_);
    s.biasStrides = paramViewStrides(ctx.inputs[2].shapeVec(), xs, groups_);
    s.scale = scale.data();
    s.bias = bias.data();
    s.eps = eps_;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      normalizeRun<T>(x.as<T>(), y.as<T>(), s);
    });
  }

 private:
  std::vector<int64_t> axes_;
  double eps_;
  int64_t groups_;
};

class LpNormKernel : public Kernel {
 public:
  explicit LpNormKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    axis_ = node.attrs.getInt("axis", -1);
    p_ = node.attrs.getInt("p", 2);
    if (p_ != 1 && p_ != 2) unsupported(node, "p must be 1 or 2");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    std::vector<bool> mask(static_cast<size_t>(x.rank()), false);
    mask[static_cast<size_t>(axis)] = true;
    ReduceLayout L = reduceLayout(x.shape, mask);
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (int64_t base : L.outer) {
        double s = 0;
        for (int64_t off : L.inner) {
          double v = toD(X[base + off]);
          s += p_ == 1 ? std::fabs(v) : v * v;
        }
        double norm = p_ == 1 ? s : std::sqrt(s);
        for (int64_t off : L.inner) Y[base + off] = fromD<T>(norm == 0 ? 0.0 : toD(X[base + off]) / norm);
      }
    });
  }

 private:
  int64_t axis_, p_;
};

class LRNKernel : public Kernel {
 public:
  explicit LRNKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    alpha_ = node.attrs.getFloat("alpha", 1e-4);
    beta_ = node.attrs.getFloat("beta", 0.75);
    bias_ = node.attrs.getFloat("bias", 1.0);
    size_ = node.attrs.requireInt("size");
    if (size_ < 1) unsupported(node, "size must be >= 1");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    checkSameShape(x, y);
    if (x.rank() < 2) badData("LRN: X must have rank >= 2");
    const int64_t N = x.dim(0), C = x.dim(1), S = N * C == 0 ? 0 : x.numel / (N * C);
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;  // floor and ceil of (size-1)/2
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < S; ++i) {
            double sq = 0;
            for (int64_t cc = std::max<int64_t>(0, c - lo); cc <= std::min(C - 1, c + hi); ++cc) {
              double v = toD(X[(n * C + cc) * S + i]);
              sq += v * v;
            }
            const int64_t idx = (n * C + c) * S + i;
            Y[idx] = fromD<T>(toD(X[idx]) / std::pow(bias_ + alpha_ / static_cast<double>(size_) * sq, beta_));
          }
    });
  }

 private:
  double alpha_, beta_, bias_;
  int64_t size_;
};

}  // namespace

void registerNormKernels(KernelRegistry& reg) {
  reg.add("BatchNormalization", refTactic<BatchNormKernel>());
  reg.add("InstanceNormalization", refTactic<GroupLikeNormKernel>());
  reg.add("GroupNormalization", refTactic<GroupLikeNormKernel>());
  reg.add("LayerNormalization", refTactic<LayerNormKernel>());
  reg.add("MeanVarianceNormalization", refTactic<MVNKernel>());
  reg.add("Normalization", refTactic<NormalizationKernel>());
  reg.add("LpNormalization", refTactic<LpNormKernel>());
  reg.add("LRN", refTactic<LRNKernel>());
}

}  // namespace kiln::cpu::nn
