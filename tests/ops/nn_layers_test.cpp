// Layer API of the nn family: output dims, getters/setters, IR node ops/attributes, invalid layers.
#include "ir/graph.h"
#include "kiln/logger.h"
#include "kiln/network.h"
#include "test_util.h"

namespace kiln::test {
namespace {

std::string str(const Dims& d) { return toString(d); }

Weights w(const std::vector<float>& v) { return Weights{DataType::kFLOAT, v.data(), static_cast<int64_t>(v.size())}; }

TEST(NnLayersTest, Convolution) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({1, 4, 8, 8}));
  std::vector<float> k(6 * 4 * 3 * 3, 0.1f), b(6, 0.f);
  ConvolutionLayer* c = net.addConvolutionNd(*in, 6, dims({3, 3}), w(k), w(b));
  EXPECT_STREQ(c->getOpType(), "Conv");
  EXPECT_EQ(c->getType(), LayerType::kCONVOLUTION);
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,6,6]");
  EXPECT_EQ(c->getNbOutputMaps(), 6);
  EXPECT_EQ(str(c->getKernelSizeNd()), "[3,3]");
  EXPECT_EQ(str(c->getStrideNd()), "[1,1]");
  EXPECT_EQ(str(c->getDilationNd()), "[1,1]");
  EXPECT_EQ(c->getNbGroups(), 1);
  c->setStrideNd(dims({2, 2}));
  c->setPaddingNd(dims({1, 1}));
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,4,4]");
  EXPECT_EQ(str(c->getPaddingNd()), "[1,1]");
  c->setPostPadding(dims({0, 2}));
  EXPECT_EQ(str(c->getPrePadding()), "[1,1]");
  EXPECT_EQ(str(c->getPostPadding()), "[0,2]");
  EXPECT_EQ(c->irNode()->attrs.getInts("pads"), (std::vector<int64_t>{1, 1, 0, 2}));
  c->setDilationNd(dims({2, 1}));
  EXPECT_EQ(str(c->getDilationNd()), "[2,1]");
  c->setDilationNd(dims({1, 1}));
  c->setPaddingMode(PaddingMode::kSAME_UPPER);
  EXPECT_EQ(c->getPaddingMode(), PaddingMode::kSAME_UPPER);
  EXPECT_EQ(c->irNode()->attrs.getString("auto_pad", ""), "SAME_UPPER");
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,4,4]");
  c->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_UP);
  EXPECT_EQ(c->getPaddingMode(), PaddingMode::kEXPLICIT_ROUND_UP);
  EXPECT_EQ(c->irNode()->attrs.getInt("ceil_mode", 0), 1);
  EXPECT_FALSE(c->irNode()->attrs.has("auto_pad"));
  // H: 8 + 1 + 0 - 3 = 6 -> 6/2 + 1 = 4; W: 8 + 1 + 2 - 3 = 8 -> 5 (same either way here)
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,4,5]");
  c->setPostPadding(dims({1, 2}));  // H: 7 -> ceil(7/2) + 1 = 5 (round up), 7/2 + 1 = 4 (round down)
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,5,5]");
  c->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_DOWN);
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,6,4,5]");
  // groups: weights [6, 4, 3, 3] do not fit 2 groups of 4 channels -> invalid layer
  c->setNbGroups(2);
  EXPECT_EQ(c->getNbGroups(), 2);
  EXPECT_EQ(c->getOutput(0)->getDimensions().nbDims, -1);
  c->setNbGroups(1);
  EXPECT_EQ(c->getOutput(0)->getDimensions().nbDims, 4);
  // changing the number of output maps reshapes the weights: 216 = 8 * 3 * 9 -> C/groups = 3 (invalid for C=4)
  c->setNbOutputMaps(8);
  EXPECT_EQ(c->getNbOutputMaps(), 8);
  EXPECT_EQ(c->getOutput(0)->getDimensions().nbDims, -1);
  c->setNbOutputMaps(6);
  EXPECT_EQ(c->getOutput(0)->getDimensions().nbDims, 4);
  EXPECT_EQ(ir::shapeToString(c->irNode()->inputs[1]->shape), "[6,4,3,3]");
  EXPECT_EQ(c->getNbInputs(), 3);
}

TEST(NnLayersTest, ConvolutionDynamicChannelsAndGroups) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({-1, -1, 5, 5}));
  std::vector<float> k(4 * 2 * 3 * 3, 1.f);  // depthwise-ish: K=4, C/groups=2
  ConvolutionLayer* c = net.addConvolutionNd(*in, 4, dims({3, 3}), w(k), Weights{DataType::kFLOAT, nullptr, 0});
  c->setNbGroups(2);
  EXPECT_EQ(ir::shapeToString(c->irNode()->inputs[1]->shape), "[4,2,3,3]");
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[-1,4,3,3]");
  EXPECT_EQ(c->getNbInputs(), 2);
  // bad weight count
  EXPECT_THROW(net.addConvolutionNd(*in, 4, dims({3, 3}), w(std::vector<float>(10, 1.f)), Weights{}), Error);
  // 1-D and 3-D convolutions
  Tensor* x1 = net.addInput("x1", DataType::kFLOAT, dims({2, 3, 10}));
  ConvolutionLayer* c1 = net.addConvolutionNd(*x1, 5, dims({4}), w(std::vector<float>(5 * 3 * 4, 1.f)), Weights{});
  c1->setStrideNd(dims({3}));
  EXPECT_EQ(str(c1->getOutput(0)->getDimensions()), "[2,5,3]");
  Tensor* x3 = net.addInput("x3", DataType::kFLOAT, dims({1, 2, 4, 4, 4}));
  ConvolutionLayer* c3 = net.addConvolutionNd(*x3, 1, dims({2, 2, 2}), w(std::vector<float>(16, 1.f)), Weights{});
  c3->setPaddingMode(PaddingMode::kSAME_LOWER);
  EXPECT_EQ(str(c3->getOutput(0)->getDimensions()), "[1,1,4,4,4]");
}

TEST(NnLayersTest, Deconvolution) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({1, 4, 5, 5}));
  std::vector<float> k(4 * 6 * 2 * 2, 1.f), b(6, 1.f);
  DeconvolutionLayer* d = net.addDeconvolutionNd(*in, 6, dims({2, 2}), w(k), w(b));
  EXPECT_STREQ(d->getOpType(), "ConvTranspose");
  EXPECT_EQ(d->getType(), LayerType::kDECONVOLUTION);
  EXPECT_EQ(str(d->getOutput(0)->getDimensions()), "[1,6,6,6]");
  d->setStrideNd(dims({2, 2}));
  EXPECT_EQ(str(d->getOutput(0)->getDimensions()), "[1,6,10,10]");
  d->setPrePadding(dims({1, 0}));
  EXPECT_EQ(str(d->getOutput(0)->getDimensions()), "[1,6,9,10]");
  EXPECT_EQ(str(d->getPaddingNd()), "[1,0]");
  d->setPaddingMode(PaddingMode::kSAME_UPPER);
  EXPECT_EQ(str(d->getOutput(0)->getDimensions()), "[1,6,10,10]");
  d->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_UP);
  EXPECT_EQ(d->getPaddingMode(), PaddingMode::kEXPLICIT_ROUND_UP);
  d->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_DOWN);
  EXPECT_EQ(d->getPaddingMode(), PaddingMode::kEXPLICIT_ROUND_DOWN);
  // groups: W [C, K/groups, k...] is reshaped from [4, 6, 2, 2] to [8, 3, 2, 2] -> C mismatch -> invalid
  d->setNbGroups(2);
  EXPECT_EQ(ir::shapeToString(d->irNode()->inputs[1]->shape), "[8,3,2,2]");
  EXPECT_EQ(d->getNbOutputMaps(), 6);
  EXPECT_EQ(d->getOutput(0)->getDimensions().nbDims, -1);
  d->setNbGroups(1);
  EXPECT_EQ(d->getOutput(0)->getDimensions().nbDims, 4);
  d->setDilationNd(dims({2, 2}));
  EXPECT_EQ(str(d->getDilationNd()), "[2,2]");
  EXPECT_EQ(str(d->getKernelSizeNd()), "[2,2]");
}

TEST(NnLayersTest, Pooling) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({1, 3, 7, 7}));
  PoolingLayer* p = net.addPoolingNd(*in, PoolingType::kMAX, dims({2, 2}));
  EXPECT_STREQ(p->getOpType(), "MaxPool");
  EXPECT_EQ(str(p->getStrideNd()), "[1,1]");
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,6,6]");
  p->setStrideNd(dims({2, 2}));
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,3,3]");
  p->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_UP);
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,4,4]");
  p->setPaddingMode(PaddingMode::kSAME_LOWER);
  EXPECT_EQ(p->getPaddingMode(), PaddingMode::kSAME_LOWER);
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,4,4]");
  p->setPaddingMode(PaddingMode::kEXPLICIT_ROUND_DOWN);
  p->setPoolingType(PoolingType::kAVERAGE);
  EXPECT_STREQ(p->getOpType(), "AveragePool");
  EXPECT_EQ(p->getPoolingType(), PoolingType::kAVERAGE);
  EXPECT_TRUE(p->getAverageCountExcludesPadding());
  EXPECT_EQ(p->irNode()->attrs.getInt("count_include_pad", -1), 0);
  p->setAverageCountExcludesPadding(false);
  EXPECT_FALSE(p->getAverageCountExcludesPadding());
  EXPECT_EQ(p->irNode()->attrs.getInt("count_include_pad", -1), 1);
  p->setWindowSizeNd(dims({3, 3}));
  p->setPrePadding(dims({1, 1}));
  p->setPostPadding(dims({1, 1}));
  EXPECT_EQ(str(p->getWindowSizeNd()), "[3,3]");
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,4,4]");
  p->setWindowSizeNd(dims({10, 10}));  // larger than the padded input
  EXPECT_EQ(p->getOutput(0)->getDimensions().nbDims, -1);
  p->setWindowSizeNd(dims({2}));  // wrong rank
  EXPECT_EQ(p->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(NnLayersTest, MatrixMultiply) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* a = net.addInput("a", DataType::kFLOAT, dims({2, 3, 4}));
  Tensor* b = net.addInput("b", DataType::kFLOAT, dims({5, 4}));
  MatrixMultiplyLayer* m = net.addMatrixMultiply(*a, MatrixOperation::kNONE, *b, MatrixOperation::kTRANSPOSE);
  EXPECT_STREQ(m->getOpType(), "MatMul");
  EXPECT_EQ(str(m->getOutput(0)->getDimensions()), "[2,3,5]");
  EXPECT_EQ(m->getOperation(1), MatrixOperation::kTRANSPOSE);
  EXPECT_EQ(m->irNode()->attrs.getInt("transB", 0), 1);
  m->setOperation(1, MatrixOperation::kNONE);
  EXPECT_EQ(m->getOutput(0)->getDimensions().nbDims, -1);  // 4 vs 5
  m->setOperation(1, MatrixOperation::kTRANSPOSE);
  m->setOperation(0, MatrixOperation::kVECTOR);  // a: batch [2, 3] of vectors of 4
  EXPECT_EQ(m->getOperation(0), MatrixOperation::kVECTOR);
  EXPECT_EQ(str(m->getOutput(0)->getDimensions()), "[2,3,5]");
  Tensor* v = net.addInput("v", DataType::kFLOAT, dims({3, 4}));
  MatrixMultiplyLayer* dot = net.addMatrixMultiply(*v, MatrixOperation::kVECTOR, *v, MatrixOperation::kVECTOR);
  EXPECT_EQ(str(dot->getOutput(0)->getDimensions()), "[3]");
  EXPECT_THROW(dot->setOperation(2, MatrixOperation::kNONE), Error);
}

TEST(NnLayersTest, SoftMax) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({2, 3, 4, 5}));
  SoftMaxLayer* s = net.addSoftMax(*in);
  EXPECT_STREQ(s->getOpType(), "Softmax");
  EXPECT_EQ(s->getAxes(), 1u << 1);  // max(0, 4 - 3)
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[2,3,4,5]");
  EXPECT_EQ(s->irNode()->attrs.getInt("trt_default_axis", 0), 1);
  in->setDimensions(dims({7, 5}));
  EXPECT_EQ(s->getAxes(), 1u << 0);  // default follows the rank
  s->setAxes(1u << 1);
  EXPECT_EQ(s->getAxes(), 1u << 1);
  EXPECT_EQ(s->irNode()->attrs.getInt("axis", -5), 1);
  EXPECT_FALSE(s->irNode()->attrs.has("trt_default_axis"));
  EXPECT_THROW(s->setAxes(3u), Error);
  s->setAxes(1u << 4);
  EXPECT_EQ(s->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(NnLayersTest, Reduce) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({2, 3, 4}));
  ReduceLayer* r = net.addReduce(*in, ReduceOperation::kAVG, 0b110, false);
  EXPECT_STREQ(r->getOpType(), "ReduceMean");
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[2]");
  EXPECT_EQ(r->getReduceAxes(), 0b110u);
  EXPECT_FALSE(r->getKeepDimensions());
  r->setKeepDimensions(true);
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[2,1,1]");
  r->setReduceAxes(0b001);
  EXPECT_EQ(r->getReduceAxes(), 1u);
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[1,3,4]");
  r->setOperation(ReduceOperation::kMAX);
  EXPECT_EQ(r->getOperation(), ReduceOperation::kMAX);
  EXPECT_STREQ(r->getOpType(), "ReduceMax");
  for (auto [op, name] : std::vector<std::pair<ReduceOperation, const char*>>{{ReduceOperation::kSUM, "ReduceSum"},
                                                                               {ReduceOperation::kPROD, "ReduceProd"},
                                                                               {ReduceOperation::kMIN, "ReduceMin"}}) {
    r->setOperation(op);
    EXPECT_STREQ(r->getOpType(), name);
    EXPECT_EQ(r->getOperation(), op);
  }
  r->setReduceAxes(0);  // reduce nothing
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[2,3,4]");
  r->setReduceAxes(1u << 5);  // out of range
  EXPECT_EQ(r->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(NnLayersTest, Normalization) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({2, 4, 3, 3}));
  Tensor* sc = net.addInput("s", DataType::kFLOAT, dims({1, 4, 1, 1}));
  Tensor* bi = net.addInput("b", DataType::kFLOAT, dims({1, 4, 1, 1}));
  NormalizationLayer* n = net.addNormalization(*in, *sc, *bi, 0b1100);
  EXPECT_STREQ(n->getOpType(), "Normalization");
  EXPECT_EQ(n->getType(), LayerType::kNORMALIZATION);
  EXPECT_EQ(str(n->getOutput(0)->getDimensions()), "[2,4,3,3]");
  EXPECT_EQ(n->getAxes(), 0b1100u);
  EXPECT_FLOAT_EQ(n->getEpsilon(), 1e-5f);
  EXPECT_EQ(n->getNbGroups(), 1);
  n->setEpsilon(1e-3f);
  EXPECT_FLOAT_EQ(n->getEpsilon(), 1e-3f);
  n->setNbGroups(2);
  EXPECT_EQ(n->getNbGroups(), 2);
  EXPECT_EQ(n->getOutput(0)->getDimensions().nbDims, 4);
  n->setNbGroups(3);  // 4 channels
  EXPECT_EQ(n->getOutput(0)->getDimensions().nbDims, -1);
  n->setNbGroups(1);
  n->setAxes(0b1000);
  EXPECT_EQ(n->getAxes(), 0b1000u);
  EXPECT_EQ(n->irNode()->attrs.getInts("axes"), std::vector<int64_t>{3});
  EXPECT_EQ(n->getOutput(0)->getDimensions().nbDims, 4);
}


TEST(NnLayersTest, DynamicShapesPropagate) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* in = net.addInput("x", DataType::kFLOAT, dims({-1, 4, -1, 8}));
  ConvolutionLayer* c = net.addConvolutionNd(*in, 2, dims({3, 3}), w(std::vector<float>(2 * 4 * 9, 1.f)), Weights{});
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[-1,2,-1,6]");
  c->setPaddingMode(PaddingMode::kSAME_UPPER);
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[-1,2,-1,8]");
  PoolingLayer* p = net.addPoolingNd(*c->getOutput(0), PoolingType::kAVERAGE, dims({2, 2}));
  p->setStrideNd(dims({2, 2}));
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[-1,2,-1,4]");
  ReduceLayer* r = net.addReduce(*p->getOutput(0), ReduceOperation::kSUM, 0b1010, true);
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[-1,1,-1,1]");
  SoftMaxLayer* s = net.addSoftMax(*r->getOutput(0));
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[-1,1,-1,1]");
  Tensor* a = net.addInput("a", DataType::kFLOAT, dims({-1, 3, 4}));
  Tensor* b = net.addInput("b", DataType::kFLOAT, dims({4, -1}));
  MatrixMultiplyLayer* m = net.addMatrixMultiply(*a, MatrixOperation::kNONE, *b, MatrixOperation::kNONE);
  EXPECT_EQ(str(m->getOutput(0)->getDimensions()), "[-1,3,-1]");
  Tensor* sc = net.addInput("s", DataType::kFLOAT, dims({1, 4, 1, 1}));
  NormalizationLayer* n = net.addNormalization(*in, *sc, *sc, 0b1100);
  n->setNbGroups(2);
  EXPECT_EQ(str(n->getOutput(0)->getDimensions()), "[-1,4,-1,8]");
  DeconvolutionLayer* d = net.addDeconvolutionNd(*in, 3, dims({2, 2}), w(std::vector<float>(4 * 3 * 4, 1.f)), Weights{});
  d->setStrideNd(dims({2, 2}));
  EXPECT_EQ(str(d->getOutput(0)->getDimensions()), "[-1,3,-1,16]");
}

}  // namespace
}  // namespace kiln::test
