#!/usr/bin/env bash
# CTest wrapper of the onnx_conformance test (label "conformance"):
#   ctest_conformance.sh KILN_CONFORMANCE PYTHON DEBIAN_DATA_DIR WORK_DIR RATCHET_FILE
# Generates the node cases of PYTHON's onnx into WORK_DIR (tests/conformance/gen_node_data.py), runs the
# five suites and fails when a suite passes fewer cases than RATCHET_FILE records.
set -euo pipefail
runner=$1 py=$2 data=$3 work=$4 ratchet=$5
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$py" "$here/gen_node_data.py" "$work/onnx-pypi-data" 2>/dev/null
exec "$runner" \
  --suite node="$data/node" \
  --suite simple="$data/simple" \
  --suite pytorch-converted="$data/pytorch-converted" \
  --suite pytorch-operator="$data/pytorch-operator" \
  --suite pypi-node="$work/onnx-pypi-data/node" \
  --jobs "${KILN_JOBS:-2}" --json "$work/conformance.json" --markdown "$work/conformance.md" \
  --ratchet "$ratchet"
