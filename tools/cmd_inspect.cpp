// `kiln inspect model.plan [--json]`: describes a plan.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli_common.h"
#include "ir/shape_utils.h"
#include "run_common.h"
#include "runtime/engine_impl.h"

namespace kiln::cli {

namespace {

const char* kInspectHelp =
    "usage: kiln inspect <model.plan> [--json | --dot] [--verbose]\n"
    "\n"
    "Loads a plan and prints its inputs and outputs (name, type, shape; min/opt/max of every optimization\n"
    "profile for dynamic inputs), the target, and every layer: operator, precision, tactic, input and\n"
    "output tensors with their shapes (at the opt shapes of the first profile), and the ONNX nodes it was\n"
    "made from after fusion; then the memory plan: each activation's offset and size in the arena.\n"
    "\n"
    "options:\n"
    "  --json       print one JSON object instead of text (keys: plan, planBytes, device, profiles, layers,\n"
    "               deviceMemorySize, inputs, outputs, engine, layer_info, memory_plan)\n"
    "  --dot        print the layer graph in Graphviz format (render: kiln inspect m.plan --dot | dot -Tsvg)\n"
    "  --verbose    print every message of the runtime\n"
    "  -h, --help   show this help\n"
    "\n"
    "examples:\n"
    "  kiln inspect resnet50.plan\n"
    "  kiln inspect resnet50.plan --json > resnet50.json\n"
    "  kiln inspect resnet50.plan --dot > resnet50.dot && dot -Tpng resnet50.dot -o resnet50.png\n";

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

// ---- Layers and memory plan, from the plan's graph (at the opt shapes of the first profile) ----

struct TensorRef {
  std::string name;
  DataType dtype{DataType::kFLOAT};
  ir::Shape shape;
  bool constant{false};
};

struct LayerInfo : LayerIdentity {
  std::string precision;
  std::vector<TensorRef> inputs, outputs;
  bool skipped{false};  //!< a zero-copy reshape: no kernel runs
};

struct MemoryEntry {
  std::string name;
  std::size_t offset{0}, bytes{0};
  int32_t first{0}, last{0};
};

struct PlanDescription {
  std::vector<LayerInfo> layers;
  std::vector<MemoryEntry> memory;
  std::size_t arenaBytes{0}, workspaceBytes{0};
  std::string shapes;       //!< which shapes the description uses
  std::string memoryError;  //!< why there is no memory plan (empty if there is one)
};

std::string shapeText(const ir::Shape& s) {
  if (s.empty()) return "scalar";
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return t;
}

std::string shapeJson(const ir::Shape& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

PlanDescription describePlan(const Engine& engine) {
  const detail::EngineImpl& e = engine.impl();
  const ir::Graph& g = *e.plan.graph;
  PlanDescription d;
  detail::ContextState st(engine.sharedImpl());
  st.planOnly = true;  // offsets and sizes only: nothing is allocated
  d.shapes = e.plan.profiles.empty() ? "the plan's static shapes" : "the opt shapes of profile 0";
  for (std::size_t i = 0; i < e.io.size(); ++i) {
    if (e.io[i].mode != TensorIOMode::kINPUT || st.inputShapeSet[i] || e.plan.profiles.empty()) continue;
    auto it = e.plan.profiles[0].dims.find(e.io[i].name);
    if (it == e.plan.profiles[0].dims.end()) continue;
    st.ioShapes[i] = it->second[1];
    st.inputShapeSet[i] = true;
  }
  bool prepared = false;
  try {
    st.prepare(/*allowUnknown=*/true);
    prepared = true;
  } catch (const std::exception& ex) {
    d.memoryError = ex.what();
  }
  auto ref = [&](const ir::Value* v) {
    TensorRef r;
    if (!v) return r;
    r.name = v->name;
    r.constant = v->isConstant();
    r.dtype = v->dtype;
    r.shape = v->shape;
    if (prepared && static_cast<std::size_t>(v->id) < st.infos.size() && ir::numElements(st.infos[static_cast<std::size_t>(v->id)].shape) >= 0) {
      r.shape = st.infos[static_cast<std::size_t>(v->id)].shape;
      r.dtype = st.infos[static_cast<std::size_t>(v->id)].dtype;
    }
    return r;
  };
  for (std::size_t s = 0; s < g.nodes.size(); ++s) {
    const ir::Node& n = *g.nodes[s];
    LayerInfo L;
    static_cast<LayerIdentity&>(L) = layerIdentity(n, s, e.plan.tactics);
    L.skipped = s < e.skipNode.size() && e.skipNode[s];
    for (const ir::Value* v : n.inputs) L.inputs.push_back(ref(v));
    for (const ir::Value* v : n.outputs) L.outputs.push_back(ref(v));
    for (const auto& o : L.outputs)
      if (L.precision.empty() && (o.dtype == DataType::kFLOAT || o.dtype == DataType::kHALF ||
                                  o.dtype == DataType::kBF16 || o.dtype == DataType::kDOUBLE))
        L.precision = dataTypeName(o.dtype);
    if (L.precision.empty() && !L.outputs.empty()) L.precision = dataTypeName(L.outputs[0].dtype);
    d.layers.push_back(std::move(L));
  }
  if (prepared) {
    d.arenaBytes = st.arenaBytes;
    d.workspaceBytes = st.workspaceBytes;
    for (const auto& v : g.values) {
      std::size_t id = static_cast<std::size_t>(v->id);
      if (id >= st.arenaOffset.size() || st.arenaOffset[id] == SIZE_MAX) continue;
      MemoryEntry m;
      m.name = v->name;
      m.offset = st.arenaOffset[id];
      m.bytes = static_cast<std::size_t>(ir::numElements(st.infos[id].shape)) * dataTypeSize(st.infos[id].dtype);
      m.first = v->producer ? v->producer->id : 0;
      m.last = std::max(m.first, e.lastUse[id]);
      d.memory.push_back(std::move(m));
    }
    std::sort(d.memory.begin(), d.memory.end(), [](const MemoryEntry& a, const MemoryEntry& b) {
      return a.offset != b.offset ? a.offset < b.offset : a.first < b.first;
    });
  }
  return d;
}

std::string tensorsText(const std::vector<TensorRef>& ts) {
  std::string s;
  for (const auto& t : ts) {
    if (!s.empty()) s += ", ";
    if (t.name.empty()) {
      s += "-";
      continue;
    }
    s += t.name + " " + dataTypeName(t.dtype) + " " + shapeText(t.shape) + (t.constant ? " (const)" : "");
  }
  return s.empty() ? "-" : s;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void printLayersText(const PlanDescription& d) {
  std::printf("layers (%zu; shapes at %s):\n", d.layers.size(), d.shapes.c_str());
  for (const auto& L : d.layers) {
    std::printf("  [%d] %s  %s  %s  tactic %s%s\n", L.index, L.name.c_str(), L.op.c_str(), L.precision.c_str(),
                L.tactic.c_str(), L.skipped ? "  (zero-copy, no kernel)" : "");
    std::printf("      in:   %s\n", tensorsText(L.inputs).c_str());
    std::printf("      out:  %s\n", tensorsText(L.outputs).c_str());
    std::printf("      onnx: %s\n", L.origins.empty() ? "-" : joined(L.origins).c_str());
  }
  if (!d.memoryError.empty()) {
    std::printf("memory plan: not available at %s (%s)\n", d.shapes.c_str(), d.memoryError.c_str());
    return;
  }
  std::printf("memory plan (at %s): arena %zu bytes, workspace %zu bytes, %zu tensors in the arena\n", d.shapes.c_str(),
              d.arenaBytes, d.workspaceBytes, d.memory.size());
  std::printf("  %12s  %12s  %-9s  %s\n", "offset", "bytes", "layers", "tensor");
  for (const auto& m : d.memory) {
    std::string span = std::to_string(m.first) + ".." + std::to_string(m.last);
    std::printf("  %12zu  %12zu  %-9s  %s\n", m.offset, m.bytes, span.c_str(), m.name.c_str());
  }
}

std::string tensorsJson(const std::vector<TensorRef>& ts) {
  std::string s = "[";
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (i) s += ", ";
    if (ts[i].name.empty()) {
      s += "null";
      continue;
    }
    s += "{\"name\": " + jsonString(ts[i].name) + ", \"dtype\": " + jsonString(dataTypeName(ts[i].dtype)) +
         ", \"shape\": " + shapeJson(ts[i].shape) + ", \"constant\": " + (ts[i].constant ? "true" : "false") + "}";
  }
  return s + "]";
}

std::string layersJson(const PlanDescription& d) {
  std::string j = "  \"layer_info\": [";
  for (std::size_t i = 0; i < d.layers.size(); ++i) {
    const auto& L = d.layers[i];
    j += i ? ",\n    " : "\n    ";
    j += "{\"index\": " + std::to_string(L.index) + ", \"name\": " + jsonString(L.name) + ", \"op\": " +
         jsonString(L.op) + ", \"precision\": " + jsonString(L.precision) + ", \"tactic\": " + jsonString(L.tactic) +
         ", \"kernel\": " + (L.skipped ? "false" : "true") + ", \"inputs\": " + tensorsJson(L.inputs) +
         ", \"outputs\": " + tensorsJson(L.outputs) + ", \"onnx_nodes\": [";
    for (std::size_t k = 0; k < L.origins.size(); ++k) j += (k ? ", " : "") + jsonString(L.origins[k]);
    j += "]}";
  }
  j += d.layers.empty() ? "],\n" : "\n  ],\n";
  j += "  \"memory_plan\": {\"shapes\": " + jsonString(d.shapes);
  if (!d.memoryError.empty()) return j + ", \"error\": " + jsonString(d.memoryError) + ", \"tensors\": []},\n";
  j += ", \"arena_bytes\": " + std::to_string(d.arenaBytes) + ", \"workspace_bytes\": " + std::to_string(d.workspaceBytes) +
       ", \"tensors\": [";
  for (std::size_t i = 0; i < d.memory.size(); ++i) {
    const auto& m = d.memory[i];
    j += i ? ",\n    " : "\n    ";
    j += "{\"name\": " + jsonString(m.name) + ", \"offset\": " + std::to_string(m.offset) + ", \"bytes\": " +
         std::to_string(m.bytes) + ", \"first_layer\": " + std::to_string(m.first) + ", \"last_layer\": " +
         std::to_string(m.last) + "}";
  }
  j += d.memory.empty() ? "]},\n" : "\n  ]},\n";
  return j;
}

std::string dotEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

void printDot(const Engine& engine, const PlanDescription& d) {
  const ir::Graph& g = *engine.impl().plan.graph;
  std::string s = "digraph plan {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  std::map<std::string, std::string> typeOf;  // tensor name -> "float32 1x3x224x224"
  for (const auto& L : d.layers)
    for (const auto& t : L.outputs) typeOf[t.name] = std::string(dataTypeName(t.dtype)) + " " + shapeText(t.shape);
  for (const ir::Value* v : g.inputs) {
    s += "  \"in:" + dotEscape(v->name) + "\" [shape=ellipse, style=filled, fillcolor=\"#dbe9ff\", label=\"" +
         dotEscape(v->name + "\n" + dataTypeName(v->dtype) + " " + shapeText(v->shape)) + "\"];\n";
    typeOf[v->name] = std::string(dataTypeName(v->dtype)) + " " + shapeText(v->shape);
  }
  for (const auto& L : d.layers) {
    std::string label = "[" + std::to_string(L.index) + "] " + L.name + "\n" + L.op + " (" + L.precision + ")\ntactic " + L.tactic;
    if (!L.origins.empty() && !(L.origins.size() == 1 && L.origins[0] == L.name)) label += "\nonnx: " + joined(L.origins);
    s += "  L" + std::to_string(L.index) + " [label=\"" + dotEscape(label) + "\"" +
         (L.skipped ? ", style=dashed" : "") + "];\n";
  }
  for (const auto& n : g.nodes) {
    for (const ir::Value* v : n->inputs) {
      if (!v || v->isConstant()) continue;
      std::string from = v->producer ? "L" + std::to_string(v->producer->id) : "\"in:" + dotEscape(v->name) + "\"";
      s += "  " + from + " -> L" + std::to_string(n->id) + " [label=\"" + dotEscape(v->name + "\n" + typeOf[v->name]) + "\"];\n";
    }
  }
  for (const ir::Value* v : g.outputs) {
    s += "  \"out:" + dotEscape(v->name) + "\" [shape=ellipse, style=filled, fillcolor=\"#dfffdb\", label=\"" +
         dotEscape(v->name + "\n" + typeOf[v->name]) + "\"];\n";
    if (v->producer) s += "  L" + std::to_string(v->producer->id) + " -> \"out:" + dotEscape(v->name) + "\";\n";
  }
  s += "}\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
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
  // The inspector's target and sizes lines; the layers come from describePlan (more detail).
  std::string info = engineInformation(engine, LayerInformationFormat::kONELINE);
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t nl = info.find('\n', pos);
    std::string line = info.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind("layers:", 0) == 0) break;
    std::printf("%s\n", line.c_str());
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  printLayersText(describePlan(engine));
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
  j += layersJson(describePlan(engine));
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
  p.flag("json").flag("dot").flag("verbose");
  if (parseArgsOrHelp(p, args, kInspectHelp)) return kExitOk;
  const std::string path = planPathArgument(p, args.command);

  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  const LoadedPlan plan = loadPlan(logger, path);
  const std::unique_ptr<Engine>& engine = plan.engine;

  struct stat st{};
  long long fileSize = ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  std::vector<TensorInfo> tensors = describeTensors(*engine);
  if (p.has("json") && p.has("dot")) throw UsageError("--json and --dot exclude each other");
  if (p.has("dot")) {
    printDot(*engine, describePlan(*engine));
  } else if (p.has("json")) {
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
