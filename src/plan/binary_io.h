// Little-endian binary writer and a bounds-checked reader for the plan's structured section.
// The reader is the plan verifier's first line: every read checks the remaining length and every count
// is checked against what could possibly fit before anything is allocated.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kiln/types.h"

namespace kiln::plan {

class Writer {
 public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void i32(int32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f64(double v) { raw(&v, 8); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void alignTo(std::size_t a) {
    while (buf_.size() % a) buf_.push_back(0);
  }
  std::size_t size() const noexcept { return buf_.size(); }
  std::vector<uint8_t>& bytes() noexcept { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

class Reader {
 public:
  Reader(const void* data, std::size_t size, const char* what)
      : p_(static_cast<const uint8_t*>(data)), size_(size), what_(what) {}
  uint8_t u8() { return get<uint8_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  int32_t i32() { return get<int32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int64_t i64() { return get<int64_t>(); }
  double f64() { return get<double>(); }
  std::string str(std::size_t maxLen = 1u << 20) {
    uint32_t n = u32();
    if (n > maxLen) fail("string of " + std::to_string(n) + " bytes is longer than allowed");
    need(n);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  //! Reads a count of items each at least `minItemBytes` long; fails if they could not fit.
  uint32_t count(std::size_t minItemBytes, uint32_t maxCount = 1u << 24) {
    uint32_t n = u32();
    if (n > maxCount || static_cast<uint64_t>(n) * minItemBytes > remaining())
      fail("count " + std::to_string(n) + " exceeds what the section can hold");
    return n;
  }
  std::size_t remaining() const noexcept { return size_ - pos_; }
  std::size_t position() const noexcept { return pos_; }
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(ErrorCode::kINVALID_PLAN, std::string(what_) + " at byte " + std::to_string(pos_) + ": " + msg);
  }

 private:
  void need(std::size_t n) const {
    if (n > remaining()) fail("truncated (needs " + std::to_string(n) + " more bytes, " + std::to_string(remaining()) + " left)");
  }
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const uint8_t* p_;
  std::size_t size_;
  std::size_t pos_{0};
  const char* what_;
};

}  // namespace kiln::plan
