// fuse-skip-layernorm, fuse-attention and pack-attention-qkv (GPU passes): the graph after the pass, and the
// outputs of the graph with and without it through the CPU reference kernels (which checks the reference
// kernels of SkipLayerNormalization and FusedAttention against the unfused ops); CPU builds keep the unfused
// ops; shape inference errors of the two ops.
#include <limits>

#include "backends/cpu/reference_run.h"
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

struct RefComparison {
  std::unique_ptr<ir::Graph> before, after;  //!< after the default passes; then after `passes` too
  double relError{1};
};

//! Imports the model, runs the default passes (graph "before"), then `passes` to their fixpoint (graph
//! "after"), runs both through the CPU reference kernels and compares every graph output.
RefComparison refCompare(const std::string& bytes, const std::vector<passes::Pass>& passList,
                         const std::map<std::string, HostTensor>& inputs) {
  RefComparison c;
  CaptureLogger logger;
  passes::PassContext ctx{logger, ir::defaultOpRegistry()};
  c.before = importGraph(bytes);
  passes::runToFixpoint(*c.before, passes::defaultPasses(), ctx);
  c.after = c.before->clone();
  passes::runToFixpoint(*c.after, passList, ctx);
  c.after->verify();
  std::vector<cpu::ReferenceInput> ins;
  for (const auto& [name, t] : inputs) {
    cpu::ReferenceInput r;
    r.name = name;
    r.shape.assign(t.dims.d, t.dims.d + t.dims.nbDims);
    r.data = t.data.data();
    r.bytes = t.data.size() * sizeof(float);
    ins.push_back(r);
  }
  auto ra = cpu::runReference(*c.before, ins, false);
  auto rb = cpu::runReference(*c.after, ins, false);
  c.relError = 0;
  for (const ir::Value* o : c.before->outputs) {
    const ir::TensorData* x = ra.find(o->name);
    const ir::TensorData* y = rb.find(o->name);
    EXPECT_TRUE(x && y) << o->name;
    if (!x || !y) return c;
    std::vector<float> a(x->as<float>(), x->as<float>() + x->numel()), b(y->as<float>(), y->as<float>() + y->numel());
    c.relError = std::max(c.relError, relError(b, a));
  }
  std::printf("    %zu -> %zu nodes, rel. error %.3g\n", c.before->nodes.size(), c.after->nodes.size(), c.relError);
  return c;
}

std::vector<passes::Pass> gpuOnly(std::initializer_list<const char*> names) {
  std::vector<passes::Pass> out;
  for (const passes::Pass& p : passes::gpuPasses())
    for (const char* n : names)
      if (std::string(p.name) == n) out.push_back(p);
  return out;
}

GraphSpec skipLn(bool sumIsOutput, bool bias, bool broadcastSkip = false) {
  GraphSpec g;
  g.inputs = {valueInfo("a", FLOAT, {"2", "3", "16"}),
              valueInfo("b", FLOAT, broadcastSkip ? std::vector<std::string>{"16"} : std::vector<std::string>{"2", "3", "16"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "3", "16"})};
  if (sumIsOutput) g.outputs.push_back(valueInfo("s", FLOAT, {"2", "3", "16"}));
  g.initializers = {randomInit("scale", {16}, 1, 0.5f, 1.5f), randomInit("bias", {16}, 2)};
  g.nodes = {node("Add", {"a", "b"}, {"s"}, "add"),
             node("LayerNormalization", bias ? std::vector<std::string>{"s", "scale", "bias"} : std::vector<std::string>{"s", "scale"},
                  {"y"}, "ln", {attrInt("axis", -1), attrFloat("epsilon", 1e-3f)})};
  return g;
}

}  // namespace

TEST(FuseSkipLayerNorm, AddThenLayerNormBecomesOneNode) {
  for (bool sumOut : {false, true})
    for (bool bias : {false, true}) {
      SCOPED_TRACE(std::string(sumOut ? "sum is an output" : "") + (bias ? " bias" : ""));
      std::string bytes = modelBytes(skipLn(sumOut, bias));
      auto g = importGraph(bytes);
      EXPECT_TRUE(runPass(*g, passes::fuseSkipLayerNorm));
      ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"SkipLayerNormalization"}));
      const ir::Node& n = *g->nodes[0];
      EXPECT_EQ(n.inputs.size(), bias ? 4u : 3u);
      EXPECT_EQ(n.inputs[0]->name, "a");
      EXPECT_EQ(n.inputs[1]->name, "b");
      EXPECT_EQ(n.outputs.size(), sumOut ? 2u : 1u);
      EXPECT_EQ(n.outputs[0]->name, "y");
      if (sumOut) EXPECT_EQ(n.outputs[1]->name, "s");
      EXPECT_NEAR(n.attrs.getFloat("epsilon", 0), 1e-3, 1e-9);
      EXPECT_EQ(n.origins, (std::vector<std::string>{"add", "ln"}));
      auto c = refCompare(bytes, gpuOnly({"fuse-skip-layernorm"}),
                          {{"a", randomInput({2, 3, 16}, 3, -2.f, 2.f)}, {"b", randomInput({2, 3, 16}, 4, -1.f, 3.f)}});
      EXPECT_EQ(countOp(*c.after, "SkipLayerNormalization"), 1);
      EXPECT_EQ(countOp(*c.after, "LayerNormalization"), 0);
      EXPECT_LT(c.relError, 1e-5);
    }
}

TEST(FuseSkipLayerNorm, SumReadElsewhereIsKeptAndOrdered) {
  // s is also read by a node placed before the LayerNormalization
  GraphSpec g = skipLn(false, true);
  g.outputs.push_back(valueInfo("r", FLOAT, {"2", "3", "16"}));
  g.nodes.insert(g.nodes.begin() + 1, node("Relu", {"s"}, {"r"}, "relu"));
  std::string bytes = modelBytes(g);
  auto gr = importGraph(bytes);
  EXPECT_TRUE(runPass(*gr, passes::fuseSkipLayerNorm));
  ASSERT_EQ(opsOf(*gr), (std::vector<std::string>{"SkipLayerNormalization", "Relu"}));
  EXPECT_EQ(gr->nodes[0]->outputs.size(), 2u);
  auto c = refCompare(bytes, gpuOnly({"fuse-skip-layernorm"}),
                      {{"a", randomInput({2, 3, 16}, 5)}, {"b", randomInput({2, 3, 16}, 6)}});
  EXPECT_LT(c.relError, 1e-5);
}

TEST(FuseSkipLayerNorm, BroadcastAddAndStatisticsStay) {
  auto g1 = importGraph(modelBytes(skipLn(false, true, true)));
  EXPECT_FALSE(runPass(*g1, passes::fuseSkipLayerNorm));
  GraphSpec s = skipLn(false, true);
  s.nodes[1] = node("LayerNormalization", {"s", "scale", "bias"}, {"y", "mean"}, "ln", {attrInt("axis", -1)});
  s.outputs.push_back(valueInfo("mean", FLOAT, {"2", "3", "1"}));
  auto g2 = importGraph(modelBytes(s));
  EXPECT_FALSE(runPass(*g2, passes::fuseSkipLayerNorm));
}

namespace {

constexpr int64_t kB = 2, kS = 5, kH = 3, kD = 8;

struct AttnOpts {
  bool guard{true};          // Where(IsNaN(p), 0, p) after the softmax
  bool mask{true};           // Add(scores, mask)
  bool maskedRow{false};     // one query row fully -inf
  bool scoreDiv{false};      // Div(scores, sqrt(D)) instead of Mul on q and k
  bool vBhsd{false};         // V given as [B,H,S,D] (no transpose), output not transposed back
  int64_t softmaxAxis{-1};
  bool zeroMask{false};       // the constant mask is all zeros (dropped by the pass)
  int projections{0};        // 1: q, k, v = Reshape(x @ W + b) of one input x [B,S,H*D]; 2: k from another input
};

GraphSpec attention(const AttnOpts& o) {
  GraphSpec g;
  const std::vector<std::string> bshd{"2", "5", "3", "8"}, bhsd{"2", "3", "5", "8"};
  g.inputs = {valueInfo("q", FLOAT, bshd), valueInfo("k", FLOAT, bshd), valueInfo("v", FLOAT, o.vBhsd ? bhsd : bshd)};
  g.outputs = {valueInfo("y", FLOAT, o.vBhsd ? bhsd : bshd)};
  const float c = 1.f / std::sqrt(std::sqrt(static_cast<float>(kD)));
  std::vector<float> m = randomFloats(kS * kS, 7, -2.f, 0.f);
  for (int64_t j = 0; j < kS; j += 2) m[static_cast<size_t>(1 * kS + j)] = -std::numeric_limits<float>::infinity();
  if (o.maskedRow)
    for (int64_t j = 0; j < kS; ++j) m[static_cast<size_t>(3 * kS + j)] = -std::numeric_limits<float>::infinity();
  if (o.zeroMask) m.assign(m.size(), 0.f);
  g.initializers = {scalarInit("c1", c), scalarInit("c2", c), scalarInit("sqrtd", std::sqrt(static_cast<float>(kD))),
                    tensorFloats("mask", {1, 1, kS, kS}, m), tensorFloats("zero", {1}, {0.f})};
  auto perm = [](std::vector<int64_t> p) { return std::vector<Msg>{attrInts("perm", p)}; };
  if (o.projections) {
    g.inputs = {valueInfo("x", FLOAT, {"2", "5", "24"})};
    if (o.projections == 2) g.inputs.push_back(valueInfo("x2", FLOAT, {"2", "5", "24"}));
    g.initializers.push_back(tensorInt64s("shape4", {4}, {kB, kS, kH, kD}));
    uint32_t seed = 40;
    for (const char* n : {"q", "k", "v"}) {
      const std::string w = std::string("w") + n, b = std::string("b") + n;
      g.initializers.push_back(randomInit(w, {24, 24}, seed++, -0.5f, 0.5f));
      g.initializers.push_back(randomInit(b, {24}, seed++));
      const std::string in = o.projections == 2 && std::string(n) == "k" ? "x2" : "x";
      g.nodes.push_back(node("MatMul", {in, w}, {std::string("mm") + n}, std::string("mm") + n));
      g.nodes.push_back(node("Add", {std::string("mm") + n, b}, {std::string("ab") + n}, std::string("ab") + n));
      g.nodes.push_back(node("Reshape", {std::string("ab") + n, "shape4"}, {n}, std::string("rs") + n));
    }
  }
  g.nodes.push_back(node("Transpose", {"q"}, {"qt"}, "tq", perm({0, 2, 1, 3})));
  g.nodes.push_back(node("Transpose", {"k"}, {"kt"}, "tk", perm({0, 2, 3, 1})));
  std::string qs = "qt", ks = "kt", vs = "v";
  if (!o.scoreDiv) {
    g.nodes.push_back(node("Mul", {"qt", "c1"}, {"qs"}, "mq"));
    g.nodes.push_back(node("Mul", {"c2", "kt"}, {"ks"}, "mk"));
    qs = "qs", ks = "ks";
  }
  if (!o.vBhsd) {
    g.nodes.push_back(node("Transpose", {"v"}, {"vt"}, "tv", perm({0, 2, 1, 3})));
    vs = "vt";
  }
  g.nodes.push_back(node("MatMul", {qs, ks}, {"sc"}, "qk"));
  std::string s = "sc";
  if (o.scoreDiv) {
    g.nodes.push_back(node("Div", {"sc", "sqrtd"}, {"scd"}, "div"));
    s = "scd";
  }
  if (o.mask) {
    g.nodes.push_back(node("Add", {s, "mask"}, {"scm"}, "addmask"));
    s = "scm";
  }
  g.nodes.push_back(node("Softmax", {s}, {"p"}, "softmax", {attrInt("axis", o.softmaxAxis)}));
  std::string p = "p";
  if (o.guard) {
    g.nodes.push_back(node("IsNaN", {"p"}, {"isn"}, "isnan"));
    g.nodes.push_back(node("Where", {"isn", "zero", "p"}, {"pg"}, "where"));
    p = "pg";
  }
  g.nodes.push_back(node("MatMul", {p, vs}, {o.vBhsd ? "y" : "o"}, "pv"));
  if (!o.vBhsd) g.nodes.push_back(node("Transpose", {"o"}, {"y"}, "to", perm({0, 2, 1, 3})));
  return g;
}

std::map<std::string, HostTensor> attnInputs(bool vBhsd) {
  return {{"q", randomInput({kB, kS, kH, kD}, 11, -2.f, 2.f)},
          {"k", randomInput({kB, kS, kH, kD}, 12, -2.f, 2.f)},
          {"v", randomInput(vBhsd ? std::vector<int64_t>{kB, kH, kS, kD} : std::vector<int64_t>{kB, kS, kH, kD}, 13)}};
}

}  // namespace

TEST(FuseAttention, ExportedSdpaBecomesFusedAttention) {
  std::vector<AttnOpts> cases(6);
  cases[5].zeroMask = true;
  cases[1].maskedRow = true;
  cases[2].guard = false;
  cases[2].scoreDiv = true;
  cases[3].mask = false;
  cases[3].vBhsd = true;
  cases[4].maskedRow = true;
  cases[4].vBhsd = true;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const AttnOpts& o = cases[i];
    std::string bytes = modelBytes(attention(o));
    auto g = importGraph(bytes);
    EXPECT_TRUE(runPass(*g, passes::fuseAttention));
    ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"FusedAttention"}));
    const ir::Node& n = *g->nodes[0];
    EXPECT_EQ(n.inputs.size(), o.mask && !o.zeroMask ? 4u : 3u);
    EXPECT_EQ(n.inputs[0]->name, "q");
    EXPECT_EQ(n.inputs[1]->name, "k");
    EXPECT_EQ(n.inputs[2]->name, "v");
    EXPECT_EQ(n.outputs[0]->name, "y");
    EXPECT_NEAR(n.attrs.getFloat("scale", 0), 1.0 / std::sqrt(static_cast<double>(kD)), 1e-6);
    EXPECT_EQ(n.attrs.getInts("layouts"),
              (o.vBhsd ? std::vector<int64_t>{0, 0, 1, 1} : std::vector<int64_t>{0, 0, 0, 0}));
    EXPECT_EQ(n.attrs.getInt("masked_rows_zero", -1), o.guard ? 1 : 0);
    auto c = refCompare(bytes, gpuOnly({"fuse-attention"}), attnInputs(o.vBhsd));
    EXPECT_EQ(c.after->nodes.size(), 1u);
    EXPECT_LT(c.relError, 1e-5);
  }
}

TEST(FuseAttention, QkvProjectionsArePacked) {
  for (int proj : {1, 2}) {
    SCOPED_TRACE(proj == 1 ? "one input" : "k from another input");
    AttnOpts o;
    o.projections = proj;
    std::string bytes = modelBytes(attention(o));
    std::map<std::string, HostTensor> in{{"x", randomInput({kB, kS, 24}, 21, -2.f, 2.f)}};
    if (proj == 2) in["x2"] = randomInput({kB, kS, 24}, 22, -2.f, 2.f);
    auto c = refCompare(bytes, gpuOnly({"fuse-attention", "pack-attention-qkv", "eliminate-dead-nodes"}), in);
    const ir::Node* fa = findOp(*c.after, "FusedAttention");
    ASSERT_NE(fa, nullptr);
    EXPECT_EQ(countOp(*c.after, "MatMul"), proj == 1 ? 1 : 3);
    EXPECT_EQ(fa->attrs.getInt("qkv_heads", 0), proj == 1 ? kH : 0);
    if (proj == 1) {
      EXPECT_EQ(fa->inputs[0]->shape, (ir::Shape{kB, kS, 3 * kH * kD}));
      EXPECT_EQ(fa->inputs[1], nullptr);
    }
    EXPECT_LT(c.relError, 1e-5);
  }
}

TEST(FuseAttention, CpuBuildsKeepTheUnfusedOps) {
  // the transformer fusions are GPU passes: a CPU plan keeps LayerNormalization, Softmax and the MatMuls
  AttnOpts o;
  o.projections = 1;
  Built a = build(modelBytes(attention(o)), {});
  ASSERT_TRUE(a.graph);
  EXPECT_EQ(countOp(*a.graph, "FusedAttention"), 0);
  EXPECT_EQ(countOp(*a.graph, "Softmax"), 1);
  Built s = build(modelBytes(skipLn(false, true)), {});
  ASSERT_TRUE(s.graph);
  EXPECT_EQ(countOp(*s.graph, "SkipLayerNormalization"), 0);
  EXPECT_EQ(countOp(*s.graph, "LayerNormalization"), 1);
}

TEST(FuseAttention, SharedIntermediatesStay) {
  // the probabilities are also a graph output
  GraphSpec g = attention({});
  g.outputs.push_back(valueInfo("p", FLOAT, {"2", "3", "5", "5"}));
  auto g1 = importGraph(modelBytes(g));
  EXPECT_FALSE(runPass(*g1, passes::fuseAttention));
  // softmax over another axis
  AttnOpts o;
  o.softmaxAxis = 2;
  GraphSpec s = attention(o);
  auto g2 = importGraph(modelBytes(s));
  EXPECT_FALSE(runPass(*g2, passes::fuseAttention));
}

TEST(FusedTransformerOps, ShapeInferenceErrors) {
  const ir::OpRegistry& reg = ir::defaultOpRegistry();
  auto infer = [&](const std::string& op, const std::vector<ir::Shape>& shapes, const ir::Attributes& a) {
    ir::Graph g;
    std::vector<ir::Value*> in;
    for (size_t i = 0; i < shapes.size(); ++i) in.push_back(g.addValue("i" + std::to_string(i), DataType::kFLOAT, shapes[i]));
    ir::Node* n = g.addNode(op, "n", in, 1);
    n->attrs = a;
    std::vector<ir::ValueInfo> infos(g.values.size());
    for (ir::Value* v : in) infos[static_cast<size_t>(v->id)] = {v->dtype, v->shape, nullptr};
    ir::inferNode(reg, *n, infos);
    return infos[static_cast<size_t>(n->outputs[0]->id)].shape;
  };
  ir::Attributes none;
  EXPECT_EQ(infer("SkipLayerNormalization", {{2, 4}, {2, 4}, {4}, {1, 4}}, none), (ir::Shape{2, 4}));
  EXPECT_THROW(infer("SkipLayerNormalization", {{2, 4}, {4}, {4}}, none), Error);     // broadcast skip
  EXPECT_THROW(infer("SkipLayerNormalization", {{2, 4}, {2, 4}, {2, 4}}, none), Error);  // scale over rows
  ir::Attributes lay;
  lay.setInts("layouts", {0, 0, 0, 0});
  EXPECT_EQ(infer("FusedAttention", {{2, 5, 3, 8}, {2, 7, 3, 8}, {2, 7, 3, 4}, {5, 7}}, lay), (ir::Shape{2, 5, 3, 4}));
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 3, 8}, {2, 7, 3, 6}, {2, 7, 3, 4}}, lay), Error);  // head sizes
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 3, 8}, {2, 7, 3, 8}, {2, 6, 3, 4}}, lay), Error);  // key/value length
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 3, 8}, {2, 7, 3, 8}, {2, 7, 3, 4}, {5, 6}}, lay), Error);  // mask
  ir::Attributes packed = lay;
  packed.setInt("qkv_heads", 3);
  EXPECT_EQ(infer("FusedAttention", {{2, 5, 72}}, packed), (ir::Shape{2, 5, 3, 8}));
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 70}}, packed), Error);
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 3, 24}}, packed), Error);
  lay.setInts("layouts", {0, 2, 0, 0});
  EXPECT_THROW(infer("FusedAttention", {{2, 5, 3, 8}, {2, 7, 3, 8}, {2, 7, 3, 4}}, lay), Error);
}

}  // namespace kiln::test
