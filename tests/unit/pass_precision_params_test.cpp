// lowerFloatPrecision (kFP16/kBF16 GPU builds) keeps float32 parameter inputs float32: Resize's roi and
// scales given as network inputs are read by the Resize itself (not through a Cast to float16), so that the
// GPU reads them on the host like the constants it keeps float32.
#include <gtest/gtest.h>

#include "ir/op_registry.h"
#include "passes/precision.h"

namespace kiln::test {
namespace {

TEST(PrecisionPass, RuntimeResizeScalesStayFloat32NetworkInputs) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 2, 3, 4});
  ir::Value* scales = g.addValue("scales", DataType::kFLOAT, {4});
  ir::Value* bias = g.addValue("bias", DataType::kFLOAT, {4});
  g.inputs = {x, scales, bias};
  ir::Node* r = g.addNode("Resize", "resize", {x, nullptr, scales}, 1);
  ir::Node* a = g.addNode("Add", "add", {scales, bias}, 1);  // another use of scales: as data
  g.outputs = {r->outputs[0], a->outputs[0]};
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  passes::lowerFloatPrecision(g, DataType::kHALF);
  ir::Node* resize = nullptr;
  ir::Node* add = nullptr;
  for (auto& n : g.nodes) {
    if (n->op == "Resize") resize = n.get();
    if (n->op == "Add") add = n.get();
  }
  ASSERT_TRUE(resize && add);
  EXPECT_EQ(resize->inputs[2], scales);  // the network input itself, float32
  ASSERT_TRUE(resize->inputs[0]->producer);
  EXPECT_EQ(resize->inputs[0]->producer->op, "Cast");
  EXPECT_EQ(resize->inputs[0]->dtype, DataType::kHALF);
  ASSERT_TRUE(add->inputs[0]->producer);  // data uses are still cast
  EXPECT_EQ(add->inputs[0]->producer->op, "Cast");
  EXPECT_EQ(add->inputs[0]->producer->inputs[0], scales);

  // an input used only as scales gets no Cast at all
  ir::Graph h;
  ir::Value* hx = h.addValue("x", DataType::kFLOAT, {1, 1, 2, 2});
  ir::Value* hs = h.addValue("scales", DataType::kFLOAT, {4});
  h.inputs = {hx, hs};
  ir::Node* hr = h.addNode("Resize", "resize", {hx, nullptr, hs}, 1);
  h.outputs = {hr->outputs[0]};
  ir::inferGraphInPlace(ir::defaultOpRegistry(), h);
  passes::lowerFloatPrecision(h, DataType::kHALF);
  int casts = 0;
  for (auto& n : h.nodes) casts += n->op == "Cast";
  EXPECT_EQ(casts, 2);  // after x, before the output
}

}  // namespace
}  // namespace kiln::test
