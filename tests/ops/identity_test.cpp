#include "test_util.h"

namespace kiln::test {

TEST(IdentityOp, CopiesEveryElement) {
  auto x = randomTensor({2, 3, 4}, 1);
  auto y = runOp("Identity", {}, {x});
  ASSERT_EQ(y.size(), 1u);
  expectClose(*y[0], *x, 0, 0);
}

TEST(IdentityOp, ZeroSizeTensor) {
  auto x = floatTensor({0, 3}, {});
  auto y = runOp("Identity", {}, {x});
  EXPECT_EQ(y[0]->numel(), 0);
  EXPECT_EQ(ir::shapeToString(y[0]->shape), "[0,3]");
}

}  // namespace kiln::test
