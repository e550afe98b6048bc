// GPU layers whose parameters are graph inputs (host-read "value inputs": Reduce axes, Resize scales/sizes,
// Pad pads, Slice starts/ends, CumSum axis, TopK K), Clip with run-time bounds (read on the device), and the
// data-dependent ops (NonZero, Compress, Unique, NonMaxSuppression). End to end: the same ONNX model built for
// the CPU and the GPU, run with the same inputs (page-locked on the GPU), values changed in place between
// runs (shapes re-inferred, CUDA graphs recaptured), error cases; kernels against the CPU reference.
#include <cmath>
#include <cstring>
#include <map>

#include "gpu_op.h"
#include "kiln/onnx_parser.h"
#include "kiln/runtime.h"
#include "kiln/stream.h"
#include "engine_util.h"
#include "onnx_build_util.h"
#include "onnx_writer.h"

namespace kiln::test {
namespace {

using namespace onnxw;

constexpr int32_t kF32 = 1, kI64 = 7;

std::unique_ptr<BuiltEngine> buildFor(const Msg& m, DeviceType device) { return buildOnnxEngine(m.bytes, device); }

struct Tensor {
  DataType dt{DataType::kFLOAT};
  std::vector<int64_t> shape;
  std::vector<double> v;
};

std::vector<uint8_t> bytesOf(const Tensor& t) {
  std::vector<uint8_t> b(t.v.size() * dataTypeSize(t.dt));
  for (size_t i = 0; i < t.v.size(); ++i) {
    if (t.dt == DataType::kFLOAT) {
      float f = static_cast<float>(t.v[i]);
      std::memcpy(&b[i * 4], &f, 4);
    } else {
      int64_t q = static_cast<int64_t>(t.v[i]);
      std::memcpy(&b[i * 8], &q, 8);
    }
  }
  return b;
}

//! One context of an engine with persistent input buffers: set() writes values in place when the size is
//! unchanged (the address stays, only the values change).
class Runner {
 public:
  Runner(Engine& e, bool cudaGraph = false) : engine_(e), stream_(e.getDeviceType()) {
    ctx_ = e.createExecutionContext();
    if (cudaGraph) ctx_->setCudaGraphEnabled(true);
  }
  void set(const std::string& name, const Tensor& t, MemoryKind kind = MemoryKind::kPAGELOCKED) {
    auto bytes = bytesOf(t);
    auto& slot = in_[name];
    if (!slot || slot->size() != std::max<std::size_t>(bytes.size(), 1) || kind_[name] != kind) {
      slot = std::make_unique<Buffer>(std::max<std::size_t>(bytes.size(), 1), kind, engine_.getDeviceType());
      kind_[name] = kind;
    }
    if (!bytes.empty()) ASSERT_TRUE(kiln::memcpy(slot->data(), bytes.data(), bytes.size()));
    Dims d;
    d.nbDims = static_cast<int32_t>(t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i) d.d[i] = t.shape[i];
    ASSERT_TRUE(ctx_->setInputShape(name.c_str(), d));
    ASSERT_TRUE(ctx_->setTensorAddress(name.c_str(), slot->data()));
  }
  //! Runs and returns the outputs (as doubles); false if enqueue or the run failed.
  bool run(const std::vector<std::string>& outs, std::vector<Tensor>* result) {
    std::vector<std::unique_ptr<Buffer>> ob;
    for (const auto& o : outs) {
      Dims d = ctx_->getTensorShape(o.c_str());
      if (d.nbDims < 0) return false;
      Tensor t;
      t.dt = engine_.getTensorDataType(o.c_str());
      int64_t n = 1;
      for (int i = 0; i < d.nbDims; ++i) {
        t.shape.push_back(d.d[i]);
        n *= d.d[i];
      }
      t.v.resize(static_cast<size_t>(n));
      result->push_back(t);
      MemoryKind kind = engine_.getDeviceType() == DeviceType::kGPU ? MemoryKind::kDEVICE : MemoryKind::kPAGELOCKED;
      ob.push_back(std::make_unique<Buffer>(std::max<std::size_t>(static_cast<std::size_t>(n) * dataTypeSize(t.dt), 1), kind,
                                            engine_.getDeviceType()));
      if (!ctx_->setTensorAddress(o.c_str(), ob.back()->data())) return false;
    }
    if (!ctx_->enqueue(stream_)) return false;
    if (!stream_.synchronize()) return false;
    for (size_t k = 0; k < outs.size(); ++k) {
      Tensor& t = (*result)[k];
      std::vector<uint8_t> host(t.v.size() * dataTypeSize(t.dt));
      if (!host.empty() && !kiln::memcpy(host.data(), ob[k]->data(), host.size())) return false;
      for (size_t i = 0; i < t.v.size(); ++i) {
        if (t.dt == DataType::kFLOAT) {
          float f;
          std::memcpy(&f, &host[i * 4], 4);
          t.v[i] = f;
        } else if (t.dt == DataType::kINT64) {
          int64_t q;
          std::memcpy(&q, &host[i * 8], 8);
          t.v[i] = static_cast<double>(q);
        } else {
          ADD_FAILURE() << "output type";
        }
      }
    }
    return true;
  }

 private:
  Engine& engine_;
  Stream stream_;
  std::unique_ptr<ExecutionContext> ctx_;
  std::map<std::string, std::unique_ptr<Buffer>> in_;
  std::map<std::string, MemoryKind> kind_;
};

void expectSame(const std::vector<Tensor>& gpu, const std::vector<Tensor>& cpu, double tol = 1e-5) {
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t k = 0; k < gpu.size(); ++k) {
    SCOPED_TRACE("output " + std::to_string(k));
    ASSERT_EQ(gpu[k].shape, cpu[k].shape);
    for (size_t i = 0; i < gpu[k].v.size(); ++i) {
      double a = gpu[k].v[i], b = cpu[k].v[i];
      if (std::isnan(a) && std::isnan(b)) continue;
      ASSERT_LE(std::fabs(a - b), tol * (1 + std::fabs(b))) << "element " << i;
    }
  }
}

Tensor f32(std::vector<int64_t> shape, uint32_t seed) {
  Tensor t;
  t.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  for (float f : randomFloats(n, seed, -2.f, 2.f)) t.v.push_back(f);
  return t;
}
Tensor i64(std::vector<int64_t> shape, std::vector<double> v) { return {DataType::kINT64, std::move(shape), std::move(v)}; }
Tensor f32v(std::vector<int64_t> shape, std::vector<double> v) { return {DataType::kFLOAT, std::move(shape), std::move(v)}; }

std::vector<std::string> dimStrings(const std::vector<int64_t>& s) {
  std::vector<std::string> d;
  for (int64_t v : s) d.push_back(std::to_string(v));
  return d;
}

//! A one-node model; `inputs` name -> (elem type, dims; "" dims entries are dynamic).
Msg oneNode(const std::string& op, const std::vector<std::pair<std::string, std::pair<int32_t, std::vector<std::string>>>>& inputs,
            const std::vector<std::string>& nodeInputs, const std::vector<std::pair<std::string, int32_t>>& outputs,
            std::vector<Msg> attrs = {}, int64_t opsetV = 19) {
  GraphSpec g;
  for (const auto& in : inputs) g.inputs.push_back(valueInfo(in.first, in.second.first, in.second.second));
  std::vector<std::string> outs;
  for (const auto& o : outputs) {
    g.outputs.push_back(valueInfo(o.first, o.second, {}));
    outs.push_back(o.first);
  }
  g.nodes = {node(op, nodeInputs, outs, op + "_0", attrs)};
  return model(graph(g), {opset("", opsetV)});
}

//! Builds the model for both devices and runs each input set (values changed in place) on both.
void compareRuns(const Msg& m, const std::vector<std::map<std::string, Tensor>>& runs, const std::vector<std::string>& outs,
                 bool cudaGraph = false, double tol = 1e-5) {
  auto cpu = buildFor(m, DeviceType::kCPU);
  ASSERT_TRUE(cpu->engine) << cpu->logger.all();
  auto gpu = buildFor(m, DeviceType::kGPU);
  ASSERT_TRUE(gpu->engine) << gpu->logger.all();
  Runner rc(*cpu->engine), rg(*gpu->engine, cudaGraph);
  for (size_t r = 0; r < runs.size(); ++r) {
    SCOPED_TRACE("run " + std::to_string(r));
    for (const auto& kv : runs[r]) {
      rc.set(kv.first, kv.second);
      rg.set(kv.first, kv.second);
    }
    std::vector<Tensor> a, b;
    ASSERT_TRUE(rc.run(outs, &a)) << cpu->logger.all();
    ASSERT_TRUE(rg.run(outs, &b)) << gpu->logger.all();
    expectSame(b, a, tol);
  }
}

// ---- host-read parameters ---------------------------------------------------------------------------------
TEST(RuntimeParamsGpu, ReduceAxesInputChangesBetweenRuns) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"ReduceSum", "ReduceMax", "ReduceLogSumExp", "ReduceMean"})
    for (int keep : {0, 1}) {
      SCOPED_TRACE(std::string(op) + " keepdims " + std::to_string(keep));
      Msg m = oneNode(op, {{"x", {kF32, {"2", "3", "4"}}}, {"axes", {kI64, {"1"}}}}, {"x", "axes"}, {{"y", kF32}},
                      {attrInt("keepdims", keep)}, 18);
      Tensor x = f32({2, 3, 4}, 1);
      compareRuns(m,
                  {{{"x", x}, {"axes", i64({1}, {1})}},
                   {{"x", x}, {"axes", i64({1}, {-1})}},  // same address, new values: shapes re-inferred
                   {{"x", x}, {"axes", i64({1}, {0})}}},
                  {"y"}, /*cudaGraph=*/keep == 1);
      Msg m2 = oneNode(op, {{"x", {kF32, {"2", "3", "4"}}}, {"axes", {kI64, {"2"}}}}, {"x", "axes"}, {{"y", kF32}},
                       {attrInt("keepdims", keep)}, 18);
      compareRuns(m2, {{{"x", x}, {"axes", i64({2}, {0, 2})}}, {{"x", x}, {"axes", i64({2}, {-1, 1})}}}, {"y"});
    }
}

TEST(RuntimeParamsGpu, ResizeScalesAndSizesInputs) {
  KILN_REQUIRE_GPU();
  Tensor x = f32({1, 2, 3, 4}, 2);
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    SCOPED_TRACE(mode);
    Msg ms = oneNode("Resize", {{"x", {kF32, {"1", "2", "3", "4"}}}, {"scales", {kF32, {"4"}}}}, {"x", "", "scales"},
                     {{"y", kF32}}, {attrString("mode", mode)});
    compareRuns(ms, {{{"x", x}, {"scales", f32v({4}, {1, 1, 2, 2})}}, {{"x", x}, {"scales", f32v({4}, {1, 1, 1.5, 0.5})}}}, {"y"},
                true, 1e-4);
    Msg mz = oneNode("Resize", {{"x", {kF32, {"1", "2", "3", "4"}}}, {"sizes", {kI64, {"4"}}}}, {"x", "", "", "sizes"},
                     {{"y", kF32}}, {attrString("mode", mode)});
    compareRuns(mz, {{{"x", x}, {"sizes", i64({4}, {1, 2, 5, 7})}}, {{"x", x}, {"sizes", i64({4}, {1, 2, 2, 3})}}}, {"y"}, false,
                1e-4);
  }
}

TEST(RuntimeParamsGpu, PadSliceCumSumTopKInputs) {
  KILN_REQUIRE_GPU();
  Tensor x = f32({3, 5}, 3);
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    SCOPED_TRACE(mode);
    Msg m = oneNode("Pad", {{"x", {kF32, {"3", "5"}}}, {"pads", {kI64, {"4"}}}}, {"x", "pads"}, {{"y", kF32}},
                    {attrString("mode", mode)});
    compareRuns(m, {{{"x", x}, {"pads", i64({4}, {1, 2, 0, 1})}}, {{"x", x}, {"pads", i64({4}, {2, 0, 1, 3})}}}, {"y"}, true);
  }
  Msg ms = oneNode("Slice",
                   {{"x", {kF32, {"3", "5"}}}, {"s", {kI64, {"2"}}}, {"e", {kI64, {"2"}}}, {"a", {kI64, {"2"}}}, {"st", {kI64, {"2"}}}},
                   {"x", "s", "e", "a", "st"}, {{"y", kF32}});
  compareRuns(ms,
              {{{"x", x}, {"s", i64({2}, {0, 1})}, {"e", i64({2}, {3, 4})}, {"a", i64({2}, {0, 1})}, {"st", i64({2}, {1, 2})}},
               {{"x", x}, {"s", i64({2}, {-1, 4})}, {"e", i64({2}, {-100, 0})}, {"a", i64({2}, {0, 1})}, {"st", i64({2}, {-1, -2})}}},
              {"y"}, true);
  for (int excl : {0, 1})
    for (int rev : {0, 1}) {
      Msg mc = oneNode("CumSum", {{"x", {kF32, {"3", "5"}}}, {"axis", {kI64, {}}}}, {"x", "axis"}, {{"y", kF32}},
                       {attrInt("exclusive", excl), attrInt("reverse", rev)}, 14);
      // the axis does not change shapes: a CUDA graph must still be recaptured when it changes
      compareRuns(mc, {{{"x", x}, {"axis", i64({}, {0})}}, {{"x", x}, {"axis", i64({}, {1})}}, {{"x", x}, {"axis", i64({}, {-2})}}},
                  {"y"}, true);
    }
  Msg mt = oneNode("TopK", {{"x", {kF32, {"3", "5"}}}, {"k", {kI64, {"1"}}}}, {"x", "k"}, {{"v", kF32}, {"i", kI64}},
                   {attrInt("axis", 1)}, 11);
  compareRuns(mt, {{{"x", x}, {"k", i64({1}, {2})}}, {{"x", x}, {"k", i64({1}, {5})}}, {{"x", x}, {"k", i64({1}, {0})}}},
              {"v", "i"}, true);
}

TEST(RuntimeParamsGpu, ClipBoundsOnTheDevice) {
  KILN_REQUIRE_GPU();
  Tensor x = f32({4, 7}, 4);
  Msg m = oneNode("Clip", {{"x", {kF32, {"4", "7"}}}, {"lo", {kF32, {}}}, {"hi", {kF32, {}}}}, {"x", "lo", "hi"}, {{"y", kF32}}, {},
                  13);
  compareRuns(m,
              {{{"x", x}, {"lo", f32v({}, {-0.5})}, {"hi", f32v({}, {0.75})}},
               {{"x", x}, {"lo", f32v({}, {-1.5})}, {"hi", f32v({}, {0.25})}},  // new values, same graph replayed
               {{"x", x}, {"lo", f32v({}, {1.0})}, {"hi", f32v({}, {-1.0})}}},  // min > max: all max
              {"y"}, true);
  Msg only = oneNode("Clip", {{"x", {kF32, {"4", "7"}}}, {"hi", {kF32, {}}}}, {"x", "", "hi"}, {{"y", kF32}}, {}, 13);
  compareRuns(only, {{{"x", x}, {"hi", f32v({}, {0.1})}}}, {"y"});
}

TEST(RuntimeParamsGpu, ValueInputOnDeviceMemoryIsRefusedClearly) {
  KILN_REQUIRE_GPU();
  for (bool shapeChanging : {true, false}) {
    Msg m = shapeChanging ? oneNode("ReduceSum", {{"x", {kF32, {"2", "3"}}}, {"axes", {kI64, {"1"}}}}, {"x", "axes"}, {{"y", kF32}}, {}, 18)
                          : oneNode("CumSum", {{"x", {kF32, {"2", "3"}}}, {"axis", {kI64, {}}}}, {"x", "axis"}, {{"y", kF32}}, {}, 14);
    auto gpu = buildFor(m, DeviceType::kGPU);
    ASSERT_TRUE(gpu->engine) << gpu->logger.all();
    Runner r(*gpu->engine);
    r.set("x", f32({2, 3}, 5));
    if (shapeChanging) r.set("axes", i64({1}, {1}), MemoryKind::kDEVICE);
    else r.set("axis", i64({}, {1}), MemoryKind::kDEVICE);
    std::vector<Tensor> out;
    EXPECT_FALSE(r.run({"y"}, &out));
    EXPECT_TRUE(gpu->logger.contains("page-locked")) << gpu->logger.all();
  }
}

TEST(RuntimeParamsGpu, ComputedParameterFailsTheBuildWithTheLayerName) {
  KILN_REQUIRE_GPU();
  GraphSpec g;
  g.inputs = {valueInfo("x", kF32, {"2", "3"}), valueInfo("a", kI64, {"1"})};
  g.outputs = {valueInfo("y", kF32, {})};
  g.initializers = {tensorInt64s("one", {1}, {1})};
  g.nodes = {node("Sub", {"a", "one"}, {"axes"}, "sub"), node("ReduceSum", {"x", "axes"}, {"y"}, "my_reduce")};
  Msg m = model(graph(g), {opset("", 18)});
  auto gpu = buildFor(m, DeviceType::kGPU);
  EXPECT_FALSE(gpu->engine);
  EXPECT_TRUE(gpu->logger.contains("my_reduce")) << gpu->logger.all();
  EXPECT_TRUE(gpu->logger.contains("computed by layer")) << gpu->logger.all();
}

// ---- data-dependent output extents ------------------------------------------------------------------------
GpuOpOptions allConstant(int n) {
  GpuOpOptions o;
  for (int i = 0; i < n; ++i) o.constantInputs.push_back(i);
  return o;
}

TEST(RuntimeParamsGpu, NonZeroAndCompressMatchCpu) {
  KILN_REQUIRE_GPU();
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) v.push_back((i * 7919) % 5 == 0 ? 0.0 : (i % 11) - 5.0);
  for (DataType dt : {DataType::kFLOAT, DataType::kHALF, DataType::kINT64, DataType::kBOOL, DataType::kINT8}) {
    SCOPED_TRACE(static_cast<int>(dt));
    expectGpuMatchesCpu("NonZero", {}, {makeTyped(dt, {3000}, v)}, 1, allConstant(1));
    expectGpuMatchesCpu("NonZero", {}, {makeTyped(dt, {10, 3, 100}, v)}, 1, allConstant(1));
  }
  expectGpuMatchesCpu("NonZero", {}, {makeTyped(DataType::kFLOAT, {}, {3.0})}, 1, allConstant(1));
  expectGpuMatchesCpu("NonZero", {}, {makeTyped(DataType::kFLOAT, {4}, {0, 0, 0, 0})}, 1, allConstant(1));
  TensorPtr x = randomTensor({4, 5, 6}, 7);
  TensorPtr cond = makeTyped(DataType::kBOOL, {5}, {1, 0, 1, 1, 0});
  for (int64_t axis : {0, 1, -1}) {
    ir::Attributes a;
    a.setInt("axis", axis);
    TensorPtr c = makeTyped(DataType::kBOOL, {axis == 0 ? 3 : 5}, axis == 0 ? std::vector<double>{0, 1, 1} : std::vector<double>{1, 0, 1, 1, 0});
    if (axis == -1) c = makeTyped(DataType::kBOOL, {6}, {1, 1, 0, 0, 0, 1});
    expectGpuMatchesCpu("Compress", a, {x, c}, 1, allConstant(2));
  }
  std::vector<double> many;
  for (int i = 0; i < 2500; ++i) many.push_back(i % 3 == 1);
  expectGpuMatchesCpu("Compress", {}, {randomTensor({50, 60}, 8), makeTyped(DataType::kBOOL, {2500}, many)}, 1, allConstant(2));
  expectGpuMatchesCpu("Compress", {}, {makeTyped(DataType::kINT64, {2, 3}, {1, 2, 3, 4, 5, 6}), makeTyped(DataType::kBOOL, {4}, {0, 1, 0, 1})},
                      1, allConstant(2));
}

TEST(RuntimeParamsGpu, UniqueMatchesCpu) {
  KILN_REQUIRE_GPU();
  std::vector<double> v;
  for (int i = 0; i < 600; ++i) v.push_back(static_cast<double>((i * 37) % 23) - 11.0);
  for (int sorted : {0, 1}) {
    ir::Attributes a;
    a.setInt("sorted", sorted);
    for (DataType dt : {DataType::kFLOAT, DataType::kINT64, DataType::kHALF}) {
      SCOPED_TRACE("sorted " + std::to_string(sorted) + " dtype " + std::to_string(static_cast<int>(dt)));
      expectGpuMatchesCpu("Unique", a, {makeTyped(dt, {600}, v)}, 4, allConstant(1));
      expectGpuMatchesCpu("Unique", a, {makeTyped(dt, {2, 3, 4}, {1, 2, 1, 2, 3, 3, 1, 2, 1, 2, 3, 3, 1, 2, 1, 2, 3, 3, 0, 0, 0, 0, 0, 0})}, 4,
                          allConstant(1));
      for (int64_t axis : {0, 1, -1}) {
        ir::Attributes b = a;
        b.setInt("axis", axis);
        expectGpuMatchesCpu("Unique", b,
                            {makeTyped(dt, {3, 4, 2}, {1, 2, 1, 2, 3, 3, 1, 2, 1, 2, 3, 3, 1, 2, 1, 2, 3, 3, 0, 0, 0, 0, 0, 0})}, 4,
                            allConstant(1));
      }
    }
  }
}

TEST(RuntimeParamsGpu, NonMaxSuppressionMatchesCpu) {
  KILN_REQUIRE_GPU();
  // random boxes with many overlaps, 2 batches, 3 classes, ties in scores
  const int64_t B = 2, C = 3, N = 200;
  std::vector<float> bx, sc;
  std::vector<float> r = randomFloats(B * N * 4, 11, 0.f, 1.f);
  for (int64_t i = 0; i < B * N; ++i) {
    float y = r[static_cast<size_t>(i * 4)] * 10, x = r[static_cast<size_t>(i * 4 + 1)] * 10;
    float h = 0.5f + r[static_cast<size_t>(i * 4 + 2)] * 3, w = 0.5f + r[static_cast<size_t>(i * 4 + 3)] * 3;
    if (i % 2) bx.insert(bx.end(), {y, x, y + h, x + w});
    else bx.insert(bx.end(), {y + h, x + w, y, x});  // flipped corners
  }
  std::vector<float> s = randomFloats(B * C * N, 12, 0.f, 1.f);
  for (size_t i = 0; i < s.size(); ++i) sc.push_back(i % 17 == 0 ? 0.5f : std::round(s[i] * 50) / 50);  // ties
  TensorPtr boxes = floatTensor({B, N, 4}, bx), scores = floatTensor({B, C, N}, sc);
  for (int center : {0, 1})
    for (int64_t maxOut : {0, 1, 5, 1000})
      for (float iou : {0.f, 0.3f, 0.7f, 1.f})
        for (bool scoreT : {false, true}) {
          SCOPED_TRACE("center " + std::to_string(center) + " max " + std::to_string(maxOut) + " iou " + std::to_string(iou) +
                       " score threshold " + std::to_string(scoreT));
          ir::Attributes a;
          a.setInt("center_point_box", center);
          std::vector<TensorPtr> in{boxes, scores, int64Tensor({1}, {maxOut}), floatTensor({1}, {iou})};
          if (scoreT) in.push_back(floatTensor({1}, {0.4f}));
          expectGpuMatchesCpu("NonMaxSuppression", a, in, 1, allConstant(static_cast<int>(in.size())));
        }
  // no optional inputs: nothing selected
  expectGpuMatchesCpu("NonMaxSuppression", {}, {boxes, scores}, 1, allConstant(2));
}

TEST(RuntimeParamsGpu, NonMaxSuppressionEngineWithGraphInputs) {
  KILN_REQUIRE_GPU();
  Msg m = oneNode("NonMaxSuppression",
                  {{"boxes", {kF32, {"1", "6", "4"}}}, {"scores", {kF32, {"1", "1", "6"}}}, {"max", {kI64, {"1"}}},
                   {"iou", {kF32, {"1"}}}, {"score", {kF32, {"1"}}}},
                  {"boxes", "scores", "max", "iou", "score"}, {{"sel", kI64}}, {}, 11);
  Tensor boxes = f32v({1, 6, 4}, {0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101});
  Tensor scores = f32v({1, 1, 6}, {0.9, 0.75, 0.6, 0.95, 0.5, 0.3});
  compareRuns(m,
              {{{"boxes", boxes}, {"scores", scores}, {"max", i64({1}, {3})}, {"iou", f32v({1}, {0.5})}, {"score", f32v({1}, {0})}},
               {{"boxes", boxes}, {"scores", scores}, {"max", i64({1}, {2})}, {"iou", f32v({1}, {0.5})}, {"score", f32v({1}, {0})}},
               {{"boxes", boxes}, {"scores", scores}, {"max", i64({1}, {10})}, {"iou", f32v({1}, {0.0})}, {"score", f32v({1}, {0.4})}}},
              {"sel"}, true);
}

// ---- RNN / GRU / LSTM -------------------------------------------------------------------------------------
TEST(RecurrentGpu, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  struct Case {
    const char* op;
    const char* dir;
    int layout;
    bool bias, seqLens, init, peep;
    std::vector<std::string> acts;
    float clip;
    int lbr, inputForget;
  };
  const Case cases[] = {
      {"RNN", "forward", 0, true, false, false, false, {}, 0, 0, 0},
      {"RNN", "bidirectional", 1, true, true, true, false, {"Relu", "Tanh"}, 0, 0, 0},
      {"GRU", "forward", 0, true, false, true, false, {}, 0, 0, 0},
      {"GRU", "reverse", 0, false, true, false, false, {}, 0, 1, 0},
      {"GRU", "bidirectional", 1, true, true, true, false, {"HardSigmoid", "Softsign", "Sigmoid", "Tanh"}, 0.8f, 0, 0},
      {"LSTM", "forward", 0, true, false, false, false, {}, 0, 0, 0},
      {"LSTM", "bidirectional", 0, true, true, true, true, {}, 0, 0, 1},
      {"LSTM", "reverse", 1, true, true, true, true, {"LeakyRelu", "ScaledTanh", "Affine"}, 0.5f, 0, 0},
  };
  const int64_t S = 5, B = 3, I = 4, H = 6;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " " + c.dir + " layout " + std::to_string(c.layout));
    const int64_t D = std::string(c.dir) == "bidirectional" ? 2 : 1;
    const int64_t G = std::string(c.op) == "RNN" ? 1 : std::string(c.op) == "GRU" ? 3 : 4;
    ir::Attributes a;
    a.setString("direction", c.dir);
    a.setInt("hidden_size", H);
    a.setInt("layout", c.layout);
    if (!c.acts.empty()) a.setStrings("activations", c.acts);
    if (c.clip > 0) a.setFloat("clip", c.clip);
    if (c.lbr) a.setInt("linear_before_reset", 1);
    if (c.inputForget) a.setInt("input_forget", 1);
    std::vector<TensorPtr> in;
    in.push_back(randomTensor(c.layout ? ir::Shape{B, S, I} : ir::Shape{S, B, I}, 21));
    in.push_back(randomTensor({D, G * H, I}, 22, -0.6f, 0.6f));
    in.push_back(randomTensor({D, G * H, H}, 23, -0.6f, 0.6f));
    in.push_back(c.bias ? randomTensor({D, 2 * G * H}, 24) : nullptr);
    in.push_back(c.seqLens ? makeTyped(DataType::kINT32, {B}, {5, 2, 0}) : nullptr);
    in.push_back(c.init ? randomTensor(c.layout ? ir::Shape{B, D, H} : ir::Shape{D, B, H}, 25) : nullptr);
    const bool lstm = G == 4;
    if (lstm) {
      in.push_back(c.init ? randomTensor(c.layout ? ir::Shape{B, D, H} : ir::Shape{D, B, H}, 26) : nullptr);
      in.push_back(c.peep ? randomTensor({D, 3 * H}, 27) : nullptr);
    }
    while (!in.empty() && !in.back()) in.pop_back();
    GpuOpOptions o;
    o.constantInputs = {1, 2, 3, 7};
    expectGpuMatchesCpu(c.op, a, in, lstm ? 3 : 2, o, 1e-4, 1e-5);
  }
}

}  // namespace
}  // namespace kiln::test
