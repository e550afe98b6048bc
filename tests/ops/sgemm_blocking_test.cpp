// sgemm around its blocking boundaries (row tiles of 6, column panels of 16 and 8, depth blocks of kKC,
// row blocks of kMC = 240, column blocks cut by the packed-B budget), with every operand layout (row-major and
// transposed A and B: each has its own packing path), accumulate, a bias epilogue, a prepacked A, and 1
// and 2 threads, against a naive double loop; both micro-kernels where the CPU has AVX2/FMA.
#include <cmath>

#include "backends/cpu/gemm/sgemm.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

using cpu::MatrixView;

struct Case {
  int64_t M, N, K;
};

struct ColBias {
  std::vector<float> bias;
  static void apply(const void* u, float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const ColBias& e = *static_cast<const ColBias*>(u);
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) C[i * ldc + j] += e.bias[static_cast<size_t>(j)];
  }
};

std::vector<cpu::gemm_detail::MicroKernel> kernels() {
  std::vector<cpu::gemm_detail::MicroKernel> ks{cpu::gemm_detail::microKernelPortable};
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)) ks.push_back(cpu::gemm_detail::microKernelAvx2);
  return ks;
}

struct Force {
  explicit Force(cpu::gemm_detail::MicroKernel k) { cpu::gemm_detail::setMicroKernelForTesting(k); }
  ~Force() { cpu::gemm_detail::setMicroKernelForTesting(nullptr); }
};

//! Runs one product with the given layouts and checks every element of C (and that the padding columns of
//! C beyond N are untouched).
void check(const Case& cs, bool transA, bool transB, bool acc, bool bias, bool prepack, ThreadPool* pool, uint32_t& seed) {
  const int64_t M = cs.M, N = cs.N, K = cs.K;
  auto a = randomFloats(M * K, seed++), b = randomFloats(K * N, seed++);
  const MatrixView A = transA ? MatrixView{a.data(), 1, M} : MatrixView{a.data(), K, 1};
  const MatrixView B = transB ? MatrixView{b.data(), 1, K} : MatrixView{b.data(), N, 1};
  ColBias cb;
  cb.bias = randomFloats(N, seed++);
  const cpu::SgemmEpilogue se{&ColBias::apply, &cb};
  const int64_t ldc = N + 5;
  std::vector<float> c(static_cast<size_t>(M * ldc));
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i % 7) - 3.f;
  const std::vector<float> c0 = c;
  std::vector<float> packed;
  if (prepack) {
    // 32-byte alignment: the vector holds a few floats more and the packing starts at an aligned one
    packed.resize(static_cast<size_t>(cpu::sgemmPackedASize(M, K) + 8));
    float* p = packed.data();
    while (reinterpret_cast<uintptr_t>(p) % 32) ++p;
    cpu::sgemmPackA(M, K, A, p);
    cpu::sgemm(M, N, K, A, B, c.data(), ldc, acc, nullptr, pool, bias ? &se : nullptr, p);
  } else {
    cpu::sgemm(M, N, K, A, B, c.data(), ldc, acc, nullptr, pool, bias ? &se : nullptr);
  }
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double s = acc ? c0[static_cast<size_t>(i * ldc + j)] : 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(transA ? a[k * M + i] : a[i * K + k]) * double(transB ? b[j * K + k] : b[k * N + j]);
      if (bias) s += cb.bias[static_cast<size_t>(j)];
      ASSERT_NEAR(c[static_cast<size_t>(i * ldc + j)], s, 2e-5 * (std::sqrt(double(K)) + std::fabs(s)))
          << M << "x" << N << "x" << K << " tA" << transA << " tB" << transB << " acc" << acc << " bias" << bias
          << " pre" << prepack << " at " << i << "," << j;
    }
    for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(c[static_cast<size_t>(i * ldc + j)], c0[static_cast<size_t>(i * ldc + j)]);
  }
}

}  // namespace

TEST(SgemmBlocking, EdgesOfTilesPanelsAndDepthBlocks) {
  // M around the 6-row tile and the row blocks, N around the 16/8-column panels, K around the depth blocks
  const std::vector<Case> cases{{2, 2, 1},     {5, 7, 8},      {6, 8, 9},      {7, 9, 7},      {11, 15, 16},
                                {12, 16, 17},  {13, 17, 31},   {18, 24, 255},  {19, 31, 256},  {23, 33, 257},
                                {36, 40, 511}, {37, 47, 512},  {47, 48, 513},  {119, 23, 300}, {120, 50, 70},
                                {121, 64, 65}, {143, 18, 129}, {144, 65, 33},  {145, 9, 260},  {241, 35, 40},
                                {289, 20, 520},  {239, 33, 70},  {240, 17, 257}, {481, 49, 20}};
  uint32_t seed = 11;
  for (auto k : kernels()) {
    Force force(k);
    for (const Case& cs : cases)
      for (int layout = 0; layout < 4; ++layout) check(cs, layout & 1, layout & 2, (layout + cs.K) % 3 == 0, layout == 1, false, nullptr, seed);
  }
}

TEST(SgemmBlocking, AccumulateBiasAndPrepackedAOnOneAndTwoThreads) {
  const std::vector<Case> cases{{6, 16, 256}, {61, 100, 300}, {128, 130, 257}, {197, 96, 200}, {250, 40, 513}, {20, 40, 1100},
                                {487, 72, 1030}};
  uint32_t seed = 99;
  ThreadPool pool2(2);
  for (auto k : kernels()) {
    Force force(k);
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2})
      for (const Case& cs : cases)
        for (bool transB : {false, true})
          for (bool acc : {false, true})
            for (bool pre : {false, true}) check(cs, false, transB, acc, !acc, pre, pool, seed);
  }
}

TEST(SgemmBlocking, ColumnBlocksCutByTheWorkspace) {
  // deep products (K > 1024) pack B a depth block at a time; shallower ones all of K x nc, where a deep K
  // leaves room for few columns per block: several column blocks, the last one narrow
  const std::vector<Case> cases{{7, 300, 4100}, {13, 530, 2100}, {25, 70, 1025}, {130, 33, 1290}, {9, 1100, 1000}};
  uint32_t seed = 5;
  ThreadPool pool2(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2})
    for (const Case& cs : cases)
      for (bool transB : {false, true}) check(cs, transB, transB, true, true, false, pool, seed);
}

TEST(SgemmBlocking, PackersMatchTheirDefinition) {
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) != (kCpuAVX2 | kCpuFMA)) GTEST_SKIP() << "no AVX2/FMA";
  for (int64_t K : {1, 7, 8, 9, 16, 23}) {
    const int64_t ld = K + 3;
    auto src = randomFloats(16 * ld, static_cast<uint32_t>(K));
    std::vector<float> out(static_cast<size_t>(K * 16 + 8), 42.f);
    cpu::gemm_detail::packPanelTransposedAvx2(src.data(), ld, K, out.data());
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 16; ++j) ASSERT_EQ(out[static_cast<size_t>(k * 16 + j)], src[static_cast<size_t>(j * ld + k)]);
    ASSERT_EQ(out[static_cast<size_t>(K * 16)], 42.f);
    std::vector<float> tile(static_cast<size_t>(K * 6 + 8), 42.f);
    cpu::gemm_detail::packTile6Avx2(src.data(), ld, K, tile.data());
    for (int64_t k = 0; k < K; ++k)
      for (int64_t r = 0; r < 6; ++r) ASSERT_EQ(tile[static_cast<size_t>(k * 6 + r)], src[static_cast<size_t>(r * ld + k)]);
    for (size_t i = static_cast<size_t>(K * 6); i < tile.size(); ++i) ASSERT_EQ(tile[i], 42.f);  // nothing beyond
  }
}

TEST(SgemmBlocking, PackB) {
  // sgemmPackB's layout is sgemmPackedBOffset's, padding zeroed, for both layouts of B
  for (bool trans : {false, true}) {
    const int64_t K = 37, N = 41;
    auto b = randomFloats(K * N, trans ? 3u : 4u);
    const MatrixView B = trans ? MatrixView{b.data(), 1, K} : MatrixView{b.data(), N, 1};
    std::vector<float> buf(static_cast<size_t>(cpu::sgemmPackedBSize(K, N) + 8), 42.f);
    float* p = buf.data();
    while (reinterpret_cast<uintptr_t>(p) % 32) ++p;
    cpu::sgemmPackB(K, N, B, p);
    ASSERT_EQ(cpu::sgemmPackedBSize(K, N), K * 48);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 48; ++j)
        ASSERT_EQ(p[cpu::sgemmPackedBOffset(K, k, j)], j < N ? B.p[k * B.rs + j * B.cs] : 0.f) << trans << " " << k << "," << j;
  }
}

TEST(SgemmBlocking, MatMulAndGemmWithConstantWeightsPackedOnce) {
  // the tactics pack a constant 2-D B once (runTactic makes every input a constant); batched A, transposes,
  // vectors and N = 1 (left unpacked) against the reference kernels, on 1 and 2 threads
  struct MCase {
    ir::Shape a, b;
    int tA, tB;
  };
  const std::vector<MCase> cases{{{128, 1, 256}, {256, 100}, 0, 0}, {{1, 197, 64}, {50, 64}, 0, 1},
                                 {{3, 40, 7}, {40, 33}, 1, 0},      {{2, 5, 17}, {17, 1}, 0, 0},
                                 {{1, 17}, {17, 40}, 0, 0},         {{300, 9}, {9, 2}, 0, 0},
                                 {{493, 40}, {70, 40}, 0, 1}};  // 3 row blocks, 5 panels prefetched in turn
  uint32_t seed = 300;
  ThreadPool pool2(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2})
    for (const MCase& c : cases) {
      ir::Attributes at;
      at.setInt("transA", c.tA);
      at.setInt("transB", c.tB);
      at.setString("kiln_act", "Gelu");
      auto a = randomTensor(c.a, seed++), b = randomTensor(c.b, seed++);
      const int64_t n = c.tB ? c.b[0] : c.b[1];
      auto bias = randomTensor({n}, seed++);
      SCOPED_TRACE(ir::shapeToString(c.a) + " x " + ir::shapeToString(c.b));
      auto ref = runOp("MatMul", at, {a, b, bias})[0];
      auto got = runTactic("MatMul", at, {a, b, bias}, "gemm", pool)[0];
      expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
    }
  for (int tB : {0, 1}) {
    ir::Attributes gm;
    gm.setInt("transB", tB);
    gm.setFloat("alpha", tB ? 1.0 : 0.5);
    auto a = randomTensor({70, 30}, seed++), b = randomTensor(tB ? ir::Shape{45, 30} : ir::Shape{30, 45}, seed++);
    auto c = randomTensor({45}, seed++);
    auto ref = runOp("Gemm", gm, {a, b, c})[0];
    auto got = runTactic("Gemm", gm, {a, b, c}, "gemm", &pool2)[0];
    expectValues(*got, ref->shape, asDoubles(*ref), 1e-5);
  }
}

}  // namespace kiln::test
