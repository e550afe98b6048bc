// kiln_conformance: runs ONNX backend test suites (directories of cases, each with model.onnx and
// test_data_set_*/input_*.pb, output_*.pb) through the whole kiln flow: onnx::Parser -> Builder -> plan ->
// fresh Runtime -> ExecutionContext, and compares every output with ONNX's tolerances.
//
//   kiln_conformance --suite node=/usr/include/onnx/backend/test/data/node [--suite NAME=DIR ...]
//                    [--filter SUBSTR] [--markdown FILE] [--json FILE] [--ratchet FILE] [--verbose]
//                    [--jobs N] [--timeout SECONDS] [--budget ELEMENTS] [--device cpu|gpu]
//
// Every case runs in a child process (fork), so a crash, an abort or a hang ends as an "error" of that
// case, never of the runner. Each case ends as pass, fail (wrong numbers), error (parse/build/run error)
// or out-of-scope (string, sequence/optional, training, random and image-decoding cases).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/small_types.h"
#include "kiln/kiln.h"
#include "kiln/onnx_parser.h"
#include "onnx/model.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

// ---------------------------------------------------------------------------------------------------------
// Options and results

struct Options {
  std::vector<std::pair<std::string, std::string>> suites;  // name, dir
  std::string filter;
  std::string markdown, json, ratchet;
  std::string note;  // a line for the markdown header (where the suites come from)
  bool verbose{false};
  int jobs{1};
  int timeoutSec{120};
  int64_t budget{64 * 1000 * 1000};  // elements over all test data of a case
  DeviceType device{DeviceType::kCPU};
};

enum class Status { kPASS, kFAIL, kERROR, kOUT_OF_SCOPE };

const char* statusName(Status s) {
  switch (s) {
    case Status::kPASS: return "pass";
    case Status::kFAIL: return "fail";
    case Status::kERROR: return "error";
    case Status::kOUT_OF_SCOPE: return "out-of-scope";
  }
  return "?";
}

struct CaseResult {
  std::string name;
  std::string dir;
  Status status{Status::kERROR};
  std::string reason;
  std::vector<std::string> ops;  // op types counted in the per-op table
  double seconds{0};
};

struct SuiteResult {
  std::string name, dir;
  std::vector<CaseResult> cases;
  int count(Status s) const {
    return static_cast<int>(std::count_if(cases.begin(), cases.end(), [&](const CaseResult& c) { return c.status == s; }));
  }
};

std::string oneLine(std::string s, size_t maxLen = 600) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > maxLen) s = s.substr(0, maxLen) + "...";
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Model analysis (in the parent): op types and the out-of-scope rules

const std::set<std::string> kStringOps = {"StringNormalizer", "StringConcat", "StringSplit", "RegexFullMatch",
                                          "TfIdfVectorizer",  "LabelEncoder", "CategoryMapper"};
const std::set<std::string> kTrainingOps = {"Gradient", "Adagrad", "Adam", "Momentum"};
const std::set<std::string> kRandomOps = {"RandomNormal",     "RandomUniform", "RandomNormalLike",
                                          "RandomUniformLike", "Bernoulli",     "Multinomial"};

struct Analysis {
  std::vector<std::string> topOps;  // distinct op types of the top-level graph, in order of appearance
  std::set<std::string> allOps;     // including subgraphs and model functions
  std::string outOfScope;           // reason, empty if in scope
};

std::string qualifiedOp(const onnx::Node& n) {
  if (n.domain.empty() || n.domain == "ai.onnx") return n.opType;
  return n.domain + "::" + n.opType;
}

void scanValueInfos(const std::vector<onnx::ValueInfo>& v, const char* what, std::string* why) {
  for (const auto& vi : v) {
    if (!why->empty()) return;
    if (vi.typeKind == "sequence" || vi.typeKind == "optional")
      *why = std::string(what) + " '" + vi.name + "' is a " + vi.typeKind;
    else if (vi.isTensor() && vi.elemType == onnx::kONNX_STRING)
      *why = std::string(what) + " '" + vi.name + "' is a STRING tensor";
  }
}

void scanNodes(const std::vector<onnx::Node>& nodes, Analysis& a, int depth);

void scanGraph(const onnx::Graph& g, Analysis& a, int depth) {
  if (depth > 64) return;
  scanValueInfos(g.inputs, "input", &a.outOfScope);
  scanValueInfos(g.outputs, "output", &a.outOfScope);
  for (const auto& t : g.initializers)
    if (a.outOfScope.empty() && t.dataType == onnx::kONNX_STRING)
      a.outOfScope = "initializer '" + t.name + "' is a STRING tensor";
  scanNodes(g.nodes, a, depth);
}

void scanNodes(const std::vector<onnx::Node>& nodes, Analysis& a, int depth) {
  for (const auto& n : nodes) {
    a.allOps.insert(qualifiedOp(n));
    std::string& why = a.outOfScope;
    if (why.empty()) {
      if (kStringOps.count(n.opType))
        why = "string op " + n.opType;
      else if (n.opType.rfind("Sequence", 0) == 0 || n.opType.rfind("Optional", 0) == 0 ||
               n.opType == "SplitToSequence" || n.opType == "ConcatFromSequence")
        why = "sequence/optional op " + n.opType;
      else if (kTrainingOps.count(n.opType))
        why = "training op " + n.opType;
      else if (kRandomOps.count(n.opType))
        why = "random generator " + n.opType;
      else if (n.opType == "ImageDecoder")
        why = "ImageDecoder";
      else if ((n.opType == "BatchNormalization" || n.opType == "Dropout") && n.findAttribute("training_mode") &&
               n.findAttribute("training_mode")->i != 0)
        why = "training mode of " + n.opType;
    }
    for (const auto& at : n.attributes) {
      if (why.empty() && at.t && at.t->dataType == onnx::kONNX_STRING)
        why = "node " + n.opType + " has a STRING tensor attribute";
      if (why.empty() && at.type == onnx::AttributeType::kSTRINGS && n.opType == "Constant")
        why = "Constant of strings";
      if (at.g) scanGraph(*at.g, a, depth + 1);
      for (const auto& g : at.graphs)
        if (g) scanGraph(*g, a, depth + 1);
    }
  }
}

Analysis analyze(const onnx::Model& m, const std::string& caseName) {
  Analysis a;
  scanGraph(m.graph, a, 0);
  for (const auto& f : m.functions) scanNodes(f.nodes, a, 1);
  for (const auto& n : m.graph.nodes) {
    std::string op = qualifiedOp(n);
    if (std::find(a.topOps.begin(), a.topOps.end(), op) == a.topOps.end()) a.topOps.push_back(op);
  }
  if (a.outOfScope.empty() && caseName.find("training") != std::string::npos &&
      (a.allOps.count("Dropout") || a.allOps.count("BatchNormalization")))
    a.outOfScope = "training mode case";
  return a;
}

std::string normalize(const std::string& s) {
  std::string o;
  for (char c : s)
    if (c != '_') o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

//! The op a node-suite case tests: its only node's op, or the op whose name best matches the case name.
std::string testedOp(const std::string& caseName, const std::vector<std::string>& ops) {
  if (ops.size() == 1) return ops[0];
  std::string key = normalize(caseName.rfind("test_", 0) == 0 ? caseName.substr(5) : caseName);
  std::string best;
  for (const auto& op : ops) {
    std::string bare = op.substr(op.find("::") == std::string::npos ? 0 : op.find("::") + 2);
    std::string n = normalize(bare);
    if (key.rfind(n, 0) == 0 && n.size() > normalize(best).size()) best = op;
  }
  if (!best.empty()) return best;
  for (const auto& op : ops)
    if (op != "Constant") return op;
  return ops.empty() ? "(none)" : ops[0];
}

// ---------------------------------------------------------------------------------------------------------
// Running one case (in the child)

class CaseLogger : public Logger {
 public:
  explicit CaseLogger(bool verbose) : Logger(Severity::kWARNING), verbose_(verbose) {}
  void log(Severity s, const char* msg) noexcept override {
    try {
      if (s <= Severity::kERROR) errors.emplace_back(msg ? msg : "");
      if (verbose_) std::fprintf(stderr, "    [kiln %s] %s\n", severityName(s), msg ? msg : "");
    } catch (...) {
    }
  }
  std::string first(const std::string& fallback) const { return errors.empty() ? fallback : errors.front(); }
  std::vector<std::string> errors;

 private:
  bool verbose_;
};

struct AlignedBuffer {
  std::unique_ptr<uint8_t, void (*)(void*)> p{nullptr, std::free};
  std::size_t size{0};
  explicit AlignedBuffer(std::size_t bytes) : size(bytes) {
    std::size_t n = (std::max<std::size_t>(bytes, 64) + 63) / 64 * 64;
    p.reset(static_cast<uint8_t*>(std::aligned_alloc(64, n)));
    if (!p) throw std::bad_alloc();
    std::memset(p.get(), 0xA5, n);  // not zero: a kernel that writes nothing is caught
  }
  uint8_t* data() { return p.get(); }
};

std::vector<fs::path> numberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) != 0 || f.size() < prefix.size() + 4 || f.substr(f.size() - 3) != ".pb") continue;
    std::string num = f.substr(prefix.size(), f.size() - prefix.size() - 3);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stol(num), e.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [n, p] : found) out.push_back(p);
  return out;
}

struct TestTensor {
  std::string name;  // as written in the file
  std::shared_ptr<const ir::TensorData> data;
};

struct DataSet {
  std::string name;
  std::vector<TestTensor> inputs, outputs;
};

TestTensor loadTestTensor(const fs::path& p) {
  onnx::Tensor t = onnx::loadTensorFile(p.string());
  if (t.dataType == onnx::kONNX_STRING) throw Error(ErrorCode::kUNSUPPORTED_NODE, p.filename().string() + " holds strings");
  return TestTensor{t.name, onnx::toTensorData(t)};
}

Dims toDims(const ir::Shape& s) {
  Dims d{};
  if (s.size() > static_cast<size_t>(Dims::MAX_DIMS))
    throw Error(ErrorCode::kUNSUPPORTED_NODE, "rank " + std::to_string(s.size()) + " is above kiln's maximum");
  d.nbDims = static_cast<int32_t>(s.size());
  for (size_t i = 0; i < s.size(); ++i) d.d[i] = s[i];
  return d;
}

std::string shapeString(const ir::Shape& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
  return o + "]";
}

bool floatingType(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kDOUBLE || t == DataType::kHALF || t == DataType::kBF16 ||
         isSmallFloatType(t);  // float8 / float4 codes: compared by value (NaN equals NaN whatever its code)
}

double readFloat(DataType t, const void* base, int64_t i) {
  switch (t) {
    case DataType::kFLOAT: return static_cast<const float*>(base)[i];
    case DataType::kDOUBLE: return static_cast<const double*>(base)[i];
    case DataType::kHALF: return halfToFloat(static_cast<const uint16_t*>(base)[i]);
    case DataType::kBF16: return bf16ToFloat(static_cast<const uint16_t*>(base)[i]);
    default:
      if (isSmallFloatType(t)) return smallToFloat(t, static_cast<const uint8_t*>(base)[i]);
      return 0;
  }
}

std::string readIntString(DataType t, const void* base, int64_t i) {
  switch (t) {
    case DataType::kINT8: return std::to_string(static_cast<const int8_t*>(base)[i]);
    case DataType::kUINT8: return std::to_string(static_cast<const uint8_t*>(base)[i]);
    case DataType::kBOOL: return static_cast<const uint8_t*>(base)[i] ? "true" : "false";
    case DataType::kINT16: return std::to_string(static_cast<const int16_t*>(base)[i]);
    case DataType::kUINT16: return std::to_string(static_cast<const uint16_t*>(base)[i]);
    case DataType::kINT32: return std::to_string(static_cast<const int32_t*>(base)[i]);
    case DataType::kUINT32: return std::to_string(static_cast<const uint32_t*>(base)[i]);
    case DataType::kINT64: return std::to_string(static_cast<const int64_t*>(base)[i]);
    case DataType::kUINT64: return std::to_string(static_cast<const uint64_t*>(base)[i]);
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2: return std::to_string(smallIntValue(t, static_cast<const uint8_t*>(base)[i]));
    default: return "?";
  }
}

//! Older ONNX test data stores bfloat16 (and some float16) tensors as UINT16 bits: read them as `want`.
bool bitsAs16BitFloat(DataType stored, DataType want) {
  return stored == DataType::kUINT16 && (want == DataType::kBF16 || want == DataType::kHALF);
}

//! "" if equal within tolerance; otherwise the reason ("max abs error ...").
std::string compareOutput(const std::string& name, const ir::TensorData& exp, DataType gotType, const Dims& gotDims,
                          const uint8_t* got, double* maxErr) {
  const double rtol = 1e-3, atol = 1e-7;
  if (gotType != exp.dtype && !bitsAs16BitFloat(exp.dtype, gotType))
    return "output '" + name + "': type " + dataTypeName(gotType) + ", expected " + dataTypeName(exp.dtype);
  Dims ed = toDims(exp.shape);
  if (!(ed == gotDims)) return "output '" + name + "': shape " + toString(gotDims) + ", expected " + toString(ed);
  const int64_t n = exp.numel();
  const void* e = exp.raw();  // read as gotType (the same, or the bits of a 16-bit float)
  int64_t bad = 0, firstBad = -1;
  double worst = 0;
  if (floatingType(gotType)) {
    for (int64_t i = 0; i < n; ++i) {
      double a = readFloat(gotType, got, i), b = readFloat(gotType, e, i);
      bool ok;
      if (std::isnan(a) || std::isnan(b)) ok = std::isnan(a) && std::isnan(b);
      else if (std::isinf(a) || std::isinf(b)) ok = a == b;
      else ok = std::fabs(a - b) <= atol + rtol * std::fabs(b);
      double err = (std::isnan(a) != std::isnan(b)) ? INFINITY : (a == b ? 0.0 : std::fabs(a - b));
      if (std::isnan(err)) err = INFINITY;
      if (err > worst) worst = err;
      if (!ok) {
        ++bad;
        if (firstBad < 0) firstBad = i;
      }
    }
    if (maxErr) *maxErr = std::max(*maxErr, worst);
    if (!bad) return "";
    char buf[512];
    std::snprintf(buf, sizeof buf, "output '%s': %lld of %lld values differ, max abs error %.6g; first at %lld: got %.9g, expected %.9g",
                  name.c_str(), static_cast<long long>(bad), static_cast<long long>(n), worst,
                  static_cast<long long>(firstBad), readFloat(gotType, got, firstBad), readFloat(gotType, e, firstBad));
    return buf;
  }
  const size_t es = dataTypeSize(gotType);
  for (int64_t i = 0; i < n; ++i) {
    bool same;
    if (gotType == DataType::kBOOL)
      same = (got[i] != 0) == (static_cast<const uint8_t*>(e)[i] != 0);
    else
      same = std::memcmp(got + i * es, static_cast<const uint8_t*>(e) + i * es, es) == 0;
    if (!same) {
      ++bad;
      if (firstBad < 0) firstBad = i;
    }
  }
  if (!bad) return "";
  return "output '" + name + "': " + std::to_string(bad) + " of " + std::to_string(n) + " values differ; first at " +
         std::to_string(firstBad) + ": got " + readIntString(gotType, got, firstBad) + ", expected " +
         readIntString(gotType, e, firstBad);
}

struct ChildResult {
  Status status;
  std::string reason;
};

ChildResult runCase(const fs::path& dir, const Options& opt) {
  CaseLogger logger(opt.verbose);
  const fs::path model = dir / "model.onnx";

  // Test data first (cheap, and the element budget needs it).
  std::vector<DataSet> sets;
  {
    std::vector<fs::path> setDirs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) setDirs.push_back(e.path());
    std::sort(setDirs.begin(), setDirs.end());
    if (setDirs.empty()) return {Status::kERROR, "the case has no test_data_set_* directory"};
    int64_t elements = 0;
    for (const auto& sd : setDirs) {
      DataSet ds;
      ds.name = sd.filename().string();
      try {
        for (const auto& p : numberedFiles(sd, "input_")) ds.inputs.push_back(loadTestTensor(p));
        for (const auto& p : numberedFiles(sd, "output_")) ds.outputs.push_back(loadTestTensor(p));
      } catch (const std::exception& e) {
        return {Status::kERROR, "test data " + ds.name + ": " + e.what()};
      }
      for (const auto& t : ds.inputs) elements += t.data->numel();
      for (const auto& t : ds.outputs) elements += t.data->numel();
      sets.push_back(std::move(ds));
    }
    if (elements > opt.budget)
      return {Status::kERROR, "skipped: " + std::to_string(elements) + " test data elements, over the per-case budget of " +
                                  std::to_string(opt.budget)};
  }

  auto builder = createBuilder(logger);
  auto network = builder->createNetwork();
  auto parser = onnx::createParser(*network, logger);
  if (!parser->parseFromFile(model.string().c_str())) {
    std::string why = parser->getNbErrors() > 0 ? parser->getError(0)->desc() : logger.first("unknown parse error");
    if (why.find("see the error above") != std::string::npos && !logger.errors.empty())
      why = logger.errors.front() + " [" + why + "]";
    int more = parser->getNbErrors() - 1;
    if (more > 0) why += " (+" + std::to_string(more) + " more)";
    return {Status::kERROR, "parse: " + why};
  }

  // Network inputs in order; the test data maps by name, else by position.
  std::vector<std::string> inNames, outNames;
  for (int i = 0; i < network->getNbInputs(); ++i) inNames.push_back(network->getInput(i)->getName());
  for (int i = 0; i < network->getNbOutputs(); ++i) outNames.push_back(network->getOutput(i)->getName());
  auto bind = [](const std::vector<TestTensor>& ts, const std::vector<std::string>& names, const char* what,
                 std::map<std::string, const ir::TensorData*>& out) -> std::string {
    std::set<std::string> known(names.begin(), names.end());
    for (size_t i = 0; i < ts.size(); ++i) {
      std::string nm = known.count(ts[i].name) ? ts[i].name : (i < names.size() ? names[i] : "");
      if (nm.empty()) return std::string("test data has more ") + what + "s than the network";
      out[nm] = ts[i].data.get();
    }
    for (const auto& nm : names)
      if (!out.count(nm)) return std::string("no test data for ") + what + " '" + nm + "'";
    return "";
  };
  std::vector<std::map<std::string, const ir::TensorData*>> setIn(sets.size()), setOut(sets.size());
  for (size_t s = 0; s < sets.size(); ++s) {
    std::string why = bind(sets[s].inputs, inNames, "input", setIn[s]);
    if (why.empty()) why = bind(sets[s].outputs, outNames, "output", setOut[s]);
    if (!why.empty()) return {Status::kERROR, sets[s].name + ": " + why};
  }

  auto config = builder->createBuilderConfig();
  config->setNbThreads(1);
  config->setDefaultDeviceType(opt.device);
  {
    auto profile = builder->createOptimizationProfile();
    bool dynamic = false;
    for (int i = 0; i < network->getNbInputs(); ++i) {
      Tensor* in = network->getInput(i);
      Dims d = in->getDimensions();
      bool dyn = d.nbDims < 0;
      for (int k = 0; k < d.nbDims; ++k) dyn = dyn || d.d[k] < 0;
      if (!dyn) continue;
      dynamic = true;
      Dims lo = toDims(setIn[0].at(in->getName())->shape), hi = lo;
      for (size_t s = 1; s < sets.size(); ++s) {
        Dims x = toDims(setIn[s].at(in->getName())->shape);
        if (x.nbDims != lo.nbDims) continue;
        for (int k = 0; k < x.nbDims; ++k) lo.d[k] = std::min(lo.d[k], x.d[k]), hi.d[k] = std::max(hi.d[k], x.d[k]);
      }
      Dims optDims = toDims(setIn[0].at(in->getName())->shape);
      profile->setDimensions(in->getName(), OptProfileSelector::kMIN, lo);
      profile->setDimensions(in->getName(), OptProfileSelector::kOPT, optDims);
      profile->setDimensions(in->getName(), OptProfileSelector::kMAX, hi);
    }
    if (dynamic && config->addOptimizationProfile(profile.get()) < 0)
      return {Status::kERROR, "build: the profile made from the test data is invalid"};
  }
  std::unique_ptr<HostMemory> plan = builder->buildSerializedNetwork(*network, *config);
  if (!plan) return {Status::kERROR, "build: " + logger.first("buildSerializedNetwork failed")};
  // The network, parser and builder are dropped: the plan must stand alone.
  std::vector<uint8_t> bytes(static_cast<const uint8_t*>(plan->data()),
                             static_cast<const uint8_t*>(plan->data()) + plan->size());
  plan.reset();
  parser.reset();
  network.reset();
  builder.reset();

  CaseLogger rtLogger(opt.verbose);
  auto runtime = createRuntime(rtLogger);
  auto engine = runtime->deserializeEngine(bytes.data(), bytes.size());
  if (!engine) return {Status::kERROR, "deserialize: " + rtLogger.first("deserializeEngine failed")};
  auto ctx = engine->createExecutionContext();
  if (!ctx) return {Status::kERROR, "context: " + rtLogger.first("createExecutionContext failed")};

  double maxErr = 0;
  std::string firstFail;
  for (size_t s = 0; s < sets.size(); ++s) {
    const std::string where = sets.size() > 1 ? sets[s].name + ": " : "";
    std::vector<AlignedBuffer> keep;
    // on the GPU: device copies of every I/O buffer (outputs come back into `keep` after the run)
    const bool onGpu = engine->getDeviceType() == DeviceType::kGPU;
    std::vector<Buffer> dev;
    auto bindAddress = [&](const std::string& name, AlignedBuffer& host, bool input) {
      void* p = host.data();
      if (onGpu) {
        // inputs in page-locked memory: kernels read it, and shape-determining inputs must be on the host
        dev.emplace_back(std::max<std::size_t>(host.size, 1), input ? MemoryKind::kPAGELOCKED : MemoryKind::kDEVICE,
                         DeviceType::kGPU);
        if (input && host.size && !kiln::memcpy(dev.back().data(), host.data(), host.size)) return false;
        if (!input) kiln::memcpy(dev.back().data(), host.data(), host.size);  // the poison pattern
        p = dev.back().data();
      }
      return ctx->setTensorAddress(name.c_str(), p);
    };
    dev.reserve(setIn[s].size() + outNames.size());
    keep.reserve(setIn[s].size() + outNames.size());
    for (const auto& [name, td] : setIn[s]) {
      DataType et = engine->getTensorDataType(name.c_str());
      if (et != td->dtype && !bitsAs16BitFloat(td->dtype, et))
        return {Status::kERROR, where + "input '" + name + "' is " + dataTypeName(td->dtype) + " in the test data, " +
                                    dataTypeName(et) + " in the engine"};
      if (!ctx->setInputShape(name.c_str(), toDims(td->shape)))
        return {Status::kERROR, where + "setInputShape('" + name + "', " + shapeString(td->shape) + "): " +
                                    rtLogger.first("refused")};
      keep.emplace_back(td->byteSize());
      if (td->byteSize()) std::memcpy(keep.back().data(), td->raw(), td->byteSize());
      if (!bindAddress(name, keep.back(), true))
        return {Status::kERROR, where + "setInputTensorAddress('" + name + "'): " + rtLogger.first("refused")};
    }
    std::map<std::string, std::pair<size_t, Dims>> outBufs;
    for (const auto& name : outNames) {
      Dims d = ctx->getTensorShape(name.c_str());
      int64_t v = volume(d);
      if (d.nbDims < 0 || v < 0)
        return {Status::kERROR, where + "output '" + name + "' has no known shape (" + toString(d) + "): " +
                                    rtLogger.first("getTensorShape failed")};
      DataType ot = engine->getTensorDataType(name.c_str());
      keep.emplace_back(static_cast<size_t>(v) * dataTypeSize(ot));
      outBufs[name] = {keep.size() - 1, d};
      if (!bindAddress(name, keep.back(), false))
        return {Status::kERROR, where + "setTensorAddress('" + name + "'): " + rtLogger.first("refused")};
    }
    if (!ctx->execute()) return {Status::kERROR, where + "execute: " + rtLogger.first("execute failed")};
    if (onGpu)
      for (const auto& name : outNames) {
        size_t idx = outBufs[name].first;
        // device buffers were made in the same order as `keep` entries
        if (!kiln::memcpy(keep[idx].data(), dev[idx].data(), keep[idx].size))
          return {Status::kERROR, where + "copying output '" + name + "' from the device failed"};
      }
    for (const auto& name : outNames) {
      auto [idx, d] = outBufs[name];
      std::string why = compareOutput(name, *setOut[s].at(name), engine->getTensorDataType(name.c_str()), d,
                                      keep[idx].data(), &maxErr);
      if (!why.empty() && firstFail.empty()) firstFail = where + why;
    }
  }
  if (!firstFail.empty()) return {Status::kFAIL, firstFail};
  return {Status::kPASS, ""};
}

// ---------------------------------------------------------------------------------------------------------
// The parent: fork one child per case, at most `jobs` at a time.

struct Pending {
  size_t suite, index;
  int fd;
  std::string out;
  std::chrono::steady_clock::time_point start;
};

void childMain(const fs::path& dir, const Options& opt, int fd) {
  // A hang ends with SIGALRM (reported as a timeout); a crash with its signal.
  alarm(static_cast<unsigned>(opt.timeoutSec));
  ChildResult r{Status::kERROR, ""};
  try {
    r = runCase(dir, opt);
  } catch (const Error& e) {
    r = {Status::kERROR, std::string("exception: ") + e.what()};
  } catch (const std::bad_alloc&) {
    r = {Status::kERROR, "exception: out of memory"};
  } catch (const std::exception& e) {
    r = {Status::kERROR, std::string("exception: ") + e.what()};
  } catch (...) {
    r = {Status::kERROR, "unknown exception"};
  }
  std::string msg = std::to_string(static_cast<int>(r.status)) + "\n" + oneLine(r.reason, 2000);
  const char* p = msg.data();
  size_t left = msg.size();
  while (left) {
    ssize_t w = ::write(fd, p, left);
    if (w <= 0) break;
    p += w, left -= static_cast<size_t>(w);
  }
  ::close(fd);
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(0);
}

std::string signalReason(int status, int timeoutSec) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) return "timed out after " + std::to_string(timeoutSec) + " s";
    return std::string("crashed: signal ") + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "the case process exited with status " + std::to_string(WEXITSTATUS(status)) + " without a result";
  return "the case process ended abnormally";
}

void printCase(const std::string& suite, const CaseResult& c) {
  std::printf("[%s] %-60s %-12s %s\n", suite.c_str(), c.name.c_str(), statusName(c.status), c.reason.c_str());
  std::fflush(stdout);
}

void runAll(std::vector<SuiteResult>& suites, const Options& opt) {
  std::vector<std::pair<size_t, size_t>> todo;
  for (size_t s = 0; s < suites.size(); ++s)
    for (size_t i = 0; i < suites[s].cases.size(); ++i)
      if (suites[s].cases[i].status != Status::kOUT_OF_SCOPE) todo.emplace_back(s, i);
      else printCase(suites[s].name, suites[s].cases[i]);
  std::map<pid_t, Pending> running;
  size_t next = 0;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < std::max(1, opt.jobs)) {
      auto [s, i] = todo[next++];
      int fds[2];
      if (::pipe(fds) != 0) {
        suites[s].cases[i].reason = "pipe failed";
        printCase(suites[s].name, suites[s].cases[i]);
        continue;
      }
      std::fflush(stdout);
      std::fflush(stderr);
      pid_t pid = fork();
      if (pid == 0) {
        ::close(fds[0]);
        for (auto& [p, pend] : running) ::close(pend.fd);
        childMain(suites[s].cases[i].dir, opt, fds[1]);
      }
      ::close(fds[1]);
      if (pid < 0) {
        ::close(fds[0]);
        suites[s].cases[i].reason = "fork failed";
        printCase(suites[s].name, suites[s].cases[i]);
        continue;
      }
      running[pid] = Pending{s, i, fds[0], "", std::chrono::steady_clock::now()};
    }
    if (running.empty()) continue;
    // Drain the pipes while waiting so that no child blocks on a full pipe.
    std::vector<pollfd> pfds;
    std::vector<pid_t> order;
    for (auto& [pid, p] : running)
      if (p.fd >= 0) pfds.push_back({p.fd, POLLIN, 0}), order.push_back(pid);
    if (!pfds.empty()) ::poll(pfds.data(), pfds.size(), 100);
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Pending& p = running[order[k]];
      char buf[4096];
      ssize_t r = ::read(p.fd, buf, sizeof buf);
      if (r > 0) p.out.append(buf, static_cast<size_t>(r));
      else {
        ::close(p.fd);
        p.fd = -1;
      }
    }
    int status = 0;
    pid_t done;
    while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = running.find(done);
      if (it == running.end()) continue;
      Pending& p = it->second;
      if (p.fd >= 0) {
        char buf[4096];
        ssize_t r;
        while ((r = ::read(p.fd, buf, sizeof buf)) > 0) p.out.append(buf, static_cast<size_t>(r));
        ::close(p.fd);
      }
      CaseResult& c = suites[p.suite].cases[p.index];
      c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
      auto nl = p.out.find('\n');
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && nl != std::string::npos) {
        int st = std::atoi(p.out.substr(0, nl).c_str());
        c.status = (st >= 0 && st <= 3) ? static_cast<Status>(st) : Status::kERROR;
        c.reason = p.out.substr(nl + 1);
      } else {
        c.status = Status::kERROR;
        c.reason = signalReason(status, opt.timeoutSec);
      }
      printCase(suites[p.suite].name, c);
      running.erase(it);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reports

std::string machineDescription() {
  std::string cpu;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 1);
      cpu.erase(0, cpu.find_first_not_of(' '));
      break;
    }
  struct utsname u {};
  std::string os;
  if (uname(&u) == 0) os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return (cpu.empty() ? "unknown CPU" : cpu) + ", " + std::to_string(cores) + " logical cores, " + os;
}

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

double inScopePct(int pass, int fail, int err) {
  int n = pass + fail + err;
  return n ? 100.0 * pass / n : 0.0;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string mdEscape(std::string s, size_t maxLen = 300) {
  s = oneLine(s, maxLen);
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else o += c;
  }
  return o;
}

void writeMarkdown(const std::string& path, const std::vector<SuiteResult>& suites, const std::string& machine,
                   const std::string& date, const std::string& note) {
  std::ofstream o(path);
  if (!o) throw std::runtime_error("cannot write " + path);
  o << "# ONNX backend conformance\n\n";
  o << "Generated by `scripts/conformance.sh` (the `kiln_conformance` runner, tests/conformance/runner.cpp) with kiln "
    << versionString() << " on " << date << ".\n\n";
  o << "Machine: " << machine << ".\n\n";
  if (!note.empty()) o << note << "\n\n";
  o << "Each case is parsed with `kiln::onnx::Parser`, built (a profile with min = opt = max = the test data's "
       "shapes for dynamic inputs), serialized, loaded by a fresh `Runtime` and run on every `test_data_set_*`; "
       "outputs are compared with ONNX's tolerances (rtol 1e-3, atol 1e-7, NaN equals NaN; integers and bools "
       "exactly; shapes and types must match). *error* = the case could not be parsed, built or run; "
       "*out of scope* = string, sequence/optional, training, random-generator and ImageDecoder cases "
       "(issue 3's list).\n\n";
  o << "## Suites\n\n| suite | passed | failed | errors | out of scope | in-scope pass % |\n|---|---:|---:|---:|---:|---:|\n";
  int tp = 0, tf = 0, te = 0, to = 0;
  for (const auto& s : suites) {
    int p = s.count(Status::kPASS), f = s.count(Status::kFAIL), e = s.count(Status::kERROR),
        x = s.count(Status::kOUT_OF_SCOPE);
    tp += p, tf += f, te += e, to += x;
    o << "| " << s.name << " | " << p << " | " << f << " | " << e << " | " << x << " | " << pct(inScopePct(p, f, e))
      << " |\n";
  }
  o << "| **total** | " << tp << " | " << tf << " | " << te << " | " << to << " | " << pct(inScopePct(tp, tf, te))
    << " |\n\n";
  o << "Suite directories:\n\n";
  for (const auto& s : suites) o << "- " << s.name << ": `" << s.dir << "`\n";
  o << "\n## Per op\n\nAll suites together. A node-suite case counts for the op it tests; a model case counts for "
       "every op type in its graph.\n\n";
  o << "| op | passed | failed | errors | out of scope |\n|---|---:|---:|---:|---:|\n";
  std::map<std::string, std::array<int, 4>> perOp;
  for (const auto& s : suites)
    for (const auto& c : s.cases)
      for (const auto& op : c.ops) perOp[op][static_cast<int>(c.status)]++;
  for (const auto& [op, n] : perOp)
    o << "| " << mdEscape(op) << " | " << n[0] << " | " << n[1] << " | " << n[2] << " | " << n[3] << " |\n";
  o << "\n## Cases\n";
  for (const auto& s : suites) {
    o << "\n### " << s.name << "\n\n| case | status | reason |\n|---|---|---|\n";
    for (const auto& c : s.cases) o << "| " << c.name << " | " << statusName(c.status) << " | " << mdEscape(c.reason) << " |\n";
  }
}

std::string jsonStr(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"') o += "\\\"";
    else if (c == '\\') o += "\\\\";
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

void writeJson(const std::string& path, const std::vector<SuiteResult>& suites, const std::string& machine,
               const std::string& date) {
  std::ofstream o(path);
  if (!o) throw std::runtime_error("cannot write " + path);
  o << "{\n  \"kiln_version\": " << jsonStr(versionString()) << ",\n  \"machine\": " << jsonStr(machine)
    << ",\n  \"date\": " << jsonStr(date) << ",\n  \"suites\": [";
  for (size_t si = 0; si < suites.size(); ++si) {
    const auto& s = suites[si];
    o << (si ? "," : "") << "\n    {\"name\": " << jsonStr(s.name) << ", \"dir\": " << jsonStr(s.dir)
      << ", \"passed\": " << s.count(Status::kPASS) << ", \"failed\": " << s.count(Status::kFAIL)
      << ", \"errors\": " << s.count(Status::kERROR) << ", \"out_of_scope\": " << s.count(Status::kOUT_OF_SCOPE)
      << ",\n     \"cases\": [";
    for (size_t ci = 0; ci < s.cases.size(); ++ci) {
      const auto& c = s.cases[ci];
      o << (ci ? "," : "") << "\n       {\"name\": " << jsonStr(c.name) << ", \"status\": " << jsonStr(statusName(c.status))
        << ", \"reason\": " << jsonStr(c.reason) << ", \"ops\": [";
      for (size_t k = 0; k < c.ops.size(); ++k) o << (k ? ", " : "") << jsonStr(c.ops[k]);
      char b[32];
      std::snprintf(b, sizeof b, "%.3f", c.seconds);
      o << "], \"seconds\": " << b << "}";
    }
    o << "]}";
  }
  o << "\n  ]\n}\n";
}

//! Lines "NAME MIN_PASSED" ('#' comments). Returns false if a suite passes fewer cases than its minimum.
bool checkRatchet(const std::string& path, const std::vector<SuiteResult>& suites) {
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "ratchet: cannot read %s\n", path.c_str());
    return false;
  }
  bool ok = true;
  std::string line;
  int lineNo = 0;
  while (std::getline(f, line)) {
    ++lineNo;
    auto h = line.find('#');
    if (h != std::string::npos) line.resize(h);
    std::istringstream in(line);
    std::string name;
    long minPassed = 0;
    if (!(in >> name)) continue;
    if (!(in >> minPassed)) {
      std::fprintf(stderr, "ratchet: %s:%d: expected 'NAME MIN_PASSED'\n", path.c_str(), lineNo);
      ok = false;
      continue;
    }
    auto it = std::find_if(suites.begin(), suites.end(), [&](const SuiteResult& s) { return s.name == name; });
    if (it == suites.end()) {
      std::fprintf(stderr, "ratchet: suite '%s' was not run\n", name.c_str());
      ok = false;
      continue;
    }
    int p = it->count(Status::kPASS);
    if (p < minPassed) {
      std::fprintf(stderr, "ratchet: suite '%s' passed %d cases, below its minimum of %ld\n", name.c_str(), p, minPassed);
      ok = false;
    } else if (p > minPassed) {
      std::printf("ratchet: suite '%s' passed %d cases, above its minimum of %ld: raise it in %s\n", name.c_str(), p,
                  minPassed, path.c_str());
    } else {
      std::printf("ratchet: suite '%s' passed %d cases (minimum %ld)\n", name.c_str(), p, minPassed);
    }
  }
  return ok;
}

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "kiln_conformance: %s\n", msg);
  std::fprintf(stderr,
               "usage: kiln_conformance --suite NAME=DIR [--suite NAME=DIR ...] [--filter SUBSTR] [--markdown FILE]\n"
               "                        [--json FILE] [--ratchet FILE] [--verbose] [--jobs N] [--timeout SECONDS]\n"
               "                        [--budget ELEMENTS] [--note TEXT] [--device cpu|gpu]\n"
               "A bare DIR argument is a suite named after the directory.\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--suite") {
      std::string v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) usage("--suite takes NAME=DIR");
      opt.suites.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--filter") opt.filter = value();
    else if (a == "--markdown") opt.markdown = value();
    else if (a == "--json") opt.json = value();
    else if (a == "--note") opt.note = value();
    else if (a == "--ratchet") opt.ratchet = value();
    else if (a == "--verbose" || a == "-v") opt.verbose = true;
    else if (a == "--jobs" || a == "-j") opt.jobs = std::max(1, std::atoi(value().c_str()));
    else if (a == "--timeout") opt.timeoutSec = std::max(1, std::atoi(value().c_str()));
    else if (a == "--budget") opt.budget = std::max<long long>(1, std::atoll(value().c_str()));
    else if (a == "--device") {
      std::string d = value();
      if (d == "gpu") opt.device = DeviceType::kGPU;
      else if (d == "cpu") opt.device = DeviceType::kCPU;
      else usage("--device takes cpu or gpu");
    }
    else if (a == "--help" || a == "-h") usage(nullptr);
    else if (!a.empty() && a[0] != '-') opt.suites.emplace_back(fs::path(a).filename().string(), a);
    else usage(("unknown option " + a).c_str());
  }
  if (opt.suites.empty()) usage("no suite given");
  signal(SIGPIPE, SIG_IGN);

  std::vector<SuiteResult> suites;
  bool missing = false;
  for (const auto& [name, dir] : opt.suites) {
    SuiteResult s;
    s.name = name;
    s.dir = dir;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      std::fprintf(stderr, "kiln_conformance: suite '%s': '%s' is not a directory\n", name.c_str(), dir.c_str());
      missing = true;
      suites.push_back(std::move(s));
      continue;
    }
    std::vector<fs::path> caseDirs;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) caseDirs.push_back(e.path());
    std::sort(caseDirs.begin(), caseDirs.end());
    const bool nodeSuite = fs::path(dir).filename() == "node" || fs::path(dir).parent_path().filename() == "node" ||
                           name.find("node") != std::string::npos;
    std::map<std::string, std::vector<std::string>> topOps;  // case -> its top-level ops
    for (const auto& cd : caseDirs) {
      CaseResult c;
      c.name = cd.filename().string();
      c.dir = cd.string();
      if (!opt.filter.empty() && c.name.find(opt.filter) == std::string::npos) continue;
      try {
        onnx::Model m = onnx::loadModelFile((cd / "model.onnx").string());
        Analysis an = analyze(m, c.name);
        topOps[c.name] = an.topOps;
        if (!an.outOfScope.empty()) {
          c.status = Status::kOUT_OF_SCOPE;
          c.reason = an.outOfScope;
        }
      } catch (const std::exception& e) {
        c.reason = std::string("cannot read the model: ") + e.what();  // the child reports it again
      }
      s.cases.push_back(std::move(c));
    }
    for (auto& c : s.cases) {
      const auto& ops = topOps[c.name];
      if (!nodeSuite) {
        c.ops = ops;
        continue;
      }
      // An expanded (function body) case counts for the op of its base case.
      auto x = c.name.find("_expanded");
      if (x != std::string::npos && topOps.count(c.name.substr(0, x)) && !topOps[c.name.substr(0, x)].empty())
        c.ops = {testedOp(c.name.substr(0, x), topOps[c.name.substr(0, x)])};
      else
        c.ops = {testedOp(c.name, ops)};
    }
    suites.push_back(std::move(s));
  }

  runAll(suites, opt);

  std::printf("\n%-24s %7s %7s %7s %13s %10s\n", "suite", "passed", "failed", "errors", "out-of-scope", "in-scope%");
  for (const auto& s : suites) {
    int p = s.count(Status::kPASS), f = s.count(Status::kFAIL), e = s.count(Status::kERROR),
        x = s.count(Status::kOUT_OF_SCOPE);
    std::printf("%-24s %7d %7d %7d %13d %10s\n", s.name.c_str(), p, f, e, x, pct(inScopePct(p, f, e)).c_str());
  }
  const std::string machine = machineDescription(), date = utcNow();
  int rc = 0;
  try {
    if (!opt.markdown.empty()) writeMarkdown(opt.markdown, suites, machine, date, opt.note);
    if (!opt.json.empty()) writeJson(opt.json, suites, machine, date);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_conformance: %s\n", e.what());
    rc = 1;
  }
  if (missing) rc = 1;
  if (!opt.ratchet.empty() && !checkRatchet(opt.ratchet, suites)) rc = 1;
  return rc;
}
