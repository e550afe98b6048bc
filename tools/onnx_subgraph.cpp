#include "onnx_subgraph.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "cli_common.h"
#include "onnx/proto_reader.h"

namespace kiln::cli {

namespace {

//! Protobuf encoding of one message, field by field.
struct Pb {
  std::string b;
  void varint(uint64_t v) {
    while (v >= 0x80) {
      b.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    b.push_back(static_cast<char>(v));
  }
  Pb& num(uint32_t field, uint64_t v) {
    varint(static_cast<uint64_t>(field) << 3);
    varint(v);
    return *this;
  }
  Pb& bytes(uint32_t field, const void* p, std::size_t n) {
    varint((static_cast<uint64_t>(field) << 3) | 2);
    varint(n);
    b.append(static_cast<const char*>(p), n);
    return *this;
  }
  Pb& str(uint32_t field, const std::string& s) { return bytes(field, s.data(), s.size()); }
  Pb& msg(uint32_t field, const Pb& m) { return str(field, m.b); }
};

int32_t onnxType(DataType t) {
  switch (t) {
    case DataType::kFLOAT: return 1;
    case DataType::kUINT8: return 2;
    case DataType::kINT8: return 3;
    case DataType::kUINT16: return 4;
    case DataType::kINT16: return 5;
    case DataType::kINT32: return 6;
    case DataType::kINT64: return 7;
    case DataType::kBOOL: return 9;
    case DataType::kHALF: return 10;
    case DataType::kDOUBLE: return 11;
    case DataType::kUINT32: return 12;
    case DataType::kUINT64: return 13;
    case DataType::kBF16: return 16;
    case DataType::kFP8: return 17;
    case DataType::kFP8E4M3FNUZ: return 18;
    case DataType::kFP8E5M2: return 19;
    case DataType::kFP8E5M2FNUZ: return 20;
    case DataType::kE8M0: return 24;
    default: break;  // sub-byte types: kiln stores them unpacked, ONNX packed -- not written
  }
  return 0;
}

Pb valueInfo(const std::string& name, const ir::TensorData& d) {
  Pb shape;
  for (int64_t x : d.shape) shape.msg(1, Pb().num(1, static_cast<uint64_t>(x)));  // dim { dim_value }
  Pb tensorType;
  tensorType.num(1, static_cast<uint64_t>(onnxType(d.dtype))).msg(2, shape);
  Pb type;
  type.msg(1, tensorType);
  return Pb().str(1, name).msg(2, type);
}

Pb tensorProto(const std::string& name, const ir::TensorData& d) {
  Pb t;
  Pb packed;
  for (int64_t x : d.shape) packed.varint(static_cast<uint64_t>(x));
  if (!d.shape.empty()) t.str(1, packed.b);
  t.num(2, static_cast<uint64_t>(onnxType(d.dtype))).str(8, name);
  return t.bytes(9, d.raw(), d.byteSize());
}

struct NodeEntry {
  onnx::ByteSpan raw;
  std::string name;
  std::vector<std::string> inputs, outputs;
};

}  // namespace

SubgraphResult writeSubgraph(const std::string& modelPath, const std::vector<std::string>& nodeNames,
                             const std::function<const ir::TensorData*(const std::string&)>& valueOf,
                             const std::string& outPath) {
  std::ifstream f(modelPath, std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!f && !f.eof()) throw CliError("cannot read '" + modelPath + "'");
  SubgraphResult result;
  Pb model, graph;
  std::vector<NodeEntry> kept;
  std::map<std::string, onnx::ByteSpan> initializers;
  const std::set<std::string> wanted(nodeNames.begin(), nodeNames.end());
  try {
    onnx::ProtoReader top(file.data(), file.size());
    uint32_t field;
    onnx::WireType wt;
    while (top.nextField(&field, &wt)) {
      if (field == 1 && wt == onnx::WireType::kVARINT) {  // ir_version
        model.num(1, top.readVarint("ModelProto.ir_version"));
      } else if (field == 8 && wt == onnx::WireType::kLEN) {  // opset_import
        onnx::ByteSpan s = top.readBytes("ModelProto.opset_import");
        model.bytes(8, s.data, s.size);
      } else if (field == 7 && wt == onnx::WireType::kLEN) {  // graph
        onnx::ProtoReader g = top.readMessage("ModelProto.graph");
        while (g.nextField(&field, &wt)) {
          if (field == 1 && wt == onnx::WireType::kLEN) {  // node
            NodeEntry n;
            n.raw = g.readBytes("GraphProto.node");
            onnx::ProtoReader nr(n.raw.data, n.raw.size, n.raw.offset);
            while (nr.nextField(&field, &wt)) {
              if (field == 1 && wt == onnx::WireType::kLEN) n.inputs.push_back(nr.readString("NodeProto.input"));
              else if (field == 2 && wt == onnx::WireType::kLEN) n.outputs.push_back(nr.readString("NodeProto.output"));
              else if (field == 3 && wt == onnx::WireType::kLEN) n.name = nr.readString("NodeProto.name");
              else nr.skipField(field, wt, "NodeProto");
            }
            if (wanted.count(n.name)) kept.push_back(std::move(n));
          } else if (field == 5 && wt == onnx::WireType::kLEN) {  // initializer
            onnx::ByteSpan s = g.readBytes("GraphProto.initializer");
            onnx::ProtoReader tr(s.data, s.size, s.offset);
            std::string name;
            while (tr.nextField(&field, &wt)) {
              if (field == 8 && wt == onnx::WireType::kLEN) name = tr.readString("TensorProto.name");
              else tr.skipField(field, wt, "TensorProto");
            }
            initializers[name] = s;
          } else {
            g.skipField(field, wt, "GraphProto");
          }
        }
      } else {
        top.skipField(field, wt, "ModelProto");
      }
    }
  } catch (const Error& e) {
    throw CliError("cannot read '" + modelPath + "': " + e.message());
  }
  if (kept.empty()) throw CliError("--reduce: none of the nodes " + [&] {
    std::string s;
    for (const auto& n : nodeNames) s += (s.empty() ? "'" : ", '") + n + "'";
    return s;
  }() + " is in '" + modelPath + "'");

  std::set<std::string> produced, consumed, added;
  for (const auto& n : kept) {
    for (const auto& o : n.outputs) produced.insert(o);
    for (const auto& i : n.inputs) consumed.insert(i);
  }
  std::string stem = outPath;
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".onnx") == 0) stem.resize(stem.size() - 5);
  result.dataDir = stem + "_data";
  std::error_code ec;
  std::filesystem::create_directories(result.dataDir, ec);
  if (ec) throw CliError("cannot create '" + result.dataDir + "': " + ec.message());
  auto save = [&](const std::string& file, const std::string& name, const ir::TensorData& d) {
    std::string bytes = tensorProto(name, d).b;
    std::ofstream o(result.dataDir + "/" + file, std::ios::binary);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!o) throw CliError("cannot write '" + result.dataDir + "/" + file + "'");
  };

  graph.str(2, "kiln_reduced");
  for (const auto& n : kept) {
    graph.bytes(1, n.raw.data, n.raw.size);
    result.nodes.push_back(n.name);
  }
  for (const auto& n : kept)
    for (const auto& in : n.inputs) {
      if (in.empty() || produced.count(in) || !added.insert(in).second) continue;
      auto it = initializers.find(in);
      if (it != initializers.end()) {
        graph.bytes(5, it->second.data, it->second.size);
        continue;
      }
      const ir::TensorData* d = valueOf(in);
      if (!d) throw CliError("--reduce: no data for tensor '" + in + "'");
      graph.msg(11, valueInfo(in, *d));
      save("input_" + std::to_string(result.inputs.size()) + ".pb", in, *d);
      result.inputs.push_back(in);
    }
  for (const auto& n : kept)
    for (const auto& out : n.outputs) {
      if (out.empty() || consumed.count(out)) continue;
      const ir::TensorData* d = valueOf(out);
      if (!d) throw CliError("--reduce: no reference data for output '" + out + "'");
      graph.msg(12, valueInfo(out, *d));
      save("output_" + std::to_string(result.outputs.size()) + ".pb", out, *d);
      result.outputs.push_back(out);
    }
  model.str(2, "kiln compare --reduce").msg(7, graph);
  std::ofstream o(outPath, std::ios::binary);
  o.write(model.b.data(), static_cast<std::streamsize>(model.b.size()));
  if (!o) throw CliError("cannot write '" + outPath + "'", "check the path");
  return result;
}

}  // namespace kiln::cli
