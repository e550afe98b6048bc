// `kiln inspect model.plan [--json]`: describes a plan.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.h"

namespace kiln::cli {

namespace {

const char* kInspectHelp =
    "usage: kiln inspect <model.plan> [--json] [--verbose]\n"
    "\n"
    "Loads a plan and prints its inputs and outputs (name, type, shape; min/opt/max of every optimization\n"
    "profile for dynamic inputs), the number of layers, and the engine information: layers, tactics,\n"
    "memory arena and target.\n"
    "\n"
    "options:\n"
    "  --json       print one JSON object instead of text\n"
    "  --verbose    print every message of the runtime\n"
    "  -h, --help   show this help\n"
    "\n"
    "examples:\n"
    "  kiln inspect resnet50.plan\n"
    "  kiln inspect resnet50.plan --json > resnet50.json\n";

std::string jsonDims(const Dims& d) {
  if (d.nbDims < 0 || d.nbDims > Dims::MAX_DIMS) return "null";
  std::string s = "[";
  for (int i = 0; i < d.nbDims; ++i) {
    if (i) s += ",";
    s += std::to_string(d.d[i]);
  }
  return s + "]";
}

std::string deviceName(DeviceType t) { return t == DeviceType::kGPU ? "gpu" : "cpu"; }

struct TensorInfo {
  std::string name;
  TensorIOMode mode{TensorIOMode::kNONE};
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  struct Profile {
    Dims min, opt, max;
  };
  std::vector<Profile> profiles;  // dynamic inputs only
};

std::vector<TensorInfo> describeTensors(const Engine& engine) {
  std::vector<TensorInfo> out;
  int32_t nbProfiles = engine.getNbOptimizationProfiles();
  for (int32_t i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name) continue;
    TensorInfo t;
    t.name = name;
    t.mode = engine.getTensorIOMode(name);
    t.dtype = engine.getTensorDataType(name);
    t.shape = engine.getTensorShape(name);
    if (t.mode == TensorIOMode::kINPUT && isDynamic(t.shape)) {
      for (int32_t p = 0; p < nbProfiles; ++p) {
        t.profiles.push_back({engine.getProfileShape(name, p, OptProfileSelector::kMIN),
                              engine.getProfileShape(name, p, OptProfileSelector::kOPT),
                              engine.getProfileShape(name, p, OptProfileSelector::kMAX)});
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string engineInformation(const Engine& engine, LayerInformationFormat format) {
  try {
    auto inspector = engine.createEngineInspector();
    return inspector ? inspector->getEngineInformation(format) : std::string();
  } catch (const std::exception& e) {
    throw CliError(std::string("cannot describe the engine: ") + e.what(), "");
  }
}

void printText(const std::string& path, long long fileSize, const Engine& engine,
               const std::vector<TensorInfo>& tensors) {
  std::printf("plan:            %s (%lld bytes)\n", path.c_str(), fileSize);
  std::printf("device:          %s\n", deviceName(engine.getDeviceType()).c_str());
  std::printf("profiles:        %d\n", engine.getNbOptimizationProfiles());
  std::printf("layers:          %d\n", engine.getNbLayers());
  std::printf("scratch memory:  %zu bytes\n", engine.getDeviceMemorySize());
  std::size_t width = 4;
  for (const auto& t : tensors) width = std::max(width, t.name.size());
  for (TensorIOMode mode : {TensorIOMode::kINPUT, TensorIOMode::kOUTPUT}) {
    std::printf("%s:\n", mode == TensorIOMode::kINPUT ? "inputs" : "outputs");
    bool any = false;
    for (const auto& t : tensors) {
      if (t.mode != mode) continue;
      any = true;
      std::printf("  %-*s  %-8s  %s%s\n", static_cast<int>(width), t.name.c_str(), dataTypeName(t.dtype),
                  dimsToString(t.shape).c_str(), isDynamic(t.shape) ? "  (dynamic)" : "");
      for (std::size_t p = 0; p < t.profiles.size(); ++p) {
        std::printf("  %-*s  profile %zu: min %s  opt %s  max %s\n", static_cast<int>(width), "", p,
                    dimsToString(t.profiles[p].min).c_str(), dimsToString(t.profiles[p].opt).c_str(),
                    dimsToString(t.profiles[p].max).c_str());
      }
    }
    if (!any) std::printf("  (none)\n");
  }
  std::string info = engineInformation(engine, LayerInformationFormat::kONELINE);
  std::printf("engine information:\n%s", info.c_str());
  if (!info.empty() && info.back() != '\n') std::printf("\n");
}

void printJson(const std::string& path, long long fileSize, const Engine& engine,
               const std::vector<TensorInfo>& tensors) {
  std::string j = "{\n";
  j += "  \"plan\": " + jsonString(path) + ",\n";
  j += "  \"planBytes\": " + std::to_string(fileSize) + ",\n";
  j += "  \"device\": " + jsonString(deviceName(engine.getDeviceType())) + ",\n";
  j += "  \"profiles\": " + std::to_string(engine.getNbOptimizationProfiles()) + ",\n";
  j += "  \"layers\": " + std::to_string(engine.getNbLayers()) + ",\n";
  j += "  \"deviceMemorySize\": " + std::to_string(engine.getDeviceMemorySize()) + ",\n";
  for (TensorIOMode mode : {TensorIOMode::kINPUT, TensorIOMode::kOUTPUT}) {
    j += mode == TensorIOMode::kINPUT ? "  \"inputs\": [" : "  \"outputs\": [";
    bool first = true;
    for (const auto& t : tensors) {
      if (t.mode != mode) continue;
      j += first ? "\n" : ",\n";
      first = false;
      j += "    {\"name\": " + jsonString(t.name) + ", \"dtype\": " + jsonString(dataTypeName(t.dtype)) +
           ", \"shape\": " + jsonDims(t.shape) + ", \"dynamic\": " + (isDynamic(t.shape) ? "true" : "false");
      if (mode == TensorIOMode::kINPUT && isDynamic(t.shape)) {
        j += ", \"profiles\": [";
        for (std::size_t p = 0; p < t.profiles.size(); ++p) {
          if (p) j += ", ";
          j += "{\"min\": " + jsonDims(t.profiles[p].min) + ", \"opt\": " + jsonDims(t.profiles[p].opt) +
               ", \"max\": " + jsonDims(t.profiles[p].max) + "}";
        }
        j += "]";
      }
      j += "}";
    }
    j += first ? "],\n" : "\n  ],\n";
  }
  std::string info = engineInformation(engine, LayerInformationFormat::kJSON);
  std::size_t b = info.find_first_not_of(" \t\r\n");
  std::size_t e = info.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) {
    j += "  \"engine\": null\n";
  } else if (info[b] == '{' || info[b] == '[') {
    j += "  \"engine\": " + info.substr(b, e - b + 1) + "\n";
  } else {
    j += "  \"engine\": " + jsonString(info) + "\n";
  }
  j += "}\n";
  std::fwrite(j.data(), 1, j.size(), stdout);
}

int runInspect(const Args& args) {
  ArgParser p(args.command);
  p.flag("json").flag("verbose");
  p.parse(args.argv);
  if (p.wantsHelp()) {
    std::fputs(kInspectHelp, stdout);
    return kExitOk;
  }
  if (p.positionals().empty()) throw UsageError("missing the plan file", "write kiln inspect model.plan");
  if (p.positionals().size() > 1) throw UsageError("unexpected argument '" + p.positionals()[1] + "'");
  const std::string path = p.positionals()[0];

  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  auto runtime = createRuntime(logger);
  if (!runtime) throw CliError("cannot create the runtime");
  std::unique_ptr<Engine> engine = loadEngine(*runtime, logger, path);

  struct stat st{};
  long long fileSize = ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  std::vector<TensorInfo> tensors = describeTensors(*engine);
  if (p.has("json")) {
    printJson(path, fileSize, *engine, tensors);
  } else {
    printText(path, fileSize, *engine, tensors);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

int cmdInspect(const Args& args) { return runInspect(args); }

}  // namespace kiln::cli
