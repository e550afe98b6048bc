// Evaluates single nodes on host data with the reference kernels (constant folding, tests, kiln compare).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"

namespace kiln::cpu {

//! Runs `node` with its reference tactic. `inputs[i]` is the data of node input i (nullptr for an omitted
//! optional input); `infos` must hold the inferred output infos of the node (shape fully known).
//! Returns the outputs. Throws kiln::Error on failure.
//! `tactic` picks another kernel of the op (tests compare optimized tactics with the reference this way).
std::vector<std::shared_ptr<const ir::TensorData>> evaluateNode(const ir::Node& node,
                                                                const std::vector<const ir::TensorData*>& inputs,
                                                                const std::vector<ir::ValueInfo>& infos,
                                                                const std::string& tactic = "ref");

//! evaluateNode as an ir::Evaluator: what fills in the contents of small known values during inference.
const ir::Evaluator& referenceEvaluator();

//! Convenience for tests: builds a one-node graph `op(inputs...)` with the given attributes, infers
//! shapes, runs the reference kernel and returns the outputs.
std::vector<std::shared_ptr<const ir::TensorData>> runSingleOp(const std::string& op, const ir::Attributes& attrs,
                                                               const std::vector<std::shared_ptr<const ir::TensorData>>& inputs,
                                                               int numOutputs = 1, const std::string& tactic = "ref");

}  // namespace kiln::cpu
