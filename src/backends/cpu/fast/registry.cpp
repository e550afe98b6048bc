#include "backends/cpu/fast/conv_igemm.h"
#include "backends/cpu/fast/fast.h"
#include "backends/cpu/fast/nn_tactics.h"

namespace kiln::cpu {

namespace fast {

bool allFloat32(const ir::Node& node, std::string* why) {
  for (const ir::Value* v : node.inputs)
    if (v && v->dtype != DataType::kFLOAT) {
      if (why) *why = "float32 only";
      return false;
    }
  for (const ir::Value* v : node.outputs)
    if (v && v->dtype != DataType::kFLOAT) {
      if (why) *why = "float32 only";
      return false;
    }
  return true;
}

void registerNnTactics(KernelRegistry& reg) {
  registerSoftmaxTactics(reg);
  registerLayerNormTactics(reg);
  registerPoolTactics(reg);
  registerResizeTactics(reg);
  registerCopyTactics(reg);
}

}  // namespace fast

void registerFastKernels(KernelRegistry& reg) {
  // depthwise before gemm: without tactic timing the builder takes the last applicable one (gemm)
  fast::registerDepthwiseTactics(reg);
  fast::registerDepthwiseC8Tactics(reg);
  fast::registerWinogradTactics(reg);
  fast::registerWinograd4Tactics(reg);
  fast::registerIgemmTactics(reg);
  fast::registerGemmTactics(reg);
  fast::registerElementwiseTactics(reg);
  fast::registerNnTactics(reg);
}

}  // namespace kiln::cpu
