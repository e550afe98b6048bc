// Helpers of the fault tests (tests/unit/faults_test.cpp on the CPU, tests/cuda/faults_gpu_test.cpp on the GPU).
#pragma once

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine_util.h"
#include "test_util.h"

namespace kiln::test::faults {

// x [rows,32] -> MatMul W [32,32] (constant, used in place from the loaded plan) -> ReLU -> Sigmoid -> y.
// The ReLU output lives in the activation arena, so a huge row count needs a huge arena.
inline std::unique_ptr<HostMemory> weightPlan(Logger& logger, DeviceType device, const std::vector<float>& w,
                                              int64_t maxRows = 0) {
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {maxRows ? -1 : 4, 32}});
  auto* c = net->addConstant(Dims{2, {32, 32}}, floatWeights(w));
  auto* m = net->addMatrixMultiply(*x, MatrixOperation::kNONE, *c->getOutput(0), MatrixOperation::kNONE);
  auto* r = net->addActivation(*m->getOutput(0), ActivationType::kRELU);
  auto* s = net->addActivation(*r->getOutput(0), ActivationType::kSIGMOID);
  s->getOutput(0)->setName("y");
  net->markOutput(*s->getOutput(0));
  auto config = builder->createBuilderConfig();
  config->setDefaultDeviceType(device);
  if (maxRows) {
    auto p = builder->createOptimizationProfile();
    p->setDimensions("x", OptProfileSelector::kMIN, Dims{2, {1, 32}});
    p->setDimensions("x", OptProfileSelector::kOPT, Dims{2, {4, 32}});
    p->setDimensions("x", OptProfileSelector::kMAX, Dims{2, {maxRows, 32}});
    config->addOptimizationProfile(p.get());
  }
  return builder->buildSerializedNetwork(*net, *config);
}

inline void writeFile(const std::filesystem::path& p, const void* data, std::size_t n) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

//! Runs ctx on x (host vectors; on a GPU engine through page-locked buffers) and returns y.
inline std::vector<float> run(ExecutionContext& ctx, const std::vector<float>& x) {
  const std::size_t bytes = x.size() * sizeof(float);
  const bool gpu = ctx.getEngine().getDeviceType() == DeviceType::kGPU;
  Buffer in(bytes, MemoryKind::kPAGELOCKED, gpu ? DeviceType::kGPU : DeviceType::kCPU);
  Buffer out(bytes, MemoryKind::kPAGELOCKED, gpu ? DeviceType::kGPU : DeviceType::kCPU);
  std::memcpy(in.data(), x.data(), bytes);
  EXPECT_TRUE(ctx.setInputShape("x", Dims{2, {static_cast<int64_t>(x.size() / 32), 32}}));
  EXPECT_TRUE(ctx.setTensorAddress("x", in.data()));
  EXPECT_TRUE(ctx.setTensorAddress("y", out.data()));
  EXPECT_TRUE(ctx.execute());
  std::vector<float> y(x.size());
  std::memcpy(y.data(), out.data(), bytes);
  return y;
}

//! A plan file rewritten in place, truncated, replaced by rename and removed while an engine loaded from it
//! (deserializeEngineFromFile) runs: the engine is unaffected; loading the damaged file is a clear error.
inline void planFileReplacedWhileEnginesRun(DeviceType device) {
  namespace fs = std::filesystem;
  CaptureLogger log;
  const std::vector<float> w1 = randomFloats(32 * 32, 5), w2 = randomFloats(32 * 32, 6);
  auto plan1 = weightPlan(log, device, w1), plan2 = weightPlan(log, device, w2);
  ASSERT_TRUE(plan1 && plan2) << log.all();
  const fs::path dir = fs::temp_directory_path() / ("kiln_faults_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "model.plan";
  writeFile(file, plan1->data(), plan1->size());

  auto runtime = createRuntime(log);
  auto engine = runtime->deserializeEngineFromFile(file.string().c_str());
  ASSERT_TRUE(engine) << log.all();
  ASSERT_EQ(engine->getDeviceType(), device);
  auto ctx = engine->createExecutionContext();
  const std::vector<float> x = randomFloats(4 * 32, 7);
  const std::vector<float> expect = run(*ctx, x);
  // the result depends on the weights (other weights give another result)
  std::vector<float> viaOther;
  {
    auto e2 = runtime->deserializeEngine(plan2->data(), plan2->size());
    ASSERT_TRUE(e2);
    viaOther = run(*e2->createExecutionContext(), x);
    ASSERT_NE(viaOther, expect);
  }
  // 1. rewritten in place with other bytes (same inode, same size)
  std::vector<char> junk(plan1->size(), 'Z');
  writeFile(file, junk.data(), junk.size());
  EXPECT_EQ(run(*ctx, x), expect);
  EXPECT_EQ(run(*engine->createExecutionContext(), x), expect);
  // 2. truncated to a few bytes (reads through a truncated mapping would raise SIGBUS); loading it now fails
  writeFile(file, "kiln", 4);
  EXPECT_EQ(run(*ctx, x), expect);
  log.messages.clear();
  EXPECT_FALSE(runtime->deserializeEngineFromFile(file.string().c_str()));
  EXPECT_FALSE(log.messages.empty());
  // 3. replaced by another plan through rename (a new inode at the same path)
  const fs::path tmp = dir / "model.plan.tmp";
  writeFile(tmp, plan2->data(), plan2->size());
  fs::rename(tmp, file);
  EXPECT_EQ(run(*ctx, x), expect);
  auto fresh = runtime->deserializeEngineFromFile(file.string().c_str());
  ASSERT_TRUE(fresh) << log.all();
  EXPECT_EQ(run(*fresh->createExecutionContext(), x), viaOther);
  // 4. removed
  fs::remove_all(dir);
  EXPECT_EQ(run(*ctx, x), expect);
}

//! One context asks for more memory than any allocator can give (shapes inside the profile): its execute
//! fails with a message; the other contexts, new ones, and the failed one at a sane shape keep working.
inline void failingAllocationInOneContext(DeviceType device) {
  CaptureLogger log;
  const std::vector<float> w = randomFloats(32 * 32, 9);
  // max 2^44 rows: the ReLU output alone would need 2^44 * 32 * 4 bytes = 8 PiB of activation memory
  const int64_t huge = int64_t{1} << 44;
  auto plan = weightPlan(log, device, w, huge);
  ASSERT_TRUE(plan) << log.all();
  auto runtime = createRuntime(log);
  auto engine = runtime->deserializeEngine(plan->data(), plan->size());
  ASSERT_TRUE(engine) << log.all();
  auto good = engine->createExecutionContext();
  auto bad = engine->createExecutionContext();
  ASSERT_TRUE(good && bad) << log.all();
  const std::vector<float> x = randomFloats(4 * 32, 10);
  const std::vector<float> expect = run(*good, x);

  Buffer in(32 * 4, MemoryKind::kPAGELOCKED, device), out(32 * 4, MemoryKind::kPAGELOCKED, device);
  std::memset(out.data(), 0, 32 * 4);
  ASSERT_TRUE(bad->setInputShape("x", Dims{2, {huge, 32}}));
  ASSERT_TRUE(bad->setTensorAddress("x", in.data()));
  ASSERT_TRUE(bad->setTensorAddress("y", out.data()));
  log.messages.clear();
  EXPECT_FALSE(bad->execute());
  ASSERT_FALSE(log.messages.empty());
  EXPECT_TRUE(log.contains("allocat") || log.contains("memory")) << log.all();
  EXPECT_EQ(std::vector<char>(static_cast<char*>(out.data()), static_cast<char*>(out.data()) + 32 * 4),
            std::vector<char>(32 * 4, 0));  // nothing ran

  EXPECT_EQ(run(*good, x), expect);
  EXPECT_EQ(run(*engine->createExecutionContext(), x), expect);
  EXPECT_EQ(run(*bad, x), expect);
}

}  // namespace kiln::test::faults
