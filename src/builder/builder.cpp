// Builder: network -> optimized graph -> tactics -> memory plan -> plan bytes.
#include <algorithm>
#include <chrono>
#include <set>

#include "builder/builder_impl.h"
#include "core/cpu_features.h"
#include "core/logging.h"
#include "network/network_impl.h"
#include "passes/pass.h"
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

}  // namespace

std::unique_ptr<HostMemory> Builder::buildSerializedNetwork(NetworkDefinition& network, BuilderConfig& config) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    const auto& cfg = config.impl();
    if (cfg.device != DeviceType::kCPU)
      fail("the GPU backend is not part of this kiln build; use setDefaultDeviceType(DeviceType::kCPU)");
    for (BuilderFlag f : {BuilderFlag::kFP16, BuilderFlag::kBF16, BuilderFlag::kINT8, BuilderFlag::kTF32})
      if (config.getFlag(f))
        report(logger_, Severity::kWARNING, "the CPU backend computes in the network's own precision; flag " +
                                                std::to_string(static_cast<int>(f)) + " is ignored");
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
    size_t layersBefore = g->nodes.size();

    passes::PassContext pctx{logger_, ir::defaultOpRegistry()};
    passes::runToFixpoint(*g, passes::defaultPasses(), pctx);
    materializeOutputs(*g);
    g->topologicalSort();
    g->compact();
    g->verify();
    for (const ir::Value* in : g->inputs)
      if (g->consumers(in).empty())
        report(logger_, Severity::kWARNING, "network input '" + in->name + "' is not used by any output");
    ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);

    // Tactics: the most specialized applicable tactic of each layer (registration order; timing of the
    // candidates is not done yet).
    plan::PlanContents contents;
    contents.backend = DeviceType::kCPU;
    contents.nbThreads = cfg.nbThreads;
    uint64_t features = 0;
    const auto& kreg = cpu::defaultKernelRegistry();
    for (const auto& n : g->nodes) {
      std::string layer = "layer '" + n->name + "' (" + n->op + ")";
      const cpu::Tactic* chosen = nullptr;
      std::string reasons;
      for (const cpu::Tactic& t : kreg.find(n->op)) {
        std::string why;
        if (t.requiredCpuFeatures & ~cpuFeatures()) {
          reasons += " " + t.name + ": CPU lacks " + cpuFeatureNames(t.requiredCpuFeatures & ~cpuFeatures()) + ";";
          continue;
        }
        if (t.supports && !t.supports(*n, &why)) {
          reasons += " " + t.name + ": " + why + ";";
          continue;
        }
        chosen = &t;  // tactics are registered reference first, most specialized last: keep the last that applies
      }
      if (!chosen)
        fail(layer + ": no CPU kernel supports it" + (reasons.empty() ? std::string() : " (" + reasons + ")"),
             ErrorCode::kUNSUPPORTED_NODE);
      features |= chosen->requiredCpuFeatures;
      contents.tactics.push_back(chosen->name);
    }
    contents.target = plan::currentTarget(features);
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
          fail("the activation and scratch memory (" + std::to_string(state.arenaBytes + state.workspaceBytes) + " bytes at the max shapes) exceeds the workspace limit of " +
                   std::to_string(cfg.workspaceLimit) + " bytes",
               ErrorCode::kFAILED_ALLOCATION);
      }
    auto bytes = plan::writePlan(engine->plan);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    LogMessage(logger_, Severity::kINFO) << "built plan: " << layersBefore << " layers in the network, "
                                         << engine->plan.graph->nodes.size() << " after optimization, arena "
                                         << engine->plan.arenaBytes << " bytes, plan " << bytes.size() << " bytes, "
                                         << secs << " s";
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
