// Ops whose output extents depend on input values: NonZero, Compress, Unique, NonMaxSuppression.
//
// Their results are computed by one shared function per op (below) that both the shape inference (when the
// inputs' contents are known: constants, folded values, small graph inputs read at enqueue time like
// TensorRT's shape tensors) and the CPU reference kernel call; with unknown inputs the data-dependent extent
// stays -1 and the runtime reports that it depends on the data of a computed tensor.
#pragma once

#include <memory>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir::data_dependent {

using Outputs = std::vector<std::shared_ptr<TensorData>>;

//! Each throws kiln::Error(kINVALID_ARGUMENT) on bad inputs or attributes.
Outputs nonZero(const TensorData& x);
Outputs compress(const Attributes& attrs, const TensorData& x, const TensorData& condition);
Outputs unique(const Attributes& attrs, const TensorData& x);
//! Optional inputs may be nullptr.
Outputs nonMaxSuppression(const Attributes& attrs, const TensorData& boxes, const TensorData& scores,
                          const TensorData* maxPerClass, const TensorData* iouThreshold, const TensorData* scoreThreshold);

//! MelWeightMatrix (ONNX opset 17 reference semantics): [dft_length / 2 + 1, num_mel_bins] of `dtype`
//! (float or double; attribute "dtype", a kiln DataType int, default float).
Outputs melWeightMatrix(const Attributes& attrs, const TensorData& numMelBins, const TensorData& dftLength,
                       const TensorData& sampleRate, const TensorData& lowerHertz, const TensorData& upperHertz);

//! A TensorData viewing `bytes` at `data` without owning them (for kernels that reuse the functions above).
std::shared_ptr<const TensorData> viewOf(DataType dtype, const Shape& shape, const void* data);

}  // namespace kiln::ir::data_dependent
