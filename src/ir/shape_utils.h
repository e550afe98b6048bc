// Shape helpers shared by op schemas and kernels.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

//! Numpy-style broadcast of two shapes (aligned on the right; -1 where unknown). Throws kiln::Error if the
//! shapes are incompatible.
Shape broadcastShapes(const Shape& a, const Shape& b);
//! Broadcast of several shapes.
Shape broadcastShapes(const std::vector<Shape>& shapes);

//! Normalizes axis in [-rank, rank) to [0, rank); throws kiln::Error otherwise.
int64_t normalizeAxis(int64_t axis, int64_t rank);

//! Row-major strides of a shape (in elements).
std::vector<int64_t> stridesOf(const Shape& shape);

//! Strides to read `in` (right-aligned) as if it had shape `out` (0 on broadcast dims).
std::vector<int64_t> broadcastStrides(const Shape& in, const Shape& out);

//! Output extent of a convolution/pooling window; throws if it would be negative.
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin, int64_t padEnd,
                       int64_t dilation, bool ceilMode = false);

}  // namespace kiln::ir
