// Vectorized float32 epilogues and activations for the fast CPU tactics: y = act(x + bias (+ row bias)
// (+ z)), with the kiln_act semantics of ir/ops/fused_activation.h (NaN handling included). An AVX2/FMA
// version (activation_avx2.cpp) is picked at run time by CPU features; the portable one computes in double
// through FusedActivation::apply (the reference semantics).
#pragma once

#include <cstdint>

#include "ir/ops/fused_activation.h"

namespace kiln::cpu::fast {

struct RowEpilogue {
  float bias{0.f};                  //!< added to every element
  const float* biasVec{nullptr};    //!< per element j of the row (MatMul bias), or null
  const float* z{nullptr};          //!< residual, per element j, or null
  ir::FusedActivation act;
};

//! y[j] = act(x[j] + e.bias + e.biasVec[j] + e.z[j]) for j < n (x may be y).
void epilogueRow(float* y, const float* x, int64_t n, const RowEpilogue& e);

//! Whether epilogueRow would do anything besides copying x (a bias, residual or activation is set).
inline bool epilogueNeeded(const RowEpilogue& e) { return e.bias != 0.f || e.biasVec || e.z || !e.act.none(); }

namespace detail {
using EpilogueFn = void (*)(float* y, const float* x, int64_t n, const RowEpilogue& e);
void epilogueRowPortable(float* y, const float* x, int64_t n, const RowEpilogue& e);
void epilogueRowAvx2(float* y, const float* x, int64_t n, const RowEpilogue& e);  // activation_avx2.cpp
//! Forces an implementation (tests compare both); nullptr restores the automatic choice.
void setEpilogueForTesting(EpilogueFn f);
}  // namespace detail

}  // namespace kiln::cpu::fast
