// Tests of the small storage types (float8, e8m0, float4, int4/uint4/int2/uint2: core/small_types.h),
// Cast to/from them, and the quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// BitCast. Expected values are worked out by hand from the format definitions.
#include <cmath>

#include "core/small_types.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TensorPtr bytesTensor(DataType t, const ir::Shape& shape, const std::vector<uint8_t>& v) {
  return ir::makeTensor(t, shape, v.data(), v.size());
}

TEST(SmallTypes, SizesAndNames) {
  for (DataType t : {DataType::kFP8, DataType::kFP8E4M3FNUZ, DataType::kFP8E5M2, DataType::kFP8E5M2FNUZ,
                     DataType::kE8M0, DataType::kINT4, DataType::kUINT4, DataType::kFP4, DataType::kINT2,
                     DataType::kUINT2}) {
    EXPECT_EQ(dataTypeSize(t), 1u) << dataTypeName(t);
    EXPECT_TRUE(isSmallStorageType(t));
  }
  EXPECT_STREQ(dataTypeName(DataType::kFP8), "float8e4m3fn");
  EXPECT_STREQ(dataTypeName(DataType::kINT2), "int2");
  EXPECT_FALSE(isSmallStorageType(DataType::kUINT8));
}

TEST(SmallTypes, Float8Decode) {
  // e4m3fn: 0x38 = 0 0111 000 = 1.0; 0x7e = 448; 0x01 = 2^-9; 0x7f = NaN; 0xb8 = -1
  EXPECT_EQ(smallToFloat(DataType::kFP8, 0x38), 1.0f);
  EXPECT_EQ(smallToFloat(DataType::kFP8, 0x7e), 448.0f);
  EXPECT_EQ(smallToFloat(DataType::kFP8, 0x01), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(smallToFloat(DataType::kFP8, 0x7f)));
  EXPECT_EQ(smallToFloat(DataType::kFP8, 0xb8), -1.0f);
  // e4m3fnuz: bias 8: 0x40 = 1.0, 0x80 = NaN, 0x7f = 240
  EXPECT_EQ(smallToFloat(DataType::kFP8E4M3FNUZ, 0x40), 1.0f);
  EXPECT_TRUE(std::isnan(smallToFloat(DataType::kFP8E4M3FNUZ, 0x80)));
  EXPECT_EQ(smallToFloat(DataType::kFP8E4M3FNUZ, 0x7f), 240.0f);
  // e5m2: 0x3c = 1.0, 0x7c = inf, 0x7b = 57344
  EXPECT_EQ(smallToFloat(DataType::kFP8E5M2, 0x3c), 1.0f);
  EXPECT_TRUE(std::isinf(smallToFloat(DataType::kFP8E5M2, 0x7c)));
  EXPECT_EQ(smallToFloat(DataType::kFP8E5M2, 0x7b), 57344.0f);
  // e5m2fnuz: bias 16: 0x40 = 1.0
  EXPECT_EQ(smallToFloat(DataType::kFP8E5M2FNUZ, 0x40), 1.0f);
  // e8m0: 127 = 1, 130 = 8, 0xff = NaN
  EXPECT_EQ(smallToFloat(DataType::kE8M0, 127), 1.0f);
  EXPECT_EQ(smallToFloat(DataType::kE8M0, 130), 8.0f);
  EXPECT_TRUE(std::isnan(smallToFloat(DataType::kE8M0, 0xff)));
  // e2m1: codes 0..7 = 0, 0.5, 1, 1.5, 2, 3, 4, 6
  const float fp4[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 8; ++c) {
    EXPECT_EQ(smallToFloat(DataType::kFP4, static_cast<uint8_t>(c)), fp4[c]);
    EXPECT_EQ(smallToFloat(DataType::kFP4, static_cast<uint8_t>(c | 8)), -fp4[c]);
  }
}

TEST(SmallTypes, Float8EncodeRoundsAndSaturates) {
  // every e4m3fn / e5m2 code round-trips
  for (int c = 0; c < 256; ++c) {
    for (DataType t : {DataType::kFP8, DataType::kFP8E4M3FNUZ, DataType::kFP8E5M2, DataType::kFP8E5M2FNUZ}) {
      float v = smallToFloat(t, static_cast<uint8_t>(c));
      if (std::isnan(v) || std::isinf(v)) continue;
      uint8_t back = floatToSmall(t, v, false);
      if (v == 0 && (t == DataType::kFP8E4M3FNUZ || t == DataType::kFP8E5M2FNUZ)) EXPECT_EQ(back, 0);
      else EXPECT_EQ(back, c) << dataTypeName(t) << " " << v;
    }
  }
  // 1.0625 is halfway between 1 (0x38, even) and 1.125 (0x39): to even
  EXPECT_EQ(floatToSmall(DataType::kFP8, 1.0625f), 0x38);
  EXPECT_EQ(floatToSmall(DataType::kFP8, 1.1875f), 0x3a);  // halfway 1.125/1.25 -> 1.25 (even)
  // overflow: 464 rounds to 448; 480 overflows
  EXPECT_EQ(floatToSmall(DataType::kFP8, 464.f, false), 0x7e);
  EXPECT_EQ(floatToSmall(DataType::kFP8, 500.f, false), 0x7f);   // NaN
  EXPECT_EQ(floatToSmall(DataType::kFP8, 500.f, true), 0x7e);    // 448
  EXPECT_EQ(floatToSmall(DataType::kFP8, -INFINITY, true), 0xfe);
  EXPECT_EQ(floatToSmall(DataType::kFP8E5M2, 1e6f, false), 0x7c);  // inf
  EXPECT_EQ(floatToSmall(DataType::kFP8E5M2, 1e6f, true), 0x7b);
  EXPECT_EQ(floatToSmall(DataType::kFP8E4M3FNUZ, 1e6f, false), 0x80);
  EXPECT_EQ(floatToSmall(DataType::kFP8E4M3FNUZ, -0.0f), 0x00);  // no negative zero
  EXPECT_EQ(floatToSmall(DataType::kFP8, -0.0f), 0x80);
  // float4: 0.25 -> 0 (tie to even), 2.5 -> 2 (tie, code 4 even), 9 -> 6 (saturates)
  EXPECT_EQ(floatToSmall(DataType::kFP4, 0.25f), 0);
  EXPECT_EQ(floatToSmall(DataType::kFP4, 2.5f), 4);
  EXPECT_EQ(floatToSmall(DataType::kFP4, 9.f), 7);
  EXPECT_EQ(floatToSmall(DataType::kFP4, -3.5f), 0xe);
  // e8m0 rounding modes
  EXPECT_EQ(floatToSmall(DataType::kE8M0, 1.1f, true, E8M0Round::kUp), 128);
  EXPECT_EQ(floatToSmall(DataType::kE8M0, 1.1f, true, E8M0Round::kDown), 127);
  EXPECT_EQ(floatToSmall(DataType::kE8M0, 1.4f, true, E8M0Round::kNearest), 127);
  EXPECT_EQ(floatToSmall(DataType::kE8M0, 1.6f, true, E8M0Round::kNearest), 128);
}

TEST(SmallTypes, IntWrapAndPacking) {
  EXPECT_EQ(static_cast<int8_t>(floatToSmall(DataType::kINT4, -9.f)), 7);
  EXPECT_EQ(static_cast<int8_t>(floatToSmall(DataType::kINT4, 8.7f)), -8);
  EXPECT_EQ(floatToSmall(DataType::kUINT2, -1.f), 3);
  EXPECT_EQ(static_cast<int8_t>(intToSmall(DataType::kINT2, 2)), -2);
  // two int4 per byte, first in the low nibble
  const uint8_t packed[2] = {0x87, 0x0f};  // 7, -8, -1, (pad 0)
  uint8_t out[3];
  unpackSubByte(DataType::kINT4, packed, 2, out, 3);
  EXPECT_EQ(static_cast<int8_t>(out[0]), 7);
  EXPECT_EQ(static_cast<int8_t>(out[1]), -8);
  EXPECT_EQ(static_cast<int8_t>(out[2]), -1);
  uint8_t again[2];
  packSubByte(DataType::kINT4, out, 3, again);
  EXPECT_EQ(again[0], 0x87);
  EXPECT_EQ(again[1], 0x0f);
  // four uint2 per byte
  const uint8_t p2[1] = {0xe4};  // 0, 1, 2, 3
  uint8_t o2[4];
  unpackSubByte(DataType::kUINT2, p2, 1, o2, 4);
  EXPECT_EQ(o2[0], 0);
  EXPECT_EQ(o2[3], 3);
  EXPECT_THROW(unpackSubByte(DataType::kUINT2, p2, 1, o2, 5), Error);
}

TEST(CastOp, ToAndFromFloat8) {
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(DataType::kFP8));
  auto y = runOp("Cast", a, {floatTensor({4}, {1.0f, 1000.f, -0.5f, NAN})});
  ASSERT_EQ(y[0]->dtype, DataType::kFP8);
  EXPECT_EQ(values<uint8_t>(*y[0]), (std::vector<uint8_t>{0x38, 0x7e, 0xb0, 0x7f}));
  a.setInt("saturate", 0);
  EXPECT_EQ(values<uint8_t>(*runOp("Cast", a, {floatTensor({1}, {1000.f})})[0])[0], 0x7f);
  ir::Attributes b;
  b.setInt("to", static_cast<int64_t>(DataType::kFLOAT));
  auto back = runOp("Cast", b, {bytesTensor(DataType::kFP8E5M2, {2}, {0x3c, 0xc0})});
  EXPECT_EQ(values<float>(*back[0]), (std::vector<float>{1.0f, -2.0f}));
  ir::Attributes c;
  c.setInt("to", static_cast<int64_t>(DataType::kINT8));
  auto i8 = runOp("Cast", c, {bytesTensor(DataType::kINT4, {2}, {0xf9, 0x07})});  // -7, 7
  EXPECT_EQ(values<int8_t>(*i8[0]), (std::vector<int8_t>{-7, 7}));
}

TEST(QuantizeLinearOp, PerTensorRoundsHalfToEven) {
  // x / 2 = 0.5, 1.5, 2.5, -0.5, 300, -300 -> round 0, 2, 2, -0 -> + zp 10 -> clamp to uint8
  auto y = runOp("QuantizeLinear", {},
                 {floatTensor({6}, {1, 3, 5, -1, 600, -600}), floatTensor({}, {2}), typedTensor<uint8_t>({}, {10})});
  ASSERT_EQ(y[0]->dtype, DataType::kUINT8);
  EXPECT_EQ(values<uint8_t>(*y[0]), (std::vector<uint8_t>{10, 12, 12, 10, 255, 0}));
  // no zero point: uint8
  auto y2 = runOp("QuantizeLinear", {}, {floatTensor({2}, {-3, 3}), floatTensor({}, {1})});
  EXPECT_EQ(y2[0]->dtype, DataType::kUINT8);
  EXPECT_EQ(values<uint8_t>(*y2[0]), (std::vector<uint8_t>{0, 3}));
}

TEST(QuantizeLinearOp, PerAxisAndBlocked) {
  // x [2, 3], axis 1: scales 1, 2, 4
  auto y = runOp("QuantizeLinear", {},
                 {floatTensor({2, 3}, {4, 4, 4, 8, 8, 8}), floatTensor({3}, {1, 2, 4}), typedTensor<int8_t>({3}, {0, 1, -1})});
  EXPECT_EQ(values<int8_t>(*y[0]), (std::vector<int8_t>{4, 3, 0, 8, 5, 1}));
  // blocked along axis 1 with block 2: x [1, 3] (ragged last block), scale [1, 2]
  ir::Attributes a;
  a.setInt("axis", 1);
  a.setInt("block_size", 2);
  auto yb = runOp("QuantizeLinear", a,
                  {floatTensor({1, 3}, {2, 4, 9}), floatTensor({1, 2}, {2, 3}), typedTensor<int8_t>({1, 2}, {0, 0})});
  EXPECT_EQ(values<int8_t>(*yb[0]), (std::vector<int8_t>{1, 2, 3}));
  // int4 output saturates to [-8, 7]
  ir::Attributes b;
  b.setInt("output_dtype", static_cast<int64_t>(DataType::kINT4));
  auto y4 = runOp("QuantizeLinear", b, {floatTensor({3}, {-20, 3, 20}), floatTensor({}, {1})});
  ASSERT_EQ(y4[0]->dtype, DataType::kINT4);
  EXPECT_EQ(values<int8_t>(*y4[0]), (std::vector<int8_t>{-8, 3, 7}));
  // a per-axis scale that does not match the axis is refused
  EXPECT_THROW(runOp("QuantizeLinear", {}, {floatTensor({2, 3}, {0, 0, 0, 0, 0, 0}), floatTensor({2}, {1, 1})}), Error);
  // a blocked scale of the wrong extent is refused
  EXPECT_THROW(runOp("QuantizeLinear", a, {floatTensor({1, 3}, {0, 0, 0}), floatTensor({1, 3}, {1, 1, 1})}), Error);
}

TEST(QuantizeLinearOp, Float8Output) {
  auto y = runOp("QuantizeLinear", {},
                 {floatTensor({3}, {2, 1000, -3}), floatTensor({}, {2}), bytesTensor(DataType::kFP8, {}, {0})});
  ASSERT_EQ(y[0]->dtype, DataType::kFP8);
  EXPECT_EQ(values<uint8_t>(*y[0]), (std::vector<uint8_t>{0x38, 0x7e, 0xbc}));  // 1, 448 (saturated), -1.5
}

TEST(DequantizeLinearOp, Values) {
  auto y = runOp("DequantizeLinear", {},
                 {typedTensor<uint8_t>({3}, {0, 10, 255}), floatTensor({}, {0.5f}), typedTensor<uint8_t>({}, {10})});
  ASSERT_EQ(y[0]->dtype, DataType::kFLOAT);
  EXPECT_EQ(values<float>(*y[0]), (std::vector<float>{-5, 0, 122.5f}));
  auto y8 = runOp("DequantizeLinear", {}, {bytesTensor(DataType::kFP8, {2}, {0x38, 0xc0}), floatTensor({}, {2})});
  EXPECT_EQ(values<float>(*y8[0]), (std::vector<float>{2, -4}));
  // per axis, axis 0: scales 1 and 10
  ir::Attributes a;
  a.setInt("axis", 0);
  auto ya = runOp("DequantizeLinear", a, {typedTensor<int8_t>({2, 2}, {1, 2, 3, 4}), floatTensor({2}, {1, 10})});
  EXPECT_EQ(values<float>(*ya[0]), (std::vector<float>{1, 2, 30, 40}));
  // the zero point must have x's type
  EXPECT_THROW(runOp("DequantizeLinear", {}, {typedTensor<uint8_t>({1}, {1}), floatTensor({}, {1}), typedTensor<int8_t>({}, {0})}), Error);
  EXPECT_THROW(runOp("DequantizeLinear", {}, {floatTensor({1}, {1}), floatTensor({}, {1})}), Error);
}

TEST(DynamicQuantizeLinearOp, Values) {
  // min 0 (clamped), max 2.55 -> scale 0.01, zp 0
  auto r = runOp("DynamicQuantizeLinear", {}, {floatTensor({3}, {0.f, 1.f, 2.55f})}, 3);
  EXPECT_NEAR(values<float>(*r[1])[0], 0.01f, 1e-9);
  EXPECT_EQ(values<uint8_t>(*r[2])[0], 0);
  EXPECT_EQ(values<uint8_t>(*r[0]), (std::vector<uint8_t>{0, 100, 255}));
  // min -1, max 0 -> scale 1/255, zp 255
  auto n = runOp("DynamicQuantizeLinear", {}, {floatTensor({2}, {-1.f, 0.f})}, 3);
  EXPECT_EQ(values<uint8_t>(*n[2])[0], 255);
  EXPECT_EQ(values<uint8_t>(*n[0]), (std::vector<uint8_t>{0, 255}));
}

TEST(BitCastOp, ReinterpretsBits) {
  ir::Attributes a;
  a.setInt("to", static_cast<int64_t>(DataType::kINT32));
  auto y = runOp("BitCast", a, {floatTensor({2}, {1.0f, -2.0f})});
  EXPECT_EQ(values<int32_t>(*y[0]), (std::vector<int32_t>{0x3f800000, static_cast<int32_t>(0xc0000000u)}));
  a.setInt("to", static_cast<int64_t>(DataType::kINT64));
  EXPECT_THROW(runOp("BitCast", a, {floatTensor({1}, {1.0f})}), Error);
}

}  // namespace
}  // namespace kiln::test
