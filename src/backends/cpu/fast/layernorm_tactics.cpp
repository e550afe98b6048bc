// "fast" tactic of LayerNormalization (float32): one row per normalized slice, with scale and bias of the
// normalized shape (the usual case), through fast/rows.h; rows split over the thread pool. The optional
// Mean / InvStdDev outputs, broadcast parameters and other types run the reference kernel.
#include "backends/cpu/fast/nn_tactics.h"
#include "backends/cpu/fast/rows.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/thread_pool.h"

namespace kiln::cpu::fast {

namespace {

//! Whether `p` holds one value per element of the normalized dims x.shape[axis:] (aligned to x's last dims,
//! leading 1s allowed): then element j of a row uses p[j].
bool coversNormalizedDims(const TensorView& p, const TensorView& x, int64_t axis) {
  const int64_t r = x.rank(), pr = p.rank();
  if (pr > r) return false;
  int64_t D = 1;
  for (int64_t d = axis; d < r; ++d) D *= x.dim(d);
  if (p.numel != D) return false;
  for (int64_t i = 0; i < pr; ++i) {
    const int64_t xd = r - pr + i;
    if (p.dim(i) != (xd >= axis ? x.dim(xd) : 1)) return false;
  }
  return true;
}

class LayerNorm : public Kernel {
 public:
  explicit LayerNorm(const ir::Node& node)
      : axis_(node.attrs.getInt("axis", -1)), eps_(static_cast<float>(node.attrs.getFloat("epsilon", 1e-5))),
        ref_(referenceKernel(node)) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const TensorView& scale = ctx.inputs[1];
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    bool stats = false;
    for (size_t k = 1; k < ctx.outputs.size(); ++k) stats |= ctx.outputs[k].present;
    if (x.rank() == 0 || stats || x.numel != y.numel || x.numel == 0) return ref_->run(ctx);
    const int64_t axis = ir::normalizeAxis(axis_, x.rank());
    if (!coversNormalizedDims(scale, x, axis) || (b && !coversNormalizedDims(*b, x, axis))) return ref_->run(ctx);
    int64_t D = 1;
    for (int64_t d = axis; d < x.rank(); ++d) D *= x.dim(d);
    if (D == 0) return ref_->run(ctx);
    const int64_t rowsN = x.numel / D;
    const float* X = x.as<float>();
    const float* S = scale.as<float>();
    const float* B = b ? b->as<float>() : nullptr;
    float* Y = y.as<float>();
    const rows::LayerNormFn fn = rows::layerNorm();
    ThreadPool* pool = x.numel >= (1 << 14) ? ctx.pool : nullptr;
    parallelFor(pool, rowsN, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) fn(Y + r * D, X + r * D, D, S, B, eps_);
    });
  }

 private:
  int64_t axis_;
  float eps_;
  std::unique_ptr<Kernel> ref_;
};

}  // namespace

void registerLayerNormTactics(KernelRegistry& reg) {
  reg.add("LayerNormalization", makeTactic<LayerNorm>("fast", allFloat32));
}

}  // namespace kiln::cpu::fast
