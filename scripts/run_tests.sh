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
