// PreactConv (ir/ops/preact_conv.cpp) on the CPU: the geometry checks shared by the reference kernel
// (ref/preact_conv.cpp) and the fast tactic (fast/preact_conv.cpp), and the fast tactic's registration.
#pragma once

#include <cstdint>
#include <string>

#include "backends/cpu/kernel.h"

namespace kiln::cpu::preact {

//! The extents of one run: batch N, total channels C, output channels M, spatial positions P.
struct Geom {
  int64_t N{0}, C{0}, M{0}, P{0};
};

//! Checks the run's tensors against each other (W [M, C, 1...], B [M], Scale/Shift [C], X_i [N, C_i,
//! spatial...], Y [N, M, spatial...]); throws kiln::Error(kINVALID_ARGUMENT) where they do not fit.
Geom geometry(const KernelContext& ctx);

}  // namespace kiln::cpu::preact

namespace kiln::cpu::fast {
void registerPreactConvTactics(KernelRegistry& reg);  // fast/preact_conv.cpp: PreactConv ("fast", float32)
}  // namespace kiln::cpu::fast
