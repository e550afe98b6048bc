// Tests of the tensor family: Gather, GatherElements, GatherND, ScatterElements, ScatterND, TopK.
#include <algorithm>
#include <limits>
#include <numeric>

#include "test_util.h"

namespace kiln::test {
namespace {

ir::Attributes axisAttr(int64_t axis) {
  ir::Attributes a;
  a.setInt("axis", axis);
  return a;
}

TEST(GatherOp, HandValues) {
  auto x = floatTensor({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  auto y = runOp("Gather", {}, {x, int64Tensor({2, 2}, {0, 1, 1, 2})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[2,2,2]");
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f}));
  auto z = runOp("Gather", axisAttr(1), {x, typedTensor<int32_t>({1, 2}, {-1, 0})})[0];
  EXPECT_EQ(ir::shapeToString(z->shape), "[3,1,2]");
  EXPECT_EQ(values<float>(*z), (std::vector<float>{1.2f, 1.0f, 3.4f, 2.3f, 5.7f, 4.5f}));
  auto s = runOp("Gather", {}, {x, int64Tensor({}, {2})})[0];  // scalar index drops the axis
  EXPECT_EQ(ir::shapeToString(s->shape), "[2]");
  EXPECT_THROW(runOp("Gather", {}, {x, int64Tensor({1}, {3})}), Error);
  EXPECT_THROW(runOp("Gather", {}, {x, int64Tensor({1}, {-4})}), Error);
  EXPECT_THROW(runOp("Gather", axisAttr(2), {x, int64Tensor({1}, {0})}), Error);
  EXPECT_THROW(runOp("Gather", {}, {x, floatTensor({1}, {0})}), Error);
  EXPECT_EQ(runOp("Gather", {}, {x, int64Tensor({0}, {})})[0]->numel(), 0);
}

TEST(GatherOp, MatchesNaive) {
  std::mt19937 rng(5);
  for (DataType t : {DataType::kFLOAT, DataType::kINT8, DataType::kHALF, DataType::kINT64, DataType::kUINT16}) {
    for (int64_t axis = -3; axis < 3; ++axis) {
      ir::Shape s{3, 4, 2};
      int64_t ax = axis < 0 ? axis + 3 : axis;
      int64_t n = s[static_cast<size_t>(ax)];
      auto xf = randomTensor(s, static_cast<uint32_t>(axis + 10), -50, 50);
      void* p = nullptr;
      auto x = ir::makeTensor(t, s, &p);
      for (int64_t i = 0; i < xf->numel(); ++i)
        dispatchType(t, [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) static_cast<T*>(p)[i] = T(xf->as<float>()[i]);
          else static_cast<T*>(p)[i] = static_cast<T>(static_cast<int>(xf->as<float>()[i]));
        });
      std::vector<int64_t> idx = randomInts(6, rng(), -n, n - 1);
      auto y = runOp("Gather", axisAttr(axis), {x, int64Tensor({2, 3}, idx)})[0];
      for (int64_t i = 0; i < y->numel(); ++i) {
        auto o = coords(i, y->shape);  // [pre..., i0, i1, post...]
        std::vector<int64_t> src;
        for (int64_t d = 0; d < ax; ++d) src.push_back(o[static_cast<size_t>(d)]);
        int64_t k = idx[static_cast<size_t>(o[static_cast<size_t>(ax)] * 3 + o[static_cast<size_t>(ax + 1)])];
        src.push_back(k < 0 ? k + n : k);
        for (int64_t d = ax + 1; d < 3; ++d) src.push_back(o[static_cast<size_t>(d + 1)]);
        ASSERT_EQ(y->floatAt(i), x->floatAt(linear(src, s)));
      }
    }
  }
}

TEST(GatherOp, ElementsHandAndNaive) {
  auto x = floatTensor({2, 2}, {1, 2, 3, 4});
  auto y = runOp("GatherElements", axisAttr(1), {x, int64Tensor({2, 2}, {0, 0, 1, 0})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 1, 4, 3}));
  auto x3 = floatTensor({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto y3 = runOp("GatherElements", {}, {x3, typedTensor<int32_t>({2, 3}, {1, 2, 0, 2, 0, -3})})[0];
  EXPECT_EQ(values<float>(*y3), (std::vector<float>{4, 8, 3, 7, 2, 3}));
  EXPECT_THROW(runOp("GatherElements", {}, {x3, int64Tensor({1, 1}, {3})}), Error);
  EXPECT_THROW(runOp("GatherElements", {}, {x3, int64Tensor({3}, {0, 0, 0})}), Error);
  // naive, axis -1, int32 data
  std::mt19937 rng(2);
  auto xi = typedTensor<int32_t>({2, 3, 4}, [] { std::vector<int32_t> v(24); std::iota(v.begin(), v.end(), 0); return v; }());
  auto ind = randomInts(2 * 2 * 5, 11, -4, 3);
  auto yi = runOp("GatherElements", axisAttr(-1), {xi, int64Tensor({2, 2, 5}, ind)})[0];
  for (int64_t i = 0; i < yi->numel(); ++i) {
    auto o = coords(i, yi->shape);
    int64_t k = ind[static_cast<size_t>(i)];
    o[2] = k < 0 ? k + 4 : k;
    EXPECT_EQ(yi->intAt(i), xi->intAt(linear(o, xi->shape)));
  }
}

TEST(GatherOp, NDHandValues) {
  // ONNX examples
  auto d = typedTensor<int32_t>({2, 2}, {0, 1, 2, 3});
  EXPECT_EQ(values<int32_t>(*runOp("GatherND", {}, {d, int64Tensor({2, 2}, {0, 0, 1, 1})})[0]), (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(values<int32_t>(*runOp("GatherND", {}, {d, int64Tensor({2, 1}, {1, 0})})[0]), (std::vector<int32_t>{2, 3, 0, 1}));
  auto d3 = typedTensor<int32_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(values<int32_t>(*runOp("GatherND", {}, {d3, int64Tensor({2, 2}, {0, 1, 1, 0})})[0]), (std::vector<int32_t>{2, 3, 4, 5}));
  auto y = runOp("GatherND", {}, {d3, int64Tensor({2, 1, 2}, {0, 1, 1, 0})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[2,1,2]");
  ir::Attributes b;
  b.setInt("batch_dims", 1);
  auto yb = runOp("GatherND", b, {d3, int64Tensor({2, 1}, {1, 0})})[0];
  EXPECT_EQ(ir::shapeToString(yb->shape), "[2,2]");
  EXPECT_EQ(values<int32_t>(*yb), (std::vector<int32_t>{2, 3, 4, 5}));
  auto neg = runOp("GatherND", {}, {d, int64Tensor({1, 2}, {-1, -2})})[0];
  EXPECT_EQ(values<int32_t>(*neg), (std::vector<int32_t>{2}));
  EXPECT_THROW(runOp("GatherND", {}, {d, int64Tensor({1, 2}, {2, 0})}), Error);
  EXPECT_THROW(runOp("GatherND", {}, {d, int64Tensor({1, 3}, {0, 0, 0})}), Error);
}

TEST(GatherOp, NDMatchesNaive) {
  // data [2, 3, 4, 5], batch_dims b in {0, 1}, index tuples of length m
  std::vector<int32_t> dv(120);
  std::iota(dv.begin(), dv.end(), 0);
  auto data = typedTensor<int32_t>({2, 3, 4, 5}, dv);
  ir::Shape ds{2, 3, 4, 5};
  uint32_t seed = 1;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t m = 1; m <= 4 - b; ++m) {
      ir::Shape is;
      for (int64_t d = 0; d < b; ++d) is.push_back(ds[static_cast<size_t>(d)]);
      is.push_back(3);
      is.push_back(m);
      int64_t cnt = ir::numElements(is);
      std::vector<int64_t> iv(static_cast<size_t>(cnt));
      std::mt19937 rng(seed++);
      for (int64_t i = 0; i < cnt; ++i) {
        int64_t dim = ds[static_cast<size_t>(b + i % m)];
        iv[static_cast<size_t>(i)] = static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * dim)) - dim;
      }
      ir::Attributes a;
      a.setInt("batch_dims", b);
      auto y = runOp("GatherND", a, {data, int64Tensor(is, iv)})[0];
      int64_t slice = 1;
      for (int64_t d = b + m; d < 4; ++d) slice *= ds[static_cast<size_t>(d)];
      ASSERT_EQ(y->numel(), (b ? 2 : 1) * 3 * slice);
      for (int64_t i = 0; i < y->numel(); ++i) {
        int64_t tuple = i / slice, within = i % slice;
        std::vector<int64_t> src;
        if (b) src.push_back(tuple / 3);
        for (int64_t k = 0; k < m; ++k) {
          int64_t v = iv[static_cast<size_t>(tuple * m + k)];
          src.push_back(v < 0 ? v + ds[static_cast<size_t>(b + k)] : v);
        }
        ir::Shape rest(ds.begin() + b + m, ds.end());
        auto w = coords(within, rest);
        src.insert(src.end(), w.begin(), w.end());
        ASSERT_EQ(y->intAt(i), linear(src, ds)) << "b=" << b << " m=" << m << " i=" << i;
      }
    }
}

TEST(ScatterOp, ElementsHandValues) {
  auto data = floatTensor({3, 3}, std::vector<float>(9, 0.f));
  auto y = runOp("ScatterElements", {}, {data, int64Tensor({2, 3}, {1, 0, 2, 0, 2, 1}), floatTensor({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f}));
  auto d1 = floatTensor({1, 5}, {1, 2, 3, 4, 5});
  auto y1 = runOp("ScatterElements", axisAttr(1), {d1, int64Tensor({1, 2}, {1, 3}), floatTensor({1, 2}, {1.1f, 2.1f})})[0];
  EXPECT_EQ(values<float>(*y1), (std::vector<float>{1, 1.1f, 3, 2.1f, 5}));
  ir::Attributes add = axisAttr(1);
  add.setString("reduction", "add");
  auto y2 = runOp("ScatterElements", add, {d1, int64Tensor({1, 2}, {1, 1}), floatTensor({1, 2}, {1.1f, 2.1f})})[0];
  EXPECT_EQ(values<float>(*y2), (std::vector<float>{1, 5.2f, 3, 4, 5}));
  for (auto [red, expect] : std::vector<std::pair<std::string, std::vector<int32_t>>>{
           {"mul", {1, 24, 3}}, {"max", {1, 4, 3}}, {"min", {1, 2, 3}}, {"none", {1, 3, 3}}}) {
    ir::Attributes a;
    a.setString("reduction", red);
    auto yi = runOp("ScatterElements", a, {typedTensor<int32_t>({3}, {1, 2, 3}), int64Tensor({2}, {-2, 1}), typedTensor<int32_t>({2}, {4, 3})})[0];
    if (red == "none") EXPECT_EQ(values<int32_t>(*yi)[1], 3) << red;  // last write wins
    else EXPECT_EQ(values<int32_t>(*yi), expect) << red;
  }
  EXPECT_THROW(runOp("ScatterElements", {}, {d1, int64Tensor({1, 1}, {1}), floatTensor({1, 2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("ScatterElements", axisAttr(1), {d1, int64Tensor({1, 1}, {5}), floatTensor({1, 1}, {1})}), Error);
  ir::Attributes bad;
  bad.setString("reduction", "avg");
  EXPECT_THROW(runOp("ScatterElements", bad, {d1, int64Tensor({1, 1}, {0}), floatTensor({1, 1}, {1})}), Error);
}

TEST(ScatterOp, NDHandValues) {
  auto data = floatTensor({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto y = runOp("ScatterND", {}, {data, int64Tensor({4, 1}, {4, 3, 1, 7}), floatTensor({4}, {9, 10, 11, 12})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12}));
  ir::Attributes add;
  add.setString("reduction", "add");
  auto y2 = runOp("ScatterND", add, {data, int64Tensor({2, 1}, {0, 0}), floatTensor({2}, {5, 6})})[0];
  EXPECT_EQ(values<float>(*y2)[0], 12.f);
  // slices: data [2, 2], indices [1, 1] -> update row 1
  auto d2 = typedTensor<int64_t>({2, 2}, {1, 2, 3, 4});
  auto y3 = runOp("ScatterND", {}, {d2, int64Tensor({1, 1}, {-1}), int64Tensor({1, 2}, {7, 8})})[0];
  EXPECT_EQ(values<int64_t>(*y3), (std::vector<int64_t>{1, 2, 7, 8}));
  ir::Attributes mx;
  mx.setString("reduction", "max");
  auto y4 = runOp("ScatterND", mx, {d2, int64Tensor({2, 2}, {0, 1, 1, 0}), int64Tensor({2}, {0, 9})})[0];
  EXPECT_EQ(values<int64_t>(*y4), (std::vector<int64_t>{1, 2, 9, 4}));
  EXPECT_THROW(runOp("ScatterND", {}, {data, int64Tensor({1, 1}, {8}), floatTensor({1}, {0})}), Error);
  EXPECT_THROW(runOp("ScatterND", {}, {data, int64Tensor({1, 1}, {0}), floatTensor({2}, {0, 0})}), Error);
}

TEST(TopKOp, HandValues) {
  auto x = floatTensor({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto y = runOp("TopK", {}, {x, int64Tensor({1}, {3})}, 2);
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{3, 2, 1, 7, 6, 5, 11, 10, 9}));
  EXPECT_EQ(y[1]->dtype, DataType::kINT64);
  EXPECT_EQ(values<int64_t>(*y[1]), (std::vector<int64_t>{3, 2, 1, 3, 2, 1, 3, 2, 1}));
  ir::Attributes a;
  a.setInt("largest", 0);
  a.setInt("axis", 0);
  a.setInt("index_type", static_cast<int64_t>(DataType::kINT32));
  auto z = runOp("TopK", a, {x, int64Tensor({1}, {2})}, 2);
  EXPECT_EQ(values<float>(*z[0]), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(z[1]->dtype, DataType::kINT32);
  EXPECT_EQ(values<int32_t>(*z[1]), (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  // ties: lower index first; NaN ranks above everything
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto t = floatTensor({6}, {1, nan, 3, 3, 1, nan});
  auto ty = runOp("TopK", {}, {t, int64Tensor({1}, {4})}, 2);
  EXPECT_EQ(values<int64_t>(*ty[1]), (std::vector<int64_t>{1, 5, 2, 3}));
  ir::Attributes mn;
  mn.setInt("largest", 0);
  auto tm = runOp("TopK", mn, {t, int64Tensor({1}, {6})}, 2);
  EXPECT_EQ(values<int64_t>(*tm[1]), (std::vector<int64_t>{0, 4, 2, 3, 1, 5}));
  EXPECT_THROW(runOp("TopK", {}, {x, int64Tensor({1}, {5})}, 2), Error);
  EXPECT_THROW(runOp("TopK", {}, {x, int64Tensor({1}, {-1})}, 2), Error);
  EXPECT_EQ(runOp("TopK", {}, {x, int64Tensor({1}, {0})}, 2)[0]->numel(), 0);
}

TEST(TopKOp, MatchesNaive) {
  std::mt19937 rng(9);
  for (DataType t : {DataType::kFLOAT, DataType::kINT32, DataType::kHALF, DataType::kINT64, DataType::kUINT8, DataType::kDOUBLE}) {
    for (int64_t axis : {0, 1, -1}) {
      for (int64_t largest : {0, 1}) {
        ir::Shape s{3, 5, 4};
        int64_t ax = axis < 0 ? axis + 3 : axis;
        auto vals = randomInts(60, rng(), 0, 6);  // many ties
        void* p = nullptr;
        auto x = ir::makeTensor(t, s, &p);
        for (int64_t i = 0; i < 60; ++i)
          dispatchType(t, [&](auto tag) {
            using T = decltype(tag);
            if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) static_cast<T*>(p)[i] = T(static_cast<float>(vals[static_cast<size_t>(i)]));
            else static_cast<T*>(p)[i] = static_cast<T>(vals[static_cast<size_t>(i)]);
          });
        int64_t n = s[static_cast<size_t>(ax)], k = n - 1;
        ir::Attributes a = axisAttr(axis);
        a.setInt("largest", largest);
        auto y = runOp("TopK", a, {x, int64Tensor({1}, {k})}, 2);
        for (int64_t i = 0; i < y[0]->numel(); ++i) {
          auto o = coords(i, y[0]->shape);
          // naive: rank of each candidate, stable on index
          std::vector<std::pair<double, int64_t>> cand;
          for (int64_t j = 0; j < n; ++j) {
            auto src = o;
            src[static_cast<size_t>(ax)] = j;
            cand.push_back({x->floatAt(linear(src, s)), j});
          }
          std::stable_sort(cand.begin(), cand.end(), [&](auto& l, auto& r) { return largest ? l.first > r.first : l.first < r.first; });
          auto expected = cand[static_cast<size_t>(o[static_cast<size_t>(ax)])];
          ASSERT_EQ(y[0]->floatAt(i), expected.first);
          ASSERT_EQ(y[1]->intAt(i), expected.second);
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::test
