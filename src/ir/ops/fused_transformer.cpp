// Op schemas of kiln's transformer fusions (made by passes/fuse_skip_layernorm.cpp and
// passes/fuse_attention.cpp; docs/ir/nn.md):
//
// SkipLayerNormalization(X, Skip, Scale, B?) -> Y, Sum?   attributes axis (default -1), epsilon (1e-5)
//   Sum = X + Skip (same shape, rounded to the data type like an Add), Y = LayerNormalization(Sum) with
//   Scale and B covering the normalized dims exactly (leading 1s allowed). Sum is an optional output.
//
// FusedAttention(Q, K, V, Mask?) -> Y   attributes scale (float), layouts [q, k, v, y] (0: [B, S, H, D],
//   1: [B, H, S, D]; default all 1), masked_rows_zero (default 1), qkv_heads (default 0)
//   With qkv_heads = H > 0, K and V are omitted and input 0 is [B, S, 3*H*D]: each row holds Q, K and V
//   ([H, D] each) side by side (the output of one MatMul with the three weights concatenated).
//   Y[b,h,i,:] = sum_j P[i,j] V[b,h,j,:], P = softmax_j(scale * Q[b,h,i,:].K[b,h,j,:] + Mask[b,h,i,j]);
//   Mask is additive, of the data type, broadcastable to [B, H, Sq, Sk]. A row whose scores are all -inf
//   (or NaN) gives zeros when masked_rows_zero = 1 (the Where(IsNaN(softmax), 0, softmax) guard of
//   PyTorch's exported SDPA), NaN otherwise.
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

bool knownNe(int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; }

//! The normalized dims of a parameter: its shape without leading 1s must equal `norm` (unknown dims pass).
bool coversNorm(const Shape& p, const Shape& norm) {
  size_t lead = 0;
  while (p.size() - lead > norm.size() && lead < p.size() && p[lead] == 1) ++lead;
  if (p.size() - lead > norm.size()) return false;
  // missing leading normalized dims must be 1
  const size_t off = norm.size() - (p.size() - lead);
  for (size_t i = 0; i < off; ++i)
    if (norm[i] != 1 && norm[i] >= 0) return false;
  for (size_t i = lead; i < p.size(); ++i)
    if (knownNe(p[i], norm[off + i - lead])) return false;
  return true;
}

void inferSkipLayerNorm(InferContext& c) {
  const DataType t = c.inputType(0);
  if (!isFloatingType(t)) c.fail("SkipLayerNormalization: X must be a float type");
  for (int i = 1; i < c.numInputs(); ++i)
    if (c.hasInput(i) && c.inputType(i) != t) c.fail("SkipLayerNormalization: all inputs must have X's type");
  if (!c.hasInput(1) || !c.hasInput(2)) c.fail("SkipLayerNormalization: Skip and Scale are required");
  const Shape& x = c.inputShape(0);
  const Shape& s = c.inputShape(1);
  if (x.empty()) c.fail("SkipLayerNormalization: X must have rank >= 1");
  if (s.size() != x.size()) c.fail("SkipLayerNormalization: Skip must have X's shape");
  for (size_t i = 0; i < x.size(); ++i)
    if (knownNe(x[i], s[i])) c.fail("SkipLayerNormalization: Skip must have X's shape");
  const int64_t axis = c.normalizeAxis(c.attrs().getInt("axis", -1), c.inputRank(0));
  Shape norm(x.begin() + axis, x.end());
  if (!coversNorm(c.inputShape(2), norm)) c.fail("SkipLayerNormalization: Scale must have the normalized shape");
  if (c.hasInput(3) && !coversNorm(c.inputShape(3), norm))
    c.fail("SkipLayerNormalization: B must have the normalized shape");
  Shape out = x;
  for (size_t i = 0; i < x.size(); ++i)
    if (out[i] < 0) out[i] = s[i];
  c.setOutput(0, t, out);
  if (c.numOutputs() > 1) c.setOutput(1, t, out);
}

//! (B, H, S, D) of an attention operand in layout `l` (0: [B,S,H,D], 1: [B,H,S,D]).
Shape bhsd(const Shape& s, int64_t l) { return l == 0 ? Shape{s[0], s[2], s[1], s[3]} : s; }

void inferFusedAttention(InferContext& c) {
  const DataType t = c.inputType(0);
  if (!isFloatingType(t)) c.fail("FusedAttention: Q must be a float type");
  for (int i = 1; i < c.numInputs(); ++i)
    if (c.hasInput(i) && c.inputType(i) != t) c.fail("FusedAttention: all inputs must have Q's type");
  const auto lay = c.attrs().getInts("layouts", {1, 1, 1, 1});
  if (lay.size() != 4) c.fail("FusedAttention: layouts must have 4 values");
  for (int64_t l : lay)
    if (l != 0 && l != 1) c.fail("FusedAttention: layouts must be 0 ([B,S,H,D]) or 1 ([B,H,S,D])");
  const int64_t packed = c.attrs().getInt("qkv_heads", 0);
  Shape q, k, v;
  if (packed != 0) {  // one [B, S, 3*H*D] input: Q, K, V side by side in each row
    if (packed < 0) c.fail("FusedAttention: qkv_heads must be positive");
    if (c.hasInput(1) || c.hasInput(2)) c.fail("FusedAttention: with qkv_heads, K and V are part of input 0");
    if (c.inputRank(0) != 3) c.fail("FusedAttention: the packed QKV input must be rank 3");
    const Shape& x = c.inputShape(0);
    if (x[2] >= 0 && x[2] % (3 * packed)) c.fail("FusedAttention: the packed QKV's last dim is not 3 * qkv_heads * D");
    q = {x[0], packed, x[1], x[2] < 0 ? -1 : x[2] / (3 * packed)};
    k = v = q;
  } else {
    if (!c.hasInput(1) || !c.hasInput(2)) c.fail("FusedAttention: K and V are required");
    for (int i = 0; i < 3; ++i)
      if (c.inputRank(i) != 4) c.fail("FusedAttention: Q, K and V must be rank 4");
    q = bhsd(c.inputShape(0), lay[0]), k = bhsd(c.inputShape(1), lay[1]), v = bhsd(c.inputShape(2), lay[2]);
  }
  if (knownNe(q[0], k[0]) || knownNe(q[0], v[0]) || knownNe(q[1], k[1]) || knownNe(q[1], v[1]))
    c.fail("FusedAttention: Q, K and V must have the same batch and heads");
  if (knownNe(q[3], k[3])) c.fail("FusedAttention: Q and K must have the same head size");
  if (knownNe(k[2], v[2])) c.fail("FusedAttention: K and V must have the same sequence length");
  if (c.hasInput(3)) {
    const Shape& m = c.inputShape(3);
    if (m.size() > 4) c.fail("FusedAttention: Mask must have rank <= 4");
    const Shape full{q[0], q[1], q[2], k[2]};
    for (size_t i = 0; i < m.size(); ++i) {
      const int64_t d = m[i], f = full[4 - m.size() + i];
      if (d != 1 && knownNe(d, f)) c.fail("FusedAttention: Mask does not broadcast to [B, H, Sq, Sk]");
    }
  }
  if (c.attrs().getInt("masked_rows_zero", 1) != 0 && c.attrs().getInt("masked_rows_zero", 1) != 1)
    c.fail("FusedAttention: masked_rows_zero must be 0 or 1");
  const Shape y{q[0], q[1], q[2], v[3]};
  c.setOutput(0, t, lay[3] == 0 ? Shape{y[0], y[2], y[1], y[3]} : y);
}

}  // namespace

void registerFusedTransformerOps(OpRegistry& reg) {
  reg.add({"SkipLayerNormalization", 3, 4, 1, 2, inferSkipLayerNorm,
           "kiln: Sum = X + Skip; Y = LayerNormalization(Sum) * Scale + B; axis, epsilon (outputs Y, Sum?)"});
  reg.add({"FusedAttention", 1, 4, 1, 1, inferFusedAttention,
           "kiln: softmax(scale * Q K^T + Mask) V per batch and head; scale, layouts [q,k,v,y] (0 BSHD, 1 BHSD), "
           "masked_rows_zero, qkv_heads (packed [B,S,3*H*D] input)"});
}

}  // namespace kiln::ir
