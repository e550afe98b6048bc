// Private helpers of the nn op family, shared by the schemas (src/ir/ops/nn.cpp) and the reference kernels
// (src/backends/cpu/ref/nn_*.cpp) so that shape inference and execution agree exactly: window geometry of
// Conv/ConvTranspose/pooling (auto_pad, ceil_mode), axis lists of reductions, softmax's default axis.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/shape_utils.h"

namespace kiln::ir::nn {

[[noreturn]] inline void invalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

enum class AutoPad { kNOTSET, kSAME_UPPER, kSAME_LOWER, kVALID };

inline AutoPad parseAutoPad(const Attributes& a) {
  std::string s = a.getString("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNOTSET;
  if (s == "SAME_UPPER") return AutoPad::kSAME_UPPER;
  if (s == "SAME_LOWER") return AutoPad::kSAME_LOWER;
  if (s == "VALID") return AutoPad::kVALID;
  invalid("auto_pad '" + s + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
}

//! Floor division (Python's //), used where ONNX's formulas may see negative values.
inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

//! Window attributes of Conv / pooling, with defaults filled in (n = number of spatial dims).
struct Window {
  std::vector<int64_t> kernel;     // -1 where unknown
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;       // [begin..., end...] as given (NOTSET)
  AutoPad autoPad{AutoPad::kNOTSET};
  bool ceilMode{false};
};

//! Parses strides/dilations/pads/auto_pad/ceil_mode and checks their lengths and values. `kernel` is the
//! kernel extent per spatial dim (from kernel_shape or the weights; -1 if unknown).
inline Window parseWindow(const Attributes& a, const std::vector<int64_t>& kernel, bool hasDilations = true) {
  const size_t n = kernel.size();
  Window w;
  w.kernel = kernel;
  w.strides = a.getInts("strides", std::vector<int64_t>(n, 1));
  w.dilations = hasDilations ? a.getInts("dilations", std::vector<int64_t>(n, 1)) : std::vector<int64_t>(n, 1);
  w.pads = a.getInts("pads", std::vector<int64_t>(2 * n, 0));
  w.autoPad = parseAutoPad(a);
  int64_t cm = a.getInt("ceil_mode", 0);
  if (cm != 0 && cm != 1) invalid("ceil_mode must be 0 or 1");
  w.ceilMode = cm == 1;
  if (w.strides.size() != n) invalid("strides has " + std::to_string(w.strides.size()) + " values, expected " + std::to_string(n));
  if (w.dilations.size() != n) invalid("dilations has " + std::to_string(w.dilations.size()) + " values, expected " + std::to_string(n));
  if (w.pads.size() != 2 * n) invalid("pads has " + std::to_string(w.pads.size()) + " values, expected " + std::to_string(2 * n));
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] < 1) invalid("strides must be positive");
    if (w.dilations[i] < 1) invalid("dilations must be positive");
    if (w.kernel[i] == 0 || w.kernel[i] < -1) invalid("kernel extents must be positive");
  }
  for (int64_t p : w.pads)
    if (p < 0) invalid("pads must be non-negative");
  return w;
}

struct WindowDim {
  int64_t out{-1};
  int64_t padBegin{0};
  int64_t padEnd{0};
};

//! Output extent and effective pads of one spatial dim of a forward window (Conv, pooling). `in` and `k`
//! may be -1 (unknown): out is then -1.
//!  NOTSET: out = floor((in + pb + pe - eff) / s) + 1 (ceil with ceil_mode; a last window that would start
//!          in the end padding is dropped); SAME_*: out = ceil(in / s), total pad = max(0, (out-1)*s + eff -
//!          in), the odd pad goes to the end (UPPER) or the begin (LOWER); VALID: pads 0, out =
//!          floor((in - eff) / s) + 1.
inline WindowDim windowDim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, AutoPad ap,
                           bool ceilMode) {
  WindowDim r;
  if (ap == AutoPad::kVALID) {
    pb = pe = 0;
    ceilMode = false;
  }
  if (ap == AutoPad::kSAME_UPPER || ap == AutoPad::kSAME_LOWER) {
    if (in < 0 || k < 0) return r;
    int64_t out = in / s + (in % s != 0);
    // attributes come from untrusted files: overflow-checked ((out - 1) * s < in cannot overflow)
    int64_t eff = 0, total = 0;
    if (__builtin_mul_overflow(d, k - 1, &eff) || __builtin_add_overflow(eff, int64_t{1}, &eff) ||
        __builtin_add_overflow((out - 1) * s, eff - in, &total))
      invalid("window extents or dilations overflow 64-bit arithmetic");
    total = std::max<int64_t>(0, total);
    r.out = out;
    r.padBegin = ap == AutoPad::kSAME_UPPER ? total / 2 : total - total / 2;
    r.padEnd = total - r.padBegin;
    return r;
  }
  r.padBegin = pb;
  r.padEnd = pe;
  if (in < 0 || k < 0) return r;
  r.out = convOutputSize(in, k, s, pb, pe, d, ceilMode);
  return r;
}

//! One spatial dim of ConvTranspose per ONNX: without output_shape (outShape < 0) and NOTSET,
//! out = s*(in-1) + outPad + eff - pb - pe. With output_shape, or with SAME_* (output_shape = in*s), the
//! total padding is s*(in-1) + outPad + eff - out, split with the odd part at the end for SAME_UPPER and
//! at the begin otherwise (pads are then ignored). VALID: pads 0.
inline WindowDim convTransposeDim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t outPad, int64_t pb, int64_t pe,
                                  AutoPad ap, int64_t outShape) {
  WindowDim r;
  if (ap == AutoPad::kVALID) pb = pe = 0;
  bool same = ap == AutoPad::kSAME_UPPER || ap == AutoPad::kSAME_LOWER;
  if (outShape >= 0 || same) {
    if (in < 0 || k < 0) return r;
    int64_t out = outShape >= 0 ? outShape : in * s;
    int64_t eff = d * (k - 1) + 1;
    int64_t total = s * (in - 1) + outPad + eff - out;
    int64_t half = floorDiv(total, 2);
    if (ap == AutoPad::kSAME_UPPER) {
      r.padBegin = half;
      r.padEnd = total - half;
    } else {
      r.padBegin = total - half;
      r.padEnd = half;
    }
    r.out = out;
    return r;
  }
  r.padBegin = pb;
  r.padEnd = pe;
  if (in < 0 || k < 0) return r;
  int64_t eff = d * (k - 1) + 1;
  r.out = s * (in - 1) + outPad + eff - pb - pe;
  if (r.out < 0) invalid("ConvTranspose output extent " + std::to_string(r.out) + " is negative");
  return r;
}

//! Softmax family: "axis" (default -1), or, when the kiln attribute trt_default_axis=1 is set and "axis" is
//! absent, TensorRT's default max(0, rank-3). Returns the normalized axis.
inline int64_t softmaxAxis(const Attributes& a, int64_t rank) {
  int64_t axis;
  if (!a.has("axis") && a.getInt("trt_default_axis", 0) != 0)
    axis = std::max<int64_t>(0, rank - 3);
  else
    axis = a.getInt("axis", -1);
  if (rank == 0 && (axis == 0 || axis == -1)) return 0;  // scalar: a single element
  if (axis < -rank || axis >= rank)
    invalid("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

//! Normalizes a list of axes against `rank`, rejecting out-of-range and repeated axes. Returns a mask.
inline std::vector<bool> axesMask(const std::vector<int64_t>& axes, int64_t rank, const char* what) {
  std::vector<bool> m(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      invalid(std::string(what) + ": axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    int64_t n = a < 0 ? a + rank : a;
    if (m[static_cast<size_t>(n)]) invalid(std::string(what) + ": axis " + std::to_string(a) + " is repeated");
    m[static_cast<size_t>(n)] = true;
  }
  return m;
}

}  // namespace kiln::ir::nn
