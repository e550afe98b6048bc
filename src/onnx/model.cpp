#include "onnx/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "core/dtype.h"
#include "core/small_types.h"
#include "onnx/proto_reader.h"

namespace kiln::onnx {

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::kINVALID_ARGUMENT, message); }

// ---------------------------------------------------------------------------------------------------------
// File mapping

struct MappedFile {
  const uint8_t* data{nullptr};
  std::size_t size{0};
  bool mapped{false};
  ~MappedFile() {
    if (mapped) ::munmap(const_cast<uint8_t*>(data), size);
  }
};

//! mmaps a regular file read-only. `what` describes the file for error messages.
std::shared_ptr<const MappedFile> mapFile(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) invalid("cannot open " + what + " '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    invalid("cannot read " + what + " '" + path + "': not a regular file");
  }
  auto file = std::make_shared<MappedFile>();
  file->size = static_cast<std::size_t>(st.st_size);
  if (file->size > 0) {
    void* p = ::mmap(nullptr, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      invalid("cannot map " + what + " '" + path + "': " + std::strerror(e));
    }
    file->data = static_cast<const uint8_t*>(p);
    file->mapped = true;
  }
  ::close(fd);
  return file;
}

std::string dirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

//! Strict non-negative decimal (no sign, no spaces, no overflow).
bool parseDecimal(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

//! A relative path that stays inside the model directory (lexically): no absolute path, no '..'
//! component, no NUL, no drive letter.
bool isSafeRelativePath(const std::string& p, std::string* why) {
  if (p.empty()) return *why = "empty path", false;
  if (p.find('\0') != std::string::npos) return *why = "path contains a NUL byte", false;
  if (p[0] == '/' || p[0] == '\\') return *why = "absolute path", false;
  if (p.size() >= 2 && p[1] == ':') return *why = "path with a drive letter", false;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of("/\\", start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0 && end - start == 2) {
      return *why = "path with a '..' component", false;
    }
    start = end + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// The message decoders. Every decoder gets its nesting depth; children get depth + 1.

class Parser {
 public:
  Parser(std::string baseDir, std::shared_ptr<const void> owner) : baseDir_(std::move(baseDir)), owner_(std::move(owner)) {}

  void model(ProtoReader r, Model& m) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: m.irVersion = readInt(r, wt, "ModelProto.ir_version"); break;
        case 2: m.producerName = readStr(r, wt, "ModelProto.producer_name"); break;
        case 3: m.producerVersion = readStr(r, wt, "ModelProto.producer_version"); break;
        case 4: m.domain = readStr(r, wt, "ModelProto.domain"); break;
        case 5: m.modelVersion = readInt(r, wt, "ModelProto.model_version"); break;
        case 6: m.docString = readStr(r, wt, "ModelProto.doc_string"); break;
        case 7:
          m.graph = Graph{};
          graph(sub(r, wt, 1, "ModelProto.graph"), 1, m.graph);
          m.hasGraph = true;
          break;
        case 8: opset(sub(r, wt, 1, "ModelProto.opset_import"), 1, m.opsetImports.emplace_back()); break;
        case 14: entry(sub(r, wt, 1, "ModelProto.metadata_props"), 1, m.metadata.emplace_back()); break;
        case 25: function(sub(r, wt, 1, "ModelProto.functions"), 1, m.functions.emplace_back()); break;
        default: r.skipField(f, wt, "unknown ModelProto field"); break;
      }
    }
  }

  //! A bare TensorProto at the top level (a test data file such as input_0.pb).
  void topLevelTensor(ProtoReader r, Tensor& t) { tensor(r, 0, t); }

 private:
  // Field helpers -----------------------------------------------------------------------------------------
  static int64_t readInt(ProtoReader& r, WireType wt, const char* what) {
    r.expectWireType(wt, WireType::kVARINT, what);
    return r.readInt64(what);
  }
  static std::string readStr(ProtoReader& r, WireType wt, const char* what) {
    r.expectWireType(wt, WireType::kLEN, what);
    return r.readString(what);
  }
  //! A nested message at nesting level `depth` (the top-level model is level 0).
  static ProtoReader sub(ProtoReader& r, WireType wt, int depth, const char* what) {
    r.expectWireType(wt, WireType::kLEN, what);
    if (depth > kMaxNestingDepth) {
      r.fail(r.offset(), what, "messages nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    }
    return r.readMessage(what);
  }

  // Messages ----------------------------------------------------------------------------------------------
  void opset(ProtoReader r, int depth, OpsetImport& o) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      if (f == 1) o.domain = readStr(r, wt, "OperatorSetIdProto.domain");
      else if (f == 2) o.version = readInt(r, wt, "OperatorSetIdProto.version");
      else r.skipField(f, wt, "unknown OperatorSetIdProto field");
    }
  }

  void entry(ProtoReader r, int depth, std::pair<std::string, std::string>& e) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      if (f == 1) e.first = readStr(r, wt, "StringStringEntryProto.key");
      else if (f == 2) e.second = readStr(r, wt, "StringStringEntryProto.value");
      else r.skipField(f, wt, "unknown StringStringEntryProto field");
    }
  }

  void graph(ProtoReader r, int depth, Graph& g) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: node(sub(r, wt, depth + 1, "GraphProto.node"), depth + 1, g.nodes.emplace_back()); break;
        case 2: g.name = readStr(r, wt, "GraphProto.name"); break;
        case 5: tensor(sub(r, wt, depth + 1, "GraphProto.initializer"), depth + 1, g.initializers.emplace_back()); break;
        case 11: valueInfo(sub(r, wt, depth + 1, "GraphProto.input"), depth + 1, g.inputs.emplace_back()); break;
        case 12: valueInfo(sub(r, wt, depth + 1, "GraphProto.output"), depth + 1, g.outputs.emplace_back()); break;
        case 13: valueInfo(sub(r, wt, depth + 1, "GraphProto.value_info"), depth + 1, g.valueInfo.emplace_back()); break;
        case 15:
          sparseTensor(sub(r, wt, depth + 1, "GraphProto.sparse_initializer"), depth + 1,
                       g.sparseInitializers.emplace_back());
          break;
        default: r.skipField(f, wt, "unknown GraphProto field"); break;  // doc_string, annotations, ...
      }
    }
  }

  void node(ProtoReader r, int depth, Node& n) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: n.inputs.push_back(readStr(r, wt, "NodeProto.input")); break;
        case 2: n.outputs.push_back(readStr(r, wt, "NodeProto.output")); break;
        case 3: n.name = readStr(r, wt, "NodeProto.name"); break;
        case 4: n.opType = readStr(r, wt, "NodeProto.op_type"); break;
        case 5: attribute(sub(r, wt, depth + 1, "NodeProto.attribute"), depth + 1, n.attributes.emplace_back()); break;
        case 7: n.domain = readStr(r, wt, "NodeProto.domain"); break;
        case 8: n.overload = readStr(r, wt, "NodeProto.overload"); break;
        default: r.skipField(f, wt, "unknown NodeProto field"); break;
      }
    }
  }

  void attribute(ProtoReader r, int depth, Attribute& a) {
    uint32_t f;
    WireType wt;
    bool hasType = false;
    uint32_t seen = 0;  // bit per content field, for type inference when `type` is absent
    auto mark = [&](AttributeType t) { seen |= 1u << static_cast<int>(t); };
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: a.name = readStr(r, wt, "AttributeProto.name"); break;
        case 21: a.refAttrName = readStr(r, wt, "AttributeProto.ref_attr_name"); break;
        case 20:
          a.type = static_cast<AttributeType>(static_cast<int32_t>(readInt(r, wt, "AttributeProto.type")));
          hasType = true;
          break;
        case 2:
          r.expectWireType(wt, WireType::kFIXED32, "AttributeProto.f");
          a.f = r.readFloat("AttributeProto.f");
          mark(AttributeType::kFLOAT);
          break;
        case 3: a.i = readInt(r, wt, "AttributeProto.i"); mark(AttributeType::kINT); break;
        case 4: a.s = readStr(r, wt, "AttributeProto.s"); mark(AttributeType::kSTRING); break;
        case 5:
          a.t = std::make_shared<Tensor>();
          tensor(sub(r, wt, depth + 1, "AttributeProto.t"), depth + 1, *a.t);
          mark(AttributeType::kTENSOR);
          break;
        case 6:
          a.g = std::make_shared<Graph>();
          graph(sub(r, wt, depth + 1, "AttributeProto.g"), depth + 1, *a.g);
          mark(AttributeType::kGRAPH);
          break;
        case 22:
          a.sparseTensor = std::make_shared<SparseTensor>();
          sparseTensor(sub(r, wt, depth + 1, "AttributeProto.sparse_tensor"), depth + 1, *a.sparseTensor);
          mark(AttributeType::kSPARSE_TENSOR);
          break;
        case 7: r.readRepeatedFloat(wt, a.floats, "AttributeProto.floats"); mark(AttributeType::kFLOATS); break;
        case 8: r.readRepeatedVarint(wt, a.ints, "AttributeProto.ints"); mark(AttributeType::kINTS); break;
        case 9: a.strings.push_back(readStr(r, wt, "AttributeProto.strings")); mark(AttributeType::kSTRINGS); break;
        case 10:
          tensor(sub(r, wt, depth + 1, "AttributeProto.tensors"), depth + 1, a.tensors.emplace_back());
          mark(AttributeType::kTENSORS);
          break;
        case 11: {
          auto g = std::make_shared<Graph>();
          graph(sub(r, wt, depth + 1, "AttributeProto.graphs"), depth + 1, *g);
          a.graphs.push_back(std::move(g));
          mark(AttributeType::kGRAPHS);
          break;
        }
        case 23:
          sparseTensor(sub(r, wt, depth + 1, "AttributeProto.sparse_tensors"), depth + 1,
                       a.sparseTensors.emplace_back());
          mark(AttributeType::kSPARSE_TENSORS);
          break;
        case 14:
        case 15:
          r.skipField(f, wt, "AttributeProto.tp");
          ++a.typeProtoCount;
          mark(f == 14 ? AttributeType::kTYPE_PROTO : AttributeType::kTYPE_PROTOS);
          break;
        default: r.skipField(f, wt, "unknown AttributeProto field"); break;
      }
    }
    if (!hasType && seen != 0) {
      // IR version 1: the type is implied by the (single) field set; take the lowest-numbered kind set.
      for (int k = 1; k <= 14; ++k) {
        if (seen & (1u << k)) {
          a.type = static_cast<AttributeType>(k);
          break;
        }
      }
    }
  }

  void tensor(ProtoReader r, int depth, Tensor& t) {
    const std::size_t start = r.offset();
    uint32_t f;
    WireType wt;
    int64_t location = 0;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: r.readRepeatedVarint(wt, t.dims, "TensorProto.dims"); break;
        case 2: t.dataType = static_cast<int32_t>(readInt(r, wt, "TensorProto.data_type")); break;
        case 3: t.hasSegment = true; r.skipField(f, wt, "TensorProto.segment"); break;
        case 4: r.readRepeatedFloat(wt, t.floatData, "TensorProto.float_data"); break;
        case 5: r.readRepeatedInt32(wt, t.int32Data, "TensorProto.int32_data"); break;
        case 6: t.stringData.push_back(readStr(r, wt, "TensorProto.string_data")); break;
        case 7: r.readRepeatedVarint(wt, t.int64Data, "TensorProto.int64_data"); break;
        case 8: t.name = readStr(r, wt, "TensorProto.name"); break;
        case 9: {
          r.expectWireType(wt, WireType::kLEN, "TensorProto.raw_data");
          ByteSpan s = r.readBytes("TensorProto.raw_data");
          t.hasRawData = true;
          t.rawData = s.data;
          t.rawSize = s.size;
          t.owner = owner_;
          break;
        }
        case 10: r.readRepeatedDouble(wt, t.doubleData, "TensorProto.double_data"); break;
        case 11: r.readRepeatedVarint(wt, t.uint64Data, "TensorProto.uint64_data"); break;
        case 13:
          entry(sub(r, wt, depth + 1, "TensorProto.external_data"), depth + 1, t.externalData.emplace_back());
          break;
        case 14: location = readInt(r, wt, "TensorProto.data_location"); break;
        default: r.skipField(f, wt, "unknown TensorProto field"); break;  // doc_string, metadata_props
      }
    }
    if (location == 1) {
      t.external = true;
      resolveExternal(t);
    } else if (location != 0) {
      r.fail(start, "TensorProto.data_location", "unknown data_location " + std::to_string(location));
    }
  }

  void resolveExternal(Tensor& t) {
    const std::string what = "tensor '" + t.name + "': external data";
    std::string location;
    uint64_t offset = 0, length = 0;
    bool hasLength = false, hasLocation = false;
    for (const auto& [key, value] : t.externalData) {
      if (key == "location") {
        location = value;
        hasLocation = true;
      } else if (key == "offset") {
        if (!parseDecimal(value, &offset)) invalid(what + ": invalid offset '" + value + "'");
      } else if (key == "length") {
        if (!parseDecimal(value, &length)) invalid(what + ": invalid length '" + value + "'");
        hasLength = true;
      }  // "checksum" and unknown keys are ignored
    }
    if (!hasLocation) invalid(what + ": no 'location' entry");
    std::string why;
    if (!isSafeRelativePath(location, &why)) invalid(what + ": location '" + location + "' rejected: " + why);
    if (baseDir_.empty()) invalid(what + ": the model was parsed from memory without a base directory");
    std::string path = baseDir_ + "/" + location;
    auto it = files_.find(path);
    if (it == files_.end()) it = files_.emplace(path, mapFile(path, "external data file")).first;
    const auto& file = it->second;
    if (offset > file->size) {
      invalid(what + ": offset " + std::to_string(offset) + " is beyond the end of '" + path + "' (" +
              std::to_string(file->size) + " bytes)");
    }
    if (!hasLength) length = file->size - offset;
    if (length > file->size - offset) {
      invalid(what + ": offset " + std::to_string(offset) + " + length " + std::to_string(length) +
              " is beyond the end of '" + path + "' (" + std::to_string(file->size) + " bytes)");
    }
    t.hasRawData = true;
    t.rawData = file->data ? file->data + offset : nullptr;
    t.rawSize = static_cast<std::size_t>(length);
    t.owner = std::shared_ptr<const void>(file, file->data);
    t.externalPath = path;
    t.externalOffset = offset;
  }

  void sparseTensor(ProtoReader r, int depth, SparseTensor& s) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: tensor(sub(r, wt, depth + 1, "SparseTensorProto.values"), depth + 1, s.values); break;
        case 2: tensor(sub(r, wt, depth + 1, "SparseTensorProto.indices"), depth + 1, s.indices); break;
        case 3: r.readRepeatedVarint(wt, s.dims, "SparseTensorProto.dims"); break;
        default: r.skipField(f, wt, "unknown SparseTensorProto field"); break;
      }
    }
  }

  void valueInfo(ProtoReader r, int depth, ValueInfo& v) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      if (f == 1) v.name = readStr(r, wt, "ValueInfoProto.name");
      else if (f == 2) typeProto(sub(r, wt, depth + 1, "ValueInfoProto.type"), depth + 1, v);
      else r.skipField(f, wt, "unknown ValueInfoProto field");
    }
  }

  void typeProto(ProtoReader r, int depth, ValueInfo& v) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1:
          v.typeKind = "tensor";
          tensorType(sub(r, wt, depth + 1, "TypeProto.tensor_type"), depth + 1, v);
          break;
        // Other kinds are recorded, not decoded (their contents are skipped without recursion).
        case 4: v.typeKind = "sequence"; r.skipField(f, wt, "TypeProto.sequence_type"); break;
        case 5: v.typeKind = "map"; r.skipField(f, wt, "TypeProto.map_type"); break;
        case 7: v.typeKind = "opaque"; r.skipField(f, wt, "TypeProto.opaque_type"); break;
        case 8: v.typeKind = "sparse_tensor"; r.skipField(f, wt, "TypeProto.sparse_tensor_type"); break;
        case 9: v.typeKind = "optional"; r.skipField(f, wt, "TypeProto.optional_type"); break;
        case 6: r.skipField(f, wt, "TypeProto.denotation"); break;
        default:
          v.typeKind = "unknown";
          r.skipField(f, wt, "unknown TypeProto field");
          break;
      }
    }
  }

  void tensorType(ProtoReader r, int depth, ValueInfo& v) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      if (f == 1) {
        v.elemType = static_cast<int32_t>(readInt(r, wt, "TypeProto.Tensor.elem_type"));
      } else if (f == 2) {
        v.hasShape = true;
        v.shape.clear();
        shape(sub(r, wt, depth + 1, "TypeProto.Tensor.shape"), depth + 1, v.shape);
      } else {
        r.skipField(f, wt, "unknown TypeProto.Tensor field");
      }
    }
  }

  void shape(ProtoReader r, int depth, std::vector<Dim>& dims) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      if (f == 1) {
        ProtoReader d = sub(r, wt, depth + 1, "TensorShapeProto.dim");
        Dim& dim = dims.emplace_back();
        uint32_t g;
        WireType gwt;
        while (d.nextField(&g, &gwt)) {
          if (g == 1) {
            dim.kind = Dim::Kind::kVALUE;
            dim.value = readInt(d, gwt, "TensorShapeProto.Dimension.dim_value");
            dim.param.clear();
          } else if (g == 2) {
            dim.kind = Dim::Kind::kPARAM;
            dim.param = readStr(d, gwt, "TensorShapeProto.Dimension.dim_param");
            dim.value = -1;
          } else {
            d.skipField(g, gwt, "unknown TensorShapeProto.Dimension field");
          }
        }
      } else {
        r.skipField(f, wt, "unknown TensorShapeProto field");
      }
    }
  }

  void function(ProtoReader r, int depth, Function& fn) {
    uint32_t f;
    WireType wt;
    while (r.nextField(&f, &wt)) {
      switch (f) {
        case 1: fn.name = readStr(r, wt, "FunctionProto.name"); break;
        case 4: fn.inputs.push_back(readStr(r, wt, "FunctionProto.input")); break;
        case 5: fn.outputs.push_back(readStr(r, wt, "FunctionProto.output")); break;
        case 6: fn.attributes.push_back(readStr(r, wt, "FunctionProto.attribute")); break;
        case 7: node(sub(r, wt, depth + 1, "FunctionProto.node"), depth + 1, fn.nodes.emplace_back()); break;
        case 9: opset(sub(r, wt, depth + 1, "FunctionProto.opset_import"), depth + 1, fn.opsetImports.emplace_back()); break;
        case 10: fn.domain = readStr(r, wt, "FunctionProto.domain"); break;
        case 11:
          attribute(sub(r, wt, depth + 1, "FunctionProto.attribute_proto"), depth + 1,
                    fn.attributeDefaults.emplace_back());
          break;
        case 12: valueInfo(sub(r, wt, depth + 1, "FunctionProto.value_info"), depth + 1, fn.valueInfo.emplace_back()); break;
        case 13: fn.overload = readStr(r, wt, "FunctionProto.overload"); break;
        default: r.skipField(f, wt, "unknown FunctionProto field"); break;
      }
    }
  }

  std::string baseDir_;
  std::shared_ptr<const void> owner_;
  std::map<std::string, std::shared_ptr<const MappedFile>> files_;  // external files of this model
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Types

std::string onnxTypeName(int32_t t) {
  static const char* const names[] = {"UNDEFINED",    "FLOAT",         "UINT8",          "INT8",
                                      "UINT16",       "INT16",         "INT32",          "INT64",
                                      "STRING",       "BOOL",          "FLOAT16",        "DOUBLE",
                                      "UINT32",       "UINT64",        "COMPLEX64",      "COMPLEX128",
                                      "BFLOAT16",     "FLOAT8E4M3FN",  "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
                                      "FLOAT8E5M2FNUZ", "UINT4",       "INT4",           "FLOAT4E2M1",
                                      "FLOAT8E8M0",   "UINT2",         "INT2"};
  if (t >= 0 && t < static_cast<int32_t>(sizeof(names) / sizeof(names[0]))) return names[t];
  return "UNKNOWN(" + std::to_string(t) + ")";
}

DataType fromOnnxType(int32_t t, bool* ok) {
  bool good = true;
  DataType d = DataType::kFLOAT;
  switch (t) {
    case kONNX_FLOAT: d = DataType::kFLOAT; break;
    case kONNX_UINT8: d = DataType::kUINT8; break;
    case kONNX_INT8: d = DataType::kINT8; break;
    case kONNX_UINT16: d = DataType::kUINT16; break;
    case kONNX_INT16: d = DataType::kINT16; break;
    case kONNX_INT32: d = DataType::kINT32; break;
    case kONNX_INT64: d = DataType::kINT64; break;
    case kONNX_BOOL: d = DataType::kBOOL; break;
    case kONNX_FLOAT16: d = DataType::kHALF; break;
    case kONNX_DOUBLE: d = DataType::kDOUBLE; break;
    case kONNX_UINT32: d = DataType::kUINT32; break;
    case kONNX_UINT64: d = DataType::kUINT64; break;
    case kONNX_BFLOAT16: d = DataType::kBF16; break;
    case kONNX_FLOAT8E4M3FN: d = DataType::kFP8; break;
    case kONNX_FLOAT8E4M3FNUZ: d = DataType::kFP8E4M3FNUZ; break;
    case kONNX_FLOAT8E5M2: d = DataType::kFP8E5M2; break;
    case kONNX_FLOAT8E5M2FNUZ: d = DataType::kFP8E5M2FNUZ; break;
    case kONNX_FLOAT8E8M0: d = DataType::kE8M0; break;
    case kONNX_UINT4: d = DataType::kUINT4; break;
    case kONNX_INT4: d = DataType::kINT4; break;
    case kONNX_FLOAT4E2M1: d = DataType::kFP4; break;
    case kONNX_UINT2: d = DataType::kUINT2; break;
    case kONNX_INT2: d = DataType::kINT2; break;
    default: good = false; break;
  }
  if (ok) *ok = good;
  return d;
}

const char* attributeTypeName(AttributeType t) noexcept {
  switch (t) {
    case AttributeType::kUNDEFINED: return "UNDEFINED";
    case AttributeType::kFLOAT: return "FLOAT";
    case AttributeType::kINT: return "INT";
    case AttributeType::kSTRING: return "STRING";
    case AttributeType::kTENSOR: return "TENSOR";
    case AttributeType::kGRAPH: return "GRAPH";
    case AttributeType::kFLOATS: return "FLOATS";
    case AttributeType::kINTS: return "INTS";
    case AttributeType::kSTRINGS: return "STRINGS";
    case AttributeType::kTENSORS: return "TENSORS";
    case AttributeType::kGRAPHS: return "GRAPHS";
    case AttributeType::kSPARSE_TENSOR: return "SPARSE_TENSOR";
    case AttributeType::kSPARSE_TENSORS: return "SPARSE_TENSORS";
    case AttributeType::kTYPE_PROTO: return "TYPE_PROTO";
    case AttributeType::kTYPE_PROTOS: return "TYPE_PROTOS";
  }
  return "UNKNOWN";
}

const Attribute* Node::findAttribute(const std::string& attrName) const {
  for (const auto& a : attributes) {
    if (a.name == attrName) return &a;
  }
  return nullptr;
}

int64_t Model::opsetVersion(const std::string& opsetDomain) const {
  auto norm = [](const std::string& d) { return d == "ai.onnx" ? std::string() : d; };
  const std::string want = norm(opsetDomain);
  int64_t v = -1;
  for (const auto& o : opsetImports) {
    if (norm(o.domain) == want && o.version > v) v = o.version;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Entry points

Model parseModel(const void* data, std::size_t size, const std::string& baseDir, std::shared_ptr<const void> owner) {
  if (!data && size != 0) invalid("parseModel: null buffer");
  Model m;
  Parser p(baseDir, owner);
  p.model(ProtoReader(data, size, 0), m);
  m.mapping = std::move(owner);
  return m;
}

Tensor parseTensor(const void* data, std::size_t size, const std::string& baseDir, std::shared_ptr<const void> owner) {
  if (!data && size != 0) invalid("parseTensor: null buffer");
  Tensor t;
  Parser p(baseDir, owner);
  p.topLevelTensor(ProtoReader(data, size, 0), t);
  if (!t.owner && owner) t.owner = owner;
  return t;
}

Tensor loadTensorFile(const std::string& path) {
  auto file = mapFile(path, "ONNX tensor file");
  std::shared_ptr<const void> owner(file, file->data);
  try {
    return parseTensor(file->data, file->size, dirName(path), owner);
  } catch (const Error& e) {
    throw e.withContext("ONNX tensor '" + path + "'");
  }
}

Model loadModelFile(const std::string& path) {
  auto file = mapFile(path, "ONNX model file");
  if (file->size == 0) invalid("ONNX model file '" + path + "' is empty");
  std::shared_ptr<const void> owner(file, file->data);
  try {
    return parseModel(file->data, file->size, dirName(path), owner);
  } catch (const Error& e) {
    throw e.withContext("ONNX model '" + path + "'");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Conversion to kiln constants

int64_t tensorNumElements(const Tensor& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) {
    if (d < 0) invalid("tensor '" + t.name + "': negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, d, &n)) invalid("tensor '" + t.name + "': element count overflows");
  }
  return n;
}

namespace {

std::string dimsString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

template <class Dst, class Src>
void convertInto(void* out, const std::vector<Src>& src) {
  Dst* d = static_cast<Dst*>(out);
  for (std::size_t i = 0; i < src.size(); ++i) d[i] = static_cast<Dst>(src[i]);
}

}  // namespace

std::shared_ptr<const ir::TensorData> toTensorData(const Tensor& t) {
  const std::string what = "tensor '" + t.name + "'";
  if (t.hasSegment) invalid(what + ": segmented tensors are not supported");
  bool ok = false;
  const DataType dt = fromOnnxType(t.dataType, &ok);
  if (!ok) invalid(what + ": ONNX data type " + onnxTypeName(t.dataType) + " is not supported");
  const int64_t n = tensorNumElements(t);
  const std::size_t elem = dataTypeSize(dt);
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(elem), &bytes)) {
    invalid(what + ": byte size overflows");
  }
  ir::Shape shape(t.dims.begin(), t.dims.end());

  if (isSubByteType(dt)) {
    // ONNX packs 4-bit (2-bit) elements two (four) per byte, in raw_data or one packed byte per int32_data
    // entry; kiln stores them unpacked (see core/small_types.h).
    const uint64_t packedBytes = (static_cast<uint64_t>(n) * packedBits(dt) + 7) / 8;
    std::vector<uint8_t> packed;
    if (t.hasRawData) {
      if (packedBytes != t.rawSize)
        invalid(what + ": " + std::to_string(t.rawSize) + " bytes of packed data, but dims " + dimsString(t.dims) +
                " of " + onnxTypeName(t.dataType) + " need " + std::to_string(packedBytes));
      packed.assign(static_cast<const uint8_t*>(t.rawData), static_cast<const uint8_t*>(t.rawData) + t.rawSize);
    } else {
      if (t.int32Data.size() != packedBytes)
        invalid(what + ": " + std::to_string(t.int32Data.size()) + " values in int32_data, but dims " +
                dimsString(t.dims) + " of " + onnxTypeName(t.dataType) + " need " + std::to_string(packedBytes) +
                " packed bytes");
      packed.reserve(packedBytes);
      for (int32_t v : t.int32Data) packed.push_back(static_cast<uint8_t>(v));
    }
    void* out = nullptr;
    auto td = ir::makeTensor(dt, std::move(shape), &out);
    unpackSubByte(dt, packed.data(), packed.size(), static_cast<uint8_t*>(out), n);
    return td;
  }

  if (t.hasRawData) {
    if (bytes != t.rawSize) {
      invalid(what + ": " + std::to_string(t.rawSize) + " bytes of " + (t.external ? "external" : "raw") +
              " data, but dims " + dimsString(t.dims) + " of " + onnxTypeName(t.dataType) + " need " +
              std::to_string(bytes));
    }
    auto td = std::make_shared<ir::TensorData>();
    td->dtype = dt;
    td->shape = std::move(shape);
    const bool aligned = (reinterpret_cast<uintptr_t>(t.rawData) % 64) == 0;
    if (t.owner && aligned && bytes > 0) {
      td->blob = ir::Blob::view(t.rawData, static_cast<std::size_t>(bytes), t.owner);
    } else {
      td->blob = ir::Blob::copyOf(t.rawData, static_cast<std::size_t>(bytes));
    }
    if (dt == DataType::kBOOL) {
      const uint8_t* b = static_cast<const uint8_t*>(td->blob->data());
      for (uint64_t i = 0; i < bytes; ++i) {
        if (b[i] > 1) invalid(what + ": BOOL raw data holds the byte " + std::to_string(b[i]));
      }
    }
    return td;
  }

  // Typed fields: check the count against the dims before allocating.
  std::size_t count = 0;
  const char* field = "";
  switch (t.dataType) {
    case kONNX_FLOAT: count = t.floatData.size(), field = "float_data"; break;
    case kONNX_DOUBLE: count = t.doubleData.size(), field = "double_data"; break;
    case kONNX_INT64: count = t.int64Data.size(), field = "int64_data"; break;
    case kONNX_UINT32:
    case kONNX_UINT64: count = t.uint64Data.size(), field = "uint64_data"; break;
    default: count = t.int32Data.size(), field = "int32_data"; break;
  }
  if (static_cast<uint64_t>(n) != count) {
    invalid(what + ": " + std::to_string(count) + " values in " + field + ", but dims " + dimsString(t.dims) +
            " hold " + std::to_string(n));
  }
  void* out = nullptr;
  auto td = ir::makeTensor(dt, std::move(shape), &out);
  switch (t.dataType) {
    case kONNX_FLOAT: convertInto<float>(out, t.floatData); break;
    case kONNX_DOUBLE: convertInto<double>(out, t.doubleData); break;
    case kONNX_INT64: convertInto<int64_t>(out, t.int64Data); break;
    case kONNX_UINT32: convertInto<uint32_t>(out, t.uint64Data); break;
    case kONNX_UINT64: convertInto<uint64_t>(out, t.uint64Data); break;
    case kONNX_INT32: convertInto<int32_t>(out, t.int32Data); break;
    case kONNX_INT16: convertInto<int16_t>(out, t.int32Data); break;
    case kONNX_INT8: convertInto<int8_t>(out, t.int32Data); break;
    case kONNX_UINT16:
    case kONNX_FLOAT16:
    case kONNX_BFLOAT16: convertInto<uint16_t>(out, t.int32Data); break;
    case kONNX_UINT8:
    case kONNX_FLOAT8E4M3FN:
    case kONNX_FLOAT8E4M3FNUZ:
    case kONNX_FLOAT8E5M2:
    case kONNX_FLOAT8E5M2FNUZ:
    case kONNX_FLOAT8E8M0: convertInto<uint8_t>(out, t.int32Data); break;
    case kONNX_BOOL: {
      uint8_t* d = static_cast<uint8_t*>(out);
      for (std::size_t i = 0; i < count; ++i) d[i] = t.int32Data[i] != 0 ? 1 : 0;
      break;
    }
    default: invalid(what + ": unexpected data type");
  }
  return td;
}

}  // namespace kiln::onnx
