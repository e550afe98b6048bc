#!/usr/bin/env bash
# GPU correctness of zoo models (tests/models/export_zoo.py output) under several build configurations:
#   bench/gpu_zoo_check.sh KILN MODELS_DIR model...
# For each model and configuration: kiln build + kiln run on the exported input, rel. L2 error of every
# output against PyTorch's output (fp32 limit 1e-4, fp16 1e-2, as issue 5 asks).
# KILN_ZOO_CONFIGS: a regex of the configuration names to run (default: all), e.g. "^gpu fp(32|16)$".
set -uo pipefail
kiln=$1 dir=$2
shift 2
work=$(mktemp -d)
py=python3
for m in "$@"; do
  md=$dir/$m
  inputs=""
  for f in "$md"/input/*.npy; do inputs="$inputs --input $(basename "$f" .npy)=$f"; done
  # dynamic models: the optimization profile recorded in meta.json (min/opt/max per input)
  prof=$($py -c "
import json, sys
p = json.load(open(sys.argv[1])).get('profile') or {}
spec = lambda i: ','.join(k + ':' + 'x'.join(str(d) for d in v[i]) for k, v in p.items())
print(' '.join(['--min-shapes', spec(0), '--opt-shapes', spec(1), '--max-shapes', spec(2)]) if p else '')" "$md/meta.json")
  for cfg in "gpu fp32:--device gpu" "gpu fp32 graph:--device gpu|--cuda-graph" "gpu fp32 no-timing:--device gpu --no-timing" \
             "gpu fp32 no-fusion:--device gpu:KILN_DISABLE_PASSES=fuse-conv-epilogue,fuse-matmul-epilogue,fold-batchnorm" \
             "gpu fp16:--device gpu --fp16|--cuda-graph" "cpu fp32:--device cpu"; do
    name=${cfg%%:*}; rest=${cfg#*:}; bflags=${rest%%:*}; envs=""
    [[ "$name" =~ ${KILN_ZOO_CONFIGS:-.} ]] || continue
    [ "$rest" != "$bflags" ] && envs=${rest#*:}
    rflags=""
    case $bflags in *"|"*) rflags=${bflags#*|}; bflags=${bflags%%|*} ;; esac
    plan=$work/$m.plan; out=$work/out_${m}; rm -rf "$out"
    if ! env $envs "$kiln" build "$md/model.onnx" -o "$plan" $bflags $prof > "$work/log" 2>&1; then
      echo "$m | $name | build failed: $(grep -m1 -i error "$work/log")"; continue
    fi
    if ! "$kiln" run "$plan" $inputs --output-dir "$out" $rflags > "$work/log" 2>&1; then
      echo "$m | $name | run failed: $(grep -m1 -i error "$work/log")"; continue
    fi
    med=$(grep -o "median [0-9.]*" "$work/log" | head -1)
    $py - "$out" "$md/torch" "$m | $name | $med" <<'PY'
import glob, os, sys
import numpy as np
out, ref, label = sys.argv[1:4]
errs = []
for f in sorted(glob.glob(os.path.join(ref, "*.npy"))):
    r = np.load(f).astype(np.float64)
    g = np.load(os.path.join(out, os.path.basename(f))).astype(np.float64)
    errs.append(np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30))
print(label, "| rel L2", " ".join("%.2e" % e for e in errs))
PY
  done
done
rm -rf "$work"
