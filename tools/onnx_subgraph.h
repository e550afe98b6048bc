// `kiln compare --reduce`: writes a few nodes of an ONNX model as a model of their own, with the data of
// its inputs and the expected outputs saved next to it as ONNX TensorProto files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::cli {

struct SubgraphResult {
  std::vector<std::string> nodes;    //!< the nodes written, in model order
  std::vector<std::string> inputs;   //!< graph inputs (computed tensors of the original model)
  std::vector<std::string> outputs;  //!< graph outputs
  std::string dataDir;               //!< where input_<i>.pb and output_<i>.pb are
};

//! Copies the nodes named in `nodeNames` (and the initializers they read) from the ONNX model at
//! `modelPath` into a new model at `outPath`. Tensors they read that other nodes compute become graph
//! inputs; tensors they compute that no kept node reads become graph outputs. `valueOf(name)` gives the
//! data of such a tensor (the reference's): its type and shape go into the model, its contents into
//! <outPath minus .onnx>_data/input_<i>.pb and output_<i>.pb. Throws CliError.
SubgraphResult writeSubgraph(const std::string& modelPath, const std::vector<std::string>& nodeNames,
                             const std::function<const ir::TensorData*(const std::string&)>& valueOf,
                             const std::string& outPath);

}  // namespace kiln::cli
