// kiln public API: the ONNX parser. Fills a NetworkDefinition from an ONNX model.
//
//   auto parser = kiln::onnx::createParser(*network, logger);
//   if (!parser->parseFromFile("model.onnx"))
//     for (int i = 0; i < parser->getNbErrors(); ++i) std::cerr << parser->getError(i)->desc() << "\n";
//
// A model is never rejected at the first problem: every node that cannot be imported is reported (name,
// op type, domain, opset and reason) and parse() returns false.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kiln/network.h"

namespace kiln {
class Logger;
namespace onnx {

class ParserError {
 public:
  ErrorCode code() const noexcept { return code_; }
  //! "node 'conv1' (Conv, domain '', opset 13): <reason>"
  const char* desc() const noexcept { return desc_.c_str(); }
  const char* nodeName() const noexcept { return node_.c_str(); }
  const char* nodeOperator() const noexcept { return op_.c_str(); }
  const char* nodeDomain() const noexcept { return domain_.c_str(); }
  int64_t opset() const noexcept { return opset_; }
  const char* reason() const noexcept { return reason_.c_str(); }
  //! Index of the node in the graph, -1 for model-level errors.
  int64_t node() const noexcept { return index_; }

  ParserError(ErrorCode code, std::string node, std::string op, std::string domain, int64_t opset, std::string reason,
              int64_t index);

 private:
  ErrorCode code_;
  std::string node_, op_, domain_;
  int64_t opset_;
  std::string reason_;
  int64_t index_;
  std::string desc_;
};

struct ParserImpl;

class Parser {
 public:
  ~Parser();
  //! Parses an ONNX file (mmapped; external data files are resolved next to it). Returns false if
  //! anything could not be imported; see getError().
  bool parseFromFile(const char* path, int32_t verbosity = 0);
  //! Parses ONNX bytes. `baseDir` resolves external data (nullptr: none allowed).
  bool parse(const void* data, std::size_t size, const char* baseDir = nullptr);
  int32_t getNbErrors() const noexcept;
  const ParserError* getError(int32_t index) const noexcept;
  void clearErrors() noexcept;
  //! Whether an op (default domain "") is importable at an opset.
  bool supportsOperator(const char* opType, int64_t opset = 0, const char* domain = "") const noexcept;

  // internal use
  Parser(NetworkDefinition& network, Logger& logger);

 private:
  std::unique_ptr<ParserImpl> impl_;
};

std::unique_ptr<Parser> createParser(NetworkDefinition& network, Logger& logger);

}  // namespace onnx
}  // namespace kiln
