// Op schemas: GridSample, AffineGrid, Col2Im (ONNX opset 20/18 semantics).
#include <string>

#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

constexpr int64_t kMaxSpatialRank = 6;

bool isFloatData(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kDOUBLE || t == DataType::kBF16;
}

int64_t mergeDim(InferContext& c, int64_t a, int64_t b, const char* what) {
  if (a >= 0 && b >= 0 && a != b)
    c.fail(std::string(what) + ": extents " + std::to_string(a) + " and " + std::to_string(b) + " differ");
  return a >= 0 ? a : b;
}

//! Contents of a 1-D integer input with `n` entries (n < 0: any), or an empty vector when unknown.
std::vector<int64_t> intVector(InferContext& c, int i, int64_t n, const char* what, bool* known) {
  if (c.inputType(i) != DataType::kINT64 && c.inputType(i) != DataType::kINT32) c.fail(std::string(what) + " must be int64");
  if (c.inputRank(i) != 1) c.fail(std::string(what) + " must be 1-D");
  const int64_t len = c.inputShape(i)[0];
  if (n >= 0 && len >= 0 && len != n)
    c.fail(std::string(what) + " must have " + std::to_string(n) + " entries, got " + std::to_string(len));
  std::vector<int64_t> v;
  *known = false;
  if (const TensorData* d = c.inputData(i)) {
    for (int64_t k = 0; k < d->numel(); ++k) v.push_back(d->intAt(k));
    *known = true;
  }
  return v;
}

void inferGridSample(InferContext& c) {
  const Shape& x = c.inputShape(0);
  const Shape& g = c.inputShape(1);
  if (!isFloatData(c.inputType(0))) c.fail("GridSample: X must be a floating-point tensor");
  if (!isFloatData(c.inputType(1))) c.fail("GridSample: grid must be a floating-point tensor");
  const int64_t r = static_cast<int64_t>(x.size()) - 2;
  if (r < 1 || r > kMaxSpatialRank) c.fail("GridSample: X must have rank 3 to " + std::to_string(kMaxSpatialRank + 2));
  if (g.size() != x.size()) c.fail("GridSample: grid must have the rank of X ([N, out..., " + std::to_string(r) + "])");
  if (g.back() >= 0 && g.back() != r) c.fail("GridSample: the last dim of grid must be " + std::to_string(r));
  const std::string mode = c.attrs().getString("mode", "linear");
  if (mode != "linear" && mode != "nearest" && mode != "cubic") c.fail("GridSample: unknown mode '" + mode + "'");
  const std::string pad = c.attrs().getString("padding_mode", "zeros");
  if (pad != "zeros" && pad != "border" && pad != "reflection") c.fail("GridSample: unknown padding_mode '" + pad + "'");
  Shape out{mergeDim(c, x[0], g[0], "GridSample batch"), x[1]};
  for (int64_t k = 1; k <= r; ++k) out.push_back(g[static_cast<size_t>(k)]);
  c.setOutput(0, c.inputType(0), out);
}

void inferAffineGrid(InferContext& c) {
  const Shape& th = c.inputShape(0);
  if (!isFloatData(c.inputType(0))) c.fail("AffineGrid: theta must be a floating-point tensor");
  if (th.size() != 3) c.fail("AffineGrid: theta must be 3-D ([N, 2, 3] or [N, 3, 4])");
  bool known = false;
  std::vector<int64_t> size = intVector(c, 1, -1, "AffineGrid: size", &known);
  int64_t len = c.inputShape(1)[0];
  int64_t r = -1;  // spatial rank
  if (th[1] >= 0) r = th[1];
  if (len >= 0) r = mergeDim(c, r, len - 2, "AffineGrid spatial rank");
  if (r >= 0 && r != 2 && r != 3) c.fail("AffineGrid: only 2-D ([N,2,3], size of 4) and 3-D ([N,3,4], size of 5) grids");
  if (r < 0) c.fail("AffineGrid: the spatial rank must be known");
  if (th[1] >= 0 && th[1] != r) c.fail("AffineGrid: theta must be [N, 2, 3] or [N, 3, 4]");
  if (th[2] >= 0 && th[2] != r + 1) c.fail("AffineGrid: theta must be [N, 2, 3] or [N, 3, 4]");
  Shape out(static_cast<size_t>(r + 2), -1);
  out[0] = th[0];
  out.back() = r;
  if (known) {
    if (static_cast<int64_t>(size.size()) != r + 2) c.fail("AffineGrid: size must have " + std::to_string(r + 2) + " entries");
    for (int64_t v : size)
      if (v < 0) c.fail("AffineGrid: size entries must be >= 0");
    out[0] = mergeDim(c, th[0], size[0], "AffineGrid batch");
    for (int64_t k = 0; k < r; ++k) out[static_cast<size_t>(k + 1)] = size[static_cast<size_t>(k + 2)];
  }
  c.setOutput(0, c.inputType(0), out);
}

void inferCol2Im(InferContext& c) {
  const Shape& x = c.inputShape(0);
  if (!isFloatData(c.inputType(0)) && c.inputType(0) != DataType::kINT32 && c.inputType(0) != DataType::kINT64)
    c.fail("Col2Im: unsupported input type");
  if (x.size() != 3) c.fail("Col2Im: input must be 3-D ([N, C * prod(block_shape), L])");
  bool knownImg = false, knownBlk = false;
  std::vector<int64_t> img = intVector(c, 1, -1, "Col2Im: image_shape", &knownImg);
  const int64_t r = c.inputShape(1)[0];
  if (r < 0) c.fail("Col2Im: the length of image_shape must be known");
  if (r < 1 || r > kMaxSpatialRank) c.fail("Col2Im: 1 to " + std::to_string(kMaxSpatialRank) + " spatial dims");
  std::vector<int64_t> blk = intVector(c, 2, r, "Col2Im: block_shape", &knownBlk);
  auto ints = [&](const char* name, size_t n, int64_t def) {
    std::vector<int64_t> v = c.attrs().getInts(name);
    if (!c.attrs().has(name)) v.assign(n, def);
    if (v.size() != n) c.fail(std::string("Col2Im: ") + name + " must have " + std::to_string(n) + " entries");
    return v;
  };
  const size_t ur = static_cast<size_t>(r);
  std::vector<int64_t> dil = ints("dilations", ur, 1), str = ints("strides", ur, 1), pads = ints("pads", 2 * ur, 0);
  for (size_t k = 0; k < ur; ++k) {
    constexpr int64_t kBig = int64_t{1} << 31;
    if (dil[k] < 1 || str[k] < 1 || dil[k] > kBig || str[k] > kBig) c.fail("Col2Im: dilations and strides must be in [1, 2^31]");
    if (pads[k] < 0 || pads[k + ur] < 0 || pads[k] > kBig || pads[k + ur] > kBig) c.fail("Col2Im: pads must be in [0, 2^31]");
  }
  Shape out{x[0], -1};
  for (size_t k = 0; k < ur; ++k) out.push_back(knownImg ? img[k] : -1);
  if (knownBlk) {
    int64_t prod = 1;
    for (int64_t b : blk) {
      if (b < 1 || b > (int64_t{1} << 31)) c.fail("Col2Im: block_shape entries must be >= 1");
      prod *= b;
      if (prod > (int64_t{1} << 40)) c.fail("Col2Im: block_shape is too large");
    }
    if (x[1] >= 0) {
      if (x[1] % prod) c.fail("Col2Im: input dim 1 is not a multiple of prod(block_shape)");
      out[1] = x[1] / prod;
    }
    if (knownImg) {
      int64_t blocks = 1;
      for (size_t k = 0; k < ur; ++k) {
        if (img[k] < 0 || img[k] > (int64_t{1} << 40)) c.fail("Col2Im: image_shape entries must be in [0, 2^40]");
        int64_t span = dil[k] * (blk[k] - 1) + 1;
        int64_t n = (img[k] + pads[k] + pads[k + ur] - span) / str[k] + 1;
        if (img[k] + pads[k] + pads[k + ur] < span || n < 1) c.fail("Col2Im: the block does not fit the padded image");
        blocks *= n;
      }
      if (x[2] >= 0 && x[2] != blocks)
        c.fail("Col2Im: input dim 2 is " + std::to_string(x[2]) + ", the image holds " + std::to_string(blocks) + " blocks");
    }
  }
  c.setOutput(0, c.inputType(0), out);
}

}  // namespace

void registerSamplingOps(OpRegistry& reg) {
  reg.add({"GridSample", 2, 2, 1, 1, inferGridSample,
           "GridSample(X [N,C,D...], grid [N,out...,r]); mode=linear|nearest|cubic, padding_mode=zeros|border|reflection, "
           "align_corners=0"});
  reg.add({"AffineGrid", 2, 2, 1, 1, inferAffineGrid,
           "AffineGrid(theta [N,2,3]|[N,3,4], size [N,C,(D,)H,W]) -> grid [N,(D,)H,W,2|3]; align_corners=0"});
  reg.add({"Col2Im", 3, 3, 1, 1, inferCol2Im,
           "Col2Im(x [N,C*prod(block),L], image_shape, block_shape); dilations, pads, strides"});
}

}  // namespace kiln::ir
