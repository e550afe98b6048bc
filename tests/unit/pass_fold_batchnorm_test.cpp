// fold-batchnorm: BatchNormalization after Conv / Gemm / MatMul folded into the weights (graph before and
// after; outputs of the built network with and without the pass).
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

// x [1,3,8,8] -> Conv 3x3 pad 1 (4 maps, optional bias) -> BatchNormalization -> y
GraphSpec convBn(bool withBias) {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"1", "3", "8", "8"})};
  g.outputs = {valueInfo("y", FLOAT, {"1", "4", "8", "8"})};
  g.initializers = {randomInit("w", {4, 3, 3, 3}, 1)};
  std::vector<std::string> convIn{"x", "w"};
  if (withBias) {
    g.initializers.push_back(randomInit("b", {4}, 2));
    convIn.push_back("b");
  }
  for (auto& m : bnInits("bn", 4, 10)) g.initializers.push_back(m);
  g.nodes = {node("Conv", convIn, {"c"}, "conv", {attrInts("pads", {1, 1, 1, 1})}), bnNode("bn", "c", "y")};
  return g;
}

}  // namespace

TEST(FoldBatchNorm, ConvBnBecomesOneConv) {
  for (bool withBias : {true, false}) {
    auto g = importGraph(modelBytes(convBn(withBias)));
    ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"Conv", "BatchNormalization"}));
    EXPECT_TRUE(runPass(*g, passes::foldBatchNorm));
    ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"Conv"}));
    const ir::Node& conv = *g->nodes[0];
    EXPECT_EQ(conv.inputs.size(), 3u);
    EXPECT_TRUE(conv.inputs[1]->isConstant() && conv.inputs[2]->isConstant());
    EXPECT_EQ(conv.outputs[0]->name, "y");  // graph output names are kept
    EXPECT_EQ(g->outputs[0], conv.outputs[0]);
    EXPECT_EQ(conv.origins, (std::vector<std::string>{"conv", "bn"}));

    auto c = compareWithout(modelBytes(convBn(withBias)), {"fold-batchnorm"}, {{"x", randomInput({1, 3, 8, 8}, 5)}});
    ASSERT_TRUE(c.before.graph && c.after.graph);
    EXPECT_EQ(countOp(*c.before.graph, "BatchNormalization"), 1);
    EXPECT_EQ(countOp(*c.after.graph, "BatchNormalization"), 0);
    EXPECT_LT(c.relError, 1e-5) << "bias " << withBias;
  }
}

TEST(FoldBatchNorm, SharedConvOutputAndLoneBnStay) {
  // c is read by the BatchNormalization and by Relu: no fold. A BatchNormalization after Relu stays too.
  GraphSpec g = convBn(true);
  g.outputs.push_back(valueInfo("r", FLOAT, {"1", "4", "8", "8"}));
  g.nodes.push_back(node("Relu", {"c"}, {"r"}, "relu"));
  auto ig = importGraph(modelBytes(g));
  EXPECT_FALSE(runPass(*ig, passes::foldBatchNorm));
  EXPECT_EQ(countOp(*ig, "BatchNormalization"), 1);

  GraphSpec lone;
  lone.inputs = {valueInfo("x", FLOAT, {"2", "4", "3"})};
  lone.outputs = {valueInfo("y", FLOAT, {"2", "4", "3"})};
  lone.initializers = bnInits("bn", 4, 20);
  lone.nodes = {node("Relu", {"x"}, {"r"}, "relu"), bnNode("bn", "r", "y")};
  auto lg = importGraph(modelBytes(lone));
  EXPECT_FALSE(runPass(*lg, passes::foldBatchNorm));
  EXPECT_EQ(opsOf(*lg), (std::vector<std::string>{"Relu", "BatchNormalization"}));

  // the Conv output is a graph output: no fold either
  GraphSpec out = convBn(true);
  out.outputs.push_back(valueInfo("c", FLOAT, {"1", "4", "8", "8"}));
  auto og = importGraph(modelBytes(out));
  EXPECT_FALSE(runPass(*og, passes::foldBatchNorm));
}

TEST(FoldBatchNorm, GemmAndMatMulWithConstantWeights) {
  // Gemm(x [3,6], W [5,6]^T, C [5], alpha, beta) -> BN ; MatMul(x, W2 [6,5]) -> BN
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"3", "6"})};
  g.outputs = {valueInfo("y1", FLOAT, {"3", "5"}), valueInfo("y2", FLOAT, {"3", "5"})};
  g.initializers = {randomInit("w1", {5, 6}, 30), randomInit("c1", {5}, 31), randomInit("w2", {6, 5}, 32)};
  for (auto& m : bnInits("bn1", 5, 40)) g.initializers.push_back(m);
  for (auto& m : bnInits("bn2", 5, 50)) g.initializers.push_back(m);
  g.nodes = {node("Gemm", {"x", "w1", "c1"}, {"g"}, "gemm",
                  {attrInt("transB", 1), attrFloat("alpha", 0.7f), attrFloat("beta", 0.3f)}),
             bnNode("bn1", "g", "y1"), node("MatMul", {"x", "w2"}, {"m"}, "matmul"), bnNode("bn2", "m", "y2")};
  auto ig = importGraph(modelBytes(g));
  EXPECT_TRUE(runPass(*ig, passes::foldBatchNorm));
  EXPECT_EQ(opsOf(*ig), (std::vector<std::string>{"Gemm", "MatMul"}));
  EXPECT_EQ(findOp(*ig, "MatMul")->inputs.size(), 3u);  // the folded shift became the kiln bias input
  auto c = compareWithout(modelBytes(g), {"fold-batchnorm"}, {{"x", randomInput({3, 6}, 7)}});
  ASSERT_TRUE(c.after.graph);
  EXPECT_EQ(countOp(*c.after.graph, "BatchNormalization"), 0);
  EXPECT_LT(c.relError, 1e-5);
}

}  // namespace kiln::test
