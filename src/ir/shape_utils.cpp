#include "ir/shape_utils.h"

#include <algorithm>

namespace kiln::ir {

Shape broadcastShapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      // one is unknown: the known one wins unless it is 1 (handled above); unknown stays unknown only if
      // both are unknown.
      out[i] = da < 0 && db < 0 ? -1 : std::max(da, db);
    } else {
      throw Error(ErrorCode::kINVALID_ARGUMENT,
                  "shapes " + shapeToString(a) + " and " + shapeToString(b) + " cannot be broadcast");
    }
  }
  return out;
}

Shape broadcastShapes(const std::vector<Shape>& shapes) {
  Shape out;
  for (const Shape& s : shapes) out = broadcastShapes(out, s);
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    throw Error(ErrorCode::kINVALID_ARGUMENT,
                "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> stridesOf(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return s;
}

std::vector<int64_t> broadcastStrides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> inStrides = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : inStrides[i];
  return s;
}

int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin, int64_t padEnd,
                       int64_t dilation, bool ceilMode) {
  if (in < 0) return -1;
  if (stride <= 0 || dilation <= 0 || kernel <= 0)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "kernel, stride and dilation must be positive");
  // attributes come from untrusted files: every step is overflow-checked
  int64_t t = 0, eff = 0, inBegin = 0, padded = 0, span = 0;
  if (__builtin_mul_overflow(dilation, kernel - 1, &t) || __builtin_add_overflow(t, int64_t{1}, &eff) ||
      __builtin_add_overflow(in, padBegin, &inBegin) || __builtin_add_overflow(inBegin, padEnd, &padded))
    throw Error(ErrorCode::kINVALID_ARGUMENT, "window extents, pads or dilations overflow 64-bit arithmetic");
  span = padded - eff;
  if (span < 0)
    throw Error(ErrorCode::kINVALID_ARGUMENT, "window of " + std::to_string(eff) + " is larger than the padded input (" +
                                                  std::to_string(padded) + ")");
  int64_t out = (ceilMode ? span / stride + (span % stride != 0) : span / stride) + 1;
  // ceil mode: the last window must start inside the input or the left padding
  if (ceilMode && (out - 1) >= inBegin / stride + (inBegin % stride != 0)) --out;  // (out-1)*stride >= inBegin
  return out;
}

}  // namespace kiln::ir
