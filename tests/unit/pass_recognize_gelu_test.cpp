// recognize-gelu: the exported erf and tanh forms of GELU -> Gelu (graph before and after; outputs of the
// built network with and without the pass).
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

const std::vector<std::string> kShape{"2", "3", "7"};

// x -> relu (so x is an intermediate) -> GELU pattern -> y
GraphSpec erfGelu(bool divForm, int arrangement, float sqrt2 = 1.4142135f, float half = 0.5f) {
  GraphSpec g;
  g.inputs = {valueInfo("in", FLOAT, kShape)};
  g.outputs = {valueInfo("y", FLOAT, kShape)};
  g.initializers = {scalarInit("k", divForm ? sqrt2 : 1.f / sqrt2), scalarInit("one", 1.f), scalarInit("half", half)};
  g.nodes = {node("Sin", {"in"}, {"x"}, "pre"), node(divForm ? "Div" : "Mul", {"x", "k"}, {"d"}, "scale"),
             node("Erf", {"d"}, {"e"}, "erf"), node("Add", {"one", "e"}, {"a"}, "add1")};
  switch (arrangement) {
    case 0:  // (x * a) * 0.5
      g.nodes.push_back(node("Mul", {"x", "a"}, {"p"}, "m1"));
      g.nodes.push_back(node("Mul", {"p", "half"}, {"y"}, "m2"));
      break;
    case 1:  // (x * 0.5) * a
      g.nodes.push_back(node("Mul", {"half", "x"}, {"h"}, "m1"));
      g.nodes.push_back(node("Mul", {"h", "a"}, {"y"}, "m2"));
      break;
    default:  // x * (a * 0.5)
      g.nodes.push_back(node("Mul", {"a", "half"}, {"h"}, "m1"));
      g.nodes.push_back(node("Mul", {"x", "h"}, {"y"}, "m2"));
      break;
  }
  return g;
}

GraphSpec tanhGelu(bool pow) {
  GraphSpec g;
  g.inputs = {valueInfo("in", FLOAT, kShape)};
  g.outputs = {valueInfo("y", FLOAT, kShape)};
  g.initializers = {scalarInit("three", 3.f), scalarInit("c", 0.044715f), scalarInit("k", 0.7978846f),
                    scalarInit("one", 1.f), scalarInit("half", 0.5f)};
  g.nodes = {node("Sin", {"in"}, {"x"}, "pre")};
  if (pow) {
    g.nodes.push_back(node("Pow", {"x", "three"}, {"x3"}, "cube"));
  } else {
    g.nodes.push_back(node("Mul", {"x", "x"}, {"x2"}, "sq"));
    g.nodes.push_back(node("Mul", {"x2", "x"}, {"x3"}, "cube"));
  }
  for (auto& n : {node("Mul", {"c", "x3"}, {"t1"}, "m_c"), node("Add", {"x", "t1"}, {"t2"}, "add_x"),
                  node("Mul", {"t2", "k"}, {"t3"}, "m_k"), node("Tanh", {"t3"}, {"t4"}, "tanh"),
                  node("Add", {"t4", "one"}, {"t5"}, "add1"), node("Mul", {"half", "x"}, {"t6"}, "m_half"),
                  node("Mul", {"t6", "t5"}, {"y"}, "m_out")})
    g.nodes.push_back(n);
  return g;
}

void expectGelu(const GraphSpec& spec, const std::string& approximate, size_t patternNodes) {
  std::string bytes = modelBytes(spec);
  auto g = importGraph(bytes);
  ASSERT_EQ(g->nodes.size(), 1 + patternNodes);
  EXPECT_TRUE(runPass(*g, passes::recognizeGelu));
  ASSERT_EQ(opsOf(*g), (std::vector<std::string>{"Sin", "Gelu"}));
  const ir::Node& gelu = *g->nodes[1];
  EXPECT_EQ(gelu.attrs.getString("approximate", "none"), approximate);
  EXPECT_EQ(gelu.inputs[0]->name, "x");
  EXPECT_EQ(gelu.outputs[0]->name, "y");
  EXPECT_EQ(gelu.origins.size(), patternNodes);
  auto c = compareWithout(bytes, {"recognize-gelu"}, {{"in", randomInput({2, 3, 7}, 4, -3.f, 3.f)}});
  ASSERT_TRUE(c.after.graph);
  EXPECT_EQ(c.after.graph->nodes.size(), 2u);
  EXPECT_LT(c.relError, 1e-5);
}

}  // namespace

TEST(RecognizeGelu, ErfFormsInEveryArrangement) {
  for (bool div : {true, false})
    for (int arr = 0; arr < 3; ++arr) {
      SCOPED_TRACE(std::string(div ? "Div" : "Mul") + " arrangement " + std::to_string(arr));
      expectGelu(erfGelu(div, arr), "none", 5);
    }
}

TEST(RecognizeGelu, TanhForms) {
  expectGelu(tanhGelu(true), "tanh", 8);
  expectGelu(tanhGelu(false), "tanh", 9);
}

TEST(RecognizeGelu, ConstantsOutsideTheToleranceAndSharedValuesStay) {
  auto g1 = importGraph(modelBytes(erfGelu(true, 0, 1.4142135f, 0.6f)));  // 0.6 instead of 0.5
  EXPECT_FALSE(runPass(*g1, passes::recognizeGelu));
  auto g2 = importGraph(modelBytes(erfGelu(true, 0, 1.4145f)));  // 2e-4 off
  EXPECT_FALSE(runPass(*g2, passes::recognizeGelu));
  auto g3 = importGraph(modelBytes(erfGelu(true, 0, 1.41425f)));  // 2.5e-5 off: tolerated
  EXPECT_TRUE(runPass(*g3, passes::recognizeGelu));
  GraphSpec shared = erfGelu(false, 1);  // the Erf output is also a graph output
  shared.outputs.push_back(valueInfo("e", FLOAT, kShape));
  auto g4 = importGraph(modelBytes(shared));
  EXPECT_FALSE(runPass(*g4, passes::recognizeGelu));
}

}  // namespace kiln::test
