// Faults (issue 8, docs/security.md "Faults") on the CPU backend: a plan file rewritten, truncated or replaced
// while engines loaded from it run, and an allocation that fails in one execution context. The checks are
// in tests/fault_util.h; tests/cuda/faults_gpu_test.cpp runs them on the GPU.
#include "fault_util.h"

namespace kiln::test {
namespace {

TEST(Faults, PlanFileRewrittenTruncatedOrReplacedWhileEnginesRun) { faults::planFileReplacedWhileEnginesRun(DeviceType::kCPU); }

TEST(Faults, FailingAllocationInOneContextLeavesTheOthersWorking) { faults::failingAllocationInOneContext(DeviceType::kCPU); }

}  // namespace
}  // namespace kiln::test
