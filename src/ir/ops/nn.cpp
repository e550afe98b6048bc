#include "ir/op_registry.h"
namespace kiln::ir {
void registerNnOps(OpRegistry& reg) {}
}  // namespace kiln::ir
