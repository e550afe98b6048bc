// GPU kernels of the remaining broadcasting ops: Mod, FloorDiv, BitwiseAnd/Or/Xor, BitShift, PRelu and
// Where (3-way broadcasting, elements copied as raw bits of their size).
//
// Float Mod and FloorDiv are computed in double like the CPU reference (exact fmod, one rounding).
// Integer Mod / FloorDiv by zero give 0 (the reference throws; a GPU kernel cannot report it).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

struct NumericOp {
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = false;
};

template <class C>
__device__ __forceinline__ C intDiv(C a, C b) {
  if (b == 0) return C{0};
  if constexpr (std::is_signed_v<C>)
    if (b == static_cast<C>(-1)) return wrapNeg(a);
  return static_cast<C>(a / b);
}
template <class C>
__device__ __forceinline__ C intRem(C a, C b) {
  if (b == 0) return C{0};
  if constexpr (std::is_signed_v<C>)
    if (b == static_cast<C>(-1)) return C{0};
  return static_cast<C>(a % b);
}

struct FloorDivOp : NumericOp {
  explicit FloorDivOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return static_cast<C>(floor(static_cast<double>(a) / static_cast<double>(b)));
    } else {
      C q = intDiv(a, b);
      if constexpr (std::is_signed_v<C>)
        if (intRem(a, b) != 0 && ((a < 0) != (b < 0))) q = static_cast<C>(q - 1);
      return q;
    }
  }
};

struct ModOp : NumericOp {
  explicit ModOp(const ir::Node& n) {
    int64_t f = n.attrs.getInt("fmod", 0);
    if (f != 0 && f != 1) throw Error(ErrorCode::kUNSUPPORTED_NODE, "Mod: fmod must be 0 or 1");
    fmodMode = f == 1;
  }
  bool fmodMode{false};
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      const double bd = static_cast<double>(b);
      double r = fmod(static_cast<double>(a), bd);
      if (!fmodMode && r != 0 && ((r < 0) != (bd < 0))) r += bd;
      return static_cast<C>(r);
    } else {
      C r = intRem(a, b);
      if constexpr (std::is_signed_v<C>)
        if (!fmodMode && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(static_cast<WrapU<C>>(r) + static_cast<WrapU<C>>(b));
      return r;
    }
  }
};

struct BitwiseOp {
  template <class T>
  static constexpr bool ok() {
    return kInt<T>;
  }
  static constexpr bool kBoolOut = false;
};
struct BitwiseAndOp : BitwiseOp {
  explicit BitwiseAndOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    return static_cast<C>(a & b);
  }
};
struct BitwiseOrOp : BitwiseOp {
  explicit BitwiseOrOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    return static_cast<C>(a | b);
  }
};
struct BitwiseXorOp : BitwiseOp {
  explicit BitwiseXorOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    return static_cast<C>(a ^ b);
  }
};

//! Shifts of a negative amount or of the bit width or more give 0 (-1 for a negative value shifted
//! right); signed left shifts wrap; signed right shifts are arithmetic (as the reference).
struct BitShiftOp : BitwiseOp {
  explicit BitShiftOp(const ir::Node& n) {
    std::string d = n.attrs.getString("direction", "");
    if (d == "LEFT")
      left = true;
    else if (d != "RIGHT")
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "BitShift: direction must be \"LEFT\" or \"RIGHT\", got \"" + d + "\"");
  }
  bool left{false};
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    using U = std::make_unsigned_t<C>;
    using W = WrapU<U>;
    const bool outOfRange = (std::is_signed_v<C> && b < 0) || static_cast<uint64_t>(b) >= sizeof(C) * 8;
    if (left) return outOfRange ? C{0} : static_cast<C>(static_cast<U>(static_cast<W>(static_cast<U>(a)) << b));
    if (outOfRange) return (std::is_signed_v<C> && a < 0) ? static_cast<C>(-1) : C{0};
    return static_cast<C>(a >> b);
  }
};

struct PReluOp : NumericOp {
  explicit PReluOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return a < 0 ? a * b : a;
    } else if constexpr (std::is_signed_v<C>) {
      return a < 0 ? static_cast<C>(static_cast<WrapU<C>>(a) * static_cast<WrapU<C>>(b)) : a;
    } else {
      return a;
    }
  }
};

// ---------------------------------------------------------------------------------------------------------
// Where(cond, x, y)

template <class B>
__global__ void __launch_bounds__(kThreads)
    whereFlatKernel(const uint8_t* c, const B* a, const B* b, B* y, int64_t n, bool cFull, bool aFull, bool bFull, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint8_t c0 = cFull ? 0 : c[0];
  const B a0 = aFull ? B{} : a[0];
  const B b0 = bFull ? B{} : b[0];
  if (vec) {
    constexpr int V = vecWidth<B>();
    const int64_t nv = n / V;
    for (int64_t j = i; j < nv; j += stride) {
      Pack<uint8_t, V> pc;
      Pack<B, V> pa, pb, r;
      if (cFull) {
        pc = reinterpret_cast<const Pack<uint8_t, V>*>(c)[j];
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) pc.v[e] = c0;
      }
      if (aFull) {
        pa = reinterpret_cast<const Pack<B, V>*>(a)[j];
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) pa.v[e] = a0;
      }
      if (bFull) {
        pb = reinterpret_cast<const Pack<B, V>*>(b)[j];
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) pb.v[e] = b0;
      }
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = pc.v[e] ? pa.v[e] : pb.v[e];
      reinterpret_cast<Pack<B, V>*>(y)[j] = r;
    }
    i += nv * V;
  }
  for (; i < n; i += stride) y[i] = (cFull ? c[i] : c0) ? (aFull ? a[i] : a0) : (bFull ? b[i] : b0);
}

template <class B, class I>
__global__ void __launch_bounds__(kThreads)
    whereGeneralKernel(const uint8_t* c, const B* a, const B* b, B* y, I n, Geo<3, I> g, bool vec) {
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  const I tid = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (vec) {  // packs of V outputs within a row (see binaryGeneralKernel)
    constexpr int V = vecWidth<B>();
    const I nv = n / V;
    const bool cRow = g.st[0][0] != 0, aRow = g.st[1][0] != 0, bRow = g.st[2][0] != 0;
    for (I j = tid; j < nv; j += stride) {
      I off[3];
      offsetsOf<3, I>(g, j * V, off);
      Pack<uint8_t, V> pc;
      Pack<B, V> pa, pb, r;
      if (cRow) {
        pc = *reinterpret_cast<const Pack<uint8_t, V>*>(c + off[0]);
      } else {
        const uint8_t v = c[off[0]];
#pragma unroll
        for (int e = 0; e < V; ++e) pc.v[e] = v;
      }
      if (aRow) {
        pa = *reinterpret_cast<const Pack<B, V>*>(a + off[1]);
      } else {
        const B v = a[off[1]];
#pragma unroll
        for (int e = 0; e < V; ++e) pa.v[e] = v;
      }
      if (bRow) {
        pb = *reinterpret_cast<const Pack<B, V>*>(b + off[2]);
      } else {
        const B v = b[off[2]];
#pragma unroll
        for (int e = 0; e < V; ++e) pb.v[e] = v;
      }
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = pc.v[e] ? pa.v[e] : pb.v[e];
      *reinterpret_cast<Pack<B, V>*>(y + static_cast<int64_t>(j) * V) = r;
    }
    return;
  }
  for (I i = tid; i < n; i += stride) {
    I off[3];
    offsetsOf<3, I>(g, i, off);
    y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
  }
}

template <class B>
void launchWhere(const TensorView& c, const TensorView& a, const TensorView& b, const TensorView& y, cudaStream_t s) {
  const Plan<3> p = makePlan<3>(y.shape, {c.shape, a.shape, b.shape});
  if (p.total != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Where: output size mismatch");
  if (p.total == 0) return;
  const uint8_t* pc = static_cast<const uint8_t*>(c.data);
  const B* pa = static_cast<const B*>(a.data);
  const B* pb = static_cast<const B*>(b.data);
  B* py = static_cast<B*>(y.data);
  if (p.flat) {
    constexpr int V = vecWidth<B>();
    const bool vec = V > 1 && p.total >= V && (!p.full[0] || aligned(pc, V)) && (!p.full[1] || aligned(pa, sizeof(B) * V)) &&
                     (!p.full[2] || aligned(pb, sizeof(B) * V)) && aligned(py, sizeof(B) * V);
    whereFlatKernel<B><<<blocksFor(vec ? p.total / V : p.total, kThreads), kThreads, 0, s>>>(
        pc, pa, pb, py, p.total, p.full[0], p.full[1], p.full[2], vec);
  } else if (p.total < (int64_t{1} << 31)) {
    constexpr int V = vecWidth<B>();
    const bool vec = generalVec<3>(p, V, {pc, pa, pb}, {1, sizeof(B), sizeof(B)}, py, sizeof(B));
    whereGeneralKernel<B, uint32_t><<<blocksFor(vec ? p.total / V : p.total, kThreads), kThreads, 0, s>>>(
        pc, pa, pb, py, static_cast<uint32_t>(p.total), makeGeo<3, uint32_t>(p), vec);
  } else {
    whereGeneralKernel<B, int64_t><<<blocksFor(p.total, kThreads), kThreads, 0, s>>>(pc, pa, pb, py, p.total,
                                                                                       makeGeo<3, int64_t>(p), false);
  }
  checkLaunch("Where");
}

class WhereKernel final : public Kernel {
 public:
  explicit WhereKernel(const ir::Node&) {}
  static bool supports(const ir::Node& n, std::string* why) {
    if (inType(n, 0) != DataType::kBOOL) {
      if (why) *why = "Where: the condition must be bool";
      return false;
    }
    if (inType(n, 1) != inType(n, 2)) {
      if (why) *why = "Where: X and Y must have the same type";
      return false;
    }
    return true;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& c = ctx.inputs[0];
    const TensorView& a = ctx.inputs[1];
    const TensorView& b = ctx.inputs[2];
    const TensorView& y = ctx.outputs[0];
    if (c.dtype != DataType::kBOOL || a.dtype != b.dtype || a.dtype != y.dtype)
      throw Error(ErrorCode::kINVALID_ARGUMENT, "Where: bad input types");
    const cudaStream_t s = streamOf(ctx);
    switch (dataTypeSize(a.dtype)) {
      case 1: launchWhere<uint8_t>(c, a, b, y, s); break;
      case 2: launchWhere<uint16_t>(c, a, b, y, s); break;
      case 4: launchWhere<uint32_t>(c, a, b, y, s); break;
      case 8: launchWhere<uint64_t>(c, a, b, y, s); break;
      default: unsupportedType("Where", a.dtype);
    }
  }
};

class PReluKernel final : public Kernel {
 public:
  explicit PReluKernel(const ir::Node& n) : op_(n) {}
  static bool supports(const ir::Node& n, std::string* why) { return BinaryKernel<PReluOp>::supports(n, why); }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& slope = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (slope.dtype != x.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, "PRelu: slope type differs from the input's");
    if (x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "PRelu: output size differs from the input's");
    dispatchDeviceType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!kNumeric<T>)
        unsupportedType("PRelu", x.dtype);
      else
        launchBinary<PReluOp, T, T, T>(op_, x, slope, y, streamOf(ctx), "PRelu");
    });
  }

 private:
  PReluOp op_;
};

}  // namespace

void registerBinaryMiscKernels(KernelRegistry& reg) {
  addBinary<ModOp>(reg, "Mod");
  addBinary<FloorDivOp>(reg, "FloorDiv");
  addBinary<BitwiseAndOp>(reg, "BitwiseAnd");
  addBinary<BitwiseOrOp>(reg, "BitwiseOr");
  addBinary<BitwiseXorOp>(reg, "BitwiseXor");
  addBinary<BitShiftOp>(reg, "BitShift");
  reg.add("PRelu", cudaTactic<PReluKernel>(&PReluKernel::supports));
  reg.add("Where", cudaTactic<WhereKernel>(&WhereKernel::supports));
}

}  // namespace kiln::gpu::ew
