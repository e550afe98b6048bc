// Cast from the integer types and bool on the GPU (see elementwise_cast.cuh), and the Cast kernel.
#include "backends/cuda/elementwise_cast.cuh"

namespace kiln::gpu::ew {

void castFromInt(const TensorView& x, const TensorView& y, cudaStream_t s) {
  dispatchDeviceType(x.dtype, [&](auto tf) {
    using From = decltype(tf);
    if constexpr (kFloat<From>) {
      throw Error(ErrorCode::kINTERNAL_ERROR, "Cast: castFromInt on a float source");
    } else {
      dispatchDeviceType(y.dtype, [&](auto tt) {
        using To = decltype(tt);
        if constexpr (std::is_same_v<From, bool>)
          launchCast<uint8_t, To, true>(x, y, s);  // bool -> bool too: bytes become 0/1
        else if constexpr (std::is_same_v<To, From>)
          throw Error(ErrorCode::kINTERNAL_ERROR, "Cast: same types are copied");
        else
          launchCast<From, To>(x, y, s);
      });
    }
  });
}

namespace {

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(const ir::Node& n) {
    int64_t to = n.attrs.requireInt("to");
    if (!isKnownType(static_cast<DataType>(to)))
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "Cast: unknown target type " + std::to_string(to));
    to_ = static_cast<DataType>(to);
  }
  void run(const KernelContext& ctx) const override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    if (y.dtype != to_ || x.numel != y.numel) throw Error(ErrorCode::kINVALID_ARGUMENT, "Cast: output does not match");
    if (y.numel == 0) return;
    const cudaStream_t s = streamOf(ctx);
    if (x.dtype == y.dtype && x.dtype != DataType::kBOOL) {
      if (x.data != y.data)
        KILN_CUDA_CHECK(cudaMemcpyAsync(y.data, x.data, y.bytes(), cudaMemcpyDeviceToDevice, s));
    } else if (isFloatingType(x.dtype)) {
      castFromFloat(x, y, s);
    } else {
      castFromInt(x, y, s);
    }
  }

 private:
  DataType to_{DataType::kFLOAT};
};

}  // namespace

void registerCastKernels(KernelRegistry& reg) {
  Tactic t;
  t.name = "cuda";
  t.create = [](const ir::Node& n) -> std::unique_ptr<Kernel> { return std::make_unique<CastKernel>(n); };
  t.supports = [](const ir::Node& n, std::string* why) {
    if (!n.attrs.has("to") || !isKnownType(static_cast<DataType>(n.attrs.getInt("to", -1)))) {
      if (why) *why = "Cast: missing or unknown 'to'";
      return false;
    }
    const bool smallIn = !n.inputs.empty() && n.inputs[0] && isSmallStorageType(n.inputs[0]->dtype);
    if (smallIn || isSmallStorageType(static_cast<DataType>(n.attrs.getInt("to", -1)))) {
      if (why) *why = "float8 / sub-byte types are cast by the cuda_small tactic (cast_small.cu)";
      return false;
    }
    return true;
  };
  reg.add("Cast", t);
}

}  // namespace kiln::gpu::ew
