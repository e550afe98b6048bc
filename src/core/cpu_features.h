// What the host CPU can do, read once with cpuid; used to pick kernels and to fingerprint plans.
#pragma once

#include <cstdint>
#include <string>

namespace kiln {

enum CpuFeature : uint64_t {
  kCpuSSE41 = 1ull << 0,
  kCpuSSE42 = 1ull << 1,
  kCpuAVX = 1ull << 2,
  kCpuAVX2 = 1ull << 3,
  kCpuFMA = 1ull << 4,
  kCpuF16C = 1ull << 5,
  kCpuAVX512F = 1ull << 6,
  kCpuAVX512BW = 1ull << 7,
  kCpuAVX512VL = 1ull << 8,
  kCpuAVX512DQ = 1ull << 9,
  kCpuAVX512VNNI = 1ull << 10,
  kCpuAVX512BF16 = 1ull << 11,
};

//! Feature bits of this CPU (OS support for AVX/AVX-512 state included).
uint64_t cpuFeatures() noexcept;
//! "avx2 fma f16c" for the given bits.
std::string cpuFeatureNames(uint64_t bits);
//! The CPU's brand string ("AMD EPYC 7B13 ..."), or "unknown".
const std::string& cpuName() noexcept;
//! Number of logical CPUs available to this process.
int cpuCount() noexcept;
//! "linux", "darwin", "windows" or "unknown".
const char* osName() noexcept;
//! "x86_64", "aarch64" or "unknown".
const char* archName() noexcept;

}  // namespace kiln
