// recognize-layernorm: the decomposed layer normalization over the last axis -> LayerNormalization (graph
// before and after; outputs of the built network with and without the pass).
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

GraphSpec decomposed(bool pow, bool affine) {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"2", "3", "16"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "3", "16"})};
  g.initializers = {tensorInt64s("axes", {1}, {-1}), scalarInit("two", 2.f), scalarInit("eps", 1e-5f),
                    randomInit("scale", {16}, 1, 0.5f, 1.5f), randomInit("bias", {1, 1, 16}, 2)};
  g.nodes = {node("ReduceMean", {"x", "axes"}, {"mu"}, "mean1"), node("Sub", {"x", "mu"}, {"d"}, "sub"),
             pow ? node("Pow", {"d", "two"}, {"d2"}, "sq") : node("Mul", {"d", "d"}, {"d2"}, "sq"),
             node("ReduceMean", {"d2", "axes"}, {"var"}, "mean2"), node("Add", {"var", "eps"}, {"ve"}, "add_eps"),
             node("Sqrt", {"ve"}, {"sd"}, "sqrt"), node("Div", {"d", "sd"}, {affine ? "n" : "y"}, "div")};
  if (affine) {
    g.nodes.push_back(node("Mul", {"n", "scale"}, {"ns"}, "mul_scale"));
    g.nodes.push_back(node("Add", {"bias", "ns"}, {"y"}, "add_bias"));
  }
  return g;
}

}  // namespace

TEST(RecognizeLayerNorm, DecomposedFormsBecomeLayerNormalization) {
  for (bool pow : {true, false})
    for (bool affine : {true, false}) {
      SCOPED_TRACE(std::string(pow ? "Pow" : "Mul") + (affine ? " affine" : ""));
      std::string bytes = modelBytes(decomposed(pow, affine));
      auto g = importGraph(bytes);
      EXPECT_TRUE(runPass(*g, passes::recognizeLayerNorm));
      ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"LayerNormalization"}));
      const ir::Node& ln = *g->nodes[0];
      EXPECT_EQ(ln.inputs.size(), affine ? 3u : 2u);
      EXPECT_EQ(ln.inputs[0]->name, "x");
      EXPECT_EQ(ln.outputs[0]->name, "y");
      EXPECT_NEAR(ln.attrs.getFloat("epsilon", 0), 1e-5, 1e-12);
      EXPECT_EQ(ln.origins.size(), affine ? 9u : 7u);
      auto c = compareWithout(bytes, {"recognize-layernorm"}, {{"x", randomInput({2, 3, 16}, 3, -2.f, 2.f)}});
      ASSERT_TRUE(c.after.graph && c.before.graph);
      EXPECT_EQ(c.after.graph->nodes.size(), 1u);
      EXPECT_LT(c.relError, 1e-5);
    }
}

TEST(RecognizeLayerNorm, OtherAxesAndSharedValuesStay) {
  GraphSpec g = decomposed(true, true);
  g.initializers[0] = tensorInt64s("axes", {1}, {1});  // not the last axis
  auto g1 = importGraph(modelBytes(g));
  EXPECT_FALSE(runPass(*g1, passes::recognizeLayerNorm));
  GraphSpec s = decomposed(true, false);
  s.outputs.push_back(valueInfo("mu", FLOAT, {"2", "3", "1"}));
  auto g2 = importGraph(modelBytes(s));
  EXPECT_FALSE(runPass(*g2, passes::recognizeLayerNorm));
}

}  // namespace kiln::test
