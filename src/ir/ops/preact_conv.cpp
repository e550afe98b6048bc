// Op schema of kiln's pre-activation 1x1 convolution (made by passes/fuse_preact_conv.cpp; docs/ir/nn.md):
//
// PreactConv(W, B, Scale, Shift, X0, X1, ...) -> Y   attributes relu (0 or 1, default 1), kiln_act*
//   X = Concat(X0, X1, ..., axis 1): each Xi is [N, Ci, spatial...] with the same N and spatial extents;
//   C = sum Ci. A[n, c, p] = X[n, c, p] * Scale[c] + Shift[c], then Relu where relu = 1 (NaN passes).
//   Y[n, m, p] = act(B[m] + sum_c W[m, c] * A[n, c, p]) with W [M, C, 1, ...] (all kernel extents 1),
//   B [M], Scale and Shift [C]; act is the Conv epilogue activation (kiln_act, kiln_act_alpha/beta).
// It is what DenseNet's Concat -> BatchNormalization -> Relu -> 1x1 Conv becomes: the concatenation and the
// normalized, rectified copy of it are never stored (the kernel applies them while packing the product).
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/ops/fused_activation.h"

namespace kiln::ir {
namespace {

void inferPreactConv(InferContext& c) {
  const DataType t = c.inputType(0);
  if (!isFloatingType(t)) c.fail("PreactConv: W must be a float type");
  for (int i = 0; i < c.numInputs(); ++i) {
    if (!c.hasInput(i)) c.fail("PreactConv: no input may be omitted");
    if (c.inputType(i) != t) c.fail("PreactConv: all inputs must have W's type");
  }
  const int64_t relu = c.attrs().getInt("relu", 1);
  if (relu != 0 && relu != 1) c.fail("PreactConv: relu must be 0 or 1");
  fusedActivationOf(c.attrs());  // throws for an unknown kiln_act
  const Shape& x0 = c.inputShape(4);
  if (x0.size() < 3) c.fail("PreactConv: the inputs X must have rank >= 3 ([N, C, spatial...])");
  Shape out = x0;
  int64_t channels = 0;
  for (int i = 4; i < c.numInputs(); ++i) {
    const Shape& x = c.inputShape(i);
    if (x.size() != x0.size()) c.fail("PreactConv: the inputs X must have equal ranks");
    for (size_t d = 0; d < x.size(); ++d) {
      if (d == 1) continue;
      if (x[d] >= 0 && out[d] >= 0 && x[d] != out[d]) c.fail("PreactConv: the inputs X differ outside axis 1");
      if (out[d] < 0) out[d] = x[d];
    }
    channels = channels < 0 || x[1] < 0 ? -1 : channels + x[1];
  }
  const Shape& w = c.inputShape(0);
  if (w.size() != x0.size()) c.fail("PreactConv: W must be [M, C, 1, ...] of X's rank");
  for (size_t d = 2; d < w.size(); ++d)
    if (w[d] != 1) c.fail("PreactConv: W's kernel extents must be 1");
  if (channels >= 0 && w[1] >= 0 && w[1] != channels) c.fail("PreactConv: W's axis 1 must be the total channels of X");
  auto vectorOf = [&](int i, int64_t n, const char* what) {
    const Shape& s = c.inputShape(i);
    if (s.size() != 1 || (n >= 0 && s[0] >= 0 && s[0] != n)) c.fail(std::string("PreactConv: ") + what);
  };
  vectorOf(1, w[0], "B must be [M]");
  vectorOf(2, w[1], "Scale must be [C]");
  vectorOf(3, w[1], "Shift must be [C]");
  out[1] = w[0];
  c.setOutput(0, t, out);
}

}  // namespace

void registerPreactConvOps(OpRegistry& reg) {
  reg.add({"PreactConv", 5, -1, 1, 1, inferPreactConv,
           "kiln: Y = act(B + Conv1x1(W, relu?(Concat(X0, X1, ..., axis 1) * Scale + Shift))); relu, kiln_act"});
}

}  // namespace kiln::ir
