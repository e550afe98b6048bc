// The ONNX parser: model -> NetworkDefinition, reporting every node it cannot import.
#include <filesystem>
#include <set>

#include "core/logging.h"
#include "kiln/onnx_parser.h"
#include "onnx/importer.h"

namespace kiln::onnx {

ParserError::ParserError(ErrorCode code, std::string node, std::string op, std::string domain, int64_t opset,
                         std::string reason, int64_t index)
    : code_(code), node_(std::move(node)), op_(std::move(op)), domain_(std::move(domain)), opset_(opset),
      reason_(std::move(reason)), index_(index) {
  if (op_.empty())
    desc_ = reason_;
  else
    desc_ = "node '" + node_ + "' (" + op_ + ", domain '" + domain_ + "', opset " + std::to_string(opset_) + "): " + reason_;
}

struct ParserImpl {
  NetworkDefinition& network;
  Logger& logger;
  std::vector<ParserError> errors;
  std::vector<Model> models;  // kept alive: constants may view their bytes

  void modelError(const std::string& reason, ErrorCode code = ErrorCode::kINVALID_ARGUMENT) {
    errors.emplace_back(code, "", "", "", 0, reason, -1);
    report(logger, Severity::kERROR, reason);
  }

  bool import(Model model);
};

namespace {

DataType valueInfoType(const ValueInfo& vi) {
  if (!vi.isTensor()) throw Error(ErrorCode::kUNSUPPORTED_NODE, "'" + vi.name + "' is a " + (vi.typeKind.empty() ? "value without a type" : vi.typeKind) + ", only tensors are supported");
  bool ok = false;
  DataType t = fromOnnxType(vi.elemType, &ok);
  if (!ok) throw Error(ErrorCode::kUNSUPPORTED_NODE, "'" + vi.name + "' has element type " + onnxTypeName(vi.elemType) + ", which kiln does not support");
  return t;
}

Dims valueInfoDims(const ValueInfo& vi) {
  if (!vi.hasShape) throw Error(ErrorCode::kUNSUPPORTED_NODE, "graph input '" + vi.name + "' has no shape (unknown rank)");
  if (vi.shape.size() > static_cast<size_t>(Dims::MAX_DIMS))
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "graph input '" + vi.name + "' has rank " + std::to_string(vi.shape.size()));
  Dims d;
  d.nbDims = static_cast<int32_t>(vi.shape.size());
  for (size_t i = 0; i < vi.shape.size(); ++i) d.d[i] = vi.shape[i].kind == Dim::Kind::kVALUE && vi.shape[i].value >= 0 ? vi.shape[i].value : -1;
  return d;
}

}  // namespace

bool ParserImpl::import(Model model) {
  size_t errorsBefore = errors.size();
  auto& net = network.impl();
  if (!model.hasGraph) {
    modelError("the model has no graph");
    return false;
  }
  int64_t opset = model.opsetVersion("");
  if (opset < 0) {
    if (model.opsetImports.empty()) {
      opset = 1;
      report(logger, Severity::kWARNING, "the model imports no opset; assuming opset 1");
    } else {
      modelError("the model does not import the default ONNX domain");
      return false;
    }
  }
  if (opset > kMaxKnownOpset) {
    report(logger, Severity::kWARNING, "the model uses opset " + std::to_string(opset) + ", newer than the " +
                                           std::to_string(kMaxKnownOpset) + " this kiln knows; importing with opset " +
                                           std::to_string(kMaxKnownOpset) + " semantics");
    opset = kMaxKnownOpset;
  }
  const Graph& g = model.graph;
  std::map<std::string, ir::Value*> tensors;
  std::set<std::string> initNames;
  for (const Tensor& t : g.initializers) {
    try {
      tensors[t.name] = net.addConstantValue(toTensorData(t), t.name);
      initNames.insert(t.name);
    } catch (const Error& e) {
      modelError("initializer '" + t.name + "': " + e.message(), e.code());
    }
  }
  for (const SparseTensor& s : g.sparseInitializers)
    modelError("sparse initializer '" + s.values.name + "' is not supported", ErrorCode::kUNSUPPORTED_NODE);
  for (const ValueInfo& vi : g.inputs) {
    if (initNames.count(vi.name)) continue;  // an initializer listed as input (IR version < 4)
    try {
      kiln::Tensor* t = network.addInput(vi.name.c_str(), valueInfoType(vi), valueInfoDims(vi));
      tensors[vi.name] = t->irValue();
    } catch (const Error& e) {
      modelError(e.message(), e.code());
    }
  }
  const ImporterRegistry& reg = defaultImporterRegistry();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::string domain = n.domain == "ai.onnx" ? "" : n.domain;
    int64_t nodeOpset = domain.empty() ? opset : model.opsetVersion(domain);
    std::string name = n.name.empty() ? n.opType + "_" + std::to_string(i) : n.name;
    std::string why;
    const Importer* imp = reg.find(domain, n.opType, nodeOpset, &why);
    auto fail = [&](ErrorCode code, const std::string& reason) {
      errors.emplace_back(code, name, n.opType, domain, nodeOpset, reason, static_cast<int64_t>(i));
      report(logger, Severity::kERROR, errors.back().desc());
      // placeholder outputs so that later nodes can still be checked
      for (const std::string& o : n.outputs)
        if (!o.empty() && !tensors.count(o)) {
          ir::Value* v = net.graph().addValue(o, DataType::kFLOAT, {});
          tensors[o] = v;
        }
    };
    if (!imp) {
      fail(ErrorCode::kUNSUPPORTED_NODE, why);
      continue;
    }
    Node named = n;
    named.name = name;
    ImportContext ctx(net, tensors, named, nodeOpset);
    try {
      imp->fn(ctx);
    } catch (const Error& e) {
      fail(e.code(), e.message());
    } catch (const std::exception& e) {
      fail(ErrorCode::kINTERNAL_ERROR, e.what());
    }
  }
  for (const ValueInfo& vi : g.outputs) {
    auto it = tensors.find(vi.name);
    if (it == tensors.end()) {
      modelError("graph output '" + vi.name + "' is not produced by any node");
      continue;
    }
    network.markOutput(*net.tensor(it->second));
  }
  models.push_back(std::move(model));
  if (errors.size() == errorsBefore && !net.inferShapes()) {
    modelError("the imported network does not pass shape inference (see the error above)");
  }
  return errors.size() == errorsBefore;
}

Parser::Parser(NetworkDefinition& network, Logger& logger)
    : impl_(std::make_unique<ParserImpl>(ParserImpl{network, logger, {}, {}})) {}
Parser::~Parser() = default;

std::unique_ptr<Parser> createParser(NetworkDefinition& network, Logger& logger) {
  return std::make_unique<Parser>(network, logger);
}

bool Parser::parseFromFile(const char* path, int32_t) {
  if (!path) {
    impl_->modelError("parseFromFile: null path");
    return false;
  }
  try {
    return impl_->import(loadModelFile(path));
  } catch (const Error& e) {
    impl_->modelError(std::string("cannot read '") + path + "': " + e.message(), e.code());
  } catch (const std::exception& e) {
    impl_->modelError(std::string("cannot read '") + path + "': " + e.what());
  }
  return false;
}

bool Parser::parse(const void* data, std::size_t size, const char* baseDir) {
  if (!data && size) {
    impl_->modelError("parse: null data");
    return false;
  }
  try {
    // copy: the caller's buffer may go away while the network still views initializers
    auto copy = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    std::shared_ptr<const void> owner(copy, copy->data());
    return impl_->import(parseModel(copy->data(), copy->size(), baseDir ? baseDir : "", owner));
  } catch (const Error& e) {
    impl_->modelError(std::string("cannot read the model: ") + e.message(), e.code());
  } catch (const std::exception& e) {
    impl_->modelError(std::string("cannot read the model: ") + e.what());
  }
  return false;
}

int32_t Parser::getNbErrors() const noexcept { return static_cast<int32_t>(impl_->errors.size()); }

const ParserError* Parser::getError(int32_t index) const noexcept {
  if (index < 0 || index >= getNbErrors()) return nullptr;
  return &impl_->errors[static_cast<size_t>(index)];
}

void Parser::clearErrors() noexcept { impl_->errors.clear(); }

bool Parser::supportsOperator(const char* opType, int64_t opset, const char* domain) const noexcept {
  if (!opType) return false;
  return defaultImporterRegistry().find(domain ? domain : "", opType, opset > 0 ? opset : kMaxKnownOpset, nullptr) != nullptr;
}

}  // namespace kiln::onnx
