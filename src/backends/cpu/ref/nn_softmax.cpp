// Reference kernels: Softmax, LogSoftmax, Hardmax (one axis, opset-13 semantics; numerically stable).
#include <cmath>
#include <type_traits>

#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu::nn {
namespace {

enum class SoftKind { kSOFTMAX, kLOGSOFTMAX, kHARDMAX };

template <SoftKind K>
class SoftmaxKernel : public Kernel {
 public:
  explicit SoftmaxKernel(const ir::Node& node) : attrs_(node.attrs) { requireFloatType(node, node.inputs[0]->dtype); }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) badData("softmax: output shape mismatch");
    const int64_t axis = ir::nn::softmaxAxis(attrs_, x.rank());
    std::vector<bool> red(static_cast<size_t>(x.rank()), false);
    if (x.rank() > 0) red[static_cast<size_t>(axis)] = true;
    ReduceLayout L = reduceLayout(x.shape, red);
    if (x.numel == 0) return;
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (int64_t base : L.outer) {
        double mx = toD(X[base + L.inner[0]]);
        size_t arg = 0;
        for (size_t r = 1; r < L.inner.size(); ++r) {
          double v = toD(X[base + L.inner[r]]);
          if (v > mx) {
            mx = v;
            arg = r;
          }
        }
        if constexpr (K == SoftKind::kHARDMAX) {
          for (size_t r = 0; r < L.inner.size(); ++r) Y[base + L.inner[r]] = fromD<T>(r == arg ? 1.0 : 0.0);
        } else {
          // an all -inf row: subtract 0 instead, so that the result is NaN-free where possible
          double shift = std::isinf(mx) ? 0.0 : mx;
          double sum = 0;
          for (int64_t off : L.inner) sum += std::exp(toD(X[base + off]) - shift);
          if constexpr (K == SoftKind::kSOFTMAX && (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)) {
            // 16-bit types: every step rounds to T, as the computation in T by ONNX's reference does (x - max,
            // exp, the sum: bfloat16 adds in T, float16 accumulates in float like numpy, the division)
            const float sh = static_cast<float>(shift);
            for (int64_t off : L.inner)
              Y[base + off] = T(std::exp(static_cast<float>(T(static_cast<float>(X[base + off]) - sh))));
            float acc = 0.f;
            for (int64_t off : L.inner) {
              acc += static_cast<float>(Y[base + off]);
              if constexpr (std::is_same_v<T, BFloat16>) acc = static_cast<float>(T(acc));
            }
            const float total = static_cast<float>(T(acc));
            for (int64_t off : L.inner) Y[base + off] = T(static_cast<float>(Y[base + off]) / total);
          } else if constexpr (K == SoftKind::kSOFTMAX) {
            for (int64_t off : L.inner) Y[base + off] = fromD<T>(std::exp(toD(X[base + off]) - shift) / sum);
          } else {
            double ls = std::log(sum);
            for (int64_t off : L.inner) Y[base + off] = fromD<T>(toD(X[base + off]) - shift - ls);
          }
        }
      }
    });
  }

 private:
  ir::Attributes attrs_;
};

}  // namespace

void registerSoftmaxKernels(KernelRegistry& reg) {
  reg.add("Softmax", refTactic<SoftmaxKernel<SoftKind::kSOFTMAX>>());
  reg.add("LogSoftmax", refTactic<SoftmaxKernel<SoftKind::kLOGSOFTMAX>>());
  reg.add("Hardmax", refTactic<SoftmaxKernel<SoftKind::kHARDMAX>>());
}

}  // namespace kiln::cpu::nn
