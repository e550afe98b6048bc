// Core helpers: dtypes and half conversion, Dims, hashing, memory planning, graph utilities.
#include <cmath>
#include <cstring>

#include "builder/memory_planner.h"
#include "core/dtype.h"
#include "core/hash.h"
#include "ir/graph.h"
#include "ir/shape_utils.h"
#include "test_util.h"

namespace kiln::test {

TEST(DataTypes, SizesAndNames) {
  EXPECT_EQ(dataTypeSize(DataType::kFLOAT), 4u);
  EXPECT_EQ(dataTypeSize(DataType::kHALF), 2u);
  EXPECT_EQ(dataTypeSize(DataType::kINT64), 8u);
  EXPECT_EQ(dataTypeSize(DataType::kBOOL), 1u);
  EXPECT_EQ(dataTypeSize(static_cast<DataType>(77)), 0u);
  EXPECT_STREQ(dataTypeName(DataType::kUINT8), "uint8");
}

TEST(DataTypes, HalfConversionIsExactOnEveryHalf) {
  // Every finite half converts to float and back to the same bits; NaNs stay NaN.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(static_cast<uint16_t>(h));
    uint16_t back = floatToHalf(f);
    if (std::isnan(f))
      EXPECT_TRUE(std::isnan(halfToFloat(back)));
    else
      EXPECT_EQ(back, h) << std::hex << h;
  }
}

TEST(DataTypes, HalfRoundingToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(65504.f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.f), 0x7c00);  // rounds to inf
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00);  // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + 3.0f / 2048), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(floatToHalf(5.96046448e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(floatToHalf(2.98023224e-08f), 0x0000);  // half of it: tie -> even (0)
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_FLOAT_EQ(bf16ToFloat(floatToBf16(3.140625f)), 3.140625f);
}

TEST(Dims, VolumeEqualityAndText) {
  EXPECT_EQ(volume(Dims{4, {1, 3, 224, 224}}), 150528);
  EXPECT_EQ(volume(Dims{2, {-1, 3}}), -1);
  EXPECT_EQ(volume(Dims{0, {}}), 1);
  EXPECT_EQ(volume(Dims{9, {}}), -1);
  EXPECT_EQ(volume(Dims{3, {1ll << 40, 1ll << 40, 1ll << 40}}), -1);  // overflow
  EXPECT_EQ((Dims{2, {1, 2}}), (Dims{2, {1, 2}}));
  EXPECT_NE((Dims{2, {1, 2}}), (Dims{2, {2, 1}}));
  EXPECT_EQ(toString(Dims{3, {1, -1, 5}}), "[1,-1,5]");
}

TEST(Hash, DetectsSingleBitChanges) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31);
  uint64_t h = hash64(data.data(), data.size());
  for (size_t i = 0; i < data.size(); i += 7) {
    data[i] ^= 1;
    EXPECT_NE(hash64(data.data(), data.size()), h);
    data[i] ^= 1;
  }
  EXPECT_EQ(hash64(data.data(), data.size()), h);
  EXPECT_NE(hash64(data.data(), 999), h);
}

TEST(MemoryPlanner, ReusesMemoryOfDeadTensors) {
  // a chain: t0 (0..1), t1 (1..2), t2 (2..3): t0 and t2 can share
  std::vector<MemoryBlock> blocks{{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  MemoryPlan p = planMemory(blocks);
  EXPECT_EQ(p.totalBytes, 2 * 1024u);
  EXPECT_NE(p.offsets[0], p.offsets[1]);
  EXPECT_NE(p.offsets[1], p.offsets[2]);
  for (size_t o : p.offsets) EXPECT_EQ(o % 64, 0u);
}

TEST(MemoryPlanner, NoOverlapAmongLiveTensors) {
  auto sizes = randomInts(200, 5, 1, 5000);
  auto starts = randomInts(200, 6, 0, 50);
  auto lens = randomInts(200, 7, 0, 10);
  std::vector<MemoryBlock> blocks;
  for (size_t i = 0; i < 200; ++i)
    blocks.push_back({static_cast<size_t>(sizes[i]), static_cast<int32_t>(starts[i]), static_cast<int32_t>(starts[i] + lens[i])});
  MemoryPlan p = planMemory(blocks);
  size_t sum = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    sum += blocks[i].bytes;
    EXPECT_LE(p.offsets[i] + blocks[i].bytes, p.totalBytes);
    for (size_t j = i + 1; j < blocks.size(); ++j) {
      bool timeOverlap = !(blocks[i].lastStep < blocks[j].firstStep || blocks[j].lastStep < blocks[i].firstStep);
      bool spaceOverlap = p.offsets[i] < p.offsets[j] + blocks[j].bytes && p.offsets[j] < p.offsets[i] + blocks[i].bytes;
      EXPECT_FALSE(timeOverlap && spaceOverlap) << i << " " << j;
    }
  }
  EXPECT_LT(p.totalBytes, sum);  // reuse happened
}

TEST(Graph, TopologicalSortCloneAndVerify) {
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {2});
  g.inputs.push_back(x);
  ir::Value* mid = g.addValue("mid", DataType::kFLOAT, {2});
  ir::Value* out = g.addValue("out", DataType::kFLOAT, {2});
  g.addNodeWithOutputs("Identity", "second", {mid}, {out});  // added before its producer
  g.addNodeWithOutputs("Identity", "first", {x}, {mid});
  g.outputs.push_back(out);
  EXPECT_THROW(g.verify(), Error);
  g.topologicalSort();
  EXPECT_EQ(g.nodes[0]->name, "first");
  EXPECT_NO_THROW(g.verify());
  auto c = g.clone();
  EXPECT_NO_THROW(c->verify());
  EXPECT_EQ(c->nodes[1]->inputs[0], c->nodes[0]->outputs[0]);
  EXPECT_NE(c->nodes[1]->inputs[0], g.nodes[1]->inputs[0]);
  // a cycle is reported, not looped on
  g.nodes[0]->inputs[0] = out;
  EXPECT_THROW(g.topologicalSort(), Error);
}

TEST(Graph, BroadcastShapes) {
  EXPECT_EQ(ir::broadcastShapes({2, 1, 4}, {3, 1}), (ir::Shape{2, 3, 4}));
  EXPECT_EQ(ir::broadcastShapes({-1, 4}, {1, 4}), (ir::Shape{-1, 4}));
  EXPECT_EQ(ir::broadcastShapes({}, {5}), (ir::Shape{5}));
  EXPECT_EQ(ir::broadcastShapes({0, 3}, {1, 3}), (ir::Shape{0, 3}));
  EXPECT_THROW(ir::broadcastShapes({2, 3}, {4, 3}), Error);
  EXPECT_THROW(ir::numElements({1ll << 40, 1ll << 40}), Error);
}

TEST(ErrorType, ContextChain) {
  Error e(ErrorCode::kINVALID_ARGUMENT, "bad axis");
  Error f = e.withContext("pass 'x'").withContext("layer 'conv1'");
  EXPECT_STREQ(f.what(), "layer 'conv1': pass 'x': bad axis");
  EXPECT_EQ(f.message(), "bad axis");
  EXPECT_EQ(f.code(), ErrorCode::kINVALID_ARGUMENT);
  ASSERT_EQ(f.context().size(), 2u);
}

}  // namespace kiln::test
