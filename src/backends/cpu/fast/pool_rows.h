// Rows of the separable MaxPool of the fast pooling tactic (pool_tactics.cpp; AVX2 in pool_avx2.cpp).
#pragma once

#include <cstdint>

namespace kiln::cpu::fast::pool {

//! cm[i] = r[i] if r[i] > cm[i] or cm[i] is NaN, else cm[i], for i < n. `overread`: r and cm may be read
//! (and cm written) up to 7 floats beyond n.
void colMaxAvx2(float* cm, const float* r, int64_t n, bool overread);
//! cm[i] = r[i] for i < n; whether any is NaN.
bool copyRowAvx2(float* cm, const float* r, int64_t n);
//! For ox in [ox0, ox1), with b = ox * sx + base: y[ox] = first[b] if that is NaN, else the NaN-skipping
//! maximum of cm[b + kx * dx] over kx < kw (every index read must be valid, and cm readable 16 floats
//! beyond the last). `firstNan`: whether `first` may hold NaNs (else it is not read).
void rowMaxAvx2(float* y, const float* cm, const float* first, int64_t ox0, int64_t ox1, int64_t sx, int64_t dx,
                int64_t kw, int64_t base, bool firstNan);

}  // namespace kiln::cpu::fast::pool
