// "gemm" tactics: MatMul, Gemm and Conv (as im2col + GEMM, 1x1 convolutions without im2col) on the packed
// SGEMM. float32 only; the reference kernels stay the oracle (tests/ops/gemm_tactics_test.cpp). The kiln
// epilogue (MatMul bias, Conv bias + residual Z, kiln_act) runs inside sgemm on each finished block of C
// (fast/activation.h). With a thread pool in the KernelContext, sgemm splits C over the threads; im2col
// and batched products are split too.
#include <algorithm>
#include <cstring>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/gemm/sgemm.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/large_alloc.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

namespace {

using nn::badData;

std::size_t alignUp(std::size_t n) { return (n + 63) / 64 * 64; }

ir::FusedActivation activationOf(const ir::Node& node) {
  try {
    return ir::fusedActivationOf(node.attrs);
  } catch (const Error& e) {
    nn::unsupported(node, e.message());
  }
}

//! The sgemm epilogue of a product whose rows share `rowBias` (Conv: per output channel) or whose columns
//! share `colBias` (MatMul), plus a residual z laid out like C and an activation.
struct GemmEpi {
  const float* rowBias{nullptr};
  const float* colBias{nullptr};
  const float* z{nullptr};
  int64_t ldz{0};
  ir::FusedActivation act;

  bool needed() const { return rowBias || colBias || z || !act.none(); }
  static void apply(const void* user, float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const GemmEpi& e = *static_cast<const GemmEpi*>(user);
    fast::RowEpilogue re;
    re.act = e.act;
    for (int64_t i = i0; i < i1; ++i) {
      re.bias = e.rowBias ? e.rowBias[i] : 0.f;
      re.biasVec = e.colBias ? e.colBias + j0 : nullptr;
      re.z = e.z ? e.z + i * e.ldz + j0 : nullptr;
      float* row = C + i * ldc + j0;
      fast::epilogueRow(row, row, j1 - j0, re);
    }
  }
  SgemmEpilogue forSgemm() const { return needed() ? SgemmEpilogue{&GemmEpi::apply, this} : SgemmEpilogue{}; }
};

//! A constant 2-D float32 B (MatMul / Gemm weights) packed once into sgemm's panels at construction, so
//! that runs skip packing it (about M / (2 * 16) of the product's time otherwise: 5-25% for M = 64..200).
struct PackedB {
  LargeArray<float> buf;
  int64_t off{0}, K{0}, N{0};

  //! `value` is B as the node sees it ([K, N], or [N, K] with `trans`).
  void pack(const ir::Value* value, bool trans) {
    if (!value || !value->isConstant() || value->constant->dtype != DataType::kFLOAT || value->constant->shape.size() != 2) return;
    const int64_t r0 = value->constant->shape[0], r1 = value->constant->shape[1];
    const int64_t k = trans ? r1 : r0, n = trans ? r0 : r1;
    if (k <= 0 || n < 2 || k > sgemmMaxPackedK() || sgemmPackedBSize(k, n) > (int64_t{1} << 26)) return;
    buf = LargeArray<float>(static_cast<std::size_t>(sgemmPackedBSize(k, n) + 8));
    off = static_cast<int64_t>((32 - reinterpret_cast<uintptr_t>(buf.data()) % 32) % 32 / sizeof(float));
    const float* p = value->constant->as<float>();
    sgemmPackB(k, n, trans ? MatrixView{p, 1, r1} : MatrixView{p, r1, 1}, buf.data() + off);
    K = k, N = n;
  }
  //! The packed panels for a product of M rows with this K and N (nullptr where sgemm must pack B itself).
  const float* get(int64_t m, int64_t k, int64_t n) const {
    return !buf.empty() && m >= 2 && k == K && n == N ? buf.data() + off : nullptr;
  }
};

class MatMulGemm : public Kernel {
 public:
  explicit MatMulGemm(const ir::Node& node)
      : transA_(node.attrs.getInt("transA", 0) != 0), transB_(node.attrs.getInt("transB", 0) != 0),
        vecA_(node.attrs.getInt("vecA", 0) != 0), vecB_(node.attrs.getInt("vecB", 0) != 0), act_(activationOf(node)) {
    if (!vecB_ && node.inputs.size() >= 2) packedB_.pack(node.inputs[1], transB_);
  }

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override {
    return sgemmWorkspaceBytes();
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* bias = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const bool vA = vecA_ || a.rank() == 1, vB = vecB_ || b.rank() == 1;
    const int64_t ra = a.rank(), rb = b.rank();
    int64_t M = 1, K, aMat;
    MatrixView A{a.as<float>(), 0, 1};
    if (vA) {
      K = a.dim(ra - 1), aMat = K;
    } else {
      int64_t r0 = a.dim(ra - 2), r1 = a.dim(ra - 1);
      aMat = r0 * r1;
      if (transA_) M = r1, K = r0, A.rs = 1, A.cs = r1;
      else M = r0, K = r1, A.rs = r1, A.cs = 1;
    }
    int64_t N = 1, K2, bMat;
    MatrixView B{b.as<float>(), 1, 0};
    if (vB) {
      K2 = b.dim(rb - 1), bMat = K2;
    } else {
      int64_t r0 = b.dim(rb - 2), r1 = b.dim(rb - 1);
      bMat = r0 * r1;
      if (transB_) K2 = r1, N = r0, B.rs = 1, B.cs = r1;
      else K2 = r0, N = r1, B.rs = r1, B.cs = 1;
    }
    if (K != K2) badData("MatMul: inner dimensions do not match");
    ir::Shape aB(a.shape.begin(), a.shape.end() - (vA ? 1 : 2));
    ir::Shape bB(b.shape.begin(), b.shape.end() - (vB ? 1 : 2));
    ir::Shape batch = ir::broadcastShapes(aB, bB);
    int64_t nb = 1;
    for (int64_t d : batch) nb *= d;
    if (nb * M * N != y.numel) badData("MatMul: output shape mismatch");
    if (bias && (bias->rank() != 1 || bias->dim(0) != N)) badData("MatMul: bias must have shape [N]");
    std::vector<int64_t> sa = ir::broadcastStrides(aB, batch), sb = ir::broadcastStrides(bB, batch);
    float* Y = y.as<float>();
    int64_t prodA = 1, prodB = 1;
    for (int64_t d : aB) prodA *= d;
    for (int64_t d : bB) prodB *= d;
    GemmEpi epi;
    epi.colBias = bias ? bias->as<float>() : nullptr;
    epi.act = act_;
    const SgemmEpilogue se = epi.forSgemm();
    if (prodB == 1 && prodA == nb && !(transA_ && !vA)) {
      // B has no batch and A's rows are contiguous: one GEMM over all of A's rows (B packed once)
      MatrixView Af{A.p, K, 1};
      sgemm(nb * M, N, K, Af, B, Y, N, false, ctx.workspace, ctx.pool, &se, nullptr, vB ? nullptr : packedB_.get(nb * M, K, N));
      return;
    }
    auto one = [&](int64_t i, void* ws, ThreadPool* pool) {
      int64_t offA = 0, offB = 0, rem = i;
      for (size_t d = batch.size(); d-- > 0;) {
        int64_t c = rem % batch[d];
        rem /= batch[d];
        offA += c * sa[d];
        offB += c * sb[d];
      }
      MatrixView Ai{A.p + offA * aMat, A.rs, A.cs}, Bi{B.p + offB * bMat, B.rs, B.cs};
      sgemm(M, N, K, Ai, Bi, Y + i * M * N, N, false, ws, pool, &se, nullptr, prodB == 1 && !vB ? packedB_.get(M, K, N) : nullptr);
    };
    if (ctx.pool && nb >= 2 * ctx.pool->size() && M * N * K < (int64_t{1} << 22)) {
      // many small products (attention heads): one per task, each thread with its own packing buffers
      parallelFor(ctx.pool, nb, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) one(i, nullptr, nullptr);
      });
      return;
    }
    for (int64_t i = 0; i < nb; ++i) one(i, ctx.workspace, ctx.pool);
  }

 private:
  bool transA_, transB_, vecA_, vecB_;
  ir::FusedActivation act_;
  PackedB packedB_;
};

//! ONNX Gemm: Y = alpha * A' B' + beta * C (C broadcast to [M, N]).
class GemmGemm : public Kernel {
 public:
  explicit GemmGemm(const ir::Node& node)
      : alpha_(static_cast<float>(node.attrs.getFloat("alpha", 1.0))), beta_(static_cast<float>(node.attrs.getFloat("beta", 1.0))),
        transA_(node.attrs.getInt("transA", 0) != 0), transB_(node.attrs.getInt("transB", 0) != 0),
        act_(activationOf(node)) {
    if (node.inputs.size() >= 2) packedB_.pack(node.inputs[1], transB_);
  }

  std::size_t workspaceSize(std::span<const TensorView>, std::span<const TensorView>) const override {
    return sgemmWorkspaceBytes();
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView* c = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView& y = ctx.outputs[0];
    if (a.rank() != 2 || b.rank() != 2) badData("Gemm: A and B must be 2-D");
    const int64_t M = transA_ ? a.dim(1) : a.dim(0), K = transA_ ? a.dim(0) : a.dim(1);
    const int64_t N = transB_ ? b.dim(0) : b.dim(1), K2 = transB_ ? b.dim(1) : b.dim(0);
    if (K != K2 || y.numel != M * N) badData("Gemm: shapes do not match");
    MatrixView A{a.as<float>(), transA_ ? 1 : a.dim(1), transA_ ? a.dim(1) : 1};
    MatrixView B{b.as<float>(), transB_ ? 1 : b.dim(1), transB_ ? b.dim(1) : 1};
    float* Y = y.as<float>();
    const bool addC = c && beta_ != 0.f;
    // Y = A B + C with C a row vector [N] / [1, N] (a fused bias): all in the sgemm epilogue
    const bool cIsRow = addC && c->numel == N && (c->rank() == 1 || (c->rank() == 2 && c->dim(0) == 1));
    if (alpha_ == 1.f && (!addC || (cIsRow && beta_ == 1.f))) {
      GemmEpi epi;
      epi.colBias = addC ? c->as<float>() : nullptr;
      epi.act = act_;
      const SgemmEpilogue se = epi.forSgemm();
      sgemm(M, N, K, A, B, Y, N, false, ctx.workspace, ctx.pool, &se, nullptr, packedB_.get(M, K, N));
      return;
    }
    sgemm(M, N, K, A, B, Y, N, false, ctx.workspace, ctx.pool, nullptr, nullptr, packedB_.get(M, K, N));
    if (alpha_ != 1.f || addC) {
      std::vector<int64_t> st = addC ? ir::broadcastStrides(c->shapeVec(), ir::Shape{M, N}) : std::vector<int64_t>{0, 0};
      const float* C = addC ? c->as<float>() : nullptr;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          float v = alpha_ * Y[i * N + j];
          Y[i * N + j] = addC ? v + beta_ * C[i * st[0] + j * st[1]] : v;
        }
    }
    if (!act_.none()) {
      fast::RowEpilogue re;
      re.act = act_;
      fast::epilogueRow(Y, Y, M * N, re);
    }
  }

 private:
  float alpha_, beta_;
  bool transA_, transB_;
  ir::FusedActivation act_;
  PackedB packedB_;
};

//! Conv as GEMM per image and group: Y_g [M/g, out] = W_g [M/g, C/g * k] x col [C/g * k, out], where col is
//! the image unfolded (im2col); 1x1 convolutions with stride 1 and no padding use the image directly.
class ConvGemm : public Kernel {
 public:
  explicit ConvGemm(const ir::Node& node)
      : attrKernel_(node.attrs.getInts("kernel_shape")), group_(node.attrs.getInt("group", 1)), act_(activationOf(node)) {
    if (group_ < 1) nn::unsupported(node, "group must be >= 1");
    size_t n = node.inputs[1]->shape.size() >= 3 ? node.inputs[1]->shape.size() - 2 : attrKernel_.size();
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(n, 1));
    prepack(node);
  }

  //! Constant float32 weights of layers with few output positions (<= 1024, static): packed once per group
  //! for sgemm instead of once per run. Packing costs about what 20 output columns of the product do, so
  //! larger outputs gain little from the extra copy of the weights.
  void prepack(const ir::Node& node) {
    const ir::Value* wv = node.inputs[1];
    if (!wv || !wv->isConstant() || wv->constant->dtype != DataType::kFLOAT || wv->constant->shape.size() < 3) return;
    if (node.outputs.empty() || !node.outputs[0] || node.outputs[0]->shape.size() < 3) return;
    int64_t positions = 1;
    for (size_t i = 2; i < node.outputs[0]->shape.size(); ++i) {
      const int64_t d = node.outputs[0]->shape[i];
      if (d < 0) return;
      positions *= d;
    }
    if (positions > 1024) return;
    const ir::Shape& ws = wv->constant->shape;
    const int64_t M = ws[0];
    int64_t rows = 1;
    for (size_t i = 1; i < ws.size(); ++i) rows *= ws[i];
    if (M <= 0 || rows <= 0 || M % group_ != 0 || wv->constant->numel() != M * rows) return;
    const int64_t mpg = M / group_, per = sgemmPackedASize(mpg, rows);
    if (per * group_ > (int64_t{1} << 28)) return;
    packedW_ = LargeArray<float>(static_cast<size_t>(per * group_ + 8));
    const float* W = wv->constant->as<float>();
    for (int64_t grp = 0; grp < group_; ++grp)
      sgemmPackA(mpg, rows, MatrixView{W + grp * mpg * rows, rows, 1}, packedW_.data() + grp * per);
    packedM_ = M;
    packedRows_ = rows;
    packedPer_ = per;
  }

  nn::Geom3 geometry(const TensorView& x, const TensorView& w, const TensorView& y) const {
    if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank() || y.rank() != x.rank())
      badData("Conv: X and W must have the same rank in 3..5");
    return nn::forwardGeom(x.shape.subspan(2), nn::kernelFromW(w, attrKernel_), window_, y.shape.subspan(2));
  }

  static bool direct(const nn::Geom3& g) {
    for (int i = 0; i < 3; ++i)
      if (g.k[i] != 1 || g.s[i] != 1 || g.pb[i] != 0 || g.pe[i] != 0) return false;
    return true;
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    nn::Geom3 g = geometry(in[0], in[1], out[0]);
    // overflow-checked: a zero batch can hide huge spatial extents (untrusted plans)
    std::size_t col = direct(g) ? 0 : static_cast<std::size_t>(nn::checkedMul(nn::checkedMul(nn::checkedMul(in[1].dim(1), g.kSize()), g.outSize()), sizeof(float)));
    if (packedIm2col(g, in[1].dim(0) / std::max<int64_t>(group_, 1), in[1].dim(1) * g.kSize()))
      col = std::max(col, static_cast<std::size_t>(packedFloats(g, in[1].dim(1) * g.kSize())) * sizeof(float));
    if (tapwise(g)) {  // a gathered input block and a product block per tap
      const int64_t mpg = group_ > 0 ? in[1].dim(0) / group_ : 0;
      col = std::max(col, static_cast<std::size_t>(nn::checkedMul(nn::checkedMul(in[1].dim(1) + mpg, g.outSize()), sizeof(float))));
    }
    return alignUp(col) + sgemmWorkspaceBytes();
  }

  //! Floats of the packed column matrix (rows x outSz in sgemm's B panels) plus one row buffer per thread.
  static int64_t packedFloats(const nn::Geom3& g, int64_t rows) {
    const int64_t outSz = g.outSize();
    return rows * ((outSz + 15) / 16 * 16) + 4 * (outSz + 16);
  }
  //! im2col into packed panels: for products sgemm does not special-case, whose packed B fits in a few MB.
  static bool packedIm2col(const nn::Geom3& g, int64_t mpg, int64_t rows) {
    if (direct(g) || tapwise(g) || mpg < 2 || g.outSize() < 16 || rows > sgemmMaxPackedK()) return false;
    return rows * ((g.outSize() + 15) / 16 * 16) <= (int64_t{1} << 20);
  }

  //! Outputs [o0, o1) along axis a whose tap kk reads inside the input.
  static std::pair<int64_t, int64_t> tapRange(const nn::Geom3& g, int a, int64_t kk) {
    const int64_t off = kk * g.d[a] - g.pb[a], s = g.s[a];
    const int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
    const int64_t hi = g.in[a] - off <= 0 ? 0 : (g.in[a] - off + s - 1) / s;
    return {std::min(lo, g.out[a]), std::clamp(hi, std::min(lo, g.out[a]), g.out[a])};
  }

  //! 1-D/2-D convolutions whose taps mostly read padding (dilation about the size of the image, as in
  //! DeepLab's ASPP): one product per tap over only the outputs it reaches, instead of im2col over all.
  static bool tapwise(const nn::Geom3& g) {
    if (g.k[0] != 1 || g.in[0] != 1 || g.out[0] != 1 || g.kSize() < 2) return false;
    int64_t used = 0;
    for (int64_t ky = 0; ky < g.k[1]; ++ky)
      for (int64_t kx = 0; kx < g.k[2]; ++kx) {
        auto [y0, y1] = tapRange(g, 1, ky);
        auto [x0, x1] = tapRange(g, 2, kx);
        used += (y1 - y0) * (x1 - x0);
      }
    return used * 2 <= g.kSize() * g.outSize();
  }

  //! Y_g = sum over taps of W_g[:, :, tap] x X_g shifted (the outputs the tap reaches); then the epilogue.
  void runTapwise(const nn::Geom3& g, const float* xg, const float* wg, int64_t cpg, int64_t mpg, float* yg,
                  float* buf, float* prod, void* gemmWs, ThreadPool* pool, const GemmEpi& epi) const {
    const int64_t OH = g.out[1], OW = g.out[2], H = g.in[1], Wd = g.in[2], outSz = g.outSize(), kSz = g.kSize();
    const int64_t rows = cpg * kSz;
    std::fill(yg, yg + mpg * outSz, 0.f);
    for (int64_t ky = 0; ky < g.k[1]; ++ky)
      for (int64_t kx = 0; kx < g.k[2]; ++kx) {
        // plain locals, not structured bindings: the lambda below captures them (clang 14 refuses bindings)
        const auto ry = tapRange(g, 1, ky), rx = tapRange(g, 2, kx);
        const int64_t y0 = ry.first, y1 = ry.second, x0 = rx.first, x1 = rx.second;
        const int64_t rh = y1 - y0, rw = x1 - x0, n = rh * rw;
        if (n == 0) continue;
        const int64_t offY = ky * g.d[1] - g.pb[1], offX = kx * g.d[2] - g.pb[2];
        const bool identity = rh == OH && rw == OW && OH == H && OW == Wd && offY == 0 && offX == 0 &&
                              g.s[1] == 1 && g.s[2] == 1;
        const float* src = xg;
        if (!identity) {
          parallelFor(n * cpg >= (1 << 15) ? pool : nullptr, cpg, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c)
              for (int64_t oy = y0; oy < y1; ++oy) {
                const float* xr = xg + c * H * Wd + (oy * g.s[1] + offY) * Wd + offX;
                float* d = buf + c * n + (oy - y0) * rw;
                for (int64_t ox = x0; ox < x1; ++ox) d[ox - x0] = xr[ox * g.s[2]];
              }
          });
          src = buf;
        }
        MatrixView Wt{wg + ky * g.k[2] + kx, rows, kSz};
        if (rh == OH && rw == OW) {
          sgemm(mpg, n, cpg, Wt, MatrixView{src, n, 1}, yg, outSz, true, gemmWs, pool);
          continue;
        }
        sgemm(mpg, n, cpg, Wt, MatrixView{src, n, 1}, prod, n, false, gemmWs, pool);
        for (int64_t m = 0; m < mpg; ++m)
          for (int64_t oy = y0; oy < y1; ++oy) {
            float* yr = yg + m * outSz + oy * OW + x0;
            const float* pr = prod + m * n + (oy - y0) * rw;
            for (int64_t i = 0; i < rw; ++i) yr[i] += pr[i];
          }
      }
    if (epi.needed()) GemmEpi::apply(&epi, yg, outSz, 0, mpg, 0, outSz);
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& w = ctx.inputs[1];
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    nn::Geom3 g = geometry(x, w, y);
    if (z && z->shapeVec() != y.shapeVec()) badData("Conv: the residual Z must have the output's shape");
    const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), cpg = w.dim(1);
    if (cpg * group_ != C || M % group_ != 0) badData("Conv: channels do not match the weights and group");
    if (y.dim(0) != N || y.dim(1) != M) badData("Conv: output shape mismatch");
    if (b && (b->rank() != 1 || b->dim(0) != M)) badData("Conv: bias must have shape [M]");
    const int64_t mpg = M / group_, kSz = g.kSize(), inSz = g.inSize(), outSz = g.outSize(), rows = cpg * kSz;
    const bool isDirect = direct(g), isTapwise = !isDirect && tapwise(g), isPacked = packedIm2col(g, mpg, rows);
    float* col = static_cast<float*>(ctx.workspace);
    void* gemmWs = static_cast<char*>(ctx.workspace) +
                   (isDirect ? 0 : alignUp(static_cast<std::size_t>(std::max(rows * outSz, isPacked ? packedFloats(g, rows) : 0)) * sizeof(float)));
    const float* X = x.as<float>();
    const float* W = w.as<float>();
    float* Y = y.as<float>();
    GemmEpi epi;
    epi.act = act_;
    epi.ldz = outSz;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t grp = 0; grp < group_; ++grp) {
        const float* xg = X + (n * C + grp * cpg) * inSz;
        if (isTapwise) {
          epi.rowBias = b ? b->as<float>() + grp * mpg : nullptr;
          epi.z = z ? z->as<float>() + (n * M + grp * mpg) * outSz : nullptr;
          runTapwise(g, xg, W + grp * mpg * rows, cpg, mpg, Y + (n * M + grp * mpg) * outSz, col, col + cpg * outSz,
                     static_cast<char*>(ctx.workspace) + alignUp(static_cast<std::size_t>((cpg + mpg) * outSz) * sizeof(float)),
                     ctx.pool, epi);
          continue;
        }
        if (isPacked) {
          // rows of the column matrix straight into sgemm's panels (each task with its own row buffer)
          const int64_t tasks = ctx.pool ? std::min<int64_t>(4, ctx.pool->size()) : 1;
          const int64_t bodyFloats = rows * ((outSz + 15) / 16 * 16);
          parallelFor(tasks > 1 ? ctx.pool : nullptr, tasks, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t)
              im2colPacked(xg, g, rows, rows * t / tasks, rows * (t + 1) / tasks, col, col + bodyFloats + t * (outSz + 16));
          });
          epi.rowBias = b ? b->as<float>() + grp * mpg : nullptr;
          epi.z = z ? z->as<float>() + (n * M + grp * mpg) * outSz : nullptr;
          const SgemmEpilogue se = epi.forSgemm();
          const float* pre = packedM_ == M && packedRows_ == rows ? packedW_.data() + grp * packedPer_ : nullptr;
          sgemm(mpg, outSz, rows, MatrixView{W + grp * mpg * rows, rows, 1}, MatrixView{nullptr, 0, 0},
                Y + (n * M + grp * mpg) * outSz, outSz, false, gemmWs, ctx.pool, &se, pre, col);
          continue;
        }
        if (!isDirect)
          parallelFor(ctx.pool, cpg, [&](int64_t c0, int64_t c1) {
            im2col(xg + c0 * inSz, c1 - c0, g, col + c0 * kSz * outSz);
          });
        MatrixView Wm{W + grp * mpg * rows, rows, 1};
        MatrixView Cm{isDirect ? xg : col, outSz, 1};
        float* yg = Y + (n * M + grp * mpg) * outSz;
        epi.rowBias = b ? b->as<float>() + grp * mpg : nullptr;
        epi.z = z ? z->as<float>() + (n * M + grp * mpg) * outSz : nullptr;
        const SgemmEpilogue se = epi.forSgemm();
        const float* pre = packedM_ == M && packedRows_ == rows ? packedW_.data() + grp * packedPer_ : nullptr;
        sgemm(mpg, outSz, rows, Wm, Cm, yg, outSz, false, gemmWs, ctx.pool, &se, pre);
      }
  }

 private:
  static void im2col(const float* x, int64_t channels, const nn::Geom3& g, float* col) {
    const int64_t outSz = g.outSize();
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
        for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
          for (int64_t k2 = 0; k2 < g.k[2]; ++k2)
            im2colRow(x + c * g.inSize(), g, k0, k1, k2, col + ((c * g.k[0] + k0) * g.k[1] + k1) * g.k[2] * outSz + k2 * outSz);
  }

  //! im2col straight into sgemm's packed panels of B (rows [r0, r1) of the rows x outSz matrix), through
  //! one row buffer `tmp` (outSz floats): saves writing the whole column matrix and packing it again.
  static void im2colPacked(const float* x, const nn::Geom3& g, int64_t rows, int64_t r0, int64_t r1, float* packed, float* tmp) {
    const int64_t outSz = g.outSize(), kSz = g.kSize(), full = outSz / 16 * 16;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / kSz, t = r % kSz;
      const int64_t k2 = t % g.k[2], k1 = (t / g.k[2]) % g.k[1], k0 = t / (g.k[2] * g.k[1]);
      im2colRow(x + c * g.inSize(), g, k0, k1, k2, tmp);
      for (int64_t j = 0; j < full; j += 16) std::memcpy(packed + sgemmPackedBOffset(rows, r, j), tmp + j, 16 * sizeof(float));
      if (full < outSz) {
        float* d = packed + sgemmPackedBOffset(rows, r, full);
        std::memcpy(d, tmp + full, static_cast<size_t>(outSz - full) * sizeof(float));
        std::fill(d + (outSz - full), d + 16, 0.f);
      }
    }
  }

  //! Row (k0, k1, k2) of channel plane xc's column matrix: the input value each output position reads with
  //! that kernel tap (0 in the padding), outSz floats.
  static void im2colRow(const float* xc, const nn::Geom3& g, int64_t k0, int64_t k1, int64_t k2, float* dst) {
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
      const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
        float* d = dst + (o0 * g.out[1] + o1) * g.out[2];
        if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
          std::fill(d, d + g.out[2], 0.f);
          continue;
        }
        const float* src = xc + (i0 * g.in[1] + i1) * g.in[2];
        // o2 in [lo, hi) reads inside the row; the rest is padding
        const int64_t off = k2 * g.d[2] - g.pb[2], s2 = g.s[2];
        int64_t lo = off >= 0 ? 0 : (-off + s2 - 1) / s2;
        int64_t hi = g.in[2] - off <= 0 ? 0 : (g.in[2] - off + s2 - 1) / s2;
        lo = std::min(lo, g.out[2]);
        hi = std::clamp(hi, lo, g.out[2]);
        std::fill(d, d + lo, 0.f);
        if (s2 == 1) {
          std::memcpy(d + lo, src + lo + off, static_cast<size_t>(hi - lo) * sizeof(float));
        } else {
          int64_t o2 = lo;
#if defined(__SSE2__)
          if (s2 == 2)  // stride 2 (stems, downsampling): the even floats of 8, while all 8 lie in the row
            for (; o2 + 4 <= hi && o2 * 2 + off + 8 <= g.in[2]; o2 += 4) {
              const float* p = src + o2 * 2 + off;
              _mm_storeu_ps(d + o2, _mm_shuffle_ps(_mm_loadu_ps(p), _mm_loadu_ps(p + 4), _MM_SHUFFLE(2, 0, 2, 0)));
            }
#endif
          for (; o2 < hi; ++o2) d[o2] = src[o2 * s2 + off];
        }
        std::fill(d + hi, d + g.out[2], 0.f);
      }
    }
  }

  std::vector<int64_t> attrKernel_;
  int64_t group_;
  ir::nn::Window window_;
  ir::FusedActivation act_;
  LargeArray<float> packedW_;  // per group sgemmPackedASize(M / group, rows) floats (empty: pack per run)
  int64_t packedM_{-1}, packedRows_{-1}, packedPer_{0};
};

template <class K>
Tactic gemmTactic() {
  Tactic t;
  t.name = "gemm";
  t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<K>(node); };
  t.supports = allFloat32;
  return t;
}

}  // namespace

void registerGemmTactics(KernelRegistry& reg) {
  reg.add("MatMul", gemmTactic<MatMulGemm>());
  reg.add("Gemm", gemmTactic<GemmGemm>());
  reg.add("Conv", gemmTactic<ConvGemm>());
}

}  // namespace kiln::cpu::fast
