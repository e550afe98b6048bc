#include "kiln/types.h"

namespace kiln {

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code), message_(message), full_(message) {}

Error Error::withContext(const std::string& ctx) const {
  Error e = *this;
  e.context_.insert(e.context_.begin(), ctx);
  e.rebuild();
  return e;
}

void Error::rebuild() {
  full_.clear();
  for (const auto& c : context_) {
    full_ += c;
    full_ += ": ";
  }
  full_ += message_;
  static_cast<std::runtime_error&>(*this) = std::runtime_error(full_);
}

}  // namespace kiln
