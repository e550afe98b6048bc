// Writes the seed corpora of the fuzz targets (not committed; scripts/fuzz.sh runs this first):
//   kiln_fuzz_seeds OUTDIR  ->  OUTDIR/fuzz_plan/*.plan   plans of small networks built with the layer API
//                               OUTDIR/fuzz_onnx/*.onnx   small ONNX models (tests/onnx_writer.h)
//                               OUTDIR/fuzz_proto/*       the same models and some bare messages
//                               OUTDIR/fuzz_npy/*.npy     arrays of every supported type, several ranks
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/npy.h"
#include "fuzz_common.h"
#include "onnx_writer.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

fs::path gOut;
int gCount = 0;

void save(const std::string& target, const std::string& name, const void* data, std::size_t size) {
  fs::create_directories(gOut / target);
  std::ofstream f(gOut / target / name, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  ++gCount;
}

Weights w(const std::vector<float>& v) { return Weights{DataType::kFLOAT, v.data(), static_cast<int64_t>(v.size())}; }

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.25f;
  return v;
}

Dims dims(std::initializer_list<int64_t> l) {
  Dims d;
  d.nbDims = static_cast<int32_t>(l.size());
  int i = 0;
  for (int64_t x : l) d.d[i++] = x;
  return d;
}

// Builds one network with `fill` and saves its plan; `dynamic` adds a profile (1..4) for input "x".
void plan(const std::string& name, const std::function<void(NetworkDefinition&)>& fill,
          const char* dynamicInput = nullptr, Dims minD = {}, Dims optD = {}, Dims maxD = {}) {
  auto& log = fuzz::logger();
  auto builder = createBuilder(log);
  auto net = builder->createNetwork();
  fill(*net);
  auto config = builder->createBuilderConfig();
  config->setNbThreads(1);
  config->setFlag(BuilderFlag::kNO_TACTIC_TIMING);
  if (dynamicInput) {
    auto p = builder->createOptimizationProfile();
    p->setDimensions(dynamicInput, OptProfileSelector::kMIN, minD);
    p->setDimensions(dynamicInput, OptProfileSelector::kOPT, optD);
    p->setDimensions(dynamicInput, OptProfileSelector::kMAX, maxD);
    config->addOptimizationProfile(p.get());
  }
  auto bytes = builder->buildSerializedNetwork(*net, *config);
  if (!bytes) {
    std::fprintf(stderr, "kiln_fuzz_seeds: plan '%s' did not build\n", name.c_str());
    return;
  }
  save("fuzz_plan", name + ".plan", bytes->data(), bytes->size());
}

void plans() {
  static const auto k = ramp(4 * 2 * 3 * 3), b = ramp(4), c = ramp(6);
  plan("conv_relu_pool", [](NetworkDefinition& n) {
    auto* x = n.addInput("x", DataType::kFLOAT, dims({1, 2, 6, 6}));
    auto* conv = n.addConvolutionNd(*x, 4, dims({3, 3}), w(k), w(b));
    auto* act = n.addActivation(*conv->getOutput(0), ActivationType::kRELU);
    auto* pool = n.addPoolingNd(*act->getOutput(0), PoolingType::kMAX, dims({2, 2}));
    n.markOutput(*pool->getOutput(0));
  });
  plan("eltwise_const_softmax", [](NetworkDefinition& n) {
    auto* x = n.addInput("x", DataType::kFLOAT, dims({2, 3}));
    auto* cst = n.addConstant(dims({2, 3}), w(c));
    auto* sum = n.addElementWise(*x, *cst->getOutput(0), ElementWiseOperation::kSUM);
    auto* sm = n.addSoftMax(*sum->getOutput(0));
    n.markOutput(*sm->getOutput(0));
  });
  plan("matmul_unary_reduce", [](NetworkDefinition& n) {
    auto* a = n.addInput("a", DataType::kFLOAT, dims({2, 3}));
    auto* bb = n.addInput("b", DataType::kFLOAT, dims({3, 2}));
    auto* mm = n.addMatrixMultiply(*a, MatrixOperation::kNONE, *bb, MatrixOperation::kNONE);
    auto* u = n.addUnary(*mm->getOutput(0), UnaryOperation::kEXP);
    auto* r = n.addReduce(*u->getOutput(0), ReduceOperation::kSUM, 2u, true);
    n.markOutput(*r->getOutput(0));
    n.markOutput(*mm->getOutput(0));
  });
  plan("shuffle_concat", [](NetworkDefinition& n) {
    auto* x = n.addInput("x", DataType::kFLOAT, dims({2, 3, 4}));
    auto* s = n.addShuffle(*x);
    s->setReshapeDimensions(dims({6, 4}));
    Permutation p;
    p.order[0] = 1, p.order[1] = 0;
    s->setSecondTranspose(p);
    Tensor* ins[2] = {s->getOutput(0), s->getOutput(0)};
    auto* cat = n.addConcatenation(ins, 2);
    n.markOutput(*cat->getOutput(0));
  });
  plan("dynamic_batch", [](NetworkDefinition& n) {
    auto* x = n.addInput("x", DataType::kFLOAT, dims({-1, 3}));
    auto* act = n.addActivation(*x, ActivationType::kSIGMOID);
    auto* r = n.addReduce(*act->getOutput(0), ReduceOperation::kMAX, 1u, false);
    n.markOutput(*r->getOutput(0));
  }, "x", dims({1, 3}), dims({2, 3}), dims({4, 3}));
  plan("int_cast_gather", [](NetworkDefinition& n) {
    auto* x = n.addInput("x", DataType::kFLOAT, dims({4, 2}));
    static const std::vector<int32_t> idx{3, 0, 1};
    auto* ic = n.addConstant(dims({3}), Weights{DataType::kINT32, idx.data(), 3});
    auto* g = n.addGather(*x, *ic->getOutput(0), 0);
    auto* cast = n.addCast(*g->getOutput(0), DataType::kINT32);
    n.markOutput(*cast->getOutput(0));
  });
}

void onnxModels() {
  namespace o = test::onnxw;
  auto emit = [](const std::string& name, const o::Msg& m) {
    save("fuzz_onnx", name + ".onnx", m.bytes.data(), m.bytes.size());
    save("fuzz_proto", name + ".pb", m.bytes.data(), m.bytes.size());
  };
  {
    o::GraphSpec g;
    g.nodes = {o::node("Add", {"x", "y"}, {"s"}, "add"), o::node("Relu", {"s"}, {"out"}, "relu")};
    g.inputs = {o::valueInfo("x", o::FLOAT, {"2", "3"}), o::valueInfo("y", o::FLOAT, {"2", "3"})};
    g.outputs = {o::valueInfo("out", o::FLOAT, {"2", "3"})};
    emit("add_relu", o::model(o::graph(g)));
  }
  {
    o::GraphSpec g;
    g.nodes = {o::node("Conv", {"x", "w", "b"}, {"c"}, "conv", {o::attrInts("pads", {1, 1, 1, 1}), o::attrInts("kernel_shape", {3, 3})}),
               o::node("MaxPool", {"c"}, {"p"}, "pool", {o::attrInts("kernel_shape", {2, 2}), o::attrInts("strides", {2, 2})}),
               o::node("GlobalAveragePool", {"p"}, {"g"}, "gap"), o::node("Flatten", {"g"}, {"f"}, "flat", {o::attrInt("axis", 1)}),
               o::node("Gemm", {"f", "wf", "bf"}, {"l"}, "fc", {o::attrInt("transB", 1)}),
               o::node("Softmax", {"l"}, {"out"}, "sm", {o::attrInt("axis", 1)})};
    g.initializers = {o::tensorRaw("w", o::FLOAT, {4, 2, 3, 3}, ramp(72)), o::tensorFloats("b", {4}, ramp(4)),
                      o::tensorRaw("wf", o::FLOAT, {3, 4}, ramp(12)), o::tensorFloats("bf", {3}, ramp(3))};
    g.inputs = {o::valueInfo("x", o::FLOAT, {"1", "2", "6", "6"})};
    g.outputs = {o::valueInfo("out", o::FLOAT, {"1", "3"})};
    emit("cnn", o::model(o::graph(g), {o::opset("", 13)}));
  }
  {
    o::GraphSpec g;
    g.nodes = {o::node("Shape", {"x"}, {"sh"}, "shape"),
               o::node("Gather", {"sh", "i0"}, {"n"}, "gather", {o::attrInt("axis", 0)}),
               o::node("Concat", {"n", "m1"}, {"ns"}, "concat", {o::attrInt("axis", 0)}),
               o::node("Reshape", {"x", "ns"}, {"r"}, "reshape"),
               o::node("MatMul", {"r", "wm"}, {"mm"}, "matmul"),
               o::node("ReduceSum", {"mm"}, {"out"}, "rs", {o::attrInt("keepdims", 0)})};
    g.initializers = {o::tensorInt64s("i0", {1}, {0}), o::tensorInt64s("m1", {1}, {-1}),
                      o::tensorRaw("wm", o::FLOAT, {6, 2}, ramp(12))};
    g.inputs = {o::valueInfo("x", o::FLOAT, {"N", "2", "3"})};
    g.outputs = {o::valueInfo("out", o::FLOAT, {})};
    emit("dynamic_reshape_matmul", o::model(o::graph(g), {o::opset("", 11)}));
  }
  {
    o::GraphSpec g;
    g.nodes = {o::node("Slice", {"x", "st", "en"}, {"s"}, "slice"),
               o::node("Transpose", {"s"}, {"t"}, "tr", {o::attrInts("perm", {1, 0})}),
               o::node("Cast", {"t"}, {"ci"}, "cast", {o::attrInt("to", o::INT64)}),
               o::node("Unsqueeze", {"ci", "ax"}, {"u"}, "unsq"),
               o::node("Where", {"cond", "u", "u"}, {"out"}, "where")};
    g.initializers = {o::tensorInt64s("st", {2}, {0, 1}), o::tensorInt64s("en", {2}, {2, 4}),
                      o::tensorInt64s("ax", {1}, {0}), o::tensorRaw("cond", o::BOOL, {1}, std::vector<uint8_t>{1})};
    g.inputs = {o::valueInfo("x", o::FLOAT, {"3", "4"})};
    g.outputs = {o::valueInfo("out", o::INT64, {"1", "3", "2"})};
    emit("slice_transpose_cast", o::model(o::graph(g), {o::opset("", 17)}));
  }
  {
    o::GraphSpec then, els, g;
    then.nodes = {o::node("Identity", {"x"}, {"a"}, "id")};
    then.outputs = {o::valueInfo("a", o::FLOAT, {"2"})};
    els.nodes = {o::node("Neg", {"x"}, {"b"}, "neg")};
    els.outputs = {o::valueInfo("b", o::FLOAT, {"2"})};
    g.nodes = {o::node("Constant", {}, {"c"}, "k", {o::attrTensor("value", o::tensorRaw("cv", o::BOOL, {}, std::vector<uint8_t>{1}))}),
               o::node("If", {"c"}, {"out"}, "if", {o::attrGraph("then_branch", o::graph(then)), o::attrGraph("else_branch", o::graph(els))}),
               o::node("LayerNormalization", {"out", "sc"}, {"ln"}, "ln", {o::attrFloat("epsilon", 1e-5f)})};
    g.initializers = {o::tensorFloats("sc", {2}, {1.f, 2.f})};
    g.inputs = {o::valueInfo("x", o::FLOAT, {"2"})};
    g.outputs = {o::valueInfo("ln", o::FLOAT, {"2"})};
    emit("if_constant_layernorm", o::model(o::graph(g), {o::opset("", 17)}));
  }
  // bare messages for the wire decoder: a tensor with every typed field, groups, packed and unpacked
  o::Msg t = o::tensorHeader("t", o::DOUBLE, {2});
  t.packedDoubles(10, {1.0, -2.0}).packedU64(11, {1, 2}).varint(5, 7).varint(5, 1ull << 63).fixed64(6, 5).f32(4, 1.5f);
  save("fuzz_proto", "tensor_fields.pb", t.bytes.data(), t.bytes.size());
  std::string grp = "\x0b\x08\x01\x13\x10\x02\x14\x0c\x18\x03";  // group 1 { f1=1, group 2 { f2=2 } } f3=3
  save("fuzz_proto", "groups.pb", grp.data(), grp.size());
}

void npys() {
  struct Case {
    const char* name;
    DataType dt;
    std::vector<int64_t> shape;
  };
  const Case cases[] = {{"f32_2x3", DataType::kFLOAT, {2, 3}},  {"f64_scalar", DataType::kDOUBLE, {}},
                        {"f16_4", DataType::kHALF, {4}},        {"i8_2x2x2", DataType::kINT8, {2, 2, 2}},
                        {"i16_3", DataType::kINT16, {3}},       {"i32_1x1", DataType::kINT32, {1, 1}},
                        {"i64_0x3", DataType::kINT64, {0, 3}},  {"u8_5", DataType::kUINT8, {5}},
                        {"u16_2", DataType::kUINT16, {2}},      {"u32_2", DataType::kUINT32, {2}},
                        {"u64_1", DataType::kUINT64, {1}},      {"bool_3", DataType::kBOOL, {3}}};
  for (const auto& c : cases) {
    npy::Array a;
    a.dtype = c.dt;
    a.shape = c.shape;
    a.data.assign(static_cast<std::size_t>(a.numel()) * dataTypeSize(c.dt), 1);
    auto bytes = npy::write(a);
    save("fuzz_npy", std::string(c.name) + ".npy", bytes.data(), bytes.size());
  }
  // a long shape forces the 2.0 header
  npy::Array big;
  big.shape.assign(40, 1);
  big.data.assign(4, 0);
  auto bytes = npy::write(big);
  save("fuzz_npy", "f32_rank40_v2.npy", bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kiln_fuzz_seeds OUTDIR\n");
    return 2;
  }
  gOut = argv[1];
  plans();
  onnxModels();
  npys();
  std::printf("kiln_fuzz_seeds: %d seeds in %s\n", gCount, gOut.string().c_str());
  return 0;
}
