#!/usr/bin/env python3
"""kiln on the GPU against PyTorch on the same GPU, side by side in one run (issue 5).

For each model and batch size: export the model to ONNX (random weights, fixed seed), build a kiln
plan (fp16, GPU) with the kiln command line, check kiln's output against PyTorch fp32 (rel. L2), and
time kiln (`kiln run --cuda-graph`, median of the per-run latencies, host clock around a synchronous
run) and PyTorch fp16 eager, PyTorch fp16 replayed from a CUDA graph, and torch.compile(mode=
"reduce-overhead") (median of CUDA-event timings). Writes a markdown table (stdout and --markdown FILE)
and a JSON file with every number.

  python3 bench/gpu_bench.py --kiln build-gpu/kiln --work /tmp/gpubench --markdown table.md
"""
import argparse
import copy
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

ROWS = [  # model, batch
    ("resnet50", 1), ("resnet50", 32), ("resnet50", 256),
    ("mobilenet_v2", 1), ("mobilenet_v2", 256),
    ("efficientnet_b0", 1), ("efficientnet_b0", 256),
    ("bert_base", 1), ("bert_base", 32),
]


def make_model(name):
    torch.manual_seed(0)
    if name == "bert_base":
        from transformers import BertConfig, BertModel
        # bert-base: 12 layers, hidden 768, 12 heads. SDPA attention: without padding transformers then
        # builds no mask (its eager mask path copies from the host, which CUDA graph capture refuses)
        cfg = BertConfig(attn_implementation="sdpa")
        model = BertModel(cfg, add_pooling_layer=False)
    else:
        import torchvision
        model = getattr(torchvision.models, name)(weights=None)
        # meaningful statistics: BatchNorm running stats from random data
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(8, 3, 224, 224))
    return model.eval()


def example_inputs(name, batch, device="cpu"):
    g = torch.Generator().manual_seed(1)
    if name == "bert_base":
        # no padding: no attention mask (transformers builds masks with host copies, which CUDA graphs refuse)
        ids = torch.randint(0, 30522, (batch, 128), generator=g)
        return {"input_ids": ids.to(device)}
    return {"x": torch.randn(batch, 3, 224, 224, generator=g).to(device)}


class Wrapper(torch.nn.Module):
    """Plain-tensor outputs (BERT returns a ModelOutput)."""

    def __init__(self, name, model):
        super().__init__()
        self.name, self.model = name, model

    def forward(self, *args):
        if self.name == "bert_base":
            return self.model(input_ids=args[0]).last_hidden_state
        return self.model(args[0])


def export(name, model, path):
    if os.path.exists(path):
        return
    ins = example_inputs(name, 2)
    names = list(ins)
    dyn = {n: {0: "batch"} for n in names}
    dyn["out"] = {0: "batch"}
    torch.onnx.export(Wrapper(name, model).eval(), tuple(ins.values()), path, input_names=names, output_names=["out"],
                      dynamic_axes=dyn, opset_version=17, dynamo=False)
    model.eval()  # the exporter restores the wrapper's mode afterwards: keep the model in eval mode


def cuda_time(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def torch_times(name, model, batch, iters, warmup, with_compile):
    m = Wrapper(name, copy.deepcopy(model)).cuda().half().eval()  # the fp32 model stays for the references
    ins = [t.cuda() for t in example_inputs(name, batch).values()]
    ins = [t.half() if t.is_floating_point() else t for t in ins]
    res = {}
    with torch.inference_mode():
        res["eager"] = cuda_time(lambda: m(*ins), iters, warmup)
        # what fp16 itself costs in accuracy: PyTorch fp16 against PyTorch fp32 (no TF32) on the same input
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        ref = Wrapper(name, model.eval()).eval().cuda().float()(*[t.cuda() for t in example_inputs(name, batch).values()]).double()
        half = m(*ins).double()
        res["fp16_rel_l2"] = float((half - ref).norm() / ref.norm().clamp_min(1e-30))
        model.cpu()
        try:
            static = [t.clone() for t in ins]
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    m(*static)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                m(*static)
            res["cuda_graph"] = cuda_time(graph.replay, iters, warmup)
        except Exception as e:  # noqa: BLE001 - report and go on
            res["cuda_graph_error"] = str(e).splitlines()[0][:200]
    if with_compile:
        try:
            torch._dynamo.reset()
            cm = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                t0 = time.time()
                for _ in range(3):
                    cm(*ins)
                torch.cuda.synchronize()
                res["compile_s"] = time.time() - t0
                res["compile"] = cuda_time(lambda: cm(*ins), iters, warmup)
        except Exception as e:  # noqa: BLE001 - report and go on
            res["compile_error"] = str(e).splitlines()[0][:200]
    return res


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + " failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    return p.stdout + p.stderr


def kiln_row(args, name, model, batch, onnx_path):
    plan = os.path.join(args.work, f"{name}_b{batch}_fp16.plan")
    shapes = ",".join(f"{k}:{'x'.join(str(d) for d in v.shape)}" for k, v in example_inputs(name, batch).items())
    t0 = time.time()
    run([args.kiln, "build", onnx_path, "-o", plan, "--device", "gpu", "--fp16", "--shapes", shapes])
    build_s = time.time() - t0
    # correctness against PyTorch fp32 on the GPU, same inputs
    ins = example_inputs(name, batch)
    in_args = []
    for k, v in ins.items():
        f = os.path.join(args.work, f"{name}_b{batch}_{k}.npy")
        np.save(f, v.numpy())
        in_args += ["--input", f"{k}={f}"]
    outdir = os.path.join(args.work, f"{name}_b{batch}_out")
    t0 = time.time()
    out = run([args.kiln, "run", plan, "--iterations", str(args.iters), "--warmup", str(args.warmup), "--cuda-graph",
               "--output-dir", outdir] + in_args)
    m = re.search(r"latency \(ms\).*?median ([0-9.]+)", out)
    if not m:
        raise RuntimeError("no median in kiln run output:\n" + out)
    median = float(m.group(1))
    torch.backends.cuda.matmul.allow_tf32 = False  # an fp32 reference without TF32
    torch.backends.cudnn.allow_tf32 = False
    with torch.inference_mode():
        ref = Wrapper(name, model.eval()).eval().cuda().float()(*[t.cuda() for t in ins.values()]).float().cpu().numpy()
    got = np.load(os.path.join(outdir, "out.npy")).astype(np.float64)
    if got.shape != ref.shape:
        raise RuntimeError(f"kiln output shape {got.shape} differs from torch's {ref.shape}")
    rel = float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))
    rel32 = None
    if args.check_fp32 or batch == 1:  # the same model in fp32 on the GPU (limit 1e-4)
        plan32 = os.path.join(args.work, f"{name}_b{batch}_fp32.plan")
        run([args.kiln, "build", onnx_path, "-o", plan32, "--device", "gpu", "--shapes", shapes])
        out32 = outdir + "_fp32"
        run([args.kiln, "run", plan32, "--iterations", "1", "--warmup", "0", "--output-dir", out32] + in_args)
        g32 = np.load(os.path.join(out32, "out.npy")).astype(np.float64)
        rel32 = float(np.linalg.norm(g32 - ref) / max(np.linalg.norm(ref), 1e-30))
    # plan load time: a fresh process deserializing the plan (kiln inspect loads it)
    t0 = time.time()
    run([args.kiln, "inspect", plan])
    load_s = time.time() - t0
    return {"median_ms": median, "build_s": build_s, "rel_l2_vs_torch_fp32": rel, "fp32_rel_l2": rel32, "inspect_s": load_s,
            "plan_bytes": os.path.getsize(plan)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", default="/tmp/kiln_gpu_bench")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it takes minutes)")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--batches", help="comma-separated batch sizes to keep")
    ap.add_argument("--check-fp32", action="store_true", help="also check an fp32 plan at every batch size")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = [r for r in ROWS if (not args.only or r[0] in args.only.split(",")) and
            (not args.batches or str(r[1]) in args.batches.split(","))]
    results = []
    models = {}
    for name, batch in rows:
        if name not in models:
            models[name] = make_model(name)
            export(name, models[name], os.path.join(args.work, f"{name}.onnx"))
        row = {"model": name, "batch": batch}
        try:
            row["kiln"] = kiln_row(args, name, models[name], batch, os.path.join(args.work, f"{name}.onnx"))
        except Exception as e:  # noqa: BLE001 - a failed row is reported, the others go on
            row["kiln_error"] = str(e)[-1500:]
        row["torch"] = torch_times(name, models[name], batch, args.iters, args.warmup, not args.no_compile)
        results.append(row)
        print(json.dumps(row), flush=True)

    gpu = torch.cuda.get_device_name(0)
    drv = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                         text=True).stdout.strip()
    head = (f"GPU: {gpu}, driver {drv}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, {time.strftime('%Y-%m-%d')}, host {platform.node()}\n\n")
    lines = ["| model | batch | kiln fp16 (ms) | torch eager | torch CUDA graph | torch.compile | best torch / kiln | "
             "kiln fp16 rel. L2 vs torch fp32 | torch fp16 rel. L2 vs torch fp32 | kiln fp32 rel. L2 | kiln build (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        t = r["torch"]
        best = min(v for k, v in t.items() if k in ("eager", "cuda_graph", "compile"))
        t.setdefault("cuda_graph", float("nan"))
        if "kiln" in r:
            k = r["kiln"]
            lines.append(f"| {r['model']} | {r['batch']} | {k['median_ms']:.3f} | {t['eager']:.3f} | {t['cuda_graph']:.3f} | "
                         f"{t.get('compile', float('nan')):.3f} | {best / k['median_ms']:.2f} | {k['rel_l2_vs_torch_fp32']:.1e} | "
                         f"{t.get('fp16_rel_l2', float('nan')):.1e} | "
                         f"{'-' if k.get('fp32_rel_l2') is None else '%.1e' % k['fp32_rel_l2']} | {k['build_s']:.1f} |")
        else:
            lines.append(f"| {r['model']} | {r['batch']} | error | {t['eager']:.3f} | {t['cuda_graph']:.3f} | "
                         f"{t.get('compile', float('nan')):.3f} | - | - | - | - | - |")
    table = head + "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gpu": gpu, "driver": drv, "rows": results}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
