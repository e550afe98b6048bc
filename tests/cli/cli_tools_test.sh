#!/usr/bin/env bash
# kiln build / bench / run --json / inspect (--json, --dot) / compare end to end on the example model:
# exit codes, the JSON reports checked with python's json module (required keys and types), and
# `kiln compare` naming the layer and ONNX node of a deliberately wrong layer.
# Environment: KILN (the CLI), KILN_HOOKS (the test build of the CLI, honours KILN_TEST_FAULT),
# PY (python with onnx and numpy), SRC (source tree), WORK (scratch directory).
set -euo pipefail
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE cmd...: runs cmd, checks its exit status
expect_exit() {
  local want=$1; shift
  set +e; "$@" > last.out 2> last.err; local got=$?; set -e
  [ "$got" = "$want" ] || { cat last.out last.err >&2; fail "'$*' exited $got, expected $want"; }
}

"$PY" "$SRC/examples/make_example_model.py" .

# ---- build: summary (and the progress line when asked) ----
"$KILN" build classifier.onnx -o classifier.plan --progress > build.out 2> build.err
grep -q "layers: .* in the network, .* after optimization" build.out || fail "no layer summary: $(cat build.out)"
grep -q "arena: .* bytes" build.out || fail "no arena in the summary"
grep -q "plan: .* bytes" build.out || fail "no plan size in the summary"
grep -q "timing tactics \[[0-9]*/[0-9]*\]" build.err || fail "no progress line with --progress: $(cat build.err)"
"$KILN" build classifier.onnx -o quiet.plan > /dev/null 2> quiet.err
grep -q "timing tactics" quiet.err && fail "progress shown although stderr is not a terminal"
if command -v script > /dev/null; then  # on a (pseudo) terminal the line is redrawn in place and erased
  script -qec "'$KILN' build classifier.onnx -o tty.plan" /dev/null > tty.out
  grep -q $'\r\033\[Ktiming tactics \[1/' tty.out || fail "no in-place progress line on a terminal"
  grep -q "built tty.plan" tty.out || fail "no summary on a terminal"
fi

# ---- every subcommand: --help with examples, exit 0 ----
for c in build check inspect run bench compare; do
  "$KILN" "$c" --help > help.txt || fail "kiln $c --help failed"
  grep -q "examples:" help.txt || fail "kiln $c --help has no examples"
done

# ---- bench ----
"$KILN" bench classifier.plan --duration 0 --iterations 20 --warmup 2 --profile --json bench.json > bench.out
grep -q "p95" bench.out || fail "bench prints no p95"
grep -q "host->device" bench.out || fail "bench prints no copy/compute split"
"$KILN" inspect classifier.plan --json > inspect.json
"$PY" - <<'EOF'
import json
b = json.load(open("bench.json"))
for k, t in [("command", str), ("environment", dict), ("options", dict), ("inputs", list), ("outputs", list),
             ("latency_ms", dict), ("throughput_per_s", (int, float)), ("timed_wall_s", (int, float)),
             ("split_ms", dict), ("profile", dict)]:
    assert k in b, k
    assert isinstance(b[k], t), (k, type(b[k]))
assert b["command"] == "bench"
lat = b["latency_ms"]
for k in ["count", "min", "mean", "median", "p90", "p95", "p99", "max"]:
    assert isinstance(lat[k], (int, float)), k
assert lat["count"] >= 20, lat
assert 0 <= lat["min"] <= lat["median"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"], lat
assert b["throughput_per_s"] > 0
env = b["environment"]
for k, t in [("kiln_version", str), ("date", str), ("os", str), ("cpu", str), ("cpu_cores", int), ("device", str),
             ("plan", dict)]:
    assert isinstance(env.get(k), t), (k, env.get(k))
assert env["device"] in ("cpu", "gpu")
assert env["device"] == "cpu" or isinstance(env["gpu"], dict)
assert len(env["plan"]["hash64"]) == 16 and env["plan"]["bytes"] > 0
for part in ["host_to_device", "compute", "device_to_host"]:
    s = b["split_ms"][part]
    assert s["count"] == lat["count"] and s["min"] >= 0 and s["median"] <= s["max"], (part, s)
assert b["inputs"][0]["name"] == "image" and b["inputs"][0]["shape"] == [1, 3, 32, 32]
assert b["outputs"][0]["name"] == "probs" and b["outputs"][0]["shape"] == [1, 10]
# the profile names the plan's layers (those with a kernel), each timed in every profiled run
prof = b["profile"]
names = [l["name"] for l in json.load(open("inspect.json"))["layer_info"] if l["kernel"]]
assert [l["name"] for l in prof["layers"]] == names, ([l["name"] for l in prof["layers"]], names)
assert all(l["calls"] == prof["runs"] and l["mean_ms"] >= 0 for l in prof["layers"])
assert abs(sum(l["percent"] for l in prof["layers"]) - 100) < 0.1
print("bench json ok")
EOF
"$KILN" bench classifier.plan --duration 0 --iterations 5 --streams 2 --no-data-transfers --json - > bench2.json
"$PY" - <<'EOF'
import json
b = json.load(open("bench2.json"))
assert b["options"]["contexts"] == 2 and b["options"]["data_transfers"] is False
assert b["split_ms"] is None and b["profile"] is None
assert b["latency_ms"]["count"] >= 10
print("bench --streams json ok")
EOF
# a minimum duration is honoured
"$KILN" bench classifier.plan --duration 0.3 --iterations 1 --json b3.json > /dev/null
"$PY" -c "import json; b = json.load(open('b3.json')); assert b['timed_wall_s'] >= 0.3, b['timed_wall_s']"

# ---- run --json (same schema) ----
"$KILN" run classifier.plan --input image=input.npy --iterations 4 --json run.json > run.out
grep -q "p95" run.out || fail "run prints no p95"
grep -Eq "^load: plan [0-9.]+ ms, context [0-9.]+ ms, first run [0-9.]+ ms$" run.out || fail "run prints no load times"
"$PY" - <<'EOF'
import json
import numpy as np
r = json.load(open("run.json"))
assert r["command"] == "run" and r["latency_ms"]["count"] == 4 and "p95" in r["latency_ms"]
o = r["outputs"][0]
exp = np.load("expected.npy")
assert abs(o["max"] - float(exp.max())) < 1e-5 and abs(o["min"] - float(exp.min())) < 1e-5, (o, exp.min(), exp.max())
assert r["inputs"][0]["source"] == "from input.npy"
print("run json ok")
EOF

# ---- inspect: layers with precision, tactic, shapes, ONNX nodes; memory plan; --dot ----
"$PY" - <<'EOF'
import json
import onnx
d = json.load(open("inspect.json"))
for k in ["plan", "device", "inputs", "outputs", "engine", "layer_info", "memory_plan"]:
    assert k in d, k
onnx_nodes = set()
for l in d["layer_info"]:
    for k, t in [("index", int), ("name", str), ("op", str), ("precision", str), ("tactic", str), ("inputs", list),
                 ("outputs", list), ("onnx_nodes", list)]:
        assert isinstance(l[k], t), (k, l)
    assert l["precision"] == "float32" and l["tactic"], l
    for t in l["outputs"]:
        assert all(isinstance(x, int) and x >= 0 for x in t["shape"]), t
    onnx_nodes.update(l["onnx_nodes"])
model = onnx.load("classifier.onnx")
want = {n.name for n in model.graph.node}
assert want <= onnx_nodes, ("ONNX nodes missing from the layers' origins", want - onnx_nodes)
assert len(d["layer_info"]) < len(want), "expected fusion to merge layers"
m = d["memory_plan"]
assert isinstance(m["arena_bytes"], int) and m["tensors"], m
for t in m["tensors"]:
    assert t["offset"] + t["bytes"] <= m["arena_bytes"], t
    assert t["first_layer"] <= t["last_layer"]
# tensors alive at the same time do not overlap
ts = m["tensors"]
for i, a in enumerate(ts):
    for b in ts[i + 1:]:
        live = not (a["last_layer"] < b["first_layer"] or b["last_layer"] < a["first_layer"])
        overlap = a["offset"] < b["offset"] + b["bytes"] and b["offset"] < a["offset"] + a["bytes"]
        assert not (live and overlap), (a, b)
print("inspect json ok")
EOF
"$KILN" inspect classifier.plan > inspect.txt
grep -q "onnx: conv1" inspect.txt || fail "inspect text lacks the ONNX nodes"
grep -q "memory plan" inspect.txt || fail "inspect text lacks the memory plan"
"$KILN" inspect classifier.plan --dot > plan.dot
head -1 plan.dot | grep -q "^digraph" || fail "--dot is not Graphviz"
grep -q -- "->" plan.dot || fail "--dot has no edges"
if command -v dot > /dev/null; then dot -Tsvg plan.dot > plan.svg || fail "dot cannot render --dot"; fi

# ---- compare: the plan agrees with the reference ----
"$KILN" compare classifier.onnx classifier.plan --input image=input.npy --json compare.json > compare.out \
  || { cat compare.out; fail "compare of a correct plan failed"; }
grep -q "^OK" compare.out || fail "compare does not say OK"
grep -q "^reference: .*in float64" compare.out || fail "the report does not say the reference is float64"
grep -q "^reduced precision: none" compare.out || fail "the report does not list reduced-precision nodes"
"$PY" - <<'EOF'
import json
c = json.load(open("compare.json"))
assert c["passed"] is True and c["first_failure"] is None and c["compared_tensors"] >= 3, c
assert c["ref_precision"] == "fp64" and c["reduced_precision_nodes"] == [], c
for l in c["layers"]:
    assert isinstance(l["onnx_nodes"], list) and isinstance(l["tensors"], list)
    for t in l["tensors"]:
        if t["compared"]:
            assert t["ok"] and isinstance(t["max_abs"], (int, float)) and t["max_abs"] <= 1e-4, t
print("compare json ok")
EOF
# without a plan, compare builds one
expect_exit 0 "$KILN" compare classifier.onnx
# --ref-precision fp32: the reference in the model's own types (the behaviour before fp64 references)
"$KILN" compare classifier.onnx classifier.plan --input image=input.npy --ref-precision fp32 --json compare32.json \
  > compare32.out || { cat compare32.out; fail "compare --ref-precision fp32 of a correct plan failed"; }
grep -q "^reference: .*in the model's types" compare32.out || fail "the report does not say the reference is fp32"
grep -q "^reduced precision" compare32.out && fail "an fp32 reference lists reduced-precision nodes"
"$PY" - <<'EOF'
import json
a, b = json.load(open("compare.json")), json.load(open("compare32.json"))
assert b["ref_precision"] == "fp32" and b["passed"] is True and b["reduced_precision_nodes"] == [], b
ta = [t for l in a["layers"] for t in l["tensors"] if t["compared"]]
tb = [t for l in b["layers"] for t in l["tensors"] if t["compared"]]
assert [t["name"] for t in ta] == [t["name"] for t in tb]
# same plan, other reference: the errors differ, and stay within float32 rounding of each other
assert any(x["max_abs"] != y["max_abs"] for x, y in zip(ta, tb)), "fp64 and fp32 references gave identical errors"
assert all(abs(x["max_abs"] - y["max_abs"]) < 1e-5 for x, y in zip(ta, tb))
print("compare --ref-precision fp32 ok")
EOF
expect_exit 2 "$KILN" compare classifier.onnx classifier.plan --ref-precision fp16

# ---- compare: an op without a float64 reference kernel (DynamicQuantizeLinear) runs in float32, cast ----
# around, is listed as reduced precision and is still compared
"$PY" - <<'EOF'
import numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
rng = np.random.default_rng(3)
nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
         helper.make_node("DynamicQuantizeLinear", ["m"], ["q", "s", "zp"], name="dq"),
         helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["d"], name="deq"),
         helper.make_node("Tanh", ["d"], ["y"], name="tanh")]
g = helper.make_graph(nodes, "dq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
                      [numpy_helper.from_array(rng.normal(0, 1, (4, 8)).astype(np.float32), "w")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, "dq.onnx")
np.save("dq_in.npy", rng.uniform(-1, 1, (2, 4)).astype(np.float32))
EOF
"$KILN" build dq.onnx -o dq.plan > /dev/null
expect_exit 0 "$KILN" compare dq.onnx dq.plan --input x=dq_in.npy --all --json dq.json
grep -q "^reduced precision: 1 node" last.out || { cat last.out; fail "DynamicQuantizeLinear not listed as reduced precision"; }
grep -q "dq (DynamicQuantizeLinear) in float32" last.out || fail "the reduced node is not named"
"$PY" - <<'EOF'
import json
c = json.load(open("dq.json"))
r = c["reduced_precision_nodes"]
assert [(x["node"], x["op"], x["precision"]) for x in r] == [("dq", "DynamicQuantizeLinear", "float32")], r
assert r[0]["reason"], r
l = [l for l in c["layers"] if "dq" in l["onnx_nodes"]][0]
s = [t for t in l["tensors"] if t["name"] == "s"][0]
assert s["compared"] and s["ok"] and "reference computed in float32" in s["note"], s
print("reduced-precision op listed and compared:", r[0]["reason"])
EOF

# ---- compare: a plan built from different weights of conv2 is caught at the layer made from conv2 ----
"$PY" - <<'EOF'
import onnx
from onnx import numpy_helper
m = onnx.load("classifier.onnx")
for i, t in enumerate(m.graph.initializer):
    if t.name == "b2":
        a = numpy_helper.to_array(t).copy()
        a += 0.5
        m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, "b2"))
onnx.save(m, "changed.onnx")
EOF
"$KILN" build changed.onnx -o changed.plan > /dev/null
expect_exit 1 "$KILN" compare classifier.onnx changed.plan --json changed.json
grep -q "FIRST LAYER OUT OF TOLERANCE" last.out || fail "compare does not report the first failing layer"
"$PY" - <<'EOF'
import json
c = json.load(open("changed.json"))
f = c["first_failure"]
assert c["passed"] is False and "conv2" in f["onnx_nodes"], f
assert all(l["ok"] for l in c["layers"][:f["index"]]), "layers before the first failure must be ok"
print("compare finds changed weights:", f["message"])
EOF
# --reduce: the failing layer's ONNX nodes as a model of their own, with the reference data; built and
# run by kiln (correct weights), it reproduces the reference output
expect_exit 1 "$KILN" compare classifier.onnx changed.plan --reduce small.onnx
"$PY" - <<'EOF'
import json, onnx
m = onnx.load("small.onnx")
onnx.checker.check_model(m)
f = json.load(open("changed.json"))["first_failure"]
assert [n.name for n in m.graph.node] == f["onnx_nodes"], ([n.name for n in m.graph.node], f["onnx_nodes"])
assert len(m.graph.input) == 1 and len(m.graph.output) == 1
x = onnx.load_tensor("small_data/input_0.pb")
assert x.name == m.graph.input[0].name
print("reduced model:", [n.name for n in m.graph.node], "input", x.name, list(x.dims))
EOF
"$KILN" build small.onnx -o small.plan > /dev/null
IN=$("$PY" -c "import onnx; print(onnx.load('small.onnx').graph.input[0].name)")
"$KILN" run small.plan --input "$IN=small_data/input_0.pb" --output-dir small_out > /dev/null
"$PY" - <<'EOF'
import glob, numpy as np, onnx
from onnx import numpy_helper
want = numpy_helper.to_array(onnx.load_tensor("small_data/output_0.pb"))
got = np.load(glob.glob("small_out/*.npy")[0])
assert got.shape == want.shape and np.allclose(got, want, atol=1e-5, rtol=1e-4), np.abs(got - want).max()
print("reduced model reproduces the reference")
EOF

# ---- compare: a wrong kernel injected into one layer (test build) is named with its ONNX node ----
if [ -n "${KILN_HOOKS:-}" ]; then
  for node in conv1 relu2 fc; do
    KILN_TEST_FAULT=$node expect_exit 1 "$KILN_HOOKS" compare classifier.onnx classifier.plan --json fault.json
    NODE=$node "$PY" - <<'EOF'
import json, os
node = os.environ["NODE"]
c = json.load(open("fault.json"))
f = c["first_failure"]
assert f is not None and node in f["onnx_nodes"], (node, f)
layer = c["layers"][f["index"]]
assert layer["name"] == f["layer"] and not layer["ok"]
assert all(l["ok"] for l in c["layers"][:f["index"]]), "layers before the faulty one must be ok"
print("injected fault in", node, "-> first failure", f["layer"], f["onnx_nodes"])
EOF
  done
  # the same with the fp32 reference, and a fault in the reduced-precision layer of dq.onnx
  KILN_TEST_FAULT=conv2 expect_exit 1 "$KILN_HOOKS" compare classifier.onnx classifier.plan --ref-precision fp32 \
    --json fault32.json
  "$PY" -c "import json; f = json.load(open('fault32.json'))['first_failure']; assert 'conv2' in f['onnx_nodes'], f"
  KILN_TEST_FAULT=dq expect_exit 1 "$KILN_HOOKS" compare dq.onnx dq.plan --input x=dq_in.npy --json faultdq.json
  "$PY" - <<'EOF'
import json
c = json.load(open("faultdq.json"))
f = c["first_failure"]
assert f["onnx_nodes"] == ["dq"] and f["tensor"] == "s", f
assert "reference computed in float32" in f["message"], f
print("injected fault in the reduced-precision node dq ->", f["layer"])
EOF
  # the hook is off without the variable
  expect_exit 0 "$KILN_HOOKS" compare classifier.onnx classifier.plan
fi

# ---- a dynamic batch: --shapes picks the shape inside the profile; inspect and compare use the opt shape ----
"$PY" - <<'EOF'
import onnx
m = onnx.load("classifier.onnx")
for vi in (m.graph.input[0], m.graph.output[0]):
    d = vi.type.tensor_type.shape.dim[0]
    d.ClearField("dim_value")
    d.dim_param = "N"
onnx.save(m, "dyn.onnx")
EOF
"$KILN" build dyn.onnx -o dyn.plan --min-shapes image:1x3x32x32 --opt-shapes image:4x3x32x32 \
  --max-shapes image:8x3x32x32 > /dev/null
"$KILN" bench dyn.plan --shapes image:2x3x32x32 --duration 0 --iterations 3 --json dyn_bench.json > /dev/null
"$KILN" inspect dyn.plan --json > dyn_inspect.json
"$PY" - <<'EOF'
import json
b = json.load(open("dyn_bench.json"))
assert b["inputs"][0]["shape"] == [2, 3, 32, 32] and b["outputs"][0]["shape"] == [2, 10], (b["inputs"], b["outputs"])
d = json.load(open("dyn_inspect.json"))
assert d["layer_info"][0]["inputs"][0]["shape"] == [4, 3, 32, 32], d["layer_info"][0]
assert "opt" in d["memory_plan"]["shapes"] and d["memory_plan"]["arena_bytes"] > 0
print("dynamic shapes ok")
EOF
expect_exit 0 "$KILN" compare dyn.onnx dyn.plan --shapes image:8x3x32x32
grep -q "probs 8x10" last.out || fail "compare did not run at --shapes"
expect_exit 1 "$KILN" bench dyn.plan --shapes image:9x3x32x32 --duration 0

# ---- errors: one line, non-zero exit ----
expect_exit 1 "$KILN" bench missing.plan
[ "$(wc -l < last.err)" = 1 ] || fail "error is not one line: $(cat last.err)"
expect_exit 2 "$KILN" bench classifier.plan --bogus
expect_exit 2 "$KILN" bench classifier.plan --duration -1
expect_exit 2 "$KILN" bench
expect_exit 2 "$KILN" compare
expect_exit 2 "$KILN" compare classifier.onnx classifier.plan --atol x
expect_exit 1 "$KILN" compare missing.onnx
expect_exit 2 "$KILN" inspect classifier.plan --json --dot
expect_exit 2 "$KILN" run classifier.plan --input nope=input.npy
expect_exit 1 "$KILN" run classifier.plan --input image=missing.npy
[ "$(wc -l < last.err)" = 1 ] || fail "error is not one line: $(cat last.err)"
echo "cli tools end-to-end: ok"
