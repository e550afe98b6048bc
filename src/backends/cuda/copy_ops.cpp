// Ops whose output bytes equal their input bytes (Identity, Reshape, Flatten, Squeeze, Unsqueeze): one
// copy on the stream (cudaMemcpyDefault: an input may be page-locked host memory that kernels read in place).
#include "backends/cuda/cuda_common.h"

namespace kiln::gpu {

namespace {
class CopyKernel final : public Kernel {
 public:
  explicit CopyKernel(const ir::Node&) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& in = ctx.inputs[0];
    const TensorView& out = ctx.outputs[0];
    if (in.bytes() != out.bytes())
      throw Error(ErrorCode::kFAILED_EXECUTION, "copy of " + std::to_string(in.bytes()) + " bytes into " +
                                                    std::to_string(out.bytes()));
    if (out.bytes() && in.data != out.data)
      KILN_CUDA_CHECK(cudaMemcpyAsync(out.data, in.data, out.bytes(), cudaMemcpyDefault, streamOf(ctx)));
  }
};
}  // namespace

void registerCopyKernels(KernelRegistry& reg) {
  for (const char* op : {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}) {
    Tactic t;
    t.name = "copy";
    t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<CopyKernel>(n); };
    reg.add(op, t);
  }
  // A Shuffle without permutations is a reshape.
  Tactic t;
  t.name = "copy";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<CopyKernel>(n); };
  t.supports = [](const ir::Node& n, std::string* why) {
    for (const char* a : {"first_perm", "second_perm"}) {
      std::vector<int64_t> p = n.attrs.getInts(a);
      for (size_t i = 0; i < p.size(); ++i)
        if (p[i] != static_cast<int64_t>(i)) {
          if (why) *why = "has a permutation";
          return false;
        }
    }
    return true;
  };
  reg.add("Shuffle", t);
}

}  // namespace kiln::gpu
