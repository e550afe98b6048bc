// Reference kernel of MatMulInteger (ir/ops/matmul_integer.cpp): Y = (A - za) x (B - zb) over int8/uint8
// inputs, zero points per tensor or per row of A / column of B, MatMul shapes with batch broadcasting;
// products summed in int32 with wrap-around (as the int32 MatMul the ONNX importer lowers it to).
#include <cstdint>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/shape_utils.h"

namespace kiln::cpu {
namespace {

//! Element i of an int8 or uint8 tensor.
int32_t load8(const TensorView& t, int64_t i) {
  return t.dtype == DataType::kINT8 ? static_cast<int32_t>(t.as<const int8_t>()[i])
                                    : static_cast<int32_t>(t.as<const uint8_t>()[i]);
}

class MatMulIntegerKernel : public Kernel {
 public:
  explicit MatMulIntegerKernel(const ir::Node&) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* za = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* zb = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (a.rank() < 1 || b.rank() < 1)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "MatMulInteger: rank 0 input");
    const bool vecA = a.rank() == 1, vecB = b.rank() == 1;  // [K] is [1, K]; [K] as B is [K, 1]
    const int64_t M = vecA ? 1 : a.dim(a.rank() - 2), K = a.dim(a.rank() - 1);
    const int64_t K2 = vecB ? b.dim(0) : b.dim(b.rank() - 2), N = vecB ? 1 : b.dim(b.rank() - 1);
    if (K2 != K) throw Error(ErrorCode::kINVALID_ARGUMENT, "MatMulInteger: inner dimensions do not match");
    const ir::Shape aBatch(a.shape.begin(), a.shape.end() - (vecA ? 1 : 2));
    const ir::Shape bBatch(b.shape.begin(), b.shape.end() - (vecB ? 1 : 2));
    const ir::Shape batch = ir::broadcastShapes(aBatch, bBatch);
    const std::vector<int64_t> sa = ir::broadcastStrides(aBatch, batch),
                               sb = ir::broadcastStrides(bBatch, batch);
    const int64_t count = ir::numElements(batch);
    if (count * M * N != y.numel)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "MatMulInteger: output shape mismatch");
    auto zeroPoint = [](const TensorView* z, int64_t i) { return z ? load8(*z, z->numel == 1 ? 0 : i) : 0; };
    int32_t* out = y.as<int32_t>();
    for (int64_t bi = 0; bi < count; ++bi) {
      int64_t offA = 0, offB = 0, rest = bi;  // matrix offsets of this batch entry
      for (size_t d = batch.size(); d-- > 0;) {
        const int64_t idx = rest % batch[d];
        rest /= batch[d];
        offA += idx * sa[d];
        offB += idx * sb[d];
      }
      for (int64_t m = 0; m < M; ++m) {
        const int32_t zam = zeroPoint(za, m);
        for (int64_t n = 0; n < N; ++n) {
          const int32_t zbn = zeroPoint(zb, n);
          uint32_t acc = 0;  // wraps around like int32
          for (int64_t k = 0; k < K; ++k)
            acc += static_cast<uint32_t>(load8(a, offA * M * K + m * K + k) - zam) *
                   static_cast<uint32_t>(load8(b, offB * K * N + k * N + n) - zbn);
          out[(bi * M + m) * N + n] = static_cast<int32_t>(acc);
        }
      }
    }
  }
};

}  // namespace

void registerMatMulIntegerKernels(KernelRegistry& reg) {
  reg.add("MatMulInteger", refTactic<MatMulIntegerKernel>());
}

}  // namespace kiln::cpu
