// "fast" tactics of pooling (float32): 2-D MaxPool / AveragePool without the Indices output, one channel
// plane per task on the thread pool, window bounds computed per output row and column instead of per tap
// (MaxPool: column maxima over the window rows first, then row maxima over the window columns);
// GlobalAveragePool / GlobalMaxPool with planes split over the pool. Other cases (1-D/3-D, Indices,
// LpPool) run the reference kernel.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/fast/nn_tactics.h"
#include "backends/cpu/fast/pool_rows.h"
#include "core/cpu_features.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/thread_pool.h"

namespace kiln::cpu::fast {

std::unique_ptr<Kernel> referenceKernel(const ir::Node& node) {
  const Tactic* t = defaultKernelRegistry().find(node.op, "ref");
  if (!t) throw Error(ErrorCode::kUNSUPPORTED_NODE, "no reference kernel for " + node.op);
  return t->create(node);
}

namespace {

//! Taps k in [first, last) of a window starting at `base` with dilation d whose input index base + k d
//! lies in [lo, hi).
std::pair<int64_t, int64_t> taps(int64_t base, int64_t d, int64_t K, int64_t lo, int64_t hi) {
  if (hi <= lo) return {0, 0};
  auto floorDiv = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const int64_t first = std::max<int64_t>(0, -floorDiv(base - lo, d));
  const int64_t last = std::min<int64_t>(K, floorDiv(hi - 1 - base, d) + 1);
  return {first, std::max(first, last)};
}

class Pool2d : public Kernel {
 public:
  explicit Pool2d(const ir::Node& node) : max_(node.op == "MaxPool"), ref_(referenceKernel(node)) {
    kernel_ = node.attrs.getInts("kernel_shape");
    if (kernel_.size() == 2) window_ = ir::nn::parseWindow(node.attrs, kernel_);
    countIncludePad_ = node.attrs.getInt("count_include_pad", 0) != 0;
  }

  //! MaxPool in two passes per output row: the column maxima over the row's valid window rows (contiguous,
  //! vectorizable), then the maxima over each window's valid columns of those, both skipping NaNs. Same
  //! result as the per-window loop, which keeps the first valid tap and replaces it only by a larger value:
  //! NaN when the window's first valid tap is NaN, else the largest non-NaN value.
  static void maxSeparable(ThreadPool* pool, const nn::Geom3& g, int64_t planes, const float* X, float* Y,
                           const std::vector<int64_t>& cx0, const std::vector<int64_t>& cx1) {
    const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], inSz = g.inSize(), outSz = g.outSize();
    const int64_t sy = g.s[1], sx = g.s[2], dy = g.d[1], dx = g.d[2], py = g.pb[1], px = g.pb[2];
    ThreadPool* use = planes * outSz * g.k[1] * g.k[2] >= (1 << 16) ? pool : nullptr;
    static const bool avx2 = (cpuFeatures() & kCpuAVX2) != 0;
    const float* xEnd = X + planes * inSz;
    // the output columns [fullA, fullB) whose windows lie inside the input (one range: windows move right)
    int64_t fullA = OW, fullB = OW;
    for (int64_t ox = 0; ox < OW; ++ox)
      if (cx0[static_cast<size_t>(ox)] == 0 && cx1[static_cast<size_t>(ox)] == g.k[2]) {
        if (fullA == OW) fullA = ox;
        fullB = ox + 1;
      }
    parallelFor(use, planes, [&](int64_t p0, int64_t p1) {
      std::vector<float> col(static_cast<size_t>(W + 16));  // slack for the AVX2 rows' loads
      float* cm = col.data();
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = X + p * inSz;
        float* yp = Y + p * outSz;
        for (int64_t oy = 0; oy < OH; ++oy) {
          const int64_t by = oy * sy - py;
          auto [ky0, ky1] = taps(by, dy, g.k[1], 0, H);
          float* yr = yp + oy * OW;
          if (ky0 >= ky1) {
            std::fill(yr, yr + OW, -std::numeric_limits<float>::infinity());
            continue;
          }
          const float* r0 = xp + (by + ky0 * dy) * W;
          bool firstNan = true;
          if (avx2)
            firstNan = pool::copyRowAvx2(cm, r0, W);
          else
            std::copy(r0, r0 + W, cm);
          for (int64_t ky = ky0 + 1; ky < ky1; ++ky) {
            const float* r = xp + (by + ky * dy) * W;
            if (avx2) {
              pool::colMaxAvx2(cm, r, W, r + W + 8 <= xEnd);
              continue;
            }
            for (int64_t i = 0; i < W; ++i) cm[i] = r[i] > cm[i] || cm[i] != cm[i] ? r[i] : cm[i];
          }
          if (avx2 && fullA < fullB) {  // the windows with every column inside the input
            pool::rowMaxAvx2(yr, cm, r0, fullA, fullB, sx, dx, g.k[2], -px, firstNan);
          }
          for (int64_t ox = 0; ox < OW; ++ox) {
            if (avx2 && ox == fullA && fullA < fullB) ox = fullB;
            if (ox >= OW) break;
            const int64_t kx0 = cx0[static_cast<size_t>(ox)], kx1 = cx1[static_cast<size_t>(ox)];
            if (kx0 >= kx1) {
              yr[ox] = -std::numeric_limits<float>::infinity();
              continue;
            }
            const int64_t bx = ox * sx - px;
            float best = cm[bx + kx0 * dx];
            for (int64_t kx = kx0 + 1; kx < kx1; ++kx) {
              const float v = cm[bx + kx * dx];
              best = v > best || best != best ? v : best;
            }
            const float first = xp[(by + ky0 * dy) * W + bx + kx0 * dx];
            yr[ox] = first != first ? first : best;
          }
        }
      }
    });
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const bool indices = ctx.outputs.size() > 1 && ctx.outputs[1].present;
    if (kernel_.size() != 2 || indices || x.rank() != 4 || y.rank() != 4 || y.dim(0) != x.dim(0) || y.dim(1) != x.dim(1))
      return ref_->run(ctx);
    const nn::Geom3 g = nn::forwardGeom(x.shape.subspan(2), kernel_, window_, y.shape.subspan(2));
    const int64_t planes = x.dim(0) * x.dim(1), inSz = g.inSize(), outSz = g.outSize();
    const float* X = x.as<float>();
    float* Y = y.as<float>();
    const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
    // per output column: the taps inside the input, and the count inside the padded input
    std::vector<int64_t> cx0(static_cast<size_t>(OW)), cx1(static_cast<size_t>(OW)), cpad(static_cast<size_t>(OW));
    for (int64_t ox = 0; ox < OW; ++ox) {
      const int64_t base = ox * g.s[2] - g.pb[2];
      auto [a, b] = taps(base, g.d[2], g.k[2], 0, W);
      auto [pa, pb] = taps(base, g.d[2], g.k[2], -g.pb[2], W + g.pe[2]);
      cx0[static_cast<size_t>(ox)] = a;
      cx1[static_cast<size_t>(ox)] = b;
      cpad[static_cast<size_t>(ox)] = pb - pa;
    }
    if (max_) return maxSeparable(ctx.pool, g, planes, X, Y, cx0, cx1);
    parallelFor(ctx.pool, planes, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = X + p * inSz;
        float* yp = Y + p * outSz;
        for (int64_t oy = 0; oy < OH; ++oy) {
          const int64_t by = oy * g.s[1] - g.pb[1];
          auto [ky0, ky1] = taps(by, g.d[1], g.k[1], 0, H);
          auto [pky0, pky1] = taps(by, g.d[1], g.k[1], -g.pb[1], H + g.pe[1]);
          for (int64_t ox = 0; ox < OW; ++ox) {
            const int64_t bx = ox * g.s[2] - g.pb[2];
            const int64_t kx0 = cx0[static_cast<size_t>(ox)], kx1 = cx1[static_cast<size_t>(ox)];
            if (max_) {
              float best = -std::numeric_limits<float>::infinity();
              bool found = false;
              for (int64_t ky = ky0; ky < ky1; ++ky) {
                const float* row = xp + (by + ky * g.d[1]) * W + bx;
                for (int64_t kx = kx0; kx < kx1; ++kx) {
                  const float v = row[kx * g.d[2]];
                  if (!found || v > best) best = v, found = true;  // the first tap wins (NaN first stays)
                }
              }
              yp[oy * OW + ox] = best;
            } else {
              float s = 0.f;
              for (int64_t ky = ky0; ky < ky1; ++ky) {
                const float* row = xp + (by + ky * g.d[1]) * W + bx;
                for (int64_t kx = kx0; kx < kx1; ++kx) s += row[kx * g.d[2]];
              }
              const int64_t cnt = countIncludePad_ ? (pky1 - pky0) * cpad[static_cast<size_t>(ox)] : (ky1 - ky0) * (kx1 - kx0);
              yp[oy * OW + ox] = static_cast<float>(static_cast<double>(s) / static_cast<double>(cnt));
            }
          }
        }
      }
    });
  }

 private:
  bool max_;
  std::unique_ptr<Kernel> ref_;
  std::vector<int64_t> kernel_;
  ir::nn::Window window_;
  bool countIncludePad_{false};
};

class GlobalPool : public Kernel {
 public:
  explicit GlobalPool(const ir::Node& node) : max_(node.op == "GlobalMaxPool"), ref_(referenceKernel(node)) {}

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 2 || x.numel == 0) return ref_->run(ctx);
    const int64_t planes = x.dim(0) * x.dim(1), S = x.numel / planes;
    if (y.numel != planes) nn::badData("global pooling: output shape mismatch");
    const float* X = x.as<float>();
    float* Y = y.as<float>();
    ThreadPool* pool = x.numel >= (1 << 15) ? ctx.pool : nullptr;
    parallelFor(pool, planes, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = X + p * S;
        if (max_) {
          float r = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < S; ++i) {
            if (std::isnan(xp[i])) {
              r = xp[i];
              break;
            }
            r = std::max(r, xp[i]);
          }
          Y[p] = r;
        } else {
          // 8 partial sums (vectorizable), added in double
          float part[8] = {};
          int64_t i = 0;
          for (; i + 8 <= S; i += 8)
            for (int j = 0; j < 8; ++j) part[j] += xp[i + j];
          double s = 0;
          for (float v : part) s += v;
          for (; i < S; ++i) s += xp[i];
          Y[p] = static_cast<float>(s / static_cast<double>(S));
        }
      }
    });
  }

 private:
  bool max_;
  std::unique_ptr<Kernel> ref_;
};

}  // namespace

void registerPoolTactics(KernelRegistry& reg) {
  reg.add("MaxPool", makeTactic<Pool2d>("fast", allFloat32));
  reg.add("AveragePool", makeTactic<Pool2d>("fast", allFloat32));
  reg.add("GlobalAveragePool", makeTactic<GlobalPool>("fast", allFloat32));
  reg.add("GlobalMaxPool", makeTactic<GlobalPool>("fast", allFloat32));
}

}  // namespace kiln::cpu::fast
