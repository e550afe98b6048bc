// The GPU backend of a kiln build without CUDA: every entry point says so. CMake compiles this file only
// when KILN_WITH_CUDA is off.
#include "backends/gpu.h"
#include "kiln/types.h"

namespace kiln::gpu {

namespace {
[[noreturn]] void none() {
  throw Error(ErrorCode::kUNSUPPORTED_STATE, "this kiln build has no GPU backend (it was built without the CUDA toolkit)");
}
}  // namespace

bool compiledIn() noexcept { return false; }
bool available(std::string* why) noexcept {
  if (why) *why = "this kiln build has no GPU backend (built without the CUDA toolkit)";
  return false;
}
const DeviceInfo& deviceInfo() { none(); }
void* deviceAlloc(std::size_t) { none(); }
void deviceFree(void*) noexcept {}
void* pinnedAlloc(std::size_t) { none(); }
void pinnedFree(void*) noexcept {}
std::shared_ptr<void> deviceBlock(std::size_t) { none(); }
bool isDevicePointer(const void*) noexcept { return false; }
bool isPinnedPointer(const void*) noexcept { return false; }
void copy(void*, const void*, std::size_t) { none(); }
void copyAsync(void*, const void*, std::size_t, void*) { none(); }
void memsetAsync(void*, int, std::size_t, void*) { none(); }
void* createStream() { none(); }
void destroyStream(void*) noexcept {}
void synchronizeStream(void*) { none(); }
bool queryStream(void*) noexcept { return true; }
void launchHost(void*, std::function<void()>) { none(); }
void* createEvent() { none(); }
void destroyEvent(void*) noexcept {}
void recordEvent(void*, void*) { none(); }
void synchronizeEvent(void*) noexcept {}
bool queryEvent(void*) noexcept { return true; }
float elapsedMs(void*, void*) noexcept { return 0.f; }
void checkLastError(const char*) {}
void beginCapture(void*) { none(); }
void* endCapture(void*) { none(); }
void launchGraph(void*, void*) { none(); }
void destroyGraph(void*) noexcept {}
void prepareThread() { none(); }
const backend::KernelRegistry& kernelRegistry() {
  static const backend::KernelRegistry empty;
  return empty;
}

}  // namespace kiln::gpu
