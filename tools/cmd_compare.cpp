// `kiln compare model.onnx [model.plan]`: runs a plan with every intermediate tensor kept and the ONNX
// model through kiln's reference kernels (unoptimized: no passes, one reference kernel per node) on the
// same inputs, and reports per layer how far the plan's tensors are from the reference. The reference
// computes in float64 by default (backends/cpu/reference_run.h, passes/raise_to_double.h): ops without a
// float64 reference kernel run in their own type, cast around, and are listed as reduced precision.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/cpu/evaluate.h"
#include "backends/cpu/reference_run.h"
#include "core/dtype.h"
#include "backends/gpu.h"
#include "cli_common.h"
#include "ir/op_registry.h"
#include "kiln/onnx_parser.h"
#include "network/network_impl.h"
#include "onnx_subgraph.h"
#include "run_common.h"
#include "runtime/engine_impl.h"

namespace kiln::cli {

namespace {

const std::string kCompareHelp = std::string(
    "usage: kiln compare <model.onnx> [model.plan] [options]\n"
    "\n"
    "Finds where a plan's results part from the model's. Runs the plan (given, or built from the model\n"
    "with the default options) keeping every tensor it computes, and runs the ONNX model through kiln's\n"
    "reference kernels, node by node without any graph optimization, on the same inputs (in float64 by\n"
    "default: see --ref-precision). Then, for every\n"
    "layer of the plan in execution order, compares each output tensor with the reference tensor of the\n"
    "same name (a tensor renamed by fusion or layout changes: the same output of the latest ONNX node the\n"
    "layer was made from; channels-last tensors are compared in the model's layout): max abs error, max rel\n"
    "error, rel L2 error (||plan - ref|| / ||ref||), and whether every\n"
    "element satisfies |plan - ref| <= atol + rtol * |ref|. Reports the first layer out of tolerance with\n"
    "the ONNX node(s) it was made from (a fused layer lists all of them). Tensors that fusion removed\n"
    "have no counterpart in the plan and are not compared.\n"
    "Exit status: 0 if every compared tensor is within tolerance, 1 if one is not (or on failure).\n"
    "\n"
    "options:\n") + kInputOptionsHelp +
    "  --atol A                  absolute tolerance (default 1e-4)\n"
    "  --rtol R                  relative tolerance (default 1e-3)\n"
    "  --device cpu|gpu          backend of the plan built when none is given (default as 'kiln build')\n"
    "  --ref-precision fp64|fp32 what the reference computes in (default fp64): fp64 turns every float32,\n"
    "                            float16 and bfloat16 tensor of the model into float64 (weights converted\n"
    "                            exactly, inputs cast from the fed data); an op whose reference kernel has\n"
    "                            no float64 version runs in its own type, cast around, and is listed as\n"
    "                            reduced precision. fp32: the model's own types\n"
    "  --all                     print every compared tensor (default: a line per layer)\n"
    "  --reduce OUT.onnx         write the ONNX node(s) of the first failing layer as a model of their own,\n"
    "                            its inputs' reference data in OUT_data/input_<i>.pb and the reference\n"
    "                            outputs in OUT_data/output_<i>.pb (replay: kiln build OUT.onnx, kiln run\n"
    "                            with --input NAME=OUT_data/input_0.pb)\n"
    "  --json FILE               write the per-layer results as JSON to FILE ('-': stdout)\n"
    "  --verbose                 print every message of the builder and runtime\n"
    "  -h, --help                show this help\n"
    "\n"
    "examples:\n"
    "  kiln compare model.onnx                       # builds a plan with the default options\n"
    "  kiln compare model.onnx model_fp16.plan --rtol 1e-2 --atol 1e-2\n"
    "  kiln compare model.onnx model.plan --input x=test_data_set_0/input_0.pb --json compare.json\n"
    "  kiln compare model.onnx model.plan --reduce failing.onnx\n"
    "  kiln compare model.onnx model.plan --ref-precision fp32   # the reference in the model's types\n";

//! One compared tensor.
struct TensorResult {
  std::string name;
  std::string shape;
  bool compared{false};
  std::string note;  //!< why not compared, or a shape mismatch
  double maxAbs{0}, maxRel{0}, relL2{0};
  int64_t bad{0}, count{0};
  bool ok{true};
};

struct LayerResult : LayerIdentity {
  std::vector<TensorResult> tensors;
  bool ok{true};
  bool compared{false};
};

TensorResult compareTensor(const std::string& name, const std::vector<uint8_t>& got, DataType gotType,
                           const ir::TensorData& ref, const ir::Shape& shape, double atol, double rtol) {
  TensorResult r;
  r.name = name;
  r.shape = dimsToString(ir::dimsFromShape(shape));
  const std::size_t n = dataTypeSize(gotType) ? got.size() / dataTypeSize(gotType) : 0;
  if (ref.shape != shape || static_cast<int64_t>(n) != ref.numel()) {
    r.note = "shape differs: plan " + r.shape + ", reference " + dimsToString(ir::dimsFromShape(ref.shape));
    r.ok = false;
    r.compared = true;
    return r;
  }
  const auto* refBytes = static_cast<const uint8_t*>(ref.raw());
  double diff2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double a = elementAt(got.data(), gotType, i);
    double b = elementAt(refBytes, ref.dtype, i);
    double d = std::fabs(a - b);
    bool nanA = std::isnan(a), nanB = std::isnan(b);
    bool same = (nanA && nanB) || (std::isinf(a) && std::isinf(b) && (a > 0) == (b > 0));
    if (!same) {
      if (nanA || nanB || std::isinf(d)) d = std::numeric_limits<double>::infinity();
      r.maxAbs = std::max(r.maxAbs, d);
      if (b != 0) r.maxRel = std::max(r.maxRel, d / std::fabs(b));
      if (!(d <= atol + rtol * std::fabs(b))) ++r.bad;
      if (std::isfinite(d)) diff2 += d * d;
    }
    if (std::isfinite(b)) ref2 += b * b;
  }
  r.count = static_cast<int64_t>(n);
  r.relL2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  r.ok = r.bad == 0;
  r.compared = true;
  return r;
}

//! If `plan` is `ref` with the channel axis moved last ([N,H,W,C] for [N,C,H,W]; also rank 3 and 5), the
//! plan tensor's bytes reordered to `ref`'s layout; else nullopt. Channels-last layers of GPU fp16 plans
//! (the layout-nhwc pass) keep their tensors in that order.
std::optional<std::vector<uint8_t>> channelsFirst(const std::vector<uint8_t>& got, std::size_t elem, const ir::Shape& plan,
                                                  const ir::Shape& ref) {
  const std::size_t r = ref.size();
  if (r < 3 || plan.size() != r || elem == 0) return std::nullopt;
  std::vector<int64_t> want{ref[0]};
  for (std::size_t k = 2; k < r; ++k) want.push_back(ref[k]);
  want.push_back(ref[1]);
  if (std::vector<int64_t>(plan.begin(), plan.end()) != want || plan == ref) return std::nullopt;
  const int64_t n = ref[0], c = ref[1];
  int64_t spatial = 1;
  for (std::size_t k = 2; k < r; ++k) spatial *= ref[k];
  if (got.size() != static_cast<std::size_t>(n * c * spatial) * elem) return std::nullopt;
  std::vector<uint8_t> out(got.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < spatial; ++p)
      for (int64_t ch = 0; ch < c; ++ch)
        std::memcpy(&out[static_cast<std::size_t>((b * c + ch) * spatial + p) * elem],
                    &got[static_cast<std::size_t>((b * spatial + p) * c + ch) * elem], elem);
  return out;
}

//! A float64 tensor rounded to the float type `to` (nearest even).
std::shared_ptr<const ir::TensorData> roundDoubleTensor(const ir::TensorData& t, DataType to) {
  void* out = nullptr;
  auto r = ir::makeTensor(to, t.shape, &out);
  const double* s = t.as<double>();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    const float f = static_cast<float>(s[i]);
    if (to == DataType::kFLOAT) static_cast<float*>(out)[i] = f;
    else if (to == DataType::kHALF) static_cast<uint16_t*>(out)[i] = floatToHalf(f);
    else static_cast<uint16_t*>(out)[i] = floatToBf16(f);
  }
  return r;
}

std::string sci(double v) {
  if (std::isinf(v)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

#ifdef KILN_CLI_TEST_HOOKS
//! Test builds only: KILN_TEST_FAULT=<layer or ONNX node name> makes that layer wrong (its float outputs
//! get +1 right after its kernel ran), as a broken kernel would. CPU plans only (the profiler callback
//! runs right after the layer there).
class FaultInjector : public Profiler {
 public:
  FaultInjector(detail::ContextState& st, std::string target) : st_(st), target_(std::move(target)) {}
  void reportLayerTime(const char* layerName, float) noexcept override {
    const detail::EngineImpl& e = *st_.engine;
    const ir::Graph& g = *e.plan.graph;
    for (std::size_t s = 0; s < e.layerNames.size(); ++s) {
      if (e.layerNames[s] != layerName) continue;
      const ir::Node& n = *g.nodes[s];
      bool hit = n.name == target_ || std::find(n.origins.begin(), n.origins.end(), target_) != n.origins.end();
      if (!hit) return;
      for (std::size_t k = 0; k < n.outputs.size(); ++k) {
        const backend::TensorView& v = st_.stepOut[s][k];
        if (v.dtype != DataType::kFLOAT || !v.data || v.numel <= 0) continue;
        auto* f = static_cast<float*>(v.data);
        for (int64_t i = 0; i < v.numel; ++i) f[i] += 1.0f;
      }
    }
  }

 private:
  detail::ContextState& st_;
  std::string target_;
};
#endif

int runCompare(const Args& args) {
  ArgParser p(args.command);
  declareInputOptions(p);
  p.option("atol").option("rtol").option("json").option("device").option("reduce").option("ref-precision").flag("all").flag(
      "verbose");
  if (parseArgsOrHelp(p, args, kCompareHelp)) return kExitOk;
  if (p.positionals().empty() || p.positionals().size() > 2)
    throw UsageError("expected the ONNX model and optionally a plan", "write kiln compare model.onnx [model.plan]");
  const std::string modelPath = p.positionals()[0];
  const std::string planPath = p.positionals().size() > 1 ? p.positionals()[1] : "";
  const double atol = p.has("atol") ? parseNumber("atol", p.get("atol"), 0, 1e300) : 1e-4;
  const double rtol = p.has("rtol") ? parseNumber("rtol", p.get("rtol"), 0, 1e300) : 1e-3;
  checkJsonOption(p);
  if (p.has("reduce") && p.get("reduce").empty()) throw UsageError("--reduce needs a file name");
  if (p.has("device") && !planPath.empty()) throw UsageError("--device only applies when compare builds the plan");
  const std::string refPrecision = p.has("ref-precision") ? p.get("ref-precision") : "fp64";
  if (refPrecision != "fp64" && refPrecision != "fp32")
    throw UsageError("--ref-precision must be fp64 or fp32, not '" + refPrecision + "'");
  const bool refFp64 = refPrecision == "fp64";
  const InputOptions inputOptions = parseInputOptions(p, args.command);
  std::FILE* out = p.get("json") == "-" ? stderr : stdout;

  CliLogger logger(args.command, p.has("verbose") ? Severity::kVERBOSE : Severity::kWARNING);
  // The model, imported as it is (the reference runs this graph).
  auto builder = createBuilder(logger);
  auto net = builder->createNetwork();
  {
    auto parser = onnx::createParser(*net, logger);
    parser->parseFromFile(modelPath.c_str());
    for (int32_t i = 0; i < parser->getNbErrors(); ++i)
      std::fprintf(stderr, "kiln %s: %s\n", args.command.c_str(), parser->getError(i)->desc());
    if (parser->getNbErrors())
      throw CliError(std::to_string(parser->getNbErrors()) + " problem(s) importing '" + modelPath + "'",
                     "run kiln check " + modelPath + " for the full report");
  }

  // The plan: given, or built with the default options.
  auto runtime = createCliRuntime(logger);
  std::unique_ptr<Engine> engine;
  std::string planLabel = planPath;
  if (!planPath.empty()) {
    engine = loadEngine(*runtime, logger, planPath);
  } else {
    auto config = builder->createBuilderConfig();
    if (p.has("device")) config->setDefaultDeviceType(parseDevice(p.get("device")));
    logger.clearErrors();
    auto bytes = builder->buildSerializedNetwork(*net, *config);
    if (!bytes) throw CliError(logger.firstError().empty() ? "the build failed" : logger.firstError());
    engine = runtime->deserializeEngine(bytes->data(), bytes->size());
    if (!engine) throw CliError("cannot load the plan just built: " + logger.firstError());
    planLabel = "(built from " + modelPath + " with the default options)";
  }
  std::vector<InputData> inputs = prepareInputs(*engine, inputOptions, args.command);

  // Run the plan with every tensor kept: nothing shares arena memory (this engine serves no one else).
  auto& impl = const_cast<detail::EngineImpl&>(engine->impl());
  const ir::Graph& pg = *impl.plan.graph;
  std::fill(impl.lastUse.begin(), impl.lastUse.end(), static_cast<int32_t>(pg.nodes.size()));
  const bool onGpu = impl.device == DeviceType::kGPU;
  detail::ContextState st(engine->sharedImpl());
  std::vector<Buffer> ioBuffers;
  std::vector<void*> addresses(impl.io.size(), nullptr);
  for (std::size_t i = 0; i < impl.io.size(); ++i) {
    if (impl.io[i].mode != TensorIOMode::kINPUT) continue;
    for (const auto& in : inputs)
      if (in.name == impl.io[i].name) {
        st.ioShapes[i] = ir::Shape(in.shape.d, in.shape.d + in.shape.nbDims);
        st.inputShapeSet[i] = true;
      }
  }
  try {
    st.prepare();
  } catch (const Error& e) {
    throw CliError(std::string("cannot prepare the plan: ") + e.what());
  }
  for (std::size_t i = 0; i < impl.io.size(); ++i) {
    const ir::ValueInfo& info = st.infos[static_cast<std::size_t>(impl.io[i].valueId)];
    std::size_t bytes = static_cast<std::size_t>(std::max<int64_t>(0, ir::numElements(info.shape))) * dataTypeSize(info.dtype);
    Buffer b(std::max<std::size_t>(bytes, 64), MemoryKind::kDEVICE, impl.device);
    for (const auto& in : inputs)
      if (impl.io[i].mode == TensorIOMode::kINPUT && in.name == impl.io[i].name && !in.host.empty())
        if (!kiln::memcpy(b.data(), in.host.data(), in.host.size()))
          throw CliError("cannot copy input '" + in.name + "' to the device");
    addresses[i] = b.data();
    ioBuffers.push_back(std::move(b));
  }
#ifdef KILN_CLI_TEST_HOOKS
  std::unique_ptr<FaultInjector> fault;
  if (const char* target = std::getenv("KILN_TEST_FAULT")) {
    fault = std::make_unique<FaultInjector>(st, target);
    st.profiler = fault.get();
    printNote(args.command, std::string("test build: injecting a fault into layer '") + target + "'");
  }
#endif
  try {
    if (onGpu) {
      void* stream = gpu::createStream();
      try {
        st.run(addresses, stream);
        gpu::synchronizeStream(stream);
      } catch (...) {
        gpu::destroyStream(stream);
        throw;
      }
      gpu::destroyStream(stream);
    } else {
      st.run(addresses);
    }
  } catch (const Error& e) {
    throw CliError(std::string("the plan failed: ") + e.what());
  }
  st.profiler = nullptr;
  // Where each plan value lives now.
  auto planData = [&](const ir::Value* v) -> std::vector<uint8_t> {
    std::size_t id = static_cast<std::size_t>(v->id);
    std::size_t root = impl.aliasOf[id] >= 0 ? static_cast<std::size_t>(impl.aliasOf[id]) : id;
    const void* src = nullptr;
    for (std::size_t i = 0; i < impl.io.size(); ++i)
      if (static_cast<std::size_t>(impl.io[i].valueId) == root) src = addresses[i];
    if (!src && st.arenaOffset[root] != SIZE_MAX) src = static_cast<const std::byte*>(st.arena.get()) + st.arenaOffset[root];
    const ir::ValueInfo& info = st.infos[id];
    int64_t n = ir::numElements(info.shape);
    if (!src || n < 0) return {};
    std::vector<uint8_t> host(static_cast<std::size_t>(n) * dataTypeSize(info.dtype));
    if (!host.empty() && !kiln::memcpy(host.data(), src, host.size()))
      throw CliError("cannot copy tensor '" + v->name + "' from the device");
    return host;
  };

  // The reference: the imported graph, every node through its reference kernel, every tensor kept
  // (in float64 unless --ref-precision fp32).
  const ir::Graph& model = net->impl().graph();
  std::vector<cpu::ReferenceInput> refInputs;
  for (const ir::Value* v : model.inputs) {
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const InputData& in) { return in.name == v->name; });
    if (it == inputs.end()) throw CliError("the plan has no input '" + v->name + "' of the model", "compare the plan with the model it was built from");
    refInputs.push_back({it->name, it->dtype, ir::Shape(it->shape.d, it->shape.d + it->shape.nbDims), it->host.data(), it->host.size()});
  }
  cpu::ReferenceRun ref;
  try {
    ref = cpu::runReference(model, refInputs, refFp64);
  } catch (const Error& e) {
    throw CliError(std::string("the reference failed: ") + e.what(),
                   refFp64 ? "try --ref-precision fp32" : "");
  }
  const ir::Graph* rg = ref.graph.get();
  // reference tensors computed in reduced precision (outputs of ops without a float64 kernel)
  std::map<std::string, const passes::ReducedNode*> reducedTensor;
  for (const auto& r : ref.raised.reduced)
    for (const auto& o : r.outputs) reducedTensor[o] = &r;

  // Compare, layer by layer.
  std::vector<LayerResult> layers;
  const LayerResult* firstBad = nullptr;
  std::size_t firstBadTensor = 0;
  int64_t comparedTensors = 0;
  for (std::size_t s = 0; s < pg.nodes.size(); ++s) {
    const ir::Node& n = *pg.nodes[s];
    LayerResult L;
    static_cast<LayerIdentity&>(L) = layerIdentity(n, s, impl.plan.tactics);
    for (const ir::Value* v : n.outputs) {
      TensorResult r;
      r.name = v->name;
      r.shape = dimsToString(ir::dimsFromShape(st.infos[static_cast<std::size_t>(v->id)].shape));
      const ir::Value* rv = rg->findValue(v->name);
      std::string matchedBy;
      if (!rv) {
        // renamed by an optimization (fusion, layout): the same output of the layer's latest source node
        std::size_t k = static_cast<std::size_t>(std::find(n.outputs.begin(), n.outputs.end(), v) - n.outputs.begin());
        for (auto it = rg->nodes.rbegin(); it != rg->nodes.rend() && !rv; ++it)
          if (std::find(L.origins.begin(), L.origins.end(), (*it)->name) != L.origins.end() && k < (*it)->outputs.size() &&
              (*it)->outputs[k]) {
            rv = (*it)->outputs[k];
            matchedBy = "as '" + rv->name + "' (output " + std::to_string(k) + " of ONNX node '" + (*it)->name + "')";
          }
      }
      const ir::TensorData* refData = ref.find(rv);
      std::string refNote;  // a reference tensor computed in reduced precision
      if (rv) {
        auto red = reducedTensor.find(rv->name);
        if (red != reducedTensor.end())
          refNote = std::string("reference computed in ") + dataTypeName(red->second->precision) + ": no float64 kernel for " +
                    red->second->op;
      }
      if (!refData) {
        r.note = "no tensor of this name in the model";
      } else {
        const DataType dt = st.infos[static_cast<std::size_t>(v->id)].dtype;
        const ir::Shape& shape = st.infos[static_cast<std::size_t>(v->id)].shape;
        std::vector<uint8_t> got = planData(v);
        const bool byOrigin = !matchedBy.empty();  // matched through the layer's ONNX nodes, not by name
        if (auto cf = channelsFirst(got, dataTypeSize(dt), shape, refData->shape)) {
          r = compareTensor(v->name, *cf, dt, *refData, refData->shape, atol, rtol);
          r.shape = dimsToString(ir::dimsFromShape(shape));
          matchedBy += std::string(matchedBy.empty() ? "" : ", ") + "channels-last, compared in the model's layout";
        } else {
          r = compareTensor(v->name, got, dt, *refData, shape, atol, rtol);
        }
        if (byOrigin && r.note.rfind("shape differs", 0) == 0) {
          // matched through the layer's ONNX nodes, but it is not their output (e.g. the packed Q/K/V product of
          // three fused MatMuls): no counterpart in the model
          r.compared = false;
          r.ok = true;
          r.note = "not compared: no tensor of the model holds it (" + r.note + "; matched " + matchedBy + ")";
        } else {
          if (!matchedBy.empty()) r.note = r.note.empty() ? "matched " + matchedBy : r.note + "; matched " + matchedBy;
          if (!refNote.empty()) r.note = r.note.empty() ? refNote : r.note + "; " + refNote;
          ++comparedTensors;
          L.compared = true;
        }
      }
      L.ok = L.ok && r.ok;
      L.tensors.push_back(std::move(r));
    }
    layers.push_back(std::move(L));
  }
  for (const auto& L : layers) {
    if (L.ok) continue;
    firstBad = &L;
    for (std::size_t k = 0; k < L.tensors.size(); ++k)
      if (!L.tensors[k].ok) {
        firstBadTensor = k;
        break;
      }
    break;
  }

  // Text report.
  std::fprintf(out, "plan:      %s (%s, %d layers)\n", planLabel.c_str(), onGpu ? "gpu" : "cpu", engine->getNbLayers());
  std::fprintf(out, "reference: %s through kiln's CPU reference kernels, unoptimized (%zu nodes), in %s\n",
               modelPath.c_str(), model.nodes.size(),
               refFp64 ? "float64 (--ref-precision fp64)" : "the model's types (--ref-precision fp32)");
  if (refFp64) {
    if (ref.raised.reduced.empty()) {
      std::fprintf(out, "reduced precision: none (every node computed in float64)\n");
    } else {
      std::fprintf(out, "reduced precision: %zu node(s) without a float64 reference kernel ran in their own type:\n",
                   ref.raised.reduced.size());
      for (const auto& r : ref.raised.reduced)
        std::fprintf(out, "  %s (%s) in %s: %s\n", r.node.c_str(), r.op.c_str(), dataTypeName(r.precision), r.reason.c_str());
    }
  }
  for (const auto& in : inputs)
    std::fprintf(out, "input %s: %s %s, %s\n", in.name.c_str(), dataTypeName(in.dtype), dimsToString(in.shape).c_str(),
                 in.source.c_str());
  std::fprintf(out, "tolerance: |plan - ref| <= atol %g + rtol %g * |ref|\n", atol, rtol);
  std::size_t width = 5;
  for (const auto& L : layers) width = std::max(width, L.name.size() + L.op.size() + 8);
  width = std::min<std::size_t>(width, 48);
  std::fprintf(out, "  %-*s  %-10s  %-10s  %-10s  %-6s  %s\n", static_cast<int>(width), "layer", "max abs", "max rel",
               "rel L2", "status", "tensor / ONNX nodes");
  for (const auto& L : layers) {
    std::string label = "[" + std::to_string(L.index) + "] " + L.name + " (" + L.op + ")";
    std::string onnxNodes;
    for (const auto& o : L.origins) onnxNodes += (onnxNodes.empty() ? "" : ", ") + o;
    for (std::size_t k = 0; k < L.tensors.size(); ++k) {
      const TensorResult& t = L.tensors[k];
      if (k > 0 && !p.has("all") && (t.ok || !t.compared)) continue;
      std::string status = !t.compared ? "-" : t.ok ? "ok" : "FAIL";
      std::string what = t.name + " " + t.shape + (onnxNodes.empty() ? "" : " / " + onnxNodes);
      if (!t.note.empty()) what += " (" + t.note + ")";
      if (!t.compared)
        std::fprintf(out, "  %-*s  %-10s  %-10s  %-10s  %-6s  %s\n", static_cast<int>(width), k ? "" : label.c_str(), "-",
                     "-", "-", status.c_str(), what.c_str());
      else
        std::fprintf(out, "  %-*s  %-10s  %-10s  %-10s  %-6s  %s\n", static_cast<int>(width), k ? "" : label.c_str(),
                     sci(t.maxAbs).c_str(), sci(t.maxRel).c_str(), sci(t.relL2).c_str(), status.c_str(), what.c_str());
    }
  }
  std::string firstText;
  if (firstBad) {
    const TensorResult& t = firstBad->tensors[firstBadTensor];
    std::string onnxNodes;
    for (const auto& o : firstBad->origins) onnxNodes += (onnxNodes.empty() ? "" : ", ") + o;
    firstText = "layer [" + std::to_string(firstBad->index) + "] '" + firstBad->name + "' (" + firstBad->op + ", tactic " +
                firstBad->tactic + "), tensor '" + t.name + "': " +
                (t.note.rfind("shape differs", 0) == 0
                     ? t.note
                     : std::to_string(t.bad) + " of " + std::to_string(t.count) + " elements out of tolerance, max abs " +
                           sci(t.maxAbs) + ", rel L2 " + sci(t.relL2) + (t.note.empty() ? "" : " (" + t.note + ")")) +
                "; ONNX node(s): " + (onnxNodes.empty() ? "-" : onnxNodes);
    std::fprintf(out, "FIRST LAYER OUT OF TOLERANCE: %s\n", firstText.c_str());
  } else {
    std::fprintf(out, "OK: %lld tensors of %zu layers within tolerance\n", static_cast<long long>(comparedTensors),
                 layers.size());
  }

  std::string reduced;
  if (p.has("reduce") && firstBad) {
    // the reference data in the model's own types (a float64 reference is rounded to them)
    std::vector<std::shared_ptr<const ir::TensorData>> converted;
    auto valueOf = [&](const std::string& name) -> const ir::TensorData* {
      const ir::TensorData* d = ref.find(name);
      const ir::Value* mv = model.findValue(name);
      if (!d || !mv || d->dtype == mv->dtype || d->dtype != DataType::kDOUBLE || !isFloatingType(mv->dtype)) return d;
      converted.push_back(roundDoubleTensor(*d, mv->dtype));
      return converted.back().get();
    };
    SubgraphResult sub = writeSubgraph(modelPath, firstBad->origins, valueOf, p.get("reduce"));
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    reduced = p.get("reduce");
    std::fprintf(out, "wrote %s: node(s) %s; inputs %s; outputs %s; reference data in %s/\n", reduced.c_str(),
                 list(sub.nodes).c_str(), list(sub.inputs).c_str(), list(sub.outputs).c_str(), sub.dataDir.c_str());
  } else if (p.has("reduce")) {
    printNote(args.command, "nothing to reduce: every layer is within tolerance");
  }

  if (p.has("json")) {
    auto reducedJson = [&] {
      std::string j;
      for (const auto& r : ref.raised.reduced)
        j += std::string(j.empty() ? "" : ", ") + "{\"node\": " + jsonString(r.node) + ", \"op\": " + jsonString(r.op) +
             ", \"precision\": " + jsonString(dataTypeName(r.precision)) + ", \"reason\": " + jsonString(r.reason) + "}";
      return j;
    };
    std::string j = "{\n  \"model\": " + jsonString(modelPath) + ",\n  \"plan\": " + jsonString(planLabel) +
                    ",\n  \"device\": " + jsonString(onGpu ? "gpu" : "cpu") + ",\n  \"atol\": " + jsonNumber(atol) +
                    ",\n  \"rtol\": " + jsonNumber(rtol) + ",\n  \"ref_precision\": " + jsonString(refPrecision) +
                    ",\n  \"reduced_precision_nodes\": [" + reducedJson() + "]" +
                    ",\n  \"passed\": " + (firstBad ? "false" : "true") +
                    ",\n  \"compared_tensors\": " + std::to_string(comparedTensors) +
                    ",\n  \"reduced_model\": " + (reduced.empty() ? std::string("null") : jsonString(reduced)) +
                    ",\n  \"first_failure\": ";
    if (firstBad) {
      const TensorResult& t = firstBad->tensors[firstBadTensor];
      j += "{\"index\": " + std::to_string(firstBad->index) + ", \"layer\": " + jsonString(firstBad->name) +
           ", \"op\": " + jsonString(firstBad->op) + ", \"tensor\": " + jsonString(t.name) + ", \"onnx_nodes\": [";
      for (std::size_t k = 0; k < firstBad->origins.size(); ++k) j += (k ? ", " : "") + jsonString(firstBad->origins[k]);
      j += "], \"message\": " + jsonString(firstText) + "}";
    } else {
      j += "null";
    }
    j += ",\n  \"layers\": [";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& L = layers[i];
      j += i ? ",\n    " : "\n    ";
      j += "{\"index\": " + std::to_string(L.index) + ", \"name\": " + jsonString(L.name) + ", \"op\": " + jsonString(L.op) +
           ", \"tactic\": " + jsonString(L.tactic) + ", \"ok\": " + (L.ok ? "true" : "false") + ", \"onnx_nodes\": [";
      for (std::size_t k = 0; k < L.origins.size(); ++k) j += (k ? ", " : "") + jsonString(L.origins[k]);
      j += "], \"tensors\": [";
      for (std::size_t k = 0; k < L.tensors.size(); ++k) {
        const auto& t = L.tensors[k];
        j += std::string(k ? ", " : "") + "{\"name\": " + jsonString(t.name) + ", \"shape\": " + jsonString(t.shape) +
             ", \"compared\": " + (t.compared ? "true" : "false") + ", \"ok\": " + (t.ok ? "true" : "false") +
             ", \"max_abs\": " + jsonNumber(t.maxAbs) + ", \"max_rel\": " + jsonNumber(t.maxRel) +
             ", \"rel_l2\": " + jsonNumber(t.relL2) + ", \"bad_elements\": " + std::to_string(t.bad) +
             ", \"elements\": " + std::to_string(t.count) + ", \"note\": " + jsonString(t.note) + "}";
      }
      j += "]}";
    }
    j += layers.empty() ? "]\n}\n" : "\n  ]\n}\n";
    writeTextFile(p.get("json"), j);
  }
  std::fflush(stdout);
  return firstBad ? kExitFailure : kExitOk;
}

}  // namespace

int cmdCompare(const Args& args) { return runCompare(args); }

}  // namespace kiln::cli
