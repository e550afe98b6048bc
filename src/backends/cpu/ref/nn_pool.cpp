// Reference kernels: MaxPool (+Indices), AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool.
#include <algorithm>

#include "backends/cpu/ref/nn_impl.h"

namespace kiln::cpu::nn {
namespace {

enum class PoolKind { kMAX, kAVG, kLP };

int64_t floorDivPos(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); }  // b > 0

//! The taps k in [0, K) of a window starting at `base` with dilation d (> 0) whose position base + k*d lies
//! in [lo, hi), as [first, last) with first == last when there is none. O(1) whatever K is.
std::pair<int64_t, int64_t> tapRange(int64_t base, int64_t d, int64_t K, int64_t lo, int64_t hi) {
  if (hi <= lo) return {0, 0};
  int64_t first = std::max<int64_t>(0, -floorDivPos(base - lo, d));  // ceil((lo - base) / d)
  int64_t last = std::min<int64_t>(K, floorDivPos(hi - 1 - base, d) + 1);
  return {first, std::max(first, last)};
}

class PoolKernel : public Kernel {
 public:
  PoolKernel(const ir::Node& node, PoolKind kind) : kind_(kind) {
    DataType t = node.inputs[0]->dtype;
    bool ok = isFloatingType(t) || (kind == PoolKind::kMAX && (t == DataType::kINT8 || t == DataType::kUINT8));
    if (!ok) unsupported(node, std::string("data type ") + dataTypeName(t) + " is not supported");
    kernel_ = node.attrs.requireInts("kernel_shape");
    if (kernel_.empty() || kernel_.size() > 3) unsupported(node, "only 1-D, 2-D and 3-D pooling is supported");
    window_ = ir::nn::parseWindow(node.attrs, kernel_);
    countIncludePad_ = node.attrs.getInt("count_include_pad", 0) != 0;
    storageOrder_ = node.attrs.getInt("storage_order", 0);
    p_ = static_cast<double>(node.attrs.getInt("p", 2));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    const TensorView* ind = ctx.outputs.size() > 1 && ctx.outputs[1].present ? &ctx.outputs[1] : nullptr;
    if (x.rank() != static_cast<int64_t>(kernel_.size()) + 2 || y.rank() != x.rank())
      badData("pooling: input rank does not match kernel_shape");
    if (y.dim(0) != x.dim(0) || y.dim(1) != x.dim(1)) badData("pooling: output shape mismatch");
    Geom3 g = forwardGeom(x.shape.subspan(2), kernel_, window_, y.shape.subspan(2));
    const int64_t NC = x.dim(0) * x.dim(1);
    const int64_t inSz = g.inSize(), outSz = g.outSize();
    dispatchType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        badData("pooling: bool is not supported");
      } else {
        const T* X = x.as<T>();
        T* Y = y.as<T>();
        int64_t* I = ind ? ind->as<int64_t>() : nullptr;
        for (int64_t nc = 0; nc < NC; ++nc) {
          const T* xp = X + nc * inSz;
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
              for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
                const int64_t o = (o0 * g.out[1] + o1) * g.out[2] + o2;
                const int64_t o_[3] = {o0, o1, o2};
                // per-dim counts of window taps inside the input and inside the padded input, and the
                // taps [kLo, kHi) inside the input: computed, not counted, so that the work does not grow
                // with the window (an untrusted plan may declare a huge window over tiny padded data)
                int64_t inside = 1, padded = 1, kLo[3], kHi[3];
                for (int dd = 0; dd < 3; ++dd) {
                  const int64_t base = o_[dd] * g.s[dd] - g.pb[dd];
                  auto [lo, hi] = tapRange(base, g.d[dd], g.k[dd], 0, g.in[dd]);
                  auto [plo, phi] = tapRange(base, g.d[dd], g.k[dd], -g.pb[dd], g.in[dd] + g.pe[dd]);
                  kLo[dd] = lo;
                  kHi[dd] = hi;
                  inside *= hi - lo;
                  padded *= phi - plo;
                }
                double acc = 0;
                bool found = false;
                T best{};
                int64_t bestIdx = 0;
                for (int64_t k0 = kLo[0]; k0 < kHi[0]; ++k0) {
                  int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                  if (i0 < 0 || i0 >= g.in[0]) continue;
                  for (int64_t k1 = kLo[1]; k1 < kHi[1]; ++k1) {
                    int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    if (i1 < 0 || i1 >= g.in[1]) continue;
                    for (int64_t k2 = kLo[2]; k2 < kHi[2]; ++k2) {
                      int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                      if (i2 < 0 || i2 >= g.in[2]) continue;
                      const int64_t idx = (i0 * g.in[1] + i1) * g.in[2] + i2;
                      const T v = xp[idx];
                      if (kind_ == PoolKind::kMAX) {
                        // the first tap wins ties; a NaN as the first tap stays (NaN compares false)
                        if (!found || toD(v) > toD(best)) {
                          best = v;
                          bestIdx = storageOrder_ ? (i2 * g.in[1] + i1) * g.in[0] + i0 : idx;
                          found = true;
                        }
                      } else if (kind_ == PoolKind::kAVG) {
                        acc += toD(v);
                      } else {
                        acc += std::pow(std::fabs(toD(v)), p_);
                      }
                    }
                  }
                }
                double r;
                if (kind_ == PoolKind::kMAX) {
                  if (!found) {
                    if constexpr (kIsFloat<T>) best = fromD<T>(-std::numeric_limits<double>::infinity());
                    else best = std::numeric_limits<T>::lowest();
                  }
                  Y[nc * outSz + o] = best;
                  if (I) I[nc * outSz + o] = found ? nc * inSz + bestIdx : -1;  // -1: the window holds no input
                  continue;
                } else if (kind_ == PoolKind::kAVG) {
                  int64_t cnt = countIncludePad_ ? padded : inside;
                  r = acc / static_cast<double>(cnt);
                } else {
                  r = std::pow(acc, 1.0 / p_);
                }
                if constexpr (kIsFloat<T>) Y[nc * outSz + o] = fromD<T>(r);
              }
        }
      }
    });
  }

 private:
  PoolKind kind_;
  std::vector<int64_t> kernel_;
  ir::nn::Window window_;
  bool countIncludePad_{false};
  int64_t storageOrder_{0};
  double p_{2};
};

template <PoolKind K>
class PoolKernelT : public PoolKernel {
 public:
  explicit PoolKernelT(const ir::Node& node) : PoolKernel(node, K) {}
};

class GlobalPoolKernel : public Kernel {
 public:
  GlobalPoolKernel(const ir::Node& node, PoolKind kind) : kind_(kind) {
    requireFloatType(node, node.inputs[0]->dtype);
    p_ = static_cast<double>(node.attrs.getInt("p", 2));
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.rank() < 2) badData("global pooling: rank must be >= 2");
    const int64_t NC = x.dim(0) * x.dim(1);
    const int64_t S = NC == 0 ? 0 : x.numel / NC;
    if (y.numel != NC) badData("global pooling: output shape mismatch");
    dispatchFloat(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      for (int64_t nc = 0; nc < NC; ++nc) {
        const T* xp = X + nc * S;
        double r;
        if (kind_ == PoolKind::kMAX) {
          r = -std::numeric_limits<double>::infinity();
          for (int64_t i = 0; i < S; ++i) {
            double v = toD(xp[i]);
            if (std::isnan(v) || v > r) r = v;
            if (std::isnan(r)) break;
          }
        } else if (kind_ == PoolKind::kAVG) {
          double s = 0;
          for (int64_t i = 0; i < S; ++i) s += toD(xp[i]);
          r = s / static_cast<double>(S);
        } else {
          double s = 0;
          for (int64_t i = 0; i < S; ++i) s += std::pow(std::fabs(toD(xp[i])), p_);
          r = std::pow(s, 1.0 / p_);
        }
        Y[nc] = fromD<T>(r);
      }
    });
  }

 private:
  PoolKind kind_;
  double p_{2};
};

template <PoolKind K>
class GlobalPoolKernelT : public GlobalPoolKernel {
 public:
  explicit GlobalPoolKernelT(const ir::Node& node) : GlobalPoolKernel(node, K) {}
};

}  // namespace

void registerPoolKernels(KernelRegistry& reg) {
  reg.add("MaxPool", refTactic<PoolKernelT<PoolKind::kMAX>>());
  reg.add("AveragePool", refTactic<PoolKernelT<PoolKind::kAVG>>());
  reg.add("LpPool", refTactic<PoolKernelT<PoolKind::kLP>>());
  reg.add("GlobalMaxPool", refTactic<GlobalPoolKernelT<PoolKind::kMAX>>());
  reg.add("GlobalAveragePool", refTactic<GlobalPoolKernelT<PoolKind::kAVG>>());
  reg.add("GlobalLpPool", refTactic<GlobalPoolKernelT<PoolKind::kLP>>());
}

}  // namespace kiln::cpu::nn
