// MatMul and Gemm on cuBLASLt.
//
// kiln tensors are row-major; cuBLASLt is column-major. A row-major C[M,N] = A[M,K] B[K,N] is the
// column-major C^T[N,M] = B^T A^T, so every call passes B as cuBLASLt's "A" and A as its "B".
// Gemm's C input becomes cuBLASLt's bias epilogue when it is a constant broadcast along rows ([N] or
// [1,N]); other C shapes are broadcast into the output first and accumulated with beta.
// float32 accumulates in float32 (TF32 only with the node attribute kiln_tf32=1, set by the builder
// for BuilderFlag::kTF32); float16/bfloat16 accumulate in float32.
#include <cublasLt.h>

#include <map>
#include <mutex>
#include <tuple>

#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/conv_nhwc.h"
#include "backends/gpu.h"

namespace kiln::gpu {

namespace {

void checkLt(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw Error(ErrorCode::kFAILED_EXECUTION, std::string("cuBLASLt ") + what + " failed with status " +
                                                  std::to_string(static_cast<int>(st)));
}

constexpr std::size_t kLtWorkspace = 32u << 20;

struct LtTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
  cudaDataType_t scale;
};

bool ltTypes(DataType t, bool tf32, LtTypes* out) {
  switch (t) {
    case DataType::kFLOAT:
      *out = {CUDA_R_32F, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F};
      return true;
    case DataType::kHALF: *out = {CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F}; return true;
    case DataType::kBF16: *out = {CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F}; return true;
    case DataType::kDOUBLE: *out = {CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F}; return true;
    default: return false;
  }
}

//! One (possibly strided-batched) row-major GEMM: D[M,N] = alpha op(A) op(B) (+ beta C) (+ bias[N]).
struct GemmCall {
  int64_t m{0}, n{0}, k{0};
  bool transA{false}, transB{false};
  int64_t batch{1}, strideA{0}, strideB{0}, strideD{0};
  const void* a{nullptr};
  const void* b{nullptr};
  void* d{nullptr};
  const void* bias{nullptr};  //!< [N], D's type
  bool relu{false};           //!< ReLU epilogue (after bias and accumulation)
  bool accumulate{false};     //!< D = ... + beta * C
  const void* c{nullptr};     //!< C of the accumulation (nullptr: D itself), D's shape
  double alpha{1.0}, beta{0.0};
};

using AlgoKey = std::tuple<int64_t, int64_t, int64_t, int, int, int64_t, int64_t, int64_t, int, int, int>;

class LtGemm {
 public:
  LtGemm(DataType t, bool tf32) : dtype_(t), tf32_(tf32) {
    if (!ltTypes(t, tf32, &types_)) throw Error(ErrorCode::kUNSUPPORTED_NODE, "no cuBLASLt GEMM for this type");
  }

  void run(const GemmCall& c, void* workspace, std::size_t wsBytes, cudaStream_t stream) const {
    if (c.m == 0 || c.n == 0 || c.batch == 0) return;
    cublasLtHandle_t h = cublasLtHandle();
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    struct Cleanup {
      cublasLtMatmulDesc_t& op;
      cublasLtMatrixLayout_t &la, &lb, &ld;
      ~Cleanup() {
        if (op) cublasLtMatmulDescDestroy(op);
        if (la) cublasLtMatrixLayoutDestroy(la);
        if (lb) cublasLtMatrixLayoutDestroy(lb);
        if (ld) cublasLtMatrixLayoutDestroy(ld);
      }
    } cleanup{op, la, lb, ld};
    checkLt(cublasLtMatmulDescCreate(&op, types_.compute, types_.scale), "MatmulDescCreate");
    // cuBLASLt's A is our B, its B is our A (see the file comment)
    cublasOperation_t opA = c.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opB = c.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    checkLt(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof(opA)), "set TRANSA");
    checkLt(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof(opB)), "set TRANSB");
    if (c.bias || c.relu) {
      cublasLtEpilogue_t epi = c.bias ? (c.relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS) : CUBLASLT_EPILOGUE_RELU;
      checkLt(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), "set EPILOGUE");
    }
    if (c.bias) {
      checkLt(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &c.bias, sizeof(c.bias)), "set BIAS");
      cudaDataType_t bt = types_.data;
      checkLt(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)), "set BIAS type");
    }
    auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    // stored shapes (before op) in column-major terms
    if (c.transB)
      checkLt(cublasLtMatrixLayoutCreate(&la, types_.data, u(c.k), u(c.n), c.k), "layout A");
    else
      checkLt(cublasLtMatrixLayoutCreate(&la, types_.data, u(c.n), u(c.k), c.n), "layout A");
    if (c.transA)
      checkLt(cublasLtMatrixLayoutCreate(&lb, types_.data, u(c.m), u(c.k), c.m), "layout B");
    else
      checkLt(cublasLtMatrixLayoutCreate(&lb, types_.data, u(c.k), u(c.m), c.k), "layout B");
    checkLt(cublasLtMatrixLayoutCreate(&ld, types_.data, u(c.n), u(c.m), c.n), "layout D");
    if (c.batch > 1) {
      int32_t bc = static_cast<int32_t>(c.batch);
      for (auto [l, stride] : {std::pair{la, c.strideB}, std::pair{lb, c.strideA}, std::pair{ld, c.strideD}}) {
        checkLt(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof(bc)), "batch count");
        checkLt(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
                "batch stride");
      }
    }
    std::size_t ws = std::min(wsBytes, kLtWorkspace);
    cublasLtMatmulAlgo_t algo = findAlgo(h, op, la, lb, ld, c, ws);
    float af = static_cast<float>(c.alpha), bf = c.accumulate ? static_cast<float>(c.beta) : 0.f;
    double ad = c.alpha, bd = c.accumulate ? c.beta : 0.0;
    const void* alpha = types_.scale == CUDA_R_64F ? static_cast<const void*>(&ad) : &af;
    const void* beta = types_.scale == CUDA_R_64F ? static_cast<const void*>(&bd) : &bf;
    const void* cm = c.accumulate && c.c ? c.c : c.d;
    checkLt(cublasLtMatmul(h, op, alpha, c.b, la, c.a, lb, beta, cm, ld, c.d, ld, &algo, workspace, ws, stream),
            "Matmul");
  }

 private:
  cublasLtMatmulAlgo_t findAlgo(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la,
                                cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t ld, const GemmCall& c,
                                std::size_t ws) const {
    auto align = [](const void* p) {
      auto v = reinterpret_cast<uintptr_t>(p);
      return v % 256 == 0 ? 256 : v % 16 == 0 ? 16 : 4;
    };
    AlgoKey key{c.m, c.n, c.k, c.transA, c.transB, c.batch, c.strideA, c.strideB,
                (c.bias ? 1 : 0) | (c.accumulate ? 2 : 0) | (c.relu ? 4 : 0), align(c.a) * 1000 + align(c.b),
                align(c.d) + align(c.accumulate && c.c ? c.c : c.d) * 10 + static_cast<int>(ws >> 20) * 1000};
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return it->second;
    }
    cublasLtMatmulPreference_t pref = nullptr;
    checkLt(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    cublasLtMatmulHeuristicResult_t res{};
    int found = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, op, la, lb, ld, ld, pref, 1, &res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0)
      throw Error(ErrorCode::kFAILED_EXECUTION, "cuBLASLt has no algorithm for a " + std::to_string(c.m) + "x" +
                                                    std::to_string(c.n) + "x" + std::to_string(c.k) + " GEMM");
    std::lock_guard<std::mutex> lock(mu_);
    cache_[key] = res.algo;
    return res.algo;
  }

  DataType dtype_;
  bool tf32_;
  LtTypes types_{};
  mutable std::mutex mu_;
  mutable std::map<AlgoKey, cublasLtMatmulAlgo_t> cache_;
};

bool floatType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kBF16 || t == DataType::kDOUBLE;
}

bool supportsFloat(const ir::Node& n, std::string* why) {
  DataType t = n.outputs[0]->dtype;
  if (!floatType(t)) {
    if (why) *why = std::string("cuBLASLt GEMMs take float types, not ") + dataTypeName(t);
    return false;
  }
  return true;
}

// ---- MatMul ----

class MatMulKernel final : public Kernel {
 public:
  explicit MatMulKernel(const ir::Node& n)
      : gemm_(n.outputs[0]->dtype, n.attrs.getInt("kiln_tf32", 0) != 0),
        transA_(n.attrs.getInt("transA", 0) != 0),
        transB_(n.attrs.getInt("transB", 0) != 0),
        vecA_(n.attrs.getInt("vecA", 0) != 0),
        vecB_(n.attrs.getInt("vecB", 0) != 0),
        act_(parseAct(n.attrs)) {}

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override { return kLtWorkspace; }

  void run(const KernelContext& ctx) const override {
    const TensorView& A = ctx.inputs[0];
    const TensorView& B = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    // normalized shapes [batch..., M, K] and [batch..., K, N]
    ir::Shape a = A.shapeVec(), b = B.shapeVec();
    bool ta = transA_, tb = transB_;
    if (a.size() == 1 || vecA_) {
      a.insert(a.end() - 1, 1);
      ta = false;
    }
    if (b.size() == 1 || vecB_) {
      b.push_back(1);
      tb = false;
    }
    int64_t M = ta ? a[a.size() - 1] : a[a.size() - 2];
    int64_t K = ta ? a[a.size() - 2] : a[a.size() - 1];
    int64_t N = tb ? b[b.size() - 2] : b[b.size() - 1];
    std::size_t esz = dataTypeSize(Y.dtype);
    if (K == 0) {
      KILN_CUDA_CHECK(cudaMemsetAsync(Y.data, 0, Y.bytes(), streamOf(ctx)));
      const void* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? ctx.inputs[2].data : nullptr;
      applyEpilogue(Y.data, Y.dtype, Y.numel, b, N, 1, nullptr, act_, streamOf(ctx));
      return;
    }
    ir::Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    size_t rank = std::max(ba.size(), bb.size());
    ba.insert(ba.begin(), rank - ba.size(), 1);
    bb.insert(bb.begin(), rank - bb.size(), 1);
    ir::Shape bo(rank);
    int64_t batch = 1, prodA = 1, prodB = 1;
    for (size_t i = 0; i < rank; ++i) {
      bo[i] = std::max(ba[i], bb[i]);
      batch *= bo[i];
      prodA *= ba[i];
      prodB *= bb[i];
    }
    GemmCall c;
    c.m = M, c.n = N, c.k = K, c.transA = ta, c.transB = tb;
    c.a = A.data, c.b = B.data, c.d = Y.data;
    cudaStream_t s = streamOf(ctx);
    const bool hasBias = ctx.inputs.size() > 2 && ctx.inputs[2].present;
    const void* bias = hasBias ? ctx.inputs[2].data : nullptr;
    // the bias rides on cuBLASLt's epilogue when the product is one (possibly batched) GEMM; the
    // activation runs as one pass afterwards
    auto finish = [&] { applyEpilogue(Y.data, Y.dtype, Y.numel, nullptr, 1, 1, nullptr, act_, s); };
    if (prodB == 1 && !ta) {  // fold A's batch into M: one GEMM (bias and ReLU in cuBLASLt's epilogue)
      c.m = M * prodA;
      c.bias = bias;
      c.relu = act_.act == Act::kRelu;
      gemm_.run(c, ctx.workspace, ctx.workspaceBytes, s);
      if (!c.relu) finish();
      return;
    }
    if (hasBias) {  // other batch layouts: bias added with the activation
      c.bias = nullptr;
    }
    if ((prodA == batch || prodA == 1) && (prodB == batch || prodB == 1)) {
      c.batch = batch;
      c.strideA = prodA == 1 ? 0 : M * K;
      c.strideB = prodB == 1 ? 0 : K * N;
      c.strideD = M * N;
      gemm_.run(c, ctx.workspace, ctx.workspaceBytes, s);
      applyEpilogue(Y.data, Y.dtype, Y.numel, bias, N, 1, nullptr, act_, s);
      return;
    }
    // general broadcast of the batch dims: one GEMM per output batch
    std::vector<int64_t> idx(rank, 0);
    for (int64_t bi = 0; bi < batch; ++bi) {
      int64_t offA = 0, offB = 0, sa = 1, sb = 1;
      for (size_t i = rank; i-- > 0;) {
        offA += (ba[i] == 1 ? 0 : idx[i]) * sa;
        offB += (bb[i] == 1 ? 0 : idx[i]) * sb;
        sa *= ba[i];
        sb *= bb[i];
      }
      GemmCall one = c;
      one.a = static_cast<const uint8_t*>(A.data) + offA * M * K * static_cast<int64_t>(esz);
      one.b = static_cast<const uint8_t*>(B.data) + offB * K * N * static_cast<int64_t>(esz);
      one.d = static_cast<uint8_t*>(Y.data) + bi * M * N * static_cast<int64_t>(esz);
      gemm_.run(one, ctx.workspace, ctx.workspaceBytes, s);
      for (size_t i = rank; i-- > 0;) {
        if (++idx[i] < bo[i]) break;
        idx[i] = 0;
      }
    }
    applyEpilogue(Y.data, Y.dtype, Y.numel, bias, N, 1, nullptr, act_, s);
  }

 private:
  LtGemm gemm_;
  bool transA_, transB_, vecA_, vecB_;
  ActParams act_;
};

// ---- Gemm ----

class GemmKernel final : public Kernel {
 public:
  explicit GemmKernel(const ir::Node& n)
      : gemm_(n.outputs[0]->dtype, n.attrs.getInt("kiln_tf32", 0) != 0),
        alpha_(n.attrs.getFloat("alpha", 1.0)),
        beta_(n.attrs.getFloat("beta", 1.0)),
        transA_(n.attrs.getInt("transA", 0) != 0),
        transB_(n.attrs.getInt("transB", 0) != 0),
        act_(parseAct(n.attrs)) {
    const ir::Value* c = n.inputs.size() > 2 ? n.inputs[2] : nullptr;
    if (!c || beta_ == 0.0) return;
    // a constant C that broadcasts along rows becomes the bias epilogue (scaled by beta once, here)
    if (c->isConstant() && (c->shape.size() == 1 || (c->shape.size() == 2 && c->shape[0] == 1))) {
      const ir::TensorData& t = *c->constant;
      int64_t len = t.numel();
      int64_t N = n.outputs[0]->shape.size() == 2 ? n.outputs[0]->shape[1] : -1;
      if (N < 0 || len != N) return;  // a length-1 C broadcasts differently: general path
      std::vector<uint8_t> host(static_cast<size_t>(len) * dataTypeSize(t.dtype));
      dispatchType(t.dtype, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                      std::is_same_v<T, BFloat16>) {
          for (int64_t i = 0; i < len; ++i)
            reinterpret_cast<T*>(host.data())[i] = T(static_cast<float>(beta_ * t.floatAt(i)));
          if constexpr (std::is_same_v<T, double>)
            for (int64_t i = 0; i < len; ++i) reinterpret_cast<double*>(host.data())[i] = beta_ * t.floatAt(i);
        }
      });
      bias_ = deviceBlock(host.size());
      copy(bias_.get(), host.data(), host.size());
    }
  }

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override { return kLtWorkspace; }

  void run(const KernelContext& ctx) const override {
    const TensorView& A = ctx.inputs[0];
    const TensorView& B = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    GemmCall c;
    c.transA = transA_, c.transB = transB_;
    c.m = transA_ ? A.dim(1) : A.dim(0);
    c.k = transA_ ? A.dim(0) : A.dim(1);
    c.n = transB_ ? B.dim(0) : B.dim(1);
    c.a = A.data, c.b = B.data, c.d = Y.data;
    c.alpha = alpha_;
    cudaStream_t s = streamOf(ctx);
    const bool haveC = ctx.inputs.size() > 2 && ctx.inputs[2].present && beta_ != 0.0;
    if (bias_) {
      c.bias = bias_.get();
    } else if (haveC) {
      const TensorView& C = ctx.inputs[2];
      broadcastInto(Y.data, Y.shape, C.data, C.shape, dataTypeSize(Y.dtype), s);
      c.accumulate = true;
      c.beta = beta_;
    }
    if (c.k == 0) {  // alpha * 0 + (bias or beta C)
      if (!c.bias && !c.accumulate) KILN_CUDA_CHECK(cudaMemsetAsync(Y.data, 0, Y.bytes(), s));
      if (c.bias) {
        ir::Shape bshape{c.n};
        broadcastInto(Y.data, Y.shape, c.bias, bshape, dataTypeSize(Y.dtype), s);
      } else if (c.accumulate && beta_ != 1.0) {
        throw Error(ErrorCode::kUNSUPPORTED_NODE, "Gemm with K = 0 and beta != 1 on the GPU");
      }
      applyEpilogue(Y.data, Y.dtype, Y.numel, nullptr, 1, 1, nullptr, act_, s);
      return;
    }
    gemm_.run(c, ctx.workspace, ctx.workspaceBytes, s);
    applyEpilogue(Y.data, Y.dtype, Y.numel, nullptr, 1, 1, nullptr, act_, s);
  }

 private:
  LtGemm gemm_;
  double alpha_, beta_;
  bool transA_, transB_;
  ActParams act_;
  std::shared_ptr<void> bias_;
};

// ---- 1x1 channels-last convolution as one GEMM ----

//! A ConvNHWC with a 1x1 kernel, stride 1, no padding and one group is Y[P, M] = X[P, C] W[M, C]^T over the
//! P = N*H*W pixels: one cuBLASLt GEMM with bias, residual (C = Z, beta 1) and ReLU in its epilogue.
bool supportsConv1x1(const ir::Node& n, std::string* why) {
  if (!supportsFloat(n, why)) return false;
  const bool ok = isPlainPointwiseConv(n);
  if (!ok && why) *why = "not a 1x1, stride-1, unpadded, single-group convolution";
  return ok;
}

class Conv1x1Kernel final : public Kernel {
 public:
  explicit Conv1x1Kernel(const ir::Node& n) : gemm_(n.outputs[0]->dtype, n.attrs.getInt("kiln_tf32", 0) != 0), act_(parseAct(n.attrs)) {}

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override { return kLtWorkspace; }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    if (X.rank() == 4 && X.dim(3) == 0)
      throw Error(ErrorCode::kFAILED_EXECUTION, "1x1 convolution: the input has no channels");
    if (!singleGroupShapes(X, W, Y) || X.numel / X.dim(3) != Y.numel / Y.dim(3))
      throw Error(ErrorCode::kFAILED_EXECUTION, "1x1 convolution: shapes do not match");
    GemmCall c;
    c.m = X.numel / X.dim(3);
    c.k = X.dim(3);
    c.n = W.dim(0);
    c.transB = true;
    c.a = X.data, c.b = W.data, c.d = Y.data;
    c.bias = optionalBias(ctx);
    if (ctx.inputs.size() > 3 && ctx.inputs[3].present) {
      c.accumulate = true;
      c.beta = 1.0;
      c.c = ctx.inputs[3].data;
    }
    c.relu = act_.act == Act::kRelu;
    cudaStream_t s = streamOf(ctx);
    if (c.k == 0) throw Error(ErrorCode::kFAILED_EXECUTION, "1x1 convolution without input channels");
    gemm_.run(c, ctx.workspace, ctx.workspaceBytes, s);
    if (!c.relu) applyEpilogue(Y.data, Y.dtype, Y.numel, nullptr, 1, 1, nullptr, act_, s);
  }

 private:
  LtGemm gemm_;
  ActParams act_;
};

}  // namespace

void registerBlasKernels(KernelRegistry& reg) {
  reg.add("MatMul", nodeTactic<MatMulKernel>("cublaslt", supportsFloat));
  reg.add("Gemm", nodeTactic<GemmKernel>("cublaslt", supportsFloat));
  registerConvKernels(reg);
  // after cuDNN's: without timing, the GEMM is the default for the 1x1 convolutions it can do
  reg.add("ConvNHWC", nodeTactic<Conv1x1Kernel>("cublaslt_1x1", supportsConv1x1));
  registerDepthwiseKernels(reg);
}

}  // namespace kiln::gpu
