// Private helpers of the tensor op family, shared by the schemas (src/ir/ops/tensor_*.cpp), the reference
// kernels (src/backends/cpu/ref/tensor_*.cpp) and the GPU kernels, so that inference and execution agree.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"

namespace kiln::ir::tensor_ops {

void registerShapeOps(OpRegistry& reg);   // tensor_shape.cpp
void registerSliceOps(OpRegistry& reg);   // tensor_slice.cpp
void registerGatherOps(OpRegistry& reg);  // tensor_gather.cpp
void registerResizeOps(OpRegistry& reg);  // tensor_gather.cpp (end of file)

//! Sets the outputs. (Contents of small outputs computed from known inputs, which fold
//! Shape->Gather->Concat->Reshape chains, are filled by the inference driver's evaluator: see inferGraph.)
void setOutputs(InferContext& c, const std::vector<std::pair<DataType, Shape>>& outs);

//! Whether p is the identity permutation.
inline bool isIdentityPerm(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

//! `perm` as a permutation of [0, rank): a longer one is truncated to its first rank entries (TensorRT's
//! 8-entry Permutation). Throws kiln::Error(kINVALID_ARGUMENT) naming `what` if it is not one.
inline std::vector<int64_t> checkedPerm(std::vector<int64_t> perm, int64_t rank, const char* what) {
  if (static_cast<int64_t>(perm.size()) > rank) perm.resize(static_cast<size_t>(rank));
  if (static_cast<int64_t>(perm.size()) != rank)
    throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(what) + " does not match the input rank");
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
      throw Error(ErrorCode::kINVALID_ARGUMENT, std::string(what) + " is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

//! DepthToSpace (toSpace; DCR or CRD) and SpaceToDepth as a transpose: the input [n, c, h, w] viewed as the
//! 6-D `view`, permuted by `perm`. Throws kiln::Error(kINVALID_ARGUMENT) if the extents do not divide.
inline void depthSpaceTranspose(int64_t n, int64_t c, int64_t h, int64_t w, int64_t b, bool toSpace, bool crd,
                                std::vector<int64_t>& view, std::vector<int64_t>& perm) {
  auto invalid = [](const char* m) { throw Error(ErrorCode::kINVALID_ARGUMENT, m); };
  if (toSpace) {
    if (c % (b * b)) invalid("DepthToSpace: channels not divisible by blocksize^2");
    int64_t cc = c / (b * b);
    if (crd) {
      view = {n, cc, b, b, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      view = {n, b, b, cc, h, w};
      perm = {0, 3, 4, 1, 5, 2};
    }
  } else {
    if (h % b || w % b) invalid("SpaceToDepth: spatial dims not divisible by blocksize");
    view = {n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
  }
}

inline bool allKnown(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

[[noreturn]] void throwInvalid(const std::string& msg);

// ---- Slice (ONNX) ------------------------------------------------------------------------------------
struct SliceAxis {
  int64_t start{0};
  int64_t step{1};
  int64_t length{0};
};

//! Normalized start/step/length for one axis of extent `dim` (ONNX clamping rules). step != 0.
inline SliceAxis normalizeSlice(int64_t start, int64_t end, int64_t step, int64_t dim) {
  SliceAxis r;
  r.step = step;
  if (dim <= 0) return r;  // nothing to slice (also avoids clamping to an empty range)
  if (start < 0) start += dim;  // INT64_MIN + dim does not overflow (dim >= 0)
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.length = end > start ? (end - start - 1) / step + 1 : 0;  // no overflow for huge steps
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    int64_t s = step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
    r.length = start > end ? (start - end - 1) / s + 1 : 0;
  }
  r.start = r.length > 0 ? start : 0;
  return r;
}

//! Per-axis slice parameters for all `rank` dims (unsliced dims: start 0, step 1, full length).
//! `dims` may contain -1 (then that length is -1). Throws kiln::Error on bad arguments.
std::vector<SliceAxis> sliceParams(const Shape& dims, const std::vector<int64_t>& starts,
                                   const std::vector<int64_t>& ends, const std::vector<int64_t>* axes,
                                   const std::vector<int64_t>* steps);

// ---- Reshape -----------------------------------------------------------------------------------------
//! Output shape of Reshape(input, spec) (ONNX rules; -1 where unknown). Throws kiln::Error.
Shape reshapeShape(const Shape& in, const std::vector<int64_t>& spec, bool allowZero);

// ---- Resize ------------------------------------------------------------------------------------------
enum class CoordMode { kHALF_PIXEL, kHALF_PIXEL_SYMMETRIC, kPYTORCH_HALF_PIXEL, kALIGN_CORNERS, kASYMMETRIC, kTF_CROP_AND_RESIZE };
enum class NearestMode { kROUND_PREFER_FLOOR, kROUND_PREFER_CEIL, kFLOOR, kCEIL };
CoordMode parseCoordMode(const std::string& s);
NearestMode parseNearestMode(const std::string& s);

//! The original coordinate of output coordinate x along one axis (ONNX Resize formulas).
inline double resizeCoordinate(CoordMode m, double x, double scale, int64_t inLen, int64_t outLen, double roiStart,
                               double roiEnd) {
  switch (m) {
    case CoordMode::kHALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case CoordMode::kHALF_PIXEL_SYMMETRIC: {
      double adjustment = static_cast<double>(outLen) / (scale * static_cast<double>(inLen));
      double center = static_cast<double>(inLen) / 2.0;
      double offset = center * (1.0 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CoordMode::kPYTORCH_HALF_PIXEL: return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::kALIGN_CORNERS:
      return outLen == 1 ? 0.0 : x * static_cast<double>(inLen - 1) / static_cast<double>(outLen - 1);
    case CoordMode::kASYMMETRIC: return x / scale;
    case CoordMode::kTF_CROP_AND_RESIZE:
      if (outLen > 1)
        return roiStart * static_cast<double>(inLen - 1) +
               x * (roiEnd - roiStart) * static_cast<double>(inLen - 1) / static_cast<double>(outLen - 1);
      return 0.5 * (roiStart + roiEnd) * static_cast<double>(inLen - 1);
  }
  return x;
}

inline int64_t nearestIndex(NearestMode m, double x) {
  double f = std::floor(x);
  switch (m) {
    case NearestMode::kROUND_PREFER_FLOOR: return static_cast<int64_t>(x - f == 0.5 ? f : std::round(x));
    case NearestMode::kROUND_PREFER_CEIL: return static_cast<int64_t>(x - f == 0.5 ? f + 1 : std::round(x));
    case NearestMode::kFLOOR: return static_cast<int64_t>(f);
    case NearestMode::kCEIL: return static_cast<int64_t>(std::ceil(x));
  }
  return 0;
}

//! Resolved per-dim resize parameters: output extent, scale and roi per dim of the input.
struct ResizePlan {
  Shape outShape;
  std::vector<double> scales;
  std::vector<double> roiStart, roiEnd;
};

//! Computes the plan from the attributes and the (optional) roi/scales/sizes contents. `in` must be
//! fully known when `sizes`/`scales` are used for extents (unknown extents give -1).
ResizePlan resizePlan(const Attributes& attrs, const Shape& in, const std::vector<double>* roi,
                      const std::vector<double>* scales, const std::vector<int64_t>* sizes);

}  // namespace kiln::ir::tensor_ops
