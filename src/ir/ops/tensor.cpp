// Op schemas of the tensor family (data movement and shape manipulation): registration and the helpers
// shared with the reference kernels (tensor_ops.h). The schemas themselves live in tensor_*.cpp.
#include <algorithm>
#include <cmath>
#include <set>

#include "ir/ops/tensor_ops.h"

namespace kiln::ir {

namespace tensor_ops {

void throwInvalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

void setOutputs(InferContext& c, const std::vector<std::pair<DataType, Shape>>& outs) {
  for (size_t i = 0; i < outs.size(); ++i) c.setOutput(static_cast<int>(i), outs[i].first, outs[i].second);
}

std::vector<SliceAxis> sliceParams(const Shape& dims, const std::vector<int64_t>& starts,
                                   const std::vector<int64_t>& ends, const std::vector<int64_t>* axes,
                                   const std::vector<int64_t>* steps) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<SliceAxis> r(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) r[i] = SliceAxis{0, 1, dims[i]};
  if (starts.size() != ends.size())
    throwInvalid("Slice: starts has " + std::to_string(starts.size()) + " values, ends " + std::to_string(ends.size()));
  if (axes && axes->size() != starts.size()) throwInvalid("Slice: axes and starts have different lengths");
  if (steps && steps->size() != starts.size()) throwInvalid("Slice: steps and starts have different lengths");
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = axes ? (*axes)[i] : static_cast<int64_t>(i);
    if (a < -rank || a >= rank) throwInvalid("Slice: axis " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) throwInvalid("Slice: axis " + std::to_string(a) + " is repeated");
    seen[static_cast<size_t>(a)] = true;
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0) throwInvalid("Slice: step 0");
    int64_t d = dims[static_cast<size_t>(a)];
    if (d < 0) {
      r[static_cast<size_t>(a)] = SliceAxis{0, step, -1};
      continue;
    }
    r[static_cast<size_t>(a)] = normalizeSlice(starts[i], ends[i], step, d);
  }
  return r;
}

Shape reshapeShape(const Shape& in, const std::vector<int64_t>& spec, bool allowZero) {
  Shape out(spec.size());
  int inferAt = -1;
  std::vector<bool> copied(in.size(), false);
  bool hasZero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v == -1) {
      if (inferAt >= 0) throwInvalid("Reshape: more than one -1 in the shape");
      inferAt = static_cast<int>(i);
      out[i] = -1;
    } else if (v == 0 && !allowZero) {
      if (i >= in.size())
        throwInvalid("Reshape: shape[" + std::to_string(i) + "] = 0 copies a dim the input (rank " + std::to_string(in.size()) + ") lacks");
      out[i] = in[i];
      copied[i] = true;
    } else if (v < 0) {
      throwInvalid("Reshape: invalid shape value " + std::to_string(v));
    } else {
      if (v == 0) hasZero = true;
      out[i] = v;
    }
  }
  if (inferAt >= 0 && hasZero) throwInvalid("Reshape: allowzero=1 with both 0 and -1 in the shape");
  // Product of the input dims that are not copied through, and of the output dims other than copies/-1.
  int64_t inRest = 1;
  bool inKnown = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (copied[i]) continue;
    if (in[i] < 0) inKnown = false;
    else if (__builtin_mul_overflow(inRest, in[i], &inRest)) throwInvalid("Reshape: the input extents overflow");
  }
  int64_t outRest = 1;
  bool outKnown = true;
  for (size_t i = 0; i < out.size(); ++i) {
    if (copied[i] || static_cast<int>(i) == inferAt) continue;
    if (out[i] < 0) outKnown = false;
    else if (__builtin_mul_overflow(outRest, out[i], &outRest)) throwInvalid("Reshape: the shape's extents overflow");
  }
  if (inferAt >= 0) {
    if (inKnown && outKnown) {
      if (outRest == 0) {
        if (inRest != 0) throwInvalid("Reshape: cannot infer -1 with a zero-size shape");
        out[static_cast<size_t>(inferAt)] = 0;
      } else {
        if (inRest % outRest != 0)
          throwInvalid("Reshape: cannot reshape " + shapeToString(in) + " with shape " + shapeToString(spec));
        out[static_cast<size_t>(inferAt)] = inRest / outRest;
      }
    }
  } else if (inKnown && outKnown && inRest != outRest) {
    // copied dims are equal on both sides, so the rest must match
    throwInvalid("Reshape: cannot reshape " + shapeToString(in) + " (" + std::to_string(numElements(in)) +
                 " elements) to " + shapeToString(spec));
  }
  return out;
}

CoordMode parseCoordMode(const std::string& s) {
  if (s == "half_pixel") return CoordMode::kHALF_PIXEL;
  if (s == "half_pixel_symmetric") return CoordMode::kHALF_PIXEL_SYMMETRIC;
  if (s == "pytorch_half_pixel") return CoordMode::kPYTORCH_HALF_PIXEL;
  if (s == "align_corners") return CoordMode::kALIGN_CORNERS;
  if (s == "asymmetric") return CoordMode::kASYMMETRIC;
  if (s == "tf_crop_and_resize") return CoordMode::kTF_CROP_AND_RESIZE;
  throw Error(ErrorCode::kUNSUPPORTED_NODE, "Resize: unknown coordinate_transformation_mode '" + s + "'");
}

NearestMode parseNearestMode(const std::string& s) {
  if (s == "round_prefer_floor") return NearestMode::kROUND_PREFER_FLOOR;
  if (s == "round_prefer_ceil") return NearestMode::kROUND_PREFER_CEIL;
  if (s == "floor") return NearestMode::kFLOOR;
  if (s == "ceil") return NearestMode::kCEIL;
  throw Error(ErrorCode::kUNSUPPORTED_NODE, "Resize: unknown nearest_mode '" + s + "'");
}

ResizePlan resizePlan(const Attributes& attrs, const Shape& in, const std::vector<double>* roi,
                      const std::vector<double>* scales, const std::vector<int64_t>* sizes) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> axes = attrs.getInts("axes");
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  std::vector<bool> seen(in.size(), false);
  for (auto& a : axes) {
    if (a < -rank || a >= rank) throwInvalid("Resize: axis " + std::to_string(a) + " out of range");
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) throwInvalid("Resize: repeated axis");
    seen[static_cast<size_t>(a)] = true;
  }
  const size_t na = axes.size();
  ResizePlan p;
  p.outShape = in;
  p.scales.assign(in.size(), 1.0);
  p.roiStart.assign(in.size(), 0.0);
  p.roiEnd.assign(in.size(), 1.0);
  if (roi && !roi->empty()) {
    if (roi->size() != 2 * na) throwInvalid("Resize: roi must have 2 * (number of axes) values");
    for (size_t i = 0; i < na; ++i) {
      p.roiStart[static_cast<size_t>(axes[i])] = (*roi)[i];
      p.roiEnd[static_cast<size_t>(axes[i])] = (*roi)[na + i];
    }
  }
  if (scales && sizes) throwInvalid("Resize: only one of scales and sizes may be given");
  if (scales) {
    if (scales->size() != na) throwInvalid("Resize: scales must have one value per axis");
    for (size_t i = 0; i < na; ++i) {
      double s = (*scales)[i];
      if (!(s > 0)) throwInvalid("Resize: scales must be positive");
      size_t a = static_cast<size_t>(axes[i]);
      p.scales[a] = s;
      p.outShape[a] = in[a] < 0 ? -1 : static_cast<int64_t>(std::floor(static_cast<double>(in[a]) * s));
    }
  } else if (sizes) {
    if (sizes->size() != na) throwInvalid("Resize: sizes must have one value per axis");
    std::string policy = attrs.getString("keep_aspect_ratio_policy", "stretch");
    for (int64_t s : *sizes)
      if (s < 0) throwInvalid("Resize: negative size");
    if (policy == "stretch") {
      for (size_t i = 0; i < na; ++i) {
        size_t a = static_cast<size_t>(axes[i]);
        p.outShape[a] = (*sizes)[i];
        p.scales[a] = in[a] > 0 ? static_cast<double>((*sizes)[i]) / static_cast<double>(in[a]) : 1.0;
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      bool larger = policy == "not_larger";
      double scale = larger ? std::numeric_limits<double>::infinity() : 0.0;
      bool known = true;
      for (size_t i = 0; i < na; ++i) {
        size_t a = static_cast<size_t>(axes[i]);
        if (in[a] <= 0) {
          known = false;
          continue;
        }
        double s = static_cast<double>((*sizes)[i]) / static_cast<double>(in[a]);
        scale = larger ? std::min(scale, s) : std::max(scale, s);
      }
      for (size_t i = 0; i < na; ++i) {
        size_t a = static_cast<size_t>(axes[i]);
        p.scales[a] = known ? scale : 1.0;
        p.outShape[a] = known ? static_cast<int64_t>(std::floor(scale * static_cast<double>(in[a]) + 0.5)) : -1;
      }
    } else {
      throw Error(ErrorCode::kUNSUPPORTED_NODE, "Resize: unknown keep_aspect_ratio_policy '" + policy + "'");
    }
  } else {
    throwInvalid("Resize: one of scales and sizes is required");
  }
  return p;
}

}  // namespace tensor_ops

void registerTensorOps(OpRegistry& reg) {
  tensor_ops::registerShapeOps(reg);
  tensor_ops::registerSliceOps(reg);
  tensor_ops::registerGatherOps(reg);
  tensor_ops::registerResizeOps(reg);
}

}  // namespace kiln::ir
