// fuse-skip-layernorm: Add(a, b) -> LayerNormalization becomes SkipLayerNormalization(a, b, scale, bias)
// (the residual add of transformer blocks, done in the normalization kernel). Conditions: a and b have the
// Add's (fully known) shape and type, the LayerNormalization has no statistics outputs, its scale and bias
// cover the normalized dims exactly. If the sum has other readers (or is a graph output), the fused node
// also produces it as its second output.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool fullyKnown(const ir::Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

//! The parameter's shape without leading 1s equals the normalized shape (also without leading 1s).
bool coversNorm(const ir::Value* p, const ir::Shape& x, int64_t axis) {
  if (!p || !fullyKnown(p->shape)) return false;
  int64_t pn = 1, rn = 1;
  for (int64_t d : p->shape) pn *= d;
  for (size_t i = static_cast<size_t>(axis); i < x.size(); ++i) rn *= x[i];
  if (pn != rn) return false;
  // same element count; the trailing dims must match the normalized dims (ignoring 1s in front)
  auto strip = [](ir::Shape s) {
    size_t k = 0;
    while (k < s.size() && s[k] == 1) ++k;
    return ir::Shape(s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
  };
  return strip(p->shape) == strip(ir::Shape(x.begin() + axis, x.end()));
}

bool fuseOne(ir::Graph& g) {
  Uses uses(g);
  for (auto& np : g.nodes) {
    ir::Node* ln = np.get();
    if (ln->op != "LayerNormalization" || ln->outputs.size() != 1 || ln->inputs.size() < 2) continue;
    ir::Value* x = ln->inputs[0];
    ir::Node* add = x ? x->producer : nullptr;
    if (!add || add->op != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1 || !add->attrs.all().empty())
      continue;
    ir::Value *a = add->inputs[0], *b = add->inputs[1];
    if (!a || !b || !isFloat(x->dtype) || !fullyKnown(x->shape) || x->shape.empty()) continue;
    if (a->dtype != x->dtype || b->dtype != x->dtype || a->shape != x->shape || b->shape != x->shape) continue;
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    int64_t axis = ln->attrs.getInt("axis", -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) continue;
    ir::Value* scale = ln->inputs[1];
    ir::Value* bias = ln->inputs.size() > 2 ? ln->inputs[2] : nullptr;
    if (!coversNorm(scale, x->shape, axis) || (bias && !coversNorm(bias, x->shape, axis))) continue;
    if (scale->dtype != x->dtype || (bias && bias->dtype != x->dtype)) continue;
    const bool sumUsed = uses.sole(x) != ln;
    // The LayerNormalization node becomes the fused one (it keeps its name and output); the sum, if still
    // needed, moves to its second output. Readers of the sum that came before it are reordered below.
    ln->op = "SkipLayerNormalization";
    ln->inputs = {a, b, scale};
    if (bias) ln->inputs.push_back(bias);
    ln->attrs.setInt("axis", axis - rank);
    std::vector<ir::Node*> gone{add};
    appendOrigins(*ln, *add);
    // keep the Add's origins before the LayerNormalization's (the order they ran in)
    std::vector<std::string> origins(ln->origins.end() - static_cast<std::ptrdiff_t>(add->origins.empty() ? 1 : add->origins.size()),
                                     ln->origins.end());
    ln->origins.erase(ln->origins.end() - static_cast<std::ptrdiff_t>(origins.size()), ln->origins.end());
    origins.insert(origins.end(), ln->origins.begin(), ln->origins.end());
    ln->origins = std::move(origins);
    g.removeNode(add);
    if (sumUsed) {
      ln->outputs.push_back(x);
      x->producer = ln;
      x->producerOutput = 1;
      g.topologicalSort();
    }
    return true;
  }
  return false;
}

}  // namespace

bool fuseSkipLayerNorm(ir::Graph& graph, PassContext&) {
  bool changed = false;
  while (fuseOne(graph)) changed = true;
  if (changed) graph.compact();
  return changed;
}

}  // namespace kiln::passes
