// Untrusted input and limits (issue 8; docs/security.md): plans whose contents disagree with inference,
// the memory budget of the Runtime and the workspace limit of the builder, and the kernel-level fixes of
// the fuzz findings (overflow-checked window sizes, huge pooling windows, empty reductions).
#include <chrono>
#include <cstring>
#include <limits>

#include "backends/cpu/ref/nn_impl.h"
#include "engine_util.h"
#include "ir/ops/nn_common.h"
#include "plan/plan.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// x [1,64] -> MatMul W1 [64,64] -> ReLU -> MatMul W2 [64,64] -> y: 32 KiB of constants, a few activations.
struct Mlp {
  std::vector<float> w1 = randomFloats(64 * 64, 31, -0.2f, 0.2f);
  std::vector<float> w2 = randomFloats(64 * 64, 32, -0.2f, 0.2f);
  std::unique_ptr<HostMemory> plan(Logger& logger, std::size_t workspaceLimit = 0) const {
    auto builder = createBuilder(logger);
    auto net = builder->createNetwork();
    Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {1, 64}});
    auto* c1 = net->addConstant(Dims{2, {64, 64}}, floatWeights(w1));
    auto* m1 = net->addMatrixMultiply(*x, MatrixOperation::kNONE, *c1->getOutput(0), MatrixOperation::kNONE);
    auto* r = net->addActivation(*m1->getOutput(0), ActivationType::kRELU);
    auto* c2 = net->addConstant(Dims{2, {64, 64}}, floatWeights(w2));
    auto* m2 = net->addMatrixMultiply(*r->getOutput(0), MatrixOperation::kNONE, *c2->getOutput(0), MatrixOperation::kNONE);
    m2->getOutput(0)->setName("y");
    net->markOutput(*m2->getOutput(0));
    auto config = builder->createBuilderConfig();
    if (workspaceLimit) config->setMemoryPoolLimit(MemoryPoolType::kWORKSPACE, workspaceLimit);
    return builder->buildSerializedNetwork(*net, *config);
  }
};

// x [2,3] -> ReLU -> Sigmoid -> y (one activation in the arena)
std::unique_ptr<HostMemory> chainPlan(Logger& logger) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {2, 3}});
  auto* a = net->addActivation(*x, ActivationType::kRELU);
  auto* b = net->addActivation(*a->getOutput(0), ActivationType::kSIGMOID);
  b->getOutput(0)->setName("y");
  net->markOutput(*b->getOutput(0));
  return buildPlan(*builder, *net);
}

// x [2,3] -> ReLU -> Concat(r, r) on axis 0 -> y [4,3]
std::unique_ptr<HostMemory> concatPlan(Logger& logger) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {2, 3}});
  Tensor* r = net->addActivation(*x, ActivationType::kRELU)->getOutput(0);
  Tensor* both[] = {r, r};
  auto* c = net->addConcatenation(both, 2);
  c->setAxis(0);
  c->getOutput(0)->setName("y");
  net->markOutput(*c->getOutput(0));
  return buildPlan(*builder, *net);
}

//! Reads a plan, lets `edit` change its contents, and writes it again (valid header and checksum).
template <class F>
std::vector<uint8_t> rewritePlan(const HostMemory& plan, F&& edit) {
  auto keep = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(plan.data()),
                                                     static_cast<const uint8_t*>(plan.data()) + plan.size());
  plan::PlanContents c = plan::readPlan(keep->data(), keep->size(), keep);
  edit(c);
  return plan::writePlan(c);
}

std::size_t weightBytes(const Engine& engine) {
  std::string json = engine.createEngineInspector()->getEngineInformation(LayerInformationFormat::kJSON);
  auto at = json.find("\"weight_bytes\":");
  EXPECT_NE(at, std::string::npos);
  return static_cast<std::size_t>(std::stoull(json.substr(at + 15)));
}

}  // namespace

// The class of the ConcatKernel heap overflow (fuzz_plan crash-dc644b…): the caller allocates an output by
// its declared type, so a plan whose output is declared narrower than its layer computes must not load.
TEST(PlanSecurity, OutputDeclaredNarrowerThanComputedIsRefused) {
  CaptureLogger logger;
  auto plan = concatPlan(logger);
  ASSERT_NE(plan, nullptr) << logger.all();
  {
    Runtime rt(logger);
    auto e = rt.deserializeEngine(plan->data(), plan->size());
    ASSERT_NE(e, nullptr) << logger.all();
    std::vector<float> x{1, -2, 3, -4, 5, -6};
    auto out = runEngine(*e, {{"x", {Dims{2, {2, 3}}, x}}});
    EXPECT_EQ(out["y"].data, (std::vector<float>{1, 0, 3, 0, 5, 0, 1, 0, 3, 0, 5, 0}));
  }
  auto bytes = rewritePlan(*plan, [](plan::PlanContents& c) { c.graph->outputs[0]->dtype = DataType::kINT8; });
  CaptureLogger l2;
  Runtime rt(l2);
  EXPECT_EQ(rt.deserializeEngine(bytes.data(), bytes.size()), nullptr);
  EXPECT_TRUE(l2.contains("output 'y' is declared")) << l2.all();
  // an intermediate tensor stored with another type than its layer computes (kernels pick their element
  // type from the stored types) is refused too
  auto inner = rewritePlan(*plan, [](plan::PlanContents& c) {
    for (auto& n : c.graph->nodes)
      if (n->op == "Relu") {
        n->outputs[0]->dtype = DataType::kHALF;  // the reference kernel takes float16
        c.tactics[static_cast<size_t>(n->id)] = "ref";
      }
  });
  CaptureLogger l3;
  Runtime rt3(l3);
  EXPECT_EQ(rt3.deserializeEngine(inner.data(), inner.size()), nullptr);
  EXPECT_TRUE(l3.contains("is stored as")) << l3.all();
}

TEST(PlanSecurity, StoredArenaSizeIsRecomputedNotTrusted) {
  CaptureLogger logger;
  auto plan = chainPlan(logger);
  ASSERT_NE(plan, nullptr) << logger.all();
  Runtime rt(logger);
  auto good = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(good, nullptr) << logger.all();
  const std::size_t real = good->getDeviceMemorySize();
  EXPECT_GE(real, 2u * 3u * sizeof(float));  // the ReLU output lives in the arena
  EXPECT_LT(real, 1u << 20);
  auto bytes = rewritePlan(*plan, [](plan::PlanContents& c) { c.arenaBytes = uint64_t{1} << 40; });
  auto e = rt.deserializeEngine(bytes.data(), bytes.size());
  ASSERT_NE(e, nullptr) << logger.all();
  EXPECT_EQ(e->getDeviceMemorySize(), real);
  EXPECT_TRUE(logger.contains("recomputed")) << logger.all();
  // re-serializing writes the verified figure
  auto again = e->serialize();
  auto keep = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(again->data()),
                                                     static_cast<const uint8_t*>(again->data()) + again->size());
  EXPECT_LT(plan::readPlan(keep->data(), keep->size(), keep).arenaBytes, uint64_t{1} << 20);
}

TEST(MemoryBudget, RuntimeRefusesPlansAndContextsBeyondIt) {
  CaptureLogger logger;
  Mlp mlp;
  auto plan = mlp.plan(logger);
  ASSERT_NE(plan, nullptr) << logger.all();
  std::size_t weights = 0, scratch = 0;
  {
    Runtime rt(logger);
    EXPECT_EQ(rt.getMemoryBudget(), 0u);
    auto e = rt.deserializeEngine(plan->data(), plan->size());
    ASSERT_NE(e, nullptr) << logger.all();
    weights = weightBytes(*e);
    scratch = e->getDeviceMemorySize();
  }
  EXPECT_GE(weights, 2u * 64u * 64u * sizeof(float));
  EXPECT_GT(scratch, 0u);
  const std::size_t need = weights + scratch;

  {  // one byte short: the plan is refused, naming the sizes
    CaptureLogger l;
    Runtime rt(l);
    rt.setMemoryBudget(need - 1);
    EXPECT_EQ(rt.deserializeEngine(plan->data(), plan->size()), nullptr);
    EXPECT_TRUE(l.contains("memory budget of " + std::to_string(need - 1) + " bytes")) << l.all();
    EXPECT_TRUE(l.contains(std::to_string(weights) + " bytes of constants")) << l.all();
  }
  CaptureLogger l;
  Runtime rt(l);
  rt.setMemoryBudget(need);
  EXPECT_EQ(rt.getMemoryBudget(), need);
  auto e = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(e, nullptr) << l.all();
  auto c1 = e->createExecutionContext();
  ASSERT_NE(c1, nullptr) << l.all();
  std::vector<float> x = randomFloats(64, 5);
  auto out = runEngine(*e, {{"x", {Dims{2, {1, 64}}, x}}}, c1.get());
  EXPECT_EQ(out["y"].data.size(), 64u);
  // a second context would take constants + 2 contexts past the budget
  EXPECT_EQ(e->createExecutionContext(), nullptr);
  EXPECT_TRUE(l.contains("exceeds the runtime's memory budget")) << l.all();
  // the first context's memory comes back when it is destroyed
  c1.reset();
  auto c2 = e->createExecutionContext();
  EXPECT_NE(c2, nullptr) << l.all();
  // twice the budget holds two contexts
  Runtime rt2(l);
  rt2.setMemoryBudget(weights + 2 * scratch);
  auto e2 = rt2.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(e2, nullptr);
  auto a = e2->createExecutionContext(), b = e2->createExecutionContext();
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(e2->createExecutionContext(), nullptr);
}

TEST(MemoryBudget, BuilderRefusesArenaPlusScratchBeyondWorkspaceLimit) {
  CaptureLogger logger;
  Mlp mlp;
  auto plan = mlp.plan(logger, 64);
  EXPECT_EQ(plan, nullptr);
  EXPECT_TRUE(logger.contains("exceeds the workspace limit of 64 bytes")) << logger.all();
  EXPECT_TRUE(logger.contains("arena ")) << logger.all();
  CaptureLogger ok;
  EXPECT_NE(mlp.plan(ok, 256u << 20), nullptr) << ok.all();
}

// fuzz_plan crash-4cd5db83…/crash-28cd003a…: window sizes of huge extents overflowed int64.
TEST(KernelLimits, WindowGeometryProductsAreOverflowChecked) {
  cpu::nn::Geom3 g;
  g.out[0] = g.out[1] = g.out[2] = int64_t{1} << 30;
  EXPECT_THROW(g.outSize(), Error);
  g.in[0] = g.in[1] = int64_t{1} << 31;
  g.in[2] = 3;
  EXPECT_THROW(g.inSize(), Error);
  g.k[0] = 3, g.k[1] = 5, g.k[2] = 7;
  EXPECT_EQ(g.kSize(), 105);
  EXPECT_THROW(cpu::nn::checkedMul(std::numeric_limits<int64_t>::max() / 2, 3), Error);
  // SAME padding with a kernel whose effective extent overflows
  EXPECT_THROW(ir::nn::windowDim(8, std::numeric_limits<int64_t>::max() / 2, 1, 4, 0, 0, ir::nn::AutoPad::kSAME_UPPER, false),
               Error);
  auto ok = ir::nn::windowDim(8, 3, 2, 1, 0, 0, ir::nn::AutoPad::kSAME_UPPER, false);
  EXPECT_EQ(ok.out, 4);
  EXPECT_EQ(ok.padBegin + ok.padEnd, 1);
}

// fuzz_plan timeout-12cb3f14…/timeout-26ae376b…: a tiny input, a window of 2^40 taps (padded so that it
// is valid) must not take time proportional to the window.
TEST(KernelLimits, HugePoolingWindowRunsInTimeOfTheInput) {
  const int64_t k = int64_t{1} << 40;
  auto x = floatTensor({1, 1, 4}, {3.f, -1.f, 5.f, 2.f});
  ir::Attributes a;
  a.setInts("kernel_shape", {k});
  a.setInts("pads", {k, 0});  // padded input 4 + 2^40: out = 5 windows, window o covers x[0 .. o-1]
  auto t0 = std::chrono::steady_clock::now();
  auto mx = runOp("MaxPool", a, {x});
  ir::Attributes avg = a;
  auto av = runOp("AveragePool", avg, {x});
  avg.setInt("count_include_pad", 1);
  auto avp = runOp("AveragePool", avg, {x});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 5.0);
  ASSERT_EQ(mx[0]->numel(), 5);
  EXPECT_EQ(mx[0]->floatAt(0), -std::numeric_limits<float>::infinity());  // window entirely in the padding
  const float want[] = {-std::numeric_limits<float>::infinity(), 3.f, 3.f, 5.f, 5.f};
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(mx[0]->floatAt(i), want[i]) << i;
  ASSERT_EQ(av[0]->numel(), 5);
  EXPECT_TRUE(std::isnan(av[0]->floatAt(0)) || std::isinf(av[0]->floatAt(0)) || av[0]->floatAt(0) == 0.f);
  std::vector<double> got;
  for (int64_t i = 1; i < 5; ++i) got.push_back(av[0]->floatAt(i));
  EXPECT_NEAR(got[0], 3.0, 1e-6);
  EXPECT_NEAR(got[1], 1.0, 1e-6);
  EXPECT_NEAR(got[2], 7.0 / 3.0, 1e-6);
  EXPECT_NEAR(got[3], 9.0 / 4.0, 1e-6);
  // count_include_pad: every window has 2^40 taps inside the padded input
  EXPECT_NEAR(avp[0]->floatAt(4), 9.0 / static_cast<double>(k), 1e-18);
}

TEST(KernelLimits, SmallPoolingWindowsUnchanged) {
  // dilation, stride and both pads against a direct computation
  auto xv = randomFloats(11, 9);
  auto x = floatTensor({1, 1, 11}, xv);
  ir::Attributes a;
  a.setInts("kernel_shape", {3});
  a.setInts("pads", {2, 1});
  a.setInts("strides", {2});
  a.setInts("dilations", {2});
  auto y = runOp("MaxPool", a, {x});
  // out = floor((11 + 3 - 5) / 2) + 1 = 5
  ASSERT_EQ(y[0]->numel(), 5);
  for (int64_t o = 0; o < 5; ++o) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < 3; ++t) {
      int64_t i = o * 2 - 2 + t * 2;
      if (i >= 0 && i < 11) best = std::max(best, xv[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(y[0]->floatAt(o), best) << o;
  }
}

// fuzz_plan crash-8dd7d43f…: a reduction over an empty axis read through a null data pointer + offset.
TEST(KernelLimits, ReduceOverEmptyAxis) {
  auto x = floatTensor({3, 0}, {});
  auto axes = int64Tensor({1}, {1});
  ir::Attributes a;
  a.setInt("keepdims", 0);
  auto s = runOp("ReduceSum", a, {x, axes});
  ASSERT_EQ(s[0]->numel(), 3);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(s[0]->floatAt(i), 0.f);
  auto p = runOp("ReduceProd", a, {x, axes});
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(p[0]->floatAt(i), 1.f);
}

}  // namespace kiln::test
