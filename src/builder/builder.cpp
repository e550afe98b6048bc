// Builder: network -> optimized graph -> tactics -> memory plan -> plan bytes.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "backends/cpu/kernel.h"
#include "backends/gpu.h"
#include "builder/builder_impl.h"
#include "builder/tactic_timing.h"
#include "backends/cpu/evaluate.h"
#include "core/cpu_features.h"
#include "core/logging.h"
#include "network/network_impl.h"
#include "passes/pass.h"
#include "passes/layout.h"
#include "passes/precision.h"
#include "runtime/engine_impl.h"

namespace kiln {

std::unique_ptr<HostMemory> makeHostMemory(std::vector<uint8_t> bytes);  // engine.cpp

Builder::Builder(Logger& logger) : logger_(logger) {}
Builder::~Builder() = default;

std::unique_ptr<Builder> createBuilder(Logger& logger) { return std::make_unique<Builder>(logger); }

std::unique_ptr<NetworkDefinition> Builder::createNetwork(uint32_t) { return std::make_unique<NetworkDefinition>(logger_); }
std::unique_ptr<BuilderConfig> Builder::createBuilderConfig() { return std::make_unique<BuilderConfig>(); }
std::unique_ptr<OptimizationProfile> Builder::createOptimizationProfile() { return std::make_unique<OptimizationProfile>(); }

namespace {

[[noreturn]] void fail(const std::string& msg, ErrorCode code = ErrorCode::kINVALID_CONFIG) { throw Error(code, msg); }

bool isDynamic(const ir::Shape& s) {
  return std::any_of(s.begin(), s.end(), [](int64_t d) { return d < 0; });
}

//! Checks the profiles against the network inputs and turns them into plan profiles.
std::vector<plan::Profile> checkProfiles(const ir::Graph& g, const detail::BuilderConfigImpl& cfg) {
  std::vector<const ir::Value*> dynamic;
  for (const ir::Value* in : g.inputs)
    if (isDynamic(in->shape)) dynamic.push_back(in);
  if (dynamic.empty()) return {};
  if (cfg.profiles.empty())
    fail("input '" + dynamic[0]->name + "' has dynamic shape " + ir::shapeToString(dynamic[0]->shape) +
         " but the config has no optimization profile (add one with min/opt/max dims for it)");
  std::vector<plan::Profile> out;
  for (size_t p = 0; p < cfg.profiles.size(); ++p) {
    const auto& prof = cfg.profiles[p];
    std::string where = "optimization profile " + std::to_string(p);
    for (const auto& [name, mmo] : prof.dims) {
      const std::string& inputName = name;  // clang < 16 cannot capture structured bindings in lambdas
      auto it = std::find_if(g.inputs.begin(), g.inputs.end(), [&](const ir::Value* v) { return v->name == inputName; });
      if (it == g.inputs.end()) fail(where + " names '" + name + "', which is not a network input");
    }
    plan::Profile pp;
    for (const ir::Value* in : dynamic) {
      auto it = prof.dims.find(in->name);
      if (it == prof.dims.end())
        fail(where + " has no dims for dynamic input '" + in->name + "' " + ir::shapeToString(in->shape));
      std::array<ir::Shape, 3> mmo;
      for (int k = 0; k < 3; ++k) {
        const ir::Shape& s = *it->second[static_cast<size_t>(k)];
        if (s.size() != in->shape.size())
          fail(where + ": input '" + in->name + "' has rank " + std::to_string(in->shape.size()) + ", the profile gives " +
               ir::shapeToString(s));
        for (size_t i = 0; i < s.size(); ++i)
          if (in->shape[i] >= 0 && s[i] != in->shape[i])
            fail(where + ": input '" + in->name + "' dimension " + std::to_string(i) + " is fixed at " +
                 std::to_string(in->shape[i]) + ", the profile gives " + ir::shapeToString(s));
        mmo[static_cast<size_t>(k)] = s;
      }
      pp.dims[in->name] = mmo;
    }
    out.push_back(std::move(pp));
  }
  return out;
}

//! A single profile whose min, opt and max are equal for every dynamic input fixes the shapes: the graph
//! is specialized to them (static shapes let the passes fuse more, e.g. residual additions) and the
//! plan has no profile.
void specializeFixedProfile(ir::Graph& g, std::vector<plan::Profile>& profiles) {
  if (profiles.size() != 1) return;
  for (const auto& [name, mmo] : profiles[0].dims)
    if (mmo[0] != mmo[1] || mmo[1] != mmo[2]) return;
  for (ir::Value* in : g.inputs) {
    auto it = profiles[0].dims.find(in->name);
    if (it != profiles[0].dims.end()) in->shape = it->second[0];
  }
  profiles.clear();
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g, &cpu::referenceEvaluator());
}

//! Every graph output must be computed by a node of its own: outputs that are inputs, constants or
//! repeated get an Identity node.
void materializeOutputs(ir::Graph& g) {
  std::set<const ir::Value*> seen;
  for (auto& out : g.outputs) {
    bool isInput = std::find(g.inputs.begin(), g.inputs.end(), out) != g.inputs.end();
    if (out->producer && !seen.count(out)) {
      seen.insert(out);
      continue;
    }
    if (isInput) fail("tensor '" + out->name + "' is both a network input and a network output", ErrorCode::kINVALID_ARGUMENT);
    if (seen.count(out)) fail("tensor '" + out->name + "' is marked as an output twice", ErrorCode::kINVALID_ARGUMENT);
    // a constant output: keep its name on the output, rename the constant
    std::string name = out->name;
    out->name = g.uniqueName(name + "_constant");
    ir::Value* copy = g.addValue(name, out->dtype, out->shape);
    ir::Node* n = g.addNodeWithOutputs("Identity", g.uniqueName("output_copy_" + name), {out}, {copy});
    n->origins.push_back(name);
    out = copy;
    seen.insert(copy);
  }
}

//! Shapes of the inputs for one profile selector (static inputs as they are).
std::vector<ir::Shape> inputShapesFor(const ir::Graph& g, const std::vector<plan::Profile>& profiles, size_t p, int sel) {
  std::vector<ir::Shape> shapes;
  for (const ir::Value* in : g.inputs) {
    if (profiles.empty() || !profiles[p].dims.count(in->name))
      shapes.push_back(in->shape);
    else
      shapes.push_back(profiles[p].dims.at(in->name)[static_cast<size_t>(sel)]);
  }
  return shapes;
}

//! `names` plus the comma-separated names of the environment variable `var`.
std::set<std::string> namesFromEnv(const char* var, std::set<std::string> names) {
  if (const char* env = std::getenv(var)) {
    std::string list = env;
    for (size_t pos = 0; pos <= list.size();) {
      size_t end = list.find(',', pos);
      if (end == std::string::npos) end = list.size();
      if (end > pos) names.insert(list.substr(pos, end - pos));
      pos = end + 1;
    }
  }
  return names;
}

//! The names of the disabled passes: the config's and KILN_DISABLE_PASSES (comma-separated).
std::set<std::string> disabledPassNames(std::set<std::string> disabled) {
  return namesFromEnv("KILN_DISABLE_PASSES", std::move(disabled));
}

//! The default passes minus the disabled ones.
std::vector<passes::Pass> selectedPasses(const std::set<std::string>& disabled) {
  std::vector<passes::Pass> out;
  for (const passes::Pass& p : passes::defaultPasses())
    if (!disabled.count(p.name)) out.push_back(p);
  return out;
}

//! " (nodes removed per pass: fold-constants 3, fuse-conv-epilogue 12)" (passes that removed nodes), or "".
std::string passSummary(const std::map<std::string, int64_t>& removed) {
  std::string s;
  for (const auto& [name, n] : removed)
    if (n != 0) {
      if (!s.empty()) s += ", ";
      s += name;
      s += ' ';
      s += std::to_string(n);
    }
  if (s.empty()) return s;
  return std::string(" (nodes removed per pass: ").append(s).append(")");
}

}  // namespace

std::unique_ptr<HostMemory> Builder::buildSerializedNetwork(NetworkDefinition& network, BuilderConfig& config) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    const auto& cfg = config.impl();
    const bool onGpu = cfg.device == DeviceType::kGPU;
    if (onGpu) {
      std::string why;
      if (!gpu::available(&why)) fail("the config selects the GPU backend, which is not usable here: " + why +
                                      " (use setDefaultDeviceType(DeviceType::kCPU))", ErrorCode::kUNSUPPORTED_STATE);
    } else if (cfg.device != DeviceType::kCPU) {
      fail("unknown device type " + std::to_string(static_cast<int>(cfg.device)));
    }
    for (BuilderFlag f : {BuilderFlag::kFP16, BuilderFlag::kBF16, BuilderFlag::kINT8, BuilderFlag::kTF32})
      if (config.getFlag(f) && (!onGpu || f == BuilderFlag::kINT8))
        report(logger_, Severity::kWARNING, std::string("the ") + (onGpu ? "GPU" : "CPU") +
                                                " backend ignores builder flag " + std::to_string(static_cast<int>(f)) +
                                                " (it computes in the network's own precision)");
    auto& net = network.impl();
    if (!net.inferShapes())
      fail("the network has invalid layers (see the error above); fix them before building", ErrorCode::kINVALID_ARGUMENT);
    std::unique_ptr<ir::Graph> g = net.graph().clone();
    g->name = net.name;
    if (g->outputs.empty()) fail("the network has no outputs (mark them with markOutput)", ErrorCode::kINVALID_ARGUMENT);
    {
      std::set<std::string> names;
      for (const ir::Value* v : g->inputs)
        if (!names.insert(v->name).second) fail("two network inputs are named '" + v->name + "'", ErrorCode::kINVALID_ARGUMENT);
      for (const ir::Value* v : g->outputs)
        if (std::find(g->inputs.begin(), g->inputs.end(), v) == g->inputs.end() && !names.insert(v->name).second)
          fail("two network I/O tensors are named '" + v->name + "'", ErrorCode::kINVALID_ARGUMENT);
    }
    std::vector<plan::Profile> profiles = checkProfiles(*g, cfg);
    specializeFixedProfile(*g, profiles);
    size_t layersBefore = g->nodes.size();

    passes::PassContext pctx{logger_, ir::defaultOpRegistry()};
    std::map<std::string, int64_t> removedByPass;
    pctx.removedNodes = &removedByPass;
    const std::set<std::string> disabledPasses = disabledPassNames(cfg.disabledPasses);
    passes::runToFixpoint(*g, selectedPasses(disabledPasses), pctx);
    if (onGpu) {  // transformer fusions (GPU kernels); FusedAttention's fast kernel is for float16/bfloat16
      const bool reduced = config.getFlag(BuilderFlag::kFP16) || config.getFlag(BuilderFlag::kBF16);
      std::vector<passes::Pass> gpu;
      for (const passes::Pass& p : passes::gpuPasses())
        if (!disabledPasses.count(p.name) && (reduced || std::string(p.name).find("attention") == std::string::npos))
          gpu.push_back(p);
      passes::runToFixpoint(*g, gpu, pctx);
    } else {  // fusions into ops with CPU kernels only
      std::vector<passes::Pass> cpu;
      for (const passes::Pass& p : passes::cpuPasses())
        if (!disabledPasses.count(p.name)) cpu.push_back(p);
      passes::runToFixpoint(*g, cpu, pctx);
    }
    materializeOutputs(*g);
    g->topologicalSort();
    g->compact();
    g->verify();
    for (const ir::Value* in : g->inputs)
      if (g->consumers(in).empty())
        report(logger_, Severity::kWARNING, "network input '" + in->name + "' is not used by any output");
    if (onGpu && (config.getFlag(BuilderFlag::kFP16) || config.getFlag(BuilderFlag::kBF16))) {
      if (config.getFlag(BuilderFlag::kFP16) && config.getFlag(BuilderFlag::kBF16))
        report(logger_, Severity::kWARNING, "both kFP16 and kBF16 are set: computing in float16");
      passes::lowerFloatPrecision(*g, config.getFlag(BuilderFlag::kFP16) ? DataType::kHALF : DataType::kBF16);
      g->compact();
      g->verify();
      // channels-last convolutions and pooling (pass name "layout-nhwc")
      if (!disabledPasses.count("layout-nhwc")) {
        ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);
        if (int converted = passes::convertToChannelsLast(*g)) {
          passes::eliminateDeadNodes(*g, pctx);
          g->compact();
          g->verify();
          report(logger_, Severity::kVERBOSE, "layout-nhwc: " + std::to_string(converted) + " layers compute channels-last");
        }
      }
    }
    if (onGpu && config.getFlag(BuilderFlag::kTF32)) passes::markTf32(*g);
    ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);

    // Tactics: of the applicable tactics of each layer, the fastest on this machine at the opt shapes
    // of the first profile (timed, or taken from the timing cache); without timing, the last applicable
    // one in registration order (the most specialized).
    plan::PlanContents contents;
    contents.backend = cfg.device;
    contents.nbThreads = cfg.nbThreads;
    uint64_t features = 0;
    const backend::KernelRegistry& kreg = onGpu ? gpu::kernelRegistry() : cpu::defaultKernelRegistry();
    const bool timing = !config.getFlag(BuilderFlag::kNO_TACTIC_TIMING);
    std::vector<ir::ValueInfo> optInfos;
    bool haveOpt = false;
    if (timing) {
      try {
        auto shapes = inputShapesFor(*g, profiles, 0, 1);
        optInfos.assign(g->values.size(), {});
        for (size_t i = 0; i < g->inputs.size(); ++i) {
          optInfos[static_cast<size_t>(g->inputs[i]->id)].dtype = g->inputs[i]->dtype;
          optInfos[static_cast<size_t>(g->inputs[i]->id)].shape = shapes[i];
        }
        ir::inferGraph(ir::defaultOpRegistry(), *g, optInfos, &cpu::referenceEvaluator());
        haveOpt = true;
      } catch (const Error& e) {
        report(logger_, Severity::kVERBOSE, std::string("tactic timing off (opt shapes do not infer: ") + e.what() + ")");
      }
    }
    builder::TimingCache cache;
    if (!cfg.timingCacheFile.empty()) cache.load(cfg.timingCacheFile);
    int timedLayers = 0;
    double timingMs = 0;  // host time in tactic timing
    const auto tacticsT0 = std::chrono::steady_clock::now();
    size_t layerIndex = 0;
    for (const auto& n : g->nodes) {
      ++layerIndex;
      std::string layer = "layer '" + n->name + "' (" + n->op + ")";
      std::vector<const backend::Tactic*> applicable;
      std::string reasons;
      // KILN_DISABLE_TACTICS=name,...: tactics left out (for experiments; a layer left without any fails)
      static const std::set<std::string> offTactics = namesFromEnv("KILN_DISABLE_TACTICS", {});
      for (const backend::Tactic& t : kreg.find(n->op)) {
        std::string why;
        if (offTactics.count(t.name)) {
          reasons += " " + t.name + ": disabled by KILN_DISABLE_TACTICS;";
          continue;
        }
        if (!onGpu && (t.requiredCpuFeatures & ~cpuFeatures())) {
          reasons += " " + t.name + ": CPU lacks " + cpuFeatureNames(t.requiredCpuFeatures & ~cpuFeatures()) + ";";
          continue;
        }
        if (t.supports && !t.supports(*n, &why)) {
          reasons += " " + t.name + ": " + why + ";";
          continue;
        }
        applicable.push_back(&t);
      }
      if (applicable.empty())
        fail(layer + ": no " + (onGpu ? "GPU" : "CPU") + " kernel supports it" +
                 (reasons.empty() ? std::string() : " (" + reasons + ")"),
             ErrorCode::kUNSUPPORTED_NODE);
      const backend::Tactic* chosen = applicable.back();
      bool known = haveOpt;
      if (haveOpt)
        for (const ir::Value* v : n->inputs) known = known && (!v || ir::numElements(optInfos[static_cast<size_t>(v->id)].shape) >= 0);
      if (known)  // outputs whose shape depends on data that is not known at build time (Slice by inputs)
        for (const ir::Value* v : n->outputs) known = known && (!v || ir::numElements(optInfos[static_cast<size_t>(v->id)].shape) >= 0);
      if (timing && known && applicable.size() > 1) {
        std::string key = builder::layerSignature(*n, optInfos, cfg.device, applicable);
        if (const std::string* hit = cache.find(key)) {
          for (const auto* t : applicable)
            if (t->name == *hit) chosen = t;
          ++cache.hits;
        } else {
          ++cache.misses;
          ++timedLayers;
          // progress (kiln build shows it): "timing tactics: layer 3/57 'conv1' (Conv)"
          LogMessage(logger_, Severity::kVERBOSE) << "timing tactics: layer " << layerIndex << "/" << g->nodes.size() << " '"
                                                  << n->name << "' (" << n->op << ")";
          const auto layerT0 = std::chrono::steady_clock::now();
          auto results = builder::timeTactics(*n, optInfos, cfg.device, applicable);
          const double layerMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - layerT0).count();
          timingMs += layerMs;
          double best = -1, candidatesMs = 0;
          for (const auto& r : results) candidatesMs += r.wallMs;
          std::string line = layer + " timed:";
          for (const auto& r : results) {
            bool skipped = r.error.rfind("not timed", 0) == 0;
            line += " " + r.tactic->name +
                    (r.medianMs >= 0 ? " " + std::to_string(r.medianMs) + " ms"
                                     : skipped ? " " + r.error : " failed (" + r.error + ")") +
                    (r.wallMs >= 1 ? " [" + std::to_string(static_cast<long>(r.wallMs)) + " ms]" : "");
            if (r.medianMs >= 0 && (best < 0 || r.medianMs < best)) {
              best = r.medianMs;
              chosen = r.tactic;
            }
          }
          report(logger_, Severity::kVERBOSE, line + " -> " + chosen->name + " (timing took " +
                                                  std::to_string(static_cast<long>(layerMs)) + " ms, inputs " +
                                                  std::to_string(static_cast<long>(layerMs - candidatesMs)) + " ms)");
          cache.put(key, chosen->name);
        }
      }
      features |= chosen->requiredCpuFeatures;
      contents.tactics.push_back(chosen->name);
    }
    if (!cfg.timingCacheFile.empty()) {
      cache.save(cfg.timingCacheFile);
      LogMessage(logger_, Severity::kINFO) << "timing cache " << cfg.timingCacheFile << ": " << cache.hits << " hits, "
                                           << cache.misses << " layers timed";
    } else if (timedLayers) {
      LogMessage(logger_, Severity::kINFO) << timedLayers << " layers had their tactics timed";
    }
    const auto engineT0 = std::chrono::steady_clock::now();
    contents.target = plan::currentTarget(features, cfg.device);
    contents.profiles = profiles;
    contents.graph = std::move(g);

    // Create the engine (this instantiates every kernel) and plan memory at the opt shapes; check the
    // min and max shapes of each profile infer.
    auto engine = detail::makeEngine(std::move(contents), logger_);
    size_t nProfiles = std::max<size_t>(1, profiles.size());
    static const char* selName[] = {"min", "opt", "max"};
    for (size_t p = 0; p < nProfiles; ++p)
      for (int sel : {0, 2, 1}) {
        detail::ContextState state(engine);
        state.planOnly = true;  // measures; allocates nothing
        auto shapes = inputShapesFor(*engine->plan.graph, profiles, p, sel);
        for (size_t i = 0; i < shapes.size(); ++i) {
          state.ioShapes[i] = shapes[i];
          state.inputShapeSet[i] = true;
        }
        try {
          state.prepare(/*allowUnknown=*/true);  // shapes that need input values are known at run time
        } catch (const Error& e) {
          throw e.withContext(profiles.empty() ? std::string("at the network's shapes")
                                               : "at the " + std::string(selName[sel]) + " shapes of optimization profile " +
                                                     std::to_string(p));
        }
        if (sel == 1 && p == 0) engine->plan.arenaBytes = state.arenaBytes;
        if (state.arenaBytes + state.workspaceBytes > cfg.workspaceLimit && sel == 2)
          fail("the activation and scratch memory (" + std::to_string(state.arenaBytes + state.workspaceBytes) + " bytes at the max shapes" +
                   (profiles.empty() ? std::string() : " of optimization profile " + std::to_string(p)) + ": arena " +
                   std::to_string(state.arenaBytes) + " + kernel workspace " + std::to_string(state.workspaceBytes) +
                   ") exceeds the workspace limit of " + std::to_string(cfg.workspaceLimit) +
                   " bytes (BuilderConfig::setMemoryPoolLimit(kWORKSPACE))",
               ErrorCode::kFAILED_ALLOCATION);
      }
    const auto writeT0 = std::chrono::steady_clock::now();
    auto bytes = plan::writePlan(engine->plan);
    const auto t1 = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(t1 - t0).count();
    auto sec = [](std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    LogMessage(logger_, Severity::kVERBOSE) << "build time (s): graph passes " << sec(t0, tacticsT0) << ", tactics "
                                            << sec(tacticsT0, engineT0) << " (timing " << timingMs / 1000 << " in "
                                            << timedLayers << " layers), engine and memory plan " << sec(engineT0, writeT0)
                                            << ", serialization " << sec(writeT0, t1);
    LogMessage(logger_, Severity::kINFO) << "built plan: " << layersBefore << " layers in the network, "
                                         << engine->plan.graph->nodes.size() << " after optimization, arena "
                                         << engine->plan.arenaBytes << " bytes, plan " << bytes.size() << " bytes, "
                                         << secs << " s" << passSummary(removedByPass);
    return makeHostMemory(std::move(bytes));
  } catch (const Error& e) {
    report(logger_, Severity::kERROR, std::string("build failed: ") + e.what());
  } catch (const std::bad_alloc&) {
    report(logger_, Severity::kERROR, "build failed: out of memory");
  } catch (const std::exception& e) {
    report(logger_, Severity::kERROR, std::string("build failed: ") + e.what());
  }
  return nullptr;
}

}  // namespace kiln
