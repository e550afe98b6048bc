// fold-batchnorm: BatchNormalization (inference form, constant parameters) after a Conv with constant
// weights, or after a Gemm / MatMul with a constant 2-D weight whose output is 2-D (the normalized axis 1 is
// then the last one), is folded into the weights and the bias:
//   s = scale / sqrt(var + eps);  W' = W * s (per output channel);  B' = (B - mean) * s + beta.
// Computed in double, stored in the weights' type. A BatchNormalization anywhere else stays.
#include <cmath>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

bool bnParams(const ir::Node& bn, int64_t channels, BnParams* p) {
  if (bn.inputs.size() != 5 || bn.outputs.size() != 1 || bn.attrs.getInt("training_mode", 0) != 0) return false;
  for (int i = 1; i <= 4; ++i)
    if (!bn.inputs[i] || !bn.inputs[i]->isConstant() || bn.inputs[i]->constant->numel() != channels) return false;
  double eps = bn.attrs.getFloat("epsilon", 1e-5);
  auto scale = constantValues(bn.inputs[1]), beta = constantValues(bn.inputs[2]);
  auto mean = constantValues(bn.inputs[3]), var = constantValues(bn.inputs[4]);
  p->s.resize(static_cast<size_t>(channels));
  p->shift.resize(static_cast<size_t>(channels));
  for (size_t c = 0; c < p->s.size(); ++c) {
    p->s[c] = scale[c] / std::sqrt(var[c] + eps);
    p->shift[c] = beta[c] - mean[c] * p->s[c];
  }
  return true;
}

namespace {

bool hasEpilogue(const ir::Node& n) { return n.attrs.has("kiln_act") || (n.op == "Conv" && n.inputs.size() > 3 && n.inputs[3]); }

bool foldIntoConv(ir::Graph& g, ir::Node* conv, ir::Node* bn) {
  ir::Value* w = conv->inputs[1];
  ir::Value* b = conv->inputs.size() > 2 ? conv->inputs[2] : nullptr;
  if (!w->isConstant() || (b && !b->isConstant()) || w->shape.empty()) return false;
  const int64_t M = w->shape[0];
  BnParams p;
  if (M <= 0 || !bnParams(*bn, M, &p)) return false;
  auto wv = constantValues(w);
  const size_t per = wv.size() / static_cast<size_t>(M);
  for (size_t m = 0; m < static_cast<size_t>(M); ++m)
    for (size_t i = 0; i < per; ++i) wv[m * per + i] *= p.s[m];
  std::vector<double> bv = b ? constantValues(b) : std::vector<double>(static_cast<size_t>(M), 0.0);
  for (size_t m = 0; m < bv.size(); ++m) bv[m] = bv[m] * p.s[m] + p.shift[m];
  conv->inputs.resize(std::max<size_t>(conv->inputs.size(), 3));
  conv->inputs[1] = addConstant(g, w->name + "_bnfold", w->dtype, w->shape, wv);
  conv->inputs[2] = addConstant(g, conv->name + "_bias_bnfold", w->dtype, {M}, bv);
  takeOverOutput(g, conv, bn);
  return true;
}

//! Gemm / MatMul with a constant 2-D weight and a 2-D output: scales the weight's output columns.
bool foldIntoMatrix(ir::Graph& g, ir::Node* mm, ir::Node* bn) {
  ir::Value* w = mm->inputs[1];
  ir::Value* out = mm->outputs[0];
  if (!w->isConstant() || w->shape.size() != 2 || out->shape.size() != 2) return false;
  if (mm->op == "MatMul" && (mm->inputs[0]->shape.size() != 2 || mm->attrs.getInt("vecA", 0) || mm->attrs.getInt("vecB", 0)))
    return false;
  const bool transB = mm->attrs.getInt("transB", 0) != 0;
  const int64_t K = transB ? w->shape[1] : w->shape[0], N = transB ? w->shape[0] : w->shape[1];
  BnParams p;
  if (N <= 0 || !bnParams(*bn, N, &p)) return false;
  // existing bias as a per-column vector (Gemm C must broadcast from [N]: shape [], [1], [N], [1,N], [1,1])
  std::vector<double> bias(static_cast<size_t>(N), 0.0);
  double alpha = 1, beta = 1;
  ir::Value* c = mm->inputs.size() > 2 ? mm->inputs[2] : nullptr;
  if (mm->op == "Gemm") {
    alpha = mm->attrs.getFloat("alpha", 1.0);
    beta = mm->attrs.getFloat("beta", 1.0);
  }
  if (c) {
    if (!c->isConstant()) return false;
    const ir::Shape& cs = c->shape;
    int64_t cn = c->constant->numel();
    bool rowVector = cs.size() <= 2 && (cs.size() < 2 || cs[0] == 1) && (cn == 1 || cn == N);
    if (!rowVector) return false;
    auto cv = constantValues(c);
    for (size_t j = 0; j < bias.size(); ++j) bias[j] = beta * cv[cn == 1 ? 0 : j];
  }
  auto wv = constantValues(w);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      size_t i = static_cast<size_t>(transB ? n * K + k : k * N + n);
      wv[i] *= alpha * p.s[static_cast<size_t>(n)];
    }
  for (size_t j = 0; j < bias.size(); ++j) bias[j] = bias[j] * p.s[j] + p.shift[j];
  mm->inputs.resize(3);
  mm->inputs[1] = addConstant(g, w->name + "_bnfold", w->dtype, w->shape, wv);
  mm->inputs[2] = addConstant(g, mm->name + "_bias_bnfold", w->dtype, {N}, bias);
  if (mm->op == "Gemm") {
    mm->attrs.setFloat("alpha", 1.0);
    mm->attrs.setFloat("beta", 1.0);
  }
  takeOverOutput(g, mm, bn);
  return true;
}

bool foldOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* bn = np.get();
    if (bn->op != "BatchNormalization" || bn->inputs.empty() || !bn->inputs[0]) continue;
    ir::Value* x = bn->inputs[0];
    ir::Node* p = x->producer;
    if (!p || uses.sole(x) != bn || p->outputs.size() != 1 || hasEpilogue(*p)) continue;
    if (!isFloat(x->dtype) || bn->outputs[0]->dtype != x->dtype) continue;
    if (p->inputs.size() < 2 || !p->inputs[1] || p->inputs[1]->dtype != x->dtype) continue;
    if (p->op == "Conv" && foldIntoConv(g, p, bn)) return true;
    if ((p->op == "Gemm" || p->op == "MatMul") && foldIntoMatrix(g, p, bn)) return true;
  }
  return false;
}

}  // namespace

bool foldBatchNorm(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (foldOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
