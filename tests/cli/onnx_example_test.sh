#!/usr/bin/env bash
# kiln check / build / inspect / run on the example ONNX model; the output must match numpy's.
set -euo pipefail
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
"$PY" "$SRC/examples/make_example_model.py" .
"$KILN" check classifier.onnx | grep -q "OK: the model imports"
"$KILN" build classifier.onnx -o classifier.plan
"$KILN" inspect classifier.plan --json > inspect.json
"$PY" -c "import json; d = json.load(open('inspect.json')); print('inspect json ok:', list(d)[:5])"
"$KILN" run classifier.plan --input image=input.npy --output-dir out --iterations 3
"$PY" "$SRC/examples/check_output.py" out/probs.npy expected.npy 1e-5
# failures are one-line errors with non-zero exit codes
if "$KILN" build missing.onnx -o x.plan 2> err.txt; then echo "expected a failure"; exit 1; fi
grep -q "error" err.txt
head -c 100 classifier.plan > cut.plan
if "$KILN" run cut.plan 2> err.txt; then echo "expected a failure"; exit 1; fi
grep -q "truncated" err.txt
printf 'not onnx at all' > bad.onnx
if "$KILN" check bad.onnx > out.txt 2>&1; then echo "expected a failure"; exit 1; fi
echo "cli end-to-end: ok"
