// layout-nhwc (GPU, float16/bfloat16): Conv/MaxPool/AveragePool become channels-last and the transposes
// between them cancel. This test checks the graph (the numbers are checked on a GPU by
// tests/cuda/layout_gpu_test.cpp, against the CPU in float32).
#include "passes/layout.h"
#include "passes/precision.h"
#include "unit/layout_model.h"

namespace kiln::test {
namespace {
using namespace fusion;

//! The builder's pipeline up to the layout pass: default passes, float16, channels-last.
std::unique_ptr<ir::Graph> optimizedHalfGraph(int* converted) {
  auto g = importGraph(layout::cnnModel());
  CaptureLogger logger;
  passes::PassContext ctx{logger, ir::defaultOpRegistry()};
  passes::runToFixpoint(*g, passes::defaultPasses(), ctx);
  g->topologicalSort();
  g->compact();
  passes::lowerFloatPrecision(*g, DataType::kHALF);
  g->compact();
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);
  *converted = passes::convertToChannelsLast(*g);
  passes::eliminateDeadNodes(*g, ctx);
  g->compact();
  g->verify();
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);  // the result must still infer
  return g;
}

}  // namespace

TEST(LayoutNhwc, ConvolutionsAndPoolingGoChannelsLastWithTransposesOnlyAtTheBorders) {
  int converted = 0;
  auto g = optimizedHalfGraph(&converted);
  // 9 convolutions (conv1-6, two squeeze-excite, depthwise) and 2 pools
  EXPECT_EQ(converted, 11);
  EXPECT_EQ(countOp(*g, "ConvNHWC"), 9);
  EXPECT_EQ(countOp(*g, "Conv"), 0);
  EXPECT_EQ(countOp(*g, "MaxPoolNHWC"), 1);
  EXPECT_EQ(countOp(*g, "AveragePoolNHWC"), 1);
  EXPECT_EQ(countOp(*g, "GlobalAveragePool"), 0);
  EXPECT_EQ(countOp(*g, "ReduceMean"), 2);
  // the image in, the exported feature map out, the pooled features before Flatten
  EXPECT_EQ(countOp(*g, "Transpose"), 3) << [&] {
    std::string s;
    for (const auto& op : opsOf(*g)) s += op + " ";
    return s;
  }();
  const ir::Node* concat = findOp(*g, "Concat");
  ASSERT_TRUE(concat);
  EXPECT_EQ(concat->attrs.getInt("axis", -1), 3);  // the channel axis, channels-last
  for (const auto& n : g->nodes) {
    if (n->op != "ConvNHWC") continue;
    const ir::Shape& x = n->inputs[0]->shape;
    const ir::Shape& w = n->inputs[1]->shape;
    ASSERT_EQ(x.size(), 4u);
    EXPECT_EQ(w.back() * n->attrs.getInt("group", 1), x.back()) << n->name;  // W is [M, kH, kW, C/group]
    EXPECT_EQ(n->outputs[0]->shape.back(), w[0]) << n->name;
    EXPECT_EQ(n->outputs[0]->dtype, DataType::kHALF);
  }
  // graph outputs keep their names, shapes (channels-first) and types
  ASSERT_EQ(g->outputs.size(), 2u);
  EXPECT_EQ(g->outputs[0]->name, "y");
  EXPECT_EQ(g->outputs[1]->name, "feat");
  EXPECT_EQ(g->outputs[1]->shape, (ir::Shape{2, 16, 4, 4}));
  EXPECT_EQ(g->outputs[1]->dtype, DataType::kFLOAT);
}

TEST(LayoutNhwc, Float32AndAsymmetricPaddingStayChannelsFirst) {
  auto g = importGraph(layout::cnnModel());
  EXPECT_EQ(passes::convertToChannelsLast(*g), 0);  // float32: nothing to gain from NHWC here
  EXPECT_EQ(countOp(*g, "Transpose"), 0);

  GraphSpec s;
  s.inputs = {valueInfo("x", FLOAT, {"1", "3", "8", "8"})};
  s.outputs = {valueInfo("y", FLOAT, {"1", "4", "8", "8"})};
  s.initializers = {randomInit("w", {4, 3, 2, 2}, 1)};
  s.nodes = {node("Conv", {"x", "w"}, {"y"}, "conv", {attrInts("pads", {0, 0, 1, 1})})};
  auto h = importGraph(modelBytes(s));
  passes::lowerFloatPrecision(*h, DataType::kHALF);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *h);
  EXPECT_EQ(passes::convertToChannelsLast(*h), 0);
  EXPECT_EQ(countOp(*h, "Conv"), 1);
}

}  // namespace kiln::test
