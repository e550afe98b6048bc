// Host-side pieces shared by the channels-last convolution tactics (conv_depthwise.cu, conv_pointwise.cu,
// conv_smallc.cu, conv_stem_tc.cu) and cuBLASLt's 1x1 convolution (gemm_lt.cpp): range-checked 32-bit
// extents, the 2-D window geometry, the optional bias and residual inputs, and the element-type dispatch.
#pragma once

#include <cstdint>
#include <string>

#include "backends/cuda/cuda_common.h"
#include "ir/ops/nn_common.h"

namespace kiln::gpu {

//! v as int32_t; throws kFAILED_EXECUTION "<what>: extent out of range" where it does not fit.
inline int32_t checkedI32(int64_t v, const char* what) {
  if (v < 0 || v > INT32_MAX) throw Error(ErrorCode::kFAILED_EXECUTION, std::string(what) + ": extent out of range");
  return static_cast<int32_t>(v);
}

//! The spatial geometry of a 2-D channels-last convolution X [N, H, W, C] * W [M, kH, kW, C / group] ->
//! Y [N, OH, OW, M] into g's int32 fields n, h, w, kh, kw, oh, ow, ph, pw (the leading pads), sh, sw, dh
//! and dw. Throws kFAILED_EXECUTION "<what>: ..." where an extent does not fit int32 or Y's spatial extents
//! are not the window's.
template <class G>
void setWindowGeometry(G& g, const TensorView& X, const TensorView& W, const TensorView& Y, const ir::nn::Window& win,
                       const char* what) {
  auto i32 = [what](int64_t v) { return checkedI32(v, what); };
  g.n = i32(X.dim(0)), g.h = i32(X.dim(1)), g.w = i32(X.dim(2));
  g.kh = i32(W.dim(1)), g.kw = i32(W.dim(2));
  int32_t* outs[2] = {&g.oh, &g.ow};
  int32_t* pads[2] = {&g.ph, &g.pw};
  for (std::size_t i = 0; i < 2; ++i) {
    const ir::nn::WindowDim wd = ir::nn::windowDim(X.dim(1 + i), W.dim(1 + i), win.strides[i], win.dilations[i],
                                                   win.pads[i], win.pads[2 + i], win.autoPad, win.ceilMode);
    if (wd.out != Y.dim(1 + i))
      throw Error(ErrorCode::kFAILED_EXECUTION, std::string(what) + ": output extent mismatch");
    *outs[i] = i32(wd.out);
    *pads[i] = i32(wd.padBegin);
  }
  g.sh = i32(win.strides[0]), g.sw = i32(win.strides[1]);
  g.dh = i32(win.dilations[0]), g.dw = i32(win.dilations[1]);
}

//! The bias (input 2) where it is given and not empty, else null.
inline const void* optionalBias(const KernelContext& ctx) {
  return ctx.inputs.size() > 2 && ctx.inputs[2].present && ctx.inputs[2].numel ? ctx.inputs[2].data : nullptr;
}

//! The residual added before the activation (input 3) where it is given, else null.
inline const void* optionalResidual(const KernelContext& ctx) {
  return ctx.inputs.size() > 3 && ctx.inputs[3].present ? ctx.inputs[3].data : nullptr;
}

//! Whether the node is a rank-4, 1x1, stride-1, unpadded, single-group convolution: one GEMM over the pixels.
inline bool isPlainPointwiseConv(const ir::Node& n) {
  const ir::Value* w = n.inputs[1];
  bool ok = n.inputs[0]->shape.size() == 4 && w->shape.size() == 4 && w->shape[1] == 1 && w->shape[2] == 1 &&
            n.attrs.getInt("group", 1) == 1 && n.attrs.getString("auto_pad", "NOTSET") != "SAME_UPPER" &&
            n.attrs.getString("auto_pad", "NOTSET") != "SAME_LOWER";
  for (int64_t v : n.attrs.getInts("strides", {1, 1})) ok = ok && v == 1;
  for (int64_t v : n.attrs.getInts("pads", {0, 0, 0, 0})) ok = ok && v == 0;
  return ok;
}

//! Whether X [N, H, W, C], W [M, kH, kW, C] and Y [N, OH, OW, M] are rank 4 with matching channels (one group).
inline bool singleGroupShapes(const TensorView& X, const TensorView& W, const TensorView& Y) {
  return X.rank() == 4 && W.rank() == 4 && Y.rank() == 4 && W.dim(3) == X.dim(3) && Y.dim(3) == W.dim(0);
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

//! f(T{}) for the element type T of t: float16 or bfloat16, and float where WithFloat; any other type
//! throws kFAILED_EXECUTION with the message `unsupported`.
template <bool WithFloat, class F>
void dispatchConvType(DataType t, const char* unsupported, F&& f) {
  switch (t) {
    case DataType::kFLOAT:
      if constexpr (WithFloat) return f(float{});
      break;
    case DataType::kHALF: return f(__half{});
    case DataType::kBF16: return f(__nv_bfloat16{});
    default: break;
  }
  throw Error(ErrorCode::kFAILED_EXECUTION, unsupported);
}

}  // namespace kiln::gpu
