#!/usr/bin/env python3
"""numpy's SGEMM (its BLAS, one thread) at the sizes of kiln_gemm_bench, for the side-by-side table."""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
sizes = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (64, 3136, 576),
         (256, 784, 1152), (512, 49, 4608), (1, 1000, 2048), (128, 768, 768)]
print(f"{'M':>6} {'N':>6} {'K':>6} {'ms':>10} {'GFLOP/s':>10}")
for m, n, k in sizes:
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    best = 1e30
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        a @ b
        t = time.perf_counter() - t0
        if r:
            best = min(best, t)
    print(f"{m:6d} {n:6d} {k:6d} {best * 1e3:10.3f} {2 * m * n * k / best / 1e9:10.1f}")
