#!/usr/bin/env bash
# Runs already-built libFuzzer targets side by side, several processes per target, for a machine with more
# cores than the dev VM (the lent GPU host has 16). No build here: scripts/fuzz.sh builds the targets.
#
#   scripts/fuzz_parallel.sh FUZZ_BIN_DIR CORPUS_DIR OUT_DIR SECONDS target:procs [target:procs ...]
#
# Each process gets its own copy of the target's corpus (so they explore differently) and writes new
# inputs and artifacts (crash-*, leak-*, timeout-*, oom-*) under OUT_DIR/<target>/<i>/. Prints per target
# the executions summed over its processes, process-minutes, the best coverage, and the findings; exit 1
# when anything was found. Copy findings to tests/fuzz/regressions/<target>/ by hand after a look.
set -uo pipefail
bin=$1 corpus=$2 out=$3 secs=$4
shift 4
max_len() { case $1 in fuzz_proto) echo 4096 ;; fuzz_onnx) echo 16384 ;; fuzz_plan) echo 32768 ;; fuzz_npy) echo 2048 ;; *) echo 4096 ;; esac; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pids=()
for spec in "$@"; do
  t=${spec%%:*} n=${spec##*:}
  for i in $(seq 1 "$n"); do
    d=$out/$t/$i
    mkdir -p "$d/corpus" "$d/artifacts"
    [ -d "$corpus/$t" ] && cp -r "$corpus/$t/." "$d/corpus/" 2>/dev/null
    "$bin/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2560 \
      -malloc_limit_mb=4096 -print_final_stats=1 -seed=$((1000 * i + 7)) -artifact_prefix="$d/artifacts/" \
      "$d/corpus" >"$d/log" 2>&1 &
    pids+=($!)
  done
done
wait "${pids[@]}"
found=0
echo "fuzz_parallel.sh: ${secs}s per process, $(date -u +%Y-%m-%d), $(nproc) cores"
for spec in "$@"; do
  t=${spec%%:*} n=${spec##*:}
  execs=0 cov=0 arts=""
  for i in $(seq 1 "$n"); do
    d=$out/$t/$i
    e=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$d/log" | grep -oE '[0-9]+$' || echo 0)
    execs=$((execs + ${e:-0}))
    c=$(grep -E '^#[0-9]+' "$d/log" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo 0)
    [ "${c:-0}" -gt "$cov" ] && cov=$c
    a=$(ls "$d/artifacts" | grep -E '^(crash|leak|timeout|oom)-' || true)
    [ -n "$a" ] && arts="$arts $(echo "$a" | sed "s#^#$t/$i/#" | tr '\n' ' ')"
  done
  [ -n "$arts" ] && found=1
  printf '  %-11s processes %d  process-minutes %d  executions %d  coverage %s edges  findings:%s\n' \
    "$t" "$n" $((n * secs / 60)) "$execs" "$cov" "${arts:- none}"
done
exit $found
