// Reductions (ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare) and ArgMax/ArgMin:
// hand-checked values, naive comparisons over shapes/axes/keepdims, empty reductions, dtypes and errors.
#include <random>

#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {
namespace {

const char* kOps[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

//! Naive reduction: gathers each output's elements, then applies the formula.
std::vector<double> naiveReduce(const std::string& op, const std::vector<double>& x, const ir::Shape& xs,
                                const std::vector<bool>& mask, bool keep, ir::Shape& ys) {
  ys.clear();
  ir::Shape kept;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!mask[i]) ys.push_back(xs[i]), kept.push_back(xs[i]);
    else if (keep) ys.push_back(1);
  }
  std::vector<std::vector<double>> groups(static_cast<size_t>(ir::numElements(kept)));
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = coords(static_cast<int64_t>(i), xs);
    int64_t id = 0;
    for (size_t d = 0; d < xs.size(); ++d)
      if (!mask[d]) id = id * xs[d] + c[d];
    groups[static_cast<size_t>(id)].push_back(x[i]);
  }
  std::vector<double> out;
  for (const auto& g : groups) {
    double r = 0;
    if (op == "ReduceSum") for (double v : g) r += v;
    if (op == "ReduceMean") { for (double v : g) r += v; r /= static_cast<double>(g.size()); }
    if (op == "ReduceMax") { r = -INFINITY; for (double v : g) r = std::max(r, v); }
    if (op == "ReduceMin") { r = INFINITY; for (double v : g) r = std::min(r, v); }
    if (op == "ReduceProd") { r = 1; for (double v : g) r *= v; }
    if (op == "ReduceL1") for (double v : g) r += std::fabs(v);
    if (op == "ReduceL2") { for (double v : g) r += v * v; r = std::sqrt(r); }
    if (op == "ReduceLogSum") { for (double v : g) r += v; r = std::log(r); }
    if (op == "ReduceLogSumExp") { for (double v : g) r += std::exp(v); r = std::log(r); }
    if (op == "ReduceSumSquare") for (double v : g) r += v * v;
    out.push_back(r);
  }
  return out;
}

TEST(ReduceOp, HandChecked) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto ax1 = int64Tensor({1}, {1});
  expectValues(*runOp("ReduceSum", {}, {x, ax1})[0], {2, 1}, {6, 15}, 0);
  ir::Attributes nk;
  nk.setInt("keepdims", 0);
  expectValues(*runOp("ReduceMean", nk, {x, int64Tensor({1}, {0})})[0], {3}, {2.5, 3.5, 4.5}, 0);
  expectValues(*runOp("ReduceMax", nk, {x})[0], {}, {6}, 0);  // no axes: all
  expectValues(*runOp("ReduceMin", {}, {x, int64Tensor({2}, {-1, 0})})[0], {1, 1}, {1}, 0);
  expectValues(*runOp("ReduceProd", nk, {x, ax1})[0], {2}, {6, 120}, 0);
  expectValues(*runOp("ReduceL1", nk, {floatTensor({2}, {-3, 4})})[0], {}, {7}, 0);
  expectValues(*runOp("ReduceL2", nk, {floatTensor({2}, {-3, 4})})[0], {}, {5}, 0);
  expectValues(*runOp("ReduceSumSquare", nk, {floatTensor({2}, {-3, 4})})[0], {}, {25}, 0);
  expectValues(*runOp("ReduceLogSum", nk, {floatTensor({2}, {1, 2})})[0], {}, {std::log(3.0)}, 1e-7);
  expectValues(*runOp("ReduceLogSumExp", nk, {floatTensor({2}, {1000, 1000})})[0], {}, {1000 + std::log(2.0)}, 1e-7);
  // noop_with_empty_axes
  ir::Attributes noop;
  noop.setInt("noop_with_empty_axes", 1);
  expectValues(*runOp("ReduceSum", noop, {x, int64Tensor({0}, {})})[0], {2, 3}, {1, 2, 3, 4, 5, 6}, 0);
  expectValues(*runOp("ReduceSum", noop, {x})[0], {2, 3}, {1, 2, 3, 4, 5, 6}, 0);
}

TEST(ReduceOp, NaiveComparisonAllOps) {
  std::mt19937 rng(21);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 60; ++it) {
    int rank = r(1, 4);
    ir::Shape xs;
    for (int i = 0; i < rank; ++i) xs.push_back(r(1, 4));
    std::vector<int64_t> axes;
    std::vector<bool> mask(static_cast<size_t>(rank), false);
    for (int i = 0; i < rank; ++i)
      if (r(0, 1)) {
        axes.push_back(r(0, 1) ? i : i - rank);  // negative axes too
        mask[static_cast<size_t>(i)] = true;
      }
    bool keep = r(0, 1);
    bool noAxes = axes.empty();
    if (noAxes) mask.assign(static_cast<size_t>(rank), true);
    auto x = randomTensor(xs, static_cast<uint32_t>(it + 1), 0.1f, 1.5f);
    for (const char* op : kOps) {
      ir::Attributes a;
      a.setInt("keepdims", keep);
      std::vector<TensorPtr> ins{x};
      if (!noAxes || it % 2) ins.push_back(int64Tensor({static_cast<int64_t>(axes.size())}, axes));
      ir::Shape ys;
      auto exp = naiveReduce(op, asDoubles(*x), xs, mask, keep, ys);
      SCOPED_TRACE(std::string(op) + " case " + std::to_string(it));
      expectValues(*runOp(op, a, ins)[0], ys, exp, 1e-6);
    }
  }
}

TEST(ReduceOp, EmptyReductionsGiveIdentity) {
  auto x = randomTensor({2, 0}, 1);
  auto ax = int64Tensor({1}, {1});
  ir::Attributes a;
  a.setInt("keepdims", 0);
  std::vector<std::pair<const char*, double>> expected{
      {"ReduceSum", 0},    {"ReduceMean", NAN},          {"ReduceMax", -INFINITY},     {"ReduceMin", INFINITY},
      {"ReduceProd", 1},   {"ReduceL1", 0},              {"ReduceL2", 0},              {"ReduceLogSum", -INFINITY},
      {"ReduceLogSumExp", -INFINITY}, {"ReduceSumSquare", 0}};
  for (auto [op, v] : expected) {
    SCOPED_TRACE(op);
    expectValues(*runOp(op, a, {x, ax})[0], {2}, {v, v}, 0);
  }
  // reducing the non-empty axis of a zero-size tensor gives a zero-size result
  auto y = runOp("ReduceSum", {}, {x, int64Tensor({1}, {0})});
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[1,0]");
  auto yi = runOp("ReduceMax", a, {typedTensor<int32_t>({0}, {})});
  EXPECT_EQ(values<int32_t>(*yi[0]), std::vector<int32_t>{std::numeric_limits<int32_t>::lowest()});
}

TEST(ReduceOp, DtypesAndErrors) {
  auto xi = typedTensor<int32_t>({2, 2}, {1, -2, 3, 4});
  auto ax = int64Tensor({1}, {1});
  EXPECT_EQ(values<int32_t>(*runOp("ReduceSum", {}, {xi, ax})[0]), (std::vector<int32_t>{-1, 7}));
  EXPECT_EQ(values<int32_t>(*runOp("ReduceProd", {}, {xi, ax})[0]), (std::vector<int32_t>{-2, 12}));
  EXPECT_EQ(values<int32_t>(*runOp("ReduceMax", {}, {xi, ax})[0]), (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(values<int32_t>(*runOp("ReduceMin", {}, {xi, ax})[0]), (std::vector<int32_t>{-2, 3}));
  EXPECT_EQ(values<int32_t>(*runOp("ReduceMean", {}, {xi, ax})[0]), (std::vector<int32_t>{0, 3}));
  auto x64 = typedTensor<int64_t>({3}, {1LL << 40, 5, -1});
  EXPECT_EQ(values<int64_t>(*runOp("ReduceSum", {}, {x64})[0]), (std::vector<int64_t>{(1LL << 40) + 4}));
  auto xh = typedTensor<Half>({2}, {Half(1.5f), Half(2.5f)});
  auto yh = runOp("ReduceMean", {}, {xh});
  EXPECT_EQ(yh[0]->dtype, DataType::kHALF);
  expectValues(*yh[0], {1}, {2}, 0);
  auto yb = runOp("ReduceL2", {}, {typedTensor<BFloat16>({2}, {BFloat16(3.f), BFloat16(4.f)})});
  expectValues(*yb[0], {1}, {5}, 0);
  auto yd = runOp("ReduceLogSumExp", {}, {typedTensor<double>({2}, {0, 0})});
  expectValues(*yd[0], {1}, {std::log(2.0)}, 1e-15);
  EXPECT_THROW(runOp("ReduceL1", {}, {xi}), Error);                                 // ints not for L1
  EXPECT_THROW(runOp("ReduceSum", {}, {randomTensor({2}, 1), int64Tensor({1}, {1})}), Error);   // axis range
  EXPECT_THROW(runOp("ReduceSum", {}, {randomTensor({2, 2}, 1), int64Tensor({2}, {1, -1})}), Error);  // repeated
  EXPECT_THROW(runOp("ReduceSum", {}, {randomTensor({2}, 1), typedTensor<int32_t>({1}, {0})}), Error);  // axes type
}

TEST(ArgOp, HandCheckedAndNaive) {
  auto x = floatTensor({2, 3}, {1, 3, 3, 5, 0, 5});
  expectValues(*runOp("ArgMax", {}, {x})[0], {1, 3}, {1, 0, 1}, 0);
  ir::Attributes a;
  a.setInt("axis", 1);
  expectValues(*runOp("ArgMax", a, {x})[0], {2, 1}, {1, 0}, 0);
  a.setInt("select_last_index", 1);
  expectValues(*runOp("ArgMax", a, {x})[0], {2, 1}, {2, 2}, 0);
  a.setInt("keepdims", 0);
  expectValues(*runOp("ArgMin", a, {x})[0], {2}, {0, 1}, 0);
  EXPECT_EQ(runOp("ArgMin", a, {x})[0]->dtype, DataType::kINT64);
  std::mt19937 rng(4);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 40; ++it) {
    int rank = r(1, 4);
    ir::Shape xs;
    for (int i = 0; i < rank; ++i) xs.push_back(r(1, 4));
    int64_t axis = r(-rank, rank - 1), ax = axis < 0 ? axis + rank : axis;
    bool keep = r(0, 1), last = r(0, 1), isMax = r(0, 1);
    // small integer values so that ties happen
    auto iv = randomInts(ir::numElements(xs), static_cast<uint32_t>(it), -2, 2);
    std::vector<int32_t> i32(iv.begin(), iv.end());
    auto x32 = typedTensor(xs, i32);
    std::vector<float> f(iv.begin(), iv.end());
    auto xf = floatTensor(xs, f);
    ir::Shape ys;
    std::vector<double> exp;
    ir::Shape outer = xs;
    outer[static_cast<size_t>(ax)] = 1;
    for (int64_t o = 0; o < ir::numElements(outer); ++o) {
      auto c = coords(o, outer);
      int64_t best = 0;
      for (int64_t k = 0; k < xs[static_cast<size_t>(ax)]; ++k) {
        c[static_cast<size_t>(ax)] = k;
        int64_t lin = 0;
        for (size_t d = 0; d < xs.size(); ++d) lin = lin * xs[d] + c[d];
        c[static_cast<size_t>(ax)] = best;
        int64_t lb = 0;
        for (size_t d = 0; d < xs.size(); ++d) lb = lb * xs[d] + c[d];
        double v = f[static_cast<size_t>(lin)], bv = f[static_cast<size_t>(lb)];
        if (isMax ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv))) best = k;
      }
      exp.push_back(static_cast<double>(best));
    }
    ys = outer;
    if (!keep) ys.erase(ys.begin() + ax);
    ir::Attributes at;
    at.setInt("axis", axis);
    at.setInt("keepdims", keep);
    at.setInt("select_last_index", last);
    SCOPED_TRACE("case " + std::to_string(it));
    expectValues(*runOp(isMax ? "ArgMax" : "ArgMin", at, {xf})[0], ys, exp, 0);
    expectValues(*runOp(isMax ? "ArgMax" : "ArgMin", at, {x32})[0], ys, exp, 0);
  }
  EXPECT_THROW(runOp("ArgMax", {}, {randomTensor({0, 2}, 1)}), Error);
  ir::Attributes bad;
  bad.setInt("axis", 2);
  EXPECT_THROW(runOp("ArgMax", bad, {randomTensor({2, 2}, 1)}), Error);
  ir::Attributes ax1;
  ax1.setInt("axis", 1);
  auto z = runOp("ArgMax", ax1, {randomTensor({0, 2}, 1)});
  EXPECT_EQ(ir::shapeToString(z[0]->shape), "[0,1]");
}


TEST(ReduceOp, InferenceWithUnknownAxesOrDims) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {2, -1, 4});
  ir::Value* a = g.addValue("a", DataType::kINT64, {1});
  g.inputs = {x, a};
  ir::Node* n = g.addNode("ReduceSum", "r", {x, a}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  EXPECT_EQ(ir::shapeToString(n->outputs[0]->shape), "[?,?,?]");
  n->attrs.setInt("keepdims", 0);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  EXPECT_EQ(ir::shapeToString(n->outputs[0]->shape), "[?,?]");
  ir::Value* c = g.addConstant("c", ir::makeInt64Tensor({-1}, {1}));
  n->inputs[1] = c;
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  EXPECT_EQ(ir::shapeToString(n->outputs[0]->shape), "[2,?]");
  ir::Node* am = g.addNode("ArgMax", "am", {x}, 1);
  am->attrs.setInt("axis", 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
  EXPECT_EQ(ir::shapeToString(am->outputs[0]->shape), "[2,1,4]");
  EXPECT_EQ(am->outputs[0]->dtype, DataType::kINT64);
}

}  // namespace
}  // namespace kiln::test
