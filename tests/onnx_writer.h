// A tiny protobuf writer for tests: builds ONNX ModelProto bytes in C++ without a protobuf library.
// Field numbers follow ONNX's onnx.proto. Only what tests need; not a general encoder.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace kiln::test::onnxw {

//! One message being written: append fields in any order, then use `bytes`.
struct Msg {
  std::string bytes;

  static void putVarint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  Msg& key(uint32_t field, uint32_t wireType) {
    putVarint(bytes, (static_cast<uint64_t>(field) << 3) | wireType);
    return *this;
  }
  Msg& varint(uint32_t field, uint64_t v) {
    key(field, 0);
    putVarint(bytes, v);
    return *this;
  }
  Msg& int64(uint32_t field, int64_t v) { return varint(field, static_cast<uint64_t>(v)); }
  Msg& fixed32(uint32_t field, uint32_t v) {
    key(field, 5);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  Msg& fixed64(uint32_t field, uint64_t v) {
    key(field, 1);
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  Msg& f32(uint32_t field, float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return fixed32(field, u);
  }
  Msg& str(uint32_t field, const std::string& s) {
    key(field, 2);
    putVarint(bytes, s.size());
    bytes += s;
    return *this;
  }
  Msg& msg(uint32_t field, const Msg& m) { return str(field, m.bytes); }
  Msg& packedVarints(uint32_t field, const std::vector<int64_t>& v) {
    std::string p;
    for (int64_t x : v) putVarint(p, static_cast<uint64_t>(x));
    return str(field, p);
  }
  Msg& packedU64(uint32_t field, const std::vector<uint64_t>& v) {
    std::string p;
    for (uint64_t x : v) putVarint(p, x);
    return str(field, p);
  }
  Msg& packedFloats(uint32_t field, const std::vector<float>& v) {
    return str(field, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  }
  Msg& packedDoubles(uint32_t field, const std::vector<double>& v) {
    return str(field, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
  }
};

// ONNX element type numbers used by the tests.
enum : int32_t {
  FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, STRING = 8, BOOL = 9,
  FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, BFLOAT16 = 16,
};

// TensorProto ----------------------------------------------------------------------------------------------
inline Msg tensorHeader(const std::string& name, int32_t dataType, const std::vector<int64_t>& dims) {
  Msg t;
  t.packedVarints(1, dims).varint(2, static_cast<uint64_t>(dataType)).str(8, name);
  return t;
}
inline Msg tensorRaw(const std::string& name, int32_t dataType, const std::vector<int64_t>& dims,
                     const void* data, std::size_t bytes) {
  Msg t = tensorHeader(name, dataType, dims);
  return t.str(9, std::string(static_cast<const char*>(data), bytes));
}
template <class T>
Msg tensorRaw(const std::string& name, int32_t dataType, const std::vector<int64_t>& dims,
              const std::vector<T>& v) {
  return tensorRaw(name, dataType, dims, v.data(), v.size() * sizeof(T));
}
inline Msg tensorFloats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  return tensorHeader(name, FLOAT, dims).packedFloats(4, v);
}
inline Msg tensorInt32Data(const std::string& name, int32_t dataType, const std::vector<int64_t>& dims,
                           const std::vector<int64_t>& v) {
  return tensorHeader(name, dataType, dims).packedVarints(5, v);
}
inline Msg tensorInt64s(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v) {
  return tensorHeader(name, INT64, dims).packedVarints(7, v);
}
inline Msg tensorExternal(const std::string& name, int32_t dataType, const std::vector<int64_t>& dims,
                          const std::vector<std::pair<std::string, std::string>>& entries) {
  Msg t = tensorHeader(name, dataType, dims);
  for (const auto& [k, v] : entries) t.msg(13, Msg().str(1, k).str(2, v));
  return t.varint(14, 1);
}

// ValueInfoProto: each dim is a number ("3"), a symbol ("N") or "?" (unknown).
inline Msg valueInfo(const std::string& name, int32_t elemType, const std::vector<std::string>& dims) {
  Msg shape;
  for (const auto& d : dims) {
    Msg dim;
    if (d == "?") {
    } else if (!d.empty() && (std::isdigit(static_cast<unsigned char>(d[0])) != 0)) {
      dim.int64(1, std::stoll(d));
    } else {
      dim.str(2, d);
    }
    shape.msg(1, dim);
  }
  Msg tensorType;
  tensorType.varint(1, static_cast<uint64_t>(elemType)).msg(2, shape);
  Msg type;
  type.msg(1, tensorType);
  return Msg().str(1, name).msg(2, type);
}

// AttributeProto (type numbers from AttributeProto.AttributeType) -----------------------------------------
inline Msg attrFloat(const std::string& n, float f) { return Msg().str(1, n).f32(2, f).varint(20, 1); }
inline Msg attrInt(const std::string& n, int64_t i) { return Msg().str(1, n).int64(3, i).varint(20, 2); }
inline Msg attrString(const std::string& n, const std::string& s) { return Msg().str(1, n).str(4, s).varint(20, 3); }
inline Msg attrTensor(const std::string& n, const Msg& t) { return Msg().str(1, n).msg(5, t).varint(20, 4); }
inline Msg attrGraph(const std::string& n, const Msg& g) { return Msg().str(1, n).msg(6, g).varint(20, 5); }
inline Msg attrFloats(const std::string& n, const std::vector<float>& v) {
  return Msg().str(1, n).packedFloats(7, v).varint(20, 6);
}
inline Msg attrInts(const std::string& n, const std::vector<int64_t>& v) {
  return Msg().str(1, n).packedVarints(8, v).varint(20, 7);
}
inline Msg attrStrings(const std::string& n, const std::vector<std::string>& v) {
  Msg a;
  a.str(1, n);
  for (const auto& s : v) a.str(9, s);
  return a.varint(20, 8);
}
inline Msg attrTensors(const std::string& n, const std::vector<Msg>& v) {
  Msg a;
  a.str(1, n);
  for (const auto& t : v) a.msg(10, t);
  return a.varint(20, 9);
}
inline Msg attrGraphs(const std::string& n, const std::vector<Msg>& v) {
  Msg a;
  a.str(1, n);
  for (const auto& g : v) a.msg(11, g);
  return a.varint(20, 10);
}
inline Msg attrRef(const std::string& n, const std::string& ref, int32_t type) {
  return Msg().str(1, n).str(21, ref).varint(20, static_cast<uint64_t>(type));
}

// NodeProto / GraphProto / ModelProto ----------------------------------------------------------------------
inline Msg node(const std::string& op, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, const std::string& name = "",
                const std::vector<Msg>& attrs = {}, const std::string& domain = "") {
  Msg n;
  for (const auto& i : inputs) n.str(1, i);
  for (const auto& o : outputs) n.str(2, o);
  if (!name.empty()) n.str(3, name);
  n.str(4, op);
  for (const auto& a : attrs) n.msg(5, a);
  if (!domain.empty()) n.str(7, domain);
  return n;
}

struct GraphSpec {
  std::string name{"g"};
  std::vector<Msg> nodes, initializers, inputs, outputs, valueInfo;
};
inline Msg graph(const GraphSpec& s) {
  Msg g;
  for (const auto& n : s.nodes) g.msg(1, n);
  g.str(2, s.name);
  for (const auto& t : s.initializers) g.msg(5, t);
  for (const auto& v : s.inputs) g.msg(11, v);
  for (const auto& v : s.outputs) g.msg(12, v);
  for (const auto& v : s.valueInfo) g.msg(13, v);
  return g;
}

inline Msg opset(const std::string& domain, int64_t version) { return Msg().str(1, domain).int64(2, version); }

inline Msg model(const Msg& graphMsg, const std::vector<Msg>& opsets = {opset("", 17)}, int64_t irVersion = 8,
                 const std::vector<Msg>& functions = {}) {
  Msg m;
  m.int64(1, irVersion).str(2, "kiln-test").str(3, "0.1");
  m.msg(7, graphMsg);
  for (const auto& o : opsets) m.msg(8, o);
  for (const auto& f : functions) m.msg(25, f);
  return m;
}

}  // namespace kiln::test::onnxw
