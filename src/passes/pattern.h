// Helpers shared by the fusion and recognition passes: use counts, constant scalars, moving a node's
// output onto another node (so graph outputs keep their values and names), and the epilogue activation
// matcher of fuse_conv_epilogue / fuse_matmul_epilogue.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ir/ops/fused_activation.h"

namespace kiln::passes {

//! Who reads each value: one entry per input slot (a node reading a value twice appears twice).
class Uses {
 public:
  explicit Uses(const ir::Graph& g);
  const std::vector<ir::Node*>& readers(const ir::Value* v) const;
  bool isGraphOutput(const ir::Value* v) const;
  //! The only reader of `v` if it has exactly one use slot and is not a graph output, else nullptr.
  ir::Node* sole(const ir::Value* v) const;
  //! True if `v` is not a graph output and every use slot is in one of `nodes`.
  bool onlyUsedBy(const ir::Value* v, const std::vector<const ir::Node*>& nodes) const;

 private:
  std::unordered_map<const ir::Value*, std::vector<ir::Node*>> readers_;
  std::unordered_map<const ir::Value*, int> outputs_;
};

//! The value of a constant with exactly one element (any shape), as double.
bool scalarConstant(const ir::Value* v, double* out);
//! True if `v` is a one-element constant within `rel` (relative) of `expected`.
bool isScalarNear(const ir::Value* v, double expected, double rel = 1e-4);
//! The input of binary node `n` that is not `v` (nullptr if neither or both are `v`).
ir::Value* otherInput(const ir::Node& n, const ir::Value* v);
bool isFloat(DataType t);

//! Appends `from`'s origins (or its name if it has none) to `to`'s.
void appendOrigins(ir::Node& to, const ir::Node& from);
//! `keep` takes over the output value of `tail` (which is removed, origins appended): graph outputs and
//! later readers keep seeing the same value. `keep` must come before every reader of that value.
void takeOverOutput(ir::Graph& g, ir::Node* keep, ir::Node* tail);
//! Removes the nodes (their origins are appended to `into` first).
void removeInto(ir::Graph& g, ir::Node* into, const std::vector<ir::Node*>& nodes);

//! A new constant of type `dtype` from doubles (rounded once).
std::shared_ptr<const ir::TensorData> makeConstant(DataType dtype, ir::Shape shape, const std::vector<double>& v);
//! Adds it to the graph under a unique name based on `base`.
ir::Value* addConstant(ir::Graph& g, const std::string& base, DataType dtype, ir::Shape shape,
                       const std::vector<double>& v);
//! All elements of a constant as doubles.
std::vector<double> constantValues(const ir::Value* v);

//! The per-channel affine form y = x * s + shift of a BatchNormalization (inference mode) whose
//! parameters are constants of `channels` values; false otherwise (fold_batchnorm.cpp).
struct BnParams {
  std::vector<double> s, shift;
};
bool bnParams(const ir::Node& bn, int64_t channels, BnParams* p);

//! An activation that can become an epilogue: the nodes it spans and the value it produces.
struct ActivationMatch {
  ir::FusedActivation act;
  std::vector<ir::Node*> nodes;  //!< the last one produces the activation's output
};
//! Matches an activation applied to `v` alone (v must have no other reader and not be a graph output):
//! Relu, Clip (constant min/max), LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Silu, Mul(v, Sigmoid(v)),
//! Gelu (approximate="none").
bool matchActivation(const Uses& uses, const ir::Value* v, ActivationMatch* m);

}  // namespace kiln::passes
