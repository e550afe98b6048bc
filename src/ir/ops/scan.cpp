// Op schema of Scan (ONNX opset 9+ semantics) with its body as a nested graph attribute. The IR node's
// inputs are the N initial states, the M scan inputs and then C captured values (values of the enclosing
// graph the body reads: kiln attribute `num_captured`); the body graph's inputs are the N states, the M
// per-iteration slices and the C captured values, its outputs the N new states and K per-iteration scan
// outputs. The node's outputs are the N final states and the K stacked scan outputs. See docs/ir/control.md.
#include "ir/ops/scan_common.h"

#include "backends/cpu/evaluate.h"  // folds shape computations inside bodies (as NetworkImpl::inferShapes does)
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

void inferScan(InferContext& c) {
  scan::Layout l;
  try {
    l = scan::layoutOf(c.node());
  } catch (const Error& e) {
    c.fail(e.message());
  }
  const Graph& body = *l.body;
  std::vector<ValueInfo> infos(body.values.size());
  int64_t L = -1;
  for (int64_t i = 0; i < l.N + l.M + l.C; ++i) {
    const int ii = static_cast<int>(i);
    ValueInfo vi;
    vi.dtype = c.inputType(ii);
    vi.shape = c.inputShape(ii);
    if (i >= l.N && i < l.N + l.M) {
      const int64_t k = i - l.N;
      const int64_t rank = static_cast<int64_t>(vi.shape.size());
      if (rank < 1) c.fail("Scan: scan input " + std::to_string(k) + " must have rank >= 1");
      int64_t axis = c.normalizeAxis(l.inAxes[static_cast<size_t>(k)], rank);
      int64_t len = vi.shape[static_cast<size_t>(axis)];
      if (len >= 0 && L >= 0 && len != L) c.fail("Scan: the scan inputs have different lengths");
      if (len >= 0) L = len;
      vi.shape.erase(vi.shape.begin() + axis);
    }
    // captured values are loop-invariant: their known contents (shape computations) help the body's inference
    const TensorData* d = c.inputData(ii);
    if (d && i >= l.N + l.M && d->numel() <= kMaxInferredElements)
      vi.data = makeTensor(d->dtype, d->shape, d->raw(), d->byteSize());
    infos[static_cast<size_t>(body.inputs[static_cast<size_t>(i)]->id)] = vi;
  }
  try {
    inferGraph(defaultOpRegistry(), body, infos, &cpu::referenceEvaluator());
  } catch (const Error& e) {
    c.fail("Scan body: " + e.message());
  }
  for (int64_t j = 0; j < l.N + l.K; ++j) {
    const ValueInfo& o = infos[static_cast<size_t>(body.outputs[static_cast<size_t>(j)]->id)];
    if (j < l.N) {
      if (o.dtype != c.inputType(static_cast<int>(j))) c.fail("Scan: body state output " + std::to_string(j) + " changes the type");
      c.setOutput(static_cast<int>(j), o.dtype, o.shape);
    } else {
      Shape s = o.shape;
      const int64_t k = j - l.N;
      int64_t axis = c.normalizeAxis(l.outAxes[static_cast<size_t>(k)], static_cast<int64_t>(s.size()) + 1);
      s.insert(s.begin() + axis, L);
      c.setOutput(static_cast<int>(j), o.dtype, s);
    }
  }
}

//! A branch graph of If: `name` must be a graph whose inputs match the node's captured inputs.
const Graph& branchOf(InferContext& c, const char* name) {
  const Attr* a = c.attrs().find(name);
  if (!a || a->kind != Attr::Kind::kGRAPH || !a->graph) c.fail(std::string("If: the ") + name + " graph is missing");
  const Graph& g = *a->graph;
  try {
    g.verify();
  } catch (const Error& e) {
    c.fail(std::string("If: ") + name + ": " + e.message());
  }
  if (static_cast<int>(g.inputs.size()) != c.numInputs() - 1 || static_cast<int>(g.outputs.size()) != c.numOutputs())
    c.fail(std::string("If: ") + name + " does not match the node's inputs/outputs");
  for (const Value* v : g.inputs)
    if (!v || v->producer || v->isConstant()) c.fail(std::string("If: ") + name + " has a computed input");
  for (const Value* v : g.outputs)
    if (!v) c.fail(std::string("If: ") + name + " has a missing output");
  return g;
}

std::vector<ValueInfo> inferBranch(InferContext& c, const Graph& g, const char* name) {
  std::vector<ValueInfo> infos(g.values.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    ValueInfo& vi = infos[static_cast<size_t>(g.inputs[i]->id)];
    vi.dtype = c.inputType(static_cast<int>(i) + 1);
    vi.shape = c.inputShape(static_cast<int>(i) + 1);
    const TensorData* d = c.inputData(static_cast<int>(i) + 1);
    if (d && d->numel() <= kMaxInferredElements) vi.data = makeTensor(d->dtype, d->shape, d->raw(), d->byteSize());
  }
  try {
    inferGraph(defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());
  } catch (const Error& e) {
    c.fail(std::string("If ") + name + ": " + e.message());
  }
  std::vector<ValueInfo> outs;
  for (const Value* v : g.outputs) outs.push_back(infos[static_cast<size_t>(v->id)]);
  return outs;
}

//! If(cond, captured...) with graphs then_branch / else_branch (inputs: the captured values). The outputs'
//! shapes are the taken branch's when cond is known, else the extents both branches agree on (-1 elsewhere).
void inferIf(InferContext& c) {
  bool known = true;
  for (int64_t d : c.inputShape(0)) known = known && d >= 0;
  if (known && numElements(c.inputShape(0)) != 1) c.fail("If: the condition must have one element");
  for (int i = 1; i < c.numInputs(); ++i)
    if (!c.hasInput(i)) c.fail("If: captured input " + std::to_string(i) + " is missing");
  const Graph& tg = branchOf(c, "then_branch");
  const Graph& eg = branchOf(c, "else_branch");
  std::vector<ValueInfo> to = inferBranch(c, tg, "then_branch"), eo = inferBranch(c, eg, "else_branch");
  const TensorData* cond = c.inputData(0);
  for (int j = 0; j < c.numOutputs(); ++j) {
    const ValueInfo& a = to[static_cast<size_t>(j)];
    const ValueInfo& b = eo[static_cast<size_t>(j)];
    if (a.dtype != b.dtype) c.fail("If: the branches' output " + std::to_string(j) + " types differ");
    if (cond && cond->numel() == 1) {
      c.setOutput(j, a.dtype, cond->intAt(0) != 0 ? a.shape : b.shape);
      continue;
    }
    if (a.shape.size() != b.shape.size()) c.fail("If: the branches' output " + std::to_string(j) + " ranks differ");
    Shape s = a.shape;
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d] != b.shape[d]) s[d] = -1;
    c.setOutput(j, a.dtype, s);
  }
}

}  // namespace

void registerScanOps(OpRegistry& reg) {
  reg.add({"If", 1, -1, 1, 1 << 20, inferIf,
           "If(cond, captured...) with graphs then_branch / else_branch whose inputs are the captured values"});
  reg.add({"Scan", 1, -1, 1, 1 << 20, inferScan,
           "Scan(states..., scan_inputs..., captured...) with graph `body`; num_scan_inputs, num_captured, "
           "scan_input/output_axes, scan_input/output_directions"});
}

}  // namespace kiln::ir
