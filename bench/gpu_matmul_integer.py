#!/usr/bin/env python3
"""GPU time of ONNX MatMulInteger / QLinearMatMul layers: the fused int8 path (fuse-matmul-integer ->
MatMulInteger on cuBLASLt's int8 GEMM) against the lowered int32 MatMul on the tiled kernel (the pass
disabled with KILN_DISABLE_PASSES). Needs the onnx package and a kiln binary built with CUDA.

  python3 bench/gpu_matmul_integer.py --kiln build/kiln --work /tmp/kiln-mmi [--sizes 1024x1024x1024,...]
"""
import argparse
import json
import os
import subprocess

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(kind, m, k, n, path):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.integers(-128, 128, size=(k, n), dtype=np.int8), "w")
    inits = [w, numpy_helper.from_array(np.array(128, np.uint8), "az"), numpy_helper.from_array(np.array(0, np.int8), "wz")]
    if kind == "MatMulInteger":
        node = helper.make_node("MatMulInteger", ["a", "w", "az", "wz"], ["y"])
        out = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
    else:
        inits += [numpy_helper.from_array(np.array(0.02, np.float32), "as"),
                  numpy_helper.from_array(np.array(0.01, np.float32), "ws"),
                  numpy_helper.from_array(np.array(0.5, np.float32), "ys"),
                  numpy_helper.from_array(np.array(128, np.uint8), "yz")]
        node = helper.make_node("QLinearMatMul", ["a", "as", "az", "w", "ws", "wz", "ys", "yz"], ["y"])
        out = helper.make_tensor_value_info("y", TensorProto.UINT8, [m, n])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])], [out], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def bench(kiln, onnx_path, plan, disable):
    env = dict(os.environ)
    if disable:
        env["KILN_DISABLE_PASSES"] = "fuse-matmul-integer"
    subprocess.run([kiln, "build", onnx_path, "-o", plan, "--device", "gpu", "--no-timing"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    js = plan + ".json"
    subprocess.run([kiln, "bench", plan, "--duration", "1", "--iterations", "20", "--no-data-transfers", "--json", js],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    with open(js) as f:
        r = json.load(f)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", default="/tmp/kiln-mmi")
    ap.add_argument("--sizes", default="512x512x512,2048x2048x2048,4096x4096x4096")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    print("| op | M x K x N | int32 MatMul (tiled) | MatMulInteger (cuBLASLt int8) |")
    print("|---|---|---:|---:|")
    for kind in ("MatMulInteger", "QLinearMatMul"):
        for s in args.sizes.split(","):
            m, k, n = (int(v) for v in s.split("x"))
            p = os.path.join(args.work, f"{kind}_{s}.onnx")
            model(kind, m, k, n, p)
            res = []
            for disable in (True, False):
                r = bench(args.kiln, p, p + (".lowered" if disable else ".fused") + ".plan", disable)
                res.append(r)
            def ms(r):
                if isinstance(r, dict):
                    if "latency_ms" in r:
                        return f"{r['latency_ms']['median']:.3f} ms"
                    r = list(r.values())
                for v in r if isinstance(r, list) else []:
                    if isinstance(v, (dict, list)) and ms(v) != "?":
                        return ms(v)
                return "?"
            print(f"| {kind} | {s} | {ms(res[0])} | {ms(res[1])} |", flush=True)


if __name__ == "__main__":
    main()
