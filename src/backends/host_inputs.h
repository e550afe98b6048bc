// Kernels that read some inputs' VALUES on the host when they run (GPU kernels whose parameters, such as
// Reduce's axes, Pad's pads or Resize's scales, arrive as graph inputs instead of constants).
//
// Those inputs must be graph inputs bound to page-locked host memory (TensorRT's shape tensors). The
// runtime (runtime/execution_context.cpp) checks that when it prepares a context, keeps a snapshot of
// their contents and prepares again (recapturing a CUDA graph) when they change; it also gives the views
// passed to workspaceSize() their addresses so that the scratch size can depend on the values.
#pragma once

#include <cstdint>

#include "backends/kernel.h"

namespace kiln::backend {

class HostInputKernel : public Kernel {
 public:
  //! Bit k set: input k is read on the host (k < 32).
  virtual uint32_t hostInputMask() const = 0;
};

}  // namespace kiln::backend
