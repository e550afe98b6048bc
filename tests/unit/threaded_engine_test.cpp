// Engines on the CPU with BuilderConfig::setNbThreads: the same network gives the same results with 1, 2
// and 3 threads per context, and 8 contexts of a 2-thread engine run at once on 8 threads (each context
// owns its pool) without deadlock and with the right results.
#include <random>
#include <thread>

#include "engine_util.h"

namespace kiln::test {
namespace {

struct ConvNet {
  CaptureLogger logger;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Engine> engine;
  std::vector<float> w1, b1, w2, w3;

  explicit ConvNet(int threads) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(-0.3f, 0.3f);
    auto fill = [&](std::vector<float>& v, size_t n) {
      v.resize(n);
      for (float& x : v) x = d(rng);
    };
    fill(w1, 32 * 8 * 3 * 3);
    fill(b1, 32);
    fill(w2, 32 * 1 * 3 * 3);  // depthwise
    fill(w3, 16 * 32);         // 1x1
    auto builder = createBuilder(logger);
    auto net = builder->createNetwork();
    auto* x = net->addInput("x", DataType::kFLOAT, Dims{4, {1, 8, 20, 20}});
    auto* c1 = net->addConvolutionNd(*x, 32, Dims{2, {3, 3}}, floatWeights(w1), floatWeights(b1));
    c1->setPaddingNd(Dims{2, {1, 1}});
    auto* r1 = net->addActivation(*c1->getOutput(0), ActivationType::kRELU);
    auto* c2 = net->addConvolutionNd(*r1->getOutput(0), 32, Dims{2, {3, 3}}, floatWeights(w2), Weights{DataType::kFLOAT, nullptr, 0});
    c2->setPaddingNd(Dims{2, {1, 1}});
    c2->setStrideNd(Dims{2, {2, 2}});
    c2->setNbGroups(32);
    auto* c3 = net->addConvolutionNd(*c2->getOutput(0), 16, Dims{2, {1, 1}}, floatWeights(w3), Weights{DataType::kFLOAT, nullptr, 0});
    auto* s = net->addSoftMax(*c3->getOutput(0));
    auto* y = s->getOutput(0);
    y->setName("y");
    net->markOutput(*y);
    auto config = builder->createBuilderConfig();
    config->setNbThreads(threads);
    auto plan = builder->buildSerializedNetwork(*net, *config);
    if (!plan) return;
    runtime = createRuntime(logger);
    engine = runtime->deserializeEngine(plan->data(), plan->size());
  }
};

std::vector<float> input(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(8 * 20 * 20);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

TEST(ThreadedEngine, ThreadCountsAgree) {
  ConvNet one(1);
  ASSERT_NE(one.engine, nullptr) << one.logger.all();
  const auto x = input(11);
  auto ref = runEngine(*one.engine, {{"x", {Dims{4, {1, 8, 20, 20}}, x}}});
  ASSERT_EQ(ref["y"].data.size(), 16u * 10 * 10);
  for (int threads : {2, 3, 0}) {
    ConvNet m(threads);
    ASSERT_NE(m.engine, nullptr) << m.logger.all();
    auto out = runEngine(*m.engine, {{"x", {Dims{4, {1, 8, 20, 20}}, x}}});
    ASSERT_EQ(out["y"].data.size(), ref["y"].data.size());
    for (size_t i = 0; i < out["y"].data.size(); ++i)
      ASSERT_NEAR(out["y"].data[i], ref["y"].data[i], 1e-5) << threads << " threads, element " << i;
  }
}

TEST(ThreadedEngine, ManyContextsOnManyThreads) {
  ConvNet m(2);
  ASSERT_NE(m.engine, nullptr) << m.logger.all();
  constexpr int kThreads = 8;
  std::vector<std::vector<float>> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(input(100 + static_cast<uint32_t>(t)));
    expected.push_back(runEngine(*m.engine, {{"x", {Dims{4, {1, 8, 20, 20}}, inputs.back()}}})["y"].data);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      auto ctx = m.engine->createExecutionContext();
      std::vector<float> y(expected[static_cast<size_t>(t)].size());
      ctx->setInputShape("x", Dims{4, {1, 8, 20, 20}});
      ctx->setTensorAddress("x", inputs[static_cast<size_t>(t)].data());
      ctx->setTensorAddress("y", y.data());
      for (int it = 0; it < 20; ++it) {
        if (!ctx->execute()) failures.fetch_add(1);
        for (size_t i = 0; i < y.size(); ++i)
          if (std::fabs(y[i] - expected[static_cast<size_t>(t)][i]) > 1e-5f) {
            failures.fetch_add(1);
            break;
          }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace kiln::test
