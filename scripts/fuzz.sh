#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/), generates their seed corpora, runs each target and
# collects what it finds. See docs/security.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s; fuzz_proto fuzz_onnx fuzz_plan fuzz_npy)
#
# One target runs at a time (one core). Each input that crashes, leaks, times out or runs out of memory is
# copied to tests/fuzz/regressions/<target>/ (replayed by the normal test suite: ctest -L fuzz) and the
# fuzzer goes on with the time left (at most 8 restarts per target). Per target it prints executions,
# coverage (edges; features) and findings. Exit status 1 when anything was found (0 with
# KILN_FUZZ_FAIL_ON_FINDINGS=0: report only).
# Environment: KILN_FUZZ_BUILD_DIR (build-fuzz), KILN_JOBS (2), KILN_FUZZ_CORPUS (<build>/corpus: kept
# between runs, so later runs start from what earlier ones reached).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_proto fuzz_onnx fuzz_plan fuzz_npy)
build=${KILN_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${KILN_JOBS:-2}
corpus=${KILN_FUZZ_CORPUS:-$build/corpus}

max_len() {
  case $1 in
    fuzz_proto) echo 4096 ;;
    fuzz_onnx) echo 16384 ;;
    fuzz_plan) echo 32768 ;;
    fuzz_npy) echo 2048 ;;
    *) echo "fuzz.sh: unknown target $1" >&2; exit 2 ;;
  esac
}
for t in "${targets[@]}"; do max_len "$t" >/dev/null; done

# clang's libFuzzer runtime (Debian: libclang-rt-<ver>-dev) is only needed here, not for the normal build.
probe=$(mktemp -d)
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  ./scripts/setup_deps.sh --fuzz
fi
rm -rf "$probe"

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DKILN_FUZZ=ON -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_TOOLS=OFF \
  -DKILN_BUILD_PYTHON=OFF -DKILN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}" kiln_fuzz_seeds

rm -rf "$build/seeds"
"$build/fuzz/kiln_fuzz_seeds" "$build/seeds"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
found_total=0
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t" "$build/artifacts/$t" "tests/fuzz/regressions/$t"
  seeds=()
  [ -d "$build/seeds/$t" ] && seeds=("$build/seeds/$t")
  execs=0 cov=? ft=? found=() restarts=0
  end=$(( $(date +%s) + secs ))
  while :; do
    left=$(( end - $(date +%s) ))
    [ "$left" -ge 1 ] || break
    log="$build/artifacts/$t/run-$restarts.log"
    before=$(ls "$build/artifacts/$t" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sort || true)
    set +e
    "$build/fuzz/$t" -max_total_time="$left" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2560 \
      -malloc_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
      "$corpus/$t" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    set -e
    # "#12345  DONE   cov: 1234 ft: 5678 corp: ..." (the last status line of the run)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    n=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    [ -z "$n" ] && n=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#' || true)
    execs=$(( execs + ${n:-0} ))
    c=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
    f=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || true)
    [ -n "$c" ] && cov=$c
    [ -n "$f" ] && ft=$f
    after=$(ls "$build/artifacts/$t" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sort || true)
    new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^slow-unit-' || true)
    for a in $new; do
      cp "$build/artifacts/$t/$a" "tests/fuzz/regressions/$t/$a"
      found+=("$a")
      echo "fuzz.sh: $t: $a -> tests/fuzz/regressions/$t/$a (log: $log)"
      grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -3 | sed 's/^/    /'
    done
    [ "$rc" -eq 0 ] && break
    if [ -z "$new" ]; then
      echo "fuzz.sh: $t exited with status $rc without an artifact; see $log" >&2
      found+=("exit-$rc")
      break
    fi
    restarts=$(( restarts + 1 ))
    [ "$restarts" -lt 8 ] || break
  done
  found_total=$(( found_total + ${#found[@]} ))
  summary+=("$(printf '%-11s executions %-10s coverage %s edges, %s features   findings %d %s' \
    "$t" "$execs" "$cov" "$ft" "${#found[@]}" "${found[*]:-}")")
done
echo
echo "fuzz.sh: ${secs}s per target, $(date -u +%Y-%m-%d)"
printf '  %s\n' "${summary[@]}"
[ "$found_total" -eq 0 ] || [ "${KILN_FUZZ_FAIL_ON_FINDINGS:-1}" = 0 ]
