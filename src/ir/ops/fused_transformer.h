// Attributes of the kiln-internal FusedAttention op (ops/fused_transformer.cpp; docs/ir/attention.md), read
// the same way by every backend's kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

struct FusedAttentionAttrs {
  double scale{1.0};
  std::vector<int64_t> layouts{1, 1, 1, 1};  //!< q, k, v, y: 0 = [B,S,H,D], 1 = [B,H,S,D]
  bool maskedRowsZero{true};                 //!< a fully masked row gives 0 (else NaN)
  int64_t qkvHeads{0};                       //!< > 0: one packed [B,S,3*H*D] input of this many heads
};

//! The node's attributes with their defaults (the kernels refuse layouts of another size than 4).
inline FusedAttentionAttrs fusedAttentionAttrs(const Node& node) {
  FusedAttentionAttrs a;
  a.scale = node.attrs.getFloat("scale", 1.0);
  a.layouts = node.attrs.getInts("layouts", {1, 1, 1, 1});
  a.maskedRowsZero = node.attrs.getInt("masked_rows_zero", 1) != 0;
  a.qkvHeads = node.attrs.getInt("qkv_heads", 0);
  return a;
}

}  // namespace kiln::ir
