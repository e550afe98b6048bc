#!/usr/bin/env bash
# Builds the whole test suite with sanitizers in its own build dir and runs ctest. See docs/security.md.
#
#   scripts/sanitize.sh [asan|tsan] [CTEST ARGS...]
#     asan (default): AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer (KILN_SANITIZE=ON), build-asan/
#     tsan:           ThreadSanitizer (KILN_TSAN=ON), build-tsan/
#
# The ONNX conformance suite (label "conformance", ~thousands of models) is left out unless
# KILN_SANITIZE_ALL=1; extra arguments go to ctest (e.g. -R plan, -L fuzz).
# Environment: KILN_JOBS (2), CXX (the compiler; the default c++ is fine for both), KILN_SANITIZE_BUILD (the build
# dir), KILN_CMAKE_ARGS (more configure arguments), KILN_SKIP_SETUP=1 (machines without network: do not install
# packages; bench/gpu_device.sh's `sanitize` step uses these on the GPU machine's 16 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-asan}
[ $# -gt 0 ] && shift
jobs=${KILN_JOBS:-2}
case $kind in
  asan)
    build=${KILN_SANITIZE_BUILD:-build-asan}
    flags=(-DKILN_SANITIZE=ON -DKILN_TSAN=OFF)
    # every report is fatal; leaks are reported at exit; a failing allocation returns null as malloc does (the
    # faults tests make one fail on purpose and expect kiln's error)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-}
    ;;
  tsan)
    build=${KILN_SANITIZE_BUILD:-build-tsan}
    flags=(-DKILN_SANITIZE=OFF -DKILN_TSAN=ON)
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    ;;
  *)
    echo "usage: scripts/sanitize.sh [asan|tsan] [CTEST ARGS...]" >&2
    exit 2
    ;;
esac
if [ "${KILN_SKIP_SETUP:-0}" != 1 ]; then
  ./scripts/setup_deps.sh
  ./scripts/python_env.sh
fi
py=${KILN_PYTHON:-}
[ -z "$py" ] && [ -x .venv/bin/python ] && py="$PWD/.venv/bin/python"
# -O1 -g: readable stacks at a tolerable speed
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DKILN_PYTHON="$py" "${flags[@]}" ${KILN_CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
cd "$build"
extra=()
[ "${KILN_SANITIZE_ALL:-0}" = 1 ] || extra=(-LE "${KILN_SANITIZE_EXCLUDE:-conformance}")
ctest --output-on-failure -j "$jobs" "${extra[@]}" "$@"
