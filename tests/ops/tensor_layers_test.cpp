// Layer API of the tensor family: constant, shuffle, concatenation, slice, padding, resize, gather, topk.
#include "ir/graph.h"
#include "kiln/logger.h"
#include "kiln/network.h"
#include "test_util.h"

namespace kiln::test {
namespace {

std::string str(const Dims& d) { return toString(d); }

struct Net {
  Logger logger;
  NetworkDefinition net{logger};
};

TEST(TensorLayers, Constant) {
  Net n;
  std::vector<float> w{1, 2, 3, 4, 5, 6};
  auto* c = n.net.addConstant(dims({2, 3}), Weights{DataType::kFLOAT, w.data(), 6});
  w[0] = 100;  // copied at add time
  EXPECT_EQ(str(c->getDimensions()), "[2,3]");
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[2,3]");
  EXPECT_EQ(c->getOutput(0)->getType(), DataType::kFLOAT);
  EXPECT_STREQ(c->getOpType(), "Constant");
  auto v = c->irNode()->attrs.getTensor("value");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(values<float>(*v)[0], 1.f);
  EXPECT_THROW(n.net.addConstant(dims({2, 2}), Weights{DataType::kFLOAT, w.data(), 6}), Error);
}

TEST(ShuffleLayers, DefaultsSettersAndDims) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({2, 3, 4}));
  auto* s = n.net.addShuffle(*x);
  EXPECT_STREQ(s->getOpType(), "Shuffle");
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[2,3,4]");
  EXPECT_EQ(s->getReshapeDimensions().nbDims, -1);
  EXPECT_TRUE(s->getZeroIsPlaceholder());
  EXPECT_EQ(s->getFirstTranspose().order[1], 1);
  EXPECT_TRUE(s->irNode()->attrs.all().empty());  // identity: nothing stored
  Permutation p;
  p.order[0] = 2;
  p.order[1] = 0;
  p.order[2] = 1;
  s->setFirstTranspose(p);
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[4,2,3]");
  s->setReshapeDimensions(dims({0, -1}));
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[4,6]");
  EXPECT_EQ(str(s->getReshapeDimensions()), "[0,-1]");
  Permutation q;
  q.order[0] = 1;
  q.order[1] = 0;
  s->setSecondTranspose(q);
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[6,4]");
  EXPECT_EQ(s->getSecondTranspose().order[0], 1);
  EXPECT_EQ(s->getFirstTranspose().order[0], 2);
  s->setZeroIsPlaceholder(false);
  EXPECT_FALSE(s->getZeroIsPlaceholder());
  EXPECT_EQ(s->getOutput(0)->getDimensions().nbDims, -1);  // reshape [0,-1] with a literal 0 and a -1
  s->setZeroIsPlaceholder(true);
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[6,4]");
  s->setReshapeDimensions(dims({5, -1}));
  EXPECT_EQ(s->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(ShuffleLayers, DynamicReshapeFromShapeTensor) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({2, 3, 4}));
  std::vector<int64_t> shape{4, 6};
  auto* c = n.net.addConstant(dims({2}), Weights{DataType::kINT64, shape.data(), 2});
  auto* s = n.net.addShuffle(*x);
  s->setInput(1, *c->getOutput(0));
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[4,6]");
  EXPECT_EQ(s->getReshapeDimensions().nbDims, -1);
  auto* sh = n.net.addInput("s", DataType::kINT64, dims({3}));
  s->setInput(1, *sh);
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[-1,-1,-1]");
}

TEST(ConcatLayers, DefaultAxisAndSetter) {
  Net n;
  auto* a = n.net.addInput("a", DataType::kFLOAT, dims({1, 2, 3, 4}));
  auto* b = n.net.addInput("b", DataType::kFLOAT, dims({1, 5, 3, 4}));
  Tensor* ins[] = {a, b};
  auto* c = n.net.addConcatenation(ins, 2);
  EXPECT_EQ(c->getAxis(), 1);  // max(0, 4 - 3)
  EXPECT_STREQ(c->getOpType(), "Concat");
  EXPECT_EQ(str(c->getOutput(0)->getDimensions()), "[1,7,3,4]");
  c->setAxis(2);
  EXPECT_EQ(c->getAxis(), 2);
  EXPECT_EQ(c->getOutput(0)->getDimensions().nbDims, -1);  // 2 vs 5 on axis 1
  auto* v = n.net.addInput("v", DataType::kFLOAT, dims({3}));
  Tensor* one[] = {v, v};
  EXPECT_EQ(n.net.addConcatenation(one, 2)->getAxis(), 0);
}

TEST(SliceLayers, SettersAndModes) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({4, 6}));
  auto* s = n.net.addSlice(*x, dims({0, 1}), dims({2, 3}), dims({2, 2}));
  EXPECT_STREQ(s->getOpType(), "StridedSlice");
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[2,3]");
  EXPECT_EQ(s->getMode(), SampleMode::kSTRICT_BOUNDS);
  EXPECT_EQ(str(s->getStart()), "[0,1]");
  EXPECT_EQ(str(s->getSize()), "[2,3]");
  EXPECT_EQ(str(s->getStride()), "[2,2]");
  s->setSize(dims({2, 4}));  // samples column 7: out of bounds in STRICT_BOUNDS
  EXPECT_EQ(s->getOutput(0)->getDimensions().nbDims, -1);
  s->setMode(SampleMode::kFILL);
  EXPECT_EQ(s->getMode(), SampleMode::kFILL);
  EXPECT_EQ(str(s->getOutput(0)->getDimensions()), "[2,4]");
  s->setStart(dims({3, 5}));
  s->setStride(dims({-1, -1}));
  EXPECT_EQ(str(s->getStart()), "[3,5]");
  EXPECT_EQ(str(s->getStride()), "[-1,-1]");
  EXPECT_EQ(s->irNode()->attrs.getInt("mode", -1), 3);
}

TEST(PadLayers, TrailingDimsAndCrop) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({1, 3, 4, 5}));
  auto* p = n.net.addPaddingNd(*x, dims({1, 2}), dims({0, -1}));
  EXPECT_STREQ(p->getOpType(), "Pad");
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,5,6]");
  EXPECT_EQ(str(p->getPrePaddingNd()), "[1,2]");
  EXPECT_EQ(str(p->getPostPaddingNd()), "[0,-1]");
  auto pads = p->irNode()->inputs[1]->constant->toInts();
  EXPECT_EQ(pads, (std::vector<int64_t>{0, 0, 1, 2, 0, 0, 0, -1}));
  p->setPostPaddingNd(dims({2, 2}));
  EXPECT_EQ(str(p->getOutput(0)->getDimensions()), "[1,3,7,9]");
  p->setPrePaddingNd(dims({-7, 0}));  // 4 - 7 + 2 < 0
  EXPECT_EQ(p->getOutput(0)->getDimensions().nbDims, -1);
  EXPECT_EQ(str(p->getPrePaddingNd()), "[-7,0]");
  // inputs produced by other layers: their rank is inferred before use
  auto* sh = n.net.addShuffle(*x);
  auto* p2 = n.net.addPaddingNd(*sh->getOutput(0), dims({1}), dims({1}));
  EXPECT_EQ(str(p2->getOutput(0)->getDimensions()), "[1,3,4,7]");
  Tensor* ins[] = {sh->getOutput(0), sh->getOutput(0)};
  EXPECT_EQ(n.net.addConcatenation(ins, 2)->getAxis(), 1);
  EXPECT_THROW(n.net.addPaddingNd(*x, dims({1, 1, 1, 1, 1}), dims({0, 0, 0, 0, 0})), Error);
}

TEST(ResizeLayers, DefaultsAndSetters) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({1, 3, 4, 4}));
  auto* r = n.net.addResize(*x);
  EXPECT_STREQ(r->getOpType(), "Resize");
  EXPECT_EQ(r->getResizeMode(), InterpolationMode::kNEAREST);
  EXPECT_EQ(r->getCoordinateTransformation(), ResizeCoordinateTransformation::kASYMMETRIC);
  EXPECT_EQ(r->getNearestRounding(), ResizeRoundMode::kFLOOR);
  EXPECT_EQ(r->getOutput(0)->getDimensions().nbDims, -1);  // neither scales nor sizes yet
  r->setOutputDimensions(dims({1, 3, 8, 6}));
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[1,3,8,6]");
  EXPECT_EQ(str(r->getOutputDimensions()), "[1,3,8,6]");
  EXPECT_EQ(r->getScales(0, nullptr), -1);
  float sc[] = {1, 1, 2, 0.5f};
  r->setScales(sc, 4);
  EXPECT_EQ(str(r->getOutput(0)->getDimensions()), "[1,3,8,2]");
  EXPECT_EQ(r->getOutputDimensions().nbDims, -1);
  float back[4] = {};
  EXPECT_EQ(r->getScales(4, back), 4);
  EXPECT_EQ(back[3], 0.5f);
  r->setResizeMode(InterpolationMode::kLINEAR);
  r->setCoordinateTransformation(ResizeCoordinateTransformation::kALIGN_CORNERS);
  r->setNearestRounding(ResizeRoundMode::kHALF_UP);
  EXPECT_EQ(r->getResizeMode(), InterpolationMode::kLINEAR);
  EXPECT_EQ(r->getCoordinateTransformation(), ResizeCoordinateTransformation::kALIGN_CORNERS);
  EXPECT_EQ(r->getNearestRounding(), ResizeRoundMode::kHALF_UP);
  const auto& a = r->irNode()->attrs;
  EXPECT_EQ(a.getString("mode", ""), "linear");
  EXPECT_EQ(a.getString("coordinate_transformation_mode", ""), "align_corners");
  EXPECT_EQ(a.getString("nearest_mode", ""), "round_prefer_ceil");
  r->setNearestRounding(ResizeRoundMode::kHALF_DOWN);
  EXPECT_EQ(a.getString("nearest_mode", ""), "round_prefer_floor");
  r->setCoordinateTransformation(ResizeCoordinateTransformation::kHALF_PIXEL);
  EXPECT_EQ(a.getString("coordinate_transformation_mode", ""), "half_pixel");
  r->setResizeMode(InterpolationMode::kCUBIC);
  EXPECT_EQ(a.getString("mode", ""), "cubic");
}

TEST(GatherLayers, ModesAndAxes) {
  Net n;
  auto* d = n.net.addInput("d", DataType::kFLOAT, dims({3, 4, 5}));
  auto* i = n.net.addInput("i", DataType::kINT32, dims({2}));
  auto* g = n.net.addGather(*d, *i, 1);
  EXPECT_STREQ(g->getOpType(), "Gather");
  EXPECT_EQ(g->getGatherAxis(), 1);
  EXPECT_EQ(g->getMode(), GatherMode::kDEFAULT);
  EXPECT_EQ(str(g->getOutput(0)->getDimensions()), "[3,2,5]");
  g->setGatherAxis(-1);
  EXPECT_EQ(str(g->getOutput(0)->getDimensions()), "[3,4,2]");
  auto* ie = n.net.addInput("ie", DataType::kINT64, dims({3, 4, 2}));
  auto* ge = n.net.addGatherV2(*d, *ie, GatherMode::kELEMENT);
  EXPECT_STREQ(ge->getOpType(), "GatherElements");
  EXPECT_EQ(str(ge->getOutput(0)->getDimensions()), "[3,4,2]");
  auto* in = n.net.addInput("in", DataType::kINT64, dims({3, 2}));
  auto* gn = n.net.addGatherV2(*d, *in, GatherMode::kND);
  EXPECT_STREQ(gn->getOpType(), "GatherND");
  EXPECT_EQ(str(gn->getOutput(0)->getDimensions()), "[3,5]");
  auto* ib = n.net.addInput("ib", DataType::kINT64, dims({3, 1}));
  auto* gb = n.net.addGatherV2(*d, *ib, GatherMode::kND);
  gb->setNbElementWiseDims(1);
  EXPECT_EQ(gb->getNbElementWiseDims(), 1);
  EXPECT_EQ(str(gb->getOutput(0)->getDimensions()), "[3,5]");
  gb->setMode(GatherMode::kDEFAULT);
  EXPECT_STREQ(gb->getOpType(), "Gather");
  EXPECT_EQ(gb->getMode(), GatherMode::kDEFAULT);
  EXPECT_EQ(str(gb->getOutput(0)->getDimensions()), "[3,1,4,5]");
  auto* bad = n.net.addGather(*d, *i, 3);
  EXPECT_EQ(bad->getOutput(0)->getDimensions().nbDims, -1);
}

TEST(TopKLayers, DefaultsAndSetters) {
  Net n;
  auto* x = n.net.addInput("x", DataType::kFLOAT, dims({2, 10}));
  auto* t = n.net.addTopK(*x, TopKOperation::kMAX, 3, 1u << 1);
  EXPECT_STREQ(t->getOpType(), "TopK");
  EXPECT_EQ(t->getNbOutputs(), 2);
  EXPECT_EQ(str(t->getOutput(0)->getDimensions()), "[2,3]");
  EXPECT_EQ(t->getOutput(1)->getType(), DataType::kINT32);
  EXPECT_EQ(t->getIndicesType(), DataType::kINT32);
  EXPECT_EQ(t->getK(), 3);
  EXPECT_EQ(t->getReduceAxes(), 2u);
  EXPECT_EQ(t->getOperation(), TopKOperation::kMAX);
  t->setIndicesType(DataType::kINT64);
  EXPECT_EQ(t->getOutput(1)->getType(), DataType::kINT64);
  t->setK(5);
  t->setReduceAxes(1u);
  t->setOperation(TopKOperation::kMIN);
  EXPECT_EQ(t->getK(), 5);
  EXPECT_EQ(t->irNode()->attrs.getInt("largest", -1), 0);
  EXPECT_EQ(t->getOutput(0)->getDimensions().nbDims, -1);  // K = 5 > 2
  t->setK(2);
  EXPECT_EQ(str(t->getOutput(0)->getDimensions()), "[2,10]");
  EXPECT_THROW(t->setReduceAxes(3u), Error);
  EXPECT_THROW(n.net.addTopK(*x, TopKOperation::kMAX, 1, 0u), Error);
}

}  // namespace
}  // namespace kiln::test
