// The GPU runtime without kernels of its own: buffers, copies, streams, events, and a plan of copy layers.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "gpu_op.h"
#include "kiln/kiln.h"

namespace kiln::test {
namespace {

TEST(GpuRuntime, BuffersCopiesStreamsEvents) {
  KILN_REQUIRE_GPU();
  const std::size_t n = 1 << 20;
  std::vector<float> host(n);
  std::iota(host.begin(), host.end(), 0.f);
  Buffer pinned(n * 4, MemoryKind::kPAGELOCKED, DeviceType::kGPU);
  Buffer dev(n * 4, MemoryKind::kDEVICE, DeviceType::kGPU);
  Buffer back(n * 4, MemoryKind::kPAGELOCKED, DeviceType::kGPU);
  std::memcpy(pinned.data(), host.data(), n * 4);
  Stream s(DeviceType::kGPU);
  Event a, b;
  a.record(s);
  ASSERT_TRUE(memcpyAsync(dev.data(), pinned.data(), n * 4, s));
  ASSERT_TRUE(memcpyAsync(back.data(), dev.data(), n * 4, s));
  b.record(s);
  ASSERT_TRUE(s.synchronize());
  EXPECT_TRUE(b.query());
  EXPECT_GE(Event::elapsedTime(a, b), 0.f);
  EXPECT_EQ(std::memcmp(back.data(), host.data(), n * 4), 0);
  // a host callback runs in order and a failing one marks the stream failed
  bool ran = false;
  s.enqueueHost([&] { return ran = true; });
  ASSERT_TRUE(s.synchronize());
  EXPECT_TRUE(ran);
  s.enqueueHost([] { return false; });
  EXPECT_FALSE(s.synchronize());
  EXPECT_TRUE(s.synchronize());
  // synchronous copies in every direction
  std::vector<float> h2(n);
  ASSERT_TRUE(kiln::memcpy(h2.data(), dev.data(), n * 4));
  EXPECT_EQ(h2, host);
}

class NullLogger : public Logger {
 public:
  NullLogger() : Logger(Severity::kWARNING) {}
  void log(Severity sev, const char* msg) noexcept override {
    if (sev <= Severity::kERROR) errors.push_back(msg);
  }
  std::vector<std::string> errors;
};

TEST(GpuRuntime, ReshapeNetworkRunsOnGpuAndRefusesPageableAddresses) {
  KILN_REQUIRE_GPU();
  NullLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {4, 6}});
  auto* sh = net->addShuffle(*x);
  sh->setReshapeDimensions(Dims{3, {2, 3, 4}});
  sh->getOutput(0)->setName("y");
  net->markOutput(*sh->getOutput(0));
  auto cfg = builder->createBuilderConfig();
  cfg->setDefaultDeviceType(DeviceType::kGPU);
  auto plan = builder->buildSerializedNetwork(*net, *cfg);
  ASSERT_TRUE(plan) << (logger.errors.empty() ? "" : logger.errors.back());
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->getDeviceType(), DeviceType::kGPU);
  auto ctx = engine->createExecutionContext();
  std::vector<float> hx(24), hy(24, -1.f);
  std::iota(hx.begin(), hx.end(), 1.f);
  EXPECT_FALSE(ctx->setTensorAddress("x", hx.data()));  // pageable host memory: refused, not a crash
  Buffer dx(96, MemoryKind::kDEVICE, DeviceType::kGPU), dy(96, MemoryKind::kDEVICE, DeviceType::kGPU);
  ASSERT_TRUE(kiln::memcpy(dx.data(), hx.data(), 96));
  ASSERT_TRUE(ctx->setTensorAddress("x", dx.data()));
  ASSERT_TRUE(ctx->setTensorAddress("y", dy.data()));
  Stream cpuStream(DeviceType::kCPU);
  EXPECT_FALSE(ctx->enqueue(cpuStream));  // a GPU engine needs a GPU stream
  Stream s(DeviceType::kGPU);
  ASSERT_TRUE(ctx->enqueue(s));
  ASSERT_TRUE(s.synchronize());
  ASSERT_TRUE(kiln::memcpy(hy.data(), dy.data(), 96));
  EXPECT_EQ(hy, hx);
  ASSERT_TRUE(ctx->execute());
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

//! A small CNN built with the layer API: conv -> relu -> pool -> conv -> softmax.
std::unique_ptr<HostMemory> buildSmallCnn(Logger& logger, DeviceType device, bool fp16) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{4, {2, 3, 16, 16}});
  auto w1 = randomFloats(8 * 3 * 3 * 3, 7), b1 = randomFloats(8, 8);
  auto* c1 = net->addConvolutionNd(*x, 8, Dims{2, {3, 3}}, Weights{DataType::kFLOAT, w1.data(), static_cast<int64_t>(w1.size())},
                                   Weights{DataType::kFLOAT, b1.data(), static_cast<int64_t>(b1.size())});
  c1->setPaddingNd(Dims{2, {1, 1}});
  auto* r1 = net->addActivation(*c1->getOutput(0), ActivationType::kRELU);
  auto* p1 = net->addPoolingNd(*r1->getOutput(0), PoolingType::kMAX, Dims{2, {2, 2}});
  p1->setStrideNd(Dims{2, {2, 2}});
  auto w2 = randomFloats(4 * 8 * 3 * 3, 9), b2 = randomFloats(4, 10);
  auto* c2 = net->addConvolutionNd(*p1->getOutput(0), 4, Dims{2, {3, 3}},
                                   Weights{DataType::kFLOAT, w2.data(), static_cast<int64_t>(w2.size())},
                                   Weights{DataType::kFLOAT, b2.data(), static_cast<int64_t>(b2.size())});
  auto* sm = net->addSoftMax(*c2->getOutput(0));
  sm->setAxes(1u << 1);
  sm->getOutput(0)->setName("y");
  net->markOutput(*sm->getOutput(0));
  auto cfg = builder->createBuilderConfig();
  cfg->setDefaultDeviceType(device);
  if (fp16) cfg->setFlag(BuilderFlag::kFP16);
  return builder->buildSerializedNetwork(*net, *cfg);
}

std::vector<float> runPlan(Logger& logger, const HostMemory& plan, const std::vector<float>& x, bool graph,
                           int repeats = 1) {
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan.data(), plan.size());
  EXPECT_TRUE(engine);
  if (!engine) return {};
  auto ctx = engine->createExecutionContext();
  Dims yd = ctx->getTensorShape("y");
  int64_t ny = 1;
  for (int i = 0; i < yd.nbDims; ++i) ny *= yd.d[i];
  std::vector<float> y(static_cast<size_t>(ny));
  if (engine->getDeviceType() == DeviceType::kCPU) {
    ctx->setTensorAddress("x", const_cast<float*>(x.data()));
    ctx->setTensorAddress("y", y.data());
    EXPECT_TRUE(ctx->execute());
    return y;
  }
  if (graph) EXPECT_TRUE(ctx->setCudaGraphEnabled(true));
  Buffer dx(x.size() * 4, MemoryKind::kDEVICE, DeviceType::kGPU), dy(y.size() * 4, MemoryKind::kDEVICE, DeviceType::kGPU);
  kiln::memcpy(dx.data(), x.data(), x.size() * 4);
  ctx->setTensorAddress("x", dx.data());
  ctx->setTensorAddress("y", dy.data());
  Stream s(DeviceType::kGPU);
  for (int i = 0; i < repeats; ++i) EXPECT_TRUE(ctx->enqueue(s));
  EXPECT_TRUE(s.synchronize());
  kiln::memcpy(y.data(), dy.data(), y.size() * 4);
  return y;
}

double relL2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

TEST(GpuEngine, SmallCnnMatchesCpuInFp32AndFp16WithAndWithoutCudaGraphs) {
  KILN_REQUIRE_GPU();
  NullLogger logger;
  auto x = randomFloats(2 * 3 * 16 * 16, 42);
  auto cpuPlan = buildSmallCnn(logger, DeviceType::kCPU, false);
  ASSERT_TRUE(cpuPlan);
  auto ref = runPlan(logger, *cpuPlan, x, false);
  auto gpuPlan = buildSmallCnn(logger, DeviceType::kGPU, false);
  ASSERT_TRUE(gpuPlan) << (logger.errors.empty() ? "" : logger.errors.back());
  auto y32 = runPlan(logger, *gpuPlan, x, false);
  EXPECT_LT(relL2(y32, ref), 1e-5);
  auto yGraph = runPlan(logger, *gpuPlan, x, true, 3);
  EXPECT_EQ(yGraph, y32);  // the same kernels replayed: bitwise equal
  auto fp16Plan = buildSmallCnn(logger, DeviceType::kGPU, true);
  ASSERT_TRUE(fp16Plan) << (logger.errors.empty() ? "" : logger.errors.back());
  auto y16 = runPlan(logger, *fp16Plan, x, true, 2);
  EXPECT_LT(relL2(y16, ref), 1e-2);
  EXPECT_GT(relL2(y16, ref), 0.0);  // it really computed in half precision
}

TEST(GpuEngine, PlanForAnotherBackendOrDamagedIsRefusedWithAReason) {
  KILN_REQUIRE_GPU();
  NullLogger logger;
  auto plan = buildSmallCnn(logger, DeviceType::kGPU, false);
  ASSERT_TRUE(plan);
  std::vector<uint8_t> bytes(static_cast<const uint8_t*>(plan->data()), static_cast<const uint8_t*>(plan->data()) + plan->size());
  bytes[bytes.size() / 2] ^= 0x10;
  Runtime rt(logger);
  EXPECT_FALSE(rt.deserializeEngine(bytes.data(), bytes.size()));
  ASSERT_FALSE(logger.errors.empty());
  EXPECT_NE(logger.errors.back().find("damaged"), std::string::npos) << logger.errors.back();
}

TEST(GpuEngine, ManyContextsOnStreamsGiveIdenticalResults) {
  KILN_REQUIRE_GPU();
  NullLogger logger;
  auto plan = buildSmallCnn(logger, DeviceType::kGPU, false);
  ASSERT_TRUE(plan);
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_TRUE(engine);
  auto x = randomFloats(2 * 3 * 16 * 16, 5);
  const int kContexts = 4;
  std::vector<std::unique_ptr<ExecutionContext>> ctxs;
  std::vector<Buffer> bufs;
  std::vector<std::unique_ptr<Stream>> streams;
  Dims yd{};
  for (int i = 0; i < kContexts; ++i) {
    ctxs.push_back(engine->createExecutionContext());
    yd = ctxs.back()->getTensorShape("y");
    bufs.emplace_back(x.size() * 4, MemoryKind::kDEVICE, DeviceType::kGPU);
    kiln::memcpy(bufs.back().data(), x.data(), x.size() * 4);
    ctxs.back()->setTensorAddress("x", bufs.back().data());
    bufs.emplace_back(4096, MemoryKind::kDEVICE, DeviceType::kGPU);
    ctxs.back()->setTensorAddress("y", bufs.back().data());
    streams.push_back(std::make_unique<Stream>(DeviceType::kGPU));
  }
  for (int round = 0; round < 50; ++round)
    for (int i = 0; i < kContexts; ++i) ASSERT_TRUE(ctxs[i]->enqueue(*streams[i]));
  int64_t ny = 1;
  for (int i = 0; i < yd.nbDims; ++i) ny *= yd.d[i];
  std::vector<float> first(static_cast<size_t>(ny)), other(static_cast<size_t>(ny));
  for (int i = 0; i < kContexts; ++i) {
    ASSERT_TRUE(streams[i]->synchronize());
    kiln::memcpy(i == 0 ? first.data() : other.data(), bufs[static_cast<size_t>(2 * i + 1)].data(), first.size() * 4);
    if (i) EXPECT_EQ(other, first);
  }
}

}  // namespace
}  // namespace kiln::test
