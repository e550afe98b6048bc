// Small device helpers of the GEMM and convolution tactics: broadcasting a bias into an output, and
// copying a window of an N-d tensor with zero fill (explicit padding before cuDNN, cropping after it).
#include "backends/cuda/blas_helpers.h"
#include "backends/cuda/epilogue.cuh"

namespace kiln::gpu {

namespace {

template <class T>
__global__ void broadcastKernel(T* __restrict__ dst, const T* __restrict__ src, DimsArg d, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int k = d.rank - 1; k >= 0; --k) {
      int64_t c = rem % d.dims[k];
      rem /= d.dims[k];
      off += c * d.strides[k];
    }
    dst[i] = src[off];
  }
}

template <class T>
__global__ void windowKernel(T* __restrict__ dst, const T* __restrict__ src, WindowCopyArg a, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    bool inside = true;
    for (int k = a.rank - 1; k >= 0; --k) {
      int64_t c = rem % a.outDims[k];
      rem /= a.outDims[k];
      int64_t s = c - a.begin[k];
      inside = inside && s >= 0 && s < a.inDims[k];
      off += s * a.inStrides[k];
    }
    dst[i] = inside ? src[off] : T(0);
  }
}

template <class T>
void launchBroadcast(void* dst, const void* src, const DimsArg& d, int64_t n, cudaStream_t s) {
  broadcastKernel<T><<<blocksFor(n), 256, 0, s>>>(static_cast<T*>(dst), static_cast<const T*>(src), d, n);
}

template <class T>
void launchWindow(void* dst, const void* src, const WindowCopyArg& a, int64_t n, cudaStream_t s) {
  windowKernel<T><<<blocksFor(n), 256, 0, s>>>(static_cast<T*>(dst), static_cast<const T*>(src), a, n);
}

template <class T>
__global__ void epilogueKernel(T* __restrict__ y, int64_t n, const T* __restrict__ bias, int64_t channels, int64_t inner,
                               const T* __restrict__ z, ActParams a) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    A v = toAcc(y[i]);
    if (bias) v += toAcc(bias[(i / inner) % channels]);
    if (z) v += toAcc(z[i]);
    v = applyAct(v, a);
    y[i] = fromAcc<T>(v);
  }
}

}  // namespace

ActParams parseAct(const ir::Attributes& attrs) {
  ActParams p;
  std::string name = attrs.getString("kiln_act", "");
  p.alpha = static_cast<float>(attrs.getFloat("kiln_act_alpha", 0.0));
  p.beta = static_cast<float>(attrs.getFloat("kiln_act_beta", 0.0));
  if (name.empty()) p.act = Act::kNone;
  else if (name == "Relu") p.act = Act::kRelu;
  else if (name == "Clip") p.act = Act::kClip;
  else if (name == "LeakyRelu") {
    p.act = Act::kLeakyRelu;
    p.alpha = static_cast<float>(attrs.getFloat("kiln_act_alpha", 0.01));
  }
  else if (name == "Sigmoid") p.act = Act::kSigmoid;
  else if (name == "Tanh") p.act = Act::kTanh;
  else if (name == "HardSigmoid") {
    p.act = Act::kHardSigmoid;
    p.alpha = static_cast<float>(attrs.getFloat("kiln_act_alpha", 0.2));
    p.beta = static_cast<float>(attrs.getFloat("kiln_act_beta", 0.5));
  } else if (name == "HardSwish") p.act = Act::kHardSwish;
  else if (name == "Silu") p.act = Act::kSilu;
  else if (name == "Gelu") p.act = Act::kGelu;
  else throw Error(ErrorCode::kUNSUPPORTED_NODE, "fused activation '" + name + "' has no GPU epilogue");
  if (p.act == Act::kClip && !attrs.has("kiln_act_alpha")) p.alpha = -3.4028234663852886e38f;
  if (p.act == Act::kClip && !attrs.has("kiln_act_beta")) p.beta = 3.4028234663852886e38f;
  return p;
}

void applyEpilogue(void* y, DataType dtype, int64_t n, const void* bias, int64_t channels, int64_t inner, const void* z,
                   const ActParams& act, cudaStream_t stream) {
  if (n == 0 || (!bias && !z && act.act == Act::kNone)) return;
  if (channels < 1) channels = 1;
  if (inner < 1) inner = 1;
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    epilogueKernel<T><<<blocksFor(n), 256, 0, stream>>>(static_cast<T*>(y), n, static_cast<const T*>(bias), channels,
                                                         inner, static_cast<const T*>(z), act);
  };
  switch (dtype) {
    case DataType::kFLOAT: launch(float{}); break;
    case DataType::kHALF: launch(__half{}); break;
    case DataType::kBF16: launch(__nv_bfloat16{}); break;
    case DataType::kDOUBLE: launch(double{}); break;
    default: throw Error(ErrorCode::kUNSUPPORTED_NODE, "epilogue on a non-float type");
  }
  checkLaunch("epilogue");
}

void broadcastInto(void* dst, std::span<const int64_t> dstShape, const void* src, std::span<const int64_t> srcShape,
                   std::size_t elemSize, cudaStream_t stream) {
  DimsArg d = broadcastStrides(srcShape, dstShape);
  int64_t n = 1;
  for (int64_t x : dstShape) n *= x;
  if (n == 0) return;
  switch (elemSize) {
    case 2: launchBroadcast<uint16_t>(dst, src, d, n, stream); break;
    case 4: launchBroadcast<uint32_t>(dst, src, d, n, stream); break;
    case 8: launchBroadcast<uint64_t>(dst, src, d, n, stream); break;
    default: throw Error(ErrorCode::kUNSUPPORTED_NODE, "broadcastInto: element size " + std::to_string(elemSize));
  }
  checkLaunch("broadcast");
}

void copyWindow(void* dst, std::span<const int64_t> dstShape, const void* src, std::span<const int64_t> srcShape,
                std::span<const int64_t> begin, std::size_t elemSize, cudaStream_t stream) {
  WindowCopyArg a;
  a.rank = static_cast<int32_t>(dstShape.size());
  if (a.rank > kMaxDims || srcShape.size() != dstShape.size() || begin.size() != dstShape.size())
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "copyWindow: bad ranks");
  int64_t stride = 1, n = 1;
  for (int k = a.rank - 1; k >= 0; --k) {
    a.outDims[k] = dstShape[static_cast<size_t>(k)];
    a.inDims[k] = srcShape[static_cast<size_t>(k)];
    a.begin[k] = begin[static_cast<size_t>(k)];
    a.inStrides[k] = stride;
    stride *= a.inDims[k];
    n *= a.outDims[k];
  }
  if (n == 0) return;
  switch (elemSize) {
    case 2: launchWindow<uint16_t>(dst, src, a, n, stream); break;
    case 4: launchWindow<uint32_t>(dst, src, a, n, stream); break;
    case 8: launchWindow<uint64_t>(dst, src, a, n, stream); break;
    default: throw Error(ErrorCode::kUNSUPPORTED_NODE, "copyWindow: element size " + std::to_string(elemSize));
  }
  checkLaunch("copyWindow");
}

}  // namespace kiln::gpu
