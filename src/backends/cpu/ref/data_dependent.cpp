// Reference kernels of the ops with value-dependent output extents (NonZero, Compress, Unique,
// NonMaxSuppression): they run the computation shared with shape inference (ir/ops/data_dependent.h) and
// copy its results into outputs whose extents inference already derived from the same input values.
#include <cstring>

#include "backends/cpu/ref/tensor_impl.h"
#include "ir/ops/data_dependent.h"

namespace kiln::cpu {
namespace {

namespace dd = ir::data_dependent;
using tensor_ref::invalid;

class DataDependentKernel : public Kernel {
 public:
  explicit DataDependentKernel(const ir::Node& node) : op_(node.op), attrs_(node.attrs) {}
  void run(const KernelContext& ctx) const override {
    std::vector<std::shared_ptr<const ir::TensorData>> in;
    for (const TensorView& v : ctx.inputs) in.push_back(v.present ? dd::viewOf(v.dtype, v.shapeVec(), v.data) : nullptr);
    auto at = [&](size_t i) -> const ir::TensorData* { return i < in.size() ? in[i].get() : nullptr; };
    dd::Outputs outs;
    if (op_ == "NonZero") outs = dd::nonZero(*at(0));
    else if (op_ == "Compress") outs = dd::compress(attrs_, *at(0), *at(1));
    else if (op_ == "Unique") outs = dd::unique(attrs_, *at(0));
    else outs = dd::nonMaxSuppression(attrs_, *at(0), *at(1), at(2), at(3), at(4));
    for (size_t k = 0; k < ctx.outputs.size() && k < outs.size(); ++k) {
      const TensorView& y = ctx.outputs[k];
      if (!y.present) continue;
      if (y.shapeVec() != outs[k]->shape)
        invalid(op_ + ": output " + std::to_string(k) + " has " + ir::shapeToString(outs[k]->shape) + " values, planned " +
                ir::shapeToString(y.shapeVec()) + " (its inputs changed after shapes were inferred)");
      if (y.bytes()) std::memcpy(y.data, outs[k]->raw(), y.bytes());
    }
  }

 private:
  std::string op_;
  ir::Attributes attrs_;
};

}  // namespace

void registerDataDependentKernels(KernelRegistry& reg) {
  for (const char* op : {"NonZero", "Compress", "Unique", "NonMaxSuppression"}) reg.add(op, refTactic<DataDependentKernel>());
}

}  // namespace kiln::cpu
