// recognize-gelu: the exported forms of GELU become the IR's Gelu op.
//   erf form:  x * 0.5 * (1 + erf(x / 1.4142135))   (or erf(x * 0.70710678))         -> Gelu
//   tanh form: 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x^3)))               -> Gelu(approximate="tanh")
// x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x). The final product with x and 0.5 may be
// arranged as (x * a) * 0.5, (x * 0.5) * a or x * (a * 0.5) with a = 1 + erf(..), each Mul and Add in
// either operand order. Constants match within 1e-4 (relative). Every intermediate value must be read only
// inside the pattern and not be a graph output.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

constexpr double kRel = 1e-4;

bool isOp(const ir::Node* n, const char* op, size_t nIn) {
  return n && n->op == op && n->inputs.size() == nIn && n->outputs.size() == 1;
}

//! A binary node reading `v` whose other input is a scalar constant near `k`; it must be v's sole reader.
ir::Node* scalarStep(const Uses& uses, const ir::Value* v, const char* op, double k) {
  ir::Node* n = uses.sole(v);
  if (!isOp(n, op, 2)) return nullptr;
  ir::Value* o = otherInput(*n, v);
  return o && isScalarNear(o, k, kRel) ? n : nullptr;
}

//! From a = (1 + f(x)) (sole reader chain), the final multiplication by x and 0.5. Appends the matched
//! nodes; the last one produces the result.
bool matchHalfXTimes(const Uses& uses, const ir::Value* a, const ir::Value* x, std::vector<ir::Node*>* nodes) {
  ir::Node* m1 = uses.sole(a);
  if (!isOp(m1, "Mul", 2)) return false;
  ir::Value* o = otherInput(*m1, a);
  if (!o) return false;
  if (o == x) {  // (x * a) * 0.5
    ir::Node* m2 = scalarStep(uses, m1->outputs[0], "Mul", 0.5);
    if (!m2) return false;
    nodes->insert(nodes->end(), {m1, m2});
    return true;
  }
  if (isScalarNear(o, 0.5, kRel)) {  // x * (a * 0.5)
    ir::Node* m2 = uses.sole(m1->outputs[0]);
    if (!isOp(m2, "Mul", 2) || otherInput(*m2, m1->outputs[0]) != x) return false;
    nodes->insert(nodes->end(), {m1, m2});
    return true;
  }
  ir::Node* h = o->producer;  // (x * 0.5) * a
  if (!isOp(h, "Mul", 2) || uses.sole(o) != m1) return false;
  ir::Value* k = otherInput(*h, x);
  if (!k || !isScalarNear(k, 0.5, kRel)) return false;
  nodes->insert(nodes->end(), {h, m1});
  return true;
}

//! Erf(d) with d = x / sqrt(2) or x * (1/sqrt(2)): x, and the nodes of 0.5 x (1 + erf(d)).
bool matchErfGelu(const Uses& uses, ir::Node* erf, ir::Value** xOut, std::vector<ir::Node*>* nodes) {
  if (!isOp(erf, "Erf", 1)) return false;
  ir::Value* d = erf->inputs[0];
  ir::Node* scale = d->producer;
  if (!scale || scale->inputs.size() != 2 || scale->outputs.size() != 1 || uses.sole(d) != erf) return false;
  ir::Value* x = nullptr;
  if (scale->op == "Div" && isScalarNear(scale->inputs[1], 1.4142135623730951, kRel)) x = scale->inputs[0];
  else if (scale->op == "Mul") {
    if (isScalarNear(scale->inputs[1], 0.7071067811865476, kRel)) x = scale->inputs[0];
    else if (isScalarNear(scale->inputs[0], 0.7071067811865476, kRel)) x = scale->inputs[1];
  }
  if (!x) return false;
  ir::Node* plus1 = scalarStep(uses, erf->outputs[0], "Add", 1.0);
  if (!plus1) return false;
  nodes->insert(nodes->end(), {scale, erf, plus1});
  *xOut = x;
  return matchHalfXTimes(uses, plus1->outputs[0], x, nodes);
}

//! c = x^3 as Pow(x, 3) or x * (x * x) in any order; appends its nodes.
bool matchCube(const Uses& uses, const ir::Value* c, const ir::Value* x, std::vector<ir::Node*>* nodes) {
  ir::Node* n = c->producer;
  if (!n || n->outputs.size() != 1) return false;
  if (isOp(n, "Pow", 2) && n->inputs[0] == x && isScalarNear(n->inputs[1], 3.0, kRel)) {
    nodes->push_back(n);
    return true;
  }
  if (!isOp(n, "Mul", 2)) return false;
  ir::Value* sq = n->inputs[0] == x ? n->inputs[1] : (n->inputs[1] == x ? n->inputs[0] : nullptr);
  if (!sq || sq == x) return false;
  ir::Node* s = sq->producer;
  if (!isOp(s, "Mul", 2) || s->inputs[0] != x || s->inputs[1] != x || uses.sole(sq) != n) return false;
  nodes->insert(nodes->end(), {s, n});
  return true;
}

//! Tanh(u), u = k * (x + 0.044715 x^3): x, and the nodes of 0.5 x (1 + tanh(u)).
bool matchTanhGelu(const Uses& uses, ir::Node* th, ir::Value** xOut, std::vector<ir::Node*>* nodes) {
  if (!isOp(th, "Tanh", 1)) return false;
  ir::Value* u = th->inputs[0];
  ir::Node* mk = u->producer;
  if (!isOp(mk, "Mul", 2) || uses.sole(u) != th) return false;
  ir::Value* v = isScalarNear(mk->inputs[1], 0.7978845608028654, kRel)   ? mk->inputs[0]
                 : isScalarNear(mk->inputs[0], 0.7978845608028654, kRel) ? mk->inputs[1]
                                                                         : nullptr;
  if (!v) return false;
  ir::Node* add = v->producer;
  if (!isOp(add, "Add", 2) || uses.sole(v) != mk) return false;
  for (int side = 0; side < 2; ++side) {
    ir::Value* x = add->inputs[static_cast<size_t>(side)];
    ir::Value* w = add->inputs[static_cast<size_t>(1 - side)];
    ir::Node* mc = w->producer;
    if (!isOp(mc, "Mul", 2) || uses.sole(w) != add) continue;
    ir::Value* cube = isScalarNear(mc->inputs[1], 0.044715, kRel)   ? mc->inputs[0]
                      : isScalarNear(mc->inputs[0], 0.044715, kRel) ? mc->inputs[1]
                                                                    : nullptr;
    std::vector<ir::Node*> found;
    if (!cube || uses.sole(cube) != mc || !matchCube(uses, cube, x, &found)) continue;
    found.insert(found.end(), {mc, add, mk, th});
    ir::Node* plus1 = scalarStep(uses, th->outputs[0], "Add", 1.0);
    if (!plus1) return false;
    found.push_back(plus1);
    if (!matchHalfXTimes(uses, plus1->outputs[0], x, &found)) return false;
    *nodes = std::move(found);
    *xOut = x;
    return true;
  }
  return false;
}

bool recognizeOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* n = np.get();
    ir::Value* x = nullptr;
    std::vector<ir::Node*> nodes;
    bool erfForm = matchErfGelu(uses, n, &x, &nodes);
    if (!erfForm) {
      nodes.clear();
      if (!matchTanhGelu(uses, n, &x, &nodes)) continue;
    }
    if (!isFloat(x->dtype) || nodes.back()->outputs[0]->dtype != x->dtype ||
        nodes.back()->outputs[0]->shape != x->shape)
      continue;
    // The last Mul becomes the Gelu (it keeps its position and output value); the others go.
    ir::Node* last = nodes.back();
    nodes.pop_back();
    last->op = "Gelu";
    last->inputs = {x};
    last->attrs = ir::Attributes();
    if (!erfForm) last->attrs.setString("approximate", "tanh");
    removeInto(g, last, nodes);
    return true;
  }
  return false;
}

}  // namespace

bool recognizeGelu(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (recognizeOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
