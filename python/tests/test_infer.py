"""infer(), zero copy, dynamic shapes, DLPack and the error paths of running."""
import numpy as np
import pytest

import kiln
from kiln import cuda
from conftest import build_relu_engine


def test_infer_returns_new_arrays(logger):
    engine = build_relu_engine(logger)
    ctx = engine.create_execution_context()
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
    out = ctx.infer({"x": x})
    assert set(out) == {"y"}
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))
    assert not np.shares_memory(out["y"], x)
    # a bare array is accepted for a single-input engine
    np.testing.assert_array_equal(ctx.infer(x)["y"], np.maximum(x, 0))


def test_zero_copy_paths(logger):
    engine = build_relu_engine(logger)
    ctx = engine.create_execution_context()
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
    y = np.empty((1, 16), np.float32)
    out = ctx.infer({"x": x}, outputs={"y": y})
    assert out["y"] is y  # written in place: shares memory with what was passed
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    # the input was bound in place, not copied
    assert ctx.get_tensor_address("x") == x.ctypes.data
    # set_tensor_address with arrays / their pointers, then execute
    y2 = np.zeros_like(y)
    assert ctx.set_tensor_address("x", x)
    assert ctx.set_tensor_address("y", y2.ctypes.data)
    assert ctx.execute_async_v3(0)  # handle 0: synchronous
    np.testing.assert_array_equal(y2, np.maximum(x, 0))
    # page-locked arrays are numpy arrays over kiln memory, usable in place as well
    h = cuda.pagelocked_empty((1, 16), np.float32)
    h[...] = x
    out = ctx.infer({"x": h})
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))


def test_dlpack_input(logger):
    engine = build_relu_engine(logger)
    ctx = engine.create_execution_context()
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
    v = kiln.from_dlpack(x)
    assert np.shares_memory(v, x)

    class OnlyDLPack:  # an object that is not a numpy array but speaks DLPack (like a torch CPU tensor)
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    np.testing.assert_array_equal(ctx.infer({"x": OnlyDLPack(x)})["y"], np.maximum(x, 0))

    class GpuTensor(OnlyDLPack):
        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

    with pytest.raises(kiln.UnsupportedError, match="CUDA backend"):
        kiln.from_dlpack(GpuTensor(x))


def test_dynamic_shapes_with_profile(logger):
    engine = build_relu_engine(logger, dynamic=True)
    assert tuple(engine.get_tensor_shape("x")) == (-1, 16)
    mn, opt, mx = engine.get_tensor_profile_shape("x", 0)
    assert (tuple(mn), tuple(opt), tuple(mx)) == ((1, 16), (4, 16), (8, 16))
    ctx = engine.create_execution_context()
    for batch in (1, 3, 8):
        x = np.random.default_rng(batch).normal(size=(batch, 16)).astype(np.float32)
        out = ctx.infer({"x": x})["y"]
        assert out.shape == (batch, 16)
        np.testing.assert_array_equal(out, np.maximum(x, 0))
    # explicit set_input_shape + output shape
    assert ctx.set_input_shape("x", (5, 16))
    assert ctx.get_tensor_shape("y") == (5, 16)
    # outside the profile: False (logged), and infer raises with the logged reason
    logger.messages.clear()
    assert ctx.set_input_shape("x", (9, 16)) is False
    assert any(sev <= kiln.Logger.ERROR for sev, _ in logger.messages)
    with pytest.raises(kiln.InvalidArgumentError, match="refused"):
        ctx.infer({"x": np.zeros((9, 16), np.float32)})


def test_infer_errors(logger):
    engine = build_relu_engine(logger)
    ctx = engine.create_execution_context()
    with pytest.raises(kiln.InvalidArgumentError, match="dtype float64"):
        ctx.infer({"x": np.zeros((1, 16))})
    with pytest.raises(kiln.InvalidArgumentError, match="shape"):
        ctx.infer({"x": np.zeros((1, 15), np.float32)})
    with pytest.raises(kiln.InvalidArgumentError, match="contiguous"):
        ctx.infer({"x": np.zeros((16, 2), np.float32).T[:1]})
    with pytest.raises(kiln.InvalidArgumentError, match="no value for input 'x'"):
        ctx.infer({})
    with pytest.raises(kiln.InvalidArgumentError, match="not an I/O tensor"):
        ctx.infer({"x": np.zeros((1, 16), np.float32), "nope": np.zeros(1)})
    with pytest.raises(kiln.InvalidArgumentError, match="read-only"):
        y = np.zeros((1, 16), np.float32)
        y.flags.writeable = False
        ctx.infer({"x": np.zeros((1, 16), np.float32)}, outputs={"y": y})
    # kiln errors are ValueErrors too, and carry code/message/context
    try:
        ctx.infer({"x": np.zeros((1, 16), np.int64)})
    except ValueError as e:
        assert isinstance(e, kiln.Error)
        assert e.code == kiln.ErrorCode.INVALID_ARGUMENT
        assert "int64" in e.message and isinstance(e.context, list)


def test_bad_plan_returns_none_and_logs(logger):
    runtime = kiln.Runtime(logger)
    assert runtime.deserialize_cuda_engine(b"not a plan at all") is None
    assert any("plan" in msg for _, msg in logger.messages)
    good = build_relu_engine(logger).serialize()
    damaged = bytearray(bytes(good))
    damaged[len(damaged) // 2] ^= 0xFF
    logger.messages.clear()
    assert runtime.deserialize_cuda_engine(bytes(damaged)) is None
    assert logger.messages
    assert runtime.deserialize_cuda_engine(bytes(good)[: len(good) // 2]) is None


def test_unknown_stream_handle(logger):
    engine = build_relu_engine(logger)
    ctx = engine.create_execution_context()
    x = np.zeros((1, 16), np.float32)
    ctx.set_tensor_address("x", x)
    ctx.set_tensor_address("y", np.zeros((1, 16), np.float32))
    with pytest.raises(kiln.InvalidArgumentError, match="not a live kiln.cuda.Stream"):
        ctx.execute_async_v3(0xDEAD0)
    stream = cuda.Stream()
    handle = stream.handle
    assert ctx.execute_async_v3(handle)
    stream.synchronize()
    del stream
    with pytest.raises(kiln.InvalidArgumentError):
        ctx.execute_async_v3(handle)
