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
      ;;
    *) echo "unknown step $step"; exit 2 ;;
  esac
done
