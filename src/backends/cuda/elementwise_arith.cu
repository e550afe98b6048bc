// GPU kernels of the arithmetic binary and variadic ops with numpy broadcasting: Add, Sub, Mul, Div and
// Sum, Mean, Max, Min (1..n inputs, folded pairwise in input order like the CPU reference).
//
// Integer arithmetic wraps; integer division truncates toward zero and MIN / -1 wraps to MIN, like the
// reference. Integer division by zero gives 0 (the reference throws; a GPU kernel cannot report it).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

struct NumericOp {
  template <class T>
  static constexpr bool ok() { return kNumeric<T>; }
  static constexpr bool kBoolOut = false;
};

struct AddOp : NumericOp {
  explicit AddOp(const ir::Node&) {}
  AddOp() = default;
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a + b;
    else
      return static_cast<C>(static_cast<WrapU<C>>(a) + static_cast<WrapU<C>>(b));
  }
};

struct SubOp : NumericOp {
  explicit SubOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a - b;
    else
      return static_cast<C>(static_cast<WrapU<C>>(a) - static_cast<WrapU<C>>(b));
  }
};

struct MulOp : NumericOp {
  explicit MulOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      return a * b;
    else
      return static_cast<C>(static_cast<WrapU<C>>(a) * static_cast<WrapU<C>>(b));
  }
};

struct DivOp : NumericOp {
  explicit DivOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return a / b;
    } else {
      if (b == 0) return C{0};
      if constexpr (std::is_signed_v<C>)
        if (b == static_cast<C>(-1)) return wrapNeg(a);
      return static_cast<C>(a / b);
    }
  }
};

struct MaxOp : NumericOp {
  explicit MaxOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (a != a || b != b) return a + b;  // NaN propagates
    return a < b ? b : a;
  }
};

struct MinOp : NumericOp {
  explicit MinOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (a != a || b != b) return a + b;  // NaN propagates
    return b < a ? b : a;
  }
};

//! The last step of Mean: (a + b) rounded to T like the reference's running sum, divided by n.
template <class T>
struct MeanLastOp {
  Cmp<T> n;
  template <class C>
  __device__ __forceinline__ C operator()(C a, C b) const {
    const C s = ld(st<T>(a + b));
    return s / n;
  }
};

template <class Op, bool kMean>
class VariadicKernel final : public Kernel {
 public:
  explicit VariadicKernel(const ir::Node& n) : op_(n), name_(n.op) {}
  template <class T>
  static constexpr bool ok() { return kMean ? kFloat<T> : Op::template ok<T>(); }
  static bool supports(const ir::Node& n, std::string* why) {
    DataType t = inType(n, 0);
    if (!accepts<VariadicKernel>(t)) return rejectType(n, t, why);
    for (const ir::Value* v : n.inputs)
      if (!v || v->dtype != t) {
        if (why) *why = n.op + ": all inputs must have the same type";
        return false;
      }
    return true;
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& y = ctx.outputs[0];
    const TensorView& first = ctx.inputs[0];
    for (const TensorView& in : ctx.inputs)
      if (in.dtype != first.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, name_ + ": mismatched input types");
    const cudaStream_t s = streamOf(ctx);
    if (ctx.inputs.size() == 1) {
      if (first.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, name_ + ": output size mismatch");
      if (y.bytes() && first.data != y.data)
        KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, first.data, y.bytes(), cudaMemcpyDeviceToDevice, s));
      return;
    }
    dispatchDeviceType(first.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!ok<T>()) {
        unsupportedType(name_.c_str(), first.dtype);
      } else {
        const size_t n = ctx.inputs.size();
        for (size_t k = 1; k < n; ++k) {
          // the output is complete after the first step: later steps read it back in place
          const TensorView& lhs = k == 1 ? first : y;
          if constexpr (kMean) {
            if (k == n - 1) {
              MeanLastOp<T> last{static_cast<Cmp<T>>(n)};
              launchBinary<MeanLastOp<T>, T, T, T>(last, lhs, ctx.inputs[k], y, s, name_.c_str());
              continue;
            }
          }
          launchBinary<Op, T, T, T>(op_, lhs, ctx.inputs[k], y, s, name_.c_str());
        }
      }
    });
  }

 private:
  Op op_;
  std::string name_;
};

template <class Op, bool kMean>
void addVariadic(KernelRegistry& reg, const char* op) {
  using K = VariadicKernel<Op, kMean>;
  reg.add(op, cudaTactic<K>(&K::supports));
}

}  // namespace

void registerBinaryArithKernels(KernelRegistry& reg) {
  addBinary<AddOp>(reg, "Add");
  addBinary<SubOp>(reg, "Sub");
  addBinary<MulOp>(reg, "Mul");
  addBinary<DivOp>(reg, "Div");
  addVariadic<AddOp, false>(reg, "Sum");
  addVariadic<AddOp, true>(reg, "Mean");
  addVariadic<MaxOp, false>(reg, "Max");
  addVariadic<MinOp, false>(reg, "Min");
}

}  // namespace kiln::gpu::ew
