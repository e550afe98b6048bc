#include <cstring>
#include <set>

#include "backends/gpu.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "plan/binary_io.h"
#include "plan/plan.h"

namespace kiln::plan {

namespace {

constexpr uint32_t kMaxRank = 64;
constexpr int kMaxGraphDepth = 16;

[[noreturn]] void invalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_PLAN, msg); }

template <class T>
T peek(const uint8_t* p, std::size_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof(T));
  return v;
}

struct WeightsView {
  const uint8_t* data;
  std::size_t size;
  std::shared_ptr<const void> owner;
};

DataType readDtype(Reader& r) {
  uint32_t t = r.u32();
  auto dt = static_cast<DataType>(t);
  if (!isKnownType(dt)) r.fail("unknown data type " + std::to_string(t));
  return dt;
}

ir::Shape readShape(Reader& r, bool allowDynamic) {
  uint32_t rank = r.count(8, kMaxRank);
  ir::Shape s(rank);
  for (auto& d : s) {
    d = r.i64();
    if (d < (allowDynamic ? -1 : 0)) r.fail("invalid extent " + std::to_string(d));
  }
  try {
    ir::numElements(s);
  } catch (const Error&) {
    r.fail("shape " + ir::shapeToString(s) + " overflows");
  }
  return s;
}

std::shared_ptr<const ir::TensorData> readTensorRef(Reader& r, const WeightsView& w) {
  auto t = std::make_shared<ir::TensorData>();
  t->dtype = readDtype(r);
  t->shape = readShape(r, false);
  uint64_t off = r.u64();
  uint64_t bytes = r.u64();
  uint64_t need = static_cast<uint64_t>(ir::numElements(t->shape));
  if (need > UINT64_MAX / 8 || need * dataTypeSize(t->dtype) != bytes)
    r.fail("constant of shape " + ir::shapeToString(t->shape) + " claims " + std::to_string(bytes) + " bytes");
  if (off % 64 != 0) r.fail("misaligned constant offset " + std::to_string(off));
  if (off > w.size || bytes > w.size - off)
    r.fail("constant [" + std::to_string(off) + ", +" + std::to_string(bytes) + ") lies outside the weights section (" +
           std::to_string(w.size) + " bytes)");
  t->blob = ir::Blob::view(w.data + off, bytes, w.owner);
  return t;
}

std::unique_ptr<ir::Graph> readGraph(Reader& r, const WeightsView& w, int depth);

ir::Attr readAttr(Reader& r, const WeightsView& w, int depth) {
  ir::Attr a;
  uint8_t kind = r.u8();
  if (kind > static_cast<uint8_t>(ir::Attr::Kind::kGRAPH)) r.fail("unknown attribute kind " + std::to_string(kind));
  a.kind = static_cast<ir::Attr::Kind>(kind);
  switch (a.kind) {
    case ir::Attr::Kind::kINT: a.i = r.i64(); break;
    case ir::Attr::Kind::kFLOAT: a.f = r.f64(); break;
    case ir::Attr::Kind::kSTRING: a.s = r.str(); break;
    case ir::Attr::Kind::kINTS: {
      uint32_t n = r.count(8);
      a.ints.resize(n);
      for (auto& v : a.ints) v = r.i64();
      break;
    }
    case ir::Attr::Kind::kFLOATS: {
      uint32_t n = r.count(8);
      a.floats.resize(n);
      for (auto& v : a.floats) v = r.f64();
      break;
    }
    case ir::Attr::Kind::kSTRINGS: {
      uint32_t n = r.count(4);
      a.strings.resize(n);
      for (auto& v : a.strings) v = r.str();
      break;
    }
    case ir::Attr::Kind::kTENSOR: a.tensor = readTensorRef(r, w); break;
    case ir::Attr::Kind::kGRAPH: a.graph = readGraph(r, w, depth + 1); break;
  }
  return a;
}

std::unique_ptr<ir::Graph> readGraph(Reader& r, const WeightsView& w, int depth) {
  if (depth > kMaxGraphDepth) r.fail("subgraphs nested deeper than " + std::to_string(kMaxGraphDepth));
  auto g = std::make_unique<ir::Graph>();
  g->name = r.str();
  uint32_t nValues = r.count(4 + 4 + 4 + 1);
  for (uint32_t i = 0; i < nValues; ++i) {
    std::string name = r.str();
    DataType dt = readDtype(r);
    ir::Shape shape = readShape(r, true);
    ir::Value* v = g->addValue(name, dt, shape);
    uint8_t isConst = r.u8();
    if (isConst > 1) r.fail("bad constant flag");
    if (isConst) {
      v->constant = readTensorRef(r, w);
      if (v->constant->dtype != dt || v->constant->shape != shape) r.fail("constant '" + name + "' disagrees with its value");
    }
  }
  auto valueAt = [&](int32_t id, bool allowNone) -> ir::Value* {
    if (id == -1 && allowNone) return nullptr;
    if (id < 0 || static_cast<uint32_t>(id) >= nValues) r.fail("value index " + std::to_string(id) + " out of range");
    return g->values[static_cast<size_t>(id)].get();
  };
  uint32_t nNodes = r.count(4 + 4 + 4 + 4 + 4 + 4);
  for (uint32_t i = 0; i < nNodes; ++i) {
    std::string name = r.str();
    std::string op = r.str(256);
    uint32_t nIn = r.count(4);
    std::vector<ir::Value*> ins;
    for (uint32_t k = 0; k < nIn; ++k) ins.push_back(valueAt(r.i32(), true));
    uint32_t nOut = r.count(4);
    std::vector<ir::Value*> outs;
    for (uint32_t k = 0; k < nOut; ++k) {
      ir::Value* v = valueAt(r.i32(), false);
      if (v->producer || v->isConstant()) r.fail("value '" + v->name + "' is produced twice");
      for (ir::Value* o : outs)
        if (o == v) r.fail("node '" + name + "' lists an output twice");
      outs.push_back(v);
    }
    ir::Node* n = g->addNodeWithOutputs(op, name, ins, outs);
    uint32_t nAttrs = r.count(4 + 1);
    for (uint32_t k = 0; k < nAttrs; ++k) {
      std::string an = r.str(1024);
      n->attrs.set(an, readAttr(r, w, depth));
    }
    uint32_t nOrig = r.count(4);
    for (uint32_t k = 0; k < nOrig; ++k) n->origins.push_back(r.str());
  }
  std::set<ir::Value*> seen;
  uint32_t nIn = r.count(4);
  for (uint32_t k = 0; k < nIn; ++k) {
    ir::Value* v = valueAt(r.i32(), false);
    if (v->producer || v->isConstant() || !seen.insert(v).second) r.fail("bad graph input '" + v->name + "'");
    g->inputs.push_back(v);
  }
  uint32_t nOut = r.count(4);
  for (uint32_t k = 0; k < nOut; ++k) g->outputs.push_back(valueAt(r.i32(), false));
  try {
    g->verify();
  } catch (const Error& e) {
    r.fail(std::string("inconsistent graph: ") + e.message());
  }
  return g;
}

std::string versionText(uint32_t a, uint32_t b, uint32_t c) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
}

std::string versionOf(int32_t v, int32_t majorDiv, int32_t minorDiv) {
  return std::to_string(v / majorDiv) + "." + std::to_string((v % majorDiv) / minorDiv);
}

//! A GPU plan runs only on the GPU architecture it was built for, with the same major versions of the
//! CUDA runtime, cuDNN and cuBLASLt (their kernels and algorithm numbers differ between majors).
void checkGpuTarget(const Target& t) {
  const gpu::DeviceInfo& d = gpu::deviceInfo();
  auto sm = [](int32_t a) { return "sm_" + std::to_string(a); };
  if (t.gpuArch != d.arch)
    invalid("plan built for " + t.gpuName + " (" + sm(t.gpuArch) + "), this GPU is " + d.name + " (" + sm(d.arch) +
            "); rebuild the plan on this GPU");
  if (t.cudaRuntime / 1000 != d.cudaRuntime / 1000)
    invalid("plan built with CUDA " + versionOf(t.cudaRuntime, 1000, 10) + ", this kiln runs CUDA " +
            versionOf(d.cudaRuntime, 1000, 10) + "; rebuild the plan");
  if (t.cudnn / 10000 != d.cudnn / 10000)
    invalid("plan built with cuDNN " + versionOf(t.cudnn, 10000, 100) + ", this machine has cuDNN " +
            versionOf(d.cudnn, 10000, 100) + "; rebuild the plan");
  if (t.cublasLt / 10000 != d.cublasLt / 10000)
    invalid("plan built with cuBLASLt " + versionOf(t.cublasLt, 10000, 100) + ", this machine has cuBLASLt " +
            versionOf(d.cublasLt, 10000, 100) + "; rebuild the plan");
}

const char* backendName(uint32_t b) {
  switch (b) {
    case 0: return "CPU";
    case 1: return "GPU";
  }
  return "unknown";
}

}  // namespace

PlanContents readPlan(const void* data, std::size_t size, std::shared_ptr<const void> owner,
                      const std::vector<uint64_t>* segmentHashes) {
  if (!data && size) invalid("null plan pointer");
  const auto* p = static_cast<const uint8_t*>(data);
  if (size < 8 || std::memcmp(p, kMagic, 8) != 0) {
    if (size < 8 && size > 0 && std::memcmp(p, kMagic, size) == 0)
      invalid("truncated plan: " + std::to_string(size) + " bytes, not even a header");
    invalid("not a kiln plan (the file does not start with \"KILNPLAN\")");
  }
  if (size < kHeaderSize)
    invalid("truncated plan: " + std::to_string(size) + " bytes, the header alone is " + std::to_string(kHeaderSize));
  uint32_t fmt = peek<uint32_t>(p, 8);
  if (fmt != kFormatVersion)
    invalid("plan format version " + std::to_string(fmt) + ", this kiln " + versionString() + " reads version " +
            std::to_string(kFormatVersion) + " (rebuild the plan with this kiln)");
  uint32_t headerSize = peek<uint32_t>(p, 12);
  uint64_t total = peek<uint64_t>(p, 16);
  if (headerSize != kHeaderSize) invalid("damaged plan: header size field is " + std::to_string(headerSize));
  if (total > size)
    invalid("truncated plan: " + std::to_string(size) + " bytes, the header says " + std::to_string(total));
  if (total < size)
    invalid("damaged plan: " + std::to_string(size - total) + " trailing bytes after the " + std::to_string(total) +
            " bytes the header announces");
  uint64_t stored = peek<uint64_t>(p, 24);
  uint64_t sum = planChecksum(p, size, segmentHashes);
  if (stored != sum) invalid("damaged plan: checksum mismatch (the file was modified or corrupted)");
  uint32_t ma = peek<uint32_t>(p, 32), mi = peek<uint32_t>(p, 36), pa = peek<uint32_t>(p, 40);
  if (ma != static_cast<uint32_t>(kVERSION_MAJOR) || mi != static_cast<uint32_t>(kVERSION_MINOR) ||
      pa != static_cast<uint32_t>(kVERSION_PATCH))
    invalid("plan built by kiln " + versionText(ma, mi, pa) + ", this is kiln " + versionString() +
            " (rebuild the plan with this kiln)");
  uint32_t backend = peek<uint32_t>(p, 44);
  if (backend == static_cast<uint32_t>(DeviceType::kGPU)) {
    std::string why;
    if (!gpu::available(&why)) invalid("plan is for the GPU backend, which is not usable here: " + why);
  } else if (backend != static_cast<uint32_t>(DeviceType::kCPU)) {
    invalid(std::string("plan is for the ") + backendName(backend) + " backend, which this kiln build does not have");
  }
  uint32_t nSections = peek<uint32_t>(p, 48);
  if (nSections > 64 || kHeaderSize + static_cast<uint64_t>(nSections) * 24 > size)
    invalid("damaged plan: bad section count " + std::to_string(nSections));

  const uint8_t* meta = nullptr;
  const uint8_t* graph = nullptr;
  const uint8_t* weights = nullptr;
  std::size_t metaSize = 0, graphSize = 0, weightsSize = 0;
  for (uint32_t i = 0; i < nSections; ++i) {
    std::size_t at = kHeaderSize + i * 24;
    uint32_t tag = peek<uint32_t>(p, at);
    uint64_t off = peek<uint64_t>(p, at + 8);
    uint64_t len = peek<uint64_t>(p, at + 16);
    if (off > size || len > size - off || off % 64 != 0) invalid("damaged plan: section " + std::to_string(i) + " out of bounds");
    char name[5] = {static_cast<char>(tag), static_cast<char>(tag >> 8), static_cast<char>(tag >> 16),
                    static_cast<char>(tag >> 24), 0};
    std::string n = name;
    if (n == "META") meta = p + off, metaSize = len;
    else if (n == "GRPH") graph = p + off, graphSize = len;
    else if (n == "WGHT") weights = p + off, weightsSize = len;
  }
  if (!meta || !graph || !weights) invalid("damaged plan: a required section is missing");

  PlanContents c;
  c.backend = static_cast<DeviceType>(backend);
  Reader mr(meta, metaSize, "plan META section");
  c.target.os = mr.str(256);
  c.target.arch = mr.str(256);
  c.target.requiredCpuFeatures = mr.u64();
  c.target.cpuName = mr.str(256);
  c.target.gpuName = mr.str(256);
  c.target.gpuArch = mr.i32();
  c.target.cudaRuntime = mr.i32();
  c.target.cudnn = mr.i32();
  c.target.cublasLt = mr.i32();
  c.arenaBytes = mr.u64();
  c.nbThreads = mr.i32();
  if (c.target.os != osName() || c.target.arch != archName())
    invalid("plan built for " + c.target.os + "-" + c.target.arch + ", this machine is " + osName() + "-" + archName());
  uint64_t missing = c.target.requiredCpuFeatures & ~cpuFeatures();
  if (missing)
    invalid("plan needs CPU features [" + cpuFeatureNames(missing) + "] that this CPU (" + cpuName() +
            ") lacks; it was built on " + c.target.cpuName + " (rebuild the plan on this machine)");

  if (c.backend == DeviceType::kGPU) checkGpuTarget(c.target);

  WeightsView wv{weights, weightsSize, owner};
  Reader gr(graph, graphSize, "plan GRPH section");
  c.graph = readGraph(gr, wv, 0);
  uint32_t nTactics = gr.count(4);
  if (nTactics != c.graph->nodes.size()) gr.fail("tactic count differs from the node count");
  for (uint32_t i = 0; i < nTactics; ++i) c.tactics.push_back(gr.str(256));
  uint32_t nProfiles = gr.count(4, 1024);
  for (uint32_t i = 0; i < nProfiles; ++i) {
    Profile prof;
    uint32_t n = gr.count(4 + 12);
    for (uint32_t k = 0; k < n; ++k) {
      std::string name = gr.str();
      std::array<ir::Shape, 3> mmo;
      for (auto& s : mmo) s = readShape(gr, false);
      if (mmo[0].size() != mmo[1].size() || mmo[1].size() != mmo[2].size()) gr.fail("profile ranks differ for '" + name + "'");
      prof.dims[name] = std::move(mmo);
    }
    c.profiles.push_back(std::move(prof));
  }
  if (gr.remaining() != 0) gr.fail("unexpected trailing bytes");
  return c;
}

}  // namespace kiln::plan
