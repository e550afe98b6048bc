// fuse-conv-epilogue: per-channel Add -> B, residual Add -> Z, activation -> kiln_act (graph before and
// after; outputs of the built network with and without the pass).
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

const std::vector<std::string> kShape{"1", "4", "6", "6"};

GraphSpec convBase() {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"1", "3", "6", "6"})};
  g.initializers = {randomInit("w", {4, 3, 3, 3}, 1), randomInit("b", {4}, 2)};
  g.nodes = {node("Conv", {"x", "w", "b"}, {"c"}, "conv", {attrInts("pads", {1, 1, 1, 1})})};
  return g;
}

struct ActCase {
  const char* name;
  std::vector<Msg> nodes;  // reads "s", writes "y"
  std::vector<Msg> inits;
  std::string kilnAct;
};

std::vector<ActCase> actCases() {
  return {
      {"Relu", {node("Relu", {"s"}, {"y"}, "act")}, {}, "Relu"},
      {"Clip", {node("Clip", {"s", "lo", "hi"}, {"y"}, "act")}, {scalarInit("lo", -0.3f), scalarInit("hi", 0.4f)}, "Clip"},
      {"ClipMaxOnly", {node("Clip", {"s", "", "hi"}, {"y"}, "act")}, {scalarInit("hi", 0.2f)}, "Clip"},
      {"LeakyRelu", {node("LeakyRelu", {"s"}, {"y"}, "act", {attrFloat("alpha", 0.2f)})}, {}, "LeakyRelu"},
      {"Sigmoid", {node("Sigmoid", {"s"}, {"y"}, "act")}, {}, "Sigmoid"},
      {"Tanh", {node("Tanh", {"s"}, {"y"}, "act")}, {}, "Tanh"},
      {"HardSigmoid", {node("HardSigmoid", {"s"}, {"y"}, "act", {attrFloat("alpha", 0.3f), attrFloat("beta", 0.4f)})}, {}, "HardSigmoid"},
      {"HardSwish", {node("HardSwish", {"s"}, {"y"}, "act")}, {}, "HardSwish"},
      {"SiluPattern", {node("Sigmoid", {"s"}, {"sg"}, "sig"), node("Mul", {"sg", "s"}, {"y"}, "act")}, {}, "Silu"},
      {"Gelu", {node("Gelu", {"s"}, {"y"}, "act")}, {}, "Gelu"},
  };
}

}  // namespace

TEST(FuseConvEpilogue, BiasResidualActivationBecomeOneConv) {
  // conv -> + per-channel constant [4,1,1] -> + r (residual input) -> each activation
  for (const ActCase& a : actCases()) {
    GraphSpec g = convBase();
    g.inputs.push_back(valueInfo("r", FLOAT, kShape));
    g.outputs = {valueInfo("y", FLOAT, kShape)};
    g.initializers.push_back(randomInit("cb", {4, 1, 1}, 3));
    for (const auto& i : a.inits) g.initializers.push_back(i);
    g.nodes.push_back(node("Add", {"c", "cb"}, {"a"}, "add_bias"));
    g.nodes.push_back(node("Add", {"r", "a"}, {"s"}, "add_res"));
    for (const auto& n : a.nodes) g.nodes.push_back(n);
    std::string bytes = modelBytes(g);

    auto ig = importGraph(bytes);
    EXPECT_TRUE(runPass(*ig, passes::fuseConvEpilogue)) << a.name;
    ASSERT_EQ(opsOf(*ig), (std::vector<std::string>{"Conv"})) << a.name;
    const ir::Node& conv = *ig->nodes[0];
    ASSERT_EQ(conv.inputs.size(), 4u);
    EXPECT_EQ(conv.inputs[3]->name, "r");
    EXPECT_EQ(conv.attrs.getString("kiln_act", ""), a.kilnAct) << a.name;
    EXPECT_EQ(conv.outputs[0]->name, "y");
    EXPECT_EQ(conv.origins.size(), 3 + a.nodes.size()) << a.name;

    auto c = compareWithout(bytes, {"fuse-conv-epilogue"},
                            {{"x", randomInput({1, 3, 6, 6}, 5)}, {"r", randomInput({1, 4, 6, 6}, 6)}});
    ASSERT_TRUE(c.before.graph && c.after.graph);
    EXPECT_EQ(c.after.graph->nodes.size(), 1u) << a.name;
    EXPECT_EQ(c.before.graph->nodes.size(), 3 + a.nodes.size()) << a.name;
    EXPECT_LT(c.relError, 1e-5) << a.name;
  }
}

TEST(FuseConvEpilogue, ResnetBlockWithBatchNorm) {
  // relu(bn2(conv2(relu(bn1(conv1(x))))) + x): every pass on -> two Conv nodes (BN folded, Z, Relu).
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"2", "4", "5", "5"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "4", "5", "5"})};
  g.initializers = {randomInit("w1", {4, 4, 3, 3}, 1), randomInit("w2", {4, 4, 3, 3}, 2)};
  for (const char* p : {"bn1", "bn2"}) {
    uint32_t s = p[2] == '1' ? 10 : 20;
    g.initializers.push_back(randomInit(std::string(p) + "_s", {4}, s, 0.5f, 1.5f));
    g.initializers.push_back(randomInit(std::string(p) + "_b", {4}, s + 1));
    g.initializers.push_back(randomInit(std::string(p) + "_m", {4}, s + 2));
    g.initializers.push_back(randomInit(std::string(p) + "_v", {4}, s + 3, 0.3f, 1.2f));
  }
  auto bn = [](const std::string& p, const std::string& in, const std::string& out) {
    return node("BatchNormalization", {in, p + "_s", p + "_b", p + "_m", p + "_v"}, {out}, p);
  };
  auto pads = std::vector<Msg>{attrInts("pads", {1, 1, 1, 1})};
  g.nodes = {node("Conv", {"x", "w1"}, {"c1"}, "conv1", pads), bn("bn1", "c1", "n1"), node("Relu", {"n1"}, {"r1"}, "relu1"),
             node("Conv", {"r1", "w2"}, {"c2"}, "conv2", pads), bn("bn2", "c2", "n2"), node("Add", {"n2", "x"}, {"s"}, "add"),
             node("Relu", {"s"}, {"y"}, "relu2")};
  std::string bytes = modelBytes(g);
  auto c = compareWithout(bytes, {"fold-batchnorm", "fuse-conv-epilogue"}, {{"x", randomInput({2, 4, 5, 5}, 9)}});
  ASSERT_TRUE(c.after.graph);
  ASSERT_EQ(opsOf(*c.after.graph), (std::vector<std::string>{"Conv", "Conv"}));
  const ir::Node& conv2 = *c.after.graph->nodes[1];
  ASSERT_EQ(conv2.inputs.size(), 4u);
  EXPECT_EQ(conv2.inputs[3]->name, "x");
  EXPECT_EQ(conv2.attrs.getString("kiln_act", ""), "Relu");
  EXPECT_EQ(c.after.graph->outputs[0]->name, "y");
  EXPECT_EQ(c.before.graph->nodes.size(), 7u);
  EXPECT_LT(c.relError, 1e-5);
}

TEST(FuseConvEpilogue, ResidualComputedAfterTheConvIsReordered) {
  // Add(conv_a(x), conv_b(x)): one Conv becomes the other's Z; the graph stays topologically sorted.
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"1", "3", "6", "6"})};
  g.outputs = {valueInfo("y", FLOAT, kShape)};
  g.initializers = {randomInit("wa", {4, 3, 1, 1}, 1), randomInit("wb", {4, 3, 3, 3}, 2)};
  g.nodes = {node("Conv", {"x", "wa"}, {"a"}, "conv_a"),
             node("Conv", {"x", "wb"}, {"b"}, "conv_b", {attrInts("pads", {1, 1, 1, 1})}),
             node("Add", {"a", "b"}, {"y"}, "add")};
  auto ig = importGraph(modelBytes(g));
  EXPECT_TRUE(runPass(*ig, passes::fuseConvEpilogue));
  ASSERT_EQ(opsOf(*ig), (std::vector<std::string>{"Conv", "Conv"}));
  EXPECT_EQ(ig->nodes[1]->inputs.size(), 4u);
  EXPECT_EQ(ig->nodes[1]->inputs[3], ig->nodes[0]->outputs[0]);
  auto c = compareWithout(modelBytes(g), {"fuse-conv-epilogue"}, {{"x", randomInput({1, 3, 6, 6}, 3)}});
  EXPECT_LT(c.relError, 1e-5);
}

namespace {
//! Add(conv_a(x), r): r is conv_b(x), or a second graph input of the given shape.
GraphSpec dynamicResidual(const std::vector<std::string>& xShape, const std::vector<std::string>* rShape) {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, xShape)};
  g.outputs = {valueInfo("y", FLOAT, {"N", "4", "6", "6"})};
  g.initializers = {randomInit("wa", {4, 3, 1, 1}, 1), randomInit("wb", {4, 3, 3, 3}, 2)};
  g.nodes = {node("Conv", {"x", "wa"}, {"a"}, "conv_a")};
  if (rShape) {
    g.inputs.push_back(valueInfo("r", FLOAT, *rShape));
  } else {
    g.nodes.push_back(node("Conv", {"x", "wb"}, {"r"}, "conv_b", {attrInts("pads", {1, 1, 1, 1})}));
  }
  g.nodes.push_back(node("Add", {"a", "r"}, {"s"}, "add"));
  g.nodes.push_back(node("Relu", {"s"}, {"y"}, "relu"));
  return g;
}
}  // namespace

TEST(FuseConvEpilogue, DynamicBatchResidualIsFusedWhereItCannotBroadcast) {
  // both operands come from the same dynamic input: same extents for every batch -> Z and the Relu fuse
  auto g1 = importGraph(modelBytes(dynamicResidual({"N", "3", "6", "6"}, nullptr)));
  EXPECT_TRUE(runPass(*g1, passes::fuseConvEpilogue));
  ASSERT_EQ(opsOf(*g1), (std::vector<std::string>{"Conv", "Conv"}));
  EXPECT_EQ(g1->nodes[1]->inputs.size(), 4u);
  EXPECT_EQ(g1->nodes[1]->attrs.getString("kiln_act", ""), "Relu");

  // dynamic height and width too
  auto g2 = importGraph(modelBytes(dynamicResidual({"N", "3", "H", "W"}, nullptr)));
  EXPECT_TRUE(runPass(*g2, passes::fuseConvEpilogue));
  EXPECT_EQ(opsOf(*g2), (std::vector<std::string>{"Conv", "Conv"}));

  // the residual is another input with its own batch extent: it may be 1 and broadcast -> no Z (the
  // Relu cannot fuse either: the Add stays between)
  const std::vector<std::string> rOwn{"M", "4", "6", "6"};
  auto g3 = importGraph(modelBytes(dynamicResidual({"N", "3", "6", "6"}, &rOwn)));
  runPass(*g3, passes::fuseConvEpilogue);
  EXPECT_EQ(opsOf(*g3), (std::vector<std::string>{"Conv", "Add", "Relu"}));
  // the same with a statically broadcasting residual
  const std::vector<std::string> rOne{"1", "4", "6", "6"};
  auto g4 = importGraph(modelBytes(dynamicResidual({"N", "3", "6", "6"}, &rOne)));
  runPass(*g4, passes::fuseConvEpilogue);
  EXPECT_EQ(opsOf(*g4), (std::vector<std::string>{"Conv", "Add", "Relu"}));
}

TEST(FuseConvEpilogue, LeavesSharedOutputsBroadcastsAndGraphOutputs) {
  // Conv output read twice; Conv output is a graph output; Add of a non-per-channel broadcast
  GraphSpec twice = convBase();
  twice.outputs = {valueInfo("y", FLOAT, kShape), valueInfo("z", FLOAT, kShape)};
  twice.nodes.push_back(node("Relu", {"c"}, {"y"}, "relu"));
  twice.nodes.push_back(node("Sigmoid", {"c"}, {"z"}, "sig"));
  auto g1 = importGraph(modelBytes(twice));
  EXPECT_FALSE(runPass(*g1, passes::fuseConvEpilogue));

  GraphSpec exported = convBase();
  exported.outputs = {valueInfo("c", FLOAT, kShape), valueInfo("y", FLOAT, kShape)};
  exported.nodes.push_back(node("Relu", {"c"}, {"y"}, "relu"));
  auto g2 = importGraph(modelBytes(exported));
  EXPECT_FALSE(runPass(*g2, passes::fuseConvEpilogue));

  GraphSpec bcast = convBase();
  bcast.outputs = {valueInfo("y", FLOAT, kShape)};
  bcast.initializers.push_back(randomInit("k", {1, 1, 6}, 4));  // varies along W: not a bias
  bcast.nodes.push_back(node("Add", {"c", "k"}, {"y"}, "add"));
  auto g3 = importGraph(modelBytes(bcast));
  EXPECT_FALSE(runPass(*g3, passes::fuseConvEpilogue));

  // Gelu with approximate="tanh" is not a kiln_act
  GraphSpec gt = convBase();
  gt.outputs = {valueInfo("y", FLOAT, kShape)};
  gt.nodes.push_back(node("Gelu", {"c"}, {"y"}, "gelu", {attrString("approximate", "tanh")}));
  auto g4 = importGraph(modelBytes(gt));
  EXPECT_FALSE(runPass(*g4, passes::fuseConvEpilogue));
}

}  // namespace kiln::test
