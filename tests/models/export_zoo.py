#!/usr/bin/env python3
"""Exports kiln's model zoo: torchvision models and a transformer encoder as ONNX, with random weights
made meaningful, a fixed random input and the outputs of PyTorch and ONNX Runtime for that input.

    .venv-zoo/bin/python tests/models/export_zoo.py [OUT_DIR] [--models a,b,...] [--force]

Needs scripts/zoo_env.sh (Debian's torch 1.13 + torchvision 0.14, pip onnx + onnxruntime). OUT_DIR defaults to
tests/models/out (git-ignored). Per model NAME it writes:

    OUT_DIR/NAME/model.onnx            the model (opset 17, the newest that torch 1.13 exports)
    OUT_DIR/NAME/input/<input>.npy     the fixed random input(s)
    OUT_DIR/NAME/torch/<output>.npy    PyTorch's outputs (fp32, the same module that was exported)
    OUT_DIR/NAME/ort/<output>.npy      ONNX Runtime's outputs (CPU, graph optimizations off)
    OUT_DIR/NAME/meta.json             inputs/outputs with shapes, dynamic axes, bench shapes, torch-vs-ORT error

A model whose files are newer than this script is not exported again unless --force is given.

Weights: torchvision's random initialization leaves BatchNorm statistics at mean 0 / variance 1 and some
layers at zero (ViT's head, biases, BN affine parameters). A comparison against such a model can pass with a
broken kernel (a zero head hides everything before it; identity BNs hide BN folding bugs; activations that
blow up or vanish through 50 layers hide everything in round-off). So every model gets random affine
parameters in its normalization layers, random biases where they were zero, a random ViT head and class
token, and then BatchNorm running statistics recalibrated on random data (a few forward passes with only the
BN layers in train mode and momentum None, i.e. the exact mean over the passes), before eval().

Export runs with gradients enabled: under no_grad, torch 1.13 runs nn.TransformerEncoder(Layer) and
nn.MultiheadAttention through fused "fast path" kernels that the exporter cannot trace. The PyTorch
reference is computed the same way (the traced module path), with gradients enabled.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

OPSET = 17
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")


# ---------------------------------------------------------------------------------------------------------
# Model definitions. Each builder returns (module, inputs: {name: np.ndarray}, output_names, extra meta).

def _image(batch=1, size=224, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 3, size, size), dtype=np.float32)


def _classifier(ctor):
    def build(seed):
        import torchvision.models as tvm
        m = getattr(tvm, ctor)(weights=None)
        return m, {"input": _image(seed=seed)}, ["output"], {}
    return build


def _resnet50_dynamic(seed):
    import torchvision.models as tvm
    m = tvm.resnet50(weights=None)
    meta = {
        "dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}},
        # kiln build profile (min / opt / max) for the dynamic batch; the correctness test runs batch 2
        "profile": {"input": [[1, 3, 224, 224], [8, 3, 224, 224], [8, 3, 224, 224]]},
        "bench_batch": 8,
    }
    return m, {"input": _image(batch=2, seed=seed)}, ["output"], meta


def _deeplab(seed):
    import torch
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

    class Seg(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=False)

        def forward(self, x):
            return self.net(x)["out"]

    return Seg(), {"input": _image(size=224, seed=seed)}, ["output"], {}


def _ssdlite(seed):
    import torch
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    class SSDHead(torch.nn.Module):
        """Backbone + head of SSDlite: raw box regression and class logits (no anchors, no NMS)."""

        def __init__(self):
            super().__init__()
            det = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
            self.backbone = det.backbone
            self.head = det.head

        def forward(self, x):
            feats = list(self.backbone(x).values())
            out = self.head(feats)
            return out["bbox_regression"], out["cls_logits"]

    return SSDHead(), {"input": _image(size=320, seed=seed)}, ["bbox_regression", "cls_logits"], {}


def _vit(seed):
    import torchvision.models as tvm
    return tvm.vit_b_16(weights=None), {"input": _image(seed=seed)}, ["output"], {}


def _transformer(seed):
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024, dropout=0.1,
                                                     activation="gelu", batch_first=True)
            self.enc = torch.nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)

        def forward(self, x):
            return self.enc(x)

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 128, 256), dtype=np.float32)
    return Encoder(), {"input": x}, ["output"], {}


MODELS = {
    "resnet18": _classifier("resnet18"),
    "resnet50": _classifier("resnet50"),
    "resnet50_dynamic": _resnet50_dynamic,
    "mobilenet_v2": _classifier("mobilenet_v2"),
    "mobilenet_v3_small": _classifier("mobilenet_v3_small"),
    "squeezenet1_1": _classifier("squeezenet1_1"),
    "efficientnet_b0": _classifier("efficientnet_b0"),
    "densenet121": _classifier("densenet121"),
    "shufflenet_v2_x1_0": _classifier("shufflenet_v2_x1_0"),
    "deeplabv3_mobilenet_v3_large": _deeplab,
    "ssdlite320_mobilenet_v3_large": _ssdlite,
    "vit_b_16": _vit,
    "transformer_encoder": _transformer,
}


# ---------------------------------------------------------------------------------------------------------
# Making random weights meaningful.

def randomize(model, seed):
    """Random affine parameters in normalization layers, random biases where they are zero, ViT's head and
    class token. Uses torch's global generator, seeded by the caller."""
    import torch
    nn = torch.nn
    norm_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, norm_types):
                if getattr(mod, "weight", None) is not None:
                    mod.weight.uniform_(0.5, 1.5)
                if getattr(mod, "bias", None) is not None:
                    mod.bias.normal_(0.0, 0.1)
            elif isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
                if mod.bias is not None and float(mod.bias.abs().max()) == 0.0:
                    mod.bias.normal_(0.0, 0.05)
                if float(mod.weight.abs().max()) == 0.0:  # vit_b_16's head is zero-initialized
                    fan_in = mod.weight[0].numel()
                    mod.weight.normal_(0.0, 1.0 / np.sqrt(fan_in))
            if hasattr(mod, "class_token") and isinstance(mod.class_token, torch.Tensor):
                mod.class_token.normal_(0.0, 0.5)


def recalibrate_batchnorm(model, example, passes=4, batch=8):
    """BatchNorm running statistics from random data: only the BN layers in train mode, momentum None
    (cumulative mean over the passes), then everything back to eval."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    shape = (batch,) + tuple(example.shape[1:])
    with torch.no_grad():
        for _ in range(passes):
            model(torch.randn(shape))
    model.eval()
    return len(bns)


# ---------------------------------------------------------------------------------------------------------

def export_one(name, out_dir, log):
    import onnx
    import onnxruntime as ort
    import torch

    seed = 1000 + sorted(MODELS).index(name)
    torch.manual_seed(seed)
    model, inputs, output_names, meta = MODELS[name](seed)
    randomize(model, seed)
    first = next(iter(inputs.values()))
    nbn = recalibrate_batchnorm(model, first)
    model.eval()

    d = os.path.join(out_dir, name)
    for sub in ("input", "torch", "ort"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    onnx_path = os.path.join(d, "model.onnx")
    t_inputs = tuple(torch.from_numpy(v) for v in inputs.values())

    t0 = time.time()
    # torch >= 2.9 exports through torch.export by default: keep the TorchScript exporter these models were
    # written for (the argument exists from torch 2.5 on)
    import inspect
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.enable_grad():
        torch.onnx.export(model, t_inputs if len(t_inputs) > 1 else t_inputs[0], onnx_path,
                          opset_version=OPSET, input_names=list(inputs), output_names=output_names,
                          dynamic_axes=meta.get("dynamic_axes"), do_constant_folding=True, **legacy)
        t_out = model(*t_inputs)
    if isinstance(t_out, torch.Tensor):
        t_out = (t_out,)
    t_out = [o.detach().numpy().astype(np.float32) for o in t_out]
    export_s = time.time() - t0

    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    o_out = sess.run(output_names, inputs)

    for k, v in inputs.items():
        np.save(os.path.join(d, "input", k + ".npy"), v)
    errs = {}
    for oname, t, o in zip(output_names, t_out, o_out):
        np.save(os.path.join(d, "torch", oname + ".npy"), t)
        np.save(os.path.join(d, "ort", oname + ".npy"), o)
        errs[oname] = float(np.linalg.norm(o.astype(np.float64) - t) / max(np.linalg.norm(t.astype(np.float64)), 1e-30))

    # where a GPU is present: PyTorch's own float16 error (the module and input in float16 on the GPU), the
    # yardstick of kiln's fp16 plans in bench/gpu_zoo_check.sh
    fp16_errs = {}
    if torch.cuda.is_available():
        import copy
        try:
            with torch.no_grad():
                h_out = copy.deepcopy(model).half().cuda()(*(t.half().cuda() for t in t_inputs))
            if isinstance(h_out, torch.Tensor):
                h_out = (h_out,)
            for oname, t, h in zip(output_names, t_out, h_out):
                h = h.float().cpu().numpy().astype(np.float64)
                fp16_errs[oname] = float(np.linalg.norm(h - t) / max(np.linalg.norm(t.astype(np.float64)), 1e-30))
        except Exception as e:  # noqa: BLE001 - the yardstick is optional
            log("%s: no float16 run on the GPU (%s)" % (name, e))
            fp16_errs = {}

    meta = dict(meta)
    if fp16_errs:
        meta["torch_fp16_rel_l2"] = fp16_errs
    meta.update({
        "name": name,
        "opset": OPSET,
        "seed": seed,
        "inputs": {k: list(v.shape) for k, v in inputs.items()},
        "outputs": {k: list(v.shape) for k, v in zip(output_names, t_out)},
        "output_std": {k: float(v.std()) for k, v in zip(output_names, t_out)},
        "torch_vs_ort_rel_l2": errs,
        "batchnorm_layers_recalibrated": nbn,
        "onnx_ops": ops,
        "onnx_nodes": len(m.graph.node),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    })
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log("%-30s %5.1fs  nodes %4d  out std %s  torch vs ORT rel-L2 %s" % (
        name, export_s, len(m.graph.node), ",".join("%.3g" % s for s in meta["output_std"].values()),
        ",".join("%.2e" % e for e in errs.values())))


def up_to_date(name, out_dir):
    meta = os.path.join(out_dir, name, "meta.json")
    return os.path.exists(meta) and os.path.getmtime(meta) >= os.path.getmtime(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--models", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--force", action="store_true", help="export even if up to date")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(MODELS))
        return 0
    names = [n for n in args.models.split(",") if n] or list(MODELS)
    for n in names:
        if n not in MODELS:
            print("export_zoo: unknown model '%s' (known: %s)" % (n, ", ".join(MODELS)), file=sys.stderr)
            return 2
    import torch
    # KILN_ZOO_THREADS: fewer threads where several exports run at once (bench/gpu_device.sh zoo)
    torch.set_num_threads(int(os.environ.get("KILN_ZOO_THREADS", 0)) or max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    for n in names:
        if not args.force and up_to_date(n, args.out):
            print("%-30s up to date" % n)
            continue
        export_one(n, args.out, lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
