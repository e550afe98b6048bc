// The WMMA pieces shared by the tensor-core channels-last convolutions (conv_pointwise.cu, conv_stem_tc.cu),
// float16 / bfloat16 with float accumulation, sm_80+ (call them under __CUDA_ARCH__ >= 800): a warp's
// 16-row strip of A times up to NF 16-column fragments of B from shared memory, and the fused epilogue that
// turns each accumulator tile through a per-warp float staging tile into 8-channel vectors.
#pragma once

#include <mma.h>

#include <string>

#include "backends/cuda/conv_act.cuh"
#include "backends/cuda/conv_vec_io.cuh"
#include "backends/gpu.h"

namespace kiln::gpu {

constexpr int kStageLd = 20;  //!< leading dimension of a warp's float staging tile (16 rows)
//! Shared memory of the staging tiles of `warps` warps.
constexpr std::size_t stageBytes(int warps) { return static_cast<std::size_t>(warps) * 16 * kStageLd * sizeof(float); }

using WmmaAcc = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>;

//! acc[f] += A (16 rows of kLen, row-major, leading dimension ld) x fragment f of B (16 columns, each stored
//! as a row of kLen at b + 16 f ld: column-major) for f < nf; kLen a multiple of 16.
template <class T, int NF>
__device__ __forceinline__ void wmmaStrip(WmmaAcc (&acc)[NF], const T* a, const T* b, int ld, int kLen, int nf) {
  using namespace nvcuda;
  for (int ks = 0; ks < kLen; ks += 16) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, a + ks, ld);
#pragma unroll
    for (int f = 0; f < NF; ++f) {
      if (f < nf) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
        wmma::load_matrix_sync(fb, b + f * 16 * ld + ks, ld);
        wmma::mma_sync(acc[f], fa, fb, acc[f]);
      }
    }
  }
}

//! The fused epilogue of a warp's accumulators: rows row0 .. row0 + 15 (pixels, of p) x fragments f < nf
//! (channels n0 + 16 f .., of n). Each tile goes through the warp's staging tile cw (16 x kStageLd floats);
//! lane l then takes row l / 2, channels (l % 2) * 8 .. + 8: adds the bias (sBias: float, the block's
//! channels from n0, 16-byte aligned) and the residual z (where not null), applies the activation and stores
//! into y [p, n], 16 bytes at a time where vec (y and z 16-byte aligned, n % 8 == 0), else per element.
//! Whole8: n - n0 is known to be a multiple of 8 (a lane's 8 channels are all in or all out).
template <class T, int NF, bool Whole8 = false>
__device__ __forceinline__ void wmmaEpilogue(WmmaAcc (&acc)[NF], int nf, float* cw, int lane, int row0, int p, int n0,
                                             int n, const float* sBias, const T* __restrict__ z, T* __restrict__ y,
                                             bool vec, const ActParams& act) {
  using namespace nvcuda;
  const int r = lane / 2, cc = (lane % 2) * 8;
  const int pix = row0 + r;
#pragma unroll
  for (int f = 0; f < NF; ++f) {
    if (f < nf) {
      wmma::store_matrix_sync(cw, acc[f], kStageLd, wmma::mem_row_major);
      __syncwarp();
      const int col = f * 16 + cc;  // within the block's channels
      const int gcol = n0 + col;
      if (pix < p && gcol < n) {
        // two 16-byte shared loads each (row r * kStageLd + cc and col are multiples of 4 and 8 floats)
        const float4* c4 = reinterpret_cast<const float4*>(cw + r * kStageLd + cc);
        const float4* b4 = reinterpret_cast<const float4*>(sBias + col);
        const float4 c0 = c4[0], c1 = c4[1], b0 = b4[0], b1 = b4[1];
        float v[8] = {c0.x + b0.x, c0.y + b0.y, c0.z + b0.z, c0.w + b0.w,
                      c1.x + b1.x, c1.y + b1.y, c1.z + b1.z, c1.w + b1.w};
        const int64_t off = static_cast<int64_t>(pix) * n + gcol;
        const bool full = vec && (Whole8 || gcol + 8 <= n);
        if (z) {
          float zv[8];
          if (full) {
            loadVec<T, 8>(z + off, zv);
          } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) zv[i] = Whole8 || gcol + i < n ? toAcc(z[off + i]) : 0.f;
          }
#pragma unroll
          for (int i = 0; i < 8; ++i) v[i] += zv[i];
        }
        actArray<8>(v, act);
        if (full) {
          storeVec<T, 8>(y + off, v);
        } else {
#pragma unroll
          for (int i = 0; i < 8; ++i)
            if (Whole8 || gcol + i < n) y[off + i] = fromAcc<T>(v[i]);
        }
      }
      __syncwarp();
    }
  }
}

//! The end of a WMMA tactic's supports(): false with why = notOk where the node is not `ok`, false with why =
//! "<kernel> needs sm_80 or newer" where the device (where there is one) is older, else true.
inline bool wmmaSupports(bool ok, const char* notOk, const char* kernel, std::string* why) {
  if (!ok) {
    if (why) *why = notOk;
    return false;
  }
  std::string none;
  if (available(&none) && deviceInfo().arch < 80) {
    if (why) *why = std::string(kernel) + " needs sm_80 or newer";
    return false;
  }
  return true;
}

}  // namespace kiln::gpu
