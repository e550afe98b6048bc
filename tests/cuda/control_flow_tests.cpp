// GPU kernels of Scan and If (src/backends/cuda/control_flow.cpp, subgraph.cpp) against the CPU reference:
// one-node graphs (several states, scan inputs and outputs, reverse directions, axes != 0, outputs that are
// body inputs, constants or repeated values, slices read and written in place, zero iterations, an If
// nested in a Scan body; If on conditions of several types, branches of different shapes, outputs passed
// through), end to end through ONNX models built for both devices (a condition computed on the device,
// values changed in place between runs, CUDA graphs replaying an If and a Scan), and error cases.
#include <cmath>
#include <cstring>
#include <map>

#include "engine_util.h"
#include "gpu_op.h"
#include "ir/op_registry.h"
#include "kiln/stream.h"
#include "onnx_build_util.h"
#include "onnx_writer.h"

namespace kiln::test {
namespace {

using GraphPtr = std::shared_ptr<const ir::Graph>;

//! The graph with its values' types and shapes inferred (kernels are created from them, as from imported
//! bodies).
GraphPtr typed(std::shared_ptr<ir::Graph> g) {
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *g);
  return g;
}

//! body(s, x) -> (s + x, s + x through an Identity)
GraphPtr sumBody(const ir::Shape& s) {
  auto g = std::make_shared<ir::Graph>();
  ir::Value* a = g->addValue("s", DataType::kFLOAT, s);
  ir::Value* b = g->addValue("x", DataType::kFLOAT, s);
  g->inputs = {a, b};
  ir::Node* add = g->addNode("Add", "add", {a, b}, 1);
  g->outputs = {add->outputs[0], g->addNode("Identity", "id", {add->outputs[0]}, 1)->outputs[0]};
  return typed(g);
}

ir::Attributes scanAttrs(GraphPtr body, int64_t numScanInputs, int64_t numCaptured = 0) {
  ir::Attributes a;
  a.setGraph("body", std::move(body));
  a.setInt("num_scan_inputs", numScanInputs);
  a.setInt("num_captured", numCaptured);
  return a;
}

TEST(GpuScan, RunningSumInPlaceAndCopiedSlices) {
  KILN_REQUIRE_GPU();
  // [T, 64] float: 256-byte slices, read and written in place; [T, 3]: 12-byte slices, copied
  for (int64_t w : {64, 3}) {
    SCOPED_TRACE("width " + std::to_string(w));
    expectGpuMatchesCpu("Scan", scanAttrs(sumBody({w}), 1), {randomTensor({w}, 1), randomTensor({7, w}, 2)}, 2, {}, 1e-6, 1e-6);
  }
}

//! States s0 [2,3], s1 [3]; scan inputs x0 [2,3] (axis 1 of [2,T,3]), x1 [3] (axis 0, reversed); captured w [3].
//! Outputs: s0' = s0 * w + x0, s1' = s1 + x1; scan outputs s0' (again), s1' * x1, s1' (again), x1 (a body
//! input), a constant.
GraphPtr multiBody() {
  auto g = std::make_shared<ir::Graph>();
  ir::Value* s0 = g->addValue("s0", DataType::kFLOAT, {2, 3});
  ir::Value* s1 = g->addValue("s1", DataType::kFLOAT, {3});
  ir::Value* x0 = g->addValue("x0", DataType::kFLOAT, {2, 3});
  ir::Value* x1 = g->addValue("x1", DataType::kFLOAT, {3});
  ir::Value* w = g->addValue("w", DataType::kFLOAT, {3});
  g->inputs = {s0, s1, x0, x1, w};
  ir::Value* c = g->addConstant("c", floatTensor({3}, {7, 8, 9}));
  ir::Value* a = g->addNode("Mul", "mul", {s0, w}, 1)->outputs[0];
  ir::Value* s0n = g->addNode("Add", "add0", {a, x0}, 1)->outputs[0];
  ir::Value* s1n = g->addNode("Add", "add1", {s1, x1}, 1)->outputs[0];
  ir::Value* y1 = g->addNode("Mul", "mul1", {s1n, x1}, 1)->outputs[0];
  g->outputs = {s0n, s1n, s0n, y1, s1n, x1, c};
  return typed(g);
}

TEST(GpuScan, SeveralStatesAxesDirectionsAndPassThroughOutputs) {
  KILN_REQUIRE_GPU();
  ir::Attributes a = scanAttrs(multiBody(), 2, 1);
  a.setInts("scan_input_axes", {1, 0});
  a.setInts("scan_input_directions", {0, 1});
  a.setInts("scan_output_axes", {2, 0, -1, 1, 0});
  a.setInts("scan_output_directions", {1, 0, 1, 0, 1});
  const int64_t T = 5;
  std::vector<TensorPtr> in = {randomTensor({2, 3}, 3), randomTensor({3}, 4), randomTensor({2, T, 3}, 5),
                               randomTensor({T, 3}, 6), randomTensor({3}, 7, 0.5f, 1.f)};
  auto got = expectGpuMatchesCpu("Scan", a, in, 7, {}, 1e-6, 1e-6);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(ir::shapeToString(got[2]->shape), ir::shapeToString(ir::Shape{2, 3, T}));
  EXPECT_EQ(ir::shapeToString(got[4]->shape), ir::shapeToString(ir::Shape{3, T}));
  // a single iteration (no state buffers) and constant / input captured as data
  in[2] = randomTensor({2, 1, 3}, 8);
  in[3] = randomTensor({1, 3}, 9);
  expectGpuMatchesCpu("Scan", a, in, 7, {}, 1e-6, 1e-6);
}

TEST(GpuScan, ZeroIterationsPassTheStatesThrough) {
  KILN_REQUIRE_GPU();
  auto got = expectGpuMatchesCpu("Scan", scanAttrs(sumBody({2}), 1), {floatTensor({2}, {3, 4}), floatTensor({0, 2}, {})}, 2);
  expectCloseValues(*got[0], {3, 4});
  EXPECT_EQ(got[1]->numel(), 0);
}

//! body(s [4], x [4]): s' = If(sum(x) > 0, then s + x, else s - x); outputs (s', s').
GraphPtr bodyWithIf() {
  auto branch = [](const char* op) {
    auto b = std::make_shared<ir::Graph>();
    ir::Value* s = b->addValue("s", DataType::kFLOAT, {4});
    ir::Value* x = b->addValue("x", DataType::kFLOAT, {4});
    b->inputs = {s, x};
    b->outputs = {b->addNode(op, "op", {s, x}, 1)->outputs[0]};
    return typed(b);
  };
  auto g = std::make_shared<ir::Graph>();
  ir::Value* s = g->addValue("s", DataType::kFLOAT, {4});
  ir::Value* x = g->addValue("x", DataType::kFLOAT, {4});
  g->inputs = {s, x};
  ir::Node* sum = g->addNode("ReduceSum", "sum", {x}, 1);
  sum->attrs.setInt("keepdims", 0);
  ir::Value* zero = g->addConstant("zero", floatTensor({}, {0}));
  ir::Value* cond = g->addNode("Greater", "gt", {sum->outputs[0], zero}, 1)->outputs[0];
  ir::Node* iff = g->addNode("If", "if", {cond, s, x}, 1);
  iff->attrs.setGraph("then_branch", branch("Add"));
  iff->attrs.setGraph("else_branch", branch("Sub"));
  g->outputs = {iff->outputs[0], iff->outputs[0]};
  return typed(g);
}

TEST(GpuScan, IfNestedInTheBody) {
  KILN_REQUIRE_GPU();
  // rows with positive and negative sums: both branches are taken
  auto got = expectGpuMatchesCpu("Scan", scanAttrs(bodyWithIf(), 1), {randomTensor({4}, 10), randomTensor({9, 4}, 11, -1.f, 1.f)},
                                 2, {}, 1e-6, 1e-6);
  EXPECT_EQ(got[1]->numel(), 36);
}

TEST(GpuScan, Errors) {
  KILN_REQUIRE_GPU();
  // a body whose shapes depend on values computed on the device
  auto g = std::make_shared<ir::Graph>();
  ir::Value* s = g->addValue("s", DataType::kINT64, {});
  ir::Value* x = g->addValue("x", DataType::kFLOAT, {3});
  g->inputs = {s, x};
  ir::Value* nz = g->addNode("NonZero", "nz", {x}, 1)->outputs[0];
  ir::Node* cnt = g->addNode("ReduceSum", "cnt", {nz}, 1);
  cnt->attrs.setInt("keepdims", 0);
  ir::Value* s2 = g->addNode("Add", "add", {s, cnt->outputs[0]}, 1)->outputs[0];
  g->outputs = {s2};
  typed(g);
  std::vector<TensorPtr> in = {int64Tensor({}, {0}), floatTensor({2, 3}, {1, 0, 1, 0, 0, 2})};
  expectCloseValues(*runOp("Scan", scanAttrs(g, 1), in)[0], {4});  // the CPU reference runs it
  try {
    runGpuOp("Scan", scanAttrs(g, 1), in);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("depends on values computed on the GPU"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'nz"), std::string::npos) << e.what();
  }
  // a body node without a GPU kernel: the tactic does not apply and says which node
  auto h = std::make_shared<ir::Graph>();
  ir::Value* hs = h->addValue("s", DataType::kFLOAT, {2});
  ir::Value* hx = h->addValue("x", DataType::kFLOAT, {2});
  h->inputs = {hs, hx};
  ir::Node* k = h->addNode("Constant", "konst", {}, 1);
  k->attrs.setTensor("value", floatTensor({2}, {1, 1}));
  h->outputs = {h->addNode("Add", "add", {hs, k->outputs[0]}, 1)->outputs[0]};
  typed(h);
  try {
    runGpuOp("Scan", scanAttrs(h, 1), {floatTensor({2}, {0, 0}), floatTensor({3, 2}, {1, 2, 3, 4, 5, 6})});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Scan body node 'konst' (Constant): no GPU kernel supports it"), std::string::npos)
        << e.what();
  }
  // inconsistent nodes fail as on the CPU
  EXPECT_THROW(runGpuOp("Scan", scanAttrs(sumBody({2}), 1), {floatTensor({3}, {0, 0, 0}), randomTensor({4, 2}, 1)}, 2), Error);
}

//! A branch reading the captured x [3]: op(x, x), or x itself (op "") or a constant (op "const").
GraphPtr branch(const std::string& op) {
  auto g = std::make_shared<ir::Graph>();
  ir::Value* x = g->addValue("x", DataType::kFLOAT, {3});
  g->inputs = {x};
  if (op.empty()) g->outputs = {x};
  else if (op == "const") g->outputs = {g->addConstant("c", floatTensor({3}, {5, 6, 7}))};
  else if (op == "Concat") {
    ir::Node* n = g->addNode(op, "n", {x, x}, 1);
    n->attrs.setInt("axis", 0);
    g->outputs = {n->outputs[0]};
  } else if (op == "Neg") {
    g->outputs = {g->addNode(op, "n", {x}, 1)->outputs[0]};
  } else {
    g->outputs = {g->addNode(op, "n", {x, x}, 1)->outputs[0]};
  }
  return typed(g);
}

ir::Attributes ifAttrs(const std::string& thenOp, const std::string& elseOp) {
  ir::Attributes a;
  a.setGraph("then_branch", branch(thenOp));
  a.setGraph("else_branch", branch(elseOp));
  return a;
}

TEST(GpuIf, ConditionsOfSeveralTypesOnTheDevice) {
  KILN_REQUIRE_GPU();
  ir::Attributes a = ifAttrs("Add", "Mul");
  auto x = floatTensor({3}, {1, 2, 3});
  const std::vector<float> add{2, 4, 6}, mul{1, 4, 9};
  struct Case {
    TensorPtr cond;
    const std::vector<float>* want;
  };
  const Case cases[] = {{typedTensor<bool>({}, {1}), &add},        {typedTensor<bool>({1}, {0}), &mul},
                        {floatTensor({}, {-0.f}), &mul},            {floatTensor({1, 1}, {0.25f}), &add},
                        {floatTensor({}, {std::nanf("")}), &add},   {int64Tensor({}, {0}), &mul},
                        {int64Tensor({}, {int64_t{1} << 40}), &add}, {typedTensor<int32_t>({}, {-1}), &add}};
  for (const Case& c : cases) {
    auto got = expectGpuMatchesCpu("If", a, {c.cond, x}, 1, {}, 0, 0);
    expectCloseValues(*got[0], *c.want);
  }
}

TEST(GpuIf, OutputsPassedThroughAndBranchesOfDifferentShapes) {
  KILN_REQUIRE_GPU();
  auto x = randomTensor({3}, 12);
  // then returns the captured input itself, else a constant of the branch
  for (bool c : {true, false}) expectGpuMatchesCpu("If", ifAttrs("", "const"), {typedTensor<bool>({}, {c}), x}, 1, {}, 0, 0);
  // [6] or [3]: allowed where the condition is known when shapes are inferred (here a constant)
  GpuOpOptions constantCond;
  constantCond.constantInputs = {0};
  for (bool c : {true, false}) {
    auto got = expectGpuMatchesCpu("If", ifAttrs("Concat", "Neg"), {typedTensor<bool>({}, {c}), x}, 1, constantCond, 0, 0);
    EXPECT_EQ(got[0]->numel(), c ? 6 : 3);
  }
}

//! Creates the GPU kernel of a one-node If graph and runs it on device copies of `cond` and `x`.
void runIfKernelDirectly(const ir::Attributes& attrs, const ir::TensorData& cond, const ir::TensorData& x) {
  ir::Graph g;
  ir::Value* c = g.addValue("c", cond.dtype, cond.shape);
  ir::Value* xv = g.addValue("x", x.dtype, x.shape);
  g.inputs = {c, xv};
  ir::Node* n = g.addNode("If", "if", {c, xv}, 1);
  n->attrs = attrs;
  n->outputs[0]->dtype = x.dtype;
  n->outputs[0]->shape = x.shape;
  const backend::Tactic* t = gpu::kernelRegistry().find("If", "cuda");
  ASSERT_NE(t, nullptr);
  auto kernel = t->create(*n);
  auto dc = gpu::deviceBlock(256), dx = gpu::deviceBlock(256), dy = gpu::deviceBlock(256);
  gpu::copy(dc.get(), cond.raw(), cond.byteSize());
  gpu::copy(dx.get(), x.raw(), x.byteSize());
  backend::TensorView in[2], out[1];
  in[0] = {dc.get(), cond.dtype, cond.shape, cond.numel(), true};
  in[1] = {dx.get(), x.dtype, x.shape, x.numel(), true};
  out[0] = {dy.get(), x.dtype, x.shape, x.numel(), true};
  const std::size_t ws = kernel->workspaceSize(in, out);
  auto wsBlock = gpu::deviceBlock(ws + 256);
  void* stream = gpu::createStream();
  std::shared_ptr<void> owner(stream, [](void* s) { gpu::destroyStream(s); });
  backend::KernelContext kc;
  kc.inputs = in;
  kc.outputs = out;
  kc.workspace = wsBlock.get();
  kc.workspaceBytes = ws;
  kc.stream = stream;
  kernel->run(kc);
  gpu::synchronizeStream(stream);
}

TEST(GpuIf, Errors) {
  KILN_REQUIRE_GPU();
  auto x = floatTensor({3}, {1, 2, 3});
  EXPECT_NO_THROW(runIfKernelDirectly(ifAttrs("Add", "Mul"), *typedTensor<bool>({}, {1}), *x));
  try {
    runIfKernelDirectly(ifAttrs("Add", "Mul"), *typedTensor<bool>({2}, {1, 0}), *x);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the condition must have one element"), std::string::npos) << e.what();
  }
  // the taken branch gives [6] where the engine expects [3]
  try {
    runIfKernelDirectly(ifAttrs("Concat", "Neg"), *typedTensor<bool>({}, {1}), *x);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the taken branch's output 0 has shape [6], the engine expected [3]"), std::string::npos)
        << e.what();
  }
  // a branch that does not match the node
  ir::Attributes bad = ifAttrs("Add", "Mul");
  bad.setGraph("else_branch", sumBody({3}));
  EXPECT_THROW(runGpuOp("If", bad, {typedTensor<bool>({}, {1}), x}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// End to end: ONNX models built for the CPU and the GPU.

using namespace onnxw;
constexpr int32_t kF32 = 1, kI64 = 7;

struct HostValues {
  DataType dt{DataType::kFLOAT};
  std::vector<int64_t> shape;
  std::vector<double> v;
};

//! One context with persistent buffers (the same addresses every run: CUDA graphs replay). GPU inputs:
//! float32 in device memory, int64 in page-locked memory (values read on the host).
class Session {
 public:
  Session(Engine& e, bool cudaGraph) : engine_(e), stream_(e.getDeviceType()), ctx_(e.createExecutionContext()) {
    if (cudaGraph) EXPECT_TRUE(ctx_->setCudaGraphEnabled(true));
  }
  bool run(const std::map<std::string, HostValues>& inputs, const std::vector<std::string>& outs, std::vector<HostValues>* result) {
    const bool gpu = engine_.getDeviceType() == DeviceType::kGPU;
    for (const auto& kv : inputs) {
      const HostValues& t = kv.second;
      std::vector<uint8_t> bytes(t.v.size() * dataTypeSize(t.dt));
      for (size_t i = 0; i < t.v.size(); ++i) {
        if (t.dt == DataType::kFLOAT) {
          const float f = static_cast<float>(t.v[i]);
          std::memcpy(&bytes[i * 4], &f, 4);
        } else {
          const int64_t q = static_cast<int64_t>(t.v[i]);
          std::memcpy(&bytes[i * 8], &q, 8);
        }
      }
      Buffer* b = buffer(kv.first, bytes.size(), gpu && t.dt == DataType::kFLOAT ? MemoryKind::kDEVICE : MemoryKind::kPAGELOCKED);
      if (!bytes.empty() && !kiln::memcpy(b->data(), bytes.data(), bytes.size())) return false;
      Dims d;
      d.nbDims = static_cast<int32_t>(t.shape.size());
      for (size_t i = 0; i < t.shape.size(); ++i) d.d[i] = t.shape[i];
      if (!ctx_->setInputShape(kv.first.c_str(), d) || !ctx_->setTensorAddress(kv.first.c_str(), b->data())) return false;
    }
    result->clear();
    std::vector<Buffer*> ob;
    for (const auto& o : outs) {
      Dims d = ctx_->getTensorShape(o.c_str());
      if (d.nbDims < 0) return false;
      HostValues t;
      t.dt = engine_.getTensorDataType(o.c_str());
      for (int i = 0; i < d.nbDims; ++i) t.shape.push_back(d.d[i]);
      t.v.resize(static_cast<size_t>(std::max<int64_t>(volume(d), 0)));
      ob.push_back(buffer(o, t.v.size() * dataTypeSize(t.dt), gpu ? MemoryKind::kDEVICE : MemoryKind::kPAGELOCKED));
      if (!ctx_->setTensorAddress(o.c_str(), ob.back()->data())) return false;
      result->push_back(std::move(t));
    }
    if (!ctx_->enqueue(stream_) || !stream_.synchronize()) return false;
    for (size_t k = 0; k < outs.size(); ++k) {
      HostValues& t = (*result)[k];
      std::vector<uint8_t> host(t.v.size() * dataTypeSize(t.dt));
      if (!host.empty() && !kiln::memcpy(host.data(), ob[k]->data(), host.size())) return false;
      for (size_t i = 0; i < t.v.size(); ++i) {
        float f;
        std::memcpy(&f, &host[i * 4], 4);
        t.v[i] = f;
      }
    }
    return true;
  }

 private:
  //! The buffer named `name`, kept while its size and kind stay.
  Buffer* buffer(const std::string& name, std::size_t bytes, MemoryKind kind) {
    bytes = std::max<std::size_t>(bytes, 1);
    auto& slot = buffers_[name];
    if (!slot || slot->size() != bytes || kinds_[name] != kind) {
      slot = std::make_unique<Buffer>(bytes, kind, engine_.getDeviceType());
      kinds_[name] = kind;
    }
    return slot.get();
  }
  Engine& engine_;
  Stream stream_;
  std::unique_ptr<ExecutionContext> ctx_;
  std::map<std::string, std::unique_ptr<Buffer>> buffers_;
  std::map<std::string, MemoryKind> kinds_;
};

//! Builds `m` for both devices and runs each input set on both (GPU: with and without CUDA graphs; the
//! buffers keep their addresses, so a CUDA graph captured in the first run replays in the next ones).
void compareOnDevices(const Msg& m, const std::vector<std::map<std::string, HostValues>>& runs, const std::vector<std::string>& outs) {
  auto cpu = buildOnnxEngine(m.bytes, DeviceType::kCPU);
  ASSERT_TRUE(cpu->engine) << cpu->logger.all();
  auto gpu = buildOnnxEngine(m.bytes, DeviceType::kGPU);
  ASSERT_TRUE(gpu->engine) << gpu->logger.all();
  Session sc(*cpu->engine, false), sg(*gpu->engine, false), sgGraph(*gpu->engine, true);
  for (size_t r = 0; r < runs.size(); ++r) {
    SCOPED_TRACE("run " + std::to_string(r));
    std::vector<HostValues> a, b, c;
    ASSERT_TRUE(sc.run(runs[r], outs, &a)) << cpu->logger.all();
    ASSERT_TRUE(sg.run(runs[r], outs, &b)) << gpu->logger.all();
    ASSERT_TRUE(sgGraph.run(runs[r], outs, &c)) << gpu->logger.all();
    ASSERT_EQ(a.size(), outs.size());
    for (size_t k = 0; k < outs.size(); ++k) {
      SCOPED_TRACE(outs[k]);
      EXPECT_EQ(b[k].shape, a[k].shape);
      EXPECT_EQ(c[k].shape, a[k].shape);
      for (size_t i = 0; i < a[k].v.size() && i < b[k].v.size() && i < c[k].v.size(); ++i) {
        EXPECT_NEAR(b[k].v[i], a[k].v[i], 1e-6 * (1 + std::fabs(a[k].v[i]))) << "element " << i;
        EXPECT_NEAR(c[k].v[i], a[k].v[i], 1e-6 * (1 + std::fabs(a[k].v[i]))) << "CUDA graph, element " << i;
      }
    }
  }
}

HostValues f32(std::vector<int64_t> shape, std::vector<double> v) { return {DataType::kFLOAT, std::move(shape), std::move(v)}; }

//! y = If(sum(x) > 0, then x * 2, else -x): the condition is computed on the device.
Msg ifModel() {
  GraphSpec thenG, elseG, g;
  thenG.name = "then";
  thenG.initializers = {tensorFloats("two", {}, {2.f})};
  thenG.nodes = {node("Mul", {"x", "two"}, {"t_out"}, "t_mul")};
  thenG.outputs = {valueInfo("t_out", kF32, {"4"})};
  elseG.name = "else";
  elseG.nodes = {node("Neg", {"x"}, {"e_out"}, "e_neg")};
  elseG.outputs = {valueInfo("e_out", kF32, {"4"})};
  g.inputs = {valueInfo("x", kF32, {"4"})};
  g.initializers = {tensorFloats("zero", {}, {0.f})};
  g.nodes = {node("ReduceSum", {"x"}, {"sum"}, "sum", {attrInt("keepdims", 0)}),
             node("Greater", {"sum", "zero"}, {"cond"}, "gt"),
             node("If", {"cond"}, {"y"}, "if", {attrGraph("then_branch", graph(thenG)), attrGraph("else_branch", graph(elseG))})};
  g.outputs = {valueInfo("y", kF32, {"4"})};
  return model(graph(g), {opset("", 17)});
}

TEST(GpuControlFlowEndToEnd, IfWithConditionOnTheDeviceAndCudaGraphs) {
  KILN_REQUIRE_GPU();
  compareOnDevices(ifModel(),
                   {{{"x", f32({4}, {1, 2, 3, -1})}}, {{"x", f32({4}, {-1, -2, 0.5, 1})}}, {{"x", f32({4}, {0, 0, 0, 1e-3})}}},
                   {"y"});
}

//! Scan (opset 16): state [2] and x [T, 2] scanned along axis 1 of x^T [2, T], reversed; outputs the final
//! sum and the running sums.
Msg scanModel() {
  GraphSpec body, g;
  body.name = "body";
  body.inputs = {valueInfo("s", kF32, {"2"}), valueInfo("xi", kF32, {"2"})};
  body.nodes = {node("Add", {"s", "xi"}, {"s_next"}, "add"), node("Identity", {"s_next"}, {"y_i"}, "id")};
  body.outputs = {valueInfo("s_next", kF32, {"2"}), valueInfo("y_i", kF32, {"2"})};
  g.inputs = {valueInfo("s0", kF32, {"2"}), valueInfo("x", kF32, {"2", "5"})};
  g.nodes = {node("Scan", {"s0", "x"}, {"s_final", "ys"}, "scan",
                  {attrGraph("body", graph(body)), attrInt("num_scan_inputs", 1), attrInts("scan_input_axes", {1}),
                   attrInts("scan_input_directions", {1})})};
  g.outputs = {valueInfo("s_final", kF32, {"2"}), valueInfo("ys", kF32, {"5", "2"})};
  return model(graph(g), {opset("", 16)});
}

TEST(GpuControlFlowEndToEnd, ScanWithCudaGraphs) {
  KILN_REQUIRE_GPU();
  compareOnDevices(scanModel(),
                   {{{"s0", f32({2}, {1, -1})}, {"x", f32({2, 5}, {1, 2, 3, 4, 5, 10, 20, 30, 40, 50})}},
                    {{"s0", f32({2}, {0, 0.5})}, {"x", f32({2, 5}, {-1, -2, -3, -4, -5, 1, 2, 3, 4, 5})}}},
                   {"s_final", "ys"});
}

//! y = If(n > 0, then Concat(x, x), else x * 1): [8] or [4]; n is an int64 input the runtime reads on the
//! host, so the output shape is known when the context is prepared.
Msg ifShapesModel() {
  GraphSpec thenG, elseG, g;
  thenG.name = "then";
  thenG.nodes = {node("Concat", {"x", "x"}, {"t_out"}, "t_cat", {attrInt("axis", 0)})};
  thenG.outputs = {valueInfo("t_out", kF32, {"8"})};
  elseG.name = "else";
  elseG.initializers = {tensorFloats("one", {}, {1.f})};
  elseG.nodes = {node("Mul", {"x", "one"}, {"e_out"}, "e_mul")};
  elseG.outputs = {valueInfo("e_out", kF32, {"4"})};
  g.inputs = {valueInfo("x", kF32, {"4"}), valueInfo("n", kI64, {})};
  g.initializers = {tensorInt64s("zero", {}, {0})};
  g.nodes = {node("Greater", {"n", "zero"}, {"cond"}, "gt"),
             node("If", {"cond"}, {"y"}, "if", {attrGraph("then_branch", graph(thenG)), attrGraph("else_branch", graph(elseG))})};
  g.outputs = {valueInfo("y", kF32, {})};
  return model(graph(g), {opset("", 17)});
}

TEST(GpuControlFlowEndToEnd, BranchesOfDifferentShapes) {
  KILN_REQUIRE_GPU();
  const Msg m = ifShapesModel();
  auto cpu = buildOnnxEngine(m.bytes, DeviceType::kCPU);
  ASSERT_TRUE(cpu->engine) << cpu->logger.all();
  auto gpu = buildOnnxEngine(m.bytes, DeviceType::kGPU);
  ASSERT_TRUE(gpu->engine) << gpu->logger.all();
  Session sc(*cpu->engine, false), sg(*gpu->engine, false);
  const HostValues x = f32({4}, {1, 2, 3, 4});
  for (int64_t n : {1, 0, 5}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::map<std::string, HostValues> in{{"x", x}, {"n", {DataType::kINT64, {}, {static_cast<double>(n)}}}};
    std::vector<HostValues> a, b;
    ASSERT_TRUE(sc.run(in, {"y"}, &a)) << cpu->logger.all();
    ASSERT_TRUE(sg.run(in, {"y"}, &b)) << gpu->logger.all();
    EXPECT_EQ(a[0].shape, std::vector<int64_t>{n > 0 ? 8 : 4});
    EXPECT_EQ(b[0].shape, a[0].shape);
    EXPECT_EQ(b[0].v, a[0].v);
  }
  // under CUDA graph capture the taken branch cannot be known: a clear error naming the layer
  Session sgGraph(*gpu->engine, true);
  std::vector<HostValues> c;
  EXPECT_FALSE(sgGraph.run({{"x", x}, {"n", {DataType::kINT64, {}, {1}}}}, {"y"}, &c));
  EXPECT_TRUE(gpu->logger.contains("cannot be captured into a CUDA graph")) << gpu->logger.all();
  EXPECT_TRUE(gpu->logger.contains("layer 'if'")) << gpu->logger.all();
}

}  // namespace
}  // namespace kiln::test
