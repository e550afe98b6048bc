// Conv and ConvTranspose on cuDNN (1-D, 2-D and 3-D; groups; dilations; bias).
//
// cuDNN pads symmetrically: asymmetric padding (SAME_* with an odd total, explicit pads, kiln ceil_mode)
// pads the input explicitly into the workspace first (Conv) or computes the unpadded result into the
// workspace and crops it (ConvTranspose). Negative pads (ConvTranspose's output_shape beyond the unpadded
// result; the IR refuses negative 'pads' attributes) take the same path: the crop reads zeros outside the
// unpadded result. The algorithm is cuDNN's heuristic choice for each shape, kept per kernel. float32 runs
// without TF32 unless the node has kiln_tf32=1; float16 and bfloat16 use tensor cores and accumulate in
// float32.
#include <cudnn.h>

#include <map>
#include <mutex>

#include "backends/cuda/blas_helpers.h"
#include "backends/gpu.h"
#include "ir/ops/nn_common.h"

namespace kiln::gpu {

namespace {

void checkDnn(cudnnStatus_t st, const char* what) {
  if (st != CUDNN_STATUS_SUCCESS)
    throw Error(ErrorCode::kFAILED_EXECUTION, std::string("cuDNN ") + what + ": " + cudnnGetErrorString(st));
}

constexpr std::size_t kMaxConvWorkspace = 256u << 20;

cudnnDataType_t dnnType(DataType t) {
  switch (t) {
    case DataType::kFLOAT: return CUDNN_DATA_FLOAT;
    case DataType::kHALF: return CUDNN_DATA_HALF;
    case DataType::kBF16: return CUDNN_DATA_BFLOAT16;
    case DataType::kDOUBLE: return CUDNN_DATA_DOUBLE;
    default: throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string("cuDNN convolutions take float types, not ") + dataTypeName(t));
  }
}

bool supportsConv(const ir::Node& n, std::string* why) {
  DataType t = n.outputs[0]->dtype;
  if (t != DataType::kFLOAT && t != DataType::kHALF && t != DataType::kBF16 && t != DataType::kDOUBLE) {
    if (why) *why = std::string("cuDNN convolutions take float types, not ") + dataTypeName(t);
    return false;
  }
  size_t rank = n.inputs[0]->shape.size();
  if (rank < 3 || rank > 5) {
    if (why) *why = "cuDNN convolutions have 1 to 3 spatial dims";
    return false;
  }
  return true;
}

//! Descriptors of one call, destroyed with it.
struct Descs {
  cudnnTensorDescriptor_t x{nullptr}, y{nullptr}, bias{nullptr};
  cudnnFilterDescriptor_t w{nullptr};
  cudnnConvolutionDescriptor_t conv{nullptr};
  Descs() {
    checkDnn(cudnnCreateTensorDescriptor(&x), "create tensor desc");
    checkDnn(cudnnCreateTensorDescriptor(&y), "create tensor desc");
    checkDnn(cudnnCreateTensorDescriptor(&bias), "create tensor desc");
    checkDnn(cudnnCreateFilterDescriptor(&w), "create filter desc");
    checkDnn(cudnnCreateConvolutionDescriptor(&conv), "create conv desc");
  }
  ~Descs() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

std::vector<int> packedStrides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size());
  int acc = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

//! `dims` in cuDNN's order [N, C, spatial...]; `nhwc`: the memory holds [N, spatial..., C].
void setTensor(cudnnTensorDescriptor_t d, cudnnDataType_t t, const std::vector<int>& dims, bool nhwc = false) {
  if (nhwc) {
    checkDnn(cudnnSetTensorNdDescriptorEx(d, CUDNN_TENSOR_NHWC, t, static_cast<int>(dims.size()), dims.data()),
             "set NHWC tensor desc");
    return;
  }
  std::vector<int> st = packedStrides(dims);
  checkDnn(cudnnSetTensorNdDescriptor(d, t, static_cast<int>(dims.size()), dims.data(), st.data()), "set tensor desc");
}

int toInt(int64_t v) {
  if (v > INT32_MAX || v < 0) throw Error(ErrorCode::kUNSUPPORTED_NODE, "a convolution extent exceeds cuDNN's 32-bit range");
  return static_cast<int>(v);
}

int toSignedInt(int64_t v) {
  if (v > INT32_MAX || v < INT32_MIN) throw Error(ErrorCode::kUNSUPPORTED_NODE, "a convolution padding exceeds 32 bits");
  return static_cast<int>(v);
}

//! Geometry of one call after resolving auto_pad against the actual input extents. Spatial vectors have
//! at least 2 entries (1-D convolutions get a leading extent-1 dim).
struct Geometry {
  int n{0}, c{0}, m{0};                 // batch, input channels, output channels
  std::vector<int> in, out, k;          // spatial extents (X, Y, kernel)
  std::vector<int> stride, dil;
  std::vector<int> padBegin, padEnd;
  bool symmetric{true};
  std::vector<int> padded;              // Conv: X extents after explicit padding (if !symmetric)
  std::vector<int> full;                // ConvTranspose: unpadded output extents (if !symmetric)
  int cPad{0};                          // ConvNHWC float16/bfloat16 with C % 8 != 0: C rounded up to 8 (zeros)
  bool operator<(const Geometry& o) const {
    return std::tie(n, c, m, in, out, k, stride, dil, padBegin, padEnd) <
           std::tie(o.n, o.c, o.m, o.in, o.out, o.k, o.stride, o.dil, o.padBegin, o.padEnd);
  }
};

struct AlgoChoice {
  int algo{0};
  std::size_t workspace{0};  //!< cuDNN's own scratch
};

class ConvBase : public Kernel {
 public:
  //! `fused`: one cudnnConvolutionBiasActivationForward call does bias, residual and ReLU (see supportsFused).
  ConvBase(const ir::Node& n, bool transpose, int forcedAlgo = -1, bool fused = false)
      : transpose_(transpose),
        fused_(fused),
        nhwc_(n.op == "ConvNHWC"),
        forcedAlgo_(forcedAlgo), dtype_(n.outputs[0]->dtype), group_(static_cast<int>(n.attrs.getInt("group", 1))) {
    size_t spatial = n.inputs[0]->shape.size() - 2;
    window_ = ir::nn::parseWindow(n.attrs, std::vector<int64_t>(spatial, 1));
    if (transpose) {
      outputPadding_ = n.attrs.getInts("output_padding", std::vector<int64_t>(spatial, 0));
      outputShape_ = n.attrs.getInts("output_shape");
    }
    tf32_ = n.attrs.getInt("kiln_tf32", 0) != 0;
    act_ = parseAct(n.attrs);
    if (group_ < 1) throw Error(ErrorCode::kUNSUPPORTED_NODE, "group must be positive");
  }

  std::size_t workspaceSize(std::span<const TensorView> in, std::span<const TensorView> out) const override {
    Geometry g = geometry(in[0], in[1], out[0]);
    AlgoChoice a = choose(g);
    return align(a.workspace) + align(extraBytes(g));
  }

  void run(const KernelContext& ctx) const override {
    const TensorView& X = ctx.inputs[0];
    const TensorView& W = ctx.inputs[1];
    const TensorView& Y = ctx.outputs[0];
    if (Y.numel == 0) return;
    cudaStream_t s = streamOf(ctx);
    if (X.numel == 0 || W.numel == 0) {  // empty input or kernel: the result is the bias (or zeros)
      KILN_CUDA_CHECK(cudaMemsetAsync(Y.data, 0, Y.bytes(), s));
      epilogue(ctx, s);
      return;
    }
    Geometry g = geometry(X, W, Y);
    AlgoChoice a = choose(g);
    std::size_t need = align(a.workspace) + align(extraBytes(g));
    if (ctx.workspaceBytes < need) throw Error(ErrorCode::kFAILED_EXECUTION, "convolution workspace too small");
    void* dnnWs = ctx.workspace;
    void* extra = static_cast<uint8_t*>(ctx.workspace) + align(a.workspace);
    cudnnHandle_t h = cudnnHandle();
    checkDnn(cudnnSetStream(h, s), "set stream");
    Descs d;
    describe(d, g);
    float onef = 1.f, zerof = 0.f;
    double oned = 1.0, zerod = 0.0;
    const void* one = dtype_ == DataType::kDOUBLE ? static_cast<const void*>(&oned) : &onef;
    const void* zero = dtype_ == DataType::kDOUBLE ? static_cast<const void*>(&zerod) : &zerof;
    std::size_t esz = dataTypeSize(dtype_);
    if (!transpose_) {
      const void* xin = X.data;
      if (!g.symmetric) {
        std::vector<int64_t> src{g.n, g.c}, dst{g.n, g.c}, begin{0, 0};
        for (size_t i = 0; i < g.in.size(); ++i) {
          src.push_back(g.in[i]);
          dst.push_back(g.padded[i]);
          begin.push_back(g.padBegin[i]);
        }
        copyWindow(extra, dst, X.data, src, begin, esz, s);
        xin = extra;
      }
      const void* win = W.data;
      if (g.cPad) {  // zero channels up to a multiple of 8: cuDNN's tensor-core NHWC kernels need them
        const int64_t pix = static_cast<int64_t>(X.numel / g.c), taps = W.numel / g.c;
        const std::vector<int64_t> xs{pix, g.c}, xd{pix, g.cPad}, ws{taps, g.c}, wdst{taps, g.cPad}, zero2{0, 0};
        void* wpad = static_cast<uint8_t*>(extra) + align(static_cast<std::size_t>(pix) * g.cPad * esz);
        copyWindow(extra, xd, X.data, xs, zero2, esz, s);
        copyWindow(wpad, wdst, W.data, ws, zero2, esz, s);
        xin = extra;
        win = wpad;
      }
      if (fused_) {
        runFused(ctx, d, g, a, xin, win, dnnWs);
        return;
      }
      checkDnn(cudnnConvolutionForward(h, one, d.x, xin, d.w, win, d.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(a.algo), dnnWs, a.workspace, zero, d.y,
                                       Y.data),
               "convolution forward");
      epilogue(ctx, s);
    } else {
      void* yout = g.symmetric ? Y.data : extra;
      checkDnn(cudnnConvolutionBackwardData(h, one, d.w, W.data, d.x, X.data, d.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(a.algo), dnnWs, a.workspace,
                                            zero, d.y, yout),
               "transposed convolution");
      if (!g.symmetric) {
        std::vector<int64_t> src{g.n, g.m}, dst{g.n, g.m}, begin{0, 0};
        for (size_t i = 0; i < g.out.size(); ++i) {
          src.push_back(g.full[i]);
          dst.push_back(g.out[i]);
          begin.push_back(-g.padBegin[i]);
        }
        copyWindow(Y.data, dst, extra, src, begin, esz, s);
      }
      epilogue(ctx, s);
    }
  }

 private:
  static std::size_t align(std::size_t b) { return (b + 255) / 256 * 256; }

  std::size_t extraBytes(const Geometry& g) const {
    if (g.cPad) {  // the channel-padded X and W (NHWC is always symmetric)
      std::size_t px = static_cast<std::size_t>(g.n), taps = static_cast<std::size_t>(g.m);
      for (int v : g.in) px *= static_cast<std::size_t>(v);
      for (int v : g.k) taps *= static_cast<std::size_t>(v);
      return align(px * static_cast<std::size_t>(g.cPad) * dataTypeSize(dtype_)) +
             taps * static_cast<std::size_t>(g.cPad) * dataTypeSize(dtype_);
    }
    if (g.symmetric) return 0;
    std::size_t e = static_cast<std::size_t>(g.n) * static_cast<std::size_t>(transpose_ ? g.m : g.c);
    for (int v : transpose_ ? g.full : g.padded) e *= static_cast<std::size_t>(v);
    return e * dataTypeSize(dtype_);
  }

  Geometry geometry(const TensorView& X, const TensorView& W, const TensorView& Y) const {
    Geometry g;
    size_t sp = X.shape.size() - 2;
    // channels-first: [N, C, spatial...]; ConvNHWC: [N, spatial..., C] (W: [M, k..., C/group])
    const int64_t chan = nhwc_ ? X.rank() - 1 : 1, sp0 = nhwc_ ? 1 : 2;
    g.n = toInt(X.dim(0));
    g.c = toInt(X.dim(chan));
    g.m = toInt(Y.dim(chan));
    if (W.shape.size() != X.shape.size()) throw Error(ErrorCode::kFAILED_EXECUTION, "weights rank differs from the input's");
    for (size_t i = 0; i < sp; ++i) {
      int64_t in = X.dim(static_cast<int64_t>(sp0 + i)), k = W.dim(static_cast<int64_t>(sp0 + i));
      int64_t st = window_.strides[i], dl = window_.dilations[i];
      ir::nn::WindowDim wd;
      if (!transpose_) {
        wd = ir::nn::windowDim(in, k, st, dl, window_.pads[i], window_.pads[i + sp], window_.autoPad, window_.ceilMode);
      } else {
        int64_t os = outputShape_.empty() ? -1 : outputShape_[outputShape_.size() == sp ? i : i + 2];
        wd = ir::nn::convTransposeDim(in, k, st, dl, outputPadding_[i], window_.pads[i], window_.pads[i + sp],
                                      window_.autoPad, os);
      }
      if (wd.out != Y.dim(static_cast<int64_t>(sp0 + i)))
        throw Error(ErrorCode::kFAILED_EXECUTION, "convolution output extent differs from the inferred one");
      // negative pads: never cuDNN's; copyWindow zero-extends the unpadded result (ConvTranspose) or crops X
      if (wd.padBegin < 0 || wd.padEnd < 0) g.symmetric = false;
      g.in.push_back(toInt(in));
      g.out.push_back(toInt(wd.out));
      g.k.push_back(toInt(k));
      g.stride.push_back(toInt(st));
      g.dil.push_back(toInt(dl));
      g.padBegin.push_back(toSignedInt(wd.padBegin));
      g.padEnd.push_back(toSignedInt(wd.padEnd));
      int64_t eff = dl * (k - 1) + 1;
      if (!transpose_) {
        // explicit padding: enough for every window of the (possibly ceil-mode) output
        int64_t padded = in + wd.padBegin + wd.padEnd;
        int64_t needed = (wd.out - 1) * st + eff;
        g.padded.push_back(toInt(std::max(padded, needed)));
        bool cudnnSame = wd.padBegin == wd.padEnd && (in + 2 * wd.padBegin - eff) / st + 1 == wd.out;
        if (!cudnnSame || window_.ceilMode) g.symmetric = false;
      } else {
        int64_t full = st * (in - 1) + eff + outputPadding_[i];
        g.full.push_back(toInt(full));
        if (wd.padBegin != wd.padEnd || full - 2 * wd.padBegin != wd.out) g.symmetric = false;
      }
    }
    if (nhwc_ && !g.symmetric)
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "channels-last convolutions take symmetric padding only");
    if (nhwc_ && !transpose_ && group_ == 1 && g.c % 8 != 0 && (dtype_ == DataType::kHALF || dtype_ == DataType::kBF16))
      g.cPad = (g.c + 7) / 8 * 8;
    if (sp == 1) {  // cuDNN wants at least 2 spatial dims: a leading extent-1 dim
      for (auto* v : {&g.in, &g.out, &g.k, &g.stride, &g.dil}) v->insert(v->begin(), 1);
      g.padBegin.insert(g.padBegin.begin(), 0);
      g.padEnd.insert(g.padEnd.begin(), 0);
      if (!g.padded.empty()) g.padded.insert(g.padded.begin(), 1);
      if (!g.full.empty()) g.full.insert(g.full.begin(), 1);
    }
    return g;
  }

  void describe(Descs& d, const Geometry& g) const {
    cudnnDataType_t t = dnnType(dtype_);
    size_t sp = g.in.size();
    const int cIn = g.cPad ? g.cPad : g.c;
    std::vector<int> xd{g.n, cIn}, yd{g.n, g.m}, wd;
    std::vector<int> pads(sp), st = g.stride, dl = g.dil;
    for (size_t i = 0; i < sp; ++i) {
      if (!transpose_) {
        xd.push_back(g.symmetric ? g.in[i] : g.padded[i]);
        yd.push_back(g.out[i]);
      } else {
        xd.push_back(g.in[i]);
        yd.push_back(g.symmetric ? g.out[i] : g.full[i]);
      }
      pads[i] = g.symmetric ? g.padBegin[i] : 0;
    }
    if (!transpose_) {
      wd = {g.m, cIn / group_};
    } else {
      wd = {g.c, g.m / group_};  // the forward filter of the adjoint convolution
    }
    for (int k : g.k) wd.push_back(k);
    setTensor(d.x, t, xd, nhwc_);
    setTensor(d.y, t, yd, nhwc_);
    checkDnn(cudnnSetFilterNdDescriptor(d.w, t, nhwc_ ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, static_cast<int>(wd.size()),
                                        wd.data()),
             "set filter");
    cudnnDataType_t acc = dtype_ == DataType::kDOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    checkDnn(cudnnSetConvolutionNdDescriptor(d.conv, static_cast<int>(sp), pads.data(), st.data(), dl.data(),
                                             CUDNN_CROSS_CORRELATION, acc),
             "set convolution");
    checkDnn(cudnnSetConvolutionGroupCount(d.conv, group_), "set group count");
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    if (dtype_ == DataType::kFLOAT) math = tf32_ ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    if (dtype_ == DataType::kHALF || dtype_ == DataType::kBF16) math = CUDNN_TENSOR_OP_MATH;
    checkDnn(cudnnSetConvolutionMathType(d.conv, math), "set math type");
  }

  AlgoChoice choose(const Geometry& g) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(g);
      if (it != cache_.end()) return it->second;
    }
    cudnnHandle_t h = cudnnHandle();
    Descs d;
    describe(d, g);
    AlgoChoice best;
    bool found = false;
    if (!transpose_ && forcedAlgo_ >= 0) {
      std::size_t ws = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, static_cast<cudnnConvolutionFwdAlgo_t>(forcedAlgo_),
                                                  &ws) == CUDNN_STATUS_SUCCESS &&
          ws <= kMaxConvWorkspace) {
        best = {forcedAlgo_, ws};
        found = true;
      }
      // else: this algorithm cannot do this shape; the heuristics below choose
    }
    if (found) {
    } else if (!transpose_) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int n = 0;
      checkDnn(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
               "forward algorithm heuristics");
      for (int i = 0; i < n && !found; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxConvWorkspace) {
          best = {static_cast<int>(perf[i].algo), perf[i].memory};
          found = true;
        }
    } else {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int n = 0;
      checkDnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.x, d.conv, d.y, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                           &n, perf),
               "backward-data algorithm heuristics");
      for (int i = 0; i < n && !found; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxConvWorkspace) {
          best = {static_cast<int>(perf[i].algo), perf[i].memory};
          found = true;
        }
    }
    if (!found) throw Error(ErrorCode::kFAILED_EXECUTION, "cuDNN offers no algorithm for this convolution");
    std::lock_guard<std::mutex> lock(mu_);
    cache_[g] = best;
    return best;
  }

  //! y = act(conv(x) + z + bias) in one cuDNN call: act is ReLU or none; without a residual, z is y with
  //! weight 0.
  void runFused(const KernelContext& ctx, Descs& d, const Geometry& g, const AlgoChoice& a, const void* xin,
                const void* win, void* dnnWs) const {
    const TensorView& Y = ctx.outputs[0];
    const void* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? ctx.inputs[3].data : nullptr;
    std::vector<int> bd(2 + g.in.size(), 1);
    bd[1] = g.m;
    setTensor(d.bias, dnnType(dtype_), bd);
    cudnnActivationDescriptor_t actDesc = nullptr;
    checkDnn(cudnnCreateActivationDescriptor(&actDesc), "create activation desc");
    struct Guard {
      cudnnActivationDescriptor_t a;
      ~Guard() { cudnnDestroyActivationDescriptor(a); }
    } guard{actDesc};
    checkDnn(cudnnSetActivationDescriptor(actDesc, act_.act == Act::kRelu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                                          CUDNN_PROPAGATE_NAN, 0.0),
             "set activation");
    float onef = 1.f, alpha2 = z ? 1.f : 0.f;
    checkDnn(cudnnConvolutionBiasActivationForward(cudnnHandle(), &onef, d.x, xin, d.w, win, d.conv,
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(a.algo), dnnWs, a.workspace,
                                                   &alpha2, d.y, z ? z : Y.data, d.bias, ctx.inputs[2].data, actDesc,
                                                   d.y, Y.data),
             "fused convolution forward");
  }

  //! Bias, residual (Conv's input 3) and fused activation in one pass over Y.
  void epilogue(const KernelContext& ctx, cudaStream_t s) const {
    const TensorView& Y = ctx.outputs[0];
    const void* bias = ctx.inputs.size() > 2 && ctx.inputs[2].present && ctx.inputs[2].numel ? ctx.inputs[2].data : nullptr;
    const void* z = ctx.inputs.size() > 3 && ctx.inputs[3].present ? ctx.inputs[3].data : nullptr;
    int64_t inner = 1;
    if (!nhwc_)
      for (size_t i = 2; i < Y.shape.size(); ++i) inner *= Y.shape[i];
    applyEpilogue(Y.data, dtype_, Y.numel, bias, Y.dim(nhwc_ ? Y.rank() - 1 : 1), inner, z, act_, s);
  }

  bool transpose_;
  bool fused_;
  bool nhwc_;       //!< ConvNHWC: channels-last X/Y/Z, KRSC weights
  int forcedAlgo_;  //!< a cuDNN forward algorithm chosen by tactic timing, -1: cuDNN's heuristics
  DataType dtype_;
  int group_;
  bool tf32_{false};
  ActParams act_;
  ir::nn::Window window_;
  std::vector<int64_t> outputPadding_, outputShape_;
  mutable std::mutex mu_;
  mutable std::map<Geometry, AlgoChoice> cache_;
};

//! The explicit GEMM, FFT-tiling and non-fused Winograd algorithms: not for grouped convolutions. cuDNN either
//! falls back to its heuristic choice there (the "cudnn" tactic, timed again) or runs them group by group:
//! FFT tiling on efficientnet_b0's depthwise layers took 10-24 ms a run (0.007 ms with the implicit GEMM)
//! and 27 s of setup in one layer's timing.
bool supportsUngroupedConv(const ir::Node& n, std::string* why) {
  if (!supportsConv(n, why)) return false;
  if (n.attrs.getInt("group", 1) != 1) {
    if (why) *why = "this cuDNN algorithm is no candidate for grouped convolutions";
    return false;
  }
  return true;
}

//! cudnnConvolutionBiasActivationForward: a bias, ReLU or no activation (no activation only with the
//! precomputed implicit GEMM), float16/bfloat16/float32.
bool supportsFused(const ir::Node& n, std::string* why) {
  if (!supportsConv(n, why)) return false;
  const std::string act = n.attrs.getString("kiln_act", "");
  if (!act.empty() && act != "Relu") {
    if (why) *why = "cuDNN's fused convolution applies ReLU only";
    return false;
  }
  if (n.inputs.size() < 3 || !n.inputs[2] || n.outputs[0]->dtype == DataType::kDOUBLE) {
    if (why) *why = "cuDNN's fused convolution needs a bias";
    return false;
  }
  return true;
}

}  // namespace

void registerConvKernels(KernelRegistry& reg) {
  // One tactic per cuDNN forward algorithm: the builder times them against cuDNN's heuristic choice
  // ("cudnn", registered last).
  static const std::pair<const char*, int> algos[] = {
      {"cudnn_implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM},
      {"cudnn_implicit_precomp_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM},
      {"cudnn_gemm", CUDNN_CONVOLUTION_FWD_ALGO_GEMM},
      {"cudnn_fft_tiling", CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING},
      {"cudnn_winograd_nonfused", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED},
  };
  for (const auto& [name, algo] : algos) {
    Tactic f;
    f.name = name;
    const bool implicit = algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    f.supports = implicit ? supportsConv : supportsUngroupedConv;
    switch (algo) {  // a capture-less lambda per algorithm
      case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
        f.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM); };
        break;
      case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
        f.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM); };
        break;
      case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
        f.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false, CUDNN_CONVOLUTION_FWD_ALGO_GEMM); };
        break;
      case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
        f.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING); };
        break;
      default:
        f.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED); };
        break;
    }
    reg.add("Conv", f);
    // Channels-last (NHWC float16/bfloat16): cuDNN has no GEMM, FFT or non-fused Winograd kernels for it; the
    // legacy API then falls back to its heuristic choice (the "cudnn" tactic, timed again for nothing, about a
    // third of resnet50's timing) or fails. Only the implicit GEMMs are candidates there.
    if (implicit) reg.add("ConvNHWC", f);
  }
  Tactic fused;  // bias + residual + ReLU in cuDNN's one call
  fused.name = "cudnn_fused";
  fused.supports = supportsFused;
  fused.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> {
    const bool relu = n.attrs.getString("kiln_act", "") == "Relu";
    return std::make_unique<ConvBase>(n, false, relu ? -1 : static_cast<int>(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM),
                                      true);
  };
  reg.add("Conv", fused);
  reg.add("ConvNHWC", fused);
  Tactic c;
  c.name = "cudnn";
  c.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, false); };
  c.supports = supportsConv;
  reg.add("Conv", c);  // last: the default when tactics are not timed
  reg.add("ConvNHWC", c);
  Tactic t;
  t.name = "cudnn";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<ConvBase>(n, true); };
  t.supports = supportsConv;
  reg.add("ConvTranspose", t);
}

}  // namespace kiln::gpu
