#!/usr/bin/env bash
# Packs what bench/gpu_device.sh needs into build-gpu/ (git-ignored; carried to the GPU machine):
# the binaries of a CUDA-enabled build dir (bins.tar.xz) and the ONNX test data (Debian's libonnx-testdata and the node
# cases generated from the PyPI onnx package by the conformance test).
#   [KILN_PACK_DIR=DIR] bench/gpu_pack.sh BUILD_DIR [PYPI_NODE_DATA_DIR]
# With KILN_PACK_SANITIZE=1 it also ships GoogleTest (gtest.tar.xz) for bench/gpu_device.sh's sanitize steps.
set -euo pipefail
build=$1
pypi=${2:-$build/tests/conformance/onnx-pypi-data}
here=$(cd "$(dirname "$0")/.." && pwd)
dst=${KILN_PACK_DIR:-$here/build-gpu}  # KILN_PACK_DIR: another folder (each helper carries its own)
mkdir -p "$dst"
# the binaries carry ~40 MB of GPU code each: ship them stripped and compressed (bins.tar.xz)
tmp=$(mktemp -d)
cp "$build/kiln" "$build/tests/kiln_cuda_tests" "$build/tests/kiln_conformance" "$tmp/"
strip "$tmp/kiln" "$tmp/kiln_cuda_tests" "$tmp/kiln_conformance"
tar -C "$tmp" -cf - kiln kiln_cuda_tests kiln_conformance | xz -T2 -6 > "$dst/bins.tar.xz"
rm -rf "$tmp"
if [ "${KILN_PACK_SANITIZE:-0}" = 1 ]; then  # GoogleTest for the sanitizer builds (the device cannot install it)
  tar -C / -cJf "$dst/gtest.tar.xz" usr/include/gtest usr/include/gmock usr/lib/x86_64-linux-gnu/cmake/GTest \
    $(cd / && ls usr/lib/x86_64-linux-gnu/libgtest*.a usr/lib/x86_64-linux-gnu/libgmock*.a)
fi
data=/usr/include/onnx/backend/test/data
[ -f "$dst/onnx-data.tar.xz" ] || tar -C "$data" -cJf "$dst/onnx-data.tar.xz" node simple pytorch-converted pytorch-operator
[ -f "$dst/onnx-pypi-node.tar.xz" ] || tar -C "$pypi" -cJf "$dst/onnx-pypi-node.tar.xz" node
du -sh "$dst"/*
