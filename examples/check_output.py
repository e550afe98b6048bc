#!/usr/bin/env python3
"""Compares kiln's output (.npy) with the expected one: prints the relative L2 error, exits 1 above TOL."""
import sys

import numpy as np

got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
err = float(np.linalg.norm(got.astype(np.float64) - want) / max(np.linalg.norm(want), 1e-30))
print(f"relative L2 error {err:.3e} (tolerance {tol:g}); top class kiln {got.argmax()} expected {want.argmax()}")
sys.exit(0 if err <= tol else 1)
