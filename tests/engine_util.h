// Helpers for end-to-end tests: build a network, load the plan, run it on host vectors.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::test {

//! Collects every message (tests assert on errors).
class CaptureLogger : public Logger {
 public:
  CaptureLogger() : Logger(Severity::kVERBOSE) {}
  void log(Severity s, const char* msg) noexcept override {
    if (s <= Severity::kWARNING) messages.emplace_back(msg);
  }
  bool contains(const std::string& needle) const {
    for (const auto& m : messages)
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string all() const {
    std::string s;
    for (const auto& m : messages) s += m + "\n";
    return s;
  }
  std::vector<std::string> messages;
};

struct HostTensor {
  Dims dims{};
  std::vector<float> data;
};

inline std::unique_ptr<HostMemory> buildPlan(Builder& builder, NetworkDefinition& net, BuilderConfig* config = nullptr) {
  std::unique_ptr<BuilderConfig> own;
  if (!config) {
    own = builder.createBuilderConfig();
    config = own.get();
  }
  return builder.buildSerializedNetwork(net, *config);
}

//! Runs float32 I/O engines: inputs by name, returns every output by name.
inline std::map<std::string, HostTensor> runEngine(Engine& engine, const std::map<std::string, HostTensor>& inputs,
                                                   ExecutionContext* ctx = nullptr) {
  std::unique_ptr<ExecutionContext> own;
  if (!ctx) {
    own = engine.createExecutionContext();
    ctx = own.get();
  }
  std::map<std::string, HostTensor> outputs;
  for (const auto& [name, t] : inputs) {
    EXPECT_TRUE(ctx->setInputShape(name.c_str(), t.dims)) << name;
    EXPECT_TRUE(ctx->setTensorAddress(name.c_str(), const_cast<float*>(t.data.data()))) << name;
  }
  for (int i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (engine.getTensorIOMode(name) != TensorIOMode::kOUTPUT) continue;
    HostTensor& o = outputs[name];
    o.dims = ctx->getTensorShape(name);
    EXPECT_GE(o.dims.nbDims, 0) << name;
    o.data.assign(static_cast<size_t>(std::max<int64_t>(volume(o.dims), 0)), -12345.f);
    EXPECT_TRUE(ctx->setTensorAddress(name, o.data.data() ? o.data.data() : reinterpret_cast<float*>(&o)));
  }
  EXPECT_TRUE(ctx->execute());
  return outputs;
}

inline Weights floatWeights(const std::vector<float>& v) {
  return Weights{DataType::kFLOAT, v.data(), static_cast<int64_t>(v.size())};
}

}  // namespace kiln::test
