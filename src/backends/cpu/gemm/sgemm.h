// Single-precision GEMM for the CPU tactics: packed panels (GotoBLAS-style blocking) and a register-tile
// micro-kernel picked once by CPU features (6x16 AVX2/FMA, or a portable one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::cpu {

//! A strided matrix view: element (i, j) at p[i * rs + j * cs] (transposes are just other strides).
struct MatrixView {
  const float* p;
  int64_t rs;
  int64_t cs;
};

//! Bytes of scratch memory sgemm needs (for any M, N, K).
std::size_t sgemmWorkspaceBytes();

//! C[i * ldc + j] (+)= sum_k A(i, k) * B(k, j) for i < M, j < N. `accumulate`: add to C instead of
//! overwriting it. `workspace` holds sgemmWorkspaceBytes() bytes, 64-byte aligned.
void sgemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C, int64_t ldc, bool accumulate,
           void* workspace);

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
//! Forces a micro-kernel (tests compare both); nullptr restores the automatic choice.
void setMicroKernelForTesting(MicroKernel k);
}  // namespace gemm_detail

}  // namespace kiln::cpu
