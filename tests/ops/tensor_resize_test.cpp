// Tests of Resize (ONNX opset 19): hand-checked values for every coordinate transformation mode and every
// nearest mode, linear/cubic (with exclude_outside), tf_crop_and_resize extrapolation, aspect-ratio
// policies, and a naive N-d comparison.
#include <cmath>

#include "test_util.h"

namespace kiln::test {
namespace {

ir::Attributes resizeAttrs(const std::string& mode, const std::string& coord, const std::string& nearest = "round_prefer_floor") {
  ir::Attributes a;
  a.setString("mode", mode);
  a.setString("coordinate_transformation_mode", coord);
  a.setString("nearest_mode", nearest);
  return a;
}

const TensorPtr kLine = floatTensor({4}, {0, 10, 20, 30});

std::vector<float> resizeScales(const ir::Attributes& a, const TensorPtr& x, std::vector<float> scales) {
  auto y = runOp("Resize", a, {x, nullptr, floatTensor({static_cast<int64_t>(scales.size())}, scales)})[0];
  return values<float>(*y);
}
std::vector<float> resizeSizes(const ir::Attributes& a, const TensorPtr& x, std::vector<int64_t> sizes, TensorPtr roi = nullptr) {
  auto y = runOp("Resize", a, {x, roi, nullptr, int64Tensor({static_cast<int64_t>(sizes.size())}, sizes)})[0];
  return values<float>(*y);
}

TEST(ResizeOp, NearestHalfPixelEveryRounding) {
  // x_orig = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25
  using V = std::vector<float>;
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "round_prefer_floor"), kLine, {2}), (V{0, 0, 10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "round_prefer_ceil"), kLine, {2}), (V{0, 0, 10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "floor"), kLine, {2}), (V{0, 0, 0, 10, 10, 20, 20, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "ceil"), kLine, {2}), (V{0, 10, 10, 20, 20, 30, 30, 30}));
  // downsampling by 2: x_orig = 0.5, 2.5 (ties)
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "round_prefer_floor"), kLine, {0.5f}), (V{0, 20}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "round_prefer_ceil"), kLine, {0.5f}), (V{10, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "floor"), kLine, {0.5f}), (V{0, 20}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel", "ceil"), kLine, {0.5f}), (V{10, 30}));
}

TEST(ResizeOp, NearestAsymmetricAndAlignCorners) {
  using V = std::vector<float>;
  // asymmetric: x_orig = i / 2 = 0, 0.5, 1, ..., 3.5
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "asymmetric", "round_prefer_floor"), kLine, {2}), (V{0, 0, 10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "asymmetric", "round_prefer_ceil"), kLine, {2}), (V{0, 10, 10, 20, 20, 30, 30, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "asymmetric", "floor"), kLine, {2}), (V{0, 0, 10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "asymmetric", "ceil"), kLine, {2}), (V{0, 10, 10, 20, 20, 30, 30, 30}));
  // align_corners, 4 -> 7: x_orig = i * 3 / 6 = i / 2
  EXPECT_EQ(resizeSizes(resizeAttrs("nearest", "align_corners", "round_prefer_floor"), kLine, {7}), (V{0, 0, 10, 10, 20, 20, 30}));
  EXPECT_EQ(resizeSizes(resizeAttrs("nearest", "align_corners", "round_prefer_ceil"), kLine, {7}), (V{0, 10, 10, 20, 20, 30, 30}));
  // align_corners to a single element samples the first one
  EXPECT_EQ(resizeSizes(resizeAttrs("nearest", "align_corners"), kLine, {1}), (V{0}));
  // pytorch_half_pixel equals half_pixel for more than one output
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "pytorch_half_pixel", "floor"), kLine, {2}), (V{0, 0, 0, 10, 10, 20, 20, 30}));
  // half_pixel_symmetric, scale 1.7: x_orig = 0.029, 0.618, 1.206, 1.794, 2.382, 2.971
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel_symmetric", "round_prefer_floor"), kLine, {1.7f}), (V{0, 10, 10, 20, 20, 30}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel_symmetric", "floor"), kLine, {1.7f}), (V{0, 0, 10, 10, 20, 20}));
  EXPECT_EQ(resizeScales(resizeAttrs("nearest", "half_pixel_symmetric", "ceil"), kLine, {1.7f}), (V{10, 10, 20, 20, 30, 30}));
  // nearest on integer types
  auto xi = typedTensor<uint8_t>({1, 2}, {7, 9});
  auto yi = runOp("Resize", resizeAttrs("nearest", "asymmetric", "floor"), {xi, nullptr, floatTensor({2}, {2, 1.5f})})[0];
  EXPECT_EQ(ir::shapeToString(yi->shape), "[2,3]");
  EXPECT_EQ(values<uint8_t>(*yi), (std::vector<uint8_t>{7, 7, 9, 7, 7, 9}));  // x_orig = 0, 0.667, 1.333
}

TEST(ResizeOp, LinearEveryCoordinateMode) {
  using V = std::vector<float>;
  auto near = [](const V& a, const V& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4) << "element " << i;
  };
  near(resizeScales(resizeAttrs("linear", "half_pixel"), kLine, {2}), V{0, 2.5f, 7.5f, 12.5f, 17.5f, 22.5f, 27.5f, 30});
  near(resizeScales(resizeAttrs("linear", "pytorch_half_pixel"), kLine, {2}), V{0, 2.5f, 7.5f, 12.5f, 17.5f, 22.5f, 27.5f, 30});
  near(resizeScales(resizeAttrs("linear", "asymmetric"), kLine, {2}), V{0, 5, 10, 15, 20, 25, 30, 30});
  near(resizeScales(resizeAttrs("linear", "align_corners"), kLine, {2}),
       V{0, 30.f / 7, 60.f / 7, 90.f / 7, 120.f / 7, 150.f / 7, 180.f / 7, 30});
  // half_pixel_symmetric, scale 1.7: out = floor(6.8) = 6, adjustment = 6 / 6.8, offset = 2 * (1 - adjustment)
  // x_orig = offset + (i + 0.5) / 1.7 - 0.5 = 0.0294, 0.6176, 1.2059, 1.7941, 2.3824, 2.9706 (value = 10 x)
  near(resizeScales(resizeAttrs("linear", "half_pixel_symmetric"), kLine, {1.7f}),
       V{0.294118f, 6.176471f, 12.058824f, 17.941176f, 23.823529f, 29.705882f});
  // pytorch_half_pixel vs half_pixel to one element: 0 vs (0.5) * 4 - 0.5 = 1.5
  near(resizeSizes(resizeAttrs("linear", "pytorch_half_pixel"), kLine, {1}), V{0});
  near(resizeSizes(resizeAttrs("linear", "half_pixel"), kLine, {1}), V{15});
}

TEST(ResizeOp, TfCropAndResize) {
  using V = std::vector<float>;
  auto a = resizeAttrs("linear", "tf_crop_and_resize");
  // roi [0.25, 0.75], 3 outputs: x_orig = 0.75 + 0.75 i
  auto y = resizeSizes(a, kLine, {3}, floatTensor({2}, {0.25f, 0.75f}));
  EXPECT_EQ(y, (V{7.5f, 15, 22.5f}));
  // roi [0, 1.2]: x_orig = 0, 1.8, 3.6 -> the last is outside: extrapolation_value
  a.setFloat("extrapolation_value", -1.0);
  auto z = resizeSizes(a, kLine, {3}, floatTensor({2}, {0.f, 1.2f}));
  ASSERT_EQ(z.size(), 3u);
  EXPECT_FLOAT_EQ(z[0], 0);
  EXPECT_FLOAT_EQ(z[1], 18);
  EXPECT_FLOAT_EQ(z[2], -1);
  auto n = resizeAttrs("nearest", "tf_crop_and_resize");
  n.setFloat("extrapolation_value", -1.0);
  EXPECT_EQ(resizeSizes(n, kLine, {3}, floatTensor({2}, {0.f, 1.2f})), (V{0, 20, -1}));
  // one output: 0.5 * (start + end) * (in - 1) = 0.5 * 1.0 * 3 = 1.5
  EXPECT_EQ(resizeSizes(resizeAttrs("linear", "tf_crop_and_resize"), kLine, {1}, floatTensor({2}, {0.2f, 0.8f})), (V{15}));
}

TEST(ResizeOp, CubicAndExcludeOutside) {
  // asymmetric x2: x_orig = 0, 0.5, ..., 3.5. At s = 0.5 the A=-0.75 coefficients are
  // [-0.09375, 0.59375, 0.59375, -0.09375]; edge neighbours are clamped.
  auto a = resizeAttrs("cubic", "asymmetric");
  auto y = resizeScales(a, kLine, {2});
  std::vector<float> expect{0, 4.0625f, 10, 15, 20, 25.9375f, 30, 30.9375f};
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expect[i], 1e-4) << i;
  // exclude_outside: at x = 0.5 the neighbour -1 is dropped and the rest renormalized: 4.0625 / 1.09375
  a.setInt("exclude_outside", 1);
  auto z = resizeScales(a, kLine, {2});
  EXPECT_NEAR(z[1], 4.0625 / 1.09375, 1e-4);
  EXPECT_NEAR(z[3], 15, 1e-4);
  // A = -0.5 at x = 1.5 of 0, 1, 4, 9: coefficients [-0.0625, 0.5625, 0.5625, -0.0625]
  a = resizeAttrs("cubic", "asymmetric");
  a.setFloat("cubic_coeff_a", -0.5);
  auto q = runOp("Resize", a, {floatTensor({4}, {0, 1, 4, 9}), nullptr, floatTensor({1}, {2})})[0];
  EXPECT_NEAR(values<float>(*q)[3], -0.0625 * 0 + 0.5625 * 1 + 0.5625 * 4 - 0.0625 * 9, 1e-5);
}

TEST(ResizeOp, Bilinear2DHand) {
  auto x = floatTensor({1, 1, 2, 2}, {0, 10, 20, 30});
  auto y = runOp("Resize", resizeAttrs("linear", "half_pixel"), {x, nullptr, floatTensor({4}, {1, 1, 2, 2})})[0];
  EXPECT_EQ(ir::shapeToString(y->shape), "[1,1,4,4]");
  expectCloseValues(*y, {0, 2.5f, 7.5f, 10, 5, 7.5f, 12.5f, 15, 15, 17.5f, 22.5f, 25, 20, 22.5f, 27.5f, 30});
  // axes attribute: only the last two dims, scales given for them only
  auto a = resizeAttrs("linear", "half_pixel");
  a.setInts("axes", {2, -1});
  auto z = runOp("Resize", a, {x, nullptr, floatTensor({2}, {2, 2})})[0];
  expectClose(*z, *y);
}

TEST(ResizeOp, KeepAspectRatioPolicies) {
  auto x = randomTensor({1, 1, 4, 6}, 3);
  auto a = resizeAttrs("nearest", "asymmetric");
  a.setInts("axes", {2, 3});
  a.setString("keep_aspect_ratio_policy", "not_larger");
  // scale = min(2/4, 2/6) = 1/3: round(4/3) = 1, round(6/3) = 2
  EXPECT_EQ(ir::shapeToString(runOp("Resize", a, {x, nullptr, nullptr, int64Tensor({2}, {2, 2})})[0]->shape), "[1,1,1,2]");
  a.setString("keep_aspect_ratio_policy", "not_smaller");
  auto y = runOp("Resize", a, {x, nullptr, nullptr, int64Tensor({2}, {2, 2})})[0];  // scale 0.5: [2, 3]
  EXPECT_EQ(ir::shapeToString(y->shape), "[1,1,2,3]");
  // asymmetric with scale 0.5 on both axes: x_orig = 2 i
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y->floatAt(r * 3 + c), x->floatAt(2 * r * 6 + 2 * c));
}

TEST(ResizeOp, Errors) {
  auto x = randomTensor({1, 4}, 1);
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "half_pixel"), {x}), Error);  // neither scales nor sizes
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "half_pixel"),
                     {x, nullptr, floatTensor({2}, {1, 2}), int64Tensor({2}, {1, 8})}), Error);  // both
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "half_pixel"), {x, nullptr, floatTensor({1}, {2})}), Error);
  EXPECT_THROW(runOp("Resize", resizeAttrs("bilinear", "half_pixel"), {x, nullptr, floatTensor({2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "corners"), {x, nullptr, floatTensor({2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("Resize", resizeAttrs("nearest", "half_pixel", "up"), {x, nullptr, floatTensor({2}, {1, 2})}), Error);
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "half_pixel"), {x, nullptr, floatTensor({2}, {1, -2})}), Error);
  EXPECT_THROW(runOp("Resize", resizeAttrs("linear", "half_pixel"), {typedTensor<int32_t>({2}, {1, 2}), nullptr, floatTensor({1}, {2})}), Error);
  auto aa = resizeAttrs("linear", "half_pixel");
  aa.setInt("antialias", 1);
  EXPECT_THROW(runOp("Resize", aa, {x, nullptr, floatTensor({2}, {1, 0.5f})}), Error);
  // zero-size: fine when the output is empty too
  EXPECT_EQ(runOp("Resize", resizeAttrs("linear", "half_pixel"), {floatTensor({0, 4}, {}), nullptr, floatTensor({2}, {1, 2})})[0]->numel(), 0);
}

//! Naive N-d linear / nearest resize: per output element, loops over the 2^n corners (not separable).
std::vector<double> naiveResize(const ir::TensorData& x, const ir::Shape& out, const std::vector<double>& scales,
                                const std::string& mode, const std::string& coord) {
  size_t r = x.shape.size();
  std::vector<double> res(static_cast<size_t>(ir::numElements(out)));
  std::vector<int64_t> idx(r, 0);
  for (size_t e = 0; e < res.size(); ++e) {
    int64_t rem = static_cast<int64_t>(e);
    for (size_t d = r; d-- > 0;) {
      idx[d] = rem % out[d];
      rem /= out[d];
    }
    std::vector<int64_t> lo(r), hi(r);
    std::vector<double> frac(r);
    for (size_t d = 0; d < r; ++d) {
      double xi = static_cast<double>(idx[d]), in = static_cast<double>(x.shape[d]), o = static_cast<double>(out[d]);
      double c = coord == "half_pixel" ? (xi + 0.5) / scales[d] - 0.5
                 : coord == "asymmetric" ? xi / scales[d]
                                         : (o == 1 ? 0 : xi * (in - 1) / (o - 1));  // align_corners
      if (mode == "nearest") {
        double f = std::floor(c);
        int64_t k = static_cast<int64_t>(c - f == 0.5 ? f : std::round(c));
        lo[d] = hi[d] = std::min<int64_t>(std::max<int64_t>(k, 0), x.shape[d] - 1);
        frac[d] = 0;
      } else {
        double f = std::floor(c);
        frac[d] = c - f;
        lo[d] = std::min<int64_t>(std::max<int64_t>(static_cast<int64_t>(f), 0), x.shape[d] - 1);
        hi[d] = std::min<int64_t>(std::max<int64_t>(static_cast<int64_t>(f) + 1, 0), x.shape[d] - 1);
      }
    }
    double acc = 0;
    for (uint32_t corner = 0; corner < (1u << r); ++corner) {
      double w = 1;
      int64_t off = 0;
      for (size_t d = 0; d < r; ++d) {
        bool up = (corner >> d) & 1u;
        w *= up ? frac[d] : 1 - frac[d];
        off = off * x.shape[d] + (up ? hi[d] : lo[d]);
      }
      acc += w * x.floatAt(off);
    }
    res[e] = acc;
  }
  return res;
}

TEST(ResizeOp, MatchesNaiveNd) {
  std::vector<std::pair<ir::Shape, std::vector<float>>> cases{
      {{5}, {1.5f}}, {{3, 4}, {2.f, 0.5f}}, {{2, 3, 4}, {1.f, 1.7f, 2.5f}}, {{1, 2, 3, 3}, {1.f, 2.f, 0.7f, 3.f}}, {{4, 1}, {0.75f, 3.f}}};
  uint32_t seed = 1;
  for (const std::string mode : {"nearest", "linear"})
    for (const std::string coord : {"half_pixel", "asymmetric", "align_corners"})
      for (auto& [s, sc] : cases) {
        auto x = randomTensor(s, seed++);
        auto y = runOp("Resize", resizeAttrs(mode, coord), {x, nullptr, floatTensor({static_cast<int64_t>(sc.size())}, sc)})[0];
        ir::Shape out;
        std::vector<double> scd;
        for (size_t d = 0; d < s.size(); ++d) {
          out.push_back(static_cast<int64_t>(std::floor(static_cast<double>(s[d]) * static_cast<double>(sc[d]))));
          scd.push_back(static_cast<double>(sc[d]));
        }
        ASSERT_EQ(ir::shapeToString(y->shape), ir::shapeToString(out));
        auto ref = naiveResize(*x, out, scd, mode, coord);
        for (int64_t i = 0; i < y->numel(); ++i)
          ASSERT_NEAR(y->floatAt(i), ref[static_cast<size_t>(i)], 1e-5) << mode << " " << coord << " " << ir::shapeToString(s) << " at " << i;
      }
  // half precision and double linear
  auto xh = typedTensor<Half>({4}, {Half(0.f), Half(10.f), Half(20.f), Half(30.f)});
  auto yh = runOp("Resize", resizeAttrs("linear", "asymmetric"), {xh, nullptr, floatTensor({1}, {2})})[0];
  EXPECT_EQ(yh->dtype, DataType::kHALF);
  expectCloseValues(*yh, {0, 5, 10, 15, 20, 25, 30, 30});
  auto xd = typedTensor<double>({4}, {0, 10, 20, 30});
  auto yd = runOp("Resize", resizeAttrs("linear", "asymmetric"), {xd, nullptr, floatTensor({1}, {2})})[0];
  expectCloseValues(*yd, {0, 5, 10, 15, 20, 25, 30, 30});
}

}  // namespace
}  // namespace kiln::test
