// The parallel SGEMM and the Conv tactics ("gemm", "depthwise") with a thread pool in the KernelContext,
// against a naive product and the reference kernels; both row/micro kernels where the CPU has AVX2/FMA.
#include "backends/cpu/fast/activation.h"
#include "backends/cpu/fast/conv_depthwise.h"
#include "backends/cpu/gemm/sgemm.h"
#include "core/cpu_features.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

bool haveAvx2() { return (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA); }

struct AlignedWs {
  std::vector<uint8_t> buf;
  void* p;
  AlignedWs() : buf(cpu::sgemmWorkspaceBytes() + 64) {
    p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) / 64 * 64);
  }
};

struct Epi {
  std::vector<float> rowBias;
  static void apply(const void* u, float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const Epi& e = *static_cast<const Epi*>(u);
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) C[i * ldc + j] = std::max(0.f, C[i * ldc + j] + e.rowBias[static_cast<size_t>(i)]);
  }
};

}  // namespace

TEST(FastSgemm, ThreadedMatchesNaiveWithEpilogueAndTransposes) {
  AlignedWs ws;
  uint32_t seed = 7;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t M : {1, 6, 7, 64, 250})
      for (int64_t N : {1, 16, 33, 300})
        for (int64_t K : {1, 17, 300})
          for (bool transA : {false, true}) {
            auto a = randomFloats(M * K, seed++), b = randomFloats(K * N, seed++);
            Epi epi;
            epi.rowBias = randomFloats(M, seed++);
            cpu::SgemmEpilogue se{&Epi::apply, &epi};
            const int64_t ldc = N + 3;
            std::vector<float> c(static_cast<size_t>(M * ldc), -5.f);
            cpu::MatrixView A = transA ? cpu::MatrixView{a.data(), 1, M} : cpu::MatrixView{a.data(), K, 1};
            cpu::sgemm(M, N, K, A, {b.data(), N, 1}, c.data(), ldc, false, ws.p, &pool, &se);
            for (int64_t i = 0; i < M; ++i) {
              for (int64_t j = 0; j < N; ++j) {
                double s = 0;
                for (int64_t k = 0; k < K; ++k)
                  s += double(transA ? a[k * M + i] : a[i * K + k]) * b[k * N + j];
                s = std::max(0.0, s + epi.rowBias[static_cast<size_t>(i)]);
                ASSERT_NEAR(c[i * ldc + j], s, 1e-4 * (1 + std::fabs(s))) << threads << "t " << M << "x" << N << "x" << K;
              }
              for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], -5.f);  // outside C untouched
            }
          }
  }
}

TEST(FastSgemm, LargeKIsSplitAndAccumulates) {
  // K above one packed panel's capacity (65536) runs as several accumulated products
  const int64_t M = 3, N = 5, K = 70000;
  auto a = randomFloats(M * K, 1), b = randomFloats(K * N, 2);
  std::vector<float> c(static_cast<size_t>(M * N), 1.f);
  ThreadPool pool(2);
  cpu::sgemm(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, c.data(), N, true, nullptr, &pool);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 1;
      for (int64_t k = 0; k < K; ++k) s += double(a[i * K + k]) * b[k * N + j];
      EXPECT_NEAR(c[i * N + j], s, 1e-3 * (1 + std::fabs(s)));
    }
}

TEST(FastSgemm, SplitForThreadsUsesAllThreadsAndBalances) {
  int pm = 0, pn = 0;
  cpu::gemm_detail::splitForThreads(600, 64, 2, &pm, &pn);
  EXPECT_EQ(pm * pn, 2);
  EXPECT_EQ(pm, 2);  // tall: split the rows
  cpu::gemm_detail::splitForThreads(6, 4096, 2, &pm, &pn);
  EXPECT_EQ(pn, 2);  // one row tile: split the columns
  cpu::gemm_detail::splitForThreads(6, 16, 4, &pm, &pn);
  EXPECT_EQ(pm * pn, 1);  // one tile: nothing to split
  cpu::gemm_detail::splitForThreads(120, 160, 4, &pm, &pn);
  EXPECT_EQ(pm * pn, 4);
}

namespace {

std::vector<ConvCase> depthwiseCases() {
  return {
      {{1, 8, 9, 9}, {8, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8},
      {{2, 5, 17, 23}, {5, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 5},
      {{1, 4, 20, 19}, {4, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 4},
      {{1, 3, 21, 30}, {3, 1, 5, 5}, {2, 2}, {2, 1, 2, 3}, {1, 1}, 3},
      {{1, 6, 12, 40}, {6, 1, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 6},   // dilated
      {{1, 2, 11, 13}, {2, 1, 7, 7}, {3, 2}, {3, 0, 1, 3}, {1, 1}, 2},   // general kernel and stride
      {{1, 3, 5, 4}, {3, 1, 3, 2}, {1, 3}, {0, 0, 0, 0}, {1, 1}, 3},     // no padding, narrow output
      {{1, 4, 7, 7}, {4, 1, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 4},
  };
}

}  // namespace

TEST(FastConv, DepthwiseMatchesReferenceWithEpiloguesThreadsAndRowKernels) {
  uint32_t seed = 500;
  std::vector<cpu::fast::dw::RowsFn> rowFns{cpu::fast::dw::rowsPortable};
  if (haveAvx2()) rowFns.push_back(cpu::fast::dw::rowsAvx2);
  ThreadPool pool(3);
  for (const ConvCase& c : depthwiseCases())
    for (const std::string act : {"", "Relu", "HardSwish", "Clip"})
      for (bool withBias : {false, true})
        for (bool withZ : {false, true}) {
          ir::Attributes at = convAttrs(c, act);
          if (act == "Clip") {
            at.setFloat("kiln_act_alpha", 0.0);
            at.setFloat("kiln_act_beta", 6.0);
          }
          auto x = randomTensor(c.x, seed++), w = randomTensor(c.w, seed++);
          auto b = withBias ? randomTensor({c.w[0]}, seed++) : nullptr;
          auto plain = runOp("Conv", convAttrs(c, ""), {x, w})[0];
          auto z = withZ ? randomTensor(plain->shape, seed++) : nullptr;
          std::vector<TensorPtr> ins{x, w, b, z};
          if (!withZ) ins.pop_back();
          auto ref = runOp("Conv", at, ins)[0];
          SCOPED_TRACE(ir::shapeToString(c.x) + " * " + ir::shapeToString(c.w) + " act " + act +
                       (withBias ? " bias" : "") + (withZ ? " z" : ""));
          for (auto fn : rowFns) {
            cpu::fast::dw::setRowsForTesting(fn);
            for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
              auto got = runTactic("Conv", at, ins, "depthwise", p)[0];
              expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
            }
          }
          cpu::fast::dw::setRowsForTesting(nullptr);
        }
}

TEST(FastConv, DepthwiseSupportsOnlyDepthwiseFloat32) {
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "depthwise");
  ASSERT_NE(t, nullptr);
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 4, 8, 8});
  ir::Value* w = g.addConstant("w", randomTensor({4, 1, 3, 3}, 1));
  ir::Node* n = g.addNode("Conv", "conv", {x, w}, 1);
  std::string why;
  n->attrs.setInt("group", 4);
  EXPECT_TRUE(t->supports(*n, &why)) << why;
  n->attrs.setInt("group", 2);
  EXPECT_FALSE(t->supports(*n, &why));
  ir::Value* w2 = g.addConstant("w2", randomTensor({4, 2, 3, 3}, 2));
  ir::Node* n2 = g.addNode("Conv", "conv2", {x, w2}, 1);
  n2->attrs.setInt("group", 2);
  EXPECT_FALSE(t->supports(*n2, &why));
  n->attrs.setInt("group", 4);
  x->dtype = DataType::kDOUBLE;
  EXPECT_FALSE(t->supports(*n, &why));
  // registered before "gemm", which stays the last (untimed default) Conv tactic
  EXPECT_EQ(cpu::defaultKernelRegistry().find("Conv").back().name, "gemm");
}

TEST(FastConv, GemmConvWithPoolMatchesReference) {
  uint32_t seed = 900;
  ThreadPool pool(2);
  std::vector<ConvCase> cases{
      {{2, 16, 14, 14}, {32, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {{1, 32, 9, 9}, {64, 32, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},  // 1x1 direct
      {{1, 8, 15, 15}, {12, 4, 3, 3}, {2, 2}, {1, 0, 1, 2}, {1, 1}, 2},
      {{1, 3, 33, 31}, {16, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1},
      {{1, 6, 10, 10}, {6, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 6},
  };
  expectConvTacticMatchesReference(cases, "gemm", {"", "Relu", "Silu", "Sigmoid"}, {&pool}, seed, 1e-5);
}

TEST(FastConv, WinogradMatchesReference) {
  uint32_t seed = 1500;
  ThreadPool pool(2);
  std::vector<ConvCase> cases{
      {{1, 16, 14, 14}, {24, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {{2, 8, 9, 11}, {8, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},   // odd output extents
      {{1, 12, 10, 7}, {16, 12, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},  // no padding
      {{1, 9, 6, 6}, {10, 9, 3, 3}, {1, 1}, {2, 0, 1, 2}, {1, 1}, 1},   // asymmetric padding
  };
  expectConvTacticMatchesReference(cases, "winograd", {"", "Relu", "Silu"}, {nullptr, &pool}, seed, 1e-5);
  // what it leaves to the other tactics
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "winograd");
  ASSERT_NE(t, nullptr);
  ir::Graph g;
  ir::Value* x = g.addValue("x", DataType::kFLOAT, {1, 16, 8, 8});
  ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", randomTensor({16, 16, 3, 3}, 1))}, 1);
  std::string why;
  EXPECT_TRUE(t->supports(*n, &why)) << why;
  n->attrs.setInts("strides", {2, 2});
  EXPECT_FALSE(t->supports(*n, &why));
  n->attrs.setInts("strides", {1, 1});
  n->attrs.setInts("dilations", {2, 2});
  EXPECT_FALSE(t->supports(*n, &why));
  ir::Node* n5 = g.addNode("Conv", "conv5", {x, g.addConstant("w5", randomTensor({16, 16, 5, 5}, 2))}, 1);
  EXPECT_FALSE(t->supports(*n5, &why));
  ir::Node* nv = g.addNode("Conv", "convv", {x, g.addValue("wv", DataType::kFLOAT, {16, 16, 3, 3})}, 1);
  EXPECT_FALSE(t->supports(*nv, &why));  // weights must be constant (transformed once)
}

TEST(FastConv, MatMulManyHeadsAndGemmBiasWithPool) {
  ThreadPool pool(2);
  uint32_t seed = 1200;
  ir::Attributes none;
  // many small batched products (one per task) and a large one (split inside sgemm)
  for (auto [as, bs] : std::vector<std::pair<ir::Shape, ir::Shape>>{{{2, 8, 33, 16}, {2, 8, 16, 40}},
                                                                    {{1, 200, 300}, {300, 180}},
                                                                    {{3, 1, 20, 7}, {1, 4, 7, 9}}}) {
    auto a = randomTensor(as, seed++), b = randomTensor(bs, seed++);
    auto ref = runOp("MatMul", none, {a, b})[0];
    auto got = runTactic("MatMul", none, {a, b}, "gemm", &pool)[0];
    expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
  }
  ir::Attributes gm;
  gm.setInt("transB", 1);
  gm.setString("kiln_act", "Gelu");
  auto a = randomTensor({64, 96}, seed++), b = randomTensor({80, 96}, seed++);
  for (auto c : {randomTensor({80}, seed++), randomTensor({1, 80}, seed++), randomTensor({64, 80}, seed++)}) {
    auto ref = runOp("Gemm", gm, {a, b, c})[0];
    auto got = runTactic("Gemm", gm, {a, b, c}, "gemm", &pool)[0];
    expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
  }
}

}  // namespace kiln::test
