// Layout rewrites of the builder for the GPU (see layout_nhwc.cpp).
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

//! float16/bfloat16 2-D Conv, MaxPool and AveragePool compute channels-last (ConvNHWC, MaxPoolNHWC,
//! AveragePoolNHWC) with the transposes between them cancelled. Returns the number of layers converted.
//! Leaves dead nodes behind (run eliminateDeadNodes after it).
int convertToChannelsLast(ir::Graph& g);

}  // namespace kiln::passes
