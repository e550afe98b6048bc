// Helpers for the graph-pass tests (tests/unit/pass_*_test.cpp): an ONNX model (tests/onnx_writer.h) is
// imported into a network; the pass under test runs on a copy of its IR graph (graph before/after), and
// the whole network is built twice through the builder, with and without the pass (BuilderConfigImpl::
// disabledPasses), and run on the CPU with the same seeded inputs (outputs before vs after).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "builder/builder_impl.h"
#include "engine_util.h"
#include "ir/op_registry.h"
#include "kiln/onnx_parser.h"
#include "network/network_impl.h"
#include "onnx_writer.h"
#include "passes/pass.h"
#include "plan/plan.h"
#include "test_util.h"

namespace kiln::test::fusion {

using namespace onnxw;

inline std::string modelBytes(const GraphSpec& g, int64_t opsetVersion = 20) {
  return model(graph(g), {opset("", opsetVersion)}).bytes;
}

//! A float32 initializer of random values in [lo, hi).
inline Msg randomInit(const std::string& name, const std::vector<int64_t>& dims, uint32_t seed, float lo = -1.f,
                      float hi = 1.f) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return tensorFloats(name, dims, randomFloats(n, seed, lo, hi));
}
inline Msg scalarInit(const std::string& name, float v) { return tensorFloats(name, {}, {v}); }

//! Constant parameters (scale, bias, mean, var) of a BatchNormalization `p` over `c` channels, and the node.
inline std::vector<Msg> bnInits(const std::string& p, int64_t c, uint32_t seed) {
  return {randomInit(p + "_scale", {c}, seed, 0.5f, 1.5f), randomInit(p + "_b", {c}, seed + 1, -0.5f, 0.5f),
          randomInit(p + "_mean", {c}, seed + 2, -0.5f, 0.5f), randomInit(p + "_var", {c}, seed + 3, 0.2f, 1.5f)};
}
inline Msg bnNode(const std::string& p, const std::string& in, const std::string& out) {
  return node("BatchNormalization", {in, p + "_scale", p + "_b", p + "_mean", p + "_var"}, {out}, p,
              {attrFloat("epsilon", 1e-3f)});
}

struct Imported {
  CaptureLogger logger;
  std::unique_ptr<Builder> builder = createBuilder(logger);
  std::unique_ptr<NetworkDefinition> net = builder->createNetwork();
};

inline std::unique_ptr<Imported> import(const std::string& bytes) {
  auto m = std::make_unique<Imported>();
  auto parser = onnx::createParser(*m->net, m->logger);
  EXPECT_TRUE(parser->parse(bytes.data(), bytes.size())) << m->logger.all();
  EXPECT_TRUE(m->net->impl().inferShapes()) << m->logger.all();
  return m;
}

//! The network's IR graph (shapes inferred), as the builder sees it before its passes.
inline std::unique_ptr<ir::Graph> importGraph(const std::string& bytes) { return import(bytes)->net->impl().graph().clone(); }

inline std::vector<std::string> opsOf(const ir::Graph& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.nodes) ops.push_back(n->op);
  return ops;
}
inline const ir::Node* findOp(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n->op == op) return n.get();
  return nullptr;
}
inline int countOp(const ir::Graph& g, const std::string& op) {
  auto ops = opsOf(g);
  return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

//! Runs one pass (to its own fixpoint, as the manager does), then verifies the graph.
inline bool runPass(ir::Graph& g, bool (*pass)(ir::Graph&, passes::PassContext&)) {
  CaptureLogger logger;
  passes::PassContext ctx{logger, ir::defaultOpRegistry()};
  bool changed = false;
  while (pass(g, ctx)) changed = true;
  g.verify();
  ir::inferGraphInPlace(ir::defaultOpRegistry(), g);  // the result must still infer
  return changed;
}

struct Built {
  std::unique_ptr<HostMemory> plan;
  std::unique_ptr<ir::Graph> graph;  //!< the plan's optimized graph
};

inline Built build(const std::string& bytes, const std::set<std::string>& disabled) {
  auto m = import(bytes);
  auto config = m->builder->createBuilderConfig();
  config->setDefaultDeviceType(DeviceType::kCPU);
  config->impl().disabledPasses = disabled;
  Built b;
  b.plan = m->builder->buildSerializedNetwork(*m->net, *config);
  EXPECT_NE(b.plan, nullptr) << m->logger.all();
  if (b.plan) b.graph = plan::readPlan(b.plan->data(), b.plan->size(), nullptr).graph;
  return b;
}

inline std::map<std::string, HostTensor> run(const HostMemory& plan, const std::map<std::string, HostTensor>& inputs) {
  CaptureLogger logger;
  Runtime rt(logger);
  auto engine = rt.deserializeEngine(plan.data(), plan.size());
  EXPECT_NE(engine, nullptr) << logger.all();
  if (!engine) return {};
  return runEngine(*engine, inputs);
}

//! max |a - b| / max |b| (normwise relative error); 1 if the sizes differ.
inline double relError(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1.0;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - double(b[i])));
    den = std::max(den, std::fabs(double(b[i])));
  }
  return den == 0 ? num : num / den;
}

struct Comparison {
  Built before, after;
  double relError{1};
};

//! Builds the model without the passes `disabled` and with every pass, runs both on the inputs; relError
//! over all outputs.
inline Comparison compareWithout(const std::string& bytes, const std::set<std::string>& disabled,
                                 const std::map<std::string, HostTensor>& inputs) {
  Comparison c;
  c.before = build(bytes, disabled);
  c.after = build(bytes, {});
  if (!c.before.plan || !c.after.plan) return c;
  auto ref = run(*c.before.plan, inputs);
  auto out = run(*c.after.plan, inputs);
  c.relError = 0;
  EXPECT_EQ(ref.size(), out.size());
  for (const auto& [name, t] : ref) {
    EXPECT_TRUE(out.count(name)) << name;
    if (!out.count(name)) continue;
    EXPECT_EQ(out[name].dims, t.dims) << name;
    c.relError = std::max(c.relError, relError(out[name].data, t.data));
  }
  std::printf("    %zu -> %zu nodes, rel. error %.3g\n", c.before.graph ? c.before.graph->nodes.size() : size_t{0},
              c.after.graph ? c.after.graph->nodes.size() : size_t{0}, c.relError);
  return c;
}

inline HostTensor randomInput(const std::vector<int64_t>& dims, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  HostTensor t;
  t.dims.nbDims = static_cast<int32_t>(dims.size());
  int64_t n = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    t.dims.d[i] = dims[i];
    n *= dims[i];
  }
  t.data = randomFloats(n, seed, lo, hi);
  return t;
}

inline std::vector<std::string> dimsStr(const std::vector<int64_t>& d) {
  std::vector<std::string> s;
  for (int64_t v : d) s.push_back(std::to_string(v));
  return s;
}

}  // namespace kiln::test::fusion
