// Shared by `kiln run`, `kiln bench` and `kiln compare`: see run_common.h.
#include "run_common.h"

#include <sys/utsname.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "backends/gpu.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/small_types.h"
#include "core/hash.h"
#include "core/npy.h"
#include "ir/graph.h"
#include "onnx/model.h"

namespace kiln::cli {

namespace {
std::string contextMessage(CliLogger& logger) {
  std::string why = logger.firstError();
  return why.empty() ? std::string() : ": " + why;
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

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double median(const std::vector<double>& sorted) {
  if (sorted.empty()) return 0;
  std::size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}
}  // namespace

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
      default:  // float8 / sub-byte storage (one byte each): a small non-negative code, valid in every format
        put(static_cast<uint8_t>(small(rng) & 1));
        break;
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
    default:
      if (isSmallStorageType(dtype)) return static_cast<double>(smallToFloat(dtype, base[i]));
      break;
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

TensorStats computeStats(const uint8_t* base, DataType dtype, std::size_t count) {
  TensorStats s;
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

//! Milliseconds: 3 decimals from 1 ms up, 6 below (sub-microsecond runs stay readable).
std::string formatMs(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, ms >= 1.0 ? "%.3f" : "%.6f", ms);
  return buf;
}

double parseNumber(const std::string& option, const std::string& text, double lo, double hi) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || !end || *end != '\0' || !(v >= lo && v <= hi)) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", lo, hi);
    throw UsageError("--" + option + " needs a number in " + range + ", got '" + text + "'");
  }
  return v;
}

DeviceType parseDevice(const std::string& text) {
  if (text == "cpu") return DeviceType::kCPU;
  if (text == "gpu" || text == "cuda") return DeviceType::kGPU;
  throw UsageError("--device must be cpu or gpu, got '" + text + "'");
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string jsonDims(const Dims& d) {
  if (d.nbDims < 0 || d.nbDims > Dims::MAX_DIMS) return "null";
  std::string s = "[";
  for (int i = 0; i < d.nbDims; ++i) s += (i ? "," : "") + std::to_string(d.d[i]);
  return s + "]";
}

void writeTextFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw CliError("cannot write '" + path + "'", "check the path and that the directory is writable");
}

// ------------------------------------------------------------------------------------------------------
// Inputs

const char* kInputOptionsHelp =
    "  --input NAME=FILE         data of input NAME (repeatable): a .npy file, or an ONNX TensorProto (.pb,\n"
    "                            e.g. test_data_set_0/input_0.pb); its type must match the input's\n"
    "  --shapes N:AxB,N2:CxD     shapes of dynamic inputs, e.g. images:1x3x224x224 (names may hold ':')\n"
    "  --seed S                  seed of the random inputs (default 1234)\n";

void declareInputOptions(ArgParser& p) { p.option("input", true).option("shapes", true).option("seed"); }

InputOptions parseInputOptions(const ArgParser& p, const std::string& command) {
  InputOptions o;
  o.seed = static_cast<uint32_t>(p.getInt("seed", 1234, 0, std::numeric_limits<uint32_t>::max()));
  for (const auto& spec : p.getAll("input")) {
    auto [name, file] = parseNameValue(spec, command, "--input");
    if (!o.files.emplace(name, file).second) throw UsageError("--input names '" + name + "' twice");
  }
  for (const auto& text : p.getAll("shapes"))
    for (auto& [name, dims] : parseShapes(text, command))
      if (!o.shapes.emplace(name, dims).second) throw UsageError("--shapes names '" + name + "' twice");
  return o;
}

TensorFile readTensorFile(const std::string& path) {
  TensorFile t;
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".pb") {
    try {
      std::shared_ptr<const ir::TensorData> d = onnx::toTensorData(onnx::loadTensorFile(path));
      t.dtype = d->dtype;
      if (d->shape.size() > static_cast<std::size_t>(Dims::MAX_DIMS))
        throw CliError("'" + path + "' has rank " + std::to_string(d->shape.size()) + ", more than kiln's " +
                       std::to_string(Dims::MAX_DIMS));
      t.shape = ir::dimsFromShape(d->shape);
      const auto* b = static_cast<const uint8_t*>(d->raw());
      t.data.assign(b, b + d->byteSize());
    } catch (const Error& e) {
      throw CliError("cannot read '" + path + "': " + e.message(), "give an ONNX TensorProto file");
    }
    return t;
  }
  npy::Array a;
  try {
    a = npy::readFile(path);
  } catch (const Error& e) {
    throw CliError("cannot read '" + path + "': " + e.message(), "give a valid .npy file (or an ONNX .pb tensor)");
  }
  t.dtype = a.dtype;
  t.shape = dimsFromNpy(a, path);
  t.data = std::move(a.data);
  return t;
}

std::vector<InputData> prepareInputs(const Engine& engine, const InputOptions& options, const std::string& command) {
  std::vector<std::string> inputNames;
  std::string inputList;
  for (int32_t i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name || engine.getTensorIOMode(name) != TensorIOMode::kINPUT) continue;
    inputNames.emplace_back(name);
    inputList += (inputList.empty() ? "" : ", ") + std::string(name);
  }
  if (inputList.empty()) inputList = "(none)";
  auto checkName = [&](const std::string& name, const char* option) {
    if (std::find(inputNames.begin(), inputNames.end(), name) != inputNames.end()) return;
    bool isOutput = engine.getTensorIOMode(name.c_str()) == TensorIOMode::kOUTPUT;
    throw UsageError(std::string(option) + " names '" + name + "', " +
                         (isOutput ? "which is an output, not an input" : "which is not an input of the plan"),
                     "the inputs are: " + inputList);
  };
  for (const auto& [name, _] : options.files) checkName(name, "--input");
  for (const auto& [name, _] : options.shapes) checkName(name, "--shapes");

  std::vector<InputData> inputs;
  for (std::size_t idx = 0; idx < inputNames.size(); ++idx) {
    InputData in;
    in.name = inputNames[idx];
    in.dtype = engine.getTensorDataType(in.name.c_str());
    const Dims engineShape = engine.getTensorShape(in.name.c_str());
    if (engineShape.nbDims < 0 || engineShape.nbDims > Dims::MAX_DIMS)
      throw CliError("the plan gives input '" + in.name + "' no valid shape", "rebuild the plan");
    auto shapeIt = options.shapes.find(in.name);
    auto fileIt = options.files.find(in.name);
    if (shapeIt != options.shapes.end()) checkFits(in.name, engineShape, shapeIt->second, "--shapes");
    if (fileIt != options.files.end()) {
      TensorFile f = readTensorFile(fileIt->second);
      if (f.dtype != in.dtype) {
        throw CliError("input '" + in.name + "' has type " + dataTypeName(in.dtype) + ", '" + fileIt->second +
                           "' holds " + dataTypeName(f.dtype),
                       std::string("save the array with dtype ") + dataTypeName(in.dtype));
      }
      in.shape = f.shape;
      checkFits(in.name, engineShape, in.shape, "'" + fileIt->second + "'");
      if (shapeIt != options.shapes.end() && shapeIt->second != in.shape) {
        throw UsageError("--shapes gives input '" + in.name + "' shape " + dimsToString(shapeIt->second) + ", '" +
                             fileIt->second + "' holds " + dimsToString(in.shape),
                         "drop the --shapes entry or make them agree");
      }
      in.host = std::move(f.data);
      in.source = "from " + fileIt->second;
    } else {
      if (shapeIt != options.shapes.end()) {
        in.shape = shapeIt->second;
      } else if (isDynamic(engineShape)) {
        Dims opt = engine.getNbOptimizationProfiles() > 0
                       ? engine.getProfileShape(in.name.c_str(), 0, OptProfileSelector::kOPT)
                       : Dims{-1, {}};
        if (opt.nbDims < 0 || isDynamic(opt)) {
          throw UsageError("input '" + in.name + "' is dynamic (" + dimsToString(engineShape) +
                               ") and the plan has no opt shape for it",
                           "give its shape with --shapes " + in.name + ":...");
        }
        printNote(command, "input '" + in.name + "' is dynamic (" + dimsToString(engineShape) +
                               "); using the profile's opt shape " + dimsToString(opt) + " (choose another with --shapes " +
                               in.name + ":...)");
        in.shape = opt;
      } else {
        in.shape = engineShape;
      }
      const uint32_t seed = options.seed + static_cast<uint32_t>(idx);
      int64_t count = static_cast<int64_t>(tensorBytes(in.name, in.shape, in.dtype) / dataTypeSize(in.dtype));
      in.host = randomData(in.dtype, count, seed);
      in.source = std::string("random ") +
                  (isFloatingType(in.dtype) ? "uniform [-1, 1)"
                   : in.dtype == DataType::kBOOL ? "booleans"
                                                 : "integers in [0, 4)") +
                  ", seed " + std::to_string(seed);
    }
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// ------------------------------------------------------------------------------------------------------
// Contexts and the timed loop

Worker makeWorker(Engine& engine, CliLogger& logger, const std::vector<InputData>& inputs,
                  std::vector<OutputInfo>* outputs, bool useCudaGraph, bool hostCopies) {
  Worker w;
  const auto t0 = std::chrono::steady_clock::now();
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
               dimsToString(engine.getProfileShape(in.name.c_str(), 0, OptProfileSelector::kMAX)) + " with --shapes";
      }
      throw CliError("cannot set the shape of input '" + in.name + "' to " + dimsToString(in.shape) +
                         contextMessage(logger),
                     hint);
    }
  }
  if (useCudaGraph && !w.context->setCudaGraphEnabled(true))
    throw CliError("--cuda-graph" + contextMessage(logger), "CUDA graphs need a plan built for the GPU");
  if (!w.context->allInputDimensionsSpecified())
    throw CliError("not every input shape is specified" + contextMessage(logger), "give them with --shapes");
  const DeviceType device = engine.getDeviceType();
  auto bind = [&](const std::string& name, std::size_t bytes, const uint8_t* data) {
    Buffer buf(std::max<std::size_t>(bytes, 64), MemoryKind::kDEVICE, device);
    if (data && bytes && !kiln::memcpy(buf.data(), data, bytes))
      throw CliError("cannot copy input '" + name + "' to the device");
    logger.clearErrors();
    if (!w.context->setTensorAddress(name.c_str(), buf.data()))
      throw CliError("cannot bind '" + name + "'" + contextMessage(logger));
    if (hostCopies) {
      Buffer h(std::max<std::size_t>(bytes, 64), MemoryKind::kPAGELOCKED, device);
      if (data && bytes) std::memcpy(h.data(), data, bytes);
      w.host.push_back(std::move(h));
    }
    w.ioNames.push_back(name);
    w.bytes.push_back(bytes);
    w.device.push_back(std::move(buf));
  };
  for (const auto& in : inputs) bind(in.name, in.host.size(), in.host.data());
  w.nbInputs = inputs.size();
  std::vector<OutputInfo> outs;
  for (int32_t i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (!name || engine.getTensorIOMode(name) != TensorIOMode::kOUTPUT) continue;
    OutputInfo o;
    o.name = name;
    o.dtype = engine.getTensorDataType(name);
    logger.clearErrors();
    o.shape = w.context->getTensorShape(name);
    if (o.shape.nbDims < 0 || isDynamic(o.shape)) {
      throw CliError("the shape of output '" + o.name + "' is unknown (" + dimsToString(o.shape) +
                     ") after setting the input shapes" + contextMessage(logger));
    }
    o.bytes = tensorBytes(o.name, o.shape, o.dtype);
    bind(o.name, o.bytes, nullptr);
    outs.push_back(std::move(o));
  }
  if (outputs) *outputs = std::move(outs);
  w.setupMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return w;
}

namespace {
struct LoopEvents {
  Event start, copiedIn, computed, copiedOut;
};

bool runOnce(Worker& w, const LoopOptions& o, LoopEvents* ev, Split* split) {
  if (!o.streams) return w.context->execute();
  Stream& st = *w.stream;
  if (!o.transfers) return w.context->enqueue(st) && st.synchronize();
  ev->start.record(st);
  for (std::size_t i = 0; i < w.nbInputs; ++i)
    if (!memcpyAsync(w.device[i].data(), w.host[i].data(), w.bytes[i], st)) return false;
  ev->copiedIn.record(st);
  if (!w.context->enqueue(st)) return false;
  ev->computed.record(st);
  for (std::size_t i = w.nbInputs; i < w.ioNames.size(); ++i)
    if (!memcpyAsync(w.host[i].data(), w.device[i].data(), w.bytes[i], st)) return false;
  ev->copiedOut.record(st);
  if (!st.synchronize()) return false;
  if (split) {
    split->h2d = Event::elapsedTime(ev->start, ev->copiedIn);
    split->compute = Event::elapsedTime(ev->copiedIn, ev->computed);
    split->d2h = Event::elapsedTime(ev->computed, ev->copiedOut);
  }
  return true;
}

void timedLoop(Worker& w, const LoopOptions& o, std::barrier<>* sync) {
  using clock = std::chrono::steady_clock;
  LoopEvents ev;
  for (int64_t i = 0; i < o.warmup && !w.failed; ++i) {
    const auto t0 = clock::now();
    if (!runOnce(w, o, &ev, nullptr)) w.failed = true;
    if (i == 0) w.firstRunMs = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  }
  if (sync) sync->arrive_and_wait();
  if (w.failed) return;
  w.latenciesMs.reserve(static_cast<std::size_t>(std::min<int64_t>(o.iterations, 1 << 20)));
  const auto begin = clock::now();
  const auto minEnd = begin + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.durationS));
  for (int64_t i = 0; i < o.iterations || clock::now() < minEnd; ++i) {
    Split split;
    auto t0 = clock::now();
    if (!runOnce(w, o, &ev, &split)) {
      w.failed = true;
      break;
    }
    auto t1 = clock::now();
    w.latenciesMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (i == 0 && o.warmup == 0) w.firstRunMs = w.latenciesMs.back();
    if (o.streams && o.transfers) w.splits.push_back(split);
  }
  w.timedWallMs = std::chrono::duration<double, std::milli>(clock::now() - begin).count();
}
}  // namespace

void runWorkers(std::vector<Worker>& workers, const LoopOptions& options, CliLogger& logger) {
  const DeviceType device = workers.empty() ? DeviceType::kCPU : workers[0].context->getEngine().getDeviceType();
  if (options.streams)
    for (auto& w : workers)
      if (!w.stream) w.stream = std::make_unique<Stream>(device);
  logger.clearErrors();
  if (workers.size() == 1) {
    timedLoop(workers[0], options, nullptr);
  } else {
    std::barrier<> sync(static_cast<std::ptrdiff_t>(workers.size()));
    std::vector<std::thread> pool;
    for (auto& w : workers) pool.emplace_back(timedLoop, std::ref(w), std::cref(options), &sync);
    for (auto& th : pool) th.join();
  }
  for (const auto& w : workers)
    if (w.failed) throw CliError("inference failed" + contextMessage(logger), "run with --verbose for details");
}

std::vector<Worker> makeWorkers(Engine& engine, CliLogger& logger, const std::vector<InputData>& inputs,
                                int64_t count, std::vector<OutputInfo>* outputs, bool useCudaGraph, bool hostCopies) {
  std::vector<Worker> workers;
  workers.reserve(static_cast<std::size_t>(count));
  for (int64_t k = 0; k < count; ++k)
    workers.push_back(makeWorker(engine, logger, inputs, k == 0 ? outputs : nullptr, useCudaGraph, hostCopies));
  return workers;
}

TimedRun::TimedRun(const Args& args, const ArgParser& p, const std::string& path, const InputOptions& inputOptions,
                   const LoopOptions& loop, int64_t contexts, bool hostCopies)
    : logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING),
      plan(loadPlan(logger, path)),
      inputs(prepareInputs(*plan.engine, inputOptions, args.command)) {
  workers = makeWorkers(*plan.engine, logger, inputs, contexts, &outputs, p.has("cuda-graph"), hostCopies);
  runWorkers(workers, loop, logger);
}

std::vector<std::vector<uint8_t>> fetchOutputs(Worker& w, const std::vector<OutputInfo>& outputs) {
  std::vector<std::vector<uint8_t>> out;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const std::size_t i = w.nbInputs + k;
    std::vector<uint8_t> host(outputs[k].bytes);
    if (!host.empty() && !kiln::memcpy(host.data(), w.device[i].data(), host.size()))
      throw CliError("cannot copy output '" + outputs[k].name + "' from the device");
    out.push_back(std::move(host));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------
// Statistics and reports

LatencyStats latencyStats(std::vector<double> v) {
  LatencyStats s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.min = v.front();
  s.max = v.back();
  s.mean = sum / static_cast<double>(v.size());
  s.median = median(v);
  s.p90 = percentile(v, 90);
  s.p95 = percentile(v, 95);
  s.p99 = percentile(v, 99);
  return s;
}

std::string latencyText(const LatencyStats& s) {
  return "min " + formatMs(s.min) + "  mean " + formatMs(s.mean) + "  median " + formatMs(s.median) + "  p90 " +
         formatMs(s.p90) + "  p95 " + formatMs(s.p95) + "  p99 " + formatMs(s.p99) + "  max " + formatMs(s.max);
}

std::string latencyJson(const LatencyStats& s) {
  return "{\"count\": " + std::to_string(s.count) + ", \"min\": " + jsonNumber(s.min) + ", \"mean\": " +
         jsonNumber(s.mean) + ", \"median\": " + jsonNumber(s.median) + ", \"p90\": " + jsonNumber(s.p90) +
         ", \"p95\": " + jsonNumber(s.p95) + ", \"p99\": " + jsonNumber(s.p99) + ", \"max\": " + jsonNumber(s.max) + "}";
}

void LayerProfiler::reportLayerTime(const char* layerName, float ms) noexcept {
  try {
    std::string name = layerName ? layerName : "";
    auto it = index_.find(name);
    if (it == index_.end()) {
      it = index_.emplace(name, entries_.size()).first;
      entries_.push_back({name, 0.0, 0});
    }
    entries_[it->second].totalMs += ms;
    entries_[it->second].calls += 1;
  } catch (...) {
  }
}

int64_t LayerProfiler::runs() const noexcept {
  int64_t n = 0;
  for (const auto& e : entries_) n = std::max(n, e.calls);
  return n;
}

LayerProfiler profileLayers(Worker& w, int64_t runs, CliLogger& logger) {
  LayerProfiler prof;
  logger.clearErrors();
  w.context->setProfiler(&prof);
  bool ok = true;
  for (int64_t i = 0; i < runs && ok; ++i) ok = w.context->execute();
  w.context->setProfiler(nullptr);
  if (!ok) throw CliError("inference failed while profiling" + contextMessage(logger), "run with --verbose for details");
  return prof;
}

void printProfile(const LayerProfiler& p, std::FILE* out) {
  double total = 0;
  std::size_t width = 5;
  for (const auto& e : p.entries()) {
    total += e.totalMs;
    width = std::max(width, e.name.size());
  }
  width = std::min<std::size_t>(width, 60);
  std::fprintf(out, "per-layer profile (%lld run%s, mean ms per run):\n", static_cast<long long>(p.runs()),
              p.runs() == 1 ? "" : "s");
  std::fprintf(out, "  %-*s  %12s  %7s\n", static_cast<int>(width), "layer", "ms", "%");
  for (const auto& e : p.entries()) {
    double mean = e.calls ? e.totalMs / static_cast<double>(e.calls) : 0;
    std::fprintf(out, "  %-*s  %12s  %6.2f%%\n", static_cast<int>(width), e.name.c_str(), formatMs(mean).c_str(),
                total > 0 ? 100.0 * e.totalMs / total : 0.0);
  }
  double runs = static_cast<double>(std::max<int64_t>(1, p.runs()));
  std::fprintf(out, "  %-*s  %12s\n", static_cast<int>(width), "(sum)", formatMs(total / runs).c_str());
}

std::string profileJson(const LayerProfiler& p) {
  double total = 0;
  for (const auto& e : p.entries()) total += e.totalMs;
  std::string j = "{\"runs\": " + std::to_string(p.runs()) + ", \"layers\": [";
  bool first = true;
  for (const auto& e : p.entries()) {
    double mean = e.calls ? e.totalMs / static_cast<double>(e.calls) : 0;
    j += std::string(first ? "" : ", ") + "{\"name\": " + jsonString(e.name) + ", \"mean_ms\": " + jsonNumber(mean) +
         ", \"total_ms\": " + jsonNumber(e.totalMs) + ", \"calls\": " + std::to_string(e.calls) +
         ", \"percent\": " + jsonNumber(total > 0 ? 100.0 * e.totalMs / total : 0.0) + "}";
    first = false;
  }
  return j + "]}";
}

namespace {
std::string versionNumber(int32_t v, int32_t majorDiv, int32_t minorDiv) {
  if (v <= 0) return "";
  return std::to_string(v / majorDiv) + "." + std::to_string((v % majorDiv) / minorDiv);
}
}  // namespace

std::string environmentJson(const Engine& engine, const std::string& planPath) {
  std::string j = "{";
  j += "\"kiln_version\": " + jsonString(versionString());
  std::time_t now = std::time(nullptr);
  char date[32] = "";
  std::tm tm{};
  if (gmtime_r(&now, &tm)) std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  j += ", \"date\": " + jsonString(date);
  struct utsname u{};
  std::string os = osName();
  if (::uname(&u) == 0) os = std::string(u.sysname) + " " + u.release;
  j += ", \"os\": " + jsonString(os);
  j += ", \"arch\": " + jsonString(archName());
  j += ", \"cpu\": " + jsonString(cpuName());
  j += ", \"cpu_cores\": " + std::to_string(std::thread::hardware_concurrency());
  j += ", \"cpu_features\": " + jsonString(cpuFeatureNames(cpuFeatures()));
  const bool onGpu = engine.getDeviceType() == DeviceType::kGPU;
  j += ", \"device\": " + jsonString(onGpu ? "gpu" : "cpu");
  if (onGpu) {
    try {
      const gpu::DeviceInfo& d = gpu::deviceInfo();
      j += ", \"gpu\": {\"name\": " + jsonString(d.name) + ", \"compute_capability\": " +
           jsonString(std::to_string(d.arch / 10) + "." + std::to_string(d.arch % 10)) +
           ", \"multiprocessors\": " + std::to_string(d.multiprocessors) +
           ", \"memory_bytes\": " + std::to_string(d.totalMemory) +
           ", \"driver_cuda_version\": " + jsonString(versionNumber(d.cudaDriver, 1000, 10)) +
           ", \"cuda_runtime_version\": " + jsonString(versionNumber(d.cudaRuntime, 1000, 10)) +
           ", \"cudnn_version\": " + jsonString(d.cudnn > 0 ? std::to_string(d.cudnn / 10000) + "." +
                                                                  std::to_string((d.cudnn % 10000) / 100) + "." +
                                                                  std::to_string(d.cudnn % 100)
                                                            : "") +
           ", \"cublaslt_version\": " + std::to_string(d.cublasLt) + "}";
    } catch (const std::exception& e) {
      j += ", \"gpu\": {\"error\": " + jsonString(e.what()) + "}";
    }
  } else {
    j += ", \"gpu\": null";
  }
  // The plan: size and a 64-bit content hash (kiln's plan checksum function over the whole file).
  std::ifstream f(planPath, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(hash64(bytes.data(), bytes.size())));
  j += ", \"plan\": {\"path\": " + jsonString(planPath) + ", \"bytes\": " + std::to_string(bytes.size()) +
       ", \"hash64\": " + jsonString(hash) + ", \"layers\": " + std::to_string(engine.getNbLayers()) + "}";
  return j + "}";
}

}  // namespace kiln::cli

namespace kiln::cli {

void summarize(RunReport& r, const std::vector<Worker>& workers) {
  std::vector<double> all, h2d, compute, d2h;
  double wall = 0;
  for (const auto& w : workers) {
    all.insert(all.end(), w.latenciesMs.begin(), w.latenciesMs.end());
    wall = std::max(wall, w.timedWallMs);
    for (const Split& s : w.splits) {
      h2d.push_back(s.h2d);
      compute.push_back(s.compute);
      d2h.push_back(s.d2h);
    }
  }
  r.latency = latencyStats(all);
  r.wallMs = wall;
  r.throughput = wall > 0 ? static_cast<double>(all.size()) * 1000.0 / wall : 0.0;
  r.haveSplit = !compute.empty();
  if (r.haveSplit) {
    r.h2d = latencyStats(h2d);
    r.compute = latencyStats(compute);
    r.d2h = latencyStats(d2h);
  }
}

void printTimings(const RunReport& r, std::FILE* out) {
  std::fprintf(out, "latency (ms) over %lld run%s (%lld warmup run%s first, %lld context%s): %s\n",
              static_cast<long long>(r.latency.count), r.latency.count == 1 ? "" : "s",
              static_cast<long long>(r.loop.warmup), r.loop.warmup == 1 ? "" : "s", static_cast<long long>(r.contexts),
              r.contexts == 1 ? "" : "s", latencyText(r.latency).c_str());
  if (r.haveSplit) {
    std::fprintf(out, "split (ms, median of runs): host->device %s  compute %s  device->host %s\n", formatMs(r.h2d.median).c_str(),
                formatMs(r.compute.median).c_str(), formatMs(r.d2h.median).c_str());
  }
  if (r.wallMs > 0)
    std::fprintf(out, "throughput: %.2f inferences/s (%.3f s timed)\n", r.throughput, r.wallMs / 1000.0);
}

std::string reportJson(const RunReport& r) {
  const Engine& e = *r.engine;
  std::string j = "{\n";
  j += "  \"command\": " + jsonString(r.command) + ",\n";
  j += "  \"environment\": " + environmentJson(e, r.planPath) + ",\n";
  j += "  \"options\": {\"warmup\": " + std::to_string(r.loop.warmup) + ", \"iterations\": " +
       std::to_string(r.loop.iterations) + ", \"duration_s\": " + jsonNumber(r.loop.durationS) +
       ", \"contexts\": " + std::to_string(r.contexts) + ", \"streams\": " + (r.loop.streams ? "true" : "false") +
       ", \"data_transfers\": " + (r.loop.transfers ? "true" : "false") +
       ", \"cuda_graph\": " + (r.cudaGraph ? "true" : "false") + "},\n";
  j += "  \"inputs\": [";
  if (r.inputs)
    for (std::size_t i = 0; i < r.inputs->size(); ++i) {
      const auto& in = (*r.inputs)[i];
      j += std::string(i ? ", " : "") + "{\"name\": " + jsonString(in.name) + ", \"dtype\": " +
           jsonString(dataTypeName(in.dtype)) + ", \"shape\": " + jsonDims(in.shape) + ", \"source\": " +
           jsonString(in.source) + "}";
    }
  j += "],\n  \"outputs\": [";
  if (r.outputs)
    for (std::size_t i = 0; i < r.outputs->size(); ++i) {
      const auto& o = (*r.outputs)[i];
      j += std::string(i ? ", " : "") + "{\"name\": " + jsonString(o.name) + ", \"dtype\": " +
           jsonString(dataTypeName(o.dtype)) + ", \"shape\": " + jsonDims(o.shape);
      if (r.outputData && i < r.outputData->size() && o.bytes) {
        TensorStats s = computeStats((*r.outputData)[i].data(), o.dtype, o.bytes / dataTypeSize(o.dtype));
        j += ", \"min\": " + jsonNumber(s.min) + ", \"max\": " + jsonNumber(s.max) + ", \"mean\": " +
             jsonNumber(s.mean) + ", \"nans\": " + std::to_string(s.nans);
      }
      j += "}";
    }
  j += "],\n";
  j += "  \"latency_ms\": " + latencyJson(r.latency) + ",\n";
  j += "  \"throughput_per_s\": " + jsonNumber(r.throughput) + ",\n";
  j += "  \"timed_wall_s\": " + jsonNumber(r.wallMs / 1000.0) + ",\n";
  if (r.haveSplit) {
    j += "  \"split_ms\": {\"host_to_device\": " + latencyJson(r.h2d) + ", \"compute\": " + latencyJson(r.compute) +
         ", \"device_to_host\": " + latencyJson(r.d2h) + "},\n";
  } else {
    j += "  \"split_ms\": null,\n";
  }
  j += "  \"profile\": " + (r.profile ? profileJson(*r.profile) : std::string("null")) + "\n";
  return j + "}\n";
}

RunReport makeRunReport(const std::string& command, const std::string& planPath, const Engine& engine,
                        const std::vector<InputData>& inputs, const std::vector<OutputInfo>& outputs,
                        const LoopOptions& loop, int64_t contexts, bool cudaGraph) {
  RunReport r;
  r.command = command;
  r.planPath = planPath;
  r.engine = &engine;
  r.inputs = &inputs;
  r.outputs = &outputs;
  r.loop = loop;
  r.contexts = contexts;
  r.cudaGraph = cudaGraph;
  return r;
}

LayerIdentity layerIdentity(const ir::Node& n, std::size_t index, const std::vector<std::string>& tactics) {
  LayerIdentity L;
  L.index = static_cast<int32_t>(index);
  L.name = n.name;
  L.op = n.op;
  L.tactic = index < tactics.size() ? tactics[index] : "";
  L.origins = n.origins;
  return L;
}

void finishReport(RunReport& r, std::vector<Worker>& workers, const ArgParser& p, CliLogger& logger, std::FILE* out) {
  summarize(r, workers);
  printTimings(r, out);
  LayerProfiler profile;
  if (p.has("profile")) {
    profile = profileLayers(workers[0], r.loop.iterations, logger);
    r.profile = &profile;
    printProfile(profile, out);
  }
  if (p.has("json")) writeTextFile(p.get("json"), reportJson(r));
  r.profile = nullptr;  // `profile` ends here
}

void checkJsonOption(const ArgParser& p) {
  if (p.has("json") && p.get("json").empty()) throw UsageError("--json needs a file name ('-' for stdout)");
}

}  // namespace kiln::cli
