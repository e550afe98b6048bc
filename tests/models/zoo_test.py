#!/usr/bin/env python3
"""Model zoo correctness test: every zoo model through kiln's full path and compared with PyTorch and ONNX
Runtime.

For each model of tests/models/export_zoo.py: `kiln build model.onnx -o model.plan` (parse -> build ->
plan file), then `kiln run model.plan --input ... --output-dir ...` (a new process: Runtime -> Engine ->
ExecutionContext from the plan file, one execute() on the exported fixed input), then the relative L2
error ||kiln - ref|| / ||ref|| of every output against PyTorch's and ONNX Runtime's outputs (both must be
<= --tol, 1e-4 by default, fp32). Prints a table; exits 1 if a model fails, 0 if all pass, and 77 (CTest's
SKIP_RETURN_CODE) with a message when the zoo environment (scripts/zoo_env.sh) is not there.

    python tests/models/zoo_test.py --kiln build-zoo/kiln [--zoo-python .venv-zoo/bin/python]
        [--models-dir tests/models/out] [--work DIR] [--models a,b] [--tol 1e-4] [--no-export]

The models are exported first (export_zoo.py, with the zoo Python) unless they are up to date.
Needs only numpy in the Python that runs this script.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77


def rel_l2(got, ref):
    got = got.astype(np.float64).ravel()
    ref = ref.astype(np.float64).ravel()
    den = np.linalg.norm(ref)
    return float(np.linalg.norm(got - ref) / (den if den > 0 else 1.0))


def dims(shape):
    return "x".join(str(d) for d in shape)


def run(cmd, log):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout + "\n")
    return p.returncode, p.stdout, time.time() - t0


def first_error(text):
    for line in text.splitlines():
        if "error" in line.lower() or "unsupported" in line.lower() or "fail" in line.lower():
            return line.strip()[:160]
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:160] if lines else "(no output)"


def check_model(kiln, name, mdir, work, tol, threads):
    meta = json.load(open(os.path.join(mdir, "meta.json")))
    wdir = os.path.join(work, name)
    shutil.rmtree(wdir, ignore_errors=True)
    os.makedirs(wdir)
    log = os.path.join(wdir, "log.txt")
    plan = os.path.join(wdir, "model.plan")
    row = {"model": name, "torch": None, "ort": None, "pass": False, "note": ""}

    build = [kiln, "build", os.path.join(mdir, "model.onnx"), "-o", plan]
    if threads:
        build += ["--threads", str(threads)]
    prof = meta.get("profile")
    if prof:
        for i, key in enumerate(("min", "opt", "max")):
            build += ["--%s-shapes" % key, ",".join("%s:%s" % (k, dims(v[i])) for k, v in prof.items())]
    rc, out, row["build_s"] = run(build, log)
    if rc != 0:
        row["note"] = "build failed: " + first_error(out)
        return row

    outdir = os.path.join(wdir, "out")
    cmd = [kiln, "run", plan, "--iterations", "1", "--warmup", "0", "--output-dir", outdir]
    for k in meta["inputs"]:
        cmd += ["--input", "%s=%s" % (k, os.path.join(mdir, "input", k + ".npy"))]
    rc, out, row["run_s"] = run(cmd, log)
    if rc != 0:
        row["note"] = "run failed: " + first_error(out)
        return row

    worst_t = worst_o = 0.0
    notes = []
    for oname, shape in meta["outputs"].items():
        path = os.path.join(outdir, oname + ".npy")
        if not os.path.exists(path):
            row["note"] = "no output file for '%s'" % oname
            return row
        got = np.load(path)
        if list(got.shape) != list(shape):
            row["note"] = "output '%s' has shape %s, expected %s" % (oname, list(got.shape), shape)
            return row
        if not np.all(np.isfinite(got)):
            notes.append("%s: non-finite values" % oname)
        et = rel_l2(got, np.load(os.path.join(mdir, "torch", oname + ".npy")))
        eo = rel_l2(got, np.load(os.path.join(mdir, "ort", oname + ".npy")))
        if not np.isfinite(et):
            et = float("inf")
        if not np.isfinite(eo):
            eo = float("inf")
        worst_t, worst_o = max(worst_t, et), max(worst_o, eo)
        if len(meta["outputs"]) > 1:
            notes.append("%s %.1e/%.1e" % (oname, et, eo))
    row["torch"], row["ort"] = worst_t, worst_o
    row["pass"] = worst_t <= tol and worst_o <= tol and not any("non-finite" in n for n in notes)
    row["note"] = "; ".join(notes)
    return row


def main():
    ap = argparse.ArgumentParser(description="kiln model zoo correctness test")
    ap.add_argument("--kiln", required=True, help="the kiln command line binary")
    ap.add_argument("--zoo-python", default=os.path.join(ROOT, ".venv-zoo", "bin", "python"),
                    help="Python with torch, torchvision, onnx, onnxruntime (scripts/zoo_env.sh)")
    ap.add_argument("--models-dir", default=os.path.join(HERE, "out"), help="export_zoo.py's output dir")
    ap.add_argument("--work", default=None, help="plans and kiln outputs (default: MODELS_DIR/kiln)")
    ap.add_argument("--models", default="", help="comma-separated subset (default: every zoo model)")
    ap.add_argument("--tol", type=float, default=1e-4, help="max relative L2 error (default 1e-4)")
    ap.add_argument("--threads", type=int, default=0, help="kiln build --threads (default: not given)")
    ap.add_argument("--no-export", action="store_true", help="use the models as they are in MODELS_DIR")
    args = ap.parse_args()

    if not os.path.exists(args.kiln):
        print("zoo_test: no kiln binary at %s" % args.kiln)
        return 1
    zp = args.zoo_python
    if not args.no_export:
        probe = "import torch, torchvision, onnx, onnxruntime"
        if not (os.path.exists(zp) and subprocess.run([zp, "-c", probe], stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.DEVNULL).returncode == 0):
            print("SKIPPED: the zoo environment is not there (%s with torch, torchvision, onnx, onnxruntime); "
                  "run scripts/zoo_env.sh to set it up" % zp)
            return SKIP
        t0 = time.time()
        cmd = [zp, os.path.join(HERE, "export_zoo.py"), args.models_dir]
        if args.models:
            cmd += ["--models", args.models]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            print(p.stdout)
            print("zoo_test: export_zoo.py failed")
            return 1
        print("zoo_test: models exported or up to date in %.0f s (%s)" % (time.time() - t0, args.models_dir))

    names = [n for n in args.models.split(",") if n]
    if not names:
        names = [l.strip() for l in subprocess.run([zp, os.path.join(HERE, "export_zoo.py"), "--list"],
                                                   stdout=subprocess.PIPE, text=True).stdout.splitlines()
                 if l.strip()] if os.path.exists(zp) else []
    if not names:
        names = sorted(d for d in os.listdir(args.models_dir)
                       if os.path.exists(os.path.join(args.models_dir, d, "meta.json")))
    work = args.work or os.path.join(args.models_dir, "kiln")
    os.makedirs(work, exist_ok=True)

    rows = []
    t_all = time.time()
    for n in names:
        mdir = os.path.join(args.models_dir, n)
        if not os.path.exists(os.path.join(mdir, "meta.json")):
            rows.append({"model": n, "torch": None, "ort": None, "pass": False, "note": "not exported"})
            continue
        r = check_model(args.kiln, n, mdir, work, args.tol, args.threads)
        rows.append(r)
        print("zoo_test: %-30s %s  (build %.1f s, run %.1f s)%s" % (
            n, "pass" if r["pass"] else "FAIL", r.get("build_s", 0), r.get("run_s", 0),
            (" " + r["note"]) if r["note"] else ""), flush=True)

    fmt = lambda e: "-" if e is None else "%.2e" % e
    print()
    print("| model | rel-L2 vs torch | rel-L2 vs ORT | pass | note |")
    print("| --- | ---: | ---: | --- | --- |")
    for r in rows:
        print("| %s | %s | %s | %s | %s |" % (r["model"], fmt(r["torch"]), fmt(r["ort"]),
                                             "yes" if r["pass"] else "**no**", r["note"]))
    npass = sum(r["pass"] for r in rows)
    print("\nzoo_test: tolerance %.0e; logs and plans under %s; %.0f s" % (args.tol, work, time.time() - t_all))
    print("%d passed, %d failed" % (npass, len(rows) - npass))
    return 0 if npass == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
