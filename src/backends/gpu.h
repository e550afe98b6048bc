// The GPU backend as the rest of kiln sees it: device discovery, memory, copies, streams, events, the
// target fingerprint written into plans, and the GPU kernel registry.
//
// Implemented by src/backends/cuda/ when kiln is built with CUDA (KILN_WITH_CUDA), else by
// src/backends/gpu_none.cpp, whose functions say that this build has no GPU backend. Nothing outside
// src/backends/cuda/ includes a CUDA header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backends/kernel.h"

namespace kiln::gpu {

//! Whether this kiln build has the CUDA backend.
bool compiledIn() noexcept;
//! Whether a usable GPU is present (compiled in, driver loaded, a device visible). On false, `why` says
//! which of these is missing. The answer is computed once.
bool available(std::string* why = nullptr) noexcept;

//! What a plan built for the GPU records about its target.
struct DeviceInfo {
  std::string name;          //!< e.g. "NVIDIA H100 80GB HBM3"
  int32_t arch{0};           //!< compute capability major*10+minor (90 for sm_90)
  int32_t cudaRuntime{0};    //!< CUDART_VERSION style (13000 for 13.0)
  int32_t cudaDriver{0};
  int32_t cudnn{0};          //!< cudnnGetVersion() (91400 for 9.14.0)
  int32_t cublasLt{0};       //!< cublasLtGetVersion()
  int32_t multiprocessors{0};
  std::size_t totalMemory{0};
};
//! The current device. Throws kiln::Error(kUNSUPPORTED_STATE) without a GPU.
const DeviceInfo& deviceInfo();

// Memory. Allocation failures throw kiln::Error(kFAILED_ALLOCATION) naming the size.
void* deviceAlloc(std::size_t bytes);
void deviceFree(void* p) noexcept;
void* pinnedAlloc(std::size_t bytes);
void pinnedFree(void* p) noexcept;
//! A device allocation owned by a shared_ptr (freed when the last owner goes).
std::shared_ptr<void> deviceBlock(std::size_t bytes);
//! true if p is device (or managed) memory; false for host memory or without a GPU.
bool isDevicePointer(const void* p) noexcept;
//! true if p is page-locked host memory registered with CUDA (readable by kernels).
bool isPinnedPointer(const void* p) noexcept;
//! Copies in any direction (host, page-locked, device). Throws kiln::Error(kFAILED_EXECUTION).
void copy(void* dst, const void* src, std::size_t bytes);
void copyAsync(void* dst, const void* src, std::size_t bytes, void* stream);
void memsetAsync(void* dst, int value, std::size_t bytes, void* stream);

// Streams and events (handles are cudaStream_t / cudaEvent_t).
void* createStream();
void destroyStream(void* s) noexcept;
//! Throws kiln::Error(kFAILED_EXECUTION) if work on the stream failed.
void synchronizeStream(void* s);
bool queryStream(void* s) noexcept;
//! Runs fn on a driver thread once the work queued before it is done (cudaLaunchHostFunc).
void launchHost(void* s, std::function<void()> fn);
void* createEvent();
void destroyEvent(void* e) noexcept;
void recordEvent(void* e, void* s);
void synchronizeEvent(void* e) noexcept;
bool queryEvent(void* e) noexcept;
float elapsedMs(void* start, void* end) noexcept;
//! Throws kiln::Error(kFAILED_EXECUTION) with the pending CUDA error, if any (after launches).
void checkLastError(const char* what);

// CUDA graphs: capture the work queued on a stream by this thread, then replay it.
void beginCapture(void* stream);
//! Ends the capture and returns an executable graph (cudaGraphExec_t). Throws if capture failed.
void* endCapture(void* stream);
void launchGraph(void* exec, void* stream);
void destroyGraph(void* exec) noexcept;
//! Creates this thread's cuDNN and cuBLASLt handles now (before a capture, where creating them would fail).
void prepareThread();

//! The GPU kernels, one registry for every op family of src/backends/cuda/.
const backend::KernelRegistry& kernelRegistry();

}  // namespace kiln::gpu
