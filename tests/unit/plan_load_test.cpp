// Loading large CPU plans: plans of 32 MB and more are read (or copied) and hashed on two threads, plans
// with 4 MB of constants and more create their kernels on the plan's threads, pre-packed weights live in
// huge-page memory. The loaded engine computes what the reference kernels do, from a file and from memory
// alike; a byte damaged in the second half (the half the other thread copies) and a truncated file are
// refused; of two broken layers, the first in node order is reported.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine_util.h"
#include "plan/plan.h"
#include "test_util.h"

namespace kiln::test {
namespace {

constexpr int64_t kC = 16, kM = 64, kH = 8, kOut = 2048;

struct BigNet {
  std::vector<float> x, w1, b1, w2, b2, w3;
  std::vector<uint8_t> plan;
  std::vector<float> expected;  // from the reference kernels
};

// x [1,16,8,8] -> Conv 3x3 (64) -> Relu -> Conv 3x3 (64) -> Relu -> [1, 4096] -> MatMul [4096, 2048]:
// 33.7 MB of weights.
const BigNet& bigNet() {
  static const BigNet net = [] {
    BigNet n;
    n.x = randomFloats(kC * kH * kH, 9101);
    n.w1 = randomFloats(kM * kC * 9, 9102, -0.3f, 0.3f);
    n.b1 = randomFloats(kM, 9103);
    n.w2 = randomFloats(kM * kM * 9, 9104, -0.1f, 0.1f);
    n.b2 = randomFloats(kM, 9105);
    n.w3 = randomFloats(kM * kH * kH * kOut, 9106, -0.05f, 0.05f);
    CaptureLogger logger;
    auto builder = createBuilder(logger);
    auto nd = builder->createNetwork();
    Tensor* x = nd->addInput("x", DataType::kFLOAT, Dims{4, {1, kC, kH, kH}});
    auto* c1 = nd->addConvolutionNd(*x, kM, Dims{2, {3, 3}}, floatWeights(n.w1), floatWeights(n.b1));
    c1->setPaddingNd(Dims{2, {1, 1}});
    auto* r1 = nd->addActivation(*c1->getOutput(0), ActivationType::kRELU);
    auto* c2 = nd->addConvolutionNd(*r1->getOutput(0), kM, Dims{2, {3, 3}}, floatWeights(n.w2), floatWeights(n.b2));
    c2->setPaddingNd(Dims{2, {1, 1}});
    auto* r2 = nd->addActivation(*c2->getOutput(0), ActivationType::kRELU);
    auto* flat = nd->addShuffle(*r2->getOutput(0));
    flat->setReshapeDimensions(Dims{2, {1, kM * kH * kH}});
    auto* w3 = nd->addConstant(Dims{2, {kM * kH * kH, kOut}}, floatWeights(n.w3));
    auto* mm = nd->addMatrixMultiply(*flat->getOutput(0), MatrixOperation::kNONE, *w3->getOutput(0), MatrixOperation::kNONE);
    mm->getOutput(0)->setName("y");
    nd->markOutput(*mm->getOutput(0));
    auto bytes = buildPlan(*builder, *nd);
    EXPECT_NE(bytes, nullptr) << logger.all();
    if (bytes) n.plan.assign(static_cast<const uint8_t*>(bytes->data()), static_cast<const uint8_t*>(bytes->data()) + bytes->size());
    // the same with the reference kernels, op by op
    ir::Attributes at;
    at.setInts("kernel_shape", {3, 3});
    at.setInts("pads", {1, 1, 1, 1});
    ir::Attributes none;
    TensorPtr t = ir::makeFloatTensor(n.x, {1, kC, kH, kH});
    t = runOp("Conv", at, {t, ir::makeFloatTensor(n.w1, {kM, kC, 3, 3}), ir::makeFloatTensor(n.b1, {kM})})[0];
    t = runOp("Relu", none, {t})[0];
    t = runOp("Conv", at, {t, ir::makeFloatTensor(n.w2, {kM, kM, 3, 3}), ir::makeFloatTensor(n.b2, {kM})})[0];
    t = runOp("Relu", none, {t})[0];
    std::vector<double> h = asDoubles(*t);
    std::vector<float> hf(h.begin(), h.end());
    t = runOp("MatMul", none, {ir::makeFloatTensor(hf, {1, kM * kH * kH}), ir::makeFloatTensor(n.w3, {kM * kH * kH, kOut})})[0];
    std::vector<double> y = asDoubles(*t);
    n.expected.assign(y.begin(), y.end());
    return n;
  }();
  return net;
}

std::string writeFile(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::vector<float> run(Engine& engine) {
  const BigNet& n = bigNet();
  return runEngine(engine, {{"x", {Dims{4, {1, kC, kH, kH}}, n.x}}})["y"].data;
}

}  // namespace

TEST(PlanLoad, LargePlanFromFileAndMemoryMatchesReference) {
  const BigNet& n = bigNet();
  ASSERT_GE(n.plan.size(), std::size_t{32} << 20);  // large enough for the two-thread read
  const std::string path = writeFile(n.plan, "kiln_plan_load_test.plan");
  CaptureLogger logger;
  Runtime rt(logger);
  auto fromFile = rt.deserializeEngineFromFile(path.c_str());
  ASSERT_NE(fromFile, nullptr) << logger.all();
  auto fromMemory = rt.deserializeEngine(n.plan.data(), n.plan.size());
  ASSERT_NE(fromMemory, nullptr) << logger.all();
  const std::vector<float> a = run(*fromFile), b = run(*fromMemory);
  ASSERT_EQ(a.size(), n.expected.size());
  ASSERT_EQ(b.size(), n.expected.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  double err = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (a[i] - n.expected[i]) * (a[i] - n.expected[i]);
    norm += n.expected[i] * n.expected[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 1e-5);
  std::remove(path.c_str());
}

TEST(PlanLoad, DamagedOrTruncatedLargeFileIsRefused) {
  const BigNet& n = bigNet();
  ASSERT_FALSE(n.plan.empty());
  for (std::size_t at : {n.plan.size() * 3 / 4, n.plan.size() - 1, n.plan.size() / 2 + 1}) {
    std::vector<uint8_t> bad = n.plan;
    bad[at] ^= 0x10;
    const std::string path = writeFile(bad, "kiln_plan_load_damaged.plan");
    CaptureLogger logger;
    Runtime rt(logger);
    EXPECT_EQ(rt.deserializeEngineFromFile(path.c_str()), nullptr) << "byte " << at;
    EXPECT_TRUE(logger.contains("checksum")) << logger.all();
    CaptureLogger memoryLogger;
    Runtime rtm(memoryLogger);
    EXPECT_EQ(rtm.deserializeEngine(bad.data(), bad.size()), nullptr) << "byte " << at;  // copied in two halves too
    EXPECT_TRUE(memoryLogger.contains("checksum")) << memoryLogger.all();
    std::remove(path.c_str());
  }
  std::vector<uint8_t> cut(n.plan.begin(), n.plan.begin() + static_cast<std::ptrdiff_t>(n.plan.size() - 4096));
  const std::string path = writeFile(cut, "kiln_plan_load_truncated.plan");
  CaptureLogger logger;
  Runtime rt(logger);
  EXPECT_EQ(rt.deserializeEngineFromFile(path.c_str()), nullptr);
  EXPECT_TRUE(logger.contains("truncated")) << logger.all();
  std::remove(path.c_str());
}

// The checksum hashes segments on their own, then their hashes: given segment hashes give the same sum,
// and swapping two segments (each intact) changes it.
TEST(PlanLoad, ChecksumCoversSegmentsAndTheirOrder) {
  const BigNet& n = bigNet();
  ASSERT_GT(plan::checksumSegments(n.plan.size()), 8u);
  const uint64_t sum = plan::planChecksum(n.plan.data(), n.plan.size());
  std::vector<uint64_t> segs(plan::checksumSegments(n.plan.size()));
  for (std::size_t i = 0; i < segs.size(); ++i) segs[i] = plan::checksumSegment(n.plan.data(), n.plan.size(), i);
  EXPECT_EQ(plan::planChecksum(n.plan.data(), n.plan.size(), &segs), sum);
  std::vector<uint8_t> swapped = n.plan;
  uint8_t* s3 = swapped.data() + 32 + 3 * plan::kChecksumSegment;
  std::swap_ranges(s3, s3 + plan::kChecksumSegment, s3 + plan::kChecksumSegment);
  ASSERT_NE(swapped, n.plan);
  EXPECT_NE(plan::planChecksum(swapped.data(), swapped.size()), sum);
  std::vector<uint8_t> header = n.plan;
  header[20] ^= 1;  // the total size field: in the first 24 bytes, hashed as the seed
  EXPECT_NE(plan::planChecksum(header.data(), header.size()), sum);
}

TEST(PlanLoad, FirstBrokenLayerIsReported) {
  const BigNet& n = bigNet();
  ASSERT_FALSE(n.plan.empty());
  plan::PlanContents c = plan::readPlan(n.plan.data(), n.plan.size(), nullptr);
  ASSERT_GE(c.graph->nodes.size(), 2u);
  const std::string first = c.graph->nodes.front()->name, last = c.graph->nodes.back()->name;
  c.tactics.front() = "no_such_tactic";
  c.tactics.back() = "no_such_tactic";
  std::vector<uint8_t> bytes = plan::writePlan(c);
  for (int repeat = 0; repeat < 3; ++repeat) {  // kernels are made on several threads: always the first
    CaptureLogger logger;
    Runtime rt(logger);
    EXPECT_EQ(rt.deserializeEngine(bytes.data(), bytes.size()), nullptr);
    EXPECT_TRUE(logger.contains("layer '" + first + "'")) << logger.all();
    EXPECT_FALSE(logger.contains("layer '" + last + "'")) << logger.all();
  }
}

}  // namespace kiln::test
