// Private helpers of the elementwise GPU kernels (src/backends/cuda/elementwise*.cu): element types and
// their compute types, the broadcast plan (dims merged like the CPU reference's loop), 32-bit fast
// division, and the flat / broadcast launchers for unary, binary and ternary maps. Not a public header.
//
// Conventions: floats are computed in float (double stays double) and rounded once to the output type;
// integers in their own type with wrapping arithmetic; bool inputs are read as bytes (non-zero = true).
// Launch modes: "flat" (every input is either the output's shape or a single element: contiguous,
// vectorized 16-byte accesses where aligned) and "general" (merged dims with per-input strides, 32-bit
// index math with multiply-shift division when the output has < 2^31 elements, 64-bit otherwise).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/cuda/cuda_common.h"

namespace kiln::gpu::ew {

using backend::SupportsFn;

// Sub-family registration functions (one per .cu file), called by registerElementwiseKernels.
void registerBinaryArithKernels(KernelRegistry& reg);
void registerCompareKernels(KernelRegistry& reg);
void registerBinaryMiscKernels(KernelRegistry& reg);
void registerPowKernels(KernelRegistry& reg);
void registerActivationKernels(KernelRegistry& reg);
void registerUnaryMathKernels(KernelRegistry& reg);
void registerCastKernels(KernelRegistry& reg);

constexpr int kThreads = 256;

// ---------------------------------------------------------------------------------------------------------
// Element types

template <class T>
inline constexpr bool kFloat = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, __half> ||
                               std::is_same_v<T, __nv_bfloat16>;
template <class T>
inline constexpr bool kInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <class T>
inline constexpr bool kNumeric = kFloat<T> || kInt<T>;
template <class T>
inline constexpr bool kSInt = kInt<T> && std::is_signed_v<T>;

//! The type an element is computed in: float for float/half/bf16, double for double, else itself.
template <class T>
struct CmpOf {
  using type = T;
};
template <>
struct CmpOf<float> {
  using type = float;
};
template <>
struct CmpOf<double> {
  using type = double;
};
template <>
struct CmpOf<__half> {
  using type = float;
};
template <>
struct CmpOf<__nv_bfloat16> {
  using type = float;
};
template <class T>
using Cmp = typename CmpOf<T>::type;

template <class T>
__device__ __forceinline__ Cmp<T> ld(T v) {
  if constexpr (kFloat<T>)
    return toAcc(v);
  else
    return v;
}

//! A compute value to an element of type O (bool: != 0; float types: round to nearest even).
template <class O, class R>
__device__ __forceinline__ O st(R r) {
  if constexpr (std::is_same_v<O, bool>)
    return static_cast<bool>(r);
  else if constexpr (kFloat<O>)
    return fromAcc<O>(static_cast<Cmp<O>>(r));
  else
    return static_cast<O>(r);
}

//! Unsigned type wide enough that arithmetic on it does not promote to (signed) int.
template <class T>
using WrapU = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T>
__device__ __forceinline__ T wrapNeg(T v) {
  return static_cast<T>(WrapU<T>{0} - static_cast<WrapU<T>>(v));
}

//! Double to an integer type like the CPU reference: truncate toward zero, NaN -> 0, saturate.
template <class I>
__device__ __forceinline__ I saturateToInt(double v) {
  if (isnan(v)) return I{0};
  v = trunc(v);
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::lowest());
  constexpr double hiExcl =
      std::is_signed_v<I> ? -lo : 2.0 * (static_cast<double>(std::numeric_limits<I>::max() / 2) + 1.0);
  if (v <= lo) return std::numeric_limits<I>::lowest();
  if (v >= hiExcl) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

//! Vector of V elements for one 16-byte (or smaller) access.
template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <class... Ts>
constexpr int vecWidth() {
  constexpr std::size_t m = std::max({sizeof(Ts)...});
  constexpr int v = static_cast<int>(16 / m);
  return v > 8 ? 8 : (v < 1 ? 1 : v);
}

inline bool aligned(const void* p, std::size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

//! Device element type of a kiln type for loads: bool is read as bytes.
template <class T>
using LoadT = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

[[noreturn]] inline void unsupportedType(const char* op, DataType t) {
  throw Error(ErrorCode::kUNSUPPORTED_NODE, std::string(op) + ": data type " + dataTypeName(t) + " is not supported on the GPU");
}

// ---------------------------------------------------------------------------------------------------------
// Broadcast plan (host) and geometry (device)

//! Multiply-shift division for 32-bit dividends and divisors < 2^31.
struct FastDiv {
  uint32_t d{1}, mul{1}, shr{0};
};
inline FastDiv makeFastDiv(uint32_t d) {
  FastDiv f;
  f.d = d;
  uint32_t s = 0;
  while (s < 32 && (uint64_t{1} << s) < d) ++s;
  f.shr = s;
  f.mul = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << s) - d)) / d + 1);
  return f;
}

//! The broadcast of N inputs to an output: dims of extent 1 dropped, adjacent dims merged where every
//! input is contiguous across them (outermost first).
template <int N>
struct Plan {
  int64_t total{0};
  int rank{0};
  int64_t dims[kMaxDims]{};
  int64_t st[N][kMaxDims]{};
  bool flat{false};  //!< rank <= 1: every input is full (stride 1) or a single element (stride 0)
  bool full[N]{};
};

template <int N>
Plan<N> makePlan(std::span<const int64_t> out, const std::array<std::span<const int64_t>, N>& ins) {
  Plan<N> p;
  const size_t rank = out.size();
  p.total = 1;
  for (int64_t d : out) p.total *= d;
  std::array<std::vector<int64_t>, N> strides;
  for (int k = 0; k < N; ++k) {
    const auto& in = ins[k];
    if (in.size() > rank)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "input of rank " + std::to_string(in.size()) +
                                                    " cannot broadcast to an output of rank " + std::to_string(rank));
    strides[k].assign(rank, 0);
    const size_t off = rank - in.size();
    int64_t acc = 1;
    for (size_t i = in.size(); i-- > 0;) {
      int64_t d = in[i], o = out[off + i];
      if (d != o && d != 1)
        throw Error(ErrorCode::kINVALID_ARGUMENT, "input shape " + ir::shapeToString(ir::Shape(in.begin(), in.end())) +
                                                      " does not broadcast to the output shape " +
                                                      ir::shapeToString(ir::Shape(out.begin(), out.end())));
      strides[k][off + i] = d == 1 ? 0 : acc;
      acc *= d;
    }
  }
  if (p.total == 0) return p;
  std::vector<int64_t> dims;
  std::array<std::vector<int64_t>, N> st;
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;
    bool merge = !dims.empty();
    for (int k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][i] * out[i];
    if (merge) {
      dims.back() *= out[i];
      for (int k = 0; k < N; ++k) st[k].back() = strides[k][i];
    } else {
      dims.push_back(out[i]);
      for (int k = 0; k < N; ++k) st[k].push_back(strides[k][i]);
    }
  }
  if (dims.size() > static_cast<size_t>(kMaxDims))
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "the GPU elementwise kernels handle up to " + std::to_string(kMaxDims) +
                                                  " non-mergeable broadcast dimensions, got " + std::to_string(dims.size()));
  p.rank = static_cast<int>(dims.size());
  for (int d = 0; d < p.rank; ++d) {
    p.dims[d] = dims[static_cast<size_t>(d)];
    for (int k = 0; k < N; ++k) p.st[k][d] = st[k][static_cast<size_t>(d)];
  }
  p.flat = p.rank <= 1;
  for (int k = 0; k < N; ++k) p.full[k] = p.rank == 1 && p.st[k][0] == 1;
  return p;
}

//! Kernel-side geometry: dims innermost first; I = uint32_t (with fast division) or int64_t.
template <int N, class I>
struct Geo {
  int32_t rank{0};
  I dims[kMaxDims]{};
  uint32_t mul[kMaxDims]{};
  uint32_t shr[kMaxDims]{};
  I st[N][kMaxDims]{};
};

template <int N, class I>
Geo<N, I> makeGeo(const Plan<N>& p) {
  Geo<N, I> g;
  g.rank = p.rank;
  for (int d = 0; d < p.rank; ++d) {
    const int s = p.rank - 1 - d;  // innermost first
    g.dims[d] = static_cast<I>(p.dims[s]);
    if constexpr (sizeof(I) == 4) {
      FastDiv f = makeFastDiv(static_cast<uint32_t>(p.dims[s]));
      g.mul[d] = f.mul;
      g.shr[d] = f.shr;
    }
    for (int k = 0; k < N; ++k) g.st[k][d] = static_cast<I>(p.st[k][s]);
  }
  return g;
}

//! Element offsets of output index i in every input.
template <int N, class I>
__device__ __forceinline__ void offsetsOf(const Geo<N, I>& g, I i, I (&off)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
  I rem = i;
#pragma unroll
  for (int d = 0; d < kMaxDims; ++d) {
    if (d == g.rank - 1) {
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += rem * g.st[k][d];
      break;
    }
    I q;
    if constexpr (sizeof(I) == 4)
      q = (__umulhi(rem, g.mul[d]) + rem) >> g.shr[d];
    else
      q = rem / g.dims[d];
    const I c = rem - q * g.dims[d];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] += c * g.st[k][d];
    rem = q;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Unary map: y[i] = st<O>(op(ld(x[i])))

template <class Op, class T, class O>
__global__ void __launch_bounds__(kThreads) unaryFlatKernel(Op op, const T* x, O* y, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (vec) {
    constexpr int V = vecWidth<T, O>();
    const int64_t nv = n / V;
    const Pack<T, V>* xv = reinterpret_cast<const Pack<T, V>*>(x);
    Pack<O, V>* yv = reinterpret_cast<Pack<O, V>*>(y);
    for (int64_t j = i; j < nv; j += stride) {
      Pack<T, V> a = xv[j];
      Pack<O, V> r;
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = st<O>(op(ld(a.v[e])));
      yv[j] = r;
    }
    i += nv * V;
  }
  for (; i < n; i += stride) y[i] = st<O>(op(ld(x[i])));
}

template <class Op, class T, class O>
void launchUnary(const Op& op, const TensorView& x, const TensorView& y, cudaStream_t s, const char* name) {
  if (x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(name) + ": output size differs from the input's");
  const int64_t n = y.numel;
  if (n == 0) return;
  constexpr int V = vecWidth<T, O>();
  const bool vec = V > 1 && aligned(x.data, sizeof(T) * V) && aligned(y.data, sizeof(O) * V) && n >= V;
  unaryFlatKernel<Op, T, O><<<blocksFor(vec ? n / V : n, kThreads), kThreads, 0, s>>>(
      op, static_cast<const T*>(x.data), static_cast<O*>(y.data), n, vec);
  checkLaunch(name);
}

// ---------------------------------------------------------------------------------------------------------
// Binary map with broadcasting: y[i] = st<O>(op(ld(a[..]), ld(b[..])))

template <class Op, class TA, class TB, class O>
__global__ void __launch_bounds__(kThreads)
    binaryFlatKernel(Op op, const TA* a, const TB* b, O* y, int64_t n, bool aFull, bool bFull, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const TA a0 = aFull ? TA{} : a[0];
  const TB b0 = bFull ? TB{} : b[0];
  if (vec) {
    constexpr int V = vecWidth<TA, TB, O>();
    const int64_t nv = n / V;
    for (int64_t j = i; j < nv; j += stride) {
      Pack<TA, V> pa;
      Pack<TB, V> pb;
      if (aFull) {
        pa = reinterpret_cast<const Pack<TA, V>*>(a)[j];
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) pa.v[e] = a0;
      }
      if (bFull) {
        pb = reinterpret_cast<const Pack<TB, V>*>(b)[j];
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) pb.v[e] = b0;
      }
      Pack<O, V> r;
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = st<O>(op(ld(pa.v[e]), ld(pb.v[e])));
      reinterpret_cast<Pack<O, V>*>(y)[j] = r;
    }
    i += nv * V;
  }
  for (; i < n; i += stride) y[i] = st<O>(op(ld(aFull ? a[i] : a0), ld(bFull ? b[i] : b0)));
}

//! vec: the innermost merged dim is a multiple of the pack width, every input's innermost stride is 0
//! or 1 and the pointers are aligned: each thread handles one pack of V outputs within a row, loading
//! the inputs of stride 1 as packs and broadcasting the others.
template <class Op, class TA, class TB, class O, class I>
__global__ void __launch_bounds__(kThreads)
    binaryGeneralKernel(Op op, const TA* a, const TB* b, O* y, I n, Geo<2, I> g, bool vec) {
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  const I tid = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (vec) {
    constexpr int V = vecWidth<TA, TB, O>();
    const I nv = n / V;
    const bool aRow = g.st[0][0] != 0, bRow = g.st[1][0] != 0;
    for (I j = tid; j < nv; j += stride) {
      I off[2];
      offsetsOf<2, I>(g, j * V, off);
      Pack<TA, V> pa;
      Pack<TB, V> pb;
      if (aRow) {
        pa = *reinterpret_cast<const Pack<TA, V>*>(a + off[0]);
      } else {
        const TA v = a[off[0]];
#pragma unroll
        for (int e = 0; e < V; ++e) pa.v[e] = v;
      }
      if (bRow) {
        pb = *reinterpret_cast<const Pack<TB, V>*>(b + off[1]);
      } else {
        const TB v = b[off[1]];
#pragma unroll
        for (int e = 0; e < V; ++e) pb.v[e] = v;
      }
      Pack<O, V> r;
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = st<O>(op(ld(pa.v[e]), ld(pb.v[e])));
      *reinterpret_cast<Pack<O, V>*>(y + static_cast<int64_t>(j) * V) = r;
    }
    return;
  }
  for (I i = tid; i < n; i += stride) {
    I off[2];
    offsetsOf<2, I>(g, i, off);
    y[i] = st<O>(op(ld(a[off[0]]), ld(b[off[1]])));
  }
}

//! Whether the general kernel can work on packs of V (see binaryGeneralKernel).
template <int N>
bool generalVec(const Plan<N>& p, int V, const std::array<const void*, N>& ins, const std::array<std::size_t, N>& sizes,
                const void* out, std::size_t outSize) {
  if (V <= 1 || p.rank < 2 || p.dims[p.rank - 1] % V != 0) return false;
  if (!aligned(out, outSize * V)) return false;
  for (int k = 0; k < N; ++k) {
    const int64_t s = p.st[k][p.rank - 1];
    if (s > 1) return false;
    if (s == 1 && !aligned(ins[k], sizes[k] * V)) return false;
  }
  return true;
}

//! y = op(a, b) with numpy broadcasting of a and b to y's shape.
template <class Op, class TA, class TB, class O>
void launchBinary(const Op& op, const TensorView& a, const TensorView& b, const TensorView& y, cudaStream_t s,
                  const char* name) {
  const Plan<2> p = makePlan<2>(y.shape, {a.shape, b.shape});
  if (p.total != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(name) + ": output size mismatch");
  if (p.total == 0) return;
  const TA* pa = static_cast<const TA*>(a.data);
  const TB* pb = static_cast<const TB*>(b.data);
  O* py = static_cast<O*>(y.data);
  if (p.flat) {
    constexpr int V = vecWidth<TA, TB, O>();
    const bool vec = V > 1 && p.total >= V && (!p.full[0] || aligned(pa, sizeof(TA) * V)) &&
                     (!p.full[1] || aligned(pb, sizeof(TB) * V)) && aligned(py, sizeof(O) * V);
    binaryFlatKernel<Op, TA, TB, O><<<blocksFor(vec ? p.total / V : p.total, kThreads), kThreads, 0, s>>>(
        op, pa, pb, py, p.total, p.full[0], p.full[1], vec);
  } else if (p.total < (int64_t{1} << 31)) {
    constexpr int V = vecWidth<TA, TB, O>();
    const bool vec = generalVec<2>(p, V, {pa, pb}, {sizeof(TA), sizeof(TB)}, py, sizeof(O));
    binaryGeneralKernel<Op, TA, TB, O, uint32_t><<<blocksFor(vec ? p.total / V : p.total, kThreads), kThreads, 0, s>>>(
        op, pa, pb, py, static_cast<uint32_t>(p.total), makeGeo<2, uint32_t>(p), vec);
  } else {
    binaryGeneralKernel<Op, TA, TB, O, int64_t><<<blocksFor(p.total, kThreads), kThreads, 0, s>>>(
        op, pa, pb, py, p.total, makeGeo<2, int64_t>(p), false);
  }
  checkLaunch(name);
}

// ---------------------------------------------------------------------------------------------------------
// Tactic registration

template <class K>
Tactic cudaTactic(SupportsFn supports) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<K>(n); };
  t.supports = supports;
  return t;
}

inline DataType inType(const ir::Node& n, size_t k) {
  return k < n.inputs.size() && n.inputs[k] ? n.inputs[k]->dtype : DataType::kFLOAT;
}

//! Whether Op::ok<T> holds for the device type of t (false for an unknown type).
template <class Op>
bool accepts(DataType t) {
  bool ok = false;
  try {
    dispatchDeviceType(t, [&](auto tag) { ok = Op::template ok<decltype(tag)>(); });
  } catch (const Error&) {
    ok = false;
  }
  return ok;
}

inline bool rejectType(const ir::Node& n, DataType t, std::string* why) {
  if (why) *why = n.op + ": data type " + std::string(dataTypeName(t)) + " is not supported on the GPU";
  return false;
}

//! Calls a bool op with bool arguments (bool tensors are read as bytes; any non-zero byte is true).
template <class Op>
struct BoolArgs {
  Op op;
  template <class A, class B>
  __device__ __forceinline__ bool operator()(A a, B b) const {
    return op(a != 0, b != 0);
  }
};

//! A binary op with numpy broadcasting, both inputs of the same type. Op provides a constructor from the
//! node, `template <class T> static constexpr bool ok()` (accepted element types), `kBoolOut`, and a
//! __device__ operator()(C a, C b) on compute values (Cmp<T>; bool for bool inputs).
template <class Op>
class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(const ir::Node& n) : op_(n), name_(n.op) {}
  static bool supports(const ir::Node& n, std::string* why) {
    DataType t = inType(n, 0);
    if (!accepts<Op>(t)) return rejectType(n, t, why);
    if (inType(n, 1) != t) {
      if (why) *why = n.op + ": both inputs must have the same type";
      return false;
    }
    return true;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (a.dtype != b.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, name_ + ": mismatched input types");
    dispatchDeviceType(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!Op::template ok<T>()) {
        unsupportedType(name_.c_str(), a.dtype);
      } else if constexpr (std::is_same_v<T, bool>) {
        launchBinary<BoolArgs<Op>, uint8_t, uint8_t, bool>(BoolArgs<Op>{op_}, a, b, y, streamOf(ctx), name_.c_str());
      } else {
        using O = std::conditional_t<Op::kBoolOut, bool, T>;
        launchBinary<Op, T, T, O>(op_, a, b, y, streamOf(ctx), name_.c_str());
      }
    });
  }

 private:
  Op op_;
  std::string name_;
};

template <class Op>
void addBinary(KernelRegistry& reg, const char* op) {
  reg.add(op, cudaTactic<BinaryKernel<Op>>(&BinaryKernel<Op>::supports));
}

//! A one-input op. Op provides a constructor from the node, `template <class T> static constexpr bool
//! ok()`, `kBoolOut` (bool output, else the input's type) and a __device__ operator()(C x) on compute
//! values (Cmp<T>; bytes for bool inputs).
template <class Op>
class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(const ir::Node& n) : op_(n), name_(n.op) {}
  static bool supports(const ir::Node& n, std::string* why) {
    DataType t = inType(n, 0);
    if (!accepts<Op>(t)) return rejectType(n, t, why);
    return true;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!Op::template ok<T>()) {
        unsupportedType(name_.c_str(), x.dtype);
      } else {
        using L = LoadT<T>;
        using O = std::conditional_t<Op::kBoolOut, bool, L>;
        launchUnary<Op, L, O>(op_, x, y, streamOf(ctx), name_.c_str());
      }
    });
  }

 private:
  Op op_;
  std::string name_;
};

template <class Op>
void addUnary(KernelRegistry& reg, const char* op) {
  reg.add(op, cudaTactic<UnaryKernel<Op>>(&UnaryKernel<Op>::supports));
}

//! A float attribute in both precisions (float math for float/half/bf16, double for double).
struct Param {
  float f{0};
  double d{0};
  Param() = default;
  explicit Param(double v) : f(static_cast<float>(v)), d(v) {}
  template <class C>
  __device__ __forceinline__ C get() const {
    if constexpr (std::is_same_v<C, double>)
      return d;
    else
      return f;
  }
};

// Math functions on float (the f-suffixed CUDA function) or double.
#define KILN_EW_MATH1(name)                                  \
  template <class C>                                         \
  __device__ __forceinline__ C m_##name(C x) {               \
    if constexpr (std::is_same_v<C, float>)                  \
      return ::name##f(x);                                   \
    else                                                     \
      return ::name(x);                                      \
  }
KILN_EW_MATH1(exp)
KILN_EW_MATH1(expm1)
KILN_EW_MATH1(log)
KILN_EW_MATH1(log1p)
KILN_EW_MATH1(sqrt)
KILN_EW_MATH1(sin)
KILN_EW_MATH1(cos)
KILN_EW_MATH1(tan)
KILN_EW_MATH1(sinh)
KILN_EW_MATH1(cosh)
KILN_EW_MATH1(tanh)
KILN_EW_MATH1(asin)
KILN_EW_MATH1(acos)
KILN_EW_MATH1(atan)
KILN_EW_MATH1(asinh)
KILN_EW_MATH1(acosh)
KILN_EW_MATH1(atanh)
KILN_EW_MATH1(ceil)
KILN_EW_MATH1(floor)
KILN_EW_MATH1(rint)
KILN_EW_MATH1(erf)
KILN_EW_MATH1(erfc)
KILN_EW_MATH1(fabs)
#undef KILN_EW_MATH1

}  // namespace kiln::gpu::ew
