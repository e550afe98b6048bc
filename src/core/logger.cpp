#include <cstdio>
#include <mutex>

#include "core/logging.h"

namespace kiln {

const char* severityName(Severity s) noexcept {
  switch (s) {
    case Severity::kINTERNAL_ERROR: return "internal error";
    case Severity::kERROR: return "error";
    case Severity::kWARNING: return "warning";
    case Severity::kINFO: return "info";
    case Severity::kVERBOSE: return "verbose";
  }
  return "unknown";
}

void Logger::log(Severity severity, const char* msg) noexcept {
  static std::mutex mu;
  static const char tags[] = {'F', 'E', 'W', 'I', 'V'};
  int idx = static_cast<int>(severity);
  char tag = (idx >= 0 && idx < 5) ? tags[idx] : '?';
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "[kiln] [%c] %s\n", tag, msg ? msg : "");
}

void report(Logger& logger, Severity severity, const std::string& message) noexcept {
  if (!logger.enabled(severity)) return;
  logger.log(severity, message.c_str());
}

namespace {
class NullLogger : public Logger {
 public:
  NullLogger() : Logger(Severity::kINTERNAL_ERROR) {}
  void log(Severity, const char*) noexcept override {}
};
}  // namespace

Logger& nullLogger() noexcept {
  static NullLogger logger;
  return logger;
}

}  // namespace kiln
