// Op schemas: constants, shape queries, reshaping/transposing ops and simple generators.
#include <algorithm>
#include <cmath>

#include "core/dtype.h"
#include "ir/ops/tensor_ops.h"
#include "ir/shape_utils.h"

namespace kiln::ir::tensor_ops {
namespace {

using Outs = std::vector<std::pair<DataType, Shape>>;

bool isIndexType(DataType t) { return t == DataType::kINT64 || t == DataType::kINT32; }

void requireIndexType(InferContext& c, int i, const char* what) {
  if (!isIndexType(c.inputType(i))) c.fail(std::string(what) + " must be int32 or int64");
}

//! Contents of a 1-D shape-like input, or nullptr when unknown.
const TensorData* shapeInput(InferContext& c, int i, const char* what) {
  requireIndexType(c, i, what);
  if (c.inputRank(i) != 1) c.fail(std::string(what) + " must be 1-D, got " + shapeToString(c.inputShape(i)));
  return c.inputData(i);
}

//! Normalized permutation (default: reversed); fails unless it is a permutation of [0, rank).
std::vector<int64_t> permutation(InferContext& c, const char* name, int64_t rank, bool prefix) {
  std::vector<int64_t> perm = c.attrs().getInts(name);
  if (!c.attrs().has(name)) {
    perm.resize(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = rank - 1 - i;
    return perm;
  }
  if (prefix && static_cast<int64_t>(perm.size()) >= rank) perm.resize(static_cast<size_t>(rank));
  if (static_cast<int64_t>(perm.size()) != rank)
    c.fail(std::string(name) + " has " + std::to_string(perm.size()) + " entries, the input has rank " + std::to_string(rank));
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) c.fail(std::string(name) + " is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Shape permute(const Shape& s, const std::vector<int64_t>& perm) {
  Shape o(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) o[i] = s[static_cast<size_t>(perm[i])];
  return o;
}

void inferConstant(InferContext& c) {
  auto v = c.attrs().getTensor("value");
  if (!v) c.fail("Constant needs a tensor attribute 'value'");
  c.setOutput(0, v->dtype, v->shape);
  c.setOutputData(0, v);
}

void inferShape(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  int64_t start = c.attrs().getInt("start", 0), end = c.attrs().getInt("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  Shape part;
  for (int64_t i = start; i < end; ++i) part.push_back(s[static_cast<size_t>(i)]);
  c.setOutput(0, DataType::kINT64, {static_cast<int64_t>(part.size())});
  if (allKnown(part)) c.setOutputData(0, makeInt64Tensor(part, {static_cast<int64_t>(part.size())}));
}

void inferSize(InferContext& c) {
  c.setOutput(0, DataType::kINT64, {});
  int64_t n = numElements(c.inputShape(0));
  if (n >= 0) c.setOutputData(0, makeInt64Tensor({n}, {}));
}

void inferTranspose(InferContext& c) {
  auto perm = permutation(c, "perm", c.inputRank(0), false);
  setOutputs(c, {{c.inputType(0), permute(c.inputShape(0), perm)}});
}

void inferReshape(InferContext& c) {
  const TensorData* spec = shapeInput(c, 1, "Reshape's shape");
  bool allowZero = c.attrs().getInt("allowzero", 0) != 0;
  Shape out;
  if (spec) {
    try {
      out = reshapeShape(c.inputShape(0), spec->toInts(), allowZero);
    } catch (const Error& e) {
      c.fail(e.message());
    }
  } else {
    int64_t n = c.inputShape(1)[0];
    if (n < 0) c.fail("Reshape: the length of the shape input is unknown");
    out.assign(static_cast<size_t>(n), -1);
  }
  setOutputs(c, {{c.inputType(0), out}});
}

void inferFlatten(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  int64_t axis = c.attrs().getInt("axis", 1);
  if (axis < -r || axis > r) c.fail("Flatten: axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  if (axis < 0) axis += r;
  Shape a(s.begin(), s.begin() + axis), b(s.begin() + axis, s.end());
  setOutputs(c, {{c.inputType(0), {numElements(a), numElements(b)}}});
}

void inferSqueeze(InferContext& c) {
  const Shape& s = c.inputShape(0);
  int64_t r = static_cast<int64_t>(s.size());
  std::vector<bool> drop(s.size(), false);
  if (c.hasInput(1)) {
    const TensorData* axes = shapeInput(c, 1, "Squeeze's axes");
    if (!axes) {  // a runtime input (shape tensor): the output rank is known, its extents are not
      int64_t n = c.inputShape(1)[0];
      if (n < 0) c.fail("Squeeze: the axes input's contents and length are unknown (the output rank depends on them)");
      if (n > r) c.fail("Squeeze: " + std::to_string(n) + " axes for rank " + std::to_string(r));
      setOutputs(c, {{c.inputType(0), Shape(static_cast<size_t>(r - n), -1)}});
      return;
    }
    for (int64_t a : axes->toInts()) {
      a = c.normalizeAxis(a, r);
      if (drop[static_cast<size_t>(a)]) c.fail("Squeeze: repeated axis");
      if (s[static_cast<size_t>(a)] > 1 || s[static_cast<size_t>(a)] == 0)
        c.fail("Squeeze: dim " + std::to_string(a) + " of " + shapeToString(s) + " is not 1");
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] < 0) c.fail("Squeeze without axes needs known extents, got " + shapeToString(s));
      drop[i] = s[i] == 1;
    }
  }
  Shape out;
  for (size_t i = 0; i < s.size(); ++i)
    if (!drop[i]) out.push_back(s[i]);
  setOutputs(c, {{c.inputType(0), out}});
}

void inferUnsqueeze(InferContext& c) {
  const Shape& s = c.inputShape(0);
  const TensorData* axes = shapeInput(c, 1, "Unsqueeze's axes");
  if (!axes) {  // a runtime input (shape tensor): the output rank is known, its extents are not
    int64_t n = c.inputShape(1)[0];
    if (n < 0) c.fail("Unsqueeze: the axes input's contents and length are unknown (the output rank depends on them)");
    if (n > 64) c.fail("Unsqueeze: too many axes (" + std::to_string(n) + ")");
    setOutputs(c, {{c.inputType(0), Shape(s.size() + static_cast<size_t>(n), -1)}});
    return;
  }
  auto ax = axes->toInts();
  int64_t outRank = static_cast<int64_t>(s.size() + ax.size());
  std::vector<bool> ins(static_cast<size_t>(outRank), false);
  for (int64_t a : ax) {
    a = c.normalizeAxis(a, outRank);
    if (ins[static_cast<size_t>(a)]) c.fail("Unsqueeze: repeated axis");
    ins[static_cast<size_t>(a)] = true;
  }
  Shape out;
  size_t j = 0;
  for (int64_t i = 0; i < outRank; ++i) out.push_back(ins[static_cast<size_t>(i)] ? 1 : s[j++]);
  setOutputs(c, {{c.inputType(0), out}});
}

void inferExpand(InferContext& c) {
  const TensorData* spec = shapeInput(c, 1, "Expand's shape");
  const Shape& s = c.inputShape(0);
  Shape out;
  if (spec) {
    auto sh = spec->toInts();
    for (int64_t d : sh)
      if (d < 0) c.fail("Expand: negative extent in shape " + shapeToString(sh));
    try {
      out = broadcastShapes(s, sh);
    } catch (const Error& e) {
      c.fail("Expand: " + e.message());
    }
  } else {
    int64_t n = c.inputShape(1)[0];
    if (n < 0) c.fail("Expand: the length of the shape input is unknown");
    size_t r = std::max(static_cast<size_t>(n), s.size());
    out.assign(r, -1);
    for (size_t i = 0; i < s.size(); ++i)
      if (s[s.size() - 1 - i] > 1) out[r - 1 - i] = s[s.size() - 1 - i];
  }
  setOutputs(c, {{c.inputType(0), out}});
}

void inferTile(InferContext& c) {
  const TensorData* rep = shapeInput(c, 1, "Tile's repeats");
  const Shape& s = c.inputShape(0);
  if (c.inputShape(1)[0] >= 0 && c.inputShape(1)[0] != static_cast<int64_t>(s.size()))
    c.fail("Tile: repeats must have one value per input dim");
  Shape out(s.size(), -1);
  if (rep) {
    auto r = rep->toInts();
    for (size_t i = 0; i < s.size(); ++i) {
      if (r[i] < 0) c.fail("Tile: negative repeat");
      out[i] = s[i] < 0 ? (r[i] == 0 ? 0 : -1) : s[i] * r[i];
    }
  }
  setOutputs(c, {{c.inputType(0), out}});
}

// kiln "Shuffle": transpose(first_perm) -> reshape -> transpose(second_perm), TensorRT's IShuffleLayer.
void inferShuffle(InferContext& c) {
  const Shape& s = c.inputShape(0);
  bool allowZero = c.attrs().getInt("allowzero", 0) != 0;
  Shape t = s;
  if (c.attrs().has("first_perm")) t = permute(s, permutation(c, "first_perm", static_cast<int64_t>(s.size()), true));
  Shape r = t;
  try {
    if (c.hasInput(1)) {
      const TensorData* spec = shapeInput(c, 1, "Shuffle's shape input");
      if (spec) {
        r = reshapeShape(t, spec->toInts(), allowZero);
      } else {
        int64_t n = c.inputShape(1)[0];
        if (n < 0) c.fail("Shuffle: the length of the shape input is unknown");
        r.assign(static_cast<size_t>(n), -1);
      }
    } else if (c.attrs().has("reshape")) {
      r = reshapeShape(t, c.attrs().getInts("reshape"), allowZero);
    }
  } catch (const Error& e) {
    c.fail(e.message());
  }
  Shape out = r;
  if (c.attrs().has("second_perm")) out = permute(r, permutation(c, "second_perm", static_cast<int64_t>(r.size()), true));
  setOutputs(c, {{c.inputType(0), out}});
}

void inferConstantOfShape(InferContext& c) {
  const TensorData* spec = shapeInput(c, 0, "ConstantOfShape's input");
  auto v = c.attrs().getTensor("value");
  if (v && v->numel() != 1) c.fail("ConstantOfShape: value must have exactly one element");
  DataType t = v ? v->dtype : DataType::kFLOAT;
  Shape out;
  if (spec) {
    out = spec->toInts();
    for (int64_t d : out)
      if (d < 0) c.fail("ConstantOfShape: negative extent");
  } else {
    int64_t n = c.inputShape(0)[0];
    if (n < 0) c.fail("ConstantOfShape: the rank of the output is unknown");
    out.assign(static_cast<size_t>(n), -1);
  }
  setOutputs(c, {{t, out}});
}

void inferRange(InferContext& c) {
  DataType t = c.inputType(0);
  for (int i = 0; i < 3; ++i) {
    if (c.inputType(i) != t) c.fail("Range: start, limit and delta must have the same type");
    if (numElements(c.inputShape(i)) > 1 || numElements(c.inputShape(i)) == 0) c.fail("Range: inputs must be scalars");
  }
  if (t == DataType::kBOOL) c.fail("Range: bool is not supported");
  Shape out{-1};
  if (c.inputData(0) && c.inputData(1) && c.inputData(2)) {
    int64_t n;
    if (isFloatingType(t)) {
      double s = c.inputData(0)->floatAt(0), l = c.inputData(1)->floatAt(0), d = c.inputData(2)->floatAt(0);
      if (d == 0) c.fail("Range: delta is 0");
      double cnt = std::ceil((l - s) / d);
      if (!(cnt < 1e15)) cnt = cnt > 0 ? 1e15 : 0;  // NaN -> 0
      n = std::max<int64_t>(static_cast<int64_t>(cnt), 0);
    } else {
      int64_t s = c.inputData(0)->intAt(0), l = c.inputData(1)->intAt(0), d = c.inputData(2)->intAt(0);
      if (d == 0) c.fail("Range: delta is 0");
      if (d > 0) n = l > s ? (l - s + d - 1) / d : 0;
      else n = s > l ? (s - l + (-d) - 1) / (-d) : 0;
    }
    out = {n};
  }
  setOutputs(c, {{t, out}});
}

void inferEyeLike(InferContext& c) {
  if (c.inputRank(0) != 2) c.fail("EyeLike: the input must be 2-D");
  DataType t = c.attrs().has("dtype") ? static_cast<DataType>(c.attrs().getInt("dtype", 0)) : c.inputType(0);
  if (!isKnownType(t)) c.fail("EyeLike: unknown dtype");
  c.setOutput(0, t, c.inputShape(0));
}

void inferDepthToSpace(InferContext& c, bool toSpace) {
  const Shape& s = c.inputShape(0);
  if (s.size() != 4) c.fail("the input must be 4-D (NCHW), got " + shapeToString(s));
  int64_t b = c.attrs().requireInt("blocksize");
  if (b <= 0) c.fail("blocksize must be positive");
  std::string mode = c.attrs().getString("mode", "DCR");
  if (toSpace && mode != "DCR" && mode != "CRD") c.fail("mode must be DCR or CRD");
  Shape out = s;
  if (toSpace) {
    if (s[1] >= 0 && s[1] % (b * b) != 0) c.fail("channels " + std::to_string(s[1]) + " not divisible by blocksize^2");
    out[1] = s[1] < 0 ? -1 : s[1] / (b * b);
    out[2] = s[2] < 0 ? -1 : s[2] * b;
    out[3] = s[3] < 0 ? -1 : s[3] * b;
  } else {
    for (int i = 2; i < 4; ++i)
      if (s[static_cast<size_t>(i)] >= 0 && s[static_cast<size_t>(i)] % b != 0) c.fail("spatial dims not divisible by blocksize");
    out[1] = s[1] < 0 ? -1 : s[1] * b * b;
    out[2] = s[2] < 0 ? -1 : s[2] / b;
    out[3] = s[3] < 0 ? -1 : s[3] / b;
  }
  setOutputs(c, {{c.inputType(0), out}});
}

void inferTrilu(InferContext& c) {
  if (c.inputRank(0) < 2) c.fail("Trilu: the input must have rank >= 2");
  if (c.hasInput(1) && numElements(c.inputShape(1)) != 1 && numElements(c.inputShape(1)) != -1)
    c.fail("Trilu: k must be a scalar");
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

void inferCumSum(InferContext& c) {
  if (c.inputType(0) == DataType::kBOOL) c.fail("CumSum: bool is not supported");
  requireIndexType(c, 1, "CumSum's axis");
  if (numElements(c.inputShape(1)) > 1 || c.inputRank(1) > 1) c.fail("CumSum: axis must be a scalar");
  if (c.inputData(1)) c.normalizeAxis(c.inputData(1)->intAt(0), c.inputRank(0));
  setOutputs(c, {{c.inputType(0), c.inputShape(0)}});
}

void inferOneHot(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (numElements(c.inputShape(1)) > 1 || numElements(c.inputShape(1)) == 0) c.fail("OneHot: depth must be a scalar");
  if (c.inputRank(2) != 1 || (c.inputShape(2)[0] >= 0 && c.inputShape(2)[0] != 2))
    c.fail("OneHot: values must be a 1-D tensor of 2 elements");
  int64_t r = static_cast<int64_t>(s.size()) + 1;
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", -1), r);
  int64_t depth = -1;
  if (c.inputData(1)) {
    double d = c.inputData(1)->floatAt(0);
    if (d < 1) c.fail("OneHot: depth must be >= 1");
    depth = static_cast<int64_t>(d);
  }
  Shape out = s;
  out.insert(out.begin() + axis, depth);
  c.setOutput(0, c.inputType(2), out);
}

void inferReverseSequence(InferContext& c) {
  const Shape& s = c.inputShape(0);
  if (s.size() < 2) c.fail("ReverseSequence: the input must have rank >= 2");
  int64_t b = c.attrs().getInt("batch_axis", 1), t = c.attrs().getInt("time_axis", 0);
  if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t) c.fail("ReverseSequence: batch_axis/time_axis must be 0 and 1");
  requireIndexType(c, 1, "sequence_lens");
  if (c.inputRank(1) != 1) c.fail("ReverseSequence: sequence_lens must be 1-D");
  int64_t nb = c.inputShape(1)[0];
  if (nb >= 0 && s[static_cast<size_t>(b)] >= 0 && nb != s[static_cast<size_t>(b)])
    c.fail("ReverseSequence: sequence_lens length != batch size");
  c.setOutput(0, c.inputType(0), s);
}

}  // namespace

void registerShapeOps(OpRegistry& reg) {
  reg.add({"Constant", 0, 0, 1, 1, inferConstant, "output = attr value (tensor)"});
  reg.add({"Shape", 1, 1, 1, 1, inferShape, "int64 shape of the input, dims [start, end)"});
  reg.add({"Size", 1, 1, 1, 1, inferSize, "int64 scalar number of elements"});
  reg.add({"Transpose", 1, 1, 1, 1, inferTranspose, "perm (default reversed)"});
  reg.add({"Reshape", 2, 2, 1, 1, inferReshape, "Reshape(data, shape int64); allowzero=0"});
  reg.add({"Flatten", 1, 1, 1, 1, inferFlatten, "2-D [prod(d[:axis]), prod(d[axis:])], axis=1"});
  reg.add({"Squeeze", 1, 2, 1, 1, inferSqueeze, "Squeeze(data, axes?)"});
  reg.add({"Unsqueeze", 2, 2, 1, 1, inferUnsqueeze, "Unsqueeze(data, axes)"});
  reg.add({"Expand", 2, 2, 1, 1, inferExpand, "Expand(data, shape): bidirectional broadcast"});
  reg.add({"Tile", 2, 2, 1, 1, inferTile, "Tile(data, repeats)"});
  reg.add({"Shuffle", 1, 2, 1, 1, inferShuffle,
           "kiln: transpose(first_perm) -> reshape(reshape attr or input 1; allowzero) -> transpose(second_perm)"});
  reg.add({"ConstantOfShape", 1, 1, 1, 1, inferConstantOfShape, "ConstantOfShape(shape); value tensor[1] (float 0)"});
  reg.add({"Range", 3, 3, 1, 1, inferRange, "Range(start, limit, delta)"});
  reg.add({"EyeLike", 1, 1, 1, 1, inferEyeLike, "dtype (kiln DataType int), k=0"});
  reg.add({"DepthToSpace", 1, 1, 1, 1, [](InferContext& c) { inferDepthToSpace(c, true); }, "blocksize, mode DCR|CRD"});
  reg.add({"SpaceToDepth", 1, 1, 1, 1, [](InferContext& c) { inferDepthToSpace(c, false); }, "blocksize"});
  reg.add({"Trilu", 1, 2, 1, 1, inferTrilu, "Trilu(x, k?); upper=1"});
  reg.add({"CumSum", 2, 2, 1, 1, inferCumSum, "CumSum(x, axis); exclusive=0, reverse=0"});
  reg.add({"OneHot", 3, 3, 1, 1, inferOneHot, "OneHot(indices, depth, values[off,on]); axis=-1"});
  reg.add({"ReverseSequence", 2, 2, 1, 1, inferReverseSequence, "batch_axis=1, time_axis=0"});
}

}  // namespace kiln::ir::tensor_ops
