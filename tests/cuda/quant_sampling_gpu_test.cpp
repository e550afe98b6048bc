// GPU kernels of quant.cu (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, BitCast) and
// sampling.cu (GridSample, AffineGrid, CumProd) against the CPU reference kernels. The quantization ops
// must match bit for bit (raw bytes compared, so the small storage types are covered too).
#include <cmath>
#include <cstring>

#include "gpu_op.h"

namespace kiln::test {
namespace {

using ir::Attributes;
using ir::Shape;

//! Deterministic values in [lo, hi) (a small LCG).
std::vector<float> vals(int64_t n, uint32_t seed, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed * 2654435761u + 12345u;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

TensorPtr bytesTensor(DataType t, const Shape& shape, const std::vector<uint8_t>& v) {
  return ir::makeTensor(t, shape, v.data(), v.size());
}

//! Element codes of a small-type tensor: every byte in [lo, hi] (signed types sign-extended by the caller).
TensorPtr smallTensor(DataType t, const Shape& shape, uint32_t seed, int lo, int hi) {
  const int64_t n = ir::numElements(shape);
  std::vector<float> r = vals(n, seed, 0.f, 1.f);
  std::vector<uint8_t> b(static_cast<size_t>(n));
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<uint8_t>(static_cast<int8_t>(lo + static_cast<int>(r[i] * static_cast<float>(hi - lo + 1)) % (hi - lo + 1)));
  return bytesTensor(t, shape, b);
}

bool isWideFloat(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16;
}

//! Runs op on the CPU reference and the GPU and expects identical bytes in every output (float, double,
//! float16 and bfloat16 NaNs match whatever their payload: elements compared by value there).
void expectBitExact(const std::string& op, const Attributes& attrs, const std::vector<TensorPtr>& inputs, int numOutputs = 1,
                    const GpuOpOptions& opts = {}) {
  std::vector<TensorPtr> ref = runOp(op, attrs, inputs, numOutputs);
  std::vector<TensorPtr> got = runGpuOp(op, attrs, inputs, numOutputs, opts);
  ASSERT_EQ(ref.size(), got.size());
  for (size_t o = 0; o < ref.size(); ++o) {
    SCOPED_TRACE(op + " output " + std::to_string(o));
    ASSERT_EQ(ref[o]->dtype, got[o]->dtype);
    ASSERT_EQ(ir::shapeToString(ref[o]->shape), ir::shapeToString(got[o]->shape));
    if (isWideFloat(ref[o]->dtype)) {
      int bad = 0;
      for (int64_t i = 0; i < ref[o]->numel(); ++i) {
        const double a = got[o]->floatAt(i), b = ref[o]->floatAt(i);
        if (!((std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b))) && bad++ < 5)
          ADD_FAILURE() << "element " << i << ": got " << a << ", expected " << b;
      }
      EXPECT_EQ(bad, 0);
      continue;
    }
    const size_t bytes = static_cast<size_t>(ref[o]->numel()) * dataTypeSize(ref[o]->dtype);
    const auto* a = static_cast<const uint8_t*>(got[o]->raw());
    const auto* b = static_cast<const uint8_t*>(ref[o]->raw());
    int bad = 0;
    for (size_t i = 0; i < bytes; ++i)
      if (a[i] != b[i] && bad++ < 5) ADD_FAILURE() << "byte " << i << ": got " << int(a[i]) << ", expected " << int(b[i]);
    EXPECT_EQ(bad, 0);
  }
}

Attributes quantAttrs(int64_t axis, int64_t block, int64_t outType = -1, int64_t saturate = -1) {
  Attributes a;
  a.setInt("axis", axis);
  if (block) a.setInt("block_size", block);
  if (outType >= 0) a.setInt("output_dtype", outType);
  if (saturate >= 0) a.setInt("saturate", saturate);
  return a;
}

//! x with rounding ties, NaN, infinities and large values sprinkled in.
TensorPtr quantInput(const Shape& s, uint32_t seed, float range, DataType dt = DataType::kFLOAT) {
  std::vector<float> v = vals(ir::numElements(s), seed, -range, range);
  const float specials[] = {2.5f, -2.5f, 0.5f, NAN, INFINITY, -INFINITY, 1e6f, -1e6f, 0.0f, -0.0f, 3.5f};
  for (size_t i = 0; i < v.size(); i += 7) v[i] = specials[(i / 7) % 11];
  TensorPtr t = floatTensor(s, v);
  return dt == DataType::kFLOAT ? t : convertTensor(*t, dt);
}

// ---- QuantizeLinear ---------------------------------------------------------------------------------------
TEST(QuantGpu, QuantizeIntegerTypes) {
  KILN_REQUIRE_GPU();
  const Shape xs{2, 3, 8};
  struct T {
    DataType t;
    int lo, hi;
  };
  const T types[] = {{DataType::kUINT8, 0, 255},  {DataType::kINT8, -128, 127}, {DataType::kINT4, -8, 7},
                     {DataType::kUINT4, 0, 15},   {DataType::kINT2, -2, 1},     {DataType::kUINT2, 0, 3}};
  for (const T& t : types) {
    SCOPED_TRACE(dataTypeName(t.t));
    // per tensor
    expectBitExact("QuantizeLinear", {}, {quantInput(xs, 1, 300), floatTensor({}, {1.0f}), smallTensor(t.t, {}, 2, t.lo, t.hi)});
    // per axis (axis 1 and last)
    expectBitExact("QuantizeLinear", quantAttrs(1, 0),
                   {quantInput(xs, 3, 30), floatTensor({3}, {0.5f, 1.0f, 0.25f}), smallTensor(t.t, {3}, 4, t.lo, t.hi)});
    expectBitExact("QuantizeLinear", quantAttrs(-1, 0),
                   {quantInput(xs, 5, 30), floatTensor({8}, vals(8, 6, 0.1f, 2.f)), smallTensor(t.t, {8}, 7, t.lo, t.hi)});
    // blocked along axis 2 (8 = 3 + 3 + 2) and axis 0
    expectBitExact("QuantizeLinear", quantAttrs(2, 3),
                   {quantInput(xs, 8, 30), floatTensor({2, 3, 3}, vals(18, 9, 0.1f, 2.f)), smallTensor(t.t, {2, 3, 3}, 10, t.lo, t.hi)});
    expectBitExact("QuantizeLinear", quantAttrs(0, 2),
                   {quantInput(xs, 11, 30), floatTensor({1, 3, 8}, vals(24, 12, 0.1f, 2.f)), smallTensor(t.t, {1, 3, 8}, 13, t.lo, t.hi)});
  }
  // wider integer types (zero points built from doubles)
  for (DataType t : {DataType::kINT16, DataType::kUINT16, DataType::kINT32}) {
    SCOPED_TRACE(dataTypeName(t));
    expectBitExact("QuantizeLinear", quantAttrs(1, 0),
                   {quantInput(xs, 14, 1e5f), floatTensor({3}, {0.5f, 1.0f, 0.01f}), makeTyped(t, {3}, {3, 100, 7})});
  }
  // no zero point: uint8 by default, else output_dtype
  expectBitExact("QuantizeLinear", {}, {quantInput(xs, 15, 300), floatTensor({}, {0.7f})});
  expectBitExact("QuantizeLinear", quantAttrs(1, 0, static_cast<int64_t>(DataType::kINT4)),
                 {quantInput(xs, 16, 30), floatTensor({3}, {0.5f, 1.0f, 3.0f})});
  // half / bf16 inputs and scales, and a precision attribute
  expectBitExact("QuantizeLinear", {}, {quantInput(xs, 17, 300, DataType::kHALF), convertTensor(*floatTensor({}, {0.3f}), DataType::kHALF)});
  expectBitExact("QuantizeLinear", {}, {quantInput(xs, 18, 300, DataType::kBF16), convertTensor(*floatTensor({}, {1.7f}), DataType::kBF16),
                                        makeTyped(DataType::kINT8, {}, {-3})});
  Attributes p;
  p.setInt("precision", static_cast<int64_t>(DataType::kFLOAT));
  expectBitExact("QuantizeLinear", p, {quantInput(xs, 19, 300, DataType::kHALF), convertTensor(*floatTensor({}, {0.3f}), DataType::kHALF)});
  // a large tensor (grid-stride loop)
  expectBitExact("QuantizeLinear", quantAttrs(1, 0),
                 {quantInput({3, 64, 4099}, 20, 200), floatTensor({64}, vals(64, 21, 0.2f, 3.f)), smallTensor(DataType::kINT8, {64}, 22, -20, 20)});
}

TEST(QuantGpu, QuantizeFloat8AndFloat4) {
  KILN_REQUIRE_GPU();
  const Shape xs{4, 33};
  for (DataType t : {DataType::kFP8, DataType::kFP8E4M3FNUZ, DataType::kFP8E5M2, DataType::kFP8E5M2FNUZ})
    for (int sat : {0, 1}) {
      SCOPED_TRACE(std::string(dataTypeName(t)) + " saturate " + std::to_string(sat));
      Attributes a = quantAttrs(1, 0, static_cast<int64_t>(t), sat);
      expectBitExact("QuantizeLinear", a, {quantInput(xs, 30, 1000), floatTensor({}, {0.01f})});
      expectBitExact("QuantizeLinear", a, {quantInput(xs, 31, 2), floatTensor({33}, vals(33, 32, 1e-3f, 0.1f))});
      // with an (all-zero) float8 zero point
      expectBitExact("QuantizeLinear", quantAttrs(1, 0, -1, sat),
                     {quantInput(xs, 33, 60000), floatTensor({}, {1.0f}), bytesTensor(t, {}, {0})});
    }
  // float4 e2m1 (always saturates), with a zero point
  expectBitExact("QuantizeLinear", quantAttrs(1, 0, static_cast<int64_t>(DataType::kFP4)), {quantInput(xs, 34, 10), floatTensor({}, {0.7f})});
  expectBitExact("QuantizeLinear", quantAttrs(0, 0), {quantInput(xs, 35, 10), floatTensor({4}, {0.5f, 1.f, 2.f, 0.1f}),
                                                      bytesTensor(DataType::kFP4, {4}, {0, 2, 9, 1})});
}

// ---- DequantizeLinear -------------------------------------------------------------------------------------
TEST(QuantGpu, Dequantize) {
  KILN_REQUIRE_GPU();
  const Shape xs{2, 3, 8};
  struct T {
    DataType t;
    int lo, hi;
  };
  const T types[] = {{DataType::kUINT8, 0, 255}, {DataType::kINT8, -128, 127}, {DataType::kINT4, -8, 7},
                     {DataType::kUINT4, 0, 15},  {DataType::kINT2, -2, 1},     {DataType::kUINT2, 0, 3}};
  for (const T& t : types) {
    SCOPED_TRACE(dataTypeName(t.t));
    expectBitExact("DequantizeLinear", {}, {smallTensor(t.t, xs, 1, t.lo, t.hi), floatTensor({}, {0.37f}), smallTensor(t.t, {}, 2, t.lo, t.hi)});
    expectBitExact("DequantizeLinear", quantAttrs(1, 0),
                   {smallTensor(t.t, xs, 3, t.lo, t.hi), floatTensor({3}, {0.5f, 0.1f, 3.f}), smallTensor(t.t, {3}, 4, t.lo, t.hi)});
    expectBitExact("DequantizeLinear", quantAttrs(2, 3),
                   {smallTensor(t.t, xs, 5, t.lo, t.hi), floatTensor({2, 3, 3}, vals(18, 6, 0.01f, 2.f)), smallTensor(t.t, {2, 3, 3}, 7, t.lo, t.hi)});
    expectBitExact("DequantizeLinear", {}, {smallTensor(t.t, xs, 8, t.lo, t.hi), floatTensor({}, {0.37f})});  // no zero point
  }
  for (DataType t : {DataType::kINT16, DataType::kUINT16, DataType::kINT32}) {
    SCOPED_TRACE(dataTypeName(t));
    std::vector<float> r = vals(48, 9, 0, 60000);
    expectBitExact("DequantizeLinear", quantAttrs(1, 0),
                   {makeTyped(t, xs, std::vector<double>(r.begin(), r.end())), floatTensor({3}, {0.5f, 1e-3f, 3.f}), makeTyped(t, {3}, {3, 100, 7})});
  }
  // half / bf16 scales give half / bf16 outputs
  expectBitExact("DequantizeLinear", {}, {smallTensor(DataType::kINT8, xs, 10, -128, 127), convertTensor(*floatTensor({}, {0.37f}), DataType::kHALF)});
  expectBitExact("DequantizeLinear", quantAttrs(1, 0),
                 {smallTensor(DataType::kUINT8, xs, 11, 0, 255), convertTensor(*floatTensor({3}, {0.37f, 2.f, 0.01f}), DataType::kBF16),
                  smallTensor(DataType::kUINT8, {3}, 12, 0, 255)});
  // float8 / float4 inputs: every code
  for (DataType t : {DataType::kFP8, DataType::kFP8E4M3FNUZ, DataType::kFP8E5M2, DataType::kFP8E5M2FNUZ}) {
    SCOPED_TRACE(dataTypeName(t));
    std::vector<uint8_t> codes(256);
    for (int i = 0; i < 256; ++i) codes[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    expectBitExact("DequantizeLinear", {}, {bytesTensor(t, {256}, codes), floatTensor({}, {0.5f})});
  }
  std::vector<uint8_t> c4(16);
  for (int i = 0; i < 16; ++i) c4[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  expectBitExact("DequantizeLinear", {}, {bytesTensor(DataType::kFP4, {16}, c4), floatTensor({}, {3.0f})});
}

// ---- DynamicQuantizeLinear ----------------------------------------------------------------------------------
TEST(QuantGpu, DynamicQuantize) {
  KILN_REQUIRE_GPU();
  expectBitExact("DynamicQuantizeLinear", {}, {floatTensor({2, 5}, vals(10, 1, -3.f, 5.f))}, 3);
  expectBitExact("DynamicQuantizeLinear", {}, {floatTensor({7}, vals(7, 2, 1.f, 9.f))}, 3);    // all positive
  expectBitExact("DynamicQuantizeLinear", {}, {floatTensor({7}, vals(7, 3, -9.f, -1.f))}, 3);  // all negative
  expectBitExact("DynamicQuantizeLinear", {}, {floatTensor({4}, {0, 0, 0, 0})}, 3);            // max == min
  expectBitExact("DynamicQuantizeLinear", {}, {floatTensor({3, 1000, 37}, vals(111000, 4, -0.7f, 12.f))}, 3);
  expectBitExact("DynamicQuantizeLinear", {}, {quantInput({5, 9}, 5, 4.f)}, 3);  // NaN / inf inside
  expectBitExact("DynamicQuantizeLinear", {}, {convertTensor(*floatTensor({64}, vals(64, 6, -2.f, 2.f)), DataType::kHALF)}, 3);
}

// ---- BitCast --------------------------------------------------------------------------------------------
TEST(QuantGpu, BitCast) {
  KILN_REQUIRE_GPU();
  Attributes a;
  a.setInt("to", static_cast<int64_t>(DataType::kINT32));
  expectBitExact("BitCast", a, {floatTensor({3, 5}, vals(15, 1, -1e3f, 1e3f))});
  a.setInt("to", static_cast<int64_t>(DataType::kFP8));
  expectBitExact("BitCast", a, {smallTensor(DataType::kUINT8, {17}, 2, 0, 255)});
  a.setInt("to", static_cast<int64_t>(DataType::kBF16));
  expectBitExact("BitCast", a, {convertTensor(*floatTensor({6}, vals(6, 3, -1.f, 1.f)), DataType::kHALF)});
}

// ---- Cast from / to the small storage types ("cuda_small") ------------------------------------------------
TEST(QuantGpu, CastSmallTypes) {
  KILN_REQUIRE_GPU();
  const DataType smalls[] = {DataType::kFP8,  DataType::kFP8E4M3FNUZ, DataType::kFP8E5M2, DataType::kFP8E5M2FNUZ,
                             DataType::kE8M0, DataType::kFP4,         DataType::kINT4,    DataType::kUINT4,
                             DataType::kINT2, DataType::kUINT2};
  const DataType regular[] = {DataType::kFLOAT, DataType::kHALF,  DataType::kBF16,  DataType::kDOUBLE,
                              DataType::kINT8,  DataType::kUINT8, DataType::kINT32, DataType::kINT64, DataType::kBOOL};
  std::vector<uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  auto codesOf = [&](DataType t) {
    // every valid stored element of t
    switch (t) {
      case DataType::kFP4:
      case DataType::kUINT4: return bytesTensor(t, {16}, std::vector<uint8_t>(codes.begin(), codes.begin() + 16));
      case DataType::kUINT2: return bytesTensor(t, {4}, {0, 1, 2, 3});
      case DataType::kINT4: {
        std::vector<uint8_t> v;
        for (int i = -8; i < 8; ++i) v.push_back(static_cast<uint8_t>(static_cast<int8_t>(i)));
        return bytesTensor(t, {16}, v);
      }
      case DataType::kINT2: return bytesTensor(t, {4}, {0xfe, 0xff, 0, 1});
      default: return bytesTensor(t, {256}, codes);
    }
  };
  TensorPtr xf = quantInput({3, 41}, 1, 600);
  for (DataType s : smalls) {
    for (DataType r : regular) {
      SCOPED_TRACE(std::string(dataTypeName(s)) + " <-> " + dataTypeName(r));
      Attributes to;
      to.setInt("to", static_cast<int64_t>(r));
      expectBitExact("Cast", to, {codesOf(s)});
      Attributes back;
      back.setInt("to", static_cast<int64_t>(s));
      TensorPtr src = r == DataType::kBOOL ? makeTyped(r, {5}, {0, 1, 1, 0, 1})
                      : (r == DataType::kFLOAT || r == DataType::kHALF || r == DataType::kBF16 || r == DataType::kDOUBLE)
                          ? convertTensor(*xf, r)
                          : makeTyped(r, {3, 41}, [] {
                              std::vector<float> v = vals(123, 2, -130, 130);
                              return std::vector<double>(v.begin(), v.end());
                            }());
      expectBitExact("Cast", back, {src});
      back.setInt("saturate", 0);
      expectBitExact("Cast", back, {src});
    }
    for (DataType s2 : smalls) {
      SCOPED_TRACE(std::string(dataTypeName(s)) + " -> " + dataTypeName(s2));
      Attributes to;
      to.setInt("to", static_cast<int64_t>(s2));
      expectBitExact("Cast", to, {codesOf(s)});
    }
  }
  for (const char* mode : {"up", "down", "nearest"}) {
    Attributes a;
    a.setInt("to", static_cast<int64_t>(DataType::kE8M0));
    a.setString("round_mode", mode);
    expectBitExact("Cast", a, {xf});
  }
}

// ---- Det, DFT, STFT, Col2Im (signal.cu) ------------------------------------------------------------------------
TEST(SignalGpu, Det) {
  KILN_REQUIRE_GPU();
  expectGpuMatchesCpu("Det", {}, {floatTensor({3, 3}, vals(9, 1, -2.f, 2.f))}, 1, {}, 1e-6, 1e-6);
  expectGpuMatchesCpu("Det", {}, {floatTensor({2, 5, 4, 4}, vals(160, 2, -2.f, 2.f))}, 1, {}, 1e-6, 1e-6);
  expectGpuMatchesCpu("Det", {}, {floatTensor({2, 2, 2}, {1, 2, 2, 4, 0, 1, 1, 0})}, 1, {}, 1e-6, 1e-6);  // singular, pivoting
  expectGpuMatchesCpu("Det", {}, {convertTensor(*floatTensor({4, 3, 3}, vals(36, 3, -1.f, 1.f)), DataType::kDOUBLE)}, 1, {}, 1e-12, 1e-12);
}

TEST(SignalGpu, Dft) {
  KILN_REQUIRE_GPU();
  GpuOpOptions consts;
  consts.constantInputs = {1, 2};
  for (int inv : {0, 1})
    for (int one : {0, 1}) {
      if (inv && one) continue;
      Attributes a;
      a.setInt("inverse", inv);
      a.setInt("onesided", one);
      SCOPED_TRACE("inverse " + std::to_string(inv) + " onesided " + std::to_string(one));
      // real and complex signals, axis 1 (default) and axis -2 of a rank-4 input, dft_length cutting/padding
      expectGpuMatchesCpu("DFT", a, {floatTensor({2, 10, 1}, vals(20, 1, -1.f, 1.f))}, 1, {}, 1e-5, 1e-5);
      if (!one) expectGpuMatchesCpu("DFT", a, {floatTensor({2, 9, 2}, vals(36, 2, -1.f, 1.f))}, 1, {}, 1e-5, 1e-5);
      expectGpuMatchesCpu("DFT", a, {floatTensor({2, 3, 7, 1}, vals(42, 3, -1.f, 1.f)), int64Tensor({}, {12}), int64Tensor({}, {-2})}, 1,
                          consts, 1e-5, 1e-5);
      expectGpuMatchesCpu("DFT", a, {floatTensor({3, 16, 1}, vals(48, 4, -1.f, 1.f)), int64Tensor({}, {5}), nullptr}, 1, consts, 1e-5, 1e-5);
    }
}

TEST(SignalGpu, Stft) {
  KILN_REQUIRE_GPU();
  GpuOpOptions consts;
  consts.constantInputs = {1, 3};
  Attributes a;
  expectGpuMatchesCpu("STFT", a, {floatTensor({2, 64, 1}, vals(128, 1, -1.f, 1.f)), int64Tensor({}, {8}), floatTensor({16}, vals(16, 2, 0.f, 1.f)), nullptr},
                      1, consts, 1e-5, 1e-5);
  expectGpuMatchesCpu("STFT", a, {floatTensor({1, 50, 2}, vals(100, 3, -1.f, 1.f)), int64Tensor({}, {7}), nullptr, int64Tensor({}, {10})}, 1,
                      consts, 1e-5, 1e-5);
  a.setInt("onesided", 0);
  expectGpuMatchesCpu("STFT", a, {floatTensor({2, 40, 1}, vals(80, 4, -1.f, 1.f)), int64Tensor({}, {5}), floatTensor({12}, vals(12, 5, 0.f, 1.f)),
                                  int64Tensor({}, {12})},
                      1, consts, 1e-5, 1e-5);
}

TEST(SignalGpu, Col2Im) {
  KILN_REQUIRE_GPU();
  GpuOpOptions consts;
  consts.constantInputs = {1, 2};
  // 5x5 image, 2x2 blocks, stride 1: 16 blocks
  expectGpuMatchesCpu("Col2Im", {}, {floatTensor({1, 4, 16}, vals(64, 1, -1.f, 1.f)), int64Tensor({2}, {5, 5}), int64Tensor({2}, {2, 2})}, 1,
                      consts);
  Attributes a;
  a.setInts("dilations", {1, 2});
  a.setInts("pads", {1, 0, 1, 1});
  a.setInts("strides", {2, 1});
  // rows: padded 5+2=7, span 2 -> (7-2)/2+1 = 3; cols: padded 6+1=7, span 3 -> 5: 15 blocks
  expectGpuMatchesCpu("Col2Im", a, {floatTensor({2, 3 * 4, 15}, vals(360, 2, -1.f, 1.f)), int64Tensor({2}, {5, 6}), int64Tensor({2}, {2, 2})}, 1,
                      consts);
  expectGpuMatchesCpu("Col2Im", {}, {makeTyped(DataType::kINT32, {1, 6, 8}, std::vector<double>(48, 3.0)), int64Tensor({3}, {2, 3, 4}),
                                     int64Tensor({3}, {1, 2, 3})},
                      1, consts);
  // non-constant block_shape: the "cuda" tactic refuses it (graph inputs go through "cuda_host_params")
  GpuOpOptions plain;
  plain.tactic = "cuda";
  EXPECT_THROW(runGpuOp("Col2Im", {}, {floatTensor({1, 4, 16}, vals(64, 1, -1.f, 1.f)), int64Tensor({2}, {5, 5}), int64Tensor({2}, {2, 2})}, 1,
                        plain),
               Error);
}

TEST(SignalGpu, MelWeightMatrix) {
  KILN_REQUIRE_GPU();
  GpuOpOptions consts;
  consts.constantInputs = {0, 1, 2, 3, 4};
  expectGpuMatchesCpu("MelWeightMatrix", {},
                      {int64Tensor({}, {8}), int64Tensor({}, {16}), int64Tensor({}, {8192}), floatTensor({}, {0.f}), floatTensor({}, {4096.f})},
                      1, consts, 0, 0);
  Attributes a;
  a.setInt("dtype", static_cast<int64_t>(DataType::kDOUBLE));
  expectGpuMatchesCpu("MelWeightMatrix", a,
                      {int64Tensor({}, {5}), int64Tensor({}, {32}), int64Tensor({}, {16000}), floatTensor({}, {100.f}), floatTensor({}, {7000.f})},
                      1, consts, 0, 0);
}

// ---- LinearAttention --------------------------------------------------------------------------------------------
TEST(SignalGpu, LinearAttention) {
  KILN_REQUIRE_GPU();
  struct Case {
    const char* rule;
    int64_t qh, kvh, dk, dv, t;
    bool past, perKeyDecay, scalarBeta;
    double scale;
  };
  const Case cases[] = {
      {"linear", 2, 2, 4, 3, 5, false, false, false, 0.0},     {"linear", 2, 2, 4, 3, 1, true, false, false, 0.0},
      {"gated", 4, 2, 8, 5, 6, true, false, false, 0.5},       {"gated", 2, 1, 4, 4, 3, false, true, false, 0.0},
      {"delta", 2, 2, 6, 4, 7, true, false, false, 0.0},       {"gated_delta", 4, 1, 8, 8, 9, true, false, true, 0.0},
      {"gated_delta", 6, 2, 4, 16, 4, true, true, false, 0.3}, {"gated_delta", 2, 2, 32, 64, 3, false, false, false, 0.0},
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.rule) + " qh " + std::to_string(c.qh) + " kvh " + std::to_string(c.kvh));
    const int64_t b = 2;
    Attributes a;
    a.setInt("q_num_heads", c.qh);
    a.setInt("kv_num_heads", c.kvh);
    a.setString("update_rule", c.rule);
    if (c.scale != 0.0) a.setFloat("scale", c.scale);
    const bool gated = std::string(c.rule).find("gated") != std::string::npos;
    const bool delta = std::string(c.rule).find("delta") != std::string::npos;
    auto t3 = [&](int64_t last, float lo, float hi) { return floatTensor({b, c.t, last}, vals(b * c.t * last, seed++, lo, hi)); };
    std::vector<TensorPtr> in = {t3(c.qh * c.dk, -1, 1), t3(c.kvh * c.dk, -0.5f, 0.5f), t3(c.kvh * c.dv, -1, 1)};
    in.push_back(c.past ? floatTensor({b, c.kvh, c.dk, c.dv}, vals(b * c.kvh * c.dk * c.dv, seed++, -1, 1)) : nullptr);
    in.push_back(gated ? t3(c.perKeyDecay ? c.kvh * c.dk : c.kvh, -0.5f, 0.f) : nullptr);
    in.push_back(delta ? t3(c.scalarBeta ? 1 : c.kvh, 0.f, 1.f) : nullptr);
    while (!in.empty() && !in.back()) in.pop_back();
    expectGpuMatchesCpu("LinearAttention", a, in, 2, {}, 1e-5, 1e-5);
  }
  // float16 data
  Attributes a;
  a.setInt("q_num_heads", 2);
  a.setInt("kv_num_heads", 2);
  a.setString("update_rule", "linear");
  expectGpuMatchesCpu("LinearAttention", a,
                      {convertTensor(*floatTensor({1, 3, 8}, vals(24, 90, -1, 1)), DataType::kHALF),
                       convertTensor(*floatTensor({1, 3, 8}, vals(24, 91, -1, 1)), DataType::kHALF),
                       convertTensor(*floatTensor({1, 3, 6}, vals(18, 92, -1, 1)), DataType::kHALF)},
                      2, {}, 2e-3, 2e-3);
}

// ---- GridSample -------------------------------------------------------------------------------------------
Attributes gridAttrs(const char* mode, const char* pad, int align) {
  Attributes a;
  a.setString("mode", mode);
  a.setString("padding_mode", pad);
  a.setInt("align_corners", align);
  return a;
}

TEST(SamplingGpu, GridSample2D) {
  KILN_REQUIRE_GPU();
  TensorPtr x = floatTensor({2, 3, 5, 7}, vals(210, 1, -1.f, 1.f));
  std::vector<float> gv = vals(2 * 4 * 6 * 2, 2, -1.4f, 1.4f);
  gv[3] = NAN;
  gv[8] = 5.f;  // far outside: reflection folds several times
  gv[9] = -3.7f;
  TensorPtr grid = floatTensor({2, 4, 6, 2}, gv);
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "border", "reflection"})
      for (int align : {0, 1}) {
        SCOPED_TRACE(std::string(mode) + " " + pad + " align " + std::to_string(align));
        expectGpuMatchesCpu("GridSample", gridAttrs(mode, pad, align), {x, grid}, 1, {}, 1e-6, 1e-6);
      }
  // half data with a float grid; a larger case
  expectGpuMatchesCpu("GridSample", gridAttrs("linear", "zeros", 0), {convertTensor(*x, DataType::kHALF), grid}, 1, {}, 1e-3, 1e-3);
  expectGpuMatchesCpu("GridSample", gridAttrs("cubic", "border", 1),
                      {floatTensor({1, 16, 32, 40}, vals(16 * 32 * 40, 3, -1.f, 1.f)), floatTensor({1, 50, 60, 2}, vals(6000, 4, -1.1f, 1.1f))},
                      1, {}, 1e-5, 1e-5);
}

TEST(SamplingGpu, GridSample1DAnd3D) {
  KILN_REQUIRE_GPU();
  TensorPtr x1 = floatTensor({2, 2, 9}, vals(36, 5, -1.f, 1.f));
  TensorPtr g1 = floatTensor({2, 7, 1}, vals(14, 6, -1.3f, 1.3f));
  TensorPtr x3 = floatTensor({1, 2, 3, 4, 5}, vals(120, 7, -1.f, 1.f));
  TensorPtr g3 = floatTensor({1, 2, 3, 4, 3}, vals(72, 8, -1.3f, 1.3f));
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "border", "reflection"})
      for (int align : {0, 1}) {
        SCOPED_TRACE(std::string(mode) + " " + pad + " align " + std::to_string(align));
        expectGpuMatchesCpu("GridSample", gridAttrs(mode, pad, align), {x1, g1}, 1, {}, 1e-6, 1e-6);
        expectGpuMatchesCpu("GridSample", gridAttrs(mode, pad, align), {x3, g3}, 1, {}, 1e-6, 1e-6);
      }
}

TEST(SamplingGpu, GridSample4D) {
  KILN_REQUIRE_GPU();
  TensorPtr x = floatTensor({1, 2, 3, 4, 3, 5}, vals(360, 9, -1.f, 1.f));
  TensorPtr g = floatTensor({1, 2, 2, 3, 2, 4}, vals(96, 10, -1.2f, 1.2f));
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "reflection"}) {
      SCOPED_TRACE(std::string(mode) + " " + pad);
      expectGpuMatchesCpu("GridSample", gridAttrs(mode, pad, 0), {x, g}, 1, {}, 1e-6, 1e-6);
    }
}

// ---- AffineGrid -------------------------------------------------------------------------------------------
TEST(SamplingGpu, AffineGrid) {
  KILN_REQUIRE_GPU();
  GpuOpOptions constSize;
  constSize.constantInputs = {1};
  for (int align : {0, 1}) {
    Attributes a;
    a.setInt("align_corners", align);
    SCOPED_TRACE("align " + std::to_string(align));
    expectGpuMatchesCpu("AffineGrid", a, {floatTensor({2, 2, 3}, vals(12, 1, -1.f, 1.f)), int64Tensor({4}, {2, 3, 5, 7})}, 1, constSize);
    expectGpuMatchesCpu("AffineGrid", a, {floatTensor({2, 3, 4}, vals(24, 2, -1.f, 1.f)), int64Tensor({5}, {2, 3, 4, 5, 6})}, 1, constSize);
    expectGpuMatchesCpu("AffineGrid", a, {floatTensor({1, 2, 3}, vals(6, 3, -1.f, 1.f)), int64Tensor({4}, {1, 1, 1, 9})}, 1, constSize);
    expectGpuMatchesCpu("AffineGrid", a,
                        {convertTensor(*floatTensor({1, 2, 3}, vals(6, 4, -1.f, 1.f)), DataType::kHALF), int64Tensor({4}, {1, 1, 4, 4})}, 1,
                        constSize, 1e-3, 1e-3);
  }
}

// ---- CumProd ----------------------------------------------------------------------------------------------
TEST(SamplingGpu, CumProd) {
  KILN_REQUIRE_GPU();
  GpuOpOptions constAxis;
  constAxis.constantInputs = {1};
  const Shape s{3, 4, 5};
  for (DataType dt : {DataType::kFLOAT, DataType::kDOUBLE, DataType::kHALF, DataType::kINT32, DataType::kINT64})
    for (int64_t axis : {0, 1, 2, -1})
      for (int ex : {0, 1})
        for (int rev : {0, 1}) {
          SCOPED_TRACE(std::string(dataTypeName(dt)) + " axis " + std::to_string(axis) + " ex " + std::to_string(ex) + " rev " + std::to_string(rev));
          Attributes a;
          a.setInt("exclusive", ex);
          a.setInt("reverse", rev);
          std::vector<float> v = vals(60, static_cast<uint32_t>(axis + 7), dt == DataType::kFLOAT || dt == DataType::kDOUBLE || dt == DataType::kHALF ? 0.5f : -3.f,
                                      dt == DataType::kFLOAT || dt == DataType::kDOUBLE || dt == DataType::kHALF ? 1.5f : 4.f);
          TensorPtr x = makeTyped(dt, s, std::vector<double>(v.begin(), v.end()));
          expectGpuMatchesCpu("CumProd", a, {x, int64Tensor({}, {axis})}, 1, constAxis, dt == DataType::kHALF ? 1e-3 : 1e-12, 0);
        }
  // a non-constant axis is refused by the "cuda" tactic
  GpuOpOptions plain;
  plain.tactic = "cuda";
  EXPECT_THROW(runGpuOp("CumProd", {}, {floatTensor({2, 3}, vals(6, 1, 0, 1)), int64Tensor({}, {1})}, 1, plain), Error);
}

}  // namespace
}  // namespace kiln::test
