// Control flow. If whose condition is known at import time (a constant, or computed from constants and
// static shapes, e.g. Size(input) == 4 in the expanded AffineGrid function) is replaced by its taken
// branch, imported inline in a nested scope (names of the enclosing graph are visible; the branch's own
// names do not leak out). An If with a condition known only at run time becomes the IR op If with both
// branches as nested graphs; Scan (opset 9+) becomes the IR op Scan with its body as a nested graph
// (src/ir/ops/scan.cpp). Enclosing-scope values a subgraph reads are copied in when they are constants,
// else they become extra (captured) inputs of the node and of the nested graph.
#include <map>
#include <set>
#include <string>

#include "backends/cpu/evaluate.h"
#include "ir/op_registry.h"
#include "onnx/importer.h"

namespace kiln::onnx {

namespace {

constexpr int kMaxInlineDepth = 32;
thread_local int gInlineDepth = 0;

//! The contents of `v` if inference can compute them from constants and static shapes, else nullptr.
std::shared_ptr<const ir::TensorData> knownContents(ImportContext& ctx, ir::Value* v) {
  if (v->isConstant()) return v->constant;
  detail::NetworkImpl& net = ctx.network();
  if (!ctx.shapeOf(v)) return nullptr;  // infers (and sorts) the graph; nullptr if v's producer failed
  ir::Graph& g = net.graph();
  std::vector<ir::ValueInfo> infos(g.values.size());
  for (const auto& val : g.values) {
    auto& i = infos[static_cast<size_t>(val->id)];
    i.dtype = val->dtype;
    i.shape = val->shape;
    if (val->isConstant()) i.data = val->constant;
  }
  const ir::OpRegistry& reg = ir::defaultOpRegistry();
  for (auto& n : g.nodes) {
    try {
      ir::inferNode(reg, *n, infos);
      ir::evaluateKnownOutputs(*n, infos, cpu::referenceEvaluator());
    } catch (const Error&) {
      // leaves this node's outputs unknown
    }
    bool producesV = false;
    for (ir::Value* o : n->outputs) producesV = producesV || o == v;
    if (producesV) break;
  }
  return infos[static_cast<size_t>(v->id)].data;
}

struct DepthGuard {
  DepthGuard() { ++gInlineDepth; }
  ~DepthGuard() { --gInlineDepth; }
};

//! Imports `nodes` into `net` in `scope` (names visible to them; their outputs are added to it).
void importNodes(ImportContext& ctx, detail::NetworkImpl& net, std::map<std::string, ir::Value*>& scope,
                 const std::vector<Node>& nodes) {
  if (gInlineDepth >= kMaxInlineDepth) ctx.unsupported("subgraphs nested too deeply");
  DepthGuard guard;
  const ImporterRegistry& reg = defaultImporterRegistry();
  const std::string prefix = ctx.node().name + "/";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    std::string domain = n.domain == "ai.onnx" ? "" : n.domain;
    if (!domain.empty()) ctx.unsupported("node '" + n.name + "' of domain '" + domain + "' in a subgraph");
    for (const std::string& in : n.inputs)
      if (!in.empty() && !scope.count(in))
        ctx.unsupported("subgraph node '" + n.name + "' reads '" + in + "', which is not defined");
    std::string why;
    const Importer* imp = reg.find(domain, n.opType, ctx.opset(), &why);
    if (!imp) ctx.unsupported("subgraph node '" + n.name + "' (" + n.opType + "): " + why);
    Node named = n;
    named.name = prefix + (n.name.empty() ? n.opType + "_" + std::to_string(i) : n.name);
    ImportContext sub(net, scope, named, ctx.opset());
    try {
      imp->fn(sub);
    } catch (const Error& e) {
      throw Error(e.code(), "in subgraph node '" + named.name + "' (" + n.opType + "): " + e.message());
    }
  }
}

std::vector<ir::Value*> outputsOf(ImportContext& ctx, const Graph& g, const std::map<std::string, ir::Value*>& scope) {
  std::vector<ir::Value*> outs;
  for (const ValueInfo& o : g.outputs) {
    auto it = scope.find(o.name);
    if (it == scope.end()) ctx.unsupported("subgraph output '" + o.name + "' is not produced");
    outs.push_back(it->second);
  }
  return outs;
}

//! Imports the nodes of `g` into the network in a nested scope; returns the values of g's outputs.
std::vector<ir::Value*> importInline(ImportContext& ctx, const Graph& g) {
  if (!g.inputs.empty()) ctx.unsupported("an If branch must not have inputs");
  if (!g.sparseInitializers.empty()) ctx.unsupported("sparse initializers in a subgraph are not supported");
  std::map<std::string, ir::Value*> scope = ctx.tensorMap();
  detail::NetworkImpl& net = ctx.network();
  for (const Tensor& t : g.initializers) scope[t.name] = net.addConstantValue(toTensorData(t), t.name);
  importNodes(ctx, net, scope, g.nodes);
  return outputsOf(ctx, g, scope);
}

//! Names a graph (and the graphs nested in its nodes) reads from enclosing scopes, in first-use order.
void collectFreeNames(const Graph& g, std::set<std::string> defined, std::vector<std::string>& out,
                      std::set<std::string>& seen) {
  for (const ValueInfo& v : g.inputs) defined.insert(v.name);
  for (const Tensor& t : g.initializers) defined.insert(t.name);
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) out.push_back(name);
  };
  for (const Node& n : g.nodes) {
    for (const std::string& in : n.inputs) use(in);
    for (const Attribute& a : n.attributes) {
      if (a.g) collectFreeNames(*a.g, defined, out, seen);
      for (const auto& sg : a.graphs)
        if (sg) collectFreeNames(*sg, defined, out, seen);
    }
    for (const std::string& o : n.outputs)
      if (!o.empty()) defined.insert(o);
  }
  for (const ValueInfo& o : g.outputs) use(o.name);
}

struct BodyInput {
  std::string name;
  DataType type;
  ir::Shape shape;
};

//! The names of enclosing-scope values that `graphs` read and that are not constants (union, first-use order).
std::vector<std::string> capturedNamesOf(ImportContext& ctx, const std::vector<const Graph*>& graphs) {
  std::vector<std::string> free, out;
  std::set<std::string> seen;
  for (const Graph* g : graphs) collectFreeNames(*g, {}, free, seen);
  std::map<std::string, ir::Value*>& outer = ctx.tensorMap();
  for (const std::string& name : free) {
    auto it = outer.find(name);
    if (it == outer.end()) ctx.unsupported("a subgraph reads '" + name + "', which is not defined");
    if (!it->second->isConstant()) out.push_back(name);
  }
  return out;
}

//! Builds a nested IR graph from `g`: its inputs are `explicitIns` and then the enclosing-scope values named
//! in `captured` (in that order); enclosing-scope constants it reads are copied into it.
std::shared_ptr<const ir::Graph> buildBody(ImportContext& ctx, const Graph& g, const std::vector<BodyInput>& explicitIns,
                                           const std::vector<std::string>& captured) {
  if (!g.sparseInitializers.empty()) ctx.unsupported("sparse initializers in a subgraph are not supported");
  detail::NetworkImpl sub(ctx.network().logger());
  std::map<std::string, ir::Value*> scope;
  auto addInput = [&](const std::string& name, DataType t, const ir::Shape& s) {
    ir::Value* bv = sub.graph().addValue(name, t, s);
    sub.graph().inputs.push_back(bv);
    scope[name] = bv;
  };
  for (const BodyInput& in : explicitIns) addInput(in.name, in.type, in.shape);
  std::map<std::string, ir::Value*>& outer = ctx.tensorMap();
  for (const std::string& name : captured) {
    ir::Value* ov = outer.at(name);
    const ir::Shape* sp = ctx.shapeOf(ov);
    if (!sp) ctx.unsupported("the shape of '" + name + "' is unknown");
    addInput(name, ctx.typeOf(ov), *sp);
  }
  for (const Tensor& t : g.initializers) scope[t.name] = sub.addConstantValue(toTensorData(t), t.name);
  std::vector<std::string> free;
  std::set<std::string> seen;
  collectFreeNames(g, {}, free, seen);
  for (const std::string& name : free) {
    if (scope.count(name)) continue;
    auto it = outer.find(name);
    if (it == outer.end() || !it->second->isConstant()) ctx.unsupported("a subgraph reads '" + name + "', which is not defined");
    scope[name] = sub.addConstantValue(it->second->constant, name);
  }
  importNodes(ctx, sub, scope, g.nodes);
  sub.graph().outputs = outputsOf(ctx, g, scope);
  if (!sub.inferShapes()) ctx.unsupported("a subgraph does not pass shape inference");
  return std::shared_ptr<const ir::Graph>(sub.graph().clone());
}

std::vector<ir::Value*> valuesOf(ImportContext& ctx, const std::vector<std::string>& names) {
  std::vector<ir::Value*> out;
  for (const std::string& n : names) out.push_back(ctx.tensorMap().at(n));
  return out;
}

//! Adds a Scan node (opset 9+ semantics) for body `g` on `ins`; values of the enclosing graph the body reads
//! are constants inside it when they are constants, otherwise extra (captured) inputs of the node.
ir::Node* addScan(ImportContext& ctx, const Graph& g, std::vector<ir::Value*> ins, int64_t M, ir::Attributes attrs,
                  bool bind) {
  const int64_t nin = static_cast<int64_t>(ins.size());
  if (M < 1 || M > nin) ctx.unsupported("num_scan_inputs out of range");
  const int64_t N = nin - M;
  if (static_cast<int64_t>(g.inputs.size()) != nin) ctx.unsupported("the body's inputs do not match the Scan's inputs");
  std::vector<int64_t> inAxes = attrs.getInts("scan_input_axes");
  if (inAxes.empty()) inAxes.assign(static_cast<size_t>(M), 0);
  if (static_cast<int64_t>(inAxes.size()) != M) ctx.unsupported("scan_input_axes must have num_scan_inputs entries");
  std::vector<BodyInput> explicitIns;
  for (int64_t i = 0; i < nin; ++i) {
    ir::Value* v = ins[static_cast<size_t>(i)];
    if (!v) ctx.unsupported("Scan inputs must not be omitted");
    const ir::Shape* sp = ctx.shapeOf(v);
    if (!sp) ctx.unsupported("the shape of Scan input " + std::to_string(i) + " is unknown");
    ir::Shape s = *sp;
    if (i >= N) {
      int64_t r = static_cast<int64_t>(s.size()), a = inAxes[static_cast<size_t>(i - N)];
      if (a < -r || a >= r) ctx.unsupported("scan_input_axes entry out of range");
      s.erase(s.begin() + (a < 0 ? a + r : a));
    }
    explicitIns.push_back({g.inputs[static_cast<size_t>(i)].name, ctx.typeOf(v), s});
  }
  std::vector<std::string> captured = capturedNamesOf(ctx, {&g});
  attrs.setInt("num_scan_inputs", M);
  attrs.setInt("num_captured", static_cast<int64_t>(captured.size()));
  attrs.setGraph("body", buildBody(ctx, g, explicitIns, captured));
  std::vector<ir::Value*> cv = valuesOf(ctx, captured);
  ins.insert(ins.end(), cv.begin(), cv.end());
  return ctx.addNode("Scan", ins, static_cast<int>(ctx.node().outputs.size()), attrs, bind);
}

//! Scan: opset 9+ maps to the IR op; opset 8 (batch axis first, no sequence_lens) is one opset-9 Scan per
//! batch entry (static batch size), its outputs concatenated.
void importScan(ImportContext& ctx) {
  const Attribute* ba = ctx.attr("body");
  if (!ba || !ba->g) ctx.unsupported("Scan has no body graph");
  const int64_t M = ctx.attrInt("num_scan_inputs", -1);
  ir::Attributes attrs;
  if (ctx.opset() >= 9) {
    for (const char* name : {"scan_input_axes", "scan_output_axes", "scan_input_directions", "scan_output_directions"})
      if (ctx.attr(name)) attrs.setInts(name, ctx.attrInts(name));
    addScan(ctx, *ba->g, ctx.inputs(), M, attrs, true);
    return;
  }
  if (ctx.input(0)) ctx.unsupported("Scan (opset 8) with sequence_lens is not supported");
  std::vector<ir::Value*> ins = ctx.inputs();
  ins.erase(ins.begin());
  if (ins.empty()) ctx.unsupported("Scan has no inputs");
  if (ctx.attr("directions")) attrs.setInts("scan_input_directions", ctx.attrInts("directions"));
  const ir::Shape* s0 = ctx.shapeOf(ins[0]);
  if (!s0 || s0->empty() || (*s0)[0] < 1 || (*s0)[0] > 64) ctx.unsupported("Scan (opset 8) needs a static batch size (1..64)");
  const int64_t B = (*s0)[0];
  const size_t nout = ctx.node().outputs.size();
  std::vector<std::vector<ir::Value*>> parts(nout);
  ir::Attributes axis0;
  axis0.setInt("axis", 0);
  for (int64_t b = 0; b < B; ++b) {
    ir::Value* idx = ctx.constant(ir::makeInt64Tensor({b}, {}), "batch_index");
    std::vector<ir::Value*> per;
    for (ir::Value* v : ins) {
      if (!v) ctx.unsupported("Scan inputs must not be omitted");
      const ir::Shape* s = ctx.shapeOf(v);
      if (!s || s->empty() || (*s)[0] != B) ctx.unsupported("every Scan (opset 8) input must have the batch size first");
      per.push_back(ctx.addNode("Gather", {v, idx}, 1, axis0, false)->outputs[0]);
    }
    ir::Node* n = addScan(ctx, *ba->g, per, M, attrs, false);
    for (size_t j = 0; j < nout; ++j)
      parts[j].push_back(ctx.addNode("Unsqueeze", {n->outputs[j], ctx.int64Constant({0}, "axes")}, 1, {}, false)->outputs[0]);
  }
  for (size_t j = 0; j < nout; ++j) {
    ir::Node* cat = ctx.addNode("Concat", parts[j], 1, axis0, false);
    ctx.bindOutput(j, cat->outputs[0]);
  }
}

void importIf(ImportContext& ctx) {
  ir::Value* cond = ctx.input(0);
  if (!cond) ctx.unsupported("If needs its condition");
  auto data = knownContents(ctx, cond);
  if (!data) {
    // run-time condition: the IR op If with both branches as nested graphs
    const Attribute* tb = ctx.attr("then_branch");
    const Attribute* eb = ctx.attr("else_branch");
    if (!tb || !tb->g || !eb || !eb->g) ctx.unsupported("If needs then_branch and else_branch graphs");
    if (!tb->g->inputs.empty() || !eb->g->inputs.empty()) ctx.unsupported("an If branch must not have inputs");
    std::vector<std::string> captured = capturedNamesOf(ctx, {tb->g.get(), eb->g.get()});
    ir::Attributes attrs;
    attrs.setGraph("then_branch", buildBody(ctx, *tb->g, {}, captured));
    attrs.setGraph("else_branch", buildBody(ctx, *eb->g, {}, captured));
    std::vector<ir::Value*> ins{cond};
    std::vector<ir::Value*> cv = valuesOf(ctx, captured);
    ins.insert(ins.end(), cv.begin(), cv.end());
    ctx.addNode("If", ins, static_cast<int>(ctx.node().outputs.size()), attrs);
    return;
  }
  if (data->numel() != 1) ctx.unsupported("the If condition must have exactly one element");
  const bool taken = data->intAt(0) != 0;
  const char* name = taken ? "then_branch" : "else_branch";
  const Attribute* br = ctx.attr(name);
  if (!br || !br->g) ctx.unsupported(std::string("If has no ") + name + " graph");
  std::vector<ir::Value*> outs = importInline(ctx, *br->g);
  if (outs.size() != ctx.node().outputs.size())
    ctx.unsupported(std::string(name) + " has " + std::to_string(outs.size()) + " outputs, the If node " +
                    std::to_string(ctx.node().outputs.size()));
  for (size_t i = 0; i < outs.size(); ++i) {
    // through an Identity: the branch may return an enclosing-scope value, which keeps its own name
    ir::Node* id = ctx.addNode("Identity", {outs[i]}, 1, {}, false);
    ctx.bindOutput(i, id->outputs[0]);
  }
}

}  // namespace

void registerControlFlowImporters(ImporterRegistry& reg) {
  if (ir::defaultOpRegistry().find("Identity")) reg.add({"", "If", 1, kMaxKnownOpset, importIf});
  if (ir::defaultOpRegistry().find("Scan")) reg.add({"", "Scan", 8, kMaxKnownOpset, importScan});
}

}  // namespace kiln::onnx
