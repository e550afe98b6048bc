// Tests of the elementwise family's layer API: activation, unary, elementwise, cast, identity, scale.
#include "kiln/logger.h"
#include "kiln/network.h"
#include "network/network_impl.h"
#include "test_util.h"

namespace kiln::test {
namespace {

std::string dimsStr(const Dims& d) { return toString(d); }

TEST(ElementwiseLayers, ActivationDefaultsAndOps) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({1, 3, 4, 4}));
  struct Case {
    ActivationType t;
    const char* op;
    float alpha, beta;
  };
  const Case cases[] = {
      {ActivationType::kRELU, "Relu", 0, 0},
      {ActivationType::kSIGMOID, "Sigmoid", 0, 0},
      {ActivationType::kTANH, "Tanh", 0, 0},
      {ActivationType::kLEAKY_RELU, "LeakyRelu", 0.01f, 0},
      {ActivationType::kELU, "Elu", 1, 0},
      {ActivationType::kSELU, "Selu", 1.67326319217681884765625f, 1.05070102214813232421875f},
      {ActivationType::kSOFTSIGN, "Softsign", 0, 0},
      {ActivationType::kSOFTPLUS, "Softplus", 1, 1},
      {ActivationType::kCLIP, "Clip", 0, 0},
      {ActivationType::kHARD_SIGMOID, "HardSigmoid", 0.2f, 0.5f},
      {ActivationType::kSCALED_TANH, "ScaledTanh", 1, 1},
      {ActivationType::kTHRESHOLDED_RELU, "ThresholdedRelu", 1, 0},
      {ActivationType::kGELU_ERF, "Gelu", 0, 0},
      {ActivationType::kGELU_TANH, "Gelu", 0, 0},
      {ActivationType::kSILU, "Silu", 0, 0},
  };
  for (const auto& c : cases) {
    ActivationLayer* l = net.addActivation(*x, c.t);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->getType(), LayerType::kACTIVATION);
    EXPECT_STREQ(l->getOpType(), c.op);
    EXPECT_EQ(l->getActivationType(), c.t);
    EXPECT_FLOAT_EQ(l->getAlpha(), c.alpha) << c.op;
    EXPECT_FLOAT_EQ(l->getBeta(), c.beta) << c.op;
    EXPECT_EQ(dimsStr(l->getOutput(0)->getDimensions()), "[1,3,4,4]") << c.op;
    EXPECT_EQ(l->getOutput(0)->getType(), DataType::kFLOAT);
  }
  // ONNX attributes on the nodes
  auto* selu = net.addActivation(*x, ActivationType::kSELU);
  EXPECT_NEAR(selu->irNode()->attrs.getFloat("alpha", 0), 1.67326, 1e-5);
  EXPECT_NEAR(selu->irNode()->attrs.getFloat("gamma", 0), 1.0507, 1e-4);
  auto* gt = net.addActivation(*x, ActivationType::kGELU_TANH);
  EXPECT_EQ(gt->irNode()->attrs.getString("approximate", ""), "tanh");
  auto* ge = net.addActivation(*x, ActivationType::kGELU);
  EXPECT_FALSE(ge->irNode()->attrs.has("approximate"));
}

TEST(ElementwiseLayers, ActivationSettersRewriteTheNode) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({2, 5}));
  ActivationLayer* l = net.addActivation(*x, ActivationType::kRELU);
  l->setActivationType(ActivationType::kLEAKY_RELU);
  EXPECT_STREQ(l->getOpType(), "LeakyRelu");
  EXPECT_FLOAT_EQ(l->getAlpha(), 0.01f);
  l->setAlpha(0.2f);
  EXPECT_FLOAT_EQ(l->getAlpha(), 0.2f);
  EXPECT_NEAR(l->irNode()->attrs.getFloat("alpha", 0), 0.2, 1e-7);

  l->setActivationType(ActivationType::kCLIP);
  l->setAlpha(-1.f);
  l->setBeta(6.f);
  EXPECT_STREQ(l->getOpType(), "Clip");
  EXPECT_EQ(l->getActivationType(), ActivationType::kCLIP);
  EXPECT_FLOAT_EQ(l->getAlpha(), -1.f);
  EXPECT_FLOAT_EQ(l->getBeta(), 6.f);
  ASSERT_EQ(l->irNode()->inputs.size(), 3u);
  ASSERT_TRUE(l->irNode()->inputs[1]->isConstant());
  EXPECT_EQ(l->irNode()->inputs[1]->constant->floatAt(0), -1.0);
  EXPECT_EQ(l->irNode()->inputs[2]->constant->floatAt(0), 6.0);
  EXPECT_FALSE(l->irNode()->attrs.has("alpha"));
  EXPECT_EQ(dimsStr(l->getOutput(0)->getDimensions()), "[2,5]");

  l->setActivationType(ActivationType::kSOFTPLUS);
  l->setBeta(2.f);
  EXPECT_EQ(l->irNode()->inputs.size(), 1u);
  EXPECT_NEAR(l->irNode()->attrs.getFloat("beta", 0), 2.0, 0);
  EXPECT_NEAR(l->irNode()->attrs.getFloat("alpha", 0), 1.0, 0);
  EXPECT_EQ(dimsStr(l->getOutput(0)->getDimensions()), "[2,5]");

  // Clip on a half input makes half bounds
  Tensor* h = net.addInput("h", DataType::kHALF, dims({3}));
  ActivationLayer* c = net.addActivation(*h, ActivationType::kCLIP);
  c->setBeta(6.f);
  EXPECT_EQ(c->irNode()->inputs[2]->constant->dtype, DataType::kHALF);
  EXPECT_EQ(c->getOutput(0)->getType(), DataType::kHALF);
  EXPECT_EQ(dimsStr(c->getOutput(0)->getDimensions()), "[3]");
  EXPECT_THROW(l->setActivationType(static_cast<ActivationType>(99)), Error);
}

TEST(ElementwiseLayers, InvalidActivationGivesInvalidDims) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kINT32, dims({2}));
  ActivationLayer* r = net.addActivation(*x, ActivationType::kRELU);  // ints allowed
  EXPECT_EQ(dimsStr(r->getOutput(0)->getDimensions()), "[2]");
  ActivationLayer* l = net.addActivation(*x, ActivationType::kSIGMOID);  // float only
  EXPECT_EQ(l->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(ElementwiseLayers, UnaryLayer) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({2, 3}));
  UnaryLayer* u = net.addUnary(*x, UnaryOperation::kRECIP);
  EXPECT_STREQ(u->getOpType(), "Reciprocal");
  EXPECT_EQ(u->getOperation(), UnaryOperation::kRECIP);
  EXPECT_EQ(u->getType(), LayerType::kUNARY);
  EXPECT_EQ(dimsStr(u->getOutput(0)->getDimensions()), "[2,3]");
  for (int op = 0; op <= static_cast<int>(UnaryOperation::kISNAN); ++op) {
    u->setOperation(static_cast<UnaryOperation>(op));
    EXPECT_EQ(u->getOperation(), static_cast<UnaryOperation>(op));
  }
  u->setOperation(UnaryOperation::kISNAN);
  EXPECT_STREQ(u->getOpType(), "IsNaN");
  EXPECT_EQ(u->getOutput(0)->getType(), DataType::kBOOL);
  Tensor* b = net.addInput("b", DataType::kBOOL, dims({4}));
  UnaryLayer* n = net.addUnary(*b, UnaryOperation::kNOT);
  EXPECT_STREQ(n->getOpType(), "Not");
  EXPECT_EQ(dimsStr(n->getOutput(0)->getDimensions()), "[4]");
  u->setOperation(UnaryOperation::kNOT);  // float input: invalid
  EXPECT_EQ(u->getOutput(0)->getDimensions().nbDims, -1);
  EXPECT_THROW(net.addUnary(*x, static_cast<UnaryOperation>(77)), Error);
}

TEST(ElementwiseLayers, ElementWiseLayer) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* a = net.addInput("a", DataType::kFLOAT, dims({2, 1, 4}));
  Tensor* b = net.addInput("b", DataType::kFLOAT, dims({3, 1}));
  const std::pair<ElementWiseOperation, const char*> ops[] = {
      {ElementWiseOperation::kSUM, "Add"},     {ElementWiseOperation::kPROD, "Mul"},
      {ElementWiseOperation::kMAX, "Max"},     {ElementWiseOperation::kMIN, "Min"},
      {ElementWiseOperation::kSUB, "Sub"},     {ElementWiseOperation::kDIV, "Div"},
      {ElementWiseOperation::kPOW, "Pow"},     {ElementWiseOperation::kFLOOR_DIV, "FloorDiv"},
      {ElementWiseOperation::kEQUAL, "Equal"}, {ElementWiseOperation::kGREATER, "Greater"},
      {ElementWiseOperation::kLESS, "Less"},
  };
  for (const auto& [op, name] : ops) {
    ElementWiseLayer* l = net.addElementWise(*a, *b, op);
    EXPECT_STREQ(l->getOpType(), name);
    EXPECT_EQ(l->getOperation(), op);
    EXPECT_EQ(dimsStr(l->getOutput(0)->getDimensions()), "[2,3,4]") << name;
    bool cmp = op == ElementWiseOperation::kEQUAL || op == ElementWiseOperation::kGREATER ||
               op == ElementWiseOperation::kLESS;
    EXPECT_EQ(l->getOutput(0)->getType(), cmp ? DataType::kBOOL : DataType::kFLOAT);
  }
  Tensor* p = net.addInput("p", DataType::kBOOL, dims({3}));
  Tensor* q = net.addInput("q", DataType::kBOOL, dims({2, 1}));
  for (auto op : {ElementWiseOperation::kAND, ElementWiseOperation::kOR, ElementWiseOperation::kXOR}) {
    ElementWiseLayer* lb = net.addElementWise(*p, *q, op);
    EXPECT_EQ(dimsStr(lb->getOutput(0)->getDimensions()), "[2,3]");
    EXPECT_EQ(lb->getOutput(0)->getType(), DataType::kBOOL);
  }
  // dynamic extents propagate
  Tensor* d = net.addInput("d", DataType::kFLOAT, dims({-1, 4}));
  EXPECT_EQ(dimsStr(net.addElementWise(*d, *a, ElementWiseOperation::kSUM)->getOutput(0)->getDimensions()), "[2,-1,4]");
  // an invalid layer (inference stops there: later layers are invalid too, so test it last)
  ElementWiseLayer* l = net.addElementWise(*a, *b, ElementWiseOperation::kSUM);
  l->setOperation(ElementWiseOperation::kAND);  // float inputs
  EXPECT_EQ(l->getOperation(), ElementWiseOperation::kAND);
  EXPECT_EQ(l->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(ElementwiseLayers, ElementWiseIncompatibleShapes) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* a = net.addInput("a", DataType::kFLOAT, dims({2, 1, 4}));
  Tensor* c = net.addInput("c", DataType::kFLOAT, dims({5}));
  EXPECT_EQ(net.addElementWise(*a, *c, ElementWiseOperation::kSUM)->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(ElementwiseLayers, CastAndIdentity) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({2, 3}));
  CastLayer* c = net.addCast(*x, DataType::kINT32);
  EXPECT_STREQ(c->getOpType(), "Cast");
  EXPECT_EQ(c->getToType(), DataType::kINT32);
  EXPECT_EQ(c->irNode()->attrs.getInt("to", -1), static_cast<int64_t>(DataType::kINT32));
  EXPECT_EQ(c->getOutput(0)->getType(), DataType::kINT32);
  c->setToType(DataType::kHALF);
  EXPECT_EQ(c->getToType(), DataType::kHALF);
  EXPECT_EQ(c->getOutput(0)->getType(), DataType::kHALF);
  EXPECT_EQ(dimsStr(c->getOutput(0)->getDimensions()), "[2,3]");
  EXPECT_THROW(c->setToType(static_cast<DataType>(55)), Error);
  EXPECT_THROW(net.addCast(*x, static_cast<DataType>(55)), Error);
  IdentityLayer* i = net.addIdentity(*x);
  EXPECT_EQ(dimsStr(i->getOutput(0)->getDimensions()), "[2,3]");
}

// Runs a ScaleLayer's chain of IR nodes on data and returns the final value.
TensorPtr runScaleChain(NetworkDefinition& net, TensorPtr input) {
  auto& g = net.impl().graph();
  std::map<const ir::Value*, TensorPtr> vals;
  vals[g.inputs[0]] = input;
  for (auto& n : g.nodes) {
    std::vector<TensorPtr> ins;
    for (ir::Value* v : n->inputs) ins.push_back(v->isConstant() ? v->constant : vals.at(v));
    vals[n->outputs[0]] = runOp(n->op, n->attrs, ins)[0];
  }
  return vals.at(g.nodes.back()->outputs[0]);
}

TEST(ScaleLayer, ChannelModeBuildsMulAddPow) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({1, 2, 2, 2}));
  float scale[] = {2.f, 3.f}, shift[] = {1.f, -1.f}, power[] = {2.f, 1.f};
  ScaleLayer* s = net.addScale(*x, ScaleMode::kCHANNEL, Weights{DataType::kFLOAT, shift, 2},
                               Weights{DataType::kFLOAT, scale, 2}, Weights{DataType::kFLOAT, power, 2});
  EXPECT_EQ(s->getType(), LayerType::kSCALE);
  EXPECT_EQ(s->getMode(), ScaleMode::kCHANNEL);
  EXPECT_EQ(s->getChannelAxis(), 1);
  EXPECT_STREQ(s->getOpType(), "Pow");
  EXPECT_EQ(dimsStr(s->getOutput(0)->getDimensions()), "[1,2,2,2]");
  auto& g = net.impl().graph();
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0]->op, "Mul");
  EXPECT_EQ(g.nodes[1]->op, "Add");
  EXPECT_EQ(g.nodes[0]->inputs[1]->constant->shape, (ir::Shape{2, 1, 1}));
  EXPECT_EQ(net.getNbLayers(), 1);
  auto y = runScaleChain(net, floatTensor({1, 2, 2, 2}, {0, 1, 2, 3, 0, 1, 2, 3}));
  // c0: (2x+1)^2, c1: (3x-1)^1
  expectCloseValues(*y, {1, 9, 25, 49, -1, 2, 5, 8});
}

TEST(ScaleLayer, UniformElementwiseAndSkips) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({2, 3}));
  float sc = 4.f;
  ScaleLayer* u = net.addScale(*x, ScaleMode::kUNIFORM, Weights{DataType::kFLOAT, nullptr, 0},
                               Weights{DataType::kFLOAT, &sc, 1}, Weights{DataType::kFLOAT, nullptr, 0});
  EXPECT_STREQ(u->getOpType(), "Mul");
  EXPECT_EQ(u->getMode(), ScaleMode::kUNIFORM);
  EXPECT_EQ(dimsStr(u->getOutput(0)->getDimensions()), "[2,3]");

  float sh[] = {1, 2, 3, 4, 5, 6};
  ScaleLayer* e = net.addScaleNd(*x, ScaleMode::kELEMENTWISE, Weights{DataType::kFLOAT, sh, 6},
                                 Weights{DataType::kFLOAT, nullptr, 0}, Weights{DataType::kFLOAT, nullptr, 0}, 0);
  EXPECT_STREQ(e->getOpType(), "Add");
  EXPECT_EQ(e->getChannelAxis(), 0);
  EXPECT_EQ(e->getMode(), ScaleMode::kELEMENTWISE);
  EXPECT_EQ(e->irNode()->inputs[1]->constant->shape, (ir::Shape{2, 3}));
  EXPECT_EQ(dimsStr(e->getOutput(0)->getDimensions()), "[2,3]");

  ScaleLayer* id = net.addScale(*x, ScaleMode::kUNIFORM, Weights{DataType::kFLOAT, nullptr, 0},
                                Weights{DataType::kFLOAT, nullptr, 0}, Weights{DataType::kFLOAT, nullptr, 0});
  EXPECT_STREQ(id->getOpType(), "Identity");
  EXPECT_EQ(dimsStr(id->getOutput(0)->getDimensions()), "[2,3]");

  // channel axis on the last dim
  float c3[] = {1, 2, 3};
  ScaleLayer* ch = net.addScaleNd(*x, ScaleMode::kCHANNEL, Weights{DataType::kFLOAT, nullptr, 0},
                                  Weights{DataType::kFLOAT, c3, 3}, Weights{DataType::kFLOAT, nullptr, 0}, 1);
  EXPECT_EQ(ch->irNode()->inputs[1]->constant->shape, (ir::Shape{3}));
  EXPECT_EQ(ch->getChannelAxis(), 1);
}

TEST(ScaleLayer, HalfInputConvertsWeights) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kHALF, dims({1, 2, 3}));
  float sc[] = {2, 3};
  ScaleLayer* s = net.addScale(*x, ScaleMode::kCHANNEL, Weights{DataType::kFLOAT, nullptr, 0},
                               Weights{DataType::kFLOAT, sc, 2}, Weights{DataType::kFLOAT, nullptr, 0});
  EXPECT_EQ(s->irNode()->inputs[1]->constant->dtype, DataType::kHALF);
  EXPECT_EQ(s->getOutput(0)->getType(), DataType::kHALF);
  EXPECT_EQ(dimsStr(s->getOutput(0)->getDimensions()), "[1,2,3]");
}

TEST(ScaleLayer, CountMismatchThrows) {
  Logger logger;
  NetworkDefinition net(logger);
  Tensor* x = net.addInput("x", DataType::kFLOAT, dims({1, 3, 2, 2}));
  float w[] = {1, 2, 3, 4, 5};
  Weights none{DataType::kFLOAT, nullptr, 0};
  EXPECT_THROW(net.addScale(*x, ScaleMode::kCHANNEL, none, Weights{DataType::kFLOAT, w, 2}, none), Error);
  EXPECT_THROW(net.addScale(*x, ScaleMode::kUNIFORM, none, Weights{DataType::kFLOAT, w, 2}, none), Error);
  EXPECT_THROW(net.addScale(*x, ScaleMode::kELEMENTWISE, none, Weights{DataType::kFLOAT, w, 5}, none), Error);
  EXPECT_THROW(net.addScaleNd(*x, ScaleMode::kCHANNEL, none, Weights{DataType::kFLOAT, w, 3}, none, 4), Error);
  EXPECT_THROW(net.addScale(*x, ScaleMode::kCHANNEL, none, Weights{DataType::kFLOAT, nullptr, 3}, none), Error);
  EXPECT_EQ(net.getNbLayers(), 0);
  // dynamic channel extent: accepted, resolved later
  Tensor* d = net.addInput("d", DataType::kFLOAT, dims({1, -1, 2}));
  ScaleLayer* s = net.addScale(*d, ScaleMode::kCHANNEL, none, Weights{DataType::kFLOAT, w, 3}, none);
  EXPECT_EQ(dimsStr(s->getOutput(0)->getDimensions()), "[1,3,2]");
}

}  // namespace
}  // namespace kiln::test
