// The float64 reference (kiln compare --ref-precision fp64): retypes a graph so that it computes in double.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"

namespace kiln::passes {

//! Whether `node`, retyped (its float inputs and outputs float64), can run as it is; on false, why.
using DoubleSupportFn = std::function<bool(const ir::Node& node, std::string* reason)>;

//! A node that computes in its original type: its inputs are cast down to it, its outputs back up.
struct ReducedNode {
  std::string node;                  //!< node name
  std::string op;
  std::string reason;                //!< why it could not run in float64
  std::vector<std::string> outputs;  //!< names of its float outputs (the float64 values after the cast up)
  DataType precision{DataType::kFLOAT};  //!< the type it computes in (its first float output's, else input's)
};

struct RaiseToDoubleResult {
  int raisedNodes{0};                //!< nodes that compute in float64
  std::vector<ReducedNode> reduced;  //!< nodes that keep their original precision, in graph order
};

//! Every float32 / float16 / bfloat16 tensor of `g` becomes float64: constants are converted exactly
//! (a converted copy per constant), graph inputs keep their type and get a Cast to float64 right after
//! them, graph outputs become float64. Attributes that name a float type (Cast's `to`, `dtype`,
//! `output_dtype`) and float `value` tensors (Constant, ConstantOfShape) follow. A node whose schema
//! inference rejects the float64 types, that `supports` refuses, or that holds nested graphs, keeps its
//! original types: Casts down to them before it and back up to float64 after it (the float64 value
//! keeps the output's name; the node's own output gets a new one). Resize's roi and scales keep their
//! type. `evaluator` (optional) computes small known values during inference, as the import does.
//! Throws kiln::Error if the graph does not infer.
RaiseToDoubleResult raiseToDouble(ir::Graph& g, const DoubleSupportFn& supports,
                                  const ir::Evaluator* evaluator = nullptr);

}  // namespace kiln::passes
