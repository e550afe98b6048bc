// CUDA kernels: RNN, GRU, LSTM (ONNX semantics of the CPU reference, src/backends/cpu/ref/rnn.cpp: every
// direction, layout 0/1, sequence_lens, initial states, peepholes, clip, input_forget, linear_before_reset,
// all ONNX activation functions with alpha/beta).
//
// One block per (direction, batch row) runs the whole sequence: per step the threads compute the gate
// pre-activations (x_t W^T + Wb and h R^T + Rb, one gate row per thread, accumulated in float; double for
// double tensors), then the cell update, with the state in the workspace. Steps past a row's sequence
// length leave Y zero (Y is cleared first) and Y_h/Y_c at the last valid step. sequence_lens is read on the
// device (entries are clamped to [0, seq_length]; the reference rejects others). This is a per-step kernel
// without tensor cores: right for the small recurrent layers of ONNX models, not tuned for large ones.
#include <cmath>
#include <type_traits>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/runtime_params.h"
#include "ir/ops/rnn_common.h"

namespace kiln::gpu {
namespace {

namespace rnn = ir::rnn;

struct Act {
  int kind;
  float alpha, beta;
};

struct RnnArgs {
  int cell;  // 0 RNN, 1 GRU, 2 LSTM
  int64_t S, B, I, H, D, G;
  bool batchMajor, reverseOnly, bidirectional, hasClip, lbr, inputForget;
  float clip;
  Act acts[6];
  const void *x, *w, *r, *bias, *h0, *c0, *p, *lens;
  bool lens64;
  void *y, *yh, *yc;
  void* ws;  //!< per block: gx, gh [G*H], h, c, hn, rh [H] of the accumulation type
};

template <class A>
__device__ A activate(const Act& f, A x) {
  using K = rnn::Activation::Kind;
  const A al = static_cast<A>(f.alpha), be = static_cast<A>(f.beta);
  switch (static_cast<K>(f.kind)) {
    case K::kRELU: return x > A(0) ? x : A(0);
    case K::kTANH: return tanh(x);
    case K::kSIGMOID: return A(1) / (A(1) + exp(-x));
    case K::kAFFINE: return al * x + be;
    case K::kLEAKYRELU: return x >= A(0) ? x : al * x;
    case K::kTHRESHOLDEDRELU: return x > al ? x : A(0);
    case K::kSCALEDTANH: return al * tanh(be * x);
    case K::kHARDSIGMOID: {
      A v = al * x + be;
      return v < A(0) ? A(0) : (v > A(1) ? A(1) : v);
    }
    case K::kELU: return x >= A(0) ? x : al * (exp(x) - A(1));
    case K::kSOFTSIGN: return x / (A(1) + fabs(x));
    case K::kSOFTPLUS: return log1p(exp(-fabs(x))) + (x > A(0) ? x : A(0));
  }
  return x;
}

template <class T, class A>
__global__ void __launch_bounds__(256) recurrentKernel(RnnArgs a) {
  const int64_t d = blockIdx.x / a.B, b = blockIdx.x % a.B;
  const int64_t H = a.H, GH = a.G * a.H, I = a.I, S = a.S, B = a.B, D = a.D;
  A* gx = static_cast<A*>(a.ws) + blockIdx.x * (2 * GH + 4 * H);
  A* gh = gx + GH;
  A* h = gh + GH;
  A* c = h + H;
  A* hn = c + H;
  A* rh = hn + H;
  const T* X = static_cast<const T*>(a.x);
  const T* Wd = static_cast<const T*>(a.w) + d * GH * I;
  const T* Rd = static_cast<const T*>(a.r) + d * GH * H;
  const T* Wb = a.bias ? static_cast<const T*>(a.bias) + d * 2 * GH : nullptr;
  const T* Rb = Wb ? Wb + GH : nullptr;
  const T* Pd = a.p ? static_cast<const T*>(a.p) + d * 3 * H : nullptr;
  const Act* fa = &a.acts[d * (a.cell == 0 ? 1 : a.cell == 1 ? 2 : 3)];
  const bool reverse = a.reverseOnly || (a.bidirectional && d == 1);
  const int64_t stateOff = a.batchMajor ? (b * D + d) * H : (d * B + b) * H;
  auto clip = [&](A v) -> A {
    if (!a.hasClip) return v;
    const A cl = static_cast<A>(a.clip);
    return v < -cl ? -cl : (v > cl ? cl : v);
  };
  auto ld = [](const T* p, int64_t i) -> A { return static_cast<A>(toAcc(p[i])); };
  int64_t len = S;
  if (a.lens) {
    len = a.lens64 ? static_cast<const int64_t*>(a.lens)[b] : static_cast<const int32_t*>(a.lens)[b];
    len = len < 0 ? 0 : (len > S ? S : len);
  }
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    h[j] = a.h0 ? ld(static_cast<const T*>(a.h0), stateOff + j) : A(0);
    c[j] = a.c0 ? ld(static_cast<const T*>(a.c0), stateOff + j) : A(0);
  }
  __syncthreads();
  for (int64_t step = 0; step < len; ++step) {
    const int64_t t = reverse ? len - 1 - step : step;
    const T* xt = X + (a.batchMajor ? (b * S + t) * I : (t * B + b) * I);
    for (int64_t g = threadIdx.x; g < GH; g += blockDim.x) {
      A s = Wb ? ld(Wb, g) : A(0), e = Rb ? ld(Rb, g) : A(0);
      const T* wr = Wd + g * I;
      for (int64_t k = 0; k < I; ++k) s += ld(wr, k) * ld(xt, k);
      const T* rr = Rd + g * H;
      for (int64_t k = 0; k < H; ++k) e += ld(rr, k) * h[k];
      gx[g] = s;
      gh[g] = e;
    }
    __syncthreads();
    if (a.cell == 0) {
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) hn[j] = activate(fa[0], clip(gx[j] + gh[j]));
    } else if (a.cell == 1) {  // gate blocks z, r, h; z kept in c (GRU has no cell state)
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
        c[j] = activate(fa[0], clip(gx[j] + gh[j]));
        rh[j] = activate(fa[0], clip(gx[H + j] + gh[H + j]));
      }
      __syncthreads();
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
        A pre;
        if (a.lbr) {
          pre = gx[2 * H + j] + rh[j] * gh[2 * H + j];
        } else {
          pre = gx[2 * H + j] + (Rb ? ld(Rb, 2 * H + j) : A(0));
          const T* rr = Rd + (2 * H + j) * H;
          for (int64_t k = 0; k < H; ++k) pre += ld(rr, k) * rh[k] * h[k];
        }
        const A ht = activate(fa[1], clip(pre));
        hn[j] = (A(1) - c[j]) * ht + c[j] * h[j];
      }
    } else {  // gate blocks i, o, f, c; peepholes i, o, f
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
        const A pi = Pd ? ld(Pd, j) : A(0), po = Pd ? ld(Pd, H + j) : A(0), pf = Pd ? ld(Pd, 2 * H + j) : A(0);
        const A ig = activate(fa[0], clip(gx[j] + gh[j] + pi * c[j]));
        const A fg = a.inputForget ? A(1) - ig : activate(fa[0], clip(gx[2 * H + j] + gh[2 * H + j] + pf * c[j]));
        const A cg = activate(fa[1], clip(gx[3 * H + j] + gh[3 * H + j]));
        const A cn = fg * c[j] + ig * cg;
        const A og = activate(fa[0], clip(gx[H + j] + gh[H + j] + po * cn));
        c[j] = cn;
        hn[j] = og * activate(fa[2], cn);
      }
    }
    __syncthreads();
    T* y = a.y ? static_cast<T*>(a.y) + (a.batchMajor ? ((b * S + t) * D + d) * H : ((t * D + d) * B + b) * H) : nullptr;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      h[j] = hn[j];
      if (y) y[j] = fromAcc<T>(hn[j]);
    }
    __syncthreads();
  }
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    if (a.yh) static_cast<T*>(a.yh)[stateOff + j] = fromAcc<T>(h[j]);
    if (a.yc) static_cast<T*>(a.yc)[stateOff + j] = fromAcc<T>(c[j]);
  }
}

bool rnnSupports(const ir::Node& n, std::string* why) {
  try {
    (void)rnn::parseParams(n.op, n.attrs);
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
  const DataType t = n.inputs.empty() || !n.inputs[0] ? DataType::kFLOAT : n.inputs[0]->dtype;
  if (!isFloatingType(t)) {
    if (why) *why = std::string("X of type ") + dataTypeName(t) + " is not supported";
    return false;
  }
  return true;
}

class RecurrentKernel final : public Kernel {
 public:
  explicit RecurrentKernel(const ir::Node& n) : op_(n.op), p_(rnn::parseParams(n.op, n.attrs)) {
    std::string why;
    if (!rnnSupports(n, &why)) throw Error(ErrorCode::kUNSUPPORTED_NODE, op_ + ": " + why);
  }
  std::size_t accSize(DataType t) const { return t == DataType::kDOUBLE ? 8 : 4; }
  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView>) const override {
    if (in.size() < 3 || in[0].rank() != 3 || in[2].rank() != 3) return 0;
    const int64_t B = in[0].dim(p_.layout == 1 ? 0 : 1), H = in[2].dim(2), G = rnn::gatesOf(p_.cell);
    return static_cast<std::size_t>(p_.dirs * B * (2 * G * H + 4 * H)) * accSize(in[0].dtype);
  }
  void run(const KernelContext& ctx) const override {
    auto in = [&](int i) -> const TensorView* {
      return i < static_cast<int>(ctx.inputs.size()) && ctx.inputs[static_cast<size_t>(i)].present ? &ctx.inputs[static_cast<size_t>(i)]
                                                                                                    : nullptr;
    };
    auto out = [&](size_t i) -> const TensorView* {
      return i < ctx.outputs.size() && ctx.outputs[i].present && ctx.outputs[i].data ? &ctx.outputs[i] : nullptr;
    };
    const TensorView& x = ctx.inputs[rnn::kX];
    const TensorView& w = ctx.inputs[rnn::kW];
    const TensorView& r = ctx.inputs[rnn::kR];
    auto bad = [&](const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, op_ + ": " + m); };
    if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) bad("X, W and R must have rank 3");
    RnnArgs a{};
    a.cell = p_.cell == rnn::Cell::kRNN ? 0 : p_.cell == rnn::Cell::kGRU ? 1 : 2;
    a.batchMajor = p_.layout == 1;
    a.S = x.dim(a.batchMajor ? 1 : 0);
    a.B = x.dim(a.batchMajor ? 0 : 1);
    a.I = x.dim(2);
    a.D = p_.dirs;
    a.G = rnn::gatesOf(p_.cell);
    a.H = r.dim(2);
    if (w.dim(0) != a.D || r.dim(0) != a.D || w.dim(1) != a.G * a.H || r.dim(1) != a.G * a.H || w.dim(2) != a.I)
      bad("W/R shapes do not match X, direction and hidden size");
    const TensorView* bv = in(rnn::kB);
    const TensorView* sl = in(rnn::kSeqLens);
    const TensorView* h0 = in(rnn::kInitH);
    const TensorView* c0 = a.cell == 2 ? in(rnn::kInitC) : nullptr;
    const TensorView* pv = a.cell == 2 ? in(rnn::kP) : nullptr;
    if (bv && (bv->rank() != 2 || bv->dim(0) != a.D || bv->dim(1) != 2 * a.G * a.H)) bad("B has the wrong shape");
    if (pv && (pv->rank() != 2 || pv->dim(0) != a.D || pv->dim(1) != 3 * a.H)) bad("P has the wrong shape");
    for (const TensorView* s : {h0, c0})
      if (s && (s->rank() != 3 || s->dim(a.batchMajor ? 1 : 0) != a.D || s->dim(a.batchMajor ? 0 : 1) != a.B || s->dim(2) != a.H))
        bad("initial_h/initial_c has the wrong shape");
    if (sl && (sl->rank() != 1 || sl->dim(0) != a.B)) bad("sequence_lens must have batch-size entries");
    if (sl && sl->dtype != DataType::kINT32 && sl->dtype != DataType::kINT64) bad("sequence_lens must be int32 or int64");
    for (const TensorView* v : {&w, &r, bv, h0, c0, pv})
      if (v && v->dtype != x.dtype) bad("all float inputs must have X's type");
    a.reverseOnly = p_.direction == rnn::Direction::kREVERSE;
    a.bidirectional = p_.direction == rnn::Direction::kBIDIRECTIONAL;
    a.hasClip = p_.hasClip;
    a.clip = static_cast<float>(p_.clip);
    a.lbr = p_.linearBeforeReset;
    a.inputForget = p_.inputForget;
    for (size_t i = 0; i < p_.acts.size() && i < 6; ++i)
      a.acts[i] = {static_cast<int>(p_.acts[i].kind), static_cast<float>(p_.acts[i].alpha), static_cast<float>(p_.acts[i].beta)};
    a.x = x.data;
    a.w = w.data;
    a.r = r.data;
    a.bias = bv ? bv->data : nullptr;
    a.h0 = h0 ? h0->data : nullptr;
    a.c0 = c0 ? c0->data : nullptr;
    a.p = pv ? pv->data : nullptr;
    a.lens = sl ? sl->data : nullptr;
    a.lens64 = sl && sl->dtype == DataType::kINT64;
    const TensorView *y = out(0), *yh = out(1), *yc = a.cell == 2 ? out(2) : nullptr;
    a.y = y ? y->data : nullptr;
    a.yh = yh ? yh->data : nullptr;
    a.yc = yc ? yc->data : nullptr;
    a.ws = ctx.workspace;
    cudaStream_t s = streamOf(ctx);
    if (y && y->bytes()) KILN_CUDA_CHECK(cudaMemsetAsync(y->data, 0, y->bytes(), s));
    const int64_t blocks = a.D * a.B;
    if (blocks == 0 || a.H == 0) return;
    if (!ctx.workspace) bad("no workspace");
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, double>) {
        recurrentKernel<T, double><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
      } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) {
        recurrentKernel<T, float><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
      } else {
        bad("X must be a floating-point tensor");
      }
    });
    checkLaunch("recurrentKernel");
  }

 private:
  std::string op_;
  rnn::Params p_;
};

}  // namespace

void registerRecurrentKernels(KernelRegistry& reg) {
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    Tactic t;
    t.name = "cuda";
    t.create = [](const ir::Node& node) -> std::unique_ptr<Kernel> { return std::make_unique<RecurrentKernel>(node); };
    t.supports = &rnnSupports;
    reg.add(op, t);
  }
}

}  // namespace kiln::gpu
