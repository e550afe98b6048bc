// One ONNX model (onnx_writer.h bytes) parsed, built with the default config and loaded: the engine, or why not
// (parsed false / engine null, messages in logger). Shared by the importer tests of the newer op families.
#pragma once

#include <memory>

#include "engine_util.h"
#include "kiln/onnx_parser.h"
#include "onnx_writer.h"

namespace kiln::test {

struct ImportedEngine {
  CaptureLogger logger;
  std::unique_ptr<Builder> builder = createBuilder(logger);
  std::unique_ptr<NetworkDefinition> net = builder->createNetwork();
  std::unique_ptr<onnx::Parser> parser = onnx::createParser(*net, logger);
  std::unique_ptr<Engine> engine;
  bool parsed{false};
  explicit ImportedEngine(const onnxw::Msg& m) {
    parsed = parser->parse(m.bytes.data(), m.bytes.size());
    if (!parsed) return;
    auto plan = builder->buildSerializedNetwork(*net, *builder->createBuilderConfig());
    if (!plan) return;
    Runtime rt(logger);
    engine = rt.deserializeEngine(plan->data(), plan->size());
  }
};

}  // namespace kiln::test
