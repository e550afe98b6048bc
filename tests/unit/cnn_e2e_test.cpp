// A small CNN built with the layer API, checked against a naive computation in the test, and the same
// outputs through build -> serialize -> file -> fresh Runtime -> run.
#include <cmath>
#include <fstream>

#include "engine_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// input [1,3,8,8] -> conv 3x3 pad 1 (4 maps) + bias -> relu -> maxpool 2x2 s2 -> shuffle to [1,64]
// -> matmul with [64,5] constant -> + bias [1,5] -> softmax(axis 1)
struct SmallCnn {
  std::vector<float> convW = randomFloats(4 * 3 * 3 * 3, 11, -0.5f, 0.5f);
  std::vector<float> convB = randomFloats(4, 12, -0.1f, 0.1f);
  std::vector<float> fcW = randomFloats(64 * 5, 13, -0.3f, 0.3f);
  std::vector<float> fcB = randomFloats(5, 14, -0.1f, 0.1f);

  void define(NetworkDefinition& net) const {
    Tensor* x = net.addInput("image", DataType::kFLOAT, Dims{4, {1, 3, 8, 8}});
    auto* conv = net.addConvolution(*x, 4, Dims{2, {3, 3}}, floatWeights(convW), floatWeights(convB));
    conv->setPadding(Dims{2, {1, 1}});
    conv->setStride(Dims{2, {1, 1}});
    conv->setName("conv1");
    auto* relu = net.addActivation(*conv->getOutput(0), ActivationType::kRELU);
    auto* pool = net.addPooling(*relu->getOutput(0), PoolingType::kMAX, Dims{2, {2, 2}});
    pool->setStride(Dims{2, {2, 2}});
    auto* flat = net.addShuffle(*pool->getOutput(0));
    flat->setReshapeDimensions(Dims{2, {1, 64}});
    auto* w = net.addConstant(Dims{2, {64, 5}}, floatWeights(fcW));
    auto* mm = net.addMatrixMultiply(*flat->getOutput(0), MatrixOperation::kNONE, *w->getOutput(0), MatrixOperation::kNONE);
    auto* b = net.addConstant(Dims{2, {1, 5}}, floatWeights(fcB));
    auto* add = net.addElementWise(*mm->getOutput(0), *b->getOutput(0), ElementWiseOperation::kSUM);
    auto* sm = net.addSoftMax(*add->getOutput(0));
    sm->setAxes(1u << 1);
    sm->getOutput(0)->setName("probs");
    net.markOutput(*sm->getOutput(0));
  }

  std::vector<float> naive(const std::vector<float>& x) const {
    std::vector<double> conv(4 * 8 * 8);
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
          double s = convB[k];
          for (int c = 0; c < 3; ++c)
            for (int di = 0; di < 3; ++di)
              for (int dj = 0; dj < 3; ++dj) {
                int ii = i + di - 1, jj = j + dj - 1;
                if (ii < 0 || ii >= 8 || jj < 0 || jj >= 8) continue;
                s += double(convW[((k * 3 + c) * 3 + di) * 3 + dj]) * x[(c * 8 + ii) * 8 + jj];
              }
          conv[(k * 8 + i) * 8 + j] = std::max(0.0, s);
        }
    std::vector<double> pooled(64);
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double m = -1e30;
          for (int di = 0; di < 2; ++di)
            for (int dj = 0; dj < 2; ++dj) m = std::max(m, conv[(k * 8 + 2 * i + di) * 8 + 2 * j + dj]);
          pooled[(k * 4 + i) * 4 + j] = m;
        }
    std::vector<double> logits(5);
    for (int o = 0; o < 5; ++o) {
      double s = fcB[o];
      for (int i = 0; i < 64; ++i) s += pooled[i] * fcW[i * 5 + o];
      logits[o] = s;
    }
    double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (double& l : logits) sum += (l = std::exp(l - mx));
    std::vector<float> out;
    for (double l : logits) out.push_back(static_cast<float>(l / sum));
    return out;
  }
};

}  // namespace

TEST(CnnEndToEnd, MatchesNaiveAndSurvivesSerialization) {
  CaptureLogger logger;
  SmallCnn cnn;
  auto builder = createBuilder(logger);
  std::unique_ptr<HostMemory> plan;
  {
    auto net = builder->createNetwork();
    cnn.define(*net);
    EXPECT_EQ(net->getOutput(0)->getDimensions(), (Dims{2, {1, 5}}));
    plan = buildPlan(*builder, *net);
  }  // the network is gone; the plan holds the weights
  ASSERT_NE(plan, nullptr) << logger.all();

  auto image = randomFloats(3 * 8 * 8, 99);
  auto expected = cnn.naive(image);

  // direct: the plan bytes in memory
  auto rt1 = createRuntime(logger);
  auto e1 = rt1->deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(e1, nullptr) << logger.all();
  auto direct = runEngine(*e1, {{"image", {Dims{4, {1, 3, 8, 8}}, image}}})["probs"];
  ASSERT_EQ(direct.data.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(direct.data[i], expected[i], 1e-5) << i;

  // through a file and a fresh runtime
  std::string path = ::testing::TempDir() + "/kiln_cnn.plan";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(plan->data()), static_cast<std::streamsize>(plan->size()));
  }
  e1.reset();
  rt1.reset();
  auto rt2 = createRuntime(logger);
  auto e2 = rt2->deserializeEngineFromFile(path.c_str());
  ASSERT_NE(e2, nullptr) << logger.all();
  auto loaded = runEngine(*e2, {{"image", {Dims{4, {1, 3, 8, 8}}, image}}})["probs"];
  EXPECT_EQ(loaded.data, direct.data);  // bitwise identical

  // inspector shows the layers and the arena
  std::string info = e2->createEngineInspector()->getEngineInformation(LayerInformationFormat::kONELINE);
  EXPECT_NE(info.find("conv1"), std::string::npos) << info;
  EXPECT_NE(info.find("arena"), std::string::npos);
  std::string json = e2->createEngineInspector()->getEngineInformation(LayerInformationFormat::kJSON);
  EXPECT_EQ(json.front(), '{');
  EXPECT_NE(json.find("\"tactic\":\"ref\""), std::string::npos);
}

TEST(CnnEndToEnd, InvalidLayerFailsTheBuildNamingIt) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* a = net->addInput("a", DataType::kFLOAT, Dims{2, {2, 3}});
  Tensor* b = net->addInput("b", DataType::kFLOAT, Dims{2, {4, 3}});
  auto* add = net->addElementWise(*a, *b, ElementWiseOperation::kSUM);
  add->setName("bad_add");
  EXPECT_EQ(add->getOutput(0)->getDimensions().nbDims, -1);
  net->markOutput(*add->getOutput(0));
  EXPECT_EQ(buildPlan(*builder, *net), nullptr);
  EXPECT_TRUE(logger.contains("bad_add")) << logger.all();
}

TEST(CnnEndToEnd, DeadLayersAreRemovedAndConstantsFolded) {
  CaptureLogger logger;
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  Tensor* x = net->addInput("x", DataType::kFLOAT, Dims{2, {2, 2}});
  std::vector<float> c1{1, 2, 3, 4}, c2{10, 20, 30, 40};
  auto* k1 = net->addConstant(Dims{2, {2, 2}}, floatWeights(c1));
  auto* k2 = net->addConstant(Dims{2, {2, 2}}, floatWeights(c2));
  auto* folded = net->addElementWise(*k1->getOutput(0), *k2->getOutput(0), ElementWiseOperation::kPROD);  // constant
  auto* y = net->addElementWise(*x, *folded->getOutput(0), ElementWiseOperation::kSUM);
  net->addActivation(*x, ActivationType::kSIGMOID);  // dead: not used by any output
  y->getOutput(0)->setName("y");
  net->markOutput(*y->getOutput(0));
  auto plan = buildPlan(*builder, *net);
  ASSERT_NE(plan, nullptr) << logger.all();
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->getNbLayers(), 1);  // only the Add with x remains
  auto out = runEngine(*engine, {{"x", {Dims{2, {2, 2}}, {1, 1, 1, 1}}}});
  EXPECT_EQ(out["y"].data, (std::vector<float>{11, 41, 91, 161}));
}

}  // namespace kiln::test
