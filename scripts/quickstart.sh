#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install what is needed, build kiln, make an ONNX model,
# build a plan from it with `kiln build`, run the plan with `kiln run` and check the result.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
build=${KILN_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target kiln_cli
# Python with onnx and numpy, only to write the example model and its reference output
./scripts/python_env.sh
py=.venv/bin/python
work=${KILN_WORK_DIR:-$build/quickstart}
mkdir -p "$work"
"$py" examples/make_example_model.py "$work"
"$build/kiln" check "$work/classifier.onnx"
"$build/kiln" build "$work/classifier.onnx" -o "$work/classifier.plan"
"$build/kiln" inspect "$work/classifier.plan"
"$build/kiln" run "$work/classifier.plan" --input "image=$work/input.npy" --output-dir "$work/out" --iterations 100
"$py" examples/check_output.py "$work/out/probs.npy" "$work/expected.npy" 1e-4
