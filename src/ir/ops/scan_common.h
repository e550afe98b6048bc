// Private helpers of Scan (src/ir/ops/scan.cpp, src/backends/cpu/ref/scan.cpp, src/backends/cuda/control_flow.cpp):
// the validated layout of a Scan node's inputs, outputs and attributes, so that inference and the kernels
// agree, and where the slices of a scanned axis lie.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace kiln::ir::scan {

struct Layout {
  const Graph* body{nullptr};
  int64_t N{0}, M{0}, C{0}, K{0};  //!< states, scan inputs, captured values, scan outputs
  std::vector<int64_t> inAxes, outAxes, inDirs, outDirs;
};

[[noreturn]] inline void bad(const std::string& m) { throw Error(ErrorCode::kINVALID_ARGUMENT, "Scan: " + m); }

inline std::vector<int64_t> listAttr(const Attributes& a, const char* name, int64_t n, bool direction) {
  std::vector<int64_t> v = a.getInts(name, std::vector<int64_t>(static_cast<size_t>(n), 0));
  if (static_cast<int64_t>(v.size()) != n) bad(std::string(name) + " must have " + std::to_string(n) + " entries");
  if (direction)
    for (int64_t d : v)
      if (d != 0 && d != 1) bad(std::string(name) + " entries must be 0 or 1");
  return v;
}

//! Throws kiln::Error(kINVALID_ARGUMENT) for an inconsistent node (untrusted plans get here too).
inline Layout layoutOf(const Node& n) {
  Layout l;
  const Attr* b = n.attrs.find("body");
  if (!b || b->kind != Attr::Kind::kGRAPH || !b->graph) bad("the body graph attribute is missing");
  l.body = b->graph.get();
  l.body->verify();
  const int64_t nin = static_cast<int64_t>(n.inputs.size()), nout = static_cast<int64_t>(n.outputs.size());
  l.M = n.attrs.getInt("num_scan_inputs", -1);
  l.C = n.attrs.getInt("num_captured", 0);
  if (l.M < 1 || l.M > nin) bad("num_scan_inputs must be in [1, number of inputs]");
  if (l.C < 0 || l.C > nin - l.M) bad("num_captured is out of range");
  l.N = nin - l.M - l.C;
  if (static_cast<int64_t>(l.body->inputs.size()) != nin)
    bad("the body has " + std::to_string(l.body->inputs.size()) + " inputs, expected " + std::to_string(nin));
  l.K = static_cast<int64_t>(l.body->outputs.size()) - l.N;
  if (l.K < 0 || nout != l.N + l.K)
    bad("the body's outputs (" + std::to_string(l.body->outputs.size()) + ") do not match the node's outputs (" +
        std::to_string(nout) + ") and states (" + std::to_string(l.N) + ")");
  for (int64_t i = 0; i < nin; ++i)
    if (!n.inputs[static_cast<size_t>(i)]) bad("input " + std::to_string(i) + " is missing");
  for (const Value* v : l.body->inputs)
    if (!v || v->producer || v->isConstant()) bad("a body input is produced inside the body");
  for (const Value* v : l.body->outputs)
    if (!v) bad("a body output is missing");
  l.inAxes = listAttr(n.attrs, "scan_input_axes", l.M, false);
  l.outAxes = listAttr(n.attrs, "scan_output_axes", l.K, false);
  l.inDirs = listAttr(n.attrs, "scan_input_directions", l.M, true);
  l.outDirs = listAttr(n.attrs, "scan_output_directions", l.K, true);
  return l;
}

//! A tensor seen as [outer, len, inner bytes] around `axis`: slice i of the axis is `outer` runs of `inner`
//! bytes, `len * inner` bytes apart, starting at byte i * inner.
struct Split3 {
  int64_t outer{1}, len{1};
  std::size_t inner{1};
};
inline Split3 splitAt(const Shape& s, int64_t axis, DataType t) {
  Split3 r;
  for (int64_t d = 0; d < axis; ++d) r.outer *= s[static_cast<size_t>(d)];
  r.len = s[static_cast<size_t>(axis)];
  r.inner = dataTypeSize(t);
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) r.inner *= static_cast<std::size_t>(s[d]);
  return r;
}

}  // namespace kiln::ir::scan
