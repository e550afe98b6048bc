// The channels-last layout pass on the GPU: a CNN with every construct the pass rewrites (layout_model.h),
// built in float16 with and without the pass, against the CPU in float32.
#include "gpu_op.h"
#include "kiln/stream.h"
#include "unit/layout_model.h"

namespace kiln::test {
namespace {
using namespace fusion;

std::unique_ptr<HostMemory> buildGpu(const std::string& bytes, bool fp16, const std::set<std::string>& disabled,
                                     bool timing = true) {
  auto m = import(bytes);
  auto config = m->builder->createBuilderConfig();
  config->setDefaultDeviceType(DeviceType::kGPU);
  if (fp16) config->setFlag(BuilderFlag::kFP16);
  if (!timing) config->setFlag(BuilderFlag::kNO_TACTIC_TIMING);
  config->impl().disabledPasses = disabled;
  auto plan = m->builder->buildSerializedNetwork(*m->net, *config);
  EXPECT_NE(plan, nullptr) << m->logger.all();
  return plan;
}

//! Runs a GPU plan: inputs copied to device buffers, outputs copied back.
std::map<std::string, std::vector<float>> runGpu(const HostMemory& plan, const std::vector<float>& x) {
  CaptureLogger logger;
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan.data(), plan.size());
  EXPECT_TRUE(engine) << logger.all();
  if (!engine) return {};
  auto ctx = engine->createExecutionContext();
  std::vector<std::unique_ptr<Buffer>> bufs;
  std::map<std::string, std::pair<Buffer*, size_t>> outs;
  for (int i = 0; i < engine->getNbIOTensors(); ++i) {
    const char* name = engine->getIOTensorName(i);
    Dims d = ctx->getTensorShape(name);
    size_t n = static_cast<size_t>(volume(d));
    bufs.push_back(std::make_unique<Buffer>(n * 4, MemoryKind::kDEVICE, DeviceType::kGPU));
    if (engine->getTensorIOMode(name) == TensorIOMode::kINPUT) {
      EXPECT_EQ(n, x.size());
      kiln::memcpy(bufs.back()->data(), x.data(), n * 4);
    } else {
      outs[name] = {bufs.back().get(), n};
    }
    EXPECT_TRUE(ctx->setTensorAddress(name, bufs.back()->data()));
  }
  Stream s(DeviceType::kGPU);
  EXPECT_TRUE(ctx->enqueue(s)) << logger.all();
  EXPECT_TRUE(s.synchronize()) << logger.all();
  std::map<std::string, std::vector<float>> result;
  for (auto& [name, b] : outs) {
    result[name].resize(b.second);
    kiln::memcpy(result[name].data(), b.first->data(), b.second * 4);
  }
  return result;
}

double relL2(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1.0;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

int countLayers(const HostMemory& plan, const std::string& op) {
  auto g = plan::readPlan(plan.data(), plan.size(), nullptr).graph;
  return g ? countOp(*g, op) : -1;
}

//! The tactic of the layer made from ONNX node `origin`.
std::string tacticOf(const HostMemory& plan, const std::string& origin) {
  auto c = plan::readPlan(plan.data(), plan.size(), nullptr);
  for (size_t i = 0; i < c.graph->nodes.size(); ++i) {
    const auto& o = c.graph->nodes[i]->origins;
    if (std::find(o.begin(), o.end(), origin) != o.end() && i < c.tactics.size()) return c.tactics[i];
  }
  return "";
}

}  // namespace

TEST(GpuLayout, ChannelsLastFp16CnnMatchesTheCpu) {
  KILN_REQUIRE_GPU();
  const std::string bytes = layout::cnnModel();
  HostTensor x = randomInput({2, 3, 20, 20}, 42);
  auto cpuPlan = build(bytes, {});
  ASSERT_TRUE(cpuPlan.plan);
  auto ref = run(*cpuPlan.plan, {{"x", x}});

  auto nhwc = buildGpu(bytes, true, {});
  auto nchw = buildGpu(bytes, true, {"layout-nhwc"});
  auto fp32 = buildGpu(bytes, false, {});
  auto untimed = buildGpu(bytes, true, {}, false);  // the default tactics: the 1x1 conv as a cuBLASLt GEMM
  ASSERT_TRUE(nhwc && nchw && fp32 && untimed);
  EXPECT_EQ(countLayers(*nhwc, "ConvNHWC"), 9);
  EXPECT_EQ(tacticOf(*untimed, "conv6"), "cublaslt_1x1");
  EXPECT_EQ(tacticOf(*untimed, "conv2"), "cudnn");
  EXPECT_EQ(tacticOf(*untimed, "depthwise"), "cuda_depthwise");
  EXPECT_EQ(countLayers(*nhwc, "Transpose"), 3);
  EXPECT_EQ(countLayers(*nchw, "ConvNHWC"), 0);
  EXPECT_EQ(countLayers(*fp32, "ConvNHWC"), 0);

  auto yNhwc = runGpu(*nhwc, x.data), yNchw = runGpu(*nchw, x.data), y32 = runGpu(*fp32, x.data);
  auto yUntimed = runGpu(*untimed, x.data);
  for (const char* out : {"y", "feat"}) {
    double eNhwc = relL2(yNhwc[out], ref[out].data), eNchw = relL2(yNchw[out], ref[out].data);
    double e32 = relL2(y32[out], ref[out].data), eUntimed = relL2(yUntimed[out], ref[out].data);
    std::printf("    %s: fp16 NHWC %.3g (untimed tactics %.3g), fp16 NCHW %.3g, fp32 %.3g (rel. L2 vs CPU fp32)\n", out,
                eNhwc, eUntimed, eNchw, e32);
    EXPECT_LT(eNhwc, 1e-2) << out;
    EXPECT_LT(eUntimed, 1e-2) << out;
    EXPECT_GT(eNhwc, 0.0) << out;  // it really ran in float16
    EXPECT_LT(eNchw, 1e-2) << out;
    EXPECT_LT(e32, 1e-5) << out;
  }
}

}  // namespace kiln::test
