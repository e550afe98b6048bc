#!/usr/bin/env bash
# Builds the whole test suite with sanitizers in its own build dir and runs ctest. See docs/security.md.
#
#   scripts/sanitize.sh [asan|tsan] [CTEST ARGS...]
#     asan (default): AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer (KILN_SANITIZE=ON), build-asan/
#     tsan:           ThreadSanitizer (KILN_TSAN=ON), build-tsan/
#
# The ONNX conformance suite (label "conformance", ~thousands of models) is left out unless
# KILN_SANITIZE_ALL=1; extra arguments go to ctest (e.g. -R plan, -L fuzz).
# Environment: KILN_JOBS (2), CXX (the compiler; the default c++ is fine for both).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-asan}
[ $# -gt 0 ] && shift
jobs=${KILN_JOBS:-2}
case $kind in
  asan)
    build=build-asan
    flags=(-DKILN_SANITIZE=ON -DKILN_TSAN=OFF)
    # every report is fatal; leaks are reported at exit
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-}
    ;;
  tsan)
    build=build-tsan
    flags=(-DKILN_SANITIZE=OFF -DKILN_TSAN=ON)
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    ;;
  *)
    echo "usage: scripts/sanitize.sh [asan|tsan] [CTEST ARGS...]" >&2
    exit 2
    ;;
esac
./scripts/setup_deps.sh
./scripts/python_env.sh
py=""
[ -x .venv/bin/python ] && py="$PWD/.venv/bin/python"
# -O1 -g: readable stacks at a tolerable speed
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DKILN_PYTHON="$py" "${flags[@]}"
cmake --build "$build" -j "$jobs"
cd "$build"
extra=()
[ "${KILN_SANITIZE_ALL:-0}" = 1 ] || extra=(-LE conformance)
ctest --output-on-failure -j "$jobs" "${extra[@]}" "$@"
