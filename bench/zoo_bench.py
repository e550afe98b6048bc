#!/usr/bin/env python3
"""CPU latency of kiln, ONNX Runtime and PyTorch on the model zoo (tests/models/export_zoo.py); writes
docs/performance.md.

    PYTHONPATH=build-zoo/python .venv-zoo/bin/python bench/zoo_bench.py [--kiln-cli build-zoo/kiln]
        [--models-dir tests/models/out] [--models a,b] [--threads 1,2] [--iterations 20] [--passes 3]
        [--max-pass-seconds 5] [--out docs/performance.md]

For every model (batch 1; resnet50 also at batch 8 through its dynamic-batch export) and thread count, the
three engines run in turn, pass after pass (kiln, ORT, torch, kiln, ORT, torch, ...), each pass timing
single inferences after a short warm-up. Reported per engine: median and p90 latency over all timed
inferences; kiln/ORT is the median of the per-pass ratios of median latencies (alternating passes let a
noisy, shared machine slow both sides alike), and the geometric mean of that ratio over the models.

  kiln   the Python module (`import kiln`; execute_v3 with the arrays bound once) if it imports, else the
         kiln CLI (`kiln run --iterations N`, whose own per-inference latencies are read back). Plans are
         built with BuilderConfig num_threads = the thread count.
  ORT    onnxruntime CPUExecutionProvider, graph optimization level ALL, intra-op threads = the thread
         count, inter-op threads 1, sequential execution; session.run with numpy feeds.
  torch  the same torch module the model was exported from (rebuilt by export_zoo.py from its seed),
         torch.set_num_threads(thread count), torch.inference_mode().
A pass is cut short when it has taken --max-pass-seconds (at least 3 inferences), so slow engines get fewer
samples; the table gives the number of timed inferences per engine.
"""
import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_export_zoo():
    spec = importlib.util.spec_from_file_location("export_zoo", os.path.join(ROOT, "tests", "models", "export_zoo.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cpu_info():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma") if f in flags]
    simd += sorted(f for f in flags if f.startswith("avx512"))
    return model, simd


def pct(xs, q):
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


# ---------------------------------------------------------------------------------------------------------
# Engines. Each has prepare() (untimed) and timed_pass(iters, budget_s) -> list of ms.

class KilnModule:
    name = "kiln"

    def __init__(self, kiln, onnx_path, feeds, threads, profile):
        self.kiln = kiln
        logger = kiln.Logger(kiln.Logger.WARNING)
        builder = kiln.Builder(logger)
        network = builder.create_network(0)
        parser = kiln.OnnxParser(network, logger)
        if not parser.parse_from_file(onnx_path):
            raise RuntimeError("kiln parse failed: " + "; ".join(parser.get_error(i).desc() for i in range(parser.num_errors)))
        config = builder.create_builder_config()
        config.num_threads = threads
        if profile:
            p = builder.create_optimization_profile()
            for k, (mn, op, mx) in profile.items():
                p.set_shape(k, mn, op, mx)
            config.add_optimization_profile(p)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise RuntimeError("kiln build failed (see the log above)")
        fd, self.plan_path = tempfile.mkstemp(suffix=".plan")
        with os.fdopen(fd, "wb") as f:
            f.write(plan)
        self.engine = kiln.Runtime(logger).deserialize_engine_from_file(self.plan_path)
        if self.engine is None:
            raise RuntimeError("kiln could not load its plan")
        self.logger = logger
        self.ctx = self.engine.create_execution_context()
        self.keep = []
        for k, v in feeds.items():
            self.ctx.set_input_shape(k, v.shape)
            self.ctx.set_tensor_address(k, v)
            self.keep.append(v)
        for i in range(self.engine.num_io_tensors):
            n = self.engine.get_tensor_name(i)
            if n in feeds:
                continue
            out = np.empty(tuple(self.ctx.get_tensor_shape(n)), kiln.nptype(self.engine.get_tensor_dtype(n)))
            self.ctx.set_tensor_address(n, out)
            self.keep.append(out)

    def run(self):
        if not self.ctx.execute_v3():
            raise RuntimeError("kiln execute failed")

    def close(self):
        del self.ctx
        os.unlink(self.plan_path)


class KilnCli:
    """Fallback without the Python module: `kiln run` times its own inferences; we read them back."""
    name = "kiln"

    def __init__(self, cli, onnx_path, feeds, threads, profile, inputs_dir):
        self.cli = cli
        fd, self.plan_path = tempfile.mkstemp(suffix=".plan")
        os.close(fd)
        cmd = [cli, "build", onnx_path, "-o", self.plan_path, "--threads", str(threads)]
        if profile:
            dims = lambda s: "x".join(map(str, s))
            for i, key in enumerate(("min", "opt", "max")):
                cmd += ["--%s-shapes" % key, ",".join("%s:%s" % (k, dims(v[i])) for k, v in profile.items())]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        self.inputs = []
        for k, v in feeds.items():
            p = os.path.join(inputs_dir, "%s.npy" % k)
            np.save(p, v)
            self.inputs += ["--input", "%s=%s" % (k, p)]

    def timed_pass(self, iters, budget_s):
        out = subprocess.run([self.cli, "run", self.plan_path, "--iterations", str(iters), "--warmup", "1",
                              "--values", "0"] + self.inputs, check=True, stdout=subprocess.PIPE, text=True).stdout
        m = re.search(r"median ([0-9.]+)", out)
        # only the summary is printed: use the median for every sample of the pass
        return [float(m.group(1))] * iters

    def close(self):
        os.unlink(self.plan_path)


class Ort:
    name = "ORT"

    def __init__(self, ort, onnx_path, feeds, threads):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.feeds = feeds

    def run(self):
        self.sess.run(None, self.feeds)

    def close(self):
        del self.sess


class Torch:
    name = "torch"

    def __init__(self, torch, zoo, name, feeds, threads):
        self.torch = torch
        torch.manual_seed(0)
        self.model, inputs, _, _ = zoo.MODELS[name](0)
        zoo.randomize(self.model, 0)
        zoo.recalibrate_batchnorm(self.model, next(iter(inputs.values())), passes=1, batch=2)
        self.model.eval()
        self.x = tuple(torch.from_numpy(v) for v in feeds.values())
        self.threads = threads

    def run(self):
        with self.torch.inference_mode():
            self.model(*self.x)

    def close(self):
        del self.model


def timed_pass(engine, iters, budget_s):
    if hasattr(engine, "timed_pass"):
        return engine.timed_pass(iters, budget_s)
    ts = []
    t_start = time.perf_counter()
    for i in range(iters):
        t0 = time.perf_counter()
        engine.run()
        ts.append((time.perf_counter() - t0) * 1e3)
        if i >= 2 and time.perf_counter() - t_start > budget_s:
            break
    return ts


def bench_case(engines, torch, threads, args):
    for e in engines:  # warm-up (first-run allocations, caches): --warmup runs, or fewer past 2 s
        if not hasattr(e, "timed_pass"):
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            for _ in range(args.warmup):
                e.run()
                if time.perf_counter() - t0 > 2.0:
                    break
    samples = {e.name: [] for e in engines}
    per_pass = {e.name: [] for e in engines}
    for _ in range(args.passes):
        for e in engines:
            torch.set_num_threads(threads)
            ts = timed_pass(e, args.iterations, args.max_pass_seconds)
            samples[e.name] += ts
            per_pass[e.name].append(float(np.median(ts)))
    return samples, per_pass


def main():
    ap = argparse.ArgumentParser(description="kiln vs ONNX Runtime vs PyTorch on the model zoo (CPU)")
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "tests", "models", "out"))
    ap.add_argument("--models", default="", help="comma-separated subset")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=20, help="timed inferences per pass (default 20)")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-pass-seconds", type=float, default=5.0,
                    help="cut a pass after this long (at least 3 inferences; default 5)")
    ap.add_argument("--kiln-cli", default=os.path.join(ROOT, "build-zoo", "kiln"),
                    help="kiln CLI, used if `import kiln` fails")
    ap.add_argument("--no-module", action="store_true", help="use the kiln CLI even if the module imports")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--from-json", help="only write the markdown from results saved with --json")
    args = ap.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        for k in ("passes", "iterations", "max_pass_seconds"):
            setattr(args, k, saved["args"][k])
        args.extra_notes = saved.get("notes", [])  # e.g. which rows were re-measured (added by hand)
        write_markdown(args, saved["rows"], saved["threads"], saved["kiln_how"], saved["total_s"],
                       saved["versions"], saved["load"], saved["date"])
        print("zoo_bench: wrote %s from %s" % (args.out, args.from_json))
        return 0

    import onnxruntime as ort
    import torch
    zoo = load_export_zoo()
    kiln = None
    kiln_how = "CLI (%s)" % os.path.relpath(args.kiln_cli, ROOT)
    if not args.no_module:
        try:
            import kiln as kiln_mod
            kiln = kiln_mod
            kiln_how = "Python module (%s)" % os.path.relpath(os.path.dirname(os.path.dirname(kiln.__file__)), ROOT)
        except ImportError as e:
            print("zoo_bench: `import kiln` failed (%s); using the CLI" % e)

    names = [n for n in args.models.split(",") if n] or list(zoo.MODELS)
    threads_list = [int(t) for t in args.threads.split(",")]
    cases = []  # (model dir name, label, batch)
    for n in names:
        if n == "resnet50_dynamic":
            cases.append((n, "resnet50 (dynamic batch)", 8))
        else:
            cases.append((n, n, 1))

    rows = []
    load_before = os.getloadavg()
    t_all = time.time()
    tmp = tempfile.mkdtemp(prefix="zoo_bench_")
    for dirname, label, batch in cases:
        mdir = os.path.join(args.models_dir, dirname)
        if not os.path.exists(os.path.join(mdir, "meta.json")):
            print("zoo_bench: %s is not exported (run tests/models/export_zoo.py); skipped" % dirname)
            continue
        meta = json.load(open(os.path.join(mdir, "meta.json")))
        onnx_path = os.path.join(mdir, "model.onnx")
        rng = np.random.default_rng(7)
        feeds = {}
        for k, shape in meta["inputs"].items():
            shape = list(shape)
            if meta.get("dynamic_axes"):
                shape[0] = batch
            feeds[k] = rng.standard_normal(shape, dtype=np.float32)
        profile = meta.get("profile")
        for threads in threads_list:
            row = {"model": label, "batch": batch, "threads": threads}
            engines = []
            try:
                t0 = time.time()
                if kiln is not None:
                    engines.append(KilnModule(kiln, onnx_path, feeds, threads, profile))
                else:
                    engines.append(KilnCli(args.kiln_cli, onnx_path, feeds, threads, profile, tmp))
                row["kiln_build_s"] = time.time() - t0
            except Exception as e:  # noqa: BLE001 - report and go on with the other engines
                row["kiln_error"] = str(e)[:200]
                print("zoo_bench: %s: kiln: %s" % (label, e))
            engines.append(Ort(ort, onnx_path, feeds, threads))
            if not args.no_torch:
                engines.append(Torch(torch, zoo, dirname, feeds, threads))
            samples, per_pass = bench_case(engines, torch, threads, args)
            for e in engines:
                row[e.name] = (pct(samples[e.name], 50), pct(samples[e.name], 90), len(samples[e.name]))
                e.close()
            if "kiln" in per_pass and per_pass["kiln"]:
                row["kiln/ORT"] = float(np.median([k / o for k, o in zip(per_pass["kiln"], per_pass["ORT"])]))
                if "torch" in per_pass:
                    row["kiln/torch"] = float(np.median([k / t for k, t in zip(per_pass["kiln"], per_pass["torch"])]))
            rows.append(row)
            f = lambda k: ("%s %.2f/%.2f ms (n=%d)" % (k, *row[k])) if k in row else "%s -" % k
            print("zoo_bench: %-28s b%d t%d  %s  %s  %s  kiln/ORT %s" % (
                label, batch, threads, f("kiln"), f("ORT"), f("torch"),
                "%.2f" % row["kiln/ORT"] if "kiln/ORT" in row else "-"), flush=True)
    total_s = time.time() - t_all
    load = (load_before, os.getloadavg())
    versions = {"ort": ort.__version__, "torch": torch.__version__}
    date = datetime.date.today().isoformat()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "threads": threads_list, "kiln_how": kiln_how, "total_s": total_s,
                       "versions": versions, "load": load, "date": date,
                       "args": {"passes": args.passes, "iterations": args.iterations,
                                "max_pass_seconds": args.max_pass_seconds}}, f, indent=1)
    write_markdown(args, rows, threads_list, kiln_how, total_s, versions, load, date)
    print("zoo_bench: wrote %s (%.0f s)" % (args.out, total_s))
    return 0


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def system_blas():
    p = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    return os.path.realpath(p) if os.path.exists(p) else "unknown"


def write_markdown(args, rows, threads_list, kiln_how, total_s, versions, load, date):
    model, simd = cpu_info()
    cores = os.cpu_count()
    ms = lambda r, k, i: ("%.2f" % r[k][i]) if k in r else "-"
    L = []
    L.append(CPU_HEADING)
    L.append("")
    L.append("Generated by `bench/zoo_bench.py` on %s. Machine: %s, %d logical cores visible, %s; "
             "SIMD flags: %s. Linux %s, Python %s." % (
                 date, model, cores, platform.machine(), ", ".join(simd) or "none of avx2/fma/avx512",
                 platform.release(), platform.python_version()))
    L.append("")
    L.append("Engines: kiln via its %s; ONNX Runtime %s (CPUExecutionProvider, graph optimization level ALL, "
             "intra-op threads = the thread count, inter-op threads 1, sequential); PyTorch %s "
             "(`torch.set_num_threads`, `inference_mode`). Models: `tests/models/export_zoo.py` (opset 17, fp32, "
             "random weights), batch 1 unless noted. Latency in milliseconds per inference: median and p90 over "
             "all timed inferences (n per engine); engines alternate pass by pass (%d passes of up to %d "
             "inferences, a pass cut after %.0f s). **kiln/ORT** is the median over passes of kiln's median "
             "divided by ORT's (< 1: kiln faster)." % (
                 kiln_how, versions["ort"], versions["torch"], args.passes, args.iterations, args.max_pass_seconds))
    L.append("")
    busy = max(load[0][0], load[1][0])
    if busy > 0.5 * cores:
        L.append("**Warning: other processes were using this machine during the run** (1-minute load average "
                 "%.1f at the start and %.1f at the end, on %d cores). Absolute latencies are inflated and the "
                 "2-thread rows are not representative (a parallel region waits for its slowest thread, which "
                 "another process may hold); the 1-thread kiln/ORT ratios are the most trustworthy numbers here. Re-run on an idle machine for reference numbers." % (
                     load[0][0], load[1][0], cores))
        L.append("")
    for t in threads_list:
        rs = [r for r in rows if r["threads"] == t]
        if not rs:
            continue
        L.append("## %d thread%s" % (t, "" if t == 1 else "s"))
        L.append("")
        L.append("| model | batch | kiln median | kiln p90 | ORT median | ORT p90 | torch median | torch p90 | "
                 "kiln/ORT | kiln/torch | n (kiln/ORT/torch) |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in rs:
            n = "/".join(str(r[k][2]) if k in r else "-" for k in ("kiln", "ORT", "torch"))
            L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["model"], r["batch"], ms(r, "kiln", 0), ms(r, "kiln", 1), ms(r, "ORT", 0), ms(r, "ORT", 1),
                ms(r, "torch", 0), ms(r, "torch", 1),
                ("%.2f" % r["kiln/ORT"]) if "kiln/ORT" in r else "-",
                ("%.2f" % r["kiln/torch"]) if "kiln/torch" in r else "-", n))
        L.append("| **geometric mean** | | | | | | | | **%.2f** | **%.2f** | |" % (
            geomean([r.get("kiln/ORT") for r in rs]), geomean([r.get("kiln/torch") for r in rs])))
        L.append("")
    errs = [r for r in rows if "kiln_error" in r]
    L.append("## Notes")
    L.append("")
    L.append("- kiln's thread count: plans are built with `BuilderConfig.num_threads` (`setNbThreads`) = the "
             "thread count; each ExecutionContext runs its CPU kernels on a thread pool of that size (the calling "
             "thread included), which splits GEMM/convolution blocks, depthwise planes and the large "
             "elementwise, softmax, layer-norm and pooling layers.")
    L.append("- The machine is a shared 2-core VM: other jobs may run at the same time (1-minute load average "
             "%.1f at the start of this run, %.1f at its end). Alternating passes and per-pass ratios make the "
             "ratio column steadier than the absolute numbers; the 2-thread rows suffer most from other load "
             "(a parallel region waits for its slowest thread). Expect +-20 %% at least." % (load[0][0], load[1][0]))
    L.append("- PyTorch is Debian's 1.13 build run eagerly (no TorchScript), with the system BLAS %s "
             "(`scripts/zoo_env.sh` installs OpenBLAS; with Debian's default netlib BLAS, PyTorch's Linear, "
             "MatMul and 1x1 convolutions are many times slower). At batch 1 and 1 thread, torch 1.13 runs many "
             "convolutions through `slow_conv2d` (im2col + BLAS) rather than oneDNN." % system_blas())
    L.append("- ORT's `session.run` and PyTorch's forward allocate their outputs on every call; kiln writes into "
             "arrays bound once (`execute_v3`). At these model sizes that difference is noise.")
    for r in errs:
        L.append("- %s: kiln failed: %s" % (r["model"], r["kiln_error"]))
    for note in getattr(args, "extra_notes", []):
        L.append("- " + note)
    m = re.match(r"Python module \((.*)\)", kiln_how)
    L.append("- Total benchmark time: %.0f s. Command: `PYTHONPATH=%s .venv-zoo/bin/python "
             "bench/zoo_bench.py` (after `scripts/zoo_env.sh` and `tests/models/export_zoo.py`)." % (
                 total_s, m.group(1) if m else "build-zoo/python"))
    L.append("")
    if not any("torch" in r for r in rows):  # --no-torch: drop the torch columns
        L = [drop_torch_columns(line) for line in L]
    # Replace only this CPU section of the file (other sections, e.g. the GPU results, stay as they are).
    head, tail = "", ""
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = f.read()
        i = old.find(CPU_HEADING)
        if i >= 0:
            head = old[:i]
            j = old.find("\n# ", i + len(CPU_HEADING))
            tail = old[j + 1:] if j >= 0 else ""
        elif old.strip():
            head = old.rstrip("\n") + "\n\n"
    with open(args.out, "w") as f:
        f.write(head + "\n".join(L) + ("\n" + tail if tail else ""))


CPU_HEADING = "# Performance: kiln vs ONNX Runtime vs PyTorch on the model zoo (CPU)"


def drop_torch_columns(line):
    """Removes the torch median/p90 and kiln/torch columns of a table line (columns 7, 8 and 10)."""
    if not line.startswith("|"):
        return line
    cells = line.split("|")[1:-1]
    if len(cells) != 11:
        return line
    keep = [c for i, c in enumerate(cells) if i not in (6, 7, 9)]
    return "|" + "|".join(keep) + "|"


if __name__ == "__main__":
    sys.exit(main())
