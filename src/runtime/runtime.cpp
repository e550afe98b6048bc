#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "core/large_alloc.h"
#include "core/logging.h"
#include "plan/plan.h"
#include "runtime/engine_impl.h"

namespace kiln {

Runtime::Runtime(Logger& logger) : logger_(logger) {}
Runtime::~Runtime() = default;

std::unique_ptr<Runtime> createRuntime(Logger& logger) { return std::make_unique<Runtime>(logger); }

namespace {
//! Memory for a plan's bytes, owned by the engine; 64-byte aligned so that the weights are used in place.
//! Large plans get huge pages (core/large_alloc.h): most of a plan load used to be page faults.
std::shared_ptr<void> allocatePlanMemory(std::size_t size) { return allocateLarge(size); }

//! Plans of at least this many bytes are copied in on two threads.
constexpr std::size_t kParallelCopyBytes = std::size_t{32} << 20;

//! Copies bytes [off, off + n) of the plan to p + off; returns why it failed, or "".
using FillFn = std::string (*)(const void* source, char* p, std::size_t off, std::size_t n);

std::string fillFromMemory(const void* source, char* p, std::size_t off, std::size_t n) {
  std::memcpy(p + off, static_cast<const char*>(source) + off, n);
  return "";
}

std::string fillFromFile(const void* source, char* p, std::size_t off, std::size_t n) {
  const int fd = *static_cast<const int*>(source);
  for (std::size_t done = off; done < off + n;) {
    ssize_t r = ::pread(fd, p + done, off + n - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0 ? std::strerror(errno) : "the file became shorter while it was read (is it being replaced?)";
    done += static_cast<std::size_t>(r);
  }
  return "";
}

//! Fills bytes [begin, end) of the plan (`begin` 0 or on a checksum segment) one checksum segment at a
//! time, each hashed into hashes[i] right after it is copied, while it is in cache (the hash is of the
//! engine's own copy, so what is verified is what runs). Returns why it failed, or "".
std::string fillRange(FillFn fill, const void* source, char* p, std::size_t size, std::size_t begin, std::size_t end,
                      std::vector<uint64_t>& hashes) {
  for (std::size_t pos = begin; pos < end;) {
    const std::size_t segment = pos < 32 ? SIZE_MAX : (pos - 32) / plan::kChecksumSegment;
    const std::size_t stop = std::min(end, pos < 32 ? std::size_t{32} : 32 + (segment + 1) * plan::kChecksumSegment);
    std::string why = fill(source, p, pos, stop - pos);
    if (!why.empty()) return why;
    if (segment != SIZE_MAX && segment < hashes.size())
      hashes[segment] = plan::checksumSegment(reinterpret_cast<const uint8_t*>(p), size, segment);
    pos = stop;
  }
  return "";
}

//! Fills all `size` bytes of the plan at p and the hash of every checksum segment: large plans in two
//! halves on two threads (the time goes to the kernel zeroing fresh pages, the copy and the hash, and both
//! halves proceed at once). Returns why it failed, or "".
std::string fillPlan(FillFn fill, const void* source, char* p, std::size_t size, std::vector<uint64_t>& hashes) noexcept {
  try {
    hashes.assign(plan::checksumSegments(size), 0);
    const std::size_t half = size >= kParallelCopyBytes && std::thread::hardware_concurrency() > 1
                                 ? 32 + hashes.size() / 2 * plan::kChecksumSegment
                                 : 0;
    std::string secondWhy;
    std::thread second;
    if (half) {
      try {
        second = std::thread([&] {
          try {
            secondWhy = fillRange(fill, source, p, size, half, size, hashes);
          } catch (...) {
            secondWhy = "out of memory";
          }
        });
      } catch (...) {  // no thread: all of it here
      }
    }
    std::string why;
    try {
      why = fillRange(fill, source, p, size, 0, second.joinable() ? half : size, hashes);
    } catch (...) {
      why = "out of memory";
    }
    if (second.joinable()) second.join();
    return why.empty() ? secondWhy : why;
  } catch (...) {
    return "out of memory";
  }
}

std::unique_ptr<Engine> load(const void* data, std::size_t size, std::shared_ptr<const void> owner, Logger& logger,
                             const std::string& what, std::size_t budget,
                             const std::vector<uint64_t>* segmentHashes = nullptr) noexcept {
  try {
    plan::PlanContents c = plan::readPlan(data, size, std::move(owner), segmentHashes);
    auto impl = detail::makeEngine(std::move(c), logger);
    detail::measureMemory(impl);
    impl->memoryBudget = budget;
    if (budget && (impl->constantBytes > budget || impl->contextBytes > budget - impl->constantBytes))
      throw Error(ErrorCode::kFAILED_ALLOCATION,
                  "the plan needs " + std::to_string(impl->constantBytes) + " bytes of constants and " +
                      std::to_string(impl->contextBytes) + " bytes of activation and scratch memory per execution context (at the max shapes), " +
                      "more than the runtime's memory budget of " + std::to_string(budget) + " bytes (Runtime::setMemoryBudget)");
    return std::make_unique<Engine>(std::move(impl));
  } catch (const Error& e) {
    report(logger, Severity::kERROR, "cannot load " + what + ": " + e.what());
  } catch (const std::bad_alloc&) {
    report(logger, Severity::kERROR, "cannot load " + what + ": out of memory");
  } catch (const std::exception& e) {
    report(logger, Severity::kERROR, "cannot load " + what + ": " + e.what());
  }
  return nullptr;
}
}  // namespace

std::unique_ptr<Engine> Runtime::deserializeEngine(const void* data, std::size_t size) noexcept {
  if (!data) {
    report(logger_, Severity::kERROR, "deserializeEngine: null plan pointer");
    return nullptr;
  }
  // Copied into aligned memory that the engine owns, so that the weights can be used in place.
  std::shared_ptr<void> copy = allocatePlanMemory(size);
  if (!copy) {
    report(logger_, Severity::kERROR, "deserializeEngine: cannot allocate " + std::to_string(size) + " bytes");
    return nullptr;
  }
  std::vector<uint64_t> hashes;
  std::string why = fillPlan(fillFromMemory, data, static_cast<char*>(copy.get()), size, hashes);
  if (!why.empty()) {
    report(logger_, Severity::kERROR, "deserializeEngine: " + why);
    return nullptr;
  }
  return load(copy.get(), size, copy, logger_, "plan", memoryBudget_, &hashes);
}

std::unique_ptr<Engine> Runtime::deserializeEngineFromFile(const char* path) noexcept {
  if (!path) {
    report(logger_, Severity::kERROR, "deserializeEngineFromFile: null path");
    return nullptr;
  }
  std::string what = std::string("plan '") + path + "'";
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    report(logger_, Severity::kERROR, "cannot open " + what + ": " + std::strerror(errno));
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    report(logger_, Severity::kERROR, "cannot load " + what + ": not a regular file");
    return nullptr;
  }
  std::size_t size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    report(logger_, Severity::kERROR, "cannot load " + what + ": the file is empty");
    return nullptr;
  }
  // The file is read into memory the engine owns (not mmapped): a plan file that someone replaces,
  // truncates or rewrites in place while engines from it are alive cannot change or fault them (a private
  // mapping still sees in-place writes to pages it has not copied, and truncation turns reads into SIGBUS).
  std::shared_ptr<void> owner = allocatePlanMemory(size);
  if (!owner) {
    ::close(fd);
    report(logger_, Severity::kERROR, "cannot load " + what + ": cannot allocate " + std::to_string(size) + " bytes");
    return nullptr;
  }
  char* p = static_cast<char*>(owner.get());
  std::vector<uint64_t> hashes;
  std::string why = fillPlan(fillFromFile, &fd, p, size, hashes);
  if (!why.empty()) {
    ::close(fd);
    report(logger_, Severity::kERROR, "cannot read " + what + ": " + why);
    return nullptr;
  }
  ::close(fd);
  return load(p, size, owner, logger_, what, memoryBudget_, &hashes);
}

}  // namespace kiln
