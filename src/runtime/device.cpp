// kiln::isGpuAvailable, getDefaultDeviceType, getMemoryKind (include/kiln/device.h) over the GPU seam.
#include "kiln/device.h"

#include "backends/gpu.h"
#include "builder/builder_impl.h"

namespace kiln {

bool isGpuAvailable(std::string* why) noexcept { return gpu::available(why); }

DeviceType getDefaultDeviceType() noexcept { return detail::defaultDevice(); }  // KILN_DEVICE=cpu|gpu overrides

MemoryKind getMemoryKind(const void* p) noexcept {
  if (!p || !gpu::available()) return MemoryKind::kHOST;
  if (gpu::isDevicePointer(p)) return MemoryKind::kDEVICE;
  if (gpu::isPinnedPointer(p)) return MemoryKind::kPAGELOCKED;
  return MemoryKind::kHOST;
}

}  // namespace kiln
