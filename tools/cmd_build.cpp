// `kiln build model.onnx -o model.plan` and `kiln check model.onnx`.
#include <unistd.h>

#include <array>
#include <chrono>
#include <mutex>
#include <map>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "cli_common.h"
#include "kiln/onnx_parser.h"
#include "run_common.h"
#include "runtime/engine_impl.h"

namespace kiln::cli {

namespace {

const char* kBuildHelp =
    "usage: kiln build <model.onnx> -o <model.plan> [options]\n"
    "\n"
    "Imports an ONNX model, optimizes it and writes a plan for this machine.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     the plan to write (required)\n"
    "  --min-shapes SPEC     optimization profile for dynamic inputs: name:1x3x224x224,...\n"
    "  --opt-shapes SPEC     (all three are needed for each dynamic input; --shapes sets all three)\n"
    "  --max-shapes SPEC\n"
    "  --shapes SPEC         fixed shapes for dynamic inputs (min = opt = max)\n"
    "  --workspace BYTES     memory limit for activations and scratch\n"
    "  --threads N           CPU worker threads recorded in the plan (0: one per core)\n"
    "  --device cpu|gpu      backend (default: gpu when one is usable, else cpu)\n"
    "  --fp16                GPU: compute in float16 where it pays (inputs/outputs stay as declared)\n"
    "  --bf16                GPU: compute in bfloat16 instead\n"
    "  --tf32                GPU: let float32 matrix products and convolutions use TF32 tensor cores\n"
    "  --timing-cache FILE   reuse and update tactic timings kept in FILE (faster rebuilds)\n"
    "  --no-timing           do not time tactics: take the most specialized applicable one\n"
    "  --progress            show the tactic-timing progress line (default: only when stderr is a terminal)\n"
    "  --no-progress         never show it\n"
    "  --verbose             print every message of the builder\n"
    "  -h, --help            show this help\n"
    "\n"
    "At the end it prints a summary: layers before and after optimization, activation arena size at the\n"
    "opt shapes, plan size, tactics timed and build time.\n"
    "\n"
    "examples:\n"
    "  kiln build resnet50.onnx -o resnet50.plan\n"
    "  kiln build resnet50.onnx -o resnet50_fp16.plan --device gpu --fp16\n"
    "  kiln build model.onnx -o model.plan --min-shapes x:1x3x224x224 --opt-shapes x:8x3x224x224 \\\n"
    "      --max-shapes x:32x3x224x224\n";

const char* kCheckHelp =
    "usage: kiln check <model.onnx> [--verbose]\n"
    "\n"
    "Tells whether kiln can import an ONNX model: lists every node it cannot import (name, operator,\n"
    "domain, opset, reason) and a summary. Exit status 0 if everything imports, 1 otherwise.\n"
    "\n"
    "examples:\n"
    "  kiln check model.onnx\n";

//! The CLI logger plus a progress line while tactics are timed, driven by the builder's verbose
//! "timing tactics: layer i/N 'name' (op)" messages. On a terminal the line is redrawn in place; else
//! (with --progress) one line per timed layer.
class BuildLogger : public CliLogger {
 public:
  BuildLogger(std::string command, Severity printAtOrAbove, bool progress)
      : CliLogger(command, printAtOrAbove), progress_(progress), tty_(::isatty(STDERR_FILENO) == 1) {}
  void log(Severity severity, const char* msg) noexcept override {
    static constexpr char kPrefix[] = "timing tactics: layer ";
    if (severity == Severity::kVERBOSE && msg && std::strncmp(msg, kPrefix, sizeof kPrefix - 1) == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      ++timed_;
      if (progress_) show(msg + sizeof kPrefix - 1);
    }
    if (severity <= Severity::kWARNING) clearLine();
    CliLogger::log(severity, msg);
  }
  //! Erases the progress line (before other output).
  void clearLine() noexcept {
    if (drawn_ && tty_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }
  int timed() const noexcept { return timed_; }

 private:
  void show(const char* rest) noexcept {
    // rest: "i/N 'name' (op)"
    long i = 0, n = 0;
    if (std::sscanf(rest, "%ld/%ld", &i, &n) != 2 || n <= 0) return;
    auto now = std::chrono::steady_clock::now();
    if (timed_ == 1) {
      start_ = now;
      startIndex_ = i;
    }
    const char* label = std::strchr(rest, ' ');
    std::string name = label ? label + 1 : "";
    if (name.size() > 50) name = name.substr(0, 47) + "...";
    std::string eta = "";
    double secs = std::chrono::duration<double>(now - start_).count();
    if (i > startIndex_ && secs > 0) {
      double left = secs / static_cast<double>(i - startIndex_) * static_cast<double>(n - i + 1);
      char buf[48];
      std::snprintf(buf, sizeof buf, "  ETA %.0f s", left);
      eta = buf;
    }
    if (tty_) {
      std::fprintf(stderr, "\r\033[Ktiming tactics [%ld/%ld] %s%s", i, n, name.c_str(), eta.c_str());
      drawn_ = true;
    } else {
      std::fprintf(stderr, "kiln build: timing tactics [%ld/%ld] %s%s\n", i, n, name.c_str(), eta.c_str());
    }
    std::fflush(stderr);
  }
  std::mutex mu_;
  bool progress_;
  bool tty_;
  bool drawn_{false};
  int timed_{0};
  long startIndex_{0};
  std::chrono::steady_clock::time_point start_{};
};

//! Parses the model into `net`; prints every parser error. Returns the number of errors.
int importModel(const std::string& path, NetworkDefinition& net, CliLogger& logger, const std::string& cmd) {
  auto parser = onnx::createParser(net, logger);
  parser->parseFromFile(path.c_str());
  for (int32_t i = 0; i < parser->getNbErrors(); ++i) std::fprintf(stderr, "kiln %s: %s\n", cmd.c_str(), parser->getError(i)->desc());
  return parser->getNbErrors();
}

int runBuild(const Args& args) {
  ArgParser p(args.command);
  p.option("output").option("o").option("min-shapes").option("opt-shapes").option("max-shapes").option("shapes");
  p.option("workspace").option("threads").option("device").flag("fp16").flag("bf16").flag("tf32").flag("verbose");
  p.option("timing-cache").flag("no-timing").flag("progress").flag("no-progress");
  if (parseArgsOrHelp(p, args, kBuildHelp)) return kExitOk;
  if (p.positionals().size() != 1) throw UsageError("expected one ONNX model", "write kiln build model.onnx -o model.plan");
  std::string out = p.has("o") ? p.get("o") : p.get("output");
  if (out.empty()) throw UsageError("missing -o <model.plan>");
  const std::string model = p.positionals()[0];

  if (p.has("progress") && p.has("no-progress")) throw UsageError("--progress and --no-progress exclude each other");
  const bool progress = p.has("progress") || (!p.has("no-progress") && !p.has("verbose") && ::isatty(STDERR_FILENO) == 1);
  BuildLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING, progress);
  auto t0 = std::chrono::steady_clock::now();
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  int errors = importModel(model, *net, logger, args.command);
  if (errors) throw CliError(std::to_string(errors) + " problem(s) importing '" + model + "'", "run kiln check " + model + " for the full report");

  auto config = builder->createBuilderConfig();
  if (p.has("workspace")) config->setMemoryPoolLimit(MemoryPoolType::kWORKSPACE, static_cast<std::size_t>(p.getInt("workspace", 0, 1, INT64_MAX)));
  if (p.has("threads")) config->setNbThreads(static_cast<int32_t>(p.getInt("threads", 0, 0, 1024)));
  if (p.has("device")) config->setDefaultDeviceType(parseDevice(p.get("device")));
  if (p.has("fp16")) config->setFlag(BuilderFlag::kFP16);
  if (p.has("bf16")) config->setFlag(BuilderFlag::kBF16);
  if (p.has("tf32")) config->setFlag(BuilderFlag::kTF32);
  if (p.has("timing-cache")) config->setTimingCacheFile(p.get("timing-cache").c_str());
  if (p.has("no-timing")) config->setFlag(BuilderFlag::kNO_TACTIC_TIMING);
  struct Entry {
    std::array<Dims, 3> dims{};
    int given{0};  // bit per selector
  };
  std::map<std::string, Entry> profile;
  auto collect = [&](const std::string& opt, std::initializer_list<int> sels) {
    if (!p.has(opt)) return;
    for (const auto& [name, dims] : parseShapes(p.get(opt), args.command))
      for (int s : sels) {
        profile[name].dims[static_cast<size_t>(s)] = dims;
        profile[name].given |= 1 << s;
      }
  };
  collect("shapes", {0, 1, 2});
  collect("min-shapes", {0});
  collect("opt-shapes", {1});
  collect("max-shapes", {2});
  if (!profile.empty()) {
    auto prof = builder->createOptimizationProfile();
    for (const auto& [name, e] : profile)
      for (int s = 0; s < 3; ++s) {
        if (e.given != 7)
          throw UsageError("input '" + name + "' needs --min-shapes, --opt-shapes and --max-shapes (or --shapes)");
        if (!prof->setDimensions(name.c_str(), static_cast<OptProfileSelector>(s), e.dims[static_cast<size_t>(s)]))
          throw UsageError("invalid profile dims for '" + name + "'");
      }
    if (config->addOptimizationProfile(prof.get()) < 0)
      throw UsageError("invalid optimization profile (each input needs min <= opt <= max)");
  }
  auto plan = builder->buildSerializedNetwork(*net, *config);
  logger.clearLine();
  if (!plan) throw CliError(logger.firstError().empty() ? "the build failed" : logger.firstError());
  std::ofstream f(out, std::ios::binary);
  f.write(static_cast<const char*>(plan->data()), static_cast<std::streamsize>(plan->size()));
  if (!f) throw CliError("cannot write '" + out + "'", "check the path and the free space");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Summary: what the optimizer made of the network (read back from the plan).
  auto runtime = createRuntime(logger);
  std::unique_ptr<Engine> engine = runtime ? runtime->deserializeEngine(plan->data(), plan->size()) : nullptr;
  if (!engine) throw CliError("the plan just written cannot be loaded: " + logger.firstError());
  std::printf("built %s in %.2f s\n", out.c_str(), secs);
  std::printf("  device:          %s\n", engine->getDeviceType() == DeviceType::kGPU ? "gpu" : "cpu");
  std::printf("  layers:          %d in the network, %d after optimization\n", net->getNbLayers(), engine->getNbLayers());
  std::printf("  arena:           %llu bytes of activations at the opt shapes; %zu bytes per context with scratch\n",
              static_cast<unsigned long long>(engine->impl().plan.arenaBytes), engine->getDeviceMemorySize());
  std::printf("  plan:            %zu bytes\n", plan->size());
  std::printf("  tactics timed:   %d layer%s%s\n", logger.timed(), logger.timed() == 1 ? "" : "s",
              p.has("no-timing") ? " (--no-timing)" : "");
  return kExitOk;
}

int runCheck(const Args& args) {
  ArgParser p(args.command);
  p.flag("verbose");
  if (parseArgsOrHelp(p, args, kCheckHelp)) return kExitOk;
  if (p.positionals().size() != 1) throw UsageError("expected one ONNX model", "write kiln check model.onnx");
  const std::string model = p.positionals()[0];
  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  auto parser = onnx::createParser(*net, logger);
  parser->parseFromFile(model.c_str());
  std::map<std::string, int> badOps;
  int nodeErrors = 0;
  for (int32_t i = 0; i < parser->getNbErrors(); ++i) {
    const onnx::ParserError* e = parser->getError(i);
    std::printf("%s\n", e->desc());
    if (e->node() >= 0) {
      ++nodeErrors;
      ++badOps[std::string(e->nodeDomain()).empty() ? e->nodeOperator() : std::string(e->nodeDomain()) + "::" + e->nodeOperator()];
    }
  }
  int layers = net->getNbLayers();
  std::printf("%s: %d layers imported, %d node(s) not imported", model.c_str(), layers, nodeErrors);
  if (!badOps.empty()) {
    std::printf("; unsupported:");
    for (const auto& [op, n] : badOps) std::printf(" %s(x%d)", op.c_str(), n);
  }
  std::printf("\n%s\n", parser->getNbErrors() == 0 ? "OK: the model imports" : "FAILED: the model does not import");
  return parser->getNbErrors() == 0 ? kExitOk : kExitFailure;
}

}  // namespace

int cmdBuild(const Args& args) { return runBuild(args); }
int cmdCheck(const Args& args) { return runCheck(args); }

}  // namespace kiln::cli
