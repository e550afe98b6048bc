// fuse-matmul-integer (GPU pass): ONNX MatMulInteger / QLinearMatMul models, imported (lowered to an int32
// MatMul) and run through the default passes, then the pass: which graphs become MatMulInteger and which
// stay, and the outputs before and after through the CPU reference kernels (bit for bit, which also checks
// the MatMulInteger reference kernel against the lowered ops). The op's reference kernel against a naive
// loop, and its shape inference errors.
#include <cstring>

#include "backends/cpu/reference_run.h"
#include "fusion_util.h"

namespace kiln::test {
namespace {
using namespace fusion;

struct Input {
  std::string name;
  DataType dtype;
  ir::Shape shape;
  std::vector<uint8_t> bytes;
};

//! Random int8 / uint8 bytes (the full range of the type).
Input bytesInput(const std::string& name, DataType t, const ir::Shape& shape, uint32_t seed) {
  std::vector<int64_t> v = randomInts(ir::numElements(shape), seed, 0, 255);
  return {name, t, shape, std::vector<uint8_t>(v.begin(), v.end())};
}
Input floatInput(const std::string& name, const ir::Shape& shape, uint32_t seed, float lo, float hi) {
  std::vector<float> v = randomFloats(ir::numElements(shape), seed, lo, hi);
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return {name, DataType::kFLOAT, shape, b};
}

struct Fused {
  std::unique_ptr<ir::Graph> before, after;
};

//! Imports, runs the default passes (before), then fuse-matmul-integer and eliminate-dead-nodes (after);
//! runs both graphs through the reference kernels and expects identical output bytes.
Fused fuseAndCompare(const std::string& bytes, const std::vector<Input>& inputs) {
  Fused f;
  CaptureLogger logger;
  passes::PassContext ctx{logger, ir::defaultOpRegistry()};
  f.before = importGraph(bytes);
  passes::runToFixpoint(*f.before, passes::defaultPasses(), ctx);
  f.after = f.before->clone();
  passes::runToFixpoint(*f.after,
                        {{"fuse-matmul-integer", passes::fuseMatMulInteger},
                         {"eliminate-dead-nodes", passes::eliminateDeadNodes}},
                        ctx);
  f.after->verify();
  ir::inferGraphInPlace(ir::defaultOpRegistry(), *f.after);
  std::vector<cpu::ReferenceInput> ins;
  for (const Input& in : inputs)
    ins.push_back({in.name, in.dtype, in.shape, in.bytes.data(), in.bytes.size()});
  auto ra = cpu::runReference(*f.before, ins, false);
  auto rb = cpu::runReference(*f.after, ins, false);
  for (const ir::Value* o : f.before->outputs) {
    const ir::TensorData* x = ra.find(o->name);
    const ir::TensorData* y = rb.find(o->name);
    EXPECT_TRUE(x && y) << o->name;
    if (!x || !y) continue;
    EXPECT_EQ(ir::shapeToString(x->shape), ir::shapeToString(y->shape));
    const size_t n = static_cast<size_t>(x->numel()) * dataTypeSize(x->dtype);
    EXPECT_EQ(x->dtype, y->dtype);
    EXPECT_EQ(n, static_cast<size_t>(y->numel()) * dataTypeSize(y->dtype));
    EXPECT_EQ(0, std::memcmp(x->raw(), y->raw(),
                             std::min(n, static_cast<size_t>(y->numel()) * dataTypeSize(y->dtype))))
        << o->name;
  }
  return f;
}

int32_t onnxType(DataType t) {
  return t == DataType::kINT8 ? INT8 : UINT8;
}

TEST(FuseMatMulInteger, ZeroPointsAsInputs) {
  // per-row zero point of A, per-column of B, both graph inputs; A uint8, B int8; batched A
  GraphSpec g;
  g.inputs = {valueInfo("a", UINT8, {"2", "5", "12"}), valueInfo("b", INT8, {"12", "7"}),
              valueInfo("az", UINT8, {"5"}), valueInfo("bz", INT8, {"7"})};
  g.outputs = {valueInfo("y", INT32, {"2", "5", "7"})};
  g.nodes = {node("MatMulInteger", {"a", "b", "az", "bz"}, {"y"}, "mmi")};
  // ONNX allows per-row a_zero_point for 2-D A only; kiln's import reshapes it to [M, 1] for any rank
  Fused f = fuseAndCompare(
      modelBytes(g),
      {bytesInput("a", DataType::kUINT8, {2, 5, 12}, 1), bytesInput("b", DataType::kINT8, {12, 7}, 2),
       bytesInput("az", DataType::kUINT8, {5}, 3), bytesInput("bz", DataType::kINT8, {7}, 4)});
  EXPECT_EQ(countOp(*f.before, "MatMul"), 1);
  EXPECT_EQ(countOp(*f.after, "MatMulInteger"), 1);
  EXPECT_EQ(countOp(*f.after, "MatMul"), 0);
  EXPECT_EQ(countOp(*f.after, "Cast"), 0);
  EXPECT_EQ(countOp(*f.after, "Sub"), 0);
  const ir::Node* n = findOp(*f.after, "MatMulInteger");
  ASSERT_TRUE(n);
  ASSERT_EQ(n->inputs.size(), 4u);
  EXPECT_EQ(n->inputs[2]->shape, (ir::Shape{5}));
}

TEST(FuseMatMulInteger, NoZeroPointsBothTypes) {
  for (DataType ta : {DataType::kINT8, DataType::kUINT8})
    for (DataType tb : {DataType::kINT8, DataType::kUINT8}) {
      GraphSpec g;
      g.inputs = {valueInfo("a", onnxType(ta), {"9", "16"}), valueInfo("b", onnxType(tb), {"3", "16", "4"})};
      g.outputs = {valueInfo("y", INT32, {"3", "9", "4"})};
      g.nodes = {node("MatMulInteger", {"a", "b"}, {"y"}, "mmi")};
      Fused f = fuseAndCompare(modelBytes(g),
                               {bytesInput("a", ta, {9, 16}, 5), bytesInput("b", tb, {3, 16, 4}, 6)});
      EXPECT_EQ(countOp(*f.after, "MatMulInteger"), 1);
      const ir::Node* n = findOp(*f.after, "MatMulInteger");
      ASSERT_TRUE(n);
      EXPECT_EQ(n->inputs.size(), 2u);
    }
}

TEST(FuseMatMulInteger, FoldedWeightsAndConstantZeroPoints) {
  // B uint8 weights with zero point 128 fold into an int32 constant in [-128, 127]: it becomes int8;
  // A's zero point (a uint8 initializer) folds to an int32 constant and becomes uint8 again
  std::vector<int64_t> w = randomInts(16 * 6, 7, 0, 255);
  GraphSpec g;
  g.inputs = {valueInfo("a", UINT8, {"4", "16"})};
  g.outputs = {valueInfo("y", INT32, {"4", "6"})};
  g.initializers = {tensorRaw("w", UINT8, {16, 6}, std::vector<uint8_t>(w.begin(), w.end())),
                    tensorRaw("az", UINT8, {}, std::vector<uint8_t>{131}),
                    tensorRaw("wz", UINT8, {}, std::vector<uint8_t>{128})};
  g.nodes = {node("MatMulInteger", {"a", "w", "az", "wz"}, {"y"}, "mmi")};
  Fused f = fuseAndCompare(modelBytes(g), {bytesInput("a", DataType::kUINT8, {4, 16}, 8)});
  const ir::Node* n = findOp(*f.after, "MatMulInteger");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->inputs[1]->isConstant());
  EXPECT_EQ(n->inputs[1]->dtype, DataType::kINT8);
  ASSERT_EQ(n->inputs.size(), 3u);
  EXPECT_EQ(n->inputs[2]->dtype, DataType::kUINT8);
}

TEST(FuseMatMulInteger, QLinearMatMul) {
  for (bool perColumn : {false, true}) {
    GraphSpec g;
    g.inputs = {valueInfo("a", UINT8, {"2", "6", "20"}),
                valueInfo("as", FLOAT, {}),
                valueInfo("az", UINT8, {}),
                valueInfo("b", UINT8, {"20", "8"}),
                valueInfo("bs", FLOAT, {perColumn ? "8" : "1"}),
                valueInfo("bz", UINT8, {perColumn ? "8" : "1"}),
                valueInfo("ys", FLOAT, {}),
                valueInfo("yz", UINT8, {})};
    g.outputs = {valueInfo("y", UINT8, {"2", "6", "8"})};
    g.nodes = {node("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"}, "qmm")};
    const int64_t nz = perColumn ? 8 : 1;
    Fused f = fuseAndCompare(
        modelBytes(g),
        {bytesInput("a", DataType::kUINT8, {2, 6, 20}, 9), floatInput("as", {}, 10, 0.01f, 0.05f),
         bytesInput("az", DataType::kUINT8, {}, 11), bytesInput("b", DataType::kUINT8, {20, 8}, 12),
         floatInput("bs", {nz}, 13, 0.01f, 0.05f), bytesInput("bz", DataType::kUINT8, {nz}, 14),
         floatInput("ys", {}, 15, 0.5f, 1.f), bytesInput("yz", DataType::kUINT8, {}, 16)});
    EXPECT_EQ(countOp(*f.after, "MatMulInteger"), 1) << perColumn;
    EXPECT_EQ(countOp(*f.after, "MatMul"), 0);
  }
}

TEST(FuseMatMulInteger, LeavesWhatItCannotTake) {
  // folded weights that fit neither int8 nor uint8 (uint8 weights, zero point 3): stays an int32 MatMul
  std::vector<uint8_t> w(16 * 6);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>(i * 37 % 256);
  GraphSpec g;
  g.inputs = {valueInfo("a", UINT8, {"4", "16"})};
  g.outputs = {valueInfo("y", INT32, {"4", "6"})};
  g.initializers = {tensorRaw("w", UINT8, {16, 6}, w), tensorRaw("wz", UINT8, {}, std::vector<uint8_t>{3})};
  g.nodes = {node("MatMulInteger", {"a", "w", "", "wz"}, {"y"}, "mmi")};
  Fused f = fuseAndCompare(modelBytes(g), {bytesInput("a", DataType::kUINT8, {4, 16}, 17)});
  EXPECT_EQ(countOp(*f.after, "MatMulInteger"), 0);
  EXPECT_EQ(countOp(*f.after, "MatMul"), 1);
  // an int32 MatMul of int32 inputs is not touched
  GraphSpec h;
  h.inputs = {valueInfo("a", INT32, {"4", "16"}), valueInfo("b", INT32, {"16", "3"})};
  h.outputs = {valueInfo("y", INT32, {"4", "3"})};
  h.nodes = {node("MatMul", {"a", "b"}, {"y"}, "mm")};
  auto graph = importGraph(modelBytes(h));
  EXPECT_FALSE(runPass(*graph, passes::fuseMatMulInteger));
}

TEST(MatMulIntegerReference, MatchesNaiveLoop) {
  // [2, 3, 5] x [5, 4] with per-row / per-column zero points
  const int64_t B = 2, M = 3, K = 5, N = 4;
  std::vector<int64_t> av = randomInts(B * M * K, 20, -128, 127), bv = randomInts(K * N, 21, 0, 255);
  std::vector<int8_t> a(av.begin(), av.end()), za{-3, 0, 7};
  std::vector<uint8_t> b(bv.begin(), bv.end()), zb{1, 200, 0, 255};
  auto y = runOp("MatMulInteger", {},
                 {typedTensor<int8_t>({B, M, K}, a), typedTensor<uint8_t>({K, N}, b),
                  typedTensor<int8_t>({M}, za), typedTensor<uint8_t>({N}, zb)})[0];
  ASSERT_EQ(y->dtype, DataType::kINT32);
  ASSERT_EQ(ir::shapeToString(y->shape), ir::shapeToString({B, M, N}));
  std::vector<int32_t> got = values<int32_t>(*y);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += (a[(bi * M + m) * K + k] - za[m]) * (int64_t{b[k * N + n]} - zb[n]);
        EXPECT_EQ(got[(bi * M + m) * N + n], s);
      }
}

TEST(MatMulIntegerReference, ShapeInferenceErrors) {
  auto i8 = [](const ir::Shape& s) {
    return typedTensor<int8_t>(s, std::vector<int8_t>(ir::numElements(s), 1));
  };
  // float input, K mismatch, zero point of another type, per-row zero point of the wrong length
  EXPECT_THROW(runOp("MatMulInteger", {}, {randomTensor({2, 3}, 1), i8({3, 2})}), Error);
  EXPECT_THROW(runOp("MatMulInteger", {}, {i8({2, 3}), i8({4, 2})}), Error);
  EXPECT_THROW(runOp("MatMulInteger", {}, {i8({2, 3}), i8({3, 2}), typedTensor<uint8_t>({}, {1})}), Error);
  EXPECT_THROW(runOp("MatMulInteger", {}, {i8({2, 3}), i8({3, 2}), i8({3})}), Error);
  EXPECT_THROW(runOp("MatMulInteger", {}, {i8({2, 3}), i8({3, 2}), i8({2}), i8({3})}), Error);
  EXPECT_NO_THROW(runOp("MatMulInteger", {}, {i8({2, 3}), i8({3, 2}), i8({2}), i8({2})}));
}

}  // namespace
}  // namespace kiln::test
