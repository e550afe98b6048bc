// Op schemas: Concat, Split, Slice, StridedSlice (kiln), Pad.
#include <algorithm>

#include "ir/ops/tensor_ops.h"

namespace kiln::ir::tensor_ops {
namespace {

bool isIndexType(DataType t) { return t == DataType::kINT64 || t == DataType::kINT32; }

std::vector<int64_t> intsOf(InferContext& c, int i, const char* what) {
  if (!isIndexType(c.inputType(i))) c.fail(std::string(what) + " must be int32 or int64");
  if (c.inputRank(i) != 1) c.fail(std::string(what) + " must be 1-D");
  return c.inputData(i)->toInts();
}

void inferConcat(InferContext& c) {
  if (c.numInputs() < 1) c.fail("Concat needs at least one input");
  for (int i = 0; i < c.numInputs(); ++i)
    if (!c.hasInput(i)) c.fail("Concat: input " + std::to_string(i) + " is missing");
  Shape out = c.inputShape(0);
  int64_t r = static_cast<int64_t>(out.size());
  if (r == 0) c.fail("Concat: inputs must have rank >= 1");
  int64_t axis = c.normalizeAxis(c.attrs().requireInt("axis"), r);
  DataType t = c.inputType(0);
  int64_t sum = 0;
  for (int i = 0; i < c.numInputs(); ++i) {
    const Shape& s = c.inputShape(i);
    if (c.inputType(i) != t) c.fail("Concat: inputs have different types");
    if (static_cast<int64_t>(s.size()) != r)
      c.fail("Concat: input " + std::to_string(i) + " has shape " + shapeToString(s) + ", input 0 " + shapeToString(out));
    for (int64_t d = 0; d < r; ++d) {
      size_t k = static_cast<size_t>(d);
      if (d == axis) continue;
      if (s[k] >= 0 && out[k] >= 0 && s[k] != out[k])
        c.fail("Concat: input " + std::to_string(i) + " has shape " + shapeToString(s) + ", input 0 " + shapeToString(c.inputShape(0)));
      if (out[k] < 0) out[k] = s[k];
    }
    int64_t a = s[static_cast<size_t>(axis)];
    sum = (sum < 0 || a < 0) ? -1 : sum + a;
  }
  out[static_cast<size_t>(axis)] = sum;
  setOutputs(c, {{t, out}});
}

void inferSplit(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", 0), r);
  int64_t d = s[static_cast<size_t>(axis)];
  int n = c.numOutputs();
  std::vector<int64_t> sizes(static_cast<size_t>(n), -1);
  if (c.hasInput(1)) {
    if (c.attrs().has("num_outputs")) c.fail("Split: both the split input and num_outputs are given");
    if (!isIndexType(c.inputType(1)) || c.inputRank(1) != 1) c.fail("Split: split must be a 1-D int64 tensor");
    if (c.inputShape(1)[0] >= 0 && c.inputShape(1)[0] != n) c.fail("Split: split has a length other than the number of outputs");
    if (c.inputData(1)) {
      sizes = c.inputData(1)->toInts();
      int64_t total = 0;
      for (int64_t v : sizes) {
        if (v < 0) c.fail("Split: negative split size");
        total += v;
      }
      if (d >= 0 && total != d) c.fail("Split: split sizes sum to " + std::to_string(total) + ", the dim is " + std::to_string(d));
    }
  } else {
    if (c.attrs().has("num_outputs") && c.attrs().getInt("num_outputs", 0) != n)
      c.fail("Split: num_outputs differs from the number of outputs");
    if (d >= 0) {
      if (c.attrs().has("num_outputs")) {
        int64_t chunk = (d + n - 1) / n;
        for (int i = 0; i < n; ++i) sizes[static_cast<size_t>(i)] = std::clamp<int64_t>(d - i * chunk, 0, chunk);
      } else {
        if (d % n != 0) c.fail("Split: dim " + std::to_string(d) + " is not divisible into " + std::to_string(n) + " outputs");
        for (auto& v : sizes) v = d / n;
      }
    }
  }
  std::vector<std::pair<DataType, Shape>> outs;
  for (int i = 0; i < n; ++i) {
    Shape o = s;
    o[static_cast<size_t>(axis)] = sizes[static_cast<size_t>(i)];
    outs.push_back({c.inputType(0), o});
  }
  setOutputs(c, outs);
}

void inferSlice(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  for (int i = 1; i < 5; ++i)
    if (c.hasInput(i) && (!isIndexType(c.inputType(i)) || c.inputRank(i) != 1))
      c.fail("Slice: starts/ends/axes/steps must be 1-D int32/int64 tensors");
  bool known = c.inputData(1) && c.inputData(2) && (!c.hasInput(3) || c.inputData(3)) && (!c.hasInput(4) || c.inputData(4));
  Shape out(s.size(), -1);
  if (known) {
    auto starts = intsOf(c, 1, "starts"), ends = intsOf(c, 2, "ends");
    std::vector<int64_t> axes, steps;
    if (c.hasInput(3)) axes = intsOf(c, 3, "axes");
    if (c.hasInput(4)) steps = intsOf(c, 4, "steps");
    std::vector<SliceAxis> p;
    try {
      p = sliceParams(s, starts, ends, c.hasInput(3) ? &axes : nullptr, c.hasInput(4) ? &steps : nullptr);
    } catch (const Error& e) {
      c.fail(e.message());
    }
    for (size_t i = 0; i < s.size(); ++i) out[i] = p[i].length;
  } else if (c.hasInput(3) && c.inputData(3)) {
    // only the sliced axes become unknown
    out = s;
    for (int64_t a : c.inputData(3)->toInts()) out[static_cast<size_t>(c.normalizeAxis(a, r))] = -1;
  }
  setOutputs(c, {{c.inputType(0), out}});
}

void inferStridedSlice(InferContext& c) {
  const Shape& s = c.inputShape(0);
  size_t r = s.size();
  auto start = c.attrs().requireInts("start"), size = c.attrs().requireInts("size"), stride = c.attrs().requireInts("stride");
  if (start.size() != r || size.size() != r || stride.size() != r)
    c.fail("StridedSlice: start/size/stride need one value per input dim (rank " + std::to_string(r) + ")");
  int64_t mode = c.attrs().getInt("mode", 0);
  if (mode < 0 || mode > 4) c.fail("StridedSlice: unknown mode " + std::to_string(mode));
  if (c.hasInput(1)) {
    if (numElements(c.inputShape(1)) > 1) c.fail("StridedSlice: the fill value must be a scalar");
    if (c.inputType(1) != c.inputType(0)) c.fail("StridedSlice: the fill value must have the input's type");
  }
  for (size_t i = 0; i < r; ++i) {
    if (size[i] < 0) c.fail("StridedSlice: negative size");
    if (mode == 0 && s[i] >= 0 && size[i] > 0) {
      int64_t first = start[i], last = start[i] + (size[i] - 1) * stride[i];
      if (first < 0 || first >= s[i] || last < 0 || last >= s[i])
        c.fail("StridedSlice: STRICT_BOUNDS slice samples outside dim " + std::to_string(i) + " (extent " +
               std::to_string(s[i]) + ")");
    }
  }
  setOutputs(c, {{c.inputType(0), size}});
}

void inferPad(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  std::string mode = c.attrs().getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") c.fail("Pad: unknown mode '" + mode + "'");
  if (!isIndexType(c.inputType(1)) || c.inputRank(1) != 1) c.fail("Pad: pads must be a 1-D int64 tensor");
  if (c.hasInput(2)) {
    if (numElements(c.inputShape(2)) > 1) c.fail("Pad: constant_value must be a scalar");
    if (c.inputType(2) != c.inputType(0)) c.fail("Pad: constant_value must have the input's type");
  }
  std::vector<int64_t> axes;
  bool axesKnown = true;
  if (c.hasInput(3)) {
    if (!isIndexType(c.inputType(3)) || c.inputRank(3) != 1) c.fail("Pad: axes must be 1-D int64");
    if (c.inputData(3)) {
      for (int64_t a : c.inputData(3)->toInts()) axes.push_back(c.normalizeAxis(a, r));
    } else {
      axesKnown = false;
    }
  } else {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  Shape out(s.size(), -1);
  if (!axesKnown) {
    setOutputs(c, {{c.inputType(0), out}});
    return;
  }
  out = s;
  const TensorData* pd = c.inputData(1);
  if (c.inputShape(1)[0] >= 0 && c.inputShape(1)[0] != 2 * static_cast<int64_t>(axes.size()))
    c.fail("Pad: pads must have 2 * " + std::to_string(axes.size()) + " values");
  std::vector<int64_t> pads;
  if (pd) pads = pd->toInts();
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = static_cast<size_t>(axes[i]);
    if (!pd || s[a] < 0) {
      out[a] = -1;
      continue;
    }
    int64_t o = s[a] + pads[i] + pads[i + axes.size()];
    if (o < 0) c.fail("Pad: negative output extent on axis " + std::to_string(a));
    if (mode != "constant" && s[a] == 0 && o > 0) c.fail("Pad: mode '" + mode + "' cannot pad an empty axis");
    out[a] = o;
  }
  setOutputs(c, {{c.inputType(0), out}});
}

}  // namespace

void registerSliceOps(OpRegistry& reg) {
  reg.add({"Concat", 1, -1, 1, 1, inferConcat, "axis (required, may be negative)"});
  reg.add({"Split", 1, 2, 1, 64, inferSplit, "Split(x, split?); axis=0, num_outputs"});
  reg.add({"Slice", 3, 5, 1, 1, inferSlice, "Slice(data, starts, ends, axes?, steps?)"});
  reg.add({"StridedSlice", 1, 2, 1, 1, inferStridedSlice,
           "kiln (TensorRT ISliceLayer): out[i] = in[start + i*stride]; start, size, stride, mode 0..4; input 1 = fill"});
  reg.add({"Pad", 2, 4, 1, 1, inferPad, "Pad(data, pads, constant_value?, axes?); mode constant|reflect|edge|wrap"});
}

}  // namespace kiln::ir::tensor_ops
