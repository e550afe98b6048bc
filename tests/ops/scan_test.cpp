// Tests of Scan (nested body graph run by the reference kernel): running sums over axis 0 and 1, reverse
// directions, a captured value, and inconsistent nodes.
#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {
namespace {

//! body(sum_in, next[, extra]) -> (sum_out = sum_in + next [* extra], scan_out = sum_out)
std::shared_ptr<const ir::Graph> sumBody(const ir::Shape& s, bool withExtra) {
  auto g = std::make_shared<ir::Graph>();
  ir::Value* a = g->addValue("sum_in", DataType::kFLOAT, s);
  ir::Value* b = g->addValue("next", DataType::kFLOAT, s);
  g->inputs = {a, b};
  ir::Value* term = b;
  if (withExtra) {
    ir::Value* e = g->addValue("extra", DataType::kFLOAT, s);
    g->inputs.push_back(e);
    term = g->addNode("Mul", "mul", {b, e}, 1)->outputs[0];
  }
  ir::Node* add = g->addNode("Add", "add", {a, term}, 1);
  ir::Node* id = g->addNode("Identity", "id", {add->outputs[0]}, 1);
  g->outputs = {add->outputs[0], id->outputs[0]};
  return g;
}

TEST(ScanOp, RunningSumAxis0) {
  ir::Attributes a;
  a.setGraph("body", sumBody({2}, false));
  a.setInt("num_scan_inputs", 1);
  auto out = runOp("Scan", a, {floatTensor({2}, {0, 0}), floatTensor({3, 2}, {1, 2, 3, 4, 5, 6})}, 2);
  expectCloseValues(*out[0], {9, 12});
  EXPECT_EQ(ir::shapeToString(out[1]->shape), ir::shapeToString(ir::Shape{3, 2}));
  expectCloseValues(*out[1], {1, 2, 4, 6, 9, 12});
}

TEST(ScanOp, ReverseDirectionsAxis1AndCapturedValue) {
  ir::Attributes a;
  a.setGraph("body", sumBody({2}, true));
  a.setInt("num_scan_inputs", 1);
  a.setInt("num_captured", 1);
  a.setInts("scan_input_axes", {1});
  a.setInts("scan_input_directions", {1});
  a.setInts("scan_output_axes", {-1});
  a.setInts("scan_output_directions", {1});
  // x [2, 3]: scanned along axis 1 from the end; extra = [10, 100]
  auto out = runOp("Scan", a, {floatTensor({2}, {0, 0}), floatTensor({2, 3}, {1, 2, 3, 4, 5, 6}), floatTensor({2}, {10, 100})}, 2);
  // t=0 reads column 2: (30, 600); t=1 column 1: (50, 1100); t=2 column 0: (60, 1500)
  expectCloseValues(*out[0], {60, 1500});
  // scan output written in reverse along its last axis: position 2 <- t=0, 1 <- t=1, 0 <- t=2
  EXPECT_EQ(ir::shapeToString(out[1]->shape), ir::shapeToString(ir::Shape{2, 3}));
  expectCloseValues(*out[1], {60, 50, 30, 1500, 1100, 600});
}

TEST(ScanOp, Errors) {
  auto init = floatTensor({2}, {0, 0});
  auto x = floatTensor({3, 2}, {1, 2, 3, 4, 5, 6});
  ir::Attributes noBody;
  noBody.setInt("num_scan_inputs", 1);
  EXPECT_THROW(runOp("Scan", noBody, {init, x}, 2), Error);
  ir::Attributes a;
  a.setGraph("body", sumBody({2}, false));
  a.setInt("num_scan_inputs", 0);
  EXPECT_THROW(runOp("Scan", a, {init, x}, 2), Error);
  a.setInt("num_scan_inputs", 1);
  EXPECT_THROW(runOp("Scan", a, {init, x}, 3), Error);                          // body has 2 outputs
  EXPECT_THROW(runOp("Scan", a, {init, x, init}, 2), Error);                    // body has 2 inputs
  a.setInts("scan_input_axes", {2});
  EXPECT_THROW(runOp("Scan", a, {init, x}, 2), Error);                          // axis out of range
  a.setInts("scan_input_axes", {0});
  a.setInts("scan_output_directions", {2});
  EXPECT_THROW(runOp("Scan", a, {init, x}, 2), Error);
  ir::Attributes b;
  b.setGraph("body", sumBody({2}, false));
  b.setInt("num_scan_inputs", 1);
  EXPECT_THROW(runOp("Scan", b, {floatTensor({3}, {0, 0, 0}), x}, 2), Error);  // state [3] + slice [2]
}

//! A branch reading the captured x: op(x, x).
std::shared_ptr<const ir::Graph> branch(const char* op) {
  auto g = std::make_shared<ir::Graph>();
  ir::Value* x = g->addValue("x", DataType::kFLOAT, {3});
  g->inputs = {x};
  g->outputs = {g->addNode(op, "n", {x, x}, 1)->outputs[0]};
  return g;
}

TEST(IfOp, RunsTheTakenBranch) {
  ir::Attributes a;
  a.setGraph("then_branch", branch("Add"));
  a.setGraph("else_branch", branch("Mul"));
  auto x = floatTensor({3}, {1, 2, 3});
  expectCloseValues(*runOp("If", a, {typedTensor<bool>({}, {1}), x})[0], {2, 4, 6});
  expectCloseValues(*runOp("If", a, {typedTensor<bool>({1}, {0}), x})[0], {1, 4, 9});
  // errors: a two-element condition, a missing branch, a branch with the wrong number of inputs
  EXPECT_THROW(runOp("If", a, {typedTensor<bool>({2}, {0, 1}), x}), Error);
  ir::Attributes noElse;
  noElse.setGraph("then_branch", branch("Add"));
  EXPECT_THROW(runOp("If", noElse, {typedTensor<bool>({}, {1}), x}), Error);
  EXPECT_THROW(runOp("If", a, {typedTensor<bool>({}, {1}), x, x}), Error);
}

}  // namespace
}  // namespace kiln::test
