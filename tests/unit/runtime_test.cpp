// Runtime behaviour: contexts, dynamic shapes and profiles, streams, misuse.
#include <atomic>
#include <cstring>
#include <thread>

#include "engine_util.h"

namespace kiln::test {
namespace {

struct DynamicIdentity {
  CaptureLogger logger;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Runtime> runtime;
  explicit DynamicIdentity(bool withProfile = true) {
    auto builder = createBuilder(logger);
    auto net = builder->createNetwork();
    auto* x = net->addInput("x", DataType::kFLOAT, Dims{2, {-1, 4}});
    auto* y = net->addIdentity(*x)->getOutput(0);
    y->setName("y");
    net->markOutput(*y);
    auto config = builder->createBuilderConfig();
    if (withProfile) {
      auto profile = builder->createOptimizationProfile();
      profile->setDimensions("x", OptProfileSelector::kMIN, Dims{2, {1, 4}});
      profile->setDimensions("x", OptProfileSelector::kOPT, Dims{2, {4, 4}});
      profile->setDimensions("x", OptProfileSelector::kMAX, Dims{2, {8, 4}});
      EXPECT_EQ(config->addOptimizationProfile(profile.get()), 0);
    }
    auto plan = builder->buildSerializedNetwork(*net, *config);
    if (!plan) return;
    runtime = createRuntime(logger);
    engine = runtime->deserializeEngine(plan->data(), plan->size());
  }
};

}  // namespace

TEST(Runtime, DynamicShapesWithinProfile) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr) << m.logger.all();
  EXPECT_EQ(m.engine->getTensorShape("x"), (Dims{2, {-1, 4}}));
  EXPECT_EQ(m.engine->getProfileShape("x", 0, OptProfileSelector::kMAX), (Dims{2, {8, 4}}));
  auto ctx = m.engine->createExecutionContext();
  EXPECT_FALSE(ctx->allInputDimensionsSpecified());
  for (int64_t n : {1, 3, 8, 2}) {
    std::vector<float> in(static_cast<size_t>(n * 4));
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.5f + static_cast<float>(n);
    auto out = runEngine(*m.engine, {{"x", {Dims{2, {n, 4}}, in}}}, ctx.get());
    EXPECT_EQ(out["y"].dims, (Dims{2, {n, 4}}));
    EXPECT_EQ(out["y"].data, in);
  }
}

TEST(Runtime, ShapeOutsideProfileIsRefused) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  auto ctx = m.engine->createExecutionContext();
  EXPECT_FALSE(ctx->setInputShape("x", Dims{2, {9, 4}}));
  EXPECT_TRUE(m.logger.contains("outside the optimization profile"));
  EXPECT_FALSE(ctx->setInputShape("x", Dims{2, {2, 5}}));
  EXPECT_TRUE(m.logger.contains("fixed at 4"));
  EXPECT_FALSE(ctx->setInputShape("x", Dims{3, {2, 4, 1}}));
  EXPECT_FALSE(ctx->setInputShape("nope", Dims{2, {2, 4}}));
  EXPECT_FALSE(ctx->setInputShape(nullptr, Dims{2, {2, 4}}));
  EXPECT_TRUE(ctx->setInputShape("x", Dims{2, {8, 4}}));
}

TEST(Runtime, DynamicInputWithoutProfileFailsNamingIt) {
  DynamicIdentity m(false);
  EXPECT_EQ(m.engine, nullptr);
  EXPECT_TRUE(m.logger.contains("input 'x'")) << m.logger.all();
  EXPECT_TRUE(m.logger.contains("optimization profile")) << m.logger.all();
}

TEST(Runtime, MisuseGivesErrorsNotCrashes) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  auto ctx = m.engine->createExecutionContext();
  EXPECT_FALSE(ctx->execute());  // shape not set
  EXPECT_TRUE(m.logger.contains("setInputShape"));
  EXPECT_TRUE(ctx->setInputShape("x", Dims{2, {2, 4}}));
  EXPECT_FALSE(ctx->execute());  // addresses not set
  EXPECT_TRUE(m.logger.contains("no address set"));
  EXPECT_FALSE(ctx->setTensorAddress("x", nullptr));
  EXPECT_FALSE(ctx->setTensorAddress("zz", reinterpret_cast<void*>(16)));
  EXPECT_FALSE(ctx->executeV2(nullptr));
  EXPECT_EQ(ctx->getTensorShape("nope").nbDims, -1);
  EXPECT_EQ(m.engine->getIOTensorName(7), nullptr);
  EXPECT_EQ(m.engine->getTensorShape("nope").nbDims, -1);
}

TEST(Runtime, ExecuteV2ByBindingIndex) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  auto ctx = m.engine->createExecutionContext();
  ASSERT_TRUE(ctx->setInputShape("x", Dims{2, {1, 4}}));
  std::vector<float> in{1, 2, 3, 4}, out(4, 0);
  void* bindings[] = {in.data(), out.data()};
  EXPECT_TRUE(m.engine->bindingIsInput(0));
  EXPECT_FALSE(m.engine->bindingIsInput(1));
  ASSERT_TRUE(ctx->executeV2(bindings));
  EXPECT_EQ(out, in);
}

TEST(Runtime, EnqueueOnStreamWithEventsAndCopies) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  auto ctx = m.engine->createExecutionContext();
  ASSERT_TRUE(ctx->setInputShape("x", Dims{2, {8, 4}}));
  Buffer hostIn(32 * 4, MemoryKind::kPAGELOCKED), hostOut(32 * 4, MemoryKind::kPAGELOCKED);
  Buffer devIn(32 * 4, MemoryKind::kDEVICE), devOut(32 * 4, MemoryKind::kDEVICE);
  auto* hi = static_cast<float*>(hostIn.data());
  for (int i = 0; i < 32; ++i) hi[i] = static_cast<float>(i * i);
  Stream stream;
  Event start, end;
  ASSERT_TRUE(ctx->setTensorAddress("x", devIn.data()));
  ASSERT_TRUE(ctx->setTensorAddress("y", devOut.data()));
  start.record(stream);
  ASSERT_TRUE(memcpyAsync(devIn.data(), hostIn.data(), hostIn.size(), stream));
  ASSERT_TRUE(ctx->enqueue(stream));
  ASSERT_TRUE(memcpyAsync(hostOut.data(), devOut.data(), devOut.size(), stream));
  end.record(stream);
  // while work is queued, changing the shape is refused
  EXPECT_FALSE(ctx->setInputShape("x", Dims{2, {2, 4}}) && !stream.query());
  ASSERT_TRUE(stream.synchronize());
  end.synchronize();
  EXPECT_GE(Event::elapsedTime(start, end), 0.f);
  EXPECT_EQ(std::memcmp(hostOut.data(), hostIn.data(), hostIn.size()), 0);
}

TEST(Runtime, TwoThreadsOwnContextsIdenticalResults) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  std::vector<float> in(32);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) / 7.f;
  auto reference = runEngine(*m.engine, {{"x", {Dims{2, {8, 4}}, in}}})["y"].data;
  std::atomic<int> mismatches{0}, failures{0};
  auto worker = [&] {
    auto ctx = m.engine->createExecutionContext();
    std::vector<float> out(32);
    if (!ctx->setInputShape("x", Dims{2, {8, 4}}) || !ctx->setTensorAddress("x", in.data()) ||
        !ctx->setTensorAddress("y", out.data())) {
      ++failures;
      return;
    }
    for (int i = 0; i < 1000; ++i) {
      std::fill(out.begin(), out.end(), -1.f);
      if (!ctx->execute()) ++failures;
      if (out != reference) ++mismatches;
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Runtime, ContextOutlivesEngineObject) {
  DynamicIdentity m;
  ASSERT_NE(m.engine, nullptr);
  auto ctx = m.engine->createExecutionContext();
  m.engine.reset();
  std::vector<float> in{1, 2, 3, 4}, out(4);
  ASSERT_TRUE(ctx->setInputShape("x", Dims{2, {1, 4}}));
  ASSERT_TRUE(ctx->setTensorAddress("x", in.data()));
  ASSERT_TRUE(ctx->setTensorAddress("y", out.data()));
  EXPECT_TRUE(ctx->execute());
  EXPECT_EQ(out, in);
}

TEST(Builder, NetworkWithoutOutputsFails) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  net->addInput("x", DataType::kFLOAT, Dims{1, {3}});
  EXPECT_EQ(buildPlan(*builder, *net), nullptr);
  EXPECT_TRUE(logger.contains("no outputs"));
}

TEST(Builder, NetworkCanBeDestroyedAfterBuild) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  std::unique_ptr<HostMemory> plan;
  {
    auto net = builder->createNetwork();
    auto* x = net->addInput("x", DataType::kFLOAT, Dims{1, {3}});
    net->markOutput(*net->addIdentity(*x)->getOutput(0));
    plan = buildPlan(*builder, *net);
  }
  builder.reset();
  ASSERT_NE(plan, nullptr);
  Runtime rt(logger);
  EXPECT_NE(rt.deserializeEngine(plan->data(), plan->size()), nullptr);
}

TEST(Logger, ThresholdAndDefaultSink) {
  CaptureLogger logger;
  logger.setMinSeverity(Severity::kERROR);
  EXPECT_TRUE(logger.enabled(Severity::kERROR));
  EXPECT_TRUE(logger.enabled(Severity::kINTERNAL_ERROR));
  EXPECT_FALSE(logger.enabled(Severity::kWARNING));
  Logger plain(Severity::kWARNING);
  EXPECT_EQ(plain.getMinSeverity(), Severity::kWARNING);
  testing::internal::CaptureStderr();
  plain.log(Severity::kWARNING, "hello");
  EXPECT_NE(testing::internal::GetCapturedStderr().find("[kiln] [W] hello"), std::string::npos);
}

}  // namespace kiln::test

namespace kiln::test {

// Shapes that depend on the values of a small integer input (TensorRT's shape tensors): Reshape(x, shape)
// with `shape` a network input. The values are read from the input's address.
TEST(Runtime, ShapesFromInputValues) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {2, 6}});
  Tensor* shape = net->addInput("shape", DataType::kINT64, Dims{1, {3}});
  auto* r = net->addShuffle(*x);
  r->setInput(1, *shape);
  r->getOutput(0)->setName("y");
  net->markOutput(*r->getOutput(0));
  auto plan = buildPlan(*builder, *net);
  ASSERT_NE(plan, nullptr) << logger.all();
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(engine, nullptr) << logger.all();
  auto ctx = engine->createExecutionContext();
  std::vector<float> in(12);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  std::vector<float> out(12, -1.f);
  ASSERT_TRUE(ctx->setTensorAddress("x", in.data()));
  // without the value input's address the output shape cannot be known: a clear error
  EXPECT_EQ(ctx->getTensorShape("y").nbDims, -1);
  EXPECT_TRUE(logger.contains("depend on the values of input 'shape'")) << logger.all();
  std::vector<int64_t> s1{3, 2, 2};
  ASSERT_TRUE(ctx->setTensorAddress("shape", s1.data()));
  EXPECT_EQ(ctx->getTensorShape("y"), (Dims{3, {3, 2, 2}}));
  ASSERT_TRUE(ctx->setTensorAddress("y", out.data()));
  ASSERT_TRUE(ctx->execute());
  EXPECT_EQ(out, in);
  // new values in the same buffer: new output shape
  s1 = {4, 3, 1};
  EXPECT_EQ(ctx->getTensorShape("y"), (Dims{3, {4, 3, 1}}));
  ASSERT_TRUE(ctx->execute());
  EXPECT_EQ(out, in);
}

}  // namespace kiln::test
