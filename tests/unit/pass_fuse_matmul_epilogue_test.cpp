// fuse-matmul-epilogue: MatMul + Add([N]) -> bias input, MatMul / Gemm + activation -> kiln_act (graph
// before and after; outputs of the built network with and without the pass).
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;
}  // namespace

TEST(FuseMatMulEpilogue, BiasAndActivation) {
  // x [2,3,6] @ W [6,5] + b ([5] or [1,1,5]) -> Relu / Gelu / Mul(x, Sigmoid(x))
  struct Case {
    std::vector<int64_t> biasDims;
    std::vector<Msg> act;  // reads "s", writes "y"
    std::string kilnAct;
  };
  std::vector<Case> cases{{{5}, {node("Relu", {"s"}, {"y"}, "act")}, "Relu"},
                          {{1, 1, 5}, {node("Gelu", {"s"}, {"y"}, "act")}, "Gelu"},
                          {{5}, {node("Sigmoid", {"s"}, {"sg"}, "sig"), node("Mul", {"s", "sg"}, {"y"}, "act")}, "Silu"},
                          {{1}, {node("Tanh", {"s"}, {"y"}, "act")}, "Tanh"}};
  for (const Case& k : cases) {
    GraphSpec g;
    g.inputs = {valueInfo("x", FLOAT, {"2", "3", "6"})};
    g.outputs = {valueInfo("y", FLOAT, {"2", "3", "5"})};
    g.initializers = {randomInit("w", {6, 5}, 1), randomInit("b", k.biasDims, 2)};
    g.nodes = {node("MatMul", {"x", "w"}, {"m"}, "matmul"), node("Add", {"b", "m"}, {"s"}, "add")};
    for (const auto& n : k.act) g.nodes.push_back(n);
    std::string bytes = modelBytes(g);
    auto ig = importGraph(bytes);
    EXPECT_TRUE(runPass(*ig, passes::fuseMatMulEpilogue)) << k.kilnAct;
    ASSERT_EQ(opsOf(*ig), (std::vector<std::string>{"MatMul"})) << k.kilnAct;
    const ir::Node& mm = *ig->nodes[0];
    ASSERT_EQ(mm.inputs.size(), 3u);
    EXPECT_EQ(mm.inputs[2]->shape, (ir::Shape{5}));
    EXPECT_EQ(mm.attrs.getString("kiln_act", ""), k.kilnAct);
    EXPECT_EQ(mm.outputs[0]->name, "y");
    EXPECT_EQ(mm.origins.size(), 2 + k.act.size());
    auto c = compareWithout(bytes, {"fuse-matmul-epilogue"}, {{"x", randomInput({2, 3, 6}, 3)}});
    ASSERT_TRUE(c.after.graph);
    EXPECT_EQ(c.after.graph->nodes.size(), 1u);
    EXPECT_LT(c.relError, 1e-5) << k.kilnAct;
  }
}

TEST(FuseMatMulEpilogue, GemmActivation) {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"4", "6"})};
  g.outputs = {valueInfo("y", FLOAT, {"4", "3"})};
  g.initializers = {randomInit("w", {3, 6}, 1), randomInit("c", {3}, 2), scalarInit("lo", 0.f), scalarInit("hi", 0.5f)};
  g.nodes = {node("Gemm", {"x", "w", "c"}, {"m"}, "gemm", {attrInt("transB", 1)}),
             node("Clip", {"m", "lo", "hi"}, {"y"}, "clip")};
  auto ig = importGraph(modelBytes(g));
  EXPECT_TRUE(runPass(*ig, passes::fuseMatMulEpilogue));
  ASSERT_EQ(opsOf(*ig), (std::vector<std::string>{"Gemm"}));
  EXPECT_EQ(ig->nodes[0]->attrs.getString("kiln_act", ""), "Clip");
  EXPECT_DOUBLE_EQ(ig->nodes[0]->attrs.getFloat("kiln_act_beta", 0), 0.5);
  auto c = compareWithout(modelBytes(g), {"fuse-matmul-epilogue"}, {{"x", randomInput({4, 6}, 3)}});
  EXPECT_LT(c.relError, 1e-5);
}

TEST(FuseMatMulEpilogue, LeavesVariableWeightsAndFullBiases) {
  // MatMul of two inputs; a bias that varies along rows; a MatMul output read twice
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"3", "6"}), valueInfo("v", FLOAT, {"6", "5"})};
  g.outputs = {valueInfo("y1", FLOAT, {"3", "5"}), valueInfo("y2", FLOAT, {"3", "5"}), valueInfo("y3", FLOAT, {"3", "5"}),
               valueInfo("y4", FLOAT, {"3", "5"})};
  g.initializers = {randomInit("w", {6, 5}, 1), randomInit("full", {3, 5}, 2), randomInit("b", {5}, 3)};
  g.nodes = {node("MatMul", {"x", "v"}, {"m1"}, "mm_var"), node("Add", {"m1", "b"}, {"y1"}, "add1"),
             node("MatMul", {"x", "w"}, {"m2"}, "mm_full"), node("Add", {"m2", "full"}, {"y2"}, "add2"),
             node("MatMul", {"x", "w"}, {"m3"}, "mm_twice"), node("Relu", {"m3"}, {"y3"}, "relu"),
             node("Sigmoid", {"m3"}, {"y4"}, "sig")};
  auto ig = importGraph(modelBytes(g));
  EXPECT_FALSE(runPass(*ig, passes::fuseMatMulEpilogue));
  EXPECT_EQ(ig->nodes.size(), 7u);
}

}  // namespace kiln::test
