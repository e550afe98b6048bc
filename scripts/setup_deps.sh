#!/usr/bin/env bash
# Installs what kiln needs to build and test on a fresh Debian/Ubuntu machine (idempotent).
set -euo pipefail
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v g++ >/dev/null || need+=(g++)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
command -v python3 >/dev/null || need+=(python3 python3-pip python3-venv)
# ONNX's own test models (the reader parses every one of them; the conformance suite runs them)
dpkg -s libonnx-testdata >/dev/null 2>&1 || need+=(libonnx-testdata)
# stb (image load/write) for the samples (samples/)
[ -f /usr/include/stb/stb_image.h ] || need+=(libstb-dev)
# scripts/fuzz.sh only (--fuzz): clang with its libFuzzer/sanitizer runtimes; the normal build does not need them.
if [ "${1:-}" = "--fuzz" ]; then
  command -v clang++ >/dev/null || need+=(clang)
  if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 &&
     ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-aarch64.a >/dev/null 2>&1; then
    need+=(libclang-rt-dev)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
