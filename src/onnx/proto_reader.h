// A read-only, bounds-checked protobuf wire-format decoder over a (pointer, size) buffer.
//
// The reader never recurses: a length-delimited field is handed out as a sub-reader (`readMessage`)
// and the caller decides how deep it goes (the ONNX model reader keeps an explicit depth counter).
// Every failure throws kiln::Error(ErrorCode::kINVALID_ARGUMENT) with the absolute byte offset and a
// description of what was being read. Nothing is allocated from a size read from the input before
// that size has been checked against the bytes that remain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::onnx {

enum class WireType : uint8_t {
  kVARINT = 0,
  kFIXED64 = 1,
  kLEN = 2,
  kSTART_GROUP = 3,
  kEND_GROUP = 4,
  kFIXED32 = 5,
};

const char* wireTypeName(WireType wt) noexcept;

//! A run of bytes inside the decoded buffer; `offset` is the absolute offset of `data`.
struct ByteSpan {
  const uint8_t* data{nullptr};
  std::size_t size{0};
  std::size_t offset{0};
};

class ProtoReader {
 public:
  //! Reads [data, data + size). `baseOffset` is added to every offset reported in errors (used by
  //! sub-readers so messages name offsets in the whole file).
  ProtoReader(const void* data, std::size_t size, std::size_t baseOffset = 0) noexcept;

  bool atEnd() const noexcept { return pos_ >= size_; }
  std::size_t remaining() const noexcept { return size_ - pos_; }
  //! Absolute offset of the next byte to read.
  std::size_t offset() const noexcept { return base_ + pos_; }

  //! Reads the next field key. Returns false at the end of the buffer. Rejects field number 0,
  //! field numbers above 2^29-1 and the wire types 6 and 7.
  bool nextField(uint32_t* field, WireType* wireType);

  // Scalars. `what` names the thing being read for error messages ("TensorProto.dims").
  uint64_t readVarint(const char* what);
  int64_t readInt64(const char* what) { return static_cast<int64_t>(readVarint(what)); }
  //! int32 fields: protobuf writes negative values sign-extended to 10 bytes; the value is truncated.
  int32_t readInt32(const char* what) { return static_cast<int32_t>(readVarint(what)); }
  bool readBool(const char* what) { return readVarint(what) != 0; }
  int64_t readSInt64(const char* what) { return zigzagDecode(readVarint(what)); }
  uint32_t readFixed32(const char* what);
  uint64_t readFixed64(const char* what);
  float readFloat(const char* what);
  double readDouble(const char* what);
  //! A length-delimited payload (length checked against the remaining bytes first).
  ByteSpan readBytes(const char* what);
  std::string readString(const char* what);
  //! A length-delimited payload as a sub-reader (the caller tracks nesting depth).
  ProtoReader readMessage(const char* what);

  //! Skips a field's value of any wire type. Groups are skipped iteratively (nesting up to
  //! kMaxGroupDepth, with matching end-group field numbers); a stray end-group is an error.
  void skipField(uint32_t field, WireType wireType, const char* what);

  // Repeated scalar fields, accepting both the packed (kLEN) and the unpacked encoding.
  // Values are appended to `out`.
  void readRepeatedVarint(WireType wt, std::vector<int64_t>& out, const char* what);
  void readRepeatedVarint(WireType wt, std::vector<uint64_t>& out, const char* what);
  //! int32 semantics (truncating).
  void readRepeatedInt32(WireType wt, std::vector<int32_t>& out, const char* what);
  void readRepeatedFloat(WireType wt, std::vector<float>& out, const char* what);
  void readRepeatedDouble(WireType wt, std::vector<double>& out, const char* what);
  //! fixed64 values.
  void readRepeatedFixed64(WireType wt, std::vector<uint64_t>& out, const char* what);

  //! Throws kiln::Error(kINVALID_ARGUMENT) "protobuf: <message> at byte offset <offset> (reading <what>)".
  [[noreturn]] void fail(std::size_t absOffset, const char* what, const std::string& message) const;
  //! Checks that `wt` is `expected` for a known field; throws otherwise.
  void expectWireType(WireType wt, WireType expected, const char* what) const;

  static int64_t zigzagDecode(uint64_t v) noexcept {
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  static uint64_t zigzagEncode(int64_t v) noexcept {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }

  static constexpr int kMaxGroupDepth = 64;

 private:
  template <class T, class ReadOne>
  void readPackedOrOne(WireType wt, WireType scalarWt, std::size_t minBytes, std::vector<T>& out,
                       const char* what, ReadOne readOne);

  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_{0};
  std::size_t base_;
};

}  // namespace kiln::onnx
