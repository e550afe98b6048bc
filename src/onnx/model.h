// The ONNX model as plain C++ structs, decoded from the protobuf wire format by our own reader
// (src/onnx/proto_reader.h; no protobuf library). See docs/onnx-reader.md.
//
// Only what an importer needs is kept: doc strings of nodes/values/attributes, training info and
// quantization annotations are skipped. Field numbers follow ONNX's onnx.proto.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "kiln/types.h"

namespace kiln::onnx {

//! ONNX TensorProto.DataType numbers.
enum OnnxType : int32_t {
  kONNX_UNDEFINED = 0,
  kONNX_FLOAT = 1,
  kONNX_UINT8 = 2,
  kONNX_INT8 = 3,
  kONNX_UINT16 = 4,
  kONNX_INT16 = 5,
  kONNX_INT32 = 6,
  kONNX_INT64 = 7,
  kONNX_STRING = 8,
  kONNX_BOOL = 9,
  kONNX_FLOAT16 = 10,
  kONNX_DOUBLE = 11,
  kONNX_UINT32 = 12,
  kONNX_UINT64 = 13,
  kONNX_COMPLEX64 = 14,
  kONNX_COMPLEX128 = 15,
  kONNX_BFLOAT16 = 16,
  kONNX_FLOAT8E4M3FN = 17,
  kONNX_FLOAT8E4M3FNUZ = 18,
  kONNX_FLOAT8E5M2 = 19,
  kONNX_FLOAT8E5M2FNUZ = 20,
  kONNX_UINT4 = 21,
  kONNX_INT4 = 22,
  kONNX_FLOAT4E2M1 = 23,
  kONNX_FLOAT8E8M0 = 24,
  kONNX_UINT2 = 25,
  kONNX_INT2 = 26,
};

//! "FLOAT", "INT64", ... ("UNKNOWN(<n>)" otherwise).
std::string onnxTypeName(int32_t onnxType);
//! The kiln type of an ONNX element type; *ok = false (and kFLOAT returned) where kiln lacks it.
DataType fromOnnxType(int32_t onnxType, bool* ok);

struct Graph;

struct Tensor {
  std::string name;
  std::vector<int64_t> dims;
  int32_t dataType{kONNX_UNDEFINED};  //!< ONNX numbering (OnnxType)

  //! Raw little-endian bytes (raw_data, or the resolved external data): a view into the model file, the
  //! external file or the caller's buffer. Valid while `owner` lives (or, with a null owner, while the
  //! buffer handed to parseModel lives).
  bool hasRawData{false};
  const uint8_t* rawData{nullptr};
  std::size_t rawSize{0};
  std::shared_ptr<const void> owner;

  // Typed fields (decoded into owned storage). int32Data carries int8/int16/int32/uint8/uint16/bool and
  // the bits of float16/bfloat16/float8; uint64Data carries uint32/uint64.
  std::vector<float> floatData;
  std::vector<int32_t> int32Data;
  std::vector<int64_t> int64Data;
  std::vector<double> doubleData;
  std::vector<uint64_t> uint64Data;
  std::vector<std::string> stringData;

  //! data_location == EXTERNAL. When set, rawData/rawSize hold the resolved bytes.
  bool external{false};
  std::vector<std::pair<std::string, std::string>> externalData;  //!< the key/value entries as written
  std::string externalPath;                                       //!< resolved path of the data file
  uint64_t externalOffset{0};
  bool hasSegment{false};  //!< TensorProto.segment present (not supported by toTensorData)
};

struct SparseTensor {
  Tensor values;
  Tensor indices;
  std::vector<int64_t> dims;
};

//! AttributeProto.AttributeType numbering.
enum class AttributeType : int32_t {
  kUNDEFINED = 0,
  kFLOAT = 1,
  kINT = 2,
  kSTRING = 3,
  kTENSOR = 4,
  kGRAPH = 5,
  kFLOATS = 6,
  kINTS = 7,
  kSTRINGS = 8,
  kTENSORS = 9,
  kGRAPHS = 10,
  kSPARSE_TENSOR = 11,
  kSPARSE_TENSORS = 12,
  kTYPE_PROTO = 13,
  kTYPE_PROTOS = 14,
};
const char* attributeTypeName(AttributeType t) noexcept;

struct Attribute {
  std::string name;
  //! As written; when the model leaves it out (IR version 1), inferred from the field that is set.
  AttributeType type{AttributeType::kUNDEFINED};
  std::string refAttrName;  //!< non-empty: a reference to an attribute of the enclosing function
  float f{0};
  int64_t i{0};
  std::string s;
  std::shared_ptr<Tensor> t;
  std::shared_ptr<Graph> g;
  std::shared_ptr<SparseTensor> sparseTensor;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::vector<SparseTensor> sparseTensors;
  int32_t typeProtoCount{0};  //!< tp / type_protos are recorded only as a count
};

struct Node {
  std::string name;
  std::string opType;
  std::string domain;
  std::string overload;
  std::vector<std::string> inputs;   //!< "" = omitted optional input
  std::vector<std::string> outputs;  //!< "" = omitted optional output
  std::vector<Attribute> attributes;

  const Attribute* findAttribute(const std::string& attrName) const;
};

struct Dim {
  enum class Kind : uint8_t { kUNKNOWN, kVALUE, kPARAM };
  Kind kind{Kind::kUNKNOWN};
  int64_t value{-1};
  std::string param;  //!< the symbolic name (dim_param)
};

struct ValueInfo {
  std::string name;
  //! "" (no type), "tensor", or the unsupported kind: "sequence", "map", "optional", "sparse_tensor",
  //! "opaque", "unknown".
  std::string typeKind;
  bool isTensor() const noexcept { return typeKind == "tensor"; }
  int32_t elemType{kONNX_UNDEFINED};
  bool hasShape{false};  //!< false: rank unknown
  std::vector<Dim> shape;
};

struct OpsetImport {
  std::string domain;  //!< "" (or "ai.onnx") = the default ONNX domain
  int64_t version{0};
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<SparseTensor> sparseInitializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> valueInfo;
};

struct Function {
  std::string name;
  std::string domain;
  std::string overload;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> attributes;          //!< attribute names without defaults
  std::vector<Attribute> attributeDefaults;     //!< attribute_proto: attributes with default values
  std::vector<Node> nodes;
  std::vector<OpsetImport> opsetImports;
  std::vector<ValueInfo> valueInfo;
};

struct Model {
  int64_t irVersion{0};
  std::vector<OpsetImport> opsetImports;
  std::string producerName;
  std::string producerVersion;
  std::string domain;
  int64_t modelVersion{0};
  std::string docString;
  bool hasGraph{false};
  Graph graph;
  std::vector<Function> functions;
  std::vector<std::pair<std::string, std::string>> metadata;

  //! Keeps the model file mapping alive (raw_data views point into it); null for parseModel without owner.
  std::shared_ptr<const void> mapping;

  //! The imported version of `domain` ("" and "ai.onnx" are the same); -1 if not imported.
  int64_t opsetVersion(const std::string& opsetDomain) const;
};

//! Nesting limit for messages (graphs inside attributes inside nodes inside graphs...).
constexpr int kMaxNestingDepth = 64;

//! Decodes a ModelProto from [data, data + size). External data files are resolved relative to
//! `baseDir` (external data is an error when `baseDir` is empty). raw_data tensors are views into
//! `data`: pass `owner` to keep the buffer alive from the tensors; with a null owner the caller keeps
//! the buffer alive while the Model is used and toTensorData copies. Throws kiln::Error(kINVALID_ARGUMENT).
Model parseModel(const void* data, std::size_t size, const std::string& baseDir,
                 std::shared_ptr<const void> owner = nullptr);
//! mmaps `path` and decodes it; the Model keeps the mapping alive. External data is resolved relative
//! to the file's directory.
Model loadModelFile(const std::string& path);

//! Decodes a bare TensorProto (e.g. a test_data_set_*/input_*.pb file) from [data, data + size) with
//! the same rules as the tensors of a model: raw_data is a view into `data` kept alive by `owner` (with
//! a null owner the caller keeps the buffer alive), external data resolves relative to `baseDir`.
//! Throws kiln::Error(kINVALID_ARGUMENT).
Tensor parseTensor(const void* data, std::size_t size, const std::string& baseDir,
                   std::shared_ptr<const void> owner = nullptr);
//! mmaps `path` and decodes the TensorProto in it; the tensor keeps the mapping alive.
Tensor loadTensorFile(const std::string& path);

//! Number of elements from ONNX dims: throws on a negative extent or overflow.
int64_t tensorNumElements(const Tensor& t);
//! A kiln constant from an ONNX tensor. Throws kiln::Error(kINVALID_ARGUMENT) for a type kiln lacks,
//! strings, segments, or a byte/element count that does not match the dims.
std::shared_ptr<const ir::TensorData> toTensorData(const Tensor& t);

}  // namespace kiln::onnx
