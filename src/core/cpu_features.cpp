#include "core/cpu_features.h"

#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace kiln {

namespace {
#if defined(__x86_64__)
uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

uint64_t detect() {
  unsigned a, b, c, d;
  uint64_t f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  bool osxsave = c & (1u << 27);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  bool avxState = (xcr0 & 0x6) == 0x6;
  bool avx512State = (xcr0 & 0xe6) == 0xe6;
  if (c & (1u << 19)) f |= kCpuSSE41;
  if (c & (1u << 20)) f |= kCpuSSE42;
  if (avxState && (c & (1u << 28))) f |= kCpuAVX;
  if (avxState && (c & (1u << 12))) f |= kCpuFMA;
  if (avxState && (c & (1u << 29))) f |= kCpuF16C;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    if (avxState && (b & (1u << 5))) f |= kCpuAVX2;
    if (avx512State) {
      if (b & (1u << 16)) f |= kCpuAVX512F;
      if (b & (1u << 17)) f |= kCpuAVX512DQ;
      if (b & (1u << 30)) f |= kCpuAVX512BW;
      if (b & (1u << 31)) f |= kCpuAVX512VL;
      if (c & (1u << 11)) f |= kCpuAVX512VNNI;
    }
  }
  if (avx512State && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5))) f |= kCpuAVX512BF16;
  return f;
}

std::string brand() {
  unsigned regs[12];
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000004u) return "unknown";
  for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  std::string s(reinterpret_cast<const char*>(regs), 48);
  s = s.c_str();
  size_t first = s.find_first_not_of(' ');
  size_t last = s.find_last_not_of(' ');
  return first == std::string::npos ? "unknown" : s.substr(first, last - first + 1);
}
#else
uint64_t detect() { return 0; }
std::string brand() { return "unknown"; }
#endif
}  // namespace

uint64_t cpuFeatures() noexcept {
  static const uint64_t f = detect();
  return f;
}

std::string cpuFeatureNames(uint64_t bits) {
  static const std::pair<uint64_t, const char*> names[] = {
      {kCpuSSE41, "sse4.1"},     {kCpuSSE42, "sse4.2"},     {kCpuAVX, "avx"},           {kCpuAVX2, "avx2"},
      {kCpuFMA, "fma"},          {kCpuF16C, "f16c"},        {kCpuAVX512F, "avx512f"},   {kCpuAVX512BW, "avx512bw"},
      {kCpuAVX512VL, "avx512vl"}, {kCpuAVX512DQ, "avx512dq"}, {kCpuAVX512VNNI, "avx512vnni"},
      {kCpuAVX512BF16, "avx512bf16"}};
  std::string s;
  for (const auto& [bit, name] : names)
    if (bits & bit) {
      if (!s.empty()) s += ' ';
      s += name;
    }
  return s.empty() ? std::string("none") : s;
}

const std::string& cpuName() noexcept {
  static const std::string n = brand();
  return n;
}

int cpuCount() noexcept {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

const char* osName() noexcept {
#if defined(__linux__)
  return "linux";
#elif defined(__APPLE__)
  return "darwin";
#elif defined(_WIN32)
  return "windows";
#else
  return "unknown";
#endif
}

const char* archName() noexcept {
#if defined(__x86_64__) || defined(_M_X64)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

}  // namespace kiln
