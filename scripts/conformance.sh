#!/usr/bin/env bash
# ONNX backend conformance: builds kiln_conformance and runs it over the five suites, writing
# docs/conformance.md (and the JSON next to the build). Extra arguments go to the runner
# (e.g. --filter conv, --verbose, --ratchet tests/conformance/ratchet.txt).
#   ./scripts/conformance.sh            (build dir: build-conf/, KILN_BUILD_DIR overrides; KILN_JOBS: parallelism)
#
# Suites: Debian's libonnx-testdata (node, simple, pytorch-converted, pytorch-operator under
# /usr/include/onnx/backend/test/data; scripts/setup_deps.sh installs it) and the node cases of the newest
# PyPI onnx in .venv (scripts/python_env.sh), generated into the build dir by
# tests/conformance/gen_node_data.py because the wheels do not ship data/node.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || ./scripts/python_env.sh
build=${KILN_BUILD_DIR:-build-conf}
jobs=${KILN_JOBS:-$(nproc)}
data=${KILN_ONNX_TESTDATA_DIR:-/usr/include/onnx/backend/test/data}
[ -d "$data/node" ] || { echo "conformance.sh: $data/node is missing (run scripts/setup_deps.sh)" >&2; exit 1; }
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build "$build" -j "$jobs" --target kiln_conformance
.venv/bin/python tests/conformance/gen_node_data.py "$build/onnx-pypi-data" 2>/dev/null
pypi_version=$(.venv/bin/python -c "import onnx; print(onnx.__version__)")
exec "$build/tests/kiln_conformance" \
  --suite node="$data/node" \
  --suite simple="$data/simple" \
  --suite pytorch-converted="$data/pytorch-converted" \
  --suite pytorch-operator="$data/pytorch-operator" \
  --suite "pypi-node=$build/onnx-pypi-data/node" \
  --jobs "$jobs" --markdown docs/conformance.md --json "$build/conformance.json" \
  --note "Suites node, simple, pytorch-converted, pytorch-operator: Debian libonnx-testdata $(dpkg-query -W -f='${Version}' libonnx-testdata 2>/dev/null || echo '?'); pypi-node: the node cases of onnx $pypi_version from PyPI." \
  "$@"
