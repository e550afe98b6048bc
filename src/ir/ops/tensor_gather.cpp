// Op schemas: Gather, GatherElements, GatherND, ScatterElements, ScatterND, TopK.
#include <algorithm>

#include "core/dtype.h"
#include "ir/ops/tensor_ops.h"

namespace kiln::ir::tensor_ops {
namespace {

bool isIndexType(DataType t) { return t == DataType::kINT64 || t == DataType::kINT32; }

void requireIndices(InferContext& c, int i) {
  if (!isIndexType(c.inputType(i))) c.fail("indices must be int32 or int64");
}

int64_t merge(InferContext& c, int64_t a, int64_t b, const char* what) {
  if (a >= 0 && b >= 0 && a != b) c.fail(std::string(what) + ": extents " + std::to_string(a) + " and " + std::to_string(b) + " differ");
  return a >= 0 ? a : b;
}

void inferGather(InferContext& c) {
  requireIndices(c, 1);
  const Shape& d = c.inputShape(0);
  int64_t r = static_cast<int64_t>(d.size());
  if (r == 0) c.fail("Gather: data must have rank >= 1");
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", 0), r);
  Shape out(d.begin(), d.begin() + axis);
  for (int64_t v : c.inputShape(1)) out.push_back(v);
  out.insert(out.end(), d.begin() + axis + 1, d.end());
  setOutputs(c, {{c.inputType(0), out}});
}

void inferGatherElements(InferContext& c) {
  requireIndices(c, 1);
  const Shape& d = c.inputShape(0);
  const Shape& i = c.inputShape(1);
  if (d.size() != i.size()) c.fail("GatherElements: data and indices must have the same rank");
  if (d.empty()) c.fail("GatherElements: rank must be >= 1");
  c.normalizeAxis(c.attrs().getInt("axis", 0), static_cast<int64_t>(d.size()));
  setOutputs(c, {{c.inputType(0), i}});
}

void inferGatherND(InferContext& c) {
  requireIndices(c, 1);
  const Shape& d = c.inputShape(0);
  const Shape& i = c.inputShape(1);
  int64_t b = c.attrs().getInt("batch_dims", 0);
  int64_t r = static_cast<int64_t>(d.size()), q = static_cast<int64_t>(i.size());
  if (r < 1 || q < 1) c.fail("GatherND: data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) c.fail("GatherND: batch_dims must be in [0, min(rank(data), rank(indices)))");
  int64_t m = i.back();
  if (m < 0) c.fail("GatherND: the last dim of indices must be known");
  if (m > r - b) c.fail("GatherND: indices' last dim " + std::to_string(m) + " exceeds rank(data) - batch_dims");
  Shape out;
  for (int64_t k = 0; k < b; ++k) out.push_back(merge(c, d[static_cast<size_t>(k)], i[static_cast<size_t>(k)], "GatherND batch dims"));
  for (int64_t k = b; k < q - 1; ++k) out.push_back(i[static_cast<size_t>(k)]);
  for (int64_t k = b + m; k < r; ++k) out.push_back(d[static_cast<size_t>(k)]);
  setOutputs(c, {{c.inputType(0), out}});
}

void checkReduction(InferContext& c) {
  std::string red = c.attrs().getString("reduction", "none");
  if (red != "none" && red != "add" && red != "mul" && red != "max" && red != "min") c.fail("unknown reduction '" + red + "'");
  if (red != "none" && c.inputType(0) == DataType::kBOOL && red != "max" && red != "min")
    c.fail("reduction '" + red + "' is not supported for bool");
}

void inferScatterElements(InferContext& c) {
  requireIndices(c, 1);
  checkReduction(c);
  const Shape& d = c.inputShape(0);
  const Shape& i = c.inputShape(1);
  const Shape& u = c.inputShape(2);
  if (d.size() != i.size() || i.size() != u.size()) c.fail("ScatterElements: data, indices, updates must have the same rank");
  if (d.empty()) c.fail("ScatterElements: rank must be >= 1");
  for (size_t k = 0; k < i.size(); ++k) merge(c, i[k], u[k], "ScatterElements indices/updates");
  if (c.inputType(2) != c.inputType(0)) c.fail("ScatterElements: updates must have the data's type");
  c.normalizeAxis(c.attrs().getInt("axis", 0), static_cast<int64_t>(d.size()));
  setOutputs(c, {{c.inputType(0), d}});
}

void inferScatterND(InferContext& c) {
  requireIndices(c, 1);
  checkReduction(c);
  const Shape& d = c.inputShape(0);
  const Shape& i = c.inputShape(1);
  const Shape& u = c.inputShape(2);
  if (i.empty()) c.fail("ScatterND: indices must have rank >= 1");
  int64_t m = i.back();
  if (m < 0) c.fail("ScatterND: the last dim of indices must be known");
  if (m > static_cast<int64_t>(d.size())) c.fail("ScatterND: indices' last dim exceeds rank(data)");
  size_t ur = i.size() - 1 + d.size() - static_cast<size_t>(m);
  if (u.size() != ur) c.fail("ScatterND: updates must have rank " + std::to_string(ur));
  for (size_t k = 0; k + 1 < i.size(); ++k) merge(c, i[k], u[k], "ScatterND updates");
  for (size_t k = static_cast<size_t>(m); k < d.size(); ++k) merge(c, d[k], u[i.size() - 1 + k - static_cast<size_t>(m)], "ScatterND updates");
  if (c.inputType(2) != c.inputType(0)) c.fail("ScatterND: updates must have the data's type");
  setOutputs(c, {{c.inputType(0), d}});
}

void inferTopK(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (s.empty()) c.fail("TopK: the input must have rank >= 1");
  if (c.inputType(0) == DataType::kBOOL) c.fail("TopK: bool is not supported");
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", -1), static_cast<int64_t>(s.size()));
  if (!isIndexType(c.inputType(1)) || numElements(c.inputShape(1)) > 1) c.fail("TopK: K must be a 1-element int64 tensor");
  DataType it = static_cast<DataType>(c.attrs().getInt("index_type", static_cast<int64_t>(DataType::kINT64)));
  if (it != DataType::kINT64 && it != DataType::kINT32) c.fail("TopK: index_type must be INT32 or INT64");
  Shape out = s;
  int64_t k = -1;
  if (c.inputData(1)) {
    if (c.inputData(1)->numel() != 1) c.fail("TopK: K must have one element");
    k = c.inputData(1)->intAt(0);
    if (k < 0) c.fail("TopK: negative K");
    int64_t d = s[static_cast<size_t>(axis)];
    if (d >= 0 && k > d) c.fail("TopK: K = " + std::to_string(k) + " exceeds the axis extent " + std::to_string(d));
  }
  out[static_cast<size_t>(axis)] = k;
  setOutputs(c, {{c.inputType(0), out}, {it, out}});
}

}  // namespace

void registerGatherOps(OpRegistry& reg) {
  reg.add({"Gather", 2, 2, 1, 1, inferGather, "Gather(data, indices); axis=0"});
  reg.add({"GatherElements", 2, 2, 1, 1, inferGatherElements, "GatherElements(data, indices); axis=0"});
  reg.add({"GatherND", 2, 2, 1, 1, inferGatherND, "GatherND(data, indices); batch_dims=0"});
  reg.add({"ScatterElements", 3, 3, 1, 1, inferScatterElements, "ScatterElements(data, indices, updates); axis=0, reduction"});
  reg.add({"ScatterND", 3, 3, 1, 1, inferScatterND, "ScatterND(data, indices, updates); reduction"});
  reg.add({"TopK", 2, 2, 2, 2, inferTopK, "TopK(X, K) -> values, indices; axis=-1, largest=1, sorted=1, index_type"});
}

void registerResizeOps(OpRegistry& reg) {
  reg.add({"Resize", 1, 4, 1, 1,
           [](InferContext& c) {
             const Shape& s = c.inputShape(0);
             if (c.attrs().getInt("antialias", 0) != 0) c.fail("Resize: antialias=1 is not supported");
             std::string mode = c.attrs().getString("mode", "nearest");
             if (mode != "nearest" && mode != "linear" && mode != "cubic") c.fail("Resize: unknown mode '" + mode + "'");
             if (mode != "nearest" && !isFloatingType(c.inputType(0))) c.fail("Resize: mode '" + mode + "' needs a float input");
             try {
               parseCoordMode(c.attrs().getString("coordinate_transformation_mode", "half_pixel"));
               parseNearestMode(c.attrs().getString("nearest_mode", "round_prefer_floor"));
             } catch (const Error& e) {
               c.fail(e.message());
             }
             bool hasScales = c.hasInput(2) && numElements(c.inputShape(2)) != 0;
             bool hasSizes = c.hasInput(3) && numElements(c.inputShape(3)) != 0;
             if (hasScales == hasSizes) c.fail("Resize: exactly one of scales and sizes must be given");
             std::vector<double> roi, scales;
             std::vector<int64_t> sizes;
             bool hasRoi = c.hasInput(1) && c.inputData(1) && c.inputData(1)->numel() > 0;
             if (hasRoi)
               for (int64_t i = 0; i < c.inputData(1)->numel(); ++i) roi.push_back(c.inputData(1)->floatAt(i));
             const TensorData* v = c.inputData(hasScales ? 2 : 3);
             if (hasSizes && !(c.inputType(3) == DataType::kINT64 || c.inputType(3) == DataType::kINT32))
               c.fail("Resize: sizes must be int64");
             if (!v) {
               std::vector<int64_t> axes = c.attrs().getInts("axes");
               Shape out = s;
               if (axes.empty()) out.assign(s.size(), -1);
               for (int64_t a : axes) out[static_cast<size_t>(c.normalizeAxis(a, static_cast<int64_t>(s.size())))] = -1;
               c.setOutput(0, c.inputType(0), out);
               return;
             }
             if (hasScales)
               for (int64_t i = 0; i < v->numel(); ++i) scales.push_back(v->floatAt(i));
             else
               sizes = v->toInts();
             try {
               ResizePlan p = resizePlan(c.attrs(), s, hasRoi ? &roi : nullptr, hasScales ? &scales : nullptr,
                                         hasSizes ? &sizes : nullptr);
               c.setOutput(0, c.inputType(0), p.outShape);
             } catch (const Error& e) {
               c.fail(e.message());
             }
           },
           "Resize(X, roi?, scales?, sizes?) opset 19; antialias=0 only"});
}

}  // namespace kiln::ir::tensor_ops
