// Fuzz target: the protobuf wire decoder (src/onnx/proto_reader.h) on arbitrary bytes, decoded as a tree
// of nested messages: every length-delimited field is tried as a sub-message (to a bounded depth), as a
// packed repeated field of each scalar kind, as bytes and as a string. Failures must throw kiln::Error.
#include "fuzz_common.h"
#include "onnx/proto_reader.h"

namespace {

using kiln::onnx::ByteSpan;
using kiln::onnx::ProtoReader;
using kiln::onnx::WireType;

constexpr int kMaxDepth = 24;

void walk(ProtoReader r, int depth);

void tryPacked(const ByteSpan& s) {
  auto attempt = [&](auto fn) {
    ProtoReader r(s.data, s.size, s.offset);
    try {
      fn(r);
    } catch (const kiln::Error&) {
    }
  };
  attempt([](ProtoReader& r) { std::vector<int64_t> v; r.readRepeatedVarint(WireType::kLEN, v, "varints"); });
  attempt([](ProtoReader& r) { std::vector<uint64_t> v; r.readRepeatedVarint(WireType::kLEN, v, "uvarints"); });
  attempt([](ProtoReader& r) { std::vector<int32_t> v; r.readRepeatedInt32(WireType::kLEN, v, "int32s"); });
  attempt([](ProtoReader& r) { std::vector<float> v; r.readRepeatedFloat(WireType::kLEN, v, "floats"); });
  attempt([](ProtoReader& r) { std::vector<double> v; r.readRepeatedDouble(WireType::kLEN, v, "doubles"); });
  attempt([](ProtoReader& r) { std::vector<uint64_t> v; r.readRepeatedFixed64(WireType::kLEN, v, "fixed64s"); });
}

void walk(ProtoReader r, int depth) {
  uint32_t field = 0;
  WireType wt{};
  while (r.nextField(&field, &wt)) {
    switch (wt) {
      case WireType::kVARINT:
        if (field % 2) (void)r.readSInt64("sint64");
        else (void)r.readVarint("varint");
        break;
      case WireType::kFIXED64:
        if (field % 2) (void)r.readDouble("double");
        else (void)r.readFixed64("fixed64");
        break;
      case WireType::kFIXED32:
        if (field % 2) (void)r.readFloat("float");
        else (void)r.readFixed32("fixed32");
        break;
      case WireType::kLEN: {
        ProtoReader copy = r;  // the same field read three ways
        ByteSpan s = copy.readBytes("bytes");
        (void)r.readString("string");
        tryPacked(s);
        if (depth < kMaxDepth) {
          try {
            walk(ProtoReader(s.data, s.size, s.offset), depth + 1);
          } catch (const kiln::Error&) {
          }
        }
        break;
      }
      default:
        r.skipField(field, wt, "group");
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    walk(ProtoReader(data, size), 0);
  } catch (const kiln::Error&) {
  }
  // Unpacked repeated reads and skipping of every wire type, at the top level.
  try {
    ProtoReader r(data, size);
    uint32_t field = 0;
    WireType wt{};
    while (r.nextField(&field, &wt)) {
      ProtoReader copy = r;
      r.skipField(field, wt, "skip");
      std::vector<int64_t> v;
      std::vector<float> f;
      try {
        if (wt == WireType::kVARINT) copy.readRepeatedVarint(wt, v, "unpacked varint");
        else if (wt == WireType::kFIXED32) copy.readRepeatedFloat(wt, f, "unpacked float");
      } catch (const kiln::Error&) {
      }
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
