// Attention-family operators of opsets 23+ (Attention, RotaryEmbedding, SwiGLU, TensorScatter,
// CausalConvWithState), imported as DECOMPOSITIONS into existing IR operations (so they also run on the GPU
// backend and get the generic fusions). They need the ranks (and, where a dimension becomes a constant, the
// extents) of their inputs at import time; inputs whose needed extents are unknown are refused clearly.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/op_registry.h"
#include "onnx/importer.h"
#include "onnx/importers/decompose.h"

namespace kiln::onnx {

// ---- small helpers shared by the decomposing importers (decompose.h) ----

ir::Value* Emit::op(const std::string& type, std::vector<ir::Value*> ins, ir::Attributes a) {
  return ctx.addNode(type, std::move(ins), 1, std::move(a), false)->outputs[0];
}
ir::Value* Emit::op1(const std::string& type, ir::Value* x) { return op(type, {x}); }
ir::Value* Emit::cast(ir::Value* x, DataType t) {
  if (ctx.typeOf(x) == t) return x;
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(t));
  return op("Cast", {x}, a);
}
ir::Value* Emit::scalar(double v, DataType t) {
  return cast(ctx.constant(ir::makeFloatTensor({static_cast<float>(v)}, {}), "scalar"), t);
}
ir::Value* Emit::ints(const std::vector<int64_t>& v) { return ctx.int64Constant(v, "ints"); }
ir::Value* Emit::int64Scalar(int64_t v) { return ctx.constant(ir::makeInt64Tensor({v}, {}), "int"); }
ir::Value* Emit::reshape(ir::Value* x, const std::vector<int64_t>& shape) { return op("Reshape", {x, ints(shape)}); }
ir::Value* Emit::transpose(ir::Value* x, const std::vector<int64_t>& perm) {
  ir::Attributes a;
  a.setInts("perm", perm);
  return op("Transpose", {x}, a);
}
ir::Value* Emit::concat(std::vector<ir::Value*> xs, int64_t axis) {
  ir::Attributes a;
  a.setInt("axis", axis);
  return op("Concat", std::move(xs), a);
}
ir::Value* Emit::slice(ir::Value* x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return op("Slice", {x, ints({start}), ints({end}), ints({axis}), ints({step})});
}
ir::Value* Emit::unsqueeze(ir::Value* x, const std::vector<int64_t>& axes) { return op("Unsqueeze", {x, ints(axes)}); }
ir::Value* Emit::softmax(ir::Value* x, int64_t axis) {
  ir::Attributes a;
  a.setInt("axis", axis);
  return op("Softmax", {x}, a);
}
const ir::Shape& Emit::staticShape(ir::Value* x, const char* what) {
  const ir::Shape* s = ctx.shapeOf(x);
  if (!s) ctx.unsupported(std::string("the shape of ") + what + " could not be inferred");
  for (int64_t d : *s)
    if (d < 0) ctx.unsupported(std::string("the shape of ") + what + " must be known at import time");
  return *s;
}
const ir::Shape& Emit::rankedShape(ir::Value* x, const char* what) {
  const ir::Shape* s = ctx.shapeOf(x);
  if (!s) ctx.unsupported(std::string("the shape of ") + what + " could not be inferred");
  return *s;
}
void Emit::bind(size_t output, ir::Value* v) {
  if (output >= ctx.node().outputs.size() || ctx.node().outputs[output].empty()) return;
  if (!v->producer && !v->isConstant()) v = op1("Identity", v);  // a graph input can't be an output name
  ctx.bindOutput(output, v);
}
bool Emit::wants(size_t output) const {
  return output < ctx.node().outputs.size() && !ctx.node().outputs[output].empty();
}

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

//! Attention (opsets 23-25) as its ONNX function: Q*sqrt(s) @ (K*sqrt(s))^T [softcap] + bias, softmax (in
//! softmax_precision), fully-masked rows zeroed, @ V. The bias combines attn_mask (bool -> 0/-inf, padded
//! with -inf to the total kv length), is_causal and the sliding window (bottom-right aligned at an offset
//! of past length, or per batch nonpad_kv_seqlen - q_len) and the nonpad_kv_seqlen padding mask.
void importAttention(ImportContext& ctx) {
  Emit e{ctx};
  ir::Value* q = ctx.input(0);
  ir::Value* k = ctx.input(1);
  ir::Value* v = ctx.input(2);
  ir::Value* mask = ctx.input(3);
  ir::Value* pastK = ctx.input(4);
  ir::Value* pastV = ctx.input(5);
  ir::Value* nonpad = ctx.input(6);
  if (!q || !k || !v) ctx.unsupported("Attention needs Q, K and V");
  if (!pastK != !pastV) ctx.unsupported("past_key and past_value must be given together");
  if (nonpad && pastK) ctx.unsupported("nonpad_kv_seqlen cannot be combined with past_key/past_value");
  const DataType t = ctx.typeOf(q);
  if (t != DataType::kFLOAT && t != DataType::kHALF && t != DataType::kBF16 && t != DataType::kDOUBLE)
    ctx.unsupported("Attention supports floating-point Q/K/V only");
  ir::Shape sq = e.staticShape(q, "Q"), sk = e.staticShape(k, "K"), sv = e.staticShape(v, "V");
  if (sq.size() != sk.size() || sq.size() != sv.size() || (sq.size() != 3 && sq.size() != 4))
    ctx.unsupported("Q, K and V must all be rank 3 or all rank 4");
  const bool threeD = sq.size() == 3;
  int64_t qHeads, kvHeads;
  if (threeD) {
    qHeads = ctx.attrInt("q_num_heads", 0);
    kvHeads = ctx.attrInt("kv_num_heads", 0);
    if (qHeads <= 0 || kvHeads <= 0) ctx.unsupported("3-D Attention needs positive q_num_heads and kv_num_heads");
    if (sq[2] % qHeads || sk[2] % kvHeads || sv[2] % kvHeads)
      ctx.unsupported("the hidden sizes must be divisible by the numbers of heads");
    q = e.transpose(e.reshape(q, {sq[0], sq[1], qHeads, sq[2] / qHeads}), {0, 2, 1, 3});
    k = e.transpose(e.reshape(k, {sk[0], sk[1], kvHeads, sk[2] / kvHeads}), {0, 2, 1, 3});
    v = e.transpose(e.reshape(v, {sv[0], sv[1], kvHeads, sv[2] / kvHeads}), {0, 2, 1, 3});
    sq = {sq[0], qHeads, sq[1], sq[2] / qHeads};
    sk = {sk[0], kvHeads, sk[1], sk[2] / kvHeads};
    sv = {sv[0], kvHeads, sv[1], sv[2] / kvHeads};
  } else {
    qHeads = sq[1];
    kvHeads = sk[1];
    if (sv[1] != kvHeads) ctx.unsupported("K and V must have the same number of heads");
  }
  const int64_t batch = sq[0], qLen = sq[2], headSize = sq[3];
  if (sk[0] != batch || sv[0] != batch) ctx.unsupported("Q, K and V must have the same batch size");
  if (sk[3] != headSize) ctx.unsupported("Q and K must have the same head size");
  if (sk[2] != sv[2]) ctx.unsupported("K and V must have the same sequence length");
  if (kvHeads <= 0 || qHeads % kvHeads != 0) ctx.unsupported("q_num_heads must be a multiple of kv_num_heads");

  // KV cache
  int64_t pastLen = 0;
  if (pastK) {
    const ir::Shape& pk = e.staticShape(pastK, "past_key");
    const ir::Shape& pv = e.staticShape(pastV, "past_value");
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != batch || pk[1] != kvHeads || pk[3] != headSize || pv[0] != batch ||
        pv[1] != kvHeads || pv[3] != sv[3] || pv[2] != pk[2])
      ctx.unsupported("past_key/past_value must be (batch, kv_num_heads, past_length, head_size)");
    pastLen = pk[2];
    k = e.concat({pastK, k}, 2);
    v = e.concat({pastV, v}, 2);
  }
  e.bind(1, k);
  e.bind(2, v);
  const int64_t kvLen = sk[2] + pastLen;

  // scale: sqrt applied to both Q and K (in float, then cast to T, as the function body does)
  double scale = 1.0 / std::sqrt(static_cast<double>(headSize));
  if (const Attribute* a = ctx.attr("scale")) scale = a->f;
  ir::Value* s = e.scalar(std::sqrt(static_cast<float>(scale)), t);

  // grouped-query attention: repeat every kv head (interleaved)
  if (qHeads != kvHeads) {
    const int64_t reps = qHeads / kvHeads;
    auto expandHeads = [&](ir::Value* x, int64_t d) {
      ir::Value* u = e.unsqueeze(x, {2});
      ir::Value* ex = e.op("Expand", {u, e.ints({batch, kvHeads, reps, kvLen, d})});
      return e.reshape(ex, {batch, qHeads, kvLen, d});
    };
    k = expandHeads(k, headSize);
    v = expandHeads(v, sv[3]);
  }
  ir::Value* qs = e.op("Mul", {q, s});
  ir::Value* kt = e.op("Mul", {e.transpose(k, {0, 1, 3, 2}), s});
  ir::Value* qk = e.op("MatMul", {qs, kt});
  ir::Value* qkCapped = qk;
  const float softcap = ctx.attrFloat("softcap", 0.f);
  if (softcap > 0.f) {
    ir::Value* c = e.scalar(softcap, t);
    qkCapped = e.op("Mul", {e.op1("Tanh", e.op("Div", {qk, c})), c});
  }

  // bias
  ir::Value* bias = nullptr;
  ir::Value* zeroT = e.scalar(0.0, t);
  ir::Value* negInfT = e.scalar(kNegInf, t);
  auto addBias = [&](ir::Value* b) { bias = bias ? e.op("Add", {bias, b}) : b; };
  if (mask) {
    const ir::Shape& sm = e.rankedShape(mask, "attn_mask");
    if (sm.empty() || sm.size() > 4) ctx.unsupported("attn_mask must have rank 1 to 4");
    ir::Value* mb = ctx.typeOf(mask) == DataType::kBOOL ? e.op("Where", {mask, zeroT, negInfT}) : e.cast(mask, t);
    const int64_t last = sm.back();
    if (last < 0) ctx.unsupported("the last dimension of attn_mask must be known at import time");
    if (last > kvLen) ctx.unsupported("attn_mask is longer than the total kv sequence length");
    if (last < kvLen) {
      std::vector<int64_t> pads(2 * sm.size(), 0);
      pads[2 * sm.size() - 1] = kvLen - last;
      ir::Attributes pa;
      pa.setString("mode", "constant");
      mb = e.op("Pad", {mb, e.ints(pads), negInfT}, pa);
    }
    addBias(mb);
  }
  const bool causal = ctx.attrInt("is_causal", 0) != 0;
  const int64_t left = ctx.attrInt("left_window_size", -1), right = ctx.attrInt("right_window_size", -1);
  if (left < -1 || right < -1) ctx.unsupported("window sizes must be -1 or nonnegative");
  if (causal || left >= 0 || right >= 0) {
    // d[i][j] = j - i; query i attends key j iff d <= offset (causal), d >= offset - left, d <= offset + right
    std::vector<int64_t> d(static_cast<size_t>(qLen * kvLen));
    for (int64_t i = 0; i < qLen; ++i)
      for (int64_t j = 0; j < kvLen; ++j) d[static_cast<size_t>(i * kvLen + j)] = j - i;
    ir::Value* dv = ctx.constant(ir::makeInt64Tensor(d, {qLen, kvLen}), "causal_offsets");
    ir::Value* off;
    if (nonpad) {
      ir::Value* n = e.reshape(e.cast(nonpad, DataType::kINT64), {batch, 1, 1, 1});
      off = e.op("Sub", {n, e.int64Scalar(qLen)});
    } else {
      off = e.int64Scalar(pastLen);
    }
    ir::Value* allowed = nullptr;
    auto both = [&](ir::Value* c) { allowed = allowed ? e.op("And", {allowed, c}) : c; };
    if (causal) both(e.op("LessOrEqual", {dv, off}));
    if (left >= 0) both(e.op("GreaterOrEqual", {dv, e.op("Sub", {off, e.int64Scalar(left)})}));
    if (right >= 0) both(e.op("LessOrEqual", {dv, e.op("Add", {off, e.int64Scalar(right)})}));
    addBias(e.op("Where", {allowed, zeroT, negInfT}));
  }
  if (nonpad) {
    std::vector<int64_t> r(static_cast<size_t>(kvLen));
    for (int64_t j = 0; j < kvLen; ++j) r[static_cast<size_t>(j)] = j;
    ir::Value* rv = ctx.constant(ir::makeInt64Tensor(r, {kvLen}), "kv_positions");
    ir::Value* n = e.reshape(e.cast(nonpad, DataType::kINT64), {batch, 1, 1, 1});
    addBias(e.op("Where", {e.op("Less", {rv, n}), zeroT, negInfT}));
  }
  ir::Value* qkBias = bias ? e.op("Add", {qkCapped, bias}) : qkCapped;

  // softmax in softmax_precision, fully-masked rows (bias all -inf) zeroed
  DataType sp = t;
  if (const Attribute* a = ctx.attr("softmax_precision")) {
    bool ok = false;
    sp = fromOnnxType(static_cast<int32_t>(a->i), &ok);
    if (!ok || (sp != DataType::kFLOAT && sp != DataType::kHALF && sp != DataType::kBF16 && sp != DataType::kDOUBLE))
      ctx.unsupported("softmax_precision must be a floating-point type");
  }
  ir::Value* p = e.softmax(e.cast(qkBias, sp), -1);
  if (bias) {
    ir::Attributes keep;
    keep.setInt("keepdims", 1);
    ir::Value* rowMax = e.op("ReduceMax", {bias, e.ints({-1})}, keep);
    ir::Value* masked = e.op("Equal", {rowMax, negInfT});
    p = e.op("Where", {masked, e.scalar(0.0, sp), p});
  }
  p = e.cast(p, t);
  if (e.wants(3)) {
    const int64_t mode = ctx.attrInt("qk_matmul_output_mode", 0);
    ir::Value* out = mode == 0 ? qk : mode == 1 ? qkCapped : mode == 2 ? qkBias : mode == 3 ? p : nullptr;
    if (!out) ctx.unsupported("qk_matmul_output_mode must be 0..3");
    e.bind(3, out);
  }
  ir::Value* y = e.op("MatMul", {p, v});
  if (threeD) y = e.reshape(e.transpose(y, {0, 2, 1, 3}), {batch, qLen, qHeads * sv[3]});
  e.bind(0, y);
}

//! RotaryEmbedding (opset 23): input (B, H, S, D) or (B, S, H*D); caches (max_pos, R/2) gathered by
//! position_ids (B, S), or already (B, S, R/2) without them. The first rotary_embedding_dim channels of
//! each head are rotated as halves or interleaved pairs; the rest pass through.
void importRotaryEmbedding(ImportContext& ctx) {
  Emit e{ctx};
  ir::Value* x = ctx.input(0);
  ir::Value* cosC = ctx.input(1);
  ir::Value* sinC = ctx.input(2);
  ir::Value* pos = ctx.input(3);
  if (!x || !cosC || !sinC) ctx.unsupported("RotaryEmbedding needs input, cos_cache and sin_cache");
  const ir::Shape sx = e.staticShape(x, "input");
  if (sx.size() != 3 && sx.size() != 4) ctx.unsupported("input must be rank 3 or 4");
  ir::Value* h;  // (B, S, H, D)
  int64_t batch = sx[0], seq, heads, hd;
  if (sx.size() == 4) {
    heads = sx[1];
    seq = sx[2];
    hd = sx[3];
    h = e.transpose(x, {0, 2, 1, 3});
  } else {
    heads = ctx.attrInt("num_heads", 0);
    if (heads <= 0 || sx[2] % heads) ctx.unsupported("3-D input needs num_heads dividing the hidden size");
    seq = sx[1];
    hd = sx[2] / heads;
    h = e.reshape(x, {batch, seq, heads, hd});
  }
  int64_t rd = ctx.attrInt("rotary_embedding_dim", 0);
  if (rd == 0) rd = hd;
  if (rd < 2 || rd > hd || rd % 2) ctx.unsupported("rotary_embedding_dim must be even and at most the head size");
  const bool interleaved = ctx.attrInt("interleaved", 0) != 0;
  if (pos) {
    cosC = e.op("Gather", {cosC, pos});
    sinC = e.op("Gather", {sinC, pos});
  }
  const ir::Shape& sc = e.rankedShape(cosC, "cos_cache");
  if (sc.empty() || sc.back() != rd / 2) ctx.unsupported("the last dimension of the caches must be rotary_embedding_dim/2");
  cosC = e.unsqueeze(e.cast(cosC, ctx.typeOf(x)), {-2});  // (B, S, 1, R/2)
  sinC = e.unsqueeze(e.cast(sinC, ctx.typeOf(x)), {-2});
  ir::Value* rot = rd == hd ? h : e.slice(h, 3, 0, rd, 1);
  ir::Value *x1, *x2;
  if (interleaved) {
    x1 = e.slice(rot, 3, 0, rd, 2);
    x2 = e.slice(rot, 3, 1, rd, 2);
  } else {
    x1 = e.slice(rot, 3, 0, rd / 2, 1);
    x2 = e.slice(rot, 3, rd / 2, rd, 1);
  }
  ir::Value* real = e.op("Sub", {e.op("Mul", {cosC, x1}), e.op("Mul", {sinC, x2})});
  ir::Value* imag = e.op("Add", {e.op("Mul", {sinC, x1}), e.op("Mul", {cosC, x2})});
  ir::Value* rotated;
  if (interleaved) {
    rotated = e.reshape(e.concat({e.unsqueeze(real, {-1}), e.unsqueeze(imag, {-1})}, -1), {batch, seq, heads, rd});
  } else {
    rotated = e.concat({real, imag}, -1);
  }
  ir::Value* out = rd == hd ? rotated : e.concat({rotated, e.slice(h, 3, rd, hd, 1)}, -1);
  out = sx.size() == 4 ? e.transpose(out, {0, 2, 1, 3}) : e.reshape(out, sx);
  e.bind(0, out);
}

//! SwiGLU (opset 26): A * sigmoid(alpha * A) * B, A and B of the same shape.
void importSwiGLU(ImportContext& ctx) {
  Emit e{ctx};
  ir::Value* a = ctx.input(0);
  ir::Value* b = ctx.input(1);
  if (!a || !b) ctx.unsupported("SwiGLU needs two inputs");
  const ir::Shape* sa = ctx.shapeOf(a);
  const ir::Shape* sb = ctx.shapeOf(b);
  if (sa && sb && *sa != *sb) ctx.unsupported("SwiGLU needs inputs of the same shape");
  if (ctx.typeOf(a) != ctx.typeOf(b)) ctx.unsupported("SwiGLU needs inputs of the same type");
  const DataType t = ctx.typeOf(a);
  const float alpha = ctx.attrFloat("alpha", 1.f);
  ir::Value* z = alpha == 1.f ? a : e.op("Mul", {a, e.scalar(alpha, t)});
  ir::Value* swish = e.op("Mul", {a, e.op1("Sigmoid", z)});
  ctx.addNode("Mul", {swish, b}, 1, {});
}

//! TensorScatter (opset 24): writes `update` into a copy of `past_cache` along `axis` starting at
//! write_indices[b] (per batch, the first axis), wrapping around in circular mode: a ScatterElements
//! whose indices are write_indices[b] + s (mod the cache length).
void importTensorScatter(ImportContext& ctx) {
  Emit e{ctx};
  ir::Value* past = ctx.input(0);
  ir::Value* upd = ctx.input(1);
  ir::Value* wi = ctx.input(2);
  if (!past || !upd) ctx.unsupported("TensorScatter needs past_cache and update");
  const ir::Shape sp = e.staticShape(past, "past_cache");
  const ir::Shape su = e.staticShape(upd, "update");
  const int64_t r = static_cast<int64_t>(sp.size());
  if (r < 2 || su.size() != sp.size()) ctx.unsupported("past_cache and update must have the same rank, at least 2");
  int64_t axis = ctx.attrInt("axis", -2);
  if (axis < 0) axis += r;
  if (axis < 1 || axis >= r) ctx.unsupported("axis must not be the batch axis and must be in range");
  for (int64_t i = 0; i < r; ++i)
    if (i == axis ? su[i] > sp[i] : su[i] != sp[i]) ctx.unsupported("update's shape does not fit past_cache");
  std::string mode = ctx.attr("mode") ? ctx.attr("mode")->s : "linear";
  if (mode != "linear" && mode != "circular") ctx.unsupported("mode must be 'linear' or 'circular'");
  if (su[axis] == 0) {
    e.bind(0, past);
    return;
  }
  std::vector<int64_t> seq(static_cast<size_t>(su[axis]));
  for (int64_t i = 0; i < su[axis]; ++i) seq[static_cast<size_t>(i)] = i;
  ir::Shape seqShape(static_cast<size_t>(r), 1);
  seqShape[static_cast<size_t>(axis)] = su[axis];
  ir::Value* idx = ctx.constant(ir::makeInt64Tensor(seq, seqShape), "seq_positions");
  if (wi) {
    ir::Shape bShape(static_cast<size_t>(r), 1);
    bShape[0] = sp[0];
    idx = e.op("Add", {idx, e.reshape(e.cast(wi, DataType::kINT64), bShape)});
  }
  if (mode == "circular") idx = e.op("Mod", {idx, e.int64Scalar(sp[axis])});
  idx = e.op("Expand", {idx, e.ints(su)});
  ir::Attributes a;
  a.setInt("axis", axis);
  ctx.addNode("ScatterElements", {past, idx, upd}, 1, a);
}

//! CausalConvWithState: a depthwise causal 1-D convolution over (B, C, L) with weight (C, 1, K): the
//! input is prefixed with past_state (B, C, K-1) (zeros without it), convolved with group = C, optionally
//! followed by SiLU; present_state is the last K-1 positions of the prefixed input.
void importCausalConvWithState(ImportContext& ctx) {
  Emit e{ctx};
  ir::Value* x = ctx.input(0);
  ir::Value* w = ctx.input(1);
  ir::Value* b = ctx.input(2);
  ir::Value* past = ctx.input(3);
  if (!x || !w) ctx.unsupported("CausalConvWithState needs input and weight");
  const ir::Shape sx = e.staticShape(x, "input");
  const ir::Shape sw = e.staticShape(w, "weight");
  if (sx.size() != 3) ctx.unsupported("input must be rank 3 (batch, channels, length)");
  if (sw.size() != 3 || sw[0] != sx[1] || sw[1] != 1 || sw[2] < 1)
    ctx.unsupported("weight must be (channels, 1, kernel_size)");
  std::string act = ctx.attr("activation") ? ctx.attr("activation")->s : "none";
  if (act != "none" && act != "silu" && act != "swish") ctx.unsupported("activation must be none, silu or swish");
  const int64_t kk = sw[2], batch = sx[0], ch = sx[1], len = sx[2];
  const DataType t = ctx.typeOf(x);
  ir::Value* padded = x;
  if (past) {
    const ir::Shape sp = e.staticShape(past, "past_state");
    if (sp != ir::Shape{batch, ch, kk - 1}) ctx.unsupported("past_state must be (batch, channels, kernel_size - 1)");
    if (kk > 1) padded = e.concat({e.cast(past, t), x}, 2);
  } else if (kk > 1) {
    ir::Attributes pa;
    pa.setString("mode", "constant");
    padded = e.op("Pad", {x, e.ints({0, 0, kk - 1, 0, 0, 0}), e.scalar(0.0, t)}, pa);
  }
  ir::Attributes ca;
  ca.setInt("group", ch);
  ca.setInts("kernel_shape", {kk});
  ca.setInts("strides", {1});
  ca.setInts("pads", {0, 0});
  ca.setInts("dilations", {1});
  std::vector<ir::Value*> ins{padded, w};
  if (b) ins.push_back(b);
  ir::Value* y = e.op("Conv", ins, ca);
  if (act != "none") {
    ir::Value* yf = e.cast(y, DataType::kFLOAT);
    y = e.cast(e.op("Mul", {yf, e.op1("Sigmoid", yf)}), t);
  }
  e.bind(0, y);
  if (e.wants(1)) {
    e.bind(1, e.slice(padded, 2, len, len + kk - 1, 1));
  }
}

//! LinearAttention maps to the IR op of the same semantics (chunk_size is only a tuning hint).
void importLinearAttention(ImportContext& ctx) {
  ir::Attributes a = ctx.convertAttributes();
  a.erase("chunk_size");
  std::vector<ir::Value*> ins = ctx.inputs();
  while (!ins.empty() && !ins.back()) ins.pop_back();
  ctx.addNode("LinearAttention", ins, static_cast<int>(std::min<size_t>(2, ctx.node().outputs.size())), a);
}

}  // namespace

void registerAttentionImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const char* n : {"MatMul", "Softmax", "Where", "Transpose", "Reshape", "Concat", "Expand", "Pad", "ReduceMax",
                        "Tanh", "Slice", "Gather", "ScatterElements", "Conv", "Sigmoid", "Cast", "Unsqueeze"})
    if (!ops.find(n)) return;
  reg.add({"", "Attention", 23, kMaxKnownOpset, importAttention});
  reg.add({"", "RotaryEmbedding", 23, kMaxKnownOpset, importRotaryEmbedding});
  reg.add({"", "SwiGLU", 1, kMaxKnownOpset, importSwiGLU});
  reg.add({"", "TensorScatter", 23, kMaxKnownOpset, importTensorScatter});
  reg.add({"", "CausalConvWithState", 1, kMaxKnownOpset, importCausalConvWithState});
  if (ops.find("LinearAttention")) reg.add({"", "LinearAttention", 1, kMaxKnownOpset, importLinearAttention});
}

}  // namespace kiln::onnx
