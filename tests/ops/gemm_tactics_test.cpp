// The "gemm" tactics (packed SGEMM: MatMul, Gemm, Conv via im2col) against the reference kernels, with
// both micro-kernels (AVX2/FMA where the CPU has it, and the portable one).
#include "backends/cpu/gemm/sgemm.h"
#include "backends/cpu/kernel.h"
#include "core/cpu_features.h"
#include "test_util.h"

namespace kiln::test {
namespace {

std::vector<cpu::gemm_detail::MicroKernel> microKernels() {
  std::vector<cpu::gemm_detail::MicroKernel> ks{cpu::gemm_detail::microKernelPortable};
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)) ks.push_back(cpu::gemm_detail::microKernelAvx2);
  return ks;
}

struct ForceKernel {
  explicit ForceKernel(cpu::gemm_detail::MicroKernel k) { cpu::gemm_detail::setMicroKernelForTesting(k); }
  ~ForceKernel() { cpu::gemm_detail::setMicroKernelForTesting(nullptr); }
};

void compareTactics(const std::string& op, const ir::Attributes& attrs, const std::vector<TensorPtr>& inputs,
                    double tol = 1e-4) {
  auto ref = runOp(op, attrs, inputs);
  for (auto k : microKernels()) {
    ForceKernel force(k);
    auto fast = cpu::runSingleOp(op, attrs, inputs, 1, "gemm");
    expectValues(*fast[0], ref[0]->shape, asDoubles(*ref[0]), tol);
  }
}

}  // namespace

TEST(GemmTactic, SgemmMatchesNaiveOverShapes) {
  uint32_t seed = 1;
  std::vector<uint8_t> ws(cpu::sgemmWorkspaceBytes() + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  for (auto k : microKernels()) {
    ForceKernel force(k);
    for (int64_t M : {1, 5, 6, 7, 121, 130})
      for (int64_t N : {1, 15, 16, 17, 40})
        for (int64_t K : {1, 3, 257, 300}) {
          auto a = randomFloats(M * K, seed++), b = randomFloats(K * N, seed++);
          std::vector<float> c(static_cast<size_t>(M * N), 7.f);
          for (bool acc : {false, true}) {
            std::vector<float> out = c;
            cpu::sgemm(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, out.data(), N, acc, aligned);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                double s = acc ? 7.0 : 0.0;
                for (int64_t kk = 0; kk < K; ++kk) s += double(a[i * K + kk]) * b[kk * N + j];
                ASSERT_NEAR(out[i * N + j], s, 1e-4 * (1 + std::fabs(s))) << M << "x" << N << "x" << K;
              }
          }
        }
  }
}

TEST(GemmTactic, MatMulBatchesTransposesVectors) {
  uint32_t seed = 100;
  struct Case {
    ir::Shape a, b;
    int tA, tB, vA, vB;
  };
  std::vector<Case> cases{{{3, 4}, {4, 5}, 0, 0, 0, 0},        {{2, 1, 7, 9}, {3, 9, 13}, 0, 0, 0, 0},
                          {{9, 7}, {4, 9}, 1, 1, 0, 0},        {{5}, {5, 17}, 0, 0, 0, 0},
                          {{2, 6, 5}, {5}, 0, 0, 0, 0},        {{2, 3, 8}, {8, 2}, 0, 0, 1, 0},
                          {{130, 260}, {260, 33}, 0, 0, 0, 0}, {{0, 4}, {4, 3}, 0, 0, 0, 0},
                          // a batched A with a 2-D B runs as one GEMM over all rows (attention projections)
                          {{19, 1, 16}, {16, 24}, 0, 0, 0, 0}, {{2, 3, 7, 16}, {24, 16}, 0, 1, 0, 0},
                          {{3, 9, 7}, {9, 5}, 1, 0, 0, 0}};
  for (const Case& c : cases) {
    ir::Attributes at;
    at.setInt("transA", c.tA);
    at.setInt("transB", c.tB);
    at.setInt("vecA", c.vA);
    at.setInt("vecB", c.vB);
    SCOPED_TRACE(ir::shapeToString(c.a) + " x " + ir::shapeToString(c.b));
    compareTactics("MatMul", at, {randomTensor(c.a, seed++), randomTensor(c.b, seed++)});
  }
}

TEST(GemmTactic, GemmAlphaBetaBroadcastC) {
  uint32_t seed = 200;
  for (int tA : {0, 1})
    for (int tB : {0, 1})
      for (ir::Shape cs : {ir::Shape{}, ir::Shape{11}, ir::Shape{7, 1}, ir::Shape{7, 11}}) {
        ir::Attributes at;
        at.setInt("transA", tA);
        at.setInt("transB", tB);
        at.setFloat("alpha", 0.5);
        at.setFloat("beta", -2.0);
        auto a = randomTensor(tA ? ir::Shape{13, 7} : ir::Shape{7, 13}, seed++);
        auto b = randomTensor(tB ? ir::Shape{11, 13} : ir::Shape{13, 11}, seed++);
        compareTactics("Gemm", at, {a, b, randomTensor(cs, seed++)});
      }
  ir::Attributes plain;
  compareTactics("Gemm", plain, {randomTensor({4, 3}, 1), randomTensor({3, 2}, 2)});
}

TEST(GemmTactic, ConvStridesPadsDilationsGroups) {
  uint32_t seed = 300;
  struct Case {
    ir::Shape x, w;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group;
    std::string autoPad;
  };
  std::vector<Case> cases{
      {{1, 3, 8, 8}, {4, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, ""},
      {{2, 4, 9, 7}, {6, 2, 3, 2}, {2, 1}, {1, 0, 2, 1}, {1, 2}, 2, ""},
      {{1, 8, 5, 5}, {8, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8, ""},  // depthwise
      {{2, 16, 6, 6}, {12, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, ""},  // 1x1 direct
      {{1, 3, 11}, {5, 3, 4}, {3}, {2, 1}, {2}, 1, ""},                     // 1-D
      {{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, {1, 2, 1}, {0, 1, 1, 0, 0, 1}, {1, 1, 2}, 1, ""},  // 3-D
      {{1, 3, 10, 10}, {4, 3, 3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, "SAME_UPPER"},
  };
  for (const Case& c : cases) {
    ir::Attributes at;
    at.setInts("strides", c.strides);
    if (c.autoPad.empty())
      at.setInts("pads", c.pads);
    else
      at.setString("auto_pad", c.autoPad);
    at.setInts("dilations", c.dilations);
    at.setInt("group", c.group);
    SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w));
    compareTactics("Conv", at, {randomTensor(c.x, seed++), randomTensor(c.w, seed++), randomTensor({c.w[0]}, seed++)});
    compareTactics("Conv", at, {randomTensor(c.x, seed++), randomTensor(c.w, seed++)});
  }
}

TEST(GemmTactic, BuilderPicksItAndDoublesAreLeftToTheReference) {
  // float32 Conv gets the gemm tactic; a float64 one keeps the reference kernel
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 3, 4, 4});
  ir::Value* w = g.addConstant("w", randomTensor({2, 3, 1, 1}, 1));
  ir::Node* n = g.addNode("Conv", "conv", {x, w}, 1);
  std::string why;
  const auto& tactics = cpu::defaultKernelRegistry().find("Conv");
  ASSERT_GE(tactics.size(), 2u);
  EXPECT_EQ(tactics.back().name, "gemm");
  EXPECT_TRUE(tactics.back().supports(*n, &why));
  x->dtype = DataType::kDOUBLE;
  EXPECT_FALSE(tactics.back().supports(*n, &why));
  EXPECT_EQ(why, "float32 only");
}

}  // namespace kiln::test
