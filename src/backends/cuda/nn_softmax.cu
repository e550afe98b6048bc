// GPU kernels: Softmax, LogSoftmax (one pass of an online max/sum-of-exp state, one pass writing) and
// Hardmax. The row is [O, R, I] around the axis: I == 1 (last axis) uses a warp with the row in registers
// (R <= 1024) or a block per row, I > 1 a thread per (o, i) column (coalesced over i).
//
// The online state (m, s) keeps s = sum of exp(x - m) with m the largest non-NaN value; an element equal
// to m counts 1 (so that several +inf or an all -inf row give the reference's NaN/0 pattern), a NaN makes
// s NaN (the reference gives an all-NaN row).
#include "backends/cuda/nn_common.cuh"

namespace kiln::gpu::nn {
namespace {

template <class A>
struct SmState {
  A m, s;
};
template <class A>
__device__ __forceinline__ void smAdd(SmState<A>& st, A v) {
  if (v > st.m) {
    st.s = st.s * exp(st.m - v) + A(1);
    st.m = v;
  } else if (v == st.m) {
    st.s += A(1);
  } else {
    st.s += exp(v - st.m);
  }
}
template <class A>
__device__ __forceinline__ SmState<A> smMerge(SmState<A> a, SmState<A> b) {
  if (a.m == b.m) return {a.m, a.s + b.s};
  if (a.m > b.m) return {a.m, a.s + b.s * exp(b.m - a.m)};
  return {b.m, b.s + a.s * exp(a.m - b.m)};
}

template <bool Log, class A>
__device__ __forceinline__ A smOut(A v, A m, A inv, A logS) {
  if constexpr (Log) return v - m - logS;
  else return exp(v - m) * inv;
}

//! R <= 32 * V: a warp per row with the row in registers (V values per lane). The same rules as the online
//! state: m = the largest non-NaN value, s = sum of (x == m ? 1 : exp(x - m)).
template <class T, bool Log, int V>
__global__ void softmaxWarpCachedKernel(const T* __restrict__ x, T* __restrict__ y, int64_t O, int R) {
  using A = typename Acc<T>::type;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  auto maxOp = [](A a, A b) { return fmax(a, b); };
  auto addOp = [](A a, A b) { return a + b; };
  for (int64_t o = warp; o < O; o += nwarps) {
    const T* xr = x + o * R;
    T* yr = y + o * R;
    A v[V];
    A m = A(-INFINITY);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      v[j] = r < R ? toAcc(xr[r]) : A(-INFINITY);
      m = fmax(m, v[j]);
    }
    m = warpAll(m, maxOp);
    A s = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      const A e = exp(v[j] - m);
      if (r < R) s += v[j] == m ? A(1) : e;
      v[j] = Log ? v[j] - m : e;
    }
    s = warpAll(s, addOp);
    const A inv = A(1) / s, logS = log(s);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int r = lane + 32 * j;
      if (r < R) yr[r] = fromAcc<T>(Log ? v[j] - logS : v[j] * inv);
    }
  }
}

template <class T, bool Log>
__global__ void softmaxBlockKernel(const T* __restrict__ x, T* __restrict__ y, int64_t O, int64_t R) {
  using A = typename Acc<T>::type;
  auto merge = [](SmState<A> a, SmState<A> b) { return smMerge(a, b); };
  for (int64_t o = blockIdx.x; o < O; o += gridDim.x) {
    const T* xr = x + o * R;
    T* yr = y + o * R;
    SmState<A> st{A(-INFINITY), A(0)};
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) smAdd(st, toAcc(xr[r]));
    st = blockAll(st, merge);
    const A inv = A(1) / st.s, logS = log(st.s);
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) yr[r] = fromAcc<T>(smOut<Log>(toAcc(xr[r]), st.m, inv, logS));
  }
}

template <class T, bool Log>
__global__ void softmaxColsKernel(const T* __restrict__ x, T* __restrict__ y, int64_t O, int64_t R, int64_t I) {
  using A = typename Acc<T>::type;
  const int64_t n = O * I;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = t / I, i = t - o * I;
    const T* xc = x + o * R * I + i;
    T* yc = y + o * R * I + i;
    SmState<A> st{A(-INFINITY), A(0)};
    for (int64_t r = 0; r < R; ++r) smAdd(st, toAcc(xc[r * I]));
    const A inv = A(1) / st.s, logS = log(st.s);
    for (int64_t r = 0; r < R; ++r) yc[r * I] = fromAcc<T>(smOut<Log>(toAcc(xc[r * I]), st.m, inv, logS));
  }
}

//! Hardmax: a thread per (o, i); 1 at the first maximum (a NaN at index 0 wins, later NaNs are skipped).
template <class T>
__global__ void hardmaxKernel(const T* __restrict__ x, T* __restrict__ y, int64_t O, int64_t R, int64_t I) {
  using A = typename Acc<T>::type;
  const int64_t n = O * I;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = t / I, i = t - o * I;
    const T* xc = x + o * R * I + i;
    T* yc = y + o * R * I + i;
    A best = toAcc(xc[0]);
    int64_t arg = 0;
    for (int64_t r = 1; r < R; ++r) {
      A v = toAcc(xc[r * I]);
      if (v > best) {
        best = v;
        arg = r;
      }
    }
    for (int64_t r = 0; r < R; ++r) yc[r * I] = fromAcc<T>(A(r == arg ? 1 : 0));
  }
}

enum class SoftKind { kSOFTMAX, kLOGSOFTMAX, kHARDMAX };

template <SoftKind K>
class SoftmaxKernel final : public Kernel {
 public:
  explicit SoftmaxKernel(const ir::Node& node) : attrs_(node.attrs) {
    if (!isFloatT(node.inputs[0]->dtype))
      unsupported(node, std::string("data type ") + dataTypeName(node.inputs[0]->dtype) + " is not supported");
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (x.numel != y.numel) badData("softmax: output shape mismatch");
    if (x.numel == 0) return;
    const int64_t axis = ir::nn::softmaxAxis(attrs_, x.rank());
    int64_t O = 1, R = 1, I = 1;
    for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? O : d == axis ? R : I) *= x.dim(d);
    cudaStream_t st = streamOf(ctx);
    dispatchFloatDev(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.as<T>();
      T* Y = y.as<T>();
      if constexpr (K == SoftKind::kHARDMAX) {
        hardmaxKernel<T><<<blocksFor(O * I), 256, 0, st>>>(X, Y, O, R, I);
        checkLaunch("hardmax");
      } else {
        constexpr bool kLog = K == SoftKind::kLOGSOFTMAX;
        if (I > 1) {
          softmaxColsKernel<T, kLog><<<blocksFor(O * I), 256, 0, st>>>(X, Y, O, R, I);
          checkLaunch("softmaxCols");
        } else if (R <= 64) {
          softmaxWarpCachedKernel<T, kLog, 2><<<blocksFor(O * 32), 256, 0, st>>>(X, Y, O, static_cast<int>(R));
          checkLaunch("softmaxWarp");
        } else if (R <= 256) {
          softmaxWarpCachedKernel<T, kLog, 8><<<blocksFor(O * 32), 256, 0, st>>>(X, Y, O, static_cast<int>(R));
          checkLaunch("softmaxWarp");
        } else if (R <= 1024) {
          softmaxWarpCachedKernel<T, kLog, 32><<<blocksFor(O * 32), 256, 0, st>>>(X, Y, O, static_cast<int>(R));
          checkLaunch("softmaxWarp");
        } else {
          const int threads = R >= 8192 ? 1024 : 256;
          unsigned blocks = static_cast<unsigned>(std::min<int64_t>(O, 65535LL * 16));
          softmaxBlockKernel<T, kLog><<<blocks, threads, 0, st>>>(X, Y, O, R);
          checkLaunch("softmaxBlock");
        }
      }
    });
  }

 private:
  ir::Attributes attrs_;
};

template <SoftKind K>
Tactic softTactic() {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<SoftmaxKernel<K>>(n); };
  return t;
}

}  // namespace

void registerSoftmaxKernels(KernelRegistry& reg) {
  reg.add("Softmax", softTactic<SoftKind::kSOFTMAX>());
  reg.add("LogSoftmax", softTactic<SoftKind::kLOGSOFTMAX>());
  reg.add("Hardmax", softTactic<SoftKind::kHARDMAX>());
}

}  // namespace kiln::gpu::nn
