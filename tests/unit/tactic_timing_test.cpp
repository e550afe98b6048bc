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

}  // namespace
}  // namespace kiln::test
