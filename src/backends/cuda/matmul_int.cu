// Integer matrix products on the GPU. Same semantics as the CPU reference kernels (products summed with
// wrap-around in the output type; numpy batch broadcasting, up to 8 batch dims):
//
// MatMul over int32 / int64 (tactic "cuda_int"; cpu/ref/nn_matmul.cpp): what the ONNX importer lowers
//   MatMulInteger / QLinearMatMul to (src/onnx/importers/quant.cpp) where fuse-matmul-integer cannot fold
//   it back; kiln transA/transB/vecA/vecB; no bias input or kiln_act (float types only, as on the CPU).
// MatMulInteger (tactic "cuda"; cpu/ref/matmul_integer.cpp): int8/uint8 A and B, zero points per tensor,
//   per row of A or per column of B. With a 2-D B, K and N multiples of 4 and K < 65536 it runs on cuBLASLt's
//   int8 x int8 -> int32 GEMM (the "TN" layout it requires: B transposed into the workspace; uint8 operands
//   shifted by -128 into int8, their zero points with them), all batch matrices of A as one GEMM, then
//   Y = A'B' - zb' rowsum(A') - za' colsum(B') + K za' zb' in one pass (exact modulo 2^32, like the
//   reference). Otherwise, or where cuBLASLt offers no algorithm, the tiled kernel below reads the 8-bit
//   inputs and subtracts the zero points itself.
//
// The tiled kernel: one 16x16 output tile per block, K walked in 16-wide slices through shared memory;
// blocks stride over tiles and batch matrices, so any extent fits the grid.
#include <cublasLt.h>

#include <algorithm>

#include "backends/cuda/blas_helpers.h"  // nodeTactic
#include "backends/cuda/matmul_int.h"
#include "ir/shape_utils.h"

namespace kiln::gpu {
namespace {

constexpr int kTile = 16;

struct IntMatMulGeo {
  int64_t m{0}, n{0}, k{0};
  int64_t sAm{0}, sAk{0}, sBk{0}, sBn{0};  // element strides inside one matrix
  int64_t aMat{0}, bMat{0};                // elements per matrix
  int64_t batches{1};
  int32_t rank{0};  // batch dims
  int64_t dims[kMaxDims]{};
  int64_t sa[kMaxDims]{}, sb[kMaxDims]{};  // batch strides in matrices (0 on broadcast dims)
  bool zaPerRow{false}, zbPerCol{false};
};

//! Y = (A - za) x (B - zb) in T's width with wrap-around; za / zb null: no zero point.
template <class TA, class TB, class T>
__global__ void intMatMulKernel(const TA* __restrict__ A, const TB* __restrict__ B, T* __restrict__ Y,
                                IntMatMulGeo g, const TA* __restrict__ za, const TB* __restrict__ zb) {
  using U = std::make_unsigned_t<T>;  // wrap-around arithmetic
  __shared__ U as[kTile][kTile + 1];
  __shared__ U bs[kTile][kTile + 1];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  // every loop bound below depends on the block only, so all threads reach each __syncthreads
  for (int64_t bi = blockIdx.z; bi < g.batches; bi += gridDim.z) {
    int64_t offA = 0, offB = 0, r = bi;
    for (int d = g.rank - 1; d >= 0; --d) {
      const int64_t i = r % g.dims[d];
      r /= g.dims[d];
      offA += i * g.sa[d];
      offB += i * g.sb[d];
    }
    const TA* a = A + offA * g.aMat;
    const TB* b = B + offB * g.bMat;
    T* y = Y + bi * g.m * g.n;
    for (int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTile; m0 < g.m;
         m0 += static_cast<int64_t>(gridDim.y) * kTile) {
      for (int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTile; n0 < g.n;
           n0 += static_cast<int64_t>(gridDim.x) * kTile) {
        const int64_t m = m0 + ty, n = n0 + tx;
        const U zam = za && m < g.m ? static_cast<U>(za[g.zaPerRow ? m : 0]) : U{0};
        const U zbn = zb && n < g.n ? static_cast<U>(zb[g.zbPerCol ? n : 0]) : U{0};
        U acc = 0;
        for (int64_t k0 = 0; k0 < g.k; k0 += kTile) {
          const int64_t ka = k0 + tx, kb = k0 + ty;
          as[ty][tx] =
              m < g.m && ka < g.k ? static_cast<U>(static_cast<U>(a[m * g.sAm + ka * g.sAk]) - zam) : U{0};
          bs[ty][tx] =
              kb < g.k && n < g.n ? static_cast<U>(static_cast<U>(b[kb * g.sBk + n * g.sBn]) - zbn) : U{0};
          __syncthreads();
#pragma unroll
          for (int kk = 0; kk < kTile; ++kk) acc += static_cast<U>(as[ty][kk] * bs[kk][tx]);
          __syncthreads();
        }
        if (m < g.m && n < g.n) y[m * g.n + n] = static_cast<T>(acc);
      }
    }
  }
}

[[noreturn]] void bad(const char* op, const std::string& what) {
  throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(op) + ": " + what);
}

//! Geometry of a MatMul-shaped product of a and b (kiln transpose / vector flags), checked against y.
IntMatMulGeo geometry(const char* op, const TensorView& a, const TensorView& b, const TensorView& y,
                      bool transA, bool transB, bool vecA, bool vecB) {
  if (a.rank() < 1 || b.rank() < 1) bad(op, "inputs must have rank >= 1");
  const bool vA = vecA || a.rank() == 1, vB = vecB || b.rank() == 1;
  const int64_t ra = a.rank(), rb = b.rank();
  IntMatMulGeo g;
  int64_t k2 = 0;
  if (vA) {
    g.m = 1, g.k = a.dim(ra - 1), g.sAm = 0, g.sAk = 1, g.aMat = g.k;
  } else {
    const int64_t r0 = a.dim(ra - 2), r1 = a.dim(ra - 1);
    g.aMat = r0 * r1;
    if (transA)
      g.m = r1, g.k = r0, g.sAm = 1, g.sAk = r1;
    else
      g.m = r0, g.k = r1, g.sAm = r1, g.sAk = 1;
  }
  if (vB) {
    g.n = 1, k2 = b.dim(rb - 1), g.sBk = 1, g.sBn = 0, g.bMat = k2;
  } else {
    const int64_t r0 = b.dim(rb - 2), r1 = b.dim(rb - 1);
    g.bMat = r0 * r1;
    if (transB)
      k2 = r1, g.n = r0, g.sBk = 1, g.sBn = r1;
    else
      k2 = r0, g.n = r1, g.sBk = r1, g.sBn = 1;
  }
  if (g.k != k2) bad(op, "inner dimensions do not match");
  const ir::Shape aB(a.shape.begin(), a.shape.end() - (vA ? 1 : 2));
  const ir::Shape bB(b.shape.begin(), b.shape.end() - (vB ? 1 : 2));
  const ir::Shape batch = ir::broadcastShapes(aB, bB);
  if (batch.size() > static_cast<size_t>(kMaxDims)) bad(op, "more than 8 batch dims on the GPU");
  const std::vector<int64_t> sa = ir::broadcastStrides(aB, batch), sb = ir::broadcastStrides(bB, batch);
  g.rank = static_cast<int32_t>(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    g.dims[i] = batch[i];
    g.sa[i] = sa[i];
    g.sb[i] = sb[i];
    g.batches *= batch[i];
  }
  if (g.batches * g.m * g.n != y.numel) bad(op, "output shape mismatch");
  return g;
}

template <class TA, class TB, class T>
void launchTiled(const IntMatMulGeo& g, const void* a, const void* b, void* y, const void* za, const void* zb,
                 cudaStream_t s) {
  const dim3 block(kTile, kTile);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((g.n + kTile - 1) / kTile, 65535)),
                  static_cast<unsigned>(std::min<int64_t>((g.m + kTile - 1) / kTile, 65535)),
                  static_cast<unsigned>(std::min<int64_t>(g.batches, 65535)));
  intMatMulKernel<TA, TB, T><<<grid, block, 0, s>>>(static_cast<const TA*>(a), static_cast<const TB*>(b),
                                                    static_cast<T*>(y), g, static_cast<const TA*>(za),
                                                    static_cast<const TB*>(zb));
  checkLaunch("integer MatMul");
}

// ---- MatMul over int32 / int64 ----

class IntMatMulKernel final : public Kernel {
 public:
  explicit IntMatMulKernel(const ir::Node& n)
      : transA_(n.attrs.getInt("transA", 0) != 0),
        transB_(n.attrs.getInt("transB", 0) != 0),
        vecA_(n.attrs.getInt("vecA", 0) != 0),
        vecB_(n.attrs.getInt("vecB", 0) != 0) {}

  static bool supports(const ir::Node& n, std::string* why) {
    auto no = [&](std::string w) {
      if (why) *why = std::move(w);
      return false;
    };
    const DataType t = n.inputs[0]->dtype;
    if (t != DataType::kINT32 && t != DataType::kINT64)
      return no(std::string("takes int32 / int64, not ") + dataTypeName(t));
    if (n.inputs[1]->dtype != t) return no("inputs must have the same type");
    if ((n.inputs.size() > 2 && n.inputs[2]) || !n.attrs.getString("kiln_act", "").empty())
      return no("no bias input or kiln_act for integer types");
    return true;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (a.dtype != b.dtype || y.dtype != a.dtype) bad("MatMul", "inputs and output must have the same type");
    const IntMatMulGeo g = geometry("MatMul", a, b, y, transA_, transB_, vecA_, vecB_);
    if (y.numel == 0) return;
    if (a.dtype == DataType::kINT32)
      launchTiled<int32_t, int32_t, int32_t>(g, a.data, b.data, y.data, nullptr, nullptr, streamOf(ctx));
    else
      launchTiled<int64_t, int64_t, int64_t>(g, a.data, b.data, y.data, nullptr, nullptr, streamOf(ctx));
  }

 private:
  bool transA_, transB_, vecA_, vecB_;
};

// ---- MatMulInteger ----

constexpr std::size_t kLtWs = 4u << 20;  // cuBLASLt's own scratch
constexpr int kThreads = 256;

std::size_t align256(std::size_t b) {
  return (b + 255) / 256 * 256;
}

//! Wt[n, k] = B[k, n] - shift as int8 (B: [K, N] int8 or uint8; uint8 shifted by 128).
template <class TB>
__global__ void transposeTo8(const TB* __restrict__ b, int8_t* __restrict__ wt, int64_t K, int64_t N,
                             int shift) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < K * N;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = i / N, n = i - k * N;
    wt[n * K + k] = static_cast<int8_t>(static_cast<int>(b[i]) - shift);
  }
}

__global__ void shiftTo8(const uint8_t* __restrict__ a, int8_t* __restrict__ out, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<int8_t>(static_cast<int>(a[i]) - 128);
}

//! sums[r] = sum of row r of the int8 matrix [R, K]: one warp per row.
__global__ void rowSums8(const int8_t* __restrict__ x, int32_t* __restrict__ sums, int64_t R, int64_t K) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; r < R; r += warps) {
    int32_t s = 0;
    for (int64_t k = lane; k < K; k += 32) s += x[r * K + k];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) sums[r] = s;
  }
}

//! Y[r, n] = D[r, n] - zb'[n] rowA[r] - za'[r] colB[n] + K za'[r] zb'[n] (mod 2^32), za' = za - shiftA etc.;
//! row r of the folded batch is row r % M of its matrix.
template <class TA, class TB>
__global__ void zeroPointCorrection(int32_t* __restrict__ y, const int32_t* __restrict__ rowA,
                                    const int32_t* __restrict__ colB, int64_t rows, int64_t M, int64_t N,
                                    int64_t K, const TA* __restrict__ za, bool zaPerRow,
                                    const TB* __restrict__ zb, bool zbPerCol, int shiftA, int shiftB) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < rows * N;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / N, n = i - r * N;
    const uint32_t zA = static_cast<uint32_t>((za ? static_cast<int>(za[zaPerRow ? r % M : 0]) : 0) - shiftA);
    const uint32_t zB = static_cast<uint32_t>((zb ? static_cast<int>(zb[zbPerCol ? n : 0]) : 0) - shiftB);
    uint32_t v = static_cast<uint32_t>(y[i]);
    v -= zB * static_cast<uint32_t>(rowA[r]) + zA * static_cast<uint32_t>(colB[n]);
    v += static_cast<uint32_t>(K) * zA * zB;
    y[i] = static_cast<int32_t>(v);
  }
}

//! Y[rows, n] = X[rows, k] Wt[n, k]^T on cuBLASLt (int8 in, int32 out). False if cuBLASLt has no algorithm.
bool ltGemmInt8(const int8_t* wt, const int8_t* x, int32_t* y, int64_t rows, int64_t n, int64_t k, void* ws,
                cudaStream_t s) {
  cublasLtHandle_t h = cublasLtHandle();
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  struct Cleanup {
    cublasLtMatmulDesc_t& op;
    cublasLtMatrixLayout_t &la, &lb, &lc;
    cublasLtMatmulPreference_t& pref;
    ~Cleanup() {
      if (op) cublasLtMatmulDescDestroy(op);
      if (la) cublasLtMatrixLayoutDestroy(la);
      if (lb) cublasLtMatrixLayoutDestroy(lb);
      if (lc) cublasLtMatrixLayoutDestroy(lc);
      if (pref) cublasLtMatmulPreferenceDestroy(pref);
    }
  } cleanup{op, la, lb, lc, pref};
  // column-major view: C^T [n, rows] = op(Wt as k x n, transposed) * (X as k x rows)
  const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
  const std::size_t wsBytes = kLtWs;
  bool ok = cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32I, CUDA_R_32I) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof(tA)) ==
                CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof(tB)) ==
                CUBLAS_STATUS_SUCCESS &&
            cublasLtMatrixLayoutCreate(&la, CUDA_R_8I, static_cast<uint64_t>(k), static_cast<uint64_t>(n),
                                       k) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatrixLayoutCreate(&lb, CUDA_R_8I, static_cast<uint64_t>(k), static_cast<uint64_t>(rows),
                                       k) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatrixLayoutCreate(&lc, CUDA_R_32I, static_cast<uint64_t>(n), static_cast<uint64_t>(rows),
                                       n) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes,
                                                 sizeof(wsBytes)) == CUBLAS_STATUS_SUCCESS;
  if (!ok) return false;
  cublasLtMatmulHeuristicResult_t res{};
  int found = 0;
  if (cublasLtMatmulAlgoGetHeuristic(h, op, la, lb, lc, lc, pref, 1, &res, &found) != CUBLAS_STATUS_SUCCESS ||
      found == 0)
    return false;
  const int32_t alpha = 1, beta = 0;
  return cublasLtMatmul(h, op, &alpha, wt, la, x, lb, &beta, y, lc, y, lc, &res.algo, ws, wsBytes, s) ==
         CUBLAS_STATUS_SUCCESS;
}

class MatMulIntegerKernel final : public Kernel {
 public:
  explicit MatMulIntegerKernel(const ir::Node&) {}

  static bool supports(const ir::Node& n, std::string* why) {
    for (int i = 0; i < 2; ++i) {
      const DataType t = n.inputs[static_cast<size_t>(i)]->dtype;
      if (t != DataType::kINT8 && t != DataType::kUINT8) {
        if (why) *why = std::string("MatMulInteger takes int8 / uint8, not ") + dataTypeName(t);
        return false;
      }
    }
    return true;
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const Lt p = ltPlan(in[0], in[1], out[0]);
    if (!p.use) return 0;
    return align256(static_cast<std::size_t>(p.n * p.k)) + align256(shiftedBytes(in[0], p)) +
           align256(static_cast<std::size_t>(p.n) * 4) + align256(static_cast<std::size_t>(p.rows) * 4) +
           kLtWs;
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* za = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* zb = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (y.dtype != DataType::kINT32) bad("MatMulInteger", "the output must be int32");
    IntMatMulGeo g = geometry("MatMulInteger", a, b, y, false, false, false, false);
    auto perAxis = [](const TensorView* z, int64_t extent, const char* what) {
      if (!z || z->numel == 1) return false;
      if (z->rank() != 1 || z->numel != extent)
        bad("MatMulInteger", std::string(what) + " has the wrong shape");
      return true;
    };
    g.zaPerRow = perAxis(za, g.m, "a_zero_point");
    g.zbPerCol = perAxis(zb, g.n, "b_zero_point");
    if (za && za->dtype != a.dtype) bad("MatMulInteger", "a_zero_point must have A's type");
    if (zb && zb->dtype != b.dtype) bad("MatMulInteger", "b_zero_point must have B's type");
    if (y.numel == 0) return;
    const void* zap = za ? za->data : nullptr;
    const void* zbp = zb ? zb->data : nullptr;
    cudaStream_t s = streamOf(ctx);
    const Lt p = ltPlan(a, b, y);
    if (p.use && ctx.workspaceBytes >= workspaceSize(ctx.inputs, ctx.outputs) && runLt(ctx, p, g.m, zap, zbp))
      return;
    dispatch8(a.dtype, b.dtype, [&](auto ta, auto tb) {
      launchTiled<decltype(ta), decltype(tb), int32_t>(g, a.data, b.data, y.data, zap, zbp, s);
    });
  }

 private:
  struct Lt {
    bool use{false};
    int64_t rows{0}, n{0}, k{0};  // A's batch folded into rows
  };

  //! The int8 copy of A: uint8 A only (int8 A is used in place).
  static std::size_t shiftedBytes(const TensorView& a, const Lt& p) {
    return a.dtype == DataType::kUINT8 ? static_cast<std::size_t>(p.rows * p.k) : 0;
  }

  template <class F>
  static void dispatch8(DataType ta, DataType tb, F&& f) {
    auto withB = [&](auto a) {
      if (tb == DataType::kINT8)
        f(a, int8_t{});
      else
        f(a, uint8_t{});
    };
    if (ta == DataType::kINT8)
      withB(int8_t{});
    else
      withB(uint8_t{});
  }

  //! Whether the cuBLASLt path applies: A of rank >= 2 (its batch folds into rows), B 2-D, K and N
  //! multiples of 4 (cuBLASLt's int8 layout rules), K < 65536 (the int32 accumulation cannot overflow).
  static Lt ltPlan(const TensorView& a, const TensorView& b, const TensorView& y) {
    Lt p;
    if (a.rank() < 2 || b.rank() != 2 || y.numel == 0) return p;
    p.k = a.dim(a.rank() - 1);
    p.n = b.dim(1);
    if (b.dim(0) != p.k || p.k <= 0 || p.n <= 0 || p.k % 4 || p.n % 4 || p.k >= 65536) return p;
    p.rows = a.numel / p.k;
    if (p.rows <= 0 || p.rows > INT32_MAX || p.n > INT32_MAX) return p;
    p.use = true;
    return p;
  }

  bool runLt(const KernelContext& ctx, const Lt& p, int64_t M, const void* za, const void* zb) const {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    cudaStream_t s = streamOf(ctx);
    auto* base = static_cast<uint8_t*>(ctx.workspace);
    auto* wt = reinterpret_cast<int8_t*>(base);
    base += align256(static_cast<std::size_t>(p.n * p.k));
    auto* a8 = reinterpret_cast<int8_t*>(base);
    base += align256(shiftedBytes(a, p));
    auto* colB = reinterpret_cast<int32_t*>(base);
    base += align256(static_cast<std::size_t>(p.n) * 4);
    auto* rowA = reinterpret_cast<int32_t*>(base);
    base += align256(static_cast<std::size_t>(p.rows) * 4);
    void* ltWs = base;
    const int shiftA = a.dtype == DataType::kUINT8 ? 128 : 0, shiftB = b.dtype == DataType::kUINT8 ? 128 : 0;
    const int64_t kn = p.k * p.n, ak = p.rows * p.k;
    if (b.dtype == DataType::kINT8)
      transposeTo8<int8_t>
          <<<blocksFor(kn, kThreads), kThreads, 0, s>>>(static_cast<const int8_t*>(b.data), wt, p.k, p.n, 0);
    else
      transposeTo8<uint8_t><<<blocksFor(kn, kThreads), kThreads, 0, s>>>(static_cast<const uint8_t*>(b.data),
                                                                         wt, p.k, p.n, 128);
    const int8_t* x = static_cast<const int8_t*>(a.data);
    if (shiftA) {
      shiftTo8<<<blocksFor(ak, kThreads), kThreads, 0, s>>>(static_cast<const uint8_t*>(a.data), a8, ak);
      x = a8;
    }
    rowSums8<<<blocksFor(p.n * 32, kThreads), kThreads, 0, s>>>(wt, colB, p.n, p.k);
    rowSums8<<<blocksFor(p.rows * 32, kThreads), kThreads, 0, s>>>(x, rowA, p.rows, p.k);
    checkLaunch("MatMulInteger operand preparation");
    int32_t* y = static_cast<int32_t*>(ctx.outputs[0].data);
    if (!ltGemmInt8(wt, x, y, p.rows, p.n, p.k, ltWs, s)) return false;
    const TensorView* zaV = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* zbV = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const bool zaRow = zaV && zaV->numel > 1, zbCol = zbV && zbV->numel > 1;
    dispatch8(a.dtype, b.dtype, [&](auto ta, auto tb) {
      using TA = decltype(ta);
      using TB = decltype(tb);
      zeroPointCorrection<TA, TB><<<blocksFor(p.rows * p.n, kThreads), kThreads, 0, s>>>(
          y, rowA, colB, p.rows, M, p.n, p.k, static_cast<const TA*>(za), zaRow, static_cast<const TB*>(zb),
          zbCol, shiftA, shiftB);
    });
    checkLaunch("MatMulInteger zero points");
    return true;
  }
};

}  // namespace

void registerIntMatMulKernels(KernelRegistry& reg) {
  reg.add("MatMul", nodeTactic<IntMatMulKernel>("cuda_int", &IntMatMulKernel::supports));
  reg.add("MatMulInteger", nodeTactic<MatMulIntegerKernel>("cuda", &MatMulIntegerKernel::supports));
}

}  // namespace kiln::gpu
