// "winograd" tactic of Conv: 3x3, stride 1, dilation 1, group 1, float32 convolutions with constant weights,
// by Winograd's minimal filtering F(2x2, 3x3): each 2x2 output tile costs 16 multiplies per channel pair
// instead of 36. Weights are transformed once when the kernel is created (U = G g G^T, 16 matrices
// [M, C]); per image the input tiles are transformed (V = B^T d B, 16 matrices [C, tiles]), 16 products
// M_xi = U_xi V_xi run on the packed SGEMM, and the output transform (Y = A^T m A) adds the bias; the
// residual Z and kiln_act run per output plane (fast/activation.h). Input transform, the 16 products and
// the output transform are each split over the thread pool. The builder times it against "gemm".
#include <algorithm>
#include <cstring>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/conv_igemm.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/gemm/sgemm.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/large_alloc.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

//! Also the constraints of "winograd4" (conv_winograd4.cpp).
bool supportsWinograd(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  auto no = [&](const char* r) {
    if (why) *why = r;
    return false;
  };
  if (node.inputs.size() < 2 || !node.inputs[0] || !node.inputs[1]) return no("needs X and W");
  const ir::Value* w = node.inputs[1];
  if (!w->isConstant() || w->shape.size() != 4 || w->shape[2] != 3 || w->shape[3] != 3)
    return no("constant 3x3 2-D weights only");
  if (node.attrs.getInt("group", 1) != 1) return no("group 1 only");
  for (int64_t s : node.attrs.getInts("strides", {1, 1}))
    if (s != 1) return no("stride 1 only");
  for (int64_t d : node.attrs.getInts("dilations", {1, 1}))
    if (d != 1) return no("dilation 1 only");
  if (w->shape[0] < 8 || w->shape[1] < 8) return no("too few channels to pay");
  return true;
}

namespace {

using nn::badData;

std::size_t alignUp(std::size_t n) { return (n + 63) / 64 * 64; }

class WinogradConv : public Kernel {
 public:
  explicit WinogradConv(const ir::Node& node) {
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(2, 1));
    try {
      act_ = ir::fusedActivationOf(node.attrs);
    } catch (const Error& e) {
      nn::unsupported(node, e.message());
    }
    const ir::TensorData& wd = *node.inputs[1]->constant;
    M_ = wd.shape[0];
    C_ = wd.shape[1];
    const float* g = wd.as<float>();
    u_ = LargeArray<float>(static_cast<size_t>(16 * M_ * C_));
    for (int64_t m = 0; m < M_; ++m)
      for (int64_t c = 0; c < C_; ++c) {
        const float* k = g + (m * C_ + c) * 9;
        float t[4][3];  // G g
        for (int j = 0; j < 3; ++j) {
          t[0][j] = k[j];
          t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
          t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
          t[3][j] = k[6 + j];
        }
        for (int i = 0; i < 4; ++i) {  // (G g) G^T
          const float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
          for (int j = 0; j < 4; ++j) u_[static_cast<size_t>(((i * 4 + j) * M_ + m) * C_ + c)] = r[j];
        }
      }
  }

  nn::Geom3 geometry(const TensorView& x, const TensorView& y) const {
    if (x.rank() != 4 || y.rank() != 4) badData("Conv (winograd): X and Y must be 4-D");
    return nn::forwardGeom(x.shape.subspan(2), {3, 3}, window_, y.shape.subspan(2));
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const nn::Geom3 g = geometry(in[0], out[0]);
    const int64_t T = nn::checkedMul((g.out[1] + 1) / 2, (g.out[2] + 1) / 2);
    const int64_t v = nn::checkedMul(nn::checkedMul(16, C_), T), mm = nn::checkedMul(nn::checkedMul(16, M_), T);
    return alignUp(static_cast<std::size_t>(v) * sizeof(float)) + alignUp(static_cast<std::size_t>(mm) * sizeof(float));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
    const TensorView* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
    const TensorView& y = ctx.outputs[0];
    const nn::Geom3 g = geometry(x, y);
    const int64_t N = x.dim(0);
    if (x.dim(1) != C_ || y.dim(0) != N || y.dim(1) != M_) badData("Conv (winograd): channels do not match the weights");
    if (b && (b->rank() != 1 || b->dim(0) != M_)) badData("Conv: bias must have shape [M]");
    if (z && z->shapeVec() != y.shapeVec()) badData("Conv: the residual Z must have the output's shape");
    const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], pt = g.pb[1], pl = g.pb[2];
    const int64_t tH = (OH + 1) / 2, tW = (OW + 1) / 2, T = tH * tW;
    float* V = static_cast<float*>(ctx.workspace);
    float* Mb = V + alignUp(static_cast<std::size_t>(16 * C_ * T) * sizeof(float)) / sizeof(float);
    const float* B = b ? b->as<float>() : nullptr;
    for (int64_t n = 0; n < N; ++n) {
      const float* X = x.as<float>() + n * C_ * H * W;
      float* Y = y.as<float>() + n * M_ * OH * OW;
      const float* Z = z ? z->as<float>() + n * M_ * OH * OW : nullptr;
      // input transform: V[xi][c][t] = (B^T d B)[xi] for the 4x4 patch d of tile t
      parallelFor(ctx.pool, C_, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const float* xc = X + c * H * W;
          for (int64_t ty = 0; ty < tH; ++ty)
            for (int64_t tx = 0; tx < tW; ++tx) {
              float d[4][4];
              const int64_t iy0 = 2 * ty - pt, ix0 = 2 * tx - pl;
              const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= H && ix0 + 4 <= W;
              for (int r = 0; r < 4; ++r)
                for (int s = 0; s < 4; ++s) {
                  const int64_t iy = iy0 + r, ix = ix0 + s;
                  d[r][s] = inside || (iy >= 0 && iy < H && ix >= 0 && ix < W) ? xc[iy * W + ix] : 0.f;
                }
              float t[4][4];
              for (int s = 0; s < 4; ++s) {
                t[0][s] = d[0][s] - d[2][s];
                t[1][s] = d[1][s] + d[2][s];
                t[2][s] = d[2][s] - d[1][s];
                t[3][s] = d[1][s] - d[3][s];
              }
              const int64_t ti = ty * tW + tx;
              for (int r = 0; r < 4; ++r) {
                const float v[4] = {t[r][0] - t[r][2], t[r][1] + t[r][2], t[r][2] - t[r][1], t[r][1] - t[r][3]};
                for (int s = 0; s < 4; ++s) V[((r * 4 + s) * C_ + c) * T + ti] = v[s];
              }
            }
        }
      });
      // 16 products [M, C] x [C, T]
      parallelFor(ctx.pool, 16, [&](int64_t k0, int64_t k1) {
        const bool alone = k1 - k0 == 16;  // no other task: let sgemm split the product itself
        for (int64_t k = k0; k < k1; ++k)
          sgemm(M_, T, C_, {u_.data() + k * M_ * C_, C_, 1}, {V + k * C_ * T, T, 1}, Mb + k * M_ * T, T, false, nullptr,
                alone ? ctx.pool : nullptr);
      });
      // output transform + bias, then residual and activation per plane
      parallelFor(ctx.pool, M_, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
          float* ym = Y + m * OH * OW;
          const float bias = B ? B[m] : 0.f;
          for (int64_t ty = 0; ty < tH; ++ty)
            for (int64_t tx = 0; tx < tW; ++tx) {
              const int64_t ti = ty * tW + tx;
              float mm[4][4];
              for (int i = 0; i < 16; ++i) mm[i / 4][i % 4] = Mb[(i * M_ + m) * T + ti];
              float u[2][4];
              for (int s = 0; s < 4; ++s) {
                u[0][s] = mm[0][s] + mm[1][s] + mm[2][s];
                u[1][s] = mm[1][s] - mm[2][s] - mm[3][s];
              }
              for (int r = 0; r < 2; ++r) {
                const int64_t oy = 2 * ty + r;
                if (oy >= OH) break;
                const float o[2] = {u[r][0] + u[r][1] + u[r][2], u[r][1] - u[r][2] - u[r][3]};
                for (int s = 0; s < 2; ++s) {
                  const int64_t ox = 2 * tx + s;
                  if (ox < OW) ym[oy * OW + ox] = o[s] + bias;
                }
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
  int64_t M_{0}, C_{0};
  LargeArray<float> u_;  // [16][M][C]
};

}  // namespace

void registerWinogradTactics(KernelRegistry& reg) {
  reg.add("Conv", makeTactic<WinogradConv>("winograd", supportsWinograd));
}

}  // namespace kiln::cpu::fast
