// Reference kernels of kiln's transformer fusions (ir/ops/fused_transformer.cpp): SkipLayerNormalization
// (the sum rounded to the data type, then two-pass statistics in double) and FusedAttention (scores,
// softmax and the weighted sum in double, per batch, head and query row).
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/ref/nn_impl.h"
#include "ir/ops/fused_transformer.h"

namespace kiln::cpu {
namespace {

using nn::badData;
using nn::dispatchFloat;
using nn::fromD;
using nn::toD;

double loadAt(const TensorView& t, int64_t i) {
  double v = 0;
  dispatchFloat(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    v = toD(t.as<const T>()[i]);
  });
  return v;
}

class SkipLayerNormKernel : public Kernel {
 public:
  explicit SkipLayerNormKernel(const ir::Node& node) {
    nn::requireFloatType(node, node.inputs[0]->dtype);
    axis_ = node.attrs.getInt("axis", -1);
    eps_ = node.attrs.getFloat("epsilon", 1e-5);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView &x = ctx.inputs[0], &skip = ctx.inputs[1], &scale = ctx.inputs[2];
    const TensorView* b = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const TensorView* sumOut = ctx.outputs.size() > 1 && ctx.outputs[1].present ? &ctx.outputs[1] : nullptr;
    if (skip.numel != x.numel || y.numel != x.numel || (sumOut && sumOut->numel != x.numel))
      badData("SkipLayerNormalization: X, Skip, Y and Sum must have the same size");
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    int64_t O = 1, R = 1;
    for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? O : R) *= x.dim(d);
    if (scale.numel != R || (b && b->numel != R))
      badData("SkipLayerNormalization: Scale and B must have the normalized size");
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T *px = x.as<const T>(), *ps = skip.as<const T>();
      T* py = y.as<T>();
      T* pSum = sumOut ? sumOut->as<T>() : nullptr;
      std::vector<double> row(static_cast<size_t>(R));
      for (int64_t o = 0; o < O; ++o) {
        double mean = 0;
        for (int64_t r = 0; r < R; ++r) {
          const int64_t i = o * R + r;
          const T s = fromD<T>(toD(px[i]) + toD(ps[i]));
          if (pSum) pSum[i] = s;
          row[static_cast<size_t>(r)] = toD(s);
          mean += toD(s);
        }
        mean /= static_cast<double>(R);
        double var = 0;
        for (double v : row) var += (v - mean) * (v - mean);
        const double inv = 1.0 / std::sqrt(var / static_cast<double>(R) + eps_);
        for (int64_t r = 0; r < R; ++r) {
          double v = (row[static_cast<size_t>(r)] - mean) * inv * loadAt(scale, r);
          if (b) v += loadAt(*b, r);
          py[o * R + r] = fromD<T>(v);
        }
      }
    });
  }

 private:
  int64_t axis_;
  double eps_;
};

//! Element strides (b, h, s, d) of a rank-4 operand in layout l (0: [B,S,H,D], 1: [B,H,S,D]).
struct Strides4 {
  int64_t b, h, s, d;
};
Strides4 stridesOf(const TensorView& t, int64_t l) {
  const int64_t d1 = t.dim(1), d2 = t.dim(2), d3 = t.dim(3);
  if (l == 0) return {d1 * d2 * d3, d3, d2 * d3, 1};
  return {d1 * d2 * d3, d2 * d3, d3, 1};
}

class FusedAttentionKernel : public Kernel {
 public:
  explicit FusedAttentionKernel(const ir::Node& node) : a_(ir::fusedAttentionAttrs(node)) {
    nn::requireFloatType(node, node.inputs[0]->dtype);
    if (a_.layouts.size() != 4) nn::unsupported(node, "layouts must have 4 values");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& q = ctx.inputs[0];
    const TensorView* mask = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    auto dimsOf = [](const TensorView& t, int64_t l) {
      return l == 0 ? ir::Shape{t.dim(0), t.dim(2), t.dim(1), t.dim(3)} : t.shapeVec();
    };
    if (y.rank() != 4) badData("FusedAttention: Y must be rank 4");
    ir::Shape qs, ks, vs;
    Strides4 sq{}, sk{}, sv{};
    int64_t kOff = 0, vOff = 0;  // element offsets of K and V from their base pointers
    const TensorView* kt = &q;
    const TensorView* vt = &q;
    if (a_.qkvHeads > 0) {
      if (q.rank() != 3 || q.dim(2) % (3 * a_.qkvHeads)) badData("FusedAttention: bad packed QKV shape");
      const int64_t D = q.dim(2) / (3 * a_.qkvHeads);
      qs = ks = vs = {q.dim(0), a_.qkvHeads, q.dim(1), D};
      sq = sk = sv = {q.dim(1) * q.dim(2), D, q.dim(2), 1};
      kOff = a_.qkvHeads * D;
      vOff = 2 * a_.qkvHeads * D;
    } else {
      kt = &ctx.inputs[1];
      vt = &ctx.inputs[2];
      if (q.rank() != 4 || kt->rank() != 4 || vt->rank() != 4) badData("FusedAttention: operands must be rank 4");
      qs = dimsOf(q, a_.layouts[0]), ks = dimsOf(*kt, a_.layouts[1]), vs = dimsOf(*vt, a_.layouts[2]);
      sq = stridesOf(q, a_.layouts[0]), sk = stridesOf(*kt, a_.layouts[1]), sv = stridesOf(*vt, a_.layouts[2]);
    }
    const TensorView &k = *kt, &v = *vt;
    const ir::Shape ys = dimsOf(y, a_.layouts[3]);
    const int64_t B = qs[0], H = qs[1], Sq = qs[2], D = qs[3], Sk = ks[2], Dv = vs[3];
    if (ks[0] != B || vs[0] != B || ks[1] != H || vs[1] != H || ks[3] != D || vs[2] != Sk || ys != ir::Shape{B, H, Sq, Dv})
      badData("FusedAttention: operand shapes do not match");
    std::vector<int64_t> ms(4, 0);
    if (mask) {
      if (mask->rank() > 4) badData("FusedAttention: Mask must have rank <= 4");
      const ir::Shape full{B, H, Sq, Sk};
      ms = ir::broadcastStrides(mask->shapeVec(), full);
      for (int64_t i = 0; i < mask->rank(); ++i) {
        const int64_t d = mask->dim(i), f = full[static_cast<size_t>(4 - mask->rank() + i)];
        if (d != 1 && d != f) badData("FusedAttention: Mask does not broadcast to [B, H, Sq, Sk]");
      }
    }
    const Strides4 sy = stridesOf(y, a_.layouts[3]);
    std::vector<double> p(static_cast<size_t>(Sk));
    const double ninf = -std::numeric_limits<double>::infinity();
    dispatchFloat(q.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T *Q = q.as<const T>(), *K = k.as<const T>() + kOff, *V = v.as<const T>() + vOff;
      const T* M = mask ? mask->as<const T>() : nullptr;
      T* Y = y.as<T>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < Sq; ++i) {
            double mx = ninf;
            bool nan = false;
            for (int64_t j = 0; j < Sk; ++j) {
              double s = 0;
              for (int64_t d = 0; d < D; ++d)
                s += toD(Q[b * sq.b + h * sq.h + i * sq.s + d]) * toD(K[b * sk.b + h * sk.h + j * sk.s + d]);
              s *= a_.scale;
              if (M) s += toD(M[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]);
              p[static_cast<size_t>(j)] = s;
              if (std::isnan(s)) nan = true;
              else if (s > mx) mx = s;
            }
            const bool dead = nan || mx == ninf || Sk == 0;
            double den = 0;
            if (!dead) {
              for (double& e : p) den += (e = std::exp(e - mx));
            }
            for (int64_t d = 0; d < Dv; ++d) {
              double acc = 0;
              if (dead) {
                acc = a_.maskedRowsZero || Sk == 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
              } else {
                for (int64_t j = 0; j < Sk; ++j) acc += p[static_cast<size_t>(j)] * toD(V[b * sv.b + h * sv.h + j * sv.s + d]);
                acc /= den;
              }
              Y[b * sy.b + h * sy.h + i * sy.s + d] = fromD<T>(acc);
            }
          }
    });
  }

 private:
  ir::FusedAttentionAttrs a_;
};

}  // namespace

void registerFusedTransformerKernels(KernelRegistry& reg) {
  reg.add("SkipLayerNormalization", refTactic<SkipLayerNormKernel>());
  reg.add("FusedAttention", refTactic<FusedAttentionKernel>());
}

}  // namespace kiln::cpu
