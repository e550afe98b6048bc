// kiln compare's float64 reference (backends/cpu/reference_run.h, passes/raise_to_double.h): the fp64 run
// of a float32 model against the fp32 run and against naive float64 loops in this file; an op without a
// float64 kernel (DynamicQuantizeLinear) cast around and reported; a float16 model; the pass on its own
// with a capability query that refuses an op.
#include <cmath>
#include <cstring>

#include "backends/cpu/reference_run.h"
#include "core/dtype.h"
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

double at(const ir::TensorData& t, int64_t i) { return t.floatAt(i); }

// x [2,3,5,5] -> Conv 3x3 pad 1 (4 maps, bias) -> c -> Relu -> r -> Flatten -> f [2,100] -> MatMul [100,6] -> m
// -> Softmax -> y
GraphSpec smallModel() {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"2", "3", "5", "5"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "6"})};
  g.initializers = {randomInit("w", {4, 3, 3, 3}, 11), randomInit("b", {4}, 12), randomInit("wm", {100, 6}, 13)};
  g.nodes = {node("Conv", {"x", "w", "b"}, {"c"}, "conv", {attrInts("pads", {1, 1, 1, 1})}),
             node("Relu", {"c"}, {"r"}, "relu"), node("Flatten", {"r"}, {"f"}, "flatten", {attrInt("axis", 1)}),
             node("MatMul", {"f", "wm"}, {"m"}, "mm"), node("Softmax", {"m"}, {"y"}, "softmax", {attrInt("axis", 1)})};
  return g;
}

std::vector<cpu::ReferenceInput> floatInput(const std::string& name, const std::vector<float>& v, ir::Shape shape) {
  return {{name, DataType::kFLOAT, std::move(shape), v.data(), v.size() * sizeof(float)}};
}

TEST(ReferenceFp64, AgreesWithFp32WithinFloatRoundingButNotBitwise) {
  auto model = importGraph(modelBytes(smallModel()));
  const std::vector<float> x = randomFloats(2 * 3 * 5 * 5, 21);
  auto in = floatInput("x", x, {2, 3, 5, 5});
  cpu::ReferenceRun r32 = cpu::runReference(*model, in, false);
  cpu::ReferenceRun r64 = cpu::runReference(*model, in, true);
  EXPECT_TRUE(r32.raised.reduced.empty());
  EXPECT_EQ(r32.raised.raisedNodes, 0);
  EXPECT_TRUE(r64.raised.reduced.empty()) << r64.raised.reduced[0].node << ": " << r64.raised.reduced[0].reason;
  EXPECT_EQ(r64.raised.raisedNodes, 5);
  // the model itself is not modified; the graph input keeps float32 in the fp64 run
  EXPECT_EQ(model->findValue("c")->dtype, DataType::kFLOAT);
  EXPECT_EQ(r64.graph->findValue("x")->dtype, DataType::kFLOAT);
  int64_t differing = 0;
  for (const char* name : {"c", "r", "f", "m", "y"}) {
    const ir::TensorData* a = r64.find(name);
    const ir::TensorData* b = r32.find(name);
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(a->dtype, DataType::kDOUBLE) << name;
    EXPECT_EQ(b->dtype, DataType::kFLOAT) << name;
    ASSERT_EQ(a->shape, b->shape) << name;
    for (int64_t i = 0; i < a->numel(); ++i) {
      const double d = at(*a, i), f = at(*b, i);
      // within float32 rounding of the fp64 value (plus what earlier roundings carried along)
      EXPECT_LE(std::fabs(d - f), 1e-6 * std::max(1.0, std::fabs(d))) << name << "[" << i << "]";
      if (d != f) ++differing;
    }
  }
  EXPECT_GT(differing, 100) << "the fp64 reference is bitwise the fp32 one";
}

TEST(ReferenceFp64, MatchesNaiveDoubleLoops) {
  auto model = importGraph(modelBytes(smallModel()));
  const std::vector<float> x = randomFloats(2 * 3 * 5 * 5, 22);
  cpu::ReferenceRun r64 = cpu::runReference(*model, floatInput("x", x, {2, 3, 5, 5}), true);
  cpu::ReferenceRun r32 = cpu::runReference(*model, floatInput("x", x, {2, 3, 5, 5}), false);
  const std::vector<float> w = randomFloats(4 * 3 * 3 * 3, 11), b = randomFloats(4, 12), wm = randomFloats(100 * 6, 13);
  // Conv + Relu in double
  std::vector<double> rr(2 * 4 * 25);
  for (int n = 0; n < 2; ++n)
    for (int m = 0; m < 4; ++m)
      for (int oy = 0; oy < 5; ++oy)
        for (int ox = 0; ox < 5; ++ox) {
          double s = b[m];
          for (int c = 0; c < 3; ++c)
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                int iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
                s += static_cast<double>(x[((n * 3 + c) * 5 + iy) * 5 + ix]) * w[((m * 3 + c) * 3 + ky) * 3 + kx];
              }
          rr[((n * 4 + m) * 5 + oy) * 5 + ox] = std::max(s, 0.0);
        }
  // MatMul + Softmax in double
  std::vector<double> y(12);
  for (int n = 0; n < 2; ++n) {
    double mx = -1e300, sum = 0;
    std::vector<double> mrow(6);
    for (int j = 0; j < 6; ++j) {
      double s = 0;
      for (int k = 0; k < 100; ++k) s += rr[n * 100 + k] * wm[k * 6 + j];
      mrow[j] = s;
      mx = std::max(mx, s);
    }
    for (int j = 0; j < 6; ++j) sum += std::exp(mrow[j] - mx);
    for (int j = 0; j < 6; ++j) y[n * 6 + j] = std::exp(mrow[j] - mx) / sum;
  }
  const ir::TensorData* r = r64.find("r");
  const ir::TensorData* y64 = r64.find("y");
  const ir::TensorData* y32 = r32.find("y");
  ASSERT_TRUE(r && y64 && y32);
  double errR = 0, err64 = 0, err32 = 0;
  for (int64_t i = 0; i < r->numel(); ++i) errR = std::max(errR, std::fabs(at(*r, i) - rr[static_cast<size_t>(i)]));
  for (int i = 0; i < 12; ++i) {
    err64 = std::max(err64, std::fabs(at(*y64, i) - y[i]));
    err32 = std::max(err32, std::fabs(at(*y32, i) - y[i]));
  }
  EXPECT_LT(errR, 1e-12);
  EXPECT_LT(err64, 1e-14);
  EXPECT_GT(err32, 1e-10) << "the fp32 reference should carry float32 rounding";
  EXPECT_LT(err32, 1e-6);
}

// x [2,4] -> MatMul [4,8] -> m -> DynamicQuantizeLinear -> (q, s, zp) -> DequantizeLinear -> d -> Tanh -> y
GraphSpec dynamicQuantModel() {
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"2", "4"})};
  g.outputs = {valueInfo("y", FLOAT, {"2", "8"})};
  g.initializers = {randomInit("w", {4, 8}, 31)};
  g.nodes = {node("MatMul", {"x", "w"}, {"m"}, "mm"), node("DynamicQuantizeLinear", {"m"}, {"q", "s", "zp"}, "dq"),
             node("DequantizeLinear", {"q", "s", "zp"}, {"d"}, "deq"), node("Tanh", {"d"}, {"y"}, "tanh")};
  return g;
}

TEST(ReferenceFp64, OpWithoutDoubleKernelIsCastAroundAndReported) {
  auto model = importGraph(modelBytes(dynamicQuantModel(), 13));
  const std::vector<float> x = randomFloats(8, 32);
  cpu::ReferenceRun r64 = cpu::runReference(*model, floatInput("x", x, {2, 4}), true);
  cpu::ReferenceRun r32 = cpu::runReference(*model, floatInput("x", x, {2, 4}), false);
  ASSERT_EQ(r64.raised.reduced.size(), 1u);
  const passes::ReducedNode& red = r64.raised.reduced[0];
  EXPECT_EQ(red.node, "dq");
  EXPECT_EQ(red.op, "DynamicQuantizeLinear");
  EXPECT_EQ(red.precision, DataType::kFLOAT);
  EXPECT_FALSE(red.reason.empty());
  EXPECT_EQ(red.outputs, (std::vector<std::string>{"s"}));  // its float output, cast up under its name
  EXPECT_EQ(r64.raised.raisedNodes, 3);
  // the node ran on float32 data and produced float32; "s" is that value in float64
  const ir::Node* dq = nullptr;
  for (const auto& n : r64.graph->nodes)
    if (n->name == "dq") dq = n.get();
  ASSERT_TRUE(dq);
  EXPECT_EQ(dq->inputs[0]->dtype, DataType::kFLOAT);
  ASSERT_TRUE(dq->inputs[0]->producer);
  EXPECT_EQ(dq->inputs[0]->producer->op, "Cast");
  EXPECT_EQ(dq->outputs[1]->dtype, DataType::kFLOAT);
  EXPECT_NE(dq->outputs[1]->name, "s");
  const ir::Value* s = r64.graph->findValue("s");
  ASSERT_TRUE(s && s->producer);
  EXPECT_EQ(s->producer->op, "Cast");
  EXPECT_EQ(s->dtype, DataType::kDOUBLE);
  // still computed and compared: same quantization as the fp32 run (the MatMul of 4 terms rounds to the same
  // float32), the float results in float64
  for (const char* name : {"q", "zp"}) {
    const ir::TensorData* a = r64.find(name);
    const ir::TensorData* b = r32.find(name);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->byteSize(), b->byteSize());
    EXPECT_EQ(std::memcmp(a->raw(), b->raw(), a->byteSize()), 0) << name;
  }
  for (const char* name : {"m", "s", "d", "y"}) {
    const ir::TensorData* a = r64.find(name);
    const ir::TensorData* b = r32.find(name);
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(a->dtype, DataType::kDOUBLE) << name;
    for (int64_t i = 0; i < a->numel(); ++i) EXPECT_NEAR(at(*a, i), at(*b, i), 1e-6) << name << "[" << i << "]";
  }
  EXPECT_EQ(at(*r64.find("s"), 0), at(*r32.find("s"), 0));  // computed in float32, converted exactly
}

TEST(ReferenceFp64, PassCastsAroundWhatTheQueryRefuses) {
  auto g = importGraph(modelBytes(smallModel()));
  const std::size_t before = g->nodes.size();
  auto refuseRelu = [](const ir::Node& n, std::string* why) {
    if (n.op != "Relu") return true;
    *why = "test: no double Relu";
    return false;
  };
  passes::RaiseToDoubleResult res = passes::raiseToDouble(*g, refuseRelu);
  g->verify();
  ASSERT_EQ(res.reduced.size(), 1u);
  EXPECT_EQ(res.reduced[0].node, "relu");
  EXPECT_EQ(res.reduced[0].reason, "test: no double Relu");
  EXPECT_EQ(res.reduced[0].precision, DataType::kFLOAT);
  EXPECT_EQ(res.raisedNodes, 4);
  // + Cast after x, Cast down before Relu, Cast up after it
  EXPECT_EQ(g->nodes.size(), before + 3);
  for (const auto& n : g->nodes) {
    if (n->op == "Relu") {
      EXPECT_EQ(n->inputs[0]->dtype, DataType::kFLOAT);
      EXPECT_EQ(n->outputs[0]->dtype, DataType::kFLOAT);
      EXPECT_EQ(n->inputs[0]->producer->op, "Cast");
    } else if (n->op != "Cast") {
      for (const ir::Value* v : n->outputs) EXPECT_EQ(v->dtype, DataType::kDOUBLE) << n->name;
      for (const ir::Value* v : n->inputs) EXPECT_EQ(v->dtype, DataType::kDOUBLE) << n->name;
    }
  }
  EXPECT_EQ(g->findValue("r")->dtype, DataType::kDOUBLE);
  EXPECT_EQ(g->findValue("r")->producer->op, "Cast");
  EXPECT_EQ(g->outputs[0]->name, "y");
  EXPECT_EQ(g->outputs[0]->dtype, DataType::kDOUBLE);
  EXPECT_EQ(g->inputs[0]->dtype, DataType::kFLOAT);
  // the retyped graph infers to the same types
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);
  EXPECT_EQ(g->findValue("r")->dtype, DataType::kDOUBLE);
  EXPECT_EQ(g->findValue("c")->dtype, DataType::kDOUBLE);
}

TEST(ReferenceFp64, CastToFloatInsideTheModelBecomesDouble) {
  // x float32 -> Cast(float16) -> h -> Cast(float32) -> y: the fp32 reference rounds to float16, the fp64 one
  // does not (every float type of the model becomes float64)
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT, {"4"})};
  g.outputs = {valueInfo("y", FLOAT, {"4"})};
  g.nodes = {node("Cast", {"x"}, {"h"}, "to_half", {attrInt("to", FLOAT16)}),
             node("Cast", {"h"}, {"y"}, "to_float", {attrInt("to", FLOAT)})};
  auto model = importGraph(modelBytes(g));
  const std::vector<float> x{0.1f, 1.0f / 3, 1000.7f, -2.5f};
  cpu::ReferenceRun r64 = cpu::runReference(*model, floatInput("x", x, {4}), true);
  cpu::ReferenceRun r32 = cpu::runReference(*model, floatInput("x", x, {4}), false);
  ASSERT_EQ(r64.find("h")->dtype, DataType::kDOUBLE);
  ASSERT_EQ(r32.find("h")->dtype, DataType::kHALF);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(at(*r64.find("y"), i), static_cast<double>(x[static_cast<size_t>(i)]));
    EXPECT_EQ(at(*r32.find("y"), i), static_cast<double>(halfToFloat(floatToHalf(x[static_cast<size_t>(i)]))));
  }
}

TEST(ReferenceFp64, Float16ModelRunsInDouble) {
  // x float16 [3,8] -> MatMul w [8,5] -> Add b [5] -> y, all float16
  std::vector<float> wf = randomFloats(40, 41), bf = randomFloats(5, 42), xf = randomFloats(24, 43);
  auto halves = [](std::vector<float>& v) {
    std::vector<uint16_t> h;
    for (float& f : v) {
      h.push_back(floatToHalf(f));
      f = halfToFloat(h.back());  // the values the model really holds
    }
    return h;
  };
  std::vector<uint16_t> wh = halves(wf), bh = halves(bf), xh = halves(xf);
  GraphSpec g;
  g.inputs = {valueInfo("x", FLOAT16, {"3", "8"})};
  g.outputs = {valueInfo("y", FLOAT16, {"3", "5"})};
  g.initializers = {tensorRaw("w", FLOAT16, {8, 5}, wh), tensorRaw("b", FLOAT16, {5}, bh)};
  g.nodes = {node("MatMul", {"x", "w"}, {"m"}, "mm"), node("Add", {"m", "b"}, {"y"}, "add")};
  auto model = importGraph(modelBytes(g));
  std::vector<cpu::ReferenceInput> in{{"x", DataType::kHALF, {3, 8}, xh.data(), xh.size() * 2}};
  cpu::ReferenceRun r64 = cpu::runReference(*model, in, true);
  cpu::ReferenceRun r16 = cpu::runReference(*model, in, false);
  EXPECT_TRUE(r64.raised.reduced.empty());
  const ir::TensorData* y64 = r64.find("y");
  const ir::TensorData* y16 = r16.find("y");
  ASSERT_TRUE(y64 && y16);
  EXPECT_EQ(y64->dtype, DataType::kDOUBLE);
  EXPECT_EQ(y16->dtype, DataType::kHALF);
  double err16 = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = 0;
      for (int k = 0; k < 8; ++k) s += static_cast<double>(xf[i * 8 + k]) * wf[k * 5 + j];
      s += bf[j];
      EXPECT_NEAR(at(*y64, i * 5 + j), s, 1e-12);
      err16 = std::max(err16, std::fabs(at(*y16, i * 5 + j) - s));
    }
  EXPECT_GT(err16, 1e-6);  // the float16 reference rounds
  EXPECT_LT(err16, 1e-2);
}

}  // namespace
}  // namespace kiln::test
