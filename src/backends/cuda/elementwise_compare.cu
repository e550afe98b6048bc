// GPU kernels of the comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual: numeric inputs, Equal
// also bool; bool output) and the logical ops (And, Or, Xor on bool), with numpy broadcasting.
// Less and LessOrEqual run as Greater and GreaterOrEqual with the inputs swapped (same results, NaN
// included, and fewer kernels to compile).
#include "backends/cuda/elementwise_common.cuh"

namespace kiln::gpu::ew {
namespace {

struct CompareOp {
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T>;
  }
  static constexpr bool kBoolOut = true;
};

struct EqualOp {
  explicit EqualOp(const ir::Node&) {}
  template <class T>
  static constexpr bool ok() {
    return kNumeric<T> || std::is_same_v<T, bool>;
  }
  static constexpr bool kBoolOut = true;
  template <class C>
  __device__ __forceinline__ bool operator()(C a, C b) const {
    return a == b;
  }
};

struct GreaterOp : CompareOp {
  explicit GreaterOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ bool operator()(C a, C b) const {
    return a > b;
  }
};

struct GreaterOrEqualOp : CompareOp {
  explicit GreaterOrEqualOp(const ir::Node&) {}
  template <class C>
  __device__ __forceinline__ bool operator()(C a, C b) const {
    return a >= b;
  }
};

struct LogicalOp {
  template <class T>
  static constexpr bool ok() {
    return std::is_same_v<T, bool>;
  }
  static constexpr bool kBoolOut = true;
};
struct AndOp : LogicalOp {
  explicit AndOp(const ir::Node&) {}
  __device__ __forceinline__ bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp : LogicalOp {
  explicit OrOp(const ir::Node&) {}
  __device__ __forceinline__ bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp : LogicalOp {
  explicit XorOp(const ir::Node&) {}
  __device__ __forceinline__ bool operator()(bool a, bool b) const { return a != b; }
};

//! Op(b, a): Less = Greater swapped, LessOrEqual = GreaterOrEqual swapped.
template <class Op>
class SwappedKernel final : public Kernel {
 public:
  explicit SwappedKernel(const ir::Node& n) : op_(n), name_(n.op) {}
  void run(const KernelContext& ctx) const override {
    const TensorView& a = ctx.inputs[0];
    const TensorView& b = ctx.inputs[1];
    const TensorView& y = ctx.outputs[0];
    if (a.dtype != b.dtype) throw Error(ErrorCode::kINVALID_ARGUMENT, name_ + ": mismatched input types");
    dispatchDeviceType(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!Op::template ok<T>()) {
        unsupportedType(name_.c_str(), a.dtype);
      } else {
        launchBinary<Op, T, T, bool>(op_, b, a, y, streamOf(ctx), name_.c_str());
      }
    });
  }

 private:
  Op op_;
  std::string name_;
};

}  // namespace

void registerCompareKernels(KernelRegistry& reg) {
  addBinary<EqualOp>(reg, "Equal");
  addBinary<GreaterOp>(reg, "Greater");
  addBinary<GreaterOrEqualOp>(reg, "GreaterOrEqual");
  reg.add("Less", cudaTactic<SwappedKernel<GreaterOp>>(&BinaryKernel<GreaterOp>::supports));
  reg.add("LessOrEqual", cudaTactic<SwappedKernel<GreaterOrEqualOp>>(&BinaryKernel<GreaterOrEqualOp>::supports));
  addBinary<AndOp>(reg, "And");
  addBinary<OrOp>(reg, "Or");
  addBinary<XorOp>(reg, "Xor");
}

}  // namespace kiln::gpu::ew
