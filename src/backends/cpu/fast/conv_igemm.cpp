// "igemm" tactic of Conv: 2-D, group 1, float32 convolutions with constant weights as an implicit GEMM
// Y [M, OH*OW] = W [M, C*kh*kw] x X~ [C*kh*kw, OH*OW] whose micro-kernel (conv_igemm.h) reads the columns
// of X~ straight from the image through a table of row offsets: no im2col matrix, no packed B panels.
//   - 1x1, stride 1, no padding: X~ is the image itself (row c of X~ = plane c); read in place.
//   - otherwise the image is copied once per run into zero-padded "phase" planes, one per (row, column)
//     phase of the stride that some tap reads: P[ry][rx][c][y][x] = Xpad[c][sh*y + ry][sw*x + rx]. A tap
//     (ky, kx) of output row oy then reads 16 consecutive floats of one phase plane, so strided and dilated
//     convolutions (stems, downsampling) take the same kernel. Output positions are tiled per output row
//     (16 at a time, the last tile of a row narrower).
// The weights are packed once when the kernel is created (6-row tiles, k-major, per block of <= 256 of K).
// Blocking: a group of 16 tiles of output positions x a block of 120 output channels per K block (the
// weight block stays in L2, each tile's input rows in L1 across the 20 row tiles). Groups of tiles and
// blocks of output channels are split over the thread pool. Bias, residual Z and kiln_act run on each
// finished block (fast/activation.h). The builder times it against "gemm" and "winograd".
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/conv_igemm.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/cpu_features.h"
#include "core/large_alloc.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

namespace igemm {

void microKernelPortable(int64_t kc, const float* a, const float* src, const int64_t* off, float* c, int64_t ldc,
                         int64_t mr, int64_t nr, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = src + off[k];
    const float* ak = a + k * kMR;
    for (int64_t r = 0; r < kMR; ++r)
      for (int64_t j = 0; j < kNR; ++j) acc[r][j] += ak[r] * b[j];
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.f) + acc[r][j];
}

void microKernelTPortable(int64_t kc, const float* b, const float* src, const int64_t* off, const int64_t* pos,
                          float* tile, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t r = 0; r < kMR; ++r) {
      const float a = src[off[k] + pos[r]];
      for (int64_t j = 0; j < kNR; ++j) acc[r][j] += a * b[k * kNR + j];
    }
  for (int64_t r = 0; r < kMR; ++r)
    for (int64_t j = 0; j < kNR; ++j) tile[r * kNR + j] = (accumulate ? tile[r * kNR + j] : 0.f) + acc[r][j];
}

namespace {
std::atomic<bool> forcedPortable{false};
}  // namespace

void forcePortableForTesting(bool portable) { forcedPortable.store(portable); }

}  // namespace igemm

ir::FusedActivation convActivation(const ir::Node& node) {
  try {
    return ir::fusedActivationOf(node.attrs);
  } catch (const Error& e) {
    nn::unsupported(node, e.message());
  }
}

ConvExtras convExtras(const KernelContext& ctx, int64_t C, int64_t M, const char* op) {
  const TensorView& x = ctx.inputs[0];
  const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
  const TensorView* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
  const TensorView& y = ctx.outputs[0];
  if (x.dim(1) != C || y.dim(0) != x.dim(0) || y.dim(1) != M)
    nn::badData(std::string("Conv (") + op + "): channels do not match the weights");
  if (b && (b->rank() != 1 || b->dim(0) != M)) nn::badData("Conv: bias must have shape [M]");
  if (z && z->shapeVec() != y.shapeVec()) nn::badData("Conv: the residual Z must have the output's shape");
  return ConvExtras{b ? b->as<float>() : nullptr, z ? z->as<float>() : nullptr};
}

namespace {

using nn::badData;
using igemm::kMR;
using igemm::kNR;

constexpr int64_t kKC = 256;        // most of K per block
constexpr int64_t kMC = 120;        // output channels per block (multiple of kMR)
constexpr int64_t kGroupTiles = 16; // tiles of output positions per group
constexpr int64_t kSlack = 32;      // floats after the phase planes: the last tile of a row reads past it

std::size_t alignUp(std::size_t n) { return (n + 63) / 64 * 64; }

bool supportsIgemm(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  auto no = [&](const char* r) {
    if (why) *why = r;
    return false;
  };
  static const bool disabled = std::getenv("KILN_NO_IGEMM") != nullptr;  // A/B timings (bench/)
  if (disabled) return no("disabled by KILN_NO_IGEMM");
  if (node.inputs.size() < 2 || !node.inputs[0] || !node.inputs[1]) return no("needs X and W");
  const ir::Value* w = node.inputs[1];
  if (!w->isConstant() || w->shape.size() != 4) return no("constant 2-D (4-D) weights only");
  for (int64_t d : w->shape)
    if (d <= 0) return no("empty weights");
  if (node.attrs.getInt("group", 1) != 1) return no("group 1 only");
  if (node.inputs[0]->shape.size() != 4) return no("4-D input only");
  return true;
}

//! Where the micro-kernel reads the input of one image: the image itself (1x1, stride 1, no padding) or
//! the phase planes.
struct Layout {
  bool inPlace{false};
  int64_t rows{1}, cols{1};                 // output positions as rows x cols (in place: 1 x OH*OW)
  int64_t sh{1}, sw{1}, Hq{0}, Wq{0};       // phase planes: Hq x Wq per channel
  int64_t slots{0};                         // phase planes in use
  std::vector<int64_t> rowSlot, colSlot;    // phase -> index among those in use (-1: none reads it)
  int64_t planeFloats() const { return slots > 0 ? slots * cPlane : 0; }
  int64_t cPlane{0};                        // floats of one phase of all channels (C * Hq * Wq)
};

class IgemmConv : public Kernel {
 public:
  //! `transposed`: tiles of 6 output positions x 16 output channels over all of K (small outputs: 7x7)
  IgemmConv(const ir::Node& node, bool transposed) : transposed_(transposed) {
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(2, 1));
    act_ = convActivation(node);
    const ir::TensorData& wd = *node.inputs[1]->constant;
    M_ = wd.shape[0];
    C_ = wd.shape[1];
    kh_ = wd.shape[2];
    kw_ = wd.shape[3];
    K_ = C_ * kh_ * kw_;
    if (transposed_) {  // panels of 16 output channels, K x 16 each (zero-padded)
      const float* W = wd.as<float>();
      const int64_t panels = (M_ + kNR - 1) / kNR;
      packed_ = LargeArray<float>(static_cast<size_t>(panels * K_ * kNR));
      for (int64_t m = 0; m < M_; ++m)
        for (int64_t k = 0; k < K_; ++k) packed_[static_cast<size_t>(((m / kNR) * K_ + k) * kNR + m % kNR)] = W[m * K_ + k];
      return;
    }
    const int64_t blocks = (K_ + kKC - 1) / kKC;
    kc_ = (K_ + blocks - 1) / blocks;  // even blocks of K
    Mp_ = (M_ + kMR - 1) / kMR * kMR;
    packed_ = LargeArray<float>(static_cast<size_t>(Mp_ * K_));
    const float* W = wd.as<float>();
    for (int64_t k0 = 0; k0 < K_; k0 += kc_) {
      const int64_t kc = std::min(kc_, K_ - k0);
      float* blk = packed_.data() + k0 * Mp_;
      for (int64_t m = 0; m < M_; ++m)
        for (int64_t k = 0; k < kc; ++k) blk[(m / kMR) * kc * kMR + k * kMR + m % kMR] = W[m * K_ + k0 + k];
    }
  }

  nn::Geom3 geometry(const TensorView& x, const TensorView& y) const {
    if (x.rank() != 4 || y.rank() != 4) badData("Conv (igemm): X and Y must be 4-D");
    return nn::forwardGeom(x.shape.subspan(2), {kh_, kw_}, window_, y.shape.subspan(2));
  }

  Layout layoutOf(const nn::Geom3& g) const {
    Layout L;
    const int64_t OH = g.out[1], OW = g.out[2];
    if (kh_ == 1 && kw_ == 1 && g.s[1] == 1 && g.s[2] == 1 && g.pb[1] == 0 && g.pb[2] == 0 && g.pe[1] == 0 &&
        g.pe[2] == 0 && OH == g.in[1] && OW == g.in[2]) {
      L.inPlace = true;
      L.rows = 1;
      L.cols = nn::checkedMul(OH, OW);
      return L;
    }
    L.rows = OH;
    L.cols = OW;
    L.sh = g.s[1];
    L.sw = g.s[2];
    const int64_t Hp = (OH - 1) * g.s[1] + (kh_ - 1) * g.d[1] + 1, Wp = (OW - 1) * g.s[2] + (kw_ - 1) * g.d[2] + 1;
    L.Hq = (Hp + L.sh - 1) / L.sh;
    L.Wq = (Wp + L.sw - 1) / L.sw;
    std::vector<char> rowUsed(static_cast<size_t>(L.sh), 0), colUsed(static_cast<size_t>(L.sw), 0);
    for (int64_t ky = 0; ky < kh_; ++ky) rowUsed[static_cast<size_t>(ky * g.d[1] % L.sh)] = 1;
    for (int64_t kx = 0; kx < kw_; ++kx) colUsed[static_cast<size_t>(kx * g.d[2] % L.sw)] = 1;
    int64_t nr = 0, nc = 0;
    L.rowSlot.assign(static_cast<size_t>(L.sh), -1);
    L.colSlot.assign(static_cast<size_t>(L.sw), -1);
    for (int64_t i = 0; i < L.sh; ++i)
      if (rowUsed[static_cast<size_t>(i)]) L.rowSlot[static_cast<size_t>(i)] = nr++;
    for (int64_t i = 0; i < L.sw; ++i)
      if (colUsed[static_cast<size_t>(i)]) L.colSlot[static_cast<size_t>(i)] = nc++;
    for (auto& s : L.rowSlot)
      if (s >= 0) s *= nc;  // slot = rowSlot + colSlot
    L.slots = nr * nc;
    L.cPlane = nn::checkedMul(nn::checkedMul(C_, L.Hq), L.Wq);
    if (L.Wq == OW && kh_ == 1 && kw_ == 1) {  // 1x1 strided: the plane holds just the outputs' inputs,
      L.rows = 1;                            // in order; tile them as one row (no narrow tile per row)
      L.cols = nn::checkedMul(OH, OW);
    }
    return L;
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const nn::Geom3 g = geometry(in[0], out[0]);
    const Layout L = layoutOf(g);
    const int64_t src = L.inPlace ? 0 : nn::checkedMul(L.slots, L.cPlane) + kSlack;
    return alignUp(static_cast<std::size_t>(src) * sizeof(float)) +
           alignUp(static_cast<std::size_t>(2 * K_) * sizeof(int64_t)) +
           alignUp(static_cast<std::size_t>(nn::checkedMul(K_, kNR)) * sizeof(float));
  }

  //! Phase planes of one image (zero where the window reads padding), channels [c0, c1).
  void fillPhases(const float* X, const nn::Geom3& g, const Layout& L, float* P, int64_t c0, int64_t c1) const {
    const int64_t H = g.in[1], W = g.in[2], pt = g.pb[1], pl = g.pb[2];
    for (int64_t ry = 0; ry < L.sh; ++ry) {
      if (L.rowSlot[static_cast<size_t>(ry)] < 0) continue;
      for (int64_t rx = 0; rx < L.sw; ++rx) {
        if (L.colSlot[static_cast<size_t>(rx)] < 0) continue;
        float* slot = P + (L.rowSlot[static_cast<size_t>(ry)] + L.colSlot[static_cast<size_t>(rx)]) * L.cPlane;
        // columns x of the plane that read inside the image: sw * x + rx - pl in [0, W)
        const int64_t xlo = std::min(L.Wq, std::max<int64_t>(0, (pl - rx + L.sw - 1) / L.sw));
        const int64_t xhi = std::clamp<int64_t>(W + pl - rx <= 0 ? 0 : (W + pl - rx + L.sw - 1) / L.sw, xlo, L.Wq);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t y = 0; y < L.Hq; ++y) {
            float* d = slot + (c * L.Hq + y) * L.Wq;
            const int64_t iy = L.sh * y + ry - pt;
            if (iy < 0 || iy >= H) {
              std::fill(d, d + L.Wq, 0.f);
              continue;
            }
            const float* s = X + (c * H + iy) * W + rx - pl;
            std::fill(d, d + xlo, 0.f);
            if (L.sw == 1)
              std::memcpy(d + xlo, s + xlo, static_cast<size_t>(xhi - xlo) * sizeof(float));
            else
              for (int64_t x = xlo; x < xhi; ++x) d[x] = s[L.sw * x];
            std::fill(d + xhi, d + L.Wq, 0.f);
          }
      }
    }
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const nn::Geom3 g = geometry(x, y);
    const int64_t N = x.dim(0);
    const ConvExtras ex = convExtras(ctx, C_, M_, transposed_ ? "igemm_t" : "igemm");
    const Layout L = layoutOf(g);
    const int64_t inSz = g.inSize(), outSz = g.outSize();
    if (N == 0 || outSz == 0) return;
    char* ws = static_cast<char*>(ctx.workspace);
    float* P = reinterpret_cast<float*>(ws);
    ws += alignUp(static_cast<std::size_t>(L.inPlace ? 0 : L.slots * L.cPlane + kSlack) * sizeof(float));
    int64_t* off = reinterpret_cast<int64_t*>(ws);
    int64_t* tailOff = off + K_;
    ws += alignUp(static_cast<std::size_t>(2 * K_) * sizeof(int64_t));
    float* tailBuf = reinterpret_cast<float*>(ws);
    for (int64_t k = 0; k < K_; ++k) {
      tailOff[k] = k * kNR;
      if (L.inPlace) {
        off[k] = k * outSz;
        continue;
      }
      const int64_t c = k / (kh_ * kw_), ky = (k / kw_) % kh_, kx = k % kw_;
      const int64_t dy = ky * g.d[1], dx = kx * g.d[2];
      const int64_t slot = L.rowSlot[static_cast<size_t>(dy % L.sh)] + L.colSlot[static_cast<size_t>(dx % L.sw)];
      off[k] = slot * L.cPlane + (c * L.Hq + dy / L.sh) * L.Wq + dx / L.sw;
    }
    if (!L.inPlace) std::fill(P + L.slots * L.cPlane, P + L.slots * L.cPlane + kSlack, 0.f);

    const igemm::MicroKernel wide =
        !igemm::forcedPortable.load() && (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)
            ? igemm::microKernelAvx2
            : igemm::microKernelPortable;
    const igemm::MicroKernel narrow = wide == igemm::microKernelAvx2 ? igemm::microKernelAvx2N8 : wide;

    if (transposed_) {
      runTransposed(ctx, g, L, P, off, ex);
      return;
    }
    const int64_t tilesPerRow = (L.cols + kNR - 1) / kNR, T = L.rows * tilesPerRow;
    const int64_t groups = (T + kGroupTiles - 1) / kGroupTiles, rowTiles = Mp_ / kMR;
    const int64_t threads = ctx.pool ? ctx.pool->size() : 1;
    int64_t mParts = 1;
    if (threads > 1 && groups < 2 * threads) mParts = std::min(rowTiles, (2 * threads + groups - 1) / groups);
    const bool tail = L.inPlace && L.cols % kNR != 0;
    const float* B = ex.bias;
    const bool epi = B || ex.z || !act_.none();

    for (int64_t n = 0; n < N; ++n) {
      const float* X = x.as<float>() + n * C_ * inSz;
      float* Y = y.as<float>() + n * M_ * outSz;
      const float* Z = ex.z ? ex.z + n * M_ * outSz : nullptr;
      const float* src = L.inPlace ? X : P;
      if (!L.inPlace)
        parallelFor(C_ * inSz >= (1 << 14) ? ctx.pool : nullptr, C_, [&](int64_t c0, int64_t c1) { fillPhases(X, g, L, P, c0, c1); });
      if (tail) {  // the last, narrower tile of the plane: its 16 columns of all K rows, zero-padded
        const int64_t ox0 = (tilesPerRow - 1) * kNR, w = L.cols - ox0;
        for (int64_t k = 0; k < K_; ++k) {
          std::memcpy(tailBuf + k * kNR, X + k * outSz + ox0, static_cast<size_t>(w) * sizeof(float));
          std::fill(tailBuf + k * kNR + w, tailBuf + (k + 1) * kNR, 0.f);
        }
      }
      parallelFor(groups * mParts > 1 ? ctx.pool : nullptr, groups * mParts, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t gi = u / mParts, mp = u % mParts;
          const int64_t r0 = std::min(M_, rowTiles * mp / mParts * kMR), r1 = std::min(M_, rowTiles * (mp + 1) / mParts * kMR);
          if (r0 >= r1) continue;
          const int64_t t0 = gi * kGroupTiles, t1 = std::min(T, t0 + kGroupTiles);
          auto posOf = [&](int64_t t) { return (t / tilesPerRow) * L.cols + (t % tilesPerRow) * kNR; };
          const int64_t p0 = posOf(t0), p1 = posOf(t1 - 1) + std::min(kNR, L.cols - ((t1 - 1) % tilesPerRow) * kNR);
          for (int64_t k0 = 0; k0 < K_; k0 += kc_) {
            const int64_t kc = std::min(kc_, K_ - k0);
            const float* aBlock = packed_.data() + k0 * Mp_;
            for (int64_t i0 = r0; i0 < r1; i0 += kMC) {
              const int64_t mc = std::min(kMC, r1 - i0);
              for (int64_t t = t0; t < t1; ++t) {
                const int64_t oy = t / tilesPerRow, ox0 = (t % tilesPerRow) * kNR, nr = std::min(kNR, L.cols - ox0);
                const bool isTail = tail && t == T - 1;
                const float* base = isTail ? tailBuf : src + (L.rows == 1 ? ox0 : oy * L.Wq + ox0);
                const int64_t* offs = (isTail ? tailOff : off) + k0;
                const igemm::MicroKernel kern = nr <= 8 ? narrow : wide;
                float* yt = Y + oy * L.cols + ox0;
                for (int64_t p = 0; p < mc; p += kMR)
                  kern(kc, aBlock + ((i0 + p) / kMR) * kc * kMR, base, offs, yt + (i0 + p) * outSz, outSz,
                       std::min(kMR, mc - p), nr, k0 > 0);
              }
              if (epi && k0 + kc >= K_) {
                RowEpilogue re;
                re.act = act_;
                for (int64_t m = i0; m < i0 + mc; ++m) {
                  re.bias = B ? B[m] : 0.f;
                  re.z = Z ? Z + m * outSz + p0 : nullptr;
                  epilogueRow(Y + m * outSz + p0, Y + m * outSz + p0, p1 - p0, re);
                }
              }
            }
          }
        }
      });
    }
  }

  void runTransposed(const KernelContext& ctx, const nn::Geom3& g, const Layout& L, float* P, const int64_t* off,
                     const ConvExtras& ex) const {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const int64_t N = x.dim(0), inSz = g.inSize(), outSz = g.outSize(), OW = g.out[2];
    const igemm::MicroKernelT kern =
        !igemm::forcedPortable.load() && (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)
            ? igemm::microKernelTAvx2
            : igemm::microKernelTPortable;
    const int64_t panels = (M_ + kNR - 1) / kNR, posTiles = (outSz + kMR - 1) / kMR;
    const float* B = ex.bias;
    for (int64_t n = 0; n < N; ++n) {
      const float* X = x.as<float>() + n * C_ * inSz;
      float* Y = y.as<float>() + n * M_ * outSz;
      const float* Z = ex.z ? ex.z + n * M_ * outSz : nullptr;
      if (!L.inPlace)
        parallelFor(C_ * inSz >= (1 << 14) ? ctx.pool : nullptr, C_, [&](int64_t c0, int64_t c1) { fillPhases(X, g, L, P, c0, c1); });
      const float* src = L.inPlace ? X : P;
      // units: (panel of 16 output channels, group of <= 32 tiles of 6 positions); per block of K, each
      // tile of the group (its input rows in L2) against the panel's block of weights (in L1)
      constexpr int64_t kGroup = 32;
      const int64_t groupsT = (posTiles + kGroup - 1) / kGroup;
      parallelFor(ctx.pool, panels * groupsT, [&](int64_t u0, int64_t u1) {
        std::vector<float> tiles(static_cast<size_t>(kGroup * kMR * kNR));
        std::vector<int64_t> pos(static_cast<size_t>(kGroup * kMR));
        RowEpilogue re;
        re.act = act_;
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t pn = u / groupsT, q0 = (u % groupsT) * kGroup, q1 = std::min(posTiles, q0 + kGroup);
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t p0 = q * kMR, mr = std::min(kMR, outSz - p0);
            for (int64_t r = 0; r < kMR; ++r) {  // where each position's window starts (past the end: the last)
              const int64_t p = p0 + std::min(r, mr - 1);
              pos[static_cast<size_t>((q - q0) * kMR + r)] = L.rows == 1 ? p : (p / OW) * L.Wq + p % OW;
            }
          }
          const float* wp = packed_.data() + pn * K_ * kNR;
          for (int64_t k0 = 0; k0 < K_; k0 += kKC) {
            const int64_t kc = std::min(kKC, K_ - k0);
            for (int64_t q = q0; q < q1; ++q)
              kern(kc, wp + k0 * kNR, src, off + k0, pos.data() + (q - q0) * kMR, tiles.data() + (q - q0) * kMR * kNR, k0 > 0);
          }
          const int64_t m0 = pn * kNR, nc = std::min(kNR, M_ - m0);
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t p0 = q * kMR, mr = std::min(kMR, outSz - p0);
            const float* tile = tiles.data() + (q - q0) * kMR * kNR;
            for (int64_t j = 0; j < nc; ++j) {
              float* yr = Y + (m0 + j) * outSz + p0;
              for (int64_t r = 0; r < mr; ++r) yr[r] = tile[r * kNR + j];
            }
          }
          for (int64_t j = 0; j < nc; ++j) {  // the group's positions are contiguous in Y
            const int64_t pA = q0 * kMR, pB = std::min(outSz, q1 * kMR);
            re.bias = B ? B[m0 + j] : 0.f;
            re.z = Z ? Z + (m0 + j) * outSz + pA : nullptr;
            if (epilogueNeeded(re)) epilogueRow(Y + (m0 + j) * outSz + pA, Y + (m0 + j) * outSz + pA, pB - pA, re);
          }
        }
      });
    }
  }

 private:
  ir::nn::Window window_;
  ir::FusedActivation act_;
  int64_t M_{0}, C_{0}, kh_{1}, kw_{1}, K_{0}, kc_{1}, Mp_{0};
  bool transposed_{false};
  LargeArray<float> packed_;  // per block of kc_ of K: Mp_ / 6 row tiles of kc x 6 floats (k-major)
};

struct IgemmConvN : IgemmConv {
  explicit IgemmConvN(const ir::Node& node) : IgemmConv(node, false) {}
};
struct IgemmConvT : IgemmConv {
  explicit IgemmConvT(const ir::Node& node) : IgemmConv(node, true) {}
};

//! "igemm_t" only where the output is small (<= 1024 positions): the 16-wide tiles of "igemm" and "gemm"
//! waste most where few positions fill them (7x7 = 49: 64).
bool supportsIgemmT(const ir::Node& node, std::string* why) {
  if (!supportsIgemm(node, why)) return false;
  const ir::Value* y = node.outputs.empty() ? nullptr : node.outputs[0];
  if (!y || y->shape.size() != 4 || y->shape[2] < 0 || y->shape[3] < 0 || y->shape[2] * y->shape[3] > 1024) {
    if (why) *why = "static outputs of <= 1024 positions only";
    return false;
  }
  return true;
}

}  // namespace

void registerIgemmTactics(KernelRegistry& reg) {
  reg.add("Conv", makeTactic<IgemmConvN>("igemm", supportsIgemm));
  reg.add("Conv", makeTactic<IgemmConvT>("igemm_t", supportsIgemmT));
}

}  // namespace kiln::cpu::fast
