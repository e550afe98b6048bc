#include "ir/op_registry.h"
namespace kiln::ir {
void registerTensorOps(OpRegistry& reg) {}
}  // namespace kiln::ir
