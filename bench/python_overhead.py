#!/usr/bin/env python3
"""Per-inference overhead of kiln's Python API against its C++ API, on a tiny network
(input "x" [1, N] float -> ReLU -> output "y", N = 64 by default), so that the cost measured is the cost
of the call, not of the math.

C++ side: build/python/../kiln_bench_cpp_overhead (bench/cpp_overhead.cpp, built by the python/ CMake
block) runs the same network through the C++ API and prints its per-call times; this script runs it.

    PYTHONPATH=build-py/python python bench/python_overhead.py --cpp build-py/python/kiln_bench_cpp_overhead

Python paths measured (microseconds per inference):
  execute_v3           addresses bound once, context.execute_v3() (the floor of a Python call)
  zero_copy_v3         set_tensor_address(x, y arrays) + execute_async_v3(0)
  stream_v3            execute_async_v3(stream.handle) + stream.synchronize()
  classic_async        memcpy_htod_async + execute_async_v3 + memcpy_dtoh_async + synchronize
  infer_out            context.infer({"x": x}, outputs={"y": y})  (no allocation)
  infer                context.infer({"x": x})                    (allocates the output array)
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

import kiln
from kiln import cuda


def per_call_us(fn, iters):
    for _ in range(iters // 10 + 1):
        fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters * 1e6


def build(n):
    logger = kiln.Logger(kiln.Logger.WARNING)
    builder = kiln.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", kiln.float32, (1, n))
    relu = network.add_activation(x, kiln.ActivationType.RELU)
    relu.get_output(0).name = "y"
    network.mark_output(relu.get_output(0))
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    return kiln.Runtime(logger).deserialize_cuda_engine(plan), logger


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpp", help="path of kiln_bench_cpp_overhead (default: next to the kiln module's build dir)")
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--big", type=int, default=1 << 20, help="elements for the throughput comparison")
    args = ap.parse_args()

    cpp_path = args.cpp or os.path.join(os.path.dirname(os.path.dirname(kiln.__file__)), "kiln_bench_cpp_overhead")
    cpp = None
    if os.path.exists(cpp_path):
        cpp = json.loads(subprocess.run([cpp_path, str(args.iters), str(args.n)], check=True,
                                        capture_output=True, text=True).stdout)

    engine, _logger = build(args.n)
    ctx = engine.create_execution_context()
    x = np.ones((1, args.n), np.float32)
    y = np.empty((1, args.n), np.float32)
    stream = cuda.Stream()
    d_x, d_y = cuda.mem_alloc(x.nbytes), cuda.mem_alloc(y.nbytes)
    h_x, h_y = cuda.pagelocked_empty(x.shape, np.float32), cuda.pagelocked_empty(y.shape, np.float32)
    res = {}
    ctx.set_tensor_address("x", x)
    ctx.set_tensor_address("y", y)
    res["execute_v3"] = per_call_us(ctx.execute_v3, args.iters)

    def zero_copy():
        ctx.set_tensor_address("x", x)
        ctx.set_tensor_address("y", y)
        ctx.execute_async_v3(0)
    res["zero_copy_v3"] = per_call_us(zero_copy, args.iters)

    h = stream.handle

    def on_stream():
        ctx.execute_async_v3(h)
        stream.synchronize()
    res["stream_v3"] = per_call_us(on_stream, args.iters)

    ctx.set_tensor_address("x", int(d_x))
    ctx.set_tensor_address("y", int(d_y))

    def classic():
        cuda.memcpy_htod_async(d_x, h_x, stream)
        ctx.execute_async_v3(h)
        cuda.memcpy_dtoh_async(h_y, d_y, stream)
        stream.synchronize()
    res["classic_async"] = per_call_us(classic, args.iters)
    feeds, outs = {"x": x}, {"y": y}
    res["infer_out"] = per_call_us(lambda: ctx.infer(feeds, outputs=outs), args.iters)
    res["infer"] = per_call_us(lambda: ctx.infer(feeds), args.iters)

    # Throughput on a larger tensor: infer() (new output array each call) vs the zero-copy path.
    big_engine, _ = build(args.big)
    bctx = big_engine.create_execution_context()
    bx = np.random.default_rng(0).normal(size=(1, args.big)).astype(np.float32)
    by = np.empty_like(bx)
    bfeeds, bouts = {"x": bx}, {"y": by}
    it = max(50, args.iters // 200)
    big = {
        "infer": per_call_us(lambda: bctx.infer(bfeeds), it),
        "infer_out": per_call_us(lambda: bctx.infer(bfeeds, outputs=bouts), it),
    }
    bctx.set_tensor_address("x", bx)
    bctx.set_tensor_address("y", by)
    big["execute_v3"] = per_call_us(bctx.execute_v3, it)
    bx64 = bx.astype(np.float64)
    big["infer_with_astype"] = per_call_us(lambda: bctx.infer({"x": bx64.astype(np.float32)}), it)

    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"kiln {kiln.__version__}, {time.strftime('%Y-%m-%d')}")
    print(f"tiny network: [1,{args.n}] ReLU, {args.iters} iterations; microseconds per inference")
    if cpp:
        print("  C++   execute()                         %8.2f" % cpp["execute_us"])
        print("  C++   setTensorAddress x2 + execute()   %8.2f" % cpp["set_address_execute_us"])
        print("  C++   enqueue + synchronize             %8.2f" % cpp["enqueue_sync_us"])
        print("  C++   copy + enqueue + copy + sync      %8.2f" % cpp["copy_enqueue_copy_sync_us"])
    pairs = {"execute_v3": "execute_us", "zero_copy_v3": "set_address_execute_us", "stream_v3": "enqueue_sync_us",
             "classic_async": "copy_enqueue_copy_sync_us", "infer_out": "set_address_execute_us",
             "infer": "set_address_execute_us"}
    for k, v in res.items():
        ratio = f"  x{v / cpp[pairs[k]]:.2f} of C++ {pairs[k]}" if cpp else ""
        print(f"  Py    {k:34s}{v:8.2f}  (+{v - cpp[pairs[k]]:.2f} us){ratio}" if cpp else f"  Py    {k:34s}{v:8.2f}")
    mb = args.big * 4 / 1e6
    print(f"throughput, [1,{args.big}] float32 ReLU ({mb:.1f} MB in, {mb:.1f} MB out); microseconds per inference")
    for k, v in big.items():
        print(f"  {k:38s}{v:10.1f}   x{v / big['execute_v3']:.2f} of execute_v3")
    json.dump({"cpp": cpp, "python_us": res, "big_us": big}, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
