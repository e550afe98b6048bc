// The plan file format.
//
//   [header: 64 bytes]  magic "KILNPLAN", format version, header size, total size, checksum,
//                       kiln version (major, minor, patch), backend, section count
//   [section table]     per section: tag, flags, offset, size (24 bytes each)
//   [META section]      target: os, arch, CPU features the chosen kernels need, CPU name (informative);
//                       GPU plans: GPU name, compute capability, CUDA runtime, cuDNN and cuBLASLt versions
//   [GRPH section]      the optimized graph: values, nodes with attributes and tactics, I/O, profiles
//   [WGHT section]      constant data, every tensor 64-byte aligned, usable in place from an mmap
//
// The checksum covers every byte but its own field: the bytes after the first 32 in segments of
// kChecksumSegment, each hashed on its own (so that a large plan is hashed on several threads, and while it
// is read, in cache), then the segment hashes seeded with the first 24 bytes (planChecksum).
// Loading checks, in this order: size and magic (truncated / foreign), format version, checksum (damaged),
// kiln version, backend and target, then the structured section field by field (every count and offset
// bounds-checked before use).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/types.h"

namespace kiln::plan {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'P', 'L', 'A', 'N'};
constexpr uint32_t kFormatVersion = 3;  // 3: the checksum hashes segments
constexpr uint32_t kHeaderSize = 64;

struct Profile {
  std::map<std::string, std::array<ir::Shape, 3>> dims;  //!< input name -> min, opt, max
};

struct Target {
  std::string os;
  std::string arch;
  uint64_t requiredCpuFeatures{0};
  std::string cpuName;
  // GPU plans (zero/empty for the CPU backend)
  std::string gpuName;
  int32_t gpuArch{0};      //!< compute capability major*10+minor
  int32_t cudaRuntime{0};  //!< 13000 = 13.0
  int32_t cudnn{0};        //!< 91400 = 9.14.0
  int32_t cublasLt{0};
};

struct PlanContents {
  DeviceType backend{DeviceType::kCPU};
  Target target;
  std::unique_ptr<ir::Graph> graph;
  std::vector<std::string> tactics;  //!< per node, in node order
  std::vector<Profile> profiles;
  uint64_t arenaBytes{0};            //!< activation arena at the opt shapes (informative)
  int32_t nbThreads{0};
};

constexpr std::size_t kChecksumSegment = std::size_t{256} << 10;
//! Segments of a plan of `size` bytes (those after the first 32).
inline std::size_t checksumSegments(std::size_t size) {
  return size > 32 ? (size - 32 + kChecksumSegment - 1) / kChecksumSegment : 0;
}
//! Hash of segment `index`: bytes [32 + index * kChecksumSegment, ...) of the plan, at most a segment.
uint64_t checksumSegment(const uint8_t* plan, std::size_t size, std::size_t index) noexcept;
//! The checksum of a plan of `size` >= 32 bytes (its field at byte 24 is not read). `segmentHashes`: the
//! checksumSegment of every segment when already computed (nullptr: computed here, on two threads for
//! large plans).
uint64_t planChecksum(const uint8_t* plan, std::size_t size, const std::vector<uint64_t>* segmentHashes = nullptr);

//! Serializes deterministically (same contents -> same bytes).
std::vector<uint8_t> writePlan(const PlanContents& contents);

//! Verifies and parses a plan. `data` must stay valid while `owner` lives; constants are views into it.
//! Throws kiln::Error(kINVALID_PLAN) whose message says what is wrong: truncated, not a plan, other
//! format version, damaged (checksum), other kiln version, other backend/target, or malformed contents.
//! `segmentHashes`: see planChecksum (a loader that hashed the plan while reading it).
PlanContents readPlan(const void* data, std::size_t size, std::shared_ptr<const void> owner,
                      const std::vector<uint64_t>* segmentHashes = nullptr);

//! The target description of this machine for `backend` (GPU: the current device; throws without one).
Target currentTarget(uint64_t requiredCpuFeatures, DeviceType backend = DeviceType::kCPU);

}  // namespace kiln::plan
