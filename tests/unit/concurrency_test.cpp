// Concurrency (issue 8): one Engine per model shared by 8 threads, each with its own ExecutionContext,
// every output bitwise identical to a single-threaded run; one context used from two threads at once is
// refused, not corrupted.
//
// The number of inferences (all threads, all models together) is KILN_CONCURRENCY_RUNS (default 20000, which
// keeps the test to a few seconds on 2 cores; the figure is KILN_CONCURRENCY_RUNS=100000).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "engine_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {

//! A model with one float input (dynamic batch through a profile when minBatch < maxBatch) and one float output.
struct Model {
  std::string name;
  std::unique_ptr<Engine> engine;
  std::string in, out;
  Dims inDims;  //!< with batch extent 0: replaced per case
  int64_t minBatch{1}, maxBatch{1};
};

//! Keeps weight arrays alive while the network is built.
struct WeightStore {
  std::vector<std::vector<float>> arrays;
  Weights add(int64_t n, uint32_t seed, float scale) {
    arrays.push_back(randomFloats(n, seed, -scale, scale));
    return floatWeights(arrays.back());
  }
};

std::unique_ptr<Engine> build(Logger& logger, Runtime& rt, NetworkDefinition& net, Builder& builder, const char* in,
                              Dims minD, Dims optD, Dims maxD, int32_t threads) {
  auto config = builder.createBuilderConfig();
  config->setNbThreads(threads);
  if (!(minD == maxD)) {
    auto profile = builder.createOptimizationProfile();
    profile->setDimensions(in, OptProfileSelector::kMIN, minD);
    profile->setDimensions(in, OptProfileSelector::kOPT, optD);
    profile->setDimensions(in, OptProfileSelector::kMAX, maxD);
    EXPECT_EQ(config->addOptimizationProfile(profile.get()), 0);
  }
  auto plan = builder.buildSerializedNetwork(net, *config);
  if (!plan) return nullptr;
  (void)logger;
  return rt.deserializeEngine(plan->data(), plan->size());
}

// image [N,3,12,12] -> conv 3x3 pad 1 (8) + relu -> maxpool 2 -> conv 3x3 (8) + relu -> avgpool 2
// -> reshape [N, 8*2*2] -> matmul [32,10] + bias -> softmax. N in 1..4; the context's own thread pool.
Model cnn(Logger& logger, Runtime& rt) {
  Model m{"cnn", nullptr, "image", "probs", Dims{4, {0, 3, 12, 12}}, 1, 4};
  WeightStore w;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("image", DataType::kFLOAT, Dims{4, {-1, 3, 12, 12}});
  auto* c1 = net->addConvolution(*x, 8, Dims{2, {3, 3}}, w.add(8 * 3 * 9, 101, 0.4f), w.add(8, 102, 0.1f));
  c1->setPadding(Dims{2, {1, 1}});
  auto* r1 = net->addActivation(*c1->getOutput(0), ActivationType::kRELU);
  auto* p1 = net->addPooling(*r1->getOutput(0), PoolingType::kMAX, Dims{2, {2, 2}});
  p1->setStride(Dims{2, {2, 2}});
  auto* c2 = net->addConvolution(*p1->getOutput(0), 8, Dims{2, {3, 3}}, w.add(8 * 8 * 9, 103, 0.2f), w.add(8, 104, 0.1f));
  auto* r2 = net->addActivation(*c2->getOutput(0), ActivationType::kRELU);
  auto* p2 = net->addPooling(*r2->getOutput(0), PoolingType::kAVERAGE, Dims{2, {2, 2}});
  p2->setStride(Dims{2, {2, 2}});
  auto* flat = net->addShuffle(*p2->getOutput(0));
  flat->setReshapeDimensions(Dims{2, {-1, 32}});
  auto* fc = net->addConstant(Dims{2, {32, 10}}, w.add(320, 105, 0.3f));
  auto* mm = net->addMatrixMultiply(*flat->getOutput(0), MatrixOperation::kNONE, *fc->getOutput(0), MatrixOperation::kNONE);
  auto* b = net->addConstant(Dims{2, {1, 10}}, w.add(10, 106, 0.1f));
  auto* add = net->addElementWise(*mm->getOutput(0), *b->getOutput(0), ElementWiseOperation::kSUM);
  auto* sm = net->addSoftMax(*add->getOutput(0));
  sm->setAxes(1u << 1);
  sm->getOutput(0)->setName("probs");
  net->markOutput(*sm->getOutput(0));
  m.engine = build(logger, rt, *net, *builder, "image", Dims{4, {1, 3, 12, 12}}, Dims{4, {2, 3, 12, 12}},
                   Dims{4, {4, 3, 12, 12}}, 0);
  return m;
}

// A transformer-ish block on x [B,32]: attention without heads (softmax(x Wq x^T) x) + residual, then an
// MLP (32 -> 64 GELU -> 32) + residual. B in 1..8; one thread per context.
Model block(Logger& logger, Runtime& rt) {
  Model m{"block", nullptr, "x", "y", Dims{2, {0, 32}}, 1, 8};
  WeightStore w;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {-1, 32}});
  auto* wq = net->addConstant(Dims{2, {32, 32}}, w.add(32 * 32, 201, 0.2f));
  auto* q = net->addMatrixMultiply(*x, MatrixOperation::kNONE, *wq->getOutput(0), MatrixOperation::kNONE);
  auto* scores = net->addMatrixMultiply(*q->getOutput(0), MatrixOperation::kNONE, *x, MatrixOperation::kTRANSPOSE);
  auto* attn = net->addSoftMax(*scores->getOutput(0));
  attn->setAxes(1u << 1);
  auto* ctx = net->addMatrixMultiply(*attn->getOutput(0), MatrixOperation::kNONE, *x, MatrixOperation::kNONE);
  auto* h = net->addElementWise(*ctx->getOutput(0), *x, ElementWiseOperation::kSUM);
  auto* w1 = net->addConstant(Dims{2, {32, 64}}, w.add(32 * 64, 202, 0.2f));
  auto* b1 = net->addConstant(Dims{2, {1, 64}}, w.add(64, 203, 0.1f));
  auto* m1 = net->addMatrixMultiply(*h->getOutput(0), MatrixOperation::kNONE, *w1->getOutput(0), MatrixOperation::kNONE);
  auto* a1 = net->addElementWise(*m1->getOutput(0), *b1->getOutput(0), ElementWiseOperation::kSUM);
  auto* g = net->addActivation(*a1->getOutput(0), ActivationType::kGELU);
  auto* w2 = net->addConstant(Dims{2, {64, 32}}, w.add(64 * 32, 204, 0.2f));
  auto* m2 = net->addMatrixMultiply(*g->getOutput(0), MatrixOperation::kNONE, *w2->getOutput(0), MatrixOperation::kNONE);
  auto* y = net->addElementWise(*m2->getOutput(0), *h->getOutput(0), ElementWiseOperation::kSUM);
  y->getOutput(0)->setName("y");
  net->markOutput(*y->getOutput(0));
  m.engine = build(logger, rt, *net, *builder, "x", Dims{2, {1, 32}}, Dims{2, {4, 32}}, Dims{2, {8, 32}}, 1);
  return m;
}

//! One input case of a model: its shape, data, and the single-threaded output.
struct Case {
  const Model* model;
  Dims dims;
  std::vector<float> input;
  std::vector<float> expected;
};

bool runCase(ExecutionContext& ctx, const Case& c, std::vector<float>& out) {
  const Model& m = *c.model;
  if (!ctx.setInputShape(m.in.c_str(), c.dims) || !ctx.setInputTensorAddress(m.in.c_str(), c.input.data())) return false;
  Dims od = ctx.getTensorShape(m.out.c_str());
  if (od.nbDims < 0) return false;
  out.assign(static_cast<size_t>(volume(od)), -7.f);
  return ctx.setTensorAddress(m.out.c_str(), out.data()) && ctx.execute();
}

int64_t runsFromEnv() {
  const char* s = std::getenv("KILN_CONCURRENCY_RUNS");
  int64_t n = s ? std::atoll(s) : 0;
  return n > 0 ? n : 20000;
}

}  // namespace

TEST(Concurrency, EightThreadsOwnContextsBitwiseIdentical) {
  CaptureLogger logger;
  Runtime rt(logger);
  std::vector<Model> models;
  models.push_back(cnn(logger, rt));
  models.push_back(block(logger, rt));
  for (const Model& m : models) ASSERT_NE(m.engine, nullptr) << m.name << ": " << logger.all();

  // Cases: every batch size of each model, distinct data; expected outputs from one context, one thread.
  std::vector<Case> cases;
  uint32_t seed = 1000;
  for (const Model& m : models)
    for (int64_t b = m.minBatch; b <= m.maxBatch; ++b) {
      Case c{&m, m.inDims, {}, {}};
      c.dims.d[0] = b;
      c.input = randomFloats(volume(c.dims), seed++, -2.f, 2.f);
      cases.push_back(std::move(c));
    }
  for (const Model& m : models) {
    auto ctx = m.engine->createExecutionContext();
    ASSERT_NE(ctx, nullptr);
    for (Case& c : cases)
      if (c.model == &m) ASSERT_TRUE(runCase(*ctx, c, c.expected)) << m.name << ": " << logger.all();
  }
  // The expected outputs are not trivial (no constant output hiding a broken comparison).
  for (const Case& c : cases) {
    ASSERT_FALSE(c.expected.empty());
    EXPECT_NE(c.expected.front(), c.expected.back()) << c.model->name;
  }

  const int kThreads = 8;
  const int64_t total = runsFromEnv();
  std::atomic<int64_t> next{0}, done{0}, mismatches{0}, failures{0};
  auto t0 = std::chrono::steady_clock::now();
  auto worker = [&](int t) {
    // each thread owns one context per model, and walks the cases in its own order
    std::vector<std::unique_ptr<ExecutionContext>> ctxs;
    for (const Model& m : models) ctxs.push_back(m.engine->createExecutionContext());
    for (auto& c : ctxs)
      if (!c) {
        ++failures;
        return;
      }
    std::vector<float> out;
    for (int64_t i = next.fetch_add(1); i < total; i = next.fetch_add(1)) {
      const Case& c = cases[static_cast<size_t>((i * 7 + t) % static_cast<int64_t>(cases.size()))];
      ExecutionContext& ctx = *ctxs[c.model == &models[0] ? 0 : 1];
      if (!runCase(ctx, c, out)) {
        ++failures;
        continue;
      }
      if (out.size() != c.expected.size() || std::memcmp(out.data(), c.expected.data(), out.size() * sizeof(float)) != 0)
        ++mismatches;
      ++done;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ concurrency ] %lld inferences on %d threads (%zu cases, 2 models) in %.2f s\n",
              static_cast<long long>(done.load()), kThreads, cases.size(), secs);
  EXPECT_EQ(failures.load(), 0) << logger.all();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(done.load(), total);
}

namespace {
//! Blocks the first layer report of a run until released, so that another thread can be shown to be
//! refused while the run is in progress.
class GateProfiler : public Profiler {
 public:
  void reportLayerTime(const char*, float) noexcept override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!inside_) {
      inside_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
  }
  void waitInside() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return inside_; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool inside_{false}, released_{false};
};
}  // namespace

TEST(Concurrency, ContextUsedFromTwoThreadsIsRefusedNotCorrupted) {
  CaptureLogger logger;
  Runtime rt(logger);
  Model m = block(logger, rt);
  ASSERT_NE(m.engine, nullptr) << logger.all();
  Case c{&m, Dims{2, {4, 32}}, randomFloats(4 * 32, 77, -1.f, 1.f), {}};
  Case other{&m, Dims{2, {2, 32}}, randomFloats(2 * 32, 78, -1.f, 1.f), {}};
  {
    auto ref = m.engine->createExecutionContext();
    ASSERT_TRUE(runCase(*ref, c, c.expected));
    ASSERT_TRUE(runCase(*ref, other, other.expected));
  }
  auto ctx = m.engine->createExecutionContext();
  ctx->setName("shared");
  std::vector<float> out(c.expected.size(), -7.f);
  ASSERT_TRUE(ctx->setInputShape("x", c.dims));
  ASSERT_TRUE(ctx->setInputTensorAddress("x", c.input.data()));
  ASSERT_TRUE(ctx->setTensorAddress("y", out.data()));
  GateProfiler gate;
  ctx->setProfiler(&gate);
  std::atomic<bool> firstOk{false};
  std::thread runner([&] { firstOk = ctx->execute(); });
  gate.waitInside();  // the runner is inside execute(), blocked in the middle of the run
  // a second thread on the same context: every call that touches its state is refused
  std::vector<float> out2(other.expected.size(), -7.f);
  EXPECT_FALSE(ctx->execute());
  EXPECT_FALSE(ctx->setInputShape("x", other.dims));
  EXPECT_FALSE(ctx->setTensorAddress("y", out2.data()));
  EXPECT_EQ(ctx->getTensorShape("y").nbDims, -1);
  EXPECT_TRUE(logger.contains("ExecutionContext 'shared' is in use by another thread")) << logger.all();
  gate.release();
  runner.join();
  EXPECT_TRUE(firstOk.load());
  EXPECT_EQ(std::memcmp(out.data(), c.expected.data(), out.size() * sizeof(float)), 0) << "the run was disturbed";
  // the context is intact afterwards: same results, and it still takes new shapes
  ctx->setProfiler(nullptr);
  std::vector<float> again;
  ASSERT_TRUE(runCase(*ctx, c, again));
  EXPECT_EQ(again, c.expected);
  ASSERT_TRUE(runCase(*ctx, other, again));
  EXPECT_EQ(again, other.expected);
}

}  // namespace kiln::test
