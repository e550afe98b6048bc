// MatMul (numpy semantics, batch broadcasting, kiln transA/transB/vecA/vecB, int32/int64) and Gemm.
#include <random>

#include "test_util.h"

namespace kiln::test {
namespace {

//! Element of a row-major tensor at the given coords, broadcasting (right-aligned) from `full` coords.
double at(const std::vector<double>& v, const ir::Shape& s, const std::vector<int64_t>& batch, int64_t r, int64_t c) {
  // s = [b..., R, C]; batch coords are right-aligned against s's batch dims (size-1 dims broadcast)
  size_t nb = s.size() - 2;
  int64_t off = 0;
  for (size_t i = 0; i < nb; ++i) {
    int64_t bc = batch[batch.size() - nb + i];
    off = off * s[i] + (s[i] == 1 ? 0 : bc);
  }
  off = (off * s[nb] + r) * s[nb + 1] + c;
  return v[static_cast<size_t>(off)];
}

//! Naive numpy matmul: promotes 1-D / vector inputs, transposes, broadcasts the batch dims.
std::vector<double> naiveMatMul(const std::vector<double>& A, ir::Shape as, const std::vector<double>& B, ir::Shape bs,
                                bool tA, bool tB, bool vA, bool vB, ir::Shape& ys) {
  vA = vA || as.size() == 1;
  vB = vB || bs.size() == 1;
  if (vA) as.insert(as.end() - 1, 1);
  if (vB) bs.push_back(1);
  int64_t M = tA && !vA ? as.back() : as[as.size() - 2], K = tA && !vA ? as[as.size() - 2] : as.back();
  int64_t N = tB && !vB ? bs[bs.size() - 2] : bs.back();
  size_t nb = std::max(as.size(), bs.size()) - 2;
  ir::Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t da = i + as.size() - 2 >= nb ? as[i + as.size() - 2 - nb] : 1;
    int64_t db = i + bs.size() - 2 >= nb ? bs[i + bs.size() - 2 - nb] : 1;
    batch[i] = da == 1 ? db : da;
  }
  ys = batch;
  if (!vA) ys.push_back(M);
  if (!vB) ys.push_back(N);
  std::vector<double> Y;
  int64_t nbatch = ir::numElements(batch);
  for (int64_t bi = 0; bi < nbatch; ++bi) {
    std::vector<int64_t> bc(nb);
    int64_t l = bi;
    for (size_t i = nb; i-- > 0;) bc[i] = l % batch[i], l /= batch[i];
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += (tA && !vA ? at(A, as, bc, k, m) : at(A, as, bc, m, k)) * (tB && !vB ? at(B, bs, bc, n, k) : at(B, bs, bc, k, n));
        Y.push_back(acc);
      }
  }
  return Y;
}

TEST(MatMulOp, HandChecked) {
  auto a = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = floatTensor({3, 2}, {1, 0, 0, 1, 1, 1});
  expectValues(*runOp("MatMul", {}, {a, b})[0], {2, 2}, {4, 5, 10, 11}, 0);
  // 1-D x 2-D and 2-D x 1-D and 1-D x 1-D
  expectValues(*runOp("MatMul", {}, {floatTensor({3}, {1, 1, 1}), b})[0], {2}, {2, 2}, 0);
  expectValues(*runOp("MatMul", {}, {a, floatTensor({3}, {1, 0, -1})})[0], {2}, {-2, -2}, 0);
  expectValues(*runOp("MatMul", {}, {floatTensor({3}, {1, 2, 3}), floatTensor({3}, {4, 5, 6})})[0], {}, {32}, 0);
  // transB: a x a^T
  ir::Attributes t;
  t.setInt("transB", 1);
  expectValues(*runOp("MatMul", t, {a, a})[0], {2, 2}, {14, 32, 32, 77}, 0);
  // vecA: batch of vectors [2, 3] times matrix [3, 2] -> [2, 2]... vecB: row-wise dot products
  ir::Attributes v;
  v.setInt("vecA", 1);
  v.setInt("vecB", 1);
  expectValues(*runOp("MatMul", v, {a, floatTensor({2, 3}, {1, 1, 1, 0, 0, 1})})[0], {2}, {6, 6}, 0);
  // integers
  auto y = runOp("MatMul", {}, {typedTensor<int32_t>({1, 2}, {3, -4}), typedTensor<int32_t>({2, 1}, {5, 6})});
  EXPECT_EQ(values<int32_t>(*y[0]), std::vector<int32_t>{-9});
  y = runOp("MatMul", {}, {typedTensor<int64_t>({2}, {1LL << 40, 2}), typedTensor<int64_t>({2}, {2, 3})});
  EXPECT_EQ(values<int64_t>(*y[0]), std::vector<int64_t>{(1LL << 41) + 6});
}

TEST(MatMulOp, NaiveComparisonBroadcastTransposeVector) {
  std::mt19937 rng(3);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 200; ++it) {
    int ra = r(1, 4), rb = r(1, 4);
    bool tA = r(0, 1), tB = r(0, 1), vA = r(0, 3) == 0, vB = r(0, 3) == 0;
    int64_t M = r(1, 4), K = r(0, 4), N = r(1, 4);
    if (it % 20 == 0) M = 0;
    ir::Shape as, bs;
    // batch dims with broadcasting
    int nbA = std::max(0, ra - ((vA || ra == 1) ? 1 : 2)), nbB = std::max(0, rb - ((vB || rb == 1) ? 1 : 2));
    int nb = std::max(nbA, nbB);
    ir::Shape batch;
    for (int i = 0; i < nb; ++i) batch.push_back(r(1, 3));
    for (int i = nb - nbA; i < nb; ++i) as.push_back(r(0, 2) == 0 ? 1 : batch[static_cast<size_t>(i)]);
    for (int i = nb - nbB; i < nb; ++i) bs.push_back(r(0, 2) == 0 ? 1 : batch[static_cast<size_t>(i)]);
    if (vA || ra == 1) as.push_back(K);
    else if (tA) as.push_back(K), as.push_back(M);
    else as.push_back(M), as.push_back(K);
    if (vB || rb == 1) bs.push_back(K);
    else if (tB) bs.push_back(N), bs.push_back(K);
    else bs.push_back(K), bs.push_back(N);
    auto A = randomTensor(as, static_cast<uint32_t>(it * 2 + 1)), B = randomTensor(bs, static_cast<uint32_t>(it * 2 + 2));
    ir::Attributes attrs;
    if (tA) attrs.setInt("transA", 1);
    if (tB) attrs.setInt("transB", 1);
    if (vA) attrs.setInt("vecA", 1);
    if (vB) attrs.setInt("vecB", 1);
    ir::Shape ys;
    auto exp = naiveMatMul(asDoubles(*A), as, asDoubles(*B), bs, tA, tB, vA, vB, ys);
    SCOPED_TRACE("case " + std::to_string(it) + " " + ir::shapeToString(as) + " x " + ir::shapeToString(bs));
    expectValues(*runOp("MatMul", attrs, {A, B})[0], ys, exp, 1e-6);
  }
}

TEST(MatMulOp, DtypesAndErrors) {
  auto a = randomTensor({2, 3, 4}, 1), b = randomTensor({4, 5}, 2);
  ir::Shape ys;
  auto exp = naiveMatMul(asDoubles(*a), a->shape, asDoubles(*b), b->shape, false, false, false, false, ys);
  auto ad = typedTensor<double>(a->shape, asDoubles(*a)), bd = typedTensor<double>(b->shape, asDoubles(*b));
  auto y = runOp("MatMul", {}, {ad, bd});
  EXPECT_EQ(y[0]->dtype, DataType::kDOUBLE);
  expectValues(*y[0], ys, exp, 1e-12);
  std::vector<Half> ah, bh;
  for (double v : asDoubles(*a)) ah.push_back(Half(static_cast<float>(v)));
  for (double v : asDoubles(*b)) bh.push_back(Half(static_cast<float>(v)));
  y = runOp("MatMul", {}, {typedTensor(a->shape, ah), typedTensor(b->shape, bh)});
  EXPECT_EQ(y[0]->dtype, DataType::kHALF);
  expectValues(*y[0], ys, exp, 5e-3);
  EXPECT_THROW(runOp("MatMul", {}, {randomTensor({2, 3}, 1), randomTensor({4, 2}, 2)}), Error);
  EXPECT_THROW(runOp("MatMul", {}, {randomTensor({2, 2, 3}, 1), randomTensor({3, 3, 2}, 2)}), Error);
  EXPECT_THROW(runOp("MatMul", {}, {floatTensor({}, {1}), randomTensor({1}, 2)}), Error);
  EXPECT_THROW(runOp("MatMul", {}, {randomTensor({2, 2}, 1), typedTensor<int32_t>({2, 2}, {1, 2, 3, 4})}), Error);
  EXPECT_THROW(runOp("MatMul", {}, {typedTensor<int8_t>({1, 1}, {1}), typedTensor<int8_t>({1, 1}, {1})}), Error);
}

TEST(GemmOp, HandCheckedAndNaive) {
  auto a = floatTensor({2, 2}, {1, 2, 3, 4});
  auto b = floatTensor({2, 2}, {1, 0, 0, 1});
  ir::Attributes at;
  at.setFloat("alpha", 2);
  at.setFloat("beta", 0.5);
  at.setInt("transA", 1);
  expectValues(*runOp("Gemm", at, {a, b, floatTensor({2}, {10, 20})})[0], {2, 2}, {7, 16, 9, 18}, 0);
  std::mt19937 rng(8);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 60; ++it) {
    int64_t M = r(1, 5), K = r(0, 5), N = r(1, 5);
    bool tA = r(0, 1), tB = r(0, 1);
    int cMode = it % 5;  // 0 none, 1 scalar, 2 [N], 3 [M,1], 4 [M,N]
    auto A = randomTensor(tA ? ir::Shape{K, M} : ir::Shape{M, K}, static_cast<uint32_t>(it + 1));
    auto B = randomTensor(tB ? ir::Shape{N, K} : ir::Shape{K, N}, static_cast<uint32_t>(it + 100));
    ir::Shape cs = cMode == 1 ? ir::Shape{} : cMode == 2 ? ir::Shape{N} : cMode == 3 ? ir::Shape{M, 1} : ir::Shape{M, N};
    auto C = randomTensor(cs, static_cast<uint32_t>(it + 200));
    double alpha = 0.5 + it % 3, beta = it % 2 ? 1.0 : -2.0;
    ir::Attributes attrs;
    attrs.setFloat("alpha", alpha);
    attrs.setFloat("beta", beta);
    attrs.setInt("transA", tA);
    attrs.setInt("transB", tB);
    auto av = asDoubles(*A), bv = asDoubles(*B), cv = asDoubles(*C);
    std::vector<double> exp;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += av[static_cast<size_t>(tA ? k * M + m : m * K + k)] * bv[static_cast<size_t>(tB ? n * K + k : k * N + n)];
        double c = cMode == 0 ? 0 : cMode == 1 ? cv[0] : cMode == 2 ? cv[static_cast<size_t>(n)] : cMode == 3 ? cv[static_cast<size_t>(m)] : cv[static_cast<size_t>(m * N + n)];
        exp.push_back(alpha * s + beta * c);
      }
    std::vector<TensorPtr> ins{A, B};
    if (cMode) ins.push_back(C);
    expectValues(*runOp("Gemm", attrs, ins)[0], {M, N}, exp, 1e-6);
  }
  EXPECT_THROW(runOp("Gemm", {}, {randomTensor({2, 3}, 1), randomTensor({2, 3}, 2)}), Error);
  EXPECT_THROW(runOp("Gemm", {}, {randomTensor({2, 3}, 1), randomTensor({3, 2}, 2), randomTensor({3}, 3)}), Error);
  EXPECT_THROW(runOp("Gemm", {}, {randomTensor({2, 3, 1}, 1), randomTensor({3, 2}, 2)}), Error);
}

}  // namespace
}  // namespace kiln::test
