#include <map>

#include "backends/gpu.h"
#include "core/cpu_features.h"
#include "plan/binary_io.h"
#include "plan/plan.h"

namespace kiln::plan {

namespace {

constexpr uint32_t tag(const char (&s)[5]) {
  return static_cast<uint32_t>(s[0]) | static_cast<uint32_t>(s[1]) << 8 | static_cast<uint32_t>(s[2]) << 16 |
         static_cast<uint32_t>(s[3]) << 24;
}

//! Collects constant data into the weights section, each tensor 64-byte aligned, deduplicated by blob.
class WeightsBuilder {
 public:
  uint64_t add(const ir::TensorData& t) {
    const void* p = t.raw();
    std::size_t n = t.byteSize();
    auto key = std::make_pair(p, n);
    auto it = offsets_.find(key);
    if (it != offsets_.end()) return it->second;
    w_.alignTo(64);
    uint64_t off = w_.size();
    if (n) w_.raw(p, n);
    offsets_[key] = off;
    return off;
  }
  Writer& writer() { return w_; }

 private:
  Writer w_;
  std::map<std::pair<const void*, std::size_t>, uint64_t> offsets_;
};

void writeShape(Writer& w, const ir::Shape& s) {
  w.u32(static_cast<uint32_t>(s.size()));
  for (int64_t d : s) w.i64(d);
}

void writeTensorRef(Writer& w, WeightsBuilder& wb, const ir::TensorData& t) {
  w.u32(static_cast<uint32_t>(t.dtype));
  writeShape(w, t.shape);
  w.u64(wb.add(t));
  w.u64(t.byteSize());
}

void writeGraph(Writer& w, WeightsBuilder& wb, const ir::Graph& g);

void writeAttr(Writer& w, WeightsBuilder& wb, const ir::Attr& a) {
  w.u8(static_cast<uint8_t>(a.kind));
  switch (a.kind) {
    case ir::Attr::Kind::kINT: w.i64(a.i); break;
    case ir::Attr::Kind::kFLOAT: w.f64(a.f); break;
    case ir::Attr::Kind::kSTRING: w.str(a.s); break;
    case ir::Attr::Kind::kINTS:
      w.u32(static_cast<uint32_t>(a.ints.size()));
      for (int64_t v : a.ints) w.i64(v);
      break;
    case ir::Attr::Kind::kFLOATS:
      w.u32(static_cast<uint32_t>(a.floats.size()));
      for (double v : a.floats) w.f64(v);
      break;
    case ir::Attr::Kind::kSTRINGS:
      w.u32(static_cast<uint32_t>(a.strings.size()));
      for (const auto& s : a.strings) w.str(s);
      break;
    case ir::Attr::Kind::kTENSOR: writeTensorRef(w, wb, *a.tensor); break;
    case ir::Attr::Kind::kGRAPH: writeGraph(w, wb, *a.graph); break;
  }
}

void writeGraph(Writer& w, WeightsBuilder& wb, const ir::Graph& g) {
  w.str(g.name);
  w.u32(static_cast<uint32_t>(g.values.size()));
  for (const auto& v : g.values) {
    w.str(v->name);
    w.u32(static_cast<uint32_t>(v->dtype));
    writeShape(w, v->shape);
    w.u8(v->isConstant() ? 1 : 0);
    if (v->isConstant()) writeTensorRef(w, wb, *v->constant);
  }
  w.u32(static_cast<uint32_t>(g.nodes.size()));
  for (const auto& n : g.nodes) {
    w.str(n->name);
    w.str(n->op);
    w.u32(static_cast<uint32_t>(n->inputs.size()));
    for (const ir::Value* v : n->inputs) w.i32(v ? v->id : -1);
    w.u32(static_cast<uint32_t>(n->outputs.size()));
    for (const ir::Value* v : n->outputs) w.i32(v->id);
    w.u32(static_cast<uint32_t>(n->attrs.all().size()));
    for (const auto& [name, a] : n->attrs.all()) {
      w.str(name);
      writeAttr(w, wb, a);
    }
    w.u32(static_cast<uint32_t>(n->origins.size()));
    for (const auto& o : n->origins) w.str(o);
  }
  w.u32(static_cast<uint32_t>(g.inputs.size()));
  for (const ir::Value* v : g.inputs) w.i32(v->id);
  w.u32(static_cast<uint32_t>(g.outputs.size()));
  for (const ir::Value* v : g.outputs) w.i32(v->id);
}

}  // namespace

Target currentTarget(uint64_t requiredCpuFeatures, DeviceType backend) {
  Target t;
  t.os = osName();
  t.arch = archName();
  t.requiredCpuFeatures = requiredCpuFeatures;
  t.cpuName = cpuName();
  if (backend == DeviceType::kGPU) {
    const gpu::DeviceInfo& d = gpu::deviceInfo();
    t.gpuName = d.name;
    t.gpuArch = d.arch;
    t.cudaRuntime = d.cudaRuntime;
    t.cudnn = d.cudnn;
    t.cublasLt = d.cublasLt;
  }
  return t;
}

std::vector<uint8_t> writePlan(const PlanContents& c) {
  Writer meta;
  meta.str(c.target.os);
  meta.str(c.target.arch);
  meta.u64(c.target.requiredCpuFeatures);
  meta.str(c.target.cpuName);
  meta.str(c.target.gpuName);
  meta.i32(c.target.gpuArch);
  meta.i32(c.target.cudaRuntime);
  meta.i32(c.target.cudnn);
  meta.i32(c.target.cublasLt);
  meta.u64(c.arenaBytes);
  meta.i32(c.nbThreads);

  WeightsBuilder wb;
  Writer graph;
  writeGraph(graph, wb, *c.graph);
  graph.u32(static_cast<uint32_t>(c.tactics.size()));
  for (const auto& t : c.tactics) graph.str(t);
  graph.u32(static_cast<uint32_t>(c.profiles.size()));
  for (const Profile& p : c.profiles) {
    graph.u32(static_cast<uint32_t>(p.dims.size()));
    for (const auto& [name, mmo] : p.dims) {
      graph.str(name);
      for (const auto& s : mmo) writeShape(graph, s);
    }
  }

  struct Section {
    uint32_t tag;
    std::vector<uint8_t>* bytes;
  };
  Section sections[] = {{tag("META"), &meta.bytes()}, {tag("GRPH"), &graph.bytes()}, {tag("WGHT"), &wb.writer().bytes()}};
  constexpr uint32_t nSections = 3;

  Writer out;
  out.raw(kMagic, 8);
  out.u32(kFormatVersion);
  out.u32(kHeaderSize);
  out.u64(0);  // total size, patched below
  out.u64(0);  // checksum, patched below
  out.u32(static_cast<uint32_t>(kVERSION_MAJOR));
  out.u32(static_cast<uint32_t>(kVERSION_MINOR));
  out.u32(static_cast<uint32_t>(kVERSION_PATCH));
  out.u32(static_cast<uint32_t>(c.backend));
  out.u32(nSections);
  out.u32(0);
  out.u32(0);
  out.u32(0);
  // section table: offsets are computed from sizes, sections start 64-byte aligned
  uint64_t off = kHeaderSize + nSections * 24;
  std::vector<uint64_t> offsets;
  for (const Section& s : sections) {
    off = (off + 63) / 64 * 64;
    offsets.push_back(off);
    off += s.bytes->size();
  }
  for (uint32_t i = 0; i < nSections; ++i) {
    out.u32(sections[i].tag);
    out.u32(0);
    out.u64(offsets[i]);
    out.u64(sections[i].bytes->size());
  }
  for (uint32_t i = 0; i < nSections; ++i) {
    out.alignTo(64);
    out.raw(sections[i].bytes->data(), sections[i].bytes->size());
  }
  std::vector<uint8_t>& bytes = out.bytes();
  uint64_t total = bytes.size();
  std::memcpy(bytes.data() + 16, &total, 8);
  uint64_t sum = planChecksum(bytes.data(), bytes.size());
  std::memcpy(bytes.data() + 24, &sum, 8);
  return std::move(bytes);
}

}  // namespace kiln::plan
