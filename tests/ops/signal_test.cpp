// Tests of the signal family: CumProd, Det, DFT (reference kernels and inference).
#include <cmath>
#include <complex>
#include <numbers>

#include "test_util.h"

namespace kiln::test {
namespace {

ir::Attributes cumAttrs(int64_t exclusive, int64_t reverse) {
  ir::Attributes a;
  a.setInt("exclusive", exclusive);
  a.setInt("reverse", reverse);
  return a;
}

TEST(CumProdOp, HandValues) {
  auto x = floatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = runOp("CumProd", {}, {x, int64Tensor({}, {1})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 2, 6, 4, 20, 120}));
  y = runOp("CumProd", {}, {x, int64Tensor({}, {0})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 2, 3, 4, 10, 18}));
  y = runOp("CumProd", cumAttrs(1, 0), {x, int64Tensor({}, {-1})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 1, 2, 1, 4, 20}));
  y = runOp("CumProd", cumAttrs(0, 1), {x, int64Tensor({}, {1})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{6, 6, 3, 120, 30, 6}));
  y = runOp("CumProd", cumAttrs(1, 1), {x, int64Tensor({}, {1})})[0];
  EXPECT_EQ(values<float>(*y), (std::vector<float>{6, 3, 1, 30, 6, 1}));
  auto xi = typedTensor<int32_t>({4}, {2, -3, 4, 5});
  y = runOp("CumProd", {}, {xi, int64Tensor({}, {0})})[0];
  EXPECT_EQ(values<int32_t>(*y), (std::vector<int32_t>{2, -6, -24, -120}));
  EXPECT_THROW(runOp("CumProd", {}, {x, int64Tensor({}, {2})}), Error);
  EXPECT_THROW(runOp("CumProd", {}, {x, floatTensor({}, {0})}), Error);
}

double naiveDet(std::vector<double> a, int n) {  // cofactor expansion along row 0
  if (n == 1) return a[0];
  double d = 0;
  for (int c = 0; c < n; ++c) {
    std::vector<double> m;
    for (int r = 1; r < n; ++r)
      for (int k = 0; k < n; ++k)
        if (k != c) m.push_back(a[static_cast<size_t>(r * n + k)]);
    d += (c % 2 ? -1.0 : 1.0) * a[static_cast<size_t>(c)] * naiveDet(m, n - 1);
  }
  return d;
}

TEST(DetOp, HandAndNaive) {
  auto y = runOp("Det", {}, {floatTensor({2, 2}, {1, 2, 3, 4})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[]");
  EXPECT_NEAR(y->floatAt(0), -2.0, 1e-6);
  y = runOp("Det", {}, {floatTensor({2, 2, 2}, {0, 1, 1, 0, 2, 0, 0, 0})})[0];
  EXPECT_NEAR(y->floatAt(0), -1.0, 1e-6);  // needs a row swap
  EXPECT_NEAR(y->floatAt(1), 0.0, 1e-6);   // singular
  auto x = randomTensor({3, 4, 4}, 7);
  y = runOp("Det", {}, {x})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[3]");
  for (int b = 0; b < 3; ++b) {
    std::vector<double> a;
    for (int i = 0; i < 16; ++i) a.push_back(x->floatAt(b * 16 + i));
    EXPECT_NEAR(y->floatAt(b), naiveDet(a, 4), 1e-5);
  }
  EXPECT_THROW(runOp("Det", {}, {floatTensor({2, 3}, {1, 2, 3, 4, 5, 6})}), Error);
  EXPECT_THROW(runOp("Det", {}, {floatTensor({3}, {1, 2, 3})}), Error);
  EXPECT_THROW(runOp("Det", {}, {int64Tensor({1, 1}, {1})}), Error);
}

ir::Attributes dftAttrs(int64_t axis, int64_t inverse, int64_t onesided) {
  ir::Attributes a;
  a.setInt("axis", axis);
  a.setInt("inverse", inverse);
  a.setInt("onesided", onesided);
  return a;
}

TEST(DftOp, MatchesNaive) {
  const int64_t n = 5;
  auto x = randomTensor({2, n, 3, 2}, 11);  // complex signal along axis 1
  for (int64_t len : {int64_t{5}, int64_t{3}, int64_t{8}})
    for (int inv = 0; inv < 2; ++inv) {
      auto y = runOp("DFT", dftAttrs(1, inv, 0), {x, int64Tensor({}, {len})})[0];
      ASSERT_EQ(ir::shapeToString(y->shape), "[2," + std::to_string(len) + ",3,2]");
      for (int64_t o = 0; o < 2; ++o)
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t k = 0; k < len; ++k) {
            std::complex<double> acc = 0;
            for (int64_t j = 0; j < std::min(n, len); ++j) {
              int64_t off = ((o * n + j) * 3 + i) * 2;
              std::complex<double> v(x->floatAt(off), x->floatAt(off + 1));
              double ang = (inv ? 2.0 : -2.0) * std::numbers::pi * static_cast<double>(k * j) / static_cast<double>(len);
              acc += v * std::polar(1.0, ang);
            }
            if (inv) acc /= static_cast<double>(len);
            int64_t oo = ((o * len + k) * 3 + i) * 2;
            EXPECT_NEAR(y->floatAt(oo), acc.real(), 1e-5);
            EXPECT_NEAR(y->floatAt(oo + 1), acc.imag(), 1e-5);
          }
    }
}

TEST(DftOp, RealOnesided) {
  auto x = floatTensor({4, 1}, {1, 2, 3, 4});
  auto y = runOp("DFT", dftAttrs(0, 0, 1), {x})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[3,2]");
  // X[0] = 10, X[1] = -2 + 2i, X[2] = -2
  std::vector<double> want{10, 0, -2, 2, -2, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y->floatAt(i), want[static_cast<size_t>(i)], 1e-5);
  EXPECT_THROW(runOp("DFT", dftAttrs(1, 0, 0), {x}), Error);                             // last axis
  EXPECT_THROW(runOp("DFT", dftAttrs(0, 0, 0), {floatTensor({4, 3}, std::vector<float>(12))}), Error);  // bad last dim
  EXPECT_THROW(runOp("DFT", dftAttrs(0, 0, 0), {x, int64Tensor({}, {0})}), Error);      // zero length
  EXPECT_THROW(runOp("DFT", dftAttrs(0, 1, 1), {x}), Error);                             // onesided inverse
}

TEST(NonZeroOp, HandValues) {
  auto y = runOp("NonZero", {}, {floatTensor({2, 3}, {0, 1, 0, 2, 0, 3})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[2,3]");
  EXPECT_EQ(values<int64_t>(*y), (std::vector<int64_t>{0, 1, 1, 1, 0, 2}));
  y = runOp("NonZero", {}, {floatTensor({3}, {0, 0, 0})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[1,0]");
}

TEST(CompressOp, HandValues) {
  auto x = floatTensor({3, 2}, {1, 2, 3, 4, 5, 6});
  auto cond = typedTensor<bool>({3}, {false, true, true});
  ir::Attributes a0;
  a0.setInt("axis", 0);
  auto y = runOp("Compress", a0, {x, cond})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[2,2]");
  EXPECT_EQ(values<float>(*y), (std::vector<float>{3, 4, 5, 6}));
  ir::Attributes a1;
  a1.setInt("axis", -1);
  y = runOp("Compress", a1, {x, typedTensor<bool>({1}, {true})})[0];  // shorter condition
  EXPECT_EQ(values<float>(*y), (std::vector<float>{1, 3, 5}));
  y = runOp("Compress", {}, {x, typedTensor<bool>({5}, {false, true, false, false, true})})[0];  // flattened
  EXPECT_EQ(values<float>(*y), (std::vector<float>{2, 5}));
  EXPECT_THROW(runOp("Compress", a0, {x, typedTensor<bool>({4}, {true, true, true, true})}), Error);
  EXPECT_THROW(runOp("Compress", a0, {x, int64Tensor({3}, {1, 0, 1})}), Error);
}

TEST(UniqueOp, HandValues) {
  auto x = floatTensor({6}, {2, 1, 1, 3, 4, 3});
  auto o = runOp("Unique", {}, {x}, 4);
  EXPECT_EQ(values<float>(*o[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values<int64_t>(*o[1]), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(values<int64_t>(*o[2]), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(values<int64_t>(*o[3]), (std::vector<int64_t>{2, 1, 2, 1}));
  ir::Attributes uns;
  uns.setInt("sorted", 0);
  o = runOp("Unique", uns, {x}, 4);
  EXPECT_EQ(values<float>(*o[0]), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(values<int64_t>(*o[2]), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  ir::Attributes ax;
  ax.setInt("axis", 0);
  o = runOp("Unique", ax, {floatTensor({3, 2}, {1, 0, 0, 1, 1, 0})}, 4);
  EXPECT_EQ(ir::shapeToString(o[0]->shape), "[2,2]");
  EXPECT_EQ(values<float>(*o[0]), (std::vector<float>{0, 1, 1, 0}));
  EXPECT_EQ(values<int64_t>(*o[2]), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(values<int64_t>(*o[3]), (std::vector<int64_t>{1, 2}));
  ax.setInt("axis", 2);
  EXPECT_THROW(runOp("Unique", ax, {x}, 4), Error);
}

TEST(NonMaxSuppressionOp, HandValues) {
  // boxes 0 and 1 overlap heavily (IoU 0.81), box 2 is apart
  auto boxes = floatTensor({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 10, 1, 11});
  auto scores = floatTensor({1, 1, 3}, {0.9f, 0.95f, 0.5f});
  auto maxOut = int64Tensor({1}, {3});
  auto iou = floatTensor({1}, {0.5f});
  auto y = runOp("NonMaxSuppression", {}, {boxes, scores, maxOut, iou})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[2,3]");
  EXPECT_EQ(values<int64_t>(*y), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
  y = runOp("NonMaxSuppression", {}, {boxes, scores, maxOut, iou, floatTensor({1}, {0.6f})})[0];  // score threshold
  EXPECT_EQ(values<int64_t>(*y), (std::vector<int64_t>{0, 0, 1}));
  y = runOp("NonMaxSuppression", {}, {boxes, scores, int64Tensor({1}, {1}), iou})[0];
  EXPECT_EQ(values<int64_t>(*y), (std::vector<int64_t>{0, 0, 1}));
  y = runOp("NonMaxSuppression", {}, {boxes, scores})[0];  // no max: nothing selected
  EXPECT_EQ(ir::shapeToString(y->shape), "[0,3]");
  EXPECT_THROW(runOp("NonMaxSuppression", {}, {boxes, floatTensor({1, 1, 2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("NonMaxSuppression", {}, {boxes, scores, maxOut, floatTensor({1}, {1.5f})}), Error);
}

TEST(StftOp, MatchesFramedDft) {
  auto x = randomTensor({1, 10, 1}, 21);
  auto win = floatTensor({4}, {0.5f, 1.0f, 1.0f, 0.5f});
  ir::Attributes a;
  a.setInt("onesided", 1);
  auto y = runOp("STFT", a, {x, int64Tensor({}, {3}), win})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[1,3,3,2]");  // frames (10-4)/3+1, bins 4/2+1
  for (int64_t f = 0; f < 3; ++f)
    for (int64_t k = 0; k < 3; ++k) {
      std::complex<double> acc = 0;
      for (int64_t j = 0; j < 4; ++j)
        acc += x->floatAt(f * 3 + j) * win->floatAt(j) * std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(k * j) / 4.0);
      EXPECT_NEAR(y->floatAt((f * 3 + k) * 2), acc.real(), 1e-5);
      EXPECT_NEAR(y->floatAt((f * 3 + k) * 2 + 1), acc.imag(), 1e-5);
    }
  EXPECT_THROW(runOp("STFT", a, {x, int64Tensor({}, {0}), win}), Error);
  EXPECT_THROW(runOp("STFT", a, {x, int64Tensor({}, {3}), win, int64Tensor({}, {5})}), Error);
  EXPECT_THROW(runOp("STFT", a, {x, int64Tensor({}, {3})}), Error);
}

TEST(MelWeightMatrixOp, ShapeAndTriangles) {
  auto y = runOp("MelWeightMatrix", {}, {typedTensor<int32_t>({}, {8}), typedTensor<int32_t>({}, {16}), typedTensor<int32_t>({}, {8192}),
                                         floatTensor({}, {0}), floatTensor({}, {4096})})[0];
  ASSERT_EQ(ir::shapeToString(y->shape), "[9,8]");
  for (int64_t i = 0; i < 8; ++i) {  // every band has a peak of 1 and values in [0, 1]
    double peak = 0;
    for (int64_t j = 0; j < 9; ++j) {
      double v = y->floatAt(j * 8 + i);
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
      peak = std::max(peak, v);
    }
    EXPECT_EQ(peak, 1.0);
  }
  EXPECT_THROW(runOp("MelWeightMatrix", {}, {typedTensor<int32_t>({}, {0}), typedTensor<int32_t>({}, {16}), typedTensor<int32_t>({}, {8192}),
                                              floatTensor({}, {0}), floatTensor({}, {4096})}),
               Error);
}

}  // namespace
}  // namespace kiln::test
