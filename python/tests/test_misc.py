"""Logger subclasses, context managers, Dims, deprecations, threads (GIL released), cuda helpers."""
import threading
import time
import warnings

import numpy as np
import pytest

import kiln
import kiln as trt
from kiln import cuda
from conftest import RecordingLogger, build_relu_engine


def test_custom_logger_receives_messages():
    log = RecordingLogger(trt.Logger.VERBOSE)
    runtime = trt.Runtime(log)
    assert runtime.deserialize_cuda_engine(b"garbage") is None
    assert log.messages
    sev, msg = log.messages[-1]
    assert sev == trt.Logger.ERROR and isinstance(msg, str) and "plan" in msg
    # build messages (info/verbose) reach it as well, from C++ running without the GIL
    log.messages.clear()
    build_relu_engine(log)
    assert log.messages


def test_logger_from_stream_thread():
    """A failing enqueue is reported from the stream's worker thread: the Python logger still gets it."""
    log = RecordingLogger()
    engine = build_relu_engine(log, dynamic=True)
    ctx = engine.create_execution_context()
    log.messages.clear()
    # no input shape set: refused up front (logged from this thread)
    assert ctx.execute_async_v3(cuda.Stream().handle) is False
    assert log.messages


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_logger_exception_does_not_crash():
    class Broken(trt.Logger):
        def log(self, severity, msg):
            raise RuntimeError("boom")

    runtime = trt.Runtime(Broken())
    assert runtime.deserialize_cuda_engine(b"x") is None  # the exception is reported as unraisable


def test_default_logger_writes_stderr(capfd):
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    assert runtime.deserialize_cuda_engine(b"garbage") is None
    assert "[kiln] [E]" in capfd.readouterr().err


def test_context_managers(example_model, tmp_path):
    onnx_path, x, expected = example_model
    logger = trt.Logger(trt.Logger.ERROR)
    with logger, trt.Builder(logger) as builder, builder.create_network() as network, \
            trt.OnnxParser(network, logger) as parser, builder.create_builder_config() as config:
        assert parser.parse_from_file(onnx_path)
        with builder.build_serialized_network(network, config) as plan:
            data = bytes(plan)
            assert len(memoryview(plan)) == len(plan) == plan.nbytes
    with trt.Runtime(logger) as runtime, runtime.deserialize_cuda_engine(data) as engine, \
            engine.create_execution_context() as context:
        out = context.infer({"image": x})["probs"]
        assert np.abs(out - expected).max() / np.abs(expected).max() < 1e-5
    with cuda.Stream() as s, cuda.mem_alloc(64) as d:
        assert int(d) != 0 and s.handle != 0
    assert "freed" in repr(d)
    with pytest.raises(trt.InvalidStateError):
        int(d)


def test_dims():
    d = trt.Dims((1, 3, 224, 224))
    assert len(d) == 4 and d[0] == 1 and d[-1] == 224 and list(d) == [1, 3, 224, 224]
    assert d == (1, 3, 224, 224) and d == [1, 3, 224, 224] and d == trt.Dims(1, 3, 224, 224)
    assert d != (1, 3, 224)
    assert d.volume() == 3 * 224 * 224 and trt.volume(d) == trt.volume((1, 3, 224, 224))
    assert trt.volume((-1, 3)) == -1
    assert repr(d) == "Dims((1, 3, 224, 224))"
    assert d[1:3] == (3, 224)
    assert np.empty(d).shape == (1, 3, 224, 224)
    with pytest.raises(IndexError):
        d[4]
    d[0] = 8
    assert d[0] == 8
    assert trt.DimsHW(2, 3) == (2, 3)


def test_types():
    assert trt.nptype(trt.DataType.FLOAT) == np.float32
    assert trt.nptype(trt.DataType.INT64) == np.int64
    assert trt.nptype(trt.DataType.HALF) == np.float16
    assert trt.nptype(trt.DataType.BOOL) == np.bool_
    assert trt.from_nptype(np.int32) == trt.DataType.INT32
    assert trt.DataType.FLOAT.itemsize == 4
    assert trt.Logger.WARNING == trt.Severity.WARNING
    assert issubclass(trt.InvalidPlanError, trt.Error) and issubclass(trt.UnsupportedNodeError, trt.Error)


def test_deprecations(logger):
    builder = trt.Builder(logger)
    with pytest.warns(DeprecationWarning, match="max_batch_size"):
        builder.max_batch_size = 8
    with pytest.warns(DeprecationWarning, match="max_workspace_size"):
        builder.max_workspace_size = 1 << 20
    config = builder.create_builder_config()
    with pytest.warns(DeprecationWarning):
        config.max_workspace_size = 1 << 20


def test_config_and_profile(logger):
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 123456)
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 123456
    assert not config.get_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.FP16)
    assert config.get_flag(trt.BuilderFlag.FP16)
    config.clear_flag(trt.BuilderFlag.FP16)
    assert not config.get_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    assert profile.set_shape("x", (1, 4), (2, 4), (4, 4))
    assert [tuple(s) for s in profile.get_shape("x")] == [(1, 4), (2, 4), (4, 4)]
    assert builder.create_optimization_profile().set_shape("z", (1, 4), (2, 4, 1), (4, 4)) is False
    assert config.add_optimization_profile(profile) == 0
    assert config.num_optimization_profiles == 1


def test_build_failure_returns_none_and_logs(logger):
    builder = trt.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (-1, 4))  # dynamic, but no profile
    network.mark_output(network.add_identity(x).get_output(0))
    assert builder.build_serialized_network(network, builder.create_builder_config()) is None
    assert any(sev <= trt.Logger.ERROR for sev, _ in logger.messages)


def test_gil_released_two_threads(logger):
    """Two contexts of one engine run in two Python threads at once: kiln drops the GIL while it runs."""
    n = 1 << 20
    engine = build_relu_engine(logger, n=n)
    x = np.random.default_rng(1).normal(size=(1, n)).astype(np.float32)
    expected = np.maximum(x, 0)
    iters = 20
    results, errors = [], []

    def worker():
        try:
            ctx = engine.create_execution_context()
            y = np.empty_like(x)
            for _ in range(iters):
                ctx.infer({"x": x}, outputs={"y": y})
            results.append(np.array_equal(y, expected))
        except Exception as e:  # pragma: no cover
            errors.append(e)

    # While kiln runs, this thread must keep getting the GIL (it would not if execute held it).
    ticks = 0
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks += 1
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert not errors and results == [True, True]
    assert ticks > 2


def test_cuda_helpers():
    a = cuda.pagelocked_empty((2, 3), np.float32)
    assert a.shape == (2, 3) and a.dtype == np.float32 and a.flags.c_contiguous
    assert a.ctypes.data % 64 == 0
    z = cuda.pagelocked_zeros(5, np.int64)
    assert (z == 0).all()
    d = cuda.mem_alloc(a.nbytes)
    assert d.nbytes == 24
    a[...] = np.arange(6).reshape(2, 3)
    cuda.memcpy_htod(d, a)
    b = np.empty_like(a)
    cuda.memcpy_dtoh(b, d)
    np.testing.assert_array_equal(a, b)
    s = cuda.Stream()
    e0, e1 = cuda.Event(), cuda.Event()
    e0.record(s)
    c = np.zeros_like(a)
    cuda.memcpy_dtoh_async(c, d, s)
    e1.record(s)
    s.synchronize()
    e1.synchronize()
    assert e1.time_since(e0) >= 0
    np.testing.assert_array_equal(a, c)
    with pytest.raises(trt.InvalidArgumentError, match="contiguous"):
        cuda.memcpy_htod(d, np.zeros((6, 2), np.float32).T)
    d.free()
    view = a[0]
    del a
    view[...] = 1  # the page-locked memory lives as long as any view of it
    assert view.sum() == 3


def test_runtime_memory_budget(logger):
    """Runtime.memory_budget: a plan whose constants + one context's scratch memory exceed it is refused."""
    builder = kiln.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", kiln.DataType.FLOAT, (1, 64))
    a = network.add_activation(x, kiln.ActivationType.RELU)
    b = network.add_activation(a.get_output(0), kiln.ActivationType.SIGMOID)
    b.get_output(0).name = "y"
    network.mark_output(b.get_output(0))
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    assert plan is not None
    runtime = kiln.Runtime(logger)
    assert runtime.memory_budget == 0
    engine = runtime.deserialize_cuda_engine(plan)
    assert engine is not None and engine.device_memory_size >= 64 * 4
    runtime.memory_budget = engine.device_memory_size - 1
    assert runtime.memory_budget == engine.device_memory_size - 1
    assert runtime.deserialize_cuda_engine(plan) is None
    assert any("memory budget" in m for _, m in logger.messages)
    runtime.memory_budget = engine.device_memory_size
    small = runtime.deserialize_cuda_engine(plan)
    assert small is not None
    ctx = small.create_execution_context()
    assert ctx is not None
