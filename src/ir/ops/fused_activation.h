// The kiln epilogue activation of Conv, MatMul and Gemm (attributes kiln_act, kiln_act_alpha,
// kiln_act_beta; docs/ir/nn.md): parsed once from a node's attributes, applied per element in double.
// Shared by the op schemas, the CPU kernels and the fusion passes so that all agree on the semantics.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/graph.h"

namespace kiln::ir {

enum class FusedAct : uint8_t { kNONE, kRELU, kCLIP, kLEAKY_RELU, kSIGMOID, kTANH, kHARD_SIGMOID, kHARD_SWISH, kSILU, kGELU };

struct FusedActivation {
  FusedAct kind{FusedAct::kNONE};
  double alpha{0};  //!< Clip: min; LeakyRelu: alpha; HardSigmoid: alpha
  double beta{0};   //!< Clip: max; HardSigmoid: beta

  bool none() const noexcept { return kind == FusedAct::kNONE; }

  //! Same results as the standalone op's reference kernel (NaN passes through Relu and Clip).
  double apply(double x) const noexcept {
    switch (kind) {
      case FusedAct::kNONE: return x;
      case FusedAct::kRELU: return x > 0 || std::isnan(x) ? x : 0.0;
      case FusedAct::kCLIP: {
        if (x < alpha) x = alpha;
        if (x > beta) x = beta;  // min > max: everything becomes max (ONNX)
        return x;
      }
      case FusedAct::kLEAKY_RELU: return x < 0 ? alpha * x : x;
      case FusedAct::kSIGMOID: return sigmoid(x);
      case FusedAct::kTANH: return std::tanh(x);
      case FusedAct::kHARD_SIGMOID: {
        double v = alpha * x + beta;
        return std::isnan(v) ? v : std::min(1.0, std::max(0.0, v));
      }
      case FusedAct::kHARD_SWISH: return std::isnan(x) ? x : x * std::min(1.0, std::max(0.0, x / 6.0 + 0.5));
      case FusedAct::kSILU: return x * sigmoid(x);
      case FusedAct::kGELU: return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440084436210485));
    }
    return x;
  }

  static double sigmoid(double x) noexcept {
    if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
    double e = std::exp(x);
    return e / (1.0 + e);
  }
};

//! The kiln_act name of a kind ("" for none).
const char* fusedActName(FusedAct kind);
//! Kind of a kiln_act name; false if the name is not one of the documented values.
bool fusedActFromName(const std::string& name, FusedAct* kind);
//! Reads kiln_act / kiln_act_alpha / kiln_act_beta (with the documented defaults). Throws
//! kiln::Error(kINVALID_ARGUMENT) for an unknown kiln_act.
FusedActivation fusedActivationOf(const Attributes& attrs);
//! Writes the attributes (removes them for kNONE).
void setFusedActivation(Attributes& attrs, const FusedActivation& act);

}  // namespace kiln::ir
