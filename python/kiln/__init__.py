"""kiln: an open inference optimizer and runtime, with a TensorRT-style Python API.

    import kiln as trt
    from kiln import cuda

Everything is implemented in C++ (the `_kiln` extension); this package only re-exports it.
See docs/python.md.
"""
import sys as _sys

from . import _kiln
from ._kiln import *  # noqa: F401,F403
from ._kiln import __version__, cuda  # noqa: F401

# `import kiln.cuda` works as well as `from kiln import cuda`.
_sys.modules[__name__ + ".cuda"] = cuda

__all__ = [n for n in dir(_kiln) if not n.startswith("_")]
