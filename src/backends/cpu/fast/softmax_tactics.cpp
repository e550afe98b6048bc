// "fast" tactics of Softmax and LogSoftmax (float32): rows along the last axis (or any axis whose inner
// extent is 1) computed by the vectorized row kernels of fast/rows.h, rows split over the thread pool.
// Other layouts run the reference kernel.
#include "backends/cpu/fast/nn_tactics.h"
#include "backends/cpu/fast/rows.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/thread_pool.h"

namespace kiln::cpu::fast {

namespace {

class Softmax : public Kernel {
 public:
  explicit Softmax(const ir::Node& node) : attrs_(node.attrs), log_(node.op == "LogSoftmax"), ref_(referenceKernel(node)) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) nn::badData("softmax: output shape mismatch");
    const int64_t axis = ir::nn::softmaxAxis(attrs_, x.rank());
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    if (x.rank() == 0 || inner != 1 || x.numel == 0) return ref_->run(ctx);
    const int64_t n = x.dim(axis), rowsN = x.numel / n;
    const float* X = x.as<float>();
    float* Y = y.as<float>();
    const rows::SoftmaxFn fn = rows::softmax();
    ThreadPool* pool = x.numel >= (1 << 14) ? ctx.pool : nullptr;
    parallelFor(pool, rowsN, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) fn(Y + r * n, X + r * n, n, log_);
    });
  }

 private:
  ir::Attributes attrs_;
  bool log_;
  std::unique_ptr<Kernel> ref_;
};

}  // namespace

void registerSoftmaxTactics(KernelRegistry& reg) {
  reg.add("Softmax", makeTactic<Softmax>("fast", allFloat32));
  reg.add("LogSoftmax", makeTactic<Softmax>("fast", allFloat32));
}

}  // namespace kiln::cpu::fast
