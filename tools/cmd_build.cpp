// `kiln build model.onnx -o model.plan` and `kiln check model.onnx`.
#include <array>
#include <chrono>
#include <map>
#include <cstdio>
#include <fstream>
#include <string>

#include "cli_common.h"
#include "kiln/onnx_parser.h"

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
    "  --verbose             print every message of the builder\n"
    "  -h, --help            show this help\n"
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
  p.option("timing-cache").flag("no-timing");
  p.parse(args.argv);
  if (p.wantsHelp()) {
    std::fputs(kBuildHelp, stdout);
    return kExitOk;
  }
  if (p.positionals().size() != 1) throw UsageError("expected one ONNX model", "write kiln build model.onnx -o model.plan");
  std::string out = p.has("o") ? p.get("o") : p.get("output");
  if (out.empty()) throw UsageError("missing -o <model.plan>");
  const std::string model = p.positionals()[0];

  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  auto t0 = std::chrono::steady_clock::now();
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  int errors = importModel(model, *net, logger, args.command);
  if (errors) throw CliError(std::to_string(errors) + " problem(s) importing '" + model + "'", "run kiln check " + model + " for the full report");

  auto config = builder->createBuilderConfig();
  if (p.has("workspace")) config->setMemoryPoolLimit(MemoryPoolType::kWORKSPACE, static_cast<std::size_t>(p.getInt("workspace", 0, 1, INT64_MAX)));
  if (p.has("threads")) config->setNbThreads(static_cast<int32_t>(p.getInt("threads", 0, 0, 1024)));
  if (p.has("device")) {
    std::string d = p.get("device");
    if (d == "cpu") config->setDefaultDeviceType(DeviceType::kCPU);
    else if (d == "gpu" || d == "cuda") config->setDefaultDeviceType(DeviceType::kGPU);
    else throw UsageError("--device must be cpu or gpu, got '" + d + "'");
  }
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
  if (!plan) throw CliError(logger.firstError().empty() ? "the build failed" : logger.firstError());
  std::ofstream f(out, std::ios::binary);
  f.write(static_cast<const char*>(plan->data()), static_cast<std::streamsize>(plan->size()));
  if (!f) throw CliError("cannot write '" + out + "'", "check the path and the free space");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("built %s: %d layers in the network, plan %zu bytes, %.2f s\n", out.c_str(), net->getNbLayers(),
              plan->size(), secs);
  return kExitOk;
}

int runCheck(const Args& args) {
  ArgParser p(args.command);
  p.flag("verbose");
  p.parse(args.argv);
  if (p.wantsHelp()) {
    std::fputs(kCheckHelp, stdout);
    return kExitOk;
  }
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
