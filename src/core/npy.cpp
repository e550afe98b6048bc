#include "core/npy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

namespace kiln::npy {

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::kINVALID_ARGUMENT, what); }

struct TypeEntry {
  DataType dtype;
  char kind;
  std::size_t size;
};
constexpr TypeEntry kTypes[] = {
    {DataType::kFLOAT, 'f', 4},  {DataType::kDOUBLE, 'f', 8}, {DataType::kHALF, 'f', 2},
    {DataType::kINT8, 'i', 1},   {DataType::kINT16, 'i', 2},  {DataType::kINT32, 'i', 4},
    {DataType::kINT64, 'i', 8},  {DataType::kUINT8, 'u', 1},  {DataType::kUINT16, 'u', 2},
    {DataType::kUINT32, 'u', 4}, {DataType::kUINT64, 'u', 8}, {DataType::kBOOL, 'b', 1},
};

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() > 40) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

DataType parseDescr(const std::string& d) {
  std::string quoted(1, '\'');
  quoted += printable(d);
  quoted += '\'';
  if (d.size() < 2) fail(".npy header: unsupported dtype " + quoted);
  char order = d[0];
  char kind = d[1];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    fail(".npy header: dtype " + quoted + " has no byte-order character ('<', '>' or '|')");
  }
  if (kind == 'O') fail(".npy header: object arrays (dtype " + quoted + ") are not supported");
  std::size_t size = 0;
  if (d.size() < 3 || d.size() > 4) fail(".npy header: unsupported dtype " + quoted);
  for (std::size_t i = 2; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9') fail(".npy header: unsupported dtype " + quoted);
    size = size * 10 + static_cast<std::size_t>(d[i] - '0');
  }
  for (const auto& t : kTypes) {
    if (t.kind != kind || t.size != size) continue;
    if (size == 1) return t.dtype;  // byte order is meaningless for one-byte types
    if (order == '>') {
      fail(".npy header: big-endian dtype " + quoted +
           " is not supported (convert with array.astype(array.dtype.newbyteorder('<')))");
    }
    if (order != '<') fail(".npy header: dtype " + quoted + " must be little-endian ('<')");
    return t.dtype;
  }
  fail(".npy header: unsupported dtype " + quoted +
       " (supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)");
}

//! Strict parser of the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skipWs();
    expect('{', "the header must start with '{'");
    while (true) {
      skipWs();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parseString("a quoted key");
      skipWs();
      expect(':', "expected ':' after key '" + printable(key) + "'");
      skipWs();
      if (key == "descr") {
        if (haveDescr) error("duplicate key 'descr'");
        haveDescr = true;
        if (peek() == '[') error("structured dtypes are not supported");
        descr = parseString("a quoted dtype string for 'descr'");
      } else if (key == "fortran_order") {
        if (haveFortran) error("duplicate key 'fortran_order'");
        haveFortran = true;
        fortran = parseBool();
      } else if (key == "shape") {
        if (haveShape) error("duplicate key 'shape'");
        haveShape = true;
        shape = parseShape();
      } else {
        error("unknown key '" + printable(key) + "' (expected 'descr', 'fortran_order' and 'shape')");
      }
      skipWs();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      error("expected ',' or '}' after the value of '" + key + "'");
    }
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') error("unexpected text after the closing '}'");
      ++pos_;
    }
    if (!haveDescr) fail(".npy header: missing key 'descr'");
    if (!haveFortran) fail(".npy header: missing key 'fortran_order'");
    if (!haveShape) fail(".npy header: missing key 'shape'");
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(".npy header: " + what + " at header offset " + std::to_string(pos_));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c, const std::string& what) {
    if (pos_ >= s_.size() || s_[pos_] != c) error(what);
    ++pos_;
  }
  std::string parseString(const char* what) {
    char q = peek();
    if (q != '\'' && q != '"') error(std::string("expected ") + what);
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) error("unterminated string");
      char c = s_[pos_++];
      if (c == q) break;
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '\\') error("escape sequences in strings are not supported");
      if (u < 0x20 || u >= 0x7f) error("non-printable character in string");
      out += c;
    }
    return out;
  }
  bool matchWord(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    std::size_t end = pos_ + w.size();
    if (end < s_.size()) {
      char c = s_[end];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return false;
    }
    pos_ = end;
    return true;
  }
  bool parseBool() {
    if (matchWord("True")) return true;
    if (matchWord("False")) return false;
    error("expected True or False for 'fortran_order'");
  }
  int64_t parseInt() {
    std::size_t start = pos_;
    if (peek() == '-') error("negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') error("expected a non-negative integer in 'shape'");
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10)
        error("dimension in 'shape' is too large");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ - start > 1 && s_[start] == '0') {
      pos_ = start;
      error("dimension with leading zeros in 'shape'");
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal, written by old NumPy versions
    return static_cast<int64_t>(v);
  }
  std::vector<int64_t> parseShape() {
    std::vector<int64_t> shape;
    expect('(', "expected a tuple '(...)' for 'shape'");
    skipWs();
    if (peek() == ')') {
      ++pos_;
      return shape;
    }
    bool trailingComma = false;
    while (true) {
      skipWs();
      if (shape.size() >= kMaxRank) error("'shape' has more than " + std::to_string(kMaxRank) + " dimensions");
      shape.push_back(parseInt());
      skipWs();
      trailingComma = false;
      if (peek() == ',') {
        ++pos_;
        trailingComma = true;
        skipWs();
        if (peek() == ')') break;
        continue;
      }
      if (peek() == ')') break;
      error("expected ',' or ')' in 'shape'");
    }
    ++pos_;  // ')'
    if (shape.size() == 1 && !trailingComma) {
      error("'shape' of rank 1 must be written as a tuple '(n,)'");
    }
    return shape;
  }

  std::string_view s_;
  std::size_t pos_{0};
};

//! Bytes of an array of `shape` and `elemSize`; throws on overflow.
std::size_t byteSize(const std::vector<int64_t>& shape, std::size_t elemSize) {
  uint64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension " + std::to_string(d) + " in shape");
    if (d == 0) zero = true;
  }
  if (zero) return 0;
  const uint64_t limit = std::min<uint64_t>(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                                            static_cast<uint64_t>(std::numeric_limits<std::size_t>::max()));
  for (int64_t d : shape) {
    uint64_t ud = static_cast<uint64_t>(d);
    if (n > limit / ud) fail("the shape's element count overflows");
    n *= ud;
  }
  if (elemSize != 0 && n > limit / elemSize) fail("the shape's byte size overflows");
  return static_cast<std::size_t>(n * elemSize);
}

}  // namespace

int64_t Array::numel() const noexcept {
  // A zero extent makes the array empty whatever the other extents are (the reader accepts e.g. (5, 2^40,
  // 2^40, 0)): check for it before multiplying, or the product would overflow and report -1.
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

std::string descrOf(DataType dtype) {
  for (const auto& t : kTypes) {
    if (t.dtype != dtype) continue;
    std::string s;
    s += t.size == 1 ? '|' : '<';
    s += t.kind;
    s += std::to_string(t.size);
    return s;
  }
  fail(std::string("data type ") + dataTypeName(dtype) + " has no .npy equivalent (convert it to float32)");
}

Array read(const void* bytes, std::size_t size) {
  if (bytes == nullptr && size != 0) fail("null .npy data");
  const auto* p = static_cast<const unsigned char*>(bytes);
  const std::size_t magicBytes = std::min(size, sizeof kMagic);
  if (magicBytes == 0 || std::memcmp(p, kMagic, magicBytes) != 0)
    fail("not a .npy file (the magic string \\x93NUMPY is missing)");
  if (size < 10) fail("truncated .npy file (" + std::to_string(size) + " bytes, shorter than the preamble)");
  unsigned major = p[6], minor = p[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
         " (supported: 1.0, 2.0, 3.0)");
  }
  std::size_t prefix = major == 1 ? 10 : 12;
  if (size < prefix) fail("truncated .npy file (" + std::to_string(size) + " bytes, shorter than the preamble)");
  std::size_t headerLen =
      major == 1 ? static_cast<std::size_t>(p[8]) | static_cast<std::size_t>(p[9]) << 8
                 : static_cast<std::size_t>(p[8]) | static_cast<std::size_t>(p[9]) << 8 |
                       static_cast<std::size_t>(p[10]) << 16 | static_cast<std::size_t>(p[11]) << 24;
  if (headerLen > size - prefix) {
    fail("truncated .npy file (the header claims " + std::to_string(headerLen) + " bytes, only " +
         std::to_string(size - prefix) + " follow)");
  }
  if (headerLen == 0) fail(".npy header is empty");
  std::string_view header(reinterpret_cast<const char*>(p + prefix), headerLen);
  if (header.back() != '\n') fail(".npy header does not end with a newline (truncated or damaged header)");

  std::string descr;
  bool fortran = false;
  Array a;
  HeaderParser(header).parse(descr, fortran, a.shape);
  a.dtype = parseDescr(descr);
  if (fortran) {
    fail(".npy file is in Fortran order, which is not supported (save it with np.save(path, "
         "np.ascontiguousarray(array)))");
  }
  std::size_t need = byteSize(a.shape, dataTypeSize(a.dtype));
  std::size_t have = size - prefix - headerLen;
  if (have != need) {
    fail(std::string(have < need ? "truncated" : "oversized") + " .npy data: the header claims " +
         std::to_string(need) + " bytes of data, the file holds " + std::to_string(have));
  }
  a.data.assign(p + prefix + headerLen, p + size);
  return a;
}

std::vector<uint8_t> write(const Array& a) {
  std::string descr = descrOf(a.dtype);
  if (a.shape.size() > kMaxRank) fail("cannot write a .npy array of rank " + std::to_string(a.shape.size()));
  std::size_t need = byteSize(a.shape, dataTypeSize(a.dtype));
  if (a.data.size() != need) {
    fail("cannot write .npy: the array's data holds " + std::to_string(a.data.size()) + " bytes, its shape needs " +
         std::to_string(need));
  }
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(a.shape[i]);
  }
  if (a.shape.size() == 1) dict += ",";
  dict += "), }";
  std::size_t prefix = 10;
  std::size_t total = prefix + dict.size() + 1;
  std::size_t padded = (total + 63) / 64 * 64;
  if (padded - prefix > 65535) {
    prefix = 12;
    total = prefix + dict.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  std::size_t headerLen = padded - prefix;
  dict.append(padded - total, ' ');
  dict += '\n';

  std::vector<uint8_t> out;
  out.reserve(padded + a.data.size());
  for (unsigned char c : kMagic) out.push_back(c);
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(headerLen & 0xff));
  out.push_back(static_cast<uint8_t>((headerLen >> 8) & 0xff));
  if (prefix == 12) {
    out.push_back(static_cast<uint8_t>((headerLen >> 16) & 0xff));
    out.push_back(static_cast<uint8_t>((headerLen >> 24) & 0xff));
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

namespace {
struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f) std::fclose(f);
  }
};
}  // namespace

Array readFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  constexpr std::size_t kChunk = 1 << 20;
  while (true) {
    std::size_t old = bytes.size();
    bytes.resize(old + kChunk);
    std::size_t got = std::fread(bytes.data() + old, 1, kChunk, f.get());
    bytes.resize(old + got);
    if (got < kChunk) {
      if (std::ferror(f.get())) fail("cannot read '" + path + "': " + std::strerror(errno));
      break;
    }
  }
  try {
    return read(bytes.data(), bytes.size());
  } catch (const Error& e) {
    fail("'" + path + "': " + e.message());
  }
}

void writeFile(const std::string& path, const Array& a) {
  std::vector<uint8_t> bytes = write(a);
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) fail("cannot create '" + path + "': " + std::strerror(errno));
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    fail("cannot write '" + path + "': " + std::strerror(errno));
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0) fail("cannot write '" + path + "': " + std::strerror(errno));
}

}  // namespace kiln::npy
