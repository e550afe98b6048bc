// kiln public API: the Logger.
#pragma once

#include <cstdint>

namespace kiln {

enum class Severity : int32_t {
  kINTERNAL_ERROR = 0,
  kERROR = 1,
  kWARNING = 2,
  kINFO = 3,
  kVERBOSE = 4,
};

const char* severityName(Severity s) noexcept;

//! Receives every message kiln reports. The default sink writes "[kiln] [W] message" lines to stderr.
//! kiln only calls `log()` for messages at or above the logger's minimum severity (kINTERNAL_ERROR is the
//! most severe, kVERBOSE the least), so an override sees exactly what the threshold lets through.
//! Override `log()` to route messages elsewhere; it may be called from several threads at once.
class Logger {
 public:
  using Severity = kiln::Severity;
  explicit Logger(Severity minSeverity = Severity::kWARNING) noexcept : min_(minSeverity) {}
  virtual ~Logger() = default;

  virtual void log(Severity severity, const char* msg) noexcept;

  Severity getMinSeverity() const noexcept { return min_; }
  void setMinSeverity(Severity s) noexcept { min_ = s; }
  bool enabled(Severity s) const noexcept { return static_cast<int32_t>(s) <= static_cast<int32_t>(min_); }

 private:
  Severity min_;
};

}  // namespace kiln
