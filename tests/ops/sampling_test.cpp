// Tests of the sampling family's reference kernels: GridSample, AffineGrid, Col2Im (hand-computed values).
#include "ir/op_registry.h"
#include "test_util.h"

namespace kiln::test {
namespace {

ir::Attributes gsAttrs(const std::string& mode, const std::string& pad, int64_t align) {
  ir::Attributes a;
  a.setString("mode", mode);
  a.setString("padding_mode", pad);
  a.setInt("align_corners", align);
  return a;
}

// X = [[1, 2], [3, 4]]
TensorPtr x22() { return floatTensor({1, 1, 2, 2}, {1, 2, 3, 4}); }

TEST(GridSampleOp, BilinearPaddingModes) {
  // grid points (x, y): centre, top-left corner, top-right corner
  auto grid = floatTensor({1, 1, 3, 2}, {0, 0, -1, -1, 1, -1});
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "zeros", 1), {x22(), grid})[0], {2.5f, 1.f, 2.f});
  // align_corners=0: the corner is pixel coordinate -0.5, half outside in each dim
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "zeros", 0), {x22(), grid})[0], {2.5f, 0.25f, 0.5f});
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "border", 0), {x22(), grid})[0], {2.5f, 1.f, 2.f});
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "reflection", 0), {x22(), grid})[0], {2.5f, 1.f, 2.f});
  auto y = runOp("GridSample", gsAttrs("linear", "zeros", 0), {x22(), grid})[0];
  EXPECT_EQ(y->shape, (ir::Shape{1, 1, 1, 3}));
}

TEST(GridSampleOp, FarOutsideReflectsAndClamps) {
  // x = 3 (normalized, align_corners=1) -> pixel 2 on a 2-wide axis -> reflected to 0; y = 0 -> 0.5
  auto grid = floatTensor({1, 1, 1, 2}, {3, 0});
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "reflection", 1), {x22(), grid})[0], {2.f});  // (1+3)/2
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "border", 1), {x22(), grid})[0], {3.f});      // (2+4)/2
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "zeros", 1), {x22(), grid})[0], {0.f});
  auto huge = floatTensor({1, 1, 1, 2}, {1e30f, -1e30f});
  expectCloseValues(*runOp("GridSample", gsAttrs("cubic", "zeros", 0), {x22(), huge})[0], {0.f});
}

TEST(GridSampleOp, NearestRoundsHalfToEven) {
  // align_corners=0: x = 0.1 -> 0.6 -> 1; y = -0.6 -> -0.1 -> 0; x = -0.5 -> 0.0; y = 0 -> 0.5 -> 0 (even)
  auto grid = floatTensor({1, 1, 2, 2}, {0.1f, -0.6f, -0.5f, 0.f});
  expectCloseValues(*runOp("GridSample", gsAttrs("nearest", "zeros", 0), {x22(), grid})[0], {2.f, 1.f});
}

TEST(GridSampleOp, CubicKeepsConstantsAndLinearIsExactOnRamps) {
  auto c = floatTensor({1, 1, 3, 4}, std::vector<float>(12, 5.f));
  auto grid = floatTensor({1, 2, 1, 2}, {0.3f, -0.7f, 0.95f, 0.1f});
  expectCloseValues(*runOp("GridSample", gsAttrs("cubic", "border", 0), {c, grid})[0], {5.f, 5.f}, 1e-5, 1e-5);
  // f(h, w) = 2h + 3w, align_corners=1 on 3x4: w = (gx+1)*1.5, h = (gy+1)
  std::vector<float> ramp;
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 4; ++w) ramp.push_back(static_cast<float>(2 * h + 3 * w));
  auto r = floatTensor({1, 1, 3, 4}, ramp);
  auto f = [](float gx, float gy) { return 2 * (gy + 1) + 3 * (gx + 1) * 1.5f; };
  expectCloseValues(*runOp("GridSample", gsAttrs("linear", "zeros", 1), {r, grid})[0], {f(0.3f, -0.7f), f(0.95f, 0.1f)},
                    1e-5, 1e-5);
}

TEST(GridSampleOp, Volumetric) {
  // f(d, h, w) = d + 10h + 100w on [2, 3, 4], align_corners=1, two channels (second = 2f)
  std::vector<float> v;
  for (int ch = 0; ch < 2; ++ch)
    for (int d = 0; d < 2; ++d)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 4; ++w) v.push_back(static_cast<float>((ch + 1) * (d + 10 * h + 100 * w)));
  auto x = floatTensor({1, 2, 2, 3, 4}, v);
  auto grid = floatTensor({1, 1, 1, 1, 3}, {0.2f, -0.4f, 0.6f});  // (x, y, z)
  float f = (0.6f + 1) / 2 * 1 + 10 * (-0.4f + 1) / 2 * 2 + 100 * (0.2f + 1) / 2 * 3;
  auto y = runOp("GridSample", gsAttrs("linear", "zeros", 1), {x, grid})[0];
  EXPECT_EQ(y->shape, (ir::Shape{1, 2, 1, 1, 1}));
  expectCloseValues(*y, {f, 2 * f}, 1e-5, 1e-4);
}

TEST(GridSampleOp, RejectsBadShapes) {
  EXPECT_ANY_THROW(runOp("GridSample", gsAttrs("linear", "zeros", 0), {x22(), floatTensor({1, 1, 1, 3}, {0, 0, 0})}));
  EXPECT_ANY_THROW(runOp("GridSample", gsAttrs("linear", "zeros", 0), {x22(), floatTensor({2, 1, 1, 2}, {0, 0, 0, 0})}));
  EXPECT_ANY_THROW(runOp("GridSample", gsAttrs("bilinear", "zeros", 0), {x22(), floatTensor({1, 1, 1, 2}, {0, 0})}));
  EXPECT_ANY_THROW(runOp("GridSample", gsAttrs("linear", "mirror", 0), {x22(), floatTensor({1, 1, 1, 2}, {0, 0})}));
}

TEST(AffineGridOp, IdentityAndTranslation) {
  auto theta = floatTensor({1, 2, 3}, {1, 0, 0.5f, 0, 1, 0});  // x += 0.5
  ir::Attributes a;
  a.setInt("align_corners", 1);
  auto y = runOp("AffineGrid", a, {theta, int64Tensor({4}, {1, 1, 2, 3})})[0];
  EXPECT_EQ(y->shape, (ir::Shape{1, 2, 3, 2}));
  expectCloseValues(*y, {-0.5f, -1, 0.5f, -1, 1.5f, -1, -0.5f, 1, 0.5f, 1, 1.5f, 1});
  a.setInt("align_corners", 0);
  auto z = runOp("AffineGrid", a, {theta, int64Tensor({4}, {1, 1, 2, 3})})[0];
  const float t = 2.f / 3;
  expectCloseValues(*z, {0.5f - t, -0.5f, 0.5f, -0.5f, 0.5f + t, -0.5f, 0.5f - t, 0.5f, 0.5f, 0.5f, 0.5f + t, 0.5f});
}

TEST(AffineGridOp, ThreeD) {
  // swaps x and z; D=2, H=1, W=1 (align_corners=0: x = 0, y = 0, z = -0.5, 0.5)
  auto theta = floatTensor({1, 3, 4}, {0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0});
  auto y = runOp("AffineGrid", {}, {theta, int64Tensor({5}, {1, 1, 2, 1, 1})})[0];
  EXPECT_EQ(y->shape, (ir::Shape{1, 2, 1, 1, 3}));
  expectCloseValues(*y, {-0.5f, 0, 0, 0.5f, 0, 0});
  EXPECT_ANY_THROW(runOp("AffineGrid", {}, {theta, int64Tensor({4}, {1, 1, 2, 2})}));
}

TEST(Col2ImOp, OverlappingBlocksAdd) {
  // image [1, 3], block [1, 2]: two block positions; out[l + k] += in[k, l]
  auto x = floatTensor({1, 2, 2}, {1, 2, 10, 20});
  auto y = runOp("Col2Im", {}, {x, int64Tensor({2}, {1, 3}), int64Tensor({2}, {1, 2})})[0];
  EXPECT_EQ(y->shape, (ir::Shape{1, 1, 1, 3}));
  expectCloseValues(*y, {1, 12, 20});
  // stride 2, pad 1 on a 1-D image of 4 with block 2: positions start at -1, 1, 3
  ir::Attributes a;
  a.setInts("strides", {2});
  a.setInts("pads", {1, 1});
  auto x1 = floatTensor({1, 2, 3}, {1, 2, 3, 10, 20, 30});
  expectCloseValues(*runOp("Col2Im", a, {x1, int64Tensor({1}, {4}), int64Tensor({1}, {2})})[0], {10, 2, 20, 3});
  // dilation 2 on an image of 3 with block 2: one position, taps 0 and 2; two channels
  ir::Attributes d;
  d.setInts("dilations", {2});
  auto x2 = floatTensor({1, 4, 1}, {1, 2, 3, 4});
  auto y2 = runOp("Col2Im", d, {x2, int64Tensor({1}, {3}), int64Tensor({1}, {2})})[0];
  EXPECT_EQ(y2->shape, (ir::Shape{1, 2, 3}));
  expectCloseValues(*y2, {1, 0, 2, 3, 0, 4});
}

TEST(Col2ImOp, RejectsInconsistentShapes) {
  auto x = floatTensor({1, 3, 2}, {1, 2, 3, 4, 5, 6});  // 3 is not a multiple of the block size 2
  EXPECT_ANY_THROW(runOp("Col2Im", {}, {x, int64Tensor({2}, {1, 3}), int64Tensor({2}, {1, 2})}));
  auto x2 = floatTensor({1, 2, 3}, {1, 2, 3, 4, 5, 6});  // 3 blocks, the image holds 2
  EXPECT_ANY_THROW(runOp("Col2Im", {}, {x2, int64Tensor({2}, {1, 3}), int64Tensor({2}, {1, 2})}));
  EXPECT_ANY_THROW(runOp("Col2Im", {}, {x2, int64Tensor({2}, {1, 3}), int64Tensor({2}, {0, 2})}));
}

}  // namespace
}  // namespace kiln::test
