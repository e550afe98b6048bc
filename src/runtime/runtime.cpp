#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/logging.h"
#include "runtime/engine_impl.h"

namespace kiln {

Runtime::Runtime(Logger& logger) : logger_(logger) {}
Runtime::~Runtime() = default;

std::unique_ptr<Runtime> createRuntime(Logger& logger) { return std::make_unique<Runtime>(logger); }

namespace {
//! Memory for a plan's bytes, owned by the engine; 64-byte aligned so that the weights are used in place.
//! (Transparent huge pages were tried for large plans: with this kernel's defrag setting the faults compact
//! memory and resnet50's load got slower.)
std::shared_ptr<void> allocatePlanMemory(std::size_t size) {
  std::size_t rounded = (std::max<std::size_t>(size, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return nullptr;
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

std::unique_ptr<Engine> load(const void* data, std::size_t size, std::shared_ptr<const void> owner, Logger& logger,
                             const std::string& what, std::size_t budget) noexcept {
  try {
    plan::PlanContents c = plan::readPlan(data, size, std::move(owner));
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
  std::memcpy(copy.get(), data, size);
  return load(copy.get(), size, copy, logger_, "plan", memoryBudget_);
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
  void* p = owner.get();
  std::size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd, static_cast<char*>(p) + done, size - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      std::string why = r < 0 ? std::strerror(errno) : "the file became shorter while it was read (is it being replaced?)";
      ::close(fd);
      report(logger_, Severity::kERROR, "cannot read " + what + ": " + why);
      return nullptr;
    }
    done += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return load(p, size, owner, logger_, what, memoryBudget_);
}

}  // namespace kiln
