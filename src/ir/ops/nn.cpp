// Op schemas of the nn family: convolution, transposed convolution, pooling, MatMul/Gemm, softmax,
// normalizations, reductions and ArgMax/ArgMin. Semantics are ONNX's newest opsets (see docs/ir/nn.md);
// window geometry and axis handling are shared with the reference kernels through nn_common.h.
#include <algorithm>

#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/ops/fused_activation.h"
#include "ir/ops/nn_common.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

using nn::AutoPad;

bool isFloatOrInt3264(DataType t) { return isFloatingType(t) || t == DataType::kINT32 || t == DataType::kINT64; }

void requireFloat(InferContext& c, int i, const char* what) {
  if (!isFloatingType(c.inputType(i)))
    c.fail(std::string(what) + " must be a float type (float32, float16, bfloat16, float64), got " +
           dataTypeName(c.inputType(i)));
}

void requireSameType(InferContext& c, int i, int j) {
  if (c.hasInput(i) && c.hasInput(j) && c.inputType(i) != c.inputType(j))
    c.fail("input " + std::to_string(j) + " has type " + dataTypeName(c.inputType(j)) + ", input " + std::to_string(i) +
           " has " + dataTypeName(c.inputType(i)));
}

std::string str(const Shape& s) { return shapeToString(s); }

//! Checks the kiln epilogue activation attributes (kiln_act, kiln_act_alpha, kiln_act_beta).
void checkFusedActivation(InferContext& c) {
  try {
    fusedActivationOf(c.attrs());
  } catch (const Error& e) {
    c.fail(e.message());
  }
}

//! Checks that input i (the kiln residual Z) has the output's type and shape (where known).
void requireSameShape(InferContext& c, int i, const Shape& out, const char* what) {
  const Shape& s = c.inputShape(i);
  bool ok = s.size() == out.size();
  for (size_t d = 0; ok && d < s.size(); ++d)
    if (s[d] >= 0 && out[d] >= 0 && s[d] != out[d]) ok = false;
  if (!ok) c.fail(std::string(what) + " of shape " + str(s) + " must have the output's shape " + str(out));
}

//! Checks that `s` broadcasts unidirectionally to `target` (where extents are known).
void requireUnidirectional(InferContext& c, const Shape& s, const Shape& target, const char* what) {
  if (s.size() > target.size())
    c.fail(std::string(what) + " of shape " + str(s) + " has a higher rank than " + str(target));
  size_t off = target.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t d = s[i], t = target[off + i];
    if (d >= 0 && t >= 0 && d != 1 && d != t)
      c.fail(std::string(what) + " of shape " + str(s) + " does not broadcast to " + str(target));
  }
}

//! Checks a per-channel parameter of shape [C].
void requireChannelVector(InferContext& c, int i, int64_t C, const char* what) {
  const Shape& s = c.inputShape(i);
  if (s.size() != 1) c.fail(std::string(what) + " must have rank 1, got " + str(s));
  if (C >= 0 && s[0] >= 0 && s[0] != C)
    c.fail(std::string(what) + " has " + std::to_string(s[0]) + " values, the input has " + std::to_string(C) +
           " channels");
}

// ---------------------------------------------------------------------------------------------------------
// Convolution

//! Checks shared by Conv and ConvTranspose (types, ranks, kernel_shape against W, group); returns the
//! kernel extents and the group count.
std::pair<std::vector<int64_t>, int64_t> convKernelAndGroup(InferContext& c, const char* what, const Shape& x,
                                                            const Shape& w) {
  requireFloat(c, 0, (std::string(what) + " input X").c_str());
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  if (x.size() < 3) c.fail("X must have rank >= 3 ([N, C, spatial...]), got " + str(x));
  if (w.size() != x.size()) c.fail("W " + str(w) + " must have the rank of X " + str(x));
  const size_t n = x.size() - 2;
  std::vector<int64_t> k(w.begin() + 2, w.end());
  if (c.attrs().has("kernel_shape")) {
    auto ks = c.attrs().getInts("kernel_shape");
    if (ks.size() != n) c.fail("kernel_shape has " + std::to_string(ks.size()) + " values, expected " + std::to_string(n));
    for (size_t i = 0; i < n; ++i)
      if (k[i] >= 0 && ks[i] != k[i]) c.fail("kernel_shape does not match W " + str(w));
    k = ks;
  }
  int64_t group = c.attrs().getInt("group", 1);
  if (group < 1) c.fail("group must be >= 1");
  return {k, group};
}

//! The channels-last view of a channels-first shape ([N, C, spatial...] -> [N, spatial..., C]) and back.
Shape channelsLast(const Shape& s) {
  if (s.size() < 3) return s;
  Shape r{s[0]};
  r.insert(r.end(), s.begin() + 2, s.end());
  r.push_back(s[1]);
  return r;
}
Shape channelsFirst(const Shape& s) {
  if (s.size() < 3) return s;
  Shape r{s[0], s.back()};
  r.insert(r.end(), s.begin() + 1, s.end() - 1);
  return r;
}

//! Conv's output shape (channels first) from X and W in channels-first order; checks everything but Z.
Shape convOutShape(InferContext& c, const Shape& x, const Shape& w) {
  auto [k, group] = convKernelAndGroup(c, "Conv", x, w);
  const size_t n = x.size() - 2;
  const int64_t C = x[1], cpg = w[1], M = w[0];
  int64_t expectC = 0;
  if (C >= 0 && cpg >= 0 && (__builtin_mul_overflow(cpg, group, &expectC) || expectC != C))
    c.fail("W " + str(w) + " expects " + std::to_string(cpg) + " x " + std::to_string(group) + " input channels (" + std::to_string(cpg) +
           " per group x " + std::to_string(group) + " groups), X " + str(x) + " has " + std::to_string(C));
  if (M >= 0 && M % group != 0)
    c.fail("the number of output channels " + std::to_string(M) + " is not divisible by group " + std::to_string(group));
  if (c.hasInput(2)) requireChannelVector(c, 2, M, "bias B");
  nn::Window win = nn::parseWindow(c.attrs(), k);
  Shape out{x[0], M};
  for (size_t i = 0; i < n; ++i)
    out.push_back(nn::windowDim(x[2 + i], k[i], win.strides[i], win.dilations[i], win.pads[i], win.pads[n + i],
                                win.autoPad, win.ceilMode)
                      .out);
  return out;
}

void inferConv(InferContext& c) {
  Shape out = convOutShape(c, c.inputShape(0), c.inputShape(1));
  if (c.hasInput(3)) {
    requireSameType(c, 0, 3);
    requireSameShape(c, 3, out, "residual Z");
  }
  checkFusedActivation(c);
  c.setOutput(0, c.inputType(0), out);
}

//! kiln ConvNHWC: Conv on channels-last tensors (2-D): X [N, H, W, C], W [M, kH, kW, C/group], Z and Y
//! [N, oH, oW, M]; attributes as Conv's (explicit symmetric pads only, no ceil_mode).
void inferConvNHWC(InferContext& c) {
  if (c.inputRank(0) != 4 || c.inputRank(1) != 4) c.fail("ConvNHWC takes rank-4 X and W");
  Shape out = channelsLast(convOutShape(c, channelsFirst(c.inputShape(0)), channelsFirst(c.inputShape(1))));
  if (c.hasInput(3)) {
    requireSameType(c, 0, 3);
    requireSameShape(c, 3, out, "residual Z");
  }
  checkFusedActivation(c);
  c.setOutput(0, c.inputType(0), out);
}

void inferConvTranspose(InferContext& c) {
  const Shape& x = c.inputShape(0);
  const Shape& w = c.inputShape(1);
  auto [k, group] = convKernelAndGroup(c, "ConvTranspose", x, w);
  const size_t n = x.size() - 2;
  const int64_t C = x[1];
  if (C >= 0 && w[0] >= 0 && w[0] != C)
    c.fail("W " + str(w) + " expects " + std::to_string(w[0]) + " input channels, X " + str(x) + " has " + std::to_string(C));
  if (C >= 0 && C % group != 0) c.fail("input channels " + std::to_string(C) + " not divisible by group " + std::to_string(group));
  const int64_t M = w[1] < 0 ? -1 : w[1] * group;
  if (c.hasInput(2)) requireChannelVector(c, 2, M, "bias B");
  nn::Window win = nn::parseWindow(c.attrs(), k);
  auto outPad = c.attrs().getInts("output_padding", std::vector<int64_t>(n, 0));
  if (outPad.size() != n) c.fail("output_padding must have " + std::to_string(n) + " values");
  for (int64_t p : outPad)
    if (p < 0) c.fail("output_padding must be non-negative");
  std::vector<int64_t> outShape(n, -1);
  if (c.attrs().has("output_shape")) {
    auto os = c.attrs().getInts("output_shape");
    if (os.size() == n + 2) os.erase(os.begin(), os.begin() + 2);
    if (os.size() != n) c.fail("output_shape must have " + std::to_string(n) + " values");
    for (int64_t v : os)
      if (v < 0) c.fail("output_shape values must be non-negative");
    outShape = os;
  }
  Shape out{x[0], M};
  for (size_t i = 0; i < n; ++i)
    out.push_back(nn::convTransposeDim(x[2 + i], k[i], win.strides[i], win.dilations[i], outPad[i], win.pads[i],
                                       win.pads[n + i], win.autoPad, outShape[i])
                      .out);
  c.setOutput(0, c.inputType(0), out);
}

// ---------------------------------------------------------------------------------------------------------
// Pooling

void inferPool(InferContext& c, bool isMax, bool channelsLastLayout = false) {
  DataType t = c.inputType(0);
  bool typeOk = isFloatingType(t) || (isMax && (t == DataType::kINT8 || t == DataType::kUINT8));
  if (!typeOk) c.fail(std::string("unsupported input type ") + dataTypeName(t));
  if (channelsLastLayout && (c.inputRank(0) != 4 || c.numOutputs() != 1))
    c.fail("channels-last pooling takes a rank-4 X and has one output");
  const Shape x = channelsLastLayout ? channelsFirst(c.inputShape(0)) : c.inputShape(0);
  if (x.size() < 3) c.fail("X must have rank >= 3 ([N, C, spatial...]), got " + str(x));
  const size_t n = x.size() - 2;
  auto k = c.attrs().requireInts("kernel_shape");
  if (k.size() != n) c.fail("kernel_shape has " + std::to_string(k.size()) + " values, expected " + std::to_string(n));
  for (int64_t v : k)
    if (v < 1) c.fail("kernel_shape values must be positive");
  nn::Window win = nn::parseWindow(c.attrs(), k);
  if (isMax) {
    int64_t so = c.attrs().getInt("storage_order", 0);
    if (so != 0 && so != 1) c.fail("storage_order must be 0 or 1");
  }
  Shape out{x[0], x[1]};
  for (size_t i = 0; i < n; ++i)
    out.push_back(nn::windowDim(x[2 + i], k[i], win.strides[i], win.dilations[i], win.pads[i], win.pads[n + i],
                                win.autoPad, win.ceilMode)
                      .out);
  c.setOutput(0, t, channelsLastLayout ? channelsLast(out) : out);
  if (c.numOutputs() > 1) {
    if (!isMax) c.fail("only MaxPool has a second output");
    c.setOutput(1, DataType::kINT64, out);
  }
}

void inferGlobalPool(InferContext& c) {
  requireFloat(c, 0, "X");
  const Shape& x = c.inputShape(0);
  if (x.size() < 2) c.fail("X must have rank >= 2, got " + str(x));
  Shape out = x;
  for (size_t i = 2; i < out.size(); ++i) out[i] = 1;
  c.setOutput(0, c.inputType(0), out);
}

// ---------------------------------------------------------------------------------------------------------
// MatMul / Gemm

void inferMatMul(InferContext& c) {
  DataType t = c.inputType(0);
  if (!isFloatOrInt3264(t)) c.fail(std::string("unsupported input type ") + dataTypeName(t));
  requireSameType(c, 0, 1);
  Shape a = c.inputShape(0), b = c.inputShape(1);
  if (a.empty() || b.empty()) c.fail("MatMul inputs must have rank >= 1");
  const auto& at = c.attrs();
  for (const char* name : {"transA", "transB", "vecA", "vecB"}) {
    int64_t v = at.getInt(name, 0);
    if (v != 0 && v != 1) c.fail(std::string(name) + " must be 0 or 1");
  }
  bool vecA = a.size() == 1 || at.getInt("vecA", 0) != 0;
  bool vecB = b.size() == 1 || at.getInt("vecB", 0) != 0;
  // promote vectors to matrices: A [..., K] -> [..., 1, K], B [..., K] -> [..., K, 1]
  if (vecA) a.insert(a.end() - 1, 1);
  else if (at.getInt("transA", 0)) std::swap(a[a.size() - 1], a[a.size() - 2]);
  if (vecB) b.push_back(1);
  else if (at.getInt("transB", 0)) std::swap(b[b.size() - 1], b[b.size() - 2]);
  int64_t K1 = a.back(), K2 = b[b.size() - 2];
  if (K1 >= 0 && K2 >= 0 && K1 != K2)
    c.fail("inner dimensions do not match: " + str(c.inputShape(0)) + " x " + str(c.inputShape(1)));
  Shape batch;
  try {
    batch = broadcastShapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  } catch (const Error& e) {
    c.fail("batch dims: " + e.message());
  }
  Shape out = batch;
  if (!vecA) out.push_back(a[a.size() - 2]);
  if (!vecB) out.push_back(b.back());
  checkFusedActivation(c);
  if (c.hasInput(2) || !at.getString("kiln_act", "").empty()) {
    if (!isFloatingType(t)) c.fail("the kiln bias input and kiln_act need a float type");
    if (out.empty()) c.fail("the kiln bias input and kiln_act need an output of rank >= 1");
  }
  if (c.hasInput(2)) {
    requireSameType(c, 0, 2);
    const Shape& bs = c.inputShape(2);
    int64_t N = out.back();
    if (bs.size() != 1 || (bs[0] >= 0 && N >= 0 && bs[0] != N))
      c.fail("bias of shape " + str(bs) + " must be [N] with N = " + std::to_string(N) + " (the output's last dim)");
  }
  c.setOutput(0, t, out);
}

void inferGemm(InferContext& c) {
  requireFloat(c, 0, "A");
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  const Shape& a = c.inputShape(0);
  const Shape& b = c.inputShape(1);
  if (a.size() != 2 || b.size() != 2) c.fail("A and B must be matrices, got " + str(a) + " and " + str(b));
  int64_t tA = c.attrs().getInt("transA", 0), tB = c.attrs().getInt("transB", 0);
  int64_t M = tA ? a[1] : a[0], K1 = tA ? a[0] : a[1];
  int64_t K2 = tB ? b[1] : b[0], N = tB ? b[0] : b[1];
  if (K1 >= 0 && K2 >= 0 && K1 != K2) c.fail("inner dimensions do not match: " + str(a) + " x " + str(b));
  if (c.hasInput(2)) requireUnidirectional(c, c.inputShape(2), {M, N}, "C");
  checkFusedActivation(c);
  c.setOutput(0, c.inputType(0), {M, N});
}

// ---------------------------------------------------------------------------------------------------------
// Softmax family

void inferSoftmax(InferContext& c) {
  requireFloat(c, 0, "input");
  try {
    nn::softmaxAxis(c.attrs(), c.inputRank(0));
  } catch (const Error& e) {
    c.fail(e.message());
  }
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

// ---------------------------------------------------------------------------------------------------------
// Normalizations

void inferBatchNorm(InferContext& c) {
  requireFloat(c, 0, "X");
  if (c.attrs().getInt("training_mode", 0) != 0) c.fail("training_mode=1 is not supported (inference only)");
  const Shape& x = c.inputShape(0);
  if (x.size() < 2) c.fail("X must have rank >= 2, got " + str(x));
  const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
  for (int i = 1; i <= 4; ++i) {
    if (!isFloatingType(c.inputType(i))) c.fail(std::string(names[i]) + " must be a float type");
    requireChannelVector(c, i, x[1], names[i]);
  }
  c.setOutput(0, c.inputType(0), x);
}

void inferInstanceNorm(InferContext& c) {
  requireFloat(c, 0, "X");
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  const Shape& x = c.inputShape(0);
  if (x.size() < 3) c.fail("X must have rank >= 3, got " + str(x));
  requireChannelVector(c, 1, x[1], "scale");
  requireChannelVector(c, 2, x[1], "B");
  c.setOutput(0, c.inputType(0), x);
}

void inferLayerNorm(InferContext& c) {
  requireFloat(c, 0, "X");
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  const Shape& x = c.inputShape(0);
  if (x.empty()) c.fail("X must have rank >= 1");
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", -1), c.inputRank(0));
  Shape norm(x.begin() + axis, x.end());
  requireUnidirectional(c, c.inputShape(1), norm, "Scale");
  if (c.hasInput(2)) requireUnidirectional(c, c.inputShape(2), norm, "B");
  c.setOutput(0, c.inputType(0), x);
  Shape stat = x;
  for (size_t i = static_cast<size_t>(axis); i < stat.size(); ++i) stat[i] = 1;
  for (int i = 1; i < c.numOutputs(); ++i) c.setOutput(i, DataType::kFLOAT, stat);
}

void inferGroupNorm(InferContext& c) {
  requireFloat(c, 0, "X");
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  const Shape& x = c.inputShape(0);
  if (x.size() < 2) c.fail("X must have rank >= 2, got " + str(x));
  int64_t g = c.attrs().requireInt("num_groups");
  if (g < 1) c.fail("num_groups must be >= 1");
  if (x[1] >= 0 && x[1] % g != 0)
    c.fail("channels " + std::to_string(x[1]) + " are not divisible by num_groups " + std::to_string(g));
  requireChannelVector(c, 1, x[1], "scale");
  requireChannelVector(c, 2, x[1], "bias");
  c.setOutput(0, c.inputType(0), x);
}

void inferLpNorm(InferContext& c) {
  requireFloat(c, 0, "input");
  c.normalizeAxis(c.attrs().getInt("axis", -1), c.inputRank(0));
  int64_t p = c.attrs().getInt("p", 2);
  if (p != 1 && p != 2) c.fail("p must be 1 or 2");
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

void inferLRN(InferContext& c) {
  requireFloat(c, 0, "X");
  if (c.inputRank(0) < 2) c.fail("X must have rank >= 2");
  if (c.attrs().requireInt("size") < 1) c.fail("size must be >= 1");
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

void inferMVN(InferContext& c) {
  requireFloat(c, 0, "X");
  nn::axesMask(c.attrs().getInts("axes", {0, 2, 3}), c.inputRank(0), "axes");
  c.setOutput(0, c.inputType(0), c.inputShape(0));
}

void inferNormalization(InferContext& c) {
  requireFloat(c, 0, "X");
  requireSameType(c, 0, 1);
  requireSameType(c, 0, 2);
  const Shape& x = c.inputShape(0);
  auto mask = nn::axesMask(c.attrs().requireInts("axes"), c.inputRank(0), "axes");
  int64_t g = c.attrs().getInt("num_groups", 1);
  if (g < 1) c.fail("num_groups must be >= 1");
  if (g > 1) {
    if (x.size() < 2) c.fail("group normalization needs rank >= 2");
    if (mask[1] || mask[0]) c.fail("group normalization: axes must not contain the batch or channel axis");
    if (x[1] >= 0 && x[1] % g != 0)
      c.fail("channels " + std::to_string(x[1]) + " are not divisible by num_groups " + std::to_string(g));
  }
  requireUnidirectional(c, c.inputShape(1), x, "scale");
  requireUnidirectional(c, c.inputShape(2), x, "bias");
  c.setOutput(0, c.inputType(0), x);
}

// ---------------------------------------------------------------------------------------------------------
// Reductions

void inferReduce(InferContext& c, bool allowInts) {
  DataType t = c.inputType(0);
  if (!(isFloatingType(t) || (allowInts && (t == DataType::kINT32 || t == DataType::kINT64))))
    c.fail(std::string("unsupported input type ") + dataTypeName(t));
  const Shape& x = c.inputShape(0);
  const int64_t rank = c.inputRank(0);
  int64_t keep = c.attrs().getInt("keepdims", 1);
  int64_t noop = c.attrs().getInt("noop_with_empty_axes", 0);
  if (c.hasInput(1)) {
    if (c.inputType(1) != DataType::kINT64) c.fail("axes must be int64");
    if (c.inputRank(1) != 1) c.fail("axes must have rank 1");
    if (!c.inputData(1)) {
      int64_t na = c.inputShape(1)[0];
      if (na == 0 && noop) {
        c.setOutput(0, t, x);
        return;
      }
      if (keep) {
        c.setOutput(0, t, Shape(x.size(), -1));
        return;
      }
      if (na < 0) c.fail("the axes input is unknown: the output rank cannot be inferred (keepdims=0)");
      if (na == 0) {
        c.setOutput(0, t, {});
        return;
      }
      if (na > rank) c.fail("more axes than dims");
      c.setOutput(0, t, Shape(static_cast<size_t>(rank - na), -1));
      return;
    }
  }
  std::vector<int64_t> axes = c.hasInput(1) ? c.inputData(1)->toInts() : std::vector<int64_t>{};
  std::vector<bool> mask;
  try {
    mask = nn::axesMask(axes, rank, "axes");
  } catch (const Error& e) {
    c.fail(e.message());
  }
  if (axes.empty()) {
    if (noop) {
      c.setOutput(0, t, x);
      return;
    }
    mask.assign(x.size(), true);
  }
  Shape out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!mask[i]) out.push_back(x[i]);
    else if (keep) out.push_back(1);
  }
  c.setOutput(0, t, out);
}

void inferArg(InferContext& c) {
  DataType t = c.inputType(0);
  if (!(isFloatingType(t) || isIntegerType(t))) c.fail(std::string("unsupported input type ") + dataTypeName(t));
  const Shape& x = c.inputShape(0);
  int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", 0), c.inputRank(0));
  if (x[static_cast<size_t>(axis)] == 0) c.fail("cannot take the arg of an empty axis");
  Shape out = x;
  if (c.attrs().getInt("keepdims", 1)) out[static_cast<size_t>(axis)] = 1;
  else out.erase(out.begin() + axis);
  c.setOutput(0, DataType::kINT64, out);
}

}  // namespace

void registerNnOps(OpRegistry& reg) {
  reg.add({"Conv", 2, 4, 1, 1, inferConv,
           "Y = act(conv(X, W) + B + Z); auto_pad, dilations, group, kernel_shape, pads, strides (+kiln ceil_mode, "
           "residual input Z, kiln_act, kiln_act_alpha, kiln_act_beta)"});
  reg.add({"ConvNHWC", 2, 4, 1, 1, inferConvNHWC,
           "kiln: Conv on channels-last 2-D tensors: X [N,H,W,C], W [M,kH,kW,C/group], Z/Y [N,oH,oW,M] (GPU layout pass)"});
  reg.add({"MaxPoolNHWC", 1, 1, 1, 1, [](InferContext& c) { inferPool(c, true, true); },
           "kiln: MaxPool on channels-last 2-D tensors [N,H,W,C] (no Indices)"});
  reg.add({"AveragePoolNHWC", 1, 1, 1, 1, [](InferContext& c) { inferPool(c, false, true); },
           "kiln: AveragePool on channels-last 2-D tensors [N,H,W,C]"});
  reg.add({"ConvTranspose", 2, 3, 1, 1, inferConvTranspose,
           "transposed convolution; auto_pad, dilations, group, kernel_shape, output_padding, output_shape, pads, strides"});
  reg.add({"MaxPool", 1, 1, 1, 2, [](InferContext& c) { inferPool(c, true); },
           "max pooling; auto_pad, ceil_mode, dilations, kernel_shape, pads, storage_order, strides; Indices (int64)"});
  reg.add({"AveragePool", 1, 1, 1, 1, [](InferContext& c) { inferPool(c, false); },
           "average pooling; auto_pad, ceil_mode, count_include_pad, dilations, kernel_shape, pads, strides"});
  reg.add({"LpPool", 1, 1, 1, 1, [](InferContext& c) { inferPool(c, false); },
           "Lp pooling; auto_pad, ceil_mode, dilations, kernel_shape, p, pads, strides"});
  reg.add({"GlobalAveragePool", 1, 1, 1, 1, inferGlobalPool, "mean over the spatial dims"});
  reg.add({"GlobalMaxPool", 1, 1, 1, 1, inferGlobalPool, "max over the spatial dims"});
  reg.add({"GlobalLpPool", 1, 1, 1, 1, inferGlobalPool, "Lp norm over the spatial dims; p"});
  reg.add({"MatMul", 2, 3, 1, 1, inferMatMul,
           "Y = act(A @ B + bias); numpy matmul (+kiln transA, transB, vecA, vecB, bias [N], kiln_act...)"});
  reg.add({"Gemm", 2, 3, 1, 1, inferGemm,
           "Y = act(alpha * A' B' + beta * C); alpha, beta, transA, transB (+kiln_act, kiln_act_alpha, kiln_act_beta)"});
  reg.add({"Softmax", 1, 1, 1, 1, inferSoftmax, "softmax along axis (+kiln trt_default_axis)"});
  reg.add({"LogSoftmax", 1, 1, 1, 1, inferSoftmax, "log softmax along axis (+kiln trt_default_axis)"});
  reg.add({"Hardmax", 1, 1, 1, 1, inferSoftmax, "one-hot of the first max along axis (+kiln trt_default_axis)"});
  reg.add({"BatchNormalization", 5, 5, 1, 1, inferBatchNorm, "inference batch norm; epsilon"});
  reg.add({"InstanceNormalization", 3, 3, 1, 1, inferInstanceNorm, "instance norm; epsilon"});
  reg.add({"LayerNormalization", 2, 3, 1, 3, inferLayerNorm, "layer norm; axis, epsilon, stash_type"});
  reg.add({"GroupNormalization", 3, 3, 1, 1, inferGroupNorm, "group norm (opset 21); num_groups, epsilon"});
  reg.add({"LpNormalization", 1, 1, 1, 1, inferLpNorm, "x / ||x||_p along axis; axis, p"});
  reg.add({"LRN", 1, 1, 1, 1, inferLRN, "local response norm across channels; alpha, beta, bias, size"});
  reg.add({"MeanVarianceNormalization", 1, 1, 1, 1, inferMVN, "(x - mean) / std over axes; axes"});
  reg.add({"Normalization", 3, 3, 1, 1, inferNormalization,
           "kiln: (x - mean) / sqrt(var + eps) * scale + bias over axes (groups of channels); axes, epsilon, num_groups"});
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"})
    reg.add({op, 1, 2, 1, 1, [](InferContext& c) { inferReduce(c, true); },
             "reduction over the axes input; keepdims, noop_with_empty_axes"});
  for (const char* op : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    reg.add({op, 1, 2, 1, 1, [](InferContext& c) { inferReduce(c, false); },
             "reduction over the axes input; keepdims, noop_with_empty_axes"});
  reg.add({"ArgMax", 1, 1, 1, 1, inferArg, "index of the max along axis; axis, keepdims, select_last_index"});
  reg.add({"ArgMin", 1, 1, 1, 1, inferArg, "index of the min along axis; axis, keepdims, select_last_index"});
}

}  // namespace kiln::ir
