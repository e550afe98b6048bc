#include "ir/ops/fused_activation.h"

namespace kiln::ir {

namespace {
struct Entry {
  FusedAct kind;
  const char* name;
};
constexpr Entry kEntries[] = {{FusedAct::kNONE, ""},           {FusedAct::kRELU, "Relu"},
                              {FusedAct::kCLIP, "Clip"},       {FusedAct::kLEAKY_RELU, "LeakyRelu"},
                              {FusedAct::kSIGMOID, "Sigmoid"}, {FusedAct::kTANH, "Tanh"},
                              {FusedAct::kHARD_SIGMOID, "HardSigmoid"}, {FusedAct::kHARD_SWISH, "HardSwish"},
                              {FusedAct::kSILU, "Silu"},       {FusedAct::kGELU, "Gelu"}};
}  // namespace

const char* fusedActName(FusedAct kind) {
  for (const Entry& e : kEntries)
    if (e.kind == kind) return e.name;
  return "";
}

bool fusedActFromName(const std::string& name, FusedAct* kind) {
  for (const Entry& e : kEntries)
    if (name == e.name) {
      *kind = e.kind;
      return true;
    }
  return false;
}

FusedActivation fusedActivationOf(const Attributes& attrs) {
  FusedActivation a;
  std::string name = attrs.getString("kiln_act", "");
  if (!fusedActFromName(name, &a.kind))
    throw Error(ErrorCode::kINVALID_ARGUMENT, "kiln_act \"" + name + "\" is not a supported epilogue activation");
  double defAlpha = 0, defBeta = 0;
  switch (a.kind) {
    case FusedAct::kCLIP:
      defAlpha = -std::numeric_limits<double>::infinity();
      defBeta = std::numeric_limits<double>::infinity();
      break;
    case FusedAct::kLEAKY_RELU: defAlpha = 0.01; break;
    case FusedAct::kHARD_SIGMOID:
      defAlpha = 0.2;
      defBeta = 0.5;
      break;
    default: break;
  }
  a.alpha = attrs.getFloat("kiln_act_alpha", defAlpha);
  a.beta = attrs.getFloat("kiln_act_beta", defBeta);
  return a;
}

void setFusedActivation(Attributes& attrs, const FusedActivation& act) {
  attrs.erase("kiln_act");
  attrs.erase("kiln_act_alpha");
  attrs.erase("kiln_act_beta");
  if (act.none()) return;
  attrs.setString("kiln_act", fusedActName(act.kind));
  switch (act.kind) {
    case FusedAct::kCLIP:
    case FusedAct::kHARD_SIGMOID:
      attrs.setFloat("kiln_act_alpha", act.alpha);
      attrs.setFloat("kiln_act_beta", act.beta);
      break;
    case FusedAct::kLEAKY_RELU: attrs.setFloat("kiln_act_alpha", act.alpha); break;
    default: break;
  }
}

}  // namespace kiln::ir
