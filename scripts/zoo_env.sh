#!/usr/bin/env bash
# Sets up what the model zoo needs (tests/models/export_zoo.py, the zoo correctness test, bench/zoo_bench.py)
# on a Debian 12 machine. Idempotent: a second run only checks and prints what is there.
#   - Debian's PyTorch 1.13 (CPU) and torchvision 0.14: python3-torch, python3-torchvision (+ python3-venv)
#   - libopenblas0-pthread: Debian's torch does its Linear/MatMul and 1x1 convolutions through the system
#     libblas.so.3, which is the netlib reference BLAS unless OpenBLAS is installed (about 15x slower on a
#     512x512 matmul here); the benchmark's PyTorch column needs a real BLAS. Exporting does not.
#   - .venv-zoo: a venv of Debian's own /usr/bin/python3 created with --system-site-packages, so that it sees
#     Debian's torch, plus onnx and onnxruntime from pip. numpy is pinned below 2 inside it: Debian's torch
#     1.13 is built against numpy 1.x and, with numpy 2 in the venv, torch.from_numpy / .numpy() fail
#     ("Failed to initialize NumPy: _ARRAY_API not found", "RuntimeError: Numpy is not available"); the pin
#     keeps a pip dependency from pulling numpy 2 over Debian's numpy 1.24.
# Usage: ./scripts/zoo_env.sh            then: .venv-zoo/bin/python tests/models/export_zoo.py
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Debian's torch is installed for Debian's python (/usr/bin/python3), not for a python3 found first on PATH
# (pyenv, /usr/local): the venv must be made from /usr/bin/python3 to see it.
PY=/usr/bin/python3

need=()
for p in python3-torch python3-torchvision python3-venv libopenblas0-pthread; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "zoo_env: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
else
  echo "zoo_env: apt packages present (python3-torch python3-torchvision python3-venv libopenblas0-pthread)"
fi

if [ ! -x .venv-zoo/bin/python ]; then
  echo "zoo_env: creating .venv-zoo ($PY -m venv --system-site-packages)"
  "$PY" -m venv --system-site-packages .venv-zoo
else
  echo "zoo_env: .venv-zoo exists"
fi

if ! .venv-zoo/bin/python -c "import onnx, onnxruntime, numpy, torch, torchvision; assert int(numpy.__version__.split('.')[0]) < 2" \
    >/dev/null 2>&1; then
  echo "zoo_env: pip install into .venv-zoo: onnx onnxruntime 'numpy<2'"
  .venv-zoo/bin/python -m pip install -q --disable-pip-version-check onnx onnxruntime "numpy<2"
else
  echo "zoo_env: onnx, onnxruntime, numpy<2 present in .venv-zoo"
fi

.venv-zoo/bin/python - <<'EOF'
import numpy, onnx, onnxruntime, torch, torchvision
print("zoo_env: ready: torch %s, torchvision %s, onnx %s (max opset %d), onnxruntime %s, numpy %s"
      % (torch.__version__, torchvision.__version__, onnx.__version__, onnx.defs.onnx_opset_version(),
         onnxruntime.__version__, numpy.__version__))
EOF
