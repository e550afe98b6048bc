#include "cli_common.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <new>

namespace kiln::cli {

void printError(const std::string& command, const std::string& what, const std::string& hint) {
  std::string line = "kiln";
  if (!command.empty()) line += " " + command;
  line += ": error: " + what;
  if (!hint.empty()) line += " (" + hint + ")";
  // Keep it one line whatever the message holds.
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "%s\n", line.c_str());
}

void printNote(const std::string& command, const std::string& what) {
  std::fprintf(stderr, "kiln %s: note: %s\n", command.c_str(), what.c_str());
}

int guard(const Args& args, int (*body)(const Args&)) {
  const std::string help = "see 'kiln " + args.command + " --help'";
  try {
    return body(args);
  } catch (const UsageError& e) {
    printError(args.command, e.what(), e.hint().empty() ? help : e.hint());
    return kExitUsage;
  } catch (const CliError& e) {
    printError(args.command, e.what(), e.hint());
    return kExitFailure;
  } catch (const Error& e) {
    printError(args.command, e.what(), "");
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    printError(args.command, "out of memory", "use smaller shapes");
    return kExitFailure;
  } catch (const std::exception& e) {
    printError(args.command, e.what(), "");
    return kExitFailure;
  } catch (...) {
    printError(args.command, "unexpected failure", "");
    return kExitFailure;
  }
}

// ------------------------------------------------------------------------------------------------------
// ArgParser

ArgParser& ArgParser::option(const std::string& name, bool repeatable) {
  valued_.insert(name);
  if (repeatable) repeatable_.insert(name);
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name) {
  flags_.insert(name);
  return *this;
}

void ArgParser::parse(const std::vector<std::string>& argv) {
  bool onlyPositionals = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (onlyPositionals || a.size() < 2 || a[0] != '-' || a == "-") {
      positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      onlyPositionals = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    // "-o value": single-letter options declared by their letter
    bool isShort = a.rfind("--", 0) != 0;
    if (isShort && (a.size() != 2 || !valued_.count(a.substr(1)))) throw UsageError("unknown option '" + a + "'");
    std::string name = a.substr(isShort ? 1 : 2), value;
    bool hasValue = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    if (flags_.count(name)) {
      if (hasValue) throw UsageError("option '--" + name + "' takes no value");
      values_[name].push_back("1");
      continue;
    }
    if (!valued_.count(name)) throw UsageError("unknown option '--" + name + "'");
    if (!hasValue) {
      if (i + 1 >= argv.size()) throw UsageError("option '--" + name + "' needs a value");
      value = argv[++i];
    }
    auto& slot = values_[name];
    if (!slot.empty() && !repeatable_.count(name)) throw UsageError("option '--" + name + "' given twice");
    slot.push_back(value);
  }
}

bool ArgParser::has(const std::string& name) const { return values_.count(name) != 0; }

std::string ArgParser::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ArgParser::getAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t ArgParser::getInt(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(name)) return fallback;
  std::string s = get(name);
  int64_t v = 0;
  if (!parseInt64(s, v) || v < lo || v > hi) {
    throw UsageError("option '--" + name + "' needs an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + s + "'");
  }
  return v;
}

// ------------------------------------------------------------------------------------------------------
// Parsing helpers

bool parseInt64(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return false;
  uint64_t v = 0;
  const uint64_t limit = neg ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                             : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

Dims parseDims(const std::string& text, const std::string& command) {
  Dims d;
  d.nbDims = 0;
  if (text.empty() || text == "scalar") return d;
  std::size_t start = 0;
  while (true) {
    std::size_t x = text.find_first_of("xX", start);
    std::string part = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    int64_t v = 0;
    if (!parseInt64(part, v) || v < 0) {
      throw UsageError("bad shape '" + text + "': '" + part + "' is not a non-negative integer",
                       "write shapes like 1x3x224x224");
    }
    if (d.nbDims >= Dims::MAX_DIMS) {
      throw UsageError("bad shape '" + text + "': more than " + std::to_string(Dims::MAX_DIMS) + " dimensions");
    }
    d.d[d.nbDims++] = v;
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return d;
}

std::vector<std::pair<std::string, Dims>> parseShapes(const std::string& text, const std::string& command) {
  std::vector<std::pair<std::string, Dims>> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string entry = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (entry.empty()) throw UsageError("bad --shapes '" + text + "': empty entry", "write --shapes name:1x3x224x224,name2:4x5");
    std::size_t colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("bad --shapes entry '" + entry + "'", "write --shapes name:1x3x224x224,name2:4x5");
    }
    std::string name = entry.substr(0, colon);
    for (const auto& [n, _] : out)
      if (n == name) throw UsageError("--shapes names input '" + name + "' twice");
    out.emplace_back(name, parseDims(entry.substr(colon + 1), command));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::pair<std::string, std::string> parseNameValue(const std::string& text, const std::string& command,
                                                    const std::string& option) {
  std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw UsageError("bad " + option + " '" + text + "'", "write " + option + " name=file.npy");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::string dimsToString(const Dims& dims) {
  if (dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS) return "unknown";
  if (dims.nbDims == 0) return "scalar";
  std::string s;
  for (int i = 0; i < dims.nbDims; ++i) {
    if (i) s += "x";
    s += dims.d[i] < 0 ? std::string("?") : std::to_string(dims.d[i]);
  }
  return s;
}

bool isDynamic(const Dims& dims) {
  if (dims.nbDims < 0 || dims.nbDims > Dims::MAX_DIMS) return true;
  for (int i = 0; i < dims.nbDims; ++i)
    if (dims.d[i] < 0) return true;
  return false;
}

std::string ioModeName(TensorIOMode mode) {
  switch (mode) {
    case TensorIOMode::kINPUT: return "input";
    case TensorIOMode::kOUTPUT: return "output";
    default: return "none";
  }
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// ------------------------------------------------------------------------------------------------------
// Logger

void CliLogger::log(Severity severity, const char* msg) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string text = msg ? msg : "";
    bool isError = static_cast<int32_t>(severity) <= static_cast<int32_t>(Severity::kERROR);
    if (isError && firstError_.empty()) firstError_ = text;
    // Errors are reported once, in the final one-line message, unless everything is printed (--verbose).
    bool print = static_cast<int32_t>(severity) <= static_cast<int32_t>(print_) &&
                 (!isError || print_ == Severity::kVERBOSE);
    if (print) std::fprintf(stderr, "kiln %s: %s: %s\n", command_.c_str(), severityName(severity), text.c_str());
  } catch (...) {
  }
}

std::string CliLogger::firstError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return firstError_;
}

void CliLogger::clearErrors() {
  std::lock_guard<std::mutex> lock(mu_);
  firstError_.clear();
}

std::unique_ptr<Engine> loadEngine(Runtime& runtime, CliLogger& logger, const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    throw CliError("cannot open plan '" + path + "': " + std::strerror(errno), "check the path");
  }
  if (S_ISDIR(st.st_mode)) throw CliError("'" + path + "' is a directory", "give the path of a .plan file");
  logger.clearErrors();
  std::unique_ptr<Engine> engine = runtime.deserializeEngineFromFile(path.c_str());
  if (!engine) {
    std::string why = logger.firstError();
    std::string what = "cannot load plan '" + path + "'";
    if (why.find(path) != std::string::npos) {
      what = why;  // the runtime's message already names the file
    } else if (!why.empty()) {
      what += ": " + why;
    }
    throw CliError(what, "rebuild it with 'kiln build' from this kiln version");
  }
  return engine;
}

bool parseArgsOrHelp(ArgParser& p, const Args& args, const std::string& help) {
  p.parse(args.argv);
  if (!p.wantsHelp()) return false;
  std::fputs(help.c_str(), stdout);
  return true;
}

std::string planPathArgument(const ArgParser& p, const std::string& command) {
  if (p.positionals().empty()) throw UsageError("missing the plan file", "write kiln " + command + " model.plan");
  if (p.positionals().size() > 1) throw UsageError("unexpected argument '" + p.positionals()[1] + "'");
  return p.positionals()[0];
}

std::unique_ptr<Runtime> createCliRuntime(CliLogger& logger) {
  auto runtime = createRuntime(logger);
  if (!runtime) throw CliError("cannot create the runtime");
  return runtime;
}

LoadedPlan loadPlan(CliLogger& logger, const std::string& path) {
  LoadedPlan plan;
  const auto t0 = std::chrono::steady_clock::now();
  plan.runtime = createCliRuntime(logger);
  plan.engine = loadEngine(*plan.runtime, logger, path);
  plan.loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return plan;
}

}  // namespace kiln::cli
