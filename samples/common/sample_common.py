"""Shared helpers of the Python samples: image IO (PNG with numpy + zlib; JPEG and the rest through Pillow
when it is installed), resize/normalize to NCHW float32, drawing, a colour palette, and `PlanRunner`, which
runs a kiln plan on the CPU or the GPU with the same code (page-locked host buffers, device buffers,
copies and the run ordered on one stream).

Images are uint8 arrays of shape (height, width, 3), RGB.
"""
import argparse
import json
import struct
import sys
import zlib

import numpy as np

try:
    import kiln
    from kiln import cuda
except ImportError:  # the image helpers work without kiln's module (PlanRunner needs it)
    kiln = cuda = None

# ---------------------------------------------------------------------------------------------- image IO


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _read_png(data):
    """8-bit grey/grey+alpha/RGB/RGBA/palette, non-interlaced PNG -> (h, w, 3) uint8."""
    pos, chunks, idat = 8, {}, []
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IDAT":
            idat.append(body)
        else:
            chunks.setdefault(kind, body)
        if kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if depth != 8 or interlace != 0:
        raise ValueError(f"PNG with bit depth {depth} / interlace {interlace}: install Pillow to read it")
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * ch)
    out = np.zeros((h, w * ch), np.int32)
    prev = np.zeros(w * ch, np.int32)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 255
        elif f in (1, 3, 4):  # these depend on the pixel to the left: one pixel (ch bytes) at a time
            cur = np.zeros_like(line)
            for x in range(0, w * ch, ch):
                left = cur[x - ch:x] if x else np.zeros(ch, np.int32)
                up = prev[x:x + ch]
                ul = prev[x - ch:x] if x else np.zeros(ch, np.int32)
                pred = left if f == 1 else (left + up) // 2 if f == 3 else _paeth(left, up, ul)
                cur[x:x + ch] = (line[x:x + ch] + pred) & 255
        else:
            raise ValueError(f"bad PNG filter {f}")
        out[y] = cur
        prev = cur
    img = out.astype(np.uint8).reshape(h, w, ch)
    if ctype == 3:
        pal = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
        return pal[img[..., 0]]
    if ch in (1, 2):
        return np.repeat(img[..., :1], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def load_image(path):
    """Reads an image as (h, w, 3) uint8 RGB: PNG with numpy alone, any format Pillow reads if installed."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        from PIL import Image  # optional
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except ImportError:
        pass
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: only PNG can be read without Pillow (pip install pillow for JPEG)")
    return _read_png(data)


def write_png(path, img):
    """Writes (h, w, 3) uint8 RGB as an 8-bit PNG (filter 0 on every row)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w, _ = img.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# ------------------------------------------------------------------------------------------ preprocessing


def resize_bilinear(img, out_w, out_h):
    """Bilinear resize with half-pixel centres (no antialiasing), float32 result; the same arithmetic as
    samples/common/image.cpp's resizeBilinear."""
    h, w = img.shape[:2]
    src = img.astype(np.float32)

    def axis(n_out, n_in):
        s = (np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5
        s = np.clip(s, 0, n_in - 1)
        i0 = np.floor(s).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (s - i0).astype(np.float32)

    y0, y1, fy = axis(out_h, h)
    x0, x1, fx = axis(out_w, w)
    fx = fx[None, :, None]
    top = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bot = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    fy = fy[:, None, None]
    return top * (1 - fy) + bot * fy


def to_nchw(img, width, height, mean, std):
    """Resizes to width x height, scales to 0..1, normalizes per channel ((v - mean) / std), -> [1,3,H,W]."""
    x = resize_bilinear(img, width, height) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def parse_floats(text, n=None):
    v = [float(t) for t in text.split(",")]
    if n is not None and len(v) == 1:
        v = v * n
    if n is not None and len(v) != n:
        raise ValueError(f"expected {n} comma-separated numbers, got '{text}'")
    return v


# ------------------------------------------------------------------------------------------------ drawing


def palette(i):
    """A fixed, well-spread colour for class / instance i (0 is black for the background)."""
    if i == 0:
        return (0, 0, 0)
    table = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
             (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255)]
    return table[(i - 1) % len(table)]


def draw_rect(img, x0, y0, x1, y1, color, thickness=2):
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
    for t in range(thickness):
        a, b, c, d = max(x0 + t, 0), max(y0 + t, 0), min(x1 - t, w - 1), min(y1 - t, h - 1)
        if a > c or b > d:
            break
        for yy in (y0 + t, y1 - t):
            if 0 <= yy < h:
                img[yy, a:c + 1] = color
        for xx in (x0 + t, x1 - t):
            if 0 <= xx < w:
                img[b:d + 1, xx] = color


def draw_point(img, x, y, radius, color):
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    img[(xx - x) ** 2 + (yy - y) ** 2 <= radius * radius] = color


def blend_mask(img, mask, alpha):
    """Blends palette(class) over img where mask != 0; mask (mh, mw) is scaled to the image with
    nearest-neighbour sampling (row y takes mask row y * mh // h), as image.cpp's blendMask."""
    h, w = img.shape[:2]
    mh, mw = mask.shape
    m = mask[(np.arange(h) * mh) // h][:, (np.arange(w) * mw) // w]
    colors = np.array([palette(i) for i in range(int(m.max()) + 1)], np.float32)
    blended = (1 - alpha) * img.astype(np.float32) + alpha * colors[m]
    # round half away from zero, like std::lround
    blended = np.floor(blended + 0.5).astype(np.uint8)
    return np.where((m != 0)[..., None], blended, img)


# ----------------------------------------------------------------------------------------------- running


class PlanRunner:
    """Loads a plan and runs it: one page-locked host buffer and one device buffer per I/O tensor, inputs
    copied host->device, the run and the copies back ordered on one stream. On a CPU plan the "device"
    buffers are host memory and the same calls work unchanged."""

    def __init__(self, plan_path, logger=None):
        if kiln is None:
            raise ImportError("the kiln Python module is not on the path (PYTHONPATH=<build>/python)")
        self.logger = logger or kiln.Logger(kiln.Logger.WARNING)
        self.runtime = kiln.Runtime(self.logger)
        with open(plan_path, "rb") as f:
            self.engine = self.runtime.deserialize_engine(f.read())
        if self.engine is None:
            raise SystemExit(f"error: cannot load the plan '{plan_path}' (the reason is logged above)")
        self.context = self.engine.create_execution_context()
        self.names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in self.names if self.engine.get_tensor_mode(n) == kiln.TensorIOMode.INPUT]
        self.outputs = [n for n in self.names if self.engine.get_tensor_mode(n) == kiln.TensorIOMode.OUTPUT]

    @property
    def device(self):
        return "gpu" if self.engine.device_type == kiln.DeviceType.GPU else "cpu"

    def input_shape(self, name=None):
        """The input's shape; dynamic extents are taken from the optimization profile's opt shape."""
        name = name or self.inputs[0]
        shape = tuple(self.engine.get_tensor_shape(name))
        if any(d < 0 for d in shape):
            shape = tuple(self.engine.get_tensor_profile_shape(name, 0)[1])
        return shape

    def run(self, feeds):
        # the engine's own device: a CPU plan on a GPU machine gets host "device" memory and a CPU stream
        dev_type = self.engine.device_type
        stream = cuda.Stream(device=dev_type)
        bufs = {}
        for name, array in feeds.items():
            array = np.ascontiguousarray(array, np.float32)
            if not self.context.set_input_shape(name, array.shape):
                raise SystemExit(f"error: the plan does not accept input '{name}' of shape {array.shape}")
            host = cuda.pagelocked_empty(array.shape, np.float32)
            host[...] = array
            dev = cuda.mem_alloc(host.nbytes, device=dev_type)
            self.context.set_tensor_address(name, int(dev))
            cuda.memcpy_htod_async(dev, host, stream)
            bufs[name] = (host, dev)
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            host = cuda.pagelocked_empty(shape, kiln.nptype(self.engine.get_tensor_dtype(name)))
            dev = cuda.mem_alloc(max(host.nbytes, 1), device=dev_type)
            self.context.set_tensor_address(name, int(dev))
            bufs[name] = (host, dev)
        if not self.context.execute_async_v3(stream.handle):
            raise SystemExit("error: the plan could not be run (the reason is logged above)")
        for name in self.outputs:
            cuda.memcpy_dtoh_async(bufs[name][0], bufs[name][1], stream)
        stream.synchronize()
        return {name: np.array(bufs[name][0]) for name in self.outputs}


def image_arg_parser(description):
    """The argument parser of an image sample, with its first options: --plan and --image."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--image", required=True)
    return ap


def add_image_args(ap, mean_help=None):
    """The options every image sample ends with: --mean, --std (default ImageNet) and --json."""
    ap.add_argument("--mean", default="0.485,0.456,0.406", help=mean_help)
    ap.add_argument("--std", default="0.229,0.224,0.225")
    ap.add_argument("--json")


def run_image(runner, image, args, check_channels=False):
    """Resizes the image to the plan's [N,3,H,W] input, normalizes it with args.mean / args.std and runs the
    plan; returns (outputs by name, input width, input height)."""
    _, c, in_h, in_w = runner.input_shape()
    if check_channels and c != 3:
        fail("the plan's input is not [N,3,H,W]")
    x = to_nchw(image, in_w, in_h, parse_floats(args.mean, 3), parse_floats(args.std, 3))
    return runner.run({runner.inputs[0]: x}), in_w, in_h


def read_labels(path):
    """Lines of a labels file ([] without one)."""
    labels = []
    if path:
        with open(path) as f:
            labels = [line.rstrip("\r\n") for line in f]
    return labels


def write_json(path, obj):
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=1)


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    raise SystemExit(1)
