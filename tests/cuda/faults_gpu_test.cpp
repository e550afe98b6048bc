// Faults (issue 8) on the GPU backend: a plan file rewritten, truncated or replaced while a GPU engine loaded
// from it runs, and a device allocation (cudaMalloc) that fails in one execution context while the others go
// on. The checks are in tests/fault_util.h (the CPU variants: tests/unit/faults_test.cpp).
#include "fault_util.h"
#include "gpu_op.h"

namespace kiln::test {
namespace {

TEST(GpuFaults, PlanFileRewrittenTruncatedOrReplacedWhileEnginesRun) {
  KILN_REQUIRE_GPU();
  faults::planFileReplacedWhileEnginesRun(DeviceType::kGPU);
}

TEST(GpuFaults, FailingDeviceAllocationInOneContextLeavesTheOthersWorking) {
  KILN_REQUIRE_GPU();
  faults::failingAllocationInOneContext(DeviceType::kGPU);
}

}  // namespace
}  // namespace kiln::test
