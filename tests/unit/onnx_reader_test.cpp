// The protobuf wire decoder (src/onnx/proto_reader.h) and the ONNX model reader (src/onnx/model.h).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "onnx/model.h"
#include "onnx/proto_reader.h"
#include "onnx_writer.h"

using namespace kiln;
namespace w = kiln::test::onnxw;
using kiln::onnx::ProtoReader;
using kiln::onnx::WireType;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

//! Runs f, expects kiln::Error(kINVALID_ARGUMENT) and returns its full text.
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a kiln::Error";
  return {};
}

//! Parses a copy of `b` that the Model keeps alive (raw_data tensors are views into it).
onnx::Model parse(const std::string& b, const std::string& baseDir = "") {
  auto buf = std::make_shared<const std::string>(b);
  return onnx::parseModel(buf->data(), buf->size(), baseDir, buf);
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/kiln_onnx_test_XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

void writeFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

template <class T>
std::string rawOf(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <class T>
std::vector<T> valuesOf(const ir::TensorData& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.raw(), v.size() * sizeof(T));
  return v;
}

// A model touching most of the reader: several nodes, attributes of every kind, an If with subgraphs,
// initializers (raw and typed), symbolic dims, a sequence-typed value, opsets, metadata and a function.
w::Msg richModel() {
  w::GraphSpec thenG;
  thenG.name = "then";
  thenG.nodes = {w::node("Identity", {"r"}, {"t_out"}, "then_id")};
  thenG.outputs = {w::valueInfo("t_out", w::FLOAT, {"N", "3"})};
  w::GraphSpec elseG;
  elseG.name = "else";
  elseG.nodes = {w::node("Neg", {"r"}, {"e_out"}, "else_neg")};
  elseG.outputs = {w::valueInfo("e_out", w::FLOAT, {"N", "3"})};

  std::vector<w::Msg> attrs = {
      w::attrFloat("alpha", 0.25f),
      w::attrInt("axis", -1),
      w::attrString("mode", "constant"),
      w::attrTensor("value", w::tensorFloats("v", {2}, {1.f, 2.f})),
      w::attrGraph("body", w::graph(thenG)),
      w::attrFloats("scales", {1.f, 2.f, 0.5f}),
      w::attrInts("pads", {0, 1, -2, 300}),
      w::attrStrings("names", {"a", "", "ccc"}),
      w::attrTensors("tlist", {w::tensorInt64s("i0", {1}, {7}), w::tensorFloats("f0", {}, {3.f})}),
      w::attrGraphs("glist", {w::graph(thenG), w::graph(elseG)}),
  };

  w::GraphSpec g;
  g.name = "main";
  g.nodes = {
      w::node("Relu", {"X"}, {"r"}, "relu1"),
      w::node("Everything", {"r", "W"}, {"e"}, "custom", attrs, "com.kiln"),
      w::node("Clip", {"r", "", "maxv"}, {"c", ""}, "clip"),
      w::node("If", {"cond"}, {"Y"}, "if1", {w::attrGraph("then_branch", w::graph(thenG)),
                                               w::attrGraph("else_branch", w::graph(elseG))}),
  };
  g.initializers = {
      w::tensorRaw("W", w::FLOAT, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6}),
      w::tensorFloats("maxv", {}, {6.f}),
      w::tensorInt32Data("cond", w::BOOL, {}, {1}),
      w::tensorInt64s("shape", {3}, {1, -1, 3}),
  };
  // A sequence-typed input: TypeProto.sequence_type (4) { elem_type (1) { tensor_type {elem_type FLOAT} } }.
  w::Msg seqType;
  seqType.msg(4, w::Msg().msg(1, w::Msg().msg(1, w::Msg().varint(1, w::FLOAT))));
  g.inputs = {w::valueInfo("X", w::FLOAT, {"N", "3", "?"}), w::Msg().str(1, "S").msg(2, seqType)};
  g.outputs = {w::valueInfo("Y", w::FLOAT, {"N", "3"})};
  g.valueInfo = {w::valueInfo("r", w::FLOAT, {"N", "3", "?"}), w::Msg().str(1, "notype")};

  w::Msg fn;
  fn.str(1, "MyFn").str(4, "a").str(5, "b").str(6, "alpha");
  fn.msg(11, w::attrInt("beta", 3));
  fn.msg(7, w::node("Mul", {"a", "a"}, {"m"}, "fmul"));
  fn.msg(7, w::node("LeakyRelu", {"m"}, {"b"}, "flrelu", {w::attrRef("alpha", "alpha", 1)}));
  fn.msg(9, w::opset("", 17));
  fn.str(10, "com.kiln");

  w::Msg m = w::model(w::graph(g), {w::opset("", 17), w::opset("com.kiln", 1), w::opset("ai.onnx.ml", 3)}, 8, {fn});
  m.msg(14, w::Msg().str(1, "author").str(2, "kiln"));
  m.msg(14, w::Msg().str(1, "license").str(2, "MIT"));
  m.str(99, "an unknown field");  // skipped
  return m;
}

//! Converts every initializer and tensor attribute; swallows kiln::Error (used by the robustness tests).
void touchEverything(const onnx::Graph& g, int depth = 0) {
  if (depth > 100) return;
  for (const auto& t : g.initializers) {
    try {
      auto td = onnx::toTensorData(t);
      volatile uint8_t sink = 0;
      const auto* p = static_cast<const uint8_t*>(td->raw());
      for (std::size_t i = 0; i < td->blob->size(); ++i) sink = sink + p[i];
    } catch (const Error&) {
    }
  }
  for (const auto& n : g.nodes) {
    for (const auto& a : n.attributes) {
      if (a.t) {
        try {
          onnx::toTensorData(*a.t);
        } catch (const Error&) {
        }
      }
      if (a.g) touchEverything(*a.g, depth + 1);
      for (const auto& sg : a.graphs) touchEverything(*sg, depth + 1);
    }
  }
}

//! Parses: success or kiln::Error are both fine; anything else fails the test.
void parseNoCrash(const std::string& b, const std::string& label) {
  try {
    auto m = parse(b);
    touchEverything(m.graph);
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << label << ": non-kiln exception " << e.what();
  }
}

}  // namespace

// =========================================================================================================
// ProtoReader

TEST(ProtoReader, Varints) {
  struct Case {
    std::string in;
    uint64_t v;
  } cases[] = {
      {bytes({0x00}), 0},
      {bytes({0x01}), 1},
      {bytes({0x7F}), 127},
      {bytes({0xAC, 0x02}), 300},
      {bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), UINT64_MAX},
      {bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), 1ull << 63},
  };
  for (const auto& c : cases) {
    ProtoReader r(c.in.data(), c.in.size());
    EXPECT_EQ(r.readVarint("v"), c.v);
    EXPECT_TRUE(r.atEnd());
  }
  // -1 as int64 and as int32 (sign-extended to 10 bytes on the wire).
  std::string m1 = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  EXPECT_EQ(ProtoReader(m1.data(), m1.size()).readInt64("v"), -1);
  EXPECT_EQ(ProtoReader(m1.data(), m1.size()).readInt32("v"), -1);
  // Non-minimal encodings are accepted.
  std::string nm = bytes({0x81, 0x80, 0x00});
  EXPECT_EQ(ProtoReader(nm.data(), nm.size()).readVarint("v"), 1u);
}

TEST(ProtoReader, VarintErrors) {
  std::string eleven = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  std::string e = errorOf([&] { ProtoReader(eleven.data(), eleven.size()).readVarint("thing"); });
  EXPECT_NE(e.find("longer than 10 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("offset 0"), std::string::npos) << e;
  EXPECT_NE(e.find("thing"), std::string::npos) << e;

  std::string over = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02});
  e = errorOf([&] { ProtoReader(over.data(), over.size()).readVarint("v"); });
  EXPECT_NE(e.find("overflows"), std::string::npos) << e;

  std::string trunc = bytes({0x05, 0x80, 0x80});
  ProtoReader r(trunc.data(), trunc.size(), 100);
  EXPECT_EQ(r.readVarint("a"), 5u);
  e = errorOf([&] { r.readVarint("b"); });
  EXPECT_NE(e.find("truncated varint"), std::string::npos) << e;
  EXPECT_NE(e.find("offset 101"), std::string::npos) << e;

  EXPECT_NE(errorOf([] { ProtoReader(nullptr, 0).readVarint("v"); }).find("truncated"), std::string::npos);
}

TEST(ProtoReader, Zigzag) {
  EXPECT_EQ(ProtoReader::zigzagDecode(0), 0);
  EXPECT_EQ(ProtoReader::zigzagDecode(1), -1);
  EXPECT_EQ(ProtoReader::zigzagDecode(2), 1);
  EXPECT_EQ(ProtoReader::zigzagDecode(3), -2);
  EXPECT_EQ(ProtoReader::zigzagDecode(UINT64_MAX), std::numeric_limits<int64_t>::min());
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{123456789}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()}) {
    EXPECT_EQ(ProtoReader::zigzagDecode(ProtoReader::zigzagEncode(v)), v);
  }
  w::Msg m;
  m.varint(1, ProtoReader::zigzagEncode(-300));
  ProtoReader r(m.bytes.data(), m.bytes.size());
  uint32_t f;
  WireType wt;
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(r.readSInt64("s"), -300);
}

TEST(ProtoReader, FixedAndLengthDelimited) {
  w::Msg m;
  m.fixed32(1, 0xDEADBEEF).fixed64(2, 0x0123456789ABCDEFull).f32(3, 1.5f).str(4, "hello");
  m.key(5, 1);
  double d = -2.25;
  uint64_t du;
  std::memcpy(&du, &d, 8);
  for (int i = 0; i < 8; ++i) m.bytes.push_back(static_cast<char>((du >> (8 * i)) & 0xFF));
  ProtoReader r(m.bytes.data(), m.bytes.size());
  uint32_t f;
  WireType wt;
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(f, 1u);
  EXPECT_EQ(wt, WireType::kFIXED32);
  EXPECT_EQ(r.readFixed32("a"), 0xDEADBEEFu);
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(wt, WireType::kFIXED64);
  EXPECT_EQ(r.readFixed64("b"), 0x0123456789ABCDEFull);
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(r.readFloat("c"), 1.5f);
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(wt, WireType::kLEN);
  EXPECT_EQ(r.readString("d"), "hello");
  ASSERT_TRUE(r.nextField(&f, &wt));
  EXPECT_EQ(r.readDouble("e"), -2.25);
  EXPECT_FALSE(r.nextField(&f, &wt));

  std::string shortFixed = bytes({0x01, 0x02, 0x03});
  EXPECT_NE(errorOf([&] { ProtoReader(shortFixed.data(), 3).readFixed32("x"); }).find("truncated fixed32"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { ProtoReader(shortFixed.data(), 3).readFixed64("x"); }).find("truncated fixed64"),
            std::string::npos);
}

TEST(ProtoReader, LengthBeyondRemaining) {
  std::string b = bytes({0x0A, 0xE8, 0x07, 'a', 'b', 'c'});  // field 1, length 1000, 3 bytes
  ProtoReader r(b.data(), b.size());
  uint32_t f;
  WireType wt;
  ASSERT_TRUE(r.nextField(&f, &wt));
  std::string e = errorOf([&] { r.readBytes("payload"); });
  EXPECT_NE(e.find("length 1000 exceeds the 3 remaining bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("offset 1"), std::string::npos) << e;
  // A length near 2^64 is rejected the same way.
  std::string huge = bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  EXPECT_NE(errorOf([&] { ProtoReader(huge.data(), huge.size()).readBytes("x"); }).find("exceeds"),
            std::string::npos);
}

TEST(ProtoReader, PackedAndUnpackedRepeated) {
  w::Msg m;
  m.packedVarints(1, {1, -2, 300}).varint(1, 7).packedFloats(2, {1.f, -0.5f}).f32(2, 3.f);
  m.packedDoubles(3, {2.5}).packedVarints(4, {-1, 70000});
  ProtoReader r(m.bytes.data(), m.bytes.size());
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<double> doubles;
  std::vector<int32_t> i32;
  uint32_t f;
  WireType wt;
  while (r.nextField(&f, &wt)) {
    if (f == 1) r.readRepeatedVarint(wt, ints, "ints");
    if (f == 2) r.readRepeatedFloat(wt, floats, "floats");
    if (f == 3) r.readRepeatedDouble(wt, doubles, "doubles");
    if (f == 4) r.readRepeatedInt32(wt, i32, "i32");
  }
  EXPECT_EQ(ints, (std::vector<int64_t>{1, -2, 300, 7}));
  EXPECT_EQ(floats, (std::vector<float>{1.f, -0.5f, 3.f}));
  EXPECT_EQ(doubles, (std::vector<double>{2.5}));
  EXPECT_EQ(i32, (std::vector<int32_t>{-1, 70000}));

  w::Msg bad;
  bad.str(1, "abcde");  // 5 bytes: not a multiple of 4
  ProtoReader rb(bad.bytes.data(), bad.bytes.size());
  ASSERT_TRUE(rb.nextField(&f, &wt));
  EXPECT_NE(errorOf([&] { rb.readRepeatedFloat(wt, floats, "floats"); }).find("not a multiple of 4"),
            std::string::npos);
  w::Msg wrong;
  wrong.fixed64(1, 5);
  ProtoReader rw(wrong.bytes.data(), wrong.bytes.size());
  ASSERT_TRUE(rw.nextField(&f, &wt));
  EXPECT_NE(errorOf([&] { rw.readRepeatedVarint(wt, ints, "ints"); }).find("wire type fixed64"),
            std::string::npos);
  // A truncated varint inside a packed payload.
  w::Msg packedBad;
  packedBad.str(1, bytes({0x01, 0x80}));
  ProtoReader rp(packedBad.bytes.data(), packedBad.bytes.size());
  ASSERT_TRUE(rp.nextField(&f, &wt));
  EXPECT_NE(errorOf([&] { rp.readRepeatedVarint(wt, ints, "ints"); }).find("truncated varint"),
            std::string::npos);
}

TEST(ProtoReader, SkipsUnknownFieldsOfEveryWireType) {
  w::Msg m;
  m.varint(1, 123456).fixed64(2, 1).str(3, "skip me").fixed32(4, 9);
  m.key(5, 3).varint(1, 5).key(6, 3).str(2, "x").key(6, 4).key(5, 4);  // nested groups
  m.varint(7, 42);
  ProtoReader r(m.bytes.data(), m.bytes.size());
  uint32_t f;
  WireType wt;
  int64_t got = 0;
  while (r.nextField(&f, &wt)) {
    if (f == 7) got = r.readInt64("x");
    else r.skipField(f, wt, "unknown");
  }
  EXPECT_EQ(got, 42);
}

TEST(ProtoReader, MalformedKeysAndGroups) {
  auto skipAll = [](const std::string& b) {
    ProtoReader r(b.data(), b.size());
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) r.skipField(f, wt, "unknown");
  };
  EXPECT_NE(errorOf([&] { skipAll(bytes({0x0E, 0x00})); }).find("invalid wire type 6"), std::string::npos);
  EXPECT_NE(errorOf([&] { skipAll(bytes({0x0F, 0x00})); }).find("invalid wire type 7"), std::string::npos);
  EXPECT_NE(errorOf([&] { skipAll(bytes({0x00, 0x00})); }).find("field number 0"), std::string::npos);
  EXPECT_NE(errorOf([&] { skipAll(w::Msg().key(1, 4).bytes); }).find("unexpected end-group"), std::string::npos);
  EXPECT_NE(errorOf([&] { skipAll(w::Msg().key(1, 3).varint(2, 1).bytes); }).find("unterminated group"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { skipAll(w::Msg().key(1, 3).key(2, 4).bytes); }).find("closes group 1"),
            std::string::npos);
  w::Msg deep;
  for (int i = 0; i < 100; ++i) deep.key(1, 3);
  EXPECT_NE(errorOf([&] { skipAll(deep.bytes); }).find("nested too deeply"), std::string::npos);
  // 10 nested groups, properly closed, are skipped.
  w::Msg ok;
  for (int i = 0; i < 10; ++i) ok.key(1, 3);
  for (int i = 0; i < 10; ++i) ok.key(1, 4);
  skipAll(ok.bytes);
}

TEST(ProtoReader, SubReaderReportsAbsoluteOffsets) {
  w::Msg inner;
  inner.varint(1, 1);
  inner.bytes += bytes({0x10, 0x80});  // field 2, truncated varint at inner offset 3
  w::Msg outer;
  outer.str(1, "abc").msg(2, inner);  // inner payload starts at 5 + 2 = 7
  ProtoReader r(outer.bytes.data(), outer.bytes.size());
  uint32_t f;
  WireType wt;
  ASSERT_TRUE(r.nextField(&f, &wt));
  r.skipField(f, wt, "x");
  ASSERT_TRUE(r.nextField(&f, &wt));
  ProtoReader s = r.readMessage("inner");
  EXPECT_EQ(s.offset(), 7u);
  std::string e = errorOf([&] {
    while (s.nextField(&f, &wt)) s.readVarint("inner.value");
  });
  EXPECT_NE(e.find("offset 10"), std::string::npos) << e;
  EXPECT_NE(e.find("inner.value"), std::string::npos) << e;
}

// =========================================================================================================
// ONNX model reader

TEST(OnnxReader, TypeMapping) {
  struct Case {
    int32_t onnx;
    DataType kiln;
  } cases[] = {{1, DataType::kFLOAT},   {2, DataType::kUINT8},   {3, DataType::kINT8},  {4, DataType::kUINT16},
               {5, DataType::kINT16},   {6, DataType::kINT32},   {7, DataType::kINT64}, {9, DataType::kBOOL},
               {10, DataType::kHALF},   {11, DataType::kDOUBLE}, {12, DataType::kUINT32}, {13, DataType::kUINT64},
               {16, DataType::kBF16},   {17, DataType::kFP8},    {18, DataType::kFP8E4M3FNUZ},
               {19, DataType::kFP8E5M2}, {20, DataType::kFP8E5M2FNUZ}, {21, DataType::kUINT4}, {22, DataType::kINT4},
               {23, DataType::kFP4},    {24, DataType::kE8M0},   {25, DataType::kUINT2}, {26, DataType::kINT2}};
  for (const auto& c : cases) {
    bool ok = false;
    EXPECT_EQ(onnx::fromOnnxType(c.onnx, &ok), c.kiln) << c.onnx;
    EXPECT_TRUE(ok) << c.onnx;
  }
  for (int32_t t : {0, 8, 14, 15, 27, -1, 1000}) {
    bool ok = true;
    onnx::fromOnnxType(t, &ok);
    EXPECT_FALSE(ok) << t;
  }
  EXPECT_EQ(onnx::onnxTypeName(10), "FLOAT16");
  EXPECT_EQ(onnx::onnxTypeName(77), "UNKNOWN(77)");
}

TEST(OnnxReader, ModelStructure) {
  const std::string b = richModel().bytes;
  onnx::Model m = parse(b);
  EXPECT_EQ(m.irVersion, 8);
  EXPECT_EQ(m.producerName, "kiln-test");
  EXPECT_EQ(m.producerVersion, "0.1");
  ASSERT_EQ(m.opsetImports.size(), 3u);
  EXPECT_EQ(m.opsetVersion(""), 17);
  EXPECT_EQ(m.opsetVersion("ai.onnx"), 17);
  EXPECT_EQ(m.opsetVersion("com.kiln"), 1);
  EXPECT_EQ(m.opsetVersion("ai.onnx.ml"), 3);
  EXPECT_EQ(m.opsetVersion("com.microsoft"), -1);
  ASSERT_EQ(m.metadata.size(), 2u);
  EXPECT_EQ(m.metadata[1].first, "license");
  EXPECT_EQ(m.metadata[1].second, "MIT");

  ASSERT_TRUE(m.hasGraph);
  const onnx::Graph& g = m.graph;
  EXPECT_EQ(g.name, "main");
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0].opType, "Relu");
  EXPECT_EQ(g.nodes[0].name, "relu1");
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<std::string>{"X"}));
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<std::string>{"r", "", "maxv"}));
  EXPECT_EQ(g.nodes[2].outputs, (std::vector<std::string>{"c", ""}));

  const onnx::Node& n = g.nodes[1];
  EXPECT_EQ(n.domain, "com.kiln");
  ASSERT_EQ(n.attributes.size(), 10u);
  using AT = onnx::AttributeType;
  const onnx::Attribute* a = n.findAttribute("alpha");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kFLOAT);
  EXPECT_EQ(a->f, 0.25f);
  a = n.findAttribute("axis");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kINT);
  EXPECT_EQ(a->i, -1);
  a = n.findAttribute("mode");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kSTRING);
  EXPECT_EQ(a->s, "constant");
  a = n.findAttribute("value");
  ASSERT_TRUE(a && a->t);
  EXPECT_EQ(a->type, AT::kTENSOR);
  EXPECT_EQ(a->t->floatData, (std::vector<float>{1.f, 2.f}));
  a = n.findAttribute("body");
  ASSERT_TRUE(a && a->g);
  EXPECT_EQ(a->type, AT::kGRAPH);
  EXPECT_EQ(a->g->name, "then");
  a = n.findAttribute("scales");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kFLOATS);
  EXPECT_EQ(a->floats, (std::vector<float>{1.f, 2.f, 0.5f}));
  a = n.findAttribute("pads");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kINTS);
  EXPECT_EQ(a->ints, (std::vector<int64_t>{0, 1, -2, 300}));
  a = n.findAttribute("names");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kSTRINGS);
  EXPECT_EQ(a->strings, (std::vector<std::string>{"a", "", "ccc"}));
  a = n.findAttribute("tlist");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kTENSORS);
  ASSERT_EQ(a->tensors.size(), 2u);
  EXPECT_EQ(a->tensors[0].int64Data, (std::vector<int64_t>{7}));
  a = n.findAttribute("glist");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, AT::kGRAPHS);
  ASSERT_EQ(a->graphs.size(), 2u);
  EXPECT_EQ(a->graphs[1]->name, "else");
  EXPECT_EQ(n.findAttribute("missing"), nullptr);

  // The If node and its branches.
  const onnx::Node& ifn = g.nodes[3];
  EXPECT_EQ(ifn.opType, "If");
  const onnx::Attribute* thenA = ifn.findAttribute("then_branch");
  const onnx::Attribute* elseA = ifn.findAttribute("else_branch");
  ASSERT_TRUE(thenA && thenA->g && elseA && elseA->g);
  ASSERT_EQ(thenA->g->nodes.size(), 1u);
  EXPECT_EQ(thenA->g->nodes[0].opType, "Identity");
  EXPECT_EQ(elseA->g->nodes[0].opType, "Neg");
  ASSERT_EQ(elseA->g->outputs.size(), 1u);
  EXPECT_EQ(elseA->g->outputs[0].name, "e_out");

  // Inputs: symbolic, fixed and unknown dims; a sequence type recorded as unsupported.
  ASSERT_EQ(g.inputs.size(), 2u);
  const onnx::ValueInfo& x = g.inputs[0];
  EXPECT_EQ(x.name, "X");
  EXPECT_TRUE(x.isTensor());
  EXPECT_EQ(x.elemType, w::FLOAT);
  ASSERT_TRUE(x.hasShape);
  ASSERT_EQ(x.shape.size(), 3u);
  EXPECT_EQ(x.shape[0].kind, onnx::Dim::Kind::kPARAM);
  EXPECT_EQ(x.shape[0].param, "N");
  EXPECT_EQ(x.shape[1].kind, onnx::Dim::Kind::kVALUE);
  EXPECT_EQ(x.shape[1].value, 3);
  EXPECT_EQ(x.shape[2].kind, onnx::Dim::Kind::kUNKNOWN);
  EXPECT_EQ(g.inputs[1].name, "S");
  EXPECT_FALSE(g.inputs[1].isTensor());
  EXPECT_EQ(g.inputs[1].typeKind, "sequence");
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "Y");
  ASSERT_EQ(g.valueInfo.size(), 2u);
  EXPECT_EQ(g.valueInfo[1].typeKind, "");

  ASSERT_EQ(g.initializers.size(), 4u);
  EXPECT_EQ(g.initializers[0].name, "W");
  EXPECT_TRUE(g.initializers[0].hasRawData);

  // The model-local function.
  ASSERT_EQ(m.functions.size(), 1u);
  const onnx::Function& fn = m.functions[0];
  EXPECT_EQ(fn.name, "MyFn");
  EXPECT_EQ(fn.domain, "com.kiln");
  EXPECT_EQ(fn.inputs, (std::vector<std::string>{"a"}));
  EXPECT_EQ(fn.outputs, (std::vector<std::string>{"b"}));
  EXPECT_EQ(fn.attributes, (std::vector<std::string>{"alpha"}));
  ASSERT_EQ(fn.attributeDefaults.size(), 1u);
  EXPECT_EQ(fn.attributeDefaults[0].name, "beta");
  EXPECT_EQ(fn.attributeDefaults[0].i, 3);
  ASSERT_EQ(fn.nodes.size(), 2u);
  EXPECT_EQ(fn.nodes[1].attributes[0].refAttrName, "alpha");
  ASSERT_EQ(fn.opsetImports.size(), 1u);
  EXPECT_EQ(fn.opsetImports[0].version, 17);
}

TEST(OnnxReader, AttributeTypeInferredWhenAbsent) {
  w::GraphSpec g;
  g.nodes = {w::node("Op", {}, {"y"}, "n", {w::Msg().str(1, "k").int64(3, 5), w::Msg().str(1, "fs").packedFloats(7, {1.f})})};
  onnx::Model m = parse(w::model(w::graph(g)).bytes);
  EXPECT_EQ(m.graph.nodes[0].attributes[0].type, onnx::AttributeType::kINT);
  EXPECT_EQ(m.graph.nodes[0].attributes[1].type, onnx::AttributeType::kFLOATS);
}

TEST(OnnxReader, RawDataInitializersOfEveryType) {
  auto h = [](float f) { return floatToHalf(f); };
  auto bf = [](float f) { return floatToBf16(f); };
  struct Case {
    int32_t onnxType;
    DataType dt;
    std::string raw;
  };
  std::vector<Case> cases = {
      {w::FLOAT, DataType::kFLOAT, rawOf(std::vector<float>{1.5f, -2.f, 3.25f, 0.f})},
      {w::DOUBLE, DataType::kDOUBLE, rawOf(std::vector<double>{1e300, -2.5, 0, 7})},
      {w::INT8, DataType::kINT8, rawOf(std::vector<int8_t>{-128, -1, 0, 127})},
      {w::INT16, DataType::kINT16, rawOf(std::vector<int16_t>{-32768, -1, 2, 32767})},
      {w::INT32, DataType::kINT32, rawOf(std::vector<int32_t>{INT32_MIN, -1, 2, INT32_MAX})},
      {w::INT64, DataType::kINT64, rawOf(std::vector<int64_t>{INT64_MIN, -1, 2, INT64_MAX})},
      {w::UINT8, DataType::kUINT8, rawOf(std::vector<uint8_t>{0, 1, 200, 255})},
      {w::UINT16, DataType::kUINT16, rawOf(std::vector<uint16_t>{0, 1, 40000, 65535})},
      {w::UINT32, DataType::kUINT32, rawOf(std::vector<uint32_t>{0, 1, 3000000000u, UINT32_MAX})},
      {w::UINT64, DataType::kUINT64, rawOf(std::vector<uint64_t>{0, 1, 1ull << 63, UINT64_MAX})},
      {w::BOOL, DataType::kBOOL, rawOf(std::vector<uint8_t>{0, 1, 1, 0})},
      {w::FLOAT16, DataType::kHALF, rawOf(std::vector<uint16_t>{h(1.f), h(-0.5f), h(65504.f), h(0.f)})},
      {w::BFLOAT16, DataType::kBF16, rawOf(std::vector<uint16_t>{bf(1.f), bf(-3.f), bf(1e30f), bf(0.f)})},
  };
  w::GraphSpec g;
  for (size_t i = 0; i < cases.size(); ++i) {
    g.initializers.push_back(w::tensorRaw("t" + std::to_string(i), cases[i].onnxType, {2, 2}, cases[i].raw.data(),
                                          cases[i].raw.size()));
  }
  auto buf = std::make_shared<std::string>(w::model(w::graph(g)).bytes);
  // With an owner, aligned raw data may be viewed in place; the data must be identical either way.
  for (bool withOwner : {false, true}) {
    onnx::Model m = onnx::parseModel(buf->data(), buf->size(), "", withOwner ? buf : nullptr);
    ASSERT_EQ(m.graph.initializers.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(onnx::onnxTypeName(cases[i].onnxType));
      auto td = onnx::toTensorData(m.graph.initializers[i]);
      EXPECT_EQ(td->dtype, cases[i].dt);
      EXPECT_EQ(td->shape, (ir::Shape{2, 2}));
      ASSERT_EQ(td->byteSize(), cases[i].raw.size());
      EXPECT_EQ(std::memcmp(td->raw(), cases[i].raw.data(), cases[i].raw.size()), 0);
    }
  }
  // A BOOL byte other than 0/1 is rejected.
  w::GraphSpec gb;
  gb.initializers = {w::tensorRaw("b", w::BOOL, {2}, std::vector<uint8_t>{1, 2})};
  onnx::Model mb = parse(w::model(w::graph(gb)).bytes);
  EXPECT_NE(errorOf([&] { onnx::toTensorData(mb.graph.initializers[0]); }).find("BOOL"), std::string::npos);
}

TEST(OnnxReader, TypedFieldInitializersOfEveryType) {
  w::GraphSpec g;
  g.initializers = {
      w::tensorFloats("f", {3}, {1.f, -2.5f, 1e-3f}),
      w::tensorHeader("d", w::DOUBLE, {2}).packedDoubles(10, {1e-300, -4.0}),
      w::tensorInt32Data("i8", w::INT8, {3}, {-128, -5, 127}),
      w::tensorInt32Data("i16", w::INT16, {2}, {-32768, 32767}),
      w::tensorInt32Data("i32", w::INT32, {2}, {INT32_MIN, INT32_MAX}),
      w::tensorInt32Data("u8", w::UINT8, {2}, {200, 255}),
      w::tensorInt32Data("u16", w::UINT16, {2}, {60000, 1}),
      w::tensorInt32Data("b", w::BOOL, {3}, {0, 1, 5}),
      w::tensorInt32Data("h", w::FLOAT16, {2}, {floatToHalf(1.5f), floatToHalf(-2.f)}),
      w::tensorInt32Data("bf", w::BFLOAT16, {2}, {floatToBf16(1.5f), floatToBf16(-2.f)}),
      w::tensorInt64s("i64", {2}, {INT64_MIN, 42}),
      w::tensorHeader("u32", w::UINT32, {2}).packedU64(11, {4000000000ull, 7}),
      w::tensorHeader("u64", w::UINT64, {2}).packedU64(11, {UINT64_MAX, 9}),
      // Unpacked int32_data entries are accepted too.
      w::tensorHeader("i32u", w::INT32, {2}).int64(5, -7).int64(5, 8),
      w::tensorHeader("s", w::STRING, {2}).str(6, "hello").str(6, "world"),
  };
  onnx::Model m = parse(w::model(w::graph(g)).bytes);
  const auto& in = m.graph.initializers;
  ASSERT_EQ(in.size(), 15u);
  auto conv = [&](size_t i) { return onnx::toTensorData(in[i]); };
  EXPECT_EQ(valuesOf<float>(*conv(0)), (std::vector<float>{1.f, -2.5f, 1e-3f}));
  EXPECT_EQ(valuesOf<double>(*conv(1)), (std::vector<double>{1e-300, -4.0}));
  EXPECT_EQ(valuesOf<int8_t>(*conv(2)), (std::vector<int8_t>{-128, -5, 127}));
  EXPECT_EQ(valuesOf<int16_t>(*conv(3)), (std::vector<int16_t>{-32768, 32767}));
  EXPECT_EQ(valuesOf<int32_t>(*conv(4)), (std::vector<int32_t>{INT32_MIN, INT32_MAX}));
  EXPECT_EQ(valuesOf<uint8_t>(*conv(5)), (std::vector<uint8_t>{200, 255}));
  EXPECT_EQ(valuesOf<uint16_t>(*conv(6)), (std::vector<uint16_t>{60000, 1}));
  auto b = conv(7);
  EXPECT_EQ(b->dtype, DataType::kBOOL);
  EXPECT_EQ(valuesOf<uint8_t>(*b), (std::vector<uint8_t>{0, 1, 1}));
  auto hh = conv(8);
  EXPECT_EQ(hh->dtype, DataType::kHALF);
  EXPECT_EQ(hh->floatAt(0), 1.5);
  EXPECT_EQ(hh->floatAt(1), -2.0);
  auto bb = conv(9);
  EXPECT_EQ(bb->dtype, DataType::kBF16);
  EXPECT_EQ(bb->floatAt(0), 1.5);
  EXPECT_EQ(valuesOf<int64_t>(*conv(10)), (std::vector<int64_t>{INT64_MIN, 42}));
  EXPECT_EQ(valuesOf<uint32_t>(*conv(11)), (std::vector<uint32_t>{4000000000u, 7}));
  EXPECT_EQ(valuesOf<uint64_t>(*conv(12)), (std::vector<uint64_t>{UINT64_MAX, 9}));
  EXPECT_EQ(valuesOf<int32_t>(*conv(13)), (std::vector<int32_t>{-7, 8}));
  EXPECT_EQ(in[14].stringData, (std::vector<std::string>{"hello", "world"}));
  EXPECT_NE(errorOf([&] { conv(14); }).find("STRING is not supported"), std::string::npos);
}

TEST(OnnxReader, ScalarsAndEmptyTensors) {
  w::GraphSpec g;
  g.initializers = {w::tensorFloats("s", {}, {4.f}), w::tensorHeader("e", w::FLOAT, {0, 3}),
                    w::tensorRaw("er", w::INT64, {2, 0}, nullptr, 0)};
  onnx::Model m = parse(w::model(w::graph(g)).bytes);
  auto s = onnx::toTensorData(m.graph.initializers[0]);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->numel(), 1);
  EXPECT_EQ(s->floatAt(0), 4.0);
  auto e = onnx::toTensorData(m.graph.initializers[1]);
  EXPECT_EQ(e->numel(), 0);
  EXPECT_EQ(e->shape, (ir::Shape{0, 3}));
  EXPECT_EQ(onnx::toTensorData(m.graph.initializers[2])->numel(), 0);
}

TEST(OnnxReader, TensorSizeChecks) {
  w::GraphSpec g;
  g.initializers = {
      w::tensorRaw("short", w::FLOAT, {2, 2}, std::vector<float>{1, 2, 3}),
      w::tensorFloats("count", {2, 2}, {1, 2, 3}),
      w::tensorRaw("huge", w::FLOAT, {1ll << 40, 1ll << 40}, std::vector<float>{1}),
      w::tensorRaw("overflow", w::FLOAT, {1ll << 62, 1ll << 62}, std::vector<float>{1}),
      w::tensorRaw("bytes_overflow", w::DOUBLE, {1ll << 62}, std::vector<double>{1}),
      w::tensorRaw("neg", w::FLOAT, {-1, 2}, std::vector<float>{1, 2}),
      w::tensorRaw("c64", 14, {1}, std::vector<float>{1, 2}),
      w::tensorRaw("i4", 22, {3}, std::vector<uint8_t>{1}),  // 3 packed int4 need 2 bytes
      w::tensorHeader("nodata", w::FLOAT, {1ll << 50}),
      w::tensorHeader("seg", w::FLOAT, {1}).packedFloats(4, {1.f}).msg(3, w::Msg().int64(1, 0).int64(2, 1)),
  };
  onnx::Model m = parse(w::model(w::graph(g)).bytes);
  const auto& in = m.graph.initializers;
  auto err = [&](size_t i) { return errorOf([&] { onnx::toTensorData(in[i]); }); };
  EXPECT_NE(err(0).find("12 bytes of raw data, but dims [2,2] of FLOAT need 16"), std::string::npos) << err(0);
  EXPECT_NE(err(1).find("3 values in float_data"), std::string::npos) << err(1);
  EXPECT_NE(err(2).find("element count overflows"), std::string::npos) << err(2);
  EXPECT_NE(err(3).find("element count overflows"), std::string::npos) << err(3);
  EXPECT_NE(err(4).find("byte size overflows"), std::string::npos) << err(4);
  EXPECT_NE(err(5).find("negative dimension -1"), std::string::npos) << err(5);
  EXPECT_NE(err(6).find("COMPLEX64 is not supported"), std::string::npos) << err(6);
  EXPECT_NE(err(7).find("1 bytes of packed data, but dims [3] of INT4 need 2"), std::string::npos) << err(7);
  EXPECT_NE(err(8).find("0 values in float_data"), std::string::npos) << err(8);
  EXPECT_NE(err(9).find("segmented"), std::string::npos) << err(9);
}

TEST(OnnxReader, TensorClaimingMoreBytesThanPresentFailsBeforeAllocating) {
  // 2^40 floats (4 TiB) claimed, 4 bytes present: rejected by the size check, nothing allocated.
  w::GraphSpec g;
  g.initializers = {w::tensorRaw("big", w::FLOAT, {1ll << 20, 1ll << 20}, std::vector<float>{1})};
  onnx::Model m = parse(w::model(w::graph(g)).bytes);
  std::string e = errorOf([&] { onnx::toTensorData(m.graph.initializers[0]); });
  EXPECT_NE(e.find("4 bytes of raw data"), std::string::npos) << e;
  EXPECT_NE(e.find("need 4398046511104"), std::string::npos) << e;
}

// ---------------------------------------------------------------------------------------------------------
// External data

namespace {

std::string externalModel(const std::vector<w::Msg>& initializers) {
  w::GraphSpec g;
  g.initializers = initializers;
  g.outputs = {w::valueInfo("w", w::FLOAT, {"2", "3"})};
  return w::model(w::graph(g)).bytes;
}

}  // namespace

TEST(OnnxReader, ExternalData) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::vector<float> wv = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> iv = {-1, 1ll << 40};
  writeFile(dir.path + "/weights.bin", std::string(16, 'x') + rawOf(wv) + "tail");
  writeFile(dir.path + "/sub/ints.bin", rawOf(iv));
  std::string model = externalModel({
      w::tensorExternal("w", w::FLOAT, {2, 3}, {{"location", "weights.bin"}, {"offset", "16"}, {"length", "24"}}),
      w::tensorExternal("i", w::INT64, {2}, {{"location", "sub/ints.bin"}, {"checksum", "ignored"}}),
      w::tensorExternal("w0", w::FLOAT, {1}, {{"location", "./weights.bin"}, {"offset", "20"}, {"length", "4"}}),
  });
  writeFile(dir.path + "/model.onnx", model);

  std::shared_ptr<const ir::TensorData> w0;
  {
    onnx::Model m = onnx::loadModelFile(dir.path + "/model.onnx");
    ASSERT_EQ(m.graph.initializers.size(), 3u);
    const onnx::Tensor& t = m.graph.initializers[0];
    EXPECT_TRUE(t.external);
    EXPECT_EQ(t.externalOffset, 16u);
    EXPECT_EQ(t.rawSize, 24u);
    EXPECT_EQ(t.externalPath, dir.path + "/weights.bin");
    auto td = onnx::toTensorData(t);
    EXPECT_EQ(valuesOf<float>(*td), wv);
    EXPECT_EQ(valuesOf<int64_t>(*onnx::toTensorData(m.graph.initializers[1])), iv);
    w0 = onnx::toTensorData(m.graph.initializers[2]);
  }
  // The constant outlives the Model (its blob owns a copy or keeps the mapping alive).
  EXPECT_EQ(w0->floatAt(0), 2.0);

  // parseModel with an explicit base directory resolves the same way.
  onnx::Model m2 = parse(model, dir.path);
  EXPECT_EQ(valuesOf<float>(*onnx::toTensorData(m2.graph.initializers[0])), wv);
  // External data with a length that does not match the dims is caught by toTensorData.
  std::string wrongLen =
      externalModel({w::tensorExternal("w", w::FLOAT, {2, 3}, {{"location", "weights.bin"}, {"offset", "16"}})});
  onnx::Model m3 = parse(wrongLen, dir.path);
  std::string e = errorOf([&] { onnx::toTensorData(m3.graph.initializers[0]); });
  EXPECT_NE(e.find("28 bytes of external data"), std::string::npos) << e;
}

TEST(OnnxReader, ExternalDataErrors) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  writeFile(dir.path + "/weights.bin", std::string(40, 'x'));
  auto err = [&](std::vector<std::pair<std::string, std::string>> entries) {
    std::string model = externalModel({w::tensorExternal("w", w::FLOAT, {2, 3}, entries)});
    return errorOf([&] { parse(model, dir.path); });
  };
  std::string e = err({{"location", "missing.bin"}});
  EXPECT_NE(e.find("cannot open external data file"), std::string::npos) << e;
  EXPECT_NE(e.find("missing.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
  e = err({{"location", "../weights.bin"}});
  EXPECT_NE(e.find("'..'"), std::string::npos) << e;
  EXPECT_NE(err({{"location", "a/../../weights.bin"}}).find("'..'"), std::string::npos);
  EXPECT_NE(err({{"location", "a\\..\\x.bin"}}).find("'..'"), std::string::npos);
  EXPECT_NE(err({{"location", "/etc/passwd"}}).find("absolute path"), std::string::npos);
  EXPECT_NE(err({{"location", ""}}).find("empty path"), std::string::npos);
  EXPECT_NE(err({{"offset", "0"}}).find("no 'location'"), std::string::npos);
  EXPECT_NE(err({{"location", "weights.bin"}, {"offset", "41"}}).find("beyond the end"), std::string::npos);
  e = err({{"location", "weights.bin"}, {"offset", "16"}, {"length", "25"}});
  EXPECT_NE(e.find("offset 16 + length 25 is beyond the end"), std::string::npos) << e;
  EXPECT_NE(err({{"location", "weights.bin"}, {"offset", "-1"}}).find("invalid offset"), std::string::npos);
  EXPECT_NE(err({{"location", "weights.bin"}, {"length", "99999999999999999999999"}}).find("invalid length"),
            std::string::npos);
  EXPECT_NE(err({{"location", "weights.bin"}, {"offset", "18446744073709551615"}}).find("beyond the end"),
            std::string::npos);
  // A directory is not a data file.
  std::filesystem::create_directories(dir.path + "/adir");
  EXPECT_NE(err({{"location", "adir"}}).find("not a regular file"), std::string::npos);
  // From memory without a base directory.
  std::string model = externalModel({w::tensorExternal("w", w::FLOAT, {2, 3}, {{"location", "weights.bin"}})});
  EXPECT_NE(errorOf([&] { parse(model); }).find("without a base directory"), std::string::npos);
  // An unknown data_location value.
  w::GraphSpec g;
  g.initializers = {w::tensorHeader("w", w::FLOAT, {1}).varint(14, 7)};
  EXPECT_NE(errorOf([&] { parse(w::model(w::graph(g)).bytes); }).find("unknown data_location 7"),
            std::string::npos);
}

TEST(OnnxReader, LoadModelFileErrors) {
  TempDir dir;
  std::string e = errorOf([&] { onnx::loadModelFile(dir.path + "/nope.onnx"); });
  EXPECT_NE(e.find("cannot open ONNX model file"), std::string::npos) << e;
  writeFile(dir.path + "/empty.onnx", "");
  EXPECT_NE(errorOf([&] { onnx::loadModelFile(dir.path + "/empty.onnx"); }).find("is empty"), std::string::npos);
  writeFile(dir.path + "/bad.onnx", bytes({0x08, 0x80}));
  e = errorOf([&] { onnx::loadModelFile(dir.path + "/bad.onnx"); });
  EXPECT_NE(e.find("bad.onnx"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated varint"), std::string::npos) << e;
}

// ---------------------------------------------------------------------------------------------------------
// Malformed input

TEST(OnnxReader, TruncatedAtEveryLength) {
  const std::string b = richModel().bytes;
  ASSERT_NO_THROW(parse(b));
  int failures = 0;
  for (size_t len = 0; len < b.size(); ++len) {
    std::string cut = b.substr(0, len);
    try {
      touchEverything(parse(cut).graph);
    } catch (const Error& e) {
      ++failures;
      EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find("byte offset"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "length " << len << ": " << e.what();
    }
  }
  // Most prefixes cut a field in half.
  EXPECT_GT(failures, static_cast<int>(b.size()) / 2);
}

TEST(OnnxReader, RandomCorruptions) {
  const std::string b = richModel().bytes;
  int parsed = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    std::string c = b;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t pos = rng() % c.size();
      switch (rng() % 4) {
        case 0: c[pos] = static_cast<char>(rng() & 0xFF); break;           // random byte
        case 1: c[pos] = static_cast<char>(c[pos] ^ (1 << (rng() % 8))); break;  // bit flip
        case 2: c[pos] = static_cast<char>(0xFF); break;                   // long varints / lengths
        case 3: c.erase(pos, 1 + rng() % 3); if (c.empty()) c = "x"; break;  // deletion
      }
    }
    try {
      touchEverything(parse(c).graph);
      ++parsed;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << ": " << e.what();
    }
  }
  std::cout << "[          ] " << parsed << " of 300 corrupted models still parsed\n";
}

TEST(OnnxReader, AbsurdClaimedLength) {
  w::Msg m;
  m.int64(1, 8).key(7, 2);
  w::Msg::putVarint(m.bytes, 1ull << 40);  // ModelProto.graph claims 1 TiB
  m.bytes += "abc";
  std::string e = errorOf([&] { parse(m.bytes); });
  EXPECT_NE(e.find("length 1099511627776 exceeds the 3 remaining bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("ModelProto.graph"), std::string::npos) << e;
  EXPECT_NE(e.find("offset 3"), std::string::npos) << e;

  // raw_data claiming 2^62 bytes inside a tensor.
  w::Msg t = w::tensorHeader("w", w::FLOAT, {4});
  t.key(9, 2);
  w::Msg::putVarint(t.bytes, 1ull << 62);
  w::Msg g;
  g.msg(5, t);
  e = errorOf([&] { parse(w::Msg().msg(7, g).bytes); });
  EXPECT_NE(e.find("TensorProto.raw_data"), std::string::npos) << e;

  // A packed field whose length exceeds the message.
  w::Msg t2 = w::tensorHeader("w", w::FLOAT, {4});
  t2.key(4, 2);
  w::Msg::putVarint(t2.bytes, 1ull << 33);
  e = errorOf([&] { parse(w::Msg().msg(7, w::Msg().msg(5, t2)).bytes); });
  EXPECT_NE(e.find("TensorProto.float_data"), std::string::npos) << e;
}

TEST(OnnxReader, Varint11BytesInModel) {
  std::string b = bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  std::string e = errorOf([&] { parse(b); });
  EXPECT_NE(e.find("longer than 10 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("offset 1"), std::string::npos) << e;
  EXPECT_NE(e.find("ModelProto.ir_version"), std::string::npos) << e;
}

TEST(OnnxReader, WrongWireTypeForKnownField) {
  std::string e = errorOf([&] { parse(w::Msg().str(1, "eight").bytes); });
  EXPECT_NE(e.find("ModelProto.ir_version"), std::string::npos) << e;
  EXPECT_NE(e.find("wire type length-delimited"), std::string::npos) << e;
}

TEST(OnnxReader, NestingLimit) {
  // Graph -> node -> attribute -> graph ... : every If level adds three message levels.
  auto nested = [](int levels) {
    w::GraphSpec leaf;
    leaf.nodes = {w::node("Identity", {"x"}, {"y"})};
    w::Msg g = w::graph(leaf);
    for (int i = 0; i < levels; ++i) {
      w::GraphSpec s;
      s.name = "level" + std::to_string(i);
      s.nodes = {w::node("If", {"c"}, {"y"}, "", {w::attrGraph("then_branch", g)})};
      g = w::graph(s);
    }
    return w::model(g).bytes;
  };
  onnx::Model ok = parse(nested(20));  // graph at level 1 + 3*20 = 61
  const onnx::Graph* g = &ok.graph;
  int depth = 0;
  while (!g->nodes.empty() && g->nodes[0].opType == "If") {
    g = g->nodes[0].attributes[0].g.get();
    ++depth;
  }
  EXPECT_EQ(depth, 20);
  std::string e = errorOf([&] { parse(nested(22)); });
  EXPECT_NE(e.find("nested deeper than 64 levels"), std::string::npos) << e;
  e = errorOf([&] { parse(nested(400)); });  // far beyond: still a clean error, no stack overflow
  EXPECT_NE(e.find("nested deeper than 64 levels"), std::string::npos) << e;
}

TEST(OnnxReader, EmptyAndUnknownOnly) {
  onnx::Model m = parse("");
  EXPECT_FALSE(m.hasGraph);
  EXPECT_EQ(m.irVersion, 0);
  onnx::Model u = parse(w::Msg().varint(1000, 5).fixed64(2000, 1).key(3000, 3).key(3000, 4).bytes);
  EXPECT_FALSE(u.hasGraph);
}

// ---------------------------------------------------------------------------------------------------------
// ONNX's own test models, when the Debian package libonnx-testdata (or an onnx checkout) is installed.

TEST(OnnxReader, OnnxTestDataModels) {
  std::vector<std::string> roots = {"/usr/include/onnx/backend/test/data", "/usr/share/onnx", "/usr/share/libonnx-testdata",
                                    "/usr/lib/python3/dist-packages/onnx/backend/test/data"};
  if (const char* dir = std::getenv("KILN_ONNX_TESTDATA_DIR")) roots.insert(roots.begin(), dir);  // elsewhere
  std::vector<std::string> models;
  for (const auto& root : roots) {
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) continue;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == "model.onnx") models.push_back(it->path().string());
    }
  }
  if (models.empty()) GTEST_SKIP() << "no ONNX test data (libonnx-testdata) installed";
  int tensors = 0;
  for (const auto& path : models) {
    try {
      onnx::Model m = onnx::loadModelFile(path);
      EXPECT_TRUE(m.hasGraph) << path;
      tensors += static_cast<int>(m.graph.initializers.size());
    } catch (const Error& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
  std::cout << "[          ] parsed " << models.size() << " ONNX test models (" << tensors << " initializers)\n";
}
