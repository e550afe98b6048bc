// Shared pieces of the `kiln` command line: the command table, argument parsing, shape parsing, a logger
// that keeps error messages for the one-line error report, and small formatting helpers.
//
// Adding a command: write tools/cmd_<name>.cpp defining `int cmd<Name>(const kiln::cli::Args&)`, declare it
// below next to the others, and add one line to the table in tools/main.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::cli {

//! Exit codes of every command.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

//! Arguments of one command: `kiln <name> args...` (the program and command names are removed).
struct Args {
  std::string command;             //!< e.g. "run"
  std::vector<std::string> argv;   //!< everything after the command name
};

//! A subcommand: one entry of the dispatch table (tools/main.cpp).
struct Command {
  const char* name;
  const char* summary;  //!< one line for `kiln --help`
  int (*run)(const Args& args);
};

//! The dispatch table, defined in tools/main.cpp.
extern const Command kCommands[];
extern const std::size_t kNbCommands;

// Commands (one file each).
int cmdInspect(const Args& args);  // tools/cmd_inspect.cpp
int cmdRun(const Args& args);      // tools/cmd_run.cpp
int cmdBuild(const Args& args);    // tools/cmd_build.cpp
int cmdCheck(const Args& args);    // tools/cmd_build.cpp
int cmdBench(const Args& args);    // tools/cmd_bench.cpp
int cmdCompare(const Args& args);  // tools/cmd_compare.cpp

//! A failure while doing the work: reported as one line and exit code 1.
//! `what` says what went wrong, `hint` what to do about it (may be empty).
class CliError : public std::runtime_error {
 public:
  CliError(const std::string& what, std::string hint = {}) : std::runtime_error(what), hint_(std::move(hint)) {}
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string hint_;
};

//! A command-line mistake: reported as one line and exit code 2. Without a hint, the report says
//! "see 'kiln <cmd> --help'".
class UsageError : public CliError {
 public:
  using CliError::CliError;
};

//! Prints "kiln <cmd>: error: <what> (<hint>)" on stderr.
void printError(const std::string& command, const std::string& what, const std::string& hint = {});
//! Prints "kiln <cmd>: note: <what>" on stderr.
void printNote(const std::string& command, const std::string& what);

//! Runs a command body, turning exceptions into one-line errors and exit codes:
//! UsageError -> 2, CliError / kiln::Error / anything else -> 1.
int guard(const Args& args, int (*body)(const Args&));

//! Option parser: `--name value`, `--name=value`, boolean flags `--name`, repeatable options, positionals.
//! `-h`/`--help` is always accepted (see wantsHelp()).
class ArgParser {
 public:
  explicit ArgParser(std::string command) : command_(std::move(command)) {}
  //! Declares an option that takes a value (`repeatable`: may be given several times).
  ArgParser& option(const std::string& name, bool repeatable = false);
  //! Declares a boolean flag.
  ArgParser& flag(const std::string& name);
  //! Parses; throws UsageError for an unknown option, a missing value or a repeated single option.
  void parse(const std::vector<std::string>& argv);

  bool wantsHelp() const noexcept { return help_; }
  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  std::vector<std::string> getAll(const std::string& name) const;
  //! Integer option in [lo, hi]; UsageError otherwise.
  int64_t getInt(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const;
  const std::vector<std::string>& positionals() const noexcept { return positionals_; }

 private:
  std::string command_;
  std::set<std::string> valued_, repeatable_, flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  bool help_{false};
};

//! Parses a base-10 integer (the whole string); false on garbage or overflow.
bool parseInt64(const std::string& s, int64_t& out);

//! Parses "1x3x224x224" into dims (an empty string is a 0-d shape). Throws UsageError.
Dims parseDims(const std::string& text, const std::string& command);
//! Parses "name:1x3x224x224,name2:4x5". The name is everything before the last ':' (names may hold ':').
//! Throws UsageError for a malformed entry or a name given twice.
std::vector<std::pair<std::string, Dims>> parseShapes(const std::string& text, const std::string& command);
//! Parses "name=path" (split at the first '='). Throws UsageError.
std::pair<std::string, std::string> parseNameValue(const std::string& text, const std::string& command,
                                                    const std::string& option);

//! "1x3x224x224" ("scalar" for 0-d).
std::string dimsToString(const Dims& dims);
bool isDynamic(const Dims& dims);
std::string ioModeName(TensorIOMode mode);
//! JSON string literal with escapes.
std::string jsonString(const std::string& s);

//! Logger for the CLI: warnings (and everything with --verbose) go to stderr as
//! "kiln <cmd>: <severity>: msg"; errors are kept (printed only with --verbose) so the final one-line
//! report can quote the first one, usually the root cause.
class CliLogger : public Logger {
 public:
  CliLogger(std::string command, Severity printAtOrAbove)
      : Logger(Severity::kVERBOSE), command_(std::move(command)), print_(printAtOrAbove) {}
  void log(Severity severity, const char* msg) noexcept override;
  //! The first error-severity message since the last clearErrors() ("" if none).
  std::string firstError() const;
  void clearErrors();

 private:
  std::string command_;
  Severity print_;
  mutable std::mutex mu_;
  std::string firstError_;
};

//! Loads a plan file into an engine; throws CliError naming the file and the logged reason.
std::unique_ptr<Engine> loadEngine(Runtime& runtime, CliLogger& logger, const std::string& path);

//! p.parse(args.argv); with -h/--help, prints `help` to stdout and returns true (the command then exits with
//! kExitOk). Throws UsageError.
bool parseArgsOrHelp(ArgParser& p, const Args& args, const std::string& help);

//! The single positional argument of a command that reads a plan (`kiln <command> model.plan`).
//! Throws UsageError when it is missing or followed by another.
std::string planPathArgument(const ArgParser& p, const std::string& command);
//! createRuntime(logger); throws CliError when there is none.
std::unique_ptr<Runtime> createCliRuntime(CliLogger& logger);
//! A runtime and the plan it loaded (declared in this order: the engine goes first).
struct LoadedPlan {
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Engine> engine;
  double loadMs{0};  //!< creating the runtime and deserializing the plan (the plan load time)
};
//! createCliRuntime, then loadEngine. Throws CliError.
LoadedPlan loadPlan(CliLogger& logger, const std::string& path);

}  // namespace kiln::cli
