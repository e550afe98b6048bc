// Helpers for importers that decompose an ONNX operator into several IR operations (attention.cpp,
// einsum.cpp): each call adds one intermediate IR node and returns its output.
#pragma once

#include <string>
#include <vector>

#include "onnx/importer.h"

namespace kiln::onnx {

struct Emit {
  ImportContext& ctx;

  ir::Value* op(const std::string& type, std::vector<ir::Value*> ins, ir::Attributes a = {});
  ir::Value* op1(const std::string& type, ir::Value* x);
  //! x cast to t (x itself when it already has type t).
  ir::Value* cast(ir::Value* x, DataType t);
  //! A rank-0 constant of type t (a float constant cast to t).
  ir::Value* scalar(double v, DataType t);
  ir::Value* ints(const std::vector<int64_t>& v);
  ir::Value* int64Scalar(int64_t v);
  ir::Value* reshape(ir::Value* x, const std::vector<int64_t>& shape);
  ir::Value* transpose(ir::Value* x, const std::vector<int64_t>& perm);
  ir::Value* concat(std::vector<ir::Value*> xs, int64_t axis);
  ir::Value* slice(ir::Value* x, int64_t axis, int64_t start, int64_t end, int64_t step);
  ir::Value* unsqueeze(ir::Value* x, const std::vector<int64_t>& axes);
  ir::Value* softmax(ir::Value* x, int64_t axis);
  //! The shape of x; refuses (kUNSUPPORTED_NODE) when it is unknown or has an unknown extent.
  const ir::Shape& staticShape(ir::Value* x, const char* what);
  //! The shape of x (extents may be -1); refuses when even the rank is unknown.
  const ir::Shape& rankedShape(ir::Value* x, const char* what);
  //! Binds v as ONNX output `output` (if that output is wanted), through an Identity if v is a graph input.
  void bind(size_t output, ir::Value* v);
  bool wants(size_t output) const;
};

void registerAttentionImporters(ImporterRegistry& reg);
void registerEinsumImporters(ImporterRegistry& reg);

}  // namespace kiln::onnx
