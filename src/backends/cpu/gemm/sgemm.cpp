#include "backends/cpu/gemm/sgemm.h"

#include <algorithm>
#include <atomic>

#include "core/cpu_features.h"

namespace kiln::cpu {

namespace gemm_detail {

void microKernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                         bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* ak = a + k * kMR;
    const float* bk = b + k * kNR;
    for (int64_t r = 0; r < kMR; ++r)
      for (int64_t j = 0; j < kNR; ++j) acc[r][j] += ak[r] * bk[j];
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.f) + acc[r][j];
}

namespace {
std::atomic<MicroKernel> forced{nullptr};

MicroKernel chooseKernel() {
  if (MicroKernel k = forced.load()) return k;
  static const MicroKernel best =
      (cpuFeatures() & (kCpuAVX2 | kCpuFMA)) == (kCpuAVX2 | kCpuFMA) ? microKernelAvx2 : microKernelPortable;
  return best;
}
}  // namespace

void setMicroKernelForTesting(MicroKernel k) { forced.store(k); }

}  // namespace gemm_detail

using namespace gemm_detail;

namespace {
constexpr int64_t kMC = 120;   // rows of A per block (multiple of kMR): the packed A block stays in L2
constexpr int64_t kKC = 256;   // depth per block: a B micro-panel (kKC x kNR) stays in L1
constexpr int64_t kNC = 2048;  // columns of B per block (multiple of kNR)

void packA(const MatrixView& A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  for (int64_t p = 0; p < mc; p += kMR) {
    int64_t rows = std::min(kMR, mc - p);
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = A.p + (i0 + p) * A.rs + (k0 + k) * A.cs;
      int64_t r = 0;
      for (; r < rows; ++r) out[r] = src[r * A.rs];
      for (; r < kMR; ++r) out[r] = 0.f;
      out += kMR;
    }
  }
}

void packB(const MatrixView& B, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t q = 0; q < nc; q += kNR) {
    int64_t cols = std::min(kNR, nc - q);
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B.p + (k0 + k) * B.rs + (j0 + q) * B.cs;
      int64_t j = 0;
      if (B.cs == 1)
        for (; j < cols; ++j) out[j] = src[j];
      else
        for (; j < cols; ++j) out[j] = src[j * B.cs];
      for (; j < kNR; ++j) out[j] = 0.f;
      out += kNR;
    }
  }
}
}  // namespace

std::size_t sgemmWorkspaceBytes() {
  return static_cast<std::size_t>(kMC * kKC + kKC * kNC) * sizeof(float) + 128;
}

const char* sgemmKernelName() {
  return chooseKernel() == microKernelAvx2 ? "6x16_avx2_fma" : "6x16_portable";
}

void sgemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C, int64_t ldc, bool accumulate,
           void* workspace) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    return;
  }
  MicroKernel kernel = chooseKernel();
  float* packedA = static_cast<float*>(workspace);
  float* packedB = packedA + kMC * kKC;
  for (int64_t j0 = 0; j0 < N; j0 += kNC) {
    int64_t nc = std::min(kNC, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kKC) {
      int64_t kc = std::min(kKC, K - k0);
      bool acc = accumulate || k0 > 0;
      packB(B, k0, kc, j0, nc, packedB);
      for (int64_t i0 = 0; i0 < M; i0 += kMC) {
        int64_t mc = std::min(kMC, M - i0);
        packA(A, i0, mc, k0, kc, packedA);
        for (int64_t q = 0; q < nc; q += kNR) {
          const float* bp = packedB + (q / kNR) * kc * kNR;
          for (int64_t p = 0; p < mc; p += kMR) {
            const float* ap = packedA + (p / kMR) * kc * kMR;
            kernel(kc, ap, bp, C + (i0 + p) * ldc + j0 + q, ldc, std::min(kMR, mc - p), std::min(kNR, nc - q), acc);
          }
        }
      }
    }
  }
}

}  // namespace kiln::cpu
