// Reference CPU kernels of the elementwise family. The kernels live in ref/elementwise_*.cpp (private
// helpers and the broadcasting loop in ref/elementwise_impl.h); this file registers them all.
#include <cstring>

#include "backends/cpu/kernel.h"
#include "backends/cpu/ref/elementwise_impl.h"

namespace kiln::cpu {
namespace {

class IdentityKernel : public Kernel {
 public:
  explicit IdentityKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.bytes() && x.data != y.data) std::memcpy(y.data, x.data, x.bytes());
  }
};

}  // namespace

void registerElementwiseKernels(KernelRegistry& reg) {
  reg.add("Identity", refTactic<IdentityKernel>());
  ew::registerActivationKernels(reg);
  ew::registerUnaryKernels(reg);
  ew::registerBinaryKernels(reg);
  ew::registerCastWhereKernels(reg);
}

}  // namespace kiln::cpu
