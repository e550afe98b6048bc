// What plan loading relies on to prepare weights fast: sgemmPackARows (sgemm's packed A made a few rows at
// a time) against sgemmPackA of the whole matrix, allocateLarge / LargeArray (zero-filled, aligned, huge
// pages where large), and winograd4 keeping its unpacked U only where sgemm may read it: a kernel made for
// dynamic spatial extents runs a one-tile image correctly, one made for static extents refuses it.
#include <cstring>

#include "backends/cpu/gemm/sgemm.h"
#include "core/cpu_features.h"
#include "core/large_alloc.h"
#include "fast_tactics_util.h"

namespace kiln::test {
namespace {

using cpu::MatrixView;

struct KernelScope {
  explicit KernelScope(cpu::gemm_detail::MicroKernel k) { cpu::gemm_detail::setMicroKernelForTesting(k); }
  ~KernelScope() { cpu::gemm_detail::setMicroKernelForTesting(nullptr); }
};

ir::ValueInfo info(const ir::Shape& shape) {
  ir::ValueInfo v;
  v.dtype = DataType::kFLOAT;
  v.shape = shape;
  return v;
}

}  // namespace

TEST(LoadPrepare, PackARowsMatchesPackA) {
  std::vector<cpu::gemm_detail::MicroKernel> kernels{cpu::gemm_detail::microKernelPortable};
  if ((cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA)) kernels.push_back(cpu::gemm_detail::microKernelAvx2);
  uint32_t seed = 8100;
  for (auto mk : kernels) {
    KernelScope scope(mk);
    for (auto [M, K] : {std::pair<int64_t, int64_t>{13, 300}, {12, 40}, {6, 1}, {5, 257}, {37, 520}}) {
      auto a = randomFloats(M * K, seed++);
      const int64_t size = cpu::sgemmPackedASize(M, K);
      std::vector<float> whole(static_cast<size_t>(size), -7.f), parts(static_cast<size_t>(size), -7.f);
      cpu::sgemmPackA(M, K, MatrixView{a.data(), K, 1}, whole.data());
      for (int64_t i0 = 0; i0 < M; i0 += 12) {  // two row tiles at a time, from a buffer holding only them
        const int64_t i1 = std::min(M, i0 + 12);
        std::vector<float> rows(a.begin() + i0 * K, a.begin() + i1 * K);
        cpu::sgemmPackARows(M, K, i0, i1, MatrixView{rows.data(), K, 1}, parts.data());
      }
      EXPECT_EQ(std::memcmp(whole.data(), parts.data(), whole.size() * sizeof(float)), 0) << M << "x" << K;
    }
  }
  std::vector<float> a(60), out(static_cast<size_t>(cpu::sgemmPackedASize(10, 6)));
  EXPECT_THROW(cpu::sgemmPackARows(10, 6, 3, 9, MatrixView{a.data(), 6, 1}, out.data()), Error);   // not on a tile
  EXPECT_THROW(cpu::sgemmPackARows(10, 6, 0, 4, MatrixView{a.data(), 6, 1}, out.data()), Error);   // part of a tile
  EXPECT_THROW(cpu::sgemmPackARows(10, 6, 6, 12, MatrixView{a.data(), 6, 1}, out.data()), Error);  // beyond M
  EXPECT_NO_THROW(cpu::sgemmPackARows(10, 6, 6, 10, MatrixView{a.data(), 6, 1}, out.data()));      // the last rows
}

TEST(LoadPrepare, LargeMemoryIsZeroedAndAligned) {
  for (std::size_t bytes : {std::size_t{1}, std::size_t{100}, std::size_t{3} << 20, (std::size_t{5} << 20) + 12345}) {
    std::shared_ptr<void> p = allocateLarge(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % 64, 0u) << bytes;
    const auto* b = static_cast<const unsigned char*>(p.get());
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < bytes; ++i) nonzero += b[i] != 0;
    EXPECT_EQ(nonzero, 0u) << bytes;
    std::memset(p.get(), 0x5a, bytes);  // all of it is writable
  }
  LargeArray<float> a(1000);
  EXPECT_EQ(a.size(), 1000u);
  a[999] = 2.f;
  LargeArray<float> moved = std::move(a);
  EXPECT_EQ(moved[999], 2.f);
  EXPECT_TRUE(LargeArray<float>().empty());
}

// winograd4 drops its unpacked U when the build-time output has at least two tiles per image: sgemm then
// never reads U. Dynamic extents keep it, so one tile (sgemm's matrix-vector path) still computes right.
TEST(LoadPrepare, Winograd4KeepsUnpackedWeightsOnlyWhereNeeded) {
  const backend::Tactic* t = cpu::defaultKernelRegistry().find("Conv", "winograd4");
  ASSERT_NE(t, nullptr);
  auto w = randomTensor({10, 8, 3, 3}, 8201), b = randomTensor({10}, 8202);
  auto small = randomTensor({1, 8, 3, 3}, 8203);  // pads 1: a 3x3 output, one 4x4 tile
  ir::Attributes at;
  at.setInts("kernel_shape", {3, 3});
  at.setInts("pads", {1, 1, 1, 1});
  auto ref = runOp("Conv", at, {small, w, b})[0];
  for (bool dynamic : {true, false}) {
    ir::Graph g;
    ir::Value* x = g.addValue("x", DataType::kFLOAT, dynamic ? ir::Shape{1, 8, -1, -1} : ir::Shape{1, 8, 12, 12});
    g.inputs.push_back(x);
    ir::Node* n = g.addNode("Conv", "conv", {x, g.addConstant("w", w), g.addConstant("b", b)}, 1);
    n->attrs = at;
    ir::inferGraphInPlace(ir::defaultOpRegistry(), g);
    std::string why;
    ASSERT_TRUE(t->supports(*n, &why)) << why;
    std::unique_ptr<backend::Kernel> k = t->create(*n);
    if (dynamic) {
      auto got = runKernel(*k, {small, w, b}, {info(ref->shape)}, nullptr)[0];
      expectValues(*got, ref->shape, asDoubles(*ref), 1e-4);
      auto big = randomTensor({1, 8, 12, 12}, 8204);
      auto refBig = runOp("Conv", at, {big, w, b})[0];
      expectValues(*runKernel(*k, {big, w, b}, {info(refBig->shape)}, nullptr)[0], refBig->shape, asDoubles(*refBig), 1e-4);
    } else {
      EXPECT_THROW(runKernel(*k, {small, w, b}, {info(ref->shape)}, nullptr), Error);  // refused, not a read of missing U
    }
  }
}

}  // namespace kiln::test
