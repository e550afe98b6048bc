// `kiln run model.plan ...`: runs a plan on .npy or random inputs, prints output statistics and latency.
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_common.h"
#include "core/dtype.h"
#include "core/npy.h"

namespace kiln::cli {

namespace {

const char* kRunHelp =
    "usage: kiln run <model.plan> [options]\n"
    "\n"
    "Runs a plan and prints, per output, its shape, type, min/max/mean and first values, then the latency\n"
    "of execute() (min/mean/median/p90/p99/max in ms). Inputs not given with --input are random:\n"
    "uniform in [-1, 1) for floating types, integers in [0, 4), booleans 0/1, from a fixed seed.\n"
    "A dynamic input takes its shape from --shapes, else from its .npy file, else from the opt shape of\n"
    "the first optimization profile.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy     data of input NAME (repeatable); the array's type must match the input's\n"
    "  --shapes N:AxB,N2:CxD     shapes of dynamic inputs, e.g. images:1x3x224x224 (names may hold ':')\n"
    "  --iterations N            timed runs (default 10)\n"
    "  --warmup N                untimed runs before them (default 2)\n"
    "  --seed S                  seed of the random inputs (default 1234)\n"
    "  --output-dir DIR          write every output to DIR/<name>.npy\n"
    "  --threads N               run N execution contexts on N threads at once (default 1)\n"
    "  --cuda-graph              GPU: capture each run into a CUDA graph and replay it\n"
    "  --values N                how many leading values to print per output (default 8)\n"
    "  --verbose                 print every message of the runtime\n"
    "  -h, --help                show this help\n"
    "\n"
    "examples:\n"
    "  kiln run resnet50.plan\n"
    "  kiln run resnet50.plan --input images=cat.npy --output-dir out/\n"
    "  kiln run detector.plan --shapes images:4x3x640x640 --iterations 100 --warmup 10\n"
    "  kiln run bert.plan --shapes input_ids:1x128,attention_mask:1x128 --threads 4\n";

constexpr int64_t kDefaultSeed = 1234;

struct InputPlan {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  std::vector<uint8_t> host;  // the input's bytes
  std::string source;         // "file x.npy" or "random ..."
};

struct OutputPlan {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  Dims shape;
  std::size_t bytes{0};
};

//! One execution context with its buffers (one per thread).
struct Worker {
  std::unique_ptr<ExecutionContext> context;
  std::map<std::string, Buffer> buffers;
  std::vector<double> latenciesMs;
  double timedWallMs{0};
  bool failed{false};
};

std::string contextMessage(CliLogger& logger) {
  std::string why = logger.firstError();
  return why.empty() ? std::string() : ": " + why;
}

std::size_t tensorBytes(const std::string& name, const Dims& shape, DataType dtype) {
  int64_t n = volume(shape);
  std::size_t elem = dataTypeSize(dtype);
  if (n < 0 || elem == 0) {
    throw CliError("tensor '" + name + "' has an unusable shape " + dimsToString(shape) + " or type " +
                   dataTypeName(dtype));
  }
  if (static_cast<uint64_t>(n) > std::numeric_limits<std::size_t>::max() / 2 / elem) {
    throw CliError("tensor '" + name + "' of shape " + dimsToString(shape) + " is too large", "use smaller shapes");
  }
  return static_cast<std::size_t>(n) * elem;
}

std::vector<uint8_t> randomData(DataType dtype, int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.f, 1.f);
  std::uniform_int_distribution<int> small(0, 3);
  std::vector<uint8_t> out(static_cast<std::size_t>(count) * dataTypeSize(dtype));
  uint8_t* p = out.data();
  auto put = [&p](auto v) {
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  };
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
      case DataType::kFLOAT: put(real(rng)); break;
      case DataType::kDOUBLE: put(static_cast<double>(real(rng))); break;
      case DataType::kHALF: put(floatToHalf(real(rng))); break;
      case DataType::kBF16: put(floatToBf16(real(rng))); break;
      case DataType::kINT8: put(static_cast<int8_t>(small(rng))); break;
      case DataType::kINT16: put(static_cast<int16_t>(small(rng))); break;
      case DataType::kINT32: put(static_cast<int32_t>(small(rng))); break;
      case DataType::kINT64: put(static_cast<int64_t>(small(rng))); break;
      case DataType::kUINT8: put(static_cast<uint8_t>(small(rng))); break;
      case DataType::kUINT16: put(static_cast<uint16_t>(small(rng))); break;
      case DataType::kUINT32: put(static_cast<uint32_t>(small(rng))); break;
      case DataType::kUINT64: put(static_cast<uint64_t>(small(rng))); break;
      case DataType::kBOOL: put(static_cast<uint8_t>(small(rng) & 1)); break;
    }
  }
  return out;
}

double elementAt(const uint8_t* base, DataType dtype, std::size_t i) {
  auto get = [&](auto zero) {
    decltype(zero) v;
    std::memcpy(&v, base + i * sizeof v, sizeof v);
    return v;
  };
  switch (dtype) {
    case DataType::kFLOAT: return get(float{});
    case DataType::kDOUBLE: return get(double{});
    case DataType::kHALF: return halfToFloat(get(uint16_t{}));
    case DataType::kBF16: return bf16ToFloat(get(uint16_t{}));
    case DataType::kINT8: return get(int8_t{});
    case DataType::kINT16: return get(int16_t{});
    case DataType::kINT32: return get(int32_t{});
    case DataType::kINT64: return static_cast<double>(get(int64_t{}));
    case DataType::kUINT8: return get(uint8_t{});
    case DataType::kUINT16: return get(uint16_t{});
    case DataType::kUINT32: return get(uint32_t{});
    case DataType::kUINT64: return static_cast<double>(get(uint64_t{}));
    case DataType::kBOOL: return base[i] != 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

std::string formatValue(const uint8_t* base, DataType dtype, std::size_t i) {
  char buf[64];
  switch (dtype) {
    case DataType::kINT64: {
      int64_t v;
      std::memcpy(&v, base + i * 8, 8);
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
      return buf;
    }
    case DataType::kUINT64: {
      uint64_t v;
      std::memcpy(&v, base + i * 8, 8);
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
      return buf;
    }
    case DataType::kBOOL: return base[i] != 0 ? "true" : "false";
    default: break;
  }
  double v = elementAt(base, dtype, i);
  if (isFloatingType(dtype)) {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

Dims dimsFromNpy(const npy::Array& a, const std::string& path) {
  if (a.shape.size() > static_cast<std::size_t>(Dims::MAX_DIMS)) {
    throw CliError("'" + path + "' has rank " + std::to_string(a.shape.size()) + ", more than kiln's " +
                   std::to_string(Dims::MAX_DIMS));
  }
  Dims d;
  d.nbDims = static_cast<int32_t>(a.shape.size());
  for (int i = 0; i < d.nbDims; ++i) d.d[i] = a.shape[static_cast<std::size_t>(i)];
  return d;
}

//! Throws unless `shape` fits the engine's (possibly dynamic) shape of input `name`.
void checkFits(const std::string& name, const Dims& engineShape, const Dims& shape, const std::string& from) {
  bool ok = engineShape.nbDims == shape.nbDims;
  for (int i = 0; ok && i < shape.nbDims; ++i)
    if (engineShape.d[i] >= 0 && engineShape.d[i] != shape.d[i]) ok = false;
  if (!ok) {
    throw CliError("input '" + name + "' has shape " + dimsToString(engineShape) + ", " + from + " gives " +
                       dimsToString(shape),
                   isDynamic(engineShape) ? "give a shape that matches; '?' extents may vary inside the profile"
                                          : "the plan fixes this input's shape; give data of that shape");
  }
}

std::string safeFileName(const std::string& name) {
  std::string s;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    s += ok ? c : '_';
  }
  if (s.empty() || s == "." || s == "..") s = "output";
  return s;
}

struct Stats {
  double min{0}, max{0}, mean{0};
  int64_t nans{0};
};

Stats computeStats(const uint8_t* base, DataType dtype, std::size_t count) {
  Stats s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  std::size_t finite = 0;
  for (std::size_t i = 0; i < count; ++i) {
    double v = elementAt(base, dtype, i);
    if (std::isnan(v)) {
      ++s.nans;
      continue;
    }
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
    ++finite;
  }
  s.mean = finite ? sum / static_cast<double>(finite) : std::nan("");
  return s;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

//! Milliseconds: 3 decimals from 1 ms up, 6 below (sub-microsecond runs stay readable).
std::string formatMs(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, ms >= 1.0 ? "%.3f" : "%.6f", ms);
  return buf;
}

double median(const std::vector<double>& sorted) {
  if (sorted.empty()) return 0;
  std::size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

//! Creates a context with the input shapes set, buffers allocated and the inputs copied in.
Worker makeWorker(Engine& engine, CliLogger& logger, const std::vector<InputPlan>& inputs,
                  std::vector<OutputPlan>* outputs, bool useCudaGraph) {
  Worker w;
  logger.clearErrors();
  w.context = engine.createExecutionContext();
  if (!w.context) throw CliError("cannot create an execution context" + contextMessage(logger));
  for (const auto& in : inputs) {
    if (!isDynamic(engine.getTensorShape(in.name.c_str()))) continue;
    logger.clearErrors();
    if (!w.context->setInputShape(in.name.c_str(), in.shape)) {
      std::string hint = "choose a shape inside the optimization profile with --shapes";
      if (engine.getNbOptimizationProfiles() > 0) {
        hint = "choose a shape between " +
               dimsToString(engine.getProfileShape(in.name.c_str(), 0, OptProfileSelector::kMIN)) + " and " +
               dimsToString(engine.getProfileShape(in.name.c_str(), 0, OptProfileSelector::kMAX)) +
               " with --shapes";
      }
      throw CliError("cannot set the shape of input '" + in.name + "' to " + dimsToString(in.shape) +
                         contextMessage(logger),
                     hint);
    }
  }
  if (useCudaGraph && !w.context->setCudaGraphEnabled(true))
    throw CliError("--cuda-graph: " + contextMessage(logger), "CUDA graphs need a plan built for the GPU");
  if (!w.context->allInputDimensionsSpecified()) {
    throw CliError("not every input shape is specified" + contextMessage(logger), "give them with --shapes");
  }
  const DeviceType device = engine.getDeviceType();
  for (const auto& in : inputs) {
    Buffer buf(std::max<std::size_t>(in.host.size(), 64), MemoryKind::kDEVICE, device);
    if (!in.host.empty() && !kiln::memcpy(buf.data(), in.host.data(), in.host.size())) {
      throw CliError("cannot copy input '" + in.name + "' to the device");
    }
    logger.clearErrors();
    if (!w.context->setTensorAddress(in.name.c_str(), buf.data()))
      throw CliError("cannot bind input '" + in.name + "'" + contextMessage(logger));
    w.buffers.emplace(in.name, std::move(buf));
  }
  std::vector<OutputPlan> outs;
  for (int32_t i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name || engine.getTensorIOMode(name) != TensorIOMode::kOUTPUT) continue;
    OutputPlan o;
    o.name = name;
    o.dtype = engine.getTensorDataType(name);
    o.shape = w.context->getTensorShape(name);
    if (o.shape.nbDims < 0 || isDynamic(o.shape)) {
      throw CliError("the shape of output '" + o.name + "' is unknown (" + dimsToString(o.shape) +
                     ") after setting the input shapes" + contextMessage(logger));
    }
    o.bytes = tensorBytes(o.name, o.shape, o.dtype);
    Buffer buf(std::max<std::size_t>(o.bytes, 64), MemoryKind::kDEVICE, device);
    logger.clearErrors();
    if (!w.context->setTensorAddress(name, buf.data()))
      throw CliError("cannot bind output '" + o.name + "'" + contextMessage(logger));
    w.buffers.emplace(o.name, std::move(buf));
    outs.push_back(std::move(o));
  }
  if (outputs) *outputs = std::move(outs);
  return w;
}

void runLoop(Worker& w, int64_t warmup, int64_t iterations, std::barrier<>* sync) {
  using clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < warmup && !w.failed; ++i)
    if (!w.context->execute()) w.failed = true;
  if (sync) sync->arrive_and_wait();
  if (w.failed) return;
  w.latenciesMs.reserve(static_cast<std::size_t>(iterations));
  auto begin = clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    auto t0 = clock::now();
    if (!w.context->execute()) {
      w.failed = true;
      break;
    }
    auto t1 = clock::now();
    w.latenciesMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  w.timedWallMs = std::chrono::duration<double, std::milli>(clock::now() - begin).count();
}

int runRun(const Args& args) {
  ArgParser p(args.command);
  p.option("input", true).option("shapes", true).option("iterations").option("warmup").option("seed");
  p.option("output-dir").option("threads").option("values").flag("verbose").flag("cuda-graph");
  p.parse(args.argv);
  if (p.wantsHelp()) {
    std::fputs(kRunHelp, stdout);
    return kExitOk;
  }
  if (p.positionals().empty()) throw UsageError("missing the plan file", "write kiln run model.plan");
  if (p.positionals().size() > 1) throw UsageError("unexpected argument '" + p.positionals()[1] + "'");
  const std::string path = p.positionals()[0];
  const int64_t iterations = p.getInt("iterations", 10, 1, 1000000000);
  const int64_t warmup = p.getInt("warmup", 2, 0, 1000000000);
  const int64_t seed = p.getInt("seed", kDefaultSeed, 0, std::numeric_limits<uint32_t>::max());
  const int64_t threads = p.getInt("threads", 1, 1, 1024);
  const int64_t nbValues = p.getInt("values", 8, 0, 1000000);
  const std::string outputDir = p.get("output-dir");
  if (p.has("output-dir") && outputDir.empty()) throw UsageError("--output-dir needs a directory");

  // Parse the option values before the (slow) plan load so that usage errors come first.
  std::map<std::string, std::string> inputFiles;
  for (const auto& spec : p.getAll("input")) {
    auto [name, file] = parseNameValue(spec, args.command, "--input");
    if (!inputFiles.emplace(name, file).second) throw UsageError("--input names '" + name + "' twice");
  }
  std::map<std::string, Dims> shapeOptions;
  for (const auto& text : p.getAll("shapes")) {
    for (auto& [name, dims] : parseShapes(text, args.command)) {
      if (!shapeOptions.emplace(name, dims).second) throw UsageError("--shapes names '" + name + "' twice");
    }
  }

  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  auto runtime = createRuntime(logger);
  if (!runtime) throw CliError("cannot create the runtime");
  std::unique_ptr<Engine> engine = loadEngine(*runtime, logger, path);

  // Engine inputs, in engine order.
  std::vector<std::string> inputNames;
  std::string inputList;
  for (int32_t i = 0; i < engine->getNbIOTensors(); ++i) {
    const char* name = engine->getIOTensorName(i);
    if (!name || engine->getTensorIOMode(name) != TensorIOMode::kINPUT) continue;
    inputNames.emplace_back(name);
    inputList += (inputList.empty() ? "" : ", ") + std::string(name);
  }
  if (inputList.empty()) inputList = "(none)";
  auto checkName = [&](const std::string& name, const char* option) {
    if (std::find(inputNames.begin(), inputNames.end(), name) != inputNames.end()) return;
    bool isOutput = engine->getTensorIOMode(name.c_str()) == TensorIOMode::kOUTPUT;
    throw UsageError(std::string(option) + " names '" + name + "', " +
                         (isOutput ? "which is an output, not an input" : "which is not an input of the plan"),
                     "the inputs are: " + inputList);
  };
  for (const auto& [name, _] : inputFiles) checkName(name, "--input");
  for (const auto& [name, _] : shapeOptions) checkName(name, "--shapes");

  // Decide every input's shape and data.
  std::vector<InputPlan> inputs;
  for (std::size_t idx = 0; idx < inputNames.size(); ++idx) {
    InputPlan in;
    in.name = inputNames[idx];
    in.dtype = engine->getTensorDataType(in.name.c_str());
    const Dims engineShape = engine->getTensorShape(in.name.c_str());
    if (engineShape.nbDims < 0 || engineShape.nbDims > Dims::MAX_DIMS)
      throw CliError("the plan gives input '" + in.name + "' no valid shape", "rebuild the plan");
    auto shapeIt = shapeOptions.find(in.name);
    auto fileIt = inputFiles.find(in.name);
    if (shapeIt != shapeOptions.end()) checkFits(in.name, engineShape, shapeIt->second, "--shapes");
    if (fileIt != inputFiles.end()) {
      npy::Array a;
      try {
        a = npy::readFile(fileIt->second);
      } catch (const Error& e) {
        throw CliError("cannot read input '" + in.name + "': " + e.message(), "give a valid .npy file");
      }
      if (a.dtype != in.dtype) {
        throw CliError("input '" + in.name + "' has type " + dataTypeName(in.dtype) + ", '" + fileIt->second +
                           "' holds " + dataTypeName(a.dtype),
                       std::string("save the array with dtype ") + dataTypeName(in.dtype));
      }
      in.shape = dimsFromNpy(a, fileIt->second);
      checkFits(in.name, engineShape, in.shape, "'" + fileIt->second + "'");
      if (shapeIt != shapeOptions.end() && shapeIt->second != in.shape) {
        throw UsageError("--shapes gives input '" + in.name + "' shape " + dimsToString(shapeIt->second) + ", '" +
                             fileIt->second + "' holds " + dimsToString(in.shape),
                         "drop the --shapes entry or make them agree");
      }
      in.host = std::move(a.data);
      in.source = "from " + fileIt->second;
    } else {
      if (shapeIt != shapeOptions.end()) {
        in.shape = shapeIt->second;
      } else if (isDynamic(engineShape)) {
        Dims opt = engine->getNbOptimizationProfiles() > 0
                       ? engine->getProfileShape(in.name.c_str(), 0, OptProfileSelector::kOPT)
                       : Dims{-1, {}};
        if (opt.nbDims < 0 || isDynamic(opt)) {
          throw UsageError("input '" + in.name + "' is dynamic (" + dimsToString(engineShape) +
                               ") and the plan has no opt shape for it",
                           "give its shape with --shapes " + in.name + ":...");
        }
        printNote(args.command, "input '" + in.name + "' is dynamic (" + dimsToString(engineShape) +
                                    "); using the profile's opt shape " + dimsToString(opt) +
                                    " (choose another with --shapes " + in.name + ":...)");
        in.shape = opt;
      } else {
        in.shape = engineShape;
      }
      int64_t count = static_cast<int64_t>(tensorBytes(in.name, in.shape, in.dtype) / dataTypeSize(in.dtype));
      in.host = randomData(in.dtype, count, static_cast<uint32_t>(seed) + static_cast<uint32_t>(idx));
      in.source = std::string("random ") +
                  (isFloatingType(in.dtype) ? "uniform [-1, 1)"
                   : in.dtype == DataType::kBOOL ? "booleans"
                                                 : "integers in [0, 4)") +
                  ", seed " + std::to_string(static_cast<uint32_t>(seed) + static_cast<uint32_t>(idx));
    }
    inputs.push_back(std::move(in));
  }

  // One context (and buffer set) per thread.
  std::vector<OutputPlan> outputs;
  std::vector<Worker> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int64_t t = 0; t < threads; ++t)
    workers.push_back(makeWorker(*engine, logger, inputs, t == 0 ? &outputs : nullptr, p.has("cuda-graph")));

  logger.clearErrors();
  if (threads == 1) {
    runLoop(workers[0], warmup, iterations, nullptr);
  } else {
    std::barrier<> sync(static_cast<std::ptrdiff_t>(threads));
    std::vector<std::thread> pool;
    for (auto& w : workers) pool.emplace_back(runLoop, std::ref(w), warmup, iterations, &sync);
    for (auto& th : pool) th.join();
  }
  for (const auto& w : workers) {
    if (w.failed) throw CliError("inference failed" + contextMessage(logger), "run with --verbose for details");
  }

  // Report.
  std::printf("plan: %s (device %s, %lld thread%s)\n", path.c_str(),
              engine->getDeviceType() == DeviceType::kGPU ? "gpu" : "cpu", static_cast<long long>(threads),
              threads == 1 ? "" : "s");
  std::size_t width = 4;
  for (const auto& in : inputs) width = std::max(width, in.name.size());
  for (const auto& o : outputs) width = std::max(width, o.name.size());
  std::printf("inputs:\n");
  if (inputs.empty()) std::printf("  (none)\n");
  for (const auto& in : inputs) {
    std::printf("  %-*s  %-8s  %-16s  %s\n", static_cast<int>(width), in.name.c_str(), dataTypeName(in.dtype),
                dimsToString(in.shape).c_str(), in.source.c_str());
  }
  std::printf("outputs:\n");
  if (outputs.empty()) std::printf("  (none)\n");
  std::vector<std::pair<std::string, std::vector<uint8_t>>> hostOutputs;
  for (const auto& o : outputs) {
    std::vector<uint8_t> host(o.bytes);
    if (o.bytes && !kiln::memcpy(host.data(), workers[0].buffers.at(o.name).data(), o.bytes))
      throw CliError("cannot copy output '" + o.name + "' from the device");
    std::size_t count = o.bytes / dataTypeSize(o.dtype);
    std::printf("  %-*s  %-8s  %-16s", static_cast<int>(width), o.name.c_str(), dataTypeName(o.dtype),
                dimsToString(o.shape).c_str());
    if (count == 0) {
      std::printf("  (empty)\n");
    } else {
      Stats s = computeStats(host.data(), o.dtype, count);
      std::printf("  min %.6g  max %.6g  mean %.6g", s.min, s.max, s.mean);
      if (s.nans) std::printf("  nan %lld", static_cast<long long>(s.nans));
      std::printf("\n");
      if (nbValues > 0) {
        std::size_t shown = std::min<std::size_t>(count, static_cast<std::size_t>(nbValues));
        std::string vals;
        for (std::size_t i = 0; i < shown; ++i) vals += (i ? ", " : "") + formatValue(host.data(), o.dtype, i);
        if (shown < count) vals += ", ...";
        std::printf("  %-*s  values: [%s]\n", static_cast<int>(width), "", vals.c_str());
      }
    }
    hostOutputs.emplace_back(o.name, std::move(host));
  }

  std::vector<double> all;
  double wall = 0;
  for (const auto& w : workers) {
    all.insert(all.end(), w.latenciesMs.begin(), w.latenciesMs.end());
    wall = std::max(wall, w.timedWallMs);
  }
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (double v : all) sum += v;
  std::printf("latency (ms) over %lld iteration%s (%lld warmup run%s first): min %s  mean %s  median %s  p90 %s  "
              "p99 %s  max %s\n",
              static_cast<long long>(all.size()), all.size() == 1 ? "" : "s", static_cast<long long>(warmup),
              warmup == 1 ? "" : "s", formatMs(all.empty() ? 0.0 : all.front()).c_str(),
              formatMs(all.empty() ? 0.0 : sum / static_cast<double>(all.size())).c_str(), formatMs(median(all)).c_str(),
              formatMs(percentile(all, 90)).c_str(), formatMs(percentile(all, 99)).c_str(),
              formatMs(all.empty() ? 0.0 : all.back()).c_str());
  if (wall > 0) {
    std::printf("throughput: %.2f inferences/s\n", static_cast<double>(all.size()) * 1000.0 / wall);
  }

  if (!outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(outputDir, ec);
    if (ec) throw CliError("cannot create directory '" + outputDir + "': " + ec.message(), "check the path");
    std::map<std::string, int> used;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const auto& o = outputs[i];
      npy::Array a;
      a.shape.assign(o.shape.d, o.shape.d + o.shape.nbDims);
      if (o.dtype == DataType::kBF16) {  // no NumPy type: write float32
        std::size_t count = o.bytes / 2;
        a.dtype = DataType::kFLOAT;
        a.data.resize(count * 4);
        for (std::size_t k = 0; k < count; ++k) {
          float f = static_cast<float>(elementAt(hostOutputs[i].second.data(), DataType::kBF16, k));
          std::memcpy(a.data.data() + k * 4, &f, 4);
        }
        printNote(args.command, "output '" + o.name + "' is bfloat16, which NumPy lacks; writing it as float32");
      } else {
        a.dtype = o.dtype;
        a.data = std::move(hostOutputs[i].second);
      }
      std::string base = safeFileName(o.name);
      if (used[base]++) base += "_" + std::to_string(i);
      std::string file = (std::filesystem::path(outputDir) / (base + ".npy")).string();
      try {
        npy::writeFile(file, a);
      } catch (const Error& e) {
        throw CliError(e.message(), "check that the directory is writable");
      }
      std::printf("wrote %s\n", file.c_str());
    }
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

int cmdRun(const Args& args) { return runRun(args); }

}  // namespace kiln::cli
