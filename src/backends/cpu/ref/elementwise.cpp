// Reference CPU kernels of the elementwise family.
#include <cstring>

#include "backends/cpu/kernel.h"

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

void registerElementwiseKernels(KernelRegistry& reg) { reg.add("Identity", refTactic<IdentityKernel>()); }

}  // namespace kiln::cpu
