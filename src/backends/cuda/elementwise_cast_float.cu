// Cast from float/float16/bfloat16/double on the GPU (see elementwise_cast.cuh).
#include "backends/cuda/elementwise_cast.cuh"

namespace kiln::gpu::ew {

void castFromFloat(const TensorView& x, const TensorView& y, cudaStream_t s) {
  dispatchDeviceType(x.dtype, [&](auto tf) {
    using From = decltype(tf);
    if constexpr (!kFloat<From>) {
      throw Error(ErrorCode::kINTERNAL_ERROR, "Cast: castFromFloat on a non-float source");
    } else {
      dispatchDeviceType(y.dtype, [&](auto tt) {
        using To = decltype(tt);
        if constexpr (std::is_same_v<To, From>)
          throw Error(ErrorCode::kINTERNAL_ERROR, "Cast: same types are copied");
        else
          launchCast<From, To>(x, y, s);
      });
    }
  });
}

}  // namespace kiln::gpu::ew
