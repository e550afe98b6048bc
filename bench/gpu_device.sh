#!/usr/bin/env bash
# What runs on the GPU machine (the device tool), in one call:
#   bench/gpu_device.sh BIN_DIR OUT_DIR STEP...
# BIN_DIR holds bins.tar.xz (kiln, kiln_cuda_tests, kiln_conformance, built elsewhere with CUDA) and the
# ONNX test data archives made by bench/gpu_pack.sh; results go to OUT_DIR. Steps:
#   info         GPU, driver, library versions
#   tests        the GPU test binary (every GPU kernel against the CPU reference; GPU engines)
#   conformance  the ONNX backend suites through the GPU backend (markdown + json)
#   bench        bench/gpu_bench.py: kiln vs PyTorch eager / CUDA graph / torch.compile
#   bench-quick  the same without torch.compile
#   python       builds kiln and its Python module for this machine's python3, runs python/tests, then every
#                sample (Python; C++ too when BIN_DIR has the sample programs) on GPU plans
#   sanitize-asan, sanitize-tsan
#                scripts/sanitize.sh on this machine's 16 cores (CPU backend; GoogleTest headers and libraries
#                from BIN_DIR/gtest.tar.xz, made by bench/gpu_pack.sh with KILN_PACK_SANITIZE=1). tsan runs
#                the threading tests only (KILN_TSAN_TESTS, a ctest -R regex).
#   zoo          exports the model zoo (tests/models/export_zoo.py, 8 models at once) and checks every model on
#                the GPU against PyTorch at fp32 (1e-4) and fp16 (1e-2) (bench/gpu_zoo_check.sh, 4 models at once;
#                KILN_ZOO_CONFIGS picks other configurations, e.g. "." for all)
#   compare      kiln compare of every batch-1 fp16 plan the bench built against its ONNX model
#   profile      per-layer GPU profile (kiln bench --profile) and kiln inspect of every fp16 plan the bench built
set -uo pipefail
bin=$(cd "$1" && pwd)
out=$2
shift 2
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
if [ -f "$bin/bins.tar.xz" ] && [ ! -x "$bin/kiln" ]; then tar -C "$bin" -xJf "$bin/bins.tar.xz"; fi
for step in "$@"; do
  case $step in
    info)
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/gpu.txt"
      python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" | tee -a "$out/gpu.txt"
      ;;
    tests)
      "$bin/kiln_cuda_tests" --gtest_brief=1 > "$out/cuda_tests.txt" 2>&1
      echo "kiln_cuda_tests exit $?"
      grep -E "^\[  (PASSED|FAILED|SKIPPED) |FAILED|tests ran" "$out/cuda_tests.txt" | tail -40
      ;;
    conformance)
      data=/tmp/kiln-onnx-data
      mkdir -p "$data/pypi"
      tar -C "$data" -xJf "$bin/onnx-data.tar.xz"
      tar -C "$data/pypi" -xJf "$bin/onnx-pypi-node.tar.xz"
      "$bin/kiln_conformance" --device gpu --jobs 16 \
        --suite node="$data/node" --suite simple="$data/simple" \
        --suite pytorch-converted="$data/pytorch-converted" --suite pytorch-operator="$data/pytorch-operator" \
        --suite pypi-node="$data/pypi/node" \
        --note "GPU backend ($(nvidia-smi --query-gpu=name --format=csv,noheader)), $(date -u +%Y-%m-%d)" \
        --markdown "$out/conformance_gpu.md" --json "$out/conformance_gpu.json" > "$out/conformance_gpu.log" 2>&1
      echo "kiln_conformance exit $?"
      tail -12 "$out/conformance_gpu.log"
      ;;
    bench|bench-quick)
      extra=""
      [ "$step" = bench-quick ] && extra="--no-compile"
      python3 "$(dirname "$0")/gpu_bench.py" --kiln "$bin/kiln" --work /tmp/kiln-gpu-bench $extra \
        --markdown "$out/gpu_bench.md" --json "$out/gpu_bench.json" ${KILN_BENCH_ARGS:-} > "$out/gpu_bench.log" 2>&1
      echo "gpu_bench exit $?"
      tail -25 "$out/gpu_bench.log"
      # build logs (tactic choices and timing), torch worker and export logs
      (cd /tmp/kiln-gpu-bench && tar -cJf "$out/gpu_bench_logs.tar.xz" *.log 2>/dev/null)
      ;;
    python)
      # The Python module must be built by this machine's compiler together with the library (a module built
      # here against a library built elsewhere with an older g++ mixes two libstdc++ versions and crashes), so
      # this step builds the library, the command line and the module from the working tree (16 cores).
      pyb=/tmp/kiln-pybuild
      cmake -S . -B "$pyb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_SAMPLES=OFF \
        -DKILN_BUILD_BENCH=OFF -DKILN_PYTHON="$(command -v python3)" > "$out/pybuild.log" 2>&1 &&
        cmake --build "$pyb" -j 16 --target _kiln kiln_cli >> "$out/pybuild.log" 2>&1
      echo "python module build exit $?"; tail -2 "$out/pybuild.log"
      export PYTHONPATH=$pyb/python
      python3 -c "import kiln, kiln.cuda as c; print('kiln', kiln.__version__, 'cuda backend', c.backend, 'available', c.is_available())"
      python3 -m pytest -q -p no:cacheprovider python/tests > "$out/pytest.txt" 2>&1
      echo "pytest exit $?"; tail -4 "$out/pytest.txt"
      [ -f "$bin/samples.tar.xz" ] && tar -C "$bin" -xJf "$bin/samples.tar.xz"
      sw=/tmp/kiln-samples
      python3 samples/tests/samples_test.py setup "$sw" --kiln "$pyb/kiln" > "$out/samples_setup.log" 2>&1
      echo "samples setup exit $?"
      langs=python
      [ -x "$bin/sample_classification" ] && langs="cpp python"
      for lang in $langs; do
        for c in classification detection segmentation regression; do
          python3 samples/tests/samples_test.py check "$sw" $c $lang --bin-dir "$bin" > "$out/sample_${c}_$lang.log" 2>&1
          echo "sample $c $lang exit $?"
        done
      done
      mkdir -p "$out/samples"
      for d in "$sw"/out_*; do cp "$d/result.png" "$out/samples/$(basename "$d").png" 2>/dev/null; done
      ;;
    sanitize-asan|sanitize-tsan)
      kind=${step#sanitize-}
      g=/tmp/kiln-gtest data=/tmp/kiln-onnx-data
      mkdir -p "$g" "$data" && tar -C "$g" -xJf "$bin/gtest.tar.xz"
      [ -d "$data/node" ] || tar -C "$data" -xJf "$bin/onnx-data.tar.xz"
      args=()
      [ "$kind" = tsan ] && args=(-R "${KILN_TSAN_TESTS:-[Cc]oncurren|[Tt]hread|[Pp]ool|[Ss]tream|[Mm]ulti}")
      export KILN_ONNX_TESTDATA_DIR=$data
      KILN_SKIP_SETUP=1 KILN_JOBS=16 KILN_PYTHON="$(command -v python3)" KILN_SANITIZE_BUILD=/tmp/kiln-$kind \
        KILN_SANITIZE_EXCLUDE="conformance|zoo|samples|python" \
        KILN_CMAKE_ARGS="-DKILN_WITH_CUDA=OFF -DKILN_BUILD_SAMPLES=OFF -DKILN_BUILD_PYTHON=OFF -DCMAKE_PREFIX_PATH=$g/usr -DKILN_ONNX_TESTDATA_DIR=$data" \
        scripts/sanitize.sh "$kind" "${args[@]}" > "$out/sanitize_$kind.log" 2>&1
      echo "sanitize $kind exit $?"
      grep -E "tests passed|tests failed|Total Test time|\*\*\*Failed|Failed  |Timeout|ERROR: (Address|Leak|Thread)Sanitizer|runtime error" "$out/sanitize_$kind.log" | head -30
      ;;
    zoo)
      # one export process per model, KILN_ZOO_EXPORT_JOBS at once; then KILN_ZOO_JOBS models checked at once,
      # in the configurations KILN_ZOO_CONFIGS names (default: GPU fp32 and fp16, the limits of issue 5)
      t0=$(date +%s)
      models=${KILN_ZOO_MODELS:-$(python3 tests/models/export_zoo.py --list)}  # KILN_ZOO_MODELS: a subset
      logs=$(mktemp -d)
      printf '%s\n' $models | KILN_ZOO_THREADS=2 xargs -P "${KILN_ZOO_EXPORT_JOBS:-8}" -I{} sh -c \
        'python3 tests/models/export_zoo.py /tmp/kiln-zoo --models "$0" > "$1/$0.log" 2>&1 || echo "zoo export $0 failed"' {} "$logs"
      cat "$logs"/*.log > "$out/zoo_export.log"; rm -rf "$logs"
      echo "zoo exports: $(($(date +%s) - t0)) s"
      KILN_ZOO_CONFIGS=${KILN_ZOO_CONFIGS:-"^gpu fp(32|16)$"} KILN_ZOO_JOBS=${KILN_ZOO_JOBS:-4} \
        bash "$(dirname "$0")/gpu_zoo_check.sh" "$bin/kiln" /tmp/kiln-zoo $models 2>&1 | tee "$out/zoo_check.txt"
      echo "zoo: $(($(date +%s) - t0)) s in all"
      ;;
    compare)
      for plan in /tmp/kiln-gpu-bench/*_b1_fp16.plan; do
        [ -f "$plan" ] || continue
        m=$(basename "$plan" _b1_fp16.plan)
        "$bin/kiln" compare "/tmp/kiln-gpu-bench/$m.onnx" "$plan" --rtol 0.05 --atol 0.05 \
          --input "$(ls /tmp/kiln-gpu-bench/${m}_b1_*.npy | head -1 | sed "s#.*/${m}_b1_\(.*\)\.npy#\1#")=$(ls /tmp/kiln-gpu-bench/${m}_b1_*.npy | head -1)" \
          --json "$out/compare_$m.json" > "$out/compare_$m.txt" 2>&1
        echo "compare $m exit $?: $(tail -2 "$out/compare_$m.txt" | tr '\n' ' ')"
      done
      ;;
    profile)
      for plan in /tmp/kiln-gpu-bench/*_fp16.plan; do
        [ -f "$plan" ] || continue
        b=$(basename "$plan" .plan)
        "$bin/kiln" inspect "$plan" > "$out/inspect_$b.txt" 2>&1
        "$bin/kiln" bench "$plan" --no-data-transfers --iterations 50 --duration 0 --profile > "$out/profile_$b.txt" 2>&1
        echo "$b: $(grep -c . "$out/inspect_$b.txt") inspect lines; $(grep -m1 -i median "$out/profile_$b.txt")"
      done
      ;;
    *) echo "unknown step $step"; exit 2 ;;
  esac
done
