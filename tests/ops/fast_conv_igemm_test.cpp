// The "igemm" Conv tactic (implicit GEMM reading the image in place / from phase planes) against the
// reference Conv kernel: strides, padding (asymmetric too), dilation, 1x1 in place with and without a
// narrow last tile, odd channel counts (partial 6-row tiles), batch > 1, K over several blocks, bias +
// residual + activation epilogues, with and without a thread pool, both micro-kernels; "igemm_t" (tiles of
// positions x output channels) over the same cases.
#include "backends/cpu/fast/conv_igemm.h"
#include "core/cpu_features.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

struct PortableScope {
  explicit PortableScope(bool p) { cpu::fast::igemm::forcePortableForTesting(p); }
  ~PortableScope() { cpu::fast::igemm::forcePortableForTesting(false); }
};

}  // namespace

TEST(FastConvIgemm, MatchesReference) {
  const std::vector<ConvCase> cases{
      {{1, 16, 14, 14}, {24, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},     // 3x3 same, row tiles of 14
      {{2, 8, 9, 11}, {13, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},        // batch 2, odd M (partial row tile)
      {{1, 7, 20, 37}, {9, 7, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},        // stride 2: 4 phase planes
      {{1, 9, 6, 6}, {10, 9, 3, 3}, {1, 1}, {2, 0, 1, 2}, {1, 1}},         // asymmetric padding
      {{1, 5, 17, 19}, {8, 5, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}},        // dilation 2
      {{1, 3, 33, 35}, {16, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}},       // stem: 7x7 stride 2
      {{1, 6, 13, 15}, {7, 6, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}},        // 1x1 stride 2: one phase plane
      {{2, 11, 9, 7}, {14, 11, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},       // 1x1 in place, narrow last tile (63)
      {{1, 300, 4, 8}, {20, 300, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},     // in place, 32 positions, K in 2 blocks
      {{1, 40, 10, 12}, {130, 40, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},    // K = 360 in 2 blocks, M over 120
      {{1, 4, 5, 9}, {6, 4, 2, 3}, {3, 1}, {0, 1, 1, 0}, {1, 2}},          // rectangular kernel, mixed stride
      {{1, 8, 3, 3}, {5, 8, 1, 1}, {1, 1}, {1, 1, 1, 1}, {1, 1}},          // 1x1 with padding (not in place)
  };
  ThreadPool pool(2), pool3(3);
  uint32_t seed = 4100;
  for (bool portable : {false, true}) {
    if (!portable && (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) != (kCpuAVX2 | kCpuFMA)) continue;
    PortableScope scope(portable);
    for (const std::string tactic : {"igemm", "igemm_t"})
      expectConvTacticMatchesReference(cases, tactic, {"", "Relu", "Silu"}, {nullptr, &pool, &pool3}, seed, 1e-5);
  }
}

TEST(FastConvIgemm, SupportsOnlyWhatItComputes) {
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "igemm");
  ASSERT_NE(t, nullptr);
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 16, 8, 8});
  ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", randomTensor({16, 16, 3, 3}, 1))}, 1);
  std::string why;
  EXPECT_TRUE(t->supports(*n, &why)) << why;
  n->attrs.setInt("group", 2);
  EXPECT_FALSE(t->supports(*n, &why));  // grouped / depthwise: other tactics
  ir::Node* nv = g.addNode("Conv", "convv", {x, g.addValue("wv", DataType::kFLOAT, {16, 16, 3, 3})}, 1);
  EXPECT_FALSE(t->supports(*nv, &why));  // weights must be constant (packed once)
  ir::Value* x3 = g.addValue("x3", DataType::kFLOAT, {1, 16, 8});
  ir::Node* n1 = g.addNode("Conv", "conv1d", {x3, g.addConstant("w1", randomTensor({16, 16, 3}, 2))}, 1);
  EXPECT_FALSE(t->supports(*n1, &why));  // 2-D only
  const backend::Tactic* tt = cpu::defaultKernelRegistry().find("Conv", "igemm_t");
  ASSERT_NE(tt, nullptr);
  ir::Graph g2;
  ir::Value* xs = g2.addValue("xs", DataType::kFLOAT, {1, 16, 7, 7});
  ir::Value* xl = g2.addValue("xl", DataType::kFLOAT, {1, 16, 40, 40});
  g2.inputs = {xs, xl};
  ir::Node* ns = g2.addNode("Conv", "convs", {xs, g2.addConstant("ws", randomTensor({16, 16, 1, 1}, 3))}, 1);
  ir::Node* nl = g2.addNode("Conv", "convl", {xl, g2.addConstant("wl", randomTensor({16, 16, 1, 1}, 4))}, 1);
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g2);
  EXPECT_TRUE(tt->supports(*ns, &why)) << why;
  EXPECT_FALSE(tt->supports(*nl, &why));  // 1600 positions: "igemm" / "gemm" fill their 16-wide tiles
}

}  // namespace kiln::test

namespace kiln::test {

// "winograd4" (F(4x4, 3x3)): output extents that are and are not multiples of 4, asymmetric padding, no
// padding, batch 2, M and C not multiples of the micro-tiles; its rounding is larger than a direct
// convolution's, within 1e-4 here.
TEST(FastConvWinograd4, MatchesReference) {
  const std::vector<ConvCase> cases{
      {{1, 16, 14, 14}, {24, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {{2, 8, 9, 11}, {13, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {{1, 12, 10, 7}, {16, 12, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
      {{1, 9, 6, 6}, {10, 9, 3, 3}, {1, 1}, {2, 0, 1, 2}, {1, 1}},
      {{1, 40, 17, 23}, {33, 40, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {{1, 8, 3, 3}, {8, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},  // one tile
  };
  ThreadPool pool(2);
  uint32_t seed = 5100;
  expectConvTacticMatchesReference(cases, "winograd4", {"", "Relu", "Silu"}, {nullptr, &pool}, seed, 1e-4);
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "winograd4");
  ASSERT_NE(t, nullptr);
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 16, 8, 8});
  ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", randomTensor({16, 16, 3, 3}, 1))}, 1);
  std::string why;
  EXPECT_TRUE(t->supports(*n, &why)) << why;
  n->attrs.setInts("strides", {2, 2});
  EXPECT_FALSE(t->supports(*n, &why));
  n->attrs.setInts("strides", {1, 1});
  n->attrs.setInts("dilations", {2, 2});
  EXPECT_FALSE(t->supports(*n, &why));
  ir::Node* n5 = g.addNode("Conv", "conv5", {x, g.addConstant("w5", randomTensor({16, 16, 5, 5}, 2))}, 1);
  EXPECT_FALSE(t->supports(*n5, &why));
}

}  // namespace kiln::test
