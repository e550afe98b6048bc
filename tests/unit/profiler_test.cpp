// ExecutionContext::setProfiler: per-layer times, reported once per layer and run, in execution order.
#include <cmath>
#include <string>
#include <vector>

#include "engine_util.h"

namespace kiln::test {
namespace {

class RecordingProfiler : public IProfiler {
 public:
  void reportLayerTime(const char* layerName, float ms) noexcept override {
    names.emplace_back(layerName ? layerName : "");
    times.push_back(ms);
  }
  std::vector<std::string> names;
  std::vector<float> times;
};

//! x -> sigmoid -> (+ x) -> tanh -> y: three layers no pass fuses.
struct ThreeLayers {
  CaptureLogger logger;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Engine> engine;
  ThreeLayers() {
    auto builder = createBuilder(logger);
    auto net = builder->createNetwork();
    auto* x = net->addInput("x", DataType::kFLOAT, Dims{2, {4, 16}});
    auto* a = net->addActivation(*x, ActivationType::kSIGMOID);
    a->setName("sig");
    auto* b = net->addElementWise(*a->getOutput(0), *x, ElementWiseOperation::kSUM);
    b->setName("add");
    auto* c = net->addActivation(*b->getOutput(0), ActivationType::kTANH);
    c->setName("tanh");
    c->getOutput(0)->setName("y");
    net->markOutput(*c->getOutput(0));
    auto plan = buildPlan(*builder, *net);
    EXPECT_TRUE(plan) << logger.all();
    if (!plan) return;
    runtime = createRuntime(logger);
    engine = runtime->deserializeEngine(plan->data(), plan->size());
  }
};

}  // namespace

TEST(Profiler, ReportsEveryLayerOncePerRunInOrder) {
  ThreeLayers m;
  ASSERT_TRUE(m.engine) << m.logger.all();
  auto ctx = m.engine->createExecutionContext();
  ASSERT_TRUE(ctx);
  RecordingProfiler prof;
  ctx->setProfiler(&prof);
  EXPECT_EQ(ctx->getProfiler(), &prof);
  std::map<std::string, HostTensor> in{{"x", {Dims{2, {4, 16}}, std::vector<float>(64, 0.5f)}}};
  runEngine(*m.engine, in, ctx.get());
  const int32_t layers = m.engine->getNbLayers();
  ASSERT_EQ(static_cast<int32_t>(prof.names.size()), layers);
  // Names and order are those of the engine's layers.
  auto inspector = m.engine->createEngineInspector();
  for (int32_t i = 0; i < layers; ++i) {
    std::string info = inspector->getLayerInformation(i, LayerInformationFormat::kONELINE);
    EXPECT_EQ(info.rfind(prof.names[static_cast<size_t>(i)] + " [", 0), 0u) << info;
    EXPECT_GE(prof.times[static_cast<size_t>(i)], 0.f);
  }
  // A second run reports every layer again.
  runEngine(*m.engine, in, ctx.get());
  ASSERT_EQ(static_cast<int32_t>(prof.names.size()), 2 * layers);
  for (int32_t i = 0; i < layers; ++i) EXPECT_EQ(prof.names[static_cast<size_t>(i)], prof.names[static_cast<size_t>(layers + i)]);
  // Runs queued on a stream report too (runEngine's output buffer is gone: bind one that lives).
  std::vector<float> y(64);
  ASSERT_TRUE(ctx->setTensorAddress("y", y.data()));
  Stream stream(DeviceType::kCPU);
  ASSERT_TRUE(ctx->enqueue(stream));
  ASSERT_TRUE(stream.synchronize());
  EXPECT_EQ(static_cast<int32_t>(prof.names.size()), 3 * layers);
}

TEST(Profiler, UnsetProfilerIsNotCalled) {
  ThreeLayers m;
  ASSERT_TRUE(m.engine) << m.logger.all();
  auto ctx = m.engine->createExecutionContext();
  RecordingProfiler prof;
  ctx->setProfiler(&prof);
  std::map<std::string, HostTensor> in{{"x", {Dims{2, {4, 16}}, std::vector<float>(64, 0.25f)}}};
  runEngine(*m.engine, in, ctx.get());
  const size_t after = prof.names.size();
  EXPECT_GT(after, 0u);
  ctx->setProfiler(nullptr);
  EXPECT_EQ(ctx->getProfiler(), nullptr);
  auto out = runEngine(*m.engine, in, ctx.get());
  EXPECT_EQ(prof.names.size(), after);
  // The results are the same with and without a profiler.
  ASSERT_EQ(out["y"].data.size(), 64u);
  float expect = std::tanh(1.f / (1.f + std::exp(-0.25f)) + 0.25f);
  EXPECT_NEAR(out["y"].data[0], expect, 1e-5f);
}

}  // namespace kiln::test
