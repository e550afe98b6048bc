// Op schemas of the attention family that have no decomposition into other IR ops: LinearAttention
// (a recurrence over the sequence: linear / gated / delta / gated-delta state updates, ONNX semantics).
#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

bool knownNe(int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; }

//! LinearAttention(query (B,T,Hq*dk), key (B,T,Hkv*dk), value (B,T,Hkv*dv), past_state? (B,Hkv,dk,dv),
//! decay? (B,T,Hkv|Hkv*dk), beta? (B,T,Hkv|1)) -> output (B,T,Hq*dv), present_state (B,Hkv,dk,dv).
void inferLinearAttention(InferContext& c) {
  const Attributes& a = c.attrs();
  const int64_t qh = a.getInt("q_num_heads", 0), kvh = a.getInt("kv_num_heads", 0);
  if (qh <= 0 || kvh <= 0 || qh % kvh != 0)
    c.fail("LinearAttention: q_num_heads and kv_num_heads must be positive, q_num_heads a multiple of kv_num_heads");
  if (qh > (int64_t{1} << 20)) c.fail("LinearAttention: q_num_heads is too large");
  const std::string rule = a.getString("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    c.fail("LinearAttention: update_rule must be linear, gated, delta or gated_delta");
  const bool gating = rule == "gated" || rule == "gated_delta", delta = rule == "delta" || rule == "gated_delta";
  const DataType t = c.inputType(0);
  if (!isFloatingType(t)) c.fail("LinearAttention: query must be floating-point");
  for (int i = 0; i < 3; ++i) {
    if (c.inputRank(i) != 3) c.fail("LinearAttention: query, key and value must be rank 3 (B, T, H*D)");
    if (c.inputType(i) != t) c.fail("LinearAttention: query, key and value must have the same type");
  }
  const Shape &sq = c.inputShape(0), &sk = c.inputShape(1), &sv = c.inputShape(2);
  for (int d = 0; d < 2; ++d)
    if (knownNe(sq[d], sk[d]) || knownNe(sq[d], sv[d])) c.fail("LinearAttention: batch and sequence sizes differ");
  if (sq[2] >= 0 && sq[2] % qh) c.fail("LinearAttention: query's last dim is not divisible by q_num_heads");
  const int64_t dk = sq[2] < 0 ? -1 : sq[2] / qh;
  if (sk[2] >= 0 && dk >= 0 && sk[2] != kvh * dk) c.fail("LinearAttention: key's last dim must be kv_num_heads * d_k");
  if (sv[2] >= 0 && sv[2] % kvh) c.fail("LinearAttention: value's last dim is not divisible by kv_num_heads");
  const int64_t dv = sv[2] < 0 ? -1 : sv[2] / kvh;
  if (gating != c.hasInput(4)) c.fail("LinearAttention: decay is required by exactly the gated update rules");
  if (delta != c.hasInput(5)) c.fail("LinearAttention: beta is required by exactly the delta update rules");
  if (c.hasInput(4)) {
    const Shape& s = c.inputShape(4);
    if (s.size() != 3 || !isFloatingType(c.inputType(4))) c.fail("LinearAttention: decay must be a rank-3 float tensor");
    if (knownNe(s[0], sq[0]) || knownNe(s[1], sq[1])) c.fail("LinearAttention: decay's batch/sequence sizes differ");
    if (s[2] >= 0 && s[2] != kvh && (dk < 0 || s[2] != kvh * dk))
      c.fail("LinearAttention: decay's last dim must be kv_num_heads or kv_num_heads * d_k");
  }
  if (c.hasInput(5)) {
    const Shape& s = c.inputShape(5);
    if (s.size() != 3 || !isFloatingType(c.inputType(5))) c.fail("LinearAttention: beta must be a rank-3 float tensor");
    if (knownNe(s[0], sq[0]) || knownNe(s[1], sq[1])) c.fail("LinearAttention: beta's batch/sequence sizes differ");
    if (s[2] >= 0 && s[2] != kvh && s[2] != 1) c.fail("LinearAttention: beta's last dim must be kv_num_heads or 1");
  }
  DataType st = t;
  if (c.hasInput(3)) {
    const Shape& s = c.inputShape(3);
    st = c.inputType(3);
    if (!isFloatingType(st)) c.fail("LinearAttention: past_state must be floating-point");
    if (s.size() != 4 || knownNe(s[0], sq[0]) || knownNe(s[1], kvh) || knownNe(s[2], dk) || knownNe(s[3], dv))
      c.fail("LinearAttention: past_state must be (batch, kv_num_heads, d_k, d_v), got " + shapeToString(s));
  }
  c.setOutput(0, t, {sq[0], sq[1], dv < 0 ? -1 : qh * dv});
  if (c.numOutputs() > 1) c.setOutput(1, st, {sq[0], kvh, dk, dv});
}

}  // namespace

void registerAttentionOps(OpRegistry& reg) {
  reg.add({"LinearAttention", 3, 6, 1, 2, inferLinearAttention,
           "LinearAttention(query, key, value, past_state?, decay?, beta?) -> (output, present_state); q_num_heads, "
           "kv_num_heads, scale (0: 1/sqrt(d_k)), update_rule (linear|gated|delta|gated_delta)"});
}

}  // namespace kiln::ir
