// Tests of the tensor family: Constant, Shape, Size, Transpose, Reshape, Flatten, Squeeze, Unsqueeze,
// Expand, Tile, Shuffle, ConstantOfShape, Range, EyeLike, DepthToSpace, SpaceToDepth, Trilu, CumSum,
// OneHot, ReverseSequence, and inference-time folding of shape computations.
#include "ir/op_registry.h"
#include "ir/shape_utils.h"
#include "test_util.h"

namespace kiln::test {
namespace {

ir::Attributes attrs() { return {}; }

TensorPtr iota(const ir::Shape& s, DataType t = DataType::kFLOAT) {
  int64_t n = ir::numElements(s);
  void* p = nullptr;
  auto out = ir::makeTensor(t, s, &p);
  for (int64_t i = 0; i < n; ++i) {
    dispatchType(t, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) static_cast<T*>(p)[i] = T(static_cast<float>(i % 200));
      else if constexpr (std::is_same_v<T, bool>) static_cast<T*>(p)[i] = (i % 3) == 0;
      else static_cast<T*>(p)[i] = static_cast<T>(i % 100);
    });
  }
  return out;
}

void expectSameBytes(const ir::TensorData& a, const ir::TensorData& b) {
  ASSERT_EQ(ir::shapeToString(a.shape), ir::shapeToString(b.shape));
  ASSERT_EQ(a.dtype, b.dtype);
  ASSERT_EQ(a.byteSize(), b.byteSize());
  if (a.byteSize()) EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.byteSize()), 0);
}

//! Naive transpose in the test (element bytes copied one at a time).
TensorPtr naiveTranspose(const ir::TensorData& x, const std::vector<int64_t>& perm) {
  ir::Shape os;
  for (int64_t p : perm) os.push_back(x.shape[static_cast<size_t>(p)]);
  void* p = nullptr;
  auto out = ir::makeTensor(x.dtype, os, &p);
  size_t es = dataTypeSize(x.dtype);
  for (int64_t i = 0; i < out->numel(); ++i) {
    auto oi = coords(i, os);
    std::vector<int64_t> ii(x.shape.size());
    for (size_t d = 0; d < perm.size(); ++d) ii[static_cast<size_t>(perm[d])] = oi[d];
    std::memcpy(static_cast<char*>(p) + i * es, static_cast<const char*>(x.raw()) + linear(ii, x.shape) * es, es);
  }
  return out;
}

TEST(ShapeOp, HandValues) {
  auto x = randomTensor({2, 3, 5}, 1);
  auto y = runOp("Shape", attrs(), {x});
  EXPECT_EQ(y[0]->dtype, DataType::kINT64);
  EXPECT_EQ(values<int64_t>(*y[0]), (std::vector<int64_t>{2, 3, 5}));
  ir::Attributes a;
  a.setInt("start", -2);
  EXPECT_EQ(values<int64_t>(*runOp("Shape", a, {x})[0]), (std::vector<int64_t>{3, 5}));
  a.setInt("start", 1);
  a.setInt("end", -1);
  EXPECT_EQ(values<int64_t>(*runOp("Shape", a, {x})[0]), (std::vector<int64_t>{3}));
  a.setInt("start", 10);
  EXPECT_EQ(runOp("Shape", a, {x})[0]->numel(), 0);
  auto s = runOp("Size", attrs(), {x});
  EXPECT_EQ(s[0]->shape.size(), 0u);
  EXPECT_EQ(values<int64_t>(*s[0]), (std::vector<int64_t>{30}));
  EXPECT_EQ(values<int64_t>(*runOp("Size", attrs(), {floatTensor({0, 4}, {})})[0]), (std::vector<int64_t>{0}));
}

TEST(ShapeOp, InferenceProvidesData) {
  ir::Graph g;
  ir::Value* in = g.addValue("x", DataType::kFLOAT, {-1, 3, 4});
  g.inputs.push_back(in);
  ir::Node* sh = g.addNode("Shape", "shape", {in}, 1);
  ir::Attributes a;
  a.setInt("start", 1);
  sh->attrs = a;
  std::vector<ir::ValueInfo> infos(g.values.size());
  infos[static_cast<size_t>(in->id)].shape = in->shape;
  ir::inferGraph(ir::defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());
  auto* d = infos[static_cast<size_t>(sh->outputs[0]->id)].data.get();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->toInts(), (std::vector<int64_t>{3, 4}));
}

// The PyTorch export pattern: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) with x's batch known.
TEST(ShapeOp, FoldsShapeGatherConcatReshapeChain) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {2, 3, 4});
  g.inputs.push_back(x);
  ir::Node* sh = g.addNode("Shape", "shape", {x}, 1);
  ir::Node* ga = g.addNode("Gather", "gather", {sh->outputs[0], g.addConstant("i0", int64Tensor({}, {0}))}, 1);
  ir::Node* un = g.addNode("Unsqueeze", "unsq", {ga->outputs[0], g.addConstant("ax", int64Tensor({1}, {0}))}, 1);
  ir::Attributes ca;
  ca.setInt("axis", 0);
  ir::Node* cc = g.addNode("Concat", "concat", {un->outputs[0], g.addConstant("m1", int64Tensor({1}, {-1}))}, 1);
  cc->attrs = ca;
  ir::Node* rs = g.addNode("Reshape", "reshape", {x, cc->outputs[0]}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(rs->outputs[0]->shape), "[2,12]");
}

TEST(ReshapeOp, UnknownShapeContentsGiveRank) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {2, 3, 4});
  ir::Value* s = g.addValue("s", DataType::kINT64, {3});
  g.inputs = {x, s};
  ir::Node* rs = g.addNode("Reshape", "reshape", {x, s}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(rs->outputs[0]->shape), "[?,?,?]");
  // a dynamic dim copied by 0 keeps -1 inference possible
  ir::Graph g2;
  ir::Value* x2 = g2.addValue("x", DataType::kFLOAT, {-1, 3, 4});
  g2.inputs = {x2};
  ir::Node* r2 = g2.addNode("Reshape", "reshape", {x2, g2.addConstant("s", int64Tensor({2}, {0, -1}))}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g2, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(r2->outputs[0]->shape), "[?,12]");
}

TEST(ReshapeOp, HandValuesAndErrors) {
  auto x = iota({2, 3, 4});
  auto run = [&](std::vector<int64_t> s, int64_t allowzero = 0) {
    ir::Attributes a;
    a.setInt("allowzero", allowzero);
    return runOp("Reshape", a, {x, int64Tensor({static_cast<int64_t>(s.size())}, s)})[0];
  };
  EXPECT_EQ(ir::shapeToString(run({4, -1})->shape), "[4,6]");
  EXPECT_EQ(ir::shapeToString(run({0, -1})->shape), "[2,12]");
  EXPECT_EQ(ir::shapeToString(run({0, 0, 2, 2})->shape), "[2,3,2,2]");
  EXPECT_EQ(ir::shapeToString(run({24})->shape), "[24]");
  expectSameBytes(*run({6, 4}), *ir::makeTensor(DataType::kFLOAT, {6, 4}, x->raw(), x->byteSize()));
  EXPECT_THROW(run({5, -1}), Error);
  EXPECT_THROW(run({-1, -1}), Error);
  EXPECT_THROW(run({7}), Error);
  EXPECT_THROW(run({0, -1}, 1), Error);
  EXPECT_THROW(run({0, 0, 0, 0, 1}), Error);  // 0 copying a dim the input lacks
  // allowzero with a zero-size input
  auto z = floatTensor({0, 3}, {});
  ir::Attributes a;
  a.setInt("allowzero", 1);
  EXPECT_EQ(ir::shapeToString(runOp("Reshape", a, {z, int64Tensor({3}, {3, 0, 5})})[0]->shape), "[3,0,5]");
  EXPECT_EQ(ir::shapeToString(runOp("Reshape", attrs(), {z, int64Tensor({2}, {-1, 3})})[0]->shape), "[0,3]");
}

TEST(TransposeOp, HandValues) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = runOp("Transpose", attrs(), {x});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[3,2]");
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  ir::Attributes a;
  a.setInts("perm", {1, 0, 2});
  auto x3 = floatTensor({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(values<float>(*runOp("Transpose", a, {x3})[0]), (std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7}));
  a.setInts("perm", {0, 0, 1});
  EXPECT_THROW(runOp("Transpose", a, {x3}), Error);
  a.setInts("perm", {0, 1});
  EXPECT_THROW(runOp("Transpose", a, {x3}), Error);
}

TEST(TransposeOp, MatchesNaiveEveryTypeAndShape) {
  std::vector<DataType> types{DataType::kFLOAT, DataType::kHALF, DataType::kINT8, DataType::kINT64, DataType::kBOOL,
                              DataType::kDOUBLE, DataType::kBF16, DataType::kUINT16};
  std::vector<std::pair<ir::Shape, std::vector<int64_t>>> cases{
      {{4}, {0}}, {{2, 3}, {1, 0}}, {{2, 1, 3}, {2, 0, 1}}, {{0, 3, 2}, {1, 2, 0}}, {{2, 3, 4, 5}, {3, 1, 0, 2}},
      {{1, 2, 1, 3, 2}, {4, 3, 2, 1, 0}}, {{}, {}}};
  for (DataType t : types)
    for (auto& [s, perm] : cases) {
      auto x = iota(s, t);
      ir::Attributes a;
      a.setInts("perm", perm);
      auto y = runOp("Transpose", a, {x});
      expectSameBytes(*y[0], *naiveTranspose(*x, perm));
    }
}

TEST(TensorOp, ConstantAndConstantOfShape) {
  ir::Attributes a;
  auto v = int64Tensor({2}, {7, 9});
  a.setTensor("value", v);
  auto y = runOp("Constant", a, {});
  expectSameBytes(*y[0], *v);
  auto z = runOp("ConstantOfShape", attrs(), {int64Tensor({2}, {2, 3})});
  EXPECT_EQ(z[0]->dtype, DataType::kFLOAT);
  EXPECT_EQ(values<float>(*z[0]), std::vector<float>(6, 0.f));
  ir::Attributes b;
  b.setTensor("value", typedTensor<int32_t>({1}, {5}));
  auto w = runOp("ConstantOfShape", b, {int64Tensor({1}, {3})});
  EXPECT_EQ(values<int32_t>(*w[0]), (std::vector<int32_t>{5, 5, 5}));
  EXPECT_EQ(runOp("ConstantOfShape", b, {int64Tensor({2}, {0, 3})})[0]->numel(), 0);
  EXPECT_THROW(runOp("ConstantOfShape", b, {int64Tensor({1}, {-2})}), Error);
  EXPECT_THROW(runOp("Constant", attrs(), {}), Error);
}

TEST(TensorOp, FlattenSqueezeUnsqueeze) {
  auto x = iota({2, 1, 3, 1});
  ir::Attributes a;
  EXPECT_EQ(ir::shapeToString(runOp("Flatten", a, {x})[0]->shape), "[2,3]");
  a.setInt("axis", 0);
  EXPECT_EQ(ir::shapeToString(runOp("Flatten", a, {x})[0]->shape), "[1,6]");
  a.setInt("axis", -1);
  EXPECT_EQ(ir::shapeToString(runOp("Flatten", a, {x})[0]->shape), "[6,1]");
  a.setInt("axis", 4);
  EXPECT_EQ(ir::shapeToString(runOp("Flatten", a, {x})[0]->shape), "[6,1]");
  a.setInt("axis", 5);
  EXPECT_THROW(runOp("Flatten", a, {x}), Error);
  EXPECT_EQ(ir::shapeToString(runOp("Squeeze", attrs(), {x})[0]->shape), "[2,3]");
  EXPECT_EQ(ir::shapeToString(runOp("Squeeze", attrs(), {x, int64Tensor({1}, {-1})})[0]->shape), "[2,1,3]");
  EXPECT_THROW(runOp("Squeeze", attrs(), {x, int64Tensor({1}, {0})}), Error);
  auto u = runOp("Unsqueeze", attrs(), {x, int64Tensor({2}, {0, -1})});
  EXPECT_EQ(ir::shapeToString(u[0]->shape), "[1,2,1,3,1,1]");
  expectSameBytes(*runOp("Squeeze", attrs(), {u[0]})[0], *ir::makeTensor(DataType::kFLOAT, {2, 3}, x->raw(), x->byteSize()));
  EXPECT_THROW(runOp("Unsqueeze", attrs(), {x, int64Tensor({2}, {1, 1})}), Error);
  EXPECT_THROW(runOp("Unsqueeze", attrs(), {x, int64Tensor({1}, {6})}), Error);
  auto s = runOp("Unsqueeze", attrs(), {floatTensor({}, {3.f}), int64Tensor({1}, {0})});
  EXPECT_EQ(ir::shapeToString(s[0]->shape), "[1]");
}

TEST(TensorOp, ExpandHandAndNaive) {
  auto x = floatTensor({3, 1}, {1, 2, 3});
  auto y = runOp("Expand", attrs(), {x, int64Tensor({3}, {2, 1, 2})});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[2,3,2]");
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  // shape smaller than the input: bidirectional broadcast keeps the input's dims
  EXPECT_EQ(ir::shapeToString(runOp("Expand", attrs(), {x, int64Tensor({1}, {1})})[0]->shape), "[3,1]");
  EXPECT_THROW(runOp("Expand", attrs(), {x, int64Tensor({2}, {2, 2})}), Error);
  for (DataType t : {DataType::kINT16, DataType::kDOUBLE, DataType::kUINT8}) {
    auto xi = iota({1, 3, 1}, t);
    auto yi = runOp("Expand", attrs(), {xi, int64Tensor({4}, {2, 2, 3, 4})})[0];
    ASSERT_EQ(ir::shapeToString(yi->shape), "[2,2,3,4]");
    for (int64_t i = 0; i < yi->numel(); ++i) EXPECT_EQ(yi->floatAt(i), xi->floatAt(coords(i, yi->shape)[2]));
  }
  EXPECT_EQ(runOp("Expand", attrs(), {x, int64Tensor({3}, {0, 3, 1})})[0]->numel(), 0);
}

TEST(TensorOp, TileHandAndNaive) {
  auto x = floatTensor({2, 2}, {1, 2, 3, 4});
  auto y = runOp("Tile", attrs(), {x, int64Tensor({2}, {1, 2})});
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4}));
  auto z = runOp("Tile", attrs(), {x, int64Tensor({2}, {2, 0})});
  EXPECT_EQ(ir::shapeToString(z[0]->shape), "[4,0]");
  EXPECT_THROW(runOp("Tile", attrs(), {x, int64Tensor({1}, {2})}), Error);
  auto x3 = iota({2, 1, 3}, DataType::kINT32);
  auto t3 = runOp("Tile", attrs(), {x3, int64Tensor({3}, {2, 3, 2})})[0];
  ASSERT_EQ(ir::shapeToString(t3->shape), "[4,3,6]");
  for (int64_t i = 0; i < t3->numel(); ++i) {
    auto o = coords(i, t3->shape);
    EXPECT_EQ(t3->intAt(i), x3->intAt(linear({o[0] % 2, 0, o[2] % 3}, x3->shape)));
  }
}

TEST(ShuffleOp, ComposesTransposeReshapeTranspose) {
  auto x = iota({2, 3, 4});
  ir::Attributes a;
  a.setInts("first_perm", {2, 0, 1, 3, 4, 5, 6, 7});  // TensorRT-style 8-entry permutation: prefix used
  a.setInts("reshape", {0, -1});
  a.setInts("second_perm", {1, 0});
  auto y = runOp("Shuffle", a, {x})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[6,4]");
  auto t1 = naiveTranspose(*x, {2, 0, 1});  // [4,2,3]
  auto r = ir::makeTensor(DataType::kFLOAT, {4, 6}, t1->raw(), t1->byteSize());
  expectSameBytes(*y, *naiveTranspose(*r, {1, 0}));
  // reshape from a shape tensor input, zero is placeholder
  ir::Attributes b;
  auto y2 = runOp("Shuffle", b, {x, int64Tensor({3}, {0, 0, 4})})[0];
  expectSameBytes(*y2, *x);
  // identity: plain copy
  expectSameBytes(*runOp("Shuffle", ir::Attributes{}, {x})[0], *x);
  // only a second transpose
  ir::Attributes c;
  c.setInts("reshape", {6, 4});
  c.setInts("second_perm", {1, 0});
  auto r2 = ir::makeTensor(DataType::kFLOAT, {6, 4}, x->raw(), x->byteSize());
  expectSameBytes(*runOp("Shuffle", c, {x})[0], *naiveTranspose(*r2, {1, 0}));
  // allowzero
  ir::Attributes d;
  d.setInts("reshape", {0, 5});
  d.setInt("allowzero", 1);
  EXPECT_EQ(ir::shapeToString(runOp("Shuffle", d, {floatTensor({0, 2}, {})})[0]->shape), "[0,5]");
  ir::Attributes e;
  e.setInts("first_perm", {0, 0, 1});
  EXPECT_THROW(runOp("Shuffle", e, {x}), Error);
}

TEST(RangeOp, HandValues) {
  auto r = runOp("Range", attrs(), {floatTensor({}, {1}), floatTensor({}, {2}), floatTensor({}, {0.25f})})[0];
  EXPECT_EQ(values<float>(*r), (std::vector<float>{1, 1.25f, 1.5f, 1.75f}));
  auto ri = runOp("Range", attrs(), {int64Tensor({}, {10}), int64Tensor({}, {1}), int64Tensor({}, {-3})})[0];
  EXPECT_EQ(values<int64_t>(*ri), (std::vector<int64_t>{10, 7, 4}));
  auto e = runOp("Range", attrs(), {typedTensor<int32_t>({}, {5}), typedTensor<int32_t>({}, {1}), typedTensor<int32_t>({}, {2})})[0];
  EXPECT_EQ(e->numel(), 0);
  EXPECT_THROW(runOp("Range", attrs(), {int64Tensor({}, {0}), int64Tensor({}, {4}), int64Tensor({}, {0})}), Error);
  EXPECT_THROW(runOp("Range", attrs(), {int64Tensor({}, {0}), floatTensor({}, {4}), int64Tensor({}, {1})}), Error);
}

TEST(MiscOp, DepthToSpaceAndSpaceToDepth) {
  // x: [1, 4, 1, 2]: channels c=0..3, each with (w0, w1)
  auto x = floatTensor({1, 4, 1, 2}, {0, 1, 10, 11, 20, 21, 30, 31});
  ir::Attributes a;
  a.setInt("blocksize", 2);
  auto dcr = runOp("DepthToSpace", a, {x})[0];
  ASSERT_EQ(ir::shapeToString(dcr->shape), "[1,1,2,4]");
  // DCR: out[0,0,h*2+i,w*2+j] = in[0, (i*2+j)*1 + 0, h, w]
  EXPECT_EQ(values<float>(*dcr), (std::vector<float>{0, 10, 1, 11, 20, 30, 21, 31}));
  a.setString("mode", "CRD");
  auto crd = runOp("DepthToSpace", a, {x})[0];
  // CRD with 1 output channel: c = i*2+j, same as DCR here
  EXPECT_EQ(values<float>(*crd), (std::vector<float>{0, 10, 1, 11, 20, 30, 21, 31}));
  // CRD vs DCR differ with 2 output channels
  auto x2 = iota({1, 8, 1, 1});
  auto d2 = values<float>(*runOp("DepthToSpace", a, {x2})[0]);  // CRD: out[c, i, j] = in[c*4 + i*2 + j]
  EXPECT_EQ(d2, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
  ir::Attributes dcrA;
  dcrA.setInt("blocksize", 2);
  auto d3 = values<float>(*runOp("DepthToSpace", dcrA, {x2})[0]);  // DCR: out[c, i, j] = in[(i*2+j)*2 + c]
  EXPECT_EQ(d3, (std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7}));
  // SpaceToDepth inverts DCR DepthToSpace
  auto y = iota({2, 8, 2, 3}, DataType::kINT16);
  auto s = runOp("DepthToSpace", dcrA, {y})[0];
  expectSameBytes(*runOp("SpaceToDepth", dcrA, {s})[0], *y);
  EXPECT_THROW(runOp("DepthToSpace", dcrA, {iota({1, 3, 2, 2})}), Error);
  EXPECT_THROW(runOp("SpaceToDepth", dcrA, {iota({1, 3, 3, 2})}), Error);
}

TEST(MiscOp, Trilu) {
  auto x = floatTensor({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(values<float>(*runOp("Trilu", attrs(), {x})[0]), (std::vector<float>{1, 2, 3, 0, 5, 6, 0, 0, 9}));
  ir::Attributes lo;
  lo.setInt("upper", 0);
  EXPECT_EQ(values<float>(*runOp("Trilu", lo, {x})[0]), (std::vector<float>{1, 0, 0, 4, 5, 0, 7, 8, 9}));
  EXPECT_EQ(values<float>(*runOp("Trilu", attrs(), {x, int64Tensor({}, {1})})[0]), (std::vector<float>{0, 2, 3, 0, 0, 6, 0, 0, 0}));
  EXPECT_EQ(values<float>(*runOp("Trilu", lo, {x, int64Tensor({}, {-1})})[0]), (std::vector<float>{0, 0, 0, 4, 0, 0, 7, 8, 0}));
  auto b = iota({2, 2, 3}, DataType::kINT64);
  auto t = runOp("Trilu", attrs(), {b})[0];
  for (int64_t i = 0; i < t->numel(); ++i) {
    auto o = coords(i, t->shape);
    EXPECT_EQ(t->intAt(i), o[2] >= o[1] ? b->intAt(i) : 0);
  }
  EXPECT_THROW(runOp("Trilu", attrs(), {floatTensor({3}, {1, 2, 3})}), Error);
}

TEST(MiscOp, CumSum) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto ax = int64Tensor({}, {1});
  EXPECT_EQ(values<float>(*runOp("CumSum", attrs(), {x, ax})[0]), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  ir::Attributes a;
  a.setInt("exclusive", 1);
  EXPECT_EQ(values<float>(*runOp("CumSum", a, {x, ax})[0]), (std::vector<float>{0, 1, 3, 0, 4, 9}));
  a.setInt("reverse", 1);
  EXPECT_EQ(values<float>(*runOp("CumSum", a, {x, ax})[0]), (std::vector<float>{5, 3, 0, 11, 6, 0}));
  ir::Attributes r;
  r.setInt("reverse", 1);
  EXPECT_EQ(values<float>(*runOp("CumSum", r, {x, typedTensor<int32_t>({}, {-2})})[0]), (std::vector<float>{5, 7, 9, 4, 5, 6}));
  auto xi = typedTensor<int32_t>({4}, {1, -2, 3, 7});
  EXPECT_EQ(values<int32_t>(*runOp("CumSum", attrs(), {xi, int64Tensor({}, {0})})[0]), (std::vector<int32_t>{1, -1, 2, 9}));
  EXPECT_THROW(runOp("CumSum", attrs(), {x, int64Tensor({}, {2})}), Error);
}

TEST(MiscOp, OneHot) {
  auto idx = int64Tensor({3}, {0, 2, -1});
  auto vals = floatTensor({2}, {0.f, 5.f});
  auto y = runOp("OneHot", attrs(), {idx, int64Tensor({}, {3}), vals})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[3,3]");
  EXPECT_EQ(values<float>(*y), (std::vector<float>{5, 0, 0, 0, 0, 5, 0, 0, 5}));
  ir::Attributes a;
  a.setInt("axis", 0);
  auto z = runOp("OneHot", a, {int64Tensor({2}, {1, 7}), floatTensor({}, {3.f}), typedTensor<int32_t>({2}, {-1, 1})})[0];
  ASSERT_EQ(ir::shapeToString(z->shape), "[3,2]");
  EXPECT_EQ(values<int32_t>(*z), (std::vector<int32_t>{-1, -1, 1, -1, -1, -1}));  // 7 is out of range: all off
}

TEST(MiscOp, ReverseSequence) {
  // time_axis=0, batch_axis=1: x[t, b]
  auto x = floatTensor({4, 2}, {0, 10, 1, 11, 2, 12, 3, 13});
  auto y = runOp("ReverseSequence", attrs(), {x, int64Tensor({2}, {3, 1})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{2, 10, 1, 11, 0, 12, 3, 13}));
  ir::Attributes a;
  a.setInt("batch_axis", 0);
  a.setInt("time_axis", 1);
  auto x2 = floatTensor({2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(values<float>(*runOp("ReverseSequence", a, {x2, int64Tensor({2}, {2, 3})})[0]), (std::vector<float>{1, 0, 2, 5, 4, 3}));
  EXPECT_THROW(runOp("ReverseSequence", a, {x2, int64Tensor({2}, {4, 3})}), Error);
}

TEST(MiscOp, EyeLike) {
  auto y = runOp("EyeLike", attrs(), {floatTensor({2, 3}, std::vector<float>(6, 7.f))})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  ir::Attributes a;
  a.setInt("k", 1);
  a.setInt("dtype", static_cast<int64_t>(DataType::kINT32));
  auto z = runOp("EyeLike", a, {floatTensor({3, 3}, std::vector<float>(9, 0.f))})[0];
  EXPECT_EQ(z->dtype, DataType::kINT32);
  EXPECT_EQ(values<int32_t>(*z), (std::vector<int32_t>{0, 1, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_THROW(runOp("EyeLike", attrs(), {floatTensor({3}, {1, 2, 3})}), Error);
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

TEST(TensorOp, InferenceWithUnknownContents) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {3, 1});
  ir::Value* s3 = g.addValue("s3", DataType::kINT64, {3});
  ir::Value* r2 = g.addValue("r2", DataType::kINT64, {2});
  ir::Value* sp = g.addValue("sp", DataType::kINT64, {2});
  ir::Value* dyn = g.addValue("dyn", DataType::kFLOAT, {-1, 4});
  g.inputs = {x, s3, r2, sp, dyn};
  ir::Node* ex = g.addNode("Expand", "expand", {x, s3}, 1);
  ir::Node* ti = g.addNode("Tile", "tile", {x, r2}, 1);
  ir::Node* sl = g.addNode("Split", "split", {x, sp}, 2);
  ir::Node* tr = g.addNode("Transpose", "transpose", {dyn}, 1);
  ir::Node* fl = g.addNode("Flatten", "flatten", {dyn}, 1);
  ir::Node* co = g.addNode("ConstantOfShape", "cos", {s3}, 1);
  ir::Node* sh = g.addNode("Shape", "shape", {dyn}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(ex->outputs[0]->shape), "[?,3,?]");
  EXPECT_EQ(ir::shapeToString(ti->outputs[0]->shape), "[?,?]");
  EXPECT_EQ(ir::shapeToString(sl->outputs[0]->shape), "[?,1]");
  EXPECT_EQ(ir::shapeToString(tr->outputs[0]->shape), "[4,?]");
  EXPECT_EQ(ir::shapeToString(fl->outputs[0]->shape), "[?,4]");
  EXPECT_EQ(ir::shapeToString(co->outputs[0]->shape), "[?,?,?]");
  EXPECT_EQ(ir::shapeToString(sh->outputs[0]->shape), "[2]");
}

TEST(TensorOp, EveryElementSizeMoves) {
  // Tile/Expand/Concat/Gather move 1/2/4/8-byte elements of every type bit-exactly.
  for (DataType t : {DataType::kBOOL, DataType::kUINT8, DataType::kINT8, DataType::kHALF, DataType::kBF16, DataType::kINT16,
                     DataType::kUINT16, DataType::kFLOAT, DataType::kINT32, DataType::kUINT32, DataType::kDOUBLE,
                     DataType::kINT64, DataType::kUINT64}) {
    auto x = iota({2, 3}, t);
    auto y = runOp("Tile", {}, {x, int64Tensor({2}, {1, 2})})[0];
    ASSERT_EQ(y->dtype, t);
    size_t es = dataTypeSize(t);
    const char* in = static_cast<const char*>(x->raw());
    const char* out = static_cast<const char*>(y->raw());
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 6; ++c) ASSERT_EQ(std::memcmp(out + (r * 6 + c) * es, in + (r * 3 + c % 3) * es, es), 0);
    auto g = runOp("Gather", {}, {x, int64Tensor({1}, {-1})})[0];
    ASSERT_EQ(std::memcmp(g->raw(), in + 3 * es, 3 * es), 0);
  }
}

}  // namespace
}  // namespace kiln::test
