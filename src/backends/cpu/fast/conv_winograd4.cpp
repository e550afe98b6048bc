// "winograd4" tactic of Conv: 3x3, stride 1, dilation 1, group 1, float32 convolutions with constant
// weights by Winograd's minimal filtering F(4x4, 3x3) (interpolation points 0, +-1, +-2, infinity): a 4x4
// output tile costs 36 multiplies per channel pair instead of 144 (F(2x2, 3x3), tactic "winograd": 16 for
// 36). Weights are transformed once (U = G g G^T: 36 matrices [M, C]) and packed for sgemm; per image the
// 6x6 input tiles are transformed (V = B^T d B: 36 matrices [C, tiles]), the 36 products run on the packed
// SGEMM, and the output transform (Y = A^T m A) adds the bias, the residual Z and kiln_act. Larger
// rounding than F(2x2) (the transforms hold 4, 5, 8 and 1/24): the builder times it against the others.
#include <algorithm>
#include <cstdlib>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/conv_igemm.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/gemm/sgemm.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/large_alloc.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

namespace {

using nn::badData;

constexpr int kA = 6;  // input tile (alpha = m + r - 1)
constexpr int kM = 4;  // output tile

bool supportsWinograd4(const ir::Node& node, std::string* why) {
  static const bool disabled = std::getenv("KILN_NO_WINOGRAD4") != nullptr;  // A/B timings (bench/)
  if (disabled) {
    if (why) *why = "disabled by KILN_NO_WINOGRAD4";
    return false;
  }
  return supportsWinograd(node, why);
}

std::size_t alignUp(std::size_t n) { return (n + 63) / 64 * 64; }

//! d (6 values, stride sd) -> B^T d (6 values, stride so).
inline void inputRows(const float* d, int64_t sd, float* o, int64_t so) {
  const float d0 = d[0], d1 = d[sd], d2 = d[2 * sd], d3 = d[3 * sd], d4 = d[4 * sd], d5 = d[5 * sd];
  o[0] = 4.f * d0 - 5.f * d2 + d4;
  o[so] = -4.f * (d1 + d2) + d3 + d4;
  o[2 * so] = 4.f * (d1 - d2) - d3 + d4;
  o[3 * so] = -2.f * (d1 - d3) - d2 + d4;
  o[4 * so] = 2.f * (d1 - d3) - d2 + d4;
  o[5 * so] = 4.f * d1 - 5.f * d3 + d5;
}

class Winograd4Conv : public Kernel {
 public:
  explicit Winograd4Conv(const ir::Node& node) {
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(2, 1));
    act_ = convActivation(node);
    const ir::TensorData& wd = *node.inputs[1]->constant;
    M_ = wd.shape[0];
    C_ = wd.shape[1];
    const float* g = wd.as<float>();
    // G (6x3): rows (1/4, 0, 0), (-1/6, -1/6, -1/6), (-1/6, 1/6, -1/6), (1/24, 1/12, 1/6), (1/24, -1/12, 1/6), (0, 0, 1)
    static const double G[kA][3] = {{0.25, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    // sgemm reads the unpacked U only in its matrix-vector paths (one tile per image, or one output
    // channel): keep U only where the build-time shapes allow that.
    const ir::Shape& ys = node.outputs[0]->shape;
    const bool keepU = M_ < 2 || ys.size() != 4 || ys[2] < 0 || ys[3] < 0 || ((ys[2] + kM - 1) / kM) * ((ys[3] + kM - 1) / kM) < 2;
    per_ = sgemmPackedASize(M_, C_);
    packed_ = LargeArray<float>(static_cast<size_t>(per_ * kA * kA + 8));
    if (keepU) u_ = LargeArray<float>(static_cast<size_t>(kA * kA * M_ * C_));
    // U = G g G^T for 6 output channels at a time ([36][6][C], stays in cache), then packed into place
    constexpr int64_t kRows = 6;
    // (in double; loops over c innermost so that they vectorize: the taps of one output channel transposed
    // to [9][C] first)
    const std::size_t C = static_cast<std::size_t>(C_);
    std::vector<float> part(static_cast<size_t>(kA * kA * kRows) * C), taps(9 * C);
    std::vector<double> t(static_cast<size_t>(kA * 3) * C);  // G g: [6][3][C]
    for (int64_t m0 = 0; m0 < M_; m0 += kRows) {
      const int64_t mc = std::min(kRows, M_ - m0);
      for (int64_t m = m0; m < m0 + mc; ++m) {
        const float* gm = g + m * C_ * 9;
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t q = 0; q < 9; ++q) taps[q * C + c] = gm[c * 9 + q];
        for (int i = 0; i < kA; ++i)
          for (int j = 0; j < 3; ++j) {
            const float *k0 = &taps[static_cast<size_t>(j) * C], *k1 = k0 + 3 * C, *k2 = k0 + 6 * C;
            double* ti = &t[static_cast<size_t>(i * 3 + j) * C];
            for (std::size_t c = 0; c < C; ++c) ti[c] = G[i][0] * k0[c] + G[i][1] * k1[c] + G[i][2] * k2[c];
          }
        for (int i = 0; i < kA; ++i)
          for (int j = 0; j < kA; ++j) {  // (G g) G^T
            const double *t0 = &t[static_cast<size_t>(i * 3) * C], *t1 = t0 + C, *t2 = t1 + C;
            float* u = &part[static_cast<size_t>((i * kA + j) * mc + (m - m0)) * C];
            for (std::size_t c = 0; c < C; ++c) u[c] = static_cast<float>(t0[c] * G[j][0] + t1[c] * G[j][1] + t2[c] * G[j][2]);
          }
      }
      for (int xi = 0; xi < kA * kA; ++xi) {
        const float* rows = part.data() + xi * mc * C_;
        sgemmPackARows(M_, C_, m0, m0 + mc, MatrixView{rows, C_, 1}, packed_.data() + xi * per_);
        if (keepU) std::copy(rows, rows + mc * C_, u_.data() + (xi * M_ + m0) * C_);
      }
    }
  }

  nn::Geom3 geometry(const TensorView& x, const TensorView& y) const {
    if (x.rank() != 4 || y.rank() != 4) badData("Conv (winograd4): X and Y must be 4-D");
    return nn::forwardGeom(x.shape.subspan(2), {3, 3}, window_, y.shape.subspan(2));
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const nn::Geom3 g = geometry(in[0], out[0]);
    const int64_t T = nn::checkedMul((g.out[1] + kM - 1) / kM, (g.out[2] + kM - 1) / kM);
    const int64_t v = nn::checkedMul(nn::checkedMul(kA * kA, C_), T), mm = nn::checkedMul(nn::checkedMul(kA * kA, M_), T);
    return alignUp(static_cast<std::size_t>(v) * sizeof(float)) + alignUp(static_cast<std::size_t>(mm) * sizeof(float));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const nn::Geom3 g = geometry(x, y);
    const int64_t N = x.dim(0);
    const ConvExtras ex = convExtras(ctx, C_, M_, "winograd4");
    const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], pt = g.pb[1], pl = g.pb[2];
    const int64_t tH = (OH + kM - 1) / kM, tW = (OW + kM - 1) / kM, T = tH * tW;
    if (T == 0) return;
    if ((T < 2 || M_ < 2) && u_.empty()) badData("Conv (winograd4): one tile or one channel at shapes the kernel was not prepared for");
    float* V = static_cast<float*>(ctx.workspace);
    float* Mb = V + alignUp(static_cast<std::size_t>(kA * kA * C_ * T) * sizeof(float)) / sizeof(float);
    const float* B = ex.bias;
    for (int64_t n = 0; n < N; ++n) {
      const float* X = x.as<float>() + n * C_ * H * W;
      float* Y = y.as<float>() + n * M_ * OH * OW;
      const float* Z = ex.z ? ex.z + n * M_ * OH * OW : nullptr;
      // input transform: V[xi][c][t] = (B^T d B)[xi] for the 6x6 patch d of tile t, one row of tiles at a
      // time: B^T over the 6 input rows for all columns of the strip (vectorizes), then B per tile
      const int64_t Ws = kM * tW + 2;
      parallelFor(ctx.pool, C_, [&](int64_t c0, int64_t c1) {
        std::vector<float> buf(static_cast<size_t>(2 * kA * Ws));
        float* rows = buf.data();
        float* t = rows + kA * Ws;
        for (int64_t c = c0; c < c1; ++c) {
          const float* xc = X + c * H * W;
          const int64_t colLo = std::clamp<int64_t>(pl, 0, Ws), colHi = std::clamp<int64_t>(W + pl, colLo, Ws);
          for (int64_t ty = 0; ty < tH; ++ty) {
            for (int r = 0; r < kA; ++r) {  // the strip, zero in the padding
              float* d = rows + r * Ws;
              const int64_t iy = kM * ty - pt + r;
              if (iy < 0 || iy >= H) {
                std::fill(d, d + Ws, 0.f);
                continue;
              }
              std::fill(d, d + colLo, 0.f);
              std::copy(xc + iy * W + colLo - pl, xc + iy * W + colHi - pl, d + colLo);
              std::fill(d + colHi, d + Ws, 0.f);
            }
            for (int64_t j = 0; j < Ws; ++j) inputRows(rows + j, Ws, t + j, Ws);
            float* vt = V + c * T + ty * tW;
            for (int i = 0; i < kA; ++i) {
              const float* ti = t + i * Ws;
              float* v0 = vt + (i * kA) * C_ * T;
              const int64_t st = C_ * T;
              for (int64_t tx = 0; tx < tW; ++tx) {
                const float* e = ti + kM * tx;
                const float e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = e[4], e5 = e[5];
                v0[tx] = 4.f * e0 - 5.f * e2 + e4;
                v0[st + tx] = -4.f * (e1 + e2) + e3 + e4;
                v0[2 * st + tx] = 4.f * (e1 - e2) - e3 + e4;
                v0[3 * st + tx] = -2.f * (e1 - e3) - e2 + e4;
                v0[4 * st + tx] = 2.f * (e1 - e3) - e2 + e4;
                v0[5 * st + tx] = 4.f * e1 - 5.f * e3 + e5;
              }
            }
          }
        }
      });
      // 36 products [M, C] x [C, T] (U packed once)
      parallelFor(ctx.pool, kA * kA, [&](int64_t k0, int64_t k1) {
        const bool alone = k1 - k0 == kA * kA;  // no other task: let sgemm split the product itself
        for (int64_t k = k0; k < k1; ++k)  // (without U, A is never read unpacked: T >= 2 and M >= 2)
          sgemm(M_, T, C_, {(u_.empty() ? packed_.data() : u_.data()) + k * M_ * C_, C_, 1}, {V + k * C_ * T, T, 1}, Mb + k * M_ * T, T, false, nullptr,
                alone ? ctx.pool : nullptr, nullptr, packed_.data() + k * per_);
      });
      // output transform + bias, one row of tiles at a time: A^T over the 6 rows of m for all tiles (loads
      // contiguous in the tile index), then A per tile into 4 output rows; residual and activation per plane
      parallelFor(ctx.pool, M_, [&](int64_t m0, int64_t m1) {
        std::vector<float> buf(static_cast<size_t>(kM * kA * tW + kM * kM * tW));
        float* u = buf.data();         // [4][6][tW]
        float* o = u + kM * kA * tW;   // [4][4 * tW]
        for (int64_t m = m0; m < m1; ++m) {
          float* ym = Y + m * OH * OW;
          const float bias = B ? B[m] : 0.f;
          for (int64_t ty = 0; ty < tH; ++ty) {
            const float* mb = Mb + m * T + ty * tW;
            const int64_t st = M_ * T;  // between xi
            for (int j = 0; j < kA; ++j) {
              const float* p = mb + j * st;
              float* u0 = u + j * tW;
              for (int64_t tx = 0; tx < tW; ++tx) {
                const float m0v = p[tx], m1v = p[kA * st + tx], m2v = p[2 * kA * st + tx], m3v = p[3 * kA * st + tx];
                const float m4v = p[4 * kA * st + tx], m5v = p[5 * kA * st + tx];
                const float s12 = m1v + m2v, d12 = m1v - m2v, s34 = m3v + m4v, d34 = m3v - m4v;
                u0[tx] = m0v + s12 + s34;
                u0[kA * tW + tx] = d12 + 2.f * d34;
                u0[2 * kA * tW + tx] = s12 + 4.f * s34;
                u0[3 * kA * tW + tx] = d12 + 8.f * d34 + m5v;
              }
            }
            for (int r = 0; r < kM; ++r) {
              const float* ur = u + r * kA * tW;
              float* orow = o + r * kM * tW;
              for (int64_t tx = 0; tx < tW; ++tx) {
                const float m0v = ur[tx], m1v = ur[tW + tx], m2v = ur[2 * tW + tx], m3v = ur[3 * tW + tx];
                const float m4v = ur[4 * tW + tx], m5v = ur[5 * tW + tx];
                const float s12 = m1v + m2v, d12 = m1v - m2v, s34 = m3v + m4v, d34 = m3v - m4v;
                orow[kM * tx] = m0v + s12 + s34 + bias;
                orow[kM * tx + 1] = d12 + 2.f * d34 + bias;
                orow[kM * tx + 2] = s12 + 4.f * s34 + bias;
                orow[kM * tx + 3] = d12 + 8.f * d34 + m5v + bias;
              }
              const int64_t oy = kM * ty + r;
              if (oy < OH) std::copy(orow, orow + OW, ym + oy * OW);
            }
          }
          if (Z || !act_.none()) {
            RowEpilogue e;
            e.act = act_;
            e.z = Z ? Z + m * OH * OW : nullptr;
            epilogueRow(ym, ym, OH * OW, e);
          }
        }
      });
    }
  }

 private:
  ir::nn::Window window_;
  ir::FusedActivation act_;
  int64_t M_{0}, C_{0}, per_{0};
  LargeArray<float> u_;       // [36][M][C] (only where sgemm may need it unpacked)
  LargeArray<float> packed_;  // U packed for sgemm, per_ floats per matrix
};

}  // namespace

void registerWinograd4Tactics(KernelRegistry& reg) {
  reg.add("Conv", makeTactic<Winograd4Conv>("winograd4", supportsWinograd4));
}

}  // namespace kiln::cpu::fast
