// Reference kernels: MatMul (numpy semantics, batch broadcasting, kiln transA/transB/vecA/vecB; float types
// accumulated in double, int32/int64 with wrap-around) and Gemm. Both take the kiln epilogue activation
// kiln_act; MatMul also the kiln bias input [N] (float types; docs/ir/nn.md).
#include "backends/cpu/ref/nn_impl.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::nn {
namespace {

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const ir::Node& node) {
    DataType t = node.inputs[0]->dtype;
    if (!(isFloatingType(t) || t == DataType::kINT32 || t == DataType::kINT64))
      unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    if (node.inputs[1]->dtype != t) unsupported(node, "inputs must have the same type");
    transA_ = node.attrs.getInt("transA", 0) != 0;
    transB_ = node.attrs.getInt("transB", 0) != 0;
    vecA_ = node.attrs.getInt("vecA", 0) != 0;
    vecB_ = node.attrs.getInt("vecB", 0) != 0;
    try {
      act_ = ir::fusedActivationOf(node.attrs);
    } catch (const Error& e) {
      unsupported(node, e.message());
    }
    bool hasBias = node.inputs.size() > 2 && node.inputs[2];
    if ((hasBias || !act_.none()) && !isFloatingType(t)) unsupported(node, "the bias input and kiln_act need a float type");
    if (hasBias && node.inputs[2]->dtype != t) unsupported(node, "inputs must have the same type");
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* bias = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (a.rank() < 1 || b.rank() < 1) badData("MatMul: inputs must have rank >= 1");
    const bool vA = vecA_ || a.rank() == 1, vB = vecB_ || b.rank() == 1;
    const int64_t ra = a.rank(), rb = b.rank();
    // A element (m, k) at m * sAm + k * sAk within a matrix of aMat elements
    int64_t M, K, sAm, sAk, aMat;
    if (vA) {
      M = 1, K = a.dim(ra - 1), sAm = 0, sAk = 1, aMat = K;
    } else {
      int64_t r0 = a.dim(ra - 2), r1 = a.dim(ra - 1);
      aMat = r0 * r1;
      if (transA_) M = r1, K = r0, sAm = 1, sAk = r1;
      else M = r0, K = r1, sAm = r1, sAk = 1;
    }
    int64_t N, K2, sBk, sBn, bMat;
    if (vB) {
      N = 1, K2 = b.dim(rb - 1), sBk = 1, sBn = 0, bMat = K2;
    } else {
      int64_t r0 = b.dim(rb - 2), r1 = b.dim(rb - 1);
      bMat = r0 * r1;
      if (transB_) K2 = r1, N = r0, sBk = 1, sBn = r1;
      else K2 = r0, N = r1, sBk = r1, sBn = 1;
    }
    if (K != K2) badData("MatMul: inner dimensions do not match");
    ir::Shape aB(a.shape.begin(), a.shape.end() - (vA ? 1 : 2));
    ir::Shape bB(b.shape.begin(), b.shape.end() - (vB ? 1 : 2));
    ir::Shape batch = ir::broadcastShapes(aB, bB);
    int64_t nb = 1;
    for (int64_t d : batch) nb *= d;
    if (nb * M * N != y.numel) badData("MatMul: output shape mismatch");
    if (bias && (bias->rank() != 1 || bias->dim(0) != N)) badData("MatMul: bias must have shape [N]");
    // batch strides in units of matrices
    std::vector<int64_t> sa = ir::broadcastStrides(aB, batch), sb = ir::broadcastStrides(bB, batch);
    std::vector<int64_t> idx(batch.size(), 0);
    dispatchFloatInt(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* A = a.as<T>();
      const T* B = b.as<T>();
      const T* Bias = bias ? bias->as<T>() : nullptr;
      T* Y = y.as<T>();
      int64_t offA = 0, offB = 0;
      for (int64_t bi = 0; bi < nb; ++bi) {
        const T* ap = A + offA * aMat;
        const T* bp = B + offB * bMat;
        T* yp = Y + bi * M * N;
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            if constexpr (kIsFloat<T>) {
              double acc = 0;
              for (int64_t k = 0; k < K; ++k) acc += toD(ap[m * sAm + k * sAk]) * toD(bp[k * sBk + n * sBn]);
              if (Bias) acc += toD(Bias[n]);
              yp[m * N + n] = fromD<T>(act_.apply(acc));
            } else {
              uint64_t acc = 0;  // wraps around like the integer type
              for (int64_t k = 0; k < K; ++k)
                acc += static_cast<uint64_t>(static_cast<int64_t>(ap[m * sAm + k * sAk])) *
                       static_cast<uint64_t>(static_cast<int64_t>(bp[k * sBk + n * sBn]));
              yp[m * N + n] = static_cast<T>(acc);
            }
          }
        for (size_t i = batch.size(); i-- > 0;) {
          ++idx[i];
          offA += sa[i];
          offB += sb[i];
          if (idx[i] < batch[i]) break;
          offA -= sa[i] * batch[i];
          offB -= sb[i] * batch[i];
          idx[i] = 0;
        }
      }
    });
  }

 private:
  bool transA_{false}, transB_{false}, vecA_{false}, vecB_{false};
  ir::FusedActivation act_;
};

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const ir::Node& node) {
    requireFloatType(node, node.inputs[0]->dtype);
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] && node.inputs[i]->dtype != node.inputs[0]->dtype)
        unsupported(node, "inputs must have the same type");
    alpha_ = node.attrs.getFloat("alpha", 1.0);
    beta_ = node.attrs.getFloat("beta", 1.0);
    transA_ = node.attrs.getInt("transA", 0) != 0;
    transB_ = node.attrs.getInt("transB", 0) != 0;
    try {
      act_ = ir::fusedActivationOf(node.attrs);
    } catch (const Error& e) {
      unsupported(node, e.message());
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* c = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (a.rank() != 2 || b.rank() != 2) badData("Gemm: A and B must be matrices");
    const int64_t M = transA_ ? a.dim(1) : a.dim(0), K = transA_ ? a.dim(0) : a.dim(1);
    const int64_t K2 = transB_ ? b.dim(1) : b.dim(0), N = transB_ ? b.dim(0) : b.dim(1);
    if (K != K2) badData("Gemm: inner dimensions do not match");
    if (y.rank() != 2 || y.dim(0) != M || y.dim(1) != N) badData("Gemm: output shape mismatch");
    std::vector<int64_t> sc;
    if (c) {
      ir::Shape cs = c->shapeVec();
      ir::Shape target{M, N};
      if (cs.size() > 2 || ir::broadcastShapes(cs, target) != target) badData("Gemm: C does not broadcast to [M, N]");
      sc = ir::broadcastStrides(cs, target);
    }
    const int64_t sAm = transA_ ? 1 : a.dim(1), sAk = transA_ ? a.dim(1) : 1;
    const int64_t sBk = transB_ ? 1 : b.dim(1), sBn = transB_ ? b.dim(1) : 1;
    dispatchFloat(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* A = a.as<T>();
      const T* B = b.as<T>();
      const T* C = c ? c->as<T>() : nullptr;
      T* Y = y.as<T>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += toD(A[m * sAm + k * sAk]) * toD(B[k * sBk + n * sBn]);
          acc *= alpha_;
          if (C) acc += beta_ * toD(C[m * sc[0] + n * sc[1]]);
          Y[m * N + n] = fromD<T>(act_.apply(acc));
        }
    });
  }

 private:
  double alpha_{1}, beta_{1};
  bool transA_{false}, transB_{false};
  ir::FusedActivation act_;
};

}  // namespace

void registerMatMulKernels(KernelRegistry& reg) {
  reg.add("MatMul", refTactic<MatMulKernel>());
  reg.add("Gemm", refTactic<GemmKernel>());
}

}  // namespace kiln::cpu::nn
