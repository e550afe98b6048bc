// fuse-attention: scaled dot-product attention as exported from PyTorch becomes one FusedAttention node:
//
//   q4 [B,S,H,D] -Transpose(0,2,1,3)- [*c1] -.
//   k4 [B,S,H,D] -Transpose(0,2,3,1)- [*c2] -MatMul- [*c3 or /c3] [+ mask] - Softmax(-1)
//        [- Where(IsNaN(p), 0, p)] - MatMul(., v) [- Transpose(0,2,1,3)]
//   v4 [B,S,H,D] -Transpose(0,2,1,3)--------------------------------------------'
//
// The scalar multiplications (before or after the transposes, on either operand or on the scores) fold into
// the scale attribute. An operand without its transpose is taken in [B,H,S,D] layout (K: Transpose(0,1,3,2)
// of a [B,H,S,D] tensor). Every intermediate value must be read only inside the pattern and not be a graph
// output; the mask must be of the data type and broadcast to [B,H,Sq,Sk] (an all-zero constant mask is dropped).
//
// pack-attention-qkv (same file): when Q, K and V are Reshapes of three MatMuls of one input by constant
// weights (BERT's query/key/value projections), the three become one MatMul with the weights and biases
// concatenated, read by FusedAttention as a packed [B,S,3*H*D] input (attribute qkv_heads).
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool isPerm(const ir::Node* n, const std::vector<int64_t>& perm) {
  return n && n->op == "Transpose" && n->inputs.size() == 1 && n->outputs.size() == 1 &&
         n->attrs.getInts("perm") == perm;
}

//! Mul(x, c), Mul(c, x) or Div(x, c) with c a one-element constant that does not change x's shape or type:
//! x and the factor applied to it.
bool scalarScaling(const ir::Node* n, ir::Value** x, double* f) {
  if (!n || (n->op != "Mul" && n->op != "Div") || n->inputs.size() != 2 || n->outputs.size() != 1 ||
      !n->attrs.all().empty() || !n->inputs[0] || !n->inputs[1])
    return false;
  double c = 0;
  ir::Value* in = nullptr;
  if (n->op == "Mul" && n->inputs[0]->isConstant() && !n->inputs[1]->isConstant() && scalarConstant(n->inputs[0], &c)) {
    in = n->inputs[1];
  } else if (!n->inputs[0]->isConstant() && scalarConstant(n->inputs[1], &c)) {
    in = n->inputs[0];
    if (n->op == "Div") {
      if (c == 0) return false;
      c = 1.0 / c;
    }
  } else {
    return false;
  }
  const ir::Value* out = n->outputs[0];
  if (out->shape != in->shape || out->dtype != in->dtype) return false;
  *x = in;
  *f = c;
  return true;
}

struct Operand {
  ir::Value* src{nullptr};
  int64_t layout{1};
  double scale{1.0};
  std::vector<ir::Node*> nodes;  //!< in execution order
};

//! Walks back from `v` through single-use scalar Mul/Div and at most one Transpose. `bshd` is the permutation
//! from a [B,S,H,D] tensor, `bhsd` the one from a [B,H,S,D] tensor (empty: none). needPerm: a transpose
//! must be found (K).
Operand walkOperand(const Uses& uses, ir::Value* v, std::vector<int64_t> bshd, std::vector<int64_t> bhsd,
                    bool needPerm) {
  Operand op;
  op.src = v;
  bool transposed = false;
  for (int guard = 0; guard < 8; ++guard) {
    ir::Node* p = op.src->producer;
    if (!p || uses.readers(op.src).size() != 1 || uses.isGraphOutput(op.src)) break;
    ir::Value* x = nullptr;
    double f = 1.0;
    const bool isT = p->op == "Transpose" && p->inputs.size() == 1 && p->outputs.size() == 1 && p->inputs[0];
    const std::vector<int64_t> perm = isT ? p->attrs.getInts("perm") : std::vector<int64_t>{};
    if (isT && !transposed && perm == bshd) {
      op.layout = 0;
      transposed = true;
      x = p->inputs[0];
    } else if (isT && !transposed && !bhsd.empty() && perm == bhsd) {
      op.layout = 1;
      transposed = true;
      x = p->inputs[0];
    } else if (scalarScaling(p, &x, &f)) {
      op.scale *= f;
    } else {
      break;
    }
    op.nodes.insert(op.nodes.begin(), p);
    op.src = x;
  }
  if (needPerm && !transposed) op.src = nullptr;
  return op;
}

bool fuseOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* sm = np.get();
    if (sm->op != "Softmax" || sm->inputs.size() != 1 || sm->outputs.size() != 1) continue;
    ir::Value* smIn = sm->inputs[0];
    if (!smIn || smIn->shape.size() != 4 || !isFloat(smIn->dtype)) continue;
    const int64_t axis = sm->attrs.getInt("axis", -1);
    if ((axis != -1 && axis != 3) || sm->attrs.getInt("trt_default_axis", 0) != 0) continue;
    const DataType dt = smIn->dtype;
    std::vector<ir::Node*> nodes{sm};
    // scores side: [Add(., mask)] <- [Mul/Div scalar] <- MatMul
    ir::Value* s = smIn;
    ir::Value* mask = nullptr;
    double scale = 1.0;
    if (!uses.sole(s)) continue;
    ir::Node* p = s->producer;
    if (p && p->op == "Add" && p->inputs.size() == 2 && p->outputs.size() == 1 && p->attrs.all().empty()) {
      auto scoreLike = [&](const ir::Value* in) {
        ir::Value* x;
        double f;
        const ir::Node* n = in ? in->producer : nullptr;
        return n && in->shape == s->shape && (n->op == "MatMul" || scalarScaling(n, &x, &f));
      };
      const int si = scoreLike(p->inputs[0]) ? 0 : (scoreLike(p->inputs[1]) ? 1 : -1);
      if (si < 0) continue;
      mask = p->inputs[1 - si];
      if (!mask || mask == p->inputs[si] || mask->dtype != dt || mask->shape.size() > 4) continue;
      nodes.push_back(p);
      s = p->inputs[si];
      if (!uses.sole(s)) continue;
      p = s->producer;
    }
    ir::Value* sx = nullptr;
    double f = 1.0;
    if (scalarScaling(p, &sx, &f)) {
      scale *= f;
      nodes.push_back(p);
      s = sx;
      if (!uses.sole(s)) continue;
      p = s->producer;
    }
    ir::Node* mm1 = p;
    if (!mm1 || mm1->op != "MatMul" || mm1->inputs.size() != 2 || !mm1->attrs.all().empty() || !mm1->inputs[0] ||
        !mm1->inputs[1] || mm1->inputs[0] == mm1->inputs[1])
      continue;
    nodes.push_back(mm1);
    // probabilities side: [Where(IsNaN(p), 0, p)] -> MatMul(., v) [-> Transpose(0,2,1,3)]
    ir::Value* probs = sm->outputs[0];
    bool zeroRows = false;
    if (uses.isGraphOutput(probs)) continue;
    const auto& rd = uses.readers(probs);
    if (rd.size() == 2) {
      ir::Node* isn = rd[0]->op == "IsNaN" ? rd[0] : rd[1];
      ir::Node* wh = isn == rd[0] ? rd[1] : rd[0];
      if (isn->op != "IsNaN" || wh->op != "Where" || wh->inputs.size() != 3 || wh->outputs.size() != 1) continue;
      if (uses.sole(isn->outputs[0]) != wh || wh->inputs[0] != isn->outputs[0] || wh->inputs[2] != probs) continue;
      if (!isScalarNear(wh->inputs[1], 0.0, 0.0) || wh->outputs[0]->shape != probs->shape) continue;
      nodes.push_back(isn);
      nodes.push_back(wh);
      probs = wh->outputs[0];
      zeroRows = true;
    } else if (rd.size() != 1) {
      continue;
    }
    ir::Node* mm2 = uses.sole(probs);
    if (!mm2 || mm2->op != "MatMul" || mm2->inputs.size() != 2 || !mm2->attrs.all().empty() || mm2->inputs[0] != probs ||
        mm2->inputs[1] == probs || !mm2->inputs[1])
      continue;
    ir::Node* last = mm2;
    int64_t outLayout = 1;
    if (ir::Node* t = uses.sole(mm2->outputs[0]); isPerm(t, {0, 2, 1, 3})) {
      nodes.push_back(mm2);
      last = t;
      outLayout = 0;
    }
    // operands
    Operand q = walkOperand(uses, mm1->inputs[0], {0, 2, 1, 3}, {}, false);
    Operand k = walkOperand(uses, mm1->inputs[1], {0, 2, 3, 1}, {0, 1, 3, 2}, true);
    Operand v = walkOperand(uses, mm2->inputs[1], {0, 2, 1, 3}, {}, false);
    if (!q.src || !k.src || !v.src) continue;
    bool ok = true;
    for (const Operand* o : {&q, &k, &v})
      if (o->src->shape.size() != 4 || o->src->dtype != dt) ok = false;
    // a value feeding two operands (q and k from one tensor) is fine, but not a node of the pattern twice
    if (!ok || v.scale != 1.0) continue;
    std::vector<ir::Node*> ordered;
    for (const Operand* o : {&q, &k, &v}) ordered.insert(ordered.end(), o->nodes.begin(), o->nodes.end());
    // nodes holds sm, [add], [mul], mm1, [isnan, where], [mm2]: the scores part ran in reverse order
    {
      size_t i = 0;
      while (i < nodes.size() && nodes[i] != mm1) ++i;
      for (size_t j = i + 1; j-- > 0;) ordered.push_back(nodes[j]);
      for (size_t j = i + 1; j < nodes.size(); ++j) ordered.push_back(nodes[j]);
    }
    nodes = ordered;
    scale *= q.scale * k.scale;
    const ir::Value* y = last->outputs[0];
    if (y->shape.size() != 4 || y->dtype != dt) continue;
    if (mask && mask->isConstant()) {  // an all-zero constant mask (BERT without padding) adds nothing
      bool zero = true;
      for (double x : constantValues(mask)) zero = zero && x == 0.0;
      if (zero) mask = nullptr;
    }
    last->op = "FusedAttention";
    last->inputs = {q.src, k.src, v.src};
    if (mask) last->inputs.push_back(mask);
    last->attrs = ir::Attributes();
    last->attrs.setFloat("scale", scale);
    last->attrs.setInts("layouts", {q.layout, k.layout, v.layout, outLayout});
    last->attrs.setInt("masked_rows_zero", zeroRows ? 1 : 0);
    std::vector<std::string> origins;
    for (const ir::Node* n : nodes) {
      if (n->origins.empty()) origins.push_back(n->name);
      else origins.insert(origins.end(), n->origins.begin(), n->origins.end());
    }
    origins.insert(origins.end(), last->origins.begin(), last->origins.end());
    last->origins = std::move(origins);
    for (ir::Node* n : nodes) g.removeNode(n);
    return true;
  }
  return false;
}

//! pack-attention-qkv: a FusedAttention whose Q, K and V ([B,S,H,D] layout) are Reshapes of three MatMuls of
//! one input by constant 2-D weights (with or without constant biases) reads one MatMul with the weights
//! (and biases) concatenated instead: FusedAttention(QKV [B,S,3*H*D], qkv_heads = H).
bool packOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* fa = np.get();
    if (fa->op != "FusedAttention" || fa->attrs.getInt("qkv_heads", 0) != 0 || fa->inputs.size() < 3) continue;
    const auto lay = fa->attrs.getInts("layouts", {1, 1, 1, 1});
    if (lay.size() != 4 || lay[0] != 0 || lay[1] != 0 || lay[2] != 0) continue;
    ir::Node *rs[3], *mm[3];
    bool ok = true;
    for (int i = 0; i < 3 && ok; ++i) {
      ir::Value* in = fa->inputs[static_cast<size_t>(i)];
      rs[i] = in ? in->producer : nullptr;
      ok = rs[i] && rs[i]->op == "Reshape" && uses.sole(in) == fa && !rs[i]->inputs.empty() && rs[i]->inputs[0];
      if (!ok) break;
      ir::Value* mo = rs[i]->inputs[0];
      mm[i] = mo->producer;
      ok = mm[i] && mm[i]->op == "MatMul" && uses.sole(mo) == rs[i] && mm[i]->attrs.all().empty() &&
           mm[i]->outputs.size() == 1 && mm[i]->inputs.size() >= 2 && in->shape.size() == 4 && mo->shape.size() == 3;
    }
    if (!ok) continue;
    const ir::Value* a = mm[0]->inputs[0];
    const ir::Shape& xs = fa->inputs[0]->shape;  // [B, S, H, D]
    const bool bias = mm[0]->inputs.size() > 2 && mm[0]->inputs[2];
    for (int i = 0; i < 3 && ok; ++i) {
      const ir::Node& m = *mm[i];
      const ir::Value* w = m.inputs[1];
      const ir::Value* mo = m.outputs[0];
      const ir::Value* in = fa->inputs[static_cast<size_t>(i)];
      ok = m.inputs[0] == a && w && w->isConstant() && w->shape.size() == 2 && w->dtype == a->dtype &&
           w->shape[1] == xs[2] * xs[3] && in->shape == xs && mo->shape[0] == xs[0] && mo->shape[1] == xs[1] &&
           mo->shape[2] == xs[2] * xs[3] && w->shape[0] == mm[0]->inputs[1]->shape[0];
      const bool hasBias = m.inputs.size() > 2 && m.inputs[2];
      if (ok && hasBias) {
        const ir::Value* bv = m.inputs[2];
        ok = bv->isConstant() && bv->constant->numel() == xs[2] * xs[3] && bv->dtype == a->dtype;
      }
      ok = ok && hasBias == bias && m.inputs.size() <= 3;
    }
    if (!ok || xs[2] <= 0 || xs[3] <= 0) continue;
    const int64_t Kd = mm[0]->inputs[1]->shape[0], N = xs[2] * xs[3];
    std::vector<double> wv(static_cast<size_t>(Kd * 3 * N)), bv;
    for (int i = 0; i < 3; ++i) {
      const std::vector<double> w = constantValues(mm[i]->inputs[1]);
      for (int64_t r = 0; r < Kd; ++r)
        for (int64_t c = 0; c < N; ++c) wv[static_cast<size_t>(r * 3 * N + i * N + c)] = w[static_cast<size_t>(r * N + c)];
      if (bias) {
        const std::vector<double> b = constantValues(mm[i]->inputs[2]);
        bv.insert(bv.end(), b.begin(), b.end());
      }
    }
    const DataType dt = a->dtype;
    ir::Node* m0 = mm[0];
    m0->inputs[1] = addConstant(g, m0->name + "_qkv_weight", dt, {Kd, 3 * N}, wv);
    if (bias) m0->inputs[2] = addConstant(g, m0->name + "_qkv_bias", dt, {3 * N}, bv);
    ir::Value* old = m0->outputs[0];
    ir::Value* qkv = g.addValue(g.uniqueName(old->name + "_qkv"), dt, {xs[0], xs[1], 3 * N});
    old->producer = nullptr;
    m0->outputs[0] = qkv;
    qkv->producer = m0;
    qkv->producerOutput = 0;
    for (int i = 1; i < 3; ++i) appendOrigins(*m0, *mm[i]);
    fa->inputs[0] = qkv;
    fa->inputs[1] = nullptr;
    fa->inputs[2] = nullptr;
    fa->attrs.setInt("qkv_heads", xs[2]);
    for (int i = 0; i < 3; ++i) appendOrigins(*fa, *rs[i]);
    for (ir::Node* n : {rs[0], rs[1], rs[2], mm[1], mm[2]}) g.removeNode(n);
    return true;
  }
  return false;
}

}  // namespace

bool packAttentionQkv(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (packOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

bool fuseAttention(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (fuseOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
