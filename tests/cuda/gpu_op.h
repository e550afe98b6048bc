// GPU op tests: run one op with a GPU kernel and compare it with the CPU reference kernel.
//
// Every test binary of tests/cuda/ links kiln with the CUDA backend; where no GPU is usable the tests
// skip with a message (GTEST_SKIP), so CI (no GPU) builds and runs them as skipped.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/gpu.h"
#include "test_util.h"

namespace kiln::test {

//! Skips the current test where no GPU is usable.
#define KILN_REQUIRE_GPU()                                        \
  do {                                                            \
    std::string kiln_why_;                                        \
    if (!::kiln::gpu::available(&kiln_why_)) GTEST_SKIP() << kiln_why_; \
  } while (0)

struct GpuOpOptions {
  //! Inputs that become graph constants (weights, axes, pads...): the kernel may read their host values
  //! when it is created. The others are device buffers that the kernel sees only at run time.
  std::vector<int> constantInputs;
  //! Tactic to use; empty: the last applicable one (what the builder picks without timing).
  std::string tactic;
};

//! Runs `op` on the GPU: builds a one-node graph, infers shapes, creates the kernel, uploads the inputs,
//! fills the outputs with 0xFF bytes (NaN for floats: an element the kernel does not write shows up),
//! runs on a fresh stream, synchronizes and downloads the outputs. Throws kiln::Error on failure.
std::vector<TensorPtr> runGpuOp(const std::string& op, const ir::Attributes& attrs, const std::vector<TensorPtr>& inputs,
                                int numOutputs = 1, const GpuOpOptions& opts = {});

//! Runs `op` with the CPU reference and on the GPU and expects the same shapes and values within
//! |gpu - ref| <= atol + rtol * |ref| (NaN matches NaN). Returns the GPU outputs.
std::vector<TensorPtr> expectGpuMatchesCpu(const std::string& op, const ir::Attributes& attrs,
                                           const std::vector<TensorPtr>& inputs, int numOutputs = 1,
                                           const GpuOpOptions& opts = {}, double rtol = 1e-5, double atol = 1e-6);

//! The tensor converted to another floating type (for fp16/bf16 variants of float tests).
TensorPtr convertTensor(const ir::TensorData& t, DataType to);

}  // namespace kiln::test
