#include "onnx/proto_reader.h"

#include <cstring>

#include "kiln/types.h"

namespace kiln::onnx {

const char* wireTypeName(WireType wt) noexcept {
  switch (wt) {
    case WireType::kVARINT: return "varint";
    case WireType::kFIXED64: return "fixed64";
    case WireType::kLEN: return "length-delimited";
    case WireType::kSTART_GROUP: return "start-group";
    case WireType::kEND_GROUP: return "end-group";
    case WireType::kFIXED32: return "fixed32";
  }
  return "invalid";
}

ProtoReader::ProtoReader(const void* data, std::size_t size, std::size_t baseOffset) noexcept
    : data_(static_cast<const uint8_t*>(data)), size_(data ? size : 0), base_(baseOffset) {}

void ProtoReader::fail(std::size_t absOffset, const char* what, const std::string& message) const {
  throw Error(ErrorCode::kINVALID_ARGUMENT, "protobuf: " + message + " at byte offset " + std::to_string(absOffset) +
                                                " (reading " + (what ? what : "?") + ")");
}

void ProtoReader::expectWireType(WireType wt, WireType expected, const char* what) const {
  if (wt != expected) {
    fail(offset(), what,
         std::string("wire type ") + wireTypeName(wt) + " where " + wireTypeName(expected) + " was expected");
  }
}

uint64_t ProtoReader::readVarint(const char* what) {
  const std::size_t start = pos_;
  uint64_t value = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ >= size_) fail(base_ + start, what, "truncated varint");
    const uint8_t b = data_[pos_++];
    if (i == 9 && (b & 0x7F) > 1) fail(base_ + start, what, "varint overflows 64 bits");
    value |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  fail(base_ + start, what, "varint longer than 10 bytes");
}

bool ProtoReader::nextField(uint32_t* field, WireType* wireType) {
  if (atEnd()) return false;
  const std::size_t start = offset();
  const uint64_t key = readVarint("field key");
  const uint64_t number = key >> 3;
  const uint32_t wt = static_cast<uint32_t>(key & 7);
  if (number == 0) fail(start, "field key", "field number 0");
  if (number > 0x1FFFFFFFu) fail(start, "field key", "field number " + std::to_string(number) + " out of range");
  if (wt > 5) fail(start, "field key", "invalid wire type " + std::to_string(wt));
  *field = static_cast<uint32_t>(number);
  *wireType = static_cast<WireType>(wt);
  return true;
}

uint32_t ProtoReader::readFixed32(const char* what) {
  if (remaining() < 4) fail(offset(), what, "truncated fixed32 (" + std::to_string(remaining()) + " bytes left)");
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(data_[pos_ + i]) << (8 * i);
  pos_ += 4;
  return v;
}

uint64_t ProtoReader::readFixed64(const char* what) {
  if (remaining() < 8) fail(offset(), what, "truncated fixed64 (" + std::to_string(remaining()) + " bytes left)");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
  pos_ += 8;
  return v;
}

float ProtoReader::readFloat(const char* what) {
  uint32_t u = readFixed32(what);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

double ProtoReader::readDouble(const char* what) {
  uint64_t u = readFixed64(what);
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

ByteSpan ProtoReader::readBytes(const char* what) {
  const std::size_t start = offset();
  const uint64_t len = readVarint(what);
  if (len > remaining()) {
    fail(start, what,
         "length " + std::to_string(len) + " exceeds the " + std::to_string(remaining()) + " remaining bytes");
  }
  ByteSpan s{data_ + pos_, static_cast<std::size_t>(len), offset()};
  pos_ += static_cast<std::size_t>(len);
  return s;
}

std::string ProtoReader::readString(const char* what) {
  ByteSpan s = readBytes(what);
  return std::string(reinterpret_cast<const char*>(s.data), s.size);
}

ProtoReader ProtoReader::readMessage(const char* what) {
  ByteSpan s = readBytes(what);
  return ProtoReader(s.data, s.size, s.offset);
}

void ProtoReader::skipField(uint32_t field, WireType wireType, const char* what) {
  switch (wireType) {
    case WireType::kVARINT: readVarint(what); return;
    case WireType::kFIXED64: readFixed64(what); return;
    case WireType::kFIXED32: readFixed32(what); return;
    case WireType::kLEN: readBytes(what); return;
    case WireType::kEND_GROUP: fail(offset(), what, "unexpected end-group for field " + std::to_string(field));
    case WireType::kSTART_GROUP: break;
  }
  // A group: skip fields until the matching end-group, tracking nested groups without recursion.
  const std::size_t start = offset();
  uint32_t stack[kMaxGroupDepth];
  int depth = 0;
  stack[depth++] = field;
  while (depth > 0) {
    uint32_t f = 0;
    WireType wt{};
    if (!nextField(&f, &wt)) fail(start, what, "unterminated group (field " + std::to_string(field) + ")");
    if (wt == WireType::kSTART_GROUP) {
      if (depth >= kMaxGroupDepth) fail(offset(), what, "groups nested too deeply");
      stack[depth++] = f;
    } else if (wt == WireType::kEND_GROUP) {
      if (stack[depth - 1] != f) {
        fail(offset(), what,
             "end-group for field " + std::to_string(f) + " closes group " + std::to_string(stack[depth - 1]));
      }
      --depth;
    } else {
      skipField(f, wt, what);  // not a group: no further recursion
    }
  }
}

template <class T, class ReadOne>
void ProtoReader::readPackedOrOne(WireType wt, WireType scalarWt, std::size_t fixedBytes, std::vector<T>& out,
                                  const char* what, ReadOne readOne) {
  if (wt == scalarWt) {
    out.push_back(readOne(*this));
    return;
  }
  if (wt != WireType::kLEN) {
    fail(offset(), what,
         std::string("wire type ") + wireTypeName(wt) + " for a repeated " + wireTypeName(scalarWt) + " field");
  }
  ProtoReader sub = readMessage(what);
  if (fixedBytes != 0) {
    if (sub.size_ % fixedBytes != 0) {
      fail(sub.base_, what,
           "packed payload of " + std::to_string(sub.size_) + " bytes is not a multiple of " +
               std::to_string(fixedBytes));
    }
    out.reserve(out.size() + sub.size_ / fixedBytes);
  }
  while (!sub.atEnd()) out.push_back(readOne(sub));
}

void ProtoReader::readRepeatedVarint(WireType wt, std::vector<int64_t>& out, const char* what) {
  readPackedOrOne(wt, WireType::kVARINT, 0, out, what, [what](ProtoReader& r) { return r.readInt64(what); });
}
void ProtoReader::readRepeatedVarint(WireType wt, std::vector<uint64_t>& out, const char* what) {
  readPackedOrOne(wt, WireType::kVARINT, 0, out, what, [what](ProtoReader& r) { return r.readVarint(what); });
}
void ProtoReader::readRepeatedInt32(WireType wt, std::vector<int32_t>& out, const char* what) {
  readPackedOrOne(wt, WireType::kVARINT, 0, out, what, [what](ProtoReader& r) { return r.readInt32(what); });
}
void ProtoReader::readRepeatedFloat(WireType wt, std::vector<float>& out, const char* what) {
  readPackedOrOne(wt, WireType::kFIXED32, 4, out, what, [what](ProtoReader& r) { return r.readFloat(what); });
}
void ProtoReader::readRepeatedDouble(WireType wt, std::vector<double>& out, const char* what) {
  readPackedOrOne(wt, WireType::kFIXED64, 8, out, what, [what](ProtoReader& r) { return r.readDouble(what); });
}
void ProtoReader::readRepeatedFixed64(WireType wt, std::vector<uint64_t>& out, const char* what) {
  readPackedOrOne(wt, WireType::kFIXED64, 8, out, what, [what](ProtoReader& r) { return r.readFixed64(what); });
}

}  // namespace kiln::onnx
