#!/usr/bin/env python3
"""kiln on the GPU against PyTorch on the same GPU, side by side in one run (issue 5), in one device call.

For each model and batch size: export the model to ONNX (random weights, fixed seed), build a kiln plan
(fp16, GPU) with the kiln command line, check kiln's output against PyTorch fp32 (rel. L2; at batch 1 an fp32
plan too), and time kiln (`kiln run --cuda-graph`: median of the per-run latencies, host clock around a
synchronous run) and PyTorch fp16 eager, PyTorch fp16 replayed from a CUDA graph, and
torch.compile(mode="reduce-overhead") (median of CUDA-event timings). Also records kiln's build time (and
its phases), the plan load time of a fresh `kiln run` process, and the GPU/driver/library versions.

The whole run is staged to fit one device call (< 10 minutes):
  1. exports: one process per model, all at once (CPU);
  2. kiln builds: one after the other as soon as a model's export is there, with nothing else on the GPU
     (the builder times tactics on it); meanwhile one PyTorch worker process per row imports torch and loads
     its model on the CPU;
  3. the workers compute the fp32 references and compile (torch.compile, CUDA graph capture) all at once;
  4. timings, one row at a time while every other process waits: `kiln run`, then the row's worker.
It prints the time of each stage and the total, and writes docs-ready markdown (--markdown) and JSON (--json).

  python3 bench/gpu_bench.py --kiln build-gpu/kiln --work /tmp/kiln-gpu-bench --markdown table.md --json t.json
"""
import argparse
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import time

ROWS = [  # model, batch
    ("resnet50", 1), ("resnet50", 32), ("resnet50", 256),
    ("mobilenet_v2", 1), ("mobilenet_v2", 256),
    ("efficientnet_b0", 1), ("efficientnet_b0", 256),
    ("bert_base", 1), ("bert_base", 32),
]
LABEL = {"bert_base": "BERT-base (seq 128)"}


# ------------------------------------------------------------------------------------------------------
# Models (shared by the export and torch workers)

def make_model(name, calibrate=True):
    import torch
    torch.manual_seed(0)
    if name == "bert_base":
        from transformers import BertConfig, BertModel
        # bert-base: 12 layers, hidden 768, 12 heads. SDPA attention: without padding transformers then
        # builds no mask (its eager mask path copies from the host, which CUDA graph capture refuses)
        cfg = BertConfig(attn_implementation="sdpa")
        return BertModel(cfg, add_pooling_layer=False).eval()
    import torchvision
    model = getattr(torchvision.models, name)(weights=None)
    if calibrate:  # meaningful statistics: BatchNorm running stats from random data
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(8, 3, 224, 224))
    return model.eval()


def example_inputs(name, batch):
    import torch
    g = torch.Generator().manual_seed(1)
    if name == "bert_base":
        # no padding: no attention mask (transformers builds masks with host copies, which CUDA graphs refuse)
        return {"input_ids": torch.randint(0, 30522, (batch, 128), generator=g)}
    return {"x": torch.randn(batch, 3, 224, 224, generator=g)}


def wrapper(name, model):
    """Plain-tensor outputs (BERT returns a ModelOutput)."""
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            if name == "bert_base":
                return self.model(input_ids=args[0]).last_hidden_state
            return self.model(args[0])
    return Wrapper().eval()


def worker_export(name, work):
    """Exports NAME to WORK/NAME.onnx (dynamic batch) and saves its weights to WORK/NAME.pt."""
    import torch
    torch.set_num_threads(4)
    t0 = time.time()
    model = make_model(name)
    ins = example_inputs(name, 2)
    names = list(ins)
    dyn = {n: {0: "batch"} for n in names}
    dyn["out"] = {0: "batch"}
    tmp = os.path.join(work, name + ".onnx.tmp")
    torch.onnx.export(wrapper(name, model), tuple(ins.values()), tmp, input_names=names, output_names=["out"],
                      dynamic_axes=dyn, opset_version=17, dynamo=False)
    torch.save(model.state_dict(), os.path.join(work, name + ".pt"))
    os.replace(tmp, os.path.join(work, name + ".onnx"))
    print(json.dumps({"export_s": round(time.time() - t0, 1)}), flush=True)


# ------------------------------------------------------------------------------------------------------
# PyTorch worker: one row. Protocol on stdin/stdout: LOADED -> (START) -> READY -> (GO) -> RESULT.

def cuda_time(torch, fn, iters, warmup):
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


def worker_torch(name, batch, work, iters, warmup, with_compile):
    # the protocol keeps the original stdout; anything else printed (libraries, compilers) goes to stderr
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import numpy as np
    import torch
    torch.set_num_threads(2)

    def say(tag, obj=None):
        proto.write(tag + ("" if obj is None else " " + json.dumps(obj)) + "\n")
        proto.flush()

    def wait(tag):
        line = sys.stdin.readline().strip()
        if line != tag:
            raise SystemExit(f"worker expected {tag}, got {line!r}")

    model = make_model(name, calibrate=False)
    model.load_state_dict(torch.load(os.path.join(work, name + ".pt")))
    model.eval()
    ins_cpu = list(example_inputs(name, batch).values())
    say("LOADED")
    wait("START")
    res = {}
    t0 = time.time()
    torch.backends.cuda.matmul.allow_tf32 = False  # the fp32 reference without TF32
    torch.backends.cudnn.allow_tf32 = False
    with torch.inference_mode():
        m32 = wrapper(name, model).cuda().float()
        ref = m32(*[t.cuda() for t in ins_cpu]).float()
        np.save(os.path.join(work, f"{name}_b{batch}_ref.npy"), ref.cpu().numpy())
        m = wrapper(name, model).cuda().half().eval()  # the fp32 weights are converted in place: ref is done
        del m32
        ins = [t.cuda() for t in ins_cpu]
        ins = [t.half() if t.is_floating_point() else t for t in ins]
        half = m(*ins).double()
        # what fp16 itself costs in accuracy: PyTorch fp16 against PyTorch fp32 on the same input
        res["fp16_rel_l2"] = float((half - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))
        del ref, half
        torch.cuda.empty_cache()
        graph = None
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
        except Exception as e:  # noqa: BLE001 - report and go on
            graph = None
            res["cuda_graph_error"] = str(e).splitlines()[0][:200]
    cm = None
    if with_compile:
        try:
            cm = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                tc = time.time()
                for _ in range(3):
                    cm(*ins)
                torch.cuda.synchronize()
                res["compile_s"] = round(time.time() - tc, 1)
        except Exception as e:  # noqa: BLE001 - report and go on
            cm = None
            res["compile_error"] = str(e).splitlines()[0][:200]
    res["prepare_s"] = round(time.time() - t0, 1)
    say("READY")
    wait("GO")
    with torch.inference_mode():
        res["eager"] = cuda_time(torch, lambda: m(*ins), iters, warmup)
        if graph is not None:
            res["cuda_graph"] = cuda_time(torch, graph.replay, iters, warmup)
        if cm is not None:
            try:
                res["compile"] = cuda_time(torch, lambda: cm(*ins), iters, warmup)
            except Exception as e:  # noqa: BLE001
                res["compile_error"] = str(e).splitlines()[0][:200]
    say("RESULT", res)


# ------------------------------------------------------------------------------------------------------
# The driver

class Stopwatch:
    def __init__(self):
        self.t0 = time.time()
        self.stages = {}

    def now(self):
        return time.time() - self.t0

    def log(self, msg):
        print(f"[{self.now():6.1f} s] {msg}", flush=True)


class Worker:
    """A torch worker process and the protocol lines it writes."""

    def __init__(self, cmd, log, env):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, bufsize=0)
        self.buf = b""

    def expect(self, tag, timeout):
        """The rest of the first line starting with `tag`; None at EOF or after `timeout` seconds."""
        end = time.time() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode(errors="replace")
                if text.startswith(tag):
                    return text[len(tag):].strip()
            left = end - time.time()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk

    def send(self, tag):
        try:
            self.p.stdin.write((tag + "\n").encode())
            return True
        except (BrokenPipeError, OSError):
            return False


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + " failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    return p.stdout + p.stderr


def shapes_arg(name, batch):
    return ",".join(f"{k}:{'x'.join(str(d) for d in v.shape)}" for k, v in example_inputs(name, batch).items())


def kiln_build(args, onnx, plan, shapes, fp16):
    cmd = [args.kiln, "build", onnx, "-o", plan, "--device", "gpu", "--shapes", shapes, "--verbose", "--no-progress"]
    if fp16:
        cmd.append("--fp16")
    t0 = time.time()
    out = run(cmd)
    wall = time.time() - t0
    with open(plan + ".build.log", "w") as f:
        f.write(out)
    r = {"build_s": round(wall, 2), "plan_bytes": os.path.getsize(plan)}
    m = re.search(r"build time \(s\): graph passes ([0-9.e-]+), tactics ([0-9.e-]+) \(timing ([0-9.e-]+) in (\d+) layers\), "
                  r"engine and memory plan ([0-9.e-]+), serialization ([0-9.e-]+)", out)
    if m:
        r["phases_s"] = {"passes": float(m.group(1)), "tactics": float(m.group(2)), "timed_layers": int(m.group(4)),
                         "engine": float(m.group(5)), "serialize": float(m.group(6))}
    return r


def kiln_run(args, plan, in_args, outdir, iters, warmup, graph=True):
    cmd = [args.kiln, "run", plan, "--iterations", str(iters), "--warmup", str(warmup), "--output-dir", outdir] + in_args
    if graph:
        cmd.append("--cuda-graph")
    out = run(cmd)
    r = {}
    m = re.search(r"latency \(ms\).*?median ([0-9.]+)", out)
    if m:
        r["median_ms"] = float(m.group(1))
    m = re.search(r"load: plan ([0-9.]+) ms, context ([0-9.]+) ms, first run ([0-9.]+) ms", out)
    if m:
        r["load_ms"], r["context_ms"], r["first_run_ms"] = (float(m.group(i)) for i in (1, 2, 3))
    return r


def rel_l2(got, ref):
    import numpy as np
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    if got.shape != ref.shape:
        raise RuntimeError(f"kiln output shape {got.shape} differs from torch's {ref.shape}")
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))


def tiny_plan_load(args, sw):
    """Load time of a one-layer GPU plan: what CUDA and the backend's setup cost any plan."""
    try:
        import onnx
        from onnx import TensorProto, helper
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
        path = os.path.join(args.work, "tiny_relu.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
        plan = path.replace(".onnx", ".plan")
        run([args.kiln, "build", path, "-o", plan, "--device", "gpu", "--no-progress"])
        return kiln_run(args, plan, [], os.path.join(args.work, "tiny_out"), 5, 1, graph=False)
    except Exception as e:  # noqa: BLE001
        sw.log(f"tiny plan: {e}")
        return {}


def versions(args, plan):
    import torch
    v = {"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "?",
         "torch": torch.__version__, "torch_cuda": torch.version.cuda, "torch_cudnn": torch.backends.cudnn.version()}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        smi = ""
    v["driver"] = smi.split(",")[0].strip() if smi else "?"
    v["nvidia_smi"] = smi
    try:
        for line in run([args.kiln, "inspect", plan]).splitlines():
            if " plan, backend " in line:
                v["kiln_target"] = line.strip()
                break
    except Exception as e:  # noqa: BLE001
        v["kiln_target"] = f"? ({e})"
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=False)
    ap.add_argument("--work", default="/tmp/kiln-gpu-bench")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--batches", help="comma-separated batch sizes to keep")
    ap.add_argument("--check-fp32", action="store_true", help="also check an fp32 plan at every batch size")
    ap.add_argument("--compile-threads", type=int, default=4, help="TORCHINDUCTOR_COMPILE_THREADS per worker")
    ap.add_argument("--worker-export", nargs=2, metavar=("MODEL", "WORK"), help=argparse.SUPPRESS)
    ap.add_argument("--worker-torch", nargs=3, metavar=("MODEL", "BATCH", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker_export:
        return worker_export(*args.worker_export)
    if args.worker_torch:
        name, batch, work = args.worker_torch
        return worker_torch(name, int(batch), work, args.iters, args.warmup, not args.no_compile)
    if not args.kiln:
        ap.error("--kiln is required")
    args.kiln = os.path.abspath(args.kiln)
    import numpy as np

    sw = Stopwatch()
    os.makedirs(args.work, exist_ok=True)
    rows = [r for r in ROWS if (not args.only or r[0] in args.only.split(",")) and
            (not args.batches or str(r[1]) in args.batches.split(","))]
    models = list(dict.fromkeys(n for n, _ in rows))
    me = os.path.abspath(__file__)

    # 1. exports, all at once
    exports = {}
    for name in models:
        for f in (name + ".onnx", name + ".pt"):
            if os.path.exists(os.path.join(args.work, f)):
                os.remove(os.path.join(args.work, f))
        log = open(os.path.join(args.work, f"export_{name}.log"), "w")
        exports[name] = subprocess.Popen([sys.executable, me, "--worker-export", name, args.work], stdout=subprocess.PIPE,
                                         stderr=log, text=True)
    sw.log(f"exporting {', '.join(models)}")

    results = {(n, b): {"model": n, "batch": b} for n, b in rows}
    kiln_info = {}
    workers = {}
    build_t0 = None
    # 2. kiln builds, one after the other, as each export completes; torch workers load meanwhile
    for name in models:
        out, _ = exports[name].communicate()
        if exports[name].returncode != 0:
            sw.log(f"export {name} failed (see {args.work}/export_{name}.log)")
            for (n, b) in rows:
                if n == name:
                    results[(n, b)]["error"] = "export failed"
            continue
        sw.log(f"exported {name}: {out.strip()}")
        if build_t0 is None:
            build_t0 = sw.now()
        onnx_path = os.path.join(args.work, name + ".onnx")
        env = dict(os.environ, TORCHINDUCTOR_COMPILE_THREADS=str(args.compile_threads))
        for n, b in rows:
            if n != name:
                continue
            wlog = open(os.path.join(args.work, f"torch_{n}_b{b}.log"), "w")
            workers[(n, b)] = Worker(
                [sys.executable, me, "--worker-torch", n, str(b), args.work, "--iters", str(args.iters), "--warmup",
                 str(args.warmup)] + (["--no-compile"] if args.no_compile else []), wlog, env)
        for n, b in rows:
            if n != name:
                continue
            r = results[(n, b)]
            ins = example_inputs(n, b)
            in_args = []
            for k, v in ins.items():
                f = os.path.join(args.work, f"{n}_b{b}_{k}.npy")
                np.save(f, v.numpy())
                in_args += ["--input", f"{k}={f}"]
            r["in_args"] = in_args
            try:
                r["kiln_build"] = kiln_build(args, onnx_path, os.path.join(args.work, f"{n}_b{b}_fp16.plan"),
                                             shapes_arg(n, b), True)
                sw.log(f"built {n} b{b} fp16 in {r['kiln_build']['build_s']} s")
                if args.check_fp32 or b == 1:
                    r["kiln_build_fp32"] = kiln_build(args, onnx_path, os.path.join(args.work, f"{n}_b{b}_fp32.plan"),
                                                      shapes_arg(n, b), False)
                    sw.log(f"built {n} b{b} fp32 in {r['kiln_build_fp32']['build_s']} s")
            except Exception as e:  # noqa: BLE001 - a failed row is reported, the others go on
                r["kiln_error"] = str(e)[-1500:]
                sw.log(f"kiln build {n} b{b} failed")
    sw.stages["exports_and_kiln_builds_s"] = round(sw.now(), 1)
    sw.stages["kiln_builds_s"] = round(sw.now() - (build_t0 or 0), 1)
    kiln_info["tiny_plan"] = tiny_plan_load(args, sw)

    # 3. torch workers: references, CUDA graphs, torch.compile, all at once
    t3 = sw.now()
    live = {}
    for key, w in workers.items():
        if w.expect("LOADED", 300) is not None and w.send("START"):
            live[key] = w
        else:
            results[key]["torch_error"] = "worker failed to load (see torch_*.log)"
    for key, w in list(live.items()):
        if w.expect("READY", 420) is None:
            results[key]["torch_error"] = "worker failed while preparing (see torch_*.log)"
            w.p.kill()
            del live[key]
    sw.stages["torch_prepare_s"] = round(sw.now() - t3, 1)
    sw.log("torch workers ready (references, CUDA graphs" + ("" if args.no_compile else ", torch.compile") + ")")

    # 4. timings, one row at a time
    t4 = sw.now()
    for (n, b) in rows:
        r = results[(n, b)]
        ref_path = os.path.join(args.work, f"{n}_b{b}_ref.npy")
        if "kiln_build" in r:
            try:
                outdir = os.path.join(args.work, f"{n}_b{b}_out")
                r["kiln"] = kiln_run(args, os.path.join(args.work, f"{n}_b{b}_fp16.plan"), r["in_args"], outdir,
                                     args.iters, args.warmup)
                if os.path.exists(ref_path):
                    ref = np.load(ref_path)
                    r["kiln"]["rel_l2_vs_torch_fp32"] = rel_l2(np.load(os.path.join(outdir, "out.npy")), ref)
                    if "kiln_build_fp32" in r:
                        out32 = outdir + "_fp32"
                        r["kiln_fp32"] = kiln_run(args, os.path.join(args.work, f"{n}_b{b}_fp32.plan"), r["in_args"],
                                                  out32, 1, 0, graph=False)
                        r["kiln_fp32"]["rel_l2_vs_torch_fp32"] = rel_l2(np.load(os.path.join(out32, "out.npy")), ref)
            except Exception as e:  # noqa: BLE001
                r["kiln_error"] = str(e)[-1500:]
        w = live.get((n, b))
        if w is not None:
            got = w.expect("RESULT", 300) if w.send("GO") else None
            if got is None:
                r["torch_error"] = "worker failed while timing (see torch_*.log)"
            else:
                r["torch"] = json.loads(got)
            w.p.wait(timeout=60)
        sw.log(f"timed {n} b{b}: kiln {r.get('kiln', {}).get('median_ms')} ms, torch {r.get('torch')}")
    sw.stages["timings_s"] = round(sw.now() - t4, 1)
    for w in workers.values():
        if w.p.poll() is None:
            w.p.kill()
    sw.stages["total_s"] = round(sw.now(), 1)

    first_plan = next((os.path.join(args.work, f"{n}_b{b}_fp16.plan") for n, b in rows if "kiln_build" in results[(n, b)]), None)
    info = versions(args, first_plan) if first_plan else {}
    md = markdown(rows, results, info, kiln_info, sw.stages)
    print(md)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    if args.json:
        for r in results.values():
            r.pop("in_args", None)
        with open(args.json, "w") as f:
            json.dump({"info": info, "stages_s": sw.stages, "kiln": kiln_info,
                       "rows": [results[k] for k in rows]}, f, indent=1)
    return 0


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def markdown(rows, results, info, kiln_info, stages):
    head = (f"GPU: {info.get('gpu', '?')}, driver {info.get('driver', '?')}; PyTorch {info.get('torch', '?')} "
            f"(CUDA {info.get('torch_cuda', '?')}, cuDNN {info.get('torch_cudnn', '?')}); "
            f"kiln: {info.get('kiln_target', '?')}; {time.strftime('%Y-%m-%d')}, host {platform.node()}.\n"
            f"bench/gpu_bench.py in one process tree, {stages.get('total_s', '?')} s in all (exports and kiln builds "
            f"{stages.get('exports_and_kiln_builds_s', '?')} s, of which kiln builds {stages.get('kiln_builds_s', '?')} s; "
            f"PyTorch references, CUDA graphs and torch.compile {stages.get('torch_prepare_s', '?')} s; timings "
            f"{stages.get('timings_s', '?')} s).\n"
            "Latency in ms, median: kiln `run --cuda-graph` (host clock around a synchronous run), PyTorch fp16 "
            "(CUDA events); torch.compile = mode \"reduce-overhead\".\n\n")
    lines = ["| model | batch | kiln fp16 | torch eager | torch CUDA graph | torch.compile | best torch / kiln | "
             "kiln fp16 rel. L2 vs torch fp32 | torch fp16 rel. L2 | kiln fp32 rel. L2 | kiln build (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, b in rows:
        r = results[(n, b)]
        t = r.get("torch", {})
        k = r.get("kiln", {})
        torch_best = [t[c] for c in ("eager", "cuda_graph", "compile") if c in t]
        best = min(torch_best) if torch_best else None
        kms = k.get("median_ms")
        ratio = f"{best / kms:.2f}" if best and kms else "-"
        lines.append(f"| {LABEL.get(n, n)} | {b} | {fmt(kms) if 'kiln_error' not in r else 'error'} | {fmt(t.get('eager'))} | "
                     f"{fmt(t.get('cuda_graph'))} | {fmt(t.get('compile'))} | {ratio} | "
                     f"{fmt(k.get('rel_l2_vs_torch_fp32'), '.1e')} | {fmt(t.get('fp16_rel_l2'), '.1e')} | "
                     f"{fmt(r.get('kiln_fp32', {}).get('rel_l2_vs_torch_fp32'), '.1e')} | "
                     f"{fmt(r.get('kiln_build', {}).get('build_s'), '.1f')} |")
    out = head + "\n".join(lines) + "\n"
    # build and load times of resnet50 (issue 5), from a fresh `kiln run` process
    bl = ["", "Plan build and load (fresh `kiln run` process; load = runtime creation + deserialization, "
          "context = execution context and buffers, first run = the first inference with its CUDA graph capture):", "",
          "| plan | build (s) | of which tactic timing (s), layers timed | plan size (MB) | load (ms) | context (ms) | first run (ms) |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for n, b in rows:
        r = results[(n, b)]
        if n != "resnet50" or "kiln_build" not in r:
            continue
        kb, k = r["kiln_build"], r.get("kiln", {})
        ph = kb.get("phases_s", {})
        bl.append(f"| resnet50 fp16 b{b} | {kb['build_s']:.1f} | {fmt(ph.get('tactics'), '.1f')}, {ph.get('timed_layers', '-')} | "
                  f"{kb['plan_bytes'] / 1e6:.1f} | {fmt(k.get('load_ms'), '.0f')} | {fmt(k.get('context_ms'), '.0f')} | "
                  f"{fmt(k.get('first_run_ms'), '.0f')} |")
    tiny = kiln_info.get("tiny_plan", {})
    if tiny.get("load_ms") is not None:
        bl.append(f"| one-layer plan (CUDA and backend setup) | - | - | - | {tiny['load_ms']:.0f} | "
                  f"{fmt(tiny.get('context_ms'), '.0f')} | {fmt(tiny.get('first_run_ms'), '.0f')} |")
    return out + "\n".join(bl) + "\n"


if __name__ == "__main__":
    sys.exit(main())
