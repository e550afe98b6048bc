// kiln public API: which devices this process can use.
#pragma once

#include <string>

#include "kiln/stream.h"
#include "kiln/types.h"

namespace kiln {

//! Whether the GPU backend is usable here: kiln was built with CUDA, the driver loads and a GPU is
//! visible. On false, `why` (when given) says which of these is missing. Computed once per process.
bool isGpuAvailable(std::string* why = nullptr) noexcept;

//! The device that BuilderConfig, and the Python kiln.cuda helpers, use unless told otherwise:
//! kGPU when isGpuAvailable(), else kCPU; the environment variable KILN_DEVICE=cpu|gpu overrides it.
DeviceType getDefaultDeviceType() noexcept;

//! Where a pointer points: kDEVICE (GPU memory), kPAGELOCKED (host memory registered with CUDA, readable
//! by GPU kernels) or kHOST (ordinary host memory; also every pointer when no GPU is usable).
MemoryKind getMemoryKind(const void* p) noexcept;

}  // namespace kiln
