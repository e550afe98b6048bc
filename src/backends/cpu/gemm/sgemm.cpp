#include "backends/cpu/gemm/sgemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kiln/types.h"

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

void splitForThreads(int64_t M, int64_t N, int threads, int* mParts, int* nParts) {
  const int64_t rowTiles = (M + kMR - 1) / kMR, colTiles = (N + kNR - 1) / kNR;
  int bestM = 1, bestN = 1;
  int64_t bestCost = INT64_MAX;
  for (int pm = 1; pm <= threads; ++pm) {
    const int pn = threads / pm;
    if (pm > rowTiles || pn > colTiles) {
      if (pm > rowTiles) break;
      continue;
    }
    // tiles of the largest task; splitting columns also repacks A per task: a small penalty
    const int64_t cost = ((rowTiles + pm - 1) / pm) * ((colTiles + pn - 1) / pn) * 16 + (pn > 1 ? pn : 0);
    if (cost < bestCost) bestCost = cost, bestM = pm, bestN = pn;
  }
  *mParts = bestM;
  *nParts = bestN;
}

}  // namespace gemm_detail

using namespace gemm_detail;

namespace {
// rows of A per block (multiple of kMR): the packed A block (kMC x kKC, 240 KiB) stays in L2 (512 KiB on Zen 3);
// each B micro-panel fetched from L3 then serves kMC / kMR = 40 micro-tiles (with 120 rows and without
// prefetchPanelLines, 3072^3 and 4096^3 ran ~3-8% slower)
constexpr int64_t kMC = 240;
// Packed B blocks larger than this (the part one task reads for a depth block) are not kept in L2 next to
// the packed A block: their next micro-panel is prefetched (prefetchPanelLines). Smaller ones stay in L2,
// where the prefetches only cost (~2% at 256^3).
constexpr int64_t kPrefetchBBytes = int64_t{256} << 10;
constexpr int64_t kKC = 256;   // depth per block: a B micro-panel (kKC x kNR) stays in L1
constexpr int64_t kNC = 4096;  // most columns of B per block (multiple of kNR)
// The packed B block (all of K x nc columns) lives in the workspace: nc is cut to fit this many floats.
constexpr int64_t kPackedBFloats = int64_t{1} << 20;
// Deeper products pack B one depth block of kKC rows at a time (see sgemm).
constexpr int64_t kSlicedK = 1024;
// Below this many multiply-adds a product runs on one thread (waking the others costs more).
constexpr int64_t kParallelMacs = int64_t{1} << 18;

//! C[i] (+)= sum_k A(i, k) B(k, 0) for rows [i0, i1) (a matrix-vector product: no packing, no padding
//! of the 16-wide micro-tile).
void gemvRows(int64_t i0, int64_t i1, int64_t K, const MatrixView& A, const MatrixView& B, float* C, int64_t ldc,
              bool accumulate) {
  if (A.cs == 1 && B.rs == 1 && chooseKernel() == microKernelAvx2) {  // dot products of A's rows with B
    float part[64];
    for (int64_t i = i0; i < i1; i += 64) {
      const int64_t n = std::min<int64_t>(64, i1 - i);
      dotRowsAvx2(B.p, A.p + i * A.rs, A.rs, K, n, part);
      for (int64_t q = 0; q < n; ++q) C[(i + q) * ldc] = accumulate ? C[(i + q) * ldc] + part[q] : part[q];
    }
    return;
  }
  for (int64_t i = i0; i < i1; ++i) {
    const float* a = A.p + i * A.rs;
    float acc[8] = {};
    int64_t k = 0;
    if (A.cs == 1 && B.rs == 1) {
      for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * B.p[k + j];
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < K; ++k) s += a[k * A.cs] * B.p[k * B.rs];
    C[i * ldc] = accumulate ? C[i * ldc] + s : s;
  }
}

//! C[0, j] (+)= sum_k A(0, k) B(k, j) for columns [j0, j1) (a vector-matrix product).
void gevmCols(int64_t j0, int64_t j1, int64_t K, const MatrixView& A, const MatrixView& B, float* C, bool accumulate) {
  if (!accumulate) std::fill(C + j0, C + j1, 0.f);
  if (B.cs == 1) {
    for (int64_t k = 0; k < K; ++k) {
      const float a = A.p[k * A.cs];
      const float* b = B.p + k * B.rs;
      for (int64_t j = j0; j < j1; ++j) C[j] += a * b[j];
    }
    return;
  }
  if (B.rs == 1 && A.cs == 1) {  // B transposed (fully connected layers): a dot product per column
    if (chooseKernel() == microKernelAvx2) {  // only picked on CPUs with AVX2 and FMA
      float part[64];
      for (int64_t j = j0; j < j1; j += 64) {
        const int64_t n = std::min<int64_t>(64, j1 - j);
        dotRowsAvx2(A.p, B.p + j * B.cs, B.cs, K, n, part);
        for (int64_t q = 0; q < n; ++q) C[j + q] += part[q];
      }
      return;
    }
    for (int64_t j = j0; j < j1; ++j) {
      const float* b = B.p + j * B.cs;
      float acc[16] = {};
      int64_t k = 0;
      for (; k + 16 <= K; k += 16)
        for (int q = 0; q < 16; ++q) acc[q] += A.p[k + q] * b[k + q];
      float s = 0.f;
      for (int q = 0; q < 8; ++q) s += acc[q] + acc[q + 8];
      for (; k < K; ++k) s += A.p[k] * b[k];
      C[j] += s;
    }
    return;
  }
  for (int64_t j = j0; j < j1; ++j) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += A.p[k * A.cs] * B.p[k * B.rs + j * B.cs];
    C[j] += s;
  }
}

void packA(const MatrixView& A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  const bool avx2 = chooseKernel() == microKernelAvx2;
  for (int64_t p = 0; p < mc; p += kMR) {
    const int64_t rows = std::min(kMR, mc - p);
    if (A.cs == 1 && rows == kMR && avx2) {
      packTile6Avx2(A.p + (i0 + p) * A.rs + k0, A.rs, kc, out);
      out += kc * kMR;
      continue;
    }
    if (A.cs == 1 && rows == kMR) {
      const float* src = A.p + (i0 + p) * A.rs + k0;
      for (int64_t k = 0; k < kc; ++k, out += kMR)
        for (int64_t r = 0; r < kMR; ++r) out[r] = src[r * A.rs + k];
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = A.p + (i0 + p) * A.rs + (k0 + k) * A.cs;
      int64_t r = 0;
      for (; r < rows; ++r) out[r] = src[r * A.rs];
      for (; r < kMR; ++r) out[r] = 0.f;
      out += kMR;
    }
  }
}

//! Packs rows [k0, k0 + K) and columns [j0 + q0, j0 + q1) (q multiples of kNR) of B: panel q/kNR holds
//! K x kNR floats.
void packBPanels(const MatrixView& Bfull, int64_t k0Full, int64_t K, int64_t j0, int64_t nc, int64_t q0, int64_t q1,
                 float* packed) {
  const MatrixView B{Bfull.p + k0Full * Bfull.rs, Bfull.rs, Bfull.cs};
  const bool avx2 = chooseKernel() == microKernelAvx2;
  if (B.cs == 1) {
    // Row-major B: a few rows at a time, each panel's part of them copied in turn (the reads go along the
    // rows, the writes fill kRows * 16 contiguous floats of a panel; a panel at a time over all of K would
    // read one short piece of every row, a page apart).
    constexpr int64_t kRows = 8;
    for (int64_t k0 = 0; k0 < K; k0 += kRows) {
      const int64_t k1 = std::min(K, k0 + kRows);
      for (int64_t q = q0; q < q1; q += kNR) {
        float* out = packed + (q / kNR) * K * kNR + k0 * kNR;
        const int64_t cols = std::min(kNR, nc - q);
        const float* src = B.p + k0 * B.rs + j0 + q;
        if (cols == kNR) {
          for (int64_t k = k0; k < k1; ++k, src += B.rs, out += kNR) std::memcpy(out, src, kNR * sizeof(float));
          continue;
        }
        for (int64_t k = k0; k < k1; ++k, src += B.rs, out += kNR) {
          std::memcpy(out, src, static_cast<std::size_t>(cols) * sizeof(float));
          std::fill(out + cols, out + kNR, 0.f);
        }
      }
    }
    return;
  }
  for (int64_t q = q0; q < q1; q += kNR) {
    float* out = packed + (q / kNR) * K * kNR;
    const int64_t cols = std::min(kNR, nc - q);
    if (B.rs == 1 && cols == kNR && avx2) {  // transposed B (weights stored N x K): 8 x 8 transposes
      packPanelTransposedAvx2(B.p + (j0 + q) * B.cs, B.cs, K, out);
      continue;
    }
    for (int64_t k = 0; k < K; ++k) {
      const float* src = B.p + k * B.rs + (j0 + q) * B.cs;
      int64_t j = 0;
      for (; j < cols; ++j) out[j] = src[j * B.cs];
      for (; j < kNR; ++j) out[j] = 0.f;
      out += kNR;
    }
  }
}

//! Asks for lines [l0, l1) of the next B micro-panel (kc x kNR floats at `next`, one cache line per k) to L2.
//! sgemm spreads a panel over the micro-tiles of the current one: the next panel is on its way when its first
//! micro-tile starts (instead of that micro-tile streaming it from L3).
inline void prefetchPanelLines(const float* next, int64_t l0, int64_t l1) {
  for (int64_t l = l0; l < l1; ++l) __builtin_prefetch(next + l * kNR, 0, 2);
}

//! This thread's buffer for packed blocks of A (kMC x kKC floats, 64-byte aligned).
float* threadPackA() {
  struct Buf {
    float* p{nullptr};
    ~Buf() { ::operator delete[](p, std::align_val_t(64)); }
  };
  thread_local Buf buf;
  if (!buf.p) buf.p = static_cast<float*>(::operator new[](sizeof(float) * kMC * kKC, std::align_val_t(64)));
  return buf.p;
}
}  // namespace

std::size_t sgemmWorkspaceBytes() { return static_cast<std::size_t>(kPackedBFloats) * sizeof(float) + 128; }

const char* sgemmKernelName() {
  return chooseKernel() == microKernelAvx2 ? "6x16_avx2_fma" : "6x16_portable";
}

int64_t sgemmPackedASize(int64_t M, int64_t K) { return (M + kMR - 1) / kMR * kMR * std::max<int64_t>(K, 0); }

void sgemmPackA(int64_t M, int64_t K, MatrixView A, float* out) {
  const int64_t Mp = (M + kMR - 1) / kMR * kMR;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    packA(A, 0, M, k0, kc, out + k0 * Mp);
  }
}

void sgemmPackARows(int64_t M, int64_t K, int64_t i0, int64_t i1, MatrixView rows, float* out) {
  if (i0 % kMR != 0 || i0 < 0 || i1 > M || i1 < i0 || ((i1 - i0) % kMR != 0 && i1 != M))
    throw Error(ErrorCode::kINTERNAL_ERROR, "sgemmPackARows: rows must be whole tiles of 6 (or end A) and lie inside A");
  const int64_t Mp = (M + kMR - 1) / kMR * kMR;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    packA(rows, 0, i1 - i0, k0, kc, out + k0 * Mp + i0 * kc);
  }
}

int64_t sgemmMaxPackedK() { return kPackedBFloats / kNR; }

int64_t sgemmPackedBSize(int64_t K, int64_t N) { return std::max<int64_t>(K, 0) * ((std::max<int64_t>(N, 0) + kNR - 1) / kNR * kNR); }

void sgemmPackB(int64_t K, int64_t N, MatrixView B, float* out) {
  if (K <= 0 || N <= 0) return;
  packBPanels(B, 0, K, 0, N, 0, (N + kNR - 1) / kNR * kNR, out);
}

void sgemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C, int64_t ldc, bool accumulate,
           void* workspace, ThreadPool* pool, const SgemmEpilogue* epilogue, const float* prepackedA,
           const float* prepackedB) {
  if (M <= 0 || N <= 0) return;
  if (prepackedB && (M < 2 || N < 2 || K > sgemmMaxPackedK()))
    throw Error(ErrorCode::kINTERNAL_ERROR, "sgemm: a prepacked B needs M >= 2, N >= 2 and a K that fits");
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    if (epilogue && epilogue->fn) epilogue->fn(epilogue->user, C, ldc, 0, M, 0, N);
    return;
  }
  constexpr int64_t kMaxK = kPackedBFloats / kNR;  // one packed panel of B must fit the workspace
  if (K > kMaxK) {
    for (int64_t k0 = 0; k0 < K; k0 += kMaxK) {
      const int64_t kc = std::min(kMaxK, K - k0);
      sgemm(M, N, kc, {A.p + k0 * A.cs, A.rs, A.cs}, {B.p + k0 * B.rs, B.rs, B.cs}, C, ldc, accumulate || k0 > 0,
            workspace, pool, k0 + kc >= K ? epilogue : nullptr,
            prepackedA ? prepackedA + k0 * ((M + kMR - 1) / kMR * kMR) : nullptr);
    }
    return;
  }
  int threads = pool && !ThreadPool::insideParallelRegion() ? pool->size() : 1;
  if (M * N * K < kParallelMacs) threads = 1;
  ThreadPool* usePool = threads > 1 ? pool : nullptr;
  const bool ep = epilogue && epilogue->fn;
  if (N == 1) {  // matrix x vector (squeeze-excitation layers, batch-1 heads)
    parallelFor(usePool, M, [&](int64_t i0, int64_t i1) {
      gemvRows(i0, i1, K, A, B, C, ldc, accumulate);
      if (ep) epilogue->fn(epilogue->user, C, ldc, i0, i1, 0, 1);
    });
    return;
  }
  if (M == 1) {  // vector x matrix
    parallelFor(usePool, (N + 63) / 64, [&](int64_t b0, int64_t b1) {
      const int64_t j0 = b0 * 64, j1 = std::min(N, b1 * 64);
      gevmCols(j0, j1, K, A, B, C, accumulate);
      if (ep) epilogue->fn(epilogue->user, C, ldc, 0, 1, j0, j1);
    });
    return;
  }
  const MicroKernel kernel = chooseKernel();
  if (!workspace) {  // this thread's own buffer (callers that run several products at once)
    struct Buf {
      void* p{nullptr};
      ~Buf() { ::operator delete[](p, std::align_val_t(64)); }
    };
    thread_local Buf buf;
    if (!buf.p) buf.p = ::operator new[](sgemmWorkspaceBytes(), std::align_val_t(64));
    workspace = buf.p;
  }
  float* packedB = static_cast<float*>(workspace);
  const int64_t rowTiles = (M + kMR - 1) / kMR;
  // The products of depth blocks [kBegin, kEnd) for columns [j0, j0 + nc): B's packed panels at bBlock, each
  // bStride x kNR floats starting at row bK0; the blocks of C split over the threads.
  auto compute = [&](int64_t j0, int64_t nc, int64_t kBegin, int64_t kEnd, const float* bBlock, int64_t bStride,
                     int64_t bK0) {
    const int64_t panels = (nc + kNR - 1) / kNR;
    int mParts = 1, nParts = 1;
    if (threads > 1) splitForThreads(M, nc, threads, &mParts, &nParts);
    parallelFor(usePool, int64_t{mParts} * nParts, [&](int64_t t0, int64_t t1) {
      float* packedA = threadPackA();
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t pm = t / nParts, pn = t % nParts;
        const int64_t r0 = std::min(M, rowTiles * pm / mParts * kMR), r1 = std::min(M, rowTiles * (pm + 1) / mParts * kMR);
        const int64_t c0 = panels * pn / nParts * kNR, c1 = std::min(nc, panels * (pn + 1) / nParts * kNR);
        if (r0 >= r1 || c0 >= c1) continue;
        // row blocks of at most kMC rows, even in size (256 rows: 2 x 128, not 240 + 16: each block reuses a B panel)
        const int64_t mBlocks = (r1 - r0 + kMC - 1) / kMC;
        const int64_t mcStep = ((r1 - r0 + mBlocks - 1) / mBlocks + kMR - 1) / kMR * kMR;
        for (int64_t k0 = kBegin; k0 < kEnd; k0 += kKC) {
          const int64_t kc = std::min(kKC, K - k0);
          const bool acc = accumulate || k0 > 0;
          const bool last = k0 + kc >= K;
          for (int64_t i0 = r0; i0 < r1; i0 += mcStep) {
            const int64_t mc = std::min(mcStep, r1 - i0);
            const int64_t pfLines = (kc + (mc + kMR - 1) / kMR - 1) / ((mc + kMR - 1) / kMR);  // per micro-tile
            const bool pfB = (c1 - c0) * kc * int64_t{sizeof(float)} > kPrefetchBBytes;
            const float* aBlock = packedA;
            if (prepackedA)  // block k0 of the packed A holds kc x Mp floats; row tile i0 / kMR within it
              aBlock = prepackedA + k0 * ((M + kMR - 1) / kMR * kMR) + i0 * kc;
            else
              packA(A, i0, mc, k0, kc, packedA);
            for (int64_t q = c0; q < c1; q += kNR) {
              const float* bp = bBlock + ((q / kNR) * bStride + k0 - bK0) * kNR;
              for (int64_t p = 0; p < mc; p += kMR) {
                const float* ap = aBlock + (p / kMR) * kc * kMR;
                const int64_t nr = std::min(kNR, c1 - q);
                if (pfB && q + kNR < c1) prefetchPanelLines(bp + bStride * kNR, p / kMR * pfLines, std::min(kc, (p / kMR + 1) * pfLines));
                (nr <= 8 && kernel == microKernelAvx2 ? microKernelAvx2N8 : kernel)(
                    kc, ap, bp, C + (i0 + p) * ldc + j0 + q, ldc, std::min(kMR, mc - p), nr, acc);
              }
            }
            if (last && ep) epilogue->fn(epilogue->user, C, ldc, i0, i0 + mc, j0 + c0, j0 + c1);
          }
        }
      }
    });
  };
  // Deep products pack B one depth block at a time (kKC x up to kNC columns: A is packed once per kNC
  // columns, not once per kPackedBFloats / K); shallower ones pack all of K x nc at once, so that each
  // block of columns needs two parallel regions only.
  const bool sliced = !prepackedB && K > kSlicedK;
  int64_t ncMax = std::clamp(kPackedBFloats / (sliced ? kKC : K) / kNR * kNR, kNR, kNC);
  const int64_t nBlocks = (N + ncMax - 1) / ncMax;
  ncMax = ((N + nBlocks - 1) / nBlocks + kNR - 1) / kNR * kNR;  // even blocks
  for (int64_t j0 = 0; j0 < N; j0 += ncMax) {
    const int64_t nc = std::min(ncMax, N - j0);
    const int64_t panels = (nc + kNR - 1) / kNR;
    if (prepackedB) {
      compute(j0, nc, 0, K, prepackedB + j0 * K, K, 0);  // j0 is a multiple of kNR: panel j0 / kNR
    } else if (!sliced) {
      parallelFor(usePool, panels, [&](int64_t p0, int64_t p1) { packBPanels(B, 0, K, j0, nc, p0 * kNR, p1 * kNR, packedB); });
      compute(j0, nc, 0, K, packedB, K, 0);
    } else {
      for (int64_t k0 = 0; k0 < K; k0 += kKC) {
        const int64_t kc = std::min(kKC, K - k0);
        parallelFor(usePool, panels, [&](int64_t p0, int64_t p1) { packBPanels(B, k0, kc, j0, nc, p0 * kNR, p1 * kNR, packedB); });
        compute(j0, nc, k0, k0 + kc, packedB, kc, k0);
      }
    }
  }
}

}  // namespace kiln::cpu
