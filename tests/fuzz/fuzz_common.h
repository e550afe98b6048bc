// Shared helpers of the fuzz targets (tests/fuzz/fuzz_*.cpp). See docs/security.md.
//
// Every target defines LLVMFuzzerTestOneInput and nothing else, so that it links both with libFuzzer
// (KILN_FUZZ=ON, clang) and with tests/fuzz/replay_main.cpp (the regression replay of the normal test suite).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/evaluate.h"
#include "ir/op_registry.h"
#include "kiln/kiln.h"
#include "runtime/engine_impl.h"

namespace kiln::fuzz {

//! Drops every message (the fuzzers log nothing; a crash report is the only output that matters).
class SilentLogger : public Logger {
 public:
  SilentLogger() : Logger(Severity::kINTERNAL_ERROR) {}
  void log(Severity, const char*) noexcept override {}
};

inline SilentLogger& logger() {
  static SilentLogger l;
  return l;
}

//! Limits of one execution: runs only engines whose I/O and scratch memory are small, so that a fuzz input
//! that declares a huge tensor does not turn into an out-of-memory report or a timeout.
constexpr std::size_t kMaxIoBytes = 1u << 20;
constexpr std::size_t kMaxArenaBytes = 16u << 20;
constexpr int64_t kMaxIoElements = 1 << 18;
//! Runtime::setMemoryBudget of the plan target: constants + a context's arena and kernel workspace (checked
//! by the runtime before it allocates; a plan whose conv workspace is huge is refused there).
constexpr std::size_t kMemoryBudget = 64u << 20;

//! getDeviceMemorySize() is recomputed at load, but only at the profile shapes, and a plan's stored value
//! shapes are re-inferred at run time: infer every shape from the context's input shapes here (the same
//! inference the context runs) and refuse to run when the activations are large. Huge extents of empty
//! tensors are run (their products are overflow-checked in the kernels, their scratch memory is bounded by
//! the runtime's memory budget).
inline bool inferredShapesSmall(Engine& engine, ExecutionContext& ctx) {
  const detail::EngineImpl& e = engine.impl();
  if (!e.plan.graph) return false;
  const ir::Graph& g = *e.plan.graph;
  std::vector<ir::ValueInfo> infos(g.values.size());
  for (const auto& t : e.io) {
    if (t.mode != TensorIOMode::kINPUT) continue;
    if (t.valueId < 0 || static_cast<std::size_t>(t.valueId) >= infos.size()) return false;
    Dims d = ctx.getTensorShape(t.name.c_str());
    if (d.nbDims < 0) return false;
    infos[static_cast<std::size_t>(t.valueId)].dtype = t.dtype;
    infos[static_cast<std::size_t>(t.valueId)].shape.assign(d.d, d.d + d.nbDims);
  }
  try {
    ir::inferGraph(ir::defaultOpRegistry(), g, infos, &cpu::referenceEvaluator());
  } catch (const Error&) {
    return false;
  }
  std::size_t bytes = 0;
  for (const auto& info : infos) {
    int64_t n = 1;
    for (int64_t d : info.shape) {
      if (d < 0) return false;  // unknown (value-dependent)
      if (d > 0 && n > kMaxIoElements * 64 / d) return false;
      n *= d;
    }
    bytes += static_cast<std::size_t>(n) * dataTypeSize(info.dtype);
    if (bytes > kMaxArenaBytes) return false;
  }
  return true;
}

//! Creates a context, sets every dynamic input to its first profile's opt shape, binds zero-filled
//! buffers and runs once, when the I/O is small. Returns whether it ran (failures are fine: logged).
inline bool runOnceIfSmall(Engine& engine) {
  if (engine.getDeviceMemorySize() > kMaxArenaBytes) return false;
  auto ctx = engine.createExecutionContext();
  if (!ctx) return false;
  int32_t n = engine.getNbIOTensors();
  if (n < 0 || n > 64) return false;
  for (int32_t i = 0; i < n; ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name || engine.getTensorIOMode(name) != TensorIOMode::kINPUT) continue;
    Dims d = engine.getTensorShape(name);
    if (d.nbDims < 0) return false;
    if (volume(d) < 0) {
      if (engine.getNbOptimizationProfiles() < 1) return false;
      d = engine.getProfileShape(name, 0, OptProfileSelector::kOPT);
      if (d.nbDims < 0) return false;
    }
    int64_t v = volume(d);
    if (v < 0 || v > kMaxIoElements) return false;
    if (!ctx->setInputShape(name, d)) return false;
  }
  if (!inferredShapesSmall(engine, *ctx)) return false;
  std::vector<std::vector<uint8_t>> buffers;
  std::size_t total = 0;
  for (int32_t i = 0; i < n; ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name) return false;
    Dims d = ctx->getTensorShape(name);
    int64_t v = volume(d);
    if (d.nbDims < 0 || v < 0 || v > kMaxIoElements) return false;
    std::size_t bytes = static_cast<std::size_t>(v) * dataTypeSize(engine.getTensorDataType(name));
    total += bytes;
    if (total > kMaxIoBytes) return false;
    // at least 64 bytes, so that an empty tensor still gets a valid, non-null address
    buffers.emplace_back(bytes + 64, 0);
    if (!ctx->setTensorAddress(name, buffers.back().data())) return false;
  }
  return ctx->execute();
}

}  // namespace kiln::fuzz
