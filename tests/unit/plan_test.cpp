// Plan files: round trip, determinism, and refusal of damaged, truncated, foreign and wrong-version plans.
#include <cstring>
#include <fstream>

#include "engine_util.h"
#include "plan/plan.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// input [2,3] -> Identity -> output, plus an unused-by-input constant branch folded away.
std::unique_ptr<HostMemory> smallPlan(Logger& logger) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {2, 3}});
  auto* id = net->addIdentity(*x);
  id->getOutput(0)->setName("y");
  net->markOutput(*id->getOutput(0));
  return buildPlan(*builder, *net);
}

void setU32(std::vector<uint8_t>& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }

void fixChecksum(std::vector<uint8_t>& b) {
  uint64_t sum = plan::planChecksum(b.data(), b.size());
  std::memcpy(b.data() + 24, &sum, 8);
}

std::string loadError(const std::vector<uint8_t>& bytes) {
  CaptureLogger logger;
  Runtime rt(logger);
  auto e = rt.deserializeEngine(bytes.data(), bytes.size());
  EXPECT_EQ(e, nullptr);
  return logger.all();
}

}  // namespace

TEST(Plan, RoundTripRuns) {
  CaptureLogger logger;
  auto plan = smallPlan(logger);
  ASSERT_NE(plan, nullptr) << logger.all();
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(engine, nullptr) << logger.all();
  EXPECT_EQ(engine->getNbIOTensors(), 2);
  EXPECT_STREQ(engine->getIOTensorName(0), "x");
  EXPECT_EQ(engine->getTensorIOMode("y"), TensorIOMode::kOUTPUT);
  auto out = runEngine(*engine, {{"x", {Dims{2, {2, 3}}, {1, 2, 3, 4, 5, 6}}}});
  EXPECT_EQ(out["y"].data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // serialize() of a loaded engine gives the same bytes
  auto again = engine->serialize();
  ASSERT_EQ(again->size(), plan->size());
  EXPECT_EQ(std::memcmp(again->data(), plan->data(), plan->size()), 0);
}

TEST(Plan, DeterministicBytes) {
  CaptureLogger logger;
  auto a = smallPlan(logger);
  auto b = smallPlan(logger);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  EXPECT_EQ(std::memcmp(a->data(), b->data(), a->size()), 0);
}

TEST(Plan, FileLoadThroughMmap) {
  CaptureLogger logger;
  auto plan = smallPlan(logger);
  ASSERT_NE(plan, nullptr);
  std::string path = ::testing::TempDir() + "/kiln_plan_test.plan";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(plan->data()), static_cast<std::streamsize>(plan->size()));
  }
  Runtime rt(logger);
  auto engine = rt.deserializeEngineFromFile(path.c_str());
  ASSERT_NE(engine, nullptr) << logger.all();
  auto out = runEngine(*engine, {{"x", {Dims{2, {2, 3}}, {6, 5, 4, 3, 2, 1}}}});
  EXPECT_EQ(out["y"].data, (std::vector<float>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(rt.deserializeEngineFromFile((path + ".missing").c_str()), nullptr);
  EXPECT_TRUE(logger.contains("cannot open"));
}

TEST(Plan, EveryFlippedByteIsRefused) {
  CaptureLogger logger;
  auto plan = smallPlan(logger);
  ASSERT_NE(plan, nullptr);
  std::vector<uint8_t> good(static_cast<const uint8_t*>(plan->data()), static_cast<const uint8_t*>(plan->data()) + plan->size());
  Logger quiet(Severity::kINTERNAL_ERROR);
  Runtime rt(quiet);
  int refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= mask;
      auto e = rt.deserializeEngine(bad.data(), bad.size());
      EXPECT_EQ(e, nullptr) << "byte " << i << " mask " << int(mask);
      refused += e == nullptr;
    }
  }
  EXPECT_EQ(refused, static_cast<int>(2 * good.size()));
}

TEST(Plan, EveryTruncationIsRefused) {
  CaptureLogger logger;
  auto plan = smallPlan(logger);
  ASSERT_NE(plan, nullptr);
  const auto* p = static_cast<const uint8_t*>(plan->data());
  Logger quiet(Severity::kINTERNAL_ERROR);
  Runtime rt(quiet);
  for (size_t n = 0; n < plan->size(); ++n) {
    std::vector<uint8_t> cut(p, p + n);
    EXPECT_EQ(rt.deserializeEngine(cut.data(), cut.size()), nullptr) << "length " << n;
  }
  std::vector<uint8_t> cut(p, p + plan->size() / 2);
  EXPECT_NE(loadError(cut).find("truncated"), std::string::npos);
}

TEST(Plan, MessagesSayWhatIsWrong) {
  CaptureLogger logger;
  auto plan = smallPlan(logger);
  ASSERT_NE(plan, nullptr);
  std::vector<uint8_t> good(static_cast<const uint8_t*>(plan->data()), static_cast<const uint8_t*>(plan->data()) + plan->size());

  std::vector<uint8_t> foreign = good;
  std::memcpy(foreign.data(), "\x08\x01\x12\x04onnx", 8);
  EXPECT_NE(loadError(foreign).find("not a kiln plan"), std::string::npos);

  std::vector<uint8_t> damaged = good;
  damaged[damaged.size() - 1] ^= 0x55;
  EXPECT_NE(loadError(damaged).find("checksum"), std::string::npos);

  std::vector<uint8_t> format = good;
  setU32(format, 8, plan::kFormatVersion + 1);
  EXPECT_NE(loadError(format).find("format version"), std::string::npos);

  std::vector<uint8_t> version = good;
  setU32(version, 36, static_cast<uint32_t>(kVERSION_MINOR + 7));
  fixChecksum(version);
  std::string msg = loadError(version);
  EXPECT_NE(msg.find("built by kiln"), std::string::npos) << msg;
  EXPECT_NE(msg.find(versionString()), std::string::npos) << msg;

  std::vector<uint8_t> gpu = good;
  setU32(gpu, 44, 1);
  fixChecksum(gpu);
  EXPECT_NE(loadError(gpu).find("GPU backend"), std::string::npos);

  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_NE(loadError(longer).find("trailing"), std::string::npos);

  CaptureLogger l2;
  Runtime rt(l2);
  EXPECT_EQ(rt.deserializeEngine(nullptr, 10), nullptr);
  EXPECT_TRUE(l2.contains("null"));
}

TEST(Plan, ForeignTargetIsRefused) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  auto* x = net->addInput("x", DataType::kFLOAT, Dims{1, {4}});
  net->markOutput(*net->addIdentity(*x)->getOutput(0));
  auto plan = buildPlan(*builder, *net);
  ASSERT_NE(plan, nullptr);
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(engine, nullptr);
  // Rewrite the plan as if built elsewhere: other OS, and a CPU feature this machine cannot have.
  plan::PlanContents c = plan::readPlan(plan->data(), plan->size(), nullptr);
  c.target.os = "plan9";
  auto other = plan::writePlan(c);
  EXPECT_NE(loadError(other).find("plan9"), std::string::npos);
  c = plan::readPlan(plan->data(), plan->size(), nullptr);
  c.target.requiredCpuFeatures = ~0ull;
  c.target.cpuName = "Imaginary CPU 9000";
  std::string msg = loadError(plan::writePlan(c));
  EXPECT_NE(msg.find("lacks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Imaginary CPU 9000"), std::string::npos) << msg;
}

}  // namespace kiln::test
