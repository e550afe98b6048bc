#!/usr/bin/env bash
# Creates .venv with the Python packages kiln's scripts and tests use (onnx, numpy; pybind11 and pytest for
# the Python module and its tests; scikit-build-core for `pip install .`). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv python3-pip
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import onnx, numpy" 2>/dev/null || .venv/bin/python -m pip install -q onnx numpy
.venv/bin/python -c "import pybind11, pytest, scikit_build_core" 2>/dev/null ||
  .venv/bin/python -m pip install -q pybind11 pytest scikit-build-core
# The samples' tests (samples/tests) use the pretrained PP-OCR text-direction and text-detection ONNX models
# that the rapidocr_onnxruntime wheel carries (15 MB). Only the model files are used: --no-deps keeps its
# runtime dependencies (opencv, onnxruntime) out. Without it those two cases are skipped.
.venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('rapidocr_onnxruntime') is None)" 2>/dev/null ||
  .venv/bin/python -m pip install -q --no-deps rapidocr_onnxruntime==1.4.4 ||
  echo "python_env.sh: could not install rapidocr_onnxruntime; the samples' pretrained cases will be skipped"
