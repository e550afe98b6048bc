// GPU end-to-end tests: an ONNX model (tests/onnx_writer.h bytes) parsed, built for a device and loaded.
#pragma once

#include <memory>
#include <string>

#include "engine_util.h"
#include "kiln/onnx_parser.h"
#include "kiln/runtime.h"

namespace kiln::test {

struct BuiltEngine {
  CaptureLogger logger;
  std::unique_ptr<Engine> engine;  //!< null if parsing, building or loading failed (the logger says why)
};

inline std::unique_ptr<BuiltEngine> buildOnnxEngine(const std::string& modelBytes, DeviceType device) {
  auto b = std::make_unique<BuiltEngine>();
  auto builder = createBuilder(b->logger);
  auto net = builder->createNetwork();
  auto parser = onnx::createParser(*net, b->logger);
  if (!parser->parse(modelBytes.data(), modelBytes.size())) return b;
  auto cfg = builder->createBuilderConfig();
  cfg->setDefaultDeviceType(device);
  auto plan = builder->buildSerializedNetwork(*net, *cfg);
  if (!plan) return b;
  Runtime rt(b->logger);
  b->engine = rt.deserializeEngine(plan->data(), plan->size());
  return b;
}

}  // namespace kiln::test
