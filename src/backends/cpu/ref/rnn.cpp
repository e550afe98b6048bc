// Reference kernels of the recurrent family: RNN, GRU, LSTM (ONNX semantics, every direction, layout 0/1,
// sequence_lens, initial states, peepholes, clip, all ONNX activation functions). Computes in double, one
// batch row at a time; steps past a row's sequence length leave Y zero and Y_h/Y_c at the last valid step.
#include <cstring>
#include <vector>

#include "backends/cpu/kernel.h"
#include "backends/cpu/ref/tensor_impl.h"
#include "ir/ops/rnn_common.h"

namespace kiln::cpu {
namespace {

using namespace ir::rnn;
using tensor_ref::fromDouble;
using tensor_ref::toDouble;

[[noreturn]] void bad(const std::string& op, const std::string& msg) {
  throw Error(ErrorCode::kINVALID_ARGUMENT, op + ": " + msg);
}

template <class T>
std::vector<double> readAll(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel));
  const T* p = v.as<const T>();
  for (int64_t i = 0; i < v.numel; ++i) out[static_cast<size_t>(i)] = toDouble(p[i]);
  return out;
}

class RecurrentKernel : public Kernel {
 public:
  explicit RecurrentKernel(const ir::Node& node) : op_(node.op), p_(parseParams(node.op, node.attrs)) {}

  void run(const KernelContext& ctx) const override {
    dispatchType(ctx.inputs[kX].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16>)
        runTyped<T>(ctx);
      else
        bad(op_, "X must be a floating-point tensor");
    });
  }

 private:
  const TensorView* in(const KernelContext& ctx, int i) const {
    if (i >= static_cast<int>(ctx.inputs.size()) || !ctx.inputs[static_cast<size_t>(i)].present) return nullptr;
    return &ctx.inputs[static_cast<size_t>(i)];
  }

  template <class T>
  void runTyped(const KernelContext& ctx) const {
    const TensorView& x = ctx.inputs[kX];
    const TensorView& w = ctx.inputs[kW];
    const TensorView& r = ctx.inputs[kR];
    if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) bad(op_, "X, W and R must have rank 3");
    const bool bm = p_.layout == 1;
    const int64_t S = x.dim(bm ? 1 : 0), B = x.dim(bm ? 0 : 1), I = x.dim(2);
    const int64_t D = p_.dirs, G = gatesOf(p_.cell), H = r.dim(2);
    if (w.dim(0) != D || r.dim(0) != D || w.dim(1) != G * H || r.dim(1) != G * H || w.dim(2) != I)
      bad(op_, "W/R shapes do not match X, direction and hidden size");
    const TensorView* bv = in(ctx, kB);
    const TensorView* sl = in(ctx, kSeqLens);
    const TensorView* h0 = in(ctx, kInitH);
    const TensorView* c0 = p_.cell == Cell::kLSTM ? in(ctx, kInitC) : nullptr;
    const TensorView* pv = p_.cell == Cell::kLSTM ? in(ctx, kP) : nullptr;
    if (bv && (bv->rank() != 2 || bv->dim(0) != D || bv->dim(1) != 2 * G * H)) bad(op_, "B has the wrong shape");
    if (pv && (pv->rank() != 2 || pv->dim(0) != D || pv->dim(1) != 3 * H)) bad(op_, "P has the wrong shape");
    for (const TensorView* s : {h0, c0})
      if (s && (s->rank() != 3 || s->dim(bm ? 1 : 0) != D || s->dim(bm ? 0 : 1) != B || s->dim(2) != H))
        bad(op_, "initial_h/initial_c has the wrong shape");
    std::vector<int64_t> lens(static_cast<size_t>(B), S);
    if (sl) {
      if (sl->rank() != 1 || sl->dim(0) != B) bad(op_, "sequence_lens must have batch-size entries");
      for (int64_t b = 0; b < B; ++b) {
        int64_t l = sl->dtype == DataType::kINT64 ? sl->as<const int64_t>()[b] : sl->as<const int32_t>()[b];
        if (l < 0 || l > S) bad(op_, "sequence_lens entry " + std::to_string(l) + " is outside [0, seq_length]");
        lens[static_cast<size_t>(b)] = l;
      }
    }
    const std::vector<double> X = readAll<T>(x), W = readAll<T>(w), R = readAll<T>(r);
    const std::vector<double> Bs = bv ? readAll<T>(*bv) : std::vector<double>(static_cast<size_t>(D * 2 * G * H), 0.0);
    const std::vector<double> P = pv ? readAll<T>(*pv) : std::vector<double>(static_cast<size_t>(D * 3 * H), 0.0);
    const std::vector<double> H0 = h0 ? readAll<T>(*h0) : std::vector<double>();
    const std::vector<double> C0 = c0 ? readAll<T>(*c0) : std::vector<double>();

    const TensorView* yv = ctx.outputs.size() > 0 && ctx.outputs[0].data ? &ctx.outputs[0] : nullptr;
    const TensorView* yhv = ctx.outputs.size() > 1 && ctx.outputs[1].data ? &ctx.outputs[1] : nullptr;
    const TensorView* ycv = ctx.outputs.size() > 2 && ctx.outputs[2].data ? &ctx.outputs[2] : nullptr;
    if (yv) std::memset(yv->data, 0, yv->bytes());  // steps past a sequence's length stay zero (T(0) is all-zero bits)

    auto xAt = [&](int64_t t, int64_t b) { return &X[static_cast<size_t>(bm ? (b * S + t) * I : (t * B + b) * I)]; };
    auto stateIdx = [&](int64_t d, int64_t b) { return static_cast<size_t>(bm ? (b * D + d) * H : (d * B + b) * H); };
    auto yIdx = [&](int64_t t, int64_t d, int64_t b) {
      return bm ? ((b * S + t) * D + d) * H : ((t * D + d) * B + b) * H;
    };
    auto clip = [&](double v) { return p_.hasClip ? std::clamp(v, -p_.clip, p_.clip) : v; };

    const size_t GH = static_cast<size_t>(G * H), Hs = static_cast<size_t>(H);
    std::vector<double> h(Hs), c(Hs), gx(GH), gh(GH), hn(Hs), rh(Hs);
    for (int64_t d = 0; d < D; ++d) {
      const bool reverse = p_.direction == Direction::kREVERSE || (p_.direction == Direction::kBIDIRECTIONAL && d == 1);
      const double* Wd = &W[static_cast<size_t>(d) * GH * static_cast<size_t>(I)];
      const double* Rd = &R[static_cast<size_t>(d) * GH * Hs];
      const double* Wb = &Bs[static_cast<size_t>(d) * 2 * GH];
      const double* Rb = Wb + GH;
      const double* Pd = &P[static_cast<size_t>(d) * 3 * Hs];
      const Activation* fa = &p_.acts[static_cast<size_t>(d) * funcsOf(p_.cell)];
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = lens[static_cast<size_t>(b)];
        for (size_t j = 0; j < Hs; ++j) {
          h[j] = h0 ? H0[stateIdx(d, b) + j] : 0.0;
          c[j] = c0 ? C0[stateIdx(d, b) + j] : 0.0;
        }
        for (int64_t step = 0; step < len; ++step) {
          const int64_t t = reverse ? len - 1 - step : step;
          const double* xt = xAt(t, b);
          for (size_t g = 0; g < GH; ++g) {
            double a = Wb[g], e = Rb[g];
            const double* wr = Wd + g * static_cast<size_t>(I);
            for (int64_t k = 0; k < I; ++k) a += wr[k] * xt[k];
            const double* rr = Rd + g * Hs;
            for (size_t k = 0; k < Hs; ++k) e += rr[k] * h[k];
            gx[g] = a;
            gh[g] = e;
          }
          switch (p_.cell) {
            case Cell::kRNN:
              for (size_t j = 0; j < Hs; ++j) hn[j] = fa[0](clip(gx[j] + gh[j]));
              break;
            case Cell::kGRU: {
              // gate blocks: z [0, H), r [H, 2H), h [2H, 3H)
              std::vector<double>& z = c;  // GRU has no cell state: reuse c for z
              for (size_t j = 0; j < Hs; ++j) {
                z[j] = fa[0](clip(gx[j] + gh[j]));
                rh[j] = fa[0](clip(gx[Hs + j] + gh[Hs + j]));  // r
              }
              for (size_t j = 0; j < Hs; ++j) {
                double pre;
                if (p_.linearBeforeReset) {
                  pre = gx[2 * Hs + j] + rh[j] * gh[2 * Hs + j];
                } else {
                  pre = gx[2 * Hs + j] + Rb[2 * Hs + j];
                  const double* rr = Rd + (2 * Hs + j) * Hs;
                  for (size_t k = 0; k < Hs; ++k) pre += rr[k] * rh[k] * h[k];
                }
                double ht = fa[1](clip(pre));
                hn[j] = (1 - z[j]) * ht + z[j] * h[j];
              }
              break;
            }
            case Cell::kLSTM:
              // gate blocks: i, o, f, c; peepholes P: i, o, f
              for (size_t j = 0; j < Hs; ++j) {
                double ig = fa[0](clip(gx[j] + gh[j] + Pd[j] * c[j]));
                double fg = p_.inputForget ? 1 - ig : fa[0](clip(gx[2 * Hs + j] + gh[2 * Hs + j] + Pd[2 * Hs + j] * c[j]));
                double cg = fa[1](clip(gx[3 * Hs + j] + gh[3 * Hs + j]));
                double cn = fg * c[j] + ig * cg;
                double og = fa[0](clip(gx[Hs + j] + gh[Hs + j] + Pd[Hs + j] * cn));
                c[j] = cn;
                hn[j] = og * fa[2](cn);
              }
              break;
          }
          h.swap(hn);
          if (yv) {
            T* y = yv->as<T>() + yIdx(t, d, b);
            for (size_t j = 0; j < Hs; ++j) y[j] = fromDouble<T>(h[j]);
          }
        }
        if (yhv) {
          T* y = yhv->as<T>() + stateIdx(d, b);
          for (size_t j = 0; j < Hs; ++j) y[j] = fromDouble<T>(h[j]);
        }
        if (ycv) {
          T* y = ycv->as<T>() + stateIdx(d, b);
          for (size_t j = 0; j < Hs; ++j) y[j] = fromDouble<T>(c[j]);
        }
      }
    }
  }

  std::string op_;
  Params p_;
};

}  // namespace

void registerScanKernels(KernelRegistry& reg);  // scan.cpp

void registerRnnKernels(KernelRegistry& reg) {
  registerScanKernels(reg);
  for (const char* op : {"RNN", "GRU", "LSTM"}) reg.add(op, refTactic<RecurrentKernel>());
}

}  // namespace kiln::cpu
