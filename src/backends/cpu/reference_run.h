// Runs a whole graph through the CPU reference kernels, node by node, keeping every tensor (kiln compare's
// reference), in the graph's own precision or in float64 (passes/raise_to_double.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"
#include "passes/raise_to_double.h"

namespace kiln::cpu {

//! Whether the reference kernel of `node` runs it with the node's value types (its tactic's supports()
//! and creation accept them; ops whose reference kernel accepts float64 but computes in float32 are
//! refused). The capability query of raiseToDouble.
bool referenceKernelSupports(const ir::Node& node, std::string* reason);

struct ReferenceInput {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  ir::Shape shape;
  const void* data{nullptr};
  std::size_t bytes{0};
};

struct ReferenceRun {
  std::unique_ptr<ir::Graph> graph;  //!< the graph that ran (retyped when fp64)
  std::vector<ir::ValueInfo> infos;  //!< per value id
  std::vector<std::shared_ptr<const ir::TensorData>> data;  //!< per value id: graph inputs and node outputs
  bool fp64{false};
  passes::RaiseToDoubleResult raised;  //!< fp64: which nodes kept their original precision

  //! The data of the value named `name` (computed, constant, or known from inference); nullptr if none.
  const ir::TensorData* find(const std::string& name) const;
  const ir::TensorData* find(const ir::Value* v) const;
};

//! Runs `model` (not modified) on `inputs` (one per graph input, matched by name) with the reference
//! kernels; fp64: in float64 where the ops allow (see raiseToDouble). Throws kiln::Error naming the node
//! whose inference or kernel failed.
ReferenceRun runReference(const ir::Graph& model, const std::vector<ReferenceInput>& inputs, bool fp64);

}  // namespace kiln::cpu
