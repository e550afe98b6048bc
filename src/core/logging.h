// Internal logging helpers.
#pragma once

#include <sstream>
#include <string>

#include "kiln/logger.h"

namespace kiln {

//! Sends a message through the logger if its severity passes the threshold.
void report(Logger& logger, Severity severity, const std::string& message) noexcept;

//! Stream-style message: `LogMessage(logger, Severity::kERROR) << "layer " << name << " failed";`
class LogMessage {
 public:
  LogMessage(Logger& logger, Severity s) : logger_(logger), sev_(s) {}
  ~LogMessage() { report(logger_, sev_, os_.str()); }
  template <class T>
  LogMessage& operator<<(const T& v) {
    if (logger_.enabled(sev_)) os_ << v;
    return *this;
  }

 private:
  Logger& logger_;
  Severity sev_;
  std::ostringstream os_;
};

//! A logger that drops everything (for internal calls made without a user logger).
Logger& nullLogger() noexcept;

}  // namespace kiln
