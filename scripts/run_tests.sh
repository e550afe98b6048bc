#!/usr/bin/env bash
# The test command: installs dependencies, builds kiln with its tests, runs the whole suite.
#   ./scripts/run_tests.sh            (build dir: build/)
# KILN_BUILD_DIR and KILN_JOBS override the build directory and parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
./scripts/python_env.sh
build=${KILN_BUILD_DIR:-build}
jobs=${KILN_JOBS:-$(nproc)}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$PWD/.venv/bin/python"
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs"
# CI fuzz smoke (issue 8): with CI set (CI=true in CI), 60 s per fuzz target in a clang + libFuzzer build
# (build-fuzz/; scripts/fuzz.sh, docs/security.md). Findings are printed but do not fail the run while
# tests/fuzz/open/ lists known, unfixed ones that a 60 s run can hit; set KILN_FUZZ_FAIL_ON_FINDINGS=1 to fail.
if [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; then
  cd "$OLDPWD"
  # The smoke reports; the regression replays above (fuzz_*_regressions) are what gates.
  KILN_JOBS=${KILN_JOBS:-2} KILN_FUZZ_FAIL_ON_FINDINGS=${KILN_FUZZ_FAIL_ON_FINDINGS:-0} ./scripts/fuzz.sh 60 ||
    echo "run_tests.sh: the fuzz smoke did not complete (see above); the test run itself passed"
fi
