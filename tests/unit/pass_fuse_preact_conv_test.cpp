// fuse-preact-conv: [Concat ->] BatchNormalization -> Relu -> 1x1 Conv -> PreactConv (graph before and after;
// outputs of the built CPU network with and without the pass), and the patterns it must leave alone.
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

// A two-layer dense block: x [1,8,5,5], a = Conv3x3(x) [1,4,5,5];
// y1 = Relu(Conv1x1(Relu(BN(Concat(x, a))))) [1,6,5,5]; y = Conv1x1(Relu(BN(Concat(x, a, y1)))) [1,5,5,5].
// x and a feed both concatenations.
GraphSpec denseBlock() {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"1", "8", "5", "5"})};
  g.outputs = {valueInfo("y", FLOAT, {"1", "5", "5", "5"})};
  g.initializers = {randomInit("wa", {4, 8, 3, 3}, 1), randomInit("w1", {6, 12, 1, 1}, 2), randomInit("b1", {6}, 3),
                    randomInit("w2", {5, 18, 1, 1}, 4)};
  for (auto& m : bnInits("bn1", 12, 10)) g.initializers.push_back(m);
  for (auto& m : bnInits("bn2", 18, 20)) g.initializers.push_back(m);
  g.nodes = {node("Conv", {"x", "wa"}, {"a"}, "conva", {attrInts("pads", {1, 1, 1, 1})}),
             node("Concat", {"x", "a"}, {"c1"}, "cat1", {attrInt("axis", 1)}),
             bnNode("bn1", "c1", "n1"),
             node("Relu", {"n1"}, {"r1"}, "relu1"),
             node("Conv", {"r1", "w1", "b1"}, {"v1"}, "conv1"),
             node("Relu", {"v1"}, {"y1"}, "relu1b"),
             node("Concat", {"x", "a", "y1"}, {"c2"}, "cat2", {attrInt("axis", -3)}),
             bnNode("bn2", "c2", "n2"),
             node("Relu", {"n2"}, {"r2"}, "relu2"),
             node("Conv", {"r2", "w2"}, {"y"}, "conv2")};
  return g;
}

}  // namespace

TEST(FusePreactConv, DenseBlockBecomesPreactConvs) {
  auto g = importGraph(modelBytes(denseBlock()));
  EXPECT_FALSE(runPass(*g, passes::foldBatchNorm));  // nothing to fold: the BNs follow Concats
  EXPECT_TRUE(runPass(*g, passes::fuseConvEpilogue));       // conv1 takes relu1b
  EXPECT_TRUE(runPass(*g, passes::fusePreactConv));
  EXPECT_EQ(opsOf(*g), (std::vector<std::string>{"Conv", "PreactConv", "PreactConv"}));
  const ir::Node* p1 = g->nodes[1].get();
  const ir::Node* p2 = g->nodes[2].get();
  ASSERT_EQ(p1->inputs.size(), 6u);  // W, B, Scale, Shift, x, a
  ASSERT_EQ(p2->inputs.size(), 7u);  // W, B, Scale, Shift, x, a, y1
  EXPECT_EQ(p1->inputs[4]->name, "x");
  EXPECT_EQ(p2->inputs[5]->name, "a");
  EXPECT_EQ(p2->inputs[6], p1->outputs[0]);
  EXPECT_EQ(p1->attrs.getString("kiln_act", ""), "Relu");
  EXPECT_EQ(p2->attrs.getString("kiln_act", ""), "");
  EXPECT_EQ(p2->outputs[0]->name, "y");
  EXPECT_EQ(p2->inputs[2]->shape, (ir::Shape{18}));
  EXPECT_EQ(p2->inputs[1]->shape, (ir::Shape{5}));  // a zero bias was added
  for (const char* o : {"cat2", "bn2", "relu2", "conv2"})
    EXPECT_NE(std::find(p2->origins.begin(), p2->origins.end(), o), p2->origins.end()) << o;

  auto c = compareWithout(modelBytes(denseBlock()), {"fuse-preact-conv"}, {{"x", randomInput({1, 8, 5, 5}, 5)}});
  ASSERT_TRUE(c.before.graph && c.after.graph);
  EXPECT_EQ(countOp(*c.before.graph, "PreactConv"), 0);
  EXPECT_EQ(countOp(*c.before.graph, "Concat"), 2);
  EXPECT_EQ(countOp(*c.after.graph, "PreactConv"), 2);
  EXPECT_EQ(countOp(*c.after.graph, "Concat"), 0);
  EXPECT_EQ(countOp(*c.after.graph, "BatchNormalization"), 0);
  EXPECT_LT(c.relError, 1e-5);
}

TEST(FusePreactConv, LeavesOtherPatterns) {
  {  // a strided 1x1 convolution: no fusion
    GraphSpec g = denseBlock();
    g.outputs = {valueInfo("y", FLOAT, {"1", "5", "3", "3"})};
    g.nodes.back() = node("Conv", {"r2", "w2"}, {"y"}, "conv2", {attrInts("strides", {2, 2})});
    auto ig = importGraph(modelBytes(g));
    runPass(*ig, passes::fusePreactConv);
    EXPECT_EQ(countOp(*ig, "PreactConv"), 1);  // conv1 only
    EXPECT_EQ(countOp(*ig, "Concat"), 1);
  }
  {  // the Relu output is also a graph output: conv2's pattern stays
    GraphSpec g = denseBlock();
    g.outputs.push_back(valueInfo("r2", FLOAT, {"1", "18", "5", "5"}));
    auto ig = importGraph(modelBytes(g));
    runPass(*ig, passes::fusePreactConv);
    EXPECT_EQ(countOp(*ig, "PreactConv"), 1);
    EXPECT_EQ(countOp(*ig, "BatchNormalization"), 1);
  }
  {  // no Relu between BatchNormalization and the Conv: no fusion
    GraphSpec g = denseBlock();
    g.nodes[8] = node("Sigmoid", {"n2"}, {"r2"}, "sig2");
    auto ig = importGraph(modelBytes(g));
    runPass(*ig, passes::fusePreactConv);
    EXPECT_EQ(countOp(*ig, "PreactConv"), 1);
    EXPECT_EQ(countOp(*ig, "Sigmoid"), 1);
  }
  {  // the Concat output has another reader: it stays, and the PreactConv reads it as its one input
    GraphSpec g = denseBlock();
    g.outputs.push_back(valueInfo("c2", FLOAT, {"1", "18", "5", "5"}));
    auto ig = importGraph(modelBytes(g));
    runPass(*ig, passes::fusePreactConv);
    EXPECT_EQ(countOp(*ig, "PreactConv"), 2);
    EXPECT_EQ(countOp(*ig, "Concat"), 1);
    const ir::Node* last = ig->nodes.back().get();
    ASSERT_EQ(last->op, "PreactConv");
    ASSERT_EQ(last->inputs.size(), 5u);
    EXPECT_EQ(last->inputs[4]->name, "c2");
    auto c = compareWithout(modelBytes(g), {"fuse-preact-conv"}, {{"x", randomInput({1, 8, 5, 5}, 6)}});
    EXPECT_LT(c.relError, 1e-5);
  }
}

}  // namespace kiln::test
