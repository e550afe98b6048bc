// Op schemas and shared computations of the ops whose output extents depend on input values: NonZero,
// Compress, Unique, NonMaxSuppression, MelWeightMatrix (see data_dependent.h).
#include "ir/ops/data_dependent.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace data_dependent {
namespace {

[[noreturn]] void bad(const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, m); }

std::shared_ptr<TensorData> int64Out(const std::vector<int64_t>& v, Shape shape) { return makeInt64Tensor(v, std::move(shape)); }

//! Normalized axis attribute or -1 when absent (flattened input).
int64_t axisAttr(const Attributes& a, int64_t rank, const char* op) {
  if (!a.has("axis")) return -1;
  int64_t ax = a.getInt("axis", 0);
  if (ax < -rank || ax >= rank) bad(std::string(op) + ": axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
  return ax < 0 ? ax + rank : ax;
}

//! Copies the slices `pick` (indices along `axis`, which splits x into outer x len x inner) into a new tensor.
std::shared_ptr<TensorData> gatherSlices(const TensorData& x, int64_t axis, const std::vector<int64_t>& pick) {
  Shape s = x.shape;
  int64_t outer = 1, inner = 1, len = s[static_cast<size_t>(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  s[static_cast<size_t>(axis)] = static_cast<int64_t>(pick.size());
  void* p = nullptr;
  auto out = makeTensor(x.dtype, s, &p);
  const std::size_t es = dataTypeSize(x.dtype), row = static_cast<std::size_t>(inner) * es;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(p);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < pick.size(); ++k)
      if (row) std::memcpy(dst + (static_cast<std::size_t>(o) * pick.size() + k) * row,
                           src + static_cast<std::size_t>(o * len + pick[k]) * row, row);
  return out;
}

}  // namespace

std::shared_ptr<const TensorData> viewOf(DataType dtype, const Shape& shape, const void* data) {
  auto t = std::make_shared<TensorData>();
  t->dtype = dtype;
  t->shape = shape;
  std::size_t bytes = static_cast<std::size_t>(numElements(shape)) * dataTypeSize(dtype);
  t->blob = Blob::view(data, bytes, nullptr);
  return t;
}

Outputs nonZero(const TensorData& x) {
  const int64_t n = x.numel(), r = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < n; ++i)
    if (x.floatAt(i) != 0.0) hits.push_back(i);
  const int64_t rows = std::max<int64_t>(r, 1), nnz = static_cast<int64_t>(hits.size());
  std::vector<int64_t> v(static_cast<size_t>(rows * nnz), 0);
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t rem = hits[static_cast<size_t>(k)];
    for (int64_t d = r - 1; d >= 0; --d) {
      int64_t e = x.shape[static_cast<size_t>(d)];
      v[static_cast<size_t>(d * nnz + k)] = rem % e;
      rem /= e;
    }
  }
  return {int64Out(v, {rows, nnz})};
}

Outputs compress(const Attributes& attrs, const TensorData& x, const TensorData& cond) {
  if (cond.shape.size() != 1) bad("Compress: condition must be 1-D");
  const int64_t r = static_cast<int64_t>(x.shape.size());
  int64_t axis = axisAttr(attrs, r, "Compress");
  TensorData flat = x;
  if (axis < 0) {
    flat.shape = {x.numel()};
    axis = 0;
  }
  const int64_t len = flat.shape[static_cast<size_t>(axis)];
  if (cond.numel() > len) bad("Compress: condition is longer than the selected axis");
  std::vector<int64_t> pick;
  for (int64_t i = 0; i < cond.numel(); ++i)
    if (cond.floatAt(i) != 0.0) pick.push_back(i);
  return {gatherSlices(flat, axis, pick)};
}

Outputs unique(const Attributes& attrs, const TensorData& x) {
  const int64_t r = static_cast<int64_t>(x.shape.size());
  int64_t axis = axisAttr(attrs, r, "Unique");
  bool sorted = attrs.getInt("sorted", 1) != 0;
  TensorData flat = x;
  if (axis < 0) {
    flat.shape = {x.numel()};
    axis = 0;
  }
  const Shape& s = flat.shape;
  int64_t outer = 1, inner = 1, len = s[static_cast<size_t>(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  // slice j as a vector of doubles (for comparison)
  std::vector<std::vector<double>> slice(static_cast<size_t>(len));
  for (int64_t j = 0; j < len; ++j)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) slice[static_cast<size_t>(j)].push_back(x.floatAt((o * len + j) * inner + i));
  // first occurrences, in order
  std::vector<int64_t> firsts, inverse(static_cast<size_t>(len));
  std::vector<int64_t> counts;
  for (int64_t j = 0; j < len; ++j) {
    int64_t found = -1;
    for (size_t u = 0; u < firsts.size(); ++u)
      if (slice[static_cast<size_t>(firsts[u])] == slice[static_cast<size_t>(j)]) {
        found = static_cast<int64_t>(u);
        break;
      }
    if (found < 0) {
      found = static_cast<int64_t>(firsts.size());
      firsts.push_back(j);
      counts.push_back(0);
    }
    inverse[static_cast<size_t>(j)] = found;
    ++counts[static_cast<size_t>(found)];
  }
  std::vector<int64_t> order(firsts.size());
  std::iota(order.begin(), order.end(), 0);
  if (sorted)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return slice[static_cast<size_t>(firsts[static_cast<size_t>(a)])] < slice[static_cast<size_t>(firsts[static_cast<size_t>(b)])];
    });
  std::vector<int64_t> rank(order.size()), idx, cnt;
  for (size_t k = 0; k < order.size(); ++k) {
    rank[static_cast<size_t>(order[k])] = static_cast<int64_t>(k);
    idx.push_back(firsts[static_cast<size_t>(order[k])]);
    cnt.push_back(counts[static_cast<size_t>(order[k])]);
  }
  for (auto& v : inverse) v = rank[static_cast<size_t>(v)];
  const int64_t u = static_cast<int64_t>(idx.size());
  return {gatherSlices(flat, axis, idx), int64Out(idx, {u}), int64Out(inverse, {len}), int64Out(cnt, {u})};
}

Outputs nonMaxSuppression(const Attributes& attrs, const TensorData& boxes, const TensorData& scores,
                          const TensorData* maxPerClass, const TensorData* iouThreshold, const TensorData* scoreThreshold) {
  if (boxes.shape.size() != 3 || boxes.shape[2] != 4) bad("NonMaxSuppression: boxes must be [batch, boxes, 4]");
  if (scores.shape.size() != 3 || scores.shape[0] != boxes.shape[0] || scores.shape[2] != boxes.shape[1])
    bad("NonMaxSuppression: scores must be [batch, classes, boxes] matching boxes");
  const int64_t center = attrs.getInt("center_point_box", 0);
  if (center != 0 && center != 1) bad("NonMaxSuppression: center_point_box must be 0 or 1");
  int64_t maxOut = maxPerClass && maxPerClass->numel() > 0 ? maxPerClass->intAt(0) : 0;
  double iouT = iouThreshold && iouThreshold->numel() > 0 ? iouThreshold->floatAt(0) : 0.0;
  bool hasScoreT = scoreThreshold && scoreThreshold->numel() > 0;
  double scoreT = hasScoreT ? scoreThreshold->floatAt(0) : 0.0;
  if (iouT < 0 || iouT > 1) bad("NonMaxSuppression: iou_threshold must be in [0, 1]");
  const int64_t nb = boxes.shape[0], nc = scores.shape[1], nbox = boxes.shape[1];
  std::vector<int64_t> sel;
  if (maxOut <= 0) return {int64Out(sel, {0, 3})};
  struct Box {
    double y1, x1, y2, x2, area;
  };
  for (int64_t b = 0; b < nb; ++b) {
    std::vector<Box> bx(static_cast<size_t>(nbox));
    for (int64_t i = 0; i < nbox; ++i) {
      double v[4];
      for (int k = 0; k < 4; ++k) v[k] = boxes.floatAt((b * nbox + i) * 4 + k);
      Box& q = bx[static_cast<size_t>(i)];
      if (center) {  // [x_center, y_center, width, height]
        q = {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2, 0};
      } else {  // [y1, x1, y2, x2], any pair of diagonal corners
        q = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3]), 0};
      }
      q.area = (q.y2 - q.y1) * (q.x2 - q.x1);
    }
    for (int64_t c = 0; c < nc; ++c) {
      std::vector<int64_t> cand;
      for (int64_t i = 0; i < nbox; ++i)
        if (!hasScoreT || scores.floatAt((b * nc + c) * nbox + i) > scoreT) cand.push_back(i);
      std::stable_sort(cand.begin(), cand.end(), [&](int64_t p, int64_t q) {
        return scores.floatAt((b * nc + c) * nbox + p) > scores.floatAt((b * nc + c) * nbox + q);
      });
      std::vector<int64_t> kept;
      for (int64_t i : cand) {
        if (static_cast<int64_t>(kept.size()) >= maxOut) break;
        const Box& p = bx[static_cast<size_t>(i)];
        bool keep = true;
        for (int64_t j : kept) {
          const Box& q = bx[static_cast<size_t>(j)];
          if (p.area <= 0 || q.area <= 0) continue;
          double ih = std::min(p.y2, q.y2) - std::max(p.y1, q.y1), iw = std::min(p.x2, q.x2) - std::max(p.x1, q.x1);
          if (ih <= 0 || iw <= 0) continue;
          double inter = ih * iw;
          if (inter / (p.area + q.area - inter) > iouT) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        kept.push_back(i);
        sel.insert(sel.end(), {b, c, i});
      }
    }
  }
  return {int64Out(sel, {static_cast<int64_t>(sel.size() / 3), 3})};
}

Outputs melWeightMatrix(const Attributes& attrs, const TensorData& numMelBins, const TensorData& dftLength,
                       const TensorData& sampleRate, const TensorData& lowerHertz, const TensorData& upperHertz) {
  for (const TensorData* t : {&numMelBins, &dftLength, &sampleRate, &lowerHertz, &upperHertz})
    if (t->numel() != 1) bad("MelWeightMatrix: every input must be a scalar");
  const int64_t mel = numMelBins.intAt(0), dft = dftLength.intAt(0), rate = sampleRate.intAt(0);
  if (mel < 1 || mel > 4096 || dft < 1 || dft > (int64_t{1} << 20) || rate < 1) bad("MelWeightMatrix: inputs out of range");
  DataType dt = static_cast<DataType>(attrs.getInt("dtype", static_cast<int64_t>(DataType::kFLOAT)));
  if (dt != DataType::kFLOAT && dt != DataType::kDOUBLE) bad("MelWeightMatrix: output_datatype must be float or double");
  const int64_t nsb = dft / 2 + 1;
  if (nsb * mel > (int64_t{1} << 24)) bad("MelWeightMatrix: the output is too large");
  const float lowMel = 2595.0f * std::log10(1.0f + static_cast<float>(lowerHertz.floatAt(0)) / 700.0f);
  const float highMel = 2595.0f * std::log10(1.0f + static_cast<float>(upperHertz.floatAt(0)) / 700.0f);
  const float stepMel = (highMel - lowMel) / static_cast<float>(mel + 2);
  std::vector<int64_t> fb(static_cast<size_t>(mel + 2));
  for (int64_t i = 0; i < mel + 2; ++i) {
    double m = static_cast<double>(i) * static_cast<double>(stepMel) + static_cast<double>(lowMel);
    double hz = 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);
    fb[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(static_cast<double>(dft + 1) * hz / static_cast<double>(rate)));
  }
  std::vector<double> w(static_cast<size_t>(nsb * mel), 0.0);
  auto set = [&](int64_t j, int64_t i, double v) {
    if (j < 0 || j >= nsb) bad("MelWeightMatrix: a band edge falls outside the spectrogram bins");
    w[static_cast<size_t>(j * mel + i)] = v;
  };
  for (int64_t i = 0; i < mel; ++i) {
    int64_t lo = fb[static_cast<size_t>(i)], ce = fb[static_cast<size_t>(i + 1)], hi = fb[static_cast<size_t>(i + 2)];
    if (ce == lo) set(ce, i, 1.0);
    else
      for (int64_t j = lo; j <= ce; ++j) set(j, i, static_cast<double>(j - lo) / static_cast<double>(ce - lo));
    if (hi > ce)
      for (int64_t j = ce; j < hi; ++j) set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - ce));
  }
  void* p = nullptr;
  auto out = makeTensor(dt, {nsb, mel}, &p);
  for (size_t k = 0; k < w.size(); ++k) {
    if (dt == DataType::kFLOAT) static_cast<float*>(p)[k] = static_cast<float>(w[k]);
    else static_cast<double*>(p)[k] = w[k];
  }
  return {out};
}

}  // namespace data_dependent

namespace {

using namespace data_dependent;

bool allKnown(InferContext& c) {
  for (int i = 0; i < c.numInputs(); ++i)
    if (c.hasInput(i) && !c.inputData(i)) return false;
  return true;
}

void publish(InferContext& c, const Outputs& outs) {
  for (size_t k = 0; k < outs.size() && static_cast<int>(k) < c.numOutputs(); ++k) {
    c.setOutput(static_cast<int>(k), outs[k]->dtype, outs[k]->shape);
    c.setOutputData(static_cast<int>(k), outs[k]);
  }
}

template <class F>
void computeOrFail(InferContext& c, F&& f) {
  try {
    publish(c, f());
  } catch (const Error& e) {
    c.fail(e.message());
  }
}

void inferNonZero(InferContext& c) {
  if (allKnown(c) && c.inputData(0)->numel() <= kMaxInferredElements) return computeOrFail(c, [&] { return nonZero(*c.inputData(0)); });
  c.setOutput(0, DataType::kINT64, {std::max<int64_t>(c.inputRank(0), 1), -1});
}

void inferCompress(InferContext& c) {
  if (c.inputRank(1) != 1) c.fail("Compress: condition must be 1-D");
  if (c.inputType(1) != DataType::kBOOL) c.fail("Compress: condition must be bool");
  const int64_t r = c.inputRank(0);
  int64_t axis = -1;
  if (c.attrs().has("axis")) axis = c.normalizeAxis(c.attrs().getInt("axis", 0), r);
  if (allKnown(c) && c.inputData(0)->numel() <= kMaxInferredElements)
    return computeOrFail(c, [&] { return compress(c.attrs(), *c.inputData(0), *c.inputData(1)); });
  Shape out = axis < 0 ? Shape{-1} : c.inputShape(0);
  if (axis >= 0) out[static_cast<size_t>(axis)] = -1;
  c.setOutput(0, c.inputType(0), out);
}

void inferUnique(InferContext& c) {
  const int64_t r = c.inputRank(0);
  int64_t axis = -1;
  if (c.attrs().has("axis")) axis = c.normalizeAxis(c.attrs().getInt("axis", 0), r);
  if (allKnown(c) && c.inputData(0)->numel() <= kMaxInferredElements)
    return computeOrFail(c, [&] { return unique(c.attrs(), *c.inputData(0)); });
  Shape y = axis < 0 ? Shape{-1} : c.inputShape(0);
  if (axis >= 0) y[static_cast<size_t>(axis)] = -1;
  int64_t n = axis < 0 ? numElements(c.inputShape(0)) : c.inputShape(0)[static_cast<size_t>(axis)];
  c.setOutput(0, c.inputType(0), y);
  if (c.numOutputs() > 1) c.setOutput(1, DataType::kINT64, {-1});
  if (c.numOutputs() > 2) c.setOutput(2, DataType::kINT64, {n});
  if (c.numOutputs() > 3) c.setOutput(3, DataType::kINT64, {-1});
}

void inferNms(InferContext& c) {
  if (!isFloatingType(c.inputType(0)) || c.inputType(1) != c.inputType(0)) c.fail("NonMaxSuppression: boxes and scores must be floats of one type");
  if (c.inputRank(0) != 3 || c.inputRank(1) != 3) c.fail("NonMaxSuppression: boxes and scores must be 3-D");
  if (c.hasInput(2) && (c.inputType(2) != DataType::kINT64 || numElements(c.inputShape(2)) > 1))
    c.fail("NonMaxSuppression: max_output_boxes_per_class must be an int64 scalar");
  for (int i = 3; i < 5; ++i)
    if (c.hasInput(i) && (c.inputType(i) != DataType::kFLOAT || numElements(c.inputShape(i)) > 1))
      c.fail("NonMaxSuppression: the thresholds must be float scalars");
  int64_t n = numElements(c.inputShape(0)) + numElements(c.inputShape(1));
  if (allKnown(c) && n >= 0 && n <= 4 * kMaxInferredElements)
    return computeOrFail(c, [&] {
      return nonMaxSuppression(c.attrs(), *c.inputData(0), *c.inputData(1), c.hasInput(2) ? c.inputData(2) : nullptr,
                               c.hasInput(3) ? c.inputData(3) : nullptr, c.hasInput(4) ? c.inputData(4) : nullptr);
    });
  c.setOutput(0, DataType::kINT64, {-1, 3});
}

void inferMelWeightMatrix(InferContext& c) {
  for (int i = 0; i < 5; ++i) {
    if (numElements(c.inputShape(i)) > 1 || c.inputRank(i) > 1) c.fail("MelWeightMatrix: every input must be a scalar");
    if (i < 3 && c.inputType(i) != DataType::kINT32 && c.inputType(i) != DataType::kINT64) c.fail("MelWeightMatrix: the first three inputs must be int32/int64");
  }
  if (allKnown(c))
    return computeOrFail(c, [&] {
      return melWeightMatrix(c.attrs(), *c.inputData(0), *c.inputData(1), *c.inputData(2), *c.inputData(3), *c.inputData(4));
    });
  int64_t mel = c.inputData(0) ? c.inputData(0)->intAt(0) : -1, dft = c.inputData(1) ? c.inputData(1)->intAt(0) : -1;
  DataType dt = static_cast<DataType>(c.attrs().getInt("dtype", static_cast<int64_t>(DataType::kFLOAT)));
  if (dt != DataType::kFLOAT && dt != DataType::kDOUBLE) c.fail("MelWeightMatrix: output_datatype must be float or double");
  c.setOutput(0, dt, {dft >= 1 ? dft / 2 + 1 : -1, mel >= 1 ? mel : -1});
}

}  // namespace

void registerDataDependentOps(OpRegistry& reg) {
  reg.add({"MelWeightMatrix", 5, 5, 1, 1, inferMelWeightMatrix,
           "MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz); dtype (kiln DataType int)"});
  reg.add({"NonZero", 1, 1, 1, 1, inferNonZero, "NonZero(x) -> int64 [rank, count] indices of the non-zero elements"});
  reg.add({"Compress", 2, 2, 1, 1, inferCompress, "Compress(x, condition bool 1-D); axis (absent: flattened)"});
  reg.add({"Unique", 1, 1, 1, 4, inferUnique, "Unique(x) -> y, indices, inverse_indices, counts; sorted=1, axis"});
  reg.add({"NonMaxSuppression", 2, 5, 1, 1, inferNms,
           "NonMaxSuppression(boxes, scores, max_per_class?, iou?, score?) -> int64 [n, 3]; center_point_box=0"});
}

}  // namespace kiln::ir
