// Reduced-precision rewrites of the builder for the GPU (see precision.cpp).
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

//! Computes in `to` (kHALF or kBF16) inside the network; I/O keeps its declared types.
void lowerFloatPrecision(ir::Graph& g, DataType to);
//! Lets float32 matrix products and convolutions use TF32 (attribute kiln_tf32=1).
void markTf32(ir::Graph& g);

}  // namespace kiln::passes
