// Tests of the .npy reader/writer (src/core/npy.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/dtype.h"
#include "core/npy.h"

namespace kiln {
namespace {

std::vector<uint8_t> bytesOf(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

//! A file with a hand-written header: preamble of `version` + header text (used verbatim) + data.
std::vector<uint8_t> makeFile(int version, const std::string& header, const std::vector<uint8_t>& data,
                              int64_t claimedHeaderLen = -1) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(version), 0};
  uint64_t len = claimedHeaderLen >= 0 ? static_cast<uint64_t>(claimedHeaderLen) : header.size();
  out.push_back(static_cast<uint8_t>(len & 0xff));
  out.push_back(static_cast<uint8_t>((len >> 8) & 0xff));
  if (version >= 2) {
    out.push_back(static_cast<uint8_t>((len >> 16) & 0xff));
    out.push_back(static_cast<uint8_t>((len >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

npy::Array readBytes(const std::vector<uint8_t>& b) { return npy::read(b.data(), b.size()); }

//! Expects read() to throw kiln::Error(kINVALID_ARGUMENT) whose message contains `fragment`.
void expectReject(const std::vector<uint8_t>& b, const std::string& fragment = "") {
  try {
    npy::read(b.data(), b.size());
    ADD_FAILURE() << "accepted a malformed file" << (fragment.empty() ? "" : " (expected: " + fragment + ")");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT);
    if (!fragment.empty()) {
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than kiln::Error: " << e.what();
  }
}

std::vector<uint8_t> f32Data(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

const std::vector<DataType> kAllTypes = {
    DataType::kFLOAT, DataType::kDOUBLE, DataType::kHALF,   DataType::kINT8,   DataType::kINT16,
    DataType::kINT32, DataType::kINT64,  DataType::kUINT8,  DataType::kUINT16, DataType::kUINT32,
    DataType::kUINT64, DataType::kBOOL};

npy::Array randomArray(DataType t, std::vector<int64_t> shape, uint32_t seed) {
  npy::Array a;
  a.dtype = t;
  a.shape = std::move(shape);
  int64_t n = a.numel();
  a.data.resize(static_cast<size_t>(n) * dataTypeSize(t));
  std::mt19937 rng(seed);
  for (auto& b : a.data) b = static_cast<uint8_t>(rng());
  if (t == DataType::kBOOL)
    for (auto& b : a.data) b &= 1;
  return a;
}

TEST(Npy, DescrOfEveryType) {
  EXPECT_EQ(npy::descrOf(DataType::kFLOAT), "<f4");
  EXPECT_EQ(npy::descrOf(DataType::kDOUBLE), "<f8");
  EXPECT_EQ(npy::descrOf(DataType::kHALF), "<f2");
  EXPECT_EQ(npy::descrOf(DataType::kINT8), "|i1");
  EXPECT_EQ(npy::descrOf(DataType::kINT16), "<i2");
  EXPECT_EQ(npy::descrOf(DataType::kINT32), "<i4");
  EXPECT_EQ(npy::descrOf(DataType::kINT64), "<i8");
  EXPECT_EQ(npy::descrOf(DataType::kUINT8), "|u1");
  EXPECT_EQ(npy::descrOf(DataType::kUINT16), "<u2");
  EXPECT_EQ(npy::descrOf(DataType::kUINT32), "<u4");
  EXPECT_EQ(npy::descrOf(DataType::kUINT64), "<u8");
  EXPECT_EQ(npy::descrOf(DataType::kBOOL), "|b1");
  EXPECT_THROW(npy::descrOf(DataType::kBF16), Error);
}

TEST(Npy, RoundTripEveryTypeAndShape) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {1}, {7}, {2, 3}, {3, 0, 2}, {2, 1, 3, 4}, {1, 1, 1, 1, 1, 1, 1, 1, 2}};
  uint32_t seed = 1;
  for (DataType t : kAllTypes) {
    for (const auto& shape : shapes) {
      npy::Array a = randomArray(t, shape, seed++);
      std::vector<uint8_t> bytes = npy::write(a);
      EXPECT_EQ(bytes.size() % 64, a.data.size() % 64) << "header not padded to 64 bytes";
      npy::Array b = readBytes(bytes);
      EXPECT_EQ(b.dtype, a.dtype) << dataTypeName(t);
      EXPECT_EQ(b.shape, a.shape) << dataTypeName(t);
      EXPECT_EQ(b.data, a.data) << dataTypeName(t);
    }
  }
}

TEST(Npy, WriterMatchesNumPyLayout) {
  npy::Array a;
  a.dtype = DataType::kFLOAT;
  a.shape = {2, 3};
  a.data = f32Data({0, 1, 2, 3, 4, 5});
  std::vector<uint8_t> bytes = npy::write(a);
  // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) writes a 1.0 header padded to 128 bytes.
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ(bytes[8] | bytes[9] << 8, 118);
  std::string header(bytes.begin() + 10, bytes.begin() + 128);
  EXPECT_EQ(header.substr(0, header.find('}') + 1), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(header.back(), '\n');

  a.shape = {6};
  bytes = npy::write(a);
  header.assign(bytes.begin() + 10, bytes.end());
  EXPECT_EQ(header.substr(0, header.find('}') + 1), "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }");

  a.shape = {};
  a.data = f32Data({1});
  bytes = npy::write(a);
  header.assign(bytes.begin() + 10, bytes.end());
  EXPECT_EQ(header.substr(0, header.find('}') + 1), "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
}

TEST(Npy, ZeroDimArrayHasOneElement) {
  npy::Array a = readBytes(makeFile(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n",
                                    std::vector<uint8_t>{42, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(a.dtype, DataType::kINT64);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.numel(), 1);
  int64_t v;
  std::memcpy(&v, a.data.data(), 8);
  EXPECT_EQ(v, 42);
}

TEST(Npy, HandMadeVersion1Header) {
  auto data = f32Data({1.5f, -2.f, 3.f, 4.f});
  npy::Array a = readBytes(makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }      \n", data));
  EXPECT_EQ(a.dtype, DataType::kFLOAT);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.data, data);
}

TEST(Npy, HandMadeVersion2And3Headers) {
  auto data = f32Data({1, 2, 3});
  for (int v : {2, 3}) {
    npy::Array a = readBytes(makeFile(v, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
    EXPECT_EQ(a.data, data);
  }
}

TEST(Npy, LenientButValidHeaderSpellings) {
  auto data = f32Data({1, 2});
  // Other key order, double quotes, no trailing comma, extra whitespace, Python 2 long literals.
  const char* headers[] = {
      "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}\n",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}\n",
      "  { 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , ) , }  \n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }\r\n",
  };
  for (const char* h : headers) {
    npy::Array a = readBytes(makeFile(1, h, data));
    EXPECT_EQ(a.numel(), 2) << h;
  }
  // One-byte types with any byte-order character.
  for (const char* d : {"|u1", "<u1", ">u1", "|i1", "|b1"}) {
    npy::Array a = readBytes(makeFile(
        1, std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (3,), }\n", {1, 0, 1}));
    EXPECT_EQ(a.data.size(), 3u) << d;
  }
}

TEST(Npy, ManyDimensionsStillFitVersion1) {
  npy::Array a;
  a.dtype = DataType::kUINT8;
  a.shape.assign(40, 1);
  a.data = {7};
  auto bytes = npy::write(a);
  EXPECT_EQ(bytes[6], 1);  // still fits
  EXPECT_EQ(readBytes(bytes).shape, a.shape);
}

TEST(Npy, RejectsBadMagicAndVersion) {
  auto good = makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", f32Data({1}));
  expectReject({}, "not a .npy file");
  auto b = good;
  b[0] = 0x92;
  expectReject(b, "not a .npy file");
  b = good;
  b[3] = 'X';
  expectReject(b, "not a .npy file");
  expectReject(bytesOf("PK\x03\x04 this is a zip"), "not a .npy file");
  for (int v : {0, 4, 255}) {
    b = good;
    b[6] = static_cast<uint8_t>(v);
    expectReject(b, "version");
  }
  b = good;
  b[7] = 1;
  expectReject(b, "version");
}

TEST(Npy, RejectsEveryTruncation) {
  std::vector<std::vector<uint8_t>> files;
  for (DataType t : {DataType::kFLOAT, DataType::kINT64, DataType::kBOOL})
    files.push_back(npy::write(randomArray(t, {3, 5}, 3)));
  files.push_back(makeFile(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", f32Data({1, 2})));
  files.push_back(npy::write(randomArray(DataType::kFLOAT, {}, 4)));
  for (const auto& f : files) {
    ASSERT_NO_THROW(readBytes(f));
    for (size_t n = 0; n < f.size(); ++n) {
      std::vector<uint8_t> t(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
      expectReject(t);
    }
  }
}

TEST(Npy, RejectsDataSizeMismatch) {
  const std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
  expectReject(makeFile(1, h, f32Data({1, 2, 3})), "truncated .npy data");
  expectReject(makeFile(1, h, f32Data({1, 2, 3, 4, 5})), "oversized .npy data");
  auto d = f32Data({1, 2, 3, 4});
  d.push_back(0);
  expectReject(makeFile(1, h, d), "oversized");
  // Zero-size array followed by stray bytes.
  expectReject(makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }\n", {1}), "oversized");
}

TEST(Npy, RejectsHeaderLengthBeyondFile) {
  const std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
  expectReject(makeFile(1, h, f32Data({1}), 0xffff), "truncated");
  expectReject(makeFile(2, h, f32Data({1}), 0xffffffffLL), "truncated");
  expectReject(makeFile(1, h, {}, 0), "empty");
}

TEST(Npy, RejectsFortranOrder) {
  expectReject(makeFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", f32Data({1, 2, 3, 4})),
               "Fortran order");
}

TEST(Npy, RejectsUnsupportedDtypes) {
  auto data = f32Data({1, 2});
  expectReject(makeFile(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", data), "big-endian");
  expectReject(makeFile(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }\n", data), "big-endian");
  expectReject(makeFile(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }\n", data), "little-endian");
  expectReject(makeFile(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", data), "unsupported dtype");
  expectReject(makeFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", data), "object");
  expectReject(makeFile(1, "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }\n", data), "unsupported dtype");
  expectReject(makeFile(1, "{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }\n", data), "unsupported dtype");
  expectReject(makeFile(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }\n", data), "byte-order");
  expectReject(makeFile(1, "{'descr': '', 'fortran_order': False, 'shape': (2,), }\n", data), "unsupported dtype");
  expectReject(makeFile(1, "{'descr': '<f0004', 'fortran_order': False, 'shape': (2,), }\n", data), "unsupported");
  expectReject(makeFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", data),
               "structured");
}

TEST(Npy, RejectsMalformedHeaderDicts) {
  auto data = f32Data({1, 2});
  const char* bad[] = {
      "",
      "\n",
      "{}\n",
      "{\n",
      "}\n",
      "[]\n",
      "{'descr': '<f4', 'fortran_order': False}\n",
      "{'descr': '<f4', 'shape': (2,)}\n",
      "{'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}\n",
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}\n",
      "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4\", 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<\\f4', 'fortran_order': False, 'shape': (2,)}\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)},\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",  // no newline
  };
  for (const char* h : bad) {
    SCOPED_TRACE(h);
    expectReject(makeFile(1, h, data));
  }
  // Embedded NUL and non-ASCII bytes.
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n";
  std::string nul = h;
  nul[3] = '\0';
  expectReject(makeFile(1, nul, data));
  std::string utf = "{'descr': '<f\xc3\xa9', 'fortran_order': False, 'shape': (2,)}\n";
  expectReject(makeFile(3, utf, data));
}

TEST(Npy, RejectsOverflowingShapes) {
  expectReject(makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", {}),
               "too large");
  expectReject(makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807,), }\n", {}),
               "overflow");
  expectReject(makeFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", {}),
               "overflow");
  expectReject(
      makeFile(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3037000500, 3037000500, 2), }\n", {}),
      "overflow");
  // A zero extent makes the product 0 even if the others are huge: valid and empty.
  npy::Array a = readBytes(
      makeFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 0), }\n", {}));
  EXPECT_EQ(a.numel(), 0);
  EXPECT_TRUE(a.data.empty());
  // Too many dimensions.
  std::string many = "{'descr': '|u1', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 65; ++i) many += "1,";
  many += "), }\n";
  expectReject(makeFile(1, many, {1}), "dimensions");
}

TEST(Npy, RandomMutationsNeverCrash) {
  std::vector<std::vector<uint8_t>> seeds = {
      npy::write(randomArray(DataType::kFLOAT, {2, 3}, 1)),
      npy::write(randomArray(DataType::kINT64, {4}, 2)),
      npy::write(randomArray(DataType::kBOOL, {}, 3)),
      makeFile(2, "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 2), }\n", {1, 2, 3, 4}),
  };
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> f = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0:
          if (!f.empty()) f[rng() % f.size()] = static_cast<uint8_t>(rng());
          break;
        case 1:
          if (!f.empty()) f.erase(f.begin() + static_cast<std::ptrdiff_t>(rng() % f.size()));
          break;
        case 2: f.insert(f.begin() + static_cast<std::ptrdiff_t>(rng() % (f.size() + 1)), static_cast<uint8_t>(rng())); break;
        default: {
          // Replace a header byte with a syntax character.
          const char syms[] = "{}()',:\"0123456789 \nTF-L<>|";
          if (f.size() > 10) f[10 + rng() % (f.size() - 10)] = static_cast<uint8_t>(syms[rng() % (sizeof syms - 1)]);
        }
      }
    }
    try {
      npy::Array a = readBytes(f);
      ++accepted;
      EXPECT_EQ(static_cast<size_t>(a.numel()) * dataTypeSize(a.dtype), a.data.size());
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::kINVALID_ARGUMENT);
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(Npy, WriteRejectsInconsistentArrays) {
  npy::Array a;
  a.dtype = DataType::kFLOAT;
  a.shape = {2, 2};
  a.data.resize(15);
  EXPECT_THROW(npy::write(a), Error);
  a.data.resize(16);
  EXPECT_NO_THROW(npy::write(a));
  a.shape = {-1, 2};
  EXPECT_THROW(npy::write(a), Error);
  a.shape = {2, 2};
  a.dtype = DataType::kBF16;
  a.data.resize(8);
  EXPECT_THROW(npy::write(a), Error);
  a.dtype = static_cast<DataType>(999);
  EXPECT_THROW(npy::write(a), Error);
}

TEST(Npy, FileRoundTripAndErrorsNamePath) {
  auto dir = std::filesystem::temp_directory_path() / ("kiln_npy_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "a.npy").string();
  npy::Array a = randomArray(DataType::kINT32, {3, 4}, 9);
  npy::writeFile(path, a);
  npy::Array b = npy::readFile(path);
  EXPECT_EQ(b.dtype, a.dtype);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.data, a.data);

  std::string missing = (dir / "missing.npy").string();
  try {
    npy::readFile(missing);
    ADD_FAILURE() << "read a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kINVALID_ARGUMENT);
    EXPECT_NE(e.message().find(missing), std::string::npos) << e.message();
  }
  try {
    npy::readFile(dir.string());  // a directory
    ADD_FAILURE() << "read a directory";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(dir.string()), std::string::npos) << e.message();
  }
  std::string bad = (dir / "bad.npy").string();
  {
    std::FILE* f = std::fopen(bad.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("hello", f);
    std::fclose(f);
  }
  try {
    npy::readFile(bad);
    ADD_FAILURE() << "read a non-npy file";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(bad), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("not a .npy file"), std::string::npos) << e.message();
  }
  EXPECT_THROW(npy::writeFile((dir / "no" / "such" / "dir.npy").string(), a), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln
