// Tests of the tensor family: Concat, Split, Slice, StridedSlice (kiln), Pad.
#include <limits>

#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TensorPtr iota(const ir::Shape& s, DataType t = DataType::kFLOAT) {
  int64_t n = ir::numElements(s);
  void* p = nullptr;
  auto out = ir::makeTensor(t, s, &p);
  for (int64_t i = 0; i < n; ++i)
    dispatchType(t, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) static_cast<T*>(p)[i] = T(static_cast<float>(i % 256));
      else if constexpr (std::is_same_v<T, bool>) static_cast<T*>(p)[i] = (i % 2) == 0;
      else static_cast<T*>(p)[i] = static_cast<T>(i % 100 + 1);
    });
  return out;
}

ir::Attributes axisAttr(int64_t axis) {
  ir::Attributes a;
  a.setInt("axis", axis);
  return a;
}

TEST(ConcatOp, HandValues) {
  auto a = floatTensor({2, 1}, {1, 2});
  auto b = floatTensor({2, 2}, {3, 4, 5, 6});
  auto y = runOp("Concat", axisAttr(1), {a, b})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 3, 4, 2, 5, 6}));
  auto z = runOp("Concat", axisAttr(-2), {b, floatTensor({0, 2}, {}), b})[0];
  EXPECT_EQ(ir::shapeToString(z->shape), "[4,2]");
  EXPECT_EQ(values<float>(*z), (std::vector<float>{3, 4, 5, 6, 3, 4, 5, 6}));
  EXPECT_THROW(runOp("Concat", axisAttr(0), {a, b}), Error);
  EXPECT_THROW(runOp("Concat", axisAttr(2), {a, a}), Error);
  EXPECT_THROW(runOp("Concat", ir::Attributes{}, {a, a}), Error);  // axis is required
  EXPECT_THROW(runOp("Concat", axisAttr(0), {a, int64Tensor({2, 1}, {1, 2})}), Error);
  auto e = runOp("Concat", axisAttr(0), {floatTensor({0, 3}, {}), floatTensor({0, 3}, {})})[0];
  EXPECT_EQ(ir::shapeToString(e->shape), "[0,3]");
}

TEST(ConcatOp, MatchesNaive) {
  for (DataType t : {DataType::kFLOAT, DataType::kINT8, DataType::kHALF, DataType::kINT64, DataType::kBOOL}) {
    for (int64_t axis = -3; axis < 3; ++axis) {
      int64_t ax = axis < 0 ? axis + 3 : axis;
      std::vector<TensorPtr> ins;
      std::vector<int64_t> sizes{2, 1, 0, 3};
      for (int64_t sz : sizes) {
        ir::Shape s{2, 3, 4};
        s[static_cast<size_t>(ax)] = sz;
        ins.push_back(iota(s, t));
      }
      auto y = runOp("Concat", axisAttr(axis), ins)[0];
      for (int64_t i = 0; i < y->numel(); ++i) {
        auto o = coords(i, y->shape);
        int64_t c = o[static_cast<size_t>(ax)];
        size_t k = 0;
        while (c >= sizes[k]) c -= sizes[k++];
        o[static_cast<size_t>(ax)] = c;
        ASSERT_EQ(y->floatAt(i), ins[k]->floatAt(linear(o, ins[k]->shape)));
      }
    }
  }
}

TEST(ConcatOp, FoldsInt64Vectors) {
  ir::Graph g;
  ir::Node* n = g.addNode("Concat", "c", {g.addConstant("a", int64Tensor({1}, {4})), g.addConstant("b", int64Tensor({2}, {-1, 2}))}, 1);
  n->attrs = axisAttr(0);
  std::vector<ir::ValueInfo> infos;
  ir::inferGraph(ir::defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());
  auto* d = infos[static_cast<size_t>(n->outputs[0]->id)].data.get();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->toInts(), (std::vector<int64_t>{4, -1, 2}));
}

TEST(ConcatOp, UnknownDimsPropagate) {
  ir::Graph g;
  ir::Value* a = g.addValue("a", DataType::kFLOAT, {-1, 3});
  ir::Value* b = g.addValue("b", DataType::kFLOAT, {2, -1});
  g.inputs = {a, b};
  ir::Node* n = g.addNode("Concat", "c", {a, b}, 1);
  n->attrs = axisAttr(0);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(n->outputs[0]->shape), "[?,3]");
}

TEST(SliceOp, SplitHandValues) {
  auto x = floatTensor({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto y = runOp("Split", axisAttr(1), {x, int64Tensor({2}, {2, 3})}, 2);
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{0, 1, 5, 6}));
  EXPECT_EQ(values<float>(*y[1]), (std::vector<float>{2, 3, 4, 7, 8, 9}));
  ir::Attributes a = axisAttr(-1);
  a.setInt("num_outputs", 3);
  auto z = runOp("Split", a, {x}, 3);  // ceil(5/3) = 2: 2, 2, 1
  EXPECT_EQ(values<float>(*z[0]), (std::vector<float>{0, 1, 5, 6}));
  EXPECT_EQ(values<float>(*z[1]), (std::vector<float>{2, 3, 7, 8}));
  EXPECT_EQ(values<float>(*z[2]), (std::vector<float>{4, 9}));
  auto w = runOp("Split", axisAttr(0), {x}, 2);
  EXPECT_EQ(values<float>(*w[1]), (std::vector<float>{5, 6, 7, 8, 9}));
  EXPECT_THROW(runOp("Split", axisAttr(1), {x}, 2), Error);  // 5 is not divisible by 2 without num_outputs
  EXPECT_THROW(runOp("Split", axisAttr(1), {x, int64Tensor({2}, {2, 2})}, 2), Error);
  auto e = runOp("Split", axisAttr(1), {x, int64Tensor({3}, {0, 5, 0})}, 3);
  EXPECT_EQ(e[0]->numel(), 0);
  EXPECT_EQ(e[1]->numel(), 10);
}

//! Naive ONNX Slice per the spec's clamping rules, written independently with explicit index lists.
TensorPtr naiveSlice(const ir::TensorData& x, std::vector<int64_t> starts, std::vector<int64_t> ends,
                     std::vector<int64_t> axes, std::vector<int64_t> steps) {
  size_t r = x.shape.size();
  std::vector<std::vector<int64_t>> pick(r);
  for (size_t d = 0; d < r; ++d)
    for (int64_t i = 0; i < x.shape[d]; ++i) pick[d].push_back(i);
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + static_cast<int64_t>(r) : axes[k];
    int64_t n = x.shape[static_cast<size_t>(a)], st = steps[k];
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += n;
    if (e < 0) e += n;
    std::vector<int64_t> v;
    if (n == 0) {
    } else if (st > 0) {
      s = std::max<int64_t>(0, std::min(s, n));
      e = std::max<int64_t>(0, std::min(e, n));
      for (int64_t i = s; i < e; i += st) v.push_back(i);
    } else {
      s = std::max<int64_t>(0, std::min(s, n - 1));
      e = std::max<int64_t>(-1, std::min(e, n - 1));
      for (int64_t i = s; i > e; i += st) v.push_back(i);
    }
    pick[static_cast<size_t>(a)] = v;
  }
  ir::Shape os;
  for (auto& p : pick) os.push_back(static_cast<int64_t>(p.size()));
  void* p = nullptr;
  auto out = ir::makeTensor(x.dtype, os, &p);
  size_t es = dataTypeSize(x.dtype);
  for (int64_t i = 0; i < out->numel(); ++i) {
    auto o = coords(i, os);
    for (size_t d = 0; d < r; ++d) o[d] = pick[d][static_cast<size_t>(o[d])];
    std::memcpy(static_cast<char*>(p) + i * es, static_cast<const char*>(x.raw()) + linear(o, x.shape) * es, es);
  }
  return out;
}

TEST(SliceOp, HandValues) {
  auto x = floatTensor({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  // ONNX example 1
  auto y = runOp("Slice", {}, {x, int64Tensor({2}, {1, 0}), int64Tensor({2}, {2, 3}), int64Tensor({2}, {0, 1}), int64Tensor({2}, {1, 2})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{5, 7}));
  // ONNX example 2: starts [0, 1], ends [-1, 1000]
  auto z = runOp("Slice", {}, {x, int64Tensor({2}, {0, 1}), int64Tensor({2}, {-1, 1000})})[0];
  EXPECT_EQ(values<float>(*z), (std::vector<float>{2, 3, 4}));
  // negative step reverses; INT64_MIN / INT64_MAX sentinels
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  auto r = runOp("Slice", {}, {x, int64Tensor({1}, {-1}), int64Tensor({1}, {lo}), int64Tensor({1}, {1}), int64Tensor({1}, {-1})})[0];
  EXPECT_EQ(values<float>(*r), (std::vector<float>{4, 3, 2, 1, 8, 7, 6, 5}));
  auto r2 = runOp("Slice", {}, {x, int64Tensor({1}, {hi}), int64Tensor({1}, {0}), int64Tensor({1}, {-1}), int64Tensor({1}, {-2})})[0];
  EXPECT_EQ(values<float>(*r2), (std::vector<float>{4, 2, 8, 6}));
  // huge steps take one element
  auto h1 = runOp("Slice", {}, {x, int64Tensor({1}, {1}), int64Tensor({1}, {hi}), int64Tensor({1}, {1}), int64Tensor({1}, {hi})})[0];
  EXPECT_EQ(values<float>(*h1), (std::vector<float>{2, 6}));
  auto h2 = runOp("Slice", {}, {x, int64Tensor({1}, {-1}), int64Tensor({1}, {lo}), int64Tensor({1}, {1}), int64Tensor({1}, {lo})})[0];
  EXPECT_EQ(values<float>(*h2), (std::vector<float>{4, 8}));
  auto e = runOp("Slice", {}, {x, int64Tensor({1}, {3}), int64Tensor({1}, {1}), int64Tensor({1}, {1})})[0];
  EXPECT_EQ(ir::shapeToString(e->shape), "[2,0]");
  auto i32 = runOp("Slice", {}, {x, typedTensor<int32_t>({1}, {1}), typedTensor<int32_t>({1}, {3}), typedTensor<int32_t>({1}, {-1})})[0];
  EXPECT_EQ(values<float>(*i32), (std::vector<float>{2, 3, 6, 7}));
  EXPECT_THROW(runOp("Slice", {}, {x, int64Tensor({1}, {0}), int64Tensor({1}, {1}), int64Tensor({1}, {0}), int64Tensor({1}, {0})}), Error);
  EXPECT_THROW(runOp("Slice", {}, {x, int64Tensor({1}, {0}), int64Tensor({1}, {1}), int64Tensor({1}, {2})}), Error);
  EXPECT_THROW(runOp("Slice", {}, {x, int64Tensor({2}, {0, 0}), int64Tensor({1}, {1})}), Error);
  EXPECT_THROW(runOp("Slice", {}, {x, int64Tensor({2}, {0, 0}), int64Tensor({2}, {1, 1}), int64Tensor({2}, {1, -1})}), Error);
}

TEST(SliceOp, MatchesNaiveRandom) {
  std::mt19937 rng(7);
  std::vector<DataType> types{DataType::kFLOAT, DataType::kINT32, DataType::kUINT8, DataType::kINT64, DataType::kHALF};
  std::vector<ir::Shape> shapes{{5}, {3, 4}, {2, 1, 6}, {0, 3}, {2, 3, 2, 5}};
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  for (int it = 0; it < 200; ++it) {
    const ir::Shape& s = shapes[static_cast<size_t>(it) % shapes.size()];
    DataType t = types[static_cast<size_t>(it) % types.size()];
    auto x = iota(s, t);
    int64_t r = static_cast<int64_t>(s.size());
    std::vector<int64_t> allAxes;
    for (int64_t i = 0; i < r; ++i) allAxes.push_back(i);
    std::shuffle(allAxes.begin(), allAxes.end(), rng);
    int64_t k = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(r));
    std::vector<int64_t> axes, starts, ends, steps;
    auto pickVal = [&](int64_t n) -> int64_t {
      switch (rng() % 6) {
        case 0: return big;
        case 1: return small;
        default: return static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * n + 5)) - n - 2;
      }
    };
    for (int64_t i = 0; i < k; ++i) {
      int64_t a = allAxes[static_cast<size_t>(i)];
      axes.push_back(rng() % 2 ? a : a - r);
      int64_t n = s[static_cast<size_t>(a)];
      starts.push_back(pickVal(n));
      ends.push_back(pickVal(n));
      int64_t st = static_cast<int64_t>(rng() % 7) - 3;
      steps.push_back(st == 0 ? 1 : st);
    }
    auto y = runOp("Slice", {}, {x, int64Tensor({k}, starts), int64Tensor({k}, ends), int64Tensor({k}, axes), int64Tensor({k}, steps)})[0];
    auto ref = naiveSlice(*x, starts, ends, axes, steps);
    ASSERT_EQ(ir::shapeToString(y->shape), ir::shapeToString(ref->shape)) << "iteration " << it;
    ASSERT_EQ(std::memcmp(y->raw(), ref->raw(), y->byteSize()), 0) << "iteration " << it;
  }
}

TEST(SliceOp, UnknownStartsGiveUnknownExtents) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {4, 5, 6});
  ir::Value* st = g.addValue("st", DataType::kINT64, {1});
  g.inputs = {x, st};
  ir::Node* n = g.addNode("Slice", "s", {x, st, g.addConstant("e", int64Tensor({1}, {3})), g.addConstant("a", int64Tensor({1}, {1}))}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
  EXPECT_EQ(ir::shapeToString(n->outputs[0]->shape), "[4,?,6]");
}

ir::Attributes ssAttrs(std::vector<int64_t> start, std::vector<int64_t> size, std::vector<int64_t> stride, int64_t mode) {
  ir::Attributes a;
  a.setInts("start", start);
  a.setInts("size", size);
  a.setInts("stride", stride);
  a.setInt("mode", mode);
  return a;
}

TEST(SliceOp, StridedSliceModes) {
  auto x = floatTensor({4}, {0, 1, 2, 3});
  auto run = [&](int64_t start, int64_t size, int64_t stride, int64_t mode) {
    return values<float>(*runOp("StridedSlice", ssAttrs({start}, {size}, {stride}, mode), {x})[0]);
  };
  EXPECT_EQ(run(1, 2, 2, 0), (std::vector<float>{1, 3}));
  EXPECT_EQ(run(3, 4, -1, 0), (std::vector<float>{3, 2, 1, 0}));
  EXPECT_EQ(run(2, 3, 0, 0), (std::vector<float>{2, 2, 2}));
  EXPECT_THROW(run(2, 3, 1, 0), Error);  // STRICT_BOUNDS: sample 4 is outside
  EXPECT_EQ(run(2, 6, 1, 1), (std::vector<float>{2, 3, 0, 1, 2, 3}));     // WRAP
  EXPECT_EQ(run(-2, 8, 1, 2), (std::vector<float>{0, 0, 0, 1, 2, 3, 3, 3}));  // CLAMP
  EXPECT_EQ(run(-2, 8, 1, 3), (std::vector<float>{0, 0, 0, 1, 2, 3, 0, 0}));  // FILL (0)
  EXPECT_EQ(run(-3, 10, 1, 4), (std::vector<float>{3, 2, 1, 0, 1, 2, 3, 2, 1, 0}));  // REFLECT
  auto f = runOp("StridedSlice", ssAttrs({-1}, {3}, {2}, 3), {x, floatTensor({}, {9.f})})[0];
  EXPECT_EQ(values<float>(*f), (std::vector<float>{9, 1, 3}));
  // 2-D, int16, one fill row
  auto x2 = iota({2, 3}, DataType::kINT16);  // 1..6
  auto y2 = runOp("StridedSlice", ssAttrs({1, 2}, {2, 2}, {1, -2}, 3), {x2})[0];
  EXPECT_EQ(values<int16_t>(*y2), (std::vector<int16_t>{6, 4, 0, 0}));
  // zero-size output, and errors
  EXPECT_EQ(runOp("StridedSlice", ssAttrs({5}, {0}, {1}, 0), {x})[0]->numel(), 0);
  EXPECT_THROW(runOp("StridedSlice", ssAttrs({0, 0}, {1, 1}, {1, 1}, 0), {x}), Error);
  EXPECT_THROW(runOp("StridedSlice", ssAttrs({0}, {1}, {1}, 7), {x}), Error);
  EXPECT_THROW(runOp("StridedSlice", ssAttrs({0}, {2}, {1}, 1), {floatTensor({0}, {})}), Error);  // WRAP over empty
}

//! Naive Pad: explicit per-mode coordinate mapping.
TensorPtr naivePad(const ir::TensorData& x, const std::vector<int64_t>& pads, const std::string& mode, double cval) {
  size_t r = x.shape.size();
  ir::Shape os(r);
  for (size_t d = 0; d < r; ++d) os[d] = x.shape[d] + pads[d] + pads[d + r];
  std::vector<double> out(static_cast<size_t>(ir::numElements(os)));
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
    auto o = coords(i, os);
    bool fill = false;
    for (size_t d = 0; d < r; ++d) {
      int64_t c = o[d] - pads[d], n = x.shape[d];
      if (mode == "constant") {
        if (c < 0 || c >= n) fill = true;
      } else if (mode == "edge") {
        c = std::max<int64_t>(0, std::min(c, n - 1));
      } else if (mode == "wrap") {
        while (c < 0) c += n;
        while (c >= n) c -= n;
      } else {  // reflect, possibly several times
        if (n == 1) c = 0;
        while (n > 1 && (c < 0 || c >= n)) {
          if (c < 0) c = -c;
          if (c >= n) c = 2 * (n - 1) - c;
        }
      }
      o[d] = c;
    }
    out[static_cast<size_t>(i)] = fill ? cval : x.floatAt(linear(o, x.shape));
  }
  std::vector<float> f(out.begin(), out.end());
  return floatTensor(os, f);
}

TEST(PadOp, HandValues) {
  auto x = floatTensor({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  // ONNX constant example: pads [0, 2, 0, 0]
  auto y = runOp("Pad", {}, {x, int64Tensor({4}, {0, 2, 0, 0})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}));
  ir::Attributes a;
  a.setString("mode", "reflect");
  EXPECT_EQ(values<float>(*runOp("Pad", a, {x, int64Tensor({4}, {0, 2, 0, 0})})[0]),
            (std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
  a.setString("mode", "edge");
  EXPECT_EQ(values<float>(*runOp("Pad", a, {x, int64Tensor({4}, {0, 2, 0, 0})})[0]),
            (std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
  a.setString("mode", "wrap");
  EXPECT_EQ(values<float>(*runOp("Pad", a, {x, int64Tensor({4}, {0, 1, 1, 0})})[0]),
            (std::vector<float>{1.2f, 1.0f, 1.2f, 3.4f, 2.3f, 3.4f, 5.7f, 4.5f, 5.7f, 1.2f, 1.0f, 1.2f}));
  // constant value, axes input, negative pads crop
  auto c = runOp("Pad", {}, {x, int64Tensor({2}, {1, -1}), floatTensor({}, {7.f}), int64Tensor({1}, {-2})})[0];
  EXPECT_EQ(ir::shapeToString(c->shape), "[3,2]");
  EXPECT_EQ(values<float>(*c), (std::vector<float>{7, 7, 1.0f, 1.2f, 2.3f, 3.4f}));
  EXPECT_THROW(runOp("Pad", {}, {x, int64Tensor({4}, {0, -3, 0, 0})}), Error);
  EXPECT_THROW(runOp("Pad", {}, {x, int64Tensor({3}, {0, 1, 0})}), Error);
  EXPECT_THROW(runOp("Pad", a, {floatTensor({0, 2}, {}), int64Tensor({4}, {1, 0, 0, 0})}), Error);
  EXPECT_EQ(ir::shapeToString(runOp("Pad", {}, {floatTensor({0, 2}, {}), int64Tensor({4}, {1, 0, 1, 0})})[0]->shape), "[2,2]");
}

TEST(PadOp, MatchesNaive) {
  std::mt19937 rng(3);
  for (const std::string mode : {"constant", "reflect", "edge", "wrap"})
    for (int it = 0; it < 30; ++it) {
      ir::Shape s{1 + static_cast<int64_t>(rng() % 4), 1 + static_cast<int64_t>(rng() % 5), 2 + static_cast<int64_t>(rng() % 3)};
      std::vector<int64_t> pads(6);
      for (size_t d = 0; d < 6; ++d) {
        int64_t n = s[d % 3];
        pads[d] = static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * n + 3)) - (n - 1) / 2 - 1;
        if (mode == "reflect") pads[d] = std::min<int64_t>(pads[d], 2 * n);
      }
      for (size_t d = 0; d < 3; ++d)
        while (s[d] + pads[d] + pads[d + 3] < 0) ++pads[d + 3];
      auto x = randomTensor(s, 10 + static_cast<uint32_t>(it));
      ir::Attributes a;
      a.setString("mode", mode);
      auto y = runOp("Pad", a, {x, int64Tensor({6}, pads), floatTensor({}, {-5.f})})[0];
      expectClose(*y, *naivePad(*x, pads, mode, -5.0), 0, 0);
    }
  // other types: int8 and bool with edge padding
  auto xi = typedTensor<int8_t>({2, 2}, {1, -2, 3, -4});
  ir::Attributes a;
  a.setString("mode", "edge");
  EXPECT_EQ(values<int8_t>(*runOp("Pad", a, {xi, int64Tensor({4}, {0, 1, 0, 1})})[0]), (std::vector<int8_t>{1, 1, -2, -2, 3, 3, -4, -4}));
  auto xb = typedTensor<bool>({2}, {true, false});
  auto yb = runOp("Pad", {}, {xb, int64Tensor({2}, {1, 1}), typedTensor<bool>({}, {true})})[0];
  EXPECT_EQ(values<uint8_t>(*yb), (std::vector<uint8_t>{1, 1, 0, 1}));
}

}  // namespace
}  // namespace kiln::test
