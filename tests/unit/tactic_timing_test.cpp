// Tactic timing in the builder and the timing cache file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "builder/tactic_timing.h"
#include "kiln/kiln.h"
#include "test_util.h"

namespace kiln::test {
namespace {

class CaptureLogger : public Logger {
 public:
  CaptureLogger() : Logger(Severity::kVERBOSE) {}
  void log(Severity, const char* msg) noexcept override { lines.push_back(msg); }
  bool saw(const std::string& what) const {
    for (const auto& l : lines)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
  std::vector<std::string> lines;
};

std::unique_ptr<HostMemory> buildMatMul(Logger& logger, const std::string& cache, bool timing, int64_t m = 32,
                                        int64_t k = 64, int64_t n = 48) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {m, k}});
  auto w = randomFloats(static_cast<size_t>(k * n), 3);
  auto* c = net->addConstant(Dims{2, {k, n}}, Weights{DataType::kFLOAT, w.data(), static_cast<int64_t>(w.size())});
  auto* mm = net->addMatrixMultiply(*x, MatrixOperation::kNONE, *c->getOutput(0), MatrixOperation::kNONE);
  mm->getOutput(0)->setName("y");
  net->markOutput(*mm->getOutput(0));
  auto cfg = builder->createBuilderConfig();
  cfg->setDefaultDeviceType(DeviceType::kCPU);
  if (!cache.empty()) cfg->setTimingCacheFile(cache.c_str());
  if (!timing) cfg->setFlag(BuilderFlag::kNO_TACTIC_TIMING);
  return builder->buildSerializedNetwork(*net, *cfg);
}

TEST(TacticTiming, TimesCandidatesAndReusesTheCache) {
  std::string cache = (std::filesystem::temp_directory_path() / "kiln_timing_cache_test.txt").string();
  std::remove(cache.c_str());
  CaptureLogger first;
  auto p1 = buildMatMul(first, cache, true);
  ASSERT_TRUE(p1);
  EXPECT_TRUE(first.saw(" timed:")) << "the MatMul has a ref and a gemm tactic: both are timed";
  EXPECT_TRUE(first.saw("0 hits, 1 layers timed"));
  std::ifstream f(cache);
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  EXPECT_NE(line.find("|MatMul|"), std::string::npos) << line;
  EXPECT_NE(line.find("\tgemm"), std::string::npos) << "the packed GEMM beats the reference: " << line;
  CaptureLogger second;
  auto p2 = buildMatMul(second, cache, true);
  ASSERT_TRUE(p2);
  EXPECT_FALSE(second.saw(" timed:"));
  EXPECT_TRUE(second.saw("1 hits, 0 layers timed"));
  ASSERT_EQ(p1->size(), p2->size());
  EXPECT_EQ(std::memcmp(p1->data(), p2->data(), p1->size()), 0) << "same choices, same plan bytes";
  std::remove(cache.c_str());
}

TEST(TacticTiming, TheReferenceKernelIsTimedOnlyOnSmallLayers) {
  CaptureLogger small;
  ASSERT_TRUE(buildMatMul(small, "", true));
  EXPECT_TRUE(small.saw(" timed: ref 0.")) << "a 32x64x48 product takes well under 1 ms: the reference competes";
  // 1024^3 multiply-adds: the packed GEMM needs several milliseconds, the reference loop far more; timing the
  // reference there only slows the build down
  CaptureLogger large;
  ASSERT_TRUE(buildMatMul(large, "", true, 1024, 1024, 1024));
  EXPECT_TRUE(large.saw(" timed: ref not timed (reference kernel; the best specialized one takes "));
  EXPECT_TRUE(large.saw("-> gemm"));
}

TEST(TacticTiming, CanBeTurnedOffAndAMalformedCacheIsIgnored) {
  std::string cache = (std::filesystem::temp_directory_path() / "kiln_timing_cache_bad.txt").string();
  {
    std::ofstream f(cache);
    f << "no tab here\n\t\nkey-without-value\t\n" << std::string(1000, 'x') << "\n";
  }
  CaptureLogger log;
  auto p = buildMatMul(log, cache, false);
  ASSERT_TRUE(p);
  EXPECT_FALSE(log.saw(" timed:"));
  std::remove(cache.c_str());
}

// The timing signature: weights count by shape (layers of one shape are timed once per build and share a
// timing cache entry), tiny constants by content.

//! x [m, k] -> MatMul(W1 [k, k]) -> MatMul(W2 [k, k]) -> y: two layers of one shape, different weights.
std::unique_ptr<HostMemory> buildTwoMatMuls(Logger& logger, const std::string& cache, int64_t m, int64_t k) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {m, k}});
  auto w1 = randomFloats(static_cast<size_t>(k * k), 5);
  auto w2 = randomFloats(static_cast<size_t>(k * k), 6);
  auto* c1 = net->addConstant(Dims{2, {k, k}}, Weights{DataType::kFLOAT, w1.data(), static_cast<int64_t>(w1.size())});
  auto* c2 = net->addConstant(Dims{2, {k, k}}, Weights{DataType::kFLOAT, w2.data(), static_cast<int64_t>(w2.size())});
  auto* mm1 = net->addMatrixMultiply(*x, MatrixOperation::kNONE, *c1->getOutput(0), MatrixOperation::kNONE);
  auto* mm2 = net->addMatrixMultiply(*mm1->getOutput(0), MatrixOperation::kNONE, *c2->getOutput(0), MatrixOperation::kNONE);
  mm2->getOutput(0)->setName("y");
  net->markOutput(*mm2->getOutput(0));
  auto cfg = builder->createBuilderConfig();
  cfg->setDefaultDeviceType(DeviceType::kCPU);
  cfg->setTimingCacheFile(cache.c_str());
  return builder->buildSerializedNetwork(*net, *cfg);
}

int timedLines(const CaptureLogger& log) {
  int n = 0;
  for (const auto& l : log.lines) n += l.find(" timed:") != std::string::npos;
  return n;
}

std::string cachePath(const char* name) {
  std::string p = (std::filesystem::temp_directory_path() / name).string();
  std::remove(p.c_str());
  return p;
}

int lineCount(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  int n = 0;
  while (std::getline(f, line)) ++n;
  return n;
}

TEST(TimingSignature, LayersOfOneShapeAreTimedOncePerBuild) {
  const std::string cache = cachePath("kiln_timing_signature_shared.txt");
  CaptureLogger log;
  ASSERT_TRUE(buildTwoMatMuls(log, cache, 32, 64));
  EXPECT_EQ(timedLines(log), 1) << "the second MatMul has the first one's shapes: its choice is reused";
  EXPECT_TRUE(log.saw("1 hits, 1 layers timed"));
  EXPECT_EQ(lineCount(cache), 1);
  std::ifstream f(cache);
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  EXPECT_NE(line.find("float32:64x64:w;"), std::string::npos) << "weights by shape: " << line;
  EXPECT_NE(line.find("|float32:32x64;|"), std::string::npos) << "the output's shape is part of it: " << line;
  std::remove(cache.c_str());
}

TEST(TimingSignature, TinyConstantsCountByContent) {
  // 4x4 = 16 elements: small enough to be a parameter (a scale, a bound) rather than weights
  const std::string cache = cachePath("kiln_timing_signature_tiny.txt");
  CaptureLogger log;
  ASSERT_TRUE(buildTwoMatMuls(log, cache, 32, 4));
  EXPECT_EQ(timedLines(log), 2);
  EXPECT_TRUE(log.saw("0 hits, 2 layers timed"));
  EXPECT_EQ(lineCount(cache), 2);
  std::remove(cache.c_str());
}

}  // namespace
}  // namespace kiln::test
