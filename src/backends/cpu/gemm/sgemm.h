// Single-precision GEMM for the CPU tactics: packed panels (GotoBLAS-style blocking) and a register-tile
// micro-kernel picked once by CPU features (6x16 AVX2/FMA, or a portable one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln {
class ThreadPool;
}  // namespace kiln

namespace kiln::cpu {

//! A strided matrix view: element (i, j) at p[i * rs + j * cs] (transposes are just other strides).
struct MatrixView {
  const float* p;
  int64_t rs;
  int64_t cs;
};

//! Bytes of scratch memory sgemm needs (for any M, N, K and thread count): the packed B block shared by
//! the threads. Each thread packs its blocks of A into a buffer of its own (thread-local).
std::size_t sgemmWorkspaceBytes();

//! Applied by sgemm to each finished block of C (rows [i0, i1), columns [j0, j1), all of K summed) on the
//! thread that computed it, while the block is still in its cache: bias, residual, activation.
struct SgemmEpilogue {
  void (*fn)(const void* user, float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1){nullptr};
  const void* user{nullptr};
};

//! C[i * ldc + j] (+)= sum_k A(i, k) * B(k, j) for i < M, j < N. `accumulate`: add to C instead of
//! overwriting it. `workspace` holds sgemmWorkspaceBytes() bytes, 64-byte aligned (nullptr: a buffer of the
//! calling thread's own, for callers that run several products at once). `pool` (may be null):
//! the blocks of C are split over its threads (B packed once per block of columns, shared).
//! `epilogue` (may be null): see SgemmEpilogue; with K == 0 it runs on C after C is zeroed (or kept).
//! `prepackedA` (may be null): A already packed by sgemmPackA (constant weights packed once); A must still
//! describe the same matrix (the matrix-vector paths read it directly).
//! `prepackedB` (may be null): B already in packed panels (sgemmPackedBOffset; e.g. written there by
//! im2col); B is then not read. Needs M >= 2, N >= 2 and K <= sgemmMaxPackedK().
void sgemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C, int64_t ldc, bool accumulate,
           void* workspace, ThreadPool* pool = nullptr, const SgemmEpilogue* epilogue = nullptr,
           const float* prepackedA = nullptr, const float* prepackedB = nullptr);

//! Packed B panels: element (k, j) of a K x N matrix at this float offset (panels of 16 columns, each K x 16,
//! zero-padded to a multiple of 16 columns: K * roundUp(N, 16) floats in all).
inline int64_t sgemmPackedBOffset(int64_t K, int64_t k, int64_t j) { return ((j >> 4) * K + k) * 16 + (j & 15); }
//! The largest K sgemm accepts with `prepackedB`.
int64_t sgemmMaxPackedK();
//! Floats of B (K x N) in packed panels: K * roundUp(N, 16).
int64_t sgemmPackedBSize(int64_t K, int64_t N);
//! Packs B into `out` (sgemmPackedBSize floats, 32-byte aligned) for sgemm's `prepackedB` (constant
//! weights packed once); the padding columns are zeroed.
void sgemmPackB(int64_t K, int64_t N, MatrixView B, float* out);

//! Floats of A (M x K) packed for sgemm's micro-kernel: for each block of kc <= 256 of K, row tiles of 6
//! (zero-padded), k-major within the tile.
int64_t sgemmPackedASize(int64_t M, int64_t K);
//! Packs A into `out` (sgemmPackedASize floats, 32-byte aligned) for sgemm's `prepackedA`.
void sgemmPackA(int64_t M, int64_t K, MatrixView A, float* out);
//! Packs only rows [i0, i1) of A (i0 a multiple of 6) into their place in sgemmPackA's layout of the whole
//! M x K matrix in `out` (other rows untouched): `rows` views row i0 as its row 0. For callers that make
//! A a few rows at a time (Winograd's transformed weights) and need no full copy of it.
void sgemmPackARows(int64_t M, int64_t K, int64_t i0, int64_t i1, MatrixView rows, float* out);

//! Name of the micro-kernel in use ("6x16_avx2_fma" or "6x16_portable").
const char* sgemmKernelName();

namespace gemm_detail {
constexpr int64_t kMR = 6;
constexpr int64_t kNR = 16;
//! acc(6x16) = sum_k a[k*6 + r] * b[k*16 + c]; then C tile (mr x nr valid) = (accumulate ? C : 0) + acc.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                             bool accumulate);
void microKernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                         bool accumulate);
void microKernelAvx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                     bool accumulate);  // sgemm_avx2.cpp, compiled with -mavx2 -mfma
//! microKernelAvx2 for nr <= 8: only the first 8 columns of the packed panel (a last, narrow panel).
void microKernelAvx2N8(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                       bool accumulate);
//! out[j] = sum_k a[k] * b[j * ldb + k] for j < n (vector x transposed matrix; sgemm_avx2.cpp, AVX2/FMA).
void dotRowsAvx2(const float* a, const float* b, int64_t ldb, int64_t K, int64_t n, float* out);
//! out[k * 16 + j] = src[j * ld + k] for k < K, j < 16 (a full panel of a transposed B; sgemm_avx2.cpp).
void packPanelTransposedAvx2(const float* src, int64_t ld, int64_t K, float* out);
//! out[k * 6 + r] = src[r * rs + k] for k < kc, r < 6 (a full row tile of a row-major A; sgemm_avx2.cpp).
void packTile6Avx2(const float* src, int64_t rs, int64_t kc, float* out);
//! How sgemm splits an M x N product over `threads` tasks: a grid of mParts x nParts blocks of C
//! (mParts * nParts <= threads), chosen to balance the micro-tiles per task.
void splitForThreads(int64_t M, int64_t N, int threads, int* mParts, int* nParts);
//! Forces a micro-kernel (tests compare both); nullptr restores the automatic choice.
void setMicroKernelForTesting(MicroKernel k);
}  // namespace gemm_detail

}  // namespace kiln::cpu
