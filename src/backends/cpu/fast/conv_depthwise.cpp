// "depthwise" tactic of Conv: 2-D convolutions with one filter per channel (group == C == M), computed
// directly per channel plane instead of as a GEMM. Each plane is copied once into a zero-padded buffer
// split into `stride` column phases, so that every kernel tap reads contiguous floats for any stride,
// dilation and padding; rows of outputs are then sums of shifted rows (dw::RowsFn, AVX2/FMA or portable,
// picked by CPU features). Bias, residual Z and kiln_act run per output row (fast/activation.h). Planes
// are split over the KernelContext's thread pool.
#include "backends/cpu/fast/conv_depthwise.h"
#include "backends/cpu/fast/conv_depthwise_ops.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/ref/nn_impl.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

namespace dw {

void rowsPortable(float* acc, int64_t ow, const float* const* src, const float* const* w, int64_t rows, int64_t kw) {
  std::fill(acc, acc + ow, 0.f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t kx = 0; kx < kw; ++kx) {
      const float wv = w[r][kx];
      const float* s = src[r * kw + kx];
      for (int64_t ox = 0; ox < ow; ++ox) acc[ox] += wv * s[ox];
    }
}

namespace {
std::atomic<RowsFn> forced{nullptr};
RowsFn chooseRows() {
  if (RowsFn f = forced.load(std::memory_order_relaxed)) return f;
  static const RowsFn best = (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA) ? rowsAvx2 : rowsPortable;
  return best;
}
}  // namespace

void setRowsForTesting(RowsFn f) { forced.store(f); }

Operands checkedOperands(const KernelContext& ctx, const std::vector<int64_t>& attrKernel, const ir::nn::Window& window,
                         int64_t group) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& w = ctx.inputs[1];
  const TensorView& y = ctx.outputs[0];
  const TensorView* b = ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2] : nullptr;
  const TensorView* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? &ctx.inputs[3] : nullptr;
  Operands op;
  if (x.rank() != 4 || w.rank() != 4 || y.rank() != 4) nn::badData("Conv (depthwise): X, W and Y must be 4-D");
  op.n = x.dim(0), op.c = x.dim(1);
  if (op.c != group || w.dim(0) != op.c || w.dim(1) != 1 || y.dim(0) != op.n || y.dim(1) != op.c)
    nn::badData("Conv (depthwise): channels do not match the weights and group");
  if (b && (b->rank() != 1 || b->dim(0) != op.c)) nn::badData("Conv: bias must have shape [M]");
  if (z && z->shapeVec() != y.shapeVec()) nn::badData("Conv: the residual Z must have the output's shape");
  op.g = nn::forwardGeom(x.shape.subspan(2), nn::kernelFromW(w, attrKernel), window, y.shape.subspan(2));
  op.x = x.as<float>(), op.w = w.as<float>(), op.y = y.as<float>();
  op.bias = b ? b->as<float>() : nullptr;
  op.z = z ? z->as<float>() : nullptr;
  return op;
}

}  // namespace dw

namespace {

using nn::badData;

ir::FusedActivation activationOf(const ir::Node& node) {
  try {
    return ir::fusedActivationOf(node.attrs);
  } catch (const Error& e) {
    nn::unsupported(node, e.message());
  }
}

bool supportsDepthwise(const ir::Node& node, std::string* why) {
  if (!allFloat32(node, why)) return false;
  auto no = [&](const char* r) {
    if (why) *why = r;
    return false;
  };
  if (node.inputs.size() < 2 || !node.inputs[0] || !node.inputs[1]) return no("needs X and W");
  const ir::Shape& ws = node.inputs[1]->shape;
  const ir::Shape& xs = node.inputs[0]->shape;
  if (ws.size() != 4) return no("2-D convolutions only");
  const int64_t group = node.attrs.getInt("group", 1);
  if (group < 2 || ws[0] != group || ws[1] != 1) return no("not depthwise (needs group == C == M)");
  if (xs.size() != 4 || (xs[1] >= 0 && xs[1] != group)) return no("not depthwise (needs group == C == M)");
  return true;
}

struct Scratch {
  std::vector<float> phases, acc;
  std::vector<const float*> src, wrows;
};

class DepthwiseConv : public Kernel {
 public:
  explicit DepthwiseConv(const ir::Node& node)
      : attrKernel_(node.attrs.getInts("kernel_shape")), group_(node.attrs.getInt("group", 1)), act_(activationOf(node)) {
    window_ = ir::nn::parseWindow(node.attrs, std::vector<int64_t>(2, 1));
  }

  void run(const KernelContext& ctx) const override {
    const dw::Operands op = dw::checkedOperands(ctx, attrKernel_, window_, group_);
    const int64_t N = op.n, C = op.c;
    const nn::Geom3& g = op.g;
    const float *X = op.x, *W = op.w, *B = op.bias, *Z = op.z;
    float* Y = op.y;
    const int64_t inSz = g.inSize(), outSz = g.outSize(), kSz = g.kSize();
    const dw::RowsFn rows = dw::chooseRows();
    parallelFor(ctx.pool, N * C, [&](int64_t p0, int64_t p1) {
      thread_local Scratch s;
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t c = p % C;
        plane(g, X + p * inSz, W + c * kSz, B ? B[c] : 0.f, Z ? Z + p * outSz : nullptr, Y + p * outSz, rows, s);
      }
    });
  }

 private:
  void plane(const nn::Geom3& g, const float* x, const float* w, float bias, const float* z, float* y, dw::RowsFn rowsFn,
             Scratch& s) const {
    const int64_t H = g.in[1], Wd = g.in[2], oh = g.out[1], ow = g.out[2], kh = g.k[1], kw = g.k[2];
    const int64_t sh = g.s[1], sw = g.s[2], dh = g.d[1], dwl = g.d[2], pt = g.pb[1], pl = g.pb[2];
    const int64_t owr = (ow + 7) / 8 * 8;
    // columns of the padded row that any (rounded-up) output reads
    const int64_t wNeed = (owr - 1) * sw + (kw - 1) * dwl + 1;
    const int64_t wp = std::max(pl + Wd, wNeed);
    const int64_t wq = (wp + sw - 1) / sw + 8;
    s.phases.resize(static_cast<size_t>(sw * H * wq));
    float* ph = s.phases.data();
    for (int64_t iy = 0; iy < H; ++iy) {
      const float* xr = x + iy * Wd;
      if (sw == 1) {
        float* d = ph + iy * wq;
        const int64_t lead = std::min(pl, wq), body = std::clamp<int64_t>(wq - pl, 0, Wd);
        std::fill(d, d + lead, 0.f);
        if (pl < 0) {  // negative pads are not produced by windowDim, but stay safe
          for (int64_t q = 0; q < wq; ++q) d[q] = q - pl >= 0 && q - pl < Wd ? xr[q - pl] : 0.f;
          continue;
        }
        std::memcpy(d + lead, xr, static_cast<size_t>(body) * sizeof(float));
        std::fill(d + lead + body, d + wq, 0.f);
        continue;
      }
      for (int64_t phase = 0; phase < sw; ++phase) {
        float* d = ph + (phase * H + iy) * wq;
        for (int64_t q = 0; q < wq; ++q) {
          const int64_t col = q * sw + phase - pl;
          d[q] = col >= 0 && col < Wd ? xr[col] : 0.f;
        }
      }
    }
    s.acc.resize(static_cast<size_t>(owr));
    s.src.resize(static_cast<size_t>(kh * kw));
    s.wrows.resize(static_cast<size_t>(kh));
    RowEpilogue e;
    e.bias = bias;
    e.act = act_;
    for (int64_t oy = 0; oy < oh; ++oy) {
      int64_t nr = 0;
      for (int64_t ky = 0; ky < kh; ++ky) {
        const int64_t iy = oy * sh - pt + ky * dh;
        if (iy < 0 || iy >= H) continue;
        for (int64_t kx = 0; kx < kw; ++kx) {
          const int64_t off = kx * dwl;
          s.src[static_cast<size_t>(nr * kw + kx)] = ph + ((off % sw) * H + iy) * wq + off / sw;
        }
        s.wrows[static_cast<size_t>(nr)] = w + ky * kw;
        ++nr;
      }
      if (nr > 0)
        rowsFn(s.acc.data(), ow, s.src.data(), s.wrows.data(), nr, kw);
      else
        std::fill(s.acc.begin(), s.acc.end(), 0.f);
      e.z = z ? z + oy * ow : nullptr;
      epilogueRow(y + oy * ow, s.acc.data(), ow, e);
    }
  }

  std::vector<int64_t> attrKernel_;
  int64_t group_;
  ir::nn::Window window_;
  ir::FusedActivation act_;
};

}  // namespace

void registerDepthwiseTactics(KernelRegistry& reg) {
  reg.add("Conv", makeTactic<DepthwiseConv>("depthwise", supportsDepthwise));
}

}  // namespace kiln::cpu::fast
