// GPU MelWeightMatrix: every input is a scalar that sets the output's shape, so the matrix is computed once
// on the host when the kernel is created (the shared computation of ir/ops/data_dependent.h, as the CPU
// reference) and kept on the device; a run copies it into the output. The inputs must be constants; graph
// inputs go through the "cuda_host_params" wrapper (host_params.cpp), which makes them constants.
#include <memory>
#include <string>

#include "backends/cuda/quant_sampling.h"
#include "backends/cuda/tensor_impl.h"
#include "backends/gpu.h"
#include "ir/ops/data_dependent.h"

namespace kiln::gpu {
namespace {

bool melSupports(const ir::Node& n, std::string* why) {
  for (size_t k = 0; k < 5; ++k)
    if (!tensor::hasInput(n, k) || !n.inputs[k]->isConstant()) {
      if (why) *why = "MelWeightMatrix: the five scalar inputs must be constants on the GPU";
      return false;
    }
  return true;
}

class MelWeightMatrixKernel final : public Kernel {
 public:
  explicit MelWeightMatrixKernel(const ir::Node& node) {
    std::string why;
    if (!melSupports(node, &why)) tensor::unsupported(why);
    auto outs = ir::data_dependent::melWeightMatrix(node.attrs, *node.inputs[0]->constant, *node.inputs[1]->constant,
                                                    *node.inputs[2]->constant, *node.inputs[3]->constant,
                                                    *node.inputs[4]->constant);
    if (outs.empty() || !outs[0]) tensor::invalid("MelWeightMatrix: no result");
    shape_ = outs[0]->shape;
    dtype_ = outs[0]->dtype;
    bytes_ = static_cast<std::size_t>(outs[0]->numel()) * dataTypeSize(dtype_);
    if (bytes_) {
      matrix_ = deviceBlock(bytes_);
      copy(matrix_.get(), outs[0]->raw(), bytes_);
    }
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    if (y.shapeVec() != shape_ || y.dtype != dtype_) tensor::invalid("MelWeightMatrix: output shape mismatch");
    if (bytes_) KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, matrix_.get(), bytes_, cudaMemcpyDeviceToDevice, streamOf(ctx)));
  }

 private:
  ir::Shape shape_;
  DataType dtype_{DataType::kFLOAT};
  std::size_t bytes_{0};
  std::shared_ptr<void> matrix_;
};

}  // namespace

void registerMelWeightKernels(KernelRegistry& reg) { reg.add("MelWeightMatrix", tensor::cudaTactic<MelWeightMatrixKernel>(&melSupports)); }

}  // namespace kiln::gpu
